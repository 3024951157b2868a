//! SPEC 4: "Bad input never panics, never writes half, and never answers 500." Odd input at
//! the edges of every parser, control characters, amounts at the limit of exact decimals,
//! concurrent writers; and the OpenAPI document lists every route.
//!
//! Each test here once reproduced a bug; they now guard against its return.

use serde_json::{json, Value};

use supportbill::domain::vocab::Role;

use crate::fixtures::*;
use crate::harness::*;

/// POSTs `body` verbatim as JSON, as the admin.
async fn raw(app: &TestApp, path: &str, body: &[u8]) -> Resp {
    app.send("POST", path, Some(&app.admin_token), Some("application/json"), Some(body.to_vec())).await
}

/// Asserts a problem response that is the client's fault (4xx), never a 5xx.
#[track_caller]
fn assert_client_error(label: &str, r: &Resp, status: u16) {
    assert_eq!(r.status, status, "{label}: {}", r.text);
    assert!(r.content_type.starts_with("application/problem+json"), "{label}: {}", r.content_type);
}

both_backends!(odd_input_is_a_4xx_never_a_500, |app| {
    let (_, _, sub) = billing_setup(app).await;
    let admin = app.admin_token.clone();
    let entry_with = |field: &str, literal: &str| {
        format!(
            r#"{{"subscription_id": {sub}, "agent": "a", "started_at": "2026-10-05T08:00:00Z", "minutes": 30, "category": "technical", "{field}": {literal}}}"#
        )
    };

    // Paths and query strings.
    // An id that cannot exist is simply not found.
    assert_client_error("id beyond i64", &app.get("/api/v1/customers/99999999999999999999").await, 404);
    assert_client_error("negative id", &app.get("/api/v1/customers/-1").await, 404);
    assert_client_error("limit=abc", &app.get("/api/v1/customers?limit=abc").await, 422);
    assert_client_error("limit=-1", &app.get("/api/v1/customers?limit=-1").await, 422);
    assert_client_error("cursor overflow", &app.get("/api/v1/customers?cursor=czzzzzzzzzzzzzzzzzzzzz").await, 422);
    assert_client_error("customer_id=abc", &app.get("/api/v1/subscriptions?customer_id=abc").await, 422);
    assert_client_error("from not a timestamp", &app.get("/api/v1/time-entries?from=yesterday").await, 422);

    // JSON bodies: wrong types, unknown and duplicate fields, huge numbers, bad UTF-8.
    let r =
        raw(app, "/api/v1/time-entries", entry_with("minutes", "30.0").replace(r#""minutes": 30, "#, "").as_bytes())
            .await;
    assert_invalid(&r, "minutes");
    let r = raw(app, "/api/v1/time-entries", entry_with("colour", "1").as_bytes()).await;
    assert_invalid(&r, "colour");
    let r = raw(app, "/api/v1/time-entries", entry_with("subscription_id", &sub.to_string()).as_bytes()).await;
    assert_client_error("duplicate field", &r, 422);
    let r = raw(app, "/api/v1/time-entries", entry_with("ticket_id", "100000000000000000000000").as_bytes()).await;
    assert_invalid(&r, "ticket_id");
    assert_invalid(&app.post_json("/api/v1/time-entries", &entry(i64::MAX, 30)).await, "subscription_id");
    let r = raw(app, "/api/v1/customers", b"{\"name\": \"\xff\xfe\"}").await;
    assert_problem(&r, 400, "malformed_json");
    let r = raw(app, "/api/v1/customers", format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).as_bytes()).await;
    assert!(r.status == 400 || r.status == 422, "deep nesting: {}", r.text);
    let r = raw(app, "/api/v1/time-entries", format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).as_bytes()).await;
    assert!(r.status == 400 || r.status == 422, "deep nesting: {}", r.text);
    let r = raw(
        app,
        "/api/v1/customers",
        br#"{"name": "Exp", "currency": "EUR", "tax_rate_percent": 1e400, "country": "DE", "email": "a@b.example"}"#,
    )
    .await;
    assert_invalid(&r, "tax_rate_percent");
    let mut p = standard_plan();
    p["hourly_rate"] = json!("792281625142643375935439503350"); // beyond any exact decimal
    assert_invalid(&app.post_json("/api/v1/plans", &p).await, "hourly_rate");

    // CSV: ragged rows, bad UTF-8, empty file, header only; a BOM and CRLF are fine.
    let csv = format!("subscription_id,started_at,minutes,agent,category\n{sub},2026-10-05T08:00:00Z,30,a\n");
    let r = app.post_csv("/api/v1/time-entries/import", &csv).await;
    assert_client_error("ragged row", &r, 422);
    assert_eq!(r.body["errors"][0]["row"], 2, "{}", r.text);
    let mut bytes = format!(
        "subscription_id,started_at,minutes,agent,category,description\n{sub},2026-10-05T08:00:00Z,30,a,technical,x"
    )
    .into_bytes();
    bytes.extend_from_slice(b"\xff\n");
    let r = app.send("POST", "/api/v1/time-entries/import", Some(&admin), Some("text/csv"), Some(bytes)).await;
    assert_client_error("CSV with bad UTF-8", &r, 422);
    assert_eq!(r.body["errors"][0]["row"], 2, "{}", r.text);
    assert_client_error("empty CSV", &app.post_csv("/api/v1/time-entries/import", "").await, 422);
    let r = app.post_csv("/api/v1/time-entries/import", "subscription_id,started_at,minutes,agent,category\n").await;
    assert_client_error("header only", &r, 422);
    assert_eq!(count_entries(app).await, 0, "nothing written by any of the above");

    let csv = format!(
        "\u{feff}subscription_id,started_at,minutes,agent,category\r\n{sub},2026-10-05T08:00:00Z,30,a,technical\r\n"
    );
    assert_eq!(app.post_csv("/api/v1/time-entries/import", &csv).await.expect(201).body["imported"], 1);
    assert_eq!(count_entries(app).await, 1);

    // The server is still healthy.
    app.send("GET", "/healthz", None, None, None).await.expect(200);
});

