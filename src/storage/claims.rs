//! Writing a run's claims: `(row, invoice)` pairs by the thousand. PostgreSQL takes them as two
//! arrays per statement (`unnest`), a round trip saved per invoice; SQLite, in process, as
//! multi-row statements. What a claim means is `service::claims`.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt};

use super::schema::{charges, prepaid_blocks, ticket_claims, time_entry_claims};
use super::DbConnection;

/// The tables of claims whose key is what they claim, so a thing is on one invoice at a time.
#[derive(Clone, Copy, Debug)]
pub enum ClaimTable {
    Entries,
    Tickets,
}

/// Pairs per PostgreSQL statement; two arrays of this many ids.
const PAIRS_PER_ARRAY: usize = 100_000;

/// Inserts the `(row, invoice)` pairs into `table` and returns how many were inserted. A row
/// already claimed is, on PostgreSQL, a unique violation (a plain INSERT without ON CONFLICT
/// was a fifth cheaper), and on SQLite a row skipped, which the count shows. The pairs are
/// written in row order, so the claims' primary key grows at its end.
pub fn insert_claims(conn: &mut DbConnection, table: ClaimTable, pairs: &mut [(i64, i64)]) -> QueryResult<usize> {
    pairs.sort_unstable();
    let mut inserted = 0;
    match conn {
        DbConnection::Postgresql(pg) => {
            let sql = match table {
                ClaimTable::Entries => {
                    "INSERT INTO time_entry_claims (time_entry_id, invoice_id) SELECT * FROM unnest($1, $2)"
                }
                ClaimTable::Tickets => "INSERT INTO ticket_claims (ticket_id, invoice_id) SELECT * FROM unnest($1, $2)",
            };
            for chunk in pairs.chunks(PAIRS_PER_ARRAY) {
                let (ids, invoices): (Vec<i64>, Vec<i64>) = chunk.iter().copied().unzip();
                inserted += diesel::sql_query(sql)
                    .bind::<Array<BigInt>, _>(&ids)
                    .bind::<Array<BigInt>, _>(&invoices)
                    .execute(pg)?;
            }
        }
        DbConnection::Sqlite(lite) => {
            // Two values a row, within SQLite's 32,766 bind values per statement.
            for chunk in pairs.chunks(16_000) {
                inserted += match table {
                    ClaimTable::Entries => {
                        let rows: Vec<_> = chunk
                            .iter()
                            .map(|&(id, inv)| {
                                (time_entry_claims::time_entry_id.eq(id), time_entry_claims::invoice_id.eq(inv))
                            })
                            .collect();
                        diesel::insert_or_ignore_into(time_entry_claims::table).values(&rows).execute(lite)?
                    }
                    ClaimTable::Tickets => {
                        let rows: Vec<_> = chunk
                            .iter()
                            .map(|&(id, inv)| (ticket_claims::ticket_id.eq(id), ticket_claims::invoice_id.eq(inv)))
                            .collect();
                        diesel::insert_or_ignore_into(ticket_claims::table).values(&rows).execute(lite)?
                    }
                };
            }
        }
    }
    Ok(inserted)
}

/// The tables whose rows name the invoice that bills them in a column of their own
/// (`invoice_id`), rather than in a table of claims.
#[derive(Clone, Copy, Debug)]
pub enum MarkedTable {
    Charges,
    /// A prepaid block's purchase (SPEC 7.5).
    PrepaidBlocks,
}

/// Sets `invoice_id` on the charges of the `(charge, invoice)` pairs that are still unclaimed,
/// and returns how many it set. See [`claim_marked`].
pub fn claim_charges(conn: &mut DbConnection, pairs: &mut [(i64, i64)]) -> QueryResult<usize> {
    claim_marked(conn, MarkedTable::Charges, pairs)
}

/// Sets `invoice_id` on the rows of `table` named by the `(row, invoice)` pairs that are still
/// unclaimed, and returns how many it set. PostgreSQL: one UPDATE from two arrays per 100,000
/// pairs, in row order so concurrent runs lock rows in the same order; SQLite: one UPDATE per
/// invoice and chunk of ids, where a statement costs no round trip.
pub fn claim_marked(conn: &mut DbConnection, table: MarkedTable, pairs: &mut [(i64, i64)]) -> QueryResult<usize> {
    let mut claimed = 0;
    match conn {
        DbConnection::Postgresql(pg) => {
            let sql = match table {
                MarkedTable::Charges => {
                    "UPDATE charges AS t SET invoice_id = c.invoice_id FROM unnest($1, $2) AS c (id, invoice_id) \
                     WHERE t.id = c.id AND t.invoice_id IS NULL"
                }
                MarkedTable::PrepaidBlocks => {
                    "UPDATE prepaid_blocks AS t SET invoice_id = c.invoice_id FROM unnest($1, $2) AS c (id, invoice_id) \
                     WHERE t.id = c.id AND t.invoice_id IS NULL"
                }
            };
            pairs.sort_unstable();
            for chunk in pairs.chunks(PAIRS_PER_ARRAY) {
                let (ids, invoices): (Vec<i64>, Vec<i64>) = chunk.iter().copied().unzip();
                claimed += diesel::sql_query(sql)
                    .bind::<Array<BigInt>, _>(&ids)
                    .bind::<Array<BigInt>, _>(&invoices)
                    .execute(pg)?;
            }
        }
        DbConnection::Sqlite(lite) => {
            pairs.sort_unstable_by_key(|&(id, invoice)| (invoice, id));
            for group in pairs.chunk_by(|a, b| a.1 == b.1) {
                let invoice_id = group[0].1;
                let ids: Vec<i64> = group.iter().map(|&(id, _)| id).collect();
                for chunk in ids.chunks(super::IN_CHUNK) {
                    claimed += match table {
                        MarkedTable::Charges => diesel::update(
                            charges::table.filter(charges::id.eq_any(chunk)).filter(charges::invoice_id.is_null()),
                        )
                        .set(charges::invoice_id.eq(Some(invoice_id)))
                        .execute(lite)?,
                        MarkedTable::PrepaidBlocks => diesel::update(
                            prepaid_blocks::table
                                .filter(prepaid_blocks::id.eq_any(chunk))
                                .filter(prepaid_blocks::invoice_id.is_null()),
                        )
                        .set(prepaid_blocks::invoice_id.eq(Some(invoice_id)))
                        .execute(lite)?,
                    };
                }
            }
        }
    }
    Ok(claimed)
}
