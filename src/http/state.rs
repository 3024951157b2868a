//! What every handler can reach, and how handlers run database work off the async threads.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;

use crate::error::AppError;
use crate::http::{audit, auth_cache, metrics, ratelimit};
use crate::service::clock::Clock;
use crate::storage::{DbConnection, FailureKind, Pool, PooledConn, POOL_WAIT};

/// How long `/healthz` waits for a connection: shorter than a request's wait ([`POOL_WAIT`]),
/// because a probe gives up after a few seconds of its own.
pub const HEALTH_WAIT: Duration = Duration::from_secs(2);

/// How long a request waits for a connection while the database is known to be unavailable.
pub const OUTAGE_WAIT: Duration = Duration::from_secs(1);

/// Whether the last request found the database unavailable. While it is, requests wait only
/// [`OUTAGE_WAIT`] for a connection, not the pool's whole wait: an outage then costs each client
/// a second, and does not hold a blocking thread per request for seconds. The first request
/// that reaches the database ends it.
#[derive(Default)]
pub struct Outage(AtomicBool);

impl Outage {
    fn wait(&self, at_most: Duration) -> Duration {
        if self.0.load(Ordering::Relaxed) {
            at_most.min(OUTAGE_WAIT)
        } else {
            at_most
        }
    }

    /// After database work: a failure to reach the database begins an outage, anything else
    /// that had a connection ends it.
    fn note(&self, failure: Option<FailureKind>) {
        self.0.store(failure == Some(FailureKind::Unavailable), Ordering::Relaxed);
    }
}

/// What [`AppState`] needs beside the pool to lend connections: where failures are counted and
/// whether an outage is on.
#[derive(Clone)]
struct Watch {
    metrics: Arc<metrics::Metrics>,
    outage: Arc<Outage>,
}

impl Watch {
    /// A pooled connection within `at_most` (less during an outage).
    fn lend(&self, pool: &Pool, at_most: Duration) -> Result<PooledConn, AppError> {
        pool.get_timeout(self.outage.wait(at_most)).map_err(|e| self.failed(None, e.into()))
    }

    /// Counts a database failure, tells the connection it happened on (which may then not be
    /// lent again), and notes an outage; returns the error as it was.
    fn failed(&self, conn: Option<&mut PooledConn>, e: AppError) -> AppError {
        if let AppError::Storage(failure) = &e {
            let kind = failure.kind();
            self.metrics.database_error(kind);
            self.outage.note(Some(kind));
            if let Some(conn) = conn {
                conn.note_failure(failure);
            }
        } else if conn.is_some() {
            self.outage.note(None);
        }
        e
    }

    /// The result of work done on a connection: failures as in [`Watch::failed`]; success ends
    /// an outage.
    fn done<T>(&self, conn: &mut PooledConn, result: Result<T, AppError>) -> Result<T, AppError> {
        match result {
            Ok(value) => {
                self.outage.note(None);
                Ok(value)
            }
            Err(e) => Err(self.failed(Some(conn), e)),
        }
    }
}

/// How long a request's body may take by default (`serve --body-timeout-seconds`).
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// What every handler can reach: the connection pool, the clock, and the rate limits.
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub clock: Arc<dyn Clock>,
    pub limits: Arc<ratelimit::RateLimits>,
    pub metrics: Arc<metrics::Metrics>,
    pub auth_cache: Arc<auth_cache::AuthCache>,
    /// How long a request's body may take to arrive once its head has (`http::body_deadline`).
    pub body_timeout: Duration,
    /// The pool's database runs in this process (decides where short reads run).
    in_process: bool,
    watch: Watch,
}

impl AppState {
    /// With the default (generous) rate limits.
    pub fn new(pool: Pool, clock: Arc<dyn Clock>) -> AppState {
        let metrics = Arc::new(metrics::Metrics::default());
        AppState {
            pool: pool.clone(),
            clock,
            limits: Arc::new(ratelimit::RateLimits::new(ratelimit::RateLimitConfig::default())),
            metrics: metrics.clone(),
            auth_cache: Arc::new(auth_cache::AuthCache::default()),
            body_timeout: DEFAULT_BODY_TIMEOUT,
            in_process: pool.get().is_ok_and(|conn| conn.is_in_process()),
            watch: Watch { metrics, outage: Arc::new(Outage::default()) },
        }
    }

    pub fn with_rate_limit(mut self, config: ratelimit::RateLimitConfig) -> AppState {
        self.limits = Arc::new(ratelimit::RateLimits::new(config));
        self
    }

    pub fn with_body_timeout(mut self, timeout: Duration) -> AppState {
        self.body_timeout = timeout;
        self
    }

