//! A name stored outside its vocabulary (a row edited by hand: a status, a role, a category no
//! release wrote) fails the read that meets it as our error, a 500 problem, never as a panic or
//! a row read wrong; once the row is mended the same read answers again.

use diesel::RunQueryDsl;
use serde_json::json;

use supportbill::domain::vocab::Role;

use crate::fixtures::*;
use crate::harness::*;

#[derive(diesel::QueryableByName)]
struct Stored {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    text: String,
}

/// Sets `column` to `text` in the rows of `table` that `condition` picks; returns what they held.
fn overwrite(app: &TestApp, table: &str, column: &str, condition: &str, text: &str) -> Vec<Stored> {
    let mut conn = app.conn();
    let held: Vec<Stored> = diesel::sql_query(format!("SELECT id, {column} AS text FROM {table} WHERE {condition}"))
        .load(&mut *conn)
        .unwrap();
    assert!(!held.is_empty(), "{table} WHERE {condition}: no row");
    diesel::sql_query(format!("UPDATE {table} SET {column} = '{text}' WHERE {condition}")).execute(&mut *conn).unwrap();
    held
}

fn restore(app: &TestApp, table: &str, column: &str, held: &[Stored]) {
    let mut conn = app.conn();
    for row in held {
        diesel::sql_query(format!("UPDATE {table} SET {column} = '{}' WHERE id = {}", row.text, row.id))
            .execute(&mut *conn)
            .unwrap();
    }
}

both_backends!(a_stored_name_outside_its_vocabulary_is_our_500, |app| {
    let (customer, plan, sub) = billing_setup(app).await;
    let entry = app.post_json("/api/v1/time-entries", &entry(sub, 30)).await.expect(201).id();
    let period = json!({"customer_id": customer, "period_start": "2026-10-01", "period_end": "2026-11-01"});
    let invoice = app.post_json("/api/v1/invoices", &period).await.expect(201).id();
    app.make_key(Role::Finance, None);

    // (table, column, rows, a name no vocabulary has, a read that meets it)
    let cases = [
        ("invoice_lines", "kind", format!("invoice_id = {invoice}"), "discount", format!("/api/v1/invoices/{invoice}")),
        (
            "invoice_lines",
            "category",
            format!("invoice_id = {invoice} AND category IS NOT NULL"),
            "sales",
            format!("/api/v1/invoices/{invoice}"),
        ),
        ("invoices", "status", format!("id = {invoice}"), "paid", format!("/api/v1/invoices/{invoice}")),
        ("invoices", "currency", format!("id = {invoice}"), "EURO", "/api/v1/invoices".to_string()),
        (
            "customers",
            "tax_treatment",
            format!("id = {customer}"),
            "zero_rated",
            format!("/api/v1/customers/{customer}"),
        ),
        ("customers", "currency", format!("id = {customer}"), "eur", format!("/api/v1/invoices/{invoice}")),
        ("plans", "billing_model", format!("id = {plan}"), "monthly", format!("/api/v1/plans/{plan}")),
        ("subscriptions", "product", format!("id = {sub}"), "windows", format!("/api/v1/subscriptions/{sub}")),
        ("subscriptions", "status", format!("id = {sub}"), "paused", "/api/v1/subscriptions".to_string()),
        ("time_entries", "category", format!("id = {entry}"), "sales", format!("/api/v1/time-entries/{entry}")),
        ("api_keys", "role", "role = 'finance'".to_string(), "auditor", "/api/v1/api-keys".to_string()),
    ];
    for (table, column, rows, bad, path) in &cases {
        let before = app.get(path).await;
        assert_eq!(before.status, 200, "GET {path} before {table}.{column} = {bad:?}: {}", before.text);
        let held = overwrite(app, table, column, rows, bad);
        let after = app.get(path).await;
        assert_problem(&after, 500, "internal_error");
        restore(app, table, column, &held);
        let mended = app.get(path).await;
        assert_eq!(mended.status, 200, "GET {path} after {table}.{column} is mended: {}", mended.text);
        assert_eq!(mended.text, before.text, "GET {path} after {table}.{column} is mended");
    }
});
