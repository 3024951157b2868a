//! Plan versions beyond the API (SPEC 7.2): the migration that made every existing plan one
//! version, the finance page's plans, and `supportbill plan version add` / `plan versions`.

use diesel::prelude::*;
use diesel::sql_types::{Date, Integer, Nullable, Text};
use serde_json::{json, Value};
use supportbill::domain::vocab::Role;

use crate::fixtures::*;
use crate::harness::{assert_invalid, assert_problem};
use crate::plan_versions::{on_dec_4, standard_from, version};

#[derive(QueryableByName, Debug, PartialEq)]
struct OldTerms {
    #[diesel(sql_type = Text)]
    scope: String,
    #[diesel(sql_type = Nullable<Text>)]
    hourly_rate: Option<String>,
    #[diesel(sql_type = Integer)]
    minimum_minutes: i32,
}

#[derive(QueryableByName, Debug, PartialEq)]
struct Version {
    #[diesel(sql_type = Date)]
    effective_from: chrono::NaiveDate,
    #[diesel(sql_type = Text)]
    scope: String,
    #[diesel(sql_type = Nullable<Text>)]
    monthly_fee: Option<String>,
    #[diesel(sql_type = Text)]
    rounding_scope: String,
    #[diesel(sql_type = Text)]
    fee_proration: String,
}

// Plans made by the previous schema become one version each, effective from the UTC date of
// their creation, and the terms leave `plans`; undone, each plan gets its newest terms back.
both_backends!(the_migration_makes_each_existing_plan_one_version, |app| {
    let made = create(app, "/api/v1/plans", &standard_from("2026-10-01")).await;
    let through_api = made["id"].as_i64().unwrap();
    let made_on = made["created_at"].as_str().unwrap()[..10].to_string();
    app.post_json(&format!("/api/v1/plans/{through_api}/versions"), &version("2027-01-01", "130.00")).await.expect(201);
    let mut conn = app.conn();
    loop {
        let reverted = supportbill::storage::revert_last_migration(&mut conn).unwrap();
        if reverted.starts_with("20261204000003") {
            break;
        }
        assert!(reverted.as_str() > "20261204000003", "went past the plan versions migration: {reverted}");
    }
    // Down: the plan holds the terms of its newest version again.
    let old: Vec<OldTerms> = diesel::sql_query("SELECT scope, hourly_rate, minimum_minutes FROM plans ORDER BY id")
        .load(&mut *conn)
        .unwrap();
    assert_eq!(
        old,
        [OldTerms {
            scope: "Azure and Microsoft 365 incidents".into(),
            hourly_rate: Some("130.00".into()),
            minimum_minutes: 30
        }]
    );
    assert!(diesel::sql_query("SELECT id FROM plan_versions").execute(&mut *conn).is_err());

    // A plan as the previous schema stored it, created late in the evening (UTC).
    diesel::sql_query(
        "INSERT INTO plans (name, scope, currency, billing_model, hourly_rate, category_rates, after_hours_multiplier, \
         rounding_increment_minutes, minimum_minutes, monthly_fee, included_minutes, incident_fee, \
         chargeable_categories, hours_of_service, contact_methods, created_at) \
         VALUES ('Retainer USD', 'Everything Azure', 'USD', 'retainer', '100.00', '{\"technical\":\"110.00\"}', '2', \
         15, 0, '500.00', 120, NULL, '[\"technical\"]', \
         '{\"timezone\":\"UTC\",\"days\":[\"mon\",\"tue\"],\"start\":\"08:00\",\"end\":\"18:00\"}', \
         '[{\"kind\":\"email\",\"value\":\"help@partner.example\"}]', '2026-11-15 23:30:00')",
    )
    .execute(&mut *conn)
    .unwrap();
    supportbill::storage::migrate(&mut conn).unwrap();

    let versions: Vec<Version> = diesel::sql_query(
        "SELECT effective_from, scope, monthly_fee, rounding_scope, fee_proration FROM plan_versions ORDER BY plan_id",
    )
    .load(&mut *conn)
    .unwrap();
    let date = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    assert_eq!(versions.len(), 2, "{versions:?}");
    // The API's plan went down with its newest terms and came back up as one version from the
    // day it was created.
    assert_eq!(versions[0].effective_from, date(&made_on));
    assert_eq!(versions[0].scope, "Azure and Microsoft 365 incidents");
    assert_eq!(versions[1].effective_from, date("2026-11-15"));
    assert_eq!(versions[1].scope, "Everything Azure");
    assert_eq!(versions[1].monthly_fee.as_deref(), Some("500.00"));
    assert_eq!((versions[1].rounding_scope.as_str(), versions[1].fee_proration.as_str()), ("entry", "none"));
    assert!(diesel::sql_query("SELECT scope FROM plans").execute(&mut *conn).is_err(), "terms left plans");
    drop(conn);

    // The service reads the migrated plan as it was.
    let plans = app.list_all("/api/v1/plans", 10).await;
    let migrated = plans.iter().find(|p| p["name"] == "Retainer USD").unwrap();
    let id = migrated["id"].as_i64().unwrap();
    assert_eq!(migrated["effective_from"], "2026-11-15");
    assert_eq!(migrated["created_at"], "2026-11-15T23:30:00Z");
    assert_eq!(migrated["monthly_fee"], "500.00");
    assert_eq!(migrated["included_minutes"], 120);
    assert_eq!(migrated["after_hours_multiplier"], "2");
    assert_eq!(migrated["rounding_increment_minutes"], 15);
    assert_eq!(migrated["category_rates"], json!({"technical": "110.00"}));
    assert_eq!(migrated["chargeable_categories"], json!(["technical"]));
    assert_eq!(migrated["hours_of_service"]["days"], json!(["mon", "tue"]));
    assert_eq!(migrated["contact_methods"], json!([{"kind": "email", "value": "help@partner.example"}]));
    let listed = app.list_all(&format!("/api/v1/plans/{id}/versions"), 10).await;
    assert_eq!(listed.len(), 1);
});

