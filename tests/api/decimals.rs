//! Exact decimals: stored and read back digit for digit (scale included) on both backends, and
//! JSON numbers in requests parsed from their digits, never through a float.

use std::str::FromStr;

use diesel::prelude::*;
use rust_decimal::Decimal;
use serde_json::json;

use supportbill::storage::models::{Charge, NewCharge, PlanVersionRow};
use supportbill::storage::schema::{charges, plan_versions};
use supportbill::storage::Dec;

use crate::fixtures::*;
use crate::harness::*;

/// Values whose text a float or SQLite's NUMERIC affinity would change.
const EXACT: &[&str] = &[
    "25.125",
    "0.005",
    "-20.00",
    "99999999999.99",
    "0.00",
    "120.10",
    "-0.5",
    "0.1",
    "1234567890123456.789012",
    "79228162514264337593543950335",
];

both_backends!(storage_round_trips_decimals_exactly, |app| {
    let (_, plan, sub) = billing_setup(app).await;
    let date = chrono::NaiveDate::from_ymd_opt(2026, 10, 20).unwrap();
    let mut conn = app.conn();
    let conn = &mut *conn;

    let mut ids = Vec::new();
    for text in EXACT {
        let d = Decimal::from_str_exact(text).unwrap();
        // Straight through diesel (the service would refuse 25.125 EUR), into a TEXT column.
        let id: i64 = diesel::insert_into(charges::table)
            .values(&NewCharge { subscription_id: sub, date, description: text.to_string(), amount: Dec(d) })
            .returning(charges::id)
            .get_result(conn)
            .unwrap_or_else(|e| panic!("insert {text}: {e}"));
        ids.push(id);

        let back: Charge = charges::table.find(id).select(Charge::as_select()).first(conn).unwrap();
        assert_eq!(back.amount, Dec(d), "{text}: value");
        assert_eq!(back.amount.0.to_string(), *text, "{text}: digits and scale");
        assert_eq!(back.amount.0.scale(), d.scale(), "{text}: scale");

        // What the column holds is the text itself (no NUMERIC affinity rewrite to -20 or 0).
        let raw: String = charges::table.find(id).select(charges::amount).first(conn).unwrap();
        assert_eq!(raw, *text, "{text}: stored text");
    }

    // Loading many rows at once gives the same.
    let all: Vec<Charge> = charges::table
        .filter(charges::id.eq_any(&ids))
        .order(charges::id)
        .select(Charge::as_select())
        .load(conn)
        .unwrap();
    let texts: Vec<String> = all.iter().map(|c| c.amount.0.to_string()).collect();
    assert_eq!(texts, EXACT);

    // A nullable decimal column (plan_versions.hourly_rate): set, read back, clear.
    let version = plan_versions::table.filter(plan_versions::plan_id.eq(plan));
    for text in ["25.125", "0.005", "-20.00", "99999999999.99"] {
        let d = Decimal::from_str_exact(text).unwrap();
        diesel::update(version).set(plan_versions::hourly_rate.eq(Some(Dec(d)))).execute(conn).unwrap();
        let v: PlanVersionRow = version.select(PlanVersionRow::as_select()).first(conn).unwrap();
        assert_eq!(v.terms.hourly_rate.map(|r| r.0.to_string()).as_deref(), Some(text));
    }
    diesel::update(version).set(plan_versions::hourly_rate.eq(None::<Dec>)).execute(conn).unwrap();
    let v: PlanVersionRow = version.select(PlanVersionRow::as_select()).first(conn).unwrap();
    assert_eq!(v.terms.hourly_rate, None);

    // And over HTTP, the stored digits leave as the same strings.
    for (id, text) in ids.iter().zip(EXACT) {
        let r = app.get(&format!("/api/v1/charges/{id}")).await.expect(200);
        assert_eq!(r.body["amount"], json!(text), "GET /charges/{id}");
    }
});

both_backends!(charge_amounts_over_http, |app| {
    let (_, _, sub) = billing_setup(app).await;
    let charge = |amount: serde_json::Value| json!({"subscription_id": sub, "date": "2026-10-20", "description": "Premier case fee", "amount": amount});
    // SPEC 5 body.
    let r = app.post_json("/api/v1/charges", &charge(json!("85.00"))).await.expect(201);
    assert_eq!(r.body["amount"], "85.00");
    assert_eq!(r.body["date"], "2026-10-20");
    assert_eq!(app.get(&format!("/api/v1/charges/{}", r.id())).await.expect(200).body["amount"], "85.00");

    // A credit keeps its sign and scale.
    let r = app.post_json("/api/v1/charges", &charge(json!("-20.00"))).await.expect(201);
    assert_eq!(r.body["amount"], "-20.00");

    // Fewer digits than the currency has: shown with EUR's two.
    assert_eq!(app.post_json("/api/v1/charges", &charge(json!("85"))).await.expect(201).body["amount"], "85.00");
    assert_eq!(app.post_json("/api/v1/charges", &charge(json!("85.1"))).await.expect(201).body["amount"], "85.10");

    // More digits than EUR has: refused, not rounded.
    assert_invalid(&app.post_json("/api/v1/charges", &charge(json!("25.125"))).await, "amount");
    assert_invalid(&app.post_json("/api/v1/charges", &charge(json!("abc"))).await, "amount");
    assert_invalid(&app.post_json("/api/v1/charges", &charge(json!(true))).await, "amount");
    let bad_date = json!({"subscription_id": sub, "date": "20.10.2026", "description": "x", "amount": "1.00"});
    assert_invalid(&app.post_json("/api/v1/charges", &bad_date).await, "date");

    let amounts: Vec<String> = app
        .list_all("/api/v1/charges", 100)
        .await
        .iter()
        .map(|c| c["amount"].as_str().expect("amount is a string").to_string())
        .collect();
    assert_eq!(amounts, ["85.00", "-20.00", "85.00", "85.10"]);
});

