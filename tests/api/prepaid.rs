//! Prepaid hours (SPEC 7.5) over HTTP: recording blocks, the SPEC's worked example of two
//! blocks drawn over two months (void, redraft and deleted drafts give the minutes back), client
//! keys reading their own blocks, overage once the blocks run out, and the checks on input.

use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::*;
use crate::invoices::{entry_at, line_summary, s};
use supportbill::domain::vocab::Role;

/// A prepaid plan: overage at 100.00 EUR an hour, rounded to the minute, every day in hours
/// (UTC), no after-hours surcharge.
fn prepaid_plan() -> Value {
    json!({"name": "Prepaid hours", "currency": "EUR", "billing_model": "prepaid", "hourly_rate": "100.00",
           "rounding_increment_minutes": 1,
           "hours_of_service": {"timezone": "UTC", "days": ["mon","tue","wed","thu","fri","sat","sun"],
                                "start": "00:00", "end": "23:59"}})
}

/// A subscription of `customer` on `plan`.
async fn subscription(app: &TestApp, customer: i64, plan: i64) -> i64 {
    create(
        app,
        "/api/v1/subscriptions",
        &json!({"customer_id": customer, "plan_id": plan, "start_date": "2026-01-01", "product": "azure", "name": "Azure plan"}),
    )
    .await["id"]
        .as_i64()
        .unwrap()
}

/// Müller (19% tax) on `plan`: `(customer, subscription)`.
async fn setup(app: &TestApp, plan: &Value) -> (i64, i64) {
    let customer = create(app, "/api/v1/customers", &mueller()).await["id"].as_i64().unwrap();
    let plan = create(app, "/api/v1/plans", plan).await["id"].as_i64().unwrap();
    (customer, subscription(app, customer, plan).await)
}

async fn block(app: &TestApp, sub: i64, body: Value) -> i64 {
    create(app, &format!("/api/v1/subscriptions/{sub}/blocks"), &body).await["id"].as_i64().unwrap()
}

/// (used, left, billed_on_invoice) of each block, in id order.
async fn balances_as(app: &TestApp, token: &str, sub: i64) -> Vec<(String, String, Option<i64>)> {
    let r = app.get_as(token, &format!("/api/v1/subscriptions/{sub}/blocks")).await.expect(200);
    r.data()
        .iter()
        .map(|b| (s(b["used"].as_str().unwrap()), s(b["left"].as_str().unwrap()), b["billed_on_invoice"].as_i64()))
        .collect()
}

async fn balances(app: &TestApp, sub: i64) -> Vec<(String, String, Option<i64>)> {
    balances_as(app, &app.admin_token, sub).await
}

async fn draft(app: &TestApp, customer: i64, start: &str, end: &str) -> Value {
    app.post_json("/api/v1/invoices", &json!({"customer_id": customer, "period_start": start, "period_end": end}))
        .await
        .expect(201)
        .body
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap()
}

