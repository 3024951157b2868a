//! Invoices over HTTP: the SPEC section 2 worked examples end to end, the lifecycle of
//! section 3 (claims, issue numbers, snapshots, void), and concurrent issuing.

use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::*;
use supportbill::domain::pricing::LineKind;
use supportbill::domain::vocab::Role;

fn entry_at(sub: i64, started_at: &str, minutes: i64, category: &str) -> Value {
    json!({"subscription_id": sub, "agent": "a.kowalski", "started_at": started_at,
           "minutes": minutes, "category": category})
}

const OCTOBER: &str = r#"{"period_start": "2026-10-01", "period_end": "2026-11-01"}"#;

fn draft_body(customer: i64) -> Value {
    let mut v: Value = serde_json::from_str(OCTOBER).unwrap();
    v["customer_id"] = json!(customer);
    v
}

/// (kind, category, quantity_minutes, unit_price, amount) of every line.
fn line_summary(invoice: &Value) -> Vec<(String, String, String, String, String)> {
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

fn s(x: &str) -> String {
    x.to_string()
}

/// Plan H: the SPEC's hourly example, e1..e5.
async fn plan_h_entries(app: &TestApp, sub: i64) -> Vec<i64> {
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
        &json!({"customer_id": customer, "plan_id": plan,
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
        &json!({"customer_id": idle, "plan_id": plan, "product": "azure", "name": "Azure plan"}),
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

both_backends!(concurrent_issue_and_delete_of_the_same_drafts_leave_no_gap, |app| {
    let plan = create(app, "/api/v1/plans", &standard_plan()).await["id"].as_i64().unwrap();
    for i in 0..8 {
        let c = create(app, "/api/v1/customers", &customer_named(&format!("Race {i}"))).await["id"].as_i64().unwrap();
        let sub = create(
            app,
            "/api/v1/subscriptions",
            &json!({"customer_id": c, "plan_id": plan, "product": "azure", "name": "Azure plan"}),
        )
        .await["id"]
            .as_i64()
            .unwrap();
        app.post_json("/api/v1/time-entries", &entry_at(sub, "2026-10-05T08:00:00Z", 50, "technical"))
            .await
            .expect(201);
    }
    let run: Value = serde_json::from_str(OCTOBER).unwrap();
    let ids: Vec<i64> = app
        .post_json("/api/v1/invoices/run", &run)
        .await
        .expect(201)
        .data()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    // Every draft is issued and deleted at the same time: each ends up one or the other.
    let empty = json!({});
    let issue_paths: Vec<String> = ids.iter().map(|id| format!("/api/v1/invoices/{id}/issue")).collect();
    let delete_paths: Vec<String> = ids.iter().map(|id| format!("/api/v1/invoices/{id}")).collect();
    let issues = futures_util::future::join_all(issue_paths.iter().map(|p| app.post_json(p, &empty)));
    let deletes = futures_util::future::join_all(delete_paths.iter().map(|p| app.delete(p)));
    let (issued, deleted) = futures_util::future::join(issues, deletes).await;
    for (i, (iss, del)) in issued.iter().zip(deleted.iter()).enumerate() {
        let outcome = (iss.status, del.status);
        assert!(
            outcome == (200, 409) || outcome == (409, 204) || outcome == (404, 204),
            "draft {i}: issue {} / delete {}: {} {}",
            iss.status,
            del.status,
            iss.text,
            del.text
        );
    }
    let mut numbers: Vec<String> = app
        .list_all("/api/v1/invoices?status=issued", 100)
        .await
        .iter()
        .map(|i| i["number"].as_str().unwrap().to_string())
        .collect();
    numbers.sort();
    let expected: Vec<String> = (1..=numbers.len()).map(|n| format!("INV-{n:06}")).collect();
    assert_eq!(numbers, expected, "issued numbers have a gap");
    let issued_ok = issued.iter().filter(|r| r.status == 200).count();
    assert_eq!(numbers.len(), issued_ok, "an invoice that was issued (200) has gone");
});

both_backends!(twelve_concurrent_issues_get_contiguous_numbers, |app| {
    let plan = create(app, "/api/v1/plans", &standard_plan()).await["id"].as_i64().unwrap();
    for i in 0..12 {
        let c =
            create(app, "/api/v1/customers", &customer_named(&format!("Customer {i}"))).await["id"].as_i64().unwrap();
        let sub = create(
            app,
            "/api/v1/subscriptions",
            &json!({"customer_id": c, "plan_id": plan, "product": "azure", "name": "Azure plan"}),
        )
        .await["id"]
            .as_i64()
            .unwrap();
        app.post_json("/api/v1/time-entries", &entry_at(sub, "2026-10-05T08:00:00Z", 50, "technical"))
            .await
            .expect(201);
    }
    let run: Value = serde_json::from_str(OCTOBER).unwrap();
    let drafts = app.post_json("/api/v1/invoices/run", &run).await.expect(201);
    let ids: Vec<i64> = drafts.data().iter().map(|d| d["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), 12);
    let paths: Vec<String> = ids.iter().map(|id| format!("/api/v1/invoices/{id}/issue")).collect();
    let empty = json!({});
    let responses = futures_util::future::join_all(paths.iter().map(|p| app.post_json(p, &empty))).await;
    let mut issued: Vec<(String, String)> = responses
        .into_iter()
        .map(|r| {
            let r = r.expect(200);
            (r.body["number"].as_str().unwrap().to_string(), r.body["issued_at"].as_str().unwrap().to_string())
        })
        .collect();
    issued.sort();
    let numbers: Vec<String> = issued.iter().map(|(n, _)| n.clone()).collect();
    let expected: Vec<String> = (1..=12).map(|n| format!("INV-{n:06}")).collect();
    assert_eq!(numbers, expected);
    // Strictly increasing in issue order: issue times follow the numbers.
    let times: Vec<chrono::DateTime<chrono::FixedOffset>> =
        issued.iter().map(|(_, t)| chrono::DateTime::parse_from_rfc3339(t).unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "issue times out of number order: {issued:?}");
});

/// Eight customers with October time on one plan; returns the run's draft ids.
async fn eight_drafts(app: &TestApp) -> Vec<i64> {
    let plan = create(app, "/api/v1/plans", &standard_plan()).await["id"].as_i64().unwrap();
    for i in 0..8 {
        let c = create(app, "/api/v1/customers", &customer_named(&format!("Bulk {i}"))).await["id"].as_i64().unwrap();
        let sub = create(
            app,
            "/api/v1/subscriptions",
            &json!({"customer_id": c, "plan_id": plan, "product": "azure", "name": "Azure plan"}),
        )
        .await["id"]
            .as_i64()
            .unwrap();
        app.post_json("/api/v1/time-entries", &entry_at(sub, "2026-10-05T08:00:00Z", 50 + i, "technical"))
            .await
            .expect(201);
    }
    let run: Value = serde_json::from_str(OCTOBER).unwrap();
    app.post_json("/api/v1/invoices/run", &run)
        .await
        .expect(201)
        .data()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect()
}

both_backends!(bulk_issue_numbers_a_run_in_id_order_all_or_nothing, |app| {
    let ids = eight_drafts(app).await;
    assert_eq!(ids.len(), 8);
    // One of them is issued alone first: INV-000001.
    let single = app.post_json(&format!("/api/v1/invoices/{}/issue", ids[3]), &json!({})).await.expect(200).body;
    assert_eq!(single["number"], "INV-000001");
    // A bulk issue that includes it fails whole, naming it, and numbers nothing.
    let r = app.post_json("/api/v1/invoices/issue", &json!({"invoice_ids": ids})).await;
    assert_problem(&r, 409, "invalid_status");
    assert!(r.body["detail"].as_str().unwrap().contains(&ids[3].to_string()), "{}", r.text);
    assert_eq!(app.list_all("/api/v1/invoices?status=draft", 100).await.len(), 7, "a failed bulk issue issued some");
    // Unknown ids and empty lists are bad input.
    assert_invalid(
        &app.post_json("/api/v1/invoices/issue", &json!({"invoice_ids": [ids[0], 999_999]})).await,
        "invoice_ids",
    );
    assert_invalid(&app.post_json("/api/v1/invoices/issue", &json!({"invoice_ids": []})).await, "invoice_ids");
    assert_invalid(&app.post_json("/api/v1/invoices/issue", &json!({"invoice_ids": "all"})).await, "invoice_ids");
    // The other seven, given in any order and with a duplicate, get 2..8 in id order.
    let mut rest: Vec<i64> = ids.iter().copied().filter(|&id| id != ids[3]).rev().collect();
    rest.push(rest[0]);
    let r = app.post_json("/api/v1/invoices/issue", &json!({"invoice_ids": rest})).await.expect(200);
    let got: Vec<(i64, String)> =
        r.data().iter().map(|d| (d["id"].as_i64().unwrap(), d["number"].as_str().unwrap().to_string())).collect();
    let mut sorted: Vec<i64> = ids.iter().copied().filter(|&id| id != ids[3]).collect();
    sorted.sort();
    let expected: Vec<(i64, String)> =
        sorted.iter().enumerate().map(|(i, &id)| (id, format!("INV-{:06}", i + 2))).collect();
    assert_eq!(got, expected);
    // Each is frozen like a single issue: the stored document says the same.
    for (id, number) in &expected {
        let doc = app.get(&format!("/api/v1/invoices/{id}")).await.expect(200).body;
        assert_eq!(doc["status"], "issued");
        assert_eq!(&doc["number"], number);
        assert!(doc["issued_at"].is_string() && doc["due_date"].is_string());
        assert_eq!(doc["lines"].as_array().unwrap().len(), 1);
    }
    // Finance may bulk issue; a client may not even see the route's objects.
    let client = app.make_key(Role::Client, Some(r.data()[0]["customer_id"].as_i64().unwrap()));
    let r = app.post_json_as(&client, "/api/v1/invoices/issue", &json!({"invoice_ids": [ids[0]]})).await;
    assert!(r.status == 403 || r.status == 404, "client bulk issue: {} {}", r.status, r.text);
});

both_backends!(concurrent_bulk_and_single_issues_stay_gapless, |app| {
    let ids = eight_drafts(app).await;
    // Two overlapping bulk issues and single issues of every draft, all at once: each draft is
    // issued exactly once, and the numbers are 1..=8 without a gap.
    let first_half = json!({"invoice_ids": ids[..5].to_vec()});
    let second_half = json!({"invoice_ids": ids[3..].to_vec()});
    let singles: Vec<String> = ids.iter().map(|id| format!("/api/v1/invoices/{id}/issue")).collect();
    let empty = json!({});
    let (a, b, s) = futures_util::future::join3(
        app.post_json("/api/v1/invoices/issue", &first_half),
        app.post_json("/api/v1/invoices/issue", &second_half),
        futures_util::future::join_all(singles.iter().map(|p| app.post_json(p, &empty))),
    )
    .await;
    for r in [&a, &b].into_iter().chain(s.iter()) {
        assert!(r.status == 200 || r.status == 409, "{} {}", r.status, r.text);
    }
    let mut numbers: Vec<String> = app
        .list_all("/api/v1/invoices?status=issued", 100)
        .await
        .iter()
        .map(|i| i["number"].as_str().unwrap().to_string())
        .collect();
    numbers.sort();
    let expected: Vec<String> = (1..=8).map(|n| format!("INV-{n:06}")).collect();
    assert_eq!(numbers, expected);
});

/// The bench generator's month (every billing model, tickets, after-hours work) at a small
/// size, imported through the CSV import, with one customer drafted ahead of the run so that
/// the run has claimed entries to skip.
fn generated_month(app: &TestApp, now: chrono::NaiveDateTime) -> supportbill::domain::pricing::Period {
    use chrono::NaiveDate;
    use supportbill::bench::generate::{catalog, Size};
    use supportbill::service::import::{parse_csv, SubscriptionBy};
    use supportbill::service::time_entries::Locator;
    use supportbill::service::{invoices, time_entries};
    let month = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
    let mut conn = app.conn();
    let generated = catalog(&mut conn, Size { customers: 40, entries: 3_000, seed: 7, month }).unwrap();
    let (drafts, lines) = parse_csv(&generated.csv, SubscriptionBy::Auto).unwrap();
    assert_eq!(time_entries::import(&mut conn, drafts, Locator::CsvLine(lines)).unwrap(), 3_000);
    let period =
        supportbill::domain::pricing::Period::new(month, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()).unwrap();
    let ahead = (1..=40).find_map(|customer| invoices::create_draft(&mut conn, customer, period, now).ok());
    assert!(ahead.is_some(), "some customer has something to bill");
    period
}

/// (entry, invoice) of every claim, in entry order.
fn entry_claims(app: &TestApp) -> Vec<(i64, i64)> {
    use diesel::prelude::*;
    use supportbill::storage::schema::time_entry_claims as c;
    c::table.order(c::time_entry_id).select((c::time_entry_id, c::invoice_id)).load(&mut *app.conn()).unwrap()
}

// With a second connection the run reads the period with both, in the run's snapshot, in
// windows of ids the two take in turn, and the second prices while the first writes
// (`service::period_read`, `invoices::draft_with_second`). Two databases with the same data:
// the run with one connection and the run with two draft the same invoices, line for line,
// and claim the same entries. (SQLite does not use the second connection: the same check
// holds there, as a check of the one-connection path.)
both_backends!(a_run_reading_with_a_second_connection_drafts_what_one_reader_drafts, |app| {
    use supportbill::service::invoices;
    use supportbill::storage::SecondReader;
    let twin = TestApp::spawn(app.backend).await.expect("a second database on the same backend");
    let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap().and_hms_opt(9, 0, 0).unwrap();
    let period = generated_month(app, now);
    assert_eq!(generated_month(&twin, now), period);

    let alone = invoices::run(&mut app.conn(), SecondReader::NONE, period, now).unwrap();
    let together = invoices::run(&mut twin.conn(), SecondReader::from(&twin.pool), period, now).unwrap();

    assert!(alone.len() >= 20, "{} drafts", alone.len());
    // Customer, total and line count first, for a failure one can read; then every field.
    let brief = |docs: &[supportbill::documents::model::InvoiceDocument]| {
        docs.iter().map(|d| (d.customer_id, d.total.clone(), d.lines.len())).collect::<Vec<_>>()
    };
    assert_eq!(brief(&together), brief(&alone));
    assert_eq!(serde_json::to_value(&together).unwrap(), serde_json::to_value(&alone).unwrap());
    let claims = entry_claims(app);
    assert!(claims.len() > 1_000, "{} entries claimed", claims.len());
    assert_eq!(entry_claims(&twin), claims);
    // Nothing is left to bill twice, whichever way the run reads.
    assert!(invoices::run(&mut twin.conn(), SecondReader::from(&twin.pool), period, now).unwrap().is_empty());
    // A month without entries: no window to read, and the retainers' fees are still billed.
    let november =
        supportbill::domain::pricing::Period::new(period.end(), chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
            .unwrap();
    let alone = invoices::run(&mut app.conn(), SecondReader::NONE, november, now).unwrap();
    let together = invoices::run(&mut twin.conn(), SecondReader::from(&twin.pool), november, now).unwrap();
    assert!(
        !alone.is_empty() && alone.iter().all(|d| d.lines.iter().all(|l| l.kind == LineKind::RetainerFee)),
        "{}",
        alone.len()
    );
    assert_eq!(serde_json::to_value(&together).unwrap(), serde_json::to_value(&alone).unwrap());
    twin.shutdown().await;
});

// A run queued behind another writer (another run, a draft) holds one pooled connection while
// it waits. On PostgreSQL it borrows its second connection only once it holds its customers'
// locks: two runs at once once took four of the server's connections, and the API's reads
// waited for the first run to end. (SQLite runs on one connection, and waits for its write
// lock with that one.)
both_backends!(a_run_waiting_for_another_writer_holds_one_connection, |app| {
    use diesel::RunQueryDsl;
    let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap().and_hms_opt(9, 0, 0).unwrap();
    let period = generated_month(app, now);
    let in_use = || {
        let state = app.pool.state();
        state.connections - state.idle_connections
    };
    // Another writer: it holds a customer's row (PostgreSQL) or the write lock (SQLite) until
    // told to let go.
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let pool = app.pool.clone();
    let postgres = app.backend == Backend::Postgres;
    let writer = std::thread::spawn(move || {
        let mut conn = pool.get().unwrap();
        supportbill::storage::write_tx(&mut conn, |conn| -> Result<(), diesel::result::Error> {
            if postgres {
                diesel::sql_query("SELECT id FROM customers WHERE id = 1 FOR UPDATE").execute(conn)?;
            }
            locked_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            Ok(())
        })
        .unwrap();
    });
    locked_rx.recv().unwrap();
    assert_eq!(in_use(), 1, "the other writer's connection");

    let body = json!({"period_start": period.start().to_string(), "period_end": period.end().to_string()});
    let waiting = async {
        // Until the run waits for the lock: PostgreSQL shows it; SQLite's busy wait does not.
        for _ in 0..200 {
            actix_rt::time::sleep(std::time::Duration::from_millis(25)).await;
            if !postgres {
                if in_use() == 2 {
                    break;
                }
                continue;
            }
            let waiters = diesel::sql_query("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")
                .get_result::<Count>(&mut *app.conn())
                .unwrap()
                .n;
            if waiters > 0 {
                break;
            }
        }
        // Give a second connection, were the run to take one before the locks, time to be taken.
        actix_rt::time::sleep(std::time::Duration::from_millis(100)).await;
        let held = in_use();
        release_tx.send(()).unwrap();
        held
    };
    let (run, held) = futures_util::future::join(app.post_json("/api/v1/invoices/run", &body), waiting).await;
    writer.join().unwrap();
    assert_eq!(held, 2, "the other writer's connection and the waiting run's one");
    assert!(run.expect(201).data().len() >= 20, "the run drafted once the other writer was done");
});

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

// Deleting a draft, voiding and crediting free an invoice's claims, so each waits while a run
// holds the invoice's customer (PostgreSQL: its row `FOR UPDATE`; SQLite: the write lock).
// Freed halfway through a PostgreSQL run, the run's two connections saw different claims:
// the entries free on one, their retainer month still taken on the other.
both_backends!(freeing_an_invoices_claims_waits_for_a_run_of_its_customer, |app| {
    let (customer, _plan, sub) = billing_setup(app).await;
    app.post_json("/api/v1/time-entries", &json!([entry_at(sub, "2026-10-05T08:00:00Z", 50, "technical")]))
        .await
        .expect(201);
    let draft = || async { app.post_json("/api/v1/invoices", &draft_body(customer)).await.expect(201).id() };
    let issued = || async {
        let id = draft().await;
        app.post_json(&format!("/api/v1/invoices/{id}/issue"), &json!({})).await.expect(200);
        id
    };

    let id = draft().await;
    let (r, waited) = while_a_run_holds(app, customer, app.delete(&format!("/api/v1/invoices/{id}"))).await;
    assert!(waited, "the draft's deletion waited for the run");
    r.expect(204);

    let id = issued().await;
    let (r, waited) =
        while_a_run_holds(app, customer, app.post_json(&format!("/api/v1/invoices/{id}/void"), &json!({}))).await;
    assert!(waited, "the void waited for the run");
    r.expect(200);

    let id = issued().await;
    let (r, waited) = while_a_run_holds(
        app,
        customer,
        app.post_json(&format!("/api/v1/invoices/{id}/credit-notes"), &json!({"reason": "x"})),
    )
    .await;
    assert!(waited, "the credit note waited for the run");
    r.expect(201);
    assert_eq!(app.get(&format!("/api/v1/invoices/{id}")).await.expect(200).body["status"], "credited");
});

/// Sends `request` while another transaction holds `customer` as a run does, and lets go after
/// a while; returns the answer and whether the request was still waiting when let go.
async fn while_a_run_holds(
    app: &TestApp,
    customer: i64,
    request: impl std::future::Future<Output = Resp>,
) -> (Resp, bool) {
    use diesel::RunQueryDsl;
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let pool = app.pool.clone();
    let postgres = app.backend == Backend::Postgres;
    let run = std::thread::spawn(move || {
        let mut conn = pool.get().unwrap();
        supportbill::storage::write_tx(&mut conn, |conn| -> Result<(), diesel::result::Error> {
            if postgres {
                diesel::sql_query(format!("SELECT id FROM customers WHERE id = {customer} FOR UPDATE"))
                    .execute(conn)?;
            }
            locked_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            Ok(())
        })
        .unwrap();
    });
    locked_rx.recv().unwrap();
    let done = std::cell::Cell::new(false);
    let request = async {
        let r = request.await;
        done.set(true);
        r
    };
    let watch = async {
        actix_rt::time::sleep(std::time::Duration::from_millis(400)).await;
        let waiting = !done.get();
        release_tx.send(()).unwrap();
        waiting
    };
    let (r, waited) = futures_util::future::join(request, watch).await;
    run.join().unwrap();
    (r, waited)
}
