//! Subscription dates (SPEC 7.1): `start_date` required, `end_date` optional and exclusive,
//! after the start; cancelling without an end ends the subscription on the first day of the
//! next month (UTC, by the service's clock); time entries, tickets and charges dated (UTC)
//! outside the dates are a 422 `outside_subscription` naming the field, the dates and the
//! index or CSV line; new dates must still cover what the subscription holds. The migration's
//! backfill is in `migration`, the Partner Center import's dates in `partner_center`.

use chrono::NaiveDateTime;
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::*;

mod migration;
mod partner_center;

/// The service's clock in these tests: 4 December 2026, 15:00 UTC.
pub fn december_4() -> NaiveDateTime {
    NaiveDateTime::parse_from_str("2026-12-04T15:00:00", "%Y-%m-%dT%H:%M:%S").unwrap()
}

/// The app with its clock at [`december_4`].
pub fn on_december_4(mut state: supportbill::http::AppState) -> supportbill::http::AppState {
    state.clock = std::sync::Arc::new(supportbill::service::clock::FixedClock(december_4()));
    state
}

/// A subscription body for `customer` on `plan` with these dates.
fn subscription(customer: i64, plan: i64, start: &str, end: Option<&str>) -> Value {
    let mut s = json!({"customer_id": customer, "plan_id": plan, "product": "azure", "name": "Azure plan",
                       "start_date": start});
    if let Some(end) = end {
        s["end_date"] = json!(end);
    }
    s
}

fn entry_at(sub: i64, at: &str) -> Value {
    let mut e = entry(sub, 30);
    e["started_at"] = json!(at);
    e
}

fn ticket_at(sub: i64, at: &str) -> Value {
    json!({"subscription_id": sub, "title": "VM will not start", "category": "technical", "severity": "high",
           "opened_at": at})
}

fn charge_on(sub: i64, date: &str) -> Value {
    json!({"subscription_id": sub, "date": date, "description": "Premier case fee", "amount": "85.00"})
}

/// A 422 `outside_subscription` whose errors are exactly `fields` (with their CSV lines, if
/// any), each message naming the dates given.
#[track_caller]
fn assert_outside(r: &Resp, fields: &[(&str, Option<u64>)], dates: &[&str]) {
    assert_problem(r, 422, "outside_subscription");
    let errors = r.body["errors"].as_array().unwrap();
    let got: Vec<(String, Option<u64>)> =
        errors.iter().map(|e| (e["field"].as_str().unwrap().to_string(), e["row"].as_u64())).collect();
    let want: Vec<(String, Option<u64>)> = fields.iter().map(|(f, r)| (f.to_string(), *r)).collect();
    assert_eq!(got, want, "{}", r.text);
    for e in errors {
        let message = e["message"].as_str().unwrap();
        for d in dates {
            assert!(message.contains(d), "{message:?} does not name {d}");
        }
    }
}

