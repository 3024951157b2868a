//! Fuzzing with proptest (issue 3): random and hostile input at every parser a caller reaches.
//!
//! - `service::import::parse_csv` on arbitrary bytes and on structured-random CSV: it never
//!   panics, and every error names a row of the file.
//! - The JSON bodies of the main POST (and PUT) routes over HTTP: arbitrary bytes, deep nesting,
//!   huge numbers, and valid bodies with one value replaced by a random one or removed: never a
//!   5xx, never a dropped connection (a panic), and every refusal is a 4xx problem+json.
//! - Invalid UTF-8, oversized bodies, time zones and currencies that do not exist: a clear 4xx
//!   naming the field.
//!
//! Case counts are bounded so CI stays fast: 256 per property, or `PROPTEST_CASES`. The HTTP
//! properties generate without shrinking (they run inside the async test); a failure prints the
//! input that caused it.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

use supportbill::service::import::{parse_csv, SubscriptionBy};

use crate::fixtures::*;
use crate::harness::*;

/// Cases per property: `PROPTEST_CASES`, else 256.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
}

fn config() -> Config {
    Config { cases: cases(), failure_persistence: None, ..Config::default() }
}

// ---------------------------------------------------------------------------------------------
// parse_csv

/// Values a CSV cell may hold: valid ones, near misses and junk.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("1".to_string()),
        Just("30".to_string()),
        Just("-5".to_string()),
        Just("1441".to_string()),
        Just("99999999999999999999999".to_string()),
        Just("2026-10-05T08:00:00Z".to_string()),
        Just("2026-10-05T08:00:00".to_string()),
        Just("2026-02-30T08:00:00+01:00".to_string()),
        Just("technical".to_string()),
        Just("TECHNICAL".to_string()),
        Just("true".to_string()),
        Just("maybe".to_string()),
        Just("\"quoted, with comma\"".to_string()),
        Just("\u{feff}".to_string()),
        "[a-z0-9 ._-]{0,12}",
        "\\PC{0,20}".prop_map(|s| s.replace(['\n', '\r', '"', ','], " ")),
    ]
}

const COLUMNS: &[&str] = &[
    "subscription_id",
    "subscription_external_id",
    "started_at",
    "minutes",
    "category",
    "billable",
    "agent",
    "ticket_id",
    "description",
];