both_backends!(control_characters_are_refused, |app| {
    // PostgreSQL cannot store NUL in TEXT: letting one through would be a 500 there.
    let (_, _, sub) = billing_setup(app).await;
    let mut c = customer_named("Null\u{0}Corp");
    assert_invalid(&app.post_json("/api/v1/customers", &c).await, "name");
    c = customer_named("ok");
    c["tax_id"] = json!("DE\u{0}1");
    assert_invalid(&app.post_json("/api/v1/customers", &c).await, "tax_id");
    let mut e = entry(sub, 10);
    e["description"] = json!("a\u{0}b");
    assert_invalid(&app.post_json("/api/v1/time-entries", &e).await, "description");
    let mut e = entry(sub, 10);
    e["agent"] = json!("a\u{7}");
    assert_invalid(&app.post_json("/api/v1/time-entries", &e).await, "agent");
    let t = json!({"subscription_id": sub, "title": "a\u{0}", "category": "technical", "severity": "high",
                   "opened_at": "2026-10-05T07:55:00Z"});
    assert_invalid(&app.post_json("/api/v1/tickets", &t).await, "title");
    let ch = json!({"subscription_id": sub, "date": "2026-10-20", "description": "a\u{0}b", "amount": "1.00"});
    assert_invalid(&app.post_json("/api/v1/charges", &ch).await, "description");
    let csv = format!("subscription_id,started_at,minutes,agent,category,description\n{sub},2026-10-05T08:00:00Z,30,a,technical,a\u{0}b\n");
    let r = app.post_csv("/api/v1/time-entries/import", &csv).await;
    assert_invalid(&r, "description");
    assert_eq!(r.body["errors"][0]["row"], 2);

    // Newlines and tabs in free text are fine, and come back unchanged.
    let mut e = entry(sub, 10);
    e["description"] = json!("line one\n\tline two");
    let r = app.post_json("/api/v1/time-entries", &e).await.expect(201);
    assert_eq!(r.body["description"], "line one\n\tline two");
    assert_eq!(count_entries(app).await, 1);
    assert_eq!(app.list_all("/api/v1/customers", 100).await.len(), 1);
});

both_backends!(amounts_beyond_exact_arithmetic_are_a_422_not_a_500, |app| {
    // Amounts are capped at input (below 10^12), so no sum of them or tax on them can leave
    // exact decimal arithmetic: Decimal::MAX is a 422 naming the field, never a 500 later.
    let (customer, _, sub) = billing_setup(app).await;
    let huge = json!({"subscription_id": sub, "date": "2026-10-20", "description": "x", "amount": "79228162514264337593543950335"});
    assert_invalid(&app.post_json("/api/v1/charges", &huge).await, "amount");
    // The largest accepted amounts still add up exactly, tax included.
    for date in ["2026-10-20", "2026-10-21"] {
        let body = json!({"subscription_id": sub, "date": date, "description": "x", "amount": "999999999999.99"});
        app.post_json("/api/v1/charges", &body).await.expect(201);
    }
    let r = app
        .post_json(
            "/api/v1/invoices",
            &json!({"customer_id": customer, "period_start": "2026-10-01", "period_end": "2026-11-01"}),
        )
        .await
        .expect(201);
    assert_eq!(r.body["subtotal"], "1999999999999.98");
    assert_eq!(r.body["tax"], "380000000000.00"); // 379999999999.9962 rounded
    assert_eq!(r.body["total"], "2379999999999.98");
});

