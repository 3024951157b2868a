//! Test harness: starts the real app (the same `supportbill::startup::start` the binary uses) on
//! 127.0.0.1, port 0, over a fresh database of its own, and talks HTTP to it with `awc`.
//!
//! - SQLite: a new file under the system temp dir, removed (with `-wal`/`-shm`) on drop.
//! - PostgreSQL: only when `SUPPORTBILL_TEST_PG_URL` is set (e.g.
//!   `postgres://postgres@127.0.0.1:5432/postgres`): a new database `sb_test_<unique>` is
//!   created through that URL, and dropped (`WITH (FORCE)`) on drop.
//!
//! Each test has its own database, so tests run in parallel safely.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::dev::ServerHandle;
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::Value;

use supportbill::domain::vocab::Role;
use supportbill::http::ratelimit::RateLimitConfig;
use supportbill::http::AppState;
use supportbill::service::api_keys::{self, NewKey};
use supportbill::service::clock::{Clock, SystemClock};
use supportbill::storage::{self, DatabaseUrl, DbConnection, Pool, PooledConn};

pub const PG_ENV: &str = "SUPPORTBILL_TEST_PG_URL";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs a test body once per backend: `both_backends!(name, |app| { ... })` makes
/// `name::sqlite` and `name::postgres`; `app` is a `&TestApp`. The PostgreSQL variant is
/// skipped (loudly, on stderr) when `SUPPORTBILL_TEST_PG_URL` is not set. Attributes before
/// the name (e.g. `#[ignore = "why"]`) go on both tests.
macro_rules! both_backends {
    ($(#[$meta:meta])* $name:ident, |$app:ident| $body:block) => {
        both_backends!($(#[$meta])* $name, state = |s| s, |$app| $body);
    };
    // `state = |s| ...` adjusts the `AppState` before the server starts (e.g. a low rate limit).
    ($(#[$meta:meta])* $name:ident, state = $configure:expr, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[allow(unused_variables)]
            async fn body($app: &crate::harness::TestApp) $body

            #[actix_rt::test]
            $(#[$meta])*
            async fn sqlite() {
                crate::harness::run_with(crate::harness::Backend::Sqlite, stringify!($name), $configure, |app| async move {
                    body(&app).await;
                    app
                })
                .await;
            }

            #[actix_rt::test]
            $(#[$meta])*
            async fn postgres() {
                crate::harness::run_with(crate::harness::Backend::Postgres, stringify!($name), $configure, |app| async move {
                    body(&app).await;
                    app
                })
                .await;
            }
        }
    };
}

/// Spawns the app, runs `f`, and shuts the server down (kept for callers outside the macro).
#[allow(dead_code)]
pub async fn run<F, Fut>(backend: Backend, name: &str, f: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: std::future::Future<Output = TestApp>,
{
    run_with(backend, name, |s| s, f).await
}

/// Spawns the app (its state adjusted by `configure`), runs `f`, and shuts the server down
/// before the database is removed. (If `f` panics, `TestApp`'s `Drop` still removes the database.)
pub async fn run_with<F, Fut>(backend: Backend, name: &str, configure: fn(AppState) -> AppState, f: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: std::future::Future<Output = TestApp>,
{
    let Some(app) = TestApp::spawn_with(backend, configure).await else {
        // Straight to the stderr handle: libtest captures `eprintln!`, and a skip must be seen.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "*** SKIPPED: {name} on PostgreSQL: {PG_ENV} not set \
             (e.g. {PG_ENV}=postgres://postgres@127.0.0.1:5432/postgres) ***"
        );
        return;
    };
    let app = f(app).await;
    app.shutdown().await;
}

/// A database made for one test, removed on drop.
enum TestDb {
    Sqlite(PathBuf),
    Postgres { base_url: String, name: String },
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match self {
            TestDb::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(PathBuf::from(p));
                }
            }
            TestDb::Postgres { base_url, name } => match PgConnection::establish(base_url) {
                Ok(mut conn) => {
                    let _ = diesel::sql_query(format!(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                    ))
                    .execute(&mut conn);
                    if let Err(e) =
                        diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut conn)
                    {
                        eprintln!("warning: could not drop test database {name}: {e}");
                    }
                }
                Err(e) => eprintln!("warning: could not connect to drop test database {name}: {e}"),
            },
        }
    }
}

fn unique_suffix() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{}_{}_{:08x}", std::process::id(), n, nanos)
}

/// `postgres://user@host:port/db?x=y` with the database name replaced.
fn with_database(base: &str, name: &str) -> String {
    let (base, query) = match base.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (base, None),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let root = match base[authority_start..].find('/') {
        Some(i) => &base[..authority_start + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

/// One HTTP response: status, content type, raw text and (when it parses) the JSON body
/// (`Value::Null` otherwise).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub text: String,
    pub body: Value,
    /// The raw body (PDFs).
    pub bytes: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The `field` of every entry of a problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|es| es.iter().map(|e| e["field"].as_str().unwrap_or("").to_string()).collect())
            .unwrap_or_default()
    }

    /// The `data` array of a list or batch response.
    pub fn data(&self) -> &Vec<Value> {
        self.body["data"].as_array().unwrap_or_else(|| panic!("no data array in {self:?}"))
    }

    /// The `id` of a created resource.
    pub fn id(&self) -> i64 {
        self.body["id"].as_i64().unwrap_or_else(|| panic!("no id in {self:?}"))
    }

    /// Panics with the whole response unless the status is `status`.
    #[track_caller]
    pub fn expect(self, status: u16) -> Resp {
        assert_eq!(self.status, status, "unexpected status; response: {}", self.text);
        self
    }
}

pub struct TestApp {
    #[allow(dead_code)]
    pub backend: Backend,
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    pub admin_token: String,
    /// The test database, as `--database-url` takes it (a SQLite file path or a PostgreSQL URL).
    pub database_url: String,
    pub pool: Pool,
    client: awc::Client,
    handle: ServerHandle,
    // Last: dropped after the pool (field order is drop order).
    _db: TestDb,
}

impl TestApp {
    /// Starts the app on a new database (rate limits off); `None` for PostgreSQL when
    /// `SUPPORTBILL_TEST_PG_URL` is not set.
    #[allow(dead_code)]
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |s| s).await
    }

    /// `spawn`, and `configure` adjusts the app state first (e.g. a low rate limit).
    pub async fn spawn_with(backend: Backend, configure: fn(AppState) -> AppState) -> Option<TestApp> {
        let suffix = unique_suffix();
        let (db, url) = match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("supportbill_test_{suffix}.db"));
                let url = path.to_string_lossy().to_string();
                (TestDb::Sqlite(path), url)
            }
            Backend::Postgres => {
                let base_url = std::env::var(PG_ENV).ok().filter(|u| !u.trim().is_empty())?;
                let name = format!("sb_test_{suffix}");
                let mut conn = PgConnection::establish(&base_url)
                    .unwrap_or_else(|e| panic!("{PG_ENV} is set but PostgreSQL is unreachable: {e}"));
                diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut conn)
                    .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
                let url = with_database(&base_url, &name);
                (TestDb::Postgres { base_url, name }, url)
            }
        };
        let parsed = DatabaseUrl::parse(&url).expect("test database URL parses");
        assert_eq!(parsed.is_sqlite(), backend == Backend::Sqlite, "URL {url} chose the wrong backend");
        let pool = storage::connect(&parsed, 8).expect("connect and migrate the test database");

        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let (_, admin_token) = api_keys::create(
            &mut pool.get().expect("connection"),
            NewKey { name: "test-admin".into(), role: Role::Admin, customer_id: None },
            clock.now(),
        )
        .expect("create the admin key");

        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a random port");
        let port = listener.local_addr().expect("local addr").port();
        // Rate limits off unless a test turns them on: tests fire requests far faster than any
        // client would (the limiter itself is tested in `ratelimit`).
        let unlimited = RateLimitConfig { per_second: 0, burst: 0 };
        let state = configure(AppState::new(pool.clone(), clock).with_rate_limit(unlimited));
        let server = supportbill::startup::start(listener, state).expect("start the server");
        let handle = server.handle();
        actix_rt::spawn(server);

        let client = awc::Client::builder().timeout(Duration::from_secs(120)).finish();
        Some(TestApp {
            backend,
            base_url: format!("http://127.0.0.1:{port}"),
            admin_token,
            database_url: url,
            pool,
            client,
            handle,
            _db: db,
        })
    }

    /// Stops the server (not gracefully: the client's keep-alive connections would hold a
    /// graceful stop for its whole timeout), then drops the database.
    pub async fn shutdown(self) {
        self.handle.stop(false).await;
        drop(self);
    }

    /// A pooled connection for calling services or diesel directly (`&mut *conn`).
    pub fn conn(&self) -> TestConn {
        TestConn(self.pool.get().expect("pooled connection"))
    }

    /// Creates an API key directly through the service and returns its token.
    pub fn make_key(&self, role: Role, customer_id: Option<i64>) -> String {
        let mut conn = self.conn();
        let conn: &mut DbConnection = &mut conn;
        let now = SystemClock.now();
        let (_, token) =
            api_keys::create(conn, NewKey { name: format!("test-{}", role.as_str()), role, customer_id }, now)
                .expect("create key");
        token
    }

    /// Sends any request. `token: None` sends no Authorization header.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Resp {
        self.send_with(method, path, token, None, content_type, body).await
    }

    /// `send`, with a verbatim `Authorization` header instead of a bearer token if given.
    pub async fn send_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        authorization: Option<&str>,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Resp {
        self.send_headers(method, path, token, authorization, content_type, &[], body).await
    }

    /// GET as admin with extra request headers (`Accept`, `If-None-Match`, ...).
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        self.send_headers("GET", path, Some(&self.admin_token), None, None, headers, None).await
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn send_headers(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        authorization: Option<&str>,
        content_type: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Resp {
        let method = actix_web::http::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method.clone(), format!("{}{}", self.base_url, path));
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        if let Some(t) = token {
            req = req.insert_header(("Authorization", format!("Bearer {t}")));
        }
        if let Some(a) = authorization {
            req = req.insert_header(("Authorization", a.to_string()));
        }
        if let Some(ct) = content_type {
            req = req.insert_header(("Content-Type", ct));
        }
        let sent = match body {
            Some(b) => req.send_body(b).await,
            None => req.send().await,
        };
        let mut res = sent.unwrap_or_else(|e| panic!("{method} {path}: request failed: {e}"));
        let status = res.status().as_u16();
        let headers: Vec<(String, String)> =
            res.headers().iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())).collect();
        let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let bytes = res.body().limit(256 * 1024 * 1024).await.expect("read response body");
        let text = String::from_utf8_lossy(&bytes).to_string();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp { status, content_type, headers, text, body, bytes: bytes.to_vec() }
    }

    /// GET with a verbatim `Authorization` header value.
    pub async fn get_with_authorization(&self, path: &str, authorization: &str) -> Resp {
        self.send_with("GET", path, None, Some(authorization), None, None).await
    }

    // Shorthands, as the admin key.

    pub async fn get(&self, path: &str) -> Resp {
        self.send("GET", path, Some(&self.admin_token), None, None).await
    }

    pub async fn get_as(&self, token: &str, path: &str) -> Resp {
        self.send("GET", path, Some(token), None, None).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Resp {
        self.post_json_as(&self.admin_token, path, body).await
    }

    pub async fn post_json_as(&self, token: &str, path: &str, body: &Value) -> Resp {
        self.send("POST", path, Some(token), Some("application/json"), Some(body.to_string().into_bytes())).await
    }

    /// POSTs `raw` verbatim as `application/json` (for malformed JSON and exact number literals).
    pub async fn post_raw_json(&self, path: &str, raw: &str) -> Resp {
        self.send("POST", path, Some(&self.admin_token), Some("application/json"), Some(raw.as_bytes().to_vec())).await
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> Resp {
        self.send("PUT", path, Some(&self.admin_token), Some("application/json"), Some(body.to_string().into_bytes()))
            .await
    }

    pub async fn patch_json(&self, path: &str, body: &Value) -> Resp {
        self.send("PATCH", path, Some(&self.admin_token), Some("application/json"), Some(body.to_string().into_bytes()))
            .await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send("DELETE", path, Some(&self.admin_token), None, None).await
    }

    pub async fn post_csv(&self, path: &str, csv: &str) -> Resp {
        self.send("POST", path, Some(&self.admin_token), Some("text/csv"), Some(csv.as_bytes().to_vec())).await
    }

    /// Every item of a paged list, following `next_cursor` (pages of `limit`).
    pub async fn list_all(&self, path: &str, limit: u32) -> Vec<Value> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10_000 {
            let url = match &cursor {
                None => format!("{path}{sep}limit={limit}"),
                Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
            };
            let page = self.get(&url).await.expect(200);
            out.extend(page.data().iter().cloned());
            match page.body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return out,
            }
        }
        panic!("{path}: pagination did not end");
    }
}

