//! An online copy of a SQLite database: `VACUUM INTO` reads one consistent snapshot (in WAL
//! mode the server's writers are not blocked) and writes a compact database file, which is then
//! checked with `PRAGMA integrity_check`. PostgreSQL deployments use `pg_dump` instead
//! (docs/operations.md, Backups).

use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl, SqliteConnection};

/// Copies the SQLite database at `path` to the new file `target` and checks the copy.
pub fn copy_sqlite(path: &str, target: &str) -> Result<(), String> {
    super::sqlite_multithread();
    let mut conn = SqliteConnection::establish(path).map_err(|e| format!("cannot open {path}: {e}"))?;
    // Wait for a writer's lock rather than fail, like the server's own connections.
    conn.batch_execute("PRAGMA busy_timeout = 30000;").map_err(|e| e.to_string())?;
    // A string literal: single quotes doubled, so any file name is taken literally.
    let literal = format!("'{}'", target.replace('\'', "''"));
    diesel::sql_query(format!("VACUUM INTO {literal}"))
        .execute(&mut conn)
        .map_err(|e| format!("backup of {path} to {target} failed: {e}"))?;
    drop(conn);

    #[derive(diesel::QueryableByName)]
    struct Check {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    let mut copy = SqliteConnection::establish(target).map_err(|e| format!("cannot open the copy {target}: {e}"))?;
    let checks: Vec<Check> = diesel::sql_query("PRAGMA integrity_check").load(&mut copy).map_err(|e| e.to_string())?;
    if checks.len() != 1 || checks[0].integrity_check != "ok" {
        let found: Vec<_> = checks.into_iter().map(|c| c.integrity_check).collect();
        return Err(format!("the copy {target} fails its integrity check: {}", found.join("; ")));
    }
    Ok(())
}
