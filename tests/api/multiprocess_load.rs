//! Three `supportbill serve` processes on one PostgreSQL database under concurrent load for a
//! bounded time (issue 24, item 7): CSV imports, invoice runs, single and bulk issues, drafts
//! deleted and drafted again, credit notes, voids, and API keys revoked while every
//! process has them cached. Afterwards: invoice and credit-note numbers gapless across the
//! processes, nothing claimed by two live invoices (nor by a void or credited one), and every
//! revoked key refused by every process in the very next request.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use serde_json::{json, Value};

use supportbill::storage::{self, DatabaseUrl};

use crate::harness::PG_ENV;
use crate::remote::{migrate_and_key, say, PgDatabase, Remote, Reply};
use crate::server_process::serve;

/// How long the load runs: long enough for every kind of work to meet every other, short
/// enough for CI.
const LOAD: Duration = Duration::from_secs(30);
const CUSTOMERS: usize = 12;
const MONTHS: [&str; 4] = ["2026-01", "2026-02", "2026-03", "2026-04"];

/// What the workers share: the three processes, what has been set up, and the tally.
struct Load {
    servers: Vec<Remote>,
    subscriptions: Vec<i64>,
    stop: Cell<bool>,
    /// (operation, status) -> count.
    tally: RefCell<BTreeMap<(&'static str, u16), usize>>,
    /// Answers no operation may give.
    unexpected: RefCell<Vec<String>>,
    /// Invoices issued through each process.
    issued_by: RefCell<[usize; 3]>,
    revocations: Cell<usize>,
}

impl Load {
    /// Records an answer of `op` from process `p`; anything outside `allowed` (any 5xx among
    /// them: a deadlock would be a 503) is kept for the end.
    fn note(&self, op: &'static str, p: usize, reply: &Reply, allowed: &[u16]) {
        *self.tally.borrow_mut().entry((op, reply.status)).or_default() += 1;
        if !allowed.contains(&reply.status) {
            self.unexpected.borrow_mut().push(format!("{op} on process {p}: {} {}", reply.status, reply.text()));
        }
    }
}

/// A tiny deterministic generator (xorshift), one per worker.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn month_period(month: &str) -> Value {
    let (y, m) = month.split_once('-').expect("YYYY-MM");
    let (y, m): (i32, u32) = (y.parse().expect("year"), m.parse().expect("month"));
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    json!({"period_start": format!("{month}-01"), "period_end": format!("{ny:04}-{nm:02}-01")})
}

async fn importer(load: &Load, w: usize) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ w as u64);
    let mut n = 0;
    while !load.stop.get() {
        let p = rng.below(3);
        let month = MONTHS[rng.below(MONTHS.len())];
        let mut csv = String::from("subscription_id,started_at,minutes,agent,category,description\n");
        for row in 0..20 {
            let sub = load.subscriptions[rng.below(load.subscriptions.len())];
            let day = 1 + rng.below(28);
            csv.push_str(&format!(
                "{sub},{month}-{day:02}T10:00:00Z,{},a.nowak,technical,load {w}-{n}-{row}\n",
                15 + rng.below(60)
            ));
        }
        let reply = load.servers[p].post_csv("/api/v1/time-entries/import", csv).await;
        load.note("import", p, &reply, &[201]);
        n += 1;
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn runner(load: &Load, w: usize) {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ w as u64);
    while !load.stop.get() {
        let p = rng.below(3);
        let month = MONTHS[rng.below(MONTHS.len())];
        let reply = load.servers[p].post("/api/v1/invoices/run", &month_period(month)).await;
        load.note("run", p, &reply, &[201, 409, 422]);
        actix_rt::time::sleep(Duration::from_millis(150)).await;
    }
}

