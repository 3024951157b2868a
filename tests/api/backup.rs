//! `supportbill backup FILE` (issue 3): an online copy of a SQLite database taken while the
//! server writes, which opens as a complete database with the data in it; an existing FILE is
//! refused; on PostgreSQL the command prints the `pg_dump` to use and fails.

use std::cell::Cell;
use std::path::PathBuf;
use std::process::Command;
use std::rc::Rc;

use diesel::RunQueryDsl;

use supportbill::storage::{self, DatabaseUrl};

use crate::fixtures::*;
use crate::harness::*;

fn backup_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("sb_backup_{}_{name}_{}", std::process::id(), rand_suffix()))
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

/// Runs `supportbill --database-url URL backup FILE` on the blocking pool (the server and the
/// writer share this thread's runtime): `(success, stderr)`.
async fn run_backup(url: &str, file: &std::path::Path) -> (bool, String) {
    let (url, file) = (url.to_string(), file.to_path_buf());
    let out = actix_rt::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_supportbill"))
            .args(["--database-url", &url, "backup"])
            .arg(&file)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run supportbill backup")
    })
    .await
    .expect("the backup task");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).to_string())
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

both_backends!(backup_copies_a_live_sqlite_database, |app| {
    let file = backup_path("copy.db");
    if app.backend == Backend::Postgres {
        // Not for PostgreSQL: the command says what to do instead, and writes nothing.
        let (ok, stderr) = run_backup(&app.database_url, &file).await;
        assert!(!ok, "backup on PostgreSQL must fail; stderr: {stderr}");
        assert!(stderr.contains("pg_dump -Fc"), "{stderr}");
        assert!(stderr.contains("pg_restore"), "{stderr}");
        assert!(!file.exists(), "nothing is written for PostgreSQL");
        return;
    }

    // Enough data that the copy takes a moment: 20,000 entries through the CSV import.
    let (customer, _, sub) = billing_setup(app).await;
    let mut csv = String::from("subscription_id,started_at,minutes,agent,category,description\n");
    for i in 0..20_000 {
        csv.push_str(&format!(
            "{sub},2026-10-{:02}T{:02}:{:02}:00Z,{},agent{},technical,entry {i}\n",
            1 + i % 28,
            i % 24,
            i % 60,
            1 + i % 90,
            i % 7
        ));
    }
    app.post_csv("/api/v1/time-entries/import", &csv).await.expect(201);

    // A writer keeps adding entries over HTTP before, during and after the backup.
    let done = Rc::new(Cell::new(false));
    let written = Rc::new(Cell::new(0usize));
    let writer = {
        let (done, written) = (done.clone(), written.clone());
        async move {
            while !done.get() {
                app.post_json("/api/v1/time-entries", &entry(sub, 15)).await.expect(201);
                written.set(written.get() + 1);
            }
        }
    };
    let backup = {
        let (done, written, file) = (done.clone(), written.clone(), file.clone());
        let url = app.database_url.clone();
        async move {
            while written.get() < 5 {
                actix_rt::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            let before = written.get();
            let result = run_backup(&url, &file).await;
            // Let a few more writes land after the copy.
            let after = written.get();
            while written.get() < after + 5 {
                actix_rt::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            done.set(true);
            (result, before)
        }
    };
    let ((result, before), ()) = futures_util::future::join(backup, writer).await;
    let (ok, stderr) = result;
    assert!(ok, "backup failed: {stderr}");
    assert!(stderr.contains("integrity ok"), "{stderr}");
    let live_total = 20_000 + written.get() as i64;

    // The copy is a complete database: it opens (migrations: nothing to do), and holds the
    // customer and every entry that was committed before the snapshot, and none made up.
    let copy_url = DatabaseUrl::parse(file.to_str().unwrap()).unwrap();
    let pool = storage::connect(&copy_url, 1).expect("the copy opens");
    let mut conn = TestConn(pool.get().unwrap());
    let entries: Vec<Count> = diesel::sql_query("SELECT COUNT(*) AS n FROM time_entries").load(&mut *conn).unwrap();
    let n = entries[0].n;
    assert!(
        n >= 20_000 + before as i64 && n <= live_total,
        "copy has {n} entries; {before} writes before the backup, {live_total} in the end"
    );
    let names: Vec<Count> = diesel::sql_query(format!(
        "SELECT COUNT(*) AS n FROM customers WHERE id = {customer} AND name = 'Müller & Söhne GmbH'"
    ))
    .load(&mut *conn)
    .unwrap();
    assert_eq!(names[0].n, 1, "the customer is in the copy");
    drop(conn);
    drop(pool);
    // The live database went on: it has everything the writer wrote.
    assert_eq!(count_entries(app).await as i64, live_total);

    // A second backup to the same file is refused and leaves it alone.
    let size = std::fs::metadata(&file).unwrap().len();
    let (ok, stderr) = run_backup(&app.database_url, &file).await;
    assert!(!ok, "an existing file must be refused");
    assert!(stderr.contains("exists"), "{stderr}");
    assert_eq!(std::fs::metadata(&file).unwrap().len(), size);

    // A name with a quote is taken literally.
    let odd = backup_path("it's; DROP TABLE x.db");
    let (ok, stderr) = run_backup(&app.database_url, &odd).await;
    assert!(ok, "{stderr}");
    assert!(odd.is_file(), "{stderr}");

    for f in [file, odd] {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", f.display()));
        }
    }
});
