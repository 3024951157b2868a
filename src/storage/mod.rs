//! Storage: one diesel code path over SQLite (embedded default) and PostgreSQL.
//!
//! The backend is chosen from the database URL, never by trial (diesel's own
//! `MultiConnection::establish` tries each backend and hides the real error). Queries run
//! through the `DbConnection` enum; the few things the enum cannot forward (multi-row inserts)
//! run on the matched inner connection. Writers go through [`write_tx`], which takes SQLite's
//! write lock up front (`BEGIN IMMEDIATE`), because deferred transactions fail with "database is
//! busy" under contention instead of waiting.

pub mod backup;
pub mod bulk;
pub mod claims;
pub mod columns;
pub mod decimal;
pub mod failure;
pub mod locks;
pub mod models;
pub mod schema;
pub mod snapshot;
pub mod timestamp;

use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub use decimal::Dec;
pub use failure::FailureKind;

/// One connection to either backend.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

impl DbConnection {
    /// Whether the database runs inside this process (SQLite), where a statement costs no
    /// network round trip; callers choose between few large statements and many small ones.
    pub fn is_in_process(&self) -> bool {
        matches!(self, DbConnection::Sqlite(_))
    }
}

/// Chunk size for `IN (...)` lists: well under SQLite's and PostgreSQL's bind limits.
pub const IN_CHUNK: usize = 10_000;

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConn = r2d2::PooledConnection<Manager>;

/// A pooled connection, and when it was last given back to the pool.
///
/// r2d2 checks a connection with a query (`SELECT 1`) each time it lends it. On PostgreSQL
/// that was one round trip of three in a `GET /invoices/{id}`. So only a connection that sat
/// in the pool for [`CHECK_IDLE_AFTER`] or longer is checked; one given back broken is dropped
/// on its way in instead ([`Manager::has_broken`]).
pub struct TrackedConnection {
    conn: DbConnection,
    returned_at: Instant,
    /// Set when the connection met a failure it would keep ([`TrackedConnection::note_failure`]).
    discard: bool,
}

/// A connection idle in the pool for this long is checked with a query before it is lent.
pub const CHECK_IDLE_AFTER: Duration = Duration::from_secs(1);

/// How long a request waits for a pooled connection before it is answered 503. Long enough for
/// a busy pool to free a connection; short enough that a client never waits long on a database
/// that is gone. r2d2 also spaces its attempts to reconnect at up to half of it, so a database
/// that comes back is found again within this wait (docs/operations.md, "When the database goes
/// away").
pub const POOL_WAIT: Duration = Duration::from_secs(5);

impl TrackedConnection {
    /// Notes a failure met on this connection; one the connection would keep makes the pool drop
    /// it when it comes back: a read-only SQLite connection stays read-only after its file is
    /// writable again, and a PostgreSQL connection whose server went away never works again.
    pub fn note_failure(&mut self, e: &StorageError) {
        let kind = e.kind();
        self.discard |= kind == FailureKind::ReadOnly
            || (kind == FailureKind::Unavailable && matches!(self.conn, DbConnection::Postgresql(_)));
    }
}

