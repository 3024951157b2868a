//! Customer tax treatments (SPEC 6): what each one requires of the customer and the partner,
//! and the treatment and legal note frozen into every document of an issued invoice.

use serde_json::{json, Value};

use crate::documents::pdftotext;
use crate::fixtures::*;
use crate::harness::*;

fn customer_with(treatment: &str, rate: &str, extra: Value) -> Value {
    let mut c = mueller();
    c["tax_treatment"] = json!(treatment);
    c["tax_rate_percent"] = json!(rate);
    c["external_id"] = Value::Null;
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

async fn set_partner(app: &TestApp, tax_id: &str) {
    app.put_json(
        "/api/v1/partner",
        &json!({"name": "Fabrikam Cloud Partner GmbH", "address": "Partnerweg 5, 80331 München", "country": "DE",
                "tax_id": tax_id, "invoice_prefix": "INV-", "payment_terms_days": 30}),
    )
    .await
    .expect(200);
}

both_backends!(tax_treatments_are_validated_naming_the_field, |app| {
    // The partner has no tax id yet: reverse charge cannot name both VAT ids.
    let r = app.post_json("/api/v1/customers", &customer_with("reverse_charge", "0", json!({}))).await;
    assert_invalid(&r, "tax_treatment");
    set_partner(app, "DE987654321").await;

    let cases = [
        (customer_with("reverse_charge", "19", json!({})), "tax_rate_percent"),
        (customer_with("reverse_charge", "0", json!({"tax_id": ""})), "tax_id"),
        (customer_with("exempt", "0", json!({})), "exemption_reason"),
        (customer_with("exempt", "7", json!({"exemption_reason": "Art. 132 VAT Directive"})), "tax_rate_percent"),
        (customer_with("outside_scope", "19", json!({})), "tax_rate_percent"),
        (customer_with("zero_rated", "0", json!({})), "tax_treatment"),
        (customer_with("standard", "19", json!({"exemption_reason": "none"})), "exemption_reason"),
    ];
    for (body, field) in cases {
        let r = app.post_json("/api/v1/customers", &body).await;
        assert_invalid(&r, field);
        assert_eq!(r.content_type, "application/problem+json", "{}", r.text);
    }
    assert_eq!(app.list_all("/api/v1/customers", 100).await.len(), 0, "nothing was written");

    // Valid ones; a customer without the field is standard.
    let rc = create(app, "/api/v1/customers", &customer_with("reverse_charge", "0", json!({}))).await;
    assert_eq!(rc["tax_treatment"], "reverse_charge");
    let mut plain = customer_named("Plain GmbH");
    plain["tax_rate_percent"] = json!("19");
    let std = create(app, "/api/v1/customers", &plain).await;
    assert_eq!(std["tax_treatment"], "standard");
    assert_eq!(std["exemption_reason"], "");
    // The partner's tax id cannot be removed while a customer is reverse charged.
    let r = app
        .put_json("/api/v1/partner", &json!({"name": "Fabrikam", "address": "x", "country": "DE", "tax_id": "", "invoice_prefix": "INV-", "payment_terms_days": 30}))
        .await;
    assert_invalid(&r, "tax_id");
});

/// Issues an October invoice (one technical hour at 150.00) for a customer made from `body`.
async fn issued_for(app: &TestApp, body: &Value) -> Value {
    let customer = create(app, "/api/v1/customers", body).await["id"].as_i64().unwrap();
    let plan = create(app, "/api/v1/plans", &standard_plan()).await["id"].as_i64().unwrap();
    let sub = create(
        app,
        "/api/v1/subscriptions",
        &json!({"customer_id": customer, "plan_id": plan, "start_date": "2026-01-01", "product": "azure", "name": "Azure plan"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    app.post_json("/api/v1/time-entries", &entry(sub, 50)).await.expect(201);
    let draft = app
        .post_json(
            "/api/v1/invoices",
            &json!({"customer_id": customer, "period_start": "2026-10-01", "period_end": "2026-11-01"}),
        )
        .await
        .expect(201)
        .body;
    app.post_json(&format!("/api/v1/invoices/{}/issue", draft["id"]), &json!({})).await.expect(200).body
}

both_backends!(treatment_and_note_are_on_every_document_and_frozen, |app| {
    set_partner(app, "DE987654321").await;
    let cases = [
        ("reverse_charge", json!({}), "Reverse charge: VAT to be accounted for by the recipient"),
        (
            "exempt",
            json!({"exemption_reason": "Exempt under Art. 132(1)(i) VAT Directive"}),
            "Exempt under Art. 132(1)(i) VAT Directive",
        ),
        ("outside_scope", json!({}), "Outside the scope of VAT"),
    ];
    for (i, (treatment, extra, note)) in cases.into_iter().enumerate() {
        let mut body = customer_with(treatment, "0", extra);
        body["name"] = json!(format!("Customer {i}"));
        let inv = issued_for(app, &body).await;
        let id = inv["id"].as_i64().unwrap();
        assert_eq!(inv["tax_treatment"], treatment);
        assert_eq!(inv["tax_note"], note);
        assert_eq!(inv["tax"], "0.00");
        assert_eq!(inv["total"], "150.00");

        let csv = app.get(&format!("/api/v1/invoices/{id}.csv")).await.expect(200).text;
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let headers = reader.headers().unwrap().clone();
        let rec = reader.records().next().unwrap().unwrap();
        let col = |name: &str| rec[headers.iter().position(|h| h == name).unwrap()].to_string();
        assert_eq!(col("tax_treatment"), treatment);
        assert_eq!(col("tax_note"), note);

        let pdf = app.get(&format!("/api/v1/invoices/{id}.pdf")).await.expect(200);
        if let Ok(dir) = std::env::var("SUPPORTBILL_KEEP_TAX_PDFS") {
            std::fs::write(format!("{dir}/{treatment}.pdf"), &pdf.bytes).unwrap();
        }
        match pdftotext(&pdf.bytes) {
            None => eprintln!("\n*** SKIPPED (PDF text): pdftotext not found ***\n"),
            Some(text) => assert!(text.split_whitespace().collect::<Vec<_>>().join(" ").contains(note), "{text}"),
        }

        // Frozen: changing the customer afterwards changes no document.
        let cid = inv["customer_id"].as_i64().unwrap();
        let mut standard = body.clone();
        standard["tax_treatment"] = json!("standard");
        standard["exemption_reason"] = Value::Null;
        app.put_json(&format!("/api/v1/customers/{cid}"), &standard).await.expect(200);
        let again = app.get(&format!("/api/v1/invoices/{id}")).await.expect(200).body;
        assert_eq!(again["tax_note"], note);
        assert_eq!(app.get(&format!("/api/v1/invoices/{id}.pdf")).await.expect(200).bytes, pdf.bytes);
    }
});
