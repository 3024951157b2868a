//! Bad input: 422 problem+json naming the field, 400 for unreadable JSON, 413 for huge bodies,
//! 401 without a valid key, 404 problem for unknown routes. Never a 500, never a half write.

use serde_json::json;

use crate::fixtures::*;
use crate::harness::*;

both_backends!(customer_fields_are_validated, |app| {
    let mut c = mueller();
    c["currency"] = json!("EUX");
    assert_invalid(&app.post_json("/api/v1/customers", &c).await, "currency");

    let mut c = mueller();
    c["currency"] = json!("eur");
    assert_invalid(&app.post_json("/api/v1/customers", &c).await, "currency");

    let mut c = mueller();
    c["tax_rate_percent"] = json!("101");
    assert_invalid(&app.post_json("/api/v1/customers", &c).await, "tax_rate_percent");

    let mut c = mueller();
    c["tax_rate_percent"] = json!("-1");
    assert_invalid(&app.post_json("/api/v1/customers", &c).await, "tax_rate_percent");

    let mut c = mueller();
    c["tax_rate_percent"] = json!("nineteen");
    assert_invalid(&app.post_json("/api/v1/customers", &c).await, "tax_rate_percent");

    // Boundaries 0 and 100 are fine.
    let mut c = customer_named("Zero tax");
    c["tax_rate_percent"] = json!("0");
    app.post_json("/api/v1/customers", &c).await.expect(201);
    let mut c = customer_named("All tax");
    c["tax_rate_percent"] = json!("100");
    app.post_json("/api/v1/customers", &c).await.expect(201);

    // Several bad fields: all of them reported at once.
    let mut c = mueller();
    c["currency"] = json!("EUX");
    c["tax_rate_percent"] = json!("101");
    c["email"] = json!("not-an-email");
    let r = app.post_json("/api/v1/customers", &c).await;
    assert_problem(&r, 422, "invalid_input");
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!(fields, ["currency", "email", "tax_rate_percent"], "{}", r.text);

    // A value of the wrong JSON type is a 422 naming the field, not a 400.
    let mut c = mueller();
    c["name"] = json!(42);
    assert_invalid(&app.post_json("/api/v1/customers", &c).await, "name");

    // A missing required field: 422.
    let r = app.post_json("/api/v1/customers", &json!({"name": "No currency"})).await;
    assert_problem(&r, 422, "invalid_input");

    // Nothing of the above was written: only the two good customers exist.
    assert_eq!(app.list_all("/api/v1/customers", 100).await.len(), 2);
});

both_backends!(plan_fields_are_validated, |app| {
    let mut p = standard_plan();
    p["hours_of_service"]["timezone"] = json!("Mars/Base");
    assert_invalid(&app.post_json("/api/v1/plans", &p).await, "hours_of_service.timezone");

    let mut p = standard_plan();
    p["currency"] = json!("EUX");
    assert_invalid(&app.post_json("/api/v1/plans", &p).await, "currency");

    let mut p = standard_plan();
    p["hours_of_service"]["days"] = json!(["mon", "funday"]);
    assert_invalid(&app.post_json("/api/v1/plans", &p).await, "hours_of_service.days");

    let mut p = standard_plan();
    p["hourly_rate"] = json!("-5");
    assert_invalid(&app.post_json("/api/v1/plans", &p).await, "hourly_rate");

    let mut p = standard_plan();
    p.as_object_mut().unwrap().remove("hourly_rate");
    assert_invalid(&app.post_json("/api/v1/plans", &p).await, "hourly_rate");

    let mut p = standard_plan();
    p["rounding_increment_minutes"] = json!(0);
    assert_invalid(&app.post_json("/api/v1/plans", &p).await, "rounding_increment_minutes");

    let mut p = standard_plan();
    p["category_rates"] = json!({"gardening": "10.00"});
    assert_invalid(&app.post_json("/api/v1/plans", &p).await, "category_rates.gardening");

    assert!(app.list_all("/api/v1/plans", 100).await.is_empty(), "no plan may have been written");
});

