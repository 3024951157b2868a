//! Plan versions (SPEC 7.2): adding, listing and reading them as of a date; `PUT /plans/{id}`
//! replacing the terms from today on; 409 `terms_already_billed` naming the invoice; the
//! December/January worked example priced by two versions. The migration, the finance page and
//! the command line are in `plan_versions_more`. "Today" is a fixed clock in every test.

use std::sync::Arc;

use chrono::NaiveDateTime;
use serde_json::{json, Value};
use supportbill::http::AppState;
use supportbill::service::clock::FixedClock;

use crate::fixtures::*;
use crate::harness::*;

/// The service's clock at `at` (UTC, `YYYY-MM-DDTHH:MM`).
pub fn clock_at(mut s: AppState, at: &str) -> AppState {
    s.clock = Arc::new(FixedClock(NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M").unwrap()));
    s
}

pub fn on_dec_4(s: AppState) -> AppState {
    clock_at(s, "2026-12-04T10:00")
}

fn on_dec_1(s: AppState) -> AppState {
    clock_at(s, "2026-12-01T09:00")
}

/// The Standard plan (hourly 120.00, technical 150.00) with its first version from `from`.
pub fn standard_from(from: &str) -> Value {
    let mut p = standard_plan();
    p["effective_from"] = json!(from);
    p
}

/// The terms of a version: the Standard plan's, without the plan-level fields, at `rate`.
pub fn version(from: &str, rate: &str) -> Value {
    let mut v = standard_plan();
    let o = v.as_object_mut().unwrap();
    for plan_level in ["name", "currency", "billing_model"] {
        o.remove(plan_level);
    }
    o.insert("effective_from".into(), json!(from));
    o.insert("hourly_rate".into(), json!(rate));
    v
}

pub async fn subscription(app: &TestApp, customer: i64, plan: i64) -> i64 {
    create(
        app,
        "/api/v1/subscriptions",
        &json!({"customer_id": customer, "plan_id": plan, "start_date": "2026-01-01", "product": "azure", "name": "Azure plan"}),
    )
    .await["id"]
        .as_i64()
        .unwrap()
}

async fn versions(app: &TestApp, plan: i64) -> Vec<Value> {
    app.list_all(&format!("/api/v1/plans/{plan}/versions"), 100).await
}

fn field<'a>(rows: &'a [Value], name: &str) -> Vec<&'a str> {
    rows.iter().map(|r| r[name].as_str().unwrap_or("null")).collect()
}

