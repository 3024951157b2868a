//! Sharing one transaction's view with a second connection: PostgreSQL exports the snapshot of
//! a transaction (`pg_export_snapshot`) and another connection's transaction imports it, so
//! both read exactly the same rows. SQLite has no such thing; there the caller reads alone.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

use super::{DbConnection, StorageError};

/// Whether `conn` can share its transaction's view with `second`: both on PostgreSQL. SQLite
/// could share one too (the run holds the write lock from its first statement), but a second
/// reader did not pay there (docs/performance-findings.md, finding 25).
pub fn can_share(conn: &DbConnection, second: &DbConnection) -> bool {
    matches!((conn, second), (DbConnection::Postgresql(_), DbConnection::Postgresql(_)))
}

/// An exported snapshot's name, checked to be safe to put into SQL.
#[derive(Clone, Debug)]
pub struct Snapshot(String);

/// Exports the snapshot of `conn`'s open transaction; `None` on SQLite.
pub fn export(conn: &mut DbConnection) -> Result<Option<Snapshot>, StorageError> {
    let DbConnection::Postgresql(pg) = conn else {
        return Ok(None);
    };
    let name: String = diesel::select(diesel::dsl::sql::<Text>("pg_export_snapshot()")).get_result(pg)?;
    // The name comes from the server; it is checked anyway before it goes into SQL.
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Err(StorageError::Connection(format!("unexpected snapshot name {name:?}")));
    }
    Ok(Some(Snapshot(name)))
}

/// Makes `second`'s transaction, just begun, a read-only one that sees `snapshot`, with each of
/// its statements planned for the values bound (as `with_custom_plans` does). Must come first
/// in the transaction.
pub fn enter(second: &mut DbConnection, snapshot: &Snapshot) -> QueryResult<()> {
    second.batch_execute(&format!(
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET TRANSACTION SNAPSHOT '{}'; \
         SET LOCAL plan_cache_mode = force_custom_plan",
        snapshot.0
    ))
}
