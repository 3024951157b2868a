//! A PostgreSQL server of the test's own, for tests that stop and start it: `initdb` into a
//! temporary directory, a free port of its own, `pg_ctl` to start and stop it. The shared server
//! other tests use is never touched. As root (CI), the server runs as the `postgres` user
//! (`runuser`), which owns the directory. Without PostgreSQL's binaries
//! (`/usr/lib/postgresql/*/bin`, or `SUPPORTBILL_TEST_PG_BIN`), the test is skipped, loudly.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::remote::say;

pub const BIN_ENV: &str = "SUPPORTBILL_TEST_PG_BIN";

/// A running PostgreSQL server in a temporary directory; stopped and removed when dropped.
pub struct ScratchPg {
    bin: PathBuf,
    dir: PathBuf,
    pub port: u16,
    /// Run the binaries as this user (when the test runs as root).
    run_as: Option<String>,
}

impl ScratchPg {
    /// Creates and starts a server with a database `sb`; `None` (after a `*** SKIPPED ***` line
    /// naming `test`) when that cannot be done here.
    pub fn start(test: &str) -> Option<ScratchPg> {
        let skip = |why: String| {
            say(&format!("\n*** SKIPPED: {test}: {why} ***\n"));
            None
        };
        let Some(bin) = binaries() else {
            return skip(format!(
                "no PostgreSQL binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin or ${BIN_ENV}"
            ));
        };
        // SAFETY: geteuid has no preconditions and cannot fail.
        let root = unsafe { libc::geteuid() } == 0;
        let run_as = root.then(|| "postgres".to_string());
        static N: AtomicU32 = AtomicU32::new(0);
        let dir =
            std::env::temp_dir().join(format!("sb_pg_{}_{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the server's directory");
        if root {
            // PostgreSQL refuses to run as root: the directory goes to the postgres user.
            let owner = Command::new("chown").arg("postgres:").arg(&dir).output();
            if !owner.as_ref().is_ok_and(|o| o.status.success()) {
                let _ = std::fs::remove_dir_all(&dir);
                return skip("running as root and there is no `postgres` user to run PostgreSQL as".into());
            }
        }
        let port = free_port();
        let pg = ScratchPg { bin, dir, port, run_as };
        let data = pg.data();
        let init =
            pg.run("initdb", &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"]);
        assert!(init.status.success(), "initdb: {}", String::from_utf8_lossy(&init.stderr));
        pg.start_again();
        let mut admin = PgConnection::establish(&pg.url("postgres")).expect("connect to the scratch server");
        diesel::sql_query("CREATE DATABASE sb").execute(&mut admin).expect("create database sb");
        Some(pg)
    }

    /// A URL of database `db` on this server.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}?sslmode=disable", self.port)
    }

    /// Stops the server: `pg_ctl stop -m fast`, which ends every session at once (clients see
    /// "terminating connection due to administrator command") and waits until it is down.
    pub fn stop(&self) {
        let out = self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "-t", "60", "stop"]);
        assert!(out.status.success(), "pg_ctl stop: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Starts the (stopped) server again, on the same port, and waits until it accepts
    /// connections.
    pub fn start_again(&self) {
        let options = format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", self.port, self.dir.display());
        let log = self.dir.join("server.log").display().to_string();
        let out = self.run("pg_ctl", &["-D", &self.data(), "-o", &options, "-l", &log, "-w", "-t", "60", "start"]);
        assert!(
            out.status.success(),
            "pg_ctl start: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let program = self.bin.join(tool);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        command.args(args).env("LC_ALL", "C").output().unwrap_or_else(|e| panic!("run {}: {e}", program.display()))
    }
}

impl Drop for ScratchPg {
    fn drop(&mut self) {
        let _ = self.run("pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The directory with `initdb` and `pg_ctl`: `SUPPORTBILL_TEST_PG_BIN`, else the newest
/// `/usr/lib/postgresql/N/bin` (Debian, Ubuntu).
fn binaries() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(BIN_ENV) {
        return Some(PathBuf::from(dir)).filter(|d| has_tools(d));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse::<u32>().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| has_tools(bin))
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn has_tools(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("pg_ctl").is_file()
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}
