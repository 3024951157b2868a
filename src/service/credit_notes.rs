//! Credit notes (SPEC 6): a full or partial reversal of an issued invoice, with its own gapless
//! series `CN-000001` and a document frozen at issue, like an invoice's.
//!
//! A credit note is issued in one transaction: it locks the invoice row (so two credit notes of
//! one invoice cannot both credit the same amount), takes the next number from the
//! `credit_note` counter row (so numbers are gapless and in issue order, also across processes
//! on one PostgreSQL database), and freezes its snapshot. Amounts are positive; the tax is
//! P9 on the credit note's own subtotal at the invoice's rate.
//!
//! Decisions: a full credit credits what partial credits left. Partial credits never credit
//! more than the invoice still bills, net of its negative lines (credit charges, which only a
//! full credit reverses). Once the invoice bills nothing more (by a full credit, or by partial
//! credits adding up to its net), it becomes `credited` and what it claimed (entries, tickets,
//! charges, retainer months) is free to be invoiced again.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use rust_decimal::Decimal;

use crate::documents::model::{CreditLineDocument, CreditNoteDocument, CreditNoteSummary, LineDocument};
use crate::domain::money::Currency;
use crate::domain::validation::{self as v, Check};
use crate::domain::vocab::{CreditType, InvoiceStatus};
use crate::error::AppError;
use crate::service::auth::Caller;
use crate::service::clock::Clock;
use crate::service::invoices;
use crate::storage::models::{CreditNote, Invoice, NewCreditNote};
use crate::storage::schema::{counters, credit_notes, invoices as invoices_t};
use crate::storage::{write_tx, DbConnection, Dec};

/// The number prefix of the credit-note series.
pub const PREFIX: &str = "CN-";

/// What a credit-note request asks for, parsed but not yet checked against the invoice.
#[derive(Clone, Debug)]
pub struct CreditRequest {
    pub reason: String,
    /// `None`: credit everything still uncredited. Else (1-based line, amount text) pairs.
    pub lines: Option<Vec<(i64, String)>>,
}

fn parse_amount(text: &str) -> Result<Decimal, AppError> {
    v::decimal(text).map_err(|e| AppError::Internal(format!("stored amount {text:?}: {e}")))
}

pub fn summary(row: &CreditNote) -> Result<CreditNoteSummary, AppError> {
    let c = row.currency;
    Ok(CreditNoteSummary {
        id: row.id,
        number: row.number.clone(),
        invoice_id: row.invoice_id,
        customer_id: row.customer_id,
        credit_type: if row.full_credit { CreditType::Full } else { CreditType::Partial },
        reason: row.reason.clone(),
        currency: row.currency,
        issued_at: crate::domain::time::timestamp(row.issued_at),
        subtotal: c.format(row.subtotal.0),
        tax_rate_percent: row.tax_rate_percent.0.to_string(),
        tax: c.format(row.tax.0),
        total: c.format(row.total.0),
    })
}

pub fn document(row: &CreditNote) -> Result<CreditNoteDocument, AppError> {
    serde_json::from_str(&row.snapshot)
        .map_err(|e| AppError::Internal(format!("credit note {} snapshot unreadable: {e}", row.id)))
}

/// What earlier credit notes of the invoice credited, per 1-based line.
fn credited_so_far(conn: &mut DbConnection, invoice_id: i64) -> Result<HashMap<usize, Decimal>, AppError> {
    let rows: Vec<CreditNote> = credit_notes::table
        .filter(credit_notes::invoice_id.eq(invoice_id))
        .select(CreditNote::as_select())
        .load(conn)?;
    let mut credited: HashMap<usize, Decimal> = HashMap::new();
    for row in &rows {
        for l in document(row)?.lines {
            *credited.entry(l.invoice_line).or_default() += parse_amount(&l.amount)?;
        }
    }
    Ok(credited)
}

