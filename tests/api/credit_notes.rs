//! Credit notes over HTTP (SPEC 6): full and partial credits of an issued invoice, their gapless
//! series under concurrency, freed claims, documents, the register, and who may see them.

use std::process::Command;

use serde_json::{json, Value};

use crate::documents::pdftotext;
use crate::fixtures::*;
use crate::harness::*;
use supportbill::domain::vocab::Role;

const OCTOBER: &str = r#"{"period_start": "2026-10-01", "period_end": "2026-11-01"}"#;

fn at(sub: i64, started_at: &str, minutes: i64, category: &str) -> Value {
    json!({"subscription_id": sub, "agent": "a.kowalski", "started_at": started_at, "minutes": minutes, "category": category})
}

/// Plan H's October invoice (150.00 + 112.50 + 135.00, 19 %), issued: (customer, invoice, entry ids).
async fn issued_plan_h(app: &TestApp) -> (i64, Value, Vec<i64>) {
    let (customer, _plan, sub) = billing_setup(app).await;
    let entries = app
        .post_json(
            "/api/v1/time-entries",
            &json!([
                at(sub, "2026-10-05T08:00:00Z", 50, "technical"),
                at(sub, "2026-10-06T17:30:00Z", 10, "technical"),
                at(sub, "2026-10-10T10:00:00Z", 45, "subscription_management"),
            ]),
        )
        .await
        .expect(201);
    let ids = entries.data().iter().map(|e| e["id"].as_i64().unwrap()).collect();
    let mut body: Value = serde_json::from_str(OCTOBER).unwrap();
    body["customer_id"] = json!(customer);
    let draft = app.post_json("/api/v1/invoices", &body).await.expect(201).body;
    let inv = app.post_json(&format!("/api/v1/invoices/{}/issue", draft["id"]), &json!({})).await.expect(200).body;
    (customer, inv, ids)
}

fn credit_path(inv: &Value) -> String {
    format!("/api/v1/invoices/{}/credit-notes", inv["id"])
}

async fn entry_invoice(app: &TestApp, id: i64) -> Value {
    app.get(&format!("/api/v1/time-entries/{id}")).await.expect(200).body["invoice_id"].clone()
}

both_backends!(a_full_credit_reverses_the_invoice_and_frees_its_items, |app| {
    let (customer, inv, entries) = issued_plan_h(app).await;
    let cn = app.post_json(&credit_path(&inv), &json!({"reason": "Billed in error"})).await.expect(201).body;
    assert_eq!(cn["number"], "CN-000001");
    assert_eq!(cn["invoice_id"], inv["id"]);
    assert_eq!(cn["invoice_number"], "INV-000001");
    assert_eq!(cn["credit_type"], "full");
    assert_eq!(cn["currency"], "EUR");
    assert_eq!(cn["tax_rate_percent"], "19");
    assert_eq!(
        (cn["subtotal"].as_str(), cn["tax"].as_str(), cn["total"].as_str()),
        (Some("397.50"), Some("75.53"), Some("473.03"))
    );
    let amounts: Vec<&str> = cn["lines"].as_array().unwrap().iter().map(|l| l["amount"].as_str().unwrap()).collect();
    assert_eq!(amounts, ["150.00", "112.50", "135.00"]);
    assert_eq!(cn["lines"][0]["quantity_minutes"], "60");

    // The invoice is credited and keeps its number; its entries can be invoiced again.
    let now = app.get(&format!("/api/v1/invoices/{}", inv["id"])).await.expect(200).body;
    assert_eq!(now["status"], "credited");
    assert_eq!(now["number"], "INV-000001");
    for e in &entries {
        assert_eq!(entry_invoice(app, *e).await, Value::Null);
    }
    let mut body: Value = serde_json::from_str(OCTOBER).unwrap();
    body["customer_id"] = json!(customer);
    let again = app.post_json("/api/v1/invoices", &body).await.expect(201).body;
    assert_eq!(again["total"], "473.03");

    // A credited invoice is credited once and not voided.
    assert_problem(&app.post_json(&credit_path(&inv), &json!({"reason": "again"})).await, 409, "invalid_status");
    assert_problem(
        &app.post_json(&format!("/api/v1/invoices/{}/void", inv["id"]), &json!({})).await,
        409,
        "invalid_status",
    );
    let credited = app.get("/api/v1/invoices?status=credited").await.expect(200);
    assert_eq!(credited.data().len(), 1);
});

