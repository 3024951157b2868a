//! Operations: request ids (header, problem bodies) and `/metrics`.

use serde_json::json;

use crate::fixtures;
use crate::harness::{assert_problem, Backend, TestApp};

/// The value of the metric line that starts with `series` (name and labels), 0 if absent.
async fn metric(app: &TestApp, series: &str) -> f64 {
    let r = app.send("GET", "/metrics", None, None, None).await.expect(200);
    assert!(r.content_type.starts_with("text/plain"), "{}", r.content_type);
    r.text
        .lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map(|v| v.parse().expect("a number"))
        .unwrap_or(0.0)
}

both_backends!(a_sane_request_id_is_echoed_else_one_is_made, |app| {
    let r = app.get_with("/api/v1/customers", &[("X-Request-Id", "trace-42.a:b/c_d")]).await.expect(200);
    assert_eq!(r.header("x-request-id"), Some("trace-42.a:b/c_d"));
    for bad in ["has space", &"x".repeat(129), "quote\"d"] {
        let r = app.get_with("/api/v1/customers", &[("X-Request-Id", bad)]).await.expect(200);
        let id = r.header("x-request-id").expect("an id");
        assert_ne!(id, bad);
        assert_eq!(id.len(), 32, "a generated id: {id}");
    }
    let a = app.get("/healthz").await;
    let b = app.get("/healthz").await;
    assert_ne!(a.header("x-request-id"), b.header("x-request-id"), "a new id per request");
});

both_backends!(problems_carry_the_request_id, |app| {
    // From a handler, from authentication, and from the fallback route.
    let r = app.get_with("/api/v1/customers/999999", &[("X-Request-Id", "req-404")]).await;
    assert_problem(&r, 404, "not_found");
    assert_eq!(r.body["request_id"], "req-404");
    let r = app.send_headers("GET", "/api/v1/customers", None, None, None, &[("X-Request-Id", "req-401")], None).await;
    assert_problem(&r, 401, "unauthorized");
    assert_eq!(r.body["request_id"], "req-401");
    assert_eq!(r.header("x-request-id"), Some("req-401"));
    let r = app.get("/no/such/route").await;
    assert_problem(&r, 404, "not_found");
    assert_eq!(r.body["request_id"].as_str(), r.header("x-request-id"));
});

both_backends!(metrics_count_requests_latency_and_documents, |app| {
    let series = r#"supportbill_http_requests_total{method="GET",route="/api/v1/customers",status="2xx"}"#;
    let before = metric(app, series).await;
    let latency_before = metric(app, "supportbill_http_request_duration_seconds_count").await;
    app.get("/api/v1/customers").await.expect(200);
    app.get("/api/v1/customers").await.expect(200);
    assert_eq!(metric(app, series).await, before + 2.0);
    assert!(metric(app, "supportbill_http_request_duration_seconds_count").await >= latency_before + 2.0);
    let not_found = r#"supportbill_http_requests_total{method="GET",route="/api/v1/customers/{id}",status="4xx"}"#;
    app.get("/api/v1/customers/999999").await;
    assert_eq!(metric(app, not_found).await, 1.0);

    let (customer, _, sub) = fixtures::billing_setup(app).await;
    app.post_json("/api/v1/time-entries", &fixtures::entry(sub, 60)).await.expect(201);
    let inv = app
        .post_json("/api/v1/invoices", &json!({"customer_id": customer, "period_start": "2026-10-01", "period_end": "2026-11-01"}))
        .await
        .expect(201)
        .id();
    assert_eq!(metric(app, "supportbill_invoices_issued_total").await, 0.0);
    app.post_json(&format!("/api/v1/invoices/{inv}/issue"), &json!({})).await.expect(200);
    assert_eq!(metric(app, "supportbill_invoices_issued_total").await, 1.0);
    app.post_json(&format!("/api/v1/invoices/{inv}/credit-notes"), &json!({"reason": "goodwill"})).await.expect(201);
    assert_eq!(metric(app, "supportbill_credit_notes_issued_total").await, 1.0);
    assert_eq!(metric(app, "supportbill_http_errors_total").await, 0.0);
    // SQLite's own memory, as a gauge (the SQLite test databases are open in this process;
    // on PostgreSQL the test process may still hold SQLite databases of other tests).
    let sqlite_bytes = metric(app, "supportbill_sqlite_memory_bytes").await;
    if matches!(app.backend, Backend::Sqlite) {
        assert!(sqlite_bytes > 0.0, "SQLite holds some memory while its database is open");
    }
});