both_backends!(the_finance_page_lists_each_plan_with_its_versions, state = on_dec_4, |app| {
    let id = create(app, "/api/v1/plans", &standard_from("2026-11-01")).await["id"].as_i64().unwrap();
    app.post_json(&format!("/api/v1/plans/{id}/versions"), &version("2027-01-01", "130.00")).await.expect(201);
    let session = crate::web_sessions::sign_in(app, &app.admin_token).await;
    let page = session.get(app, "/plans").await.expect(200);
    for needle in
        ["Standard", "2026-11-01", "2027-01-01", "120.00", "130.00", "in force", "scheduled", "href=\"/plans\""]
    {
        assert!(page.text.contains(needle), "missing {needle:?} in the plans page");
    }
    // The version in force today is the November one.
    let row = page.text.split("<tr>").find(|r| r.contains("2026-11-01")).unwrap();
    assert!(row.contains("in force"), "{row}");

    // Plans are the partner's business: a client key sees neither the page nor the link.
    let customer = create(app, "/api/v1/customers", &mueller()).await["id"].as_i64().unwrap();
    let client = crate::web_sessions::sign_in(app, &app.make_key(Role::Client, Some(customer))).await;
    client.get(app, "/plans").await.expect(404);
    let invoices = client.get(app, "/invoices").await.expect(200);
    assert!(!invoices.text.contains("href=\"/plans\""));
});

fn supportbill(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_supportbill")).args(args).output().expect("run supportbill")
}