impl std::ops::Deref for TrackedConnection {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for TrackedConnection {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgresql");

/// Errors of the storage layer: all of them are the service's fault or the database's, never
/// the client's, so they map to 5xx (see `crate::error`).
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database URL: {0}")]
    Url(String),
    #[error("database connection: {0}")]
    Connection(String),
    #[error("database pool: {0}")]
    Pool(#[from] r2d2::PoolError),
    #[error("database query: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migration: {0}")]
    Migration(String),
}

/// Where the data lives, parsed from `--database-url` / `DATABASE_URL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(String),
    Postgres(String),
}

impl DatabaseUrl {
    /// `postgres://` and `postgresql://` are PostgreSQL; `sqlite://PATH`, `sqlite:PATH` and a
    /// plain path are SQLite; any other `scheme://` is refused rather than guessed at.
    pub fn parse(url: &str) -> Result<DatabaseUrl, StorageError> {
        let url = url.trim();
        if url.is_empty() {
            return Err(StorageError::Url("the database URL is empty".into()));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_string()));
        }
        if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            if path.is_empty() {
                return Err(StorageError::Url("sqlite URL without a file path".into()));
            }
            return Ok(DatabaseUrl::Sqlite(path.to_string()));
        }
        if let Some((scheme, _)) = url.split_once("://") {
            return Err(StorageError::Url(format!(
                "unsupported database scheme {scheme:?}: use postgres://, postgresql://, sqlite:// or a file path"
            )));
        }
        Ok(DatabaseUrl::Sqlite(url.to_string()))
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, DatabaseUrl::Sqlite(_))
    }

    /// For logs: the URL without a password.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite:{path}"),
            DatabaseUrl::Postgres(url) => match (url.find("://"), url.rfind('@')) {
                (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
                _ => url.clone(),
            },
        }
    }
}

/// r2d2 manager that opens the backend the URL names and keeps the real connection error.
#[derive(Clone, Debug)]
pub struct Manager {
    url: DatabaseUrl,
}

impl ManageConnection for Manager {
    type Connection = TrackedConnection;
    type Error = StorageError;

    fn connect(&self) -> Result<TrackedConnection, StorageError> {
        self.open().map(|conn| TrackedConnection { conn, returned_at: Instant::now(), discard: false })
    }

    fn is_valid(&self, conn: &mut TrackedConnection) -> Result<(), StorageError> {
        if conn.returned_at.elapsed() < CHECK_IDLE_AFTER {
            return Ok(());
        }
        conn.batch_execute("SELECT 1").map_err(StorageError::Query)
    }

    /// Called as a connection comes back. Broken: given back while its user panicked, or still
    /// inside a transaction, or in error, or after a failure it keeps
    /// ([`TrackedConnection::note_failure`]). diesel puts a PostgreSQL connection whose server
    /// went away in that error state (libpq's transaction status turns unknown), so a lost
    /// connection is dropped here, not lent again.
    fn has_broken(&self, conn: &mut TrackedConnection) -> bool {
        conn.returned_at = Instant::now();
        conn.discard
            || std::thread::panicking()
            || <DbConnection as Connection>::TransactionManager::is_broken_transaction_manager(&mut conn.conn)
    }
}

impl Manager {
    fn open(&self) -> Result<DbConnection, StorageError> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                refuse_read_only_file(path)?;
                sqlite_multithread();
                let mut conn =
                    SqliteConnection::establish(path).map_err(|e| StorageError::Connection(e.to_string()))?;
                // WAL lets readers run beside the one writer; the busy timeout makes a second
                // writer wait for the lock instead of failing at once.
                // busy_timeout first: switching to WAL needs the lock, and a connection opened
                // while another holds it should wait rather than fail.
                // SQLite's default page cache is 2 MiB. Pooled connections get 16 MiB each
                // (8 connections: at most 128 MiB); the bulk jobs (a month's import, an invoice
                // run) raise theirs to 64 MiB while they run (`with_bulk_cache`), because
                // spilling their pages through pread/pwrite was most of their time (see
                // BENCHMARKS.md). No mmap: it would make the process's resident memory grow
                // with the database file.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 30000; PRAGMA journal_mode = WAL; \
                     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
                     PRAGMA cache_size = -16384; PRAGMA temp_store = MEMORY;",
                )?;
                Ok(DbConnection::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => PgConnection::establish(url)
                .map(DbConnection::Postgresql)
                .map_err(|e| StorageError::Connection(e.to_string())),
        }
    }
}

