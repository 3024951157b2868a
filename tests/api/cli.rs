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
    let drafts = invoices::run(
        &mut conn,
        supportbill::storage::SecondReader::NONE,
        Period::new(last_month, this_month).unwrap(),
        now,
    )
    .unwrap();
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
    let usage = supportbill(&[
        "--database-url",
        &url,
        "report",
        "usage",
        "--from",
        &from,
        "--to",
        &to,
        "--group-by",
        "product",
        "--format",
        "csv",
        "-o",
        "-",
    ])
    .stdout;
    let usage = String::from_utf8(usage).unwrap();
    assert!(usage.starts_with("key,label,entries,"), "{usage}");
    assert!(usage.lines().any(|l| l.starts_with("azure,")), "{usage}");
    let today = Utc::now().date_naive();
    let register = supportbill(&[
        "--database-url",
        &url,
        "report",
        "invoices",
        "--from",
        &today.to_string(),
        "--to",
        &(today + chrono::Days::new(1)).to_string(),
        "-o",
        "-",
    ])
    .stdout;
    let register = String::from_utf8(register).unwrap();
    assert_eq!(register.lines().count(), 2, "{register}");
    assert!(
        register.lines().nth(1).unwrap().starts_with(&format!("invoice,{},", issued.number.as_deref().unwrap())),
        "{register}"
    );

    // Time entries from CSV: by Partner Center subscription id, all or nothing.
    let mut conn = pool.get().unwrap();
    let subs = supportbill::service::subscriptions::list(&mut conn, None, 0, 1).unwrap();
    drop(conn);
    let external = subs[0].external_id.clone().expect("demo subscriptions have external ids");
    let good = dir.join("good.csv");
    std::fs::write(&good, format!("started_at,minutes,subscription_id,agent,category\n2026-11-02T09:00:00+01:00,30,{external},cli,technical\n2026-11-02T10:00:00Z,15,{external},cli,billing\n")).unwrap();
    let out = supportbill(&[
        "--database-url",
        &url,
        "import",
        "time-entries",
        good.to_str().unwrap(),
        "--subscription-by",
        "external-id",
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "imported 2 time entries");
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, format!("started_at,minutes,subscription_id,agent,category\n2026-11-02T09:00:00Z,30,{external},cli,technical\n2026-11-02T10:00:00Z,0,{external},cli,technical\n")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_supportbill"))
        .args([
            "--database-url",
            &url,
            "import",
            "time-entries",
            bad.to_str().unwrap(),
            "--subscription-by",
            "external-id",
        ])
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

/// `serve` sizes its database pool from `--db-pool-size` or `SUPPORTBILL_DB_POOL_SIZE` (8 on
/// SQLite by default), as `/metrics` shows; a size of 0 is refused before anything starts.
#[test]
fn serve_takes_its_pool_size_from_the_option_or_the_environment() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;
    let dir = std::env::temp_dir().join(format!("sb_pool_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("pool.db").display());
    let pool_size_served = |args: &[&str], env: Option<&str>| -> String {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_supportbill"));
        cmd.args(["--database-url", &url, "serve", "--bind", "127.0.0.1:0"]).args(args);
        cmd.env_remove("SUPPORTBILL_DB_POOL_SIZE").env("RUST_LOG", "warn").stdout(Stdio::piped()).stderr(Stdio::null());
        if let Some(n) = env {
            cmd.env("SUPPORTBILL_DB_POOL_SIZE", n);
        }
        let mut child = cmd.spawn().expect("serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr =
            line.split_whitespace().find_map(|w| w.strip_prefix("http://")).expect("the listening line").to_string();
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        std::io::Write::write_all(&mut stream, b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let _ = child.kill();
        let _ = child.wait();
        response
            .lines()
            .find_map(|l| l.strip_prefix("supportbill_db_pool_max_connections "))
            .expect("the pool gauge")
            .to_string()
    };
    assert_eq!(pool_size_served(&[], None), "8");
    assert_eq!(pool_size_served(&["--db-pool-size", "3"], None), "3");
    assert_eq!(pool_size_served(&[], Some("5")), "5");

    let refused = Command::new(env!("CARGO_BIN_EXE_supportbill"))
        .args(["--database-url", &url, "serve", "--bind", "127.0.0.1:0", "--db-pool-size", "0"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--db-pool-size"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
