//! The restore drill (issue 24, item 8), on each backend, as docs/operations.md ("Backups")
//! tells an operator to do it: a backup taken while a client keeps drafting and issuing
//! invoices (SQLite: `supportbill backup FILE`; PostgreSQL: `pg_dump -Fc`), restored into an
//! empty database (SQLite: the copy is the database; PostgreSQL: `pg_restore` into a new one),
//! and a `serve` on it renders every invoice and credit note issued by then (PDF, CSV, UBL XML)
//! byte for byte as the live service does.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;

use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::*;
use crate::remote::{say, PgDatabase, Remote};
use crate::server_process::serve;

fn scratch_file(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    std::env::temp_dir().join(format!("sb_restore_{}_{nanos}_{name}", std::process::id()))
}

/// The backup file (and a SQLite copy's `-wal` and `-shm`), removed when dropped, also when the
/// test fails.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

/// Runs a command on the blocking pool (the server and the writer share this thread): whether it
/// succeeded, and its stderr.
async fn run(mut command: Command) -> (bool, String) {
    let out = actix_rt::task::spawn_blocking(move || command.output()).await.expect("the command's task");
    match out {
        Ok(out) => (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned()),
        Err(e) => (false, e.to_string()),
    }
}

/// The backup: `supportbill backup FILE` on SQLite, `pg_dump -Fc` on PostgreSQL.
async fn back_up(app: &TestApp, file: &Path) -> (bool, String) {
    let mut command = match app.backend {
        Backend::Sqlite => {
            let mut c = Command::new(env!("CARGO_BIN_EXE_supportbill"));
            c.args(["--database-url", &app.database_url, "backup"]).arg(file).env("RUST_LOG", "warn");
            c
        }
        Backend::Postgres => {
            let mut c = Command::new("pg_dump");
            c.args(["-Fc", "--no-owner", "-f"]).arg(file).arg(&app.database_url);
            c
        }
    };
    command.stdin(std::process::Stdio::null());
    run(command).await
}

/// A customer whose invoices can go out as e-invoices (address and VAT id).
fn customer(i: usize) -> Value {
    json!({"name": format!("Restore Kunde {i} GmbH"), "currency": "EUR", "tax_rate_percent": "19", "country": "DE",
           "email": "ap@example.com", "billing_address": format!("Hauptstr. {i}, 10115 Berlin"),
           "tax_id": format!("DE1234567{i:02}")})
}

fn time_entry(subscription: i64, day: &str, minutes: i64) -> Value {
    json!({"subscription_id": subscription, "agent": "a.kowalski", "started_at": format!("{day}T10:00:00Z"),
           "minutes": minutes, "category": "technical", "description": "Restore drill"})
}

