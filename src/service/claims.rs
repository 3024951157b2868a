//! Claims: what keeps an item on one invoice at a time (SPEC 3). A draft records the time
//! entries and tickets it bills (`time_entry_claims`, `ticket_claims`, keyed by what they
//! claim), marks the charges it bills (`invoice_id`) and the retainer months it takes
//! (`retainer_claims`), and what it bills and draws of prepaid blocks (`service::blocks`), in
//! the transaction that creates it. Claims only take items that are still free, and the count
//! is checked, so two concurrent drafts never bill the same item: one of them fails and rolls
//! back whole. Deleting a draft, voiding and a full credit free them again.

use diesel::prelude::*;

use crate::error::AppError;
use crate::storage::claims::{self, ClaimTable};
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
    /// Writes every claim; an item claimed meanwhile by another invoice fails the whole draft
    /// (the count falls short, or PostgreSQL reports the key taken).
    pub(crate) fn write(mut self, conn: &mut DbConnection) -> Result<(), AppError> {
        for (table, pairs, what) in [
            (ClaimTable::Entries, &mut self.entries, "time entries"),
            (ClaimTable::Tickets, &mut self.tickets, "tickets"),
        ] {
            let inserted = claims::insert_claims(conn, table, pairs).map_err(|e| taken_on_conflict(e, what))?;
            if inserted != pairs.len() {
                return Err(taken(what));
            }
        }
        let charged = claims::claim_charges(conn, &mut self.charges).map_err(|e| taken_on_conflict(e, "charges"))?;
        if charged != self.charges.len() {
            return Err(taken("charges"));
        }
        Ok(())
    }
}

fn taken(what: &str) -> AppError {
    AppError::conflict("already_claimed", format!("some {what} were claimed by another invoice meanwhile; retry"))
}

fn taken_on_conflict(e: diesel::result::Error, what: &str) -> AppError {
    match e {
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => taken(what),
        other => other.into(),
    }
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

/// Frees everything invoice `id` claimed.
pub(crate) fn free_claims(conn: &mut DbConnection, id: i64) -> Result<(), AppError> {
    diesel::delete(time_entry_claims::table.filter(time_entry_claims::invoice_id.eq(id))).execute(conn)?;
    diesel::delete(ticket_claims::table.filter(ticket_claims::invoice_id.eq(id))).execute(conn)?;
    diesel::update(charges::table.filter(charges::invoice_id.eq(id)))
        .set(charges::invoice_id.eq(None::<i64>))
        .execute(conn)?;
    diesel::delete(retainer_claims::table.filter(retainer_claims::invoice_id.eq(id))).execute(conn)?;
    // Prepaid blocks: the minutes it drew go back, and the purchases it billed are billable again.
    crate::service::blocks::free_claims(conn, id)?;
    Ok(())
}
