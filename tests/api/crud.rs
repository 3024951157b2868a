//! Customers, plans and subscriptions: create, read, change, list (paged), delete, with the
//! SPEC section 5 bodies; decimals leave the service as strings.

use serde_json::json;

use crate::fixtures::*;
use crate::harness::*;

both_backends!(customer_crud, |app| {
    // Create: SPEC 5 body, Unicode name kept byte for byte, decimals as strings.
    let r = app.post_json("/api/v1/customers", &mueller()).await.expect(201);
    assert!(r.content_type.starts_with("application/json"), "{}", r.content_type);
    let c = &r.body;
    let id = r.id();
    assert_eq!(c["name"], "Müller & Söhne GmbH");
    assert_eq!(c["currency"], "EUR");
    assert_eq!(c["tax_rate_percent"], json!("19"), "tax rate must be the decimal string \"19\"");
    assert_eq!(c["country"], "DE");
    assert_eq!(c["email"], "ap@mueller.example");
    assert_eq!(c["billing_address"], "Hauptstr. 1, 10115 Berlin");
    assert_eq!(c["tax_id"], "DE123456789");
    assert_eq!(c["external_id"], "5f0c1d2e-0000-4000-8000-000000000001");
    let created_at = c["created_at"].as_str().expect("created_at");
    assert!(chrono::DateTime::parse_from_rfc3339(created_at).is_ok(), "created_at {created_at} is RFC 3339");

    // Read back: the same document.
    let got = app.get(&format!("/api/v1/customers/{id}")).await.expect(200);
    assert_eq!(got.body, r.body);

    // Second customer in Cyrillic and another currency.
    let r2 = app.post_json("/api/v1/customers", &romashka()).await.expect(201);
    assert_eq!(r2.body["name"], "ООО «Ромашка»");
    assert_eq!(r2.body["currency"], "USD");
    assert_eq!(r2.body["tax_rate_percent"], "0");

    // Same external_id twice: 409 naming the field.
    let dup = app.post_json("/api/v1/customers", &mueller()).await;
    assert_problem(&dup, 409, "duplicate");
    assert!(dup.body["detail"].as_str().unwrap().contains("external_id"), "{}", dup.text);

    // Update: a fractional tax rate, a new address.
    let mut changed = mueller();
    changed["tax_rate_percent"] = json!("7.5");
    changed["billing_address"] = json!("Neue Str. 2, 10115 Berlin");
    let u = app.put_json(&format!("/api/v1/customers/{id}"), &changed).await.expect(200);
    assert_eq!(u.body["tax_rate_percent"], "7.5");
    assert_eq!(u.body["billing_address"], "Neue Str. 2, 10115 Berlin");
    assert_eq!(u.body["created_at"], c["created_at"], "update must not touch created_at");
    let got = app.get(&format!("/api/v1/customers/{id}")).await.expect(200);
    assert_eq!(got.body["tax_rate_percent"], "7.5");

    // Delete the unused customer; then it is gone.
    app.delete(&format!("/api/v1/customers/{}", r2.id())).await.expect(204);
    let gone = app.get(&format!("/api/v1/customers/{}", r2.id())).await;
    assert_problem(&gone, 404, "not_found");
    assert_problem(&app.get("/api/v1/customers/999999").await, 404, "not_found");
});