both_backends!(worked_example_two_blocks_over_two_months, |app| {
    let (customer, sub) = setup(app, &prepaid_plan()).await;
    let first = block(
        app,
        sub,
        json!({"purchased_on": "2026-10-01", "minutes": 600, "price": "900.00", "expires_on": "2027-01-01"}),
    )
    .await;
    let second = block(app, sub, json!({"purchased_on": "2026-11-01", "minutes": 300, "price": 450})).await;
    let fresh = app.get(&format!("/api/v1/subscriptions/{sub}/blocks")).await.expect(200).body;
    let b = &fresh["data"][0];
    assert_eq!((b["id"].as_i64(), b["minutes"].as_i64()), (Some(first), Some(600)));
    assert_eq!(
        (&b["price"], &b["purchased_on"], &b["expires_on"]),
        (&json!("900.00"), &json!("2026-10-01"), &json!("2027-01-01"))
    );
    let b = &fresh["data"][1];
    assert_eq!(
        (b["id"].as_i64(), &b["price"], &b["expires_on"], &b["expired"]),
        (Some(second), &json!("450.00"), &Value::Null, &json!(false))
    );
    assert_eq!(balances(app, sub).await, [(s("0"), s("600"), None), (s("0"), s("300"), None)]);

    // October: 200 + 220 = 420 minutes, all from the first block.
    let entries = json!([
        entry_at(sub, "2026-10-05T10:00:00Z", 200, "technical"),
        entry_at(sub, "2026-10-12T10:00:00Z", 220, "technical"),
        entry_at(sub, "2026-11-03T10:00:00Z", 150, "technical"),
        entry_at(sub, "2026-11-10T10:00:00Z", 250, "technical"),
    ]);
    app.post_json("/api/v1/time-entries", &entries).await.expect(201);
    let october = draft(app, customer, "2026-10-01", "2026-11-01").await;
    assert_eq!(
        line_summary(&october),
        [
            (s("block_purchase"), s(""), s(""), s("900.00"), s("900.00")),
            (s("prepaid_usage"), s(""), s("420"), s("0.00"), s("0.00")),
        ]
    );
    // 420 minutes = 7:00 h drawn; 600 - 420 = 180 minutes = 3:00 h left (the second block is
    // bought after October).
    let usage = october["lines"][1]["description"].as_str().unwrap();
    assert!(usage.contains("drawn 7:00 h, left 3:00 h"), "{usage}");
    assert_eq!(october["lines"][1]["quantity"], "7.00");
    assert_eq!(
        (&october["subtotal"], &october["tax"], &october["total"]),
        (&json!("900.00"), &json!("171.00"), &json!("1071.00"))
    );
    assert_eq!(balances(app, sub).await, [(s("420"), s("180"), Some(id(&october))), (s("0"), s("300"), None)]);

    // November: 400 minutes, the first block's last 180 (150 + 30 of the second entry), then
    // 220 of the second block: 80 minutes = 1:20 h left.
    let november = draft(app, customer, "2026-11-01", "2026-12-01").await;
    assert_eq!(
        line_summary(&november),
        [
            (s("block_purchase"), s(""), s(""), s("450.00"), s("450.00")),
            (s("prepaid_usage"), s(""), s("400"), s("0.00"), s("0.00")),
        ]
    );
    let usage = november["lines"][1]["description"].as_str().unwrap();
    assert!(usage.contains("drawn 6:40 h, left 1:20 h"), "{usage}");
    // 450.00 x 19% = 85.50.
    assert_eq!(
        (&november["subtotal"], &november["tax"], &november["total"]),
        (&json!("450.00"), &json!("85.50"), &json!("535.50"))
    );
    assert_eq!(
        balances(app, sub).await,
        [(s("600"), s("0"), Some(id(&october))), (s("220"), s("80"), Some(id(&november)))]
    );

    // Issuing and voiding October gives its 420 minutes back to the first block and frees its
    // purchase.
    app.post_json(&format!("/api/v1/invoices/{}/issue", id(&october)), &json!({})).await.expect(200);
    app.post_json(&format!("/api/v1/invoices/{}/void", id(&october)), &json!({})).await.expect(200);
    assert_eq!(balances(app, sub).await, [(s("180"), s("420"), None), (s("220"), s("80"), Some(id(&november)))]);

    // October again: the same 420 minutes from the first block, and its purchase billed again.
    // Left after it: 600 - 180 - 420 = 0 (November's draft already drew the rest).
    let again = draft(app, customer, "2026-10-01", "2026-11-01").await;
    assert_eq!(line_summary(&again), line_summary(&october));
    let usage = again["lines"][1]["description"].as_str().unwrap();
    assert!(usage.contains("drawn 7:00 h, left 0:00 h"), "{usage}");
    assert_eq!(again["total"], "1071.00");
    assert_eq!(
        balances(app, sub).await,
        [(s("600"), s("0"), Some(id(&again))), (s("220"), s("80"), Some(id(&november)))]
    );

    // Deleting the drafts restores the blocks exactly as they were before any invoice.
    app.delete(&format!("/api/v1/invoices/{}", id(&again))).await.expect(204);
    assert_eq!(balances(app, sub).await, [(s("180"), s("420"), None), (s("220"), s("80"), Some(id(&november)))]);
    app.delete(&format!("/api/v1/invoices/{}", id(&november))).await.expect(204);
    assert_eq!(app.get(&format!("/api/v1/subscriptions/{sub}/blocks")).await.expect(200).body, fresh);
});

