//! The database goes away under a running `serve` on PostgreSQL (issue 24, item 6): the server
//! is restarted, or the service's connections are killed (`pg_terminate_backend`), while
//! steady mixed traffic runs ([`crate::traffic`]). Every answer meanwhile is a success or a 503
//! with `Retry-After`, none a 500 and none later than the pool's wait; `/healthz` answers 503
//! while the database is down; the service recovers by itself within 5 s of the database's
//! return; no write is half done; `/metrics` counts the failures.

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};

use supportbill::storage::POOL_WAIT;

use crate::harness::PG_ENV;
use crate::remote::{migrate_and_key, say, PgDatabase, Remote};
use crate::scratch_pg::ScratchPg;
use crate::server_process::serve;
use crate::traffic::{self, Op};

/// How soon after the database's return the service must work again (the bound).
const RECOVERY: Duration = Duration::from_secs(5);

/// The longest any answer may take: the pool's wait for a connection, plus room for a loaded
/// machine. The service itself bounds it by `POOL_WAIT`.
fn answer_bound() -> Duration {
    POOL_WAIT + Duration::from_secs(5)
}

async fn sleep(d: Duration) {
    actix_rt::time::sleep(d).await;
}

/// `f` on the blocking pool, so the traffic (on this thread) keeps running meanwhile.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    actix_rt::task::spawn_blocking(f).await.expect("blocking task")
}

#[actix_rt::test]
async fn a_postgres_restart_answers_503_and_the_service_recovers_by_itself() {
    let name = "a_postgres_restart_answers_503_and_the_service_recovers_by_itself";
    let Some(pg) = ScratchPg::start(name) else { return };
    let pg = Arc::new(pg);
    let url = pg.url("sb");
    let token = migrate_and_key(&url, "admin");
    let server = serve(&url);
    let remote = Remote::new(&server.base, &token);
    let plan = traffic::prepare(&remote, 12).await;

    let scenario = async {
        sleep(Duration::from_secs(2)).await;
        let server = pg.clone();
        blocking(move || server.stop()).await;
        let down = Instant::now();
        sleep(Duration::from_secs(2)).await;
        let health = remote.get("/healthz").await;
        sleep(Duration::from_secs(3)).await;
        let starting = Instant::now();
        let server = pg.clone();
        blocking(move || server.start_again()).await;
        let back = Instant::now();
        sleep(RECOVERY + Duration::from_secs(4)).await;
        plan.stop();
        (down, health, starting, back)
    };
    let ((down, health, starting, back), ()) =
        futures_util::future::join(scenario, traffic::run(&remote, &plan, 3, Duration::from_millis(20))).await;
    let records = plan.take_records();
    traffic::check_answers(&records, answer_bound(), "restart");

    // Down: `/healthz` says so, and nothing answered before the restart began succeeded.
    assert!(health.is_database_503(), "/healthz answered {} with the database down: {}", health.status, health.text());
    let outage: Vec<_> =
        records.iter().filter(|r| r.reply.started >= down && r.reply.started + r.reply.elapsed < starting).collect();
    for r in &outage {
        assert!(r.reply.is_database_503(), "{:?} answered {} while the database was down", r.op, r.reply.status);
    }
    // Back: a write succeeds within the bound, and everything after it.
    let recovered = traffic::first_success_after(&records, starting, Op::CreateEntry)
        .into_iter()
        .chain(traffic::first_success_after(&records, starting, Op::Import))
        .min()
        .expect("no write succeeded after the restart");
    let took = recovered.saturating_duration_since(back);
    say(&format!("restart: {} answers during the outage; a write succeeded {took:?} after the return", outage.len()));
    assert!(took <= RECOVERY, "the service took {took:?} to recover after the database's return");
    traffic::all_succeed_after(&records, back + RECOVERY, "restart");

    let refused = records.iter().filter(|r| r.reply.status == 503).count() as f64;
    let counted = traffic::metric(&remote, "supportbill_database_errors_total{kind=\"unavailable\"}").await;
    assert!(counted >= refused, "/metrics counts {counted} database failures for {refused} 503 answers");
    assert!(traffic::metric(&remote, "supportbill_http_errors_total").await >= refused);
    drop(server);
    traffic::check_writes(&url, &records, "restart");
}

