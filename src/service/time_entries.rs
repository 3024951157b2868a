//! Time entries: support time recorded per subscription, one by one, as a JSON array or as a
//! CSV import; a batch is written in one transaction, all or nothing.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::domain::coverage::Coverage;
use crate::domain::pricing::Category;
use crate::domain::validation::{FieldError, ValidationErrors};
use crate::error::AppError;
use crate::service::IN_CHUNK;
use crate::storage::locks::{self, SubscriptionKeys};
use crate::storage::models::{NewTimeEntry, TimeEntry};
use crate::storage::schema::{tickets, time_entries, time_entry_claims};
use crate::storage::{bulk, write_tx, DbConnection};

/// A parsed entry whose references are not yet checked against the database.
#[derive(Clone, Debug)]
pub struct EntryDraft {
    pub subscription: SubscriptionRef,
    pub ticket_id: Option<i64>,
    pub agent: String,
    pub started_at: chrono::NaiveDateTime,
    pub minutes: i32,
    /// None: take the ticket's.
    pub category: Option<Category>,
    pub billable: bool,
    pub description: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SubscriptionRef {
    Id(i64),
    ExternalId(String),
}

/// How the caller names each draft in errors: `[3]` for a JSON array, a line for CSV.
pub enum Locator {
    JsonIndex,
    JsonSingle,
    CsvLine(Vec<usize>),
}

impl Locator {
    fn error(&self, i: usize, field: &str, message: String) -> FieldError {
        match self {
            Locator::JsonIndex => FieldError { field: format!("[{i}].{field}"), message, row: None },
            Locator::JsonSingle => FieldError { field: field.to_string(), message, row: None },
            Locator::CsvLine(lines) => FieldError { field: field.to_string(), message, row: lines.get(i).copied() },
        }
    }
}

/// Resolves references (subscription, ticket, category) for the whole batch with a few
/// queries, then inserts it in one transaction. Any error: nothing is written.
pub fn create_batch(
    conn: &mut DbConnection,
    drafts: Vec<EntryDraft>,
    locator: Locator,
) -> Result<Vec<TimeEntry>, AppError> {
    write_tx(conn, |conn| {
        let rows = resolve(conn, drafts, &locator)?;
        let ids = bulk::insert_time_entries(conn, &rows)?;
        // Read back in the same transaction: read after the commit, an entry deleted meanwhile
        // was missing from the answer (and a single entry's answer then had nothing to show).
        get_many(conn, &ids)
    })
}

/// The CSV import: like [`create_batch`], but returns only the count, and writes by the bulk
/// means of the backend (`storage::bulk::import_time_entries`). Still one transaction, all or
/// nothing.
///
/// On SQLite the import runs without the database's foreign-key checks: [`resolve`] has
/// already checked every subscription and ticket the rows name, inside the same write
/// transaction, so nothing can remove them before the commit, and the database's second check
/// of each row cost a quarter of the import (docs/performance-findings.md, finding 20). Every other write
/// keeps them.
pub fn import(conn: &mut DbConnection, drafts: Vec<EntryDraft>, locator: Locator) -> Result<usize, AppError> {
    use crate::storage::{with_bulk_cache, without_foreign_key_checks};
    let started = std::time::Instant::now();
    let mut phases = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    let imported = with_bulk_cache(conn, |conn| {
        without_foreign_key_checks(conn, |conn| {
            write_tx(conn, |conn| {
                let mut rows = resolve(conn, drafts, &locator)?;
                phases.0 = started.elapsed();
                // Written in the order cheapest for the backend; errors name file lines, and
                // nothing else depends on the file's order.
                let n = bulk::import_time_entries(conn, &mut rows)?;
                phases.1 = started.elapsed();
                Ok::<_, AppError>(n)
            })
        })
    })?;
    // (How long each phase took, at debug level: RUST_LOG=supportbill=debug.)
    log::debug!(
        "import: {imported} entries; resolve {:?}, sort and insert {:?}, commit (and settings back) {:?}",
        phases.0,
        phases.1 - phases.0,
        started.elapsed() - phases.1
    );
    refresh_statistics(conn, imported);
    Ok(imported)
}

/// Imports at least this large refresh PostgreSQL's planner statistics at once.
const ANALYZE_AFTER_ROWS: usize = 50_000;

/// After a large import, PostgreSQL's statistics of `time_entries` are stale until autovacuum
/// gets round to them, and the planner's estimates can be off by orders of magnitude, enough
/// to sort the whole month on disk for each page of the invoice run and the usage summary
/// (docs/performance-findings.md). So a large import refreshes them after its commit. A failure
/// here does not undo the import: it is logged, and autovacuum will catch up.
fn refresh_statistics(conn: &mut DbConnection, imported: usize) {
    if imported < ANALYZE_AFTER_ROWS {
        return;
    }
    if let Err(e) = bulk::refresh_time_entry_statistics(conn) {
        log::warn!("ANALYZE time_entries after an import of {imported} entries failed: {e}");
    }
}

/// Checks the drafts' references and turns them into rows (moving their text, not copying it:
/// an import holds a million of them).
fn resolve(conn: &mut DbConnection, drafts: Vec<EntryDraft>, locator: &Locator) -> Result<Vec<NewTimeEntry>, AppError> {
    let mut ids: Vec<i64> = Vec::new();
    let mut externals: Vec<String> = Vec::new();
    let mut ticket_ids: Vec<i64> = Vec::new();
    for d in &drafts {
        match &d.subscription {
            SubscriptionRef::Id(id) => ids.push(*id),
            SubscriptionRef::ExternalId(x) => externals.push(x.clone()),
        }
        ticket_ids.extend(d.ticket_id);
    }
    ids.sort_unstable();
    ids.dedup();
    externals.sort();
    externals.dedup();
    ticket_ids.sort_unstable();
    ticket_ids.dedup();

    // The subscriptions with their dates, read once for the whole batch (a million-row import
    // names a few thousand), key-share-locked so that their dates cannot change before the
    // commit (storage::locks).
    let mut known: HashMap<SubscriptionRef, (i64, Coverage)> = HashMap::new();
    for chunk in ids.chunks(IN_CHUNK) {
        for (id, _, start, end) in locks::subscription_dates_for_key_share(conn, SubscriptionKeys::Ids(chunk))? {
            known.insert(SubscriptionRef::Id(id), (id, Coverage { start, end }));
        }
    }
    for chunk in externals.chunks(IN_CHUNK) {
        for (id, x, start, end) in locks::subscription_dates_for_key_share(conn, SubscriptionKeys::ExternalIds(chunk))?
        {
            known.extend(x.map(|x| (SubscriptionRef::ExternalId(x), (id, Coverage { start, end }))));
        }
    }
    let mut ticket_info: HashMap<i64, (i64, Category)> = HashMap::new();
    for chunk in ticket_ids.chunks(IN_CHUNK) {
        let found: Vec<(i64, i64, Category)> = tickets::table
            .filter(tickets::id.eq_any(chunk))
            .select((tickets::id, tickets::subscription_id, tickets::category))
            .load(conn)?;
        ticket_info.extend(found.into_iter().map(|(id, sub, cat)| (id, (sub, cat))));
    }

    let mut errors = Vec::new();
    // SPEC 7.1: a batch whose only errors are entries dated outside their subscription is a 422
    // `outside_subscription`; with other errors too, all are listed as invalid input.
    let mut outside = 0;
    let mut rows = Vec::with_capacity(drafts.len());
    for (i, d) in drafts.into_iter().enumerate() {
        let Some(&(subscription_id, coverage)) = known.get(&d.subscription) else {
            let field = match d.subscription {
                SubscriptionRef::Id(_) => "subscription_id",
                SubscriptionRef::ExternalId(_) => "subscription_external_id",
            };
            errors.push(locator.error(i, field, "no subscription has this id".into()));
            continue;
        };
        let mut category = d.category;
        if let Some(ticket_id) = d.ticket_id {
            match ticket_info.get(&ticket_id) {
                None => {
                    errors.push(locator.error(i, "ticket_id", "no ticket has this id".into()));
                    continue;
                }
                Some((sub, _)) if *sub != subscription_id => {
                    errors.push(locator.error(i, "ticket_id", "the ticket belongs to another subscription".into()));
                    continue;
                }
                Some((_, ticket_category)) => {
                    category.get_or_insert(*ticket_category);
                }
            }
        }
        let Some(category) = category else {
            errors.push(locator.error(i, "category", "is required for time without a ticket".into()));
            continue;
        };
        if let Some(why) = coverage.refusal(d.started_at.date()) {
            errors.push(locator.error(i, "started_at", why));
            outside += 1;
            continue;
        }
        rows.push(NewTimeEntry {
            subscription_id,
            ticket_id: d.ticket_id,
            agent: d.agent,
            started_at: d.started_at,
            minutes: d.minutes,
            category,
            billable: d.billable,
            description: d.description,
        });
    }
    if !errors.is_empty() && outside == errors.len() {
        return Err(AppError::outside_subscription(errors));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(ValidationErrors(errors)));
    }
    Ok(rows)
}