both_backends!(a_full_credit_gives_the_minutes_and_the_purchase_back, |app| {
    let (customer, sub) = setup(app, &prepaid_plan()).await;
    block(app, sub, json!({"purchased_on": "2026-10-01", "minutes": 600, "price": "900.00"})).await;
    app.post_json("/api/v1/time-entries", &entry_at(sub, "2026-10-05T10:00:00Z", 90, "technical")).await.expect(201);
    let october = draft(app, customer, "2026-10-01", "2026-11-01").await;
    app.post_json(&format!("/api/v1/invoices/{}/issue", id(&october)), &json!({})).await.expect(200);
    assert_eq!(balances(app, sub).await, [(s("90"), s("510"), Some(id(&october)))]);
    // A partial credit frees nothing.
    app.post_json(
        &format!("/api/v1/invoices/{}/credit-notes", id(&october)),
        &json!({"reason": "Goodwill", "lines": [{"line": 1, "amount": "100.00"}]}),
    )
    .await
    .expect(201);
    assert_eq!(balances(app, sub).await, [(s("90"), s("510"), Some(id(&october)))]);
    // Crediting the remaining 800.00 credits it in full.
    app.post_json(
        &format!("/api/v1/invoices/{}/credit-notes", id(&october)),
        &json!({"reason": "Cancelled", "lines": [{"line": 1, "amount": "800.00"}]}),
    )
    .await
    .expect(201);
    assert_eq!(app.get(&format!("/api/v1/invoices/{}", id(&october))).await.expect(200).body["status"], "credited");
    assert_eq!(balances(app, sub).await, [(s("0"), s("600"), None)]);
});

both_backends!(clients_read_their_own_blocks_and_issued_draws_only, |app| {
    let (customer, sub) = setup(app, &prepaid_plan()).await;
    block(app, sub, json!({"purchased_on": "2026-10-01", "minutes": 120, "price": "200.00"})).await;
    app.post_json("/api/v1/time-entries", &entry_at(sub, "2026-10-05T10:00:00Z", 45, "technical")).await.expect(201);
    let own = app.make_key(Role::Client, Some(customer));
    let other_customer = create(app, "/api/v1/customers", &customer_named("Other GmbH")).await["id"].as_i64().unwrap();
    let other = app.make_key(Role::Client, Some(other_customer));
    let path = format!("/api/v1/subscriptions/{sub}/blocks");

    let october = draft(app, customer, "2026-10-01", "2026-11-01").await;
    assert_eq!(balances(app, sub).await, [(s("45"), s("75"), Some(id(&october)))]);
    // Clients do not see drafts, nor what drafts draw.
    assert_eq!(balances_as(app, &own, sub).await, [(s("0"), s("120"), None)]);
    app.post_json(&format!("/api/v1/invoices/{}/issue", id(&october)), &json!({})).await.expect(200);
    assert_eq!(balances_as(app, &own, sub).await, [(s("45"), s("75"), Some(id(&october)))]);
    // The finance page shows the balance beside the invoice, to the client too.
    let page = crate::web_sessions::sign_in(app, &own).await.get(app, &format!("/invoices/{}", id(&october))).await;
    let page = page.expect(200).text;
    assert!(page.contains("Prepaid hours today"), "{page}");
    let row = "<td>2026-10-01</td><td>no expiry</td><td class=\"num\">120</td><td class=\"num\">45</td><td class=\"num\">75</td>";
    assert!(page.contains(row), "{page}");

    // Another customer's key: as if the subscription did not exist.
    app.get_as(&other, &path).await.expect(404);
    // Clients cannot record or delete blocks.
    let body = json!({"purchased_on": "2026-10-01", "minutes": 60, "price": "1.00"});
    app.post_json_as(&own, &path, &body).await.expect(404);
    let block_id = app.get(&path).await.expect(200).data()[0]["id"].as_i64().unwrap();
    let r = app.send("DELETE", &format!("/api/v1/prepaid-blocks/{block_id}"), Some(&own), None, None).await;
    assert_eq!(r.status, 404, "{}", r.text);
    app.get("/api/v1/subscriptions/999999/blocks").await.expect(404);
});