/// Issues drafts one by one, or a page of them at once, and deletes some (a later run drafts
/// their items again).
async fn issuer(load: &Load, w: usize) {
    let mut rng = Rng(0x1234_5678_9abc_def1 ^ w as u64);
    while !load.stop.get() {
        let p = rng.below(3);
        let server = &load.servers[p];
        let page = server.get("/api/v1/invoices?status=draft&limit=10").await;
        load.note("list drafts", p, &page, &[200]);
        let ids: Vec<i64> = page.json()["data"]
            .as_array()
            .map(|d| d.iter().filter_map(|i| i["id"].as_i64()).collect())
            .unwrap_or_default();
        if ids.len() > 1 && rng.below(3) == 0 {
            let reply = server.post("/api/v1/invoices/issue", &json!({"invoice_ids": ids})).await;
            load.note("bulk issue", p, &reply, &[200, 409, 422]);
            if reply.ok() {
                load.issued_by.borrow_mut()[p] += ids.len();
            }
        } else {
            for id in ids {
                let p = rng.below(3);
                // Now and then a draft is deleted instead: its items go back to the next run.
                if rng.below(8) == 0 {
                    let gone = load.servers[p].delete(&format!("/api/v1/invoices/{id}")).await;
                    load.note("delete draft", p, &gone, &[204, 404, 409]);
                    continue;
                }
                let reply = load.servers[p].post(&format!("/api/v1/invoices/{id}/issue"), &json!({})).await;
                load.note("issue", p, &reply, &[200, 404, 409]);
                if reply.ok() {
                    load.issued_by.borrow_mut()[p] += 1;
                }
            }
        }
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Credits issued invoices in full, and voids some.
async fn creditor(load: &Load, w: usize) {
    let mut rng = Rng(0x0bad_cafe_f00d_0001 ^ w as u64);
    while !load.stop.get() {
        let p = rng.below(3);
        let page = load.servers[p].get("/api/v1/invoices?status=issued&limit=20").await;
        load.note("list issued", p, &page, &[200]);
        let ids: Vec<i64> = page.json()["data"]
            .as_array()
            .map(|d| d.iter().filter_map(|i| i["id"].as_i64()).collect())
            .unwrap_or_default();
        if !ids.is_empty() {
            let id = ids[rng.below(ids.len())];
            let p = rng.below(3);
            if rng.below(4) == 0 {
                let reply = load.servers[p].post(&format!("/api/v1/invoices/{id}/void"), &json!({})).await;
                load.note("void", p, &reply, &[200, 409]);
            } else {
                let body = json!({"reason": "Goodwill"});
                let reply = load.servers[p].post(&format!("/api/v1/invoices/{id}/credit-notes"), &body).await;
                load.note("credit note", p, &reply, &[201, 409]);
            }
        }
        actix_rt::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A finance key used on every process (so each has it cached), revoked through one, and then
/// refused by all three in their very next request.
async fn revoker(load: &Load) {
    let mut rng = Rng(0x5eed_0000_0000_0007);
    while !load.stop.get() {
        let p = rng.below(3);
        let created =
            load.servers[p].post("/api/v1/api-keys", &json!({"name": "revoked soon", "role": "finance"})).await;
        load.note("create key", p, &created, &[201]);
        let (Some(id), Some(token)) =
            (created.json()["id"].as_i64(), created.json()["token"].as_str().map(str::to_string))
        else {
            continue;
        };
        for (p, server) in load.servers.iter().enumerate() {
            let reply = server.as_key(&token).get("/api/v1/invoices?limit=1").await;
            load.note("use key", p, &reply, &[200]);
        }
        let p = rng.below(3);
        let revoked = load.servers[p].delete(&format!("/api/v1/api-keys/{id}")).await;
        load.note("revoke key", p, &revoked, &[204]);
        for (p, server) in load.servers.iter().enumerate() {
            let reply = server.as_key(&token).get("/api/v1/invoices?limit=1").await;
            load.note("revoked key", p, &reply, &[401]);
        }
        load.revocations.set(load.revocations.get() + 1);
        actix_rt::time::sleep(Duration::from_millis(300)).await;
    }
}

#[actix_rt::test]
async fn three_processes_under_load_keep_numbers_gapless_claims_single_and_revocations_immediate() {
    let Some(base_url) = std::env::var(PG_ENV).ok().filter(|u| !u.trim().is_empty()) else {
        say(&format!("\n*** SKIPPED: three_processes_under_load...: {PG_ENV} not set ***\n"));
        return;
    };
    let database = PgDatabase::create(&base_url, &format!("sb_test_load_{}", std::process::id()));
    let token = migrate_and_key(&database.url, "admin");
    let processes = [serve(&database.url), serve(&database.url), serve(&database.url)];
    let servers: Vec<Remote> = processes.iter().map(|s| Remote::new(&s.base, &token)).collect();
    let plan = servers[0].create("/api/v1/plans", &crate::fixtures::standard_plan()).await;
    let mut subscriptions = Vec::new();
    for i in 0..CUSTOMERS {
        let server = &servers[i % 3];
        let c = server.create("/api/v1/customers", &crate::fixtures::customer_named(&format!("Load {i}"))).await;
        let body = json!({"customer_id": c["id"], "plan_id": plan["id"], "start_date": "2026-01-01", "product": "azure", "name": "Azure plan"});
        subscriptions.push(server.create("/api/v1/subscriptions", &body).await["id"].as_i64().expect("id"));
    }
    let load = Load {
        servers,
        subscriptions,
        stop: Cell::new(false),
        tally: RefCell::new(BTreeMap::new()),
        unexpected: RefCell::new(Vec::new()),
        issued_by: RefCell::new([0; 3]),
        revocations: Cell::new(0),
    };

    let started = Instant::now();
    let clock = async {
        actix_rt::time::sleep(LOAD).await;
        load.stop.set(true);
    };
    futures_util::future::join(
        clock,
        futures_util::future::join5(
            futures_util::future::join(importer(&load, 0), importer(&load, 1)),
            futures_util::future::join(runner(&load, 0), runner(&load, 1)),
            futures_util::future::join(issuer(&load, 0), issuer(&load, 1)),
            creditor(&load, 0),
            revoker(&load),
        ),
    )
    .await;
    let tally: Vec<String> = load.tally.borrow().iter().map(|((op, s), n)| format!("{op} {s}: {n}")).collect();
    say(&format!("three processes, {:?} of load: {}", started.elapsed(), tally.join(", ")));
    say(&format!(
        "issued through each process: {:?}; keys revoked: {}",
        load.issued_by.borrow(),
        load.revocations.get()
    ));
    let unexpected = load.unexpected.borrow();
    assert!(unexpected.is_empty(), "{} unexpected answers, the first: {:?}", unexpected.len(), unexpected.first());

    // The load did what it is for: every process issued, keys were revoked, notes were made.
    assert!(load.issued_by.borrow().iter().all(|n| *n > 0), "a process issued nothing: {:?}", load.issued_by.borrow());
    assert!(load.revocations.get() >= 3, "only {} keys revoked", load.revocations.get());
    let credited = load.tally.borrow().get(&("credit note", 201)).copied().unwrap_or(0);
    assert!(credited > 0, "no credit note was made");

    drop(processes);
    let pool = storage::connect(&DatabaseUrl::parse(&database.url).expect("url"), 1).expect("connect");
    let mut conn = pool.get().expect("connection");
    crate::invariants::check(&mut conn);
    #[derive(diesel::QueryableByName)]
    struct Number {
        #[diesel(sql_type = diesel::sql_types::Text)]
        number: String,
    }
    let mut numbers: Vec<String> = diesel::sql_query("SELECT number FROM credit_notes")
        .load::<Number>(&mut **conn)
        .expect("credit-note numbers")
        .into_iter()
        .map(|n| n.number)
        .collect();
    numbers.sort();
    let expected: Vec<String> = (1..=numbers.len()).map(|n| format!("CN-{n:06}")).collect();
    assert_eq!(numbers, expected, "credit-note numbers are not gapless");
    say(&format!("three processes: {} credit notes, numbers gapless; invariants hold", numbers.len()));
}
