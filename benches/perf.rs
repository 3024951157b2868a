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
use diesel::dsl::{count_star, sum};
use diesel::prelude::*;

use supportbill::bench::generate::{self, Size};
use supportbill::documents::model::InvoiceDocument;
use supportbill::documents::{csv as doc_csv, pdf};
use supportbill::domain::vocab::InvoiceStatus;
use supportbill::service::clock::FixedClock;
use supportbill::service::import::{self, SubscriptionBy};
use supportbill::service::invoices;
use supportbill::service::reports::{self, GroupBy};
use supportbill::service::time_entries::{self, Locator};
use supportbill::storage::models::Invoice;
use supportbill::storage::schema::{
    invoices as invoices_t, subscriptions as subscriptions_t, time_entries as entries_t,
};
use supportbill::storage::{self, DatabaseUrl, DbConnection, Pool};

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
    if let DbConnection::Postgresql(pg) = &mut **conn {
        if let Err(e) = diesel::sql_query("CHECKPOINT").execute(pg) {
            println!("  (CHECKPOINT before the run refused: {e}; measuring anyway)");
        }
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
    let sub: i64 = subscriptions_t::table
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

/// The ceiling of plain inserts: one prepared single-row INSERT per row, one transaction,
/// rolled back; with the same page cache as the import (`with_bulk_cache`), so that the two
/// differ only in how the rows are sent.
fn raw_insert(conn: &mut DbConnection, rows: &[supportbill::storage::models::NewTimeEntry]) -> Duration {
    let mut elapsed = Duration::ZERO;
    let _ = storage::with_bulk_cache(conn, |conn| {
        conn.transaction::<(), diesel::result::Error, _>(|conn| {
            let t = Instant::now();
            for row in rows {
                match conn {
                    DbConnection::Sqlite(c) => diesel::insert_into(entries_t::table).values(row).execute(c)?,
                    DbConnection::Postgresql(c) => diesel::insert_into(entries_t::table).values(row).execute(c)?,
                };
            }
            elapsed = t.elapsed();
            Err(diesel::result::Error::RollbackTransaction)
        })
    });
    elapsed
}

/// One aggregation of the month's entries by subscription, category and billable.
fn aggregate(conn: &mut DbConnection, from: NaiveDate, to: NaiveDate) -> Duration {
    let (start, end) = (from.and_hms_opt(0, 0, 0).expect("0:00"), to.and_hms_opt(0, 0, 0).expect("0:00"));
    let t = Instant::now();
    let rows: Vec<(i64, String, bool, i64, Option<i64>)> = entries_t::table
        .filter(entries_t::started_at.ge(start))
        .filter(entries_t::started_at.lt(end))
        .group_by((entries_t::subscription_id, entries_t::category, entries_t::billable))
        .select((
            entries_t::subscription_id,
            entries_t::category,
            entries_t::billable,
            count_star(),
            sum(entries_t::minutes),
        ))
        .load(conn)
        .expect("group by");
    let elapsed = t.elapsed();
    assert!(!rows.is_empty());
    elapsed
}

fn one_update_per_transaction(conn: &mut DbConnection, ids: &[i64]) -> Duration {
    let t = Instant::now();
    for &id in ids {
        supportbill::storage::write_tx(conn, |conn| {
            diesel::update(invoices_t::table.find(id)).set(invoices_t::status.eq(InvoiceStatus::Draft)).execute(conn)
        })
        .expect("update");
    }
    t.elapsed()
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

/// `wrk` against a served copy: GET of issued invoices (client of the API, admin key) and the
/// trivial `/version` route.
fn http(args: &Args, backend: &'static str, db: &Database, ids: &[i64], sub: i64, report: &mut Report) {
    if Command::new("wrk").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() {
        eprintln!("\n!!! wrk is not installed (apt-get install wrk): HTTP benchmark SKIPPED\n");
        return;
    }
    let (token, _, _) = child(&db.url, &["create-key", "--role", "admin", "--name", "bench"]);
    let token = token.trim().to_string();
    let mut server = Command::new(env!("CARGO_BIN_EXE_supportbill"))
        .args(["--database-url", &db.url, "serve", "--bind", "127.0.0.1:0", "--rate-limit-per-second", "0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("serve");
    let mut line = String::new();
    let mut out = std::io::BufReader::new(server.stdout.take().expect("stdout"));
    let addr = loop {
        line.clear();
        if std::io::BufRead::read_line(&mut out, &mut line).expect("read") == 0 {
            panic!("the server exited");
        }
        if let Some(rest) = line.strip_prefix("supportbill listening on http://") {
            break rest.split_whitespace().next().expect("address").to_string();
        }
    };
    let dir = tempdir();
    let script = dir.join("invoices.lua");
    std::fs::write(
        &script,
        format!(
            "local first, count = {}, {}\nrequest = function()\n  return wrk.format(\"GET\", \"/api/v1/invoices/\" .. (first + math.random(0, count - 1)), {{[\"Authorization\"] = \"Bearer {token}\"}})\nend\n",
            ids[0],
            ids.len()
        ),
    )
    .expect("lua");
    let seconds = args.wrk_seconds.to_string();
    let run = |extra: &[&str], url: String| -> (f64, String) {
        let out = Command::new("wrk")
            .args(["-t2", "-c32", "-d", &format!("{seconds}s"), "--latency"])
            .args(extra)
            .arg(url)
            .output()
            .expect("wrk");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let rps = text
            .lines()
            .find_map(|l| l.strip_prefix("Requests/sec:"))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0);
        let p99 =
            text.lines().find_map(|l| l.trim().strip_prefix("99%")).map(|v| v.trim().to_string()).unwrap_or_default();
        assert!(!text.contains("Non-2xx"), "wrk saw errors: {text}");
        (rps, p99)
    };
    let (base_rps, base_p99) = run(&[], format!("http://{addr}/version"));
    let script_arg = script.to_string_lossy().to_string();
    let (rps, p99) = run(&["-s", &script_arg], format!("http://{addr}"));
    let soak = (args.soak_seconds > 0).then(|| soak(args.soak_seconds, &addr, &token, ids, sub, &dir, server.id()));
    let _ = server.kill();
    let _ = server.wait();
    if let Some((requests, rate, errors, memory)) = soak {
        let rss: Vec<u64> = memory.iter().map(|m| m.0).collect();
        let first = rss.first().copied().unwrap_or(0);
        let last = rss.last().copied().unwrap_or(0);
        let peak = rss.iter().copied().max().unwrap_or(0);
        let samples: Vec<String> = rss.iter().map(|kb| format!("{}", kb / 1024)).collect();
        // The rest of the process: RSS less what SQLite holds (its page caches grow with the
        // database the soak's POSTs grow, up to 16 MiB a pooled connection).
        let rest: Vec<String> =
            memory.iter().map(|(kb, sqlite)| format!("{}", kb.saturating_sub(sqlite / 1024) / 1024)).collect();
        let sqlite: Vec<String> = memory.iter().map(|(_, sqlite)| format!("{}", sqlite / (1024 * 1024))).collect();
        println!("  soak memory every 5 s, MB: RSS {}", samples.join(" "));
        println!("  of which SQLite (supportbill_sqlite_memory_bytes): {}", sqlite.join(" "));
        println!("  RSS less SQLite: {}", rest.join(" "));
        assert_eq!(errors, 0, "the soak run saw {errors} failed requests");
        report.add(
            backend,
            &format!("soak: mixed traffic for {} s (wrk, 2 threads, 16 connections)", args.soak_seconds),
            format!("{requests} requests, {rate:.0} req/s, 0 errors"),
            format!("server RSS MB every 5 s: {}; less SQLite's own memory: {}", samples.join(" "), rest.join(" ")),
            format!("RSS {}→{} MB, peak {} MB", first / 1024, last / 1024, peak / 1024),
            "no errors, flat memory",
        );
    }
    report.add(
        backend,
        "GET /api/v1/invoices/{id} (wrk, 2 threads, 32 connections)",
        format!("{} req/s, p99 {p99}", fmt_rate(rps).trim_end_matches("/s")),
        format!("/version {} req/s, p99 {base_p99}", fmt_rate(base_rps).trim_end_matches("/s")),
        format!("{:.2}x", rps / base_rps.max(1e-9)),
        ">= 10k req/s, p99 < 20 ms",
    );
}

/// Mixed traffic for `seconds` against the server `pid` at `addr`: 60 % GET of an issued
/// invoice, 20 % invoice lists, 10 % one day's usage summary, 10 % POST of a time entry.
/// Returns (requests, requests/s, failed requests, the server's RSS in KB every 5 s).
fn soak(
    seconds: u32,
    addr: &str,
    token: &str,
    ids: &[i64],
    sub: i64,
    dir: &std::path::Path,
    pid: u32,
) -> (u64, f64, u64, Vec<(u64, u64)>) {
    let script = dir.join("soak.lua");
    std::fs::write(
        &script,
        format!(
            r#"local first, count, token = {first}, {count}, "{token}"
counter = 0
request = function()
  counter = counter + 1
  local r = counter % 10
  local h = {{["Authorization"] = "Bearer " .. token}}
  if r < 6 then
    return wrk.format("GET", "/api/v1/invoices/" .. (first + math.random(0, count - 1)), h)
  elseif r < 8 then
    return wrk.format("GET", "/api/v1/invoices?limit=50", h)
  elseif r < 9 then
    return wrk.format("GET", "/api/v1/reports/usage?from=2026-12-01&to=2026-12-02&group_by=category", h)
  else
    h["Content-Type"] = "application/json"
    return wrk.format("POST", "/api/v1/time-entries", h, '{{"subscription_id": {sub}, "agent": "soak", "started_at": "2026-12-01T09:00:00Z", "minutes": 15, "category": "technical"}}')
  end
end
"#,
            first = ids[0],
            count = ids.len(),
        ),
    )
    .expect("soak.lua");
    let rss = |pid: u32| -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines().find_map(|l| l.strip_prefix("VmRSS:").and_then(|v| v.split_whitespace().next()?.parse().ok()))
            })
            .unwrap_or(0)
    };
    let wrk = Command::new("wrk")
        .args(["-t2", "-c16", "-d", &format!("{seconds}s"), "-s"])
        .arg(&script)
        .arg(format!("http://{addr}"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("wrk");
    // The server's own gauge of what SQLite holds, from /metrics (0 on PostgreSQL).
    let sqlite_bytes = || -> u64 {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(addr) else { return 0 };
        let _ = stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n");
        let mut text = String::new();
        let _ = stream.read_to_string(&mut text);
        text.lines()
            .find_map(|l| l.strip_prefix("supportbill_sqlite_memory_bytes "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    let mut samples = vec![(rss(pid), sqlite_bytes())];
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(seconds as u64) {
        std::thread::sleep(Duration::from_secs(5).min(Duration::from_secs(seconds as u64)));
        samples.push((rss(pid), sqlite_bytes()));
    }
    let out = wrk.wait_with_output().expect("wrk output");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let requests = text
        .lines()
        .find_map(|l| {
            l.trim()
                .split(" requests in")
                .next()
                .filter(|_| l.contains(" requests in"))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0);
    let rate =
        text.lines().find_map(|l| l.strip_prefix("Requests/sec:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0.0);
    // "Socket errors: connect 0, read 0, write 0, timeout 3": the sum of the four.
    let socket_errors: u64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Socket errors:"))
        .map(|v| v.split(',').filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok()).sum())
        .unwrap_or(0);
    let errors = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
        + socket_errors;
    assert!(requests > 0, "wrk made no requests: {text}");
    if errors > 0 {
        eprintln!("wrk reported failed requests:\n{text}");
    }
    (requests, rate, errors, samples)
}

/// PDF renders: one page and 200 lines on one thread, all of the run on every core, and
/// ReportLab on the same one-page invoice.
fn pdfs(args: &Args, conn: &mut DbConnection, pool: &Pool, ids: &[i64], report: &mut Report) {
    let docs: Vec<InvoiceDocument> = ids
        .iter()
        .map(|&id| {
            let row: Invoice = invoices_t::table.find(id).select(Invoice::as_select()).first(conn).expect("invoice");
            invoices::document(conn, &row).expect("document")
        })
        .collect();
    let _ = pool;
    let one_page = docs.iter().find(|d| (4..=6).contains(&d.lines.len())).or(docs.first()).expect("an invoice").clone();
    let mut long = one_page.clone();
    while long.lines.len() < 200 {
        let line = one_page.lines[long.lines.len() % one_page.lines.len()].clone();
        long.lines.push(line);
    }
    let timed = |doc: &InvoiceDocument, min: Duration| -> (f64, usize) {
        let t = Instant::now();
        let mut n = 0;
        let mut bytes = 0;
        while t.elapsed() < min || n < 3 {
            bytes = pdf::invoice_pdf(doc, pdf::Paper::A4).expect("pdf").len();
            n += 1;
        }
        (per_sec(n, t.elapsed()), bytes)
    };
    let min = if args.wrk_seconds <= 1 { Duration::from_millis(300) } else { Duration::from_secs(3) };
    let (one_rate, one_bytes) = timed(&one_page, min);
    let (long_rate, long_bytes) = timed(&long, min);
    let reportlab = reportlab(&one_page, min);
    let (base, ratio) = match reportlab {
        Some(r) => (format!("ReportLab {r:.0}/s"), format!("{:.2}x", one_rate / r)),
        None => ("ReportLab SKIPPED (pip install reportlab)".into(), "-".into()),
    };
    report.add(
        "-",
        &format!("PDF one page ({} lines), 1 thread", one_page.lines.len()),
        format!("{one_rate:.0}/s, {} KB", one_bytes / 1024),
        base,
        ratio,
        ">= 3x ReportLab, < 50 KB",
    );
    report.add(
        "-",
        "PDF 200 lines, 1 thread",
        format!("{long_rate:.0}/s, {} KB", long_bytes / 1024),
        "-".into(),
        "-".into(),
        "-",
    );
    if args.pdf_all {
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let t = Instant::now();
        std::thread::scope(|s| {
            for part in docs.chunks(docs.len().div_ceil(threads)) {
                s.spawn(move || {
                    for d in part {
                        pdf::invoice_pdf(d, pdf::Paper::A4).expect("pdf");
                    }
                });
            }
        });
        let all = t.elapsed();
        report.add(
            "-",
            &format!("PDF all {} invoices of the run, {threads} threads", docs.len()),
            format!("{:.1} s, {:.0}/s", all.as_secs_f64(), per_sec(docs.len(), all)),
            format!("1 thread one page {one_rate:.0}/s"),
            format!("{:.2}x", per_sec(docs.len(), all) / one_rate),
            "-",
        );
    }
}

/// Renders the invoice with `benches/reportlab_invoice.py` for `min`; renders per second.
fn reportlab(doc: &InvoiceDocument, min: Duration) -> Option<f64> {
    let dir = tempdir();
    let json = dir.join("invoice.json");
    std::fs::write(&json, serde_json::to_vec(doc).expect("json")).ok()?;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/reportlab_invoice.py");
    let out = Command::new("python3").arg(script).arg(&json).arg(format!("{:.1}", min.as_secs_f64())).output().ok()?;
    if !out.status.success() {
        eprintln!("ReportLab baseline not run: {}", String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or(""));
        return None;
    }
    String::from_utf8_lossy(&out.stdout).split_whitespace().next()?.parse().ok()
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
