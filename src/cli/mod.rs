//! The `supportbill` command line: serve, migrate, create-key, import (time entries, Partner
//! Center customers and subscriptions, holiday calendars), the back office's documents
//! (invoice and report files), and plan versions ([`plans`]).

pub mod demo;
pub mod plans;

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Subcommand, ValueEnum};

use crate::documents::pdf::{self, Paper};
use crate::documents::{self, Format};
use crate::domain::validation;
use crate::domain::vocab::Role;
use crate::error::AppError;
use crate::http::ratelimit::RateLimitConfig;
use crate::http::AppState;
use crate::service::api_keys::{self, NewKey};
use crate::service::auth::Caller;
use crate::service::clock::{Clock, SystemClock};
use crate::service::holidays;
use crate::service::import::{self, SubscriptionBy};
use crate::service::invoices;
use crate::service::partner_center::{self, CustomerDefaults};
use crate::service::reports::{self, GroupBy};
use crate::service::time_entries::{self, Locator};
use crate::storage::{self, DatabaseUrl};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service (migrations run first).
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: String,
        /// Fill an empty database with a demo partner and print an admin key.
        #[arg(long)]
        demo: bool,
        /// Requests per second per API key (per client IP without a key); 0 turns limits off.
        #[arg(long, env = "SUPPORTBILL_RATE_LIMIT_PER_SECOND", default_value_t = 200)]
        rate_limit_per_second: u32,
        /// Requests a caller may send at once before the per-second rate applies.
        #[arg(long, env = "SUPPORTBILL_RATE_LIMIT_BURST", default_value_t = 400)]
        rate_limit_burst: u32,
        /// Database connections the service keeps (default: 8 on SQLite; on PostgreSQL twice
        /// this machine's cores, 4 to 16).
        #[arg(long, env = "SUPPORTBILL_DB_POOL_SIZE", value_parser = clap::value_parser!(u32).range(1..=1000))]
        db_pool_size: Option<u32>,
        /// Seconds a request's body may take to arrive after its head; a slower one is answered
        /// 408 and its connection closed.
        #[arg(long, env = "SUPPORTBILL_BODY_TIMEOUT_SECONDS", default_value_t = 30,
              value_parser = clap::value_parser!(u64).range(1..=3600))]
        body_timeout_seconds: u64,
    },
    /// Run pending migrations and exit.
    Migrate,
    /// Copy a SQLite database to FILE while the service runs (`VACUUM INTO`: one consistent
    /// snapshot; writers carry on). Refuses an existing FILE. For PostgreSQL it prints the
    /// `pg_dump` command to use and fails.
    Backup {
        /// The new file to write; it must not exist.
        file: PathBuf,
    },
    /// Create an API key and print its token (alone, on stdout).
    CreateKey {
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The customer a client key belongs to.
        #[arg(long)]
        customer: Option<i64>,
        #[arg(long)]
        name: String,
    },
    /// Import data from files.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Invoices: write one as CSV, PDF or UBL XML, or draft a period for every customer.
    Invoice {
        #[command(subcommand)]
        what: InvoiceCommand,
    },
    /// Write one credit note as CSV, PDF or UBL XML (the same bytes the API serves).
    CreditNote {
        #[arg(value_enum)]
        format: DocumentFormat,
        id: i64,
        /// The file to write (`-` for stdout).
        #[arg(short, long)]
        output: PathBuf,
        #[arg(long, value_enum, default_value = "a4")]
        paper: PaperArg,
    },
    /// Write a report as CSV or PDF.
    Report {
        #[command(subcommand)]
        what: ReportCommand,
    },
    /// Support plans: list a plan's versions, add one.
    Plan {
        #[command(subcommand)]
        what: plans::PlanCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum InvoiceCommand {
    /// Write one invoice as CSV (the same bytes the API serves).
    Csv {
        id: i64,
        /// The file to write (`-` for stdout).
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Write one invoice as PDF (the same bytes the API serves).
    Pdf {
        id: i64,
        /// The file to write (`-` for stdout).
        #[arg(short, long)]
        output: PathBuf,
        #[arg(long, value_enum, default_value = "a4")]
        paper: PaperArg,
    },
    /// Write one issued invoice as a UBL 2.1 e-invoice (EN 16931).
    Xml {
        id: i64,
        /// The file to write (`-` for stdout).
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Draft the period's invoice of every customer with something to bill (like
    /// `POST /invoices/run`); prints how many drafts were made.
    Run {
        /// First day of the period, YYYY-MM-DD.
        #[arg(long)]
        period_start: String,
        /// Day after the period, YYYY-MM-DD (exclusive).
        #[arg(long)]
        period_end: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// The usage summary of time entries started in [from, to).
    Usage {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long, default_value = "customer")]
        group_by: String,
        #[arg(long, value_enum, default_value = "csv")]
        format: DocFormat,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// The invoice register: invoices issued in [from, to), void ones included.
    Invoices {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long, value_enum, default_value = "csv")]
        format: DocFormat,
        #[arg(short, long)]
        output: PathBuf,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DocFormat {
    Csv,
    Pdf,
}

/// Invoices and credit notes also come as UBL 2.1 e-invoices.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DocumentFormat {
    Csv,
    Pdf,
    Xml,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PaperArg {
    A4,
    Letter,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Time entries from CSV, all or nothing.
    TimeEntries {
        file: PathBuf,
        /// How the `subscription_id` column names subscriptions.
        #[arg(long, value_enum, default_value = "id")]
        subscription_by: SubscriptionByArg,
    },
    /// The days of an iCalendar file (.ics) into a holiday calendar, as
    /// `POST /holiday-calendars/{id}/import` does; a refused file writes nothing.
    Holidays {
        /// The holiday calendar's id.
        #[arg(long)]
        calendar: i64,
        file: PathBuf,
    },
    /// Customers or subscriptions exported from Microsoft Partner Center (CSV), all or nothing.
    PartnerCenter {
        #[command(subcommand)]
        what: PartnerCenterCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum PartnerCenterCommand {
    /// Customers, upserted by Microsoft ID (Customer ID, Tenant ID).
    Customers {
        file: PathBuf,
        /// Currency of new customers when the file has no Currency column.
        #[arg(long)]
        currency: Option<String>,
        /// Country of new customers when the file has no Country column.
        #[arg(long)]
        country: Option<String>,
        /// Tax rate (percent) of new customers.
        #[arg(long)]
        tax_rate: Option<String>,
        /// Print what would change and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Subscriptions, upserted by Subscription ID; new ones go on the plan given.
    Subscriptions {
        file: PathBuf,
        #[arg(long)]
        plan: i64,
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RoleArg {
    Admin,
    Finance,
    Client,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SubscriptionByArg {
    Id,
    ExternalId,
}

/// Runs the command; the error is printed by `main`.
/// Runs one command against the database at `database_url`.
pub fn run(database_url: &str, command: Command) -> Result<(), String> {
    let url = DatabaseUrl::parse(database_url).map_err(|e| e.to_string())?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match command {
        Command::Serve { bind, demo, rate_limit_per_second, rate_limit_burst, db_pool_size, body_timeout_seconds } => {
            let limits = RateLimitConfig { per_second: rate_limit_per_second, burst: rate_limit_burst };
            let body_timeout = std::time::Duration::from_secs(body_timeout_seconds);
            serve(&url, &bind, demo, limits, body_timeout, db_pool_size, clock)
        }
        Command::Migrate => {
            storage::connect(&url, 1).map_err(|e| e.to_string())?;
            eprintln!("migrations applied to {}", url.redacted());
            Ok(())
        }
        Command::Backup { file } => backup(&url, &file),
        Command::Plan { what } => plans::run(&url, what, clock.now()),
        Command::CreateKey { role, customer, name } => {
            let pool = storage::connect(&url, 1).map_err(|e| e.to_string())?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let role = match role {
                RoleArg::Admin => Role::Admin,
                RoleArg::Finance => Role::Finance,
                RoleArg::Client => Role::Client,
            };
            let (_, token) = api_keys::create(&mut conn, NewKey { name, role, customer_id: customer }, clock.now())
                .map_err(describe)?;
            println!("{token}");
            Ok(())
        }
        Command::Invoice { what: InvoiceCommand::Csv { id, output } } => {
            write_invoice(&url, id, Format::Csv, Paper::A4, &output)
        }
        Command::Invoice { what: InvoiceCommand::Pdf { id, output, paper } } => {
            write_invoice(&url, id, Format::Pdf, paper_of(paper), &output)
        }
        Command::Invoice { what: InvoiceCommand::Xml { id, output } } => {
            write_invoice(&url, id, Format::Xml, Paper::A4, &output)
        }
        Command::Invoice { what: InvoiceCommand::Run { period_start, period_end } } => {
            let period = crate::domain::validation::period(&period_start, &period_end).map_err(|e| e.to_string())?;
            // Two connections on PostgreSQL: the run reads and prices with the second too
            // (`period_read`).
            let pool = storage::connect(&url, 2).map_err(|e| e.to_string())?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let started = std::time::Instant::now();
            let ids = invoices::run_ids(&mut conn, storage::SecondReader::from(&pool), period, clock.now())
                .map_err(describe)?;
            println!("drafted {} invoices in {} ms", ids.len(), started.elapsed().as_millis());
            Ok(())
        }
        Command::CreditNote { format, id, output, paper } => {
            let pool = storage::connect(&url, 1).map_err(|e| e.to_string())?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let doc = crate::service::credit_notes::get(&mut conn, &back_office(), id).map_err(describe)?;
            let format = match format {
                DocumentFormat::Xml => Format::Xml,
                DocumentFormat::Csv => Format::Csv,
                DocumentFormat::Pdf => Format::Pdf,
            };
            let bytes = documents::render_credit_note(&doc, format, paper_of(paper)).map_err(|e| e.to_string())?;
            write_output(&output, &bytes)
        }
        Command::Report { what } => {
            let pool = storage::connect(&url, 1).map_err(|e| e.to_string())?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let dates = |from: &str, to: &str| -> Result<_, String> {
                let f = validation::date(from).map_err(|m| format!("--from: {m}"))?;
                let t = validation::end_date(to).map_err(|m| format!("--to: {m}"))?;
                if t < f {
                    return Err("--to must not be before --from".into());
                }
                Ok((f, t))
            };
            match what {
                ReportCommand::Usage { from, to, group_by, format, output } => {
                    let (f, t) = dates(&from, &to)?;
                    let g = GroupBy::parse(&group_by)
                        .ok_or_else(|| format!("--group-by must be one of: {}", GroupBy::NAMES.join(", ")))?;
                    let rows = reports::usage(&mut conn, f, t, g, None).map_err(describe)?;
                    let bytes = match format {
                        DocFormat::Csv => documents::csv::usage_csv(&rows),
                        DocFormat::Pdf => {
                            pdf::usage_pdf("Support usage summary", &from, &to, &group_by, &rows, Paper::A4)
                                .map_err(|e| e.to_string())?
                        }
                    };
                    write_output(&output, &bytes)
                }
                ReportCommand::Invoices { from, to, format, output } => {
                    let (f, t) = dates(&from, &to)?;
                    let rows = crate::service::register::register(&mut conn, f, t, None).map_err(describe)?;
                    let bytes = match format {
                        DocFormat::Csv => documents::csv::register_csv(&rows),
                        DocFormat::Pdf => pdf::register_pdf(&from, &to, &rows, Paper::A4).map_err(|e| e.to_string())?,
                    };
                    write_output(&output, &bytes)
                }
            }
        }
        Command::Import { what: ImportCommand::PartnerCenter { what } } => {
            let pool = storage::connect(&url, 1).map_err(|e| e.to_string())?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let read = |file: &PathBuf| std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()));
            let (report, what) = match what {
                PartnerCenterCommand::Customers { file, currency, country, tax_rate, dry_run } => {
                    let defaults = CustomerDefaults { currency, country, tax_rate_percent: tax_rate };
                    (
                        partner_center::import_customers(&mut conn, &read(&file)?, &defaults, dry_run, clock.now())
                            .map_err(describe)?,
                        "customer",
                    )
                }
                PartnerCenterCommand::Subscriptions { file, plan, dry_run } => (
                    partner_center::import_subscriptions(&mut conn, &read(&file)?, plan, dry_run, clock.now())
                        .map_err(describe)?,
                    "subscription",
                ),
            };
            print!("{}", report.describe(what));
            Ok(())
        }
        Command::Import { what: ImportCommand::Holidays { calendar, file } } => {
            let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let pool = storage::connect(&url, 1).map_err(|e| e.to_string())?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let report = holidays::import_ics(&mut conn, calendar, &bytes).map_err(describe)?;
            println!("imported {} days ({} new), ignored {} entries", report.days.len(), report.added, report.ignored);
            Ok(())
        }
        Command::Import { what: ImportCommand::TimeEntries { file, subscription_by } } => {
            let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let by = match subscription_by {
                SubscriptionByArg::Id => SubscriptionBy::Auto,
                SubscriptionByArg::ExternalId => SubscriptionBy::ExternalId,
            };
            let (drafts, lines) = import::parse_csv(&bytes, by).map_err(|e| e.to_string())?;
            let pool = storage::connect(&url, 1).map_err(|e| e.to_string())?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let n = time_entries::import(&mut conn, drafts, Locator::CsvLine(lines)).map_err(describe)?;
            println!("imported {n} time entries");
            Ok(())
        }
    }
}

fn write_invoice(
    url: &DatabaseUrl,
    id: i64,
    format: Format,
    paper: Paper,
    output: &std::path::Path,
) -> Result<(), String> {
    let pool = storage::connect(url, 1).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let doc = invoices::get(&mut conn, &back_office(), id).map_err(describe)?;
    let bytes = documents::render_invoice(&doc, format, paper).map_err(|e| e.to_string())?;
    write_output(output, &bytes)
}

/// `bench generate`: the catalogue straight into the tables, the time entries through the
/// CSV import (parse, validate, insert: the path `import time-entries` takes).
/// The back office reads like an admin key would.
fn back_office() -> Caller {
    Caller { key_id: 0, role: Role::Admin, customer_id: None }
}

fn paper_of(paper: PaperArg) -> Paper {
    match paper {
        PaperArg::A4 => Paper::A4,
        PaperArg::Letter => Paper::Letter,
    }
}

/// `supportbill backup FILE`: an online copy of a SQLite database with `VACUUM INTO`, which
/// reads one consistent snapshot (WAL: the server's writers are not blocked) and writes a
/// compact database file; the copy is checked with `PRAGMA integrity_check`.
fn backup(url: &DatabaseUrl, file: &std::path::Path) -> Result<(), String> {
    let path = match url {
        DatabaseUrl::Postgres(_) => {
            return Err(format!(
                "backup copies SQLite databases only. For PostgreSQL use pg_dump, which takes a consistent \
                 snapshot while the service runs:\n  pg_dump -Fc --no-owner -f {file} '{url}'\n\
                 and restore into a new, empty database with:\n  createdb NEWDB && pg_restore --no-owner -d NEWDB {file}\n\
                 (the password is not shown: give it in the URL, PGPASSWORD or ~/.pgpass; see docs/operations.md, Backups)",
                file = file.display(),
                url = url.redacted(),
            ))
        }
        DatabaseUrl::Sqlite(path) => path,
    };
    if std::fs::symlink_metadata(file).is_ok() {
        return Err(format!("{} exists: backup writes a new file and never overwrites one", file.display()));
    }
    if !std::path::Path::new(path).is_file() {
        return Err(format!("no SQLite database at {path}"));
    }
    let target = file.to_str().ok_or_else(|| format!("{}: the backup path must be UTF-8", file.display()))?;
    let started = std::time::Instant::now();
    crate::storage::backup::copy_sqlite(path, target)?;
    let bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "backed up {} to {target}: {bytes} bytes in {} ms, integrity ok",
        url.redacted(),
        started.elapsed().as_millis()
    );
    Ok(())
}

fn write_output(path: &std::path::Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    if path.as_os_str() == "-" {
        return std::io::stdout().write_all(bytes).map_err(|e| e.to_string());
    }
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("wrote {} ({} bytes)", path.display(), bytes.len());
    Ok(())
}

/// A CLI user sees what an API client would read in `detail` and `errors`.
fn describe(e: AppError) -> String {
    match e {
        AppError::Validation(errors) | AppError::Refused { errors, .. } => errors.to_string(),
        AppError::Storage(s) => s.to_string(),
        other => other.to_string(),
    }
}

/// SQLite: 8 (its readers run in this process, beside one writer). PostgreSQL: twice the
/// cores, 4 to 16. Each pooled connection is a server backend that wants a core; with 16 of
/// them busy on 2 cores, the scheduler left some GETs waiting far longer than with 4, at no
/// gain in throughput (docs/performance-findings.md, finding 19). A server on a bigger database machine sets
/// `SUPPORTBILL_DB_POOL_SIZE`.
fn default_pool_size(url: &DatabaseUrl) -> u32 {
    if url.is_sqlite() {
        return 8;
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
    (2 * cores).clamp(4, 16)
}

fn serve(
    url: &DatabaseUrl,
    bind: &str,
    demo: bool,
    limits: RateLimitConfig,
    body_timeout: std::time::Duration,
    pool_size: Option<u32>,
    clock: Arc<dyn Clock>,
) -> Result<(), String> {
    let pool_size = pool_size.unwrap_or_else(|| default_pool_size(url));
    let pool = storage::connect(url, pool_size).map_err(|e| e.to_string())?;
    if demo {
        let mut conn = pool.get().map_err(|e| e.to_string())?;
        let seeded = demo::seed(&mut conn, clock.now()).map_err(describe)?;
        if seeded {
            eprintln!("demo data loaded");
        } else {
            eprintln!("the database already has data; demo data not loaded");
        }
        let (_, token) = api_keys::create(
            &mut conn,
            NewKey { name: "demo admin".into(), role: Role::Admin, customer_id: None },
            clock.now(),
        )
        .map_err(describe)?;
        println!("admin API key: {token}");
    }
    let listener = TcpListener::bind(bind).map_err(|e| format!("cannot bind {bind}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("supportbill listening on http://{addr} (database {})", url.redacted());
    if demo {
        println!("try: curl -H \"Authorization: Bearer $KEY\" http://{addr}/api/v1/invoices");
    }
    let state = AppState::new(pool, clock).with_rate_limit(limits).with_body_timeout(body_timeout);
    actix_web::rt::System::new().block_on(async move {
        let server = crate::startup::start(listener, state).map_err(|e| e.to_string())?;
        server.await.map_err(|e| e.to_string())
    })
}