both_backends!(partial_credits_are_checked_per_line_and_free_nothing_until_complete, |app| {
    let (_, inv, entries) = issued_plan_h(app).await;
    let path = credit_path(&inv);
    let bad = [
        (json!([{"line": 1, "amount": "150.01"}]), "lines[0].amount"),
        (json!([{"line": 1, "amount": "0"}]), "lines[0].amount"),
        (json!([{"line": 1, "amount": "-5.00"}]), "lines[0].amount"),
        (json!([{"line": 1, "amount": "1.001"}]), "lines[0].amount"),
        (json!([{"line": 2, "amount": "1.00"}, {"line": 4, "amount": "1.00"}]), "lines[1].line"),
        (json!([{"line": 0, "amount": "1.00"}]), "lines[0].line"),
        (json!([]), "lines"),
    ];
    for (lines, field) in bad {
        assert_invalid(&app.post_json(&path, &json!({"reason": "Goodwill", "lines": lines})).await, field);
    }
    assert_invalid(&app.post_json(&path, &json!({"reason": " "})).await, "reason");
    assert_eq!(app.get("/api/v1/credit-notes").await.expect(200).data().len(), 0, "nothing was issued");

    let cn = app
        .post_json(&path, &json!({"reason": "Goodwill", "lines": [{"line": 1, "amount": "50.00"}]}))
        .await
        .expect(201)
        .body;
    assert_eq!(cn["number"], "CN-000001");
    assert_eq!(cn["credit_type"], "partial");
    assert_eq!(
        (cn["subtotal"].as_str(), cn["tax"].as_str(), cn["total"].as_str()),
        (Some("50.00"), Some("9.50"), Some("59.50"))
    );
    assert_eq!(cn["lines"][0]["invoice_line"], 1);
    // Partial credits free nothing; the invoice stays issued, and cannot be voided any more.
    assert_eq!(app.get(&format!("/api/v1/invoices/{}", inv["id"])).await.expect(200).body["status"], "issued");
    assert_eq!(entry_invoice(app, entries[0]).await, inv["id"]);
    assert_problem(
        &app.post_json(&format!("/api/v1/invoices/{}/void", inv["id"]), &json!({})).await,
        409,
        "has_credit_notes",
    );
    // Only 100.00 is left on line 1.
    assert_invalid(
        &app.post_json(&path, &json!({"reason": "x", "lines": [{"line": 1, "amount": "100.01"}]})).await,
        "lines[0].amount",
    );

    // The rest, in part: lines 1 (the 100.00 left), 2 and 3 in full. Now everything is credited.
    let rest = app
        .post_json(&path, &json!({"reason": "Rest", "lines": [{"line": 3, "amount": "135.00"}, {"line": 1, "amount": "100.00"}, {"line": 2, "amount": 112.5}]}))
        .await
        .expect(201)
        .body;
    assert_eq!(rest["number"], "CN-000002");
    assert_eq!(rest["subtotal"], "347.50");
    assert_eq!(rest["tax"], "66.03");
    assert_eq!(app.get(&format!("/api/v1/invoices/{}", inv["id"])).await.expect(200).body["status"], "credited");
    assert_eq!(entry_invoice(app, entries[0]).await, Value::Null);
    let listed = app.get(&path).await.expect(200);
    assert_eq!(
        listed.data().iter().map(|c| c["number"].as_str().unwrap()).collect::<Vec<_>>(),
        ["CN-000001", "CN-000002"]
    );
});

both_backends!(only_issued_invoices_are_credited_by_staff, |app| {
    let (customer, _plan, sub) = billing_setup(app).await;
    app.post_json("/api/v1/time-entries", &entry(sub, 50)).await.expect(201);
    let mut body: Value = serde_json::from_str(OCTOBER).unwrap();
    body["customer_id"] = json!(customer);
    let draft = app.post_json("/api/v1/invoices", &body).await.expect(201).body;
    assert_problem(&app.post_json(&credit_path(&draft), &json!({"reason": "x"})).await, 409, "invalid_status");
    let inv = app.post_json(&format!("/api/v1/invoices/{}/issue", draft["id"]), &json!({})).await.expect(200).body;
    let client = app.make_key(Role::Client, Some(customer));
    assert_problem(&app.post_json_as(&client, &credit_path(&inv), &json!({"reason": "x"})).await, 404, "not_found");
    app.post_json(&format!("/api/v1/invoices/{}/void", inv["id"]), &json!({})).await.expect(200);
    assert_problem(&app.post_json(&credit_path(&inv), &json!({"reason": "x"})).await, 409, "invalid_status");
    assert_problem(
        &app.post_json("/api/v1/invoices/999999/credit-notes", &json!({"reason": "x"})).await,
        404,
        "not_found",
    );
    assert_eq!(app.post_json(&credit_path(&inv), &json!({"reason": "x", "extra": 1})).await.status, 422);
});

