//! Authorization matrix (issue 3, SPEC 4 "Roles"): walks EVERY operation of the OpenAPI
//! document (`supportbill::http::openapi_document()`) with no key, a bad key, and the admin,
//! finance, client-A and client-B keys, substituting path ids of customer A's and customer B's
//! objects, and checks each status against the explicit table [`RULES`]. An operation the table
//! has no rule for fails the test, so a new route cannot be added without deciding who may use it.
//!
//! The expectations (SPEC 4): 401 without a key or with a bad one; admin everything; finance all
//! data but 403 on api keys, partner settings and the Partner Center import; clients read only
//! their own customer's subscriptions, issued invoices, credit notes and usage, never a draft, and
//! get 404 for everything else, writes included ("anything else is 404, as if absent"). A revoked
//! key is refused (401) on the very next request.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use supportbill::domain::vocab::Role;

use crate::fixtures::*;
use crate::harness::*;

/// Who may use an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    /// Admin and finance; clients 404.
    Staff,
    /// Admin; finance 403; clients 404.
    Admin,
    /// Everyone with a key; a client sees only its own customer's objects (404 for the others,
    /// and for drafts); lists are filtered to them.
    ClientOwn,
}

/// The kind of object a path id names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Customer,
    Plan,
    Subscription,
    /// A subscription on a prepaid plan, with a block.
    PrepaidSubscription,
    Block,
    Ticket,
    Entry,
    Charge,
    Issued,
    Draft,
    CreditNote,
    Key,
    Calendar,
}

impl Kind {
    /// What a client may read of its own customer's objects.
    fn client_visible(self) -> bool {
        matches!(self, Kind::Subscription | Kind::PrepaidSubscription | Kind::Issued | Kind::CreditNote)
    }
}

struct Rule {
    method: &'static str,
    path: &'static str,
    access: Access,
    /// The kinds of object substituted for `{id}` (each one is tried); empty without an id.
    kinds: &'static [Kind],
    /// The query string (required parameters).
    query: &'static str,
}

const fn rule(method: &'static str, path: &'static str, access: Access, kinds: &'static [Kind]) -> Rule {
    Rule { method, path, access, kinds, query: "" }
}

use Access::*;
use Kind::*;

