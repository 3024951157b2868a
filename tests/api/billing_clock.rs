//! Billing at any moment (issue 3, item 4): a scheduler that runs the invoice run for the
//! previous calendar month every hour, across both daylight-saving changes (Europe/Berlin and
//! America/New_York in March and October/November 2026) and the month ends of January 31,
//! February 28 and (2028) February 29, with the clock injected. Afterwards each customer has
//! exactly one invoice per period, and every entry is on the invoice of the month it started
//! in (UTC), however close to midnight or to a clock change it was recorded.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use crate::fixtures::*;
use supportbill::domain::pricing::Period;
use supportbill::service::invoices;
use supportbill::storage::schema::{invoices as invoices_t, time_entries, time_entry_claims};

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").unwrap()
}

/// The previous calendar month of `now`'s UTC date.
fn previous_month(now: NaiveDateTime) -> Period {
    let this = now.date().with_day(1).unwrap();
    let last = this.checked_sub_months(chrono::Months::new(1)).unwrap();
    Period::new(last, this).unwrap()
}

both_backends!(hourly_runs_across_clock_changes_and_month_ends_bill_each_month_once, |app| {
    let berlin = create(app, "/api/v1/customers", &customer_named("Berlin GmbH")).await["id"].as_i64().unwrap();
    let mut ny = customer_named("New York Inc.");
    ny["currency"] = json!("USD");
    ny["tax_rate_percent"] = json!("0");
    ny["country"] = json!("US");
    let new_york = create(app, "/api/v1/customers", &ny).await["id"].as_i64().unwrap();
    let eur_plan = create(app, "/api/v1/plans", &standard_plan()).await["id"].as_i64().unwrap();
    let mut usd = standard_plan_in("USD");
    usd["hours_of_service"]["timezone"] = json!("America/New_York");
    let usd_plan = create(app, "/api/v1/plans", &usd).await["id"].as_i64().unwrap();
    let sub = |customer: i64, plan: i64| json!({"customer_id": customer, "plan_id": plan, "start_date": "2026-01-01", "product": "azure", "name": "Azure plan"});
    let berlin_sub = create(app, "/api/v1/subscriptions", &sub(berlin, eur_plan)).await["id"].as_i64().unwrap();
    let ny_sub = create(app, "/api/v1/subscriptions", &sub(new_york, usd_plan)).await["id"].as_i64().unwrap();

    // Entries on both sides of each midnight and clock change (UTC offsets given explicitly).
    let moments = [
        "2026-01-31T23:30:00Z",
        "2026-02-01T00:30:00Z", // January 31 / February 1
        "2026-02-28T23:59:00Z",
        "2026-03-01T00:00:00Z", // February 28 / March 1
        "2026-03-08T06:30:00Z",
        "2026-03-08T07:30:00Z", // New York springs forward at 07:00 UTC
        "2026-03-29T00:30:00Z",
        "2026-03-29T01:30:00Z", // Berlin springs forward at 01:00 UTC
        "2026-03-31T23:30:00+00:00",
        "2026-04-01T01:30:00+02:00", // the same instant's month differs by zone
        "2026-10-25T00:30:00Z",
        "2026-10-25T01:30:00Z", // Berlin falls back at 01:00 UTC
        "2026-10-31T23:30:00Z",
        "2026-11-01T05:30:00Z",
        "2026-11-01T06:30:00Z", // New York falls back at 06:00 UTC
        "2028-02-29T23:30:00Z",
        "2028-03-01T00:30:00Z", // leap day
    ];
    let mut batch = Vec::new();
    for (i, m) in moments.iter().enumerate() {
        for s in [berlin_sub, ny_sub] {
            batch.push(json!({"subscription_id": s, "agent": "a.kowalski", "started_at": m, "minutes": 20 + i, "category": "technical"}));
        }
    }
    app.post_json("/api/v1/time-entries", &json!(batch)).await.expect(201);

    // The scheduler: every hour through each window, bill the previous month.
    let windows = [
        ("2026-01-31T00:00", "2026-02-02T06:00"),
        ("2026-02-27T00:00", "2026-03-02T06:00"),
        ("2026-03-07T00:00", "2026-03-09T00:00"),
        ("2026-03-28T00:00", "2026-04-02T06:00"),
        ("2026-10-24T00:00", "2026-10-26T12:00"),
        ("2026-10-31T00:00", "2026-11-02T12:00"),
        ("2028-02-28T00:00", "2028-03-02T06:00"),
    ];
    let mut conn = app.conn();
    let mut runs = 0;
    for (from, to) in windows {
        let mut now = at(from);
        while now < at(to) {
            invoices::run(&mut conn, supportbill::storage::SecondReader::NONE, previous_month(now), now).unwrap();
            runs += 1;
            now += Duration::hours(1);
        }
    }
    assert!(runs > 400, "the scheduler ran {runs} times");

    // Exactly one invoice per customer and period, for each month that had time.
    let rows: Vec<(i64, NaiveDate, i64)> = invoices_t::table
        .group_by((invoices_t::customer_id, invoices_t::period_start))
        .select((invoices_t::customer_id, invoices_t::period_start, diesel::dsl::count_star()))
        .order((invoices_t::customer_id, invoices_t::period_start))
        .load(&mut *conn)
        .unwrap();
    let months = ["2026-01-01", "2026-02-01", "2026-03-01", "2026-10-01", "2028-02-01"];
    for customer in [berlin, new_york] {
        let got: Vec<(String, i64)> = rows.iter().filter(|r| r.0 == customer).map(|r| (r.1.to_string(), r.2)).collect();
        let want: Vec<(String, i64)> = months.iter().map(|m| (m.to_string(), 1)).collect();
        assert_eq!(got, want, "customer {customer}: invoices per period");
    }
    // Every entry is claimed, by the invoice of the UTC month it started in; April and
    // November 2026 and March 2028 were never billed (no run for them yet).
    let entries: Vec<(NaiveDateTime, Option<i64>)> = time_entries::table
        .left_join(time_entry_claims::table)
        .select((time_entries::started_at, time_entry_claims::invoice_id.nullable()))
        .load(&mut *conn)
        .unwrap();
    let periods: std::collections::HashMap<i64, NaiveDate> = invoices_t::table
        .select((invoices_t::id, invoices_t::period_start))
        .load::<(i64, NaiveDate)>(&mut *conn)
        .unwrap()
        .into_iter()
        .collect();
    for (started, invoice) in entries {
        let month = started.date().with_day(1).unwrap().to_string();
        match invoice {
            Some(id) => {
                assert_eq!(periods[&id].to_string(), month, "entry at {started} is on the wrong month's invoice")
            }
            None => assert!(
                ["2026-04-01", "2026-11-01", "2028-03-01"].contains(&month.as_str()),
                "entry at {started} was never billed"
            ),
        }
    }
});
