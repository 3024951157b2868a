//! The audit trail: who did what, when, with which request; an invoice's history.

use serde_json::json;

use crate::fixtures;
use crate::harness::{assert_invalid, assert_problem, TestApp};
use supportbill::domain::vocab::Role;

async fn draft(app: &TestApp, customer: i64, start: &str, end: &str) -> i64 {
    app.post_json("/api/v1/invoices", &json!({"customer_id": customer, "period_start": start, "period_end": end}))
        .await
        .expect(201)
        .id()
}

both_backends!(an_invoice_history_shows_who_created_issued_and_credited_it, |app| {
    let (customer, _, sub) = fixtures::billing_setup(app).await;
    app.post_json("/api/v1/time-entries", &fixtures::entry(sub, 60)).await.expect(201);
    let inv = draft(app, customer, "2026-10-01", "2026-11-01").await;
    let finance = app.make_key(Role::Finance, None);
    app.post_json_as(&finance, &format!("/api/v1/invoices/{inv}/issue"), &json!({})).await.expect(200);
    app.post_json(&format!("/api/v1/invoices/{inv}/credit-notes"), &json!({"reason": "goodwill"})).await.expect(201);

    let history = app.get_as(&finance, &format!("/api/v1/invoices/{inv}/history")).await.expect(200);
    let actions: Vec<&str> = history.data().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["created", "issued", "credited"]);
    let names: Vec<&str> = history.data().iter().map(|e| e["api_key_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["test-admin", "test-finance", "test-admin"]);
    for e in history.data() {
        assert!(e["at"].as_str().unwrap().ends_with('Z'), "{e}");
        assert!(!e["request_id"].as_str().unwrap().is_empty());
    }

    // Voided: another month's invoice.
    app.post_json(
        "/api/v1/time-entries",
        &json!({"subscription_id": sub, "agent": "a", "started_at": "2026-09-05T08:00:00Z",
        "minutes": 30, "category": "technical", "billable": true, "description": "x"}),
    )
    .await
    .expect(201);
    let sept = draft(app, customer, "2026-09-01", "2026-10-01").await;
    app.post_json(&format!("/api/v1/invoices/{sept}/issue"), &json!({})).await.expect(200);
    app.post_json(&format!("/api/v1/invoices/{sept}/void"), &json!({})).await.expect(200);
    let history = app.get(&format!("/api/v1/invoices/{sept}/history")).await.expect(200);
    let actions: Vec<&str> = history.data().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["created", "issued", "voided"]);

    let client = app.make_key(Role::Client, Some(customer));
    assert_problem(&app.get_as(&client, &format!("/api/v1/invoices/{inv}/history")).await, 404, "not_found");
    assert_problem(&app.get("/api/v1/invoices/999999/history").await, 404, "not_found");
});

