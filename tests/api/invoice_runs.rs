//! Invoice runs beside other writers: a run's second reader, waiting for a writer, and claims
//! freed while a run holds the customer.

use crate::fixtures::*;
use crate::harness::*;
use serde_json::json;
use supportbill::domain::pricing::LineKind;

use crate::invoices::*;

/// The bench generator's month (every billing model, tickets, after-hours work) at a small
/// size, imported through the CSV import, with one customer drafted ahead of the run so that
/// the run has claimed entries to skip.
fn generated_month(app: &TestApp, now: chrono::NaiveDateTime) -> supportbill::domain::pricing::Period {
    use chrono::NaiveDate;
    use supportbill::bench::generate::{catalog, Size};
    use supportbill::service::import::{parse_csv, SubscriptionBy};
    use supportbill::service::time_entries::Locator;
    use supportbill::service::{invoices, time_entries};
    let month = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
    let mut conn = app.conn();
    let generated = catalog(&mut conn, Size { customers: 40, entries: 3_000, seed: 7, month }).unwrap();
    let (drafts, lines) = parse_csv(&generated.csv, SubscriptionBy::Auto).unwrap();
    assert_eq!(time_entries::import(&mut conn, drafts, Locator::CsvLine(lines)).unwrap(), 3_000);
    let period =
        supportbill::domain::pricing::Period::new(month, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()).unwrap();
    let ahead = (1..=40).find_map(|customer| invoices::create_draft(&mut conn, customer, period, now).ok());
    assert!(ahead.is_some(), "some customer has something to bill");
    period
}

/// (entry, invoice) of every claim, in entry order.
fn entry_claims(app: &TestApp) -> Vec<(i64, i64)> {
    use diesel::prelude::*;
    use supportbill::storage::schema::time_entry_claims as c;
    c::table.order(c::time_entry_id).select((c::time_entry_id, c::invoice_id)).load(&mut *app.conn()).unwrap()
}