both_backends!(subscription_plan_currency_must_match_customer, |app| {
    let customer = create(app, "/api/v1/customers", &mueller()).await["id"].as_i64().unwrap();
    let usd_plan = create(app, "/api/v1/plans", &standard_plan_in("USD")).await["id"].as_i64().unwrap();
    let r = app
        .post_json(
            "/api/v1/subscriptions",
            &json!({"customer_id": customer, "plan_id": usd_plan, "start_date": "2026-01-01", "product": "azure", "name": "Azure plan"}),
        )
        .await;
    assert_invalid(&r, "plan_id");
    assert!(app.list_all("/api/v1/subscriptions", 100).await.is_empty());

    // Nor may a PATCH move a subscription onto a plan in another currency.
    let eur_plan = create(app, "/api/v1/plans", &standard_plan()).await["id"].as_i64().unwrap();
    let sub = create(
        app,
        "/api/v1/subscriptions",
        &json!({"customer_id": customer, "plan_id": eur_plan, "start_date": "2026-01-01", "product": "azure", "name": "Azure plan"}),
    )
    .await;
    let r = app.patch_json(&format!("/api/v1/subscriptions/{}", sub["id"]), &json!({"plan_id": usd_plan})).await;
    assert_invalid(&r, "plan_id");
    let now = app.get(&format!("/api/v1/subscriptions/{}", sub["id"])).await.expect(200);
    assert_eq!(now.body["plan_id"], eur_plan);

    // Unknown references: 422 naming them.
    let r = app
        .post_json(
            "/api/v1/subscriptions",
            &json!({"customer_id": 999999, "plan_id": eur_plan, "start_date": "2026-01-01", "product": "azure", "name": "x"}),
        )
        .await;
    assert_invalid(&r, "customer_id");
    let r = app
        .post_json(
            "/api/v1/subscriptions",
            &json!({"customer_id": customer, "plan_id": eur_plan, "start_date": "2026-01-01", "product": "windows", "name": "x"}),
        )
        .await;
    assert_invalid(&r, "product");
});

both_backends!(time_entry_fields_are_validated, |app| {
    let (_, _, sub) = billing_setup(app).await;

    let mut e = entry(sub, 0);
    assert_invalid(&app.post_json("/api/v1/time-entries", &e).await, "minutes");
    e["minutes"] = json!(1441);
    assert_invalid(&app.post_json("/api/v1/time-entries", &e).await, "minutes");

    let mut e = entry(sub, 30);
    e["started_at"] = json!("2026-10-05T08:00:00");
    assert_invalid(&app.post_json("/api/v1/time-entries", &e).await, "started_at");
    e["started_at"] = json!("2026-10-05");
    assert_invalid(&app.post_json("/api/v1/time-entries", &e).await, "started_at");

    let mut e = entry(sub, 30);
    e.as_object_mut().unwrap().remove("category");
    assert_invalid(&app.post_json("/api/v1/time-entries", &e).await, "category");

    let mut e = entry(sub, 30);
    e["category"] = json!("gardening");
    assert_invalid(&app.post_json("/api/v1/time-entries", &e).await, "category");

    let e = entry(999_999, 30);
    assert_invalid(&app.post_json("/api/v1/time-entries", &e).await, "subscription_id");

    let mut e = entry(sub, 30);
    e["ticket_id"] = json!(999_999);
    assert_invalid(&app.post_json("/api/v1/time-entries", &e).await, "ticket_id");

    // Boundaries 1 and 1440 are fine.
    app.post_json("/api/v1/time-entries", &entry(sub, 1)).await.expect(201);
    app.post_json("/api/v1/time-entries", &entry(sub, 1440)).await.expect(201);
    assert_eq!(count_entries(app).await, 2, "only the two valid entries were written");
});

