//! Partner Center import: the sample exports in tests/fixtures upserted by their Partner Center
//! ids over HTTP (both backends) and from the command line; re-imports change nothing, dry
//! runs write nothing, and a bad file is refused whole with its lines named.

use std::process::Command;

use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::*;
use supportbill::domain::vocab::Role;

const CUSTOMERS: &str = include_str!("../fixtures/partner_center_customers.csv");
const SUBSCRIPTIONS: &str = include_str!("../fixtures/partner_center_subscriptions.csv");
const IMPORT_CUSTOMERS: &str = "/api/v1/import/partner-center/customers";

fn counts(report: &Value) -> (i64, i64, i64) {
    (report["created"].as_i64().unwrap(), report["updated"].as_i64().unwrap(), report["unchanged"].as_i64().unwrap())
}

/// Customers as stored, without the creation time.
async fn customers(app: &TestApp) -> Vec<Value> {
    app.list_all("/api/v1/customers", 100)
        .await
        .into_iter()
        .map(|mut c| {
            c.as_object_mut().unwrap().remove("created_at");
            c
        })
        .collect()
}

both_backends!(partner_center_customers_are_upserted_by_microsoft_id, |app| {
    // Müller exists already (by its Partner Center id) with our own billing settings.
    let existing = create(app, "/api/v1/customers", &mueller()).await;
    // New customers need a tax rate the export does not have: the whole file is refused.
    let r = app.post_csv(&format!("{IMPORT_CUSTOMERS}?currency=EUR"), CUSTOMERS).await;
    assert_invalid(&r, "tax_rate_percent");
    let rows: Vec<u64> = r.body["errors"].as_array().unwrap().iter().map(|e| e["row"].as_u64().unwrap()).collect();
    assert_eq!(rows, [3, 4], "{}", r.text);
    // The same lines when the file has CRLF line ends, as Partner Center and Excel save it.
    let r = app.post_csv(&format!("{IMPORT_CUSTOMERS}?currency=EUR"), &CUSTOMERS.replace('\n', "\r\n")).await;
    let rows: Vec<u64> = r.body["errors"].as_array().unwrap().iter().map(|e| e["row"].as_u64().unwrap()).collect();
    assert_eq!(rows, [3, 4], "{}", r.text);
    assert_eq!(customers(app).await.len(), 1);

    // A dry run says what would happen and writes nothing.
    let path = format!("{IMPORT_CUSTOMERS}?currency=EUR&tax_rate_percent=19");
    let dry = app.post_csv(&format!("{path}&dry_run=true"), CUSTOMERS).await.expect(200).body;
    assert_eq!(dry["dry_run"], true);
    assert_eq!(counts(&dry), (2, 0, 1));
    assert_eq!(customers(app).await.len(), 1);

    let report = app.post_csv(&path, CUSTOMERS).await.expect(200).body;
    assert_eq!(counts(&report), (2, 0, 1));
    let lines: Vec<(u64, &str)> = report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["line"].as_u64().unwrap(), l["action"].as_str().unwrap()))
        .collect();
    assert_eq!(lines, [(2, "unchanged"), (3, "create"), (4, "create")]);
    let all = customers(app).await;
    assert_eq!(all.len(), 3);
    let contoso = all.iter().find(|c| c["external_id"] == "5f0c1d2e-0000-4000-8000-000000000003").unwrap();
    assert_eq!(contoso["name"], "Contoso Ltd");
    assert_eq!(contoso["email"], "billing@contoso.onmicrosoft.com");
    assert_eq!(
        (contoso["currency"].as_str(), contoso["tax_rate_percent"].as_str(), contoso["country"].as_str()),
        (Some("EUR"), Some("19"), Some("DE"))
    );
    let northwind = all.iter().find(|c| c["external_id"] == "5f0c1d2e-0000-4000-8000-000000000004").unwrap();
    assert_eq!(northwind["name"], "Northwind Traders, Inc.");
    // The existing customer kept what the export does not know (its address, tax id, email).
    let mueller_now = all.iter().find(|c| c["id"] == existing["id"]).unwrap();
    assert_eq!(mueller_now["email"], "ap@mueller.example");
    assert_eq!(mueller_now["tax_id"], "DE123456789");

    // Importing the same file again changes nothing.
    let again = app.post_csv(&path, CUSTOMERS).await.expect(200).body;
    assert_eq!(counts(&again), (0, 0, 3));
    assert_eq!(customers(app).await, all);

    // A renamed company is an update, found by its id whatever the headers' case and names.
    let renamed =
        "tenant_id,NAME,domain\n5f0c1d2e-0000-4000-8000-000000000003,Contoso Europe Ltd,contoso.onmicrosoft.com\n";
    let r = app.post_csv(&path, renamed).await.expect(200).body;
    assert_eq!(counts(&r), (0, 1, 0));
    assert_eq!(r["lines"][0]["changes"], json!([["name", "Contoso Ltd", "Contoso Europe Ltd"]]));
    assert_eq!(
        app.get(&format!("/api/v1/customers/{}", contoso["id"])).await.expect(200).body["name"],
        "Contoso Europe Ltd"
    );

    // All or nothing: one bad line (and a duplicate) refuses the file, naming the lines.
    let bad = "Customer ID,Company name,Primary domain\nnew-1,Fabrikam,fabrikam.example\n5f0c1d2e-0000-4000-8000-000000000003,,contoso.onmicrosoft.com\nnew-1,Fabrikam again,fabrikam.example\n";
    let r = app.post_csv(&format!("{path}&country=DE"), bad).await;
    assert_invalid(&r, "name");
    let errors: Vec<(u64, String)> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(errors, [(3, "name".to_string()), (4, "external_id".to_string())]);
    assert_eq!(customers(app).await.len(), 3, "nothing was imported");
    // A file without the id column says which headers it understands.
    assert_invalid(&app.post_csv(&path, "Company name\nFabrikam\n").await, "external_id");

    // Admin only.
    let finance = app.make_key(Role::Finance, None);
    let r = app.send("POST", &path, Some(&finance), Some("text/csv"), Some(CUSTOMERS.as_bytes().to_vec())).await;
    assert_problem(&r, 403, "forbidden");
});