/// Whether an invoice has credit notes (it then cannot be voided: void would reverse twice).
pub fn exists_for_invoice(conn: &mut DbConnection, invoice_id: i64) -> Result<bool, AppError> {
    let n: i64 = credit_notes::table.filter(credit_notes::invoice_id.eq(invoice_id)).count().get_result(conn)?;
    Ok(n > 0)
}

/// A credit line for `amount` of invoice line `position`: the line's own quantity and price
/// when all of it is credited at once, else one unit at the amount.
fn credit_line(
    currency: Currency,
    position: usize,
    line: &LineDocument,
    amount: Decimal,
    whole: bool,
) -> CreditLineDocument {
    CreditLineDocument {
        invoice_line: position,
        subscription_id: line.subscription_id,
        kind: line.kind,
        category: line.category,
        month: line.month.clone(),
        description: line.description.clone(),
        quantity: if whole { line.quantity.clone() } else { "1".to_string() },
        quantity_minutes: if whole { line.quantity_minutes.clone() } else { None },
        unit_price: if whole { line.unit_price.clone() } else { currency.format(amount) },
        amount: currency.format(amount),
    }
}

/// Issues a credit note for an issued invoice (409 for drafts, void and credited invoices;
/// 422 naming `lines[i].line` / `lines[i].amount` for lines that do not exist or amounts that
/// are not positive or exceed what is still uncredited on the line).
pub fn create(
    conn: &mut DbConnection,
    invoice_id: i64,
    req: CreditRequest,
    clock: &dyn Clock,
) -> Result<CreditNoteDocument, AppError> {
    write_tx(conn, |conn| {
        // A credit may free the invoice's claims: not while a run holds its customer.
        crate::service::lock_customer_of_invoice(conn, invoice_id)?;
        // Lock the invoice while it is issued: concurrent credits of one invoice queue here.
        let locked = diesel::update(
            invoices_t::table
                .filter(invoices_t::id.eq(invoice_id))
                .filter(invoices_t::status.eq(InvoiceStatus::Issued)),
        )
        .set(invoices_t::status.eq(InvoiceStatus::Issued))
        .execute(conn)?;
        let row: Option<Invoice> =
            invoices_t::table.find(invoice_id).select(Invoice::as_select()).first(conn).optional()?;
        let row = row.ok_or(AppError::NotFound { what: "invoice" })?;
        if locked == 0 {
            return Err(AppError::conflict(
                "invalid_status",
                format!("the invoice is {}; only issued invoices can be credited", row.status),
            ));
        }
        let doc = invoices::document(conn, &row)?;
        let currency = doc.currency;
        let credited = credited_so_far(conn, invoice_id)?;
        let mut uncredited = Vec::with_capacity(doc.lines.len());
        for (i, l) in doc.lines.iter().enumerate() {
            uncredited.push(parse_amount(&l.amount)? - credited.get(&(i + 1)).copied().unwrap_or_default());
        }

        let full = req.lines.is_none();
        let mut lines = Vec::new();
        match &req.lines {
            None => {
                for (i, l) in doc.lines.iter().enumerate() {
                    if !uncredited[i].is_zero() {
                        let whole = !credited.contains_key(&(i + 1));
                        lines.push(credit_line(currency, i + 1, l, uncredited[i], whole));
                    }
                }
            }
            Some(asked) => {
                let mut c = Check::new();
                if asked.is_empty() {
                    c.add("lines", "must name at least one line (or leave `lines` out to credit the whole invoice)");
                }
                let mut seen = Vec::new();
                for (i, (k, text)) in asked.iter().enumerate() {
                    let pos = usize::try_from(*k).ok().filter(|p| (1..=doc.lines.len()).contains(p));
                    let Some(pos) = pos else {
                        c.add(&format!("lines[{i}].line"), format!("the invoice has lines 1 to {}", doc.lines.len()));
                        continue;
                    };
                    if seen.contains(&pos) {
                        c.add(&format!("lines[{i}].line"), "names a line already credited in this request");
                        continue;
                    }
                    seen.push(pos);
                    let field = format!("lines[{i}].amount");
                    let Some(amount) = c.take(&field, v::decimal(text).and_then(|d| v::money(d, currency))) else {
                        continue;
                    };
                    if amount <= Decimal::ZERO {
                        c.add(&field, "must be positive");
                    } else if amount > uncredited[pos - 1] {
                        c.add(
                            &field,
                            format!(
                                "is more than what is still uncredited on line {pos} ({})",
                                currency.format(uncredited[pos - 1].max(Decimal::ZERO))
                            ),
                        );
                    } else {
                        let whole = amount == uncredited[pos - 1] && !credited.contains_key(&pos);
                        lines.push(credit_line(currency, pos, &doc.lines[pos - 1], amount, whole));
                    }
                }
                c.finish(|| Some(()))?;
                lines.sort_by_key(|l| l.invoice_line);
            }
        }
        let mut subtotal = Decimal::ZERO;
        for l in &lines {
            subtotal += parse_amount(&l.amount)?;
        }
        if subtotal <= Decimal::ZERO {
            return Err(AppError::conflict("nothing_to_credit", "nothing is left to credit on this invoice"));
        }
        // What the invoice still bills, its credit charges (negative lines) included. Partial
        // credits may not go beyond it: crediting all of a 150.00 line on an invoice of
        // 150.00 - 20.00 would give the customer back more than it was billed.
        let uncredited_net: Decimal = uncredited.iter().sum();
        if subtotal > uncredited_net {
            return Err(AppError::field(
                "lines",
                format!(
                    "these lines credit {}, more than the {} the invoice still bills (its credit lines included)",
                    currency.format(subtotal),
                    currency.format(uncredited_net.max(Decimal::ZERO))
                ),
            ));
        }
        let rate = row.tax_rate_percent.0;
        let tax = currency.round(subtotal * rate / Decimal::ONE_HUNDRED);
        let total = subtotal + tax;

        diesel::update(counters::table.filter(counters::name.eq("credit_note")))
            .set(counters::value.eq(counters::value + 1))
            .execute(conn)?;
        let seq: i64 = counters::table.filter(counters::name.eq("credit_note")).select(counters::value).first(conn)?;
        let number = format!("{PREFIX}{seq:06}");
        // Read the clock after taking the counter lock, so issue times follow number order.
        let now = clock.now();
        let issue_date = doc.issued_at.as_deref().map(|t| t.get(..10).unwrap_or(t).to_string()).unwrap_or_default();
        let credit_type = if full { CreditType::Full } else { CreditType::Partial };
        let mut cn = CreditNoteDocument {
            id: 0,
            number: number.clone(),
            document_type: "credit_note".into(),
            invoice_id,
            invoice_number: doc.number.clone().unwrap_or_default(),
            invoice_issue_date: issue_date,
            credit_type,
            reason: req.reason.clone(),
            customer_id: row.customer_id,
            currency: doc.currency,
            period_start: doc.period_start.clone(),
            period_end: doc.period_end.clone(),
            issued_at: crate::domain::time::timestamp(now),
            subtotal: currency.format(subtotal),
            tax_rate_percent: doc.tax_rate_percent.clone(),
            tax: currency.format(tax),
            total: currency.format(total),
            tax_treatment: doc.tax_treatment,
            tax_note: doc.tax_note.clone(),
            customer: doc.customer.clone(),
            partner: doc.partner.clone(),
            subscriptions: doc
                .subscriptions
                .iter()
                .filter(|s| lines.iter().any(|l| l.subscription_id == s.id))
                .cloned()
                .collect(),
            lines,
        };
        let id: i64 = diesel::insert_into(credit_notes::table)
            .values(&NewCreditNote {
                invoice_id,
                customer_id: row.customer_id,
                number,
                full_credit: full,
                reason: req.reason.clone(),
                currency: doc.currency,
                issued_at: now,
                subtotal: Dec(subtotal),
                tax_rate_percent: Dec(rate),
                tax: Dec(tax),
                total: Dec(total),
                snapshot: String::new(),
            })
            .returning(credit_notes::id)
            .get_result(conn)?;
        cn.id = id;
        let snapshot = serde_json::to_string(&cn).map_err(|e| AppError::Internal(e.to_string()))?;
        diesel::update(credit_notes::table.find(id)).set(credit_notes::snapshot.eq(snapshot)).execute(conn)?;

        // Fully credited (now, or by partial credits adding up to what it billed): the invoice
        // is `credited` and its items may be invoiced again. Judged on the net, not line by
        // line: a credit charge (a negative line) cannot be credited in part, and freeing it
        // while it still stood would give its credit a second time on the next invoice.
        if uncredited_net - subtotal <= Decimal::ZERO {
            diesel::update(invoices_t::table.find(invoice_id))
                .set(invoices_t::status.eq(InvoiceStatus::Credited))
                .execute(conn)?;
            crate::service::claims::free_claims(conn, invoice_id)?;
        }
        Ok(cn)
    })
}

