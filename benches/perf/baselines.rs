//! The baselines each figure is measured against: plain inserts of the same rows, one GROUP BY
//! of the month, one update per transaction.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use diesel::dsl::{count_star, sum};
use diesel::prelude::*;

use supportbill::domain::vocab::InvoiceStatus;
use supportbill::storage::schema::{invoices as invoices_t, time_entries as entries_t};
use supportbill::storage::{self, DbConnection};

/// The ceiling of plain inserts: one prepared single-row INSERT per row, one transaction,
/// rolled back; with the same page cache as the import (`with_bulk_cache`), so that the two
/// differ only in how the rows are sent.
pub(crate) fn raw_insert(conn: &mut DbConnection, rows: &[supportbill::storage::models::NewTimeEntry]) -> Duration {
    let mut elapsed = Duration::ZERO;
    let _ = storage::with_bulk_cache(conn, |conn| {
        conn.transaction::<(), diesel::result::Error, _>(|conn| {
            let t = Instant::now();
            for row in rows {
                diesel::insert_into(entries_t::table).values(row).execute(conn)?;
            }
            elapsed = t.elapsed();
            Err(diesel::result::Error::RollbackTransaction)
        })
    });
    elapsed
}

/// One aggregation of the month's entries by subscription, category and billable.
pub(crate) fn aggregate(conn: &mut DbConnection, from: NaiveDate, to: NaiveDate) -> Duration {
    let (start, end) = (from.and_hms_opt(0, 0, 0).expect("0:00"), to.and_hms_opt(0, 0, 0).expect("0:00"));
    let t = Instant::now();
    let rows: Vec<(i64, String, bool, i64, Option<i64>)> = entries_t::table
        .filter(entries_t::started_at.ge(start))
        .filter(entries_t::started_at.lt(end))
        .group_by((entries_t::subscription_id, entries_t::category, entries_t::billable))
        .select((
            entries_t::subscription_id,
            entries_t::category,
            entries_t::billable,
            count_star(),
            sum(entries_t::minutes),
        ))
        .load(conn)
        .expect("group by");
    let elapsed = t.elapsed();
    assert!(!rows.is_empty());
    elapsed
}

pub(crate) fn one_update_per_transaction(conn: &mut DbConnection, ids: &[i64]) -> Duration {
    let t = Instant::now();
    for &id in ids {
        supportbill::storage::write_tx(conn, |conn| {
            diesel::update(invoices_t::table.find(id)).set(invoices_t::status.eq(InvoiceStatus::Draft)).execute(conn)
        })
        .expect("update");
    }
    t.elapsed()
}
