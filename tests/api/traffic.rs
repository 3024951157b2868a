//! Steady mixed traffic at a `serve` process, every answer recorded, and what must hold of it
//! when the database went away in the middle (issue 24, item 6): every answer is a success or a
//! 503 with `Retry-After` (never a 500, never a hang), and afterwards every write is whole or
//! absent. The mix: single time entries, CSV imports of a few rows, lists, `/healthz`, and
//! issuing the drafts of an October invoice run made beforehand.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use serde_json::json;

use supportbill::storage::{self, DatabaseUrl};

use crate::remote::{say, Remote, Reply};

/// Rows of each traffic import.
pub const IMPORT_ROWS: usize = 4;

/// At most one issue in this time (the rest of the issue turns list invoices instead).
const ISSUE_EVERY: Duration = Duration::from_millis(400);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    CreateEntry,
    Import,
    ListEntries,
    Health,
    Issue,
    ListInvoices,
}

const MIX: [Op; 5] = [Op::CreateEntry, Op::ListEntries, Op::Import, Op::Health, Op::Issue];

/// One request and its answer. `tag` names what a write wrote (its description).
#[derive(Debug)]
pub struct Record {
    pub op: Op,
    pub tag: String,
    pub reply: Reply,
    /// A retried issue, whose first attempt may have committed: 409 `invalid_status` is fine.
    pub retried: bool,
}

impl Record {
    /// A success, or a 409 `invalid_status` to an issue retried after a 503 (the first attempt
    /// had committed).
    pub fn succeeded(&self) -> bool {
        self.reply.ok()
            || (self.op == Op::Issue
                && self.retried
                && self.reply.status == 409
                && self.reply.json()["code"] == "invalid_status")
    }
}

/// What the traffic needs: the subscription its entries go to, and the drafts left to issue.
pub struct Plan {
    pub subscription: i64,
    drafts: RefCell<VecDeque<(i64, bool)>>,
    /// When the last issue was sent: issues are spaced out, so some fall into the fault.
    last_issue: Cell<Option<Instant>>,
    stop: Cell<bool>,
    records: RefCell<Vec<Record>>,
}

impl Plan {
    pub fn stop(&self) {
        self.stop.set(true);
    }

    /// The answers so far (borrowed: not across an await).
    pub fn records(&self) -> std::cell::Ref<'_, Vec<Record>> {
        self.records.borrow()
    }

    /// Every answer, once the traffic stopped.
    pub fn take_records(&self) -> Vec<Record> {
        std::mem::take(&mut *self.records.borrow_mut())
    }
}

/// Customers with an October entry each, drafted by one run (the drafts the traffic issues),
/// then a customer of the traffic's own (November entries, so no draft goes stale).
pub async fn prepare(remote: &Remote, customers: usize) -> Rc<Plan> {
    let plan = remote.create("/api/v1/plans", &crate::fixtures::standard_plan()).await["id"].clone();
    for i in 0..customers {
        let c = remote.create("/api/v1/customers", &crate::fixtures::customer_named(&format!("Drafted {i}"))).await;
        let s = remote
            .create(
                "/api/v1/subscriptions",
                &json!({"customer_id": c["id"], "plan_id": plan, "start_date": "2026-01-01", "product": "azure", "name": "Azure plan"}),
            )
            .await;
        remote
            .create("/api/v1/time-entries", &entry(s["id"].as_i64().unwrap_or_default(), "2026-10-06", "setup"))
            .await;
    }
    let run =
        remote.post("/api/v1/invoices/run", &json!({"period_start": "2026-10-01", "period_end": "2026-11-01"})).await;
    assert_eq!(run.status, 201, "{}", run.text());
    let drafts: Vec<i64> =
        run.json()["data"].as_array().map(|d| d.iter().filter_map(|i| i["id"].as_i64()).collect()).unwrap_or_default();
    let (_, _, subscription) = remote.billing_setup("Traffic GmbH").await;
    Rc::new(Plan {
        subscription,
        drafts: RefCell::new(drafts.into_iter().map(|id| (id, false)).collect()),
        last_issue: Cell::new(None),
        stop: Cell::new(false),
        records: RefCell::new(Vec::new()),
    })
}

fn entry(subscription: i64, day: &str, description: &str) -> serde_json::Value {
    json!({"subscription_id": subscription, "agent": "a.kowalski", "started_at": format!("{day}T09:00:00Z"),
           "minutes": 30, "category": "technical", "description": description})
}

/// `workers` clients sending the mix until [`Plan::stop`], each pausing `pause` between requests.
pub async fn run(remote: &Remote, plan: &Rc<Plan>, workers: usize, pause: Duration) {
    let each = (0..workers).map(|w| worker(remote.clone(), plan.clone(), w, pause));
    futures_util::future::join_all(each).await;
}

