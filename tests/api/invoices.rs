//! Invoices over HTTP: the SPEC section 2 worked examples end to end, the lifecycle of
//! section 3 (claims, issue numbers, snapshots, void). Concurrency: `invoice_numbers`, `invoice_runs`.

use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::*;
use supportbill::domain::vocab::Role;

pub(crate) fn entry_at(sub: i64, started_at: &str, minutes: i64, category: &str) -> Value {
    json!({"subscription_id": sub, "agent": "a.kowalski", "started_at": started_at,
           "minutes": minutes, "category": category})
}

pub(crate) const OCTOBER: &str = r#"{"period_start": "2026-10-01", "period_end": "2026-11-01"}"#;

pub(crate) fn draft_body(customer: i64) -> Value {
    let mut v: Value = serde_json::from_str(OCTOBER).unwrap();
    v["customer_id"] = json!(customer);
    v
}

/// (kind, category, quantity_minutes, unit_price, amount) of every line.
pub(crate) fn line_summary(invoice: &Value) -> Vec<(String, String, String, String, String)> {
    invoice["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().unwrap().to_string(),
                l["category"].as_str().unwrap_or("").to_string(),
                l["quantity_minutes"].as_str().unwrap_or("").to_string(),
                l["unit_price"].as_str().unwrap().to_string(),
                l["amount"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

pub(crate) fn s(x: &str) -> String {
    x.to_string()
}

/// Plan H: the SPEC's hourly example, e1..e5.
pub(crate) async fn plan_h_entries(app: &TestApp, sub: i64) -> Vec<i64> {
    let batch = json!([
        entry_at(sub, "2026-10-05T08:00:00Z", 50, "technical"),
        entry_at(sub, "2026-10-06T17:30:00Z", 10, "technical"),
        entry_at(sub, "2026-10-07T09:00:00Z", 20, "billing"),
        entry_at(sub, "2026-10-10T10:00:00Z", 45, "subscription_management"),
        entry_at(sub, "2026-11-01T00:10:00Z", 30, "technical"),
    ]);
    let r = app.post_json("/api/v1/time-entries", &batch).await.expect(201);
    r.data().iter().map(|e| e["id"].as_i64().unwrap()).collect()
}

both_backends!(worked_example_plan_h, |app| {
    let (customer, _plan, sub) = billing_setup(app).await;
    let ids = plan_h_entries(app, sub).await;
    let inv = app.post_json("/api/v1/invoices", &draft_body(customer)).await.expect(201).body;
    assert_eq!(inv["status"], "draft");
    assert_eq!(inv["currency"], "EUR");
    assert_eq!(
        line_summary(&inv),
        vec![
            (s("support_time"), s("technical"), s("60"), s("150.00"), s("150.00")),
            (s("after_hours_support_time"), s("technical"), s("30"), s("225.00"), s("112.50")),
            (s("after_hours_support_time"), s("subscription_management"), s("45"), s("180.00"), s("135.00")),
        ]
    );
    assert_eq!(inv["lines"][0]["quantity"], "1.00");
    assert_eq!(inv["subtotal"], "397.50");
    assert_eq!(inv["tax"], "75.53");
    assert_eq!(inv["total"], "473.03");
    // e1, e2, e4 are claimed; e3 (billing) and e5 (November) are not.
    let id = inv["id"].as_i64().unwrap();
    for (i, entry_id) in ids.iter().enumerate() {
        let e = app.get(&format!("/api/v1/time-entries/{entry_id}")).await.expect(200).body;
        let expected = if [0, 1, 3].contains(&i) { json!(id) } else { Value::Null };
        assert_eq!(e["invoice_id"], expected, "entry e{}", i + 1);
    }
});

both_backends!(worked_example_plan_r, |app| {
    let customer = create(
        app,
        "/api/v1/customers",
        &json!({"name": "Contoso Ltd", "currency": "USD",
        "tax_rate_percent": "0", "country": "US", "email": "ap@contoso.example"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let plan = create(app, "/api/v1/plans", &json!({"name": "Retainer", "currency": "USD", "billing_model": "retainer",
        "monthly_fee": "500.00", "included_minutes": 120, "hourly_rate": "100.00", "after_hours_multiplier": "2",
        "rounding_increment_minutes": 1,
        "hours_of_service": {"timezone": "UTC", "days": ["mon","tue","wed","thu","fri"], "start": "08:00", "end": "18:00"}}))
        .await["id"].as_i64().unwrap();
    let sub = create(
        app,
        "/api/v1/subscriptions",
        &json!({"customer_id": customer, "plan_id": plan, "start_date": "2026-01-01",
        "product": "microsoft_365", "name": "Microsoft 365 E3"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    app.post_json(
        "/api/v1/time-entries",
        &json!([
            entry_at(sub, "2026-10-01T10:00:00Z", 90, "technical"),
            entry_at(sub, "2026-10-03T10:00:00Z", 40, "technical"),
        ]),
    )
    .await
    .expect(201);
    let inv = app.post_json("/api/v1/invoices", &draft_body(customer)).await.expect(201).body;
    assert_eq!(
        line_summary(&inv),
        vec![
            (s("retainer_fee"), s(""), s(""), s("500.00"), s("500.00")),
            (s("overage"), s("technical"), s("50"), s("100.00"), s("83.33")),
        ]
    );
    assert_eq!(inv["lines"][0]["month"], "2026-10-01");
    assert_eq!(inv["total"], "583.33");

    // An entry of October entered late: no second fee, and the allowance is already used up.
    let inv_id = inv["id"].as_i64().unwrap();
    app.post_json(&format!("/api/v1/invoices/{inv_id}/issue"), &json!({})).await.expect(200);
    app.post_json("/api/v1/time-entries", &entry_at(sub, "2026-10-20T10:00:00Z", 30, "technical")).await.expect(201);
    let late = app.post_json("/api/v1/invoices", &draft_body(customer)).await.expect(201).body;
    assert_eq!(line_summary(&late), vec![(s("overage"), s("technical"), s("30"), s("100.00"), s("50.00"))]);
});

both_backends!(lifecycle_claims_issue_void, |app| {
    let (customer, _plan, sub) = billing_setup(app).await;
    let ids = plan_h_entries(app, sub).await;
    let draft = app.post_json("/api/v1/invoices", &draft_body(customer)).await.expect(201).body;
    let id = draft["id"].as_i64().unwrap();

    // A second draft finds nothing left: the first claimed everything chargeable.
    let again = app.post_json("/api/v1/invoices", &draft_body(customer)).await;
    assert_problem(&again, 422, "nothing_to_invoice");
    // Claimed entries are frozen.
    assert_problem(&app.delete(&format!("/api/v1/time-entries/{}", ids[0])).await, 409, "claimed");
    assert_problem(
        &app.patch_json(
            &format!("/api/v1/time-entries/{}", ids[0]),
            &entry_at(sub, "2026-10-05T08:00:00Z", 5, "technical"),
        )
        .await,
        409,
        "claimed",
    );
    // The unclaimed one (billing category) may still change.
    app.delete(&format!("/api/v1/time-entries/{}", ids[2])).await.expect(204);

    // Deleting the draft frees its entries; a new draft takes them again.
    app.delete(&format!("/api/v1/invoices/{id}")).await.expect(204);
    let e = app.get(&format!("/api/v1/time-entries/{}", ids[0])).await.expect(200).body;
    assert_eq!(e["invoice_id"], Value::Null);
    let draft = app.post_json("/api/v1/invoices", &draft_body(customer)).await.expect(201).body;
    let id = draft["id"].as_i64().unwrap();

    // Clients never see drafts.
    let client = app.make_key(Role::Client, Some(customer));
    assert_eq!(app.get_as(&client, &format!("/api/v1/invoices/{id}")).await.status, 404);

    let issued = app.post_json(&format!("/api/v1/invoices/{id}/issue"), &json!({})).await.expect(200).body;
    assert_eq!(issued["number"], "INV-000001");
    assert_eq!(issued["status"], "issued");
    let issued_at = chrono::DateTime::parse_from_rfc3339(issued["issued_at"].as_str().unwrap()).unwrap();
    let due = chrono::NaiveDate::parse_from_str(issued["due_date"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    assert_eq!(due, issued_at.date_naive() + chrono::Days::new(30));
    assert_problem(&app.post_json(&format!("/api/v1/invoices/{id}/issue"), &json!({})).await, 409, "invalid_status");
    assert_problem(&app.delete(&format!("/api/v1/invoices/{id}")).await, 409, "invalid_status");

    // The issued invoice is frozen: renaming the customer and the partner changes nothing.
    let before = app.get(&format!("/api/v1/invoices/{id}")).await.expect(200).text;
    let mut renamed = mueller();
    renamed["name"] = json!("Müller & Söhne AG");
    app.put_json(&format!("/api/v1/customers/{customer}"), &renamed).await.expect(200);
    app.put_json(
        "/api/v1/partner",
        &json!({"name": "Other Partner", "address": "x", "country": "DE", "tax_id": "DE1",
        "invoice_prefix": "RE-", "payment_terms_days": 14}),
    )
    .await
    .expect(200);
    let after = app.get(&format!("/api/v1/invoices/{id}")).await.expect(200).text;
    assert_eq!(before, after);
    assert!(after.contains("Müller & Söhne GmbH"));
    // The client now sees it.
    let seen = app.get_as(&client, &format!("/api/v1/invoices/{id}")).await.expect(200).body;
    assert_eq!(seen["number"], "INV-000001");

    // Void keeps the number and frees the entries; the next issue uses the new prefix.
    let void = app.post_json(&format!("/api/v1/invoices/{id}/void"), &json!({})).await.expect(200).body;
    assert_eq!(void["status"], "void");
    assert_eq!(void["number"], "INV-000001");
    let e = app.get(&format!("/api/v1/time-entries/{}", ids[0])).await.expect(200).body;
    assert_eq!(e["invoice_id"], Value::Null);
    let redo = app.post_json("/api/v1/invoices", &draft_body(customer)).await.expect(201).body;
    assert_eq!(redo["total"], "473.03");
    let redo = app.post_json(&format!("/api/v1/invoices/{}/issue", redo["id"]), &json!({})).await.expect(200).body;
    assert_eq!(redo["number"], "RE-000002");

    // The register lists both, the void one included.
    let today = chrono::Utc::now().date_naive();
    let reg = app
        .get(&format!("/api/v1/reports/invoices?from={}&to={}", today, today + chrono::Days::new(1)))
        .await
        .expect(200);
    let numbers: Vec<&str> = reg.data().iter().map(|r| r["number"].as_str().unwrap()).collect();
    assert_eq!(numbers, vec!["INV-000001", "RE-000002"]);
    assert_eq!(reg.data()[0]["status"], "void");
    // Each as invoiced: the first before the customer was renamed, the second after.
    assert_eq!(reg.data()[0]["customer_name"], "Müller & Söhne GmbH");
    assert_eq!(reg.data()[1]["customer_name"], "Müller & Söhne AG");
});

both_backends!(run_drafts_every_customer_with_something_to_bill, |app| {
    let (customer, plan, sub) = billing_setup(app).await;
    plan_h_entries(app, sub).await;
    // A second customer with no time: no draft for it.
    let idle = create(app, "/api/v1/customers", &customer_named("Idle GmbH")).await["id"].as_i64().unwrap();
    create(
        app,
        "/api/v1/subscriptions",
        &json!({"customer_id": idle, "plan_id": plan, "start_date": "2026-01-01", "product": "azure", "name": "Azure plan"}),
    )
    .await;
    let run: Value = serde_json::from_str(OCTOBER).unwrap();
    let r = app.post_json("/api/v1/invoices/run", &run).await.expect(201);
    assert_eq!(r.data().len(), 1);
    assert_eq!(r.data()[0]["customer_id"], json!(customer));
    // Running again bills nothing twice.
    let r = app.post_json("/api/v1/invoices/run", &run).await.expect(201);
    assert_eq!(r.data().len(), 0);
    // Bad periods name the field.
    let bad =
        app.post_json("/api/v1/invoices/run", &json!({"period_start": "2026-10-01", "period_end": "2026-10-01"})).await;
    assert_invalid(&bad, "period_end");
    // A typo of decades is refused rather than billing 36 years of retainer fees.
    let typo =
        app.post_json("/api/v1/invoices/run", &json!({"period_start": "2026-10-01", "period_end": "2062-11-01"})).await;
    assert_invalid(&typo, "period_end");
});

both_backends!(a_draft_made_at_an_old_tax_rate_is_not_issued, |app| {
    let (customer, _plan, sub) = billing_setup(app).await;
    plan_h_entries(app, sub).await;
    let draft = app.post_json("/api/v1/invoices", &draft_body(customer)).await.expect(201).body;
    let mut changed = mueller();
    changed["tax_rate_percent"] = json!("0");
    app.put_json(&format!("/api/v1/customers/{customer}"), &changed).await.expect(200);
    let r = app.post_json(&format!("/api/v1/invoices/{}/issue", draft["id"]), &json!({})).await;
    assert_problem(&r, 409, "stale_draft");
    // Nothing was numbered: after re-drafting, the first issue is still INV-000001 at 0 % tax.
    app.delete(&format!("/api/v1/invoices/{}", draft["id"])).await.expect(204);
    let redo = app.post_json("/api/v1/invoices", &draft_body(customer)).await.expect(201).body;
    let issued = app.post_json(&format!("/api/v1/invoices/{}/issue", redo["id"]), &json!({})).await.expect(200).body;
    assert_eq!(issued["number"], "INV-000001");
    assert_eq!(issued["tax"], "0.00");
    assert_eq!(issued["total"], "397.50");
});
