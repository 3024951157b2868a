//! Slow request bodies (issue 24, item 5): a body that has not arrived within the configured
//! time (1 s here) is answered 408 and its connection closed, on every route that reads one.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::fixtures::*;
use crate::harness::*;

const LIMIT: Duration = Duration::from_secs(1);

/// What the server did with a request whose body stalled after `sent` bytes.
struct Stalled {
    status: u16,
    head: String,
    body: String,
    /// The server closed the connection after its answer (EOF, not our read timeout).
    closed: bool,
    elapsed: Duration,
}

/// Sends `head` and `partial` of a body on a fresh connection, then sends nothing more, and
/// reads until the server closes the connection or 10 s pass.
async fn stall(app: &TestApp, head: String, partial: &'static [u8]) -> Stalled {
    stall_at(&app.base_url, head, partial).await
}

async fn stall_at(base_url: &str, head: String, partial: &'static [u8]) -> Stalled {
    let addr = base_url.trim_start_matches("http://").to_string();
    actix_web::rt::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(&addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("read timeout");
        let started = Instant::now();
        stream.write_all(head.as_bytes()).expect("send the head");
        stream.write_all(partial).expect("send part of the body");
        let mut received = Vec::new();
        let mut buf = [0u8; 4096];
        let closed = loop {
            match stream.read(&mut buf) {
                Ok(0) => break true,
                Ok(n) => received.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
                Err(_) => break false,
            }
        };
        let text = String::from_utf8_lossy(&received).to_string();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        Stalled { status, head: head.to_string(), body: body.to_string(), closed, elapsed: started.elapsed() }
    })
    .await
    .expect("the stalling client ran")
}

fn request(method: &str, path: &str, headers: &[String], length: &str) -> String {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{length}\r\n");
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head
}

#[track_caller]
fn assert_timed_out(r: &Stalled, what: &str) {
    assert_eq!(r.status, 408, "{what}: {}\r\n\r\n{}", r.head, r.body);
    assert!(r.closed, "{what}: the connection was held open after the answer: {}", r.head);
    assert!(r.elapsed >= LIMIT - Duration::from_millis(100), "{what}: answered after {:?}", r.elapsed);
    assert!(r.elapsed < Duration::from_secs(8), "{what}: answered after {:?}", r.elapsed);
    assert!(r.head.to_ascii_lowercase().contains("content-type: application/problem+json"), "{what}: {}", r.head);
    let body: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_else(|_| panic!("{what}: {}", r.body));
    assert_eq!(body["status"], json!(408), "{what}: {}", r.body);
    assert_eq!(body["code"], json!("request_timeout"), "{what}: {}", r.body);
    assert!(body["request_id"].is_string(), "{what}: {}", r.body);
}

both_backends!(
    a_stalled_body_is_answered_408_and_its_connection_closed,
    state = |s| s.with_body_timeout(LIMIT),
    |app| {
        let (_, _, sub) = billing_setup(app).await;
        let auth = format!("Authorization: Bearer {}", app.admin_token);
        let json_type = "Content-Type: application/json".to_string();

        // A JSON body (JsonBody), a one-or-many body and a CSV import (RawBody), chunked too.
        let r = stall(
            app,
            request("POST", "/api/v1/customers", &[auth.clone(), json_type.clone()], "Content-Length: 300"),
            b"{\"name\": \"Slow",
        )
        .await;
        assert_timed_out(&r, "POST /customers");
        let r = stall(
            app,
            request("POST", "/api/v1/time-entries", &[auth.clone(), json_type.clone()], "Content-Length: 300"),
            b"[{\"subscription_id\": 1",
        )
        .await;
        assert_timed_out(&r, "POST /time-entries");
        let r = stall(
            app,
            request(
                "POST",
                "/api/v1/time-entries/import",
                &[auth.clone(), "Content-Type: text/csv".into()],
                "Transfer-Encoding: chunked",
            ),
            b"20\r\nsubscription_id,started_at,min",
        )
        .await;
        assert_timed_out(&r, "POST /time-entries/import (chunked)");
        // With an Idempotency-Key, whose middleware reads the body before the handler.
        let r = stall(
            app,
            request(
                "POST",
                "/api/v1/charges",
                &[auth.clone(), json_type.clone(), "Idempotency-Key: slow-1".into()],
                "Content-Length: 300",
            ),
            b"{\"subscription_id\"",
        )
        .await;
        assert_timed_out(&r, "POST /charges with Idempotency-Key");
        // The finance page's forms read their bodies too.
        let r = stall(
            app,
            request(
                "POST",
                "/login",
                &["Content-Type: application/x-www-form-urlencoded".into()],
                "Content-Length: 300",
            ),
            b"key=sb_",
        )
        .await;
        assert_timed_out(&r, "POST /login");

        // A request refused before its body is read is answered at once, and its connection is
        // not kept open past the body's deadline (under load the close can come at the deadline).
        let r = stall(
            app,
            request("POST", "/api/v1/customers", std::slice::from_ref(&json_type), "Content-Length: 300"),
            b"{",
        )
        .await;
        assert_eq!(r.status, 401, "{}", r.head);
        assert!(r.closed && r.elapsed < LIMIT * 3, "no key: closed {} after {:?}", r.closed, r.elapsed);
        let chunked = request("POST", "/api/v1/time-entries/import", &[], "Transfer-Encoding: chunked");
        let r = stall(app, chunked, b"20\r\nsubscription_id").await;
        assert_eq!(r.status, 401, "{}", r.head);
        assert!(r.closed && r.elapsed < LIMIT * 3, "no key, chunked: closed {} after {:?}", r.closed, r.elapsed);

        // Nothing was written; a body that arrives in time, even slowly, still works.
        assert_eq!(app.list_all("/api/v1/customers", 100).await.len(), 1);
        app.post_json("/api/v1/time-entries", &entry(sub, 10)).await.expect(201);
        let addr = app.base_url.trim_start_matches("http://").to_string();
        let body = customer_named("Slow but on time").to_string();
        let head = request("POST", "/api/v1/customers", &[auth, json_type], &format!("Content-Length: {}", body.len()));
        let answer = actix_web::rt::task::spawn_blocking(move || {
            let mut stream = TcpStream::connect(&addr).expect("connect");
            stream.set_read_timeout(Some(Duration::from_secs(10))).expect("read timeout");
            stream.write_all(head.as_bytes()).expect("head");
            let (first, rest) = body.as_bytes().split_at(10);
            stream.write_all(first).expect("first part");
            std::thread::sleep(LIMIT / 2);
            stream.write_all(rest).expect("the rest");
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).expect("answer");
            String::from_utf8_lossy(&buf[..n]).to_string()
        })
        .await
        .expect("the client ran");
        assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    }
);

both_backends!(serve_takes_the_body_timeout_from_its_setting, |app| {
    // The same limit through `serve`'s setting (SUPPORTBILL_BODY_TIMEOUT_SECONDS, or
    // --body-timeout-seconds), in a process of its own on this test's database.
    let server = crate::server_process::serve_with_env(&app.database_url, &[("SUPPORTBILL_BODY_TIMEOUT_SECONDS", "1")]);
    let auth = format!("Authorization: Bearer {}", app.admin_token);
    let head =
        request("POST", "/api/v1/customers", &[auth, "Content-Type: application/json".into()], "Content-Length: 300");
    let r = stall_at(&server.base, head, b"{\"name\": \"Slow").await;
    assert_timed_out(&r, "serve with SUPPORTBILL_BODY_TIMEOUT_SECONDS=1");
});
