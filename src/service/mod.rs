//! Services: one function per use case. Each takes a connection and parsed domain input,
//! runs in one transaction when it writes (`storage::write_tx`), and returns rows or an
//! `AppError`. Authorization decisions that depend on data (a client's own customer) are made
//! here too, so no handler can forget them.

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod blocks;
pub mod charges;
pub mod claims;
pub mod clock;
pub mod credit_notes;
pub mod csv_input;
pub mod customers;
pub mod holidays;
pub mod idempotency;
pub mod import;
pub mod invoices;
pub mod partner;
pub mod partner_center;
pub mod period_read;
pub mod plan_terms;
pub mod plan_versions;
pub mod plans;
pub mod register;
pub mod reports;
pub mod sample;
pub mod subscriptions;
pub mod tax;
pub mod tickets;
pub mod time_entries;
pub mod web_sessions;

use crate::error::AppError;

pub use crate::storage::IN_CHUNK;

/// Maps a unique-constraint violation on `field` to a 409 that names it.
pub fn unique_violation(field: &'static str) -> impl Fn(diesel::result::Error) -> AppError {
    move |e| match e {
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
            AppError::conflict("duplicate", format!("{field}: another record already has this value"))
        }
        other => AppError::from(other),
    }
}

/// On PostgreSQL, takes a share lock on the customer of this invoice, before anything that
/// frees the invoice's claims (deleting a draft, voiding, a credit note completing the
/// invoice). A run holds its customers `FOR UPDATE` from before its reads to its commit, and
/// reads on two connections from one exported snapshot while its own connection's later
/// statements see newer commits: claims freed in between would be seen by one half and not the
/// other (the entries as free, their retainer month as still taken). With this lock they are
/// freed before the run starts or after it ends.
pub fn lock_customer_of_invoice(conn: &mut crate::storage::DbConnection, invoice_id: i64) -> Result<(), AppError> {
    Ok(crate::storage::locks::customer_of_invoice_for_share(conn, invoice_id)?)
}

/// On PostgreSQL, takes a share lock on the customers of these subscriptions. Drafting locks
/// its customers `FOR UPDATE`, so an edit of billable items and a draft of the same customer
/// run one after the other: a draft never prices a row that then changes before it is claimed.
/// (SQLite's `BEGIN IMMEDIATE` already runs writers one at a time.)
pub fn lock_customers_of(conn: &mut crate::storage::DbConnection, subscription_ids: &[i64]) -> Result<(), AppError> {
    Ok(crate::storage::locks::customers_of_subscriptions_for_share(conn, subscription_ids)?)
}
