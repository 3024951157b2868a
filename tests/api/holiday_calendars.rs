//! Holiday calendars (SPEC 7.3): create, read, replace, delete; who may; the fields bad input
//! names; and iCalendar imports (the German public holidays as a holiday site publishes them, a
//! team calendar with entries that are no days off, broken files that change nothing).

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde_json::{json, Value};

use supportbill::domain::vocab::Role;
use supportbill::service::holidays;

use crate::fixtures::*;
use crate::harness::*;

const GERMANY: &str = include_str!("../fixtures/holidays_de.ics");
const TEAM: &str = include_str!("../fixtures/holidays_mixed.ics");

async fn post_ics_as(app: &TestApp, token: &str, id: i64, ics: &[u8]) -> Resp {
    let path = format!("/api/v1/holiday-calendars/{id}/import");
    app.send("POST", &path, Some(token), Some("text/calendar"), Some(ics.to_vec())).await
}

async fn post_ics(app: &TestApp, id: i64, ics: &[u8]) -> Resp {
    post_ics_as(app, &app.admin_token, id, ics).await
}

/// `(date, name)` of every day of a calendar or an import answer.
fn days(body: &Value) -> Vec<(String, String)> {
    body["days"]
        .as_array()
        .unwrap_or_else(|| panic!("no days in {body}"))
        .iter()
        .map(|d| (d["date"].as_str().unwrap().to_string(), d["name"].as_str().unwrap().to_string()))
        .collect()
}

fn day(date: &str, name: &str) -> (String, String) {
    (date.to_string(), name.to_string())
}

both_backends!(holiday_calendar_crud, |app| {
    // Days come back in date order, whatever order they were sent in.
    let r = app
        .post_json(
            "/api/v1/holiday-calendars",
            &json!({"name": "Bayern", "days": [
                {"date": "2026-12-25", "name": "1. Weihnachtstag"},
                {"date": "2026-01-06", "name": "Heilige Drei Könige"},
                {"date": "2026-06-04", "name": "Fronleichnam"}]}),
        )
        .await
        .expect(201);
    let id = r.id();
    assert_eq!(r.body["name"], "Bayern");
    assert_eq!(
        days(&r.body),
        [
            day("2026-01-06", "Heilige Drei Könige"),
            day("2026-06-04", "Fronleichnam"),
            day("2026-12-25", "1. Weihnachtstag")
        ]
    );
    assert!(chrono::DateTime::parse_from_rfc3339(r.body["created_at"].as_str().unwrap()).is_ok(), "{}", r.text);
    assert_eq!(app.get(&format!("/api/v1/holiday-calendars/{id}")).await.expect(200).body, r.body);

    // Without days: an empty calendar.
    let empty = create(app, "/api/v1/holiday-calendars", &json!({"name": "Leer"})).await;
    assert_eq!(days(&empty), []);

    // The list counts days rather than listing them, and pages.
    let list = app.get("/api/v1/holiday-calendars?limit=1").await.expect(200);
    assert_eq!(list.data().len(), 1);
    assert_eq!(list.data()[0]["name"], "Bayern");
    assert_eq!(list.data()[0]["day_count"], 3);
    assert!(list.data()[0].get("days").is_none(), "{}", list.text);
    let all = app.list_all("/api/v1/holiday-calendars", 1).await;
    assert_eq!(all.iter().map(|c| c["day_count"].as_i64().unwrap()).collect::<Vec<_>>(), [3, 0]);

    // PUT replaces the name and every day.
    let put = app
        .put_json(
            &format!("/api/v1/holiday-calendars/{id}"),
            &json!({"name": "Bayern 2027", "days": [{"date": "2027-01-06", "name": "Heilige Drei Könige"}]}),
        )
        .await
        .expect(200);
    assert_eq!(put.body["name"], "Bayern 2027");
    assert_eq!(days(&put.body), [day("2027-01-06", "Heilige Drei Könige")]);
    assert_eq!(app.get(&format!("/api/v1/holiday-calendars/{id}")).await.expect(200).body, put.body);

    // DELETE: gone with its days; a second time, or any other unknown id, 404.
    app.delete(&format!("/api/v1/holiday-calendars/{id}")).await.expect(204);
    assert_problem(&app.get(&format!("/api/v1/holiday-calendars/{id}")).await, 404, "not_found");
    assert_problem(&app.delete(&format!("/api/v1/holiday-calendars/{id}")).await, 404, "not_found");
    let put_gone = app.put_json(&format!("/api/v1/holiday-calendars/{id}"), &json!({"name": "x"})).await;
    assert_problem(&put_gone, 404, "not_found");
    assert_eq!(app.list_all("/api/v1/holiday-calendars", 10).await.len(), 1);

    // Every write is in the audit trail under its own resource name.
    let audit = app.get(&format!("/api/v1/audit?resource=holiday_calendar&resource_id={id}")).await.expect(200);
    let actions: BTreeSet<String> = audit.data().iter().map(|e| e["action"].as_str().unwrap().to_string()).collect();
    assert_eq!(actions, ["created", "deleted", "updated"].map(String::from).into());
});

