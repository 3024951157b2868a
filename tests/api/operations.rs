//! Operations: request ids (header, problem bodies), `/metrics`, and the connection pool giving
//! back only healthy connections.

use serde_json::json;

use crate::fixtures;
use crate::harness::{assert_problem, Backend, TestApp};

/// The value of the metric line that starts with `series` (name and labels), 0 if absent.
async fn metric(app: &TestApp, series: &str) -> f64 {
    let r = app.send("GET", "/metrics", None, None, None).await.expect(200);
    assert!(r.content_type.starts_with("text/plain"), "{}", r.content_type);
    r.text
        .lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map(|v| v.parse().expect("a number"))
        .unwrap_or(0.0)
}

both_backends!(a_sane_request_id_is_echoed_else_one_is_made, |app| {
    let r = app.get_with("/api/v1/customers", &[("X-Request-Id", "trace-42.a:b/c_d")]).await.expect(200);
    assert_eq!(r.header("x-request-id"), Some("trace-42.a:b/c_d"));
    for bad in ["has space", &"x".repeat(129), "quote\"d"] {
        let r = app.get_with("/api/v1/customers", &[("X-Request-Id", bad)]).await.expect(200);
        let id = r.header("x-request-id").expect("an id");
        assert_ne!(id, bad);
        assert_eq!(id.len(), 32, "a generated id: {id}");
    }
    let a = app.get("/healthz").await;
    let b = app.get("/healthz").await;
    assert_ne!(a.header("x-request-id"), b.header("x-request-id"), "a new id per request");
});

both_backends!(problems_carry_the_request_id, |app| {
    // From a handler, from authentication, and from the fallback route.
    let r = app.get_with("/api/v1/customers/999999", &[("X-Request-Id", "req-404")]).await;
    assert_problem(&r, 404, "not_found");
    assert_eq!(r.body["request_id"], "req-404");
    let r = app.send_headers("GET", "/api/v1/customers", None, None, None, &[("X-Request-Id", "req-401")], None).await;
    assert_problem(&r, 401, "unauthorized");
    assert_eq!(r.body["request_id"], "req-401");
    assert_eq!(r.header("x-request-id"), Some("req-401"));
    let r = app.get("/no/such/route").await;
    assert_problem(&r, 404, "not_found");
    assert_eq!(r.body["request_id"].as_str(), r.header("x-request-id"));
});

