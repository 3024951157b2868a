//! The billing invariants (SPEC section 3, issue 3 item 5), checked in SQL after concurrent
//! work: invoice numbers unique and gapless; nothing claimed by a void or credited invoice;
//! every claimed entry, ticket, charge and prepaid block on an invoice of its own customer, and
//! no block drawn beyond its minutes; every invoice's subtotal the sum of its lines. [`check`]
//! is shared with the multi-process test; the test here throws concurrent runs, single and bulk
//! issues, voids, deletes and re-runs at one server (both backends) and then checks them.

use std::collections::HashMap;

use diesel::prelude::*;
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::fixtures::*;
use supportbill::storage::schema::{
    block_draws, charges, invoice_lines, invoices, prepaid_blocks, subscriptions, ticket_claims, tickets, time_entries,
    time_entry_claims,
};
use supportbill::storage::DbConnection;

/// Panics with the first broken invariant.
pub fn check(conn: &mut DbConnection) {
    // Numbers: unique, and exactly INV-000001..N over every invoice that was ever issued.
    let mut numbers: Vec<String> = invoices::table
        .filter(invoices::number.is_not_null())
        .select(invoices::number.assume_not_null())
        .load(conn)
        .unwrap();
    numbers.sort();
    let expected: Vec<String> = (1..=numbers.len()).map(|n| format!("INV-{n:06}")).collect();
    assert_eq!(numbers, expected, "invoice numbers are not unique and gapless");

    let status: HashMap<i64, (String, i64)> = invoices::table
        .select((invoices::id, invoices::status, invoices::customer_id))
        .load::<(i64, String, i64)>(conn)
        .unwrap()
        .into_iter()
        .map(|(id, s, c)| (id, (s, c)))
        .collect();
    let customer_of_sub: HashMap<i64, i64> = subscriptions::table
        .select((subscriptions::id, subscriptions::customer_id))
        .load::<(i64, i64)>(conn)
        .unwrap()
        .into_iter()
        .collect();
    // No claim of an entry that does not exist (time_entry_claims has no foreign key to it).
    let dangling: i64 = time_entry_claims::table
        .left_join(time_entries::table)
        .filter(time_entries::id.nullable().is_null())
        .count()
        .get_result(conn)
        .unwrap();
    assert_eq!(dangling, 0, "claims of time entries that do not exist");
    // No claim of an invoice that does not exist (on PostgreSQL per-statement triggers enforce
    // this in place of the foreign key).
    let orphaned: i64 = time_entry_claims::table
        .left_join(invoices::table)
        .filter(invoices::id.nullable().is_null())
        .count()
        .get_result(conn)
        .unwrap();
    assert_eq!(orphaned, 0, "claims for invoices that do not exist");
    // The same for tickets' claims (ticket_claims, since migration 2026-12-01-000001).
    let dangling: i64 = ticket_claims::table
        .left_join(tickets::table)
        .filter(tickets::id.nullable().is_null())
        .count()
        .get_result(conn)
        .unwrap();
    assert_eq!(dangling, 0, "claims of tickets that do not exist");
    let orphaned: i64 = ticket_claims::table
        .left_join(invoices::table)
        .filter(invoices::id.nullable().is_null())
        .count()
        .get_result(conn)
        .unwrap();
    assert_eq!(orphaned, 0, "ticket claims for invoices that do not exist");
    // Every time entry names a subscription, and its ticket if any, that exist (on PostgreSQL
    // per-statement triggers enforce this in place of the foreign keys).
    let no_subscription: i64 = time_entries::table
        .left_join(subscriptions::table)
        .filter(subscriptions::id.nullable().is_null())
        .count()
        .get_result(conn)
        .unwrap();
    assert_eq!(no_subscription, 0, "time entries of subscriptions that do not exist");
    let no_ticket: i64 = time_entries::table
        .left_join(tickets::table.on(time_entries::ticket_id.eq(tickets::id.nullable())))
        .filter(time_entries::ticket_id.is_not_null().and(tickets::id.nullable().is_null()))
        .count()
        .get_result(conn)
        .unwrap();
    assert_eq!(no_ticket, 0, "time entries of tickets that do not exist");
    let claims: Vec<(&str, i64, i64)> = time_entry_claims::table
        .inner_join(time_entries::table)
        .select((time_entries::subscription_id, time_entry_claims::invoice_id))
        .load::<(i64, i64)>(conn)
        .unwrap()
        .into_iter()
        .map(|(s, i)| ("time entry", s, i))
        .chain(
            ticket_claims::table
                .inner_join(tickets::table)
                .select((tickets::subscription_id, ticket_claims::invoice_id))
                .load::<(i64, i64)>(conn)
                .unwrap()
                .into_iter()
                .map(|(s, i)| ("ticket", s, i)),
        )
        .chain(
            charges::table
                .filter(charges::invoice_id.is_not_null())
                .select((charges::subscription_id, charges::invoice_id.assume_not_null()))
                .load::<(i64, i64)>(conn)
                .unwrap()
                .into_iter()
                .map(|(s, i)| ("charge", s, i)),
        )
        .chain(
            prepaid_blocks::table
                .filter(prepaid_blocks::invoice_id.is_not_null())
                .select((prepaid_blocks::subscription_id, prepaid_blocks::invoice_id.assume_not_null()))
                .load::<(i64, i64)>(conn)
                .unwrap()
                .into_iter()
                .map(|(s, i)| ("prepaid block purchase", s, i)),
        )
        .chain(
            block_draws::table
                .inner_join(prepaid_blocks::table)
                .select((prepaid_blocks::subscription_id, block_draws::invoice_id))
                .load::<(i64, i64)>(conn)
                .unwrap()
                .into_iter()
                .map(|(s, i)| ("prepaid block draw", s, i)),
        )
        .collect();
    // No block gives more minutes than it holds (SPEC 7.5).
    let mut drawn: HashMap<i64, (Decimal, i32)> = HashMap::new();
    for (block, minutes, held) in block_draws::table
        .inner_join(prepaid_blocks::table)
        .select((block_draws::block_id, block_draws::minutes, prepaid_blocks::minutes))
        .load::<(i64, supportbill::storage::Dec, i32)>(conn)
        .unwrap()
    {
        let slot = drawn.entry(block).or_insert((Decimal::ZERO, held));
        slot.0 += minutes.0;
    }
    for (block, (sum, held)) in drawn {
        assert!(sum <= Decimal::from(held), "block {block} gave {sum} of its {held} minutes");
    }
    for (what, sub, invoice) in claims {
        let (s, customer) = status
            .get(&invoice)
            .unwrap_or_else(|| panic!("a {what} is claimed by invoice {invoice}, which does not exist"));
        assert!(s == "draft" || s == "issued", "a {what} is still claimed by {s} invoice {invoice}");
        assert_eq!(customer_of_sub[&sub], *customer, "a {what} of another customer is on invoice {invoice}");
    }

    // Subtotal = the sum of the lines, exactly.
    let mut sums: HashMap<i64, Decimal> = HashMap::new();
    for (invoice, amount) in invoice_lines::table
        .select((invoice_lines::invoice_id, invoice_lines::amount))
        .load::<(i64, supportbill::storage::Dec)>(conn)
        .unwrap()
    {
        *sums.entry(invoice).or_default() += amount.0;
    }
    for (id, subtotal) in invoices::table
        .select((invoices::id, invoices::subtotal))
        .load::<(i64, supportbill::storage::Dec)>(conn)
        .unwrap()
    {
        assert_eq!(
            sums.get(&id).copied().unwrap_or_default(),
            subtotal.0,
            "invoice {id}: subtotal is not the sum of its lines"
        );
    }
}

