//! Issuing (a gapless number and the frozen snapshot), voiding and deleting drafts.

use std::collections::HashMap;

use diesel::prelude::*;

use super::document::*;
use super::queries::*;
use crate::documents::model::InvoiceDocument;
use crate::domain::money::Currency;
use crate::domain::vocab::InvoiceStatus;
use crate::error::AppError;
use crate::service::claims::*;
use crate::service::clock::Clock;
use crate::service::IN_CHUNK;
use crate::storage::models::*;
use crate::storage::schema::*;
use crate::storage::{write_tx, DbConnection, Dec};

/// Moves an invoice from `from` to `to` if it is in `from`, taking its row lock on PostgreSQL,
/// so concurrent issues of one draft cannot both pass.
pub(crate) fn transition(
    conn: &mut DbConnection,
    id: i64,
    from: InvoiceStatus,
    to: InvoiceStatus,
) -> Result<Invoice, AppError> {
    let n = diesel::update(invoices::table.filter(invoices::id.eq(id)).filter(invoices::status.eq(from)))
        .set(invoices::status.eq(to))
        .execute(conn)?;
    let row = find(conn, id)?.ok_or(AppError::NotFound { what: "invoice" })?;
    if n == 0 {
        return Err(AppError::conflict("invalid_status", format!("the invoice is {}, not {from}", row.status)));
    }
    Ok(row)
}

/// Issues a draft: the next number of the gapless series, issue and due dates, and the frozen
/// snapshot. See [`issue_many`].
pub fn issue(conn: &mut DbConnection, id: i64, clock: &dyn Clock) -> Result<InvoiceDocument, AppError> {
    write_tx(conn, |conn| {
        if find(conn, id)?.is_none() {
            return Err(AppError::NotFound { what: "invoice" });
        }
        issue_in_tx(conn, &[id], clock)?.pop().ok_or_else(|| AppError::Internal("nothing issued".into()))
    })
}

/// The most drafts one bulk issue takes.
pub const MAX_BULK_ISSUE: usize = 10_000;

/// Issues many drafts at once, all or nothing, numbered in id order (a run's drafts are in
/// customer order, so their numbers are too). One transaction: thousands of invoices cost one
/// commit, not one each.
pub fn issue_many(conn: &mut DbConnection, ids: &[i64], clock: &dyn Clock) -> Result<Vec<InvoiceDocument>, AppError> {
    let ids = sorted_unique(ids.iter().copied());
    write_tx(conn, |conn| {
        let found = find_many(conn, &ids)?;
        if found.len() != ids.len() {
            let known: std::collections::HashSet<i64> = found.iter().map(|r| r.id).collect();
            let missing = ids.iter().find(|id| !known.contains(id)).copied().unwrap_or_default();
            return Err(AppError::field("invoice_ids", format!("no invoice has id {missing}")));
        }
        issue_in_tx(conn, &ids, clock)
    })
}