async fn worker(remote: Remote, plan: Rc<Plan>, w: usize, pause: Duration) {
    let mut n = 0;
    while !plan.stop.get() {
        let op = MIX[(n + w) % MIX.len()];
        let tag = format!("traffic {w}-{n}");
        let mut retried = false;
        let reply = match op {
            Op::CreateEntry => remote.post("/api/v1/time-entries", &entry(plan.subscription, "2026-11-05", &tag)).await,
            Op::Import => {
                let mut csv = String::from("subscription_id,started_at,minutes,agent,category,description\n");
                for row in 0..IMPORT_ROWS {
                    csv.push_str(&format!(
                        "{},2026-11-06T10:00:00Z,15,b.nowak,technical,{tag} row {row}\n",
                        plan.subscription
                    ));
                }
                remote.post_csv("/api/v1/time-entries/import", csv).await
            }
            Op::ListEntries => remote.get("/api/v1/time-entries?limit=20").await,
            Op::ListInvoices => remote.get("/api/v1/invoices?limit=5").await,
            Op::Health => remote.get("/healthz").await,
            Op::Issue => {
                let due = plan.last_issue.get().is_none_or(|t| t.elapsed() >= ISSUE_EVERY);
                let next = if due { plan.drafts.borrow_mut().pop_front() } else { None };
                let Some((id, again)) = next else {
                    let reply = remote.get("/api/v1/invoices?limit=5").await;
                    plan.records.borrow_mut().push(Record { op: Op::ListInvoices, tag, reply, retried });
                    n += 1;
                    actix_rt::time::sleep(pause).await;
                    continue;
                };
                plan.last_issue.set(Some(Instant::now()));
                retried = again;
                let reply = remote.post(&format!("/api/v1/invoices/{id}/issue"), &json!({})).await;
                if !(reply.ok() || again && reply.status == 409) {
                    // Not issued, or not known to be: issue it again later.
                    plan.drafts.borrow_mut().push_back((id, true));
                }
                reply
            }
        };
        plan.records.borrow_mut().push(Record { op, tag, reply, retried });
        n += 1;
        actix_rt::time::sleep(pause).await;
    }
}

/// Every answer is a success, or a database 503 (problem+json with `Retry-After`), or a 409 to a
/// retried issue; none took longer than `bound`. Prints the counts and the slowest answer.
pub fn check_answers(records: &[Record], bound: Duration, label: &str) {
    let mut by_status: HashMap<u16, usize> = HashMap::new();
    let mut slowest = Duration::ZERO;
    for r in records {
        *by_status.entry(r.reply.status).or_default() += 1;
        slowest = slowest.max(r.reply.elapsed);
        assert!(
            r.succeeded() || r.reply.is_database_503(),
            "{label}: {:?} {} answered {} ({:?}) {}",
            r.op,
            r.tag,
            r.reply.status,
            r.reply.failure,
            r.reply.text()
        );
        assert!(
            r.reply.elapsed <= bound,
            "{label}: {:?} {} took {:?}, longer than {bound:?}",
            r.op,
            r.tag,
            r.reply.elapsed
        );
    }
    let mut counts: Vec<_> = by_status.into_iter().collect();
    counts.sort();
    say(&format!("{label}: {} requests, by status {counts:?}, slowest {slowest:?}", records.len()));
}

/// The database after the traffic, read directly: every entry created with a 201 is there once,
/// every import is whole (all its rows) or absent, and whole when it was answered 201; an entry
/// answered 503 is there at most once (its commit may have happened before the connection
/// broke). And the billing invariants hold (gapless numbers, claims on live invoices).
pub fn check_writes(url: &str, records: &[Record], label: &str) {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        description: String,
    }
    let pool = storage::connect(&DatabaseUrl::parse(url).expect("url"), 1).expect("open the database");
    let mut conn = pool.get().expect("connection");
    let rows: Vec<Row> = diesel::sql_query("SELECT description FROM time_entries WHERE description LIKE 'traffic %'")
        .load(&mut **conn)
        .expect("read the traffic's entries");
    let mut found: HashMap<String, usize> = HashMap::new();
    for row in rows {
        let tag = row.description.split(" row ").next().unwrap_or_default().to_string();
        *found.entry(tag).or_default() += 1;
    }
    let (mut written, mut unknown) = (0, 0);
    for r in records.iter().filter(|r| matches!(r.op, Op::CreateEntry | Op::Import)) {
        let whole = if r.op == Op::Import { IMPORT_ROWS } else { 1 };
        let n = found.get(&r.tag).copied().unwrap_or(0);
        if r.reply.ok() {
            written += 1;
            assert_eq!(n, whole, "{label}: {:?} {} answered {} but {n} rows are stored", r.op, r.tag, r.reply.status);
        } else {
            unknown += usize::from(n > 0);
            assert!(n == 0 || n == whole, "{label}: {:?} {} is half there: {n} of {whole} rows", r.op, r.tag);
        }
    }
    crate::invariants::check(&mut conn);
    say(&format!("{label}: {written} writes answered 2xx all stored whole; {unknown} answered 503 had committed"));
}

/// The first success of `op` that started at or after `since`.
pub fn first_success_after(records: &[Record], since: Instant, op: Op) -> Option<Instant> {
    records
        .iter()
        .filter(|r| r.op == op && r.reply.started >= since && r.reply.ok())
        .map(|r| r.reply.started + r.reply.elapsed)
        .min()
}

/// Every request started at or after `since` succeeded.
pub fn all_succeed_after(records: &[Record], since: Instant, label: &str) {
    for r in records.iter().filter(|r| r.reply.started >= since) {
        assert!(
            r.succeeded(),
            "{label}: {:?} {} answered {} after the service should have recovered: {}",
            r.op,
            r.tag,
            r.reply.status,
            r.reply.text()
        );
    }
}

/// A counter from `/metrics` (0 when absent).
pub async fn metric(remote: &Remote, series: &str) -> f64 {
    let text = remote.get("/metrics").await.text();
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|rest| rest.trim().parse::<f64>().ok())).unwrap_or(0.0)
}