/// Every item of a paged list on `remote`.
async fn list_all(remote: &Remote, path: &str) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let (mut out, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let url = match &cursor {
            None => format!("{path}{sep}limit=100"),
            Some(c) => format!("{path}{sep}limit=100&cursor={c}"),
        };
        let page = remote.get(&url).await;
        assert_eq!(page.status, 200, "{url}: {}", page.text());
        let body = page.json();
        out.extend(body["data"].as_array().cloned().unwrap_or_default());
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

/// The invoices the restored service holds that were issued (a number: issued, credited or
/// void since).
async fn issued_invoices(restored: &Remote) -> Vec<Value> {
    list_all(restored, "/api/v1/invoices").await.into_iter().filter(|i| i["number"].is_string()).collect()
}

/// Every document of every issued invoice and credit note the restored service knows, compared
/// with the live service's bytes: how many documents.
async fn compare_documents(app: &TestApp, restored: &Remote) -> usize {
    let invoices = issued_invoices(restored).await;
    let notes = list_all(restored, "/api/v1/credit-notes").await;
    assert!(!invoices.is_empty() && !notes.is_empty(), "nothing issued came back");
    let paths = invoices
        .iter()
        .map(|i| format!("/api/v1/invoices/{}", i["id"]))
        .chain(notes.iter().map(|n| format!("/api/v1/credit-notes/{}", n["id"])));
    let mut compared = 0;
    for path in paths {
        for suffix in [".pdf", ".csv", ".xml"] {
            let live = app.get(&format!("{path}{suffix}")).await;
            let back = restored.get(&format!("{path}{suffix}")).await;
            assert_eq!(live.status, 200, "{path}{suffix} live: {}", live.text);
            assert_eq!(back.status, 200, "{path}{suffix} restored: {}", back.text());
            assert!(live.bytes == back.body, "{path}{suffix}: the restored service renders other bytes");
            compared += 1;
        }
    }
    say(&format!(
        "restore drill: {} issued invoices and {} credit notes, {compared} documents byte-identical",
        invoices.len(),
        notes.len()
    ));
    compared
}

both_backends!(a_backup_under_write_load_restores_and_renders_every_issued_document_byte_identical, |app| {
    if app.backend == Backend::Postgres && Command::new("pg_dump").arg("--version").output().is_err() {
        say("\n*** SKIPPED: restore drill on PostgreSQL: pg_dump and pg_restore are not installed ***\n");
        return;
    }
    app.put_json(
        "/api/v1/partner",
        &json!({"name": "Fabrikam Cloud Partner GmbH", "address": "Partnerweg 5, 80331 München", "country": "DE",
                "tax_id": "DE987654321", "invoice_prefix": "INV-", "payment_terms_days": 30}),
    )
    .await
    .expect(200);
    let plan = create(app, "/api/v1/plans", &standard_plan()).await["id"].clone();
    let mut subscriptions = Vec::new();
    for i in 0..6 {
        let c = create(app, "/api/v1/customers", &customer(i)).await;
        let s = json!({"customer_id": c["id"], "plan_id": plan, "start_date": "2026-01-01", "product": "azure", "name": "Azure plan"});
        let sub = create(app, "/api/v1/subscriptions", &s).await["id"].as_i64().expect("id");
        create(app, "/api/v1/time-entries", &time_entry(sub, "2026-10-06", 95)).await;
        create(app, "/api/v1/time-entries", &time_entry(sub, "2026-10-07", 40)).await;
        subscriptions.push((c["id"].as_i64().expect("id"), sub));
    }
    let october = json!({"period_start": "2026-10-01", "period_end": "2026-11-01"});
    let drafted = app.post_json("/api/v1/invoices/run", &october).await.expect(201);
    let ids: Vec<i64> = drafted.data().iter().filter_map(|d| d["id"].as_i64()).collect();
    app.post_json("/api/v1/invoices/issue", &json!({"invoice_ids": ids})).await.expect(200);
    for id in &ids[..2] {
        app.post_json(&format!("/api/v1/invoices/{id}/credit-notes"), &json!({"reason": "Goodwill"})).await.expect(201);
    }

    // A client drafts and issues an invoice after another (a new entry, a draft of it, its
    // issue), before, during and after the backup.
    let done = Rc::new(Cell::new(false));
    let issued = Rc::new(Cell::new(0usize));
    let writer = {
        let (done, issued, subscriptions) = (done.clone(), issued.clone(), subscriptions.clone());
        async move {
            let mut n = 0;
            while !done.get() {
                let (customer, sub) = subscriptions[n % subscriptions.len()];
                create(app, "/api/v1/time-entries", &time_entry(sub, "2026-11-03", 30 + n as i64)).await;
                let period = json!({"customer_id": customer, "period_start": "2026-11-01", "period_end": "2026-12-01"});
                let draft = create(app, "/api/v1/invoices", &period).await;
                app.post_json(&format!("/api/v1/invoices/{}/issue", draft["id"]), &json!({})).await.expect(200);
                issued.set(issued.get() + 1);
                n += 1;
            }
        }
    };
    let file = scratch_file(if app.backend == Backend::Sqlite { "copy.db" } else { "dump" });
    let _scratch = Scratch(file.clone());
    let backup = {
        let (done, issued, file) = (done.clone(), issued.clone(), file.clone());
        async move {
            while issued.get() < 3 {
                actix_rt::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            let before = issued.get();
            let result = back_up(app, &file).await;
            let after = issued.get();
            while issued.get() < after + 3 {
                actix_rt::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            done.set(true);
            (result, before, after)
        }
    };
    let (((ok, stderr), before, after), ()) = futures_util::future::join(backup, writer).await;
    assert!(ok, "the backup failed: {stderr}");
    say(&format!("restore drill: {before} invoices issued by the writer before the backup, {after} when it ended"));

    // Restore into an empty database and serve it.
    let restored_db = match app.backend {
        Backend::Sqlite => None,
        Backend::Postgres => {
            let base = std::env::var(PG_ENV).expect("PostgreSQL URL");
            let db = PgDatabase::create(&base, &format!("sb_test_restored_{}", std::process::id()));
            let mut command = Command::new("pg_restore");
            command.args(["--no-owner", "--exit-on-error", "-d", &db.url]).arg(&file);
            let (ok, stderr) = run(command).await;
            assert!(ok, "pg_restore failed: {stderr}");
            Some(db)
        }
    };
    let url = restored_db.as_ref().map(|db| db.url.clone()).unwrap_or_else(|| file.display().to_string());
    let server = serve(&url);
    let restored = Remote::new(&server.base, &app.admin_token);

    let compared = compare_documents(app, &restored).await;
    let issued_back = issued_invoices(&restored).await.len();
    assert!(
        issued_back >= ids.len() + before && issued_back <= ids.len() + issued.get(),
        "the restored database has {issued_back} issued invoices; {} were issued before the backup began, {} in the end",
        ids.len() + before,
        ids.len() + issued.get()
    );
    assert!(compared >= 3 * (ids.len() + before + 2));
    drop(server);
    drop(restored_db);
});
