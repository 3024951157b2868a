//! The `supportbill` binary: parses the command line and hands over to `cli` (the service's
//! commands) or `bench` (benchmark data).

use clap::{Parser, Subcommand};
use supportbill::service::clock::{Clock, SystemClock};
use supportbill::{bench, cli};

#[derive(Debug, Parser)]
#[command(name = "supportbill", version, about = "Support time billing for Microsoft CSP partners")]
struct Args {
    /// Database: sqlite://PATH, sqlite:PATH, a file path, or postgres://...
    #[arg(long, global = true, env = "DATABASE_URL", default_value = "supportbill.db")]
    database_url: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Service(cli::Command),
    /// Benchmark data (see BENCHMARKS.md).
    Bench {
        #[command(subcommand)]
        what: bench::BenchCommand,
    },
}

fn main() {
    limit_malloc_arenas();
    // key=value lines (`ts=... level=... target=...`), written by a thread of their own.
    let log = match supportbill::logging::init() {
        Ok(log) => log,
        Err(e) => {
            eprintln!("error: cannot start the log writer: {e}");
            std::process::exit(1);
        }
    };
    let args = Args::parse();
    let result = match args.command {
        Command::Service(command) => cli::run(&args.database_url, command),
        Command::Bench { what } => bench::run(&args.database_url, what, SystemClock.now()),
    };
    // `exit` runs no destructors: the queued lines are written out first.
    drop(log);
    if let Err(message) = result {
        eprintln!("supportbill: {message}");
        std::process::exit(1);
    }
}

/// glibc gives each thread that allocates its own malloc arena (up to 8 per core), and an
/// arena keeps what was freed in it. The blocking pool's threads (one per concurrent database
/// call) made a server's resident memory climb through a soak test; with two arenas it stays
/// flat (docs/performance-findings.md, "Soak"). Allocation-heavy work runs on
/// few threads here, so the contention two arenas add is not measurable.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes an allocator setting; it is called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