both_backends!(versions_are_added_listed_and_read_as_of_a_date, state = on_dec_4, |app| {
    let plan = create(app, "/api/v1/plans", &standard_plan()).await;
    let id = plan["id"].as_i64().unwrap();
    // The first version takes effect today (the service's clock), with the new terms' defaults.
    assert_eq!(plan["effective_from"], "2026-12-04");
    assert_eq!(plan["hourly_rate"], "120.00");
    assert_eq!(plan["rounding_scope"], "entry");
    assert_eq!(plan["fee_proration"], "none");
    assert_eq!(plan["holiday_calendar_id"], Value::Null);
    assert_eq!(plan["billing_model"], "hourly");

    let mut next = version("2027-01-01", "130.00");
    next["rounding_scope"] = json!("ticket");
    next["fee_proration"] = json!("daily");
    let added = app.post_json(&format!("/api/v1/plans/{id}/versions"), &next).await.expect(201);
    assert_eq!(added.body["plan_id"], id);
    assert_eq!(added.body["effective_from"], "2027-01-01");
    assert_eq!(added.body["hourly_rate"], "130.00");
    assert_eq!(added.body["rounding_scope"], "ticket");
    assert_eq!(added.body["fee_proration"], "daily");
    assert_eq!(added.body["category_rates"], json!({"technical": "150.00"}));
    // One version per date.
    let again = app.post_json(&format!("/api/v1/plans/{id}/versions"), &next).await;
    assert_problem(&again, 409, "version_exists");

    // Today's terms, and any day's; the first version also covers the days before it.
    let read = |q: &'static str| {
        let path = format!("/api/v1/plans/{id}{q}");
        async move { app.get(&path).await.expect(200).body }
    };
    let today = read("").await;
    assert_eq!((today["effective_from"].as_str(), today["hourly_rate"].as_str()), (Some("2026-12-04"), Some("120.00")));
    assert_eq!(today["name"], "Standard");
    let january = read("?as_of=2027-01-01").await;
    assert_eq!(
        (january["effective_from"].as_str(), january["hourly_rate"].as_str()),
        (Some("2027-01-01"), Some("130.00"))
    );
    assert_eq!(january["rounding_scope"], "ticket");
    let last_day = read("?as_of=2026-12-31").await;
    assert_eq!(last_day["hourly_rate"], "120.00");
    let long_ago = read("?as_of=2026-01-01").await;
    assert_eq!(
        (long_ago["effective_from"].as_str(), long_ago["hourly_rate"].as_str()),
        (Some("2026-12-04"), Some("120.00"))
    );
    assert_invalid(&app.get(&format!("/api/v1/plans/{id}?as_of=2027-13-01")).await, "as_of");

    // Lists show today's version, or that of `as_of`.
    let list = app.get("/api/v1/plans").await.expect(200);
    assert_eq!(list.data()[0]["hourly_rate"], "120.00");
    let list = app.get("/api/v1/plans?as_of=2027-06-01").await.expect(200);
    assert_eq!(list.data()[0]["hourly_rate"], "130.00");

    // The versions, oldest first, one page at a time.
    let page = app.get(&format!("/api/v1/plans/{id}/versions?limit=1")).await.expect(200);
    assert_eq!(field(page.data(), "effective_from"), ["2026-12-04"]);
    let cursor = page.body["next_cursor"].as_str().unwrap().to_string();
    let page = app.get(&format!("/api/v1/plans/{id}/versions?limit=1&cursor={cursor}")).await.expect(200);
    assert_eq!(field(page.data(), "effective_from"), ["2027-01-01"]);
    assert_eq!(page.body["next_cursor"], Value::Null);
    assert_eq!(field(&versions(app, id).await, "hourly_rate"), ["120.00", "130.00"]);

    // Unknown plans and client keys: 404.
    assert_problem(&app.get("/api/v1/plans/999999/versions").await, 404, "not_found");
    assert_problem(&app.post_json("/api/v1/plans/999999/versions", &next).await, 404, "not_found");
    let customer = create(app, "/api/v1/customers", &mueller()).await["id"].as_i64().unwrap();
    let client = app.make_key(supportbill::domain::vocab::Role::Client, Some(customer));
    assert_problem(&app.get_as(&client, &format!("/api/v1/plans/{id}/versions")).await, 404, "not_found");
    let r = app.post_json_as(&client, &format!("/api/v1/plans/{id}/versions"), &version("2027-02-01", "1")).await;
    assert_problem(&r, 404, "not_found");

    // A plan no one uses is deleted with its versions.
    app.delete(&format!("/api/v1/plans/{id}")).await.expect(204);
    assert_problem(&app.get(&format!("/api/v1/plans/{id}")).await, 404, "not_found");
});