pub fn get(conn: &mut DbConnection, id: i64) -> Result<TimeEntry, AppError> {
    time_entries::table
        .left_join(time_entry_claims::table)
        .filter(time_entries::id.eq(id))
        .select(TimeEntry::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound { what: "time entry" })
}

pub fn get_many(conn: &mut DbConnection, ids: &[i64]) -> Result<Vec<TimeEntry>, AppError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(IN_CHUNK) {
        out.extend(
            time_entries::table
                .left_join(time_entry_claims::table)
                .filter(time_entries::id.eq_any(chunk))
                .order(time_entries::id)
                .select(TimeEntry::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

pub struct EntryFilter {
    pub subscription_id: Option<i64>,
    pub from: Option<chrono::NaiveDateTime>,
    pub to: Option<chrono::NaiveDateTime>,
}

pub fn list(conn: &mut DbConnection, filter: EntryFilter, after: i64, limit: i64) -> Result<Vec<TimeEntry>, AppError> {
    let mut query = time_entries::table
        .left_join(time_entry_claims::table)
        .filter(time_entries::id.gt(after))
        .order(time_entries::id)
        .limit(limit + 1)
        .select(TimeEntry::as_select())
        .into_boxed();
    if let Some(s) = filter.subscription_id {
        query = query.filter(time_entries::subscription_id.eq(s));
    }
    if let Some(from) = filter.from {
        query = query.filter(time_entries::started_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(time_entries::started_at.lt(to));
    }
    Ok(query.load(conn)?)
}

fn ensure_unclaimed(entry: &TimeEntry) -> Result<(), AppError> {
    if entry.invoice_id.is_some() {
        return Err(AppError::conflict(
            "claimed",
            "the time entry is on an invoice; delete the draft or void the invoice first",
        ));
    }
    Ok(())
}

/// True while no invoice claims entry `id` (in the statement that writes it, so a claim made
/// meanwhile makes the write touch nothing).
fn unclaimed(
    id: i64,
) -> diesel::dsl::not<
    diesel::dsl::exists<
        diesel::dsl::Filter<time_entry_claims::table, diesel::dsl::Eq<time_entry_claims::time_entry_id, i64>>,
    >,
> {
    diesel::dsl::not(diesel::dsl::exists(time_entry_claims::table.filter(time_entry_claims::time_entry_id.eq(id))))
}

/// The write only touches the entry while it is unclaimed; a draft that claimed it meanwhile
/// makes this a 409.
fn claimed_meanwhile(n: usize) -> Result<(), AppError> {
    if n == 0 {
        return Err(AppError::conflict("claimed", "the time entry was claimed by an invoice meanwhile"));
    }
    Ok(())
}

/// Changes an unclaimed entry to what `change` makes of its current values, read in the same
/// transaction with the entry locked, so two changes of one entry never lose each other's fields.
pub fn update(
    conn: &mut DbConnection,
    id: i64,
    change: impl FnOnce(&TimeEntry) -> Result<EntryDraft, AppError>,
) -> Result<TimeEntry, AppError> {
    write_tx(conn, |conn| {
        crate::storage::locks::time_entry_for_update(conn, id)?;
        let current = get(conn, id)?;
        let draft = change(&current)?;
        let row = resolve(conn, vec![draft], &Locator::JsonSingle)?.remove(0);
        crate::service::lock_customers_of(conn, &[current.subscription_id, row.subscription_id])?;
        ensure_unclaimed(&get(conn, id)?)?;
        let n = diesel::update(time_entries::table.find(id).filter(unclaimed(id))).set(&row).execute(conn)?;
        claimed_meanwhile(n)?;
        get(conn, id)
    })
}

pub fn delete(conn: &mut DbConnection, id: i64) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        let current = get(conn, id)?;
        crate::service::lock_customers_of(conn, &[current.subscription_id])?;
        ensure_unclaimed(&get(conn, id)?)?;
        let n = diesel::delete(time_entries::table.find(id).filter(unclaimed(id))).execute(conn)?;
        claimed_meanwhile(n)
    })
}
