//! Dates that can never be billed (issue 24, item 4): every date and timestamp the service takes
//! lies in 2000-01-01 to 2199-12-31 (UTC), so an invoice period and a report range can always
//! hold it; outside, a 422 names the field (and the CSV line).

use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::*;
use crate::web_sessions::sign_in;

/// Asserts a 422 whose errors name exactly `field` (and `row`, for CSV lines).
#[track_caller]
fn assert_names(r: &Resp, field: &str, row: Option<u64>, what: &str) {
    assert_eq!(r.status, 422, "{what}: {}", r.text);
    assert_eq!(r.error_fields(), vec![field.to_string()], "{what}: {}", r.text);
    if let Some(row) = row {
        assert_eq!(r.body["errors"][0]["row"], json!(row), "{what}: {}", r.text);
    }
}

fn ticket(sub: i64, opened_at: &str) -> Value {
    json!({"subscription_id": sub, "title": "Outage", "category": "technical", "severity": "high",
           "opened_at": opened_at})
}

both_backends!(dates_outside_the_billable_years_are_refused_naming_the_field, |app| {
    let (customer, _, sub) = billing_setup(app).await;
    let outside = ["9999-12-31T10:00:00Z", "2200-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "2000-01-01T00:30:00+01:00"];
    for at in outside {
        let mut e = entry(sub, 10);
        e["started_at"] = json!(at);
        assert_names(&app.post_json("/api/v1/time-entries", &e).await, "started_at", None, at);
        assert_names(
            &app.post_json("/api/v1/time-entries", &json!([entry(sub, 5), e])).await,
            "[1].started_at",
            None,
            at,
        );
        let csv = format!("subscription_id,started_at,minutes,agent,category\n{sub},2026-10-05T08:00:00Z,5,a,technical\n{sub},{at},5,a,technical\n");
        assert_names(&app.post_csv("/api/v1/time-entries/import", &csv).await, "started_at", Some(3), at);

        assert_names(&app.post_json("/api/v1/tickets", &ticket(sub, at)).await, "opened_at", None, at);
        let mut t = ticket(sub, "2026-10-05T08:00:00Z");
        t["closed_at"] = json!(at);
        let r = app.post_json("/api/v1/tickets", &t).await;
        assert!(r.error_fields().contains(&"closed_at".to_string()), "{at}: {}", r.text);
        let mut t = ticket(sub, "2026-10-05T08:00:00Z");
        t["escalation"] = json!({"channel": "premier", "case_id": "123", "escalated_at": at});
        assert_names(&app.post_json("/api/v1/tickets", &t).await, "escalation.escalated_at", None, at);

        let r = app.get(&format!("/api/v1/time-entries?from={}", at.replace('+', "%2B"))).await;
        assert_names(&r, "from", None, at);
    }
    assert_eq!(count_entries(app).await, 0, "nothing was stored");

    // A stored entry cannot be moved out either.
    let id = app.post_json("/api/v1/time-entries", &entry(sub, 10)).await.expect(201).id();
    let r = app.patch_json(&format!("/api/v1/time-entries/{id}"), &json!({"started_at": "9999-12-31T10:00:00Z"})).await;
    assert_names(&r, "started_at", None, "patch");

    for date in ["9999-12-31", "2200-01-01", "1999-12-31", "0001-01-01"] {
        let ch = json!({"subscription_id": sub, "date": date, "description": "x", "amount": "1.00"});
        assert_names(&app.post_json("/api/v1/charges", &ch).await, "date", None, date);
        let r = app.get(&format!("/api/v1/reports/usage?from={date}&to=2026-11-01")).await;
        assert_eq!(r.error_fields(), vec!["from"], "usage from {date}: {}", r.text);
        let r = app.get(&format!("/api/v1/reports/invoices?from={date}&to=2026-11-01")).await;
        assert_eq!(r.error_fields(), vec!["from"], "register from {date}: {}", r.text);
    }
    for to in ["2200-01-02", "9999-12-31"] {
        assert_names(&app.get(&format!("/api/v1/reports/usage?from=2026-10-01&to={to}")).await, "to", None, to);
        assert_names(&app.get(&format!("/api/v1/reports/invoices?from=2026-10-01&to={to}")).await, "to", None, to);
    }
    for (start, end, field) in [
        ("1999-12-01", "2000-01-01", "period_start"),
        ("2199-12-01", "2200-02-01", "period_end"),
        ("9999-11-01", "9999-12-01", "period_start"),
    ] {
        let body = json!({"customer_id": customer, "period_start": start, "period_end": end});
        let r = app.post_json("/api/v1/invoices", &body).await;
        assert!(r.status == 422 && r.error_fields().contains(&field.to_string()), "{start}..{end}: {}", r.text);
        let r = app.post_json("/api/v1/invoices/run", &json!({"period_start": start, "period_end": end})).await;
        assert!(r.status == 422 && r.error_fields().contains(&field.to_string()), "run {start}..{end}: {}", r.text);
    }
    assert_names(&app.get("/api/v1/invoices?period_start=9999-12-01").await, "period_start", None, "list filter");

    // The finance page: its usage form and its month run.
    let session = sign_in(app, &app.admin_token).await;
    let r = session.get(app, "/usage?from=1999-12-01&to=2000-01-01").await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = session.get(app, "/usage/download.csv?from=2026-10-01&to=9999-12-31").await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = session.post(app, "/invoices/run", "month=9999-12", &[]).await;
    assert_eq!(r.status, 422, "{}", r.text);
});

both_backends!(the_first_and_last_billable_days_can_be_invoiced_and_reported, |app| {
    let (customer, _, sub) = billing_setup(app).await;
    // The subscription covers the billable years whole (SPEC 7.1).
    app.patch_json(&format!("/api/v1/subscriptions/{sub}"), &json!({"start_date": "2000-01-01"})).await.expect(200);
    for at in ["2000-01-01T00:00:00Z", "2199-12-31T23:59:59Z", "2200-01-01T09:00:00+10:00"] {
        let mut e = entry(sub, 60);
        e["started_at"] = json!(at);
        app.post_json("/api/v1/time-entries", &e).await.expect(201);
    }
    let mut t = ticket(sub, "2199-12-31T22:00:00Z");
    t["closed_at"] = json!("2199-12-31T23:00:00Z");
    t["escalation"] = json!({"channel": "premier", "case_id": "123", "escalated_at": "2199-12-31T22:30:00Z"});
    app.post_json("/api/v1/tickets", &t).await.expect(201);
    for date in ["2000-01-01", "2199-12-31"] {
        let ch = json!({"subscription_id": sub, "date": date, "description": "Case fee", "amount": "10.00"});
        app.post_json("/api/v1/charges", &ch).await.expect(201);
    }

    for (start, end, minutes) in [("2000-01-01", "2000-02-01", 60), ("2199-12-01", "2200-01-01", 120)] {
        let usage = app.get(&format!("/api/v1/reports/usage?from={start}&to={end}")).await.expect(200);
        assert_eq!(usage.data()[0]["minutes"], json!(minutes), "usage {start}..{end}: {}", usage.text);
        let body = json!({"customer_id": customer, "period_start": start, "period_end": end});
        let draft = app.post_json("/api/v1/invoices", &body).await.expect(201);
        let lines = draft.body["lines"].as_array().expect("lines");
        assert!(lines.iter().any(|l| l["kind"] == json!("charge")), "{start}: the charge is billed: {}", draft.text);
        let id = draft.id();
        app.post_json(&format!("/api/v1/invoices/{id}/issue"), &json!({})).await.expect(200);
    }
    // The register's widest range holds both.
    let reg = app.get("/api/v1/reports/invoices?from=2000-01-01&to=2200-01-01").await.expect(200);
    assert_eq!(reg.data().len(), 2, "{}", reg.text);
    let all = app.get("/api/v1/time-entries?from=2000-01-01T00:00:00Z&to=2200-01-01T00:00:00Z").await.expect(200);
    assert_eq!(all.data().len(), 3, "{}", all.text);
});