both_backends!(partner_center_subscriptions_go_on_the_plan_given, |app| {
    let plan = create(app, "/api/v1/plans", &standard_plan()).await["id"].as_i64().unwrap();
    app.post_csv(&format!("{IMPORT_CUSTOMERS}?currency=EUR&tax_rate_percent=19"), CUSTOMERS).await.expect(200);
    let path = format!("/api/v1/import/partner-center/subscriptions?plan_id={plan}");
    let dry = app.post_csv(&format!("{path}&dry_run=true"), SUBSCRIPTIONS).await.expect(200).body;
    assert_eq!(counts(&dry), (4, 0, 0));
    assert_eq!(app.list_all("/api/v1/subscriptions", 100).await.len(), 0);

    let report = app.post_csv(&path, SUBSCRIPTIONS).await.expect(200).body;
    assert_eq!(counts(&report), (4, 0, 0));
    let subs = app.list_all("/api/v1/subscriptions", 100).await;
    let got: Vec<(String, String, String)> = subs
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().into(),
                s["product"].as_str().unwrap().into(),
                s["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = [
        ("Azure plan", "azure", "active"),
        ("Microsoft 365 Business Premium", "microsoft_365", "active"),
        ("Dynamics 365 Sales Enterprise", "dynamics_365", "suspended"),
        ("Visio Plan 2", "other", "cancelled"),
    ];
    assert_eq!(got, want.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect::<Vec<_>>());
    assert!(subs.iter().all(|s| s["plan_id"] == plan));

    // Again: nothing changes. A status change is an update.
    assert_eq!(counts(&app.post_csv(&path, SUBSCRIPTIONS).await.expect(200).body), (0, 0, 4));
    let reactivated = SUBSCRIPTIONS.replace("Suspended", "ACTIVE");
    let r = app.post_csv(&path, &reactivated).await.expect(200).body;
    assert_eq!(counts(&r), (0, 1, 3));
    assert_eq!(r["lines"][2]["changes"], json!([["status", "suspended", "active"]]));

    // Unknown customers, bad quantities and a plan in another currency are refused whole.
    let bad = "Customer ID,Subscription ID,Offer Name,Quantity\nnobody,s-new-1,Azure plan,1\n5f0c1d2e-0000-4000-8000-000000000001,s-new-2,Azure plan,many\n";
    let r = app.post_csv(&path, bad).await;
    let errors: Vec<(u64, String)> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(errors, [(2, "customer".to_string()), (3, "quantity".to_string())], "{}", r.text);
    let usd = create(app, "/api/v1/plans", &standard_plan_in("USD")).await["id"].as_i64().unwrap();
    let new_sub = "Customer ID,Subscription ID,Offer Name\n5f0c1d2e-0000-4000-8000-000000000001,s-new-3,Azure plan\n";
    assert_invalid(
        &app.post_csv(&format!("/api/v1/import/partner-center/subscriptions?plan_id={usd}"), new_sub).await,
        "plan_id",
    );
    assert_invalid(
        &app.post_csv("/api/v1/import/partner-center/subscriptions?plan_id=999999", new_sub).await,
        "plan_id",
    );
    assert_eq!(app.list_all("/api/v1/subscriptions", 100).await.len(), 4);
});

