//! UBL 2.1 e-invoices (SPEC 6), checked by the official EN 16931 rules: every billing model,
//! every tax treatment, a 0-digit and a 2-digit currency, full and partial credit notes. Each
//! document is written to a temp dir and run through `eu-einvoice validate --offline` with
//! `EINVOICE_RULES_DIR` (default: ../shared/einvoice-rules). Without the validator the check
//! prints SKIPPED on stderr and passes, unless `SUPPORTBILL_REQUIRE_EINVOICE=1`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::*;

const OCTOBER: (&str, &str) = ("2026-10-01", "2026-11-01");

/// The validator command, or None (after saying so loudly) when it is not installed.
fn validator() -> Option<(String, PathBuf)> {
    let rules = std::env::var("EINVOICE_RULES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/einvoice-rules"));
    let installed = Command::new("eu-einvoice").arg("--help").output().map(|o| o.status.success()).unwrap_or(false);
    if installed && rules.is_dir() {
        return Some(("eu-einvoice".to_string(), rules));
    }
    let why = if installed {
        format!("rules folder {} not found", rules.display())
    } else {
        "eu-einvoice is not installed (pip install eu-einvoice)".into()
    };
    if std::env::var("SUPPORTBILL_REQUIRE_EINVOICE").as_deref() == Ok("1") {
        panic!("SUPPORTBILL_REQUIRE_EINVOICE=1 but {why}");
    }
    eprintln!("\n*** SKIPPED (EN 16931 validation): {why} ***\n");
    None
}

/// Runs the validator on one file: (passed, its report).
fn validate(tool: &(String, PathBuf), file: &Path) -> (bool, String) {
    let out = Command::new(&tool.0)
        .args(["validate", "--offline"])
        .arg(file)
        .env("EINVOICE_RULES_DIR", &tool.1)
        .output()
        .expect("eu-einvoice runs");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), report)
}