/// A credit note the caller may see: clients only their own customer's (else 404).
pub fn get_row(conn: &mut DbConnection, caller: &Caller, id: i64) -> Result<CreditNote, AppError> {
    let row: Option<CreditNote> =
        credit_notes::table.find(id).select(CreditNote::as_select()).first(conn).optional()?;
    match row {
        Some(r) if caller.may_see_customer(r.customer_id) => Ok(r),
        _ => Err(AppError::NotFound { what: "credit note" }),
    }
}

pub fn get(conn: &mut DbConnection, caller: &Caller, id: i64) -> Result<CreditNoteDocument, AppError> {
    let row = get_row(conn, caller, id)?;
    document(&row)
}

/// Credit notes in id order after `after`, for the caller (clients: their own customer's),
/// optionally those of one invoice (which the caller must be able to see).
pub fn list(
    conn: &mut DbConnection,
    caller: &Caller,
    invoice_id: Option<i64>,
    customer_id: Option<i64>,
    after: i64,
    limit: i64,
) -> Result<Vec<CreditNote>, AppError> {
    if let Some(inv) = invoice_id {
        invoices::get_row(conn, caller, inv)?;
    }
    let mut q = credit_notes::table
        .filter(credit_notes::id.gt(after))
        .order(credit_notes::id)
        .limit(limit + 1)
        .select(CreditNote::as_select())
        .into_boxed();
    if caller.is_client() {
        q = q.filter(credit_notes::customer_id.eq(caller.customer_id.unwrap_or(-1)));
    }
    if let Some(c) = customer_id {
        q = q.filter(credit_notes::customer_id.eq(c));
    }
    if let Some(inv) = invoice_id {
        q = q.filter(credit_notes::invoice_id.eq(inv));
    }
    Ok(q.load(conn)?)
}

/// For the invoice register: credit notes issued in [from, to), with the customer's name as
/// credited (from the snapshot).
pub fn issued_between(
    conn: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
    customer_id: Option<i64>,
) -> Result<Vec<CreditNoteDocument>, AppError> {
    let midnight = |d: NaiveDate| d.and_time(chrono::NaiveTime::MIN);
    let mut q = credit_notes::table
        .filter(credit_notes::issued_at.ge(midnight(from)))
        .filter(credit_notes::issued_at.lt(midnight(to)))
        .order((credit_notes::issued_at, credit_notes::id))
        .select(CreditNote::as_select())
        .into_boxed();
    if let Some(c) = customer_id {
        q = q.filter(credit_notes::customer_id.eq(c));
    }
    let rows: Vec<CreditNote> = q.load(conn)?;
    rows.iter().map(document).collect()
}