both_backends!(the_command_line_adds_and_lists_versions, state = on_dec_4, |app| {
    let id = create(app, "/api/v1/plans", &standard_from("2026-11-01")).await["id"].as_i64().unwrap();
    let dir = std::env::temp_dir().join(format!("sb_plan_cli_{}_{id}_{:?}", std::process::id(), app.backend));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("terms.json");
    let mut terms = version("2027-01-01", "130.00");
    terms.as_object_mut().unwrap().remove("effective_from");
    std::fs::write(&file, terms.to_string()).unwrap();
    let (url, plan, path) = (app.database_url.as_str(), id.to_string(), file.to_str().unwrap());
    let add = |from: &str| {
        supportbill(&[
            "--database-url",
            url,
            "plan",
            "version",
            "add",
            "--plan",
            &plan,
            "--effective-from",
            from,
            "--file",
            path,
        ])
    };

    let out = add("2027-01-01");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let added: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((added["effective_from"].as_str(), added["hourly_rate"].as_str()), (Some("2027-01-01"), Some("130.00")));
    // The same checks as the API's: one version per date, a date that is one.
    let again = add("2027-01-01");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already has a version from 2027-01-01"));
    let bad = add("2027-02-30");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("effective_from"));

    let out = supportbill(&["--database-url", url, "plan", "versions", "--plan", &plan]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let dates: Vec<&str> = listed.iter().map(|v| v["effective_from"].as_str().unwrap()).collect();
    assert_eq!(dates, ["2026-11-01", "2027-01-01"]);
    // And the API sees what the command line added.
    let read = app.get(&format!("/api/v1/plans/{id}?as_of=2027-01-02")).await.expect(200);
    assert_eq!(read.body["hourly_rate"], "130.00");
    let _ = std::fs::remove_dir_all(&dir);
});

// SPEC 7.3 through a version: the days of its holiday calendar are outside the hours of
// service, from the version's date on; the calendar must exist, and stays while named.
both_backends!(a_versions_holiday_calendar_prices_its_days_as_after_hours, state = on_dec_4, |app| {
    let calendar = create(
        app,
        "/api/v1/holiday-calendars",
        &json!({"name": "Germany", "days": [{"date": "2026-12-25", "name": "Christmas Day"}]}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let plan = create(app, "/api/v1/plans", &standard_from("2026-12-01")).await["id"].as_i64().unwrap();
    let mut with_holidays = version("2026-12-20", "120.00");
    with_holidays["holiday_calendar_id"] = json!(999_999);
    let r = app.post_json(&format!("/api/v1/plans/{plan}/versions"), &with_holidays).await;
    assert_invalid(&r, "holiday_calendar_id");
    with_holidays["holiday_calendar_id"] = json!(calendar);
    let added = app.post_json(&format!("/api/v1/plans/{plan}/versions"), &with_holidays).await.expect(201);
    assert_eq!(added.body["holiday_calendar_id"], calendar);
    assert_problem(&app.delete(&format!("/api/v1/holiday-calendars/{calendar}")).await, 409, "calendar_in_use");

    let customer = create(app, "/api/v1/customers", &mueller()).await["id"].as_i64().unwrap();
    let sub = crate::plan_versions::subscription(app, customer, plan).await;
    // Two Fridays at 11:00 in Berlin: an ordinary one, and Christmas Day.
    for at in ["2026-12-18T10:00:00Z", "2026-12-25T10:00:00Z"] {
        let mut e = entry(sub, 60);
        e["started_at"] = json!(at);
        app.post_json("/api/v1/time-entries", &e).await.expect(201);
    }
    let invoice = create(
        app,
        "/api/v1/invoices",
        &json!({"customer_id": customer, "period_start": "2026-12-01", "period_end": "2027-01-01"}),
    )
    .await;
    let lines: Vec<(String, String, String)> = invoice["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let s = |k: &str| l[k].as_str().unwrap().to_string();
            (s("kind"), s("amount"), s("plan_version"))
        })
        .collect();
    let s = |x: &str| x.to_string();
    // Technical: 150.00 an hour; after hours x1.5 = 225.00.
    assert_eq!(
        lines,
        [
            (s("support_time"), s("150.00"), s("2026-12-01")),
            (s("after_hours_support_time"), s("225.00"), s("2026-12-20"))
        ]
    );
    assert_eq!(invoice["subtotal"], "375.00");
});
