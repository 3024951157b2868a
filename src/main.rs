//! The `supportbill` binary: parses the command line and hands over to `cli`.

use clap::Parser;

fn main() {
    // key=value lines: `ts=... level=... target=...` and the message (ours are key=value too,
    // with `request_id=` for everything logged while serving a request).
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format(|buf, record| {
            use std::io::Write;
            writeln!(buf, "ts={} level={} target={} {}", buf.timestamp_millis(), record.level(), record.target(), record.args())
        })
        .init();
    let cli = supportbill::cli::Cli::parse();
    if let Err(message) = supportbill::cli::run(cli) {
        eprintln!("supportbill: {message}");
        std::process::exit(1);
    }
}