/// Issues the drafts `ids` (sorted, all existing) inside the caller's transaction.
///
/// Locks: the invoice counter row first, then the invoices' customers, then the invoices, in
/// every issue (single or bulk), so concurrent issuers queue on the counter instead of
/// deadlocking on each other's invoice rows, and behind a run on the customers. The counter is
/// moved inside this transaction, so a rollback gives the numbers back (a sequence would leave
/// gaps; MAX+1 would give duplicates).
pub(crate) fn issue_in_tx(
    conn: &mut DbConnection,
    ids: &[i64],
    clock: &dyn Clock,
) -> Result<Vec<InvoiceDocument>, AppError> {
    diesel::update(counters::table.filter(counters::name.eq("invoice")))
        .set(counters::value.eq(counters::value))
        .execute(conn)?;
    // Then (PostgreSQL) the invoices' customers, in a run's order, so an issue never deadlocks
    // with a run.
    crate::storage::locks::customers_of_invoices_for_key_share(conn, ids)?;
    let mut moved = 0;
    for chunk in ids.chunks(IN_CHUNK) {
        moved += diesel::update(
            invoices::table.filter(invoices::id.eq_any(chunk)).filter(invoices::status.eq(InvoiceStatus::Draft)),
        )
        .set(invoices::status.eq(InvoiceStatus::Issued))
        .execute(conn)?;
    }
    let mut rows = find_many(conn, ids)?;
    if moved != ids.len() {
        let row = rows.iter().find(|r| r.status != InvoiceStatus::Issued || r.number.is_some()).or(rows.first());
        let (id, status) = row.map(|r| (r.id, r.status.to_string())).unwrap_or_default();
        let detail = if ids.len() == 1 {
            format!("the invoice is {status}, not draft")
        } else {
            format!("invoice {id} is {status}, not draft")
        };
        return Err(AppError::conflict("invalid_status", detail));
    }
    // A draft priced at another tax rate or currency than the customer's current one would
    // freeze mixed terms: re-draft it instead.
    let customer_ids = sorted_unique(rows.iter().map(|r| r.customer_id));
    let mut terms: HashMap<i64, (Currency, Dec)> = HashMap::new();
    for chunk in customer_ids.chunks(IN_CHUNK) {
        let found: Vec<(i64, Currency, Dec)> = customers::table
            .filter(customers::id.eq_any(chunk))
            .select((customers::id, customers::currency, customers::tax_rate_percent))
            .load(conn)?;
        terms.extend(found.into_iter().map(|(id, c, r)| (id, (c, r))));
    }
    for row in &rows {
        if terms.get(&row.customer_id).is_none_or(|(c, r)| *c != row.currency || r.0 != row.tax_rate_percent.0) {
            let detail =
                "the customer's currency or tax rate changed since this draft was made; delete it and draft again";
            let detail = if ids.len() == 1 { detail.to_string() } else { format!("invoice {}: {detail}", row.id) };
            return Err(AppError::conflict("stale_draft", detail));
        }
    }
    diesel::update(counters::table.filter(counters::name.eq("invoice")))
        .set(counters::value.eq(counters::value + rows.len() as i64))
        .execute(conn)?;
    let last: i64 = counters::table.filter(counters::name.eq("invoice")).select(counters::value).first(conn)?;
    let partner = crate::service::partner::get(conn)?;
    // Read the clock after taking the counter lock, so issue times follow number order.
    let now = clock.now();
    let due = now.date() + chrono::Days::new(partner.payment_terms_days.max(0) as u64);
    let first = last - rows.len() as i64 + 1;
    for (i, row) in rows.iter_mut().enumerate() {
        row.number = Some(format!("{}{:06}", partner.invoice_prefix, first + i as i64));
        row.issued_at = Some(now);
        row.due_date = Some(due);
        row.status = InvoiceStatus::Issued;
    }
    let docs = build_documents(conn, &rows)?;
    for (row, doc) in rows.iter().zip(&docs) {
        let snapshot = serde_json::to_string(doc).map_err(|e| AppError::Internal(e.to_string()))?;
        diesel::update(invoices::table.find(row.id))
            .set((
                invoices::number.eq(row.number.clone()),
                invoices::issued_at.eq(Some(now)),
                invoices::due_date.eq(Some(due)),
                invoices::snapshot.eq(Some(snapshot)),
            ))
            .execute(conn)?;
    }
    Ok(docs)
}

/// Voids an issued invoice: it keeps its number and snapshot; what it claimed is free again.
pub fn void(conn: &mut DbConnection, id: i64) -> Result<InvoiceDocument, AppError> {
    write_tx(conn, |conn| {
        crate::service::lock_customer_of_invoice(conn, id)?;
        let row = transition(conn, id, InvoiceStatus::Issued, InvoiceStatus::Void)?;
        // A credited invoice is corrected by credit notes only (asked here, not of the credit-note
        // service, which builds on this one).
        let credited: i64 = credit_notes::table.filter(credit_notes::invoice_id.eq(id)).count().get_result(conn)?;
        if credited > 0 {
            return Err(AppError::conflict(
                "has_credit_notes",
                "the invoice has credit notes; credit the rest instead of voiding it",
            ));
        }
        free_claims(conn, id)?;
        document(conn, &row)
    })
}

/// Deletes a draft and frees its claims; issued and void invoices are kept forever (409).
pub fn delete_draft(conn: &mut DbConnection, id: i64) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        crate::service::lock_customer_of_invoice(conn, id)?;
        // Lock the row while it is still a draft (a concurrent issue either finishes first, and
        // this fails, or waits for this delete).
        transition(conn, id, InvoiceStatus::Draft, InvoiceStatus::Draft).map_err(|e| match e {
            AppError::Conflict { .. } => {
                AppError::conflict("invalid_status", "only drafts can be deleted; void an issued invoice instead")
            }
            other => other,
        })?;
        free_claims(conn, id)?;
        diesel::delete(invoice_lines::table.filter(invoice_lines::invoice_id.eq(id))).execute(conn)?;
        diesel::delete(invoices::table.find(id)).execute(conn)?;
        Ok(())
    })
}
