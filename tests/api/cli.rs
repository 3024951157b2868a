//! The back office's command line: `supportbill invoice csv|pdf`, `report usage`, `report
//! invoices`, run as a user would, against a SQLite file filled with the demo data.

use std::process::Command;

use chrono::{Datelike, Months, NaiveDate, Utc};
use supportbill::domain::pricing::Period;
use supportbill::domain::vocab::Role;
use supportbill::service::auth::Caller;
use supportbill::service::clock::{Clock, SystemClock};
use supportbill::service::invoices;
use supportbill::storage::{self, DatabaseUrl};

fn supportbill(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_supportbill")).args(args).output().expect("run supportbill");
    assert!(out.status.success(), "supportbill {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

#[test]
fn back_office_files_match_what_the_api_serves() {
    let dir = std::env::temp_dir().join(format!("sb_cli_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("demo.db");
    let url = format!("sqlite://{}", db.display());
    let pool = storage::connect(&DatabaseUrl::parse(&url).unwrap(), 2).unwrap();
    let mut conn = pool.get().unwrap();
    let now = SystemClock.now();
    assert!(supportbill::cli::demo::seed(&mut conn, now).unwrap());
    let this_month = NaiveDate::from_ymd_opt(now.year(), now.month(), 1).unwrap();
    let last_month = this_month - Months::new(1);
    let drafts = invoices::run(&mut conn, Period::new(last_month, this_month).unwrap(), now).unwrap();
    let issued = invoices::issue(&mut conn, drafts[0].id, &SystemClock).unwrap();
    let admin = Caller { key_id: 0, role: Role::Admin, customer_id: None };
    let doc = invoices::get(&mut conn, &admin, issued.id).unwrap();
    drop(conn);

    let id = issued.id.to_string();
    let csv = supportbill(&["--database-url", &url, "invoice", "csv", &id, "-o", "-"]).stdout;
    assert_eq!(csv, supportbill::documents::csv::invoice_csv(&doc));
    let pdf_path = dir.join("invoice.pdf");
    supportbill(&["--database-url", &url, "invoice", "pdf", &id, "-o", pdf_path.to_str().unwrap()]);
    let pdf = std::fs::read(&pdf_path).unwrap();
    assert_eq!(pdf, supportbill::documents::pdf::invoice_pdf(&doc, supportbill::documents::pdf::Paper::A4).unwrap());

    let (from, to) = (last_month.to_string(), this_month.to_string());
    let usage = supportbill(&["--database-url", &url, "report", "usage", "--from", &from, "--to", &to, "--group-by", "product", "--format", "csv", "-o", "-"]).stdout;
    let usage = String::from_utf8(usage).unwrap();
    assert!(usage.starts_with("key,label,entries,"), "{usage}");
    assert!(usage.lines().any(|l| l.starts_with("azure,")), "{usage}");
    let today = Utc::now().date_naive();
    let register = supportbill(&["--database-url", &url, "report", "invoices", "--from", &today.to_string(), "--to", &(today + chrono::Days::new(1)).to_string(), "-o", "-"]).stdout;
    let register = String::from_utf8(register).unwrap();
    assert_eq!(register.lines().count(), 2, "{register}");
    assert!(register.lines().nth(1).unwrap().starts_with(&format!("invoice,{},", issued.number.as_deref().unwrap())), "{register}");

    // Time entries from CSV: by Partner Center subscription id, all or nothing.
    let mut conn = pool.get().unwrap();
    let subs = supportbill::service::subscriptions::list(&mut conn, None, 0, 1).unwrap();
    drop(conn);
    let external = subs[0].external_id.clone().expect("demo subscriptions have external ids");
    let good = dir.join("good.csv");
    std::fs::write(&good, format!("started_at,minutes,subscription_id,agent,category\n2026-11-02T09:00:00+01:00,30,{external},cli,technical\n2026-11-02T10:00:00Z,15,{external},cli,billing\n")).unwrap();
    let out = supportbill(&["--database-url", &url, "import", "time-entries", good.to_str().unwrap(), "--subscription-by", "external-id"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "imported 2 time entries");
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, format!("started_at,minutes,subscription_id,agent,category\n2026-11-02T09:00:00Z,30,{external},cli,technical\n2026-11-02T10:00:00Z,0,{external},cli,technical\n")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_supportbill"))
        .args(["--database-url", &url, "import", "time-entries", bad.to_str().unwrap(), "--subscription-by", "external-id"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 3: minutes"), "{stderr}");
    let mut conn = pool.get().unwrap();
    let cli_entries = supportbill::service::time_entries::list(
        &mut conn,
        supportbill::service::time_entries::EntryFilter { subscription_id: Some(subs[0].id), from: None, to: None },
        0,
        1000,
    )
    .unwrap()
    .into_iter()
    .filter(|e| e.agent == "cli")
    .count();
    assert_eq!(cli_entries, 2, "the bad file imported nothing");
    drop(conn);

    // Bad input is a clear message and a non-zero exit, not a panic.
    let bad = Command::new(env!("CARGO_BIN_EXE_supportbill"))
        .args(["--database-url", &url, "report", "usage", "--from", "2026-13-01", "--to", &to, "-o", "-"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--from"), "{}", String::from_utf8_lossy(&bad.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}
