//! The invoice run's read of a period: every unclaimed billable time entry in it, straight into
//! the pricing engine's compact form, grouped by subscription.
//!
//! On PostgreSQL the read is one of the run's largest parts, and about half of it was the client
//! decoding rows while the server waited, then the reverse. With a second connection the run
//! reads with both ([`SharedRead`]): the id range is cut into windows, and the run's own
//! connection and the second one take windows in turn, the second inside a read-only
//! transaction that imports the run's snapshot (`pg_export_snapshot`), so both see exactly the
//! same rows (docs/performance-findings.md, finding 25). Without one, and on SQLite (`storage::snapshot::can_share`), the
//! run reads alone, in keyset pages ([`unclaimed_entries`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::domain::pricing::{self, Category, Period};
use crate::error::AppError;
use crate::storage::schema::*;
use crate::storage::snapshot::{self, Snapshot};
use crate::storage::DbConnection;

/// The period's entries by subscription, in no particular order within a subscription.
pub type EntriesBySubscription = HashMap<i64, Vec<pricing::TimeEntry>>;

/// Entries read per query: a keyset page, or a window of ids.
const PAGE: i64 = 50_000;

/// Reads the period's unclaimed entries on one connection, in keyset pages in id order
/// (sequential on disk).
pub fn unclaimed_entries(conn: &mut DbConnection, period: Period) -> Result<EntriesBySubscription, AppError> {
    let (start, end) = bounds(period);
    let mut entries = EntriesBySubscription::new();
    let mut after = 0i64;
    loop {
        let page: Vec<Row> =
            unclaimed(start, end).filter(time_entries::id.gt(after)).order(time_entries::id).limit(PAGE).load(conn)?;
        let full = page.len() as i64 == PAGE;
        let Some(last) = page.last() else { break };
        after = last.0;
        add(&mut entries, page);
        if !full {
            break;
        }
    }
    Ok(entries)
}

fn bounds(period: Period) -> (NaiveDateTime, NaiveDateTime) {
    let midnight = |d: chrono::NaiveDate| d.and_time(chrono::NaiveTime::MIN);
    (midnight(period.start()), midnight(period.end()))
}

/// The run's snapshot, exported for a second PostgreSQL connection (`pg_export_snapshot`), and
/// the period's entries cut into windows of ids that the two connections take in turn.
pub struct SharedRead {
    snapshot: Snapshot,
    period: Period,
    /// The next window's first id, and the period's last entry's id.
    next: AtomicI64,
    last: i64,
    window: i64,
}

impl SharedRead {
    /// Exports the snapshot of `conn`'s transaction (PostgreSQL) and finds the period's first
    /// and last entry.
    pub fn export(conn: &mut DbConnection, period: Period) -> Result<SharedRead, AppError> {
        let (start, end) = bounds(period);
        let snapshot = snapshot::export(conn)?
            .ok_or_else(|| AppError::Internal("this backend cannot share a snapshot with a second reader".into()))?;
        let (first, last): (Option<i64>, Option<i64>) = time_entries::table
            .filter(time_entries::started_at.ge(start))
            .filter(time_entries::started_at.lt(end))
            .select((diesel::dsl::min(time_entries::id), diesel::dsl::max(time_entries::id)))
            .get_result(conn)?;
        let (first, last) = match (first, last) {
            (Some(first), Some(last)) => (first, last),
            _ => (1, 0), // no entries: no window
        };
        // At least eight windows, so both connections get work on a small period too.
        let window = ((last - first) / 8 + 1).clamp(1, PAGE);
        Ok(SharedRead { snapshot, period, next: AtomicI64::new(first), last, window })
    }

    /// Makes `second`'s transaction, just begun, see exactly what the run sees (it imports the
    /// snapshot), and has each window planned for its ids (as `with_custom_plans` does for the
    /// run). Must come first in the transaction.
    pub fn enter(&self, second: &mut DbConnection) -> Result<(), AppError> {
        Ok(snapshot::enter(second, &self.snapshot)?)
    }

    /// Reads windows until none is left: the unclaimed entries of the windows this
    /// connection took.
    pub fn read(&self, conn: &mut DbConnection) -> Result<EntriesBySubscription, AppError> {
        let (start, end) = bounds(self.period);
        let mut entries = EntriesBySubscription::new();
        loop {
            let from = self.next.fetch_add(self.window, Ordering::Relaxed);
            if from > self.last {
                return Ok(entries);
            }
            let rows: Vec<Row> = unclaimed(start, end)
                .filter(time_entries::id.ge(from))
                .filter(time_entries::id.lt(from + self.window))
                .load(conn)?;
            add(&mut entries, rows);
        }
    }
}

/// Adds what another connection read to `entries`.
pub fn merge(entries: &mut EntriesBySubscription, other: EntriesBySubscription) {
    for (sub, list) in other {
        entries.entry(sub).or_default().extend(list);
    }
}

/// A billable entry as the run reads it: id, subscription, start, minutes, category, ticket.
// (`StoredTimestamp`: the fast read of SQLite's timestamp text, `storage::timestamp`.)
type Row = (i64, i64, crate::storage::timestamp::StoredTimestamp, i32, Category, Option<i64>);

/// The period's unclaimed billable entries, as [`Row`]s. Non-billable entries are never
/// chargeable (SPEC P1), and pricing uses the rest only through chargeable ones, so the run
/// does not read them (a tenth of the generated month).
#[allow(clippy::type_complexity)]
fn unclaimed(
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> diesel::dsl::Select<
    diesel::dsl::Filter<
        diesel::dsl::Filter<
            diesel::dsl::Filter<
                diesel::dsl::Filter<time_entries::table, diesel::dsl::GtEq<time_entries::started_at, NaiveDateTime>>,
                diesel::dsl::Lt<time_entries::started_at, NaiveDateTime>,
            >,
            diesel::dsl::Eq<time_entries::billable, bool>,
        >,
        crate::service::claims::EntryUnclaimed,
    >,
    (
        time_entries::id,
        time_entries::subscription_id,
        time_entries::started_at,
        time_entries::minutes,
        time_entries::category,
        time_entries::ticket_id,
    ),
> {
    time_entries::table
        .filter(time_entries::started_at.ge(start))
        .filter(time_entries::started_at.lt(end))
        .filter(time_entries::billable.eq(true))
        .filter(crate::service::claims::entry_unclaimed())
        .select((
            time_entries::id,
            time_entries::subscription_id,
            time_entries::started_at,
            time_entries::minutes,
            time_entries::category,
            time_entries::ticket_id,
        ))
}

fn add(entries: &mut EntriesBySubscription, rows: Vec<Row>) {
    for (id, sub, started_at, minutes, category, ticket_id) in rows {
        let started_at = chrono::DateTime::from_naive_utc_and_offset(started_at.0, chrono::Utc);
        entries.entry(sub).or_default().push(pricing::TimeEntry {
            id,
            started_at,
            minutes: minutes.max(0) as u32,
            category,
            billable: true,
            ticket_id,
        });
    }
}