both_backends!(start_date_is_required_and_end_date_must_follow_it, |app| {
    let customer = create(app, "/api/v1/customers", &mueller()).await["id"].as_i64().unwrap();
    let plan = create(app, "/api/v1/plans", &standard_plan()).await["id"].as_i64().unwrap();
    let mut missing = subscription(customer, plan, "2026-10-01", None);
    missing.as_object_mut().unwrap().remove("start_date");
    assert_invalid(&app.post_json("/api/v1/subscriptions", &missing).await, "start_date");
    for (start, end, field) in [
        ("2026-10-01", Some("2026-10-01"), "end_date"),
        ("2026-10-01", Some("2026-09-30"), "end_date"),
        ("1.10.2026", None, "start_date"),
        ("1999-12-31", None, "start_date"),
        ("2200-01-01", None, "start_date"),
        ("2026-10-01", Some("2200-01-02"), "end_date"),
        ("2026-10-01", Some("2026-13-01"), "end_date"),
    ] {
        let r = app.post_json("/api/v1/subscriptions", &subscription(customer, plan, start, end)).await;
        assert_invalid(&r, field);
        assert_eq!(r.error_fields(), vec![field.to_string()], "{start} {end:?}: {}", r.text);
    }
    assert!(app.list_all("/api/v1/subscriptions", 100).await.is_empty(), "nothing stored");

    // Both dates in the answer, the end null while open-ended; the widest dates are taken.
    let open = create(app, "/api/v1/subscriptions", &subscription(customer, plan, "2026-10-01", None)).await;
    assert_eq!((&open["start_date"], &open["end_date"]), (&json!("2026-10-01"), &json!(null)));
    let widest = subscription(customer, plan, "2000-01-01", Some("2200-01-01"));
    let widest = create(app, "/api/v1/subscriptions", &widest).await;
    assert_eq!((&widest["start_date"], &widest["end_date"]), (&json!("2000-01-01"), &json!("2200-01-01")));
    let listed = app.list_all("/api/v1/subscriptions", 100).await;
    assert_eq!(listed[1]["end_date"], json!("2200-01-01"));

    // PATCH: the dates change, the end can be cleared, and the merged dates are checked.
    let path = format!("/api/v1/subscriptions/{}", open["id"]);
    let r = app.patch_json(&path, &json!({"start_date": "2026-09-01", "end_date": "2027-01-01"})).await.expect(200);
    assert_eq!((&r.body["start_date"], &r.body["end_date"]), (&json!("2026-09-01"), &json!("2027-01-01")));
    assert_invalid(&app.patch_json(&path, &json!({"start_date": "2027-01-01"})).await, "end_date");
    assert_invalid(&app.patch_json(&path, &json!({"start_date": null})).await, "start_date");
    let r = app.patch_json(&path, &json!({"end_date": null})).await.expect(200);
    assert_eq!(r.body["end_date"], json!(null));
});

both_backends!(cancelling_without_an_end_ends_the_subscription_next_month, state = on_december_4, |app| {
    let customer = create(app, "/api/v1/customers", &mueller()).await["id"].as_i64().unwrap();
    let plan = create(app, "/api/v1/plans", &standard_plan()).await["id"].as_i64().unwrap();
    let sub = create(app, "/api/v1/subscriptions", &subscription(customer, plan, "2026-10-01", None)).await;
    let path = format!("/api/v1/subscriptions/{}", sub["id"]);

    // Cancelled on 4 December 2026 (the service's clock): covered to 31 December.
    let r = app.patch_json(&path, &json!({"status": "cancelled"})).await.expect(200);
    assert_eq!((&r.body["status"], &r.body["end_date"]), (&json!("cancelled"), &json!("2027-01-01")));
    // An end given with the cancellation is kept; so is the end of a subscription already cancelled.
    let r = app.patch_json(&path, &json!({"status": "active", "end_date": null})).await.expect(200);
    assert_eq!(r.body["end_date"], json!(null));
    let r = app.patch_json(&path, &json!({"status": "cancelled", "end_date": "2026-12-05"})).await.expect(200);
    assert_eq!(r.body["end_date"], json!("2026-12-05"));
    let r = app.patch_json(&path, &json!({"name": "Azure plan (old)"})).await.expect(200);
    assert_eq!(r.body["end_date"], json!("2026-12-05"));
    // A cancelled subscription always ends: clearing its end ends it next month again.
    let r = app.patch_json(&path, &json!({"end_date": null})).await.expect(200);
    assert_eq!(r.body["end_date"], json!("2027-01-01"));

    // Created cancelled: the same.
    let mut cancelled = subscription(customer, plan, "2026-11-01", None);
    cancelled["status"] = json!("cancelled");
    assert_eq!(create(app, "/api/v1/subscriptions", &cancelled).await["end_date"], json!("2027-01-01"));
    // One that starts after next month cannot end then: its end must be given.
    let later = create(app, "/api/v1/subscriptions", &subscription(customer, plan, "2027-03-01", None)).await;
    let r = app.patch_json(&format!("/api/v1/subscriptions/{}", later["id"]), &json!({"status": "cancelled"})).await;
    assert_invalid(&r, "end_date");
    assert!(r.body["errors"][0]["message"].as_str().unwrap().contains("2027-03-01"), "{}", r.text);
});