// Blocks: A (30 min, 40.00, expires 2026-10-10) and B (60 min, 100.00, no expiry). Plan hours
// Mon-Fri 09:00-17:00 UTC, after hours x1.5. Entries:
//   Fri 10-02 10:00, 20 min in hours    -> weight 20:   A 20 (A expires first)
//   Sat 10-03 10:00, 15 min after hours -> weight 22.5: A 10, B 12.5
//   Thu 10-15 10:00, 50 min in hours    -> A expired:   B 47.5, overage 2.5
//   Tue 10-20 10:00, 30 min in hours    ->              overage 30
// Drawn 30 + 60 = 90 min (1:30 h), nothing left. Overage 32.5 min x 100.00 / 60 = 54.1666 ->
// 54.17. Subtotal 40.00 + 100.00 + 54.17 = 194.17; tax 19% 36.8923 -> 36.89; total 231.06.
both_backends!(overage_once_the_blocks_run_out_or_expire, |app| {
    let mut plan = prepaid_plan();
    plan["after_hours_multiplier"] = json!("1.5");
    plan["hours_of_service"] =
        json!({"timezone": "UTC", "days": ["mon","tue","wed","thu","fri"], "start": "09:00", "end": "17:00"});
    let (customer, sub) = setup(app, &plan).await;
    let a = json!({"purchased_on": "2026-10-01", "minutes": 30, "price": "40.00", "expires_on": "2026-10-10"});
    block(app, sub, a).await;
    block(app, sub, json!({"purchased_on": "2026-10-01", "minutes": 60, "price": "100.00"})).await;
    let entries = json!([
        entry_at(sub, "2026-10-02T10:00:00Z", 20, "technical"),
        entry_at(sub, "2026-10-03T10:00:00Z", 15, "technical"),
        entry_at(sub, "2026-10-15T10:00:00Z", 50, "technical"),
        entry_at(sub, "2026-10-20T10:00:00Z", 30, "technical"),
    ]);
    app.post_json("/api/v1/time-entries", &entries).await.expect(201);
    // Through the invoice run, which prices on a second connection on PostgreSQL.
    let run = app
        .post_json("/api/v1/invoices/run", &json!({"period_start": "2026-10-01", "period_end": "2026-11-01"}))
        .await
        .expect(201);
    let inv = &run.data()[0];
    assert_eq!(inv["customer_id"].as_i64(), Some(customer));
    assert_eq!(
        line_summary(inv),
        [
            (s("block_purchase"), s(""), s(""), s("40.00"), s("40.00")),
            (s("block_purchase"), s(""), s(""), s("100.00"), s("100.00")),
            (s("prepaid_usage"), s(""), s("90"), s("0.00"), s("0.00")),
            (s("overage"), s("technical"), s("32.5"), s("100.00"), s("54.17")),
        ]
    );
    let usage = inv["lines"][2]["description"].as_str().unwrap();
    assert!(usage.contains("drawn 1:30 h, left 0:00 h"), "{usage}");
    assert_eq!((&inv["subtotal"], &inv["tax"], &inv["total"]), (&json!("194.17"), &json!("36.89"), &json!("231.06")));
    let blocks = app.get(&format!("/api/v1/subscriptions/{sub}/blocks")).await.expect(200);
    let shown: Vec<(&str, &str, bool)> = blocks
        .data()
        .iter()
        .map(|b| (b["used"].as_str().unwrap(), b["left"].as_str().unwrap(), b["expired"].as_bool().unwrap()))
        .collect();
    // Today is after 2026-10-10: A is expired.
    assert_eq!(shown, [("30", "0", true), ("60", "0", false)]);
});

