//! Idempotency keys: retries replay the first response, byte for byte; a key reused for another
//! request is refused; concurrent duplicates create one resource.

use serde_json::{json, Value};

use crate::fixtures::{self, mueller};
use crate::harness::{assert_invalid, assert_problem, Resp, TestApp};
use supportbill::domain::vocab::Role;

async fn post_idem(app: &TestApp, token: &str, path: &str, key: &str, body: &Value) -> Resp {
    app.send_headers(
        "POST",
        path,
        Some(token),
        None,
        Some("application/json"),
        &[("Idempotency-Key", key)],
        Some(body.to_string().into_bytes()),
    )
    .await
}

async fn customers(app: &TestApp) -> usize {
    app.list_all("/api/v1/customers", 1000).await.len()
}

both_backends!(a_retry_replays_the_first_response_byte_for_byte, |app| {
    let first = post_idem(app, &app.admin_token, "/api/v1/customers", "create-mueller-1", &mueller()).await.expect(201);
    assert_eq!(first.header("idempotency-replayed"), None);
    let again = post_idem(app, &app.admin_token, "/api/v1/customers", "create-mueller-1", &mueller()).await.expect(201);
    assert_eq!(again.bytes, first.bytes, "the replay is the first body");
    assert_eq!(again.content_type, first.content_type);
    assert_eq!(again.header("idempotency-replayed"), Some("true"));
    assert_eq!(customers(app).await, 1, "one customer for two requests");

    // Without the header every POST is a new request.
    app.post_json("/api/v1/customers", &fixtures::customer_named("Second GmbH")).await.expect(201);
    assert_eq!(customers(app).await, 2);
});

both_backends!(a_key_reused_for_another_request_is_refused, |app| {
    post_idem(app, &app.admin_token, "/api/v1/customers", "k-1", &mueller()).await.expect(201);
    let other = post_idem(app, &app.admin_token, "/api/v1/customers", "k-1", &fixtures::romashka()).await;
    assert_problem(&other, 422, "idempotency_key_reused");
    let other_path = post_idem(app, &app.admin_token, "/api/v1/plans", "k-1", &mueller()).await;
    assert_problem(&other_path, 422, "idempotency_key_reused");
    assert_eq!(customers(app).await, 1);

    // Keys are scoped to the API key: another key may use the same value.
    let finance = app.make_key(Role::Finance, None);
    post_idem(app, &finance, "/api/v1/customers", "k-1", &fixtures::customer_named("Finance's")).await.expect(201);
    assert_eq!(customers(app).await, 2);
});

both_backends!(malformed_keys_are_422_naming_the_header, |app| {
    for bad in ["with space", &"k".repeat(256)] {
        let r = post_idem(app, &app.admin_token, "/api/v1/customers", bad, &mueller()).await;
        assert_invalid(&r, "Idempotency-Key");
    }
    assert_eq!(customers(app).await, 0);
});

both_backends!(client_errors_are_replayed_too, |app| {
    let mut bad = mueller();
    bad["currency"] = json!("EURO");
    let first = post_idem(app, &app.admin_token, "/api/v1/customers", "bad-1", &bad).await;
    assert_invalid(&first, "currency");
    let again = post_idem(app, &app.admin_token, "/api/v1/customers", "bad-1", &bad).await;
    assert_eq!((again.status, again.bytes.clone()), (first.status, first.bytes.clone()));
    assert_eq!(again.header("idempotency-replayed"), Some("true"));
});

both_backends!(issuing_twice_with_one_key_issues_once, |app| {
    let (customer, _, sub) = fixtures::billing_setup(app).await;
    app.post_json("/api/v1/time-entries", &fixtures::entry(sub, 60)).await.expect(201);
    let draft = app
        .post_json(
            "/api/v1/invoices",
            &json!({"customer_id": customer, "period_start": "2026-10-01", "period_end": "2026-11-01"}),
        )
        .await
        .expect(201);
    let path = format!("/api/v1/invoices/{}/issue", draft.id());
    let first = post_idem(app, &app.admin_token, &path, "issue-1", &json!({})).await.expect(200);
    let again = post_idem(app, &app.admin_token, &path, "issue-1", &json!({})).await.expect(200);
    assert_eq!(again.body["number"], first.body["number"]);
    assert_eq!(again.bytes, first.bytes);
    // A retry without the key is a second request, and the invoice is no longer a draft.
    assert_eq!(app.post_json(&path, &json!({})).await.status, 409);
});