both_backends!(items_outside_the_dates_are_refused_naming_the_field_and_the_dates, |app| {
    let customer = create(app, "/api/v1/customers", &mueller()).await["id"].as_i64().unwrap();
    let plan = create(app, "/api/v1/plans", &standard_plan()).await["id"].as_i64().unwrap();
    let s = create(app, "/api/v1/subscriptions", &subscription(customer, plan, "2026-10-01", Some("2026-12-01"))).await;
    let sub = s["id"].as_i64().unwrap();
    let before = ["2026-10-01"];
    let after = ["2026-12-01", "2026-11-30"];

    // One entry: by its UTC date. Midnight in Berlin on 1 October is still 30 September (UTC).
    for at in ["2026-09-30T23:59:59Z", "2026-10-01T00:30:00+02:00"] {
        let r = app.post_json("/api/v1/time-entries", &entry_at(sub, at)).await;
        assert_outside(&r, &[("started_at", None)], &["2026-09-30", "2026-10-01"]);
    }
    let r = app.post_json("/api/v1/time-entries", &entry_at(sub, "2026-12-01T00:00:00Z")).await;
    assert_outside(&r, &[("started_at", None)], &after);
    let first = app.post_json("/api/v1/time-entries", &entry_at(sub, "2026-10-01T00:00:00Z")).await.expect(201).id();
    app.post_json("/api/v1/time-entries", &entry_at(sub, "2026-11-30T23:59:59Z")).await.expect(201);

    // An array names each index outside, and stores nothing.
    let batch = json!([
        entry_at(sub, "2026-10-15T09:00:00Z"),
        entry_at(sub, "2026-09-15T09:00:00Z"),
        entry_at(sub, "2026-11-15T09:00:00Z"),
        entry_at(sub, "2026-12-15T09:00:00Z"),
    ]);
    let r = app.post_json("/api/v1/time-entries", &batch).await;
    assert_outside(&r, &[("[1].started_at", None), ("[3].started_at", None)], &[]);
    assert!(r.body["errors"][0]["message"].as_str().unwrap().contains("start_date 2026-10-01"), "{}", r.text);
    assert!(r.body["errors"][1]["message"].as_str().unwrap().contains("end_date 2026-12-01"), "{}", r.text);
    // With another kind of error too, all are listed as invalid input.
    let nowhere = entry_at(999_999, "2026-10-15T09:00:00Z");
    let r = app.post_json("/api/v1/time-entries", &json!([nowhere, entry_at(sub, "2026-09-15T09:00:00Z")])).await;
    assert_invalid(&r, "[0].subscription_id");
    assert_eq!(r.error_fields(), ["[0].subscription_id", "[1].started_at"], "{}", r.text);
    assert_eq!(count_entries(app).await, 2, "only the two entries inside were stored");

    // The CSV import names the line (the header is line 1), by id and by external id.
    let csv = format!(
        "subscription_id,started_at,minutes,agent,category\n\
         {sub},2026-10-05T08:00:00Z,30,a,technical\n\
         {sub},2026-12-01T08:00:00Z,30,a,technical\n\
         {sub},2026-11-05T08:00:00Z,30,a,technical\n"
    );
    let r = app.post_csv("/api/v1/time-entries/import", &csv).await;
    assert_outside(&r, &[("started_at", Some(3))], &after);
    let mut external = subscription(customer, plan, "2026-10-01", None);
    external["external_id"] = json!("pc-sub-1");
    let other = create(app, "/api/v1/subscriptions", &external).await["id"].as_i64().unwrap();
    let csv = "subscription_external_id,started_at,minutes,agent,category\n\
               pc-sub-1,2026-10-05T08:00:00Z,30,a,technical\n\
               pc-sub-1,2026-09-05T08:00:00Z,30,a,technical\n";
    let r = app.post_csv("/api/v1/time-entries/import", csv).await;
    assert_outside(&r, &[("started_at", Some(3))], &before);
    assert_eq!(count_entries(app).await, 2, "nothing imported");

    // Moving an entry out, or onto a subscription that does not cover its day.
    let path = format!("/api/v1/time-entries/{first}");
    let r = app.patch_json(&path, &json!({"started_at": "2026-09-30T12:00:00Z"})).await;
    assert_outside(&r, &[("started_at", None)], &before);
    let late = create(app, "/api/v1/subscriptions", &subscription(customer, plan, "2026-11-01", None)).await;
    let r = app.patch_json(&path, &json!({"subscription_id": late["id"]})).await;
    assert_outside(&r, &[("started_at", None)], &["2026-10-01", "2026-11-01"]);
    app.patch_json(&path, &json!({"started_at": "2026-10-02T12:00:00Z"})).await.expect(200);

    // Tickets: on create, and when their opening time moves.
    let r = app.post_json("/api/v1/tickets", &ticket_at(sub, "2026-09-30T12:00:00Z")).await;
    assert_outside(&r, &[("opened_at", None)], &before);
    let r = app.post_json("/api/v1/tickets", &ticket_at(sub, "2026-12-01T08:00:00+01:00")).await;
    assert_outside(&r, &[("opened_at", None)], &after);
    // 00:30 in Berlin on 1 December is 23:30 UTC on 30 November: covered.
    let ticket = app.post_json("/api/v1/tickets", &ticket_at(sub, "2026-12-01T00:30:00+01:00")).await.expect(201).id();
    let path = format!("/api/v1/tickets/{ticket}");
    let r = app.patch_json(&path, &json!({"opened_at": "2026-12-01T09:00:00Z"})).await;
    assert_outside(&r, &[("opened_at", None)], &after);
    app.patch_json(&path, &json!({"title": "VM will not start (again)"})).await.expect(200);

    // Charges, by their date.
    let r = app.post_json("/api/v1/charges", &charge_on(sub, "2026-09-30")).await;
    assert_outside(&r, &[("date", None)], &before);
    let r = app.post_json("/api/v1/charges", &charge_on(sub, "2026-12-01")).await;
    assert_outside(&r, &[("date", None)], &after);
    app.post_json("/api/v1/charges", &charge_on(sub, "2026-11-30")).await.expect(201);
    assert_eq!(app.list_all("/api/v1/charges", 100).await.len(), 1);
    assert_eq!(app.list_all("/api/v1/tickets", 100).await.len(), 1);
    let _ = other;
});