both_backends!(a_version_is_checked_like_a_plan, state = on_dec_4, |app| {
    let id = create(app, "/api/v1/plans", &standard_plan()).await["id"].as_i64().unwrap();
    let path = format!("/api/v1/plans/{id}/versions");
    let post = |body: Value| {
        let path = path.clone();
        async move { app.post_json(&path, &body).await }
    };
    let mut v = version("2027-01-01", "130.00");
    v.as_object_mut().unwrap().remove("effective_from");
    assert_invalid(&post(v).await, "effective_from");
    assert_invalid(&post(version("1999-12-31", "130.00")).await, "effective_from");
    assert_invalid(&post(version("2027-02-30", "130.00")).await, "effective_from");
    // Name, currency and billing model belong to the plan, not to a version.
    let mut v = version("2027-01-01", "130.00");
    v["billing_model"] = json!("retainer");
    assert_invalid(&post(v).await, "billing_model");
    let mut v = version("2027-01-01", "130.00");
    v["rounding_scope"] = json!("monthly");
    assert_invalid(&post(v).await, "rounding_scope");
    let mut v = version("2027-01-01", "130.00");
    v["fee_proration"] = json!("weekly");
    assert_invalid(&post(v).await, "fee_proration");
    // The plan's billing model decides what a version needs: an hourly plan needs its rate.
    let mut v = version("2027-01-01", "130.00");
    v.as_object_mut().unwrap().remove("hourly_rate");
    assert_invalid(&post(v).await, "hourly_rate");
    let mut v = version("2027-01-01", "-1");
    v["after_hours_multiplier"] = json!("0.5");
    let r = post(v).await;
    assert_invalid(&r, "hourly_rate");
    assert_invalid(&r, "after_hours_multiplier");
    assert_eq!(versions(app, id).await.len(), 1, "nothing was added");

    // A prepaid plan prices time no block covers at its hourly rate, so it needs one.
    let mut prepaid = standard_plan();
    prepaid["billing_model"] = json!("prepaid");
    prepaid.as_object_mut().unwrap().remove("hourly_rate");
    assert_invalid(&app.post_json("/api/v1/plans", &prepaid).await, "hourly_rate");
    prepaid["hourly_rate"] = json!("90.00");
    let created = create(app, "/api/v1/plans", &prepaid).await;
    assert_eq!(created["billing_model"], "prepaid");
    // And a plan's first version may be dated.
    let dated = create(app, "/api/v1/plans", &standard_from("2026-01-01")).await;
    assert_eq!(dated["effective_from"], "2026-01-01");
    assert_invalid(&app.post_json("/api/v1/plans", &standard_from("someday")).await, "effective_from");
});

