//! The invoice register (SPEC 4, 6): every invoice and credit note issued in a range, in
//! issue order, credit notes with negative amounts so each column sums to the net invoiced.

use chrono::NaiveDate;

use crate::documents::model::RegisterRow;
use crate::domain::vocab::{DocumentKind, InvoiceStatus};
use crate::error::AppError;
use crate::service::{credit_notes, invoices};
use crate::storage::DbConnection;

pub fn register(
    conn: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
    customer_id: Option<i64>,
) -> Result<Vec<RegisterRow>, AppError> {
    let mut rows = invoice_register(conn, from, to, customer_id)?;
    rows.extend(credit_note_rows(conn, from, to, customer_id)?);
    // In issue order; invoices before credit notes issued at the same instant.
    rows.sort_by_cached_key(|r| {
        let at = r.issued_at.as_deref().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
        (at, r.kind != DocumentKind::Invoice, r.id)
    });
    Ok(rows)
}

fn invoice_register(
    conn: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
    customer_id: Option<i64>,
) -> Result<Vec<RegisterRow>, AppError> {
    let rows = invoices::issued_between(conn, from, to, customer_id)?;
    rows.into_iter()
        .map(|(inv, customer_name)| {
            let s = invoices::summary(&inv)?;
            Ok(RegisterRow {
                kind: DocumentKind::Invoice,
                id: s.id,
                number: s.number,
                corrects: None,
                issued_at: s.issued_at,
                due_date: s.due_date,
                period_start: s.period_start,
                period_end: s.period_end,
                customer_id: s.customer_id,
                customer_name,
                status: s.status,
                currency: s.currency,
                subtotal: s.subtotal,
                tax: s.tax,
                total: s.total,
            })
        })
        .collect()
}

/// The invoice register's rows for credit notes issued in [from, to): amounts negative.
fn credit_note_rows(
    conn: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
    customer_id: Option<i64>,
) -> Result<Vec<RegisterRow>, AppError> {
    let negate = |amount: &str| {
        if amount.starts_with('-') || amount.chars().all(|c| c == '0' || c == '.') {
            amount.to_string()
        } else {
            format!("-{amount}")
        }
    };
    Ok(credit_notes::issued_between(conn, from, to, customer_id)?
        .into_iter()
        .map(|cn| RegisterRow {
            kind: DocumentKind::CreditNote,
            id: cn.id,
            number: Some(cn.number),
            corrects: Some(cn.invoice_number),
            issued_at: Some(cn.issued_at),
            due_date: None,
            period_start: cn.period_start,
            period_end: cn.period_end,
            customer_id: cn.customer_id,
            customer_name: cn.customer.name,
            status: InvoiceStatus::Issued,
            currency: cn.currency,
            subtotal: negate(&cn.subtotal),
            tax: negate(&cn.tax),
            total: negate(&cn.total),
        })
        .collect())
}
