//! `supportbill serve` as a separate process, for tests that kill it, signal it, or run several
//! side by side.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A running `supportbill serve`; killed and reaped when dropped.
pub struct Server {
    pub child: Child,
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `supportbill serve` on port 0 over `url` and reads the address it prints.
pub fn serve(url: &str) -> Server {
    serve_with_env(url, &[])
}

/// [`serve`] with extra environment variables (the `SUPPORTBILL_*` settings).
pub fn serve_with_env(url: &str, env: &[(&str, &str)]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_supportbill"))
        .args(["--database-url", url, "serve", "--bind", "127.0.0.1:0"])
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        // The servers' logs (5xx causes) on the test's stderr when asked for, to see why.
        .stderr(if std::env::var_os("SUPPORTBILL_TEST_SERVER_LOGS").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()
        .expect("start supportbill serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read the listening line");
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches('/')
        .to_string();
    Server { child, base }
}