/// The expectation table: one row per operation of the OpenAPI document.
const RULES: &[Rule] = &[
    rule("post", "/api/v1/customers", Staff, &[]),
    rule("get", "/api/v1/customers", Staff, &[]),
    rule("get", "/api/v1/customers/{id}", Staff, &[Customer]),
    rule("put", "/api/v1/customers/{id}", Staff, &[Customer]),
    rule("delete", "/api/v1/customers/{id}", Staff, &[Customer]),
    rule("post", "/api/v1/plans", Staff, &[]),
    rule("get", "/api/v1/plans", Staff, &[]),
    rule("get", "/api/v1/plans/{id}", Staff, &[Plan]),
    rule("put", "/api/v1/plans/{id}", Staff, &[Plan]),
    rule("delete", "/api/v1/plans/{id}", Staff, &[Plan]),
    rule("post", "/api/v1/plans/{id}/versions", Staff, &[Plan]),
    rule("get", "/api/v1/plans/{id}/versions", Staff, &[Plan]),
    rule("post", "/api/v1/holiday-calendars", Staff, &[]),
    rule("get", "/api/v1/holiday-calendars", Staff, &[]),
    rule("get", "/api/v1/holiday-calendars/{id}", Staff, &[Calendar]),
    rule("put", "/api/v1/holiday-calendars/{id}", Staff, &[Calendar]),
    rule("delete", "/api/v1/holiday-calendars/{id}", Staff, &[Calendar]),
    rule("post", "/api/v1/holiday-calendars/{id}/import", Staff, &[Calendar]),
    rule("post", "/api/v1/subscriptions", Staff, &[]),
    rule("get", "/api/v1/subscriptions", ClientOwn, &[]),
    rule("get", "/api/v1/subscriptions/{id}", ClientOwn, &[Subscription]),
    rule("patch", "/api/v1/subscriptions/{id}", Staff, &[Subscription]),
    rule("delete", "/api/v1/subscriptions/{id}", Staff, &[Subscription]),
    rule("post", "/api/v1/subscriptions/{id}/blocks", Staff, &[PrepaidSubscription, Subscription]),
    rule("get", "/api/v1/subscriptions/{id}/blocks", ClientOwn, &[PrepaidSubscription, Subscription]),
    rule("delete", "/api/v1/prepaid-blocks/{id}", Staff, &[Block]),
    rule("post", "/api/v1/tickets", Staff, &[]),
    rule("get", "/api/v1/tickets", Staff, &[]),
    rule("get", "/api/v1/tickets/{id}", Staff, &[Ticket]),
    rule("patch", "/api/v1/tickets/{id}", Staff, &[Ticket]),
    rule("delete", "/api/v1/tickets/{id}", Staff, &[Ticket]),
    rule("post", "/api/v1/time-entries", Staff, &[]),
    rule("post", "/api/v1/time-entries/import", Staff, &[]),
    rule("get", "/api/v1/time-entries", Staff, &[]),
    rule("get", "/api/v1/time-entries/{id}", Staff, &[Entry]),
    rule("patch", "/api/v1/time-entries/{id}", Staff, &[Entry]),
    rule("delete", "/api/v1/time-entries/{id}", Staff, &[Entry]),
    rule("post", "/api/v1/charges", Staff, &[]),
    rule("get", "/api/v1/charges", Staff, &[]),
    rule("get", "/api/v1/charges/{id}", Staff, &[Charge]),
    rule("delete", "/api/v1/charges/{id}", Staff, &[Charge]),
    rule("post", "/api/v1/invoices", Staff, &[]),
    rule("post", "/api/v1/invoices/run", Staff, &[]),
    rule("post", "/api/v1/invoices/issue", Staff, &[]),
    rule("get", "/api/v1/invoices", ClientOwn, &[]),
    rule("get", "/api/v1/invoices/{id}", ClientOwn, &[Issued, Draft]),
    rule("delete", "/api/v1/invoices/{id}", Staff, &[Draft, Issued]),
    rule("post", "/api/v1/invoices/{id}/issue", Staff, &[Draft]),
    rule("post", "/api/v1/invoices/{id}/void", Staff, &[Issued]),
    rule("get", "/api/v1/invoices/{id}/history", Staff, &[Issued, Draft]),
    rule("post", "/api/v1/invoices/{id}/credit-notes", Staff, &[Issued]),
    rule("get", "/api/v1/invoices/{id}/credit-notes", ClientOwn, &[Issued, Draft]),
    rule("get", "/api/v1/credit-notes", ClientOwn, &[]),
    rule("get", "/api/v1/credit-notes/{id}", ClientOwn, &[CreditNote]),
    Rule {
        method: "get",
        path: "/api/v1/reports/usage",
        access: ClientOwn,
        kinds: &[],
        query: "?from=2026-10-01&to=2026-12-01",
    },
    Rule {
        method: "get",
        path: "/api/v1/reports/invoices",
        access: Staff,
        kinds: &[],
        query: "?from=2026-01-01&to=2027-01-01",
    },
    rule("post", "/api/v1/api-keys", Admin, &[]),
    rule("get", "/api/v1/api-keys", Admin, &[]),
    rule("delete", "/api/v1/api-keys/{id}", Admin, &[Key]),
    rule("get", "/api/v1/audit", Admin, &[]),
    rule("get", "/api/v1/partner", Admin, &[]),
    rule("put", "/api/v1/partner", Admin, &[]),
    rule("post", "/api/v1/import/partner-center/customers", Admin, &[]),
    rule("post", "/api/v1/import/partner-center/subscriptions", Admin, &[]),
];

/// One customer's objects: everything a path id can name, and its client key.
#[derive(Clone, Debug)]
struct Fixture {
    customer: i64,
    name: String,
    plan: i64,
    subscription: i64,
    prepaid_subscription: i64,
    block: i64,
    ticket: i64,
    /// The entry of October (on the issued invoice) and of November (on the draft).
    entries: [i64; 2],
    charge: i64,
    issued: i64,
    draft: i64,
    credit_note: i64,
    /// A holiday calendar (partner-level: no customer's, named after this one for the test).
    calendar: i64,
    client_key_id: i64,
    client_token: String,
}

impl Fixture {
    fn id(&self, kind: Kind) -> i64 {
        match kind {
            Customer => self.customer,
            Plan => self.plan,
            Subscription => self.subscription,
            PrepaidSubscription => self.prepaid_subscription,
            Block => self.block,
            Ticket => self.ticket,
            Entry => self.entries[0],
            Charge => self.charge,
            Issued => self.issued,
            Draft => self.draft,
            CreditNote => self.credit_note,
            Key => self.client_key_id,
            Calendar => self.calendar,
        }
    }
}