both_backends!(concurrent_credit_notes_get_contiguous_numbers, |app| {
    let plan = create(app, "/api/v1/plans", &standard_plan()).await["id"].as_i64().unwrap();
    for i in 0..12 {
        let c = create(app, "/api/v1/customers", &customer_named(&format!("Race {i}"))).await["id"].as_i64().unwrap();
        let sub = create(
            app,
            "/api/v1/subscriptions",
            &json!({"customer_id": c, "plan_id": plan, "start_date": "2026-01-01", "product": "azure", "name": "Azure plan"}),
        )
        .await["id"]
            .as_i64()
            .unwrap();
        app.post_json("/api/v1/time-entries", &at(sub, "2026-10-05T08:00:00Z", 50, "technical")).await.expect(201);
    }
    let run: Value = serde_json::from_str(OCTOBER).unwrap();
    let drafts: Vec<i64> = app
        .post_json("/api/v1/invoices/run", &run)
        .await
        .expect(201)
        .data()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    for id in &drafts {
        app.post_json(&format!("/api/v1/invoices/{id}/issue"), &json!({})).await.expect(200);
    }
    // One full credit per invoice, all at once.
    let paths: Vec<String> = drafts.iter().map(|id| format!("/api/v1/invoices/{id}/credit-notes")).collect();
    let body = json!({"reason": "Re-billed"});
    let results = futures_util::future::join_all(paths.iter().map(|p| app.post_json(p, &body))).await;
    let mut numbers: Vec<String> = results
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.text);
            r.body["number"].as_str().unwrap().to_string()
        })
        .collect();
    numbers.sort();
    let expected: Vec<String> = (1..=12).map(|n| format!("CN-{n:06}")).collect();
    assert_eq!(numbers, expected);
    // Issue times follow number order.
    let all = app.list_all("/api/v1/credit-notes", 100).await;
    let mut by_number: Vec<(String, String)> =
        all.iter().map(|c| (c["number"].as_str().unwrap().into(), c["issued_at"].as_str().unwrap().into())).collect();
    by_number.sort();
    let times: Vec<chrono::DateTime<chrono::FixedOffset>> =
        by_number.iter().map(|(_, t)| chrono::DateTime::parse_from_rfc3339(t).unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{by_number:?}");

    // Ten partial credits of 50.00 on one 150.00 line, at once: exactly three fit.
    let plan_inv = {
        let c = create(app, "/api/v1/customers", &customer_named("Partial race")).await["id"].as_i64().unwrap();
        let sub = create(
            app,
            "/api/v1/subscriptions",
            &json!({"customer_id": c, "plan_id": plan, "start_date": "2026-01-01", "product": "azure", "name": "Azure plan"}),
        )
        .await["id"]
            .as_i64()
            .unwrap();
        app.post_json("/api/v1/time-entries", &at(sub, "2026-10-05T08:00:00Z", 50, "technical")).await.expect(201);
        let mut b: Value = serde_json::from_str(OCTOBER).unwrap();
        b["customer_id"] = json!(c);
        let d = app.post_json("/api/v1/invoices", &b).await.expect(201).body;
        app.post_json(&format!("/api/v1/invoices/{}/issue", d["id"]), &json!({})).await.expect(200).body
    };
    let partial = json!({"reason": "Goodwill", "lines": [{"line": 1, "amount": "50.00"}]});
    let path = credit_path(&plan_inv);
    let results = futures_util::future::join_all((0..10).map(|_| app.post_json(&path, &partial))).await;
    let ok = results.iter().filter(|r| r.status == 201).count();
    let refused = results.iter().filter(|r| r.status == 422 || r.status == 409).count();
    assert_eq!((ok, refused), (3, 7), "{:?}", results.iter().map(|r| (r.status, r.text.clone())).collect::<Vec<_>>());
    assert_eq!(app.get(&format!("/api/v1/invoices/{}", plan_inv["id"])).await.expect(200).body["status"], "credited");
    let mut numbers: Vec<String> = app
        .list_all("/api/v1/credit-notes", 100)
        .await
        .iter()
        .map(|c| c["number"].as_str().unwrap().to_string())
        .collect();
    numbers.sort();
    assert_eq!(numbers, (1..=15).map(|n| format!("CN-{n:06}")).collect::<Vec<_>>());
});

