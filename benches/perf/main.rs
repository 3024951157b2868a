//! The performance benchmarks (BENCHMARKS.md): one run per backend over a generated data set,
//! each figure beside a baseline measured in the same run.
//!
//! ```sh
//! cargo bench --bench perf                                  # 10,000 customers, 1,000,000 entries, SQLite
//! cargo bench --bench perf -- --backend both --entries 100000 --customers 1000
//! cargo test --bench perf -- --smoke                        # tiny, debug build: what CI runs
//! cargo bench --bench perf -- --customers 1000 --entries 100000 --soak 180   # plus 3 minutes of mixed traffic
//! cargo bench --bench perf -- --until import                # only the import (to profile one phase)
//! ```
//!
//! PostgreSQL: `--backend postgres|both` needs `SUPPORTBILL_BENCH_PG_URL` (or
//! `SUPPORTBILL_TEST_PG_URL`), a URL of a server where a fresh database may be created.
//! `wrk` (Debian package) drives the HTTP figure; ReportLab (PyPI) the PDF peer baseline;
//! without them those figures say "skipped".
//!
//! Nothing here asserts a timing: it prints figures and ratios (and `--out FILE` writes them
//! as a Markdown table). It does assert results (counts of rows, drafts, issued invoices), so a
//! benchmark that silently did nothing fails.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use supportbill::bench::generate::{self, Size};
use supportbill::documents::csv as doc_csv;
use supportbill::domain::vocab::InvoiceStatus;
use supportbill::service::clock::FixedClock;
use supportbill::service::import::{self, SubscriptionBy};
use supportbill::service::invoices;
use supportbill::service::reports::{self, GroupBy};
use supportbill::service::time_entries::{self, Locator};
use supportbill::storage::schema::{invoices as invoices_t, subscriptions as subscriptions_t};
use supportbill::storage::{self, DatabaseUrl};

mod baselines;
mod http;
mod pdfs;

use crate::http::http;
use crate::pdfs::pdfs;
use baselines::{aggregate, one_update_per_transaction, raw_insert};

struct Args {
    customers: usize,
    entries: usize,
    backends: Vec<&'static str>,
    wrk_seconds: u32,
    soak_seconds: u32,
    pdf_all: bool,
    out: Option<PathBuf>,
    /// `--until PHASE`: stop each backend's suite after this phase (import, run, rerun, issue,
    /// usage, get), to profile one phase without the rest.
    until: Option<String>,
}

/// Drafts the rerun phase deletes and drafts again.
const RERUN_DRAFTS: usize = 500;

/// The suite's phases, in order (`--until`).
const PHASES: &[&str] = &["import", "run", "rerun", "issue", "usage", "get", "pdf"];

impl Args {
    /// True when the suite should stop after `phase`.
    fn stops_after(&self, phase: &str) -> bool {
        self.until.as_deref() == Some(phase)
    }
}

fn parse_args() -> Args {
    let mut a = Args {
        customers: 10_000,
        entries: 1_000_000,
        backends: vec!["sqlite"],
        wrk_seconds: 10,
        soak_seconds: 0,
        pdf_all: true,
        out: None,
        until: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--bench" => {}
            "--smoke" => {
                a.customers = 200;
                a.entries = 20_000;
                a.backends = vec!["sqlite", "postgres"];
                a.wrk_seconds = 1;
                a.soak_seconds = 5;
            }
            "--customers" => a.customers = value().parse().expect("--customers N"),
            "--entries" => a.entries = value().parse().expect("--entries N"),
            "--backend" => {
                a.backends = match value().as_str() {
                    "sqlite" => vec!["sqlite"],
                    "postgres" => vec!["postgres"],
                    "both" => vec!["sqlite", "postgres"],
                    other => panic!("--backend sqlite|postgres|both, not {other}"),
                }
            }
            "--wrk-seconds" => a.wrk_seconds = value().parse().expect("--wrk-seconds N"),
            "--soak" => a.soak_seconds = value().parse().expect("--soak SECONDS"),
            "--no-pdf-all" => a.pdf_all = false,
            "--out" => a.out = Some(PathBuf::from(value())),
            "--until" => {
                let phase = value();
                assert!(PHASES.contains(&phase.as_str()), "--until one of {PHASES:?}, not {phase}");
                a.until = Some(phase);
            }
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// One line of the results table.
struct Figure {
    backend: &'static str,
    name: String,
    value: String,
    baseline: String,
    ratio: String,
    target: String,
}

#[derive(Default)]
struct Report {
    figures: Vec<Figure>,
}

impl Report {
    fn add(&mut self, backend: &'static str, name: &str, value: String, baseline: String, ratio: String, target: &str) {
        println!("  {name}: {value} | baseline {baseline} | ratio {ratio} | target {target}");
        self.figures.push(Figure { backend, name: name.into(), value, baseline, ratio, target: target.into() });
    }

    fn markdown(&self, args: &Args) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "Data set: {} customers, {} time entries.\n", args.customers, args.entries);
        let _ = writeln!(s, "| backend | benchmark | figure | baseline (same run) | ratio | target |");
        let _ = writeln!(s, "|---|---|---|---|---|---|");
        for f in &self.figures {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                f.backend, f.name, f.value, f.baseline, f.ratio, f.target
            );
        }
        s
    }
}

