//! The migration 2026-12-04-000002 (SPEC 7.1) on a database as the release before it left it:
//! every existing subscription gets the first day of the month of the earliest of its creation
//! and its oldest entry, ticket or charge; cancelled ones end on the first day of the month
//! after the latest of their last update (their newest audit row) and their newest item.

use diesel::sql_types::BigInt;
use diesel::RunQueryDsl;
use serde_json::json;

use crate::fixtures::*;
use crate::harness::*;

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

const MIGRATION: &str = "20261204000002";

both_backends!(existing_subscriptions_get_their_dates_from_their_history, |app| {
    let customer = create(app, "/api/v1/customers", &mueller()).await["id"].as_i64().unwrap();
    let plan = create(app, "/api/v1/plans", &standard_plan()).await["id"].as_i64().unwrap();

    // Down to the schema before this migration (later ones first).
    let mut conn = app.conn();
    loop {
        let reverted = supportbill::storage::revert_last_migration(&mut conn).unwrap();
        if reverted.starts_with(MIGRATION) {
            break;
        }
        assert!(reverted.as_str() > MIGRATION, "went past the subscription dates migration: {reverted}");
    }

    // Rows as the previous release wrote them, in the columns it had.
    let mut sql = |q: String| diesel::sql_query(q).execute(&mut *conn).unwrap();
    let subscription = |name: &str, status: &str, created_at: &str| -> i64 {
        diesel::sql_query(format!(
            "INSERT INTO subscriptions (customer_id, plan_id, product, name, external_id, status, created_at) \
             VALUES ({customer}, {plan}, 'azure', '{name}', NULL, '{status}', '{created_at}') RETURNING id"
        ))
        .get_result::<Id>(&mut *app.conn())
        .unwrap()
        .id
    };
    let active = subscription("Active", "active", "2026-11-20 10:00:00");
    let updated = subscription("Cancelled, updated late", "cancelled", "2026-06-15 09:00:00");
    let by_items = subscription("Cancelled, items late", "cancelled", "2026-09-10 00:00:00");
    let bare = subscription("Cancelled, nothing recorded", "cancelled", "2026-03-31 23:00:00");
    let entry = |sub: i64, at: &str| {
        format!(
            "INSERT INTO time_entries (subscription_id, ticket_id, agent, started_at, minutes, category, billable, description) \
             VALUES ({sub}, NULL, 'a.kowalski', '{at}', 30, 'technical', TRUE, 'Work')"
        )
    };
    let ticket = |sub: i64, at: &str| {
        format!(
            "INSERT INTO tickets (subscription_id, title, category, severity, opened_at) \
             VALUES ({sub}, 'Outage', 'technical', 'high', '{at}')"
        )
    };
    let charge = |sub: i64, date: &str| {
        format!(
            "INSERT INTO charges (subscription_id, date, description, amount) VALUES ({sub}, '{date}', 'Fee', '10.00')"
        )
    };
    let audit = |sub: i64, at: &str| {
        format!(
            "INSERT INTO audit_log (at, api_key_id, request_id, method, route, status, resource_type, resource_id, action) \
             VALUES ('{at}', NULL, 'req', 'PATCH', '/api/v1/subscriptions/{{id}}', 200, 'subscription', {sub}, 'updated')"
        )
    };
    // Active: its oldest item is a ticket opened on the last second of August (UTC).
    sql(entry(active, "2026-09-14 10:00:00"));
    sql(entry(active, "2026-10-31 23:30:00"));
    sql(ticket(active, "2026-08-31 23:59:59"));
    sql(charge(active, "2026-10-20"));
    sql(audit(active, "2026-12-02 08:00:00"));
    // Cancelled, last updated (cancelled) in November, after all its items.
    sql(entry(updated, "2026-07-03 08:00:00"));
    sql(entry(updated, "2026-09-30 23:59:00"));
    sql(ticket(updated, "2026-08-10 12:00:00"));
    sql(charge(updated, "2026-10-01"));
    sql(audit(updated, "2026-11-05 12:00:00"));
    // Cancelled, never updated; an entry before its creation, a charge dated after the rest.
    sql(entry(by_items, "2026-05-31 22:00:00"));
    sql(ticket(by_items, "2026-12-15 08:00:00"));
    sql(charge(by_items, "2027-01-31"));

    supportbill::storage::migrate(&mut conn).unwrap();
    drop(conn);

    let dates = |s: serde_json::Value| (s["start_date"].clone(), s["end_date"].clone());
    let got = |id: i64| async move { dates(app.get(&format!("/api/v1/subscriptions/{id}")).await.expect(200).body) };
    assert_eq!(got(active).await, (json!("2026-08-01"), json!(null)), "active: from its August ticket, open-ended");
    assert_eq!(
        got(updated).await,
        (json!("2026-06-01"), json!("2026-12-01")),
        "from its creation to after its last update"
    );
    assert_eq!(
        got(by_items).await,
        (json!("2026-05-01"), json!("2027-02-01")),
        "from its first entry to after its last charge"
    );
    assert_eq!(got(bare).await, (json!("2026-03-01"), json!("2026-04-01")), "its creation's month");

    // The dates now hold: the last covered day takes time, the first day after does not.
    let mut e = entry_at(updated, "2026-11-30T23:59:00Z");
    app.post_json("/api/v1/time-entries", &e).await.expect(201);
    e["started_at"] = json!("2026-12-01T00:00:00Z");
    assert_problem(&app.post_json("/api/v1/time-entries", &e).await, 422, "outside_subscription");
});

fn entry_at(sub: i64, at: &str) -> serde_json::Value {
    let mut e = entry(sub, 30);
    e["started_at"] = json!(at);
    e
}