both_backends!(put_replaces_the_terms_from_today_on, state = on_dec_4, |app| {
    let id = create(app, "/api/v1/plans", &standard_from("2026-11-01")).await["id"].as_i64().unwrap();
    app.post_json(&format!("/api/v1/plans/{id}/versions"), &version("2027-01-01", "130.00")).await.expect(201);

    let mut changed = standard_plan();
    changed["name"] = json!("Standard (2026)");
    changed["hourly_rate"] = json!("125.00");
    let r = app.put_json(&format!("/api/v1/plans/{id}"), &changed).await.expect(200);
    assert_eq!(r.body["name"], "Standard (2026)");
    assert_eq!(r.body["effective_from"], "2026-12-04");
    assert_eq!(r.body["hourly_rate"], "125.00");
    // The version of November stays, today's is new, and the one scheduled for January is gone:
    // from today on, the terms are the ones put.
    let list = versions(app, id).await;
    assert_eq!(field(&list, "effective_from"), ["2026-11-01", "2026-12-04"]);
    assert_eq!(field(&list, "hourly_rate"), ["120.00", "125.00"]);
    let today_id = list[1]["id"].clone();
    let later = app.get(&format!("/api/v1/plans/{id}?as_of=2027-02-01")).await.expect(200);
    assert_eq!(later.body["hourly_rate"], "125.00");

    // A second PUT the same day replaces today's version.
    changed["hourly_rate"] = json!("126.00");
    app.put_json(&format!("/api/v1/plans/{id}"), &changed).await.expect(200);
    let list = versions(app, id).await;
    assert_eq!(field(&list, "hourly_rate"), ["120.00", "126.00"]);
    assert_eq!(list[1]["id"], today_id);
    // PUT is about today; another date is a new version's business.
    changed["effective_from"] = json!("2026-12-05");
    assert_invalid(&app.put_json(&format!("/api/v1/plans/{id}"), &changed).await, "effective_from");
    changed["effective_from"] = json!("2026-12-04");
    app.put_json(&format!("/api/v1/plans/{id}"), &changed).await.expect(200);

    // Once a subscription uses the plan, its currency and billing model stay.
    let customer = create(app, "/api/v1/customers", &mueller()).await["id"].as_i64().unwrap();
    subscription(app, customer, id).await;
    let mut retainer = changed.clone();
    retainer.as_object_mut().unwrap().remove("effective_from");
    retainer["billing_model"] = json!("retainer");
    retainer["monthly_fee"] = json!("500.00");
    retainer["included_minutes"] = json!(120);
    assert_problem(&app.put_json(&format!("/api/v1/plans/{id}"), &retainer).await, 409, "billing_model_locked");
    let mut usd = changed.clone();
    usd["currency"] = json!("USD");
    assert_problem(&app.put_json(&format!("/api/v1/plans/{id}"), &usd).await, 409, "currency_locked");
    assert_problem(&app.delete(&format!("/api/v1/plans/{id}")).await, 409, "plan_in_use");

    // A plan no one uses may change its billing model: every version shares it, so the plan
    // keeps one version, today's.
    let unused = create(app, "/api/v1/plans", &standard_from("2026-10-01")).await["id"].as_i64().unwrap();
    app.post_json(&format!("/api/v1/plans/{unused}/versions"), &version("2027-01-01", "130.00")).await.expect(201);
    let r = app.put_json(&format!("/api/v1/plans/{unused}"), &retainer).await.expect(200);
    assert_eq!(r.body["billing_model"], "retainer");
    assert_eq!(r.body["monthly_fee"], "500.00");
    let list = versions(app, unused).await;
    assert_eq!(field(&list, "effective_from"), ["2026-12-04"]);
});

/// A plan of `model` with its first version from `from`.
fn plan_of(model: &str, from: &str) -> Value {
    let mut p = standard_from(from);
    p["name"] = json!(format!("Plan {model}"));
    p["billing_model"] = json!(model);
    match model {
        "retainer" => {
            p["monthly_fee"] = json!("500.00");
            p["included_minutes"] = json!(120);
        }
        "per_incident" => p["incident_fee"] = json!("50.00"),
        _ => {}
    }
    p
}

fn with_fee(mut v: Value, model: &str) -> Value {
    match model {
        "retainer" => {
            v["monthly_fee"] = json!("550.00");
            v["included_minutes"] = json!(120);
        }
        "per_incident" => v["incident_fee"] = json!("55.00"),
        _ => {}
    }
    v
}