both_backends!(holiday_calendar_roles, |app| {
    let finance = app.make_key(Role::Finance, None);
    let customer = create(app, "/api/v1/customers", &mueller()).await["id"].as_i64().unwrap();
    let client = app.make_key(Role::Client, Some(customer));

    // Finance writes and reads like admin.
    let r =
        app.post_json_as(&finance, "/api/v1/holiday-calendars", &json!({"name": "DE", "days": []})).await.expect(201);
    let id = r.id();
    post_ics_as(app, &finance, id, TEAM.as_bytes()).await.expect(200);
    app.get_as(&finance, &format!("/api/v1/holiday-calendars/{id}")).await.expect(200);
    app.get_as(&finance, "/api/v1/holiday-calendars").await.expect(200);

    // A client key: 404 everywhere, as if there were no calendars, and nothing changes.
    let path = format!("/api/v1/holiday-calendars/{id}");
    for (method, path, body) in [
        ("GET", "/api/v1/holiday-calendars".to_string(), None),
        ("POST", "/api/v1/holiday-calendars".to_string(), Some(json!({"name": "mine"}))),
        ("GET", path.clone(), None),
        ("PUT", path.clone(), Some(json!({"name": "mine"}))),
        ("DELETE", path.clone(), None),
    ] {
        let body = body.map(|b| b.to_string().into_bytes());
        let r = app.send(method, &path, Some(&client), Some("application/json"), body).await;
        assert_problem(&r, 404, "not_found");
    }
    assert_problem(&post_ics_as(app, &client, id, GERMANY.as_bytes()).await, 404, "not_found");
    // Without a key: 401.
    assert_problem(&app.send("GET", &path, None, None, None).await, 401, "unauthorized");

    let after = app.get(&path).await.expect(200);
    assert_eq!(after.body["name"], "DE");
    assert_eq!(days(&after.body).len(), 5, "{}", after.text);
});