const OCTOBER: &str = r#"{"period_start": "2026-10-01", "period_end": "2026-11-01"}"#;

both_backends!(concurrent_runs_issues_voids_and_deletes_keep_the_invariants, |app| {
    let plan = create(app, "/api/v1/plans", &standard_plan()).await["id"].as_i64().unwrap();
    for i in 0..10 {
        let c = create(app, "/api/v1/customers", &customer_named(&format!("Mixed {i}"))).await["id"].as_i64().unwrap();
        let sub = create(
            app,
            "/api/v1/subscriptions",
            &json!({"customer_id": c, "plan_id": plan, "start_date": "2026-01-01", "product": "azure", "name": "Azure plan"}),
        )
        .await["id"]
            .as_i64()
            .unwrap();
        let entries: Vec<Value> = (0..5)
            .map(|k| json!({"subscription_id": sub, "agent": "a.kowalski", "started_at": format!("2026-10-{:02}T09:00:00Z", 5 + k), "minutes": 30 + k, "category": "technical"}))
            .collect();
        app.post_json("/api/v1/time-entries", &json!(entries)).await.expect(201);
    }
    let run: Value = serde_json::from_str(OCTOBER).unwrap();
    // Three runs at once: each customer is drafted once.
    let runs = futures_util::future::join_all((0..3).map(|_| app.post_json("/api/v1/invoices/run", &run))).await;
    let mut drafts: Vec<i64> = Vec::new();
    for r in &runs {
        assert!(r.status == 201 || r.status == 409, "run: {} {}", r.status, r.text);
        if r.status == 201 {
            drafts.extend(r.data().iter().map(|d| d["id"].as_i64().unwrap()));
        }
    }
    drafts.sort_unstable();
    assert_eq!(drafts.len(), 10, "one draft per customer across three concurrent runs");
    check(&mut app.conn());

    // At once: a bulk issue of the first half, single issues of everything, deletes of the last three.
    let empty = json!({});
    let bulk = json!({"invoice_ids": drafts[..5].to_vec()});
    let singles: Vec<String> = drafts.iter().map(|id| format!("/api/v1/invoices/{id}/issue")).collect();
    let deletes: Vec<String> = drafts[7..].iter().map(|id| format!("/api/v1/invoices/{id}")).collect();
    let (b, s, d) = futures_util::future::join3(
        app.post_json("/api/v1/invoices/issue", &bulk),
        futures_util::future::join_all(singles.iter().map(|p| app.post_json(p, &empty))),
        futures_util::future::join_all(deletes.iter().map(|p| app.delete(p))),
    )
    .await;
    for r in std::iter::once(&b).chain(s.iter()).chain(d.iter()) {
        assert!([200, 204, 404, 409].contains(&r.status), "{} {}", r.status, r.text);
    }
    check(&mut app.conn());

    // Void every issued invoice while two re-runs draft what was freed.
    let issued: Vec<i64> =
        app.list_all("/api/v1/invoices?status=issued", 100).await.iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert!(!issued.is_empty());
    let voids: Vec<String> = issued.iter().map(|id| format!("/api/v1/invoices/{id}/void")).collect();
    let (v, reruns) = futures_util::future::join(
        futures_util::future::join_all(voids.iter().map(|p| app.post_json(p, &empty))),
        futures_util::future::join_all((0..2).map(|_| app.post_json("/api/v1/invoices/run", &run))),
    )
    .await;
    for r in v.iter().chain(reruns.iter()) {
        assert!([200, 201, 409].contains(&r.status), "{} {}", r.status, r.text);
    }
    // A last run picks up anything a re-run missed while the voids were going on.
    app.post_json("/api/v1/invoices/run", &run).await.expect(201);
    check(&mut app.conn());
    // Every entry is billed once again: on a draft or an issued invoice.
    let mut conn = app.conn();
    let unbilled: i64 = time_entries::table
        .left_join(time_entry_claims::table)
        .filter(time_entry_claims::time_entry_id.nullable().is_null())
        .count()
        .get_result(&mut *conn)
        .unwrap();
    assert_eq!(unbilled, 0, "entries freed by the voids were not billed again");
});

