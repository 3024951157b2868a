//! The invoice lifecycle (SPEC section 3): drafting (one customer, or a run over all), issuing
//! with a gapless number, voiding, deleting drafts; and the invoice document, which is frozen
//! into a snapshot at issue so an issued invoice never changes afterwards.
//!
//! Claims: a draft records the time entries and tickets it bills (`time_entry_claims`,
//! `ticket_claims`, keyed by what they claim), marks the charges it bills (`invoice_id`) and
//! the retainer months it takes (`retainer_claims`), in the same transaction that creates it.
//! Claims only take items that are still free, and the count is checked, so two concurrent
//! drafts can never bill the same item: one of them fails and rolls back whole.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::documents::model::{
    CustomerParty, InvoiceDocument, InvoiceSummary, LineDocument, PartnerParty, SubscriptionRefDoc, SupportTerms,
};
use crate::domain::money::Currency;
use crate::domain::pricing::{self, Category, InvoiceRequest, Period, PricedInvoice, RetainerMonthUsed};
use crate::domain::vocab::{InvoiceStatus, SubscriptionStatus};
use crate::error::AppError;
use crate::service::auth::Caller;
use crate::service::clock::Clock;
use crate::service::{period_read, IN_CHUNK};
use crate::storage::models::*;
use crate::storage::schema::*;
use crate::storage::{write_tx, DbConnection, Dec, SecondReader};

fn currency_of(code: &str) -> Result<Currency, AppError> {
    Currency::from_code(code).ok_or_else(|| AppError::Internal(format!("stored currency {code:?} is unknown")))
}

/// Unit prices keep their own digits but show at least the currency's minor digits.
fn format_price(currency: Currency, d: Decimal) -> String {
    let mut d = d.normalize();
    if d.scale() < currency.minor_digits() {
        d.rescale(currency.minor_digits());
    }
    d.to_string()
}

pub fn summary(row: &Invoice) -> Result<InvoiceSummary, AppError> {
    let c = currency_of(&row.currency)?;
    Ok(InvoiceSummary {
        id: row.id,
        number: row.number.clone(),
        status: row.status.clone(),
        customer_id: row.customer_id,
        currency: row.currency.clone(),
        period_start: row.period_start.to_string(),
        period_end: row.period_end.to_string(),
        issued_at: row.issued_at.map(crate::domain::time::timestamp),
        due_date: row.due_date.map(|d| d.to_string()),
        subtotal: c.format(row.subtotal.0),
        tax_rate_percent: row.tax_rate_percent.0.to_string(),
        tax: c.format(row.tax.0),
        total: c.format(row.total.0),
    })
}

/// Builds the document from the live rows (drafts, and issued invoices at the moment of issue).
fn build_document(conn: &mut DbConnection, row: &Invoice) -> Result<InvoiceDocument, AppError> {
    build_documents(conn, std::slice::from_ref(row))?
        .pop()
        .ok_or_else(|| AppError::Internal("no document built".into()))
}