both_backends!(plan_crud, |app| {
    let r = app.post_json("/api/v1/plans", &standard_plan()).await.expect(201);
    let p = &r.body;
    let id = r.id();
    assert_eq!(p["name"], "Standard");
    assert_eq!(p["scope"], "Azure and Microsoft 365 incidents");
    assert_eq!(p["currency"], "EUR");
    assert_eq!(p["billing_model"], "hourly");
    assert_eq!(p["hourly_rate"], json!("120.00"), "the rate's digits as sent");
    assert_eq!(p["category_rates"], json!({"technical": "150.00"}));
    assert_eq!(p["after_hours_multiplier"], json!("1.5"));
    assert_eq!(p["rounding_increment_minutes"], 15);
    assert_eq!(p["minimum_minutes"], 30);
    let mut cats: Vec<&str> =
        p["chargeable_categories"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    cats.sort();
    assert_eq!(cats, ["subscription_management", "technical"]);
    assert_eq!(
        p["hours_of_service"],
        json!({"timezone": "Europe/Berlin", "days": ["mon","tue","wed","thu","fri"], "start": "09:00", "end": "17:00"})
    );
    assert_eq!(p["contact_methods"], json!([{"kind": "email", "value": "support@partner.example"}]));

    assert_eq!(app.get(&format!("/api/v1/plans/{id}")).await.expect(200).body, r.body);

    // Retainer plan: the extra fields.
    let mut retainer = standard_plan();
    retainer["name"] = json!("Retainer");
    retainer["billing_model"] = json!("retainer");
    retainer["monthly_fee"] = json!("500.00");
    retainer["included_minutes"] = json!(600);
    let rr = app.post_json("/api/v1/plans", &retainer).await.expect(201);
    assert_eq!(rr.body["billing_model"], "retainer");
    assert_eq!(rr.body["monthly_fee"], json!("500.00"));
    assert_eq!(rr.body["included_minutes"], 600);

    // Update: a new rate.
    let mut changed = standard_plan();
    changed["hourly_rate"] = json!("130.50");
    let u = app.put_json(&format!("/api/v1/plans/{id}"), &changed).await.expect(200);
    assert_eq!(u.body["hourly_rate"], "130.50");
    assert_eq!(app.get(&format!("/api/v1/plans/{id}")).await.expect(200).body["hourly_rate"], "130.50");

    // Delete the retainer plan (unused).
    app.delete(&format!("/api/v1/plans/{}", rr.id())).await.expect(204);
    assert_problem(&app.get(&format!("/api/v1/plans/{}", rr.id())).await, 404, "not_found");
});

both_backends!(subscription_crud, |app| {
    let customer = create(app, "/api/v1/customers", &mueller()).await["id"].as_i64().unwrap();
    let plan = create(app, "/api/v1/plans", &standard_plan()).await["id"].as_i64().unwrap();
    let body = json!({"customer_id": customer, "plan_id": plan, "start_date": "2026-01-01", "product": "azure", "name": "Azure plan",
                      "external_id": "a1b2c3d4-0000-4000-8000-00000000aaaa"});
    let r = app.post_json("/api/v1/subscriptions", &body).await.expect(201);
    let id = r.id();
    assert_eq!(r.body["customer_id"], customer);
    assert_eq!(r.body["plan_id"], plan);
    assert_eq!(r.body["product"], "azure");
    assert_eq!(r.body["name"], "Azure plan");
    assert_eq!(r.body["external_id"], "a1b2c3d4-0000-4000-8000-00000000aaaa");
    assert_eq!(r.body["status"], "active", "status defaults to active");
    assert_eq!(app.get(&format!("/api/v1/subscriptions/{id}")).await.expect(200).body, r.body);

    // Same external_id again: 409.
    assert_problem(&app.post_json("/api/v1/subscriptions", &body).await, 409, "duplicate");

    // PATCH: only the named fields change.
    let p = app.patch_json(&format!("/api/v1/subscriptions/{id}"), &json!({"status": "suspended"})).await.expect(200);
    assert_eq!(p.body["status"], "suspended");
    assert_eq!(p.body["name"], "Azure plan");
    assert_eq!(p.body["product"], "azure");
    let p =
        app.patch_json(&format!("/api/v1/subscriptions/{id}"), &json!({"name": "Azure plan (prod)"})).await.expect(200);
    assert_eq!(p.body["status"], "suspended");
    assert_eq!(p.body["name"], "Azure plan (prod)");
    let bad = app.patch_json(&format!("/api/v1/subscriptions/{id}"), &json!({"status": "paused"})).await;
    assert_invalid(&bad, "status");

    // A plan used by a subscription cannot be deleted; neither can its customer.
    assert_problem(&app.delete(&format!("/api/v1/plans/{plan}")).await, 409, "plan_in_use");
    assert_problem(&app.delete(&format!("/api/v1/customers/{customer}")).await, 409, "customer_in_use");

    // Filter by customer.
    let other = create(app, "/api/v1/customers", &customer_named("Contoso")).await["id"].as_i64().unwrap();
    create(
        app,
        "/api/v1/subscriptions",
        &json!({"customer_id": other, "plan_id": plan, "start_date": "2026-01-01", "product": "microsoft_365", "name": "M365 E3"}),
    )
    .await;
    let mine = app.list_all(&format!("/api/v1/subscriptions?customer_id={customer}"), 50).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["id"], id);
    assert_eq!(app.list_all("/api/v1/subscriptions", 50).await.len(), 2);

    // Unused subscription: delete, then 404.
    app.delete(&format!("/api/v1/subscriptions/{id}")).await.expect(204);
    assert_problem(&app.get(&format!("/api/v1/subscriptions/{id}")).await, 404, "not_found");
    // Now the customer has none left... but the other one still uses the plan.
    app.delete(&format!("/api/v1/customers/{customer}")).await.expect(204);
    assert_problem(&app.delete(&format!("/api/v1/plans/{plan}")).await, 409, "plan_in_use");
});