/// Builds one customer with a subscription, ticket, two time entries, a charge, an issued
/// invoice (October 2026, partly credited), a draft (November 2026), a prepaid subscription with
/// a block bought after them, and a client key.
async fn fixture(app: &TestApp, name: &str) -> Fixture {
    let id = |v: Value| v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"));
    let customer = id(create(app, "/api/v1/customers", &customer_named(name)).await);
    let mut plan = standard_plan();
    plan["name"] = json!(format!("Plan of {name}"));
    let plan = id(create(app, "/api/v1/plans", &plan).await);
    let subscription = id(create(
        app,
        "/api/v1/subscriptions",
        &json!({"customer_id": customer, "plan_id": plan, "start_date": "2026-01-01", "product": "azure", "name": format!("Azure of {name}")}),
    )
    .await);
    let ticket = id(create(
        app,
        "/api/v1/tickets",
        &json!({"subscription_id": subscription, "title": format!("Outage at {name}"), "category": "technical",
                "severity": "high", "opened_at": "2026-10-05T07:00:00Z"}),
    )
    .await);
    let mut october = entry(subscription, 50);
    october["ticket_id"] = json!(ticket);
    let mut november = entry(subscription, 40);
    november["started_at"] = json!("2026-11-05T08:00:00Z");
    let entries = [
        id(create(app, "/api/v1/time-entries", &october).await),
        id(create(app, "/api/v1/time-entries", &november).await),
    ];
    let charge = id(create(
        app,
        "/api/v1/charges",
        &json!({"subscription_id": subscription, "date": "2026-10-10", "description": "Premier case fee", "amount": "99.00"}),
    )
    .await);
    let prepaid_plan = json!({"name": format!("Prepaid of {name}"), "currency": "EUR", "billing_model": "prepaid",
        "hourly_rate": "100.00", "hours_of_service": {"timezone": "UTC", "days": ["mon"], "start": "09:00", "end": "17:00"}});
    let prepaid_plan = id(create(app, "/api/v1/plans", &prepaid_plan).await);
    let prepaid_subscription = id(create(
        app,
        "/api/v1/subscriptions",
        &json!({"customer_id": customer, "plan_id": prepaid_plan, "start_date": "2026-01-01", "product": "microsoft_365", "name": format!("Hours of {name}")}),
    )
    .await);
    let block = id(create(
        app,
        &format!("/api/v1/subscriptions/{prepaid_subscription}/blocks"),
        &json!({"purchased_on": "2027-01-01", "minutes": 600, "price": "900.00"}),
    )
    .await);
    let issued = id(create(
        app,
        "/api/v1/invoices",
        &json!({"customer_id": customer, "period_start": "2026-10-01", "period_end": "2026-11-01"}),
    )
    .await);
    app.post_json(&format!("/api/v1/invoices/{issued}/issue"), &json!({})).await.expect(200);
    let draft = id(create(
        app,
        "/api/v1/invoices",
        &json!({"customer_id": customer, "period_start": "2026-11-01", "period_end": "2026-12-01"}),
    )
    .await);
    let credit_note = id(create(
        app,
        &format!("/api/v1/invoices/{issued}/credit-notes"),
        &json!({"reason": "Goodwill", "lines": [{"line": 1, "amount": "1.00"}]}),
    )
    .await);
    let calendar = id(create(
        app,
        "/api/v1/holiday-calendars",
        &json!({"name": format!("Holidays of {name}"), "days": [{"date": "2026-12-25", "name": "Christmas Day"}]}),
    )
    .await);
    let key = create(
        app,
        "/api/v1/api-keys",
        &json!({"name": format!("client of {name}"), "role": "client", "customer_id": customer}),
    )
    .await;
    Fixture {
        customer,
        name: name.to_string(),
        plan,
        subscription,
        prepaid_subscription,
        block,
        ticket,
        entries,
        charge,
        issued,
        draft,
        credit_note,
        calendar,
        client_key_id: id(key.clone()),
        client_token: key["token"].as_str().expect("the new key's token").to_string(),
    }
}

/// Every (method, path) of the OpenAPI document.
fn documented_operations() -> BTreeSet<(String, String)> {
    let doc = serde_json::to_value(supportbill::http::openapi_document()).expect("the OpenAPI document serializes");
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "put", "post", "delete", "patch", "head", "options", "trace"] {
            if item.get(method).is_some() {
                ops.insert((method.to_string(), path.clone()));
            }
        }
    }
    ops
}

