//! The Partner Center subscription import fills the dates (SPEC 7.1) from the export's start
//! and end columns: the start as given, the end (the last day of the term) as the day after,
//! and only for a cancelled subscription, since an active one renews at its end. Without a
//! start column a new subscription starts on the first day of the current month; cancelled
//! without an end, it ends on the first day of the next month.

use serde_json::{json, Value};

use super::{entry_at, on_december_4};
use crate::fixtures::*;
use crate::harness::*;

const CUSTOMERS: &str = include_str!("../../fixtures/partner_center_customers.csv");
const SUBSCRIPTIONS: &str = include_str!("../../fixtures/partner_center_subscriptions.csv");

/// (external id's last digit, start_date, end_date) of every subscription.
async fn dates(app: &TestApp) -> Vec<(String, Value, Value)> {
    app.list_all("/api/v1/subscriptions", 100)
        .await
        .into_iter()
        .map(|s| {
            let ext = s["external_id"].as_str().unwrap_or("").to_string();
            (ext.chars().last().map(String::from).unwrap_or_default(), s["start_date"].clone(), s["end_date"].clone())
        })
        .collect()
}

fn row(sub: &str, start: &str, end: Option<&str>) -> (String, Value, Value) {
    (sub.to_string(), json!(start), end.map(|e| json!(e)).unwrap_or(Value::Null))
}

both_backends!(partner_center_subscriptions_take_their_dates_from_the_export, state = on_december_4, |app| {
    let plan = create(app, "/api/v1/plans", &standard_plan()).await["id"].as_i64().unwrap();
    let customers = "/api/v1/import/partner-center/customers?currency=EUR&tax_rate_percent=19";
    app.post_csv(customers, CUSTOMERS).await.expect(200);
    let path = format!("/api/v1/import/partner-center/subscriptions?plan_id={plan}");

    let report = app.post_csv(&path, SUBSCRIPTIONS).await.expect(200).body;
    assert_eq!(report["created"], 4, "{report}");
    assert_eq!(
        dates(app).await,
        [
            // A timestamp's UTC date; the end of an active subscription is its renewal.
            row("1", "2026-03-15", None),
            // M/D/YYYY, as the en-US files write it.
            row("2", "2025-11-01", None),
            // No start: the clock's month (4 December 2026).
            row("3", "2026-12-01", None),
            // Deleted: covered to its last day, 30 September.
            row("4", "2024-05-20", Some("2026-10-01")),
        ]
    );
    let created = &report["lines"][3]["changes"];
    assert!(created.as_array().unwrap().contains(&json!(["start_date", "", "2024-05-20"])), "{created}");
    assert!(created.as_array().unwrap().contains(&json!(["end_date", "", "2026-10-01"])), "{created}");
    assert_eq!(
        app.post_csv(&path, SUBSCRIPTIONS).await.expect(200).body["unchanged"],
        4,
        "a re-import changes nothing"
    );

    // Cancelled in Partner Center: it ends after its term's last day.
    let cancelled = SUBSCRIPTIONS.replace("Azure plan,1,Active", "Azure plan,1,Cancelled");
    let r = app.post_csv(&path, &cancelled).await.expect(200).body;
    assert_eq!(r["updated"], 1, "{r}");
    assert_eq!(r["lines"][0]["changes"], json!([["status", "active", "cancelled"], ["end_date", "", "2027-03-15"]]));
    // Back to active: open-ended again.
    let r = app.post_csv(&path, SUBSCRIPTIONS).await.expect(200).body;
    assert_eq!(r["lines"][0]["changes"], json!([["status", "cancelled", "active"], ["end_date", "2027-03-15", ""]]));

    // A new start that would leave recorded time outside: refused, naming the line and the entry.
    let m365 = app.list_all("/api/v1/subscriptions", 100).await[1]["id"].as_i64().unwrap();
    let entry = app.post_json("/api/v1/time-entries", &entry_at(m365, "2025-11-20T10:00:00Z")).await.expect(201).id();
    let later = SUBSCRIPTIONS.replace("11/1/2025", "12/1/2025").replace("2024-05-20", "2024-06-01");
    let r = app.post_csv(&path, &later).await;
    assert_problem(&r, 422, "outside_subscription");
    assert_eq!(r.body["errors"].as_array().unwrap().len(), 1, "{}", r.text);
    assert_eq!((&r.body["errors"][0]["field"], &r.body["errors"][0]["row"]), (&json!("start_date"), &json!(3)));
    let message = r.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains(&format!("time entry {entry}")) && message.contains("2025-12-01"), "{message}");
    assert_eq!(dates(app).await[3].1, json!("2024-05-20"), "all or nothing");

    // Dates that cannot be read are refused naming the line and the column.
    let bad = SUBSCRIPTIONS.replace("2024-05-20", "20.05.2024").replace("10/31/2026", "2026-02-30");
    let r = app.post_csv(&path, &bad).await;
    assert_problem(&r, 422, "invalid_input");
    let errors: Vec<(Value, Value)> =
        r.body["errors"].as_array().unwrap().iter().map(|e| (e["row"].clone(), e["field"].clone())).collect();
    assert_eq!(errors, [(json!(3), json!("end_date")), (json!(5), json!("start_date"))], "{}", r.text);

    // Without date columns: a new subscription starts this month, a cancelled one ends next month.
    let bare = "Customer ID,Subscription ID,Offer Name,Status\n\
                5f0c1d2e-0000-4000-8000-000000000001,s-new-1,Azure plan,Active\n\
                5f0c1d2e-0000-4000-8000-000000000001,s-new-2,Azure plan,Deleted\n";
    app.post_csv(&path, bare).await.expect(200);
    let all = app.list_all("/api/v1/subscriptions", 100).await;
    let got: Vec<(Value, Value)> = all[4..].iter().map(|s| (s["start_date"].clone(), s["end_date"].clone())).collect();
    assert_eq!(got, [(json!("2026-12-01"), json!(null)), (json!("2026-12-01"), json!("2027-01-01"))]);
});
