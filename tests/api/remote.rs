//! Talking to `supportbill serve` processes and setting up their databases, for the tests
//! that run the real binary (outages, several processes, restores): an HTTP client that times
//! each call and never panics on a failed one, the CLI's `migrate` and `create-key`, and a
//! PostgreSQL database of the test's own on the shared server, dropped when the test ends.

use std::process::Command;
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::{json, Value};

/// One answer: status (0 when the request itself failed), headers, body, and how long it took.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<String>,
    pub content_type: String,
    pub body: Vec<u8>,
    pub started: Instant,
    pub elapsed: Duration,
    /// Why the request failed without an answer (status 0).
    pub failure: Option<String>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A 503 as the service answers a database it cannot use: problem+json, `Retry-After`, and
    /// one of the database codes.
    pub fn is_database_503(&self) -> bool {
        let code = self.json()["code"].as_str().unwrap_or("").to_string();
        self.status == 503
            && self.content_type.starts_with("application/problem+json")
            && self.retry_after.as_deref().is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n >= 1))
            && ["database_unavailable", "database_read_only", "database_full", "database_busy"].contains(&code.as_str())
    }
}

/// An HTTP client for one server, as one API key.
#[derive(Clone)]
pub struct Remote {
    pub base: String,
    pub token: String,
    client: awc::Client,
}

impl Remote {
    pub fn new(base: &str, token: &str) -> Remote {
        // Generous: a request that hangs shows up as a long `elapsed`, not as a client timeout.
        let client = awc::Client::builder().timeout(Duration::from_secs(120)).finish();
        Remote { base: base.to_string(), token: token.to_string(), client }
    }

    /// The same client as another key.
    pub fn as_key(&self, token: &str) -> Remote {
        Remote { token: token.to_string(), ..self.clone() }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, None, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send("POST", path, Some("application/json"), Some(body.to_string().into_bytes())).await
    }

    pub async fn post_csv(&self, path: &str, csv: String) -> Reply {
        self.send("POST", path, Some("text/csv"), Some(csv.into_bytes())).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send("DELETE", path, None, None).await
    }

    pub async fn send(&self, method: &str, path: &str, content_type: Option<&str>, body: Option<Vec<u8>>) -> Reply {
        let method = actix_web::http::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .insert_header(("Authorization", format!("Bearer {}", self.token)));
        if let Some(ct) = content_type {
            req = req.insert_header(("Content-Type", ct));
        }
        let started = Instant::now();
        let sent = match body {
            Some(b) => req.send_body(b).await,
            None => req.send().await,
        };
        let mut res = match sent {
            Ok(res) => res,
            Err(e) => return failed(started, e.to_string()),
        };
        let header = |name: &str| res.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let (retry_after, content_type) = (header("retry-after"), header("content-type").unwrap_or_default());
        let status = res.status().as_u16();
        match res.body().limit(64 << 20).await {
            Ok(body) => Reply {
                status,
                retry_after,
                content_type,
                body: body.to_vec(),
                started,
                elapsed: started.elapsed(),
                failure: None,
            },
            Err(e) => failed(started, e.to_string()),
        }
    }

    /// POSTs and insists on 201; the created resource.
    pub async fn create(&self, path: &str, body: &Value) -> Value {
        let r = self.post(path, body).await;
        assert_eq!(r.status, 201, "POST {path} {body}: {}", r.text());
        r.json()
    }

    /// A customer, an hourly plan and a subscription: `(customer, plan, subscription)` ids.
    pub async fn billing_setup(&self, name: &str) -> (i64, i64, i64) {
        let customer = self.create("/api/v1/customers", &crate::fixtures::customer_named(name)).await["id"].as_i64();
        let plan = self.create("/api/v1/plans", &crate::fixtures::standard_plan()).await["id"].as_i64();
        let sub = self
            .create(
                "/api/v1/subscriptions",
                &json!({"customer_id": customer, "plan_id": plan, "start_date": "2026-01-01", "product": "azure", "name": "Azure plan"}),
            )
            .await["id"]
            .as_i64();
        (customer.expect("customer id"), plan.expect("plan id"), sub.expect("subscription id"))
    }
}

fn failed(started: Instant, why: String) -> Reply {
    Reply {
        status: 0,
        retry_after: None,
        content_type: String::new(),
        body: Vec::new(),
        started,
        elapsed: started.elapsed(),
        failure: Some(why),
    }
}

/// `supportbill --database-url URL ARGS...`; panics unless it succeeds; its stdout.
pub fn cli(url: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_supportbill"))
        .args(["--database-url", url])
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run supportbill");
    assert!(out.status.success(), "supportbill {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Migrates the database at `url` and creates a key with `role`: its token.
pub fn migrate_and_key(url: &str, role: &str) -> String {
    cli(url, &["migrate"]);
    let token = cli(url, &["create-key", "--role", role, "--name", "process test"]).trim().to_string();
    assert!(token.starts_with("sb_"), "create-key prints only the token, got {token:?}");
    token
}

/// A database of the test's own on a PostgreSQL server, dropped (with its connections) when
/// this is dropped. Declare it before the servers that use it, so it is dropped after them.
pub struct PgDatabase {
    admin_url: String,
    pub name: String,
    /// The database's own URL.
    pub url: String,
}

impl PgDatabase {
    /// Creates `name` (dropping a leftover of that name first) through `admin_url`, a URL of
    /// any database on the server.
    pub fn create(admin_url: &str, name: &str) -> PgDatabase {
        let mut admin = PgConnection::establish(admin_url).expect("PostgreSQL reachable");
        diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut admin).unwrap();
        diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut admin).unwrap();
        PgDatabase { admin_url: admin_url.to_string(), name: name.to_string(), url: with_database(admin_url, name) }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name))
                .execute(&mut admin);
        }
    }
}

/// `postgres://user@host:port/db?x` with the database `name` instead.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let root = base[authority..].find('/').map_or(base, |i| &base[..authority + i]);
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

/// Writes a line straight to the process's stderr (libtest captures `eprintln!`): skips and
/// measurements must be seen.
pub fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}