both_backends!(json_numbers_are_parsed_exactly, |app| {
    // Plan rates as JSON numbers, written verbatim (serde_json's json! would go through f64).
    let raw = r#"{"name": "Numbers", "currency": "EUR", "billing_model": "hourly",
        "hourly_rate": 120.10, "category_rates": {"technical": 150.125, "billing": 33.333333},
        "after_hours_multiplier": 1.50, "rounding_increment_minutes": 15, "minimum_minutes": 30,
        "hours_of_service": {"timezone": "Europe/Berlin", "days": ["mon"], "start": "09:00", "end": "17:00"}}"#;
    let r = app.post_raw_json("/api/v1/plans", raw).await.expect(201);
    assert_eq!(r.body["hourly_rate"], json!("120.10"), "the number's digits, as a string");
    assert_eq!(r.body["category_rates"]["technical"], json!("150.125"));
    assert_eq!(r.body["category_rates"]["billing"], json!("33.333333"));
    assert_eq!(Decimal::from_str(r.body["after_hours_multiplier"].as_str().unwrap()).unwrap(), Decimal::new(15, 1));
    // Read back from the database, the same.
    let got = app.get(&format!("/api/v1/plans/{}", r.id())).await.expect(200);
    assert_eq!(got.body["hourly_rate"], "120.10");
    assert_eq!(got.body["category_rates"]["technical"], "150.125");

    // 7.7 and 0.3 have no exact binary float: the service must still see 7.7 and 0.30.
    let raw = r#"{"name": "Floaty", "currency": "EUR", "tax_rate_percent": 7.7, "country": "DE",
        "email": "ap@floaty.example"}"#;
    let c = app.post_raw_json("/api/v1/customers", raw).await.expect(201);
    assert_eq!(c.body["tax_rate_percent"], "7.7");

    let plan = app.post_json("/api/v1/plans", &standard_plan()).await.expect(201).id();
    let sub = app
        .post_json(
            "/api/v1/subscriptions",
            &json!({"customer_id": c.id(), "plan_id": plan, "start_date": "2026-01-01", "product": "azure", "name": "Azure plan"}),
        )
        .await
        .expect(201)
        .id();
    let raw = format!(r#"{{"subscription_id": {sub}, "date": "2026-10-20", "description": "fee", "amount": 0.3}}"#);
    let r = app.post_raw_json("/api/v1/charges", &raw).await.expect(201);
    assert_eq!(r.body["amount"], "0.30");
    let raw = format!(r#"{{"subscription_id": {sub}, "date": "2026-10-20", "description": "fee", "amount": 85.10}}"#);
    assert_eq!(app.post_raw_json("/api/v1/charges", &raw).await.expect(201).body["amount"], "85.10");
    let raw = format!(r#"{{"subscription_id": {sub}, "date": "2026-10-20", "description": "fee", "amount": -20.00}}"#);
    assert_eq!(app.post_raw_json("/api/v1/charges", &raw).await.expect(201).body["amount"], "-20.00");
    let raw = format!(
        r#"{{"subscription_id": {sub}, "date": "2026-10-20", "description": "fee", "amount": 99999999999.99}}"#
    );
    assert_eq!(app.post_raw_json("/api/v1/charges", &raw).await.expect(201).body["amount"], "99999999999.99");

    // A number EUR cannot hold exactly is refused, not rounded; so is an exponent.
    let raw = format!(r#"{{"subscription_id": {sub}, "date": "2026-10-20", "description": "fee", "amount": 0.125}}"#);
    assert_invalid(&app.post_raw_json("/api/v1/charges", &raw).await, "amount");
    let raw =
        r#"{"name": "Exp", "currency": "EUR", "tax_rate_percent": 1.9e1, "country": "DE", "email": "a@b.example"}"#;
    assert_invalid(&app.post_raw_json("/api/v1/customers", raw).await, "tax_rate_percent");
});
