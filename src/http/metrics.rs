//! `GET /metrics` in the Prometheus text format (docs/operations.md, "Metrics"), from plain atomics and one
//! small map: requests by method, route pattern and status class; a latency histogram; invoices
//! and credit notes issued; 5xx errors; database failures by kind; audit rows that could not be
//! written. Counted by this process since it started (each process of a deployment is its own
//! scrape target).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use actix_web::http::Method;
use actix_web::{web, HttpResponse};

use crate::http::AppState;
use crate::storage::FailureKind;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Default)]
pub struct Metrics {
    /// (method, route pattern, status class) -> count. Routes are patterns (`/api/v1/invoices/{id}`)
    /// or `unmatched`, so the map stays small.
    requests: Mutex<BTreeMap<(&'static str, String, &'static str), u64>>,
    buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
    errors: AtomicU64,
    invoices_issued: AtomicU64,
    credit_notes_issued: AtomicU64,
    audit_failures: AtomicU64,
    /// Database failures met by requests, by [`FailureKind`] (in the order of `FailureKind::ALL`).
    database_errors: [AtomicU64; FailureKind::ALL.len()],
}

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

impl Metrics {
    /// One finished request.
    pub fn observe(&self, method: &Method, route: Option<String>, status: u16, elapsed: Duration) {
        let key = (method_label(method), route.unwrap_or_else(|| "unmatched".into()), status_class(status));
        if let Ok(mut map) = self.requests.lock() {
            *map.entry(key).or_insert(0) += 1;
        }
        let secs = elapsed.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            if secs <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros.fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
        if status >= 500 {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn invoices_issued(&self, n: u64) {
        self.invoices_issued.fetch_add(n, Ordering::Relaxed);
    }

    pub fn credit_notes_issued(&self, n: u64) {
        self.credit_notes_issued.fetch_add(n, Ordering::Relaxed);
    }

    pub fn audit_failure(&self) {
        self.audit_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// One database failure met by a request.
    pub fn database_error(&self, kind: FailureKind) {
        if let Some(i) = FailureKind::ALL.iter().position(|k| *k == kind) {
            self.database_errors[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The Prometheus text exposition format, version 0.0.4.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP supportbill_http_requests_total HTTP requests by method, route pattern and status class.\n",
        );
        out.push_str("# TYPE supportbill_http_requests_total counter\n");
        if let Ok(map) = self.requests.lock() {
            for ((method, route, class), n) in map.iter() {
                let route = route.replace('\\', "\\\\").replace('"', "\\\"");
                let _ = writeln!(
                    out,
                    "supportbill_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{class}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP supportbill_http_request_duration_seconds Time from request to response head.\n");
        out.push_str("# TYPE supportbill_http_request_duration_seconds histogram\n");
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            let _ = writeln!(
                out,
                "supportbill_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(out, "supportbill_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "supportbill_http_request_duration_seconds_sum {sum}");
        let _ = writeln!(out, "supportbill_http_request_duration_seconds_count {count}");
        for (name, help, value) in [
            ("supportbill_http_errors_total", "Responses with a 5xx status.", &self.errors),
            ("supportbill_invoices_issued_total", "Invoices issued through the API.", &self.invoices_issued),
            (
                "supportbill_credit_notes_issued_total",
                "Credit notes issued through the API.",
                &self.credit_notes_issued,
            ),
            (
                "supportbill_audit_failures_total",
                "Successful writes whose audit rows could not be recorded.",
                &self.audit_failures,
            ),
        ] {
            let _ =
                writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", value.load(Ordering::Relaxed));
        }
        out.push_str(
            "# HELP supportbill_database_errors_total Database failures met by requests, by kind: \
             unavailable, read_only, full and busy are answered 503; query is answered 500.\n\
             # TYPE supportbill_database_errors_total counter\n",
        );
        for (kind, value) in FailureKind::ALL.iter().zip(&self.database_errors) {
            let _ = writeln!(
                out,
                "supportbill_database_errors_total{{kind=\"{}\"}} {}",
                kind.label(),
                value.load(Ordering::Relaxed)
            );
        }
        // What the embedded SQLite holds (mostly the pooled connections' page caches, at most
        // 16 MiB each): the share of the process's memory that grows with the database, not
        // with traffic. 0 on PostgreSQL.
        // SAFETY: sqlite3_memory_used takes no arguments and only reads SQLite's own counter.
        let sqlite_bytes = unsafe { libsqlite3_sys::sqlite3_memory_used() };
        let _ = writeln!(
            out,
            "# HELP supportbill_sqlite_memory_bytes Memory held by the embedded SQLite library (page caches of pooled connections).\n# TYPE supportbill_sqlite_memory_bytes gauge\nsupportbill_sqlite_memory_bytes {sqlite_bytes}"
        );
        out
    }
}

/// `GET /metrics`: no authentication (aggregate counts only; keep it off the public side of a
/// proxy).
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let mut body = state.metrics.render();
    render_pool(&mut body, state.pool.max_size(), state.pool.state());
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(body)
}

/// The database pool: its size (`--db-pool-size`) and its open connections by state. In-use
/// connections at the maximum for long mean requests wait for a connection.
fn render_pool(out: &mut String, max: u32, state: diesel::r2d2::State) {
    let _ = writeln!(
        out,
        "# HELP supportbill_db_pool_max_connections Database connections the pool may open (--db-pool-size).\n\
         # TYPE supportbill_db_pool_max_connections gauge\nsupportbill_db_pool_max_connections {max}"
    );
    let _ = writeln!(
        out,
        "# HELP supportbill_db_pool_connections Open database connections, idle or lent to a request.\n\
         # TYPE supportbill_db_pool_connections gauge\n\
         supportbill_db_pool_connections{{state=\"idle\"}} {}\nsupportbill_db_pool_connections{{state=\"in_use\"}} {}",
        state.idle_connections,
        state.connections - state.idle_connections
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_render_in_the_text_format() {
        let m = Metrics::default();
        m.observe(&Method::GET, Some("/api/v1/invoices/{id}".into()), 200, Duration::from_millis(3));
        m.observe(&Method::POST, None, 503, Duration::from_secs(20));
        m.invoices_issued(2);
        m.database_error(FailureKind::Unavailable);
        m.database_error(FailureKind::Unavailable);
        m.database_error(FailureKind::Full);
        let text = m.render();
        assert!(
            text.contains(
                "supportbill_http_requests_total{method=\"GET\",route=\"/api/v1/invoices/{id}\",status=\"2xx\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("supportbill_http_requests_total{method=\"POST\",route=\"unmatched\",status=\"5xx\"} 1"));
        assert!(text.contains("supportbill_http_request_duration_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("supportbill_http_request_duration_seconds_bucket{le=\"+Inf\"} 2"));
        assert!(text.contains("supportbill_http_errors_total 1"));
        assert!(text.contains("supportbill_invoices_issued_total 2"));
        assert!(text.contains("supportbill_database_errors_total{kind=\"unavailable\"} 2"), "{text}");
        assert!(text.contains("supportbill_database_errors_total{kind=\"full\"} 1"), "{text}");
        assert!(text.contains("supportbill_database_errors_total{kind=\"query\"} 0"), "{text}");
    }
}
