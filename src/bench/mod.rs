//! Benchmark support: the data generator behind `supportbill bench generate` and
//! `cargo bench --bench perf` (see BENCHMARKS.md).

pub mod generate;

use clap::Subcommand;

use crate::service::import::{self, SubscriptionBy};
use crate::service::time_entries::{self, Locator};
use crate::storage::{self, DatabaseUrl};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Fill an empty database with a deterministic benchmark data set: customers, plans of
    /// every billing model, subscriptions, tickets, and a month of time entries imported
    /// through the CSV import.
    Generate {
        #[arg(long, default_value_t = 10_000)]
        customers: usize,
        #[arg(long, default_value_t = 1_000_000)]
        entries: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The month of the entries, YYYY-MM (default: last month).
        #[arg(long)]
        month: Option<String>,
    },
}

/// Runs a `supportbill bench` command against the database at `database_url`.
pub fn run(database_url: &str, command: BenchCommand, now: chrono::NaiveDateTime) -> Result<(), String> {
    let url = DatabaseUrl::parse(database_url).map_err(|e| e.to_string())?;
    match command {
        BenchCommand::Generate { customers, entries, seed, month } => {
            generate(&url, customers, entries, seed, month.as_deref(), now)
        }
    }
}

fn generate(
    url: &DatabaseUrl,
    customers: usize,
    entries: usize,
    seed: u64,
    month: Option<&str>,
    now: chrono::NaiveDateTime,
) -> Result<(), String> {
    use chrono::Datelike;
    let month = match month {
        Some(m) => chrono::NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
            .map_err(|_| format!("--month {m:?} is not YYYY-MM"))
            .and_then(|d| crate::domain::time::check_day(d).map_err(|e| format!("--month {m:?} {e}")))?,
        None => {
            let this = now.date().with_day(1).ok_or("no first of month")?;
            this.checked_sub_months(chrono::Months::new(1)).ok_or("month out of range")?
        }
    };
    let pool = storage::connect(url, 1).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let size = generate::Size { customers, entries, seed, month };
    let generated = generate::catalog(&mut conn, size).map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    let (drafts, lines) = import::parse_csv(&generated.csv, SubscriptionBy::Auto).map_err(|e| e.to_string())?;
    let imported = time_entries::import(&mut conn, drafts, Locator::CsvLine(lines)).map_err(|e| e.to_string())?;
    println!(
        "generated {} customers, {} subscriptions, {} tickets; imported {} time entries for {} in {} ms",
        generated.customers,
        generated.subscriptions,
        generated.tickets,
        imported,
        month.format("%Y-%m"),
        started.elapsed().as_millis()
    );
    Ok(())
}
