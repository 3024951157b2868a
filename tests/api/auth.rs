//! Roles (SPEC 4): a client key sees only its own customer's subscriptions, and anything else is
//! 404 as if absent; finance may not manage keys (403).

use serde_json::json;

use supportbill::domain::vocab::Role;

use crate::fixtures::*;
use crate::harness::*;

both_backends!(client_key_sees_only_its_own_customer, |app| {
    let (customer_a, plan, sub_a) = billing_setup(app).await;
    let sub_a2 = create(
        app,
        "/api/v1/subscriptions",
        &json!({"customer_id": customer_a, "plan_id": plan, "start_date": "2026-01-01", "product": "microsoft_365", "name": "M365 E3"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let customer_b = create(app, "/api/v1/customers", &customer_named("Contoso GmbH")).await["id"].as_i64().unwrap();
    let sub_b = create(
        app,
        "/api/v1/subscriptions",
        &json!({"customer_id": customer_b, "plan_id": plan, "start_date": "2026-01-01", "product": "azure", "name": "Contoso Azure"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    app.post_json("/api/v1/time-entries", &entry(sub_a, 30)).await.expect(201);

    let client_a = app.make_key(Role::Client, Some(customer_a));

    // Staff-only collections and items: 404 (not 403), as if they did not exist.
    for path in [
        "/api/v1/customers".to_string(),
        format!("/api/v1/customers/{customer_a}"),
        format!("/api/v1/customers/{customer_b}"),
        "/api/v1/plans".to_string(),
        format!("/api/v1/plans/{plan}"),
        "/api/v1/time-entries".to_string(),
        "/api/v1/tickets".to_string(),
        "/api/v1/charges".to_string(),
    ] {
        let r = app.get_as(&client_a, &path).await;
        assert_problem(&r, 404, "not_found");
        assert!(!r.text.contains("Contoso") && !r.text.contains("Müller"), "{path} leaks data: {}", r.text);
    }

    // Customer B's subscription: 404, exactly like one that does not exist.
    let theirs = app.get_as(&client_a, &format!("/api/v1/subscriptions/{sub_b}")).await;
    assert_problem(&theirs, 404, "not_found");
    let absent = app.get_as(&client_a, "/api/v1/subscriptions/999999").await;
    assert_problem(&absent, 404, "not_found");
    assert_eq!(theirs.body["detail"], absent.body["detail"], "a client cannot tell 'not yours' from 'absent'");

    // Its own subscription: 200.
    let mine = app.get_as(&client_a, &format!("/api/v1/subscriptions/{sub_a}")).await.expect(200);
    assert_eq!(mine.body["customer_id"], customer_a);

    // Its list: exactly its own subscriptions, also when it asks for B's.
    for path in ["/api/v1/subscriptions".to_string(), format!("/api/v1/subscriptions?customer_id={customer_b}")] {
        let r = app.get_as(&client_a, &path).await.expect(200);
        let mut ids: Vec<i64> = r.data().iter().map(|s| s["id"].as_i64().unwrap()).collect();
        ids.sort();
        assert_eq!(ids, [sub_a, sub_a2], "{path}: {}", r.text);
        assert!(r.data().iter().all(|s| s["customer_id"] == customer_a));
    }
    // Paged with limit=1 it still never reaches B's.
    let mut cursor: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let url = match &cursor {
            None => "/api/v1/subscriptions?limit=1".to_string(),
            Some(c) => format!("/api/v1/subscriptions?limit=1&cursor={c}"),
        };
        let r = app.get_as(&client_a, &url).await.expect(200);
        seen.extend(r.data().iter().map(|s| s["id"].as_i64().unwrap()));
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
        assert!(seen.len() < 10, "pagination does not end");
    }
    assert_eq!(seen, [sub_a, sub_a2]);

    // Read-only: every write is 404 for a client, and nothing changes.
    let writes = [
        ("POST", "/api/v1/customers".to_string(), mueller()),
        ("POST", "/api/v1/plans".to_string(), standard_plan()),
        (
            "POST",
            "/api/v1/subscriptions".to_string(),
            json!({"customer_id": customer_a, "plan_id": plan, "start_date": "2026-01-01", "product": "azure", "name": "x"}),
        ),
        ("PATCH", format!("/api/v1/subscriptions/{sub_a}"), json!({"status": "cancelled"})),
        ("POST", "/api/v1/time-entries".to_string(), entry(sub_a, 10)),
        (
            "POST",
            "/api/v1/charges".to_string(),
            json!({"subscription_id": sub_a, "date": "2026-10-20", "description": "x", "amount": "-1000.00"}),
        ),
    ];
    for (method, path, body) in writes {
        let r = app
            .send(method, &path, Some(&client_a), Some("application/json"), Some(body.to_string().into_bytes()))
            .await;
        assert_problem(&r, 404, "not_found");
    }
    let r = app.send("DELETE", &format!("/api/v1/subscriptions/{sub_a}"), Some(&client_a), None, None).await;
    assert_problem(&r, 404, "not_found");
    let r = app
        .send(
            "POST",
            "/api/v1/time-entries/import",
            Some(&client_a),
            Some("text/csv"),
            Some(
                format!(
                    "subscription_id,started_at,minutes,agent,category\n{sub_a},2026-10-05T08:00:00Z,30,x,technical\n"
                )
                .into_bytes(),
            ),
        )
        .await;
    assert_problem(&r, 404, "not_found");
    assert_eq!(app.get(&format!("/api/v1/subscriptions/{sub_a}")).await.expect(200).body["status"], "active");
    assert_eq!(count_entries(app).await, 1);
    assert!(app.list_all("/api/v1/charges", 100).await.is_empty());
    assert_eq!(app.list_all("/api/v1/customers", 100).await.len(), 2);

    // A client key of customer B sees B's subscription and not A's.
    let client_b = app.make_key(Role::Client, Some(customer_b));
    app.get_as(&client_b, &format!("/api/v1/subscriptions/{sub_b}")).await.expect(200);
    assert_problem(&app.get_as(&client_b, &format!("/api/v1/subscriptions/{sub_a}")).await, 404, "not_found");
    let r = app.get_as(&client_b, "/api/v1/subscriptions").await.expect(200);
    let ids: Vec<i64> = r.data().iter().map(|s| s["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [sub_b]);
});

both_backends!(finance_key_reads_and_writes_data_but_not_keys, |app| {
    let finance = app.make_key(Role::Finance, None);
    // Finance: all data.
    let c = app.post_json_as(&finance, "/api/v1/customers", &mueller()).await.expect(201);
    app.get_as(&finance, &format!("/api/v1/customers/{}", c.id())).await.expect(200);
    app.get_as(&finance, "/api/v1/plans").await.expect(200);
    app.get_as(&finance, "/api/v1/time-entries").await.expect(200);

    // Key management is admin only: 403 for finance (clients: 404).
    let doc = app.send("GET", "/api/v1/openapi.json", None, None, None).await.expect(200);
    assert!(doc.body["paths"].get("/api/v1/api-keys").is_some(), "POST /api/v1/api-keys is not in openapi.json");
    let body = json!({"name": "acme-erp", "role": "client", "customer_id": c.id()});
    assert_problem(&app.post_json_as(&finance, "/api/v1/api-keys", &body).await, 403, "forbidden");
    assert_problem(&app.get_as(&finance, "/api/v1/api-keys").await, 403, "forbidden");
    // Partner details too.
    assert_problem(&app.get_as(&finance, "/api/v1/partner").await, 403, "forbidden");

    // A client gets 404 there; the admin creates the key and it works at once.
    let client = app.make_key(Role::Client, Some(c.id()));
    assert_problem(&app.post_json_as(&client, "/api/v1/api-keys", &body).await, 404, "not_found");
    assert_problem(&app.get_as(&client, "/api/v1/partner").await, 404, "not_found");
    let created = app.post_json("/api/v1/api-keys", &body).await.expect(201);
    assert_eq!(created.body["name"], "acme-erp");
    assert_eq!(created.body["role"], "client");
    assert_eq!(created.body["customer_id"], c.id());
    let token = created.body["token"].as_str().expect("token shown once").to_string();
    app.get_as(&token, "/api/v1/subscriptions").await.expect(200);
    assert_problem(&app.get_as(&token, "/api/v1/customers").await, 404, "not_found");
    // The token is never shown again.
    let list = app.get("/api/v1/api-keys").await.expect(200);
    assert!(!list.text.contains(&token), "the key list must not show tokens");
    let key_id = created.id();
    // Revoked over HTTP: 401 at once.
    app.delete(&format!("/api/v1/api-keys/{key_id}")).await.expect(204);
    assert_problem(&app.get_as(&token, "/api/v1/subscriptions").await, 401, "unauthorized");
    // Finance may not revoke keys either.
    let other = app.post_json("/api/v1/api-keys", &json!({"name": "erp2", "role": "finance"})).await.expect(201);
    let r = app.send("DELETE", &format!("/api/v1/api-keys/{}", other.id()), Some(&finance), None, None).await;
    assert_problem(&r, 403, "forbidden");
    // A client key must name a customer; staff keys must not.
    assert_invalid(&app.post_json("/api/v1/api-keys", &json!({"name": "x", "role": "client"})).await, "customer_id");
    assert_invalid(
        &app.post_json("/api/v1/api-keys", &json!({"name": "x", "role": "finance", "customer_id": c.id()})).await,
        "customer_id",
    );
});

/// Revokes `token`'s key straight in the database, as another server process on the same
/// database would: this process's authentication cache hears nothing of it.
fn revoke_behind_the_servers_back(app: &TestApp, token: &str) {
    use diesel::prelude::*;
    use supportbill::storage::schema::api_keys;
    let mut conn = app.conn();
    let id: i64 = api_keys::table
        .filter(api_keys::token_hash.eq(supportbill::service::auth::hash_token(token)))
        .select(api_keys::id)
        .first(&mut *conn)
        .unwrap();
    supportbill::service::api_keys::revoke(&mut conn, id, chrono::Utc::now().naive_utc()).unwrap();
}

// The server remembers which key a token is (http::auth_cache), but must still refuse a key
// revoked by another process at once, on every kind of request, and never act on it.
both_backends!(a_remembered_key_revoked_elsewhere_is_refused_on_every_request, |app| {
    let (customer, _, sub) = billing_setup(app).await;
    app.post_json("/api/v1/time-entries", &entry(sub, 30)).await.expect(201);
    let invoice = app
        .post_json(
            "/api/v1/invoices",
            &json!({"customer_id": customer, "period_start": "2026-10-01", "period_end": "2026-11-01"}),
        )
        .await
        .expect(201)
        .id();
    app.post_json(&format!("/api/v1/invoices/{invoice}/issue"), &json!({})).await.expect(200);
    let finance = app.make_key(Role::Finance, None);
    let client = app.make_key(Role::Client, Some(customer));
    // Seen once, so the next requests find them in the cache.
    app.get_as(&finance, "/api/v1/customers").await.expect(200);
    app.get_as(&finance, "/api/v1/invoices").await.expect(200);
    // The invoice's JSON (the hot path of API clients), as both.
    app.get_as(&finance, &format!("/api/v1/invoices/{invoice}")).await.expect(200);
    app.get_as(&client, &format!("/api/v1/invoices/{invoice}")).await.expect(200);
    assert_problem(&app.get_as(&client, "/api/v1/invoices/999999").await, 404, "not_found");
    revoke_behind_the_servers_back(app, &client);
    assert_problem(&app.get_as(&client, &format!("/api/v1/invoices/{invoice}")).await, 401, "unauthorized");
    assert_problem(&app.get_as(&client, "/api/v1/invoices/999999").await, 401, "unauthorized");
    let customers_before = app.list_all("/api/v1/customers", 100).await.len();

    revoke_behind_the_servers_back(app, &finance);

    // A read that reaches the database.
    assert_problem(&app.get_as(&finance, "/api/v1/invoices").await, 401, "unauthorized");
    assert_problem(&app.get_as(&finance, &format!("/api/v1/invoices/{invoice}")).await, 401, "unauthorized");
    // A read that fails on its query before any database work: still 401, not 422.
    assert_problem(&app.get_as(&finance, "/api/v1/invoices?status=bogus").await, 401, "unauthorized");
    // Writes: a malformed body is 401, not 400; a valid one is 401 and changes nothing.
    let r = app
        .send("POST", "/api/v1/customers", Some(&finance), Some("application/json"), Some(b"{not json".to_vec()))
        .await;
    assert_problem(&r, 401, "unauthorized");
    let r = app.post_json_as(&finance, "/api/v1/customers", &customer_named("Revoked GmbH")).await;
    assert_problem(&r, 401, "unauthorized");
    assert_eq!(app.list_all("/api/v1/customers", 100).await.len(), customers_before);
    // And it stays refused.
    assert_problem(&app.get_as(&finance, "/api/v1/customers").await, 401, "unauthorized");

    // Other keys are unaffected, remembered or not.
    app.get("/api/v1/customers").await.expect(200);
    let other = app.make_key(Role::Finance, None);
    app.get_as(&other, "/api/v1/customers").await.expect(200);
    app.get_as(&other, "/api/v1/customers").await.expect(200);
});