both_backends!(concurrent_writers_all_succeed, |app| {
    // 8 JSON batches and 8 CSV imports at once: every one 201 (no 500, no 503 "busy"), and
    // every entry written exactly once.
    let (_, _, sub) = billing_setup(app).await;
    const PER_REQUEST: usize = 25;
    let batch: Value = Value::Array((0..PER_REQUEST).map(|_| entry(sub, 15)).collect());
    let mut csv = String::from("subscription_id,started_at,minutes,agent,category\n");
    for _ in 0..PER_REQUEST {
        csv.push_str(&format!("{sub},2026-10-05T08:00:00Z,20,csv,technical\n"));
    }
    let json_requests = (0..8).map(|_| app.post_json("/api/v1/time-entries", &batch));
    let csv_requests = (0..8).map(|_| app.post_csv("/api/v1/time-entries/import", &csv));
    let (json_responses, csv_responses) = futures_util::future::join(
        futures_util::future::join_all(json_requests),
        futures_util::future::join_all(csv_requests),
    )
    .await;
    let mut ids = Vec::new();
    for r in json_responses {
        let r = r.expect(201);
        assert_eq!(r.data().len(), PER_REQUEST);
        ids.extend(r.data().iter().map(|e| e["id"].as_i64().unwrap()));
    }
    for r in csv_responses {
        assert_eq!(r.expect(201).body["imported"], PER_REQUEST);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 8 * PER_REQUEST, "distinct ids for every JSON entry");
    let all = app.list_all("/api/v1/time-entries", 1000).await;
    assert_eq!(all.len(), 16 * PER_REQUEST);
    assert_eq!(all.iter().filter(|e| e["agent"] == "csv").count(), 8 * PER_REQUEST);
});

both_backends!(openapi_lists_every_route, |app| {
    let doc = app.send("GET", "/api/v1/openapi.json", None, None, None).await.expect(200);
    assert!(doc.content_type.starts_with("application/json"), "{}", doc.content_type);
    let paths = doc.body["paths"].as_object().expect("paths");
    let expect = [
        ("/api/v1/customers", ["get", "post"].as_slice()),
        ("/api/v1/customers/{id}", &["get", "put", "delete"]),
        ("/api/v1/plans", &["get", "post"]),
        ("/api/v1/plans/{id}", &["get", "put", "delete"]),
        ("/api/v1/holiday-calendars", &["get", "post"]),
        ("/api/v1/holiday-calendars/{id}", &["get", "put", "delete"]),
        ("/api/v1/holiday-calendars/{id}/import", &["post"]),
        ("/api/v1/subscriptions", &["get", "post"]),
        ("/api/v1/subscriptions/{id}", &["get", "patch", "delete"]),
        ("/api/v1/tickets", &["get", "post"]),
        ("/api/v1/tickets/{id}", &["get", "patch", "delete"]),
        ("/api/v1/time-entries", &["get", "post"]),
        ("/api/v1/time-entries/import", &["post"]),
        ("/api/v1/time-entries/{id}", &["get", "patch", "delete"]),
        ("/api/v1/charges", &["get", "post"]),
        ("/api/v1/charges/{id}", &["get", "delete"]),
        ("/api/v1/invoices", &["get", "post"]),
        ("/api/v1/invoices/run", &["post"]),
        ("/api/v1/invoices/{id}", &["get", "delete"]),
        ("/api/v1/invoices/{id}/issue", &["post"]),
        ("/api/v1/invoices/{id}/void", &["post"]),
        ("/api/v1/invoices/{id}/credit-notes", &["get", "post"]),
        ("/api/v1/credit-notes", &["get"]),
        ("/api/v1/credit-notes/{id}", &["get"]),
        ("/api/v1/import/partner-center/customers", &["post"]),
        ("/api/v1/import/partner-center/subscriptions", &["post"]),
        ("/api/v1/reports/usage", &["get"]),
        ("/api/v1/reports/invoices", &["get"]),
        ("/api/v1/api-keys", &["get", "post"]),
        ("/api/v1/partner", &["get", "put"]),
    ];
    let mut missing = Vec::new();
    for (path, methods) in expect {
        for m in methods {
            if paths.get(path).and_then(|p| p.get(*m)).is_none() {
                missing.push(format!("{} {path}", m.to_uppercase()));
            }
        }
    }
    assert!(missing.is_empty(), "not in openapi.json: {missing:?}; paths: {:?}", paths.keys().collect::<Vec<_>>());
    // The security scheme is declared.
    assert!(doc.body["components"]["securitySchemes"]["bearer"].is_object(), "{}", doc.body["components"]);
});