both_backends!(new_dates_must_cover_what_the_subscription_holds, state = on_december_4, |app| {
    let (_, _, sub) = billing_setup(app).await;
    let entry = app.post_json("/api/v1/time-entries", &entry_at(sub, "2026-10-05T08:00:00Z")).await.expect(201).id();
    let ticket = app.post_json("/api/v1/tickets", &ticket_at(sub, "2026-10-04T23:00:00Z")).await.expect(201).id();
    let charge = app.post_json("/api/v1/charges", &charge_on(sub, "2026-11-20")).await.expect(201).id();
    let path = format!("/api/v1/subscriptions/{sub}");

    // The first item outside is named, with its date and the new date.
    let r = app.patch_json(&path, &json!({"start_date": "2026-10-06"})).await;
    assert_outside(&r, &[("start_date", None)], &[&format!("ticket {ticket}"), "2026-10-04", "2026-10-06"]);
    let r = app.patch_json(&path, &json!({"end_date": "2026-10-05"})).await;
    assert_outside(&r, &[("end_date", None)], &[&format!("time entry {entry}"), "2026-10-05"]);
    let r = app.patch_json(&path, &json!({"start_date": "2026-10-05", "end_date": "2026-11-20"})).await;
    assert_outside(&r, &[("start_date", None), ("end_date", None)], &[]);
    assert!(r.body["errors"][1]["message"].as_str().unwrap().contains(&format!("charge {charge}")), "{}", r.text);
    // A cancellation on 4 December ends on 1 January: everything is covered.
    let r = app.patch_json(&path, &json!({"status": "cancelled"})).await.expect(200);
    assert_eq!(r.body["end_date"], json!("2027-01-01"));
    // The tightest dates that hold them all are accepted.
    let r = app.patch_json(&path, &json!({"start_date": "2026-10-04", "end_date": "2026-11-21"})).await.expect(200);
    assert_eq!((&r.body["start_date"], &r.body["end_date"]), (&json!("2026-10-04"), &json!("2026-11-21")));
    // Items on an invoice count too.
    let customer = r.body["customer_id"].clone();
    let draft = json!({"customer_id": customer, "period_start": "2026-10-01", "period_end": "2026-12-01"});
    app.post_json("/api/v1/invoices", &draft).await.expect(201);
    let r = app.patch_json(&path, &json!({"end_date": "2026-11-01"})).await;
    assert_outside(&r, &[("end_date", None)], &[&format!("charge {charge}")]);
    let now = app.get(&path).await.expect(200);
    assert_eq!((&now.body["start_date"], &now.body["end_date"]), (&json!("2026-10-04"), &json!("2026-11-21")));
});
