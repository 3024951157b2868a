//! Request bodies from SPEC section 5, and shortcuts that create them.

use serde_json::{json, Value};

use crate::harness::TestApp;

/// SPEC 5 `POST /api/v1/customers`.
pub fn mueller() -> Value {
    json!({"name": "Müller & Söhne GmbH", "currency": "EUR", "tax_rate_percent": "19", "country": "DE",
           "email": "ap@mueller.example", "billing_address": "Hauptstr. 1, 10115 Berlin",
           "tax_id": "DE123456789", "external_id": "5f0c1d2e-0000-4000-8000-000000000001"})
}

/// A second customer, in another script and currency.
pub fn romashka() -> Value {
    json!({"name": "ООО «Ромашка»", "currency": "USD", "tax_rate_percent": "0", "country": "AM",
           "email": "buh@romashka.example", "billing_address": "Yerevan",
           "external_id": "5f0c1d2e-0000-4000-8000-000000000002"})
}

/// A minimal EUR customer with the given name (no external id).
pub fn customer_named(name: &str) -> Value {
    json!({"name": name, "currency": "EUR", "tax_rate_percent": "19", "country": "DE",
           "email": "ap@example.com"})
}

/// SPEC 5 `POST /api/v1/plans` ("Standard").
pub fn standard_plan() -> Value {
    json!({"name": "Standard", "scope": "Azure and Microsoft 365 incidents", "currency": "EUR",
           "billing_model": "hourly", "hourly_rate": "120.00", "category_rates": {"technical": "150.00"},
           "after_hours_multiplier": "1.5", "rounding_increment_minutes": 15, "minimum_minutes": 30,
           "chargeable_categories": ["technical", "subscription_management"],
           "hours_of_service": {"timezone": "Europe/Berlin", "days": ["mon","tue","wed","thu","fri"],
                                "start": "09:00", "end": "17:00"},
           "contact_methods": [{"kind": "email", "value": "support@partner.example"}]})
}

/// The Standard plan in another currency.
pub fn standard_plan_in(currency: &str) -> Value {
    let mut p = standard_plan();
    p["currency"] = json!(currency);
    p["name"] = json!(format!("Standard {currency}"));
    p
}

pub async fn create(app: &TestApp, path: &str, body: &Value) -> Value {
    let r = app.post_json(path, body).await;
    assert_eq!(r.status, 201, "POST {path} {body}: {}", r.text);
    r.body
}

/// Customer (SPEC Müller), Standard plan and one Azure subscription: `(customer, plan, subscription)` ids.
pub async fn billing_setup(app: &TestApp) -> (i64, i64, i64) {
    let customer = create(app, "/api/v1/customers", &mueller()).await["id"].as_i64().unwrap();
    let plan = create(app, "/api/v1/plans", &standard_plan()).await["id"].as_i64().unwrap();
    let sub = create(
        app,
        "/api/v1/subscriptions",
        &json!({"customer_id": customer, "plan_id": plan, "start_date": "2026-01-01", "product": "azure", "name": "Azure plan",
                "external_id": "a1b2c3d4-0000-4000-8000-00000000aaaa"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    (customer, plan, sub)
}

/// SPEC 5 time entry on `subscription_id`, without a ticket.
pub fn entry(subscription_id: i64, minutes: i64) -> Value {
    json!({"subscription_id": subscription_id, "agent": "a.kowalski", "started_at": "2026-10-05T08:00:00Z",
           "minutes": minutes, "category": "technical", "billable": true,
           "description": "Diagnosed boot failure"})
}

/// How many time entries exist (all pages).
pub async fn count_entries(app: &TestApp) -> usize {
    app.list_all("/api/v1/time-entries", 1000).await.len()
}