/// Sends `rule` with `{id}` replaced by `id`, as `token` (None: no Authorization header) or
/// with the verbatim `authorization` header. Writes carry an empty JSON object (or an empty CSV):
/// authorization is decided before the body is read, and a caller who passes it gets a 422 for
/// the body instead of changing anything.
async fn call(app: &TestApp, rule: &Rule, id: Option<i64>, token: Option<&str>, authorization: Option<&str>) -> Resp {
    call_with_query(app, rule, id, token, authorization, rule.query).await
}

/// A query string no operation accepts: wrong types, and the required parameters left out.
const BAD_QUERY: &str = "?limit=abc&cursor=x&customer_id=x&subscription_id=x&dry_run=maybe";

/// [`call`] with another query string.
async fn call_with_query(
    app: &TestApp,
    rule: &Rule,
    id: Option<i64>,
    token: Option<&str>,
    authorization: Option<&str>,
    query: &str,
) -> Resp {
    let path = match id {
        Some(id) => rule.path.replace("{id}", &id.to_string()),
        None => rule.path.to_string(),
    };
    let url = format!("{path}{query}");
    let (content_type, body) = match rule.method {
        "get" | "delete" => (None, None),
        _ if rule.path.ends_with("/import") || rule.path.contains("/import/") => (Some("text/csv"), Some(Vec::new())),
        _ => (Some("application/json"), Some(b"{}".to_vec())),
    };
    app.send_with(&rule.method.to_uppercase(), &url, token, authorization, content_type, body).await
}

/// The label of one check, for failure messages.
fn label(who: &str, rule: &Rule, kind: Option<(Kind, &str)>) -> String {
    match kind {
        Some((k, owner)) => format!("{who} {} {} with {owner}'s {k:?}", rule.method.to_uppercase(), rule.path),
        None => format!("{who} {} {}", rule.method.to_uppercase(), rule.path),
    }
}

#[track_caller]
fn expect_status(what: &str, r: &Resp, status: u16) {
    assert_eq!(r.status, status, "{what}: expected {status}; response: {}", r.text);
    assert!(r.content_type.starts_with("application/problem+json"), "{what}: not a problem: {}", r.content_type);
}

/// What a staff caller who passes authorization gets: the operation ran (2xx), or it refused the
/// object's state (409) or the empty body (422); never 401, 403 or 404.
#[track_caller]
fn expect_allowed(what: &str, r: &Resp, method: &str) {
    if method == "get" {
        assert_eq!(r.status, 200, "{what}: expected 200; response: {}", r.text);
    } else {
        assert!(
            (200..300).contains(&r.status) || r.status == 409 || r.status == 422,
            "{what}: expected the operation to pass authorization (2xx, 409 or 422), got {}: {}",
            r.status,
            r.text
        );
    }
}

/// A client's successful read shows nothing of another customer and no draft.
#[track_caller]
fn expect_only_own(what: &str, r: &Resp, own: &Fixture, other: &Fixture) {
    fn customer_ids(v: &Value, out: &mut Vec<i64>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    if k == "customer_id" {
                        out.extend(v.as_i64());
                    }
                    customer_ids(v, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|v| customer_ids(v, out)),
            _ => {}
        }
    }
    let mut ids = Vec::new();
    customer_ids(&r.body, &mut ids);
    assert!(
        ids.iter().all(|&id| id == own.customer),
        "{what}: customer ids {ids:?}, own is {}: {}",
        own.customer,
        r.text
    );
    assert!(!r.text.contains(&other.name), "{what}: shows {:?}: {}", other.name, r.text);
    assert!(!r.text.contains("\"draft\""), "{what}: shows a draft: {}", r.text);
}

