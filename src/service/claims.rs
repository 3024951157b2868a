//! Claims: what keeps an item on one invoice at a time (SPEC 3). A draft records the time
//! entries and tickets it bills (`time_entry_claims`, `ticket_claims`, keyed by what they
//! claim), marks the charges it bills (`invoice_id`) and the retainer months it takes
//! (`retainer_claims`), in the transaction that creates it. Claims only take items that are
//! still free, and the count is checked, so two concurrent drafts never bill the same item:
//! one of them fails and rolls back whole. Deleting a draft, voiding and a full credit free
//! them again.

use diesel::prelude::*;

use crate::error::AppError;
use crate::service::IN_CHUNK;
use crate::storage::schema::*;
use crate::storage::DbConnection;

/// What a run's drafts claim, as `(row, invoice)` pairs, invoice by invoice. They are written
/// after every draft of the run, in the same transaction: on PostgreSQL each claim statement
/// joins its pairs to the whole table, and a statement per batch of 1,000 customers made that
/// join ten times over (the tickets' UPDATE read all 125,000 tickets for each 1,900 it claimed;
/// docs/performance-findings.md, finding 23).
#[derive(Default)]
pub(crate) struct PendingClaims {
    pub(crate) entries: Vec<(i64, i64)>,
    pub(crate) tickets: Vec<(i64, i64)>,
    pub(crate) charges: Vec<(i64, i64)>,
}

impl PendingClaims {
    pub(crate) fn write(self, conn: &mut DbConnection) -> Result<(), AppError> {
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
pub(crate) enum ClaimTable {
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
pub(crate) fn claim_into(
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
pub(crate) type EntryUnclaimed = diesel::dsl::not<
    diesel::dsl::exists<
        diesel::dsl::Filter<
            time_entry_claims::table,
            diesel::dsl::Eq<time_entry_claims::time_entry_id, time_entries::id>,
        >,
    >,
>;

/// Time entries no invoice has claimed.
pub(crate) fn entry_unclaimed() -> EntryUnclaimed {
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
pub(crate) fn claim_rows(
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