// The migration that moved claims out of `time_entries` into `time_entry_claims` keeps every
// claim, both ways: down puts them back into `time_entries.invoice_id`, up moves them again.
both_backends!(the_claims_migration_keeps_every_claim_both_ways, |app| {
    use diesel::sql_types::BigInt;
    #[derive(diesel::QueryableByName)]
    struct Pair {
        #[diesel(sql_type = BigInt)]
        entry: i64,
        #[diesel(sql_type = BigInt)]
        invoice: i64,
    }
    let (customer, _, sub) = crate::fixtures::billing_setup(app).await;
    for minutes in [30, 45, 60] {
        app.post_json("/api/v1/time-entries", &crate::fixtures::entry(sub, minutes)).await.expect(201);
    }
    let draft = app
        .post_json(
            "/api/v1/invoices",
            &serde_json::json!({"customer_id": customer, "period_start": "2026-10-01", "period_end": "2026-11-01"}),
        )
        .await
        .expect(201)
        .id();
    // One more entry, unclaimed.
    app.post_json("/api/v1/time-entries", &crate::fixtures::entry(sub, 15)).await.expect(201);
    let mut conn = app.conn();
    let claims = |conn: &mut supportbill::storage::DbConnection, sql: &str| -> Vec<(i64, i64)> {
        diesel::sql_query(sql).load::<Pair>(conn).unwrap().into_iter().map(|p| (p.entry, p.invoice)).collect()
    };
    let before =
        claims(&mut conn, "SELECT time_entry_id AS entry, invoice_id AS invoice FROM time_entry_claims ORDER BY 1");
    assert_eq!(before.len(), 3, "the draft claims its three entries");
    assert!(before.iter().all(|&(_, inv)| inv == draft));

    // Down to just before the claims migration (later ones first).
    loop {
        let reverted = supportbill::storage::revert_last_migration(&mut conn).unwrap();
        if reverted.starts_with("20261128000001") {
            break;
        }
        assert!(reverted.as_str() > "20261128000001", "went past the claims migration: {reverted}");
    }
    let down = claims(
        &mut conn,
        "SELECT id AS entry, invoice_id AS invoice FROM time_entries WHERE invoice_id IS NOT NULL ORDER BY 1",
    );
    assert_eq!(down, before);
    let entries: Vec<Pair> =
        diesel::sql_query("SELECT id AS entry, id AS invoice FROM time_entries").load(&mut *conn).unwrap();
    assert_eq!(entries.len(), 4, "no entry lost on the way down");

    supportbill::storage::migrate(&mut conn).unwrap();
    assert_eq!(
        claims(&mut conn, "SELECT time_entry_id AS entry, invoice_id AS invoice FROM time_entry_claims ORDER BY 1"),
        before
    );
    drop(conn);
    // The service sees the same: three claimed entries, one free.
    let listed = app.list_all(&format!("/api/v1/time-entries?subscription_id={sub}"), 100).await;
    assert_eq!(listed.len(), 4);
    assert_eq!(listed.iter().filter(|e| e["invoice_id"] == serde_json::json!(draft)).count(), 3);
    check(&mut app.conn());
});