both_backends!(every_operation_follows_the_role_table, |app| {
    // Every documented operation has exactly one rule, and every rule a documented operation.
    let documented = documented_operations();
    let ruled: BTreeSet<(String, String)> = RULES.iter().map(|r| (r.method.to_string(), r.path.to_string())).collect();
    assert_eq!(ruled.len(), RULES.len(), "a rule appears twice");
    let missing: Vec<_> = documented.difference(&ruled).collect();
    assert!(missing.is_empty(), "operations without an authorization rule in RULES: {missing:?}");
    let stale: Vec<_> = ruled.difference(&documented).collect();
    assert!(stale.is_empty(), "rules for operations the OpenAPI document does not have: {stale:?}");

    // And the document tells API clients about the 401 and 404 every operation may answer,
    // as problem+json (what schemathesis' status-code and content-type checks hold it to).
    let doc = serde_json::to_value(supportbill::http::openapi_document()).unwrap();
    for (method, path) in &documented {
        let responses = &doc["paths"][path][method]["responses"];
        for status in ["401", "404"] {
            assert!(
                responses[status]["content"]["application/problem+json"].is_object(),
                "{method} {path}: {status} not documented as problem+json: {responses}"
            );
        }
        for (status, response) in responses.as_object().unwrap() {
            assert!(
                response["content"]
                    .get("application/json")
                    .is_none_or(|c| c["schema"]["$ref"] != "#/components/schemas/Problem"),
                "{method} {path}: {status} documents a problem as application/json"
            );
        }
    }

    let a = fixture(app, "Alpha Kunde GmbH").await;
    let b = fixture(app, "Bravo Customer Ltd").await;
    let finance = app.make_key(Role::Finance, None);
    let bad_token = format!("sb_{}", "0".repeat(64));

    // Phase 1: everyone who must be refused, and every read; nothing here changes data.
    for rule in RULES {
        let targets: Vec<(Option<Kind>, Option<&Fixture>)> = if rule.kinds.is_empty() {
            vec![(None, None)]
        } else {
            rule.kinds.iter().flat_map(|&k| [(Some(k), Some(&a)), (Some(k), Some(&b))]).collect()
        };
        for (kind, owner) in targets {
            let id = kind.zip(owner).map(|(k, f)| f.id(k));
            let of = kind.zip(owner.map(|f| f.name.as_str()));

            expect_status(&label("no key:", rule, of), &call(app, rule, id, None, None).await, 401);
            expect_status(&label("bad key:", rule, of), &call(app, rule, id, Some(&bad_token), None).await, 401);
            expect_status(
                &label("basic auth:", rule, of),
                &call(app, rule, id, None, Some("Basic YWRtaW46YWRtaW4=")).await,
                401,
            );

            if rule.access == Admin {
                expect_status(&label("finance:", rule, of), &call(app, rule, id, Some(&finance), None).await, 403);
                // Refused before the query is looked at: a bad one changes nothing.
                let r = call_with_query(app, rule, id, Some(&finance), None, BAD_QUERY).await;
                expect_status(&label("finance, bad query:", rule, of), &r, 403);
            }
            if rule.method == "get" {
                let r = call(app, rule, id, Some(&app.admin_token), None).await;
                expect_allowed(&label("admin:", rule, of), &r, "get");
                if rule.access != Admin {
                    let r = call(app, rule, id, Some(&finance), None).await;
                    expect_allowed(&label("finance:", rule, of), &r, "get");
                }
            }

            for (me, other) in [(&a, &b), (&b, &a)] {
                let who = format!("client of {}:", me.name);
                let what = label(&who, rule, of);
                let r = call(app, rule, id, Some(&me.client_token), None).await;
                let visible = rule.method == "get"
                    && rule.access == ClientOwn
                    && match (kind, owner) {
                        (None, _) => true,
                        (Some(k), Some(f)) => k.client_visible() && f.customer == me.customer,
                        (Some(_), None) => unreachable!(),
                    };
                if visible {
                    assert_eq!(r.status, 200, "{what}: expected 200; response: {}", r.text);
                    expect_only_own(&what, &r, me, other);
                } else {
                    expect_status(&what, &r, 404);
                    if rule.access == ClientOwn {
                        // A route clients may use checks its query before the object: a 422
                        // there says nothing about whose the object is.
                        continue;
                    }
                    let r = call_with_query(app, rule, id, Some(&me.client_token), None, BAD_QUERY).await;
                    expect_status(&format!("{what} (bad query)"), &r, 404);
                }
            }
        }
    }

    // Lists a client may read hold its own objects: the filter is not simply "nothing".
    let subs = app.get_as(&a.client_token, "/api/v1/subscriptions").await.expect(200);
    assert_eq!(
        subs.data().iter().map(|s| s["id"].as_i64()).collect::<Vec<_>>(),
        vec![Some(a.subscription), Some(a.prepaid_subscription)]
    );
    let blocks = app.get_as(&a.client_token, &format!("/api/v1/subscriptions/{}/blocks", a.prepaid_subscription)).await;
    assert_eq!(blocks.expect(200).data().iter().map(|b| b["id"].as_i64()).collect::<Vec<_>>(), vec![Some(a.block)]);
    let invoices = app.get_as(&a.client_token, "/api/v1/invoices").await.expect(200);
    assert_eq!(invoices.data().iter().map(|s| s["id"].as_i64()).collect::<Vec<_>>(), vec![Some(a.issued)]);
    let notes = app.get_as(&a.client_token, "/api/v1/credit-notes").await.expect(200);
    assert_eq!(notes.data().iter().map(|s| s["id"].as_i64()).collect::<Vec<_>>(), vec![Some(a.credit_note)]);
    // Asking for the other customer explicitly changes nothing.
    let r = app.get_as(&a.client_token, &format!("/api/v1/invoices?customer_id={}", b.customer)).await.expect(200);
    assert!(r.data().is_empty(), "{}", r.text);
    let r = app
        .get_as(
            &a.client_token,
            &format!("/api/v1/reports/usage?from=2026-10-01&to=2026-12-01&customer_id={}", b.customer),
        )
        .await
        .expect(200);
    expect_only_own("client A usage for B", &r, &a, &b);
    // Documents too: the PDF of the other customer's invoice is absent.
    expect_status(
        "client A PDF of B",
        &app.get_as(&a.client_token, &format!("/api/v1/invoices/{}.pdf", b.issued)).await,
        404,
    );
    app.get_as(&a.client_token, &format!("/api/v1/invoices/{}.pdf", a.issued)).await.expect(200);
    expect_status(
        "client A PDF of own draft",
        &app.get_as(&a.client_token, &format!("/api/v1/invoices/{}.pdf", a.draft)).await,
        404,
    );

    // Phase 2: the writes of staff callers who pass authorization, each on objects of a customer
    // made for it (the write may delete or change them).
    for rule in RULES.iter().filter(|r| r.method != "get") {
        let callers: Vec<(&str, &str)> = match rule.access {
            Admin => vec![("admin", app.admin_token.as_str())],
            _ => vec![("admin", app.admin_token.as_str()), ("finance", finance.as_str())],
        };
        for (who, token) in callers {
            let kinds: Vec<Option<Kind>> =
                if rule.kinds.is_empty() { vec![None] } else { rule.kinds.iter().map(|&k| Some(k)).collect() };
            for kind in kinds {
                let id = match kind {
                    Some(k) => Some(fixture(app, &format!("Scratch {who} {} {k:?}", rule.path)).await.id(k)),
                    None => None,
                };
                let r = call(app, rule, id, Some(token), None).await;
                expect_allowed(&label(&format!("{who}:"), rule, kind.map(|k| (k, "scratch"))), &r, rule.method);
            }
        }
    }

    // The data of A and B is untouched by all of the above.
    let inv = app.get(&format!("/api/v1/invoices/{}", a.issued)).await.expect(200);
    assert_eq!(inv.body["status"], "issued", "{}", inv.text);
    app.get(&format!("/api/v1/invoices/{}", b.draft)).await.expect(200);
});