both_backends!(the_audit_log_records_successful_writes_with_the_request_id, |app| {
    let created = app
        .send_headers(
            "POST",
            "/api/v1/customers",
            Some(&app.admin_token),
            None,
            Some("application/json"),
            &[("X-Request-Id", "req-audit-1")],
            Some(fixtures::mueller().to_string().into_bytes()),
        )
        .await
        .expect(201);
    assert_eq!(created.header("x-request-id"), Some("req-audit-1"));
    let id = created.id();
    app.put_json(&format!("/api/v1/customers/{id}"), &fixtures::mueller()).await.expect(200);
    // A failed write is not audited.
    let mut bad = fixtures::mueller();
    bad["currency"] = json!("EURO");
    assert_invalid(&app.put_json(&format!("/api/v1/customers/{id}"), &bad).await, "currency");

    let log = app.get(&format!("/api/v1/audit?resource=customer&resource_id={id}")).await.expect(200);
    let rows = log.data();
    assert_eq!(rows.len(), 2, "{}", log.text);
    assert_eq!(rows[0]["action"], "created");
    assert_eq!(rows[0]["request_id"], "req-audit-1");
    assert_eq!(rows[0]["method"], "POST");
    assert_eq!(rows[0]["route"], "/api/v1/customers");
    assert_eq!(rows[0]["status"], 201);
    assert_eq!(rows[1]["action"], "updated");
    assert_eq!(rows[1]["route"], "/api/v1/customers/{id}");
    assert!(rows[0]["api_key_id"].as_i64().is_some());

    // Paged like every list.
    let first = app.get("/api/v1/audit?limit=1").await.expect(200);
    assert_eq!(first.data().len(), 1);
    let cursor = first.body["next_cursor"].as_str().expect("a next page");
    let second = app.get(&format!("/api/v1/audit?limit=1&cursor={cursor}")).await.expect(200);
    assert_ne!(second.data()[0]["id"], first.data()[0]["id"]);

    // Admin only; a bad filter names its field.
    let finance = app.make_key(Role::Finance, None);
    assert_problem(&app.get_as(&finance, "/api/v1/audit").await, 403, "forbidden");
    assert_invalid(&app.get("/api/v1/audit?resource=invoices").await, "resource");
});

both_backends!(an_idempotent_replay_is_not_audited_again, |app| {
    for _ in 0..2 {
        app.send_headers(
            "POST",
            "/api/v1/customers",
            Some(&app.admin_token),
            None,
            Some("application/json"),
            &[("Idempotency-Key", "once")],
            Some(fixtures::mueller().to_string().into_bytes()),
        )
        .await
        .expect(201);
    }
    assert_eq!(app.get("/api/v1/audit?resource=customer").await.expect(200).data().len(), 1);
});

both_backends!(audit_routes_are_in_the_openapi_document, |app| {
    let doc = app.get("/api/v1/openapi.json").await.expect(200);
    assert!(doc.body["paths"]["/api/v1/audit"]["get"].is_object());
    assert!(doc.body["paths"]["/api/v1/invoices/{id}/history"]["get"].is_object());
});

both_backends!(the_finance_page_writes_are_audited_too, |app| {
    let (customer, _, sub) = fixtures::billing_setup(app).await;
    app.post_json("/api/v1/time-entries", &fixtures::entry(sub, 60)).await.expect(201);
    let inv = draft(app, customer, "2026-10-01", "2026-11-01").await;
    let session = crate::web_sessions::sign_in(app, &app.admin_token).await;
    for action in ["issue", "void"] {
        let r = session.post(app, &format!("/invoices/{inv}/{action}"), "", &[]).await;
        // 303 to the invoice page.
        assert_eq!(r.status, 303, "{action}: {}", r.text);
    }
    let history = app.get(&format!("/api/v1/invoices/{inv}/history")).await.expect(200);
    let actions: Vec<&str> = history.data().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["created", "issued", "voided"]);
    let log = app.get(&format!("/api/v1/audit?resource=invoice&resource_id={inv}")).await.expect(200);
    assert_eq!(log.data()[1]["route"], "/invoices/{id}/issue");
});

/// API keys in the database, counted directly.
fn key_count(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    supportbill::storage::schema::api_keys::table.count().get_result(&mut *app.conn()).unwrap()
}

fn audit_rows_of(app: &TestApp, request_id: &str) -> Vec<(String, i32)> {
    use diesel::prelude::*;
    use supportbill::storage::schema::audit_log;
    audit_log::table
        .filter(audit_log::request_id.eq(request_id))
        .order(audit_log::id)
        .select((audit_log::action, audit_log::status))
        .load(&mut *app.conn())
        .unwrap()
}

fn audit_row(request_id: &str) -> supportbill::service::audit::NewAuditEntry {
    supportbill::service::audit::NewAuditEntry {
        at: chrono::Utc::now().naive_utc(),
        api_key_id: None,
        request_id: request_id.to_string(),
        method: "POST".into(),
        route: "/api/v1/api-keys".into(),
        status: supportbill::service::audit::STATUS_PENDING,
        resource_type: "api_key".into(),
        resource_id: None,
        action: "created".into(),
    }
}