// A claim always names an invoice that exists, and an invoice with claims stays: the foreign key
// on SQLite, per-statement triggers on PostgreSQL (migration 2026-11-29-000001). Each write
// below goes around the service, straight at the tables, and must be refused and leave nothing.
both_backends!(claims_name_invoices_that_exist_and_keep_them, |app| {
    let (customer, _, sub) = crate::fixtures::billing_setup(app).await;
    let mut entries = Vec::new();
    for minutes in [30, 45] {
        entries
            .push(app.post_json("/api/v1/time-entries", &crate::fixtures::entry(sub, minutes)).await.expect(201).id());
    }
    let draft = app
        .post_json(
            "/api/v1/invoices",
            &json!({"customer_id": customer, "period_start": "2026-10-01", "period_end": "2026-11-01"}),
        )
        .await
        .expect(201)
        .id();
    let free = app.post_json("/api/v1/time-entries", &crate::fixtures::entry(sub, 15)).await.expect(201).id();
    let mut conn = app.conn();
    let claims = |conn: &mut DbConnection| -> Vec<(i64, i64)> {
        time_entry_claims::table
            .select((time_entry_claims::time_entry_id, time_entry_claims::invoice_id))
            .order(time_entry_claims::time_entry_id)
            .load(conn)
            .unwrap()
    };
    let before = claims(&mut conn);
    assert_eq!(before, entries.iter().map(|&e| (e, draft)).collect::<Vec<_>>());

    // A claim for an invoice that does not exist, alone and beside a good one.
    let missing = draft + 1000;
    for rows in [vec![(free, missing)], vec![(free, draft), (free + 1000, missing)]] {
        let values: Vec<_> = rows
            .iter()
            .map(|&(e, i)| (time_entry_claims::time_entry_id.eq(e), time_entry_claims::invoice_id.eq(i)))
            .collect();
        let refused = supportbill::storage::write_tx(&mut conn, |conn| match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(time_entry_claims::table).values(&values).execute(c),
            DbConnection::Postgresql(c) => diesel::insert_into(time_entry_claims::table).values(&values).execute(c),
        });
        assert!(refused.is_err(), "a claim for invoice {missing}, which does not exist, was accepted: {rows:?}");
    }
    // Moving a claim to an invoice that does not exist.
    let moved = supportbill::storage::write_tx(&mut conn, |conn| {
        diesel::update(time_entry_claims::table.find(entries[0]))
            .set(time_entry_claims::invoice_id.eq(missing))
            .execute(conn)
    });
    assert!(moved.is_err(), "a claim was moved to an invoice that does not exist");
    // Deleting the invoice while it still claims entries, and changing its id.
    let deleted =
        supportbill::storage::write_tx(&mut conn, |conn| diesel::delete(invoices::table.find(draft)).execute(conn));
    assert!(deleted.is_err(), "an invoice with claims was deleted");
    let renumbered = supportbill::storage::write_tx(&mut conn, |conn| {
        diesel::update(invoices::table.find(draft)).set(invoices::id.eq(missing)).execute(conn)
    });
    assert!(renumbered.is_err(), "an invoice with claims changed its id");
    assert_eq!(claims(&mut conn), before, "the refused writes left the claims as they were");
    check(&mut conn);
    drop(conn);

    // Through the service, deleting the draft frees its entries.
    app.delete(&format!("/api/v1/invoices/{draft}")).await.expect(204);
    assert!(claims(&mut app.conn()).is_empty());
});