/// Builds the documents of many invoices with a handful of queries per 10,000 invoices (not
/// per invoice): an invoice run or a bulk issue of thousands stays a few round trips.
fn build_documents(conn: &mut DbConnection, rows: &[Invoice]) -> Result<Vec<InvoiceDocument>, AppError> {
    let partner = crate::service::partner::get(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut lines_of: HashMap<i64, Vec<InvoiceLine>> = HashMap::with_capacity(rows.len());
    for chunk in ids.chunks(IN_CHUNK) {
        let lines: Vec<InvoiceLine> = invoice_lines::table
            .filter(invoice_lines::invoice_id.eq_any(chunk))
            .order((invoice_lines::invoice_id, invoice_lines::position))
            .select(InvoiceLine::as_select())
            .load(conn)?;
        for l in lines {
            lines_of.entry(l.invoice_id).or_default().push(l);
        }
    }
    let customer_ids = sorted_unique(rows.iter().map(|r| r.customer_id));
    let mut customers_by_id: HashMap<i64, Customer> = HashMap::with_capacity(customer_ids.len());
    for chunk in customer_ids.chunks(IN_CHUNK) {
        let found: Vec<Customer> =
            customers::table.filter(customers::id.eq_any(chunk)).select(Customer::as_select()).load(conn)?;
        customers_by_id.extend(found.into_iter().map(|c| (c.id, c)));
    }
    let sub_ids = sorted_unique(lines_of.values().flatten().map(|l| l.subscription_id));
    let mut subs_by_id: HashMap<i64, Subscription> = HashMap::with_capacity(sub_ids.len());
    for chunk in sub_ids.chunks(IN_CHUNK) {
        let found: Vec<Subscription> = subscriptions::table
            .filter(subscriptions::id.eq_any(chunk))
            .select(Subscription::as_select())
            .load(conn)?;
        subs_by_id.extend(found.into_iter().map(|s| (s.id, s)));
    }
    let plan_ids = sorted_unique(subs_by_id.values().map(|s| s.plan_id));
    let plans_by_id: HashMap<i64, Plan> = plans::table
        .filter(plans::id.eq_any(&plan_ids))
        .select(Plan::as_select())
        .load(conn)?
        .into_iter()
        .map(|p: Plan| (p.id, p))
        .collect();

    let mut docs = Vec::with_capacity(rows.len());
    for row in rows {
        let customer = customers_by_id.get(&row.customer_id).ok_or(AppError::NotFound { what: "customer" })?;
        let lines = lines_of.remove(&row.id).unwrap_or_default();
        let invoice_subs = sorted_unique(lines.iter().map(|l| l.subscription_id));
        let subs: Vec<&Subscription> = invoice_subs.iter().filter_map(|id| subs_by_id.get(id)).collect();
        let invoice_plans = sorted_unique(subs.iter().map(|s| s.plan_id));
        let plan_rows: Vec<&Plan> = invoice_plans.iter().filter_map(|id| plans_by_id.get(id)).collect();
        docs.push(assemble(row, lines, customer, &partner, &subs, &plan_rows)?);
    }
    Ok(docs)
}

fn sorted_unique(ids: impl Iterator<Item = i64>) -> Vec<i64> {
    let mut v: Vec<i64> = ids.collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// One invoice's document from its rows.
fn assemble(
    row: &Invoice,
    lines: Vec<InvoiceLine>,
    customer: &Customer,
    partner: &Partner,
    subs: &[&Subscription],
    plan_rows: &[&Plan],
) -> Result<InvoiceDocument, AppError> {
    let c = currency_of(&row.currency)?;
    let s = summary(row)?;
    Ok(InvoiceDocument {
        id: row.id,
        number: s.number,
        status: s.status,
        customer_id: row.customer_id,
        currency: s.currency,
        period_start: s.period_start,
        period_end: s.period_end,
        issued_at: s.issued_at,
        due_date: s.due_date,
        lines: lines
            .into_iter()
            .map(|l| LineDocument {
                subscription_id: l.subscription_id,
                kind: l.kind,
                category: l.category,
                month: l.month.map(|m| m.to_string()),
                description: l.description,
                quantity: l.quantity.0.to_string(),
                quantity_minutes: l.quantity_minutes.map(|q| q.0.normalize().to_string()),
                unit_price: format_price(c, l.unit_price.0),
                amount: c.format(l.amount.0),
            })
            .collect(),
        subtotal: s.subtotal,
        tax_rate_percent: s.tax_rate_percent,
        tax: s.tax,
        total: s.total,
        tax_note: crate::service::tax::note(customer),
        tax_treatment: customer.tax_treatment.clone(),
        customer: CustomerParty {
            name: customer.name.clone(),
            billing_address: customer.billing_address.clone(),
            email: customer.email.clone(),
            country: customer.country.clone(),
            tax_id: customer.tax_id.clone(),
            external_id: customer.external_id.clone(),
        },
        partner: PartnerParty {
            name: partner.name.clone(),
            address: partner.address.clone(),
            country: partner.country.clone(),
            tax_id: partner.tax_id.clone(),
            payment_terms_days: partner.payment_terms_days,
        },
        subscriptions: subs
            .iter()
            .map(|s| SubscriptionRefDoc {
                id: s.id,
                name: s.name.clone(),
                product: s.product.clone(),
                external_id: s.external_id.clone(),
                plan_id: s.plan_id,
            })
            .collect(),
        support_terms: plan_rows
            .iter()
            .map(|p| SupportTerms {
                plan_id: p.id,
                plan_name: p.name.clone(),
                scope: p.scope.clone(),
                hours_of_service: serde_json::from_str(&p.hours_of_service).ok(),
                contact_methods: serde_json::from_str(&p.contact_methods).unwrap_or_default(),
            })
            .collect(),
    })
}

/// The document of an invoice: the frozen snapshot once issued, else built live.
pub fn document(conn: &mut DbConnection, row: &Invoice) -> Result<InvoiceDocument, AppError> {
    match &row.snapshot {
        Some(json) => {
            let mut doc: InvoiceDocument = serde_json::from_str(json)
                .map_err(|e| AppError::Internal(format!("invoice {} snapshot unreadable: {e}", row.id)))?;
            // Only the status moves after issue (issued -> void).
            doc.status = row.status.clone();
            Ok(doc)
        }
        None => build_document(conn, row),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading

fn find(conn: &mut DbConnection, id: i64) -> Result<Option<Invoice>, AppError> {
    Ok(invoices::table.find(id).select(Invoice::as_select()).first(conn).optional()?)
}

/// The rows of these invoices, in id order (missing ids are left out).
fn find_many(conn: &mut DbConnection, ids: &[i64]) -> Result<Vec<Invoice>, AppError> {
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(IN_CHUNK) {
        rows.extend(
            invoices::table
                .filter(invoices::id.eq_any(chunk))
                .order(invoices::id)
                .select(Invoice::as_select())
                .load(conn)?,
        );
    }
    rows.sort_unstable_by_key(|r: &Invoice| r.id);
    Ok(rows)
}

/// An invoice the caller may see: clients only their own customer's, and never drafts.
pub fn get_row(conn: &mut DbConnection, caller: &Caller, id: i64) -> Result<Invoice, AppError> {
    visible(find(conn, id)?, caller)
}

fn visible(row: Option<Invoice>, caller: &Caller) -> Result<Invoice, AppError> {
    match row {
        Some(row) if caller.may_see_customer(row.customer_id) && !(caller.is_client() && row.status == "draft") => {
            Ok(row)
        }
        _ => Err(AppError::NotFound { what: "invoice" }),
    }
}

pub fn get(conn: &mut DbConnection, caller: &Caller, id: i64) -> Result<InvoiceDocument, AppError> {
    let row = get_row(conn, caller, id)?;
    document(conn, &row)
}

/// The invoice as JSON bytes. An issued invoice's stored snapshot is its document, so it is
/// served as stored, without parsing and re-serializing it (the hot path of API clients
/// polling invoices); drafts and void or credited invoices (whose status moved on) are
/// serialized from [`document`].
pub fn get_json(conn: &mut DbConnection, caller: &Caller, id: i64) -> Result<Vec<u8>, AppError> {
    let row = get_row(conn, caller, id)?;
    json_of(conn, row)
}

/// [`get_json`], also confirming that API key `key_id` is still live, in the invoice's own
/// statement: one round trip to PostgreSQL instead of two (see `AppState::run_read`). A revoked
/// key is `Unauthorized`, whether or not the invoice exists.
pub fn get_json_confirming_key(
    conn: &mut DbConnection,
    caller: &Caller,
    id: i64,
    key_id: i64,
) -> Result<Vec<u8>, AppError> {
    let live_key =
        diesel::dsl::exists(api_keys::table.filter(api_keys::id.eq(key_id)).filter(api_keys::revoked_at.is_null()));
    let found: Option<(Invoice, bool)> =
        invoices::table.find(id).select((Invoice::as_select(), live_key)).first(conn).optional()?;
    match found {
        Some((_, false)) => Err(AppError::Unauthorized),
        Some((row, true)) => json_of(conn, visible(Some(row), caller)?),
        None if crate::service::auth::is_live(conn, key_id)? => Err(AppError::NotFound { what: "invoice" }),
        None => Err(AppError::Unauthorized),
    }
}

/// An issued invoice's stored snapshot as is; anything else serialized from [`document`].
fn json_of(conn: &mut DbConnection, mut row: Invoice) -> Result<Vec<u8>, AppError> {
    match row.snapshot.take() {
        Some(snapshot) if row.status == InvoiceStatus::Issued.as_str() => Ok(snapshot.into_bytes()),
        snapshot => {
            row.snapshot = snapshot;
            serde_json::to_vec(&document(conn, &row)?).map_err(|e| AppError::Internal(e.to_string()))
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct InvoiceFilter {
    pub customer_id: Option<i64>,
    pub status: Option<InvoiceStatus>,
    pub period_start: Option<NaiveDate>,
}

pub fn list(
    conn: &mut DbConnection,
    caller: &Caller,
    filter: InvoiceFilter,
    after: i64,
    limit: i64,
) -> Result<Vec<Invoice>, AppError> {
    let mut query = invoices::table
        .filter(invoices::id.gt(after))
        .order(invoices::id)
        .limit(limit + 1)
        .select(Invoice::as_select())
        .into_boxed();
    if caller.is_client() {
        query = query
            .filter(invoices::customer_id.eq(caller.customer_id.unwrap_or(-1)))
            .filter(invoices::status.ne(InvoiceStatus::Draft.as_str()));
    }
    if let Some(c) = filter.customer_id {
        query = query.filter(invoices::customer_id.eq(c));
    }
    if let Some(s) = filter.status {
        query = query.filter(invoices::status.eq(s.as_str()));
    }
    if let Some(p) = filter.period_start {
        query = query.filter(invoices::period_start.eq(p));
    }
    Ok(query.load(conn)?)
}

// ---------------------------------------------------------------------------------------------
// Drafting

/// Which customers a drafting call covers.
enum Scope<'a> {
    One(i64),
    /// Every customer; with where to borrow a second connection to read the period with (see
    /// `run`).
    All(SecondReader<'a>),
}

/// Creates a draft for one customer; 422 `nothing_to_invoice` when there is nothing to bill.
pub fn create_draft(
    conn: &mut DbConnection,
    customer_id: i64,
    period: Period,
    now: NaiveDateTime,
) -> Result<InvoiceDocument, AppError> {
    write_tx(conn, |conn| {
        let ids = draft(conn, Scope::One(customer_id), period, now)?;
        let id = ids.first().copied().ok_or_else(|| {
            AppError::unprocessable("nothing_to_invoice", "nothing to invoice for this customer and period")
        })?;
        let row = find(conn, id)?.ok_or(AppError::NotFound { what: "invoice" })?;
        build_document(conn, &row)
    })
}

/// Drafts an invoice for every customer with something to bill in the period, all in one
/// transaction. Customers with nothing to bill are skipped.
///
/// `second` says where to borrow another connection to the same database: on PostgreSQL the
/// run reads the period's entries with both at once (`period_read`). It is borrowed once the
/// run holds its customers' locks.
pub fn run(
    conn: &mut DbConnection,
    second: SecondReader,
    period: Period,
    now: NaiveDateTime,
) -> Result<Vec<InvoiceDocument>, AppError> {
    let ids = run_ids(conn, second, period, now)?;
    // The documents are read after the commit, so the write transaction (and its locks) stays short.
    let rows = find_many(conn, &ids)?;
    build_documents(conn, &rows)
}

/// The invoice run without the documents: the new drafts' ids, in customer order.
pub fn run_ids(
    conn: &mut DbConnection,
    second: SecondReader,
    period: Period,
    now: NaiveDateTime,
) -> Result<Vec<i64>, AppError> {
    crate::storage::with_bulk_cache(conn, |conn| write_tx(conn, |conn| draft(conn, Scope::All(second), period, now)))
}

/// On PostgreSQL, drafting locks the customers' rows first, so two concurrent drafts for one
/// customer queue instead of racing (the second then sees the first's claims). SQLite's
/// `BEGIN IMMEDIATE` already serializes writers.
fn lock_customers(conn: &mut DbConnection, scope: &Scope) -> Result<(), AppError> {
    if let DbConnection::Postgresql(pg) = conn {
        let _: Vec<i64> = match scope {
            Scope::One(id) => {
                customers::table.filter(customers::id.eq(*id)).select(customers::id).for_update().load(pg)?
            }
            Scope::All(_) => customers::table.select(customers::id).order(customers::id).for_update().load(pg)?,
        };
    }
    Ok(())
}

fn utc_midnight(d: NaiveDate) -> NaiveDateTime {
    d.and_hms_opt(0, 0, 0).expect("midnight exists")
}

fn to_utc(t: NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_naive_utc_and_offset(t, chrono::Utc)
}

/// Customers priced and written together: bounds the run's memory (one batch's entries at a
/// time) and turns per-invoice statements into a few per batch.
const CUSTOMERS_PER_BATCH: usize = 1_000;

/// Loads every unclaimed candidate in the period for the scope, prices each customer, and
/// writes the drafts with their claims, a batch of customers at a time. Returns the new
/// invoice ids in customer order.
fn draft(conn: &mut DbConnection, scope: Scope, period: Period, now: NaiveDateTime) -> Result<Vec<i64>, AppError> {
    lock_customers(conn, &scope)?;
    let customer_rows: Vec<Customer> = match &scope {
        Scope::One(id) => {
            let row = customers::table.find(*id).select(Customer::as_select()).first(conn).optional()?;
            vec![row.ok_or_else(|| AppError::field("customer_id", "no customer has this id"))?]
        }
        Scope::All(_) => customers::table.order(customers::id).select(Customer::as_select()).load(conn)?,
    };
    let plan_rows: Vec<Plan> = plans::table.select(Plan::as_select()).load(conn)?;
    let mut terms = HashMap::new();
    for p in &plan_rows {
        terms.insert(p.id, p.terms().map_err(|e| AppError::Internal(format!("plan {} is corrupt: {e}", p.id)))?);
    }
    let mut ids = Vec::new();
    // Everything the drafts claim, written once they are all priced.
    let mut claims = PendingClaims::default();
    // (How long each phase took is logged at debug level: RUST_LOG=supportbill=debug.)
    let (all, mut lent) = match scope {
        Scope::One(_) => (false, None),
        // Borrowed only now, with the customers locked: a run that queued behind another held
        // one connection while it waited.
        Scope::All(second) => (true, second.take(conn)),
    };
    let second = lent.as_deref_mut().map(|c| &mut **c).filter(|second| period_read::can_share(conn, second));
    let phases = match second {
        Some(second) => draft_with_second(conn, second, &customer_rows, &terms, period, now, &mut ids, &mut claims)?,
        None => {
            // A run reads the period's entries in one pass in id order (sequential on disk), a
            // draft for one customer through its subscriptions.
            let started = std::time::Instant::now();
            let mut entries = if all {
                Some(crate::storage::with_custom_plans(conn, |conn| period_read::unclaimed_entries(conn, period))?)
            } else {
                None
            };
            let read = started.elapsed();
            let (mut pricing, mut writing) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
            for batch in customer_rows.chunks(CUSTOMERS_PER_BATCH) {
                let t = std::time::Instant::now();
                let priced = price_batch(conn, batch, &terms, period, entries.as_mut())?;
                pricing += t.elapsed();
                let t = std::time::Instant::now();
                ids.extend(write_drafts(conn, &priced, now, &mut claims)?);
                writing += t.elapsed();
            }
            format!("read entries {read:?}, price (with items and retainers) {pricing:?}, write drafts {writing:?}")
        }
    };
    let t = std::time::Instant::now();
    let claimed = claims.entries.len();
    claims.write(conn)?;
    log::debug!(
        "draft: {} invoices; {phases}, claim {claimed} entries (and tickets, charges) {:?}",
        ids.len(),
        t.elapsed()
    );
    Ok(ids)
}

/// The run with a second PostgreSQL connection: both read the period's entries (in the run's
/// snapshot, `period_read::SharedRead`), then the second prices batch after batch of customers while the
/// run's own connection writes the batch before. Reading and pricing by the second connection
/// in the run's snapshot sees what the run would: the run writes nothing before it has read,
/// and a batch's claims of retainer months, tickets and charges concern that batch's
/// subscriptions only. Returns how long the phases took, for the log.
#[allow(clippy::too_many_arguments)]
fn draft_with_second(
    conn: &mut DbConnection,
    second: &mut DbConnection,
    customer_rows: &[Customer],
    terms: &HashMap<i64, pricing::PlanTerms>,
    period: Period,
    now: NaiveDateTime,
    ids: &mut Vec<i64>,
    claims: &mut PendingClaims,
) -> Result<String, AppError> {
    let started = std::time::Instant::now();
    let shared = period_read::SharedRead::export(conn, period)?;
    // The run's half of the entries goes to the pricing thread; priced batches come back, at
    // most two ahead of the writing (bounded memory).
    let (half_tx, half_rx) = std::sync::mpsc::sync_channel::<period_read::EntriesBySubscription>(1);
    let (priced_tx, priced_rx) = std::sync::mpsc::sync_channel::<Vec<PricedDraft>>(2);
    let shared = &shared;
    std::thread::scope(|s| {
        let pricer = s.spawn(move || {
            second.transaction(|second| -> Result<(), AppError> {
                shared.enter(second)?;
                let mut entries = shared.read(second)?;
                // No half: the run's own read failed, and its error is the one reported.
                let Ok(half) = half_rx.recv() else { return Ok(()) };
                period_read::merge(&mut entries, half);
                for batch in customer_rows.chunks(CUSTOMERS_PER_BATCH) {
                    let priced = price_batch(second, batch, terms, period, Some(&mut entries))?;
                    if priced_tx.send(priced).is_err() {
                        return Ok(()); // the writing failed; its error is the one reported
                    }
                }
                Ok(())
            })
        });
        let written = crate::storage::with_custom_plans(conn, |conn| shared.read(conn)).and_then(|half| {
            let read = started.elapsed();
            let _ = half_tx.send(half);
            let (mut waiting, mut writing) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
            let mut t = std::time::Instant::now();
            // Ends when the pricing thread is done, or failed (its error comes from `join`).
            for priced in priced_rx.iter() {
                waiting += t.elapsed();
                t = std::time::Instant::now();
                ids.extend(write_drafts(conn, &priced, now, claims)?);
                writing += t.elapsed();
                t = std::time::Instant::now();
            }
            Ok(format!("read entries {read:?} (two connections), price on the second while writing: waited {waiting:?}, write drafts {writing:?}"))
        });
        // Unblocks the pricing thread if the writing stopped early.
        drop(priced_rx);
        drop(half_tx);
        let priced = pricer.join().expect("the pricing thread does not panic");
        let phases = written?;
        priced?;
        Ok(phases)
    })
}

/// One customer's draft, priced, not yet written.
struct PricedDraft<'a> {
    customer: &'a Customer,
    request: InvoiceRequest,
    priced: PricedInvoice,
}

/// Prices the customers of one batch from their subscriptions' unclaimed items in the period.
fn price_batch<'a>(
    conn: &mut DbConnection,
    batch: &'a [Customer],
    terms: &HashMap<i64, pricing::PlanTerms>,
    period: Period,
    preloaded: Option<&mut HashMap<i64, Vec<pricing::TimeEntry>>>,
) -> Result<Vec<PricedDraft<'a>>, AppError> {
    let customer_ids: Vec<i64> = batch.iter().map(|c| c.id).collect();
    let subs: Vec<Subscription> = subscriptions::table
        .filter(subscriptions::customer_id.eq_any(&customer_ids))
        .order(subscriptions::id)
        .select(Subscription::as_select())
        .load(conn)?;
    let sub_ids: Vec<i64> = subs.iter().map(|s| s.id).collect();
    let (start, end) = (utc_midnight(period.start()), utc_midnight(period.end()));

    let mut entries: HashMap<i64, Vec<pricing::TimeEntry>> = HashMap::new();
    let mut tickets_by_sub: HashMap<i64, Vec<pricing::Ticket>> = HashMap::new();
    let mut charges_by_sub: HashMap<i64, Vec<pricing::Charge>> = HashMap::new();
    // What earlier drafts and issued invoices already took of each retainer month.
    let mut used: HashMap<i64, BTreeMap<NaiveDate, RetainerMonthUsed>> = HashMap::new();
    let entries_preloaded = preloaded.is_some();
    if let Some(all) = preloaded {
        entries.extend(sub_ids.iter().filter_map(|id| all.remove(id).map(|list| (*id, list))));
    }
    for chunk in sub_ids.chunks(IN_CHUNK) {
        if entries_preloaded {
            // (entries came from the run's pass over the period)
        } else {
            let rows: Vec<(i64, i64, NaiveDateTime, i32, String, bool)> = time_entries::table
                .filter(time_entries::subscription_id.eq_any(chunk))
                .filter(time_entries::started_at.ge(start))
                .filter(time_entries::started_at.lt(end))
                // Never chargeable (SPEC P1), as the run's read (`period_read`) leaves them out.
                .filter(time_entries::billable.eq(true))
                .filter(entry_unclaimed())
                .select((
                    time_entries::id,
                    time_entries::subscription_id,
                    time_entries::started_at,
                    time_entries::minutes,
                    time_entries::category,
                    time_entries::billable,
                ))
                .load(conn)?;
            for (id, sub, started_at, minutes, category, billable) in rows {
                let Some(category) = Category::parse(&category) else { continue };
                entries.entry(sub).or_default().push(pricing::TimeEntry {
                    id,
                    started_at: to_utc(started_at),
                    minutes: minutes.max(0) as u32,
                    category,
                    billable,
                });
            }
        }
        let rows: Vec<(i64, i64, NaiveDateTime, String)> = tickets::table
            .filter(tickets::subscription_id.eq_any(chunk))
            .filter(tickets::opened_at.ge(start))
            .filter(tickets::opened_at.lt(end))
            .filter(diesel::dsl::not(diesel::dsl::exists(
                ticket_claims::table.filter(ticket_claims::ticket_id.eq(tickets::id)),
            )))
            .select((tickets::id, tickets::subscription_id, tickets::opened_at, tickets::category))
            .load(conn)?;
        for (id, sub, opened_at, category) in rows {
            let Some(category) = Category::parse(&category) else { continue };
            tickets_by_sub.entry(sub).or_default().push(pricing::Ticket { id, opened_at: to_utc(opened_at), category });
        }
        let rows: Vec<(i64, i64, NaiveDate, String, Dec)> = charges::table
            .filter(charges::subscription_id.eq_any(chunk))
            .filter(charges::date.ge(period.start()))
            .filter(charges::date.lt(period.end()))
            .filter(charges::invoice_id.is_null())
            .select((charges::id, charges::subscription_id, charges::date, charges::description, charges::amount))
            .load(conn)?;
        for (id, sub, date, description, amount) in rows {
            charges_by_sub.entry(sub).or_default().push(pricing::Charge { id, date, description, amount: amount.0 });
        }
        let rows: Vec<(i64, NaiveDate, bool, Dec)> = retainer_claims::table
            .filter(retainer_claims::subscription_id.eq_any(chunk))
            .filter(retainer_claims::month.ge(period.start()))
            .filter(retainer_claims::month.lt(period.end()))
            .select((
                retainer_claims::subscription_id,
                retainer_claims::month,
                retainer_claims::fee_claimed,
                retainer_claims::allowance_used,
            ))
            .load(conn)?;
        for (sub, month, fee, allowance) in rows {
            let slot = used.entry(sub).or_default().entry(month).or_default();
            slot.fee_claimed |= fee;
            slot.allowance_used += allowance.0;
        }
    }
    // The pricing engine wants each subscription's entries in time order.
    for list in entries.values_mut() {
        list.sort_unstable_by_key(|e| (e.started_at, e.id));
    }
    for list in tickets_by_sub.values_mut() {
        list.sort_unstable_by_key(|t| (t.opened_at, t.id));
    }
    for list in charges_by_sub.values_mut() {
        list.sort_unstable_by_key(|c| (c.date, c.id));
    }

    let mut subs_by_customer: HashMap<i64, Vec<&Subscription>> = HashMap::new();
    for s in &subs {
        subs_by_customer.entry(s.customer_id).or_default().push(s);
    }
    let mut drafts = Vec::new();
    for customer in batch {
        let Some(customer_subs) = subs_by_customer.get(&customer.id) else { continue };
        let currency = currency_of(&customer.currency)?;
        let mut request = InvoiceRequest {
            currency,
            tax_rate_percent: customer.tax_rate_percent.0,
            period,
            subscriptions: Vec::new(),
        };
        for s in customer_subs {
            let plan = terms
                .get(&s.plan_id)
                .cloned()
                .ok_or_else(|| AppError::Internal(format!("plan {} missing", s.plan_id)))?;
            request.subscriptions.push(pricing::Subscription {
                id: s.id,
                name: s.name.clone(),
                plan,
                charge_retainer_fee: s.status != SubscriptionStatus::Cancelled.as_str(),
                entries: entries.remove(&s.id).unwrap_or_default(),
                tickets: tickets_by_sub.remove(&s.id).unwrap_or_default(),
                charges: charges_by_sub.remove(&s.id).unwrap_or_default(),
                retainer_used: used.remove(&s.id).unwrap_or_default(),
            });
        }
        match pricing::price_invoice(&request) {
            Ok(priced) => drafts.push(PricedDraft { customer, request, priced }),
            Err(pricing::PricingError::NothingToInvoice) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(drafts)
}

/// Writes a batch of drafts with their lines and retainer claims (multi-row INSERTs; lines by
/// COPY on PostgreSQL), and adds what they claim of entries, tickets and charges to `claims`.
fn write_drafts(
    conn: &mut DbConnection,
    drafts: &[PricedDraft],
    now: NaiveDateTime,
    claims: &mut PendingClaims,
) -> Result<Vec<i64>, AppError> {
    let new_invoices: Vec<NewInvoice> = drafts
        .iter()
        .map(|d| NewInvoice {
            customer_id: d.customer.id,
            currency: d.request.currency.code().to_string(),
            period_start: d.request.period.start(),
            period_end: d.request.period.end(),
            status: InvoiceStatus::Draft.as_str().to_string(),
            subtotal: Dec(d.priced.subtotal),
            tax_rate_percent: Dec(d.request.tax_rate_percent),
            tax: Dec(d.priced.tax),
            total: Dec(d.priced.total),
            created_at: now,
        })
        .collect();
    // Each customer has at most one invoice in a batch, so the customer maps a new id back.
    let mut id_of_customer: HashMap<i64, i64> = HashMap::with_capacity(drafts.len());
    for chunk in new_invoices.chunks(1_000) {
        let got: Vec<(i64, i64)> = match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(invoices::table)
                .values(chunk)
                .returning((invoices::id, invoices::customer_id))
                .get_results(c)?,
            DbConnection::Postgresql(c) => diesel::insert_into(invoices::table)
                .values(chunk)
                .returning((invoices::id, invoices::customer_id))
                .get_results(c)?,
        };
        id_of_customer.extend(got.into_iter().map(|(id, customer)| (customer, id)));
    }
    let ids: Vec<i64> = drafts.iter().map(|d| id_of_customer[&d.customer.id]).collect();

    let lines: Vec<NewInvoiceLine> = drafts
        .iter()
        .zip(&ids)
        .flat_map(|(d, &invoice_id)| {
            d.priced.lines.iter().enumerate().map(move |(i, l)| NewInvoiceLine {
                invoice_id,
                position: i as i32 + 1,
                subscription_id: l.subscription_id,
                kind: l.kind.as_str().to_string(),
                category: l.category.map(|c| c.as_str().to_string()),
                month: l.month,
                description: l.description.clone(),
                quantity: Dec(l.quantity),
                quantity_minutes: l.quantity_minutes.map(Dec),
                unit_price: Dec(l.unit_price),
                amount: Dec(l.amount),
            })
        })
        .collect();
    match conn {
        DbConnection::Sqlite(c) => {
            for chunk in lines.chunks(1_000) {
                diesel::insert_into(invoice_lines::table).values(chunk).execute(c)?;
            }
        }
        // One binary COPY per batch: of the 0.78 s the 1M run's 11,000-parameter INSERTs
        // took, PostgreSQL spent 0.29 s parsing and binding them (docs/performance-findings.md, finding 23).
        DbConnection::Postgresql(c) => {
            if !lines.is_empty() {
                diesel::copy_from(invoice_lines::table).from_insertable(&lines).execute(c)?;
            }
        }
    }

    for (d, &invoice) in drafts.iter().zip(&ids) {
        claims.entries.extend(d.priced.claims.entry_ids.iter().map(|&id| (id, invoice)));
        claims.tickets.extend(d.priced.claims.ticket_ids.iter().map(|&id| (id, invoice)));
        claims.charges.extend(d.priced.claims.charge_ids.iter().map(|&id| (id, invoice)));
    }
    let retainer: Vec<NewRetainerClaim> = drafts
        .iter()
        .zip(&ids)
        .flat_map(|(d, &invoice_id)| {
            d.priced.claims.retainer_months.iter().map(move |m| NewRetainerClaim {
                invoice_id,
                subscription_id: m.subscription_id,
                month: m.month,
                fee_claimed: m.fee_claimed,
                allowance_used: Dec(m.allowance_used),
            })
        })
        .collect();
    for chunk in retainer.chunks(1_000) {
        let result = match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(retainer_claims::table).values(chunk).execute(c),
            DbConnection::Postgresql(c) => diesel::insert_into(retainer_claims::table).values(chunk).execute(c),
        };
        result.map_err(|e| match e {
            diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
                AppError::conflict("already_claimed", "another invoice took this retainer month meanwhile; retry")
            }
            other => other.into(),
        })?;
    }
    Ok(ids)
}

/// What a run's drafts claim, as `(row, invoice)` pairs, invoice by invoice. They are written
/// after every draft of the run, in the same transaction: on PostgreSQL each claim statement
/// joins its pairs to the whole table, and a statement per batch of 1,000 customers made that
/// join ten times over (the tickets' UPDATE read all 125,000 tickets for each 1,900 it claimed;
/// docs/performance-findings.md, finding 23).
#[derive(Default)]
struct PendingClaims {
    entries: Vec<(i64, i64)>,
    tickets: Vec<(i64, i64)>,
    charges: Vec<(i64, i64)>,
}

impl PendingClaims {
    fn write(self, conn: &mut DbConnection) -> Result<(), AppError> {
        claim_into(conn, ClaimTable::Entries, self.entries, |lite, chunk| {
            let rows: Vec<_> = chunk
                .iter()
                .map(|&(id, inv)| (time_entry_claims::time_entry_id.eq(id), time_entry_claims::invoice_id.eq(inv)))
                .collect();
            diesel::insert_or_ignore_into(time_entry_claims::table).values(&rows).execute(lite)
        })?;
        claim_into(conn, ClaimTable::Tickets, self.tickets, |lite, chunk| {
            let rows: Vec<_> = chunk
                .iter()
                .map(|&(id, inv)| (ticket_claims::ticket_id.eq(id), ticket_claims::invoice_id.eq(inv)))
                .collect();
            diesel::insert_or_ignore_into(ticket_claims::table).values(&rows).execute(lite)
        })?;
        claim_rows(conn, "charges", self.charges, |conn, invoice_id, ids| {
            Ok(diesel::update(charges::table.filter(charges::id.eq_any(ids)).filter(charges::invoice_id.is_null()))
                .set(charges::invoice_id.eq(Some(invoice_id)))
                .execute(conn)?)
        })
    }
}

/// The tables of claims: a row's key is what it claims, so a thing is on one invoice at a time.
#[derive(Clone, Copy)]
enum ClaimTable {
    Entries,
    Tickets,
}

impl ClaimTable {
    fn insert_sql(self) -> &'static str {
        match self {
            ClaimTable::Entries => {
                "INSERT INTO time_entry_claims (time_entry_id, invoice_id) SELECT * FROM unnest($1, $2)"
            }
            ClaimTable::Tickets => "INSERT INTO ticket_claims (ticket_id, invoice_id) SELECT * FROM unnest($1, $2)",
        }
    }

    fn taken(self) -> AppError {
        let what = match self {
            ClaimTable::Entries => "time entries",
            ClaimTable::Tickets => "tickets",
        };
        AppError::conflict("already_claimed", format!("some {what} were claimed by another invoice meanwhile; retry"))
    }
}

/// Claims time entries or tickets for their invoices (`(row, invoice)` pairs) by inserting the
/// pairs into their claims table, whose key is the row: a row claimed meanwhile fails the
/// whole draft (on PostgreSQL as a key violation, on SQLite as a skipped row the count shows).
/// PostgreSQL gets one INSERT from two arrays per 100,000 pairs, SQLite multi-row INSERTs
/// (`insert_sqlite`, given at most 16,000 pairs).
fn claim_into(
    conn: &mut DbConnection,
    table: ClaimTable,
    mut pairs: Vec<(i64, i64)>,
    insert_sqlite: impl Fn(&mut diesel::SqliteConnection, &[(i64, i64)]) -> QueryResult<usize>,
) -> Result<(), AppError> {
    use diesel::sql_types::{Array, BigInt};
    // In row order, the claims' primary key grows at its end.
    pairs.sort_unstable();
    match conn {
        DbConnection::Postgresql(pg) => {
            for chunk in pairs.chunks(100_000) {
                let (ids, invoices): (Vec<i64>, Vec<i64>) = chunk.iter().copied().unzip();
                // A plain INSERT (no ON CONFLICT: a fifth cheaper); a row claimed meanwhile
                // breaks the primary key, and the whole draft fails. (A binary COPY of the
                // same pairs was no faster here: docs/performance-findings.md, finding 24.)
                let n = diesel::sql_query(table.insert_sql())
                    .bind::<Array<BigInt>, _>(&ids)
                    .bind::<Array<BigInt>, _>(&invoices)
                    .execute(pg)
                    .map_err(|e| match e {
                        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
                            table.taken()
                        }
                        other => other.into(),
                    })?;
                if n != chunk.len() {
                    return Err(table.taken());
                }
            }
        }
        DbConnection::Sqlite(lite) => {
            // Two values a row, within SQLite's 32,766 bind values per statement.
            for chunk in pairs.chunks(16_000) {
                if insert_sqlite(lite, chunk)? != chunk.len() {
                    return Err(table.taken());
                }
            }
        }
    }
    Ok(())
}

/// Time entries no invoice has claimed (a filter on `time_entries`).
pub(super) type EntryUnclaimed = diesel::dsl::not<
    diesel::dsl::exists<
        diesel::dsl::Filter<
            time_entry_claims::table,
            diesel::dsl::Eq<time_entry_claims::time_entry_id, time_entries::id>,
        >,
    >,
>;

/// Time entries no invoice has claimed.
pub(super) fn entry_unclaimed() -> EntryUnclaimed {
    diesel::dsl::not(diesel::dsl::exists(
        time_entry_claims::table.filter(time_entry_claims::time_entry_id.eq(time_entries::id)),
    ))
}

/// Claims rows of `table` (charges, which have a nullable `invoice_id`: a run claims few of
/// them) for their invoices, from `(row, invoice)` pairs; a row claimed meanwhile fails the
/// whole draft.
/// PostgreSQL: one UPDATE from two arrays per 100,000 pairs, because one UPDATE per invoice
/// was a round trip each (4,154 of them in the 1M benchmark's run). SQLite: `update` per
/// invoice, in process, where a statement costs no round trip.
fn claim_rows(
    conn: &mut DbConnection,
    table: &'static str,
    pairs: Vec<(i64, i64)>,
    update: impl Fn(&mut DbConnection, i64, &[i64]) -> Result<usize, AppError>,
) -> Result<(), AppError> {
    use diesel::sql_types::{Array, BigInt};
    debug_assert!(table == "charges", "a table with a nullable invoice_id");
    let taken = || {
        AppError::conflict("already_claimed", format!("some {table} were claimed by another invoice meanwhile; retry"))
    };
    match conn {
        DbConnection::Postgresql(pg) => {
            let mut pairs = pairs;
            // In row order, concurrent runs lock rows in the same order.
            pairs.sort_unstable();
            let sql = format!(
                "UPDATE {table} AS t SET invoice_id = c.invoice_id FROM unnest($1, $2) AS c (id, invoice_id) \
                 WHERE t.id = c.id AND t.invoice_id IS NULL"
            );
            for chunk in pairs.chunks(100_000) {
                let (ids, invoices): (Vec<i64>, Vec<i64>) = chunk.iter().copied().unzip();
                let n = diesel::sql_query(&sql)
                    .bind::<Array<BigInt>, _>(&ids)
                    .bind::<Array<BigInt>, _>(&invoices)
                    .execute(pg)?;
                if n != chunk.len() {
                    return Err(taken());
                }
            }
        }
        DbConnection::Sqlite(_) => {
            // The pairs come invoice by invoice.
            for group in pairs.chunk_by(|a, b| a.1 == b.1) {
                let ids: Vec<i64> = group.iter().map(|&(id, _)| id).collect();
                for chunk in ids.chunks(IN_CHUNK) {
                    if update(conn, group[0].1, chunk)? != chunk.len() {
                        return Err(taken());
                    }
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Issuing, voiding, deleting

/// Moves an invoice from `from` to `to` if it is in `from`, taking its row lock on PostgreSQL,
/// so concurrent issues of one draft cannot both pass.
fn transition(conn: &mut DbConnection, id: i64, from: InvoiceStatus, to: InvoiceStatus) -> Result<Invoice, AppError> {
    let n = diesel::update(invoices::table.filter(invoices::id.eq(id)).filter(invoices::status.eq(from.as_str())))
        .set(invoices::status.eq(to.as_str()))
        .execute(conn)?;
    let row = find(conn, id)?.ok_or(AppError::NotFound { what: "invoice" })?;
    if n == 0 {
        return Err(AppError::conflict(
            "invalid_status",
            format!("the invoice is {}, not {}", row.status, from.as_str()),
        ));
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
/// Locks: the invoice counter row first, then the invoices, in every issue (single or bulk),
/// so concurrent issuers queue on the counter instead of deadlocking on each other's invoice
/// rows. The counter is moved inside this transaction, so a rollback gives the numbers back
/// (a sequence would leave gaps; MAX+1 would give duplicates).
fn issue_in_tx(conn: &mut DbConnection, ids: &[i64], clock: &dyn Clock) -> Result<Vec<InvoiceDocument>, AppError> {
    diesel::update(counters::table.filter(counters::name.eq("invoice")))
        .set(counters::value.eq(counters::value))
        .execute(conn)?;
    let mut moved = 0;
    for chunk in ids.chunks(IN_CHUNK) {
        moved += diesel::update(
            invoices::table
                .filter(invoices::id.eq_any(chunk))
                .filter(invoices::status.eq(InvoiceStatus::Draft.as_str())),
        )
        .set(invoices::status.eq(InvoiceStatus::Issued.as_str()))
        .execute(conn)?;
    }
    let mut rows = find_many(conn, ids)?;
    if moved != ids.len() {
        let row =
            rows.iter().find(|r| r.status != InvoiceStatus::Issued.as_str() || r.number.is_some()).or(rows.first());
        let (id, status) = row.map(|r| (r.id, r.status.clone())).unwrap_or_default();
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
    let mut terms: HashMap<i64, (String, Dec)> = HashMap::new();
    for chunk in customer_ids.chunks(IN_CHUNK) {
        let found: Vec<(i64, String, Dec)> = customers::table
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
        row.status = InvoiceStatus::Issued.as_str().to_string();
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

/// Frees everything invoice `id` claimed.
pub(crate) fn free_claims(conn: &mut DbConnection, id: i64) -> Result<(), AppError> {
    diesel::delete(time_entry_claims::table.filter(time_entry_claims::invoice_id.eq(id))).execute(conn)?;
    diesel::delete(ticket_claims::table.filter(ticket_claims::invoice_id.eq(id))).execute(conn)?;
    diesel::update(charges::table.filter(charges::invoice_id.eq(id)))
        .set(charges::invoice_id.eq(None::<i64>))
        .execute(conn)?;
    diesel::delete(retainer_claims::table.filter(retainer_claims::invoice_id.eq(id))).execute(conn)?;
    Ok(())
}

/// Voids an issued invoice: it keeps its number and snapshot; what it claimed is free again.
pub fn void(conn: &mut DbConnection, id: i64) -> Result<InvoiceDocument, AppError> {
    write_tx(conn, |conn| {
        crate::service::lock_customer_of_invoice(conn, id)?;
        let row = transition(conn, id, InvoiceStatus::Issued, InvoiceStatus::Void)?;
        if crate::service::credit_notes::exists_for_invoice(conn, id)? {
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

/// For the invoice register: invoices issued in [from, to), void ones included.
pub fn issued_between(
    conn: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
    customer_id: Option<i64>,
) -> Result<Vec<(Invoice, String)>, AppError> {
    let mut q = invoices::table
        .inner_join(customers::table)
        .filter(invoices::issued_at.ge(utc_midnight(from)))
        .filter(invoices::issued_at.lt(utc_midnight(to)))
        .order((invoices::issued_at, invoices::id))
        .select((Invoice::as_select(), customers::name))
        .into_boxed();
    if let Some(c) = customer_id {
        q = q.filter(invoices::customer_id.eq(c));
    }
    let rows: Vec<(Invoice, String)> = q.load(conn)?;
    // The register shows each customer as invoiced: the name frozen in the snapshot.
    Ok(rows
        .into_iter()
        .map(|(inv, live_name)| {
            let name = inv
                .snapshot
                .as_deref()
                .and_then(|json| serde_json::from_str::<SnapshotCustomer>(json).ok())
                .map(|s| s.customer.name)
                .unwrap_or(live_name);
            (inv, name)
        })
        .collect())
}

#[derive(Deserialize)]
struct SnapshotCustomer {
    customer: CustomerName,
}

#[derive(Deserialize)]
struct CustomerName {
    name: String,
}