both_backends!(blocks_are_checked_and_deleted_only_while_unused, |app| {
    let (customer, sub) = setup(app, &prepaid_plan()).await;
    let path = format!("/api/v1/subscriptions/{sub}/blocks");
    // Every wrong field at once.
    let bad = json!({"purchased_on": "2026-13-01", "minutes": 0, "price": "abc", "expires_on": "tomorrow"});
    let r = app.post_json(&path, &bad).await.expect(422);
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!(fields, ["expires_on", "minutes", "price", "purchased_on"]);
    let r = app
        .post_json(
            &path,
            &json!({"purchased_on": "2026-10-01", "minutes": 1_000_001, "price": "1", "expires_on": "2026-10-01"}),
        )
        .await
        .expect(422);
    assert_eq!(r.error_fields(), ["minutes", "expires_on"]);
    for price in ["-1.00", "1.005"] {
        let r = app
            .post_json(&path, &json!({"purchased_on": "2026-10-01", "minutes": 60, "price": price}))
            .await
            .expect(422);
        assert_eq!(r.error_fields(), ["price"], "{price}");
    }
    app.post_json(&path, &json!({"purchased_on": "2026-10-01", "minutes": 60})).await.expect(422);
    app.post_json(
        "/api/v1/subscriptions/999999/blocks",
        &json!({"purchased_on": "2026-10-01", "minutes": 60, "price": "1"}),
    )
    .await
    .expect(404);
    // Only prepaid plans take blocks.
    let hourly = create(app, "/api/v1/plans", &standard_plan()).await["id"].as_i64().unwrap();
    let hourly_sub = subscription(app, customer, hourly).await;
    let r = app
        .post_json(
            &format!("/api/v1/subscriptions/{hourly_sub}/blocks"),
            &json!({"purchased_on": "2026-10-01", "minutes": 60, "price": "1"}),
        )
        .await
        .expect(422);
    assert_eq!(r.error_fields(), ["subscription_id"]);
    // A prepaid plan needs its overage rate.
    let mut no_rate = prepaid_plan();
    no_rate.as_object_mut().unwrap().remove("hourly_rate");
    assert_eq!(app.post_json("/api/v1/plans", &no_rate).await.expect(422).error_fields(), ["hourly_rate"]);

    // A block an invoice draws from or bills stays; an unused one can go.
    let used = block(app, sub, json!({"purchased_on": "2026-10-01", "minutes": 60, "price": "90.00"})).await;
    let spare = block(app, sub, json!({"purchased_on": "2026-12-01", "minutes": 60, "price": "90.00"})).await;
    app.post_json("/api/v1/time-entries", &entry_at(sub, "2026-10-05T10:00:00Z", 30, "technical")).await.expect(201);
    let october = draft(app, customer, "2026-10-01", "2026-11-01").await;
    assert_eq!(app.delete(&format!("/api/v1/prepaid-blocks/{used}")).await.expect(409).body["code"], "block_in_use");
    app.delete(&format!("/api/v1/prepaid-blocks/{spare}")).await.expect(204);
    app.delete(&format!("/api/v1/prepaid-blocks/{spare}")).await.expect(404);
    // A subscription with blocks (and nothing else) stays until they are gone.
    let prepaid = app.get(&format!("/api/v1/subscriptions/{sub}")).await.expect(200).body["plan_id"].as_i64().unwrap();
    let bare = subscription(app, customer, prepaid).await;
    let only = block(app, bare, json!({"purchased_on": "2026-10-01", "minutes": 60, "price": "90.00"})).await;
    let r = app.delete(&format!("/api/v1/subscriptions/{bare}")).await.expect(409);
    assert_eq!(r.body["code"], "subscription_in_use");
    app.delete(&format!("/api/v1/prepaid-blocks/{only}")).await.expect(204);
    app.delete(&format!("/api/v1/subscriptions/{bare}")).await.expect(204);
    // The subscription keeps its prepaid plan and stays while it has blocks.
    let r = app.patch_json(&format!("/api/v1/subscriptions/{sub}"), &json!({"plan_id": hourly})).await.expect(409);
    assert_eq!(r.body["code"], "has_prepaid_blocks");
    app.delete(&format!("/api/v1/invoices/{}", id(&october))).await.expect(204);
    app.delete(&format!("/api/v1/prepaid-blocks/{used}")).await.expect(204);
    assert!(app.get(&path).await.expect(200).data().is_empty());
});