// A time entry always names a subscription, and a ticket if any, that exist, and those stay:
// the foreign keys on SQLite, per-statement triggers on PostgreSQL (migration
// 2026-11-29-000002). Each write below goes around the service and must be refused.
both_backends!(time_entries_name_subscriptions_and_tickets_that_exist_and_keep_them, |app| {
    use supportbill::storage::models::NewTimeEntry;
    let (_, _, sub) = crate::fixtures::billing_setup(app).await;
    let ticket = app
        .post_json(
            "/api/v1/tickets",
            &json!({"subscription_id": sub, "title": "VM will not start", "category": "technical",
            "severity": "high", "opened_at": "2026-10-05T07:55:00Z"}),
        )
        .await
        .expect(201)
        .id();
    let mut on_ticket = crate::fixtures::entry(sub, 30);
    on_ticket["ticket_id"] = json!(ticket);
    let entry = app.post_json("/api/v1/time-entries", &on_ticket).await.expect(201).id();
    let row = |subscription_id: i64, ticket_id: Option<i64>| NewTimeEntry {
        subscription_id,
        ticket_id,
        agent: "a.kowalski".into(),
        started_at: chrono::NaiveDate::from_ymd_opt(2026, 10, 6).unwrap().and_hms_opt(9, 0, 0).unwrap(),
        minutes: 15,
        category: supportbill::domain::pricing::Category::Technical,
        billable: true,
        description: String::new(),
    };
    let mut conn = app.conn();
    let count = |conn: &mut DbConnection| -> i64 { time_entries::table.count().get_result(conn).unwrap() };
    let before = count(&mut conn);
    let bad_batches = [
        vec![row(sub + 1000, None)],
        vec![row(sub, Some(ticket + 1000))],
        vec![row(sub, Some(ticket)), row(sub, None), row(sub + 1000, Some(ticket))],
    ];
    for rows in &bad_batches {
        let refused = supportbill::storage::write_tx(&mut conn, |conn| match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(time_entries::table).values(rows).execute(c),
            DbConnection::Postgresql(c) => diesel::insert_into(time_entries::table).values(rows).execute(c),
        });
        assert!(refused.is_err(), "entries naming what does not exist were accepted: {rows:?}");
        // The import's path on PostgreSQL: COPY.
        if let DbConnection::Postgresql(c) = &mut *conn {
            let copied = c.transaction(|c| diesel::copy_from(time_entries::table).from_insertable(rows).execute(c));
            assert!(copied.is_err(), "COPY of entries naming what does not exist was accepted: {rows:?}");
        }
    }
    for (what, change) in [("subscription", Some(sub + 1000)), ("ticket", None)] {
        let moved = supportbill::storage::write_tx(&mut conn, |conn| match change {
            Some(s) => {
                diesel::update(time_entries::table.find(entry)).set(time_entries::subscription_id.eq(s)).execute(conn)
            }
            None => diesel::update(time_entries::table.find(entry))
                .set(time_entries::ticket_id.eq(Some(ticket + 1000)))
                .execute(conn),
        });
        assert!(moved.is_err(), "an entry was moved to a {what} that does not exist");
    }
    let gone =
        supportbill::storage::write_tx(&mut conn, |conn| diesel::delete(tickets::table.find(ticket)).execute(conn));
    assert!(gone.is_err(), "a ticket with time entries was deleted");
    let gone =
        supportbill::storage::write_tx(&mut conn, |conn| diesel::delete(subscriptions::table.find(sub)).execute(conn));
    assert!(gone.is_err(), "a subscription with time entries was deleted");
    let renumbered = supportbill::storage::write_tx(&mut conn, |conn| {
        diesel::update(tickets::table.find(ticket)).set(tickets::id.eq(ticket + 1000)).execute(conn)
    });
    assert!(renumbered.is_err(), "a ticket with time entries changed its id");
    let renumbered = supportbill::storage::write_tx(&mut conn, |conn| {
        diesel::update(subscriptions::table.find(sub)).set(subscriptions::id.eq(sub + 1000)).execute(conn)
    });
    assert!(renumbered.is_err(), "a subscription with time entries changed its id");
    assert_eq!(count(&mut conn), before, "the refused writes added nothing");
    check(&mut conn);
    drop(conn);
    // The service's own refusal stays a 409 with its own words.
    let r = app.delete(&format!("/api/v1/subscriptions/{sub}")).await;
    assert_eq!(r.status, 409, "{}", r.text);
});