both_backends!(a_version_may_not_take_effect_on_or_before_a_billed_date, state = on_dec_4, |app| {
    let customer = create(app, "/api/v1/customers", &mueller()).await["id"].as_i64().unwrap();
    let mut plan = std::collections::HashMap::new();
    let mut sub = std::collections::HashMap::new();
    // The hourly plan's first version is dated after the entry it bills, which it prices all
    // the same: the first version applies to the days before it too.
    let models = [
        ("hourly", "2026-10-10"),
        ("per_incident", "2026-09-01"),
        ("retainer", "2026-09-01"),
        ("prepaid", "2026-09-01"),
    ];
    for (model, from) in models {
        let id = create(app, "/api/v1/plans", &plan_of(model, from)).await["id"].as_i64().unwrap();
        plan.insert(model, id);
        sub.insert(model, subscription(app, customer, id).await);
    }
    // Billed in October: an entry of the 5th (hourly), a ticket opened on the 20th (per
    // incident), the month's retainer fee (its first day).
    app.post_json("/api/v1/time-entries", &entry(sub["hourly"], 50)).await.expect(201);
    create(
        app,
        "/api/v1/tickets",
        &json!({"subscription_id": sub["per_incident"], "title": "VM will not start", "category": "technical",
                "severity": "high", "opened_at": "2026-10-20T09:00:00Z"}),
    )
    .await;
    // And a block of prepaid hours bought on the 15th, whose purchase the invoice bills.
    let block = json!({"purchased_on": "2026-10-15", "minutes": 600, "price": "900.00"});
    create(app, &format!("/api/v1/subscriptions/{}/blocks", sub["prepaid"]), &block).await;
    let october = json!({"customer_id": customer, "period_start": "2026-10-01", "period_end": "2026-11-01"});
    let draft = create(app, "/api/v1/invoices", &october).await["id"].as_i64().unwrap();

    let add = |model: &'static str, from: &'static str| {
        let path = format!("/api/v1/plans/{}/versions", plan[model]);
        let body = with_fee(version(from, "140.00"), model);
        async move { app.post_json(&path, &body).await }
    };
    let refused = |r: Resp, invoice: &str, date: &str| {
        assert_problem(&r, 409, "terms_already_billed");
        let detail = r.body["detail"].as_str().unwrap();
        assert!(detail.contains(invoice) && detail.contains(date), "{detail}");
    };
    let named = format!("draft invoice {draft}");
    refused(add("hourly", "2026-10-05").await, &named, "2026-10-05");
    refused(add("hourly", "2026-10-01").await, &named, "2026-10-05");
    // After the billed date, but before the first version: it would take over the 5th.
    refused(add("hourly", "2026-10-06").await, &named, "first version");
    add("hourly", "2026-10-11").await.expect(201);
    refused(add("per_incident", "2026-10-20").await, &named, "2026-10-20");
    add("per_incident", "2026-10-21").await.expect(201);
    refused(add("retainer", "2026-10-01").await, &named, "2026-10-01");
    add("retainer", "2026-10-02").await.expect(201);
    refused(add("prepaid", "2026-10-15").await, &named, "2026-10-15");
    add("prepaid", "2026-10-16").await.expect(201);

    // Issued, the invoice is named by its number; void, it bills nothing any more.
    app.post_json(&format!("/api/v1/invoices/{draft}/issue"), &json!({})).await.expect(200);
    refused(add("hourly", "2026-10-02").await, "invoice INV-000001", "2026-10-05");
    app.post_json(&format!("/api/v1/invoices/{draft}/void"), &json!({})).await.expect(200);
    add("hourly", "2026-10-02").await.expect(201);

    // PUT changes the terms from today, so what is billed today refuses it too.
    let mut today = entry(sub["hourly"], 30);
    today["started_at"] = json!("2026-12-04T09:00:00Z");
    app.post_json("/api/v1/time-entries", &today).await.expect(201);
    let mut put = plan_of("hourly", "2026-10-10");
    put.as_object_mut().unwrap().remove("effective_from");
    put["hourly_rate"] = json!("150.00");
    app.put_json(&format!("/api/v1/plans/{}", plan["hourly"]), &put).await.expect(200);
    let december = json!({"customer_id": customer, "period_start": "2026-12-01", "period_end": "2027-01-01"});
    let second = create(app, "/api/v1/invoices", &december).await["id"].as_i64().unwrap();
    put["hourly_rate"] = json!("160.00");
    let r = app.put_json(&format!("/api/v1/plans/{}", plan["hourly"]), &put).await;
    refused(r, &format!("draft invoice {second}"), "2026-12-04");
    // Deleting the draft frees the date again.
    app.delete(&format!("/api/v1/invoices/{second}")).await.expect(204);
    app.put_json(&format!("/api/v1/plans/{}", plan["hourly"]), &put).await.expect(200);
});

