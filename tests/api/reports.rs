//! The usage summary (SPEC section 5) for every `group_by`, and a client's view of it.

use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::*;
use supportbill::domain::vocab::Role;

fn row<'a>(rows: &'a [Value], key: &str) -> &'a Value {
    rows.iter().find(|r| r["key"] == key).unwrap_or_else(|| panic!("no row {key} in {rows:?}"))
}

both_backends!(usage_summary_every_grouping, |app| {
    let (customer, _plan, sub) = billing_setup(app).await;
    let ticket = create(
        app,
        "/api/v1/tickets",
        &json!({"subscription_id": sub, "title": "VM will not start",
        "category": "technical", "severity": "high", "opened_at": "2026-10-05T07:55:00Z"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    app.patch_json(
        &format!("/api/v1/tickets/{ticket}"),
        &json!({"escalation": {"channel": "premier",
        "case_id": "2610050010001234", "escalated_at": "2026-10-05T09:00:00Z"}}),
    )
    .await
    .expect(200);
    app.post_json("/api/v1/time-entries", &json!([
        // 10:00 Berlin, in hours, on the ticket: 50 raw, 60 billed.
        {"subscription_id": sub, "ticket_id": ticket, "agent": "a.kowalski", "started_at": "2026-10-05T08:00:00Z", "minutes": 50},
        // 19:30 Berlin, after hours: 10 raw, 30 billed (minimum).
        {"subscription_id": sub, "agent": "b.nowak", "started_at": "2026-10-06T17:30:00Z", "minutes": 10, "category": "technical"},
        // billing is not chargeable: billed 0.
        {"subscription_id": sub, "agent": "b.nowak", "started_at": "2026-10-07T09:00:00Z", "minutes": 20, "category": "billing"},
        // non-billable.
        {"subscription_id": sub, "agent": "a.kowalski", "started_at": "2026-10-08T09:00:00Z", "minutes": 15, "category": "technical", "billable": false},
        // outside the range.
        {"subscription_id": sub, "agent": "a.kowalski", "started_at": "2026-11-01T00:10:00Z", "minutes": 30, "category": "technical"},
    ])).await.expect(201);

    let q = |g: &str| format!("/api/v1/reports/usage?from=2026-10-01&to=2026-11-01&group_by={g}");
    let by_customer = app.get(&q("customer")).await.expect(200);
    let rows = by_customer.data();
    assert_eq!(rows.len(), 1);
    let c = row(rows, &customer.to_string());
    assert_eq!(c["label"], "Müller & Söhne GmbH");
    assert_eq!(c["entries"], 4);
    assert_eq!(c["minutes"], 95);
    assert_eq!(c["billable_minutes"], 80);
    assert_eq!(c["non_billable_minutes"], 15);
    assert_eq!(c["billed_minutes"], 90);
    assert_eq!(c["after_hours_minutes"], 10);
    assert_eq!(c["tickets"], 1);
    assert_eq!(c["escalations"], json!({"premier": 1}));

    let by_category = app.get(&q("category")).await.expect(200);
    assert_eq!(row(by_category.data(), "technical")["minutes"], 75);
    assert_eq!(row(by_category.data(), "billing")["billed_minutes"], 0);

    let by_agent = app.get(&q("agent")).await.expect(200);
    assert_eq!(row(by_agent.data(), "a.kowalski")["minutes"], 65);
    assert_eq!(row(by_agent.data(), "a.kowalski")["tickets"], 1);
    assert_eq!(row(by_agent.data(), "b.nowak")["minutes"], 30);

    let by_channel = app.get(&q("escalation_channel")).await.expect(200);
    assert_eq!(row(by_channel.data(), "premier")["minutes"], 50);
    assert_eq!(row(by_channel.data(), "none")["minutes"], 45);

    let by_product = app.get(&q("product")).await.expect(200);
    assert_eq!(row(by_product.data(), "azure")["entries"], 4);
    let by_sub = app.get(&q("subscription")).await.expect(200);
    assert_eq!(row(by_sub.data(), &sub.to_string())["label"], "Azure plan");

    assert_invalid(&app.get(&q("planet")).await, "group_by");
    assert_invalid(&app.get("/api/v1/reports/usage?from=2026-10-01&to=2026-09-01").await, "to");
    // `to` is exclusive, so from == to is an empty range: no rows, not an error.
    let empty = app.get("/api/v1/reports/usage?from=2026-10-05&to=2026-10-05&group_by=customer").await.expect(200);
    assert!(empty.data().is_empty(), "{}", empty.text);
    app.get("/api/v1/reports/usage?from=2026-10-05&to=2026-10-05&group_by=customer&format=csv").await.expect(200);
    app.get("/api/v1/reports/usage?from=2026-10-05&to=2026-10-05&format=pdf").await.expect(200);

    // A client of another customer sees nothing of this one.
    let other = create(app, "/api/v1/customers", &customer_named("Other GmbH")).await["id"].as_i64().unwrap();
    let client = app.make_key(Role::Client, Some(other));
    let theirs = app.get_as(&client, &format!("{}&customer_id={customer}", q("customer"))).await.expect(200);
    assert!(theirs.data().is_empty());
});

both_backends!(usage_read_in_small_pages_equals_usage_read_whole, |app| {
    use supportbill::service::reports::{self, GroupBy};
    let now = chrono::Utc::now().naive_utc();
    let mut conn = app.conn();
    assert!(supportbill::cli::demo::seed(&mut conn, now).unwrap());
    let to = chrono::Datelike::with_day(&now.date(), 1).unwrap();
    let from = to.checked_sub_months(chrono::Months::new(2)).unwrap();
    for name in GroupBy::NAMES {
        let g = GroupBy::parse(name).unwrap();
        let whole = reports::usage(&mut conn, from, to, g, None).unwrap();
        // 7 entries a page: hundreds of page boundaries.
        let paged = reports::usage_in_pages(&mut conn, from, to, g, None, 7).unwrap();
        let entries: u64 = whole.iter().map(|r| r.entries).sum();
        assert!(entries > 100, "{name}: the demo has hundreds of entries, got {entries}");
        assert_eq!(serde_json::to_value(&paged).unwrap(), serde_json::to_value(&whole).unwrap(), "{name}");
    }
});

// The summary reads only the tickets opened or escalated in its range, and looks up the
// channel of an entry's ticket wherever that ticket was opened.
both_backends!(usage_counts_tickets_by_their_own_dates_and_channels_of_older_tickets, |app| {
    let (_customer, _plan, sub) = billing_setup(app).await;
    let ticket = |opened: &str| json!({"subscription_id": sub, "title": "t", "category": "technical", "severity": "high", "opened_at": opened});
    let september = create(app, "/api/v1/tickets", &ticket("2026-09-28T10:00:00Z")).await["id"].as_i64().unwrap();
    app.patch_json(
        &format!("/api/v1/tickets/{september}"),
        &json!({"escalation": {"channel": "premier",
        "case_id": "2609280010001234", "escalated_at": "2026-10-02T09:00:00Z"}}),
    )
    .await
    .expect(200);
    let early_october = create(app, "/api/v1/tickets", &ticket("2026-10-03T10:00:00Z")).await["id"].as_i64().unwrap();
    app.patch_json(
        &format!("/api/v1/tickets/{early_october}"),
        &json!({"escalation": {"channel": "advanced",
        "case_id": "2610030010001234", "escalated_at": "2026-10-03T11:00:00Z"}}),
    )
    .await
    .expect(200);
    app.post_json("/api/v1/time-entries", &json!([
        {"subscription_id": sub, "ticket_id": september, "agent": "a", "started_at": "2026-10-20T08:00:00Z", "minutes": 40},
        {"subscription_id": sub, "ticket_id": early_october, "agent": "a", "started_at": "2026-10-21T08:00:00Z", "minutes": 25},
    ])).await.expect(201);

    // October: the September ticket's escalation counts, its opening does not.
    let october =
        app.get("/api/v1/reports/usage?from=2026-10-01&to=2026-11-01&group_by=escalation_channel").await.expect(200);
    assert_eq!(row(october.data(), "premier")["minutes"], 40);
    assert_eq!(row(october.data(), "premier")["tickets"], 0);
    assert_eq!(row(october.data(), "premier")["escalations"], json!({"premier": 1}));
    assert_eq!(row(october.data(), "advanced")["tickets"], 1);
    // The second half of October: both tickets are older than the range, their entries still
    // group under their channels, and no ticket or escalation counts.
    let late =
        app.get("/api/v1/reports/usage?from=2026-10-15&to=2026-11-01&group_by=escalation_channel").await.expect(200);
    assert_eq!(late.data().len(), 2, "{}", late.text);
    assert_eq!(row(late.data(), "premier")["minutes"], 40);
    assert_eq!(row(late.data(), "advanced")["minutes"], 25);
    for r in late.data() {
        assert_eq!(r["tickets"], 0);
        assert_eq!(r["escalations"], json!({}));
    }
    // September: the ticket opened then, nothing else.
    let sept = app.get("/api/v1/reports/usage?from=2026-09-01&to=2026-10-01&group_by=customer").await.expect(200);
    assert_eq!(sept.data()[0]["tickets"], 1);
    assert_eq!(sept.data()[0]["entries"], 0);
});