both_backends!(ten_concurrent_requests_with_one_key_create_one_resource, |app| {
    let body = mueller();
    let results = futures_util::future::join_all(
        (0..10).map(|_| post_idem(app, &app.admin_token, "/api/v1/customers", "burst-1", &body)),
    )
    .await;
    let created: Vec<&Resp> = results.iter().filter(|r| r.status == 201).collect();
    for r in &results {
        assert!(r.status == 201 || r.status == 409, "unexpected {}: {}", r.status, r.text);
        if r.status == 409 {
            assert_problem(r, 409, "idempotency_in_progress");
        }
    }
    assert_eq!(created.iter().filter(|r| r.header("idempotency-replayed").is_none()).count(), 1, "one first response");
    assert!(created.iter().all(|r| r.bytes == created[0].bytes));
    assert_eq!(customers(app).await, 1, "exactly one customer");
    // And once it is done, a retry replays it.
    let later = post_idem(app, &app.admin_token, "/api/v1/customers", "burst-1", &mueller()).await.expect(201);
    assert_eq!(later.bytes, created[0].bytes);
});

both_backends!(a_retried_csv_import_and_invoice_run_happen_once, |app| {
    let (_, _, sub) = fixtures::billing_setup(app).await;
    let csv = format!(
        "subscription_id,started_at,minutes,agent,category\n\
         {sub},2026-10-06T09:30:00Z,25,a.kowalski,technical\n\
         {sub},2026-10-07T10:00:00Z,15,b.nowak,billing\n"
    );
    for _ in 0..2 {
        let r = app
            .send_headers(
                "POST",
                "/api/v1/time-entries/import",
                Some(&app.admin_token),
                None,
                Some("text/csv"),
                &[("Idempotency-Key", "import-oct")],
                Some(csv.clone().into_bytes()),
            )
            .await
            .expect(201);
        assert_eq!(r.body, json!({"imported": 2}));
    }
    assert_eq!(fixtures::count_entries(app).await, 2, "imported once");

    let period = json!({"period_start": "2026-10-01", "period_end": "2026-11-01"});
    let first = post_idem(app, &app.admin_token, "/api/v1/invoices/run", "run-oct", &period).await.expect(201);
    let again = post_idem(app, &app.admin_token, "/api/v1/invoices/run", "run-oct", &period).await.expect(201);
    assert_eq!(again.bytes, first.bytes);
    assert_eq!(app.list_all("/api/v1/invoices", 100).await.len(), 1, "one draft");
});

// A client's stored retry names its API key; deleting the customer deletes its keys, so it
// deletes what they stored first. It was a 500 (a foreign key), and the customer could not be
// deleted until the stored response expired.
both_backends!(a_customer_whose_client_used_an_idempotency_key_can_be_deleted, |app| {
    use diesel::RunQueryDsl;
    let customer = app.post_json("/api/v1/customers", &mueller()).await.expect(201).id();
    let client = app.make_key(Role::Client, Some(customer));
    let refused = post_idem(app, &client, "/api/v1/invoices", "client-1", &json!({"customer_id": customer})).await;
    assert!((400..500).contains(&refused.status), "a client may not draft: {}", refused.status);
    let stored = diesel::sql_query("SELECT count(*) AS n FROM idempotency_keys")
        .get_result::<Count>(&mut *app.conn())
        .unwrap()
        .n;
    assert_eq!(stored, 1, "the client's response is stored for retries");

    app.delete(&format!("/api/v1/customers/{customer}")).await.expect(204);
    app.get(&format!("/api/v1/customers/{customer}")).await.expect(404);
    assert_problem(&app.get_as(&client, "/api/v1/invoices").await, 401, "unauthorized");
    let stored = diesel::sql_query("SELECT count(*) AS n FROM idempotency_keys")
        .get_result::<Count>(&mut *app.conn())
        .unwrap()
        .n;
    assert_eq!(stored, 0);
});

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}