#[test]
fn partner_center_import_from_the_command_line() {
    let dir = std::env::temp_dir().join(format!("sb_pc_cli_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("pc.db").display());
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let customers_csv = fixtures.join("partner_center_customers.csv");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_supportbill"))
            .arg("--database-url")
            .arg(&url)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let file = customers_csv.to_str().unwrap();
    let (ok, out, err) =
        run(&["import", "partner-center", "customers", file, "--currency", "EUR", "--tax-rate", "19", "--dry-run"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("line 3: create customer 5f0c1d2e-0000-4000-8000-000000000003: name=\"Contoso Ltd\""),
        "{out}"
    );
    assert!(out.contains("3 created, 0 updated, 0 unchanged (dry run: nothing was written)"), "{out}");
    let (ok, out, _) = run(&["import", "partner-center", "customers", file, "--currency", "EUR", "--tax-rate", "19"]);
    assert!(ok && out.contains("3 created"), "{out}");
    let (ok, out, _) = run(&["import", "partner-center", "customers", file]);
    assert!(ok && out.trim() == "0 created, 0 updated, 3 unchanged", "{out}");

    // Subscriptions need a plan in the customers' currency.
    let pool = supportbill::storage::connect(&supportbill::storage::DatabaseUrl::parse(&url).unwrap(), 1).unwrap();
    let mut conn = pool.get().unwrap();
    let plan = supportbill::service::plans::list(&mut conn, 0, 1, chrono::NaiveDate::MIN).unwrap();
    assert!(plan.is_empty());
    drop(conn);
    let subs = fixtures.join("partner_center_subscriptions.csv");
    let (ok, _, err) = run(&["import", "partner-center", "subscriptions", subs.to_str().unwrap(), "--plan", "1"]);
    assert!(!ok && err.contains("plan_id"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

// The Partner Center imports read CSV through the same quoting check as the time-entry import:
// a quote never closed on line 3 is a 422 naming line 3, and nothing is written.
both_backends!(partner_center_import_refuses_an_unterminated_quote, |app| {
    let broken = CUSTOMERS.replace(",\"priority, emea\"", ",\"priority, emea");
    let r = app.post_csv(&format!("{IMPORT_CUSTOMERS}?currency=EUR&tax_rate_percent=19"), &broken).await;
    assert_problem(&r, 422, "invalid_input");
    assert_eq!(r.body["errors"][0]["row"], 3, "{}", r.text);
    assert!(r.body["errors"][0]["message"].as_str().unwrap().starts_with("unterminated quoted field"), "{}", r.text);
    assert_eq!(customers(app).await.len(), 0, "nothing written");
});
