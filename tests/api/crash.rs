//! Crash safety (SPEC 3 "a crash at any point leaves no half-made ..." and SPEC 4 "all or
//! nothing" for imports): the real binary is killed with SIGKILL in the middle of a 200,000-row
//! CSV import (`POST /time-entries/import`), while its write transaction is open; after a
//! restart nothing of the import is there, the database is intact, and the same import then
//! succeeds in full. The same for an invoice run over 200,000 entries: killed while its drafts
//! are written, it leaves no invoice and no claim, and the repeated run bills everything once.
//! And SIGTERM (a graceful shutdown) during the import lets it finish and answer first.

use std::process::Command;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl};

use crate::fixtures::*;
use crate::harness::*;
use crate::server_process::serve;

const ROWS: usize = 200_000;

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Whether another connection holds a write transaction on the database right now: on SQLite
/// the write lock is taken (`BEGIN IMMEDIATE` is busy at once); on PostgreSQL a session is
/// inside a transaction that has written to `time_entries`.
fn import_in_progress(backend: Backend, url: &str) -> bool {
    write_in_progress(backend, url, "time_entries")
}

/// [`import_in_progress`] for any table: on PostgreSQL, a session inside a transaction that has
/// written to `table`.
fn write_in_progress(backend: Backend, url: &str, table: &str) -> bool {
    match backend {
        Backend::Sqlite => {
            // (As every SQLite opener in this process: `sqlite3_config` may not race an open.)
            supportbill::storage::sqlite_multithread();
            let mut conn = diesel::SqliteConnection::establish(url).expect("open the SQLite file");
            conn.batch_execute("PRAGMA busy_timeout = 0;").unwrap();
            match conn.batch_execute("BEGIN IMMEDIATE; ROLLBACK;") {
                Ok(()) => false,
                Err(e) => e.to_string().contains("locked") || e.to_string().contains("busy"),
            }
        }
        Backend::Postgres => {
            let mut conn = diesel::PgConnection::establish(url).expect("connect to PostgreSQL");
            let rows: Vec<Count> = diesel::sql_query(
                "SELECT COUNT(*) AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
                 WHERE c.relname = $1 AND l.mode = 'RowExclusiveLock' AND l.pid <> pg_backend_pid()",
            )
            .bind::<diesel::sql_types::Text, _>(table)
            .load(&mut conn)
            .unwrap();
            rows[0].n > 0
        }
    }
}

fn count_rows(app: &TestApp) -> i64 {
    let mut conn = app.conn();
    let rows: Vec<Count> = diesel::sql_query("SELECT COUNT(*) AS n FROM time_entries").load(&mut *conn).unwrap();
    rows[0].n
}

