//! Drafting: one customer, or a run over every customer for a period. Each draft is priced
//! by the pure engine and written with its claims in the transaction that creates it.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::document::*;
use super::queries::*;
use crate::documents::model::InvoiceDocument;
use crate::domain::pricing::{self, Category, InvoiceRequest, Period, PricedInvoice, RetainerMonthUsed};
use crate::domain::vocab::InvoiceStatus;
use crate::error::AppError;
use crate::service::claims::*;
use crate::service::{period_read, IN_CHUNK};
use crate::storage::models::*;
use crate::storage::schema::*;
use crate::storage::{bulk, write_tx, DbConnection, Dec, SecondReader};

/// Which customers a drafting call covers.
pub(crate) enum Scope<'a> {
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
pub(crate) fn lock_customers(conn: &mut DbConnection, scope: &Scope) -> Result<(), AppError> {
    let only = match scope {
        Scope::One(id) => Some(*id),
        Scope::All(_) => None,
    };
    Ok(crate::storage::locks::customers_for_update(conn, only)?)
}

pub(crate) fn to_utc(t: NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_naive_utc_and_offset(t, chrono::Utc)
}

/// Customers priced and written together: bounds the run's memory (one batch's entries at a
/// time) and turns per-invoice statements into a few per batch.
pub(crate) const CUSTOMERS_PER_BATCH: usize = 1_000;

/// Loads every unclaimed candidate in the period for the scope, prices each customer, and
/// writes the drafts with their claims, a batch of customers at a time. Returns the new
/// invoice ids in customer order.
pub(crate) fn draft(
    conn: &mut DbConnection,
    scope: Scope,
    period: Period,
    now: NaiveDateTime,
) -> Result<Vec<i64>, AppError> {
    lock_customers(conn, &scope)?;
    let customer_rows: Vec<Customer> = match &scope {
        Scope::One(id) => {
            let row = customers::table.find(*id).select(Customer::as_select()).first(conn).optional()?;
            vec![row.ok_or_else(|| AppError::field("customer_id", "no customer has this id"))?]
        }
        Scope::All(_) => customers::table.order(customers::id).select(Customer::as_select()).load(conn)?,
    };
    let terms = crate::service::plan_versions::for_pricing(conn)?;
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
    let second =
        lent.as_deref_mut().map(|c| &mut **c).filter(|second| crate::storage::snapshot::can_share(conn, second));
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
pub(crate) fn draft_with_second(
    conn: &mut DbConnection,
    second: &mut DbConnection,
    customer_rows: &[Customer],
    terms: &HashMap<i64, pricing::PlanVersions>,
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
        let priced = pricer.join().map_err(|_| AppError::Internal("the pricing thread panicked".into()))?;
        let phases = written?;
        priced?;
        Ok(phases)
    })
}

/// One customer's draft, priced, not yet written.
pub(crate) struct PricedDraft<'a> {
    customer: &'a Customer,
    request: InvoiceRequest,
    priced: PricedInvoice,
}

/// A time entry as a draft reads it: id, subscription, start, minutes, category, billable, ticket.
type EntryRow = (i64, i64, NaiveDateTime, i32, Category, bool, Option<i64>);

/// Prices the customers of one batch from their subscriptions' unclaimed items in the period.
pub(crate) fn price_batch<'a>(
    conn: &mut DbConnection,
    batch: &'a [Customer],
    terms: &HashMap<i64, pricing::PlanVersions>,
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
            let rows: Vec<EntryRow> = time_entries::table
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
                    time_entries::ticket_id,
                ))
                .load(conn)?;
            for (id, sub, started_at, minutes, category, billable, ticket_id) in rows {
                entries.entry(sub).or_default().push(pricing::TimeEntry {
                    id,
                    started_at: to_utc(started_at),
                    minutes: minutes.max(0) as u32,
                    category,
                    billable,
                    ticket_id,
                });
            }
        }
        let rows: Vec<(i64, i64, NaiveDateTime, Category)> = tickets::table
            .filter(tickets::subscription_id.eq_any(chunk))
            .filter(tickets::opened_at.ge(start))
            .filter(tickets::opened_at.lt(end))
            .filter(diesel::dsl::not(diesel::dsl::exists(
                ticket_claims::table.filter(ticket_claims::ticket_id.eq(tickets::id)),
            )))
            .select((tickets::id, tickets::subscription_id, tickets::opened_at, tickets::category))
            .load(conn)?;
        for (id, sub, opened_at, category) in rows {
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
    let mut blocks = crate::service::blocks::for_pricing(conn, &sub_ids)?;
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
        let currency = customer.currency;
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
            let (start_date, end_date) = s.dates();
            request.subscriptions.push(pricing::Subscription {
                id: s.id,
                name: s.name.clone(),
                plan,
                start_date,
                end_date,
                blocks: blocks.remove(&s.id).unwrap_or_default(),
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
pub(crate) fn write_drafts(
    conn: &mut DbConnection,
    drafts: &[PricedDraft],
    now: NaiveDateTime,
    claims: &mut PendingClaims,
) -> Result<Vec<i64>, AppError> {
    let new_invoices: Vec<NewInvoice> = drafts
        .iter()
        .map(|d| NewInvoice {
            customer_id: d.customer.id,
            currency: d.request.currency,
            period_start: d.request.period.start(),
            period_end: d.request.period.end(),
            status: InvoiceStatus::Draft,
            subtotal: Dec(d.priced.subtotal),
            tax_rate_percent: Dec(d.request.tax_rate_percent),
            tax: Dec(d.priced.tax),
            total: Dec(d.priced.total),
            created_at: now,
        })
        .collect();
    // Each customer has at most one invoice in a batch, so the customer maps a new id back.
    let mut id_of_customer: HashMap<i64, i64> = HashMap::with_capacity(drafts.len());
    id_of_customer.extend(bulk::insert_invoices(conn, &new_invoices)?.into_iter().map(|(id, customer)| (customer, id)));
    let ids: Vec<i64> = drafts.iter().map(|d| id_of_customer[&d.customer.id]).collect();

    let lines: Vec<NewInvoiceLine> = drafts
        .iter()
        .zip(&ids)
        .flat_map(|(d, &invoice_id)| {
            d.priced.lines.iter().enumerate().map(move |(i, l)| NewInvoiceLine {
                invoice_id,
                position: i as i32 + 1,
                subscription_id: l.subscription_id,
                kind: l.kind,
                category: l.category,
                month: l.month,
                description: l.description.clone(),
                quantity: Dec(l.quantity),
                quantity_minutes: l.quantity_minutes.map(Dec),
                unit_price: Dec(l.unit_price),
                amount: Dec(l.amount),
                plan_version: l.plan_version,
            })
        })
        .collect();
    bulk::insert_invoice_lines(conn, &lines)?;
    let block_claims: Vec<(i64, &pricing::Claims)> =
        drafts.iter().zip(&ids).map(|(d, &invoice)| (invoice, &d.priced.claims)).collect();
    crate::service::blocks::write_claims(conn, &block_claims)?;

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
    bulk::insert_retainer_claims(conn, &retainer).map_err(|e| match e {
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
            AppError::conflict("already_claimed", "another invoice took this retainer month meanwhile; retry")
        }
        other => other.into(),
    })?;
    Ok(ids)
}