both_backends!(a_revoked_key_is_refused_on_the_next_request, |app| {
    let a = fixture(app, "Alpha Kunde GmbH").await;
    let finance = create(app, "/api/v1/api-keys", &json!({"name": "finance", "role": "finance"})).await;
    let finance_token = finance["token"].as_str().unwrap().to_string();
    app.get_as(&finance_token, "/api/v1/invoices").await.expect(200);
    app.get_as(&a.client_token, "/api/v1/invoices").await.expect(200);

    app.delete(&format!("/api/v1/api-keys/{}", finance["id"])).await.expect(204);
    expect_status("revoked finance key", &app.get_as(&finance_token, "/api/v1/invoices").await, 401);
    app.delete(&format!("/api/v1/api-keys/{}", a.client_key_id)).await.expect(204);
    expect_status("revoked client key", &app.get_as(&a.client_token, "/api/v1/invoices").await, 401);
    expect_status(
        "revoked client key, document",
        &app.get_as(&a.client_token, &format!("/api/v1/invoices/{}.pdf", a.issued)).await,
        401,
    );

    // A revoked admin key cannot revoke, list or make keys either.
    let other_admin = app.make_key(Role::Admin, None);
    let listed = app.get_as(&other_admin, "/api/v1/api-keys").await.expect(200);
    let other_id = listed.data().iter().filter_map(|k| k["id"].as_i64()).max().unwrap();
    app.delete(&format!("/api/v1/api-keys/{other_id}")).await.expect(204);
    expect_status("revoked admin key", &app.get_as(&other_admin, "/api/v1/api-keys").await, 401);
    // The admin key of the test itself still works.
    app.get("/api/v1/api-keys").await.expect(200);
});