both_backends!(a_kill_during_a_large_import_leaves_nothing_and_the_import_can_be_repeated, |app| {
    let (_, _, sub) = billing_setup(app).await;
    let mut csv = String::with_capacity(ROWS * 48 + 64);
    csv.push_str("subscription_id,started_at,minutes,agent,category\n");
    for i in 0..ROWS {
        csv.push_str(&format!(
            "{sub},2026-10-{:02}T{:02}:{:02}:00Z,{},a{},technical\n",
            1 + i % 28,
            i % 24,
            i % 60,
            1 + i % 120,
            i % 50
        ));
    }
    let csv = csv.into_bytes();
    let client = awc::Client::builder().timeout(Duration::from_secs(600)).finish();
    let token = app.admin_token.clone();

    // The import, sent to a real server process, which is killed once its transaction is open.
    let server = serve(&app.database_url);
    let request = client
        .post(format!("{}/api/v1/time-entries/import", server.base))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Content-Type", "text/csv"))
        .send_body(csv.clone());
    let (backend, url) = (app.backend, app.database_url.clone());
    let watch = async move {
        let started = Instant::now();
        loop {
            let (b, u) = (backend, url.clone());
            if actix_rt::task::spawn_blocking(move || import_in_progress(b, &u)).await.unwrap() {
                return true;
            }
            if started.elapsed() > Duration::from_secs(120) {
                return false;
            }
            actix_rt::time::sleep(Duration::from_millis(2)).await;
        }
    };
    let mut server = server;
    let outcome = futures_util::future::select(Box::pin(request), Box::pin(watch)).await;
    match outcome {
        futures_util::future::Either::Right((true, _pending_request)) => {
            // SIGKILL: no shutdown, no rollback by the process itself.
            server.child.kill().expect("kill -9 the server");
            server.child.wait().expect("reap the server");
        }
        futures_util::future::Either::Right((false, _)) => panic!("the import's transaction was never seen open"),
        futures_util::future::Either::Left((response, _)) => {
            panic!("the import finished before it could be interrupted: {:?}", response.map(|r| r.status()))
        }
    }
    drop(server);
    assert_eq!(count_rows(app), 0, "a killed import left entries behind");

    // A new process starts on the same database (migrations, WAL recovery) and finds it intact.
    let server = serve(&app.database_url);
    if app.backend == Backend::Sqlite {
        supportbill::storage::sqlite_multithread();
        let mut conn = diesel::SqliteConnection::establish(&app.database_url).unwrap();
        #[derive(diesel::QueryableByName)]
        struct Check {
            #[diesel(sql_type = diesel::sql_types::Text)]
            integrity_check: String,
        }
        let checks: Vec<Check> = diesel::sql_query("PRAGMA integrity_check").load(&mut conn).unwrap();
        assert_eq!(checks.iter().map(|c| c.integrity_check.as_str()).collect::<Vec<_>>(), vec!["ok"]);
    }
    let mut listed = client
        .get(format!("{}/api/v1/time-entries?limit=5", server.base))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send()
        .await
        .expect("list after the restart");
    assert_eq!(listed.status().as_u16(), 200);
    let body: serde_json::Value = serde_json::from_slice(&listed.body().await.unwrap()).unwrap();
    assert_eq!(body["data"].as_array().map(Vec::len), Some(0), "{body}");

    // The same import, repeated, succeeds in full.
    let mut done = client
        .post(format!("{}/api/v1/time-entries/import", server.base))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Content-Type", "text/csv"))
        .send_body(csv)
        .await
        .expect("the repeated import");
    let text = done.body().limit(1 << 20).await.unwrap();
    assert_eq!(done.status().as_u16(), 201, "{}", String::from_utf8_lossy(&text));
    assert_eq!(count_rows(app), ROWS as i64);
    drop(server);
});

fn count_of(app: &TestApp, sql: &str) -> i64 {
    let mut conn = app.conn();
    let rows: Vec<Count> = diesel::sql_query(sql).load(&mut *conn).unwrap();
    rows[0].n
}