/// Refuses to open a SQLite database whose file or write-ahead log may not be written (a
/// read-only file, an immutable one, a read-only file system). SQLite would open it read-only
/// without a word, and that connection would stay read-only after the file is writable again;
/// refused, the pool tries again later and then opens a connection that can write.
///
/// Asked with `access(2)`, never by opening the file: closing any descriptor of a database file
/// drops every POSIX lock this process holds on it, the other connections' included.
fn refuse_read_only_file(path: &str) -> Result<(), StorageError> {
    for file in [path.to_string(), format!("{path}-wal")] {
        let Ok(c_path) = std::ffi::CString::new(file.as_str()) else { return Ok(()) };
        // SAFETY: `access` only reads the NUL-terminated path, which outlives the call.
        if unsafe { libc::access(c_path.as_ptr(), libc::W_OK) } == 0 {
            continue;
        }
        let e = std::io::Error::last_os_error();
        // Not there yet (SQLite creates it), or a name that is no file path (`:memory:`).
        if e.kind() != std::io::ErrorKind::NotFound {
            return Err(StorageError::Connection(format!("{file} may not be written: {e}")));
        }
    }
    Ok(())
}

/// Puts SQLite in its multi-thread mode, once, before the process opens its first SQLite
/// database. By default (serialized mode) SQLite locks a mutex around every call on a
/// connection or statement, each column read included, a visible share of reading a month's
/// entries (docs/performance-findings.md, finding 28). Here a connection is only ever used by one thread at a time
/// (the pool lends it out whole, and diesel's `SqliteConnection` is not `Sync`), which is what
/// multi-thread mode asks. SQLite's global state (its allocator, its caches) keeps its locks.
/// Everything in this process that opens an SQLite database calls this first (the pool's
/// manager, the CLI's backup, the tests' own checks).
pub fn sqlite_multithread() {
    static SET: std::sync::Once = std::sync::Once::new();
    SET.call_once(|| {
        // SAFETY: `sqlite3_config` must not run while another thread uses SQLite, and has an
        // effect only before SQLite initializes. Every SQLite database is opened after this
        // call (`Once` makes concurrent openers wait for it). Had SQLite been initialized
        // already, it answers SQLITE_MISUSE and stays serialized, which is only slower.
        let rc = unsafe { libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MULTITHREAD) };
        if rc != libsqlite3_sys::SQLITE_OK {
            log::debug!("SQLite stays in serialized mode (sqlite3_config answered {rc})");
        }
    });
}

/// Opens the pool and runs the pending migrations of the URL's backend.
pub fn connect(url: &DatabaseUrl, max_size: u32) -> Result<Pool, StorageError> {
    let pool = r2d2::Pool::builder()
        .max_size(max_size)
        .connection_timeout(POOL_WAIT)
        .build(Manager { url: url.clone() })
        .map_err(|e| StorageError::Connection(e.to_string()))?;
    let mut conn = pool.get()?;
    migrate(&mut conn)?;
    Ok(pool)
}

pub fn migrate(conn: &mut DbConnection) -> Result<(), StorageError> {
    let migrations = migrations_of(conn);
    conn.run_pending_migrations(migrations).map(|_| ()).map_err(|e| StorageError::Migration(e.to_string()))
}

fn migrations_of(conn: &DbConnection) -> EmbeddedMigrations {
    match conn {
        DbConnection::Sqlite(_) => SQLITE_MIGRATIONS,
        DbConnection::Postgresql(_) => POSTGRES_MIGRATIONS,
    }
}

/// Reverts the newest migration (its `down.sql`); for tests of a migration's data path.
pub fn revert_last_migration(conn: &mut DbConnection) -> Result<String, StorageError> {
    let migrations = migrations_of(conn);
    conn.revert_last_migration(migrations)
        .map(|version| version.to_string())
        .map_err(|e| StorageError::Migration(e.to_string()))
}

/// Runs a bulk job with a 64 MiB SQLite page cache on its connection, then gives the memory
/// back (lowering `cache_size` evicts the extra pages). PostgreSQL: runs `f` as is.
pub fn with_bulk_cache<T, E>(conn: &mut DbConnection, f: impl FnOnce(&mut DbConnection) -> Result<T, E>) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let sqlite = matches!(conn, DbConnection::Sqlite(_));
    with_session_setting(conn, sqlite, "PRAGMA cache_size = -65536;", "PRAGMA cache_size = -16384;", f)
}