/// A fresh folder for the files; under `SUPPORTBILL_EINVOICE_DIR` when set (kept, to look at).
fn temp_dir(name: &str) -> PathBuf {
    if let Ok(base) = std::env::var("SUPPORTBILL_EINVOICE_DIR") {
        let dir = Path::new(&base).join(name);
        std::fs::create_dir_all(&dir).unwrap();
        return dir;
    }
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("sb_ubl_{name}_{}_{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn partner(app: &TestApp) {
    app.put_json(
        "/api/v1/partner",
        &json!({"name": "Fabrikam Cloud Partner GmbH", "address": "Partnerweg 5, 80331 München", "country": "DE",
                "tax_id": "DE987654321", "invoice_prefix": "INV-", "payment_terms_days": 30}),
    )
    .await
    .expect(200);
}

fn hours() -> Value {
    json!({"timezone": "Europe/Berlin", "days": ["mon","tue","wed","thu","fri"], "start": "09:00", "end": "17:00"})
}

/// One plan of each billing model in `currency` (amounts scaled for 0-digit currencies).
async fn plans(app: &TestApp, currency: &str) -> [i64; 4] {
    let jpy = currency == "JPY";
    let m = |eur: &str, yen: &str| if jpy { yen.to_string() } else { eur.to_string() };
    let mut ids = [0; 4];
    let bodies = [
        json!({"name": format!("Hourly {currency}"), "currency": currency, "billing_model": "hourly", "hourly_rate": m("120.00", "18000"),
               "category_rates": {"technical": m("150.00", "21000")}, "after_hours_multiplier": "1.5", "rounding_increment_minutes": 15,
               "minimum_minutes": 30, "hours_of_service": hours()}),
        json!({"name": format!("Retainer {currency}"), "currency": currency, "billing_model": "retainer", "monthly_fee": m("500.00", "75000"),
               "included_minutes": 60, "hourly_rate": m("100.00", "15000"), "after_hours_multiplier": "2", "hours_of_service": hours()}),
        json!({"name": format!("Per incident {currency}"), "currency": currency, "billing_model": "per_incident", "incident_fee": m("95.00", "14000"),
               "hours_of_service": hours()}),
        json!({"name": format!("Included {currency}"), "currency": currency, "billing_model": "included", "hours_of_service": hours()}),
    ];
    for (i, b) in bodies.iter().enumerate() {
        ids[i] = create(app, "/api/v1/plans", b).await["id"].as_i64().unwrap();
    }
    ids
}

fn time(sub: i64, at: &str, minutes: i64, category: &str) -> Value {
    json!({"subscription_id": sub, "agent": "a.kowalski", "started_at": at, "minutes": minutes, "category": category})
}

/// A customer with a subscription on each billing model, time, tickets and charges (one of
/// them negative) in October, invoiced and issued. Returns the issued invoice.
async fn billed_customer(app: &TestApp, customer: Value, currency: &str) -> Value {
    let jpy = currency == "JPY";
    let cid = create(app, "/api/v1/customers", &customer).await["id"].as_i64().unwrap();
    let [hourly, retainer, incident, included] = plans(app, currency).await;
    let mut subs = Vec::new();
    for (plan, product, name) in [
        (hourly, "azure", "Azure plan"),
        (retainer, "microsoft_365", "Microsoft 365 E3"),
        (incident, "dynamics_365", "Dynamics 365 Sales"),
        (included, "other", "Windows 365 <Business> & \"Cloud PC\""),
    ] {
        subs.push(
            create(
                app,
                "/api/v1/subscriptions",
                &json!({"customer_id": cid, "plan_id": plan, "start_date": "2026-01-01", "product": product, "name": name}),
            )
            .await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    app.post_json(
        "/api/v1/time-entries",
        &json!([
            time(subs[0], "2026-10-05T08:00:00Z", 50, "technical"),
            time(subs[0], "2026-10-06T17:30:00Z", 10, "technical"),
            time(subs[0], "2026-10-10T10:00:00Z", 45, "subscription_management"),
            time(subs[1], "2026-10-01T10:00:00Z", 50, "technical"),
            time(subs[1], "2026-10-03T10:00:00Z", 37, "billing"),
            time(subs[3], "2026-10-08T10:00:00Z", 90, "technical"),
        ]),
    )
    .await
    .expect(201);
    for (title, at) in [("VM will not start", "2026-10-05T07:55:00Z"), ("Licence sync fails", "2026-10-12T09:00:00Z")] {
        create(app, "/api/v1/tickets", &json!({"subscription_id": subs[2], "title": title, "category": "technical", "severity": "high", "opened_at": at})).await;
    }
    let (fee, credit) = if jpy { ("12000", "-3000") } else { ("85.00", "-20.00") };
    create(
        app,
        "/api/v1/charges",
        &json!({"subscription_id": subs[0], "date": "2026-10-20", "description": "Premier case fee", "amount": fee}),
    )
    .await;
    create(app, "/api/v1/charges", &json!({"subscription_id": subs[3], "date": "2026-10-21", "description": "Goodwill credit <outage> & \"sorry\"", "amount": credit})).await;
    let draft = app
        .post_json("/api/v1/invoices", &json!({"customer_id": cid, "period_start": OCTOBER.0, "period_end": OCTOBER.1}))
        .await
        .expect(201)
        .body;
    let kinds: Vec<&str> = draft["lines"].as_array().unwrap().iter().map(|l| l["kind"].as_str().unwrap()).collect();
    for kind in ["support_time", "after_hours_support_time", "retainer_fee", "overage", "incident_fee", "charge"] {
        assert!(kinds.contains(&kind), "no {kind} line: {kinds:?}");
    }
    assert!(
        draft["lines"].as_array().unwrap().iter().any(|l| l["amount"].as_str().unwrap().starts_with('-')),
        "a negative line"
    );
    // A draft has no e-invoice yet.
    assert_problem(&app.get(&format!("/api/v1/invoices/{}.xml", draft["id"])).await, 409, "not_issued");
    app.post_json(&format!("/api/v1/invoices/{}/issue", draft["id"]), &json!({})).await.expect(200).body
}

fn customer(
    name: &str,
    currency: &str,
    country: &str,
    rate: &str,
    treatment: &str,
    tax_id: &str,
    reason: Option<&str>,
) -> Value {
    json!({"name": name, "currency": currency, "tax_rate_percent": rate, "country": country, "email": "ap@example.com",
           "billing_address": "Hauptstr. 1, 10115 Berlin", "tax_id": tax_id, "tax_treatment": treatment, "exemption_reason": reason})
}

/// Fetches a document as XML, by the suffix and by Accept, which must agree; returns the bytes.
async fn xml(app: &TestApp, path: &str) -> Vec<u8> {
    let by_suffix = app.get(&format!("{path}.xml")).await.expect(200);
    assert_eq!(by_suffix.content_type, "application/xml; charset=utf-8");
    let by_accept = app.get_with(path, &[("Accept", "application/xml")]).await.expect(200);
    assert_eq!(by_suffix.bytes, by_accept.bytes, "{path}: the same bytes either way");
    by_suffix.bytes.to_vec()
}

both_backends!(einvoices_pass_the_en16931_rules, |app| {
    partner(app).await;
    let cases = [
        ("standard-eur", customer("Müller & Söhne GmbH", "EUR", "DE", "19", "standard", "DE123456789", None), "EUR"),
        (
            "reverse-charge",
            customer("Société Générale Cloud SARL", "EUR", "FR", "0", "reverse_charge", "FR12345678901", None),
            "EUR",
        ),
        (
            "exempt",
            customer(
                "Stiftung Bildung gGmbH",
                "EUR",
                "DE",
                "0",
                "exempt",
                "DE111222333",
                Some("Exempt under Art. 132(1)(i) Directive 2006/112/EC"),
            ),
            "EUR",
        ),
        ("outside-scope", customer("Contoso Inc.", "USD", "US", "0", "outside_scope", "12-3456789", None), "USD"),
        ("zero-rate", customer("ООО «Ромашка»", "USD", "AM", "0", "standard", "", None), "USD"),
        ("jpy", customer("株式会社 Fabrikam Japan", "JPY", "JP", "10", "standard", "T1234567890123", None), "JPY"),
    ];
    let dir = temp_dir("valid");
    let mut files = Vec::new();
    let mut invoices = Vec::new();
    for (name, body, currency) in cases {
        let inv = billed_customer(app, body, currency).await;
        let json = app.get(&format!("/api/v1/invoices/{}", inv["id"])).await.expect(200).body;
        assert_minor_digits(&json, if currency == "JPY" { 0 } else { 2 });
        let bytes = xml(app, &format!("/api/v1/invoices/{}", inv["id"])).await;
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains("<cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>"), "{text}");
        assert!(text.contains(&format!("<cbc:ID>{}</cbc:ID>", inv["number"].as_str().unwrap())), "{text}");
        assert!(
            text.contains(&format!("<cbc:IssueDate>{}</cbc:IssueDate>", &inv["issued_at"].as_str().unwrap()[..10])),
            "{text}"
        );
        assert!(text.contains(r#"<cbc:InvoicedQuantity unitCode="MIN">60</cbc:InvoicedQuantity>"#), "{text}");
        assert!(text.contains(r#"<cbc:BaseQuantity unitCode="MIN">60</cbc:BaseQuantity>"#), "{text}");
        assert!(
            text.contains(r#"<cbc:InvoicedQuantity unitCode="C62">-1</cbc:InvoicedQuantity>"#),
            "the negative charge: {text}"
        );
        assert!(
            text.contains(&format!(
                r#"<cbc:PayableAmount currencyID="{currency}">{}</cbc:PayableAmount>"#,
                inv["total"].as_str().unwrap()
            )),
            "{text}"
        );
        assert!(text.contains("Goodwill credit &lt;outage&gt; &amp;"), "escaped: {text}");
        let category = match name {
            "standard-eur" | "jpy" => "S",
            "reverse-charge" => "AE",
            "exempt" => "E",
            "outside-scope" => "O",
            _ => "Z",
        };
        assert!(text.contains(&format!("<cbc:ID>{category}</cbc:ID>")), "{name}: {text}");
        if name == "exempt" {
            assert!(text.contains("<cbc:TaxExemptionReason>Exempt under Art. 132(1)(i) Directive 2006/112/EC</cbc:TaxExemptionReason>"), "{text}");
        }
        let path = dir.join(format!("{name}.xml"));
        std::fs::write(&path, &bytes).unwrap();
        files.push(path);
        invoices.push(inv);
    }

    // A partner outside the EU, whose tax id is no VAT id: it goes out as the seller's tax
    // registration id, which the rules accept for standard-rated invoices.
    app.put_json(
        "/api/v1/partner",
        &json!({"name": "Fabrikam Cloud Partner Inc.", "address": "1 Main St, Seattle, WA 98101", "country": "US",
                "tax_id": "12-3456789", "invoice_prefix": "INV-", "payment_terms_days": 15}),
    )
    .await
    .expect(200);
    let us =
        billed_customer(app, customer("Tailspin Toys Inc.", "USD", "US", "7.25", "standard", "", None), "USD").await;
    let bytes = xml(app, &format!("/api/v1/invoices/{}", us["id"])).await;
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains("<cbc:ID>FC</cbc:ID>"), "{text}");
    let path = dir.join("us-partner.xml");
    std::fs::write(&path, &bytes).unwrap();
    files.push(path);

    // Credit notes: a partial one and then the rest (with the negative line) of the standard
    // invoice; a full one of the reverse-charge invoice; a partial one in JPY.
    let credits = [
        (0, json!({"reason": "Goodwill for the outage", "lines": [{"line": 1, "amount": "50.00"}]})),
        (0, json!({"reason": "Billed in error"})),
        (1, json!({"reason": "Wrong customer"})),
        (5, json!({"reason": "Goodwill", "lines": [{"line": 1, "amount": "1000"}, {"line": 2, "amount": "7875"}]})),
    ];
    for (i, (which, body)) in credits.into_iter().enumerate() {
        let inv = &invoices[which];
        let cn = app.post_json(&format!("/api/v1/invoices/{}/credit-notes", inv["id"]), &body).await.expect(201).body;
        let bytes = xml(app, &format!("/api/v1/credit-notes/{}", cn["id"])).await;
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.contains("<CreditNote xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2\""),
            "{text}"
        );
        assert!(text.contains("<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>"), "{text}");
        let compact: String = text.split_whitespace().collect();
        assert!(
            compact.contains(&format!(
                "<cac:BillingReference><cac:InvoiceDocumentReference><cbc:ID>{}</cbc:ID>",
                inv["number"].as_str().unwrap()
            )),
            "{text}"
        );
        let path = dir.join(format!("credit-note-{i}.xml"));
        std::fs::write(&path, &bytes).unwrap();
        files.push(path);
    }
    // The credited invoice still has its e-invoice, unchanged.
    assert_eq!(
        xml(app, &format!("/api/v1/invoices/{}", invoices[1]["id"])).await,
        std::fs::read(dir.join("reverse-charge.xml")).unwrap()
    );

    if let Some(tool) = validator() {
        let mut failures = Vec::new();
        for f in &files {
            let (ok, report) = validate(&tool, f);
            if !ok {
                failures.push(format!("{}:\n{report}", f.display()));
            }
        }
        eprintln!("EN 16931: {} e-invoices validated, {} with errors", files.len(), failures.len());
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
    if std::env::var("SUPPORTBILL_EINVOICE_DIR").is_err() {
        let _ = std::fs::remove_dir_all(&dir);
    }
});

both_backends!(a_tampered_einvoice_fails_the_rules, |app| {
    partner(app).await;
    let inv = billed_customer(
        app,
        customer("Müller & Söhne GmbH", "EUR", "DE", "19", "standard", "DE123456789", None),
        "EUR",
    )
    .await;
    let text = String::from_utf8(xml(app, &format!("/api/v1/invoices/{}", inv["id"])).await).unwrap();
    let total = inv["total"].as_str().unwrap();
    let needle = format!(r#"<cbc:PayableAmount currencyID="EUR">{total}</cbc:PayableAmount>"#);
    assert!(text.contains(&needle), "{text}");
    let tampered = text.replace(&needle, r#"<cbc:PayableAmount currencyID="EUR">1.00</cbc:PayableAmount>"#);
    let dir = temp_dir("tampered");
    let (good, bad) = (dir.join("good.xml"), dir.join("tampered.xml"));
    std::fs::write(&good, &text).unwrap();
    std::fs::write(&bad, &tampered).unwrap();
    if let Some(tool) = validator() {
        let (ok, report) = validate(&tool, &good);
        assert!(ok, "the original passes: {report}");
        let (ok, report) = validate(&tool, &bad);
        assert!(!ok, "the tampered total must fail: {report}");
        assert!(report.contains("BR-CO-16"), "names the broken rule (payable = total with VAT): {report}");
    }
    if std::env::var("SUPPORTBILL_EINVOICE_DIR").is_err() {
        let _ = std::fs::remove_dir_all(&dir);
    }
});

both_backends!(einvoices_refuse_three_digit_currencies, |app| {
    partner(app).await;
    let cid = create(
        app,
        "/api/v1/customers",
        &customer("Bahrain Cloud W.L.L.", "BHD", "BH", "10", "standard", "BH200000000000001", None),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let plan = create(app, "/api/v1/plans", &json!({"name": "Hourly BHD", "currency": "BHD", "billing_model": "hourly", "hourly_rate": "45.125", "hours_of_service": hours()}))
        .await["id"].as_i64().unwrap();
    let sub = create(
        app,
        "/api/v1/subscriptions",
        &json!({"customer_id": cid, "plan_id": plan, "start_date": "2026-01-01", "product": "azure", "name": "Azure plan"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    app.post_json("/api/v1/time-entries", &time(sub, "2026-10-05T08:00:00Z", 50, "technical")).await.expect(201);
    let draft = app
        .post_json("/api/v1/invoices", &json!({"customer_id": cid, "period_start": OCTOBER.0, "period_end": OCTOBER.1}))
        .await
        .expect(201)
        .body;
    let inv = app.post_json(&format!("/api/v1/invoices/{}/issue", draft["id"]), &json!({})).await.expect(200).body;
    assert_minor_digits(&app.get(&format!("/api/v1/invoices/{}", inv["id"])).await.expect(200).body, 3);
    let r = app.get_with(&format!("/api/v1/invoices/{}", inv["id"]), &[("Accept", "application/xml")]).await;
    assert_problem(&r, 422, "einvoice_unsupported");
    assert!(r.text.contains("BHD"), "{}", r.text);
    // The other documents still work.
    app.get(&format!("/api/v1/invoices/{}.pdf", inv["id"])).await.expect(200);
});

both_backends!(einvoices_need_the_partners_details_frozen_at_issue, |app| {
    // The partner's details were never set: the issued invoice cannot name its seller.
    let (customer_id, _plan, sub) = billing_setup(app).await;
    app.post_json("/api/v1/time-entries", &time(sub, "2026-10-05T08:00:00Z", 50, "technical")).await.expect(201);
    let draft = app
        .post_json(
            "/api/v1/invoices",
            &json!({"customer_id": customer_id, "period_start": OCTOBER.0, "period_end": OCTOBER.1}),
        )
        .await
        .expect(201)
        .body;
    let inv = app.post_json(&format!("/api/v1/invoices/{}/issue", draft["id"]), &json!({})).await.expect(200).body;
    assert_problem(&app.get(&format!("/api/v1/invoices/{}.xml", inv["id"])).await, 422, "einvoice_incomplete");
    // Setting them later does not change an issued invoice (its snapshot is frozen).
    partner(app).await;
    assert_problem(&app.get(&format!("/api/v1/invoices/{}.xml", inv["id"])).await, 422, "einvoice_incomplete");
});

/// SPEC P9 over HTTP: an invoice's amounts are strings with exactly its currency's minor digits
/// ("1500" in JPY, "150.00" in EUR, "45.125" in BHD), unit prices with at least as many, and
/// the total is the subtotal plus the tax.
fn assert_minor_digits(inv: &Value, digits: usize) {
    use std::str::FromStr;
    let decimals = |v: &Value| -> usize {
        let text = v.as_str().unwrap_or_else(|| panic!("an amount is a string: {v}"));
        rust_decimal::Decimal::from_str(text).unwrap_or_else(|_| panic!("{text:?} is a decimal"));
        text.split_once('.').map_or(0, |(_, f)| f.len())
    };
    for field in ["subtotal", "tax", "total"] {
        assert_eq!(decimals(&inv[field]), digits, "{field} of {inv}");
    }
    let lines = inv["lines"].as_array().unwrap();
    assert!(!lines.is_empty());
    for line in lines {
        assert_eq!(decimals(&line["amount"]), digits, "a line's amount: {line}");
        assert!(decimals(&line["unit_price"]) >= digits, "a line's unit price: {line}");
    }
    let d = |f: &str| rust_decimal::Decimal::from_str(inv[f].as_str().unwrap()).unwrap();
    assert_eq!(d("subtotal") + d("tax"), d("total"), "{inv}");
}