both_backends!(list_pagination_walks_every_item_once, |app| {
    let names = ["Alpha AG", "Beta GmbH", "ООО «Ромашка»", "Delta SE", "Épsilon SARL"];
    let mut ids = Vec::new();
    for n in names {
        ids.push(create(app, "/api/v1/customers", &customer_named(n)).await["id"].as_i64().unwrap());
    }

    // limit=1: one item a page, next_cursor to the end, null on the last page.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let url = match &cursor {
            None => "/api/v1/customers?limit=1".to_string(),
            Some(c) => format!("/api/v1/customers?limit=1&cursor={c}"),
        };
        let page = app.get(&url).await.expect(200);
        pages += 1;
        assert!(pages <= names.len(), "more pages than customers: {}", page.text);
        assert_eq!(page.data().len(), 1, "limit=1 page: {}", page.text);
        seen.push((page.data()[0]["id"].as_i64().unwrap(), page.data()[0]["name"].as_str().unwrap().to_string()));
        match &page.body["next_cursor"] {
            serde_json::Value::Null => break,
            serde_json::Value::String(c) => cursor = Some(c.clone()),
            other => panic!("next_cursor must be a string or null, got {other}"),
        }
    }
    assert_eq!(pages, names.len());
    let seen_ids: Vec<i64> = seen.iter().map(|s| s.0).collect();
    assert_eq!(seen_ids, ids, "each customer once, in creation order");
    let seen_names: Vec<&str> = seen.iter().map(|s| s.1.as_str()).collect();
    assert_eq!(seen_names, names);

    // limit=2: pages of 2, 2, 1.
    let p1 = app.get("/api/v1/customers?limit=2").await.expect(200);
    assert_eq!(p1.data().len(), 2);
    let c1 = p1.body["next_cursor"].as_str().expect("cursor").to_string();
    let p2 = app.get(&format!("/api/v1/customers?limit=2&cursor={c1}")).await.expect(200);
    assert_eq!(p2.data().len(), 2);
    let c2 = p2.body["next_cursor"].as_str().expect("cursor").to_string();
    let p3 = app.get(&format!("/api/v1/customers?limit=2&cursor={c2}")).await.expect(200);
    assert_eq!(p3.data().len(), 1);
    assert!(p3.body["next_cursor"].is_null());

    // A full page: no cursor.
    let all = app.get("/api/v1/customers").await.expect(200);
    assert_eq!(all.data().len(), names.len());
    assert!(all.body["next_cursor"].is_null());

    // Bad paging parameters are 422 naming them.
    assert_invalid(&app.get("/api/v1/customers?limit=0").await, "limit");
    assert_invalid(&app.get("/api/v1/customers?limit=1001").await, "limit");
    assert_invalid(&app.get("/api/v1/customers?cursor=garbage").await, "cursor");

    // Plans page the same way.
    for i in 0..3 {
        let mut p = standard_plan();
        p["name"] = json!(format!("Plan {i}"));
        create(app, "/api/v1/plans", &p).await;
    }
    let plans = app.list_all("/api/v1/plans", 1).await;
    let plan_names: Vec<&str> = plans.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(plan_names, ["Plan 0", "Plan 1", "Plan 2"]);
});