/// SQLite: runs `f` with foreign-key enforcement off on this connection (for the CSV import,
/// which checks every reference itself inside its write transaction), and on again afterwards,
/// whether `f` succeeded or not. PostgreSQL: runs `f` as is.
///
/// SQLite ignores `PRAGMA foreign_keys` inside a transaction, so `f` must open its own (it
/// is outside one here), and the setting is read back afterwards: should it still be off,
/// this panics rather than return, because the pool drops a connection given back while
/// panicking, and a connection that does not enforce foreign keys must never be lent again.
pub fn without_foreign_key_checks<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let sqlite = matches!(conn, DbConnection::Sqlite(_));
    let result = with_session_setting(conn, sqlite, "PRAGMA foreign_keys = OFF;", "PRAGMA foreign_keys = ON;", f);
    if sqlite {
        assert!(foreign_keys_enforced(conn), "PRAGMA foreign_keys = ON did not take effect; the connection is dropped");
    }
    result
}

/// Whether the connection enforces foreign keys: SQLite's `PRAGMA foreign_keys` (false when
/// it cannot be read); PostgreSQL has no such switch per session.
pub fn foreign_keys_enforced(conn: &mut DbConnection) -> bool {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        foreign_keys: i32,
    }
    match conn {
        DbConnection::Sqlite(c) => {
            diesel::sql_query("PRAGMA foreign_keys").get_result::<Setting>(c).is_ok_and(|s| s.foreign_keys == 1)
        }
        DbConnection::Postgresql(_) => true,
    }
}

/// Runs `f` between `set` and `reset` (session settings), when `applies`; `reset` runs whether
/// `f` succeeded or not.
fn with_session_setting<T, E>(
    conn: &mut DbConnection,
    applies: bool,
    set: &str,
    reset: &str,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    if !applies {
        return f(conn);
    }
    conn.batch_execute(set)?;
    let result = f(conn);
    let restored = conn.batch_execute(reset);
    let value = result?;
    restored?;
    Ok(value)
}

/// Runs `f` with PostgreSQL planning each of its statements for the values bound, never
/// reusing a generic plan. The keyset-paged reads over a period (the invoice run, the usage
/// summary) need it: after five executions of a prepared statement PostgreSQL may switch to a
/// generic plan, and for `id > $1 AND started_at in [$2, $3) ORDER BY id LIMIT $4` it chose the
/// `started_at` index and an on-disk sort of the whole month for every page
/// (docs/performance-findings.md). SQLite: runs `f` as is.
pub fn with_custom_plans<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let postgres = matches!(conn, DbConnection::Postgresql(_));
    with_session_setting(conn, postgres, "SET plan_cache_mode = force_custom_plan", "RESET plan_cache_mode", f)
}

/// Where an invoice run may borrow a second connection (`service::period_read`). The run asks
/// for it only once it holds its customers' locks, so a run queued behind another holds one
/// connection while it waits, not two.
#[derive(Clone, Copy)]
pub struct SecondReader<'a>(Option<&'a Pool>);

impl<'a> SecondReader<'a> {
    /// No second connection: the run reads with its own alone.
    pub const NONE: SecondReader<'static> = SecondReader(None);

    /// A second connection from `pool`, when it has one to spare.
    pub fn from(pool: &'a Pool) -> Self {
        SecondReader(Some(pool))
    }

    /// On PostgreSQL, a connection the pool can lend at once, never one it would wait for, so a
    /// run cannot starve the pool. SQLite: none (it did not pay there; docs/performance-findings.md, finding 25).
    pub fn take(self, conn: &DbConnection) -> Option<PooledConn> {
        match (self.0, conn) {
            (Some(pool), DbConnection::Postgresql(_)) => pool.try_get(),
            _ => None,
        }
    }
}

