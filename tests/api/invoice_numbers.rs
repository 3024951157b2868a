//! Invoice numbers under concurrency: issuing, deleting and bulk issuing at once leave no gap
//! and no duplicate.

use crate::fixtures::*;
use crate::harness::*;
use serde_json::{json, Value};
use supportbill::domain::vocab::Role;

use crate::invoices::*;

both_backends!(concurrent_issue_and_delete_of_the_same_drafts_leave_no_gap, |app| {
    let plan = create(app, "/api/v1/plans", &standard_plan()).await["id"].as_i64().unwrap();
    for i in 0..8 {
        let c = create(app, "/api/v1/customers", &customer_named(&format!("Race {i}"))).await["id"].as_i64().unwrap();
        let sub = create(
            app,
            "/api/v1/subscriptions",
            &json!({"customer_id": c, "plan_id": plan, "start_date": "2026-01-01", "product": "azure", "name": "Azure plan"}),
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
            &json!({"customer_id": c, "plan_id": plan, "start_date": "2026-01-01", "product": "azure", "name": "Azure plan"}),
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
            &json!({"customer_id": c, "plan_id": plan, "start_date": "2026-01-01", "product": "azure", "name": "Azure plan"}),
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
