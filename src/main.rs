//! The `supportbill` binary: parses the command line and hands over to `cli`.

use clap::Parser;

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = supportbill::cli::Cli::parse();
    if let Err(message) = supportbill::cli::run(cli) {
        eprintln!("supportbill: {message}");
        std::process::exit(1);
    }
}