// SPEC 7.2, the worked example of the brief: hourly 120.00, 130.00 from 2027-01-01; 60 minutes
// on 2026-12-10 and 90 on 2027-01-12, invoiced over December and January.
both_backends!(december_and_january_are_priced_by_their_own_versions, state = on_dec_1, |app| {
    let mut hourly = json!({"name": "Hourly", "scope": "Azure incidents", "currency": "EUR",
        "billing_model": "hourly", "hourly_rate": "120.00",
        "hours_of_service": {"timezone": "UTC", "days": ["mon","tue","wed","thu","fri"], "start": "08:00", "end": "18:00"}});
    let plan = create(app, "/api/v1/plans", &hourly).await;
    assert_eq!(plan["effective_from"], "2026-12-01");
    let id = plan["id"].as_i64().unwrap();
    let obj = hourly.as_object_mut().unwrap();
    for plan_level in ["name", "currency", "billing_model"] {
        obj.remove(plan_level);
    }
    obj.insert("effective_from".into(), json!("2027-01-01"));
    obj.insert("hourly_rate".into(), json!("130.00"));
    obj.insert("scope".into(), json!("Azure and Microsoft 365 incidents"));
    app.post_json(&format!("/api/v1/plans/{id}/versions"), &hourly).await.expect(201);

    let customer = create(app, "/api/v1/customers", &mueller()).await["id"].as_i64().unwrap();
    let sub = subscription(app, customer, id).await;
    for (at, minutes) in [("2026-12-10T10:00:00Z", 60), ("2027-01-12T10:00:00Z", 90)] {
        let mut e = entry(sub, minutes);
        e["started_at"] = json!(at);
        app.post_json("/api/v1/time-entries", &e).await.expect(201);
    }
    let invoice = create(
        app,
        "/api/v1/invoices",
        &json!({"customer_id": customer, "period_start": "2026-12-01", "period_end": "2027-02-01"}),
    )
    .await;
    let lines = invoice["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{invoice}");
    let line = |l: &Value| {
        (
            l["kind"].as_str().unwrap().to_string(),
            l["quantity_minutes"].as_str().unwrap().to_string(),
            l["unit_price"].as_str().unwrap().to_string(),
            l["amount"].as_str().unwrap().to_string(),
            l["plan_version"].as_str().unwrap().to_string(),
        )
    };
    let s = |x: &str| x.to_string();
    assert_eq!(line(&lines[0]), (s("support_time"), s("60"), s("120.00"), s("120.00"), s("2026-12-01")));
    assert_eq!(line(&lines[1]), (s("support_time"), s("90"), s("130.00"), s("195.00"), s("2027-01-01")));
    assert_eq!(invoice["subtotal"], "315.00");
    // 19 % of 315.00.
    assert_eq!(invoice["tax"], "59.85");
    assert_eq!(invoice["total"], "374.85");

    // The terms changed inside the period: the document lists both versions, dated.
    let terms = invoice["support_terms"].as_array().unwrap();
    assert_eq!(field(terms, "effective_from"), ["2026-12-01", "2027-01-01"]);
    assert_eq!(field(terms, "scope"), ["Azure incidents", "Azure and Microsoft 365 incidents"]);
    // An invoice of December alone shows December's terms only.
    let inv = invoice["id"].as_i64().unwrap();
    app.delete(&format!("/api/v1/invoices/{inv}")).await.expect(204);
    let december = create(
        app,
        "/api/v1/invoices",
        &json!({"customer_id": customer, "period_start": "2026-12-01", "period_end": "2027-01-01"}),
    )
    .await;
    assert_eq!(december["subtotal"], "120.00");
    assert_eq!(field(december["support_terms"].as_array().unwrap(), "effective_from"), ["2026-12-01"]);

    // The usage summary rounds and judges each entry by the version of its day.
    let usage = app.get("/api/v1/reports/usage?from=2026-12-01&to=2027-02-01&group_by=customer").await.expect(200);
    assert_eq!(usage.data()[0]["billed_minutes"], 150);
});