both_backends!(a_kill_during_a_large_invoice_run_leaves_no_invoice_and_the_run_can_be_repeated, |app| {
    let (_, _, sub) = billing_setup(app).await;
    let mut csv = String::with_capacity(ROWS * 48 + 64);
    csv.push_str("subscription_id,started_at,minutes,agent,category\n");
    for i in 0..ROWS {
        csv.push_str(&format!(
            "{sub},2026-10-{:02}T{:02}:{:02}:00Z,{},a{},technical\n",
            1 + i % 28,
            i % 24,
            i % 60,
            1 + i % 120,
            i % 50
        ));
    }
    app.post_csv("/api/v1/time-entries/import", &csv).await.expect(201);
    let client = awc::Client::builder().timeout(Duration::from_secs(600)).finish();
    let token = app.admin_token.clone();
    let run_body = serde_json::json!({"period_start": "2026-10-01", "period_end": "2026-11-01"});

    let mut server = serve(&app.database_url);
    let request = client
        .post(format!("{}/api/v1/invoices/run", server.base))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send_json(&run_body);
    let (backend, url) = (app.backend, app.database_url.clone());
    let watch = async move {
        let started = Instant::now();
        loop {
            let (b, u) = (backend, url.clone());
            // SQLite: the run's write lock; PostgreSQL: its uncommitted draft rows.
            if actix_rt::task::spawn_blocking(move || write_in_progress(b, &u, "invoices")).await.unwrap() {
                return true;
            }
            if started.elapsed() > Duration::from_secs(120) {
                return false;
            }
            actix_rt::time::sleep(Duration::from_millis(2)).await;
        }
    };
    match futures_util::future::select(Box::pin(request), Box::pin(watch)).await {
        futures_util::future::Either::Right((true, _pending)) => {
            server.child.kill().expect("kill -9 the server");
            server.child.wait().expect("reap the server");
        }
        futures_util::future::Either::Right((false, _)) => panic!("the run's transaction was never seen open"),
        futures_util::future::Either::Left((response, _)) => {
            panic!("the run finished before it could be interrupted: {:?}", response.map(|r| r.status()))
        }
    }
    drop(server);
    assert_eq!(count_of(app, "SELECT COUNT(*) AS n FROM invoices"), 0, "a killed run left an invoice");
    assert_eq!(count_of(app, "SELECT COUNT(*) AS n FROM invoice_lines"), 0, "a killed run left invoice lines");
    assert_eq!(count_of(app, "SELECT COUNT(*) AS n FROM time_entry_claims"), 0, "a killed run left claims");

    // Restarted, the same run bills every entry once.
    let server = serve(&app.database_url);
    let mut done = client
        .post(format!("{}/api/v1/invoices/run", server.base))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send_json(&run_body)
        .await
        .expect("the repeated run");
    let text = done.body().limit(1 << 24).await.unwrap();
    assert_eq!(done.status().as_u16(), 201, "{}", String::from_utf8_lossy(&text));
    assert_eq!(count_of(app, "SELECT COUNT(*) AS n FROM invoices"), 1);
    assert_eq!(
        count_of(
            app,
            "SELECT COUNT(*) AS n FROM time_entries WHERE id NOT IN (SELECT time_entry_id FROM time_entry_claims)"
        ),
        0,
        "entries left unbilled"
    );
    drop(server);
});

both_backends!(sigterm_lets_a_request_in_flight_finish, |app| {
    let (_, _, sub) = billing_setup(app).await;
    let mut csv = String::with_capacity(ROWS * 48 + 64);
    csv.push_str("subscription_id,started_at,minutes,agent,category\n");
    for i in 0..ROWS {
        csv.push_str(&format!(
            "{sub},2026-10-{:02}T{:02}:{:02}:00Z,{},a{},technical\n",
            1 + i % 28,
            i % 24,
            i % 60,
            1 + i % 120,
            i % 50
        ));
    }
    let client = awc::Client::builder().timeout(Duration::from_secs(600)).finish();
    let token = app.admin_token.clone();
    let mut server = serve(&app.database_url);
    let request = client
        .post(format!("{}/api/v1/time-entries/import", server.base))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Content-Type", "text/csv"))
        .send_body(csv.into_bytes());
    let (backend, url) = (app.backend, app.database_url.clone());
    let pid = server.child.id().to_string();
    let terminate = async move {
        let started = Instant::now();
        loop {
            let (b, u) = (backend, url.clone());
            if actix_rt::task::spawn_blocking(move || import_in_progress(b, &u)).await.unwrap() {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(120), "the import's transaction was never seen open");
            actix_rt::time::sleep(Duration::from_millis(2)).await;
        }
        // SIGTERM while the import is being written: a graceful shutdown.
        let status = Command::new("kill").args(["-TERM", &pid]).status().expect("kill -TERM");
        assert!(status.success());
    };
    let (response, ()) = futures_util::future::join(request, terminate).await;
    let mut response = response.expect("the request in flight gets its answer");
    let text = response.body().limit(1 << 20).await.unwrap();
    assert_eq!(response.status().as_u16(), 201, "{}", String::from_utf8_lossy(&text));
    let exit = server.child.wait().expect("the server exits after SIGTERM");
    assert!(exit.success(), "the server's exit after SIGTERM: {exit:?}");
    assert_eq!(count_rows(app), ROWS as i64, "the import finished in full");
});
