//! Issue numbers across several server processes on one PostgreSQL database (SPEC section 3):
//! two real `supportbill serve` processes issue drafts at the same time, and the numbers come
//! out gapless and distinct, and so do credit-note numbers. PostgreSQL only (SQLite is one
//! process by design).

use std::process::Command;
use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::{json, Value};

use crate::harness::PG_ENV;
use crate::server_process::serve;

/// Drops the test's database when the test ends, passed or failed. Declared before the
/// servers, so it is dropped after them (and `WITH (FORCE)` ends any connection left).
struct TestDatabase {
    base_url: String,
    name: String,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.base_url) {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name))
                .execute(&mut admin);
        }
    }
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_supportbill")
}

async fn call(client: &awc::Client, token: &str, method: &str, url: String, body: Option<Value>) -> (u16, Value) {
    let req = match method {
        "GET" => client.get(url),
        _ => client.post(url),
    }
    .insert_header(("Authorization", format!("Bearer {token}")));
    let mut resp = match body {
        Some(b) => req.send_json(&b).await,
        None => req.send().await,
    }
    .expect("request");
    let bytes = resp.body().limit(16 << 20).await.expect("body");
    (resp.status().as_u16(), serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[actix_rt::test]
async fn two_processes_issue_gapless_numbers() {
    let Some(base_url) = std::env::var(PG_ENV).ok().filter(|u| !u.trim().is_empty()) else {
        eprintln!("\n*** SKIPPED: two_processes_issue_gapless_numbers: {PG_ENV} not set ***\n");
        return;
    };
    let name = format!("sb_test_mp_{}", std::process::id());
    let mut admin = PgConnection::establish(&base_url).expect("PostgreSQL reachable");
    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut admin).unwrap();
    diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut admin).unwrap();
    let _database = TestDatabase { base_url: base_url.clone(), name: name.clone() };
    let root = &base_url[..base_url.rfind('/').expect("URL with a database")];
    let url = format!("{root}/{name}");

    let out = Command::new(bin()).args(["--database-url", &url, "migrate"]).output().unwrap();
    assert!(out.status.success(), "migrate: {}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(bin())
        .args(["--database-url", &url, "create-key", "--role", "finance", "--name", "mp"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(token.starts_with("sb_"), "create-key prints only the token, got {token:?}");

    let (a, b) = (serve(&url), serve(&url));
    let client = awc::Client::builder().timeout(Duration::from_secs(120)).finish();
    let (status, plan) = call(
        &client,
        &token,
        "POST",
        format!("{}/api/v1/plans", a.base),
        Some(json!({
        "name": "Hourly", "currency": "EUR", "billing_model": "hourly", "hourly_rate": "100.00",
        "hours_of_service": {"timezone": "UTC", "days": ["mon"], "start": "09:00", "end": "17:00"}})),
    )
    .await;
    assert_eq!(status, 201, "{plan}");
    const N: usize = 16;
    for i in 0..N {
        let (_, c) = call(&client, &token, "POST", format!("{}/api/v1/customers", a.base), Some(json!({
            "name": format!("Customer {i}"), "currency": "EUR", "tax_rate_percent": "19", "country": "DE", "email": "a@b.example"}))).await;
        let (_, s) = call(
            &client,
            &token,
            "POST",
            format!("{}/api/v1/subscriptions", b.base),
            Some(json!({
            "customer_id": c["id"], "plan_id": plan["id"], "start_date": "2026-01-01", "product": "azure", "name": "Azure plan"})),
        )
        .await;
        let (st, _) = call(&client, &token, "POST", format!("{}/api/v1/time-entries", a.base), Some(json!({
            "subscription_id": s["id"], "agent": "x", "started_at": "2026-10-05T10:00:00Z", "minutes": 30, "category": "technical"}))).await;
        assert_eq!(st, 201);
    }
    // Both processes run the same invoice run at once: each customer is drafted exactly once.
    let period = json!({"period_start": "2026-10-01", "period_end": "2026-11-01"});
    let (ra, rb) = futures_util::future::join(
        call(&client, &token, "POST", format!("{}/api/v1/invoices/run", a.base), Some(period.clone())),
        call(&client, &token, "POST", format!("{}/api/v1/invoices/run", b.base), Some(period.clone())),
    )
    .await;
    let mut ids: Vec<i64> = Vec::new();
    for (status, body) in [ra, rb] {
        assert!(status == 201 || status == 409, "run: {status} {body}");
        if status == 201 {
            ids.extend(body["data"].as_array().unwrap().iter().map(|d| d["id"].as_i64().unwrap()));
        }
    }
    ids.sort_unstable();
    assert_eq!(ids.len(), N, "one draft per customer across both runs");

    // Issue every draft, alternating processes, all at once.
    let calls = ids.iter().enumerate().map(|(i, id)| {
        let base = if i % 2 == 0 { &a.base } else { &b.base };
        call(&client, &token, "POST", format!("{base}/api/v1/invoices/{id}/issue"), None)
    });
    let results = futures_util::future::join_all(calls).await;
    let mut numbers: Vec<String> = results
        .into_iter()
        .map(|(status, body)| {
            assert_eq!(status, 200, "{body}");
            body["number"].as_str().unwrap().to_string()
        })
        .collect();
    numbers.sort();
    let expected: Vec<String> = (1..=N).map(|n| format!("INV-{n:06}")).collect();
    assert_eq!(numbers, expected);

    // Credit every invoice in full, alternating processes, all at once: the credit-note series
    // is gapless too (SPEC 6).
    let calls = ids.iter().enumerate().map(|(i, id)| {
        let base = if i % 2 == 0 { &b.base } else { &a.base };
        call(
            &client,
            &token,
            "POST",
            format!("{base}/api/v1/invoices/{id}/credit-notes"),
            Some(json!({"reason": "Re-billed"})),
        )
    });
    let mut credit_numbers: Vec<String> = futures_util::future::join_all(calls)
        .await
        .into_iter()
        .map(|(status, body)| {
            assert_eq!(status, 201, "{body}");
            body["number"].as_str().unwrap().to_string()
        })
        .collect();
    credit_numbers.sort();
    assert_eq!(credit_numbers, (1..=N).map(|n| format!("CN-{n:06}")).collect::<Vec<_>>());

    // The billing invariants hold after all that (numbers, claims, subtotals).
    let pool = supportbill::storage::connect(&supportbill::storage::DatabaseUrl::parse(&url).unwrap(), 1).unwrap();
    crate::invariants::check(&mut pool.get().unwrap());
    drop(pool);

    drop((a, b));
}