fn per_sec(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

fn fmt_rate(r: f64) -> String {
    if r >= 10_000.0 {
        format!("{:.0}k/s", r / 1000.0)
    } else {
        format!("{r:.0}/s")
    }
}

fn main() {
    let args = parse_args();
    let month = {
        let today = chrono::Utc::now().date_naive().with_day(1).expect("first");
        today.checked_sub_months(Months::new(1)).expect("last month")
    };
    let mut report = Report::default();
    println!(
        "supportbill benchmarks: {} customers, {} time entries, month {}",
        args.customers,
        args.entries,
        month.format("%Y-%m")
    );
    for &backend in &args.backends {
        let Some(db) = Database::create(backend) else {
            eprintln!("\n!!! {backend}: SKIPPED (set SUPPORTBILL_BENCH_PG_URL or SUPPORTBILL_TEST_PG_URL to run it)\n");
            continue;
        };
        println!("\n== {backend} ==");
        suite(&args, backend, &db, month, &mut report);
    }
    let md = report.markdown(&args);
    println!("\n{md}");
    if let Some(out) = &args.out {
        std::fs::write(out, md).expect("write --out");
    }
}

fn suite(args: &Args, backend: &'static str, db: &Database, month: NaiveDate, report: &mut Report) {
    let url = DatabaseUrl::parse(&db.url).expect("url");
    let pool = storage::connect(&url, 4).expect("connect and migrate");
    let mut conn = pool.get().expect("connection");
    let size = Size { customers: args.customers, entries: args.entries, seed: 1, month };
    let t = Instant::now();
    let generated = generate::catalog(&mut conn, size).expect("generate");
    println!(
        "  generated {} customers, {} subscriptions, {} tickets, {} entries ({:.1} MB CSV) in {:.1} s",
        generated.customers,
        generated.subscriptions,
        generated.tickets,
        generated.entries.len(),
        generated.csv.len() as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let n = generated.entries.len();

    // 1. Import. Baseline: the same rows, one prepared single-row INSERT each, one transaction
    //    (rolled back, so the real import then starts from the same state).
    let baseline = raw_insert(&mut conn, &generated.entries);
    let t = Instant::now();
    let (drafts, lines) = import::parse_csv(&generated.csv, SubscriptionBy::Auto).expect("the generated CSV parses");
    let parse_time = t.elapsed();
    let imported = time_entries::import(&mut conn, drafts, Locator::CsvLine(lines)).expect("import");
    let import_time = t.elapsed();
    assert_eq!(imported, n, "every generated entry imported");
    println!(
        "  (import: parse and validate {:.3} s, resolve and insert {:.3} s)",
        parse_time.as_secs_f64(),
        (import_time - parse_time).as_secs_f64()
    );
    drop(generated);
    report.add(
        backend,
        "CSV import (parse, validate, insert)",
        fmt_rate(per_sec(n, import_time)),
        format!("prepared INSERT {}", fmt_rate(per_sec(n, baseline))),
        format!("{:.2}x", baseline.as_secs_f64() / import_time.as_secs_f64()),
        ">= 250k/s",
    );
    if args.stops_after("import") {
        return;
    }

    // 2. Invoice run, in a child process (the CLI) for its peak memory. Baseline: one GROUP BY
    //    aggregation of the same rows.
    let period_end = month.checked_add_months(Months::new(1)).expect("month");
    // On PostgreSQL the import's million rows are still being written out (its checkpoint)
    // when it returns, and that swung the run by a second between two runs of one build. A
    // month's imports come days before its run, so both the baseline and the run are measured
    // on a database at rest: the bench asks for the checkpoint first.
    if let Err(e) = storage::bulk::checkpoint(&mut conn) {
        println!("  (CHECKPOINT before the run refused: {e}; measuring anyway)");
    }
    let group_by = aggregate(&mut conn, month, period_end);
    let (out, run_time, peak_kb) = child(
        &db.url,
        &["invoice", "run", "--period-start", &month.to_string(), "--period-end", &period_end.to_string()],
    );
    let drafted: usize = out
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("invoice run said {out:?}"));
    assert!(drafted > 0, "the run made drafts");
    report.add(
        backend,
        &format!("invoice run ({drafted} drafts), child process"),
        format!("{:.2} s, peak RSS {} MB", run_time.as_secs_f64(), peak_kb / 1024),
        format!("GROUP BY {:.3} s", group_by.as_secs_f64()),
        format!("{:.1}x", run_time.as_secs_f64() / group_by.as_secs_f64()),
        "<= 3 s, <= 3x, <= 256 MB",
    );
    if args.stops_after("run") {
        return;
    }

    // 2b. Rerunning part of the month: delete drafts one by one (the service call behind
    //     `DELETE /api/v1/invoices/{id}`, a transaction each), then draft the month again, which
    //     drafts exactly those customers anew. Baseline: one transaction per invoice that only
    //     updates its row, as for issuing.
    let draft_ids: Vec<i64> = invoices_t::table
        .filter(invoices_t::status.eq(InvoiceStatus::Draft))
        .order(invoices_t::id)
        .select(invoices_t::id)
        .load(&mut **conn)
        .expect("drafts");
    let doomed = &draft_ids[..draft_ids.len().min(RERUN_DRAFTS)];
    let baseline = one_update_per_transaction(&mut conn, doomed);
    let t = Instant::now();
    for &id in doomed {
        invoices::delete_draft(&mut conn, id).expect("delete a draft");
    }
    let delete_time = t.elapsed();
    let period = supportbill::domain::pricing::Period::new(month, period_end).expect("period");
    // As the service runs it: with a second connection on PostgreSQL (`period_read`).
    let redrafted = invoices::run_ids(
        &mut conn,
        storage::SecondReader::from(&pool),
        period,
        NaiveDateTime::new(period_end, chrono::NaiveTime::MIN),
    )
    .expect("run again");
    assert_eq!(redrafted.len(), doomed.len(), "the second run drafts exactly the customers whose drafts were deleted");
    report.add(
        backend,
        &format!("delete drafts one by one ({} of {drafted})", doomed.len()),
        fmt_rate(per_sec(doomed.len(), delete_time)),
        format!("one UPDATE+COMMIT each {}", fmt_rate(per_sec(doomed.len(), baseline))),
        format!("{:.2}x", baseline.as_secs_f64() / delete_time.as_secs_f64()),
        "-",
    );
    if args.stops_after("rerun") {
        return;
    }

    // 3. Issue every draft in one bulk issue (`POST /invoices/issue`). Baseline: one
    //    transaction per invoice that only updates its row (the floor of issuing one by one).
    let draft_ids: Vec<i64> = invoices_t::table
        .filter(invoices_t::status.eq(InvoiceStatus::Draft))
        .order(invoices_t::id)
        .select(invoices_t::id)
        .load(&mut **conn)
        .expect("drafts");
    assert_eq!(draft_ids.len(), drafted);
    let baseline = one_update_per_transaction(&mut conn, &draft_ids);
    let clock = FixedClock(NaiveDateTime::new(period_end, chrono::NaiveTime::from_hms_opt(9, 0, 0).expect("9:00")));
    let t = Instant::now();
    for chunk in draft_ids.chunks(invoices::MAX_BULK_ISSUE) {
        let docs = invoices::issue_many(&mut conn, chunk, &clock).expect("issue");
        assert_eq!(docs.len(), chunk.len());
    }
    let issue_time = t.elapsed();
    report.add(
        backend,
        "issue all drafts (bulk issue)",
        fmt_rate(per_sec(draft_ids.len(), issue_time)),
        format!("one UPDATE+COMMIT each {}", fmt_rate(per_sec(draft_ids.len(), baseline))),
        format!("{:.2}x", baseline.as_secs_f64() / issue_time.as_secs_f64()),
        ">= 2000/s",
    );
    if args.stops_after("issue") {
        return;
    }

    // 4. Usage summary CSV over the month. Baseline: the GROUP BY above.
    let t = Instant::now();
    let rows = reports::usage(&mut conn, month, period_end, GroupBy::Customer, None).expect("usage");
    let csv = doc_csv::usage_csv(&rows);
    let usage_time = t.elapsed();
    let counted: u64 = rows.iter().map(|r| r.entries).sum();
    assert_eq!(counted as usize, n, "the usage summary counts every entry");
    report.add(
        backend,
        &format!("usage summary CSV by customer ({} rows, {} KB)", rows.len(), csv.len() / 1024),
        format!("{} entries", fmt_rate(per_sec(n, usage_time))),
        format!("GROUP BY {} entries", fmt_rate(per_sec(n, group_by))),
        format!("{:.1}x", usage_time.as_secs_f64() / group_by.as_secs_f64()),
        ">= 500k entries/s",
    );
    if args.stops_after("usage") {
        return;
    }

    // 5. GET /api/v1/invoices/{id} under wrk, against the trivial /version route.
    // An open-ended subscription: the soak's entries are dated after the month (SPEC 7.1).
    let sub: i64 = subscriptions_t::table
        .filter(subscriptions_t::end_date.is_null())
        .select(subscriptions_t::id)
        .order(subscriptions_t::id)
        .first(&mut **conn)
        .expect("a subscription");
    http(args, backend, db, &draft_ids, sub, report);
    if args.stops_after("get") {
        return;
    }

    // 6. PDF (the same on both backends: once, on the first).
    if backend == args.backends[0] {
        pdfs(args, &mut conn, &pool, &draft_ids, report);
    }
}

/// Runs the binary with `args` on the database; returns stdout, wall time and peak RSS (KB),
/// the latter from GNU time (`/usr/bin/time -f %M`; 0 when it is not installed: getrusage of
/// a child counts the parent's pages it was forked with).
fn child(url: &str, args: &[&str]) -> (String, Duration, i64) {
    let t = Instant::now();
    let time_file = tempdir().join("time.txt");
    let gnu_time = std::path::Path::new("/usr/bin/time").exists();
    let mut command = if gnu_time {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-f").arg("%M").arg("-o").arg(&time_file).arg(env!("CARGO_BIN_EXE_supportbill"));
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_supportbill"))
    };
    let output =
        command.arg("--database-url").arg(url).args(args).stderr(Stdio::inherit()).output().expect("spawn supportbill");
    let elapsed = t.elapsed();
    let out = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(output.status.success(), "supportbill {args:?} failed: {out}");
    let peak_kb = if gnu_time {
        std::fs::read_to_string(&time_file).ok().and_then(|t| t.trim().lines().last()?.trim().parse().ok()).unwrap_or(0)
    } else {
        0
    };
    (out, elapsed, peak_kb)
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("supportbill-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A fresh database for one suite, removed on drop.
struct Database {
    url: String,
    cleanup: Option<(String, String)>,
    file: Option<PathBuf>,
}

impl Database {
    fn create(backend: &str) -> Option<Database> {
        let stamp = format!("{}_{}", std::process::id(), chrono::Utc::now().timestamp_micros());
        if backend == "sqlite" {
            let file = tempdir().join(format!("bench-{stamp}.db"));
            return Some(Database { url: format!("sqlite://{}", file.display()), cleanup: None, file: Some(file) });
        }
        let base =
            std::env::var("SUPPORTBILL_BENCH_PG_URL").or_else(|_| std::env::var("SUPPORTBILL_TEST_PG_URL")).ok()?;
        let name = format!("sb_bench_{stamp}");
        let mut admin = diesel::PgConnection::establish(&base).expect("PostgreSQL reachable");
        diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut admin).expect("create database");
        let without_params = base.split('?').next().unwrap_or(&base);
        let root = match without_params[without_params.find("://").map(|i| i + 3).unwrap_or(0)..].find('/') {
            Some(i) => without_params[..without_params.find("://").map(|j| j + 3).unwrap_or(0) + i].to_string(),
            None => without_params.to_string(),
        };
        // Connection parameters (`?sslmode=disable`) carry over to the new database.
        let params = base.find('?').map(|i| &base[i..]).unwrap_or("");
        Some(Database { url: format!("{root}/{name}{params}"), cleanup: Some((base, name)), file: None })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some((base, name)) = &self.cleanup {
            if let Ok(mut admin) = diesel::PgConnection::establish(base) {
                let _ =
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut admin);
            }
        }
        if let Some(file) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
    }
}