both_backends!(bad_key_is_401_and_client_is_404_before_the_body_is_read, |app| {
    // SPEC 4: missing or bad token -> 401; a client gets 404 for anything not its own.
    // Today a bad token with a malformed body gets 400, with an incomplete body 422
    // (field errors to an unauthenticated caller), and a client gets 400/422 on staff routes.
    for (body, what) in [(&b"{\"name\":"[..], "malformed"), (&b"{}"[..], "incomplete")] {
        for path in ["/api/v1/customers", "/api/v1/plans", "/api/v1/charges", "/api/v1/tickets"] {
            let r = app.send("POST", path, Some("sb_bad"), Some("application/json"), Some(body.to_vec())).await;
            assert_eq!(r.status, 401, "bad key, {what} body, POST {path}: {}", r.text);
        }
    }
    let (customer, _, _) = billing_setup(app).await;
    let client = app.make_key(Role::Client, Some(customer));
    for (body, what) in [(&b"{\"name\":"[..], "malformed"), (&b"{}"[..], "incomplete")] {
        for path in ["/api/v1/customers", "/api/v1/plans", "/api/v1/api-keys", "/api/v1/invoices"] {
            let r = app.send("POST", path, Some(&client), Some("application/json"), Some(body.to_vec())).await;
            assert_eq!(r.status, 404, "client key, {what} body, POST {path}: {}", r.text);
        }
    }
});

both_backends!(decimals_with_more_digits_than_exact_are_refused_not_rounded, |app| {
    // SPEC 5: "requests accept a string or a number, parsed exactly". A value with more
    // significant digits than can be held exactly must be refused, not silently rounded.
    let (_, _, sub) = billing_setup(app).await;
    let mut wrong = Vec::new();
    let mut c = customer_named("Rounded");
    c["tax_rate_percent"] = json!("19.000000000000000000000000000001");
    let r = app.post_json("/api/v1/customers", &c).await;
    if r.status != 422 {
        wrong.push(format!(
            "tax_rate_percent 19.000000000000000000000000000001 -> {} {}",
            r.status, r.body["tax_rate_percent"]
        ));
    }
    let body = json!({"subscription_id": sub, "date": "2026-10-20", "description": "x",
                          "amount": "0.1000000000000000000000000000001"});
    let r = app.post_json("/api/v1/charges", &body).await;
    if r.status != 422 {
        wrong.push(format!("amount \"0.1000000000000000000000000000001\" -> {} {}", r.status, r.body["amount"]));
    }
    let raw = format!(
        r#"{{"subscription_id": {sub}, "date": "2026-10-20", "description": "x", "amount": 85.000000000000000000000000000001}}"#
    );
    let r = app.post_raw_json("/api/v1/charges", &raw).await;
    if r.status != 422 {
        wrong.push(format!("amount 85.000000000000000000000000000001 (number) -> {} {}", r.status, r.body["amount"]));
    }
    assert!(wrong.is_empty(), "rounded instead of refused: {wrong:#?}");
});

both_backends!(timestamps_and_dates_stay_rfc3339, |app| {
    let (_, _, sub) = billing_setup(app).await;
    let mut wrong = Vec::new();
    // 9999-12-31T23:59:59-12:00 is 10000-01-01T11:59:59Z: today it is stored and returned as
    // "+10000-01-01T11:59:59Z", which is not RFC 3339. It must be a 422.
    let mut e = entry(sub, 10);
    e["started_at"] = json!("9999-12-31T23:59:59-12:00");
    let r = app.post_json("/api/v1/time-entries", &e).await;
    if r.status != 422 {
        wrong.push(format!("started_at 9999-12-31T23:59:59-12:00 -> {} {}", r.status, r.body["started_at"]));
    }
    // A charge dated "+10000-01-01" is returned as such: not YYYY-MM-DD.
    let ch = json!({"subscription_id": sub, "date": "+10000-01-01", "description": "x", "amount": "1.00"});
    let r = app.post_json("/api/v1/charges", &ch).await;
    if r.status != 422 {
        wrong.push(format!("date +10000-01-01 -> {} {}", r.status, r.body["date"]));
    }
    // A leap second: SQLite stores and returns "…T23:59:60Z", PostgreSQL the next second,
    // so the same entry falls in October on one backend and in November on the other.
    let mut e = entry(sub, 10);
    e["started_at"] = json!("2026-10-31T23:59:60Z");
    let r = app.post_json("/api/v1/time-entries", &e).await;
    if r.status == 201 && r.body["started_at"].as_str().is_some_and(|t| t.contains(":60")) {
        wrong.push(format!("leap second stored as is: {}", r.body["started_at"]));
    }
    assert!(wrong.is_empty(), "out-of-range time accepted: {wrong:#?}");
});
