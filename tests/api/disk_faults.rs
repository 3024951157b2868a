//! SQLite's file turns read-only, or its disk fills up, under a running `serve` with steady mixed
//! traffic (issue 24, item 6): writes answer 503 with `Retry-After`, never 500; nothing is half
//! written; once the condition clears the service works again by itself within 5 s.
//!
//! As root (CI), file permissions do not stop writes, so "read-only" is `chattr +i` on the
//! database file and its write-ahead log, which on ext4 also fails writes through descriptors
//! already open (tmpfs and overlayfs do not: the test then skips, saying so). The full disk is a
//! small tmpfs mounted for the test and filled up; where mounting is not allowed (not root, no
//! CAP_SYS_ADMIN), that test skips, saying so.

use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use supportbill::storage::POOL_WAIT;

use crate::remote::{migrate_and_key, say, Remote};
use crate::server_process::serve;
use crate::traffic::{self, Op};

const RECOVERY: Duration = Duration::from_secs(5);

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sb_{name}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the test's directory");
    dir
}

fn chattr(flag: &str, files: &[PathBuf]) -> Result<(), String> {
    let out = Command::new("chattr").arg(flag).args(files).output().map_err(|e| format!("chattr: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Whether `chattr +i` in `dir` also stops writes through a descriptor opened before it, as
/// the database's are; else why not.
fn immutable_stops_open_files(dir: &Path) -> Result<(), String> {
    let probe = dir.join("probe");
    let file = std::fs::OpenOptions::new().create(true).truncate(true).read(true).write(true).open(&probe);
    let file = file.map_err(|e| e.to_string())?;
    chattr("+i", std::slice::from_ref(&probe))?;
    let written = file.write_at(b"x", 0);
    let _ = chattr("-i", std::slice::from_ref(&probe));
    let _ = std::fs::remove_file(&probe);
    match written {
        Err(_) => Ok(()),
        Ok(_) => Err("the file system lets open descriptors write to an immutable file".into()),
    }
}

/// The test's directory, removed when dropped (also when the test fails).
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Files made immutable, made writable again when dropped (also when the test fails).
struct Frozen(Vec<PathBuf>);

impl Drop for Frozen {
    fn drop(&mut self) {
        let _ = chattr("-i", &self.0);
    }
}

/// Polls (with the traffic running) until `done`, or `limit` passed.
async fn wait_for(limit: Duration, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() && start.elapsed() < limit {
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The part every SQLite fault test shares, after the fault cleared at `back`: the answers,
/// the recovery within 5 s, the metrics and the stored writes.
async fn check_fault(label: &str, remote: &Remote, plan: &traffic::Plan, url: &str, back: Instant) {
    let records = plan.take_records();
    traffic::check_answers(&records, POOL_WAIT + Duration::from_secs(5), label);
    let recovered = [Op::CreateEntry, Op::Import]
        .into_iter()
        .filter_map(|op| traffic::first_success_after(&records, back, op))
        .min()
        .expect("no write succeeded after the fault cleared");
    let took = recovered.saturating_duration_since(back);
    say(&format!("{label}: a write succeeded {took:?} after the fault cleared"));
    assert!(took <= RECOVERY, "{label}: the service took {took:?} to recover");
    traffic::all_succeed_after(&records, back + RECOVERY, label);
    let refused = records.iter().filter(|r| r.reply.status == 503).count() as f64;
    let mut counted = 0.0;
    for kind in ["unavailable", "read_only", "full", "busy"] {
        counted += traffic::metric(remote, &format!("supportbill_database_errors_total{{kind=\"{kind}\"}}")).await;
    }
    assert!(counted >= refused, "{label}: /metrics counts {counted} database failures for {refused} 503 answers");
    traffic::check_writes(url, &records, label);
}

#[actix_rt::test]
async fn a_sqlite_file_turned_read_only_answers_503_and_writes_resume_once_writable() {
    let name = "a_sqlite_file_turned_read_only_answers_503_and_writes_resume_once_writable";
    let dir = scratch_dir("read_only");
    let _scratch = Scratch(dir.clone());
    if let Err(why) = immutable_stops_open_files(&dir) {
        say(&format!("\n*** SKIPPED: {name}: cannot make a file read-only for a process that has it open here ({why}; needs root and ext4 or similar) ***\n"));
        return;
    }
    let url = dir.join("sb.db").display().to_string();
    let token = migrate_and_key(&url, "admin");
    let server = serve(&url);
    let remote = Remote::new(&server.base, &token);
    let plan = traffic::prepare(&remote, 6).await;
    let files = vec![dir.join("sb.db"), dir.join("sb.db-wal")];

    let scenario = async {
        actix_rt::time::sleep(Duration::from_millis(1500)).await;
        chattr("+i", &files).expect("chattr +i");
        let frozen = Frozen(files.clone());
        let since = Instant::now();
        actix_rt::time::sleep(Duration::from_secs(3)).await;
        let until = Instant::now();
        drop(frozen);
        let back = Instant::now();
        actix_rt::time::sleep(RECOVERY + Duration::from_secs(3)).await;
        plan.stop();
        (since, until, back)
    };
    let ((since, until, back), ()) =
        futures_util::future::join(scenario, traffic::run(&remote, &plan, 3, Duration::from_millis(20))).await;
    {
        let records = plan.records();
        let during: Vec<_> =
            records.iter().filter(|r| r.reply.started >= since && r.reply.started + r.reply.elapsed < until).collect();
        let writes: Vec<_> =
            during.iter().filter(|r| matches!(r.op, Op::CreateEntry | Op::Import | Op::Issue)).collect();
        assert!(!writes.is_empty(), "no write while the file was read-only");
        for r in &writes {
            assert!(r.reply.is_database_503(), "a write answered {} on a read-only file", r.reply.status);
        }
        let reads_ok = during.iter().filter(|r| matches!(r.op, Op::ListEntries | Op::Health) && r.reply.ok()).count();
        say(&format!("read-only: {} writes answered 503; {reads_ok} reads answered 200 meanwhile", writes.len()));
    }
    check_fault("read-only", &remote, &plan, &url, back).await;
    drop(server);
}

/// A tmpfs mounted for the test, unmounted (and its directory removed) when dropped.
struct Mounted(PathBuf);

impl Mounted {
    fn tmpfs(dir: &Path, size: &str) -> Result<Mounted, String> {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(Mounted(dir.to_path_buf()))
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let umount = Command::new("umount").arg(&self.0).output();
        if !umount.is_ok_and(|o| o.status.success()) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).output();
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Fills the file system of `path` up with the file `path`; true once a write found no space.
fn fill(path: &Path) -> bool {
    let Ok(mut file) = std::fs::File::create(path) else { return false };
    let chunk = vec![0u8; 256 * 1024];
    loop {
        // (A short write at the end is completed byte by byte until the last one fails.)
        if let Err(e) = file.write_all(&chunk) {
            return e.raw_os_error() == Some(libc::ENOSPC);
        }
    }
}

#[actix_rt::test]
async fn sqlite_on_a_full_disk_answers_503_and_writes_resume_once_there_is_room() {
    let name = "sqlite_on_a_full_disk_answers_503_and_writes_resume_once_there_is_room";
    let dir = scratch_dir("full_disk");
    let mounted = match Mounted::tmpfs(&dir, "32m") {
        Ok(m) => m,
        Err(why) => {
            say(&format!("\n*** SKIPPED: {name}: cannot mount a small tmpfs to fill up here ({why}; needs root or CAP_SYS_ADMIN) ***\n"));
            let _ = std::fs::remove_dir_all(&dir);
            return;
        }
    };
    let url = dir.join("sb.db").display().to_string();
    let token = migrate_and_key(&url, "admin");
    let server = serve(&url);
    let remote = Remote::new(&server.base, &token);
    let plan = traffic::prepare(&remote, 6).await;
    let filler = dir.join("filler");

    let scenario = async {
        actix_rt::time::sleep(Duration::from_millis(1500)).await;
        let path = filler.clone();
        assert!(actix_rt::task::spawn_blocking(move || fill(&path)).await.unwrap(), "the disk did not fill up");
        let full = Instant::now();
        // SQLite reuses its write-ahead log's space after a checkpoint, so the first writes on
        // a full disk may still fit: wait for the first one that did not.
        let saw_full =
            || plan.records().iter().any(|r| r.reply.started >= full && r.reply.json()["code"] == "database_full");
        wait_for(Duration::from_secs(60), saw_full).await;
        let refused = saw_full();
        actix_rt::time::sleep(Duration::from_secs(2)).await;
        std::fs::remove_file(&filler).expect("remove the filler");
        let back = Instant::now();
        actix_rt::time::sleep(RECOVERY + Duration::from_secs(3)).await;
        plan.stop();
        (refused, back)
    };
    let ((refused, back), ()) =
        futures_util::future::join(scenario, traffic::run(&remote, &plan, 3, Duration::from_millis(20))).await;
    assert!(refused, "no write was answered 503 database_full on the full disk");
    check_fault("full disk", &remote, &plan, &url, back).await;
    drop(server);
    drop(mounted);
}
