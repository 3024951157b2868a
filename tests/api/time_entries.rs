//! Time entries: one, a JSON array (all or nothing, errors name `[i].field`), and CSV imports
//! (columns in any order, all or nothing, errors name the file's line).

use serde_json::json;

use crate::fixtures::*;
use crate::harness::*;

both_backends!(single_entry, |app| {
    let (_, _, sub) = billing_setup(app).await;

    // Offset converted to UTC; billable defaults to true.
    let r = app
        .post_json(
            "/api/v1/time-entries",
            &json!({"subscription_id": sub, "agent": "a.kowalski", "started_at": "2026-10-05T10:00:00+02:00",
                    "minutes": 50, "category": "technical", "description": "Diagnosed boot failure"}),
        )
        .await
        .expect(201);
    let id = r.id();
    assert_eq!(r.body["subscription_id"], sub);
    assert_eq!(r.body["agent"], "a.kowalski");
    assert_eq!(r.body["started_at"], "2026-10-05T08:00:00Z");
    assert_eq!(r.body["minutes"], 50);
    assert_eq!(r.body["category"], "technical");
    assert_eq!(r.body["billable"], true);
    assert_eq!(r.body["description"], "Diagnosed boot failure");
    assert!(r.body["ticket_id"].is_null());
    assert!(r.body["invoice_id"].is_null());
    assert_eq!(app.get(&format!("/api/v1/time-entries/{id}")).await.expect(200).body, r.body);

    // With a ticket and no category: the ticket's category.
    let ticket = app
        .post_json(
            "/api/v1/tickets",
            &json!({"subscription_id": sub, "title": "Invoice question", "category": "billing",
                    "severity": "low", "opened_at": "2026-10-05T07:55:00Z"}),
        )
        .await
        .expect(201)
        .id();
    let r = app
        .post_json(
            "/api/v1/time-entries",
            &json!({"subscription_id": sub, "ticket_id": ticket, "agent": "b.nowak",
                    "started_at": "2026-10-05T09:00:00Z", "minutes": 15, "billable": false}),
        )
        .await
        .expect(201);
    assert_eq!(r.body["ticket_id"], ticket);
    assert_eq!(r.body["category"], "billing", "category defaults to the ticket's");
    assert_eq!(r.body["billable"], false);

    // A ticket of another subscription is refused.
    let customer2 = create(app, "/api/v1/customers", &customer_named("Contoso")).await["id"].as_i64().unwrap();
    let plan = app.list_all("/api/v1/plans", 10).await[0]["id"].as_i64().unwrap();
    let sub2 = create(
        app,
        "/api/v1/subscriptions",
        &json!({"customer_id": customer2, "plan_id": plan, "start_date": "2026-01-01", "product": "other", "name": "Other"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let mut e = entry(sub2, 10);
    e["ticket_id"] = json!(ticket);
    assert_invalid(&app.post_json("/api/v1/time-entries", &e).await, "ticket_id");

    // Change and delete an unclaimed entry.
    let mut changed = entry(sub, 45);
    changed["description"] = json!("Fixed boot order");
    let u = app.patch_json(&format!("/api/v1/time-entries/{id}"), &changed).await.expect(200);
    assert_eq!(u.body["minutes"], 45);
    assert_eq!(u.body["description"], "Fixed boot order");
    app.delete(&format!("/api/v1/time-entries/{id}")).await.expect(204);
    assert_problem(&app.get(&format!("/api/v1/time-entries/{id}")).await, 404, "not_found");
    assert_eq!(count_entries(app).await, 1);
});

both_backends!(json_array_is_all_or_nothing, |app| {
    let (_, _, sub) = billing_setup(app).await;

    let batch = json!([entry(sub, 10), entry(sub, 20), entry(sub, 30)]);
    let r = app.post_json("/api/v1/time-entries", &batch).await.expect(201);
    let data = r.data();
    assert_eq!(data.len(), 3);
    let minutes: Vec<i64> = data.iter().map(|e| e["minutes"].as_i64().unwrap()).collect();
    assert_eq!(minutes, [10, 20, 30], "entries come back in the order sent");
    let mut ids: Vec<i64> = data.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3, "three distinct entries");
    assert_eq!(count_entries(app).await, 3);

    // One bad element (validation): 422 naming [1].minutes, nothing written.
    let batch = json!([entry(sub, 10), entry(sub, 0), entry(sub, 30)]);
    let r = app.post_json("/api/v1/time-entries", &batch).await;
    assert_invalid(&r, "[1].minutes");
    assert_eq!(r.error_fields(), ["[1].minutes"], "only the bad element is named: {}", r.text);
    assert_eq!(count_entries(app).await, 3, "nothing of the bad batch may be written");

    // Several bad elements: each named.
    let mut no_cat = entry(sub, 10);
    no_cat.as_object_mut().unwrap().remove("category");
    let mut no_offset = entry(sub, 10);
    no_offset["started_at"] = json!("2026-10-05T08:00:00");
    let r = app.post_json("/api/v1/time-entries", &json!([no_cat, entry(sub, 5), no_offset, entry(sub, 1441)])).await;
    assert_problem(&r, 422, "invalid_input");
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!(fields, ["[0].category", "[2].started_at", "[3].minutes"], "{}", r.text);
    assert_eq!(count_entries(app).await, 3);

    // A bad reference found only in the database (last element): still nothing written.
    let r = app.post_json("/api/v1/time-entries", &json!([entry(sub, 10), entry(sub, 20), entry(999_999, 30)])).await;
    assert_invalid(&r, "[2].subscription_id");
    assert_eq!(count_entries(app).await, 3);

    // A wrong JSON type inside an element names its path.
    let mut wrong = entry(sub, 10);
    wrong["minutes"] = json!("ten");
    let r = app.post_json("/api/v1/time-entries", &json!([entry(sub, 10), wrong])).await;
    assert_invalid(&r, "[1].minutes");
    assert_eq!(count_entries(app).await, 3);

    // Empty array: 422.
    assert_problem(&app.post_json("/api/v1/time-entries", &json!([])).await, 422, "invalid_input");
    assert_eq!(count_entries(app).await, 3);
});

both_backends!(csv_import_with_shuffled_columns, |app| {
    let (_, _, sub) = billing_setup(app).await;
    let csv = format!(
        "description,minutes,billable,agent,category,started_at,subscription_id\n\
         \"Reset MFA, user “Jörg”\",25,true,a.kowalski,technical,2026-10-06T09:30:00+02:00,{sub}\n\
         Licence count,15,false,b.nowak,subscription_management,2026-10-07T10:00:00Z,{sub}\n\
         Billing call,40,,c.ionescu,billing,2026-10-08T16:45:00Z,{sub}\n"
    );
    let r = app.post_csv("/api/v1/time-entries/import", &csv).await.expect(201);
    assert_eq!(r.body, json!({"imported": 3}));

    let entries = app.list_all(&format!("/api/v1/time-entries?subscription_id={sub}"), 100).await;
    assert_eq!(entries.len(), 3);
    let first = &entries[0];
    assert_eq!(first["description"], "Reset MFA, user “Jörg”");
    assert_eq!(first["minutes"], 25);
    assert_eq!(first["agent"], "a.kowalski");
    assert_eq!(first["category"], "technical");
    assert_eq!(first["started_at"], "2026-10-06T07:30:00Z");
    assert_eq!(first["billable"], true);
    assert_eq!(entries[1]["billable"], false);
    assert_eq!(entries[1]["category"], "subscription_management");
    assert_eq!(entries[2]["billable"], true, "an empty billable cell means true");
    assert_eq!(entries[2]["minutes"], 40);
});

// On SQLite the import leaves foreign keys to its own checks (`time_entries::import`): they
// must refuse every reference the database would have refused, and afterwards every pooled
// connection enforces foreign keys again, after a refused import as after a good one.
both_backends!(csv_import_checks_references_itself_and_leaves_foreign_keys_on, |app| {
    use diesel::RunQueryDsl;
    let (_, _, sub) = billing_setup(app).await;
    let ticket = app
        .post_json(
            "/api/v1/tickets",
            &json!({"subscription_id": sub, "title": "Invoice question", "category": "billing",
                    "severity": "low", "opened_at": "2026-10-05T07:55:00Z"}),
        )
        .await
        .expect(201)
        .id();
    let customer2 = create(app, "/api/v1/customers", &customer_named("Contoso")).await["id"].as_i64().unwrap();
    let plan = app.list_all("/api/v1/plans", 10).await[0]["id"].as_i64().unwrap();
    let sub2 = create(
        app,
        "/api/v1/subscriptions",
        &json!({"customer_id": customer2, "plan_id": plan, "start_date": "2026-01-01", "product": "other", "name": "Other"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let before = count_entries(app).await;

    let header = "subscription_id,ticket_id,started_at,minutes,agent,category\n";
    let good = format!("{sub},{ticket},2026-10-05T08:00:00Z,30,a.kowalski,\n");
    for (bad, field) in [
        ("999999,,2026-10-05T10:00:00Z,30,a.kowalski,technical\n".to_string(), "subscription_id"),
        (format!("{sub},999999,2026-10-05T10:00:00Z,30,a.kowalski,technical\n"), "ticket_id"),
        (format!("{sub2},{ticket},2026-10-05T10:00:00Z,30,a.kowalski,technical\n"), "ticket_id"),
    ] {
        let r = app.post_csv("/api/v1/time-entries/import", &format!("{header}{good}{bad}")).await;
        assert_problem(&r, 422, "invalid_input");
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.text);
        assert_eq!(r.body["errors"][0]["row"], 3, "{}", r.text);
        assert_eq!(count_entries(app).await, before, "nothing imported");
    }
    let other = format!("{sub2},,2026-10-05T09:00:00Z,20,b.nowak,billing\n");
    let r = app.post_csv("/api/v1/time-entries/import", &format!("{header}{good}{other}")).await.expect(201);
    assert_eq!(r.body, json!({"imported": 2}));
    assert_eq!(count_entries(app).await, before + 2);

    // All eight connections of the test pool at once: each enforces foreign keys.
    let mut held: Vec<TestConn> = (0..8).map(|_| app.conn()).collect();
    for conn in &mut held {
        assert!(supportbill::storage::foreign_keys_enforced(conn));
        let orphan = diesel::sql_query(
            "INSERT INTO time_entries (subscription_id, agent, started_at, minutes, category, billable, description) \
             VALUES (999999, 'x', '2026-10-05 08:00:00', 5, 'technical', TRUE, '')",
        )
        .execute(&mut **conn);
        assert!(orphan.is_err(), "an entry naming no subscription was stored");
    }
    drop(held);
    assert_eq!(count_entries(app).await, before + 2);
});

// The import writes its rows in the order measured cheapest on each backend (docs/decisions.md,
// "Import order"): by time on SQLite, by subscription and then time on PostgreSQL. Ids show it.
both_backends!(csv_import_stores_rows_in_each_backends_order, |app| {
    let (customer, plan, sub) = billing_setup(app).await;
    let sub2 = create(
        app,
        "/api/v1/subscriptions",
        &json!({"customer_id": customer, "plan_id": plan, "start_date": "2026-01-01", "product": "microsoft_365", "name": "Microsoft 365"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    // File order is neither: times and subscriptions interleaved, newest first.
    let csv = format!(
        "subscription_id,started_at,minutes,agent,category\n\
         {sub2},2026-10-09T09:00:00Z,10,a,technical\n\
         {sub},2026-10-08T09:00:00Z,20,a,technical\n\
         {sub2},2026-10-07T09:00:00Z,30,a,technical\n\
         {sub},2026-10-06T09:00:00Z,40,a,technical\n"
    );
    app.post_csv("/api/v1/time-entries/import", &csv).await.expect(201);
    let mut entries = app.list_all("/api/v1/time-entries", 100).await;
    entries.sort_by_key(|e| e["id"].as_i64().unwrap());
    let minutes: Vec<i64> = entries.iter().map(|e| e["minutes"].as_i64().unwrap()).collect();
    let expected = match app.backend {
        Backend::Sqlite => vec![40, 30, 20, 10],
        Backend::Postgres => {
            if sub < sub2 {
                vec![40, 20, 30, 10]
            } else {
                vec![30, 10, 40, 20]
            }
        }
    };
    assert_eq!(minutes, expected, "entries in id order");
});

// Excel and Partner Center save CSV with CRLF line ends, old Mac tools with CR alone. Whatever
// the line ends, an error names the line an editor shows: a blank line and a quoted field over
// two lines count as lines too.
both_backends!(csv_import_names_the_same_lines_whatever_the_line_ends, |app| {
    let (_, _, sub) = billing_setup(app).await;
    let file = format!(
        "subscription_id,started_at,minutes,agent,category,description\n\
         {sub},2026-10-05T08:00:00Z,30,a.kowalski,technical,fine\n\
         {sub},2026-10-05T09:00:00,30,a.kowalski,technical,no offset\n\
         {sub},2026-10-05T10:00:00Z,30,a.kowalski,technical,\"two\nlines\"\n\
         {sub},2026-10-05T11:00:00Z,ten,a.kowalski,technical,not a number\n\
         \n\
         {sub},2026-10-05T12:00:00Z,30,a.kowalski,,no category\n"
    );
    for (name, eol) in [("LF", "\n"), ("CRLF", "\r\n"), ("CR", "\r")] {
        let r = app.post_csv("/api/v1/time-entries/import", &file.replace('\n', eol)).await;
        assert_problem(&r, 422, "invalid_input");
        let found: Vec<(u64, &str)> = r.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap()))
            .collect();
        assert_eq!(found, [(3, "started_at"), (6, "minutes"), (8, "category")], "{name}: {}", r.text);
    }
    assert_eq!(count_entries(app).await, 0, "nothing imported");
    // Fixed, the file imports; the two-line description keeps its line break, as LF.
    let fixed = file
        .replace("T09:00:00,", "T09:00:00Z,")
        .replace(",ten,", ",30,")
        .replace(",,no category", ",technical,no category");
    for eol in ["\r\n", "\r"] {
        app.post_csv("/api/v1/time-entries/import", &fixed.replace('\n', eol)).await.expect(201);
    }
    let entries = app.list_all("/api/v1/time-entries", 100).await;
    assert_eq!(entries.len(), 10);
    assert_eq!(entries.iter().filter(|e| e["description"] == "two\nlines").count(), 2, "{entries:?}");
});

both_backends!(csv_import_is_all_or_nothing_and_names_the_line, |app| {
    let (_, _, sub) = billing_setup(app).await;
    app.post_json("/api/v1/time-entries", &entry(sub, 10)).await.expect(201);

    // Line 3 (the header is line 1) is bad: 422 with row 3, nothing imported.
    let csv = format!(
        "subscription_id,started_at,minutes,agent,category\n\
         {sub},2026-10-05T08:00:00Z,30,a.kowalski,technical\n\
         {sub},2026-10-05T09:00:00Z,0,a.kowalski,technical\n\
         {sub},2026-10-05T10:00:00Z,30,a.kowalski,technical\n"
    );
    let r = app.post_csv("/api/v1/time-entries/import", &csv).await;
    assert_problem(&r, 422, "invalid_input");
    let errors = r.body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{}", r.text);
    assert_eq!(errors[0]["row"], 3, "{}", r.text);
    assert_eq!(errors[0]["field"], "minutes", "{}", r.text);
    assert_eq!(count_entries(app).await, 1, "nothing imported");

    // Bad cells of several kinds on several lines: each named with its line.
    let csv = format!(
        "subscription_id,started_at,minutes,agent,category\n\
         {sub},2026-10-05T08:00:00,30,a.kowalski,technical\n\
         {sub},2026-10-05T09:00:00Z,30,a.kowalski,\n\
         {sub},2026-10-05T10:00:00Z,ten,a.kowalski,technical\n\
         {sub},2026-10-05T10:00:00Z,30,a.kowalski,technical\n"
    );
    let r = app.post_csv("/api/v1/time-entries/import", &csv).await;
    assert_problem(&r, 422, "invalid_input");
    let mut found: Vec<(u64, String)> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap().to_string()))
        .collect();
    found.sort();
    assert_eq!(
        found,
        [(2, "started_at".to_string()), (3, "category".to_string()), (4, "minutes".to_string())],
        "{}",
        r.text
    );
    assert_eq!(count_entries(app).await, 1);

    // A bad reference found only in the database, on line 4: row 4, nothing imported.
    let csv = format!(
        "subscription_id,started_at,minutes,agent,category\n\
         {sub},2026-10-05T08:00:00Z,30,a.kowalski,technical\n\
         {sub},2026-10-05T09:00:00Z,30,a.kowalski,technical\n\
         999999,2026-10-05T10:00:00Z,30,a.kowalski,technical\n"
    );
    let r = app.post_csv("/api/v1/time-entries/import", &csv).await;
    assert_problem(&r, 422, "invalid_input");
    let errors = r.body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{}", r.text);
    assert_eq!(errors[0]["row"], 4, "{}", r.text);
    assert_eq!(errors[0]["field"], "subscription_id", "{}", r.text);
    assert_eq!(count_entries(app).await, 1);

    // A quoted description spanning two lines: the next record starts on line 4 of the file.
    let csv = format!(
        "subscription_id,started_at,minutes,agent,category,description\n\
         {sub},2026-10-05T08:00:00Z,30,a.kowalski,technical,\"two\nlines\"\n\
         {sub},2026-10-05T09:00:00Z,1441,a.kowalski,technical,one line\n"
    );
    let r = app.post_csv("/api/v1/time-entries/import", &csv).await;
    assert_problem(&r, 422, "invalid_input");
    assert_eq!(r.body["errors"][0]["row"], 4, "the line in the file, not the record number: {}", r.text);
    assert_eq!(count_entries(app).await, 1);

    // Unknown column: refused on the header line.
    let r = app.post_csv("/api/v1/time-entries/import", "subscription_id,started_at,minutes,agent,colour\n").await;
    assert_problem(&r, 422, "invalid_input");
    assert_eq!(r.body["errors"][0]["row"], 1, "{}", r.text);
    assert_eq!(count_entries(app).await, 1);
});

both_backends!(csv_import_by_subscription_external_id, |app| {
    let (customer, plan, sub) = billing_setup(app).await;
    let other = create(
        app,
        "/api/v1/subscriptions",
        &json!({"customer_id": customer, "plan_id": plan, "start_date": "2026-01-01", "product": "microsoft_365", "name": "Microsoft 365 E3",
                "external_id": "b2c3d4e5-0000-4000-8000-00000000bbbb"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();

    let csv = "agent,subscription_external_id,minutes,started_at,category\n\
               a.kowalski,a1b2c3d4-0000-4000-8000-00000000aaaa,30,2026-10-05T08:00:00Z,technical\n\
               a.kowalski,b2c3d4e5-0000-4000-8000-00000000bbbb,20,2026-10-05T09:00:00Z,technical\n\
               a.kowalski,a1b2c3d4-0000-4000-8000-00000000aaaa,10,2026-10-05T10:00:00Z,billing\n";
    let r = app.post_csv("/api/v1/time-entries/import", csv).await.expect(201);
    assert_eq!(r.body["imported"], 3);
    let on_sub: Vec<i64> = app
        .list_all(&format!("/api/v1/time-entries?subscription_id={sub}"), 100)
        .await
        .iter()
        .map(|e| e["minutes"].as_i64().unwrap())
        .collect();
    assert_eq!(on_sub, [30, 10]);
    let on_other: Vec<i64> = app
        .list_all(&format!("/api/v1/time-entries?subscription_id={other}"), 100)
        .await
        .iter()
        .map(|e| e["minutes"].as_i64().unwrap())
        .collect();
    assert_eq!(on_other, [20]);

    // `?subscription_by=external-id`: the subscription_id column holds Partner Center ids.
    let csv = "subscription_id,started_at,minutes,agent,category\n\
               b2c3d4e5-0000-4000-8000-00000000bbbb,2026-10-06T08:00:00Z,25,a.kowalski,technical\n";
    let r = app.post_csv("/api/v1/time-entries/import?subscription_by=external-id", csv).await.expect(201);
    assert_eq!(r.body["imported"], 1);
    assert_eq!(app.list_all(&format!("/api/v1/time-entries?subscription_id={other}"), 100).await.len(), 2);

    // An unknown external id: 422 naming the column and the line; nothing imported.
    let csv = "subscription_external_id,started_at,minutes,agent,category\n\
               a1b2c3d4-0000-4000-8000-00000000aaaa,2026-10-07T08:00:00Z,30,a.kowalski,technical\n\
               ffffffff-0000-4000-8000-000000000000,2026-10-07T09:00:00Z,30,a.kowalski,technical\n";
    let r = app.post_csv("/api/v1/time-entries/import", csv).await;
    assert_problem(&r, 422, "invalid_input");
    assert_eq!(r.body["errors"][0]["field"], "subscription_external_id", "{}", r.text);
    assert_eq!(r.body["errors"][0]["row"], 3, "{}", r.text);
    assert_eq!(count_entries(app).await, 4);

    // Control characters (a NUL byte, which PostgreSQL's text cannot hold) in either column:
    // 422 naming the column and the line, as for any other text.
    let csv = "subscription_external_id,started_at,minutes,agent,category\n\
               a1b2\u{0}c3d4,2026-10-07T08:00:00Z,30,a.kowalski,technical\n";
    let r = app.post_csv("/api/v1/time-entries/import", csv).await;
    assert_problem(&r, 422, "invalid_input");
    assert_eq!(
        (r.body["errors"][0]["field"].as_str(), r.body["errors"][0]["row"].as_i64()),
        (Some("subscription_external_id"), Some(2)),
        "{}",
        r.text
    );
    assert_eq!(r.body["errors"].as_array().unwrap().len(), 1, "{}", r.text);
    let csv = "subscription_id,started_at,minutes,agent,category\n\
               b2c3\u{0}d4e5,2026-10-06T08:00:00Z,25,a.kowalski,technical\n";
    let r = app.post_csv("/api/v1/time-entries/import?subscription_by=external-id", csv).await;
    assert_problem(&r, 422, "invalid_input");
    assert_eq!(
        (r.body["errors"][0]["field"].as_str(), r.body["errors"][0]["row"].as_i64()),
        (Some("subscription_id"), Some(2)),
        "{}",
        r.text
    );
    assert_eq!(count_entries(app).await, 4);
});

// A quote opened on line 3 and never closed made the rest of the file line 3's description:
// lines 4 and 5 were lost and the answer was `201 {"imported": 2}`. Now the file is refused,
// naming line 3, and nothing is imported; a description with a line break and a comma, quoted
// properly, still imports.
both_backends!(csv_import_refuses_an_unterminated_quote_and_names_its_line, |app| {
    let (_, _, sub) = billing_setup(app).await;
    let csv = format!(
        "subscription_id,started_at,minutes,agent,category,description\n\
         {sub},2026-10-05T08:00:00Z,30,a.kowalski,technical,first\n\
         {sub},2026-10-05T09:00:00Z,30,a.kowalski,technical,\"never closed\n\
         {sub},2026-10-05T10:00:00Z,30,a.kowalski,technical,fourth\n\
         {sub},2026-10-05T11:00:00Z,30,a.kowalski,technical,fifth\n"
    );
    let r = app.post_csv("/api/v1/time-entries/import", &csv).await;
    assert_problem(&r, 422, "invalid_input");
    let errors = r.body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{}", r.text);
    assert_eq!(errors[0]["row"], 3, "{}", r.text);
    assert!(errors[0]["message"].as_str().unwrap().starts_with("unterminated quoted field"), "{}", r.text);
    assert_eq!(count_entries(app).await, 0, "nothing imported");

    // A quote inside an unquoted cell is refused too (the same absorption's other door).
    let r = app.post_csv("/api/v1/time-entries/import", &csv.replace("\"never closed", "27\" screen")).await;
    assert_problem(&r, 422, "invalid_input");
    assert_eq!(r.body["errors"][0]["row"], 3, "{}", r.text);

    let fixed = csv.replace("\"never closed", "\"line one\nline two, with a comma\"");
    let r = app.post_csv("/api/v1/time-entries/import", &fixed).await.expect(201);
    assert_eq!(r.body, json!({"imported": 4}));
    let entries = app.list_all("/api/v1/time-entries", 100).await;
    let descriptions: Vec<&str> = entries.iter().map(|e| e["description"].as_str().unwrap()).collect();
    assert!(descriptions.contains(&"line one\nline two, with a comma"), "{descriptions:?}");
    assert!(descriptions.contains(&"fourth") && descriptions.contains(&"fifth"), "{descriptions:?}");
});
