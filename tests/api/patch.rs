//! PATCH is a JSON merge patch (RFC 7396) on time entries, tickets and subscriptions: absent
//! members stay as they are, `null` clears a field that may be empty and is a 422 naming any
//! other, and the merged whole is checked by the create's own rules (same fields, same
//! messages), with the same 409 for a claimed entry.

use serde_json::{json, Value};

use supportbill::domain::vocab::Role;

use crate::fixtures::*;
use crate::harness::*;

/// PATCH as the admin with a given `Content-Type`.
async fn patch_as(app: &TestApp, path: &str, content_type: &str, body: &str) -> Resp {
    app.send("PATCH", path, Some(&app.admin_token), Some(content_type), Some(body.as_bytes().to_vec())).await
}

/// `before` with `changes` written over it (the expected resource after a patch, by hand).
fn with(before: &Value, changes: Value) -> Value {
    let mut after = before.clone();
    for (k, v) in changes.as_object().expect("an object of changes") {
        after[k.as_str()] = v.clone();
    }
    after
}

both_backends!(time_entry_patch_changes_only_what_it_names, |app| {
    let (customer, _plan, sub) = billing_setup(app).await;
    let ticket = create(
        app,
        "/api/v1/tickets",
        &json!({"subscription_id": sub, "title": "VM will not start", "category": "technical",
                "severity": "high", "opened_at": "2026-10-05T07:55:00Z"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    // On a ticket, with its own category (not the ticket's), not billable, with a description.
    let original = create(
        app,
        "/api/v1/time-entries",
        &json!({"subscription_id": sub, "ticket_id": ticket, "agent": "a.kowalski",
                "started_at": "2026-10-05T10:00:00+02:00", "minutes": 50, "category": "subscription_management",
                "billable": false, "description": "Diagnosed boot failure"}),
    )
    .await;
    let id = original["id"].as_i64().unwrap();
    let path = format!("/api/v1/time-entries/{id}");

    // The issue's case: one member, as application/json; every other field as it was.
    let r = app.patch_json(&path, &json!({"minutes": 30})).await.expect(200);
    let expected = json!({"id": id, "subscription_id": sub, "ticket_id": ticket, "agent": "a.kowalski",
        "started_at": "2026-10-05T08:00:00Z", "minutes": 30, "category": "subscription_management",
        "billable": false, "description": "Diagnosed boot failure", "invoice_id": null});
    assert_eq!(r.body, expected);
    assert_eq!(app.get(&path).await.expect(200).body, expected);

    // As application/merge-patch+json; the timestamp's offset is converted as in a create.
    let r = patch_as(
        app,
        &path,
        "application/merge-patch+json",
        r#"{"started_at": "2026-10-06T18:30:00+02:00", "description": "Fixed boot order"}"#,
    )
    .await
    .expect(200);
    let expected = with(&expected, json!({"started_at": "2026-10-06T16:30:00Z", "description": "Fixed boot order"}));
    assert_eq!(r.body, expected);

    // An empty patch changes nothing.
    assert_eq!(app.patch_json(&path, &json!({})).await.expect(200).body, expected);

    // null on a field that cannot be empty: 422 naming it, nothing changed.
    for field in ["subscription_id", "agent", "started_at", "minutes", "category", "billable", "description"] {
        let r = app.patch_json(&path, &json!({ field: null })).await;
        assert_invalid(&r, field);
        assert_eq!(r.error_fields(), [field], "{}", r.text);
    }
    assert_eq!(app.get(&path).await.expect(200).body, expected);

    // null on a nullable field clears it; the category stays the entry's own.
    let r = app.patch_json(&path, &json!({"ticket_id": null})).await.expect(200);
    let expected = with(&expected, json!({"ticket_id": null}));
    assert_eq!(r.body, expected);

    // The merged entry is checked by the create's rules, with the create's messages.
    for (bad, field) in [
        (json!({"minutes": 0}), "minutes"),
        (json!({"minutes": 1441}), "minutes"),
        (json!({"started_at": "2026-10-05T08:00:00"}), "started_at"),
        (json!({"agent": " "}), "agent"),
        (json!({"category": "sales"}), "category"),
    ] {
        let patched = app.patch_json(&path, &bad).await;
        assert_invalid(&patched, field);
        let mut whole = entry(sub, 30);
        for (k, v) in bad.as_object().unwrap() {
            whole[k.as_str()] = v.clone();
        }
        let created = app.post_json("/api/v1/time-entries", &whole).await;
        assert_eq!(patched.body["errors"], created.body["errors"], "PATCH {bad} and POST of the same value");
    }
    // References are checked against the database, as in a create.
    assert_invalid(&app.patch_json(&path, &json!({"subscription_id": 999_999})).await, "subscription_id");
    assert_invalid(&app.patch_json(&path, &json!({"ticket_id": 999_999})).await, "ticket_id");
    // Unknown and read-only members, wrong types, and bodies that are not an object.
    assert_invalid(&app.patch_json(&path, &json!({"minuts": 5})).await, "minuts");
    assert_invalid(&app.patch_json(&path, &json!({"invoice_id": null})).await, "invoice_id");
    assert_invalid(&app.patch_json(&path, &json!({"minutes": "ten"})).await, "minutes");
    assert_invalid(&app.patch_json(&path, &json!([{"minutes": 5}])).await, "body");
    assert_problem(
        &patch_as(app, &path, "application/merge-patch+json", "{\"minutes\": ").await,
        400,
        "malformed_json",
    );
    assert_eq!(app.get(&path).await.expect(200).body, expected, "no refused patch changed anything");

    // A full body is a valid merge patch: every field replaced (the ticket set again).
    let mut full = entry(sub, 45);
    full["ticket_id"] = json!(ticket);
    let r = app.patch_json(&path, &full).await.expect(200);
    assert_eq!(
        r.body,
        json!({"id": id, "subscription_id": sub, "ticket_id": ticket, "agent": "a.kowalski",
               "started_at": "2026-10-05T08:00:00Z", "minutes": 45, "category": "technical",
               "billable": true, "description": "Diagnosed boot failure", "invoice_id": null})
    );

    // A client may not patch, whatever the body: 404 before the body is read.
    let client = app.make_key(Role::Client, Some(customer));
    let r = app
        .send("PATCH", &path, Some(&client), Some("application/merge-patch+json"), Some(b"{\"minutes\": 0}".to_vec()))
        .await;
    assert_problem(&r, 404, "not_found");

    // Once a draft claims the entry: 409, as for a whole body.
    let draft = app
        .post_json(
            "/api/v1/invoices",
            &json!({"customer_id": customer, "period_start": "2026-10-01", "period_end": "2026-11-01"}),
        )
        .await
        .expect(201);
    let claimed = app.get(&path).await.expect(200).body;
    assert_eq!(claimed["invoice_id"], draft.body["id"]);
    assert_problem(&app.patch_json(&path, &json!({"minutes": 30})).await, 409, "claimed");
    assert_problem(&patch_as(app, &path, "application/merge-patch+json", "{}").await, 409, "claimed");
    assert_eq!(app.get(&path).await.expect(200).body, claimed);

    // An unknown entry: 404.
    assert_problem(&app.patch_json("/api/v1/time-entries/999999", &json!({"minutes": 30})).await, 404, "not_found");
});

both_backends!(ticket_patch_merges_and_checks_the_whole, |app| {
    let (_, _, sub) = billing_setup(app).await;
    let original = create(
        app,
        "/api/v1/tickets",
        &json!({"subscription_id": sub, "title": "VM will not start", "category": "technical",
                "severity": "high", "opened_at": "2026-10-05T07:55:00Z"}),
    )
    .await;
    let id = original["id"].as_i64().unwrap();
    let path = format!("/api/v1/tickets/{id}");

    // One field.
    let r = app.patch_json(&path, &json!({"severity": "low"})).await.expect(200);
    let expected = json!({"id": id, "subscription_id": sub, "title": "VM will not start", "category": "technical",
        "severity": "low", "opened_at": "2026-10-05T07:55:00Z", "closed_at": null, "escalation": null,
        "invoice_id": null});
    assert_eq!(r.body, expected);

    // An escalation, then one of its fields: the object merges into the current one.
    let escalation =
        json!({"channel": "premier", "case_id": "2610050010001234", "escalated_at": "2026-10-05T09:00:00Z"});
    let r = app.patch_json(&path, &json!({"escalation": escalation})).await.expect(200);
    let expected = with(&expected, json!({"escalation": escalation}));
    assert_eq!(r.body, expected);
    let r = patch_as(app, &path, "application/merge-patch+json", r#"{"escalation": {"case_id": "2610050010009999"}}"#)
        .await
        .expect(200);
    let expected = with(
        &expected,
        json!({"escalation": {"channel": "premier", "case_id": "2610050010009999", "escalated_at": "2026-10-05T09:00:00Z"}}),
    );
    assert_eq!(r.body, expected);
    assert_invalid(&app.patch_json(&path, &json!({"escalation": {"case_id": null}})).await, "escalation.case_id");
    assert_invalid(&app.patch_json(&path, &json!({"escalation": {"channel": "email"}})).await, "escalation.channel");

    // null removes the escalation; a partial one without a current one lacks its channel.
    let r = app.patch_json(&path, &json!({"escalation": null})).await.expect(200);
    let expected = with(&expected, json!({"escalation": null}));
    assert_eq!(r.body, expected);
    assert_invalid(&app.patch_json(&path, &json!({"escalation": {"case_id": "1"}})).await, "escalation.channel");

    // Closing and reopening.
    let r = app.patch_json(&path, &json!({"closed_at": "2026-10-06T14:00:00+02:00"})).await.expect(200);
    let expected = with(&expected, json!({"closed_at": "2026-10-06T12:00:00Z"}));
    assert_eq!(r.body, expected);

    // Fields that cannot be empty; the create's checks on the merged whole: an opening after
    // the current closing is refused on closed_at, as a create with both would be.
    for field in ["title", "category", "severity", "opened_at"] {
        assert_invalid(&app.patch_json(&path, &json!({ field: null })).await, field);
    }
    assert_invalid(&app.patch_json(&path, &json!({"title": "  "})).await, "title");
    assert_invalid(&app.patch_json(&path, &json!({"category": "sales"})).await, "category");
    assert_invalid(&app.patch_json(&path, &json!({"opened_at": "2026-10-07T08:00:00Z"})).await, "closed_at");
    // A ticket stays on its subscription.
    assert_invalid(&app.patch_json(&path, &json!({"subscription_id": sub})).await, "subscription_id");
    assert_eq!(app.get(&path).await.expect(200).body, expected, "no refused patch changed anything");

    let r = app.patch_json(&path, &json!({"closed_at": null})).await.expect(200);
    assert_eq!(r.body, with(&expected, json!({"closed_at": null})));
});

both_backends!(subscription_patch_merges_and_checks_the_whole, |app| {
    let (customer, plan, sub) = billing_setup(app).await;
    let path = format!("/api/v1/subscriptions/{sub}");
    let before = app.get(&path).await.expect(200).body;
    assert_eq!(before["external_id"], "a1b2c3d4-0000-4000-8000-00000000aaaa");

    let r = patch_as(app, &path, "application/merge-patch+json", r#"{"name": "Azure plan (prod)"}"#).await.expect(200);
    let expected = with(&before, json!({"name": "Azure plan (prod)"}));
    assert_eq!(r.body, expected);
    assert_eq!(r.body["customer_id"], customer);
    assert_eq!(r.body["plan_id"], plan);

    // null clears the external id; the other fields cannot be empty.
    let r = app.patch_json(&path, &json!({"external_id": null})).await.expect(200);
    let expected = with(&expected, json!({"external_id": null}));
    assert_eq!(r.body, expected);
    for field in ["plan_id", "product", "name", "status"] {
        assert_invalid(&app.patch_json(&path, &json!({ field: null })).await, field);
    }
    // The create's checks, with the create's messages.
    let created = app
        .post_json(
            "/api/v1/subscriptions",
            &json!({"customer_id": customer, "plan_id": plan, "start_date": "2026-01-01", "product": "azure", "name": ""}),
        )
        .await;
    let patched = app.patch_json(&path, &json!({"name": ""})).await;
    assert_invalid(&patched, "name");
    assert_eq!(patched.body["errors"], created.body["errors"]);
    assert_invalid(&app.patch_json(&path, &json!({"product": "aws"})).await, "product");
    assert_invalid(&app.patch_json(&path, &json!({"plan_id": 999_999})).await, "plan_id");
    // A subscription stays with its customer.
    assert_invalid(&app.patch_json(&path, &json!({"customer_id": customer})).await, "customer_id");
    assert_eq!(app.get(&path).await.expect(200).body, expected, "no refused patch changed anything");
});