/// Runs `f` in one write transaction: all of it commits, or none of it.
///
/// On SQLite the write lock is taken at BEGIN (`BEGIN IMMEDIATE`), so concurrent writers queue
/// on the busy timeout instead of failing half-way; on PostgreSQL it is a plain transaction and
/// row locks do the queueing.
///
/// Work registered with [`with_before_commit`] on this thread runs inside the transaction, after
/// `f` succeeded and before the commit (the audit trail's rows of the request).
pub fn write_tx<T, E>(conn: &mut DbConnection, f: impl FnOnce(&mut DbConnection) -> Result<T, E>) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let f = |conn: &mut DbConnection| -> Result<T, E> {
        let value = f(conn)?;
        run_before_commit(conn)?;
        Ok(value)
    };
    match conn {
        DbConnection::Postgresql(_) => conn.transaction(f),
        DbConnection::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
            let result = f(conn);
            let DbConnection::Sqlite(inner) = conn else {
                unreachable!("the connection cannot change backend inside a transaction")
            };
            match result {
                Ok(value) => match AnsiTransactionManager::commit_transaction(inner) {
                    Ok(()) => Ok(value),
                    Err(e) => {
                        let _ = AnsiTransactionManager::rollback_transaction(inner);
                        Err(e.into())
                    }
                },
                Err(e) => {
                    let _ = AnsiTransactionManager::rollback_transaction(inner);
                    Err(e)
                }
            }
        }
    }
}

/// Work for the inside of a write transaction, just before it commits.
pub type BeforeCommit = Box<dyn FnOnce(&mut DbConnection) -> Result<(), diesel::result::Error>>;

thread_local! {
    static BEFORE_COMMIT: std::cell::RefCell<Option<BeforeCommit>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with `hook` registered for the first [`write_tx`] that `f` runs on this thread: the
/// hook runs inside that transaction, so what it writes commits with it or not at all. Returns
/// `f`'s result and whether the hook ran (that is, a write transaction reached its commit).
pub fn with_before_commit<T>(hook: BeforeCommit, f: impl FnOnce() -> T) -> (T, bool) {
    BEFORE_COMMIT.with(|h| *h.borrow_mut() = Some(hook));
    let value = f();
    let unused = BEFORE_COMMIT.with(|h| h.borrow_mut().take());
    (value, unused.is_none())
}

fn run_before_commit(conn: &mut DbConnection) -> Result<(), diesel::result::Error> {
    match BEFORE_COMMIT.with(|h| h.borrow_mut().take()) {
        Some(hook) => hook(conn),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_scheme_chooses_the_backend() {
        let sqlite = |p: &str| Ok(DatabaseUrl::Sqlite(p.to_string()));
        assert_eq!(DatabaseUrl::parse("supportbill.db").map_err(|e| e.to_string()), sqlite("supportbill.db"));
        assert_eq!(DatabaseUrl::parse("/var/lib/sb.db").map_err(|e| e.to_string()), sqlite("/var/lib/sb.db"));
        assert_eq!(DatabaseUrl::parse("sqlite://data/sb.db").map_err(|e| e.to_string()), sqlite("data/sb.db"));
        assert_eq!(DatabaseUrl::parse("sqlite:///abs/sb.db").map_err(|e| e.to_string()), sqlite("/abs/sb.db"));
        assert_eq!(DatabaseUrl::parse("sqlite:sb.db").map_err(|e| e.to_string()), sqlite("sb.db"));
        for pg in ["postgres://u@h/db", "postgresql://u:p@h:5432/db"] {
            assert_eq!(DatabaseUrl::parse(pg).map_err(|e| e.to_string()), Ok(DatabaseUrl::Postgres(pg.to_string())));
        }
        for bad in ["mysql://u@h/db", "", "sqlite://", "http://x"] {
            assert!(DatabaseUrl::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn redacted_urls_hide_the_password() {
        let url = DatabaseUrl::parse("postgres://billing:s3cret@db.internal:5432/sb").unwrap();
        assert_eq!(url.redacted(), "postgres://***@db.internal:5432/sb");
        assert!(!url.redacted().contains("s3cret"));
    }
}