both_backends!(holiday_calendar_validation_names_the_field, |app| {
    let r = app
        .post_json(
            "/api/v1/holiday-calendars",
            &json!({"name": " ", "days": [
                {"date": "2026-12-25", "name": "1. Weihnachtstag"},
                {"date": "2026-02-30", "name": "Kein Tag"},
                {"date": "2026-12-25", "name": "Doppelt"},
                {"date": "2200-01-01", "name": "Zu spät"},
                {"date": "1999-12-31", "name": "Zu früh"},
                {"date": "2026-10-03", "name": ""},
                {"date": "03.10.2026", "name": "Deutsch geschrieben"}]}),
        )
        .await;
    assert_invalid(&r, "name");
    let fields: BTreeSet<String> = r.error_fields().into_iter().collect();
    let expected: BTreeSet<String> =
        ["name", "days[1].date", "days[2].date", "days[3].date", "days[4].date", "days[5].name", "days[6].date"]
            .map(String::from)
            .into();
    assert_eq!(fields, expected, "{}", r.text);
    let duplicate = r.body["errors"].as_array().unwrap().iter().find(|e| e["field"] == "days[2].date").unwrap();
    assert_eq!(duplicate["message"], "2026-12-25 is already given at days[0]");

    // Wrong shapes name their field too.
    assert_invalid(&app.post_json("/api/v1/holiday-calendars", &json!({"days": []})).await, "name");
    assert_invalid(
        &app.post_json("/api/v1/holiday-calendars", &json!({"name": "x", "days": [{"date": "2026-01-01"}]})).await,
        "days[0].name",
    );
    assert_invalid(&app.post_json("/api/v1/holiday-calendars", &json!({"name": "x", "colour": "red"})).await, "colour");
    assert_invalid(&app.post_json("/api/v1/holiday-calendars", &json!({"name": "x", "days": {}})).await, "days");

    // A PUT is checked the same way, and a refused one changes nothing.
    let id = create(
        app,
        "/api/v1/holiday-calendars",
        &json!({"name": "DE", "days": [{"date": "2026-10-03", "name": "Einheit"}]}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let put = app
        .put_json(
            &format!("/api/v1/holiday-calendars/{id}"),
            &json!({"name": "DE", "days": [{"date": "2026-05-01", "name": "a"}, {"date": "2026-05-01", "name": "b"}]}),
        )
        .await;
    assert_invalid(&put, "days[1].date");
    let kept = app.get(&format!("/api/v1/holiday-calendars/{id}")).await.expect(200);
    assert_eq!(days(&kept.body), [day("2026-10-03", "Einheit")]);
    assert_eq!(app.list_all("/api/v1/holiday-calendars", 10).await.len(), 1, "only the good calendar exists");
});

both_backends!(holiday_calendar_imports_the_german_holidays, |app| {
    // The calendar already has Christmas under its own name: the import keeps it.
    let id = create(
        app,
        "/api/v1/holiday-calendars",
        &json!({"name": "Deutschland", "days": [{"date": "2026-12-25", "name": "Christtag"}]}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let r = post_ics(app, id, GERMANY.as_bytes()).await.expect(200);
    // Neujahr and Tag der Arbeit recur yearly without end: ten years each, 2026 to 2035. The
    // Einheit recurs until 2027-10-03 and the Weihnachtstage twice (COUNT=2): 2 each. Karfreitag,
    // Ostermontag, Himmelfahrt and Pfingstmontag are listed for 2026 and 2027: 8.
    // 10 + 10 + 2 + 2 + 2 + 8 = 34 days, one of which the calendar had.
    assert_eq!(
        (r.body["imported"].as_i64(), r.body["added"].as_i64(), r.body["ignored"].as_i64()),
        (Some(34), Some(33), Some(0))
    );
    let got = days(&r.body);
    assert_eq!(got.len(), 34);
    for expected in [
        day("2026-01-01", "Neujahr"),
        day("2026-04-03", "Karfreitag"),
        day("2026-04-06", "Ostermontag"),
        day("2026-05-01", "Tag der Arbeit"),
        day("2026-05-14", "Christi Himmelfahrt"),
        day("2026-05-25", "Pfingstmontag"),
        day("2026-10-03", "Tag der Deutschen Einheit"),
        day("2026-12-25", "Christtag"),
        day("2026-12-26", "2. Weihnachtstag"),
        day("2027-03-26", "Karfreitag"),
        day("2027-03-29", "Ostermontag"),
        day("2027-05-06", "Christi Himmelfahrt"),
        day("2027-05-17", "Pfingstmontag"),
        day("2027-10-03", "Tag der Deutschen Einheit"),
        day("2027-12-25", "1. Weihnachtstag"),
        day("2027-12-26", "2. Weihnachtstag"),
        day("2035-01-01", "Neujahr"),
        day("2035-05-01", "Tag der Arbeit"),
    ] {
        assert!(got.contains(&expected), "{expected:?} missing from {got:?}");
    }
    for absent in ["2028-10-03", "2028-12-25", "2036-01-01", "2026-12-24"] {
        assert!(got.iter().all(|(d, _)| d != absent), "{absent} should not be a day: {got:?}");
    }

    // The calendar holds what the answer says.
    let stored = app.get(&format!("/api/v1/holiday-calendars/{id}")).await.expect(200);
    assert_eq!(days(&stored.body), got);

    // The same file again adds nothing.
    let again = post_ics(app, id, GERMANY.as_bytes()).await.expect(200);
    assert_eq!((again.body["imported"].as_i64(), again.body["added"].as_i64()), (Some(34), Some(0)));
    assert_eq!(days(&app.get(&format!("/api/v1/holiday-calendars/{id}")).await.expect(200).body), got);

    // Pricing reads the dates of several calendars at once; an unknown id has none.
    let other = create(
        app,
        "/api/v1/holiday-calendars",
        &json!({"name": "Firma", "days": [{"date": "2026-12-24", "name": "Heiligabend"}]}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let mut conn = app.conn();
    let by = holidays::days_by_calendar(&mut conn, &[id, other, 999_999]).unwrap();
    assert_eq!(by.len(), 3);
    assert_eq!(by[&id].len(), 34);
    assert!(by[&id].contains(&NaiveDate::from_ymd_opt(2027, 12, 25).unwrap()));
    assert_eq!(by[&other].iter().collect::<Vec<_>>(), [&NaiveDate::from_ymd_opt(2026, 12, 24).unwrap()]);
    assert!(by[&999_999].is_empty());
});

both_backends!(holiday_calendar_import_counts_what_it_ignores, |app| {
    let id = create(app, "/api/v1/holiday-calendars", &json!({"name": "Team"})).await["id"].as_i64().unwrap();
    let r = post_ics(app, id, TEAM.as_bytes()).await.expect(200);
    // Ignored: the weekly call (a timed event), the to-do, the monthly closing (a monthly rule)
    // and the cancelled outing. The office closure from 28 December to 1 January (exclusive)
    // gives four days; Christmas Eve one.
    assert_eq!(
        (r.body["imported"].as_i64(), r.body["added"].as_i64(), r.body["ignored"].as_i64()),
        (Some(5), Some(5), Some(4))
    );
    assert_eq!(
        days(&r.body),
        [
            day("2026-12-24", "Heiligabend (Büro geschlossen)"),
            day("2026-12-28", "Betriebsferien zwischen den Jahren"),
            day("2026-12-29", "Betriebsferien zwischen den Jahren"),
            day("2026-12-30", "Betriebsferien zwischen den Jahren"),
            day("2026-12-31", "Betriebsferien zwischen den Jahren"),
        ]
    );
    let audit = app.get(&format!("/api/v1/audit?resource=holiday_calendar&resource_id={id}")).await.expect(200);
    assert!(audit.data().iter().any(|e| e["action"] == "imported"), "{}", audit.text);
});

both_backends!(holiday_calendar_refused_files_write_nothing, |app| {
    let id = create(
        app,
        "/api/v1/holiday-calendars",
        &json!({"name": "DE", "days": [{"date": "2026-10-03", "name": "Einheit"}]}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let before = app.get(&format!("/api/v1/holiday-calendars/{id}")).await.expect(200).body;

    // Cut off in the middle of an event: the parser says where.
    let cut = &GERMANY[..GERMANY.find("SUMMARY:Pfingstmontag").unwrap()];
    let r = post_ics(app, id, cut.as_bytes()).await;
    assert_problem(&r, 422, "invalid_icalendar");
    assert!(r.body["detail"].as_str().unwrap().contains("not valid iCalendar"), "{}", r.text);

    // Well formed up to its last event, whose date does not exist: refused whole, naming it.
    let bad_last = GERMANY.replace("DTSTART;VALUE=DATE:20270517", "DTSTART;VALUE=DATE:20270532");
    let r = post_ics(app, id, bad_last.as_bytes()).await;
    assert_problem(&r, 422, "invalid_icalendar");
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("UID pfingstmontag-2027@feiertage-deutschland.example") && detail.contains("20270532"),
        "{detail}"
    );

    // Not a calendar at all; not text; empty; a JSON body sent by mistake.
    for body in
        [&b"Datum;Feiertag\r\n2026-10-03;Einheit\r\n"[..], &[0xff, 0xd8, 0xff, 0xe0][..], b"", br#"{"name":"x"}"#]
    {
        assert_problem(&post_ics(app, id, body).await, 422, "invalid_icalendar");
    }

    // Over 1 MiB: 413, however good the start.
    let mut big = GERMANY.as_bytes().to_vec();
    big.resize(1024 * 1024 + 1, b' ');
    let r = post_ics(app, id, &big).await;
    assert_problem(&r, 413, "payload_too_large");
    assert!(r.body["detail"].as_str().unwrap().contains("1048576"), "{}", r.text);

    assert_eq!(app.get(&format!("/api/v1/holiday-calendars/{id}")).await.expect(200).body, before);

    // A calendar that does not exist: 404, whatever the file.
    assert_problem(&post_ics(app, 999_999, GERMANY.as_bytes()).await, 404, "not_found");
    assert_problem(&post_ics(app, 999_999, b"junk").await, 404, "not_found");
});

both_backends!(holiday_calendar_import_from_the_command_line, |app| {
    let id = create(app, "/api/v1/holiday-calendars", &json!({"name": "DE"})).await["id"].as_i64().unwrap();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let run = |file: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_supportbill"))
            .args(["--database-url", &app.database_url, "import", "holidays", "--calendar", &id.to_string()])
            .arg(fixtures.join(file))
            .output()
            .expect("run supportbill")
    };
    let out = run("holidays_mixed.ics");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "imported 5 days (5 new), ignored 4 entries\n");
    // A file that is not iCalendar fails the command and writes nothing.
    let out = run("partner_center_customers.csv");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not valid iCalendar"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored = app.get(&format!("/api/v1/holiday-calendars/{id}")).await.expect(200);
    assert_eq!(days(&stored.body).len(), 5);
});