both_backends!(credit_note_documents_register_and_visibility, |app| {
    let (customer, inv, _) = issued_plan_h(app).await;
    let cn =
        app.post_json(&credit_path(&inv), &json!({"reason": "Duplicate of a Premier case fee"})).await.expect(201).body;
    let id = cn["id"].as_i64().unwrap();

    // CSV: one row per line, amounts sum to the subtotal, and the invoice is named.
    let csv = app.get(&format!("/api/v1/credit-notes/{id}.csv")).await.expect(200);
    assert_eq!(csv.header("content-disposition"), Some("attachment; filename=\"CN-000001.csv\""));
    let mut reader = csv::Reader::from_reader(csv.text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let recs: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(recs.len(), 3);
    assert!(recs
        .iter()
        .all(|r| &r[col("invoice_number")] == "INV-000001" && &r[col("credit_note_number")] == "CN-000001"));
    let sum: rust_decimal::Decimal =
        recs.iter().map(|r| r[col("amount")].parse::<rust_decimal::Decimal>().unwrap()).sum();
    assert_eq!(sum.to_string(), "397.50");

    // PDF: titled credit note, naming the invoice and the reason; the same bytes every time.
    let pdf = app.get_with(&format!("/api/v1/credit-notes/{id}"), &[("Accept", "application/pdf")]).await.expect(200);
    assert_eq!(pdf.content_type, "application/pdf");
    let again = app.get(&format!("/api/v1/credit-notes/{id}.pdf")).await.expect(200);
    assert_eq!(pdf.bytes, again.bytes);
    if let Ok(path) = std::env::var("SUPPORTBILL_KEEP_CREDIT_NOTE_PDF") {
        std::fs::write(path, &pdf.bytes).unwrap();
    }
    match pdftotext(&pdf.bytes) {
        None => eprintln!("\n*** SKIPPED (PDF text): pdftotext not found ***\n"),
        Some(text) => {
            for needle in ["CREDIT NOTE", "CN-000001", "INV-000001", "Duplicate of a Premier case fee", "473.03"] {
                assert!(text.contains(needle), "{needle} missing: {text}");
            }
        }
    }

    // The register lists the invoice and the credit note (negative), by kind.
    let month = &inv["issued_at"].as_str().unwrap()[..7];
    let from = format!("{month}-01");
    let to = chrono::NaiveDate::parse_from_str(&from, "%Y-%m-%d").unwrap() + chrono::Months::new(1);
    let reg = app.get(&format!("/api/v1/reports/invoices?from={from}&to={to}")).await.expect(200);
    let rows: Vec<(String, String, String)> = reg
        .data()
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap().into(),
                r["number"].as_str().unwrap().into(),
                r["total"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("invoice".into(), "INV-000001".into(), "473.03".into()),
            ("credit_note".into(), "CN-000001".into(), "-473.03".into())
        ]
    );
    assert_eq!(reg.data()[1]["corrects"], "INV-000001");
    let reg_csv = app.get(&format!("/api/v1/reports/invoices?from={from}&to={to}&format=csv")).await.expect(200).text;
    assert!(reg_csv.starts_with("kind,number,corrects,"), "{reg_csv}");
    assert!(reg_csv.contains("credit_note,CN-000001,INV-000001,"), "{reg_csv}");
    let reg_pdf = app.get(&format!("/api/v1/reports/invoices?from={from}&to={to}&format=pdf")).await.expect(200);
    if let Some(text) = pdftotext(&reg_pdf.bytes) {
        assert!(text.contains("CN-000001") && text.contains("-473.03"), "{text}");
    }

    // The customer's client key sees it; another customer's does not.
    let own = app.make_key(Role::Client, Some(customer));
    assert_eq!(app.get_as(&own, "/api/v1/credit-notes").await.expect(200).data().len(), 1);
    assert_eq!(app.get_as(&own, &format!("/api/v1/credit-notes/{id}")).await.expect(200).body["number"], "CN-000001");
    assert_eq!(app.get_as(&own, &credit_path(&inv)).await.expect(200).data().len(), 1);
    let other_customer = create(app, "/api/v1/customers", &customer_named("Other GmbH")).await["id"].as_i64().unwrap();
    let other = app.make_key(Role::Client, Some(other_customer));
    assert_problem(&app.get_as(&other, &format!("/api/v1/credit-notes/{id}")).await, 404, "not_found");
    assert_problem(&app.get_as(&other, &format!("/api/v1/credit-notes/{id}.pdf")).await, 404, "not_found");
    assert_problem(&app.get_as(&other, &credit_path(&inv)).await, 404, "not_found");
    assert_eq!(app.get_as(&other, "/api/v1/credit-notes").await.expect(200).data().len(), 0);
});