// Five customers, each with a 100-minute block and 5 x 30 = 150 minutes in October: each
// October invoice draws 100 and bills 50 minutes of overage (83.33). Concurrent runs and
// single drafts, then deletes racing a re-run, never draw a block twice.
both_backends!(concurrent_drafts_never_draw_the_same_minutes, |app| {
    let plan = create(app, "/api/v1/plans", &prepaid_plan()).await["id"].as_i64().unwrap();
    let mut customers = Vec::new();
    let mut subs = Vec::new();
    for i in 0..5 {
        let c =
            create(app, "/api/v1/customers", &customer_named(&format!("Prepaid {i}"))).await["id"].as_i64().unwrap();
        let sub = subscription(app, c, plan).await;
        block(app, sub, json!({"purchased_on": "2026-09-01", "minutes": 100, "price": "150.00"})).await;
        let entries: Vec<Value> =
            (0..5).map(|k| entry_at(sub, &format!("2026-10-{:02}T09:00:00Z", 5 + k), 30, "technical")).collect();
        app.post_json("/api/v1/time-entries", &json!(entries)).await.expect(201);
        customers.push(c);
        subs.push(sub);
    }
    let october = json!({"period_start": "2026-10-01", "period_end": "2026-11-01"});
    let singles: Vec<Value> = customers
        .iter()
        .map(|c| json!({"customer_id": c, "period_start": "2026-10-01", "period_end": "2026-11-01"}))
        .collect();
    let (runs, drafts) = futures_util::future::join(
        futures_util::future::join_all((0..3).map(|_| app.post_json("/api/v1/invoices/run", &october))),
        futures_util::future::join_all(singles.iter().map(|b| app.post_json("/api/v1/invoices", b))),
    )
    .await;
    let mut made = Vec::new();
    for r in &runs {
        assert!(r.status == 201 || r.status == 409, "run: {} {}", r.status, r.text);
        if r.status == 201 {
            made.extend(r.data().iter().map(|d| (d["id"].as_i64().unwrap(), d["total"].clone())));
        }
    }
    for r in &drafts {
        // 422: a run drafted the customer first, so nothing was left to invoice.
        assert!([201, 409, 422].contains(&r.status), "draft: {} {}", r.status, r.text);
        if r.status == 201 {
            made.push((r.body["id"].as_i64().unwrap(), r.body["total"].clone()));
        }
    }
    assert_eq!(made.len(), 5, "one draft per customer: {made:?}");
    // 50 x 100.00 / 60 = 83.33 overage, no block purchase (bought in September); tax 19%: 15.83.
    assert!(made.iter().all(|(_, total)| total == "99.16"), "{made:?}");
    crate::invariants::check(&mut app.conn());
    for &sub in &subs {
        let b = &balances(app, sub).await[0];
        assert_eq!((b.0.as_str(), b.1.as_str()), ("100", "0"));
    }

    // Every draft deleted while a run drafts again: the run either waits for the deletes or
    // finds the customers still drafted.
    let deletes: Vec<String> = made.iter().map(|(id, _)| format!("/api/v1/invoices/{id}")).collect();
    let (rerun, deleted) = futures_util::future::join(
        app.post_json("/api/v1/invoices/run", &october),
        futures_util::future::join_all(deletes.iter().map(|p| app.delete(p))),
    )
    .await;
    assert!(rerun.status == 201 || rerun.status == 422, "{} {}", rerun.status, rerun.text);
    assert!(deleted.iter().all(|r| r.status == 204), "{deleted:?}");
    crate::invariants::check(&mut app.conn());
    let redrafted = if rerun.status == 201 { rerun.data().len() } else { 0 };
    let used: usize = {
        let mut n = 0;
        for &sub in &subs {
            n += usize::from(balances(app, sub).await[0].0 == "100");
        }
        n
    };
    assert_eq!(used, redrafted, "exactly the re-drafted customers' blocks are drawn");
});