// A per-incident plan bills each qualifying ticket once (SPEC P7): the draft claims its tickets
// (`ticket_claims`, migration 2026-12-01-000001), a second draft finds nothing to bill, a
// claimed ticket can be neither deleted nor re-categorised, and deleting the draft frees them.
// Writes around the service that would break a claim are refused on both backends, and the
// migration keeps every claim both ways.
both_backends!(tickets_are_billed_once_and_their_claims_survive_the_migration, |app| {
    use diesel::sql_types::BigInt;
    #[derive(diesel::QueryableByName, Debug, PartialEq)]
    struct Pair {
        #[diesel(sql_type = BigInt)]
        ticket: i64,
        #[diesel(sql_type = BigInt)]
        invoice: i64,
    }
    let hours =
        json!({"timezone": "Europe/Berlin", "days": ["mon","tue","wed","thu","fri"], "start": "09:00", "end": "17:00"});
    let plan = create(
        app,
        "/api/v1/plans",
        &json!({"name": "Per incident", "currency": "EUR", "billing_model": "per_incident",
        "incident_fee": "95.00", "hours_of_service": hours}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let customer = create(app, "/api/v1/customers", &customer_named("Incident GmbH")).await["id"].as_i64().unwrap();
    let sub = create(
        app,
        "/api/v1/subscriptions",
        &json!({"customer_id": customer, "plan_id": plan, "start_date": "2026-01-01", "product": "azure", "name": "Azure plan"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let mut tickets_opened = Vec::new();
    for (day, title) in [(5, "VM will not start"), (12, "Mailbox full"), (20, "Licence missing")] {
        let t = app
            .post_json(
                "/api/v1/tickets",
                &json!({"subscription_id": sub, "title": title, "category": "technical", "severity": "high",
                "opened_at": format!("2026-10-{day:02}T07:55:00Z")}),
            )
            .await
            .expect(201)
            .id();
        tickets_opened.push(t);
    }
    // Opened in November: not October's to bill.
    let november = app
        .post_json(
            "/api/v1/tickets",
            &json!({"subscription_id": sub, "title": "Later", "category": "technical", "severity": "low",
            "opened_at": "2026-11-02T07:55:00Z"}),
        )
        .await
        .expect(201)
        .id();
    let period = json!({"customer_id": customer, "period_start": "2026-10-01", "period_end": "2026-11-01"});
    let draft = app.post_json("/api/v1/invoices", &period).await.expect(201);
    let draft_id = draft.id();
    let fee: Vec<&Value> =
        draft.body["lines"].as_array().unwrap().iter().filter(|l| l["kind"] == "incident_fee").collect();
    assert_eq!(fee.len(), 1, "{}", draft.text);
    assert_eq!(fee[0]["quantity"], "3");
    assert_eq!(fee[0]["amount"], "285.00");
    for &t in &tickets_opened {
        assert_eq!(
            app.get(&format!("/api/v1/tickets/{t}")).await.expect(200).body["invoice_id"],
            json!(draft_id),
            "ticket {t}"
        );
    }
    assert_eq!(app.get(&format!("/api/v1/tickets/{november}")).await.expect(200).body["invoice_id"], Value::Null);

    // Billed once: a second draft of October has nothing left to bill.
    crate::harness::assert_problem(&app.post_json("/api/v1/invoices", &period).await, 422, "nothing_to_invoice");
    // A claimed ticket keeps what it was billed as, and stays.
    let t0 = tickets_opened[0];
    let r = app.patch_json(&format!("/api/v1/tickets/{t0}"), &json!({"category": "billing"})).await;
    assert_eq!(r.status, 409, "{}", r.text);
    let r = app.delete(&format!("/api/v1/tickets/{t0}")).await;
    assert_eq!(r.status, 409, "{}", r.text);
    // Closing it is still allowed.
    app.patch_json(&format!("/api/v1/tickets/{t0}"), &json!({"closed_at": "2026-10-06T10:00:00Z"})).await.expect(200);

    let mut conn = app.conn();
    let claims =
        |conn: &mut DbConnection, sql: &str| -> Vec<Pair> { diesel::sql_query(sql).load::<Pair>(conn).unwrap() };
    let before = claims(&mut conn, "SELECT ticket_id AS ticket, invoice_id AS invoice FROM ticket_claims ORDER BY 1");
    assert_eq!(before, tickets_opened.iter().map(|&t| Pair { ticket: t, invoice: draft_id }).collect::<Vec<_>>());

    // Around the service: a claim for an invoice that does not exist, alone and beside a good
    // one; a second claim of a claimed ticket; deleting the invoice that claims them.
    let missing = draft_id + 1000;
    for rows in
        [vec![(november, missing)], vec![(november, draft_id), (november + 1000, missing)], vec![(t0, draft_id)]]
    {
        let values: Vec<_> =
            rows.iter().map(|&(t, i)| (ticket_claims::ticket_id.eq(t), ticket_claims::invoice_id.eq(i))).collect();
        let refused = supportbill::storage::write_tx(&mut conn, |conn| match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(ticket_claims::table).values(&values).execute(c),
            DbConnection::Postgresql(c) => diesel::insert_into(ticket_claims::table).values(&values).execute(c),
        });
        assert!(refused.is_err(), "a ticket claim that breaks the rules was accepted: {rows:?}");
    }
    let moved = supportbill::storage::write_tx(&mut conn, |conn| {
        diesel::update(ticket_claims::table.find(t0)).set(ticket_claims::invoice_id.eq(missing)).execute(conn)
    });
    assert!(moved.is_err(), "a ticket claim was moved to an invoice that does not exist");
    let deleted = supportbill::storage::write_tx(&mut conn, |conn| {
        diesel::delete(time_entry_claims::table.filter(time_entry_claims::invoice_id.eq(draft_id))).execute(conn)?;
        diesel::delete(invoice_lines::table.filter(invoice_lines::invoice_id.eq(draft_id))).execute(conn)?;
        diesel::delete(invoices::table.find(draft_id)).execute(conn)
    });
    assert!(deleted.is_err(), "an invoice that claims tickets was deleted");
    assert_eq!(
        claims(&mut conn, "SELECT ticket_id AS ticket, invoice_id AS invoice FROM ticket_claims ORDER BY 1"),
        before
    );
    check(&mut conn);

    // Down to just before the ticket claims migration, and up again.
    loop {
        let reverted = supportbill::storage::revert_last_migration(&mut conn).unwrap();
        if reverted.starts_with("20261201000001") {
            break;
        }
        assert!(reverted.as_str() > "20261201000001", "went past the ticket claims migration: {reverted}");
    }
    assert_eq!(
        claims(
            &mut conn,
            "SELECT id AS ticket, invoice_id AS invoice FROM tickets WHERE invoice_id IS NOT NULL ORDER BY 1"
        ),
        before
    );
    supportbill::storage::migrate(&mut conn).unwrap();
    assert_eq!(
        claims(&mut conn, "SELECT ticket_id AS ticket, invoice_id AS invoice FROM ticket_claims ORDER BY 1"),
        before
    );
    drop(conn);

    // Deleting the draft frees the tickets; the next draft bills them again, once.
    app.delete(&format!("/api/v1/invoices/{draft_id}")).await.expect(204);
    assert!(claims(&mut app.conn(), "SELECT ticket_id AS ticket, invoice_id AS invoice FROM ticket_claims").is_empty());
    assert_eq!(app.get(&format!("/api/v1/tickets/{t0}")).await.expect(200).body["invoice_id"], Value::Null);
    let redraft = app.post_json("/api/v1/invoices", &period).await.expect(201);
    let fee: Vec<&Value> =
        redraft.body["lines"].as_array().unwrap().iter().filter(|l| l["kind"] == "incident_fee").collect();
    assert_eq!(fee[0]["quantity"], "3");
    check(&mut app.conn());
});