// Finance staff see an invoice's credit notes on its page and download them there: the same
// bytes as the API's. A client key of another customer gets neither.
both_backends!(the_finance_page_lists_an_invoices_credit_notes_and_serves_their_documents, |app| {
    let (_customer, inv, _) = issued_plan_h(app).await;
    let page = |token: String, path: String| async move {
        crate::web_sessions::sign_in(app, &token).await.get(app, &path).await
    };
    let invoice_page = format!("/invoices/{}", inv["id"]);
    let before = page(app.admin_token.clone(), invoice_page.clone()).await.expect(200);
    assert!(!before.text.contains("Credit notes"), "{}", before.text);

    let cn = app.post_json(&credit_path(&inv), &json!({"reason": "Billed in error <twice>"})).await.expect(201).body;
    let id = cn["id"].as_i64().unwrap();
    let after = page(app.admin_token.clone(), invoice_page.clone()).await.expect(200);
    for wanted in [
        "<h2>Credit notes</h2>".to_string(),
        "<td>CN-000001</td>".to_string(),
        "<td>full</td>".to_string(),
        "Billed in error &lt;twice&gt;".to_string(),
        "EUR 473.03".to_string(),
        format!("href=\"/credit-notes/{id}/download.pdf\""),
    ] {
        assert!(after.text.contains(&wanted), "{wanted} missing from {}", after.text);
    }
    for format in ["csv", "pdf"] {
        let web = page(app.admin_token.clone(), format!("/credit-notes/{id}/download.{format}")).await.expect(200);
        let api = app.get(&format!("/api/v1/credit-notes/{id}.{format}")).await.expect(200);
        assert_eq!(web.content_type, api.content_type, "{format}");
        assert!(web.bytes == api.bytes && !web.bytes.is_empty(), "{format}: the web download is the API's document");
    }

    let other_customer = create(app, "/api/v1/customers", &customer_named("Other GmbH")).await["id"].as_i64().unwrap();
    let other = app.make_key(Role::Client, Some(other_customer));
    assert_eq!(page(other.clone(), invoice_page).await.status, 404);
    assert_eq!(page(other.clone(), format!("/credit-notes/{id}/download.pdf")).await.status, 404);
    assert_eq!(page(other, "/credit-notes/x/download.csv".into()).await.status, 404);
});