#[actix_rt::test]
async fn killed_postgres_connections_answer_503_at_most_and_are_replaced() {
    let Some(base_url) = std::env::var(PG_ENV).ok().filter(|u| !u.trim().is_empty()) else {
        say(&format!(
            "\n*** SKIPPED: killed_postgres_connections_answer_503_at_most_and_are_replaced: {PG_ENV} not set ***\n"
        ));
        return;
    };
    let database = PgDatabase::create(&base_url, &format!("sb_test_kill_{}", std::process::id()));
    let token = migrate_and_key(&database.url, "admin");
    let server = serve(&database.url);
    let remote = Remote::new(&server.base, &token);
    let plan = traffic::prepare(&remote, 12).await;

    const ROUNDS: usize = 3;
    let scenario = async {
        let mut kills = Vec::new();
        sleep(Duration::from_secs(2)).await;
        for _ in 0..ROUNDS {
            let (admin, name) = (base_url.clone(), database.name.clone());
            let at = Instant::now();
            let killed = blocking(move || terminate_sessions(&admin, &name)).await;
            kills.push((at, killed));
            sleep(Duration::from_secs(5)).await;
        }
        plan.stop();
        kills
    };
    let (kills, ()) =
        futures_util::future::join(scenario, traffic::run(&remote, &plan, 3, Duration::from_millis(20))).await;
    let records = plan.take_records();
    traffic::check_answers(&records, answer_bound(), "pg_terminate_backend");
    for (i, (at, killed)) in kills.iter().enumerate() {
        assert!(*killed > 0, "round {i}: no session of the service to kill");
        let until = kills.get(i + 1).map(|k| k.0).unwrap_or_else(|| *at + Duration::from_secs(5));
        let round: Vec<_> = records.iter().filter(|r| r.reply.started >= *at && r.reply.started < until).collect();
        let refused = round.iter().filter(|r| r.reply.status == 503).count();
        let recovered = round.iter().filter(|r| r.reply.ok()).map(|r| r.reply.started + r.reply.elapsed).min();
        let took = recovered.map(|t| t.saturating_duration_since(*at));
        say(&format!(
            "pg_terminate_backend round {i}: {killed} sessions killed, {refused} answers 503, recovered after {took:?}"
        ));
        assert!(took.is_some_and(|t| t <= RECOVERY), "round {i}: not recovered within {RECOVERY:?}: {took:?}");
        // Each killed connection fails one request at most, the one that finds out; by then
        // every connection that idled through the kill is checked before it is lent.
        let settled: Vec<_> = round.iter().filter(|r| r.reply.started >= *at + Duration::from_secs(3)).collect();
        for r in settled {
            assert!(
                r.succeeded(),
                "round {i}: {:?} {} answered {} {:?} after the kill: {}",
                r.op,
                r.tag,
                r.reply.status,
                r.reply.started.duration_since(*at),
                r.reply.text()
            );
        }
    }
    let refused = records.iter().filter(|r| r.reply.status == 503).count() as f64;
    let counted = traffic::metric(&remote, "supportbill_database_errors_total{kind=\"unavailable\"}").await;
    assert!(counted >= refused, "/metrics counts {counted} database failures for {refused} 503 answers");
    drop(server);
    traffic::check_writes(&database.url, &records, "pg_terminate_backend");
}

/// Ends every session on database `name` but the caller's: how many.
fn terminate_sessions(admin_url: &str, name: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Killed {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut admin = PgConnection::establish(admin_url).expect("PostgreSQL reachable");
    let killed: Killed = diesel::sql_query(
        "SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind::<diesel::sql_types::Text, _>(name)
    .get_result(&mut admin)
    .expect("terminate the service's sessions");
    killed.n
}