    /// A short read by key, such as one invoice: on SQLite, when a pooled connection is free at
    /// once, it runs on this thread instead of the blocking pool. Handing work to the pool and
    /// back costs two thread switches, more than reading a row from SQLite's cache
    /// (BENCHMARKS.md, "GET invoice"). Only for point reads: the worker thread serves nothing
    /// else meanwhile. PostgreSQL (a network round trip each query), a busy pool and a request
    /// with audit rows go through [`AppState::run`]. The cached caller's key is confirmed first,
    /// as there.
    pub async fn run_read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        if audit::pending_rows().is_none() {
            if let Some(mut conn) = self.pool.try_get() {
                if conn.is_in_process() {
                    let result = confirm_then(&mut conn, auth_cache::pending_key(), f);
                    return self.watch.done(&mut conn, result);
                }
            }
        }
        self.run(f).await
    }

    /// [`AppState::run_read`] for a read that can confirm the cached caller's key in its own
    /// statement: on PostgreSQL, `f` gets the key to confirm and must answer `Unauthorized`
    /// when it is revoked, and anything else only once it found the key live. That saves a
    /// round trip per request. On SQLite the key is confirmed as in `run_read` (a second
    /// statement there costs no round trip) and `f` gets `None`.
    pub async fn run_read_confirming_key<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection, Option<i64>) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let Some(pending) = auth_cache::pending_key() else { return self.run_read(move |conn| f(conn, None)).await };
        if self.in_process || audit::pending_rows().is_some() {
            return self.run_read(move |conn| f(conn, None)).await;
        }
        let pool = self.pool.clone();
        let key_id = pending.key_id;
        let watch = self.watch.clone();
        let result = web::block(move || {
            let mut conn = watch.lend(&pool, POOL_WAIT)?;
            let result = f(&mut conn, Some(key_id));
            watch.done(&mut conn, result)
        })
        .await
        .map_err(|e| AppError::Internal(format!("blocking task failed: {e}")))?;
        match &result {
            Err(AppError::Unauthorized) => pending.settle(false),
            Ok(_) | Err(AppError::NotFound { .. }) => pending.settle(true),
            // Failed before it could tell: the authentication middleware checks the key itself.
            Err(_) => {}
        }
        result
    }

    /// Whether the database answers, for `/healthz`: a connection within [`HEALTH_WAIT`] and a
    /// `SELECT 1` on it; 503 when not.
    pub async fn ping(&self) -> Result<(), AppError> {
        use diesel::connection::SimpleConnection;
        let pool = self.pool.clone();
        let watch = self.watch.clone();
        web::block(move || {
            let mut conn = watch.lend(&pool, HEALTH_WAIT)?;
            let result = conn.batch_execute("SELECT 1").map_err(AppError::from);
            watch.done(&mut conn, result)
        })
        .await
        .map_err(|e| AppError::Internal(format!("blocking task failed: {e}")))?
    }

    /// Runs blocking database work on actix's thread pool with a pooled connection. When the
    /// request's caller came from the authentication cache and its key has not been confirmed
    /// live yet, that check runs first, on the same connection (see [`auth_cache`]): a revoked
    /// key gets 401 and `f` does not run. A write request's audit rows ([`audit`]) are written
    /// inside the first write transaction `f` commits.
    pub async fn run<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let watch = self.watch.clone();
        let pending = auth_cache::pending_key();
        let key_to_check = pending.as_ref().map(|p| p.key_id);
        let (audit, audit_rows) = audit::pending_rows().unzip();
        let (live, result, audit_ids) = web::block(move || {
            let mut conn = match watch.lend(&pool, POOL_WAIT) {
                Ok(conn) => conn,
                Err(e) => return (None, Err(e), None),
            };
            let (live, result, ids) = run_on(&mut conn, key_to_check, audit_rows, f);
            (live, watch.done(&mut conn, result), ids)
        })
        .await
        .map_err(|e| AppError::Internal(format!("blocking task failed: {e}")))?;
        if let (Some(p), Some(live)) = (pending, live) {
            p.settle(live);
        }
        if let (Some(audit), Some(ids)) = (audit, audit_ids) {
            audit.written(ids);
        }
        result
    }
}

/// The body of [`AppState::run`] on its connection: the cached caller's key confirmed first,
/// then `f`, with the request's audit rows handed to its first write transaction. Returns
/// whether the key was found live (when it was checked), `f`'s result, and the audit rows' ids.
#[allow(clippy::type_complexity)]
fn run_on<T, F>(
    conn: &mut DbConnection,
    key_to_check: Option<i64>,
    audit_rows: Option<Vec<crate::service::audit::NewAuditEntry>>,
    f: F,
) -> (Option<bool>, Result<T, AppError>, Option<Vec<i64>>)
where
    F: FnOnce(&mut DbConnection) -> Result<T, AppError>,
{
    if let Some(key_id) = key_to_check {
        match crate::service::auth::is_live(conn, key_id) {
            Ok(true) => {}
            Ok(false) => return (Some(false), Err(AppError::Unauthorized), None),
            Err(e) => return (None, Err(e), None),
        }
    }
    let live = key_to_check.map(|_| true);
    let Some(rows) = audit_rows else { return (live, f(conn), None) };
    // The request's audit rows go into its first write transaction, before the commit.
    let ids = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = ids.clone();
    let hook: crate::storage::BeforeCommit = Box::new(move |conn| {
        let written = crate::service::audit::insert_returning_ids(conn, &rows)?;
        if let Ok(mut sink) = sink.lock() {
            *sink = written;
        }
        Ok(())
    });
    let (result, ran) = crate::storage::with_before_commit(hook, || f(conn));
    let ids = ran.then(|| ids.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default());
    (live, result, ids)
}

/// [`AppState::run_read`]'s short path: the pending key check, then `f`, on one connection.
fn confirm_then<T>(
    conn: &mut DbConnection,
    pending: Option<auth_cache::PendingCheck>,
    f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
) -> Result<T, AppError> {
    if let Some(pending) = pending {
        let live = crate::service::auth::is_live(conn, pending.key_id)?;
        pending.settle(live);
        if !live {
            return Err(AppError::Unauthorized);
        }
    }
    f(conn)
}