/// `supportbill invoice xml` and `supportbill credit-note csv|pdf|xml` write what the library
/// renders (and so what the API serves), on the demo data.
#[test]
fn back_office_writes_credit_notes_and_einvoices() {
    use chrono::{Datelike, Months, NaiveDate};
    use supportbill::service::clock::{Clock, SystemClock};
    use supportbill::service::{credit_notes, invoices};

    let dir = std::env::temp_dir().join(format!("sb_cn_cli_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("demo.db").display());
    let pool = supportbill::storage::connect(&supportbill::storage::DatabaseUrl::parse(&url).unwrap(), 2).unwrap();
    let mut conn = pool.get().unwrap();
    let now = SystemClock.now();
    assert!(supportbill::cli::demo::seed(&mut conn, now).unwrap());
    let this_month = NaiveDate::from_ymd_opt(now.year(), now.month(), 1).unwrap();
    let period = supportbill::domain::pricing::Period::new(this_month - Months::new(1), this_month).unwrap();
    let drafts = invoices::run(&mut conn, supportbill::storage::SecondReader::NONE, period, now).unwrap();
    let inv = invoices::issue(&mut conn, drafts[0].id, &SystemClock).unwrap();
    let req = credit_notes::CreditRequest { reason: "Billed in error".into(), lines: None };
    let cn = credit_notes::create(&mut conn, inv.id, req, &SystemClock).unwrap();
    let admin = supportbill::service::auth::Caller { key_id: 0, role: Role::Admin, customer_id: None };
    let inv = invoices::get(&mut conn, &admin, inv.id).unwrap();
    drop(conn);

    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_supportbill"))
            .arg("--database-url")
            .arg(&url)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    let (inv_id, cn_id) = (inv.id.to_string(), cn.id.to_string());
    assert_eq!(run(&["invoice", "xml", &inv_id, "-o", "-"]), supportbill::documents::ubl::invoice_ubl(&inv).unwrap());
    assert_eq!(
        run(&["credit-note", "xml", &cn_id, "-o", "-"]),
        supportbill::documents::ubl::credit_note_ubl(&cn).unwrap()
    );
    assert_eq!(run(&["credit-note", "csv", &cn_id, "-o", "-"]), supportbill::documents::csv::credit_note_csv(&cn));
    let pdf = run(&["credit-note", "pdf", &cn_id, "-o", "-"]);
    assert_eq!(pdf, supportbill::documents::pdf::credit_note_pdf(&cn, supportbill::documents::pdf::Paper::A4).unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

// An invoice with a credit charge (a negative line): partial credits may credit up to what it
// bills net, never the whole of its positive lines. Crediting those once let the invoice count
// as fully credited, freed the charge with the rest, and the next invoice gave the customer
// the charge's credit a second time.
both_backends!(partial_credits_never_give_back_more_than_the_invoice_bills, |app| {
    let (customer, _plan, sub) = billing_setup(app).await;
    app.post_json(
        "/api/v1/time-entries",
        &json!([
            at(sub, "2026-10-05T08:00:00Z", 50, "technical"),
            at(sub, "2026-10-10T10:00:00Z", 45, "subscription_management"),
        ]),
    )
    .await
    .expect(201);
    app.post_json(
        "/api/v1/charges",
        &json!({"subscription_id": sub, "date": "2026-10-20", "description": "Goodwill credit", "amount": "-20.00"}),
    )
    .await
    .expect(201);
    let mut body: Value = serde_json::from_str(OCTOBER).unwrap();
    body["customer_id"] = json!(customer);
    let draft = app.post_json("/api/v1/invoices", &body).await.expect(201).body;
    let inv = app.post_json(&format!("/api/v1/invoices/{}/issue", draft["id"]), &json!({})).await.expect(200).body;
    let amounts: Vec<&str> = inv["lines"].as_array().unwrap().iter().map(|l| l["amount"].as_str().unwrap()).collect();
    assert_eq!(amounts, ["150.00", "135.00", "-20.00"]);
    assert_eq!(inv["subtotal"], "265.00");
    let path = credit_path(&inv);

    // Both time lines in full would credit 285.00 of an invoice that bills 265.00.
    let over = app
        .post_json(
            &path,
            &json!({"reason": "x", "lines": [{"line": 1, "amount": "150.00"}, {"line": 2, "amount": "135.00"}]}),
        )
        .await;
    assert_invalid(&over, "lines");
    assert!(over.body.to_string().contains("265.00"), "names what the invoice still bills: {}", over.body);
    assert_eq!(app.get("/api/v1/credit-notes").await.expect(200).data().len(), 0, "nothing was issued");

    // 150.00, then 115.00: the invoice's net, so it is credited, and its items are free.
    app.post_json(&path, &json!({"reason": "x", "lines": [{"line": 1, "amount": "150.00"}]})).await.expect(201);
    assert_eq!(app.get(&format!("/api/v1/invoices/{}", inv["id"])).await.expect(200).body["status"], "issued");
    assert_invalid(
        &app.post_json(&path, &json!({"reason": "x", "lines": [{"line": 2, "amount": "115.01"}]})).await,
        "lines",
    );
    app.post_json(&path, &json!({"reason": "x", "lines": [{"line": 2, "amount": "115.00"}]})).await.expect(201);
    assert_eq!(app.get(&format!("/api/v1/invoices/{}", inv["id"])).await.expect(200).body["status"], "credited");

    // Billed 265.00, credited 265.00, billed again 265.00: the charge's credit is given once.
    let again = app.post_json("/api/v1/invoices", &body).await.expect(201).body;
    assert_eq!(again["subtotal"], "265.00");
    let credited: Vec<String> = app
        .get("/api/v1/credit-notes")
        .await
        .expect(200)
        .data()
        .iter()
        .map(|c| c["subtotal"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(credited, ["150.00", "115.00"]);
});
