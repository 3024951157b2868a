//! Writing many rows at once: the statements diesel's `MultiConnection` enum cannot forward
//! (multi-row INSERT ... RETURNING, binary COPY) run here on the inner connection, each behind
//! one signature for both backends, so the service never asks which backend it talks to.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::models::{HolidayDay, NewBlockDraw, NewInvoice, NewInvoiceLine, NewRetainerClaim, NewTimeEntry};
use super::schema::{block_draws, holiday_days, invoice_lines, invoices, retainer_claims, time_entries};
use super::DbConnection;

/// Runs `$body` with `$c` bound to the inner connection, whichever backend it is: for
/// statements written the same for both that the enum cannot forward.
macro_rules! on_either_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::storage::DbConnection::Sqlite($c) => $body,
            $crate::storage::DbConnection::Postgresql($c) => $body,
        }
    };
}
pub(crate) use on_either_backend;

/// Inserts `$rows` into `$table` (a module of `storage::schema` with an `id` column), 1,000
/// rows a statement, and evaluates to `QueryResult<Vec<i64>>`: the new ids in input order.
macro_rules! insert_returning_ids {
    ($conn:expr, $rows:expr, $table:ident) => {{
        use diesel::prelude::*;
        use $crate::storage::schema::$table;
        let rows = &$rows;
        let mut ids: Vec<i64> = Vec::with_capacity(rows.len());
        let mut result: diesel::QueryResult<()> = Ok(());
        for chunk in rows.chunks(1_000) {
            let got: diesel::QueryResult<Vec<i64>> = $crate::storage::bulk::on_either_backend!(&mut *$conn, |c| {
                diesel::insert_into($table::table).values(chunk).returning($table::id).get_results(c)
            });
            match got {
                Ok(mut got) => {
                    // Ids grow in insertion order within one statement.
                    got.sort_unstable();
                    ids.extend(got);
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        result.map(|()| ids)
    }};
}
pub(crate) use insert_returning_ids;

/// SQLite allows 32,766 bind values per statement; a time entry has 8 columns. Fewer, larger
/// statements also mean fewer statement savepoints, a large share of SQLite's insert cost.
const ENTRIES_PER_STATEMENT: usize = 4_000;

/// Inserts time entries and returns their ids in input order.
pub fn insert_time_entries(conn: &mut DbConnection, rows: &[NewTimeEntry]) -> QueryResult<Vec<i64>> {
    let mut ids = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(ENTRIES_PER_STATEMENT) {
        let mut got: Vec<i64> = on_either_backend!(conn, |c| diesel::insert_into(time_entries::table)
            .values(chunk)
            .returning(time_entries::id)
            .get_results(c)?);
        got.sort_unstable();
        ids.extend(got);
    }
    Ok(ids)
}

/// Imports time entries in the order and by the means cheapest on each backend, and returns how
/// many were written; nothing may depend on the order of `rows` afterwards.
///
/// The order follows docs/performance-findings.md, finding 22: on SQLite by time, so the
/// `started_at` index grows at its end; on PostgreSQL by subscription, then time, so a
/// subscription's entries get consecutive ids and a run's claims append to their indexes.
/// PostgreSQL writes with one binary `COPY`.
pub fn import_time_entries(conn: &mut DbConnection, rows: &mut [NewTimeEntry]) -> QueryResult<usize> {
    match conn {
        DbConnection::Sqlite(c) => {
            rows.sort_by_key(|r| r.started_at);
            for chunk in rows.chunks(ENTRIES_PER_STATEMENT) {
                diesel::insert_into(time_entries::table).values(chunk).execute(c)?;
            }
            Ok(rows.len())
        }
        DbConnection::Postgresql(c) => {
            rows.sort_by_key(|r| (r.subscription_id, r.started_at));
            diesel::copy_from(time_entries::table).from_insertable(&*rows).execute(c)
        }
    }
}

/// Refreshes the planner's statistics of `time_entries` after a large import (PostgreSQL's
/// `ANALYZE`, a sample); SQLite's planner needs none here.
pub fn refresh_time_entry_statistics(conn: &mut DbConnection) -> QueryResult<()> {
    match conn {
        DbConnection::Sqlite(_) => Ok(()),
        DbConnection::Postgresql(c) => c.batch_execute("ANALYZE time_entries"),
    }
}

/// Inserts invoices and returns `(id, customer_id)` for each, in no particular order.
pub fn insert_invoices(conn: &mut DbConnection, rows: &[NewInvoice]) -> QueryResult<Vec<(i64, i64)>> {
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(1_000) {
        out.extend(on_either_backend!(conn, |c| diesel::insert_into(invoices::table)
            .values(chunk)
            .returning((invoices::id, invoices::customer_id))
            .get_results::<(i64, i64)>(c)?));
    }
    Ok(out)
}

/// Inserts invoice lines: multi-row INSERTs on SQLite, one binary `COPY` on PostgreSQL, where
/// parsing and binding large INSERTs was a third of their cost
/// (docs/performance-findings.md, finding 23).
pub fn insert_invoice_lines(conn: &mut DbConnection, rows: &[NewInvoiceLine]) -> QueryResult<()> {
    match conn {
        DbConnection::Sqlite(c) => {
            for chunk in rows.chunks(1_000) {
                diesel::insert_into(invoice_lines::table).values(chunk).execute(c)?;
            }
        }
        DbConnection::Postgresql(c) => {
            if !rows.is_empty() {
                diesel::copy_from(invoice_lines::table).from_insertable(rows).execute(c)?;
            }
        }
    }
    Ok(())
}

/// Inserts retainer claims; a month already claimed is a unique violation.
pub fn insert_retainer_claims(conn: &mut DbConnection, rows: &[NewRetainerClaim]) -> QueryResult<()> {
    for chunk in rows.chunks(1_000) {
        on_either_backend!(conn, |c| diesel::insert_into(retainer_claims::table).values(chunk).execute(c)?);
    }
    Ok(())
}

/// Inserts the days of holiday calendars, 1,000 a statement (three binds a row).
pub fn insert_holiday_days(conn: &mut DbConnection, rows: &[HolidayDay]) -> QueryResult<()> {
    for chunk in rows.chunks(1_000) {
        on_either_backend!(conn, |c| diesel::insert_into(holiday_days::table).values(chunk).execute(c)?);
    }
    Ok(())
}

/// Inserts prepaid block draws, 1,000 rows a statement.
pub fn insert_block_draws(conn: &mut DbConnection, rows: &[NewBlockDraw]) -> QueryResult<()> {
    for chunk in rows.chunks(1_000) {
        on_either_backend!(conn, |c| diesel::insert_into(block_draws::table).values(chunk).execute(c)?);
    }
    Ok(())
}

/// Writes out what recent bulk writes left in PostgreSQL's buffers (`CHECKPOINT`), so a
/// measurement that follows starts on a database at rest; SQLite: nothing to do.
pub fn checkpoint(conn: &mut DbConnection) -> QueryResult<()> {
    match conn {
        DbConnection::Sqlite(_) => Ok(()),
        DbConnection::Postgresql(c) => c.batch_execute("CHECKPOINT"),
    }
}