/// Asserts an RFC 9457 problem: status, `application/problem+json`, `status`, `title`,
/// `detail` and the stable `code`.
#[track_caller]
pub fn assert_problem(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status, status, "status; response: {}", r.text);
    assert!(
        r.content_type.starts_with("application/problem+json"),
        "content-type {:?} is not application/problem+json; response: {}",
        r.content_type,
        r.text
    );
    assert_eq!(r.body["status"].as_u64(), Some(status as u64), "problem.status; response: {}", r.text);
    assert_eq!(r.body["code"].as_str(), Some(code), "problem.code; response: {}", r.text);
    assert!(r.body["title"].as_str().is_some_and(|t| !t.is_empty()), "problem.title; response: {}", r.text);
    assert!(r.body["detail"].as_str().is_some(), "problem.detail; response: {}", r.text);
}

/// Asserts a 422 `invalid_input` problem whose `errors` name `field`.
#[track_caller]
pub fn assert_invalid(r: &Resp, field: &str) {
    assert_problem(r, 422, "invalid_input");
    assert!(
        r.error_fields().iter().any(|f| f == field),
        "expected an error on field {field:?}, got {:?}; response: {}",
        r.error_fields(),
        r.text
    );
}

/// A pooled connection that derefs straight to the [`DbConnection`], so that `&mut *conn` can
/// be handed to diesel (the pool's own connection type wraps it, see `storage::TrackedConnection`).
pub struct TestConn(pub PooledConn);

impl std::ops::Deref for TestConn {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.0
    }
}

impl std::ops::DerefMut for TestConn {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.0
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_is_replaced_in_the_url() {
        assert_eq!(with_database("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgres://u@h:5432", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgresql://u:p@h/db?sslmode=disable", "x"), "postgresql://u:p@h/x?sslmode=disable");
    }
}