/// A header of known (and sometimes unknown or repeated) columns, and rows of random cells,
/// sometimes ragged.
fn structured_csv() -> impl Strategy<Value = (String, usize)> {
    let column =
        prop_oneof![9 => proptest::sample::select(COLUMNS.to_vec()).prop_map(str::to_string), 1 => "[a-z]{1,8}"];
    (proptest::collection::vec(column, 1..=9), 0usize..=20, any::<bool>(), any::<bool>())
        .prop_flat_map(|(header, rows, ragged, crlf)| {
            let width = header.len();
            let row = proptest::collection::vec(cell(), if ragged { 1..=width + 1 } else { width..=width });
            (Just(header), proptest::collection::vec(row, rows..=rows), Just(crlf))
        })
        .prop_map(|(header, rows, crlf)| {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut text = header.join(",") + eol;
            for row in &rows {
                text.push_str(&row.join(","));
                text.push_str(eol);
            }
            (text, rows.len())
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parse_csv_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        for by in [SubscriptionBy::Auto, SubscriptionBy::ExternalId] {
            if let Err(e) = parse_csv(&bytes, by) {
                prop_assert!(!e.0.is_empty(), "an error without errors");
                for err in &e.0 {
                    prop_assert!(err.row.is_some_and(|r| r >= 1), "error without a row: {err:?}");
                    prop_assert!(!err.field.is_empty() && !err.message.is_empty(), "{err:?}");
                }
            }
        }
    }

    #[test]
    fn parse_csv_names_the_row_of_every_error((text, rows) in structured_csv()) {
        match parse_csv(text.as_bytes(), SubscriptionBy::Auto) {
            Ok((drafts, lines)) => {
                // Every row made an entry, on its own line, in order.
                prop_assert_eq!(drafts.len(), rows);
                prop_assert_eq!(lines, (2..rows + 2).collect::<Vec<_>>());
            }
            Err(e) => {
                prop_assert!(!e.0.is_empty());
                for err in &e.0 {
                    // Line 1 is the header; rows are lines 2..=rows+1 (an empty file is row 2).
                    let row = err.row.unwrap_or(0);
                    prop_assert!((1..=rows.max(1) + 1).contains(&row), "row {row} of {rows}: {err:?}\n{text}");
                }
            }
        }
    }
}

/// Found by `parse_csv_never_panics_on_arbitrary_bytes`: a header cell without a name was
/// reported on the field "" (an error that names nothing).
#[test]
fn a_header_column_without_a_name_is_named_as_the_header() {
    let e = parse_csv(b",\0", SubscriptionBy::Auto).unwrap_err();
    assert_eq!(e.0[0].field, "header", "{:?}", e.0);
    assert_eq!(e.0[0].row, Some(1));
    assert!(e.0[0].message.contains("column 1 has no name"), "{:?}", e.0);
}

// ---------------------------------------------------------------------------------------------
// JSON over HTTP

/// A JSON leaf as literal text: numbers beyond any integer or decimal, odd strings, dates, time
/// zones and currencies that do not exist.
fn leaf() -> impl Strategy<Value = Value> {
    let literal = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        Just("false".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| format!("{f:e}")),
        Just("1e400".to_string()),
        Just("-1e-400".to_string()),
        Just("-0".to_string()),
        (1usize..400).prop_map(|n| "9".repeat(n)),
        (1usize..60).prop_map(|n| format!("0.{}1", "0".repeat(n))),
    ];
    let text = prop_oneof![
        Just(String::new()),
        Just("Mars/Olympus_Mons".to_string()),
        Just("XXX".to_string()),
        Just("EURO".to_string()),
        Just("2026-02-30".to_string()),
        Just("2026-10-05T08:00:00".to_string()),
        Just("25:61".to_string()),
        Just("\u{0}\u{7}\u{202e}".to_string()),
        "\\PC{0,40}",
        (1usize..20_000).prop_map(|n| "x".repeat(n)),
    ];
    prop_oneof![
        literal.prop_map(|l| serde_json::from_str::<Value>(&l).expect("a JSON literal")),
        text.prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,10}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every path (object keys and array indexes) in `v`, the root excluded.
fn paths(v: &Value, prefix: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                prefix.push(PathStep::Key(k.clone()));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                prefix.push(PathStep::Index(i));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum PathStep {
    Key(String),
    Index(usize),
}

/// `body` with the value at `path` replaced by `new` (or removed when `new` is None).
fn mutate(mut body: Value, path: &[PathStep], new: Option<Value>) -> Value {
    let (last, parents) = path.split_last().expect("a non-empty path");
    let mut node = &mut body;
    for step in parents {
        node = match step {
            PathStep::Key(k) => &mut node[k.as_str()],
            PathStep::Index(i) => &mut node[*i],
        };
    }
    match (last, new, node) {
        (PathStep::Key(k), Some(v), Value::Object(m)) => {
            m.insert(k.clone(), v);
        }
        (PathStep::Key(k), None, Value::Object(m)) => {
            m.remove(k);
        }
        (PathStep::Index(i), Some(v), Value::Array(a)) => a[*i] = v,
        (PathStep::Index(i), None, Value::Array(a)) => {
            a.remove(*i);
        }
        _ => {}
    }
    body
}

/// What the server may answer to any input: success, or a 4xx problem+json. Never a 5xx; a
/// panic would have dropped the connection and failed the request in the harness.
#[track_caller]
fn assert_sane(what: &str, input: &[u8], r: &Resp) {
    let shown = String::from_utf8_lossy(&input[..input.len().min(600)]).to_string();
    assert!(r.status < 500, "{what}: {} for input {shown:?}: {}", r.status, r.text);
    if r.status >= 400 {
        assert!(
            r.content_type.starts_with("application/problem+json"),
            "{what}: {} is not a problem: {}",
            r.content_type,
            r.text
        );
        assert_eq!(r.body["status"].as_u64(), Some(r.status as u64), "{what}: {}", r.text);
        assert!(r.body["code"].as_str().is_some_and(|c| !c.is_empty()), "{what}: no code: {}", r.text);
        if r.status == 422 && r.body["code"] == "invalid_input" {
            assert!(!r.error_fields().is_empty(), "{what}: invalid input that names no field: {}", r.text);
        }
    }
}

/// Draws one value from `strategy` (no shrinking).
fn draw<S: Strategy>(runner: &mut TestRunner, strategy: &S) -> S::Value {
    strategy.new_tree(runner).expect("a value").current()
}

/// The main write routes and a valid body for each.
async fn routes(app: &TestApp) -> Vec<(&'static str, String, Value)> {
    let (customer, plan, sub) = billing_setup(app).await;
    let entry_id = create(app, "/api/v1/time-entries", &entry(sub, 30)).await["id"].as_i64().unwrap();
    let issued = create(
        app,
        "/api/v1/invoices",
        &json!({"customer_id": customer, "period_start": "2026-10-01", "period_end": "2026-11-01"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    app.post_json(&format!("/api/v1/invoices/{issued}/issue"), &json!({})).await.expect(200);
    let partner = app.get("/api/v1/partner").await.expect(200).body;
    vec![
        ("POST", "/api/v1/customers".into(), customer_named("Fuzz GmbH")),
        ("PUT", format!("/api/v1/customers/{customer}"), mueller()),
        ("POST", "/api/v1/plans".into(), standard_plan()),
        ("PUT", format!("/api/v1/plans/{plan}"), standard_plan()),
        (
            "POST",
            "/api/v1/subscriptions".into(),
            json!({"customer_id": customer, "plan_id": plan, "start_date": "2026-01-01", "product": "azure", "name": "Fuzz"}),
        ),
        ("PATCH", format!("/api/v1/subscriptions/{sub}"), json!({"status": "suspended", "name": "Fuzz 2"})),
        (
            "POST",
            "/api/v1/tickets".into(),
            json!({"subscription_id": sub, "title": "t", "category": "technical", "severity": "low",
            "opened_at": "2026-10-05T07:00:00Z", "escalation": {"channel": "premier", "case_id": "123", "escalated_at": "2026-10-05T09:00:00Z"}}),
        ),
        ("POST", "/api/v1/time-entries".into(), entry(sub, 30)),
        ("POST", "/api/v1/time-entries".into(), json!([entry(sub, 30), entry(sub, 45)])),
        ("PATCH", format!("/api/v1/time-entries/{entry_id}"), entry(sub, 40)),
        (
            "POST",
            "/api/v1/charges".into(),
            json!({"subscription_id": sub, "date": "2026-12-10", "description": "fee", "amount": "-10.50"}),
        ),
        (
            "POST",
            "/api/v1/invoices".into(),
            json!({"customer_id": customer, "period_start": "2026-12-01", "period_end": "2027-01-01"}),
        ),
        ("POST", "/api/v1/invoices/run".into(), json!({"period_start": "2026-12-01", "period_end": "2027-01-01"})),
        ("POST", "/api/v1/invoices/issue".into(), json!({"invoice_ids": [issued]})),
        (
            "POST",
            format!("/api/v1/invoices/{issued}/credit-notes"),
            json!({"reason": "r", "lines": [{"line": 1, "amount": "0.01"}]}),
        ),
        ("POST", "/api/v1/api-keys".into(), json!({"name": "k", "role": "client", "customer_id": customer})),
        ("PUT", "/api/v1/partner".into(), partner),
    ]
}

both_backends!(random_json_bodies_get_a_4xx_problem_never_a_5xx, |app| {
    let routes = routes(app).await;
    let mut runner = TestRunner::new(config());
    let mutation = (any::<proptest::sample::Index>(), proptest::option::weighted(0.85, json_value()));
    for case in 0..cases() {
        let (method, path, valid) = &routes[case as usize % routes.len()];
        let mut candidates = Vec::new();
        paths(valid, &mut Vec::new(), &mut candidates);
        let (at, new) = draw(&mut runner, &mutation);
        let body = mutate(valid.clone(), &candidates[at.index(candidates.len())], new);
        let bytes = body.to_string().into_bytes();
        let r = app.send(method, path, Some(&app.admin_token), Some("application/json"), Some(bytes.clone())).await;
        assert_sane(&format!("{method} {path}"), &bytes, &r);
    }
});

both_backends!(arbitrary_bytes_and_whole_random_documents_get_a_4xx, |app| {
    let routes = routes(app).await;
    let mut runner = TestRunner::new(config());
    let bytes = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        // Deep nesting, closed or not.
        (1usize..20_000, any::<bool>(), any::<bool>()).prop_map(|(depth, object, closed)| {
            let (open, close) = if object { ("{\"a\":", "}") } else { ("[", "]") };
            let mut s = open.repeat(depth) + "1";
            if closed {
                s += &close.repeat(depth);
            }
            s.into_bytes()
        }),
    ];
    for case in 0..cases() {
        let (method, path, _) = &routes[case as usize % routes.len()];
        let input = draw(&mut runner, &bytes);
        let r = app.send(method, path, Some(&app.admin_token), Some("application/json"), Some(input.clone())).await;
        assert_sane(&format!("{method} {path}"), &input, &r);
        // A body that is not a JSON document at all is never accepted.
        if serde_json::from_slice::<Value>(&input).is_err() {
            assert!((400..500).contains(&r.status), "{method} {path} accepted non-JSON: {}", r.text);
        }
    }
    // And the CSV import, with arbitrary bytes.
    let csv = proptest::collection::vec(any::<u8>(), 0..1024);
    for _ in 0..cases() / 4 {
        let input = draw(&mut runner, &csv);
        let r = app
            .send("POST", "/api/v1/time-entries/import", Some(&app.admin_token), Some("text/csv"), Some(input.clone()))
            .await;
        assert_sane("POST /api/v1/time-entries/import", &input, &r);
    }
});

both_backends!(bad_encodings_sizes_zones_and_currencies_name_the_problem, |app| {
    // Invalid UTF-8 inside a JSON string: malformed JSON, 400.
    let r = app
        .send(
            "POST",
            "/api/v1/plans",
            Some(&app.admin_token),
            Some("application/json"),
            Some(b"{\"name\": \"Pl\xc3\x28n\"}".to_vec()),
        )
        .await;
    assert_problem(&r, 400, "malformed_json");
    // Overlong UTF-8 in a CSV cell: the row is named.
    let (_, _, sub) = billing_setup(app).await;
    let mut csv = b"subscription_id,started_at,minutes,agent,category\n".to_vec();
    csv.extend_from_slice(format!("{sub},2026-10-05T08:00:00Z,30,").as_bytes());
    csv.extend_from_slice(b"\xc0\xafagent,technical\n");
    let r = app.send("POST", "/api/v1/time-entries/import", Some(&app.admin_token), Some("text/csv"), Some(csv)).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["errors"][0]["row"], 2, "{}", r.text);

    // A body beyond the limit (16 MiB): 413, as JSON and as CSV.
    let big = vec![b' '; 16 * 1024 * 1024 + 1];
    let r = app
        .send("POST", "/api/v1/time-entries", Some(&app.admin_token), Some("application/json"), Some(big.clone()))
        .await;
    assert_problem(&r, 413, "payload_too_large");
    let r = app.send("POST", "/api/v1/time-entries/import", Some(&app.admin_token), Some("text/csv"), Some(big)).await;
    assert_problem(&r, 413, "payload_too_large");

    // Time zones that do not exist.
    for tz in ["Mars/Olympus_Mons", "Europe/Berlinn", "", "UTC+25", "../../etc/passwd"] {
        let mut plan = standard_plan();
        plan["hours_of_service"]["timezone"] = json!(tz);
        assert_invalid(&app.post_json("/api/v1/plans", &plan).await, "hours_of_service.timezone");
    }
    // Currencies that do not exist, on customers and plans.
    for currency in ["XYZ", "EURO", "", "eu", "€", "123"] {
        let mut customer = customer_named("Currency GmbH");
        customer["currency"] = json!(currency);
        assert_invalid(&app.post_json("/api/v1/customers", &customer).await, "currency");
        let mut plan = standard_plan();
        plan["currency"] = json!(currency);
        assert_invalid(&app.post_json("/api/v1/plans", &plan).await, "currency");
    }
    // None of it was written.
    assert_eq!(app.list_all("/api/v1/plans", 1000).await.len(), 1);
    assert_eq!(app.list_all("/api/v1/customers", 1000).await.len(), 1);
    assert_eq!(count_entries(app).await, 0);
});