// The audit rows of a request go in with its write, in the same transaction (the mechanism
// under the middleware): the write and its rows commit together or not at all.
both_backends!(audit_rows_commit_and_roll_back_with_the_write, |app| {
    use diesel::prelude::*;
    use supportbill::error::AppError;
    use supportbill::service::{api_keys, audit};
    use supportbill::storage::{with_before_commit, write_tx, BeforeCommit};
    let key = |name: &str| api_keys::NewKey { name: name.to_string(), role: Role::Finance, customer_id: None };
    let now = chrono::Utc::now().naive_utc();
    let hook = |id: &'static str| -> BeforeCommit {
        Box::new(move |conn| audit::insert_returning_ids(conn, &[audit_row(id)]).map(|_| ()))
    };
    let before = key_count(app);

    // The write commits: so do its audit rows.
    let mut conn = app.conn();
    let (r, ran) = with_before_commit(hook("tx-ok"), || api_keys::create(&mut conn, key("committed"), now));
    r.unwrap();
    assert!(ran);
    drop(conn);
    assert_eq!(key_count(app), before + 1);
    assert_eq!(audit_rows_of(app, "tx-ok"), [("created".to_string(), 0)]);

    // The write fails after writing: its rows are not there either.
    let mut conn = app.conn();
    let (r, ran) = with_before_commit(hook("tx-failed"), || {
        write_tx(&mut conn, |c| {
            diesel::insert_into(supportbill::storage::schema::api_keys::table)
                .values(&supportbill::storage::models::NewApiKey {
                    name: "rolled back".into(),
                    role: supportbill::domain::vocab::Role::Finance,
                    customer_id: None,
                    token_hash: "not-a-real-hash".into(),
                    created_at: now,
                })
                .execute(c)?;
            Err::<(), _>(AppError::conflict("test", "fails after its write"))
        })
    });
    assert!(r.is_err());
    assert!(!ran);
    drop(conn);
    assert_eq!(key_count(app), before + 1);
    assert!(audit_rows_of(app, "tx-failed").is_empty());

    // Recording the rows fails: the write is undone with them.
    let mut conn = app.conn();
    let failing: BeforeCommit = Box::new(|_| Err(diesel::result::Error::RollbackTransaction));
    let (r, _) = with_before_commit(failing, || api_keys::create(&mut conn, key("unaudited"), now));
    assert!(r.is_err());
    drop(conn);
    assert_eq!(key_count(app), before + 1);
});

// Over HTTP: a write's rows carry its final status, and a write that failed left none.
both_backends!(an_audited_write_ends_with_its_status, |app| {
    let created = app
        .send_headers(
            "POST",
            "/api/v1/customers",
            Some(&app.admin_token),
            None,
            Some("application/json"),
            &[("X-Request-Id", "req-final-status")],
            Some(fixtures::mueller().to_string().into_bytes()),
        )
        .await
        .expect(201);
    let rows = audit_rows_of(app, "req-final-status");
    assert_eq!(rows, [("created".to_string(), 201)]);
    let listed = app.get("/api/v1/audit?resource=customer").await.expect(200);
    let row = listed.data().iter().find(|r| r["request_id"] == "req-final-status").expect("listed");
    assert_eq!(row["resource_id"], json!(created.id()));

    let mut bad = fixtures::mueller();
    bad["currency"] = json!("EURO");
    app.send_headers(
        "POST",
        "/api/v1/customers",
        Some(&app.admin_token),
        None,
        Some("application/json"),
        &[("X-Request-Id", "req-refused")],
        Some(bad.to_string().into_bytes()),
    )
    .await
    .expect(422);
    assert!(audit_rows_of(app, "req-refused").is_empty());
});