// With a second connection the run reads the period with both, in the run's snapshot, in
// windows of ids the two take in turn, and the second prices while the first writes
// (`service::period_read`, `invoices::draft_with_second`). Two databases with the same data:
// the run with one connection and the run with two draft the same invoices, line for line,
// and claim the same entries. (SQLite does not use the second connection: the same check
// holds there, as a check of the one-connection path.)
both_backends!(a_run_reading_with_a_second_connection_drafts_what_one_reader_drafts, |app| {
    use supportbill::service::invoices;
    use supportbill::storage::SecondReader;
    let twin = TestApp::spawn(app.backend).await.expect("a second database on the same backend");
    let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap().and_hms_opt(9, 0, 0).unwrap();
    let period = generated_month(app, now);
    assert_eq!(generated_month(&twin, now), period);

    let alone = invoices::run(&mut app.conn(), SecondReader::NONE, period, now).unwrap();
    let together = invoices::run(&mut twin.conn(), SecondReader::from(&twin.pool), period, now).unwrap();

    assert!(alone.len() >= 20, "{} drafts", alone.len());
    // Customer, total and line count first, for a failure one can read; then every field.
    let brief = |docs: &[supportbill::documents::model::InvoiceDocument]| {
        docs.iter().map(|d| (d.customer_id, d.total.clone(), d.lines.len())).collect::<Vec<_>>()
    };
    assert_eq!(brief(&together), brief(&alone));
    assert_eq!(serde_json::to_value(&together).unwrap(), serde_json::to_value(&alone).unwrap());
    let claims = entry_claims(app);
    assert!(claims.len() > 1_000, "{} entries claimed", claims.len());
    assert_eq!(entry_claims(&twin), claims);
    // Nothing is left to bill twice, whichever way the run reads.
    assert!(invoices::run(&mut twin.conn(), SecondReader::from(&twin.pool), period, now).unwrap().is_empty());
    // A month without entries: no window to read, and the retainers' fees are still billed.
    let november =
        supportbill::domain::pricing::Period::new(period.end(), chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
            .unwrap();
    let alone = invoices::run(&mut app.conn(), SecondReader::NONE, november, now).unwrap();
    let together = invoices::run(&mut twin.conn(), SecondReader::from(&twin.pool), november, now).unwrap();
    assert!(
        !alone.is_empty() && alone.iter().all(|d| d.lines.iter().all(|l| l.kind == LineKind::RetainerFee)),
        "{}",
        alone.len()
    );
    assert_eq!(serde_json::to_value(&together).unwrap(), serde_json::to_value(&alone).unwrap());
    twin.shutdown().await;
});

// A run queued behind another writer (another run, a draft) holds one pooled connection while
// it waits. On PostgreSQL it borrows its second connection only once it holds its customers'
// locks: two runs at once once took four of the server's connections, and the API's reads
// waited for the first run to end. (SQLite runs on one connection, and waits for its write
// lock with that one.)
both_backends!(a_run_waiting_for_another_writer_holds_one_connection, |app| {
    use diesel::RunQueryDsl;
    let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap().and_hms_opt(9, 0, 0).unwrap();
    let period = generated_month(app, now);
    let in_use = || {
        let state = app.pool.state();
        state.connections - state.idle_connections
    };
    // Another writer: it holds a customer's row (PostgreSQL) or the write lock (SQLite) until
    // told to let go.
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let pool = app.pool.clone();
    let postgres = app.backend == Backend::Postgres;
    let writer = std::thread::spawn(move || {
        let mut conn = pool.get().unwrap();
        supportbill::storage::write_tx(&mut conn, |conn| -> Result<(), diesel::result::Error> {
            if postgres {
                diesel::sql_query("SELECT id FROM customers WHERE id = 1 FOR UPDATE").execute(conn)?;
            }
            locked_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            Ok(())
        })
        .unwrap();
    });
    locked_rx.recv().unwrap();
    assert_eq!(in_use(), 1, "the other writer's connection");

    let body = json!({"period_start": period.start().to_string(), "period_end": period.end().to_string()});
    let waiting = async {
        // Until the run waits for the lock: PostgreSQL shows it; SQLite's busy wait does not.
        for _ in 0..200 {
            actix_rt::time::sleep(std::time::Duration::from_millis(25)).await;
            if !postgres {
                if in_use() == 2 {
                    break;
                }
                continue;
            }
            let waiters = diesel::sql_query("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")
                .get_result::<Count>(&mut *app.conn())
                .unwrap()
                .n;
            if waiters > 0 {
                break;
            }
        }
        // Give a second connection, were the run to take one before the locks, time to be taken.
        actix_rt::time::sleep(std::time::Duration::from_millis(100)).await;
        let held = in_use();
        release_tx.send(()).unwrap();
        held
    };
    let (run, held) = futures_util::future::join(app.post_json("/api/v1/invoices/run", &body), waiting).await;
    writer.join().unwrap();
    assert_eq!(held, 2, "the other writer's connection and the waiting run's one");
    assert!(run.expect(201).data().len() >= 20, "the run drafted once the other writer was done");
});

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

// Deleting a draft, voiding and crediting free an invoice's claims, so each waits while a run
// holds the invoice's customer (PostgreSQL: its row `FOR UPDATE`; SQLite: the write lock).
// Freed halfway through a PostgreSQL run, the run's two connections saw different claims:
// the entries free on one, their retainer month still taken on the other.
both_backends!(freeing_an_invoices_claims_waits_for_a_run_of_its_customer, |app| {
    let (customer, _plan, sub) = billing_setup(app).await;
    app.post_json("/api/v1/time-entries", &json!([entry_at(sub, "2026-10-05T08:00:00Z", 50, "technical")]))
        .await
        .expect(201);
    let draft = || async { app.post_json("/api/v1/invoices", &draft_body(customer)).await.expect(201).id() };
    let issued = || async {
        let id = draft().await;
        app.post_json(&format!("/api/v1/invoices/{id}/issue"), &json!({})).await.expect(200);
        id
    };

    let id = draft().await;
    let (r, waited) = while_a_run_holds(app, customer, app.delete(&format!("/api/v1/invoices/{id}"))).await;
    assert!(waited, "the draft's deletion waited for the run");
    r.expect(204);

    let id = issued().await;
    let (r, waited) =
        while_a_run_holds(app, customer, app.post_json(&format!("/api/v1/invoices/{id}/void"), &json!({}))).await;
    assert!(waited, "the void waited for the run");
    r.expect(200);

    let id = issued().await;
    let (r, waited) = while_a_run_holds(
        app,
        customer,
        app.post_json(&format!("/api/v1/invoices/{id}/credit-notes"), &json!({"reason": "x"})),
    )
    .await;
    assert!(waited, "the credit note waited for the run");
    r.expect(201);
    assert_eq!(app.get(&format!("/api/v1/invoices/{id}")).await.expect(200).body["status"], "credited");
});

/// Sends `request` while another transaction holds `customer` as a run does, and lets go after
/// a while; returns the answer and whether the request was still waiting when let go.
async fn while_a_run_holds(
    app: &TestApp,
    customer: i64,
    request: impl std::future::Future<Output = Resp>,
) -> (Resp, bool) {
    use diesel::RunQueryDsl;
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let pool = app.pool.clone();
    let postgres = app.backend == Backend::Postgres;
    let run = std::thread::spawn(move || {
        let mut conn = pool.get().unwrap();
        supportbill::storage::write_tx(&mut conn, |conn| -> Result<(), diesel::result::Error> {
            if postgres {
                diesel::sql_query(format!("SELECT id FROM customers WHERE id = {customer} FOR UPDATE"))
                    .execute(conn)?;
            }
            locked_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            Ok(())
        })
        .unwrap();
    });
    locked_rx.recv().unwrap();
    let done = std::cell::Cell::new(false);
    let request = async {
        let r = request.await;
        done.set(true);
        r
    };
    let watch = async {
        actix_rt::time::sleep(std::time::Duration::from_millis(400)).await;
        let waiting = !done.get();
        release_tx.send(()).unwrap();
        waiting
    };
    let (r, waited) = futures_util::future::join(request, watch).await;
    run.join().unwrap();
    (r, waited)
}