both_backends!(malformed_json_is_400, |app| {
    let r = app.post_raw_json("/api/v1/customers", r#"{"name":"#).await;
    assert_problem(&r, 400, "malformed_json");
    let r = app.post_raw_json("/api/v1/customers", "not json at all").await;
    assert_problem(&r, 400, "malformed_json");
    let r = app.post_raw_json("/api/v1/time-entries", r#"[{"subscription_id": 1,"#).await;
    assert_problem(&r, 400, "malformed_json");
    // Trailing garbage after a document.
    let body = format!("{} x", mueller());
    let r = app.post_raw_json("/api/v1/customers", &body).await;
    assert_problem(&r, 400, "malformed_json");
    assert!(app.list_all("/api/v1/customers", 100).await.is_empty());
});

both_backends!(body_over_16_mib_is_413, |app| {
    // A syntactically valid JSON array of time entries, just over the 16 MiB limit.
    let one = entry(1, 30).to_string();
    let n = (16 * 1024 * 1024) / (one.len() + 1) + 100;
    let mut body = String::with_capacity(n * (one.len() + 1) + 2);
    body.push('[');
    for i in 0..n {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&one);
    }
    body.push(']');
    assert!(body.len() > 16 * 1024 * 1024);
    let r = app
        .send("POST", "/api/v1/time-entries", Some(&app.admin_token), Some("application/json"), Some(body.into_bytes()))
        .await;
    assert_problem(&r, 413, "payload_too_large");

    // The same for a CSV import.
    let mut csv = String::from("subscription_id,started_at,minutes,agent,category\n");
    while csv.len() <= 16 * 1024 * 1024 {
        csv.push_str("1,2026-10-05T08:00:00Z,30,a.kowalski,technical\n");
    }
    let r = app.post_csv("/api/v1/time-entries/import", &csv).await;
    assert_problem(&r, 413, "payload_too_large");

    // The server is still fine afterwards.
    app.get("/api/v1/customers").await.expect(200);
});

both_backends!(missing_or_bad_key_is_401, |app| {
    for path in ["/api/v1/customers", "/api/v1/plans", "/api/v1/subscriptions", "/api/v1/time-entries"] {
        let r = app.send("GET", path, None, None, None).await;
        assert_problem(&r, 401, "unauthorized");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{path}");

        let r = app.send("GET", path, Some("sb_not-a-real-token"), None, None).await;
        assert_problem(&r, 401, "unauthorized");
    }
    // A write without a key writes nothing.
    let r = app
        .send("POST", "/api/v1/customers", None, Some("application/json"), Some(mueller().to_string().into_bytes()))
        .await;
    assert_problem(&r, 401, "unauthorized");
    // The admin token, but not as a Bearer token.
    let r = app.get_with_authorization("/api/v1/customers", &format!("Basic {}", app.admin_token)).await;
    assert_problem(&r, 401, "unauthorized");
    let r = app.get_with_authorization("/api/v1/customers", &app.admin_token).await;
    assert_problem(&r, 401, "unauthorized");
    // ...and as one it works.
    app.get_with_authorization("/api/v1/customers", &format!("Bearer {}", app.admin_token)).await.expect(200);
    assert!(app.list_all("/api/v1/customers", 100).await.is_empty());

    // A revoked key stops working at once.
    let token = app.make_key(supportbill::domain::vocab::Role::Finance, None);
    app.get_as(&token, "/api/v1/customers").await.expect(200);
    {
        use diesel::prelude::*;
        use supportbill::storage::schema::api_keys;
        let mut conn = app.conn();
        let id: i64 = api_keys::table
            .filter(api_keys::token_hash.eq(supportbill::service::auth::hash_token(&token)))
            .select(api_keys::id)
            .first(&mut *conn)
            .unwrap();
        supportbill::service::api_keys::revoke(&mut conn, id, chrono::Utc::now().naive_utc()).unwrap();
    }
    assert_problem(&app.get_as(&token, "/api/v1/customers").await, 401, "unauthorized");

    // /healthz needs no key.
    let r = app.send("GET", "/healthz", None, None, None).await.expect(200);
    assert_eq!(r.body["status"], "ok");
});

both_backends!(unknown_route_is_404_problem, |app| {
    for path in ["/api/v1/nope", "/nope", "/api/v2/customers"] {
        let r = app.get(path).await;
        assert_problem(&r, 404, "not_found");
    }
    // Without a key, everything under /api/v1 is a 401 first; elsewhere a 404.
    assert_problem(&app.send("GET", "/api/v1/nope", None, None, None).await, 401, "unauthorized");
    for path in ["/nope", "/api/v2/customers"] {
        assert_problem(&app.send("GET", path, None, None, None).await, 404, "not_found");
    }
    // A non-numeric id is not a 500.
    let r = app.get("/api/v1/customers/abc").await;
    assert!(r.status == 404 || r.status == 422, "{} {}", r.status, r.text);
    assert!(r.content_type.starts_with("application/problem+json"), "{}", r.content_type);
});

// A 422 names the parameter or field at fault, also when it is a query parameter of the wrong
// type, a missing one, or a field the body should not have: `query` and `body` said nothing.
both_backends!(errors_name_the_query_parameter_or_body_field, |app| {
    for (path, field) in [
        ("/api/v1/invoices?limit=ten", "limit"),
        ("/api/v1/invoices?customer_id=x", "customer_id"),
        ("/api/v1/subscriptions?customer_id=1.5", "customer_id"),
        ("/api/v1/credit-notes?customer_id=abc", "customer_id"),
        ("/api/v1/reports/usage?to=2026-11-01", "from"),
        ("/api/v1/customers?limit=", "limit"),
    ] {
        let r = app.get(path).await;
        assert_invalid(&r, field);
        assert!(
            r.body["errors"][0]["message"].as_str().unwrap().starts_with("invalid query parameter"),
            "{path}: {}",
            r.text
        );
    }
    let mut plan = standard_plan();
    plan["hourly_rte"] = json!("120.00");
    assert_invalid(&app.post_json("/api/v1/plans", &plan).await, "hourly_rte");
    let mut plan = standard_plan();
    plan.as_object_mut().unwrap().remove("name");
    assert_invalid(&app.post_json("/api/v1/plans", &plan).await, "name");
    let mut plan = standard_plan();
    plan["hours_of_service"].as_object_mut().unwrap().remove("timezone");
    assert_invalid(&app.post_json("/api/v1/plans", &plan).await, "hours_of_service.timezone");
    assert_eq!(app.list_all("/api/v1/plans", 100).await.len(), 0, "nothing was created");
});