both_backends!(metrics_show_the_database_pool, |app| {
    // The test app's pool has 8 connections; this request holds none while /metrics renders.
    assert_eq!(metric(app, "supportbill_db_pool_max_connections").await, 8.0);
    let idle = metric(app, r#"supportbill_db_pool_connections{state="idle"}"#).await;
    assert!(idle >= 1.0, "r2d2 keeps idle connections open: {idle}");
    let held = app.conn();
    assert_eq!(
        metric(app, r#"supportbill_db_pool_connections{state="in_use"}"#).await,
        1.0,
        "the connection the test holds"
    );
    drop(held);
    assert_eq!(metric(app, r#"supportbill_db_pool_connections{state="in_use"}"#).await, 0.0);
});

both_backends!(metrics_count_requests_latency_and_documents, |app| {
    let series = r#"supportbill_http_requests_total{method="GET",route="/api/v1/customers",status="2xx"}"#;
    let before = metric(app, series).await;
    let latency_before = metric(app, "supportbill_http_request_duration_seconds_count").await;
    app.get("/api/v1/customers").await.expect(200);
    app.get("/api/v1/customers").await.expect(200);
    assert_eq!(metric(app, series).await, before + 2.0);
    assert!(metric(app, "supportbill_http_request_duration_seconds_count").await >= latency_before + 2.0);
    let not_found = r#"supportbill_http_requests_total{method="GET",route="/api/v1/customers/{id}",status="4xx"}"#;
    app.get("/api/v1/customers/999999").await;
    assert_eq!(metric(app, not_found).await, 1.0);

    let (customer, _, sub) = fixtures::billing_setup(app).await;
    app.post_json("/api/v1/time-entries", &fixtures::entry(sub, 60)).await.expect(201);
    let inv = app
        .post_json(
            "/api/v1/invoices",
            &json!({"customer_id": customer, "period_start": "2026-10-01", "period_end": "2026-11-01"}),
        )
        .await
        .expect(201)
        .id();
    assert_eq!(metric(app, "supportbill_invoices_issued_total").await, 0.0);
    app.post_json(&format!("/api/v1/invoices/{inv}/issue"), &json!({})).await.expect(200);
    assert_eq!(metric(app, "supportbill_invoices_issued_total").await, 1.0);
    app.post_json(&format!("/api/v1/invoices/{inv}/credit-notes"), &json!({"reason": "goodwill"})).await.expect(201);
    assert_eq!(metric(app, "supportbill_credit_notes_issued_total").await, 1.0);
    assert_eq!(metric(app, "supportbill_http_errors_total").await, 0.0);
    // SQLite's own memory, as a gauge (the SQLite test databases are open in this process;
    // on PostgreSQL the test process may still hold SQLite databases of other tests).
    let sqlite_bytes = metric(app, "supportbill_sqlite_memory_bytes").await;
    if matches!(app.backend, Backend::Sqlite) {
        assert!(sqlite_bytes > 0.0, "SQLite holds some memory while its database is open");
    }
});

/// Customers named `name`, counted on a connection of its own (outside the pool under test).
fn customers_named(database_url: &str, name: &str) -> i64 {
    use diesel::prelude::*;
    use supportbill::storage::schema::customers;
    let url = supportbill::storage::DatabaseUrl::parse(database_url).expect("url");
    let pool = supportbill::storage::connect(&url, 1).expect("a second pool");
    let mut conn = crate::harness::TestConn(pool.get().expect("connection"));
    customers::table.filter(customers::name.eq(name)).count().get_result(&mut *conn).expect("count")
}

// A handler that panics inside a transaction gives its connection back mid-transaction. The
// pool used to lend it again as it was, so the next request's writes went into a transaction
// nobody would commit: answered 201, then lost.
both_backends!(a_connection_given_back_inside_a_transaction_is_not_lent_again, |app| {
    use diesel::prelude::*;
    use supportbill::storage::{self, schema::customers, DatabaseUrl};
    let url = DatabaseUrl::parse(&app.database_url).expect("url");
    // One connection: whatever the pool lends next is that one or its replacement.
    let pool = storage::connect(&url, 1).expect("pool");
    let insert = |conn: &mut storage::DbConnection, name: &str| {
        diesel::insert_into(customers::table)
            .values((
                storage::models::NewCustomer {
                    name: name.to_string(),
                    billing_address: "Hauptstraße 1, 10115 Berlin".to_string(),
                    email: "billing@example.com".to_string(),
                    country: "DE".to_string(),
                    currency: supportbill::domain::money::Currency::from_code("EUR").unwrap(),
                    tax_rate_percent: storage::Dec(rust_decimal::Decimal::from(19)),
                    tax_id: String::new(),
                    external_id: None,
                    tax_treatment: supportbill::domain::vocab::TaxTreatment::Standard,
                    exemption_reason: String::new(),
                },
                customers::created_at.eq(chrono::Utc::now().naive_utc()),
            ))
            .execute(conn)
    };
    let panicked = std::thread::spawn({
        let pool = pool.clone();
        move || {
            let mut conn = pool.get().expect("connection");
            let _ = storage::write_tx(&mut conn, |conn| -> Result<(), diesel::result::Error> {
                insert(conn, "written by a handler that then panicked").expect("the insert before the panic");
                panic!("a bug in a handler, mid-transaction");
            });
        }
    })
    .join();
    let message = panicked.expect_err("the thread panicked");
    assert_eq!(
        message.downcast_ref::<&str>(),
        Some(&"a bug in a handler, mid-transaction"),
        "it panicked where meant to"
    );
    let mut conn = pool.get().expect("connection");
    storage::write_tx(&mut conn, |conn| insert(conn, "written after the panic")).expect("insert");
    drop(conn);
    assert_eq!(
        customers_named(&app.database_url, "written after the panic"),
        1,
        "the write after the panic was committed"
    );
    assert_eq!(
        customers_named(&app.database_url, "written by a handler that then panicked"),
        0,
        "the panicked write was rolled back"
    );
});

// PostgreSQL: a pooled connection whose server process went away (a restart, a failover, an
// administrator) fails the query that finds out, and is then dropped, not lent again. The pool
// checks a connection with a query only when it was idle for a second or more (one round trip
// fewer per request), so a connection used a moment ago relies on this.
#[actix_rt::test]
async fn a_connection_whose_server_went_away_is_replaced() {
    use diesel::prelude::*;
    use supportbill::storage::{self, DatabaseUrl};
    #[derive(QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    fn pid(conn: &mut storage::DbConnection) -> QueryResult<i32> {
        diesel::sql_query("SELECT pg_backend_pid() AS pid").get_result::<Pid>(conn).map(|p| p.pid)
    }
    crate::harness::run(Backend::Postgres, "a_connection_whose_server_went_away_is_replaced", |app| async move {
        let url = DatabaseUrl::parse(&app.database_url).expect("url");
        let pool = storage::connect(&url, 1).expect("pool");
        let mut conn = pool.get().expect("connection");
        let first = pid(&mut conn).expect("pid");
        let mut other = PgConnection::establish(&app.database_url).expect("a second connection");
        diesel::sql_query(format!("SELECT pg_terminate_backend({first})")).execute(&mut other).expect("terminate");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while pid(&mut conn).is_ok() {
            assert!(std::time::Instant::now() < deadline, "the terminated connection kept working");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        drop(conn);
        // Lent at once (well inside the idle window): a new connection, and it works.
        let mut conn = pool.get().expect("connection");
        let second = pid(&mut conn).expect("the connection lent next works");
        assert_ne!(second, first);
        app
    })
    .await;
}
