//! Holiday days from an iCalendar file (RFC 5545; SPEC 7.3): all-day events become days,
//! yearly recurrences are expanded ten years ahead of their start, and everything else is
//! counted as ignored. Parsing is the `icalendar` crate's, recurrence the `rrule` crate's
//! (docs/decisions.md, "Holiday calendars").

use std::collections::BTreeMap;

use chrono::{Months, NaiveDate, NaiveTime, TimeZone};
use icalendar::parser::{read_components, unfold, Component, Property};

use crate::domain::time;
use crate::error::AppError;

/// The largest file taken: a national calendar of ten years is a few tens of kilobytes.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// How far a yearly recurrence is expanded from its DTSTART (SPEC 7.3).
const YEARS_AHEAD: u32 = 10;

/// Components nest a few levels deep (VCALENDAR, VEVENT, VALARM); the parser recurses per
/// level, so deeper nesting is refused before it can exhaust the stack.
const MAX_NESTING: usize = 8;

/// An all-day event longer than a year is no holiday; it is ignored.
const MAX_EVENT_DAYS: i64 = 366;

/// The longest day name kept (as a calendar's day names in the API).
pub const MAX_NAME_CHARS: usize = 200;

/// The name of a day whose event has no SUMMARY.
const UNNAMED: &str = "Holiday";

/// What a file gives: its days by date, and how many of its components it ignored.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FileDays {
    /// The first event (in file order) that names a date gives its name.
    pub days: BTreeMap<NaiveDate, String>,
    /// Components that gave no day: timed events, to-dos, journals, non-yearly recurrences,
    /// cancelled events, events wholly outside the billable years.
    pub ignored: usize,
}

/// Reads the days of an iCalendar file; a file that is not iCalendar is a 422
/// `invalid_icalendar` saying what is wrong.
pub fn read(bytes: &[u8]) -> Result<FileDays, AppError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(AppError::PayloadTooLarge { limit: MAX_FILE_BYTES });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| invalid(format!("the file is not UTF-8 text: {e}")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Third-party parsers on hostile input: a panic there is a refused file, not a lost worker.
    std::panic::catch_unwind(|| read_text(text))
        .unwrap_or_else(|_| Err(invalid("the file could not be read as iCalendar".to_string())))
}

fn invalid(detail: String) -> AppError {
    AppError::unprocessable("invalid_icalendar", detail)
}

fn read_text(text: &str) -> Result<FileDays, AppError> {
    if text.trim().is_empty() {
        return Err(invalid("the file is empty".to_string()));
    }
    let unfolded = unfold(text);
    check_nesting(&unfolded)?;
    let roots = read_components(&unfolded).map_err(|e| invalid(parse_error(&e, &unfolded)))?;
    let mut out = FileDays::default();
    let mut events = 0;
    for root in &roots {
        if !root.name.as_str().eq_ignore_ascii_case("VCALENDAR") {
            return Err(invalid(format!("the file holds a {} where a VCALENDAR is expected", root.name.as_str())));
        }
        for component in &root.components {
            let name = component.name.as_str().to_ascii_uppercase();
            match name.as_str() {
                "VEVENT" => {
                    events += 1;
                    match event_days(component, events)? {
                        Some((dates, name)) => {
                            for date in dates {
                                out.days.entry(date).or_insert_with(|| name.clone());
                            }
                        }
                        None => out.ignored += 1,
                    }
                }
                // Time zone definitions describe the events' times; they are not entries.
                "VTIMEZONE" => {}
                _ => out.ignored += 1,
            }
        }
    }
    if roots.is_empty() {
        return Err(invalid("the file holds no VCALENDAR".to_string()));
    }
    Ok(out)
}

/// Where the parser stopped, as the line it could not take (the parser's own message quotes
/// the input at length).
fn parse_error(message: &str, unfolded: &str) -> String {
    let line = message
        .split("at line ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse::<usize>().ok());
    match line.and_then(|n| unfolded.lines().nth(n.saturating_sub(1)).map(|text| (n, text))) {
        Some((n, text)) => {
            let text: String = text.trim().chars().take(80).collect();
            format!("the file is not valid iCalendar: {text:?} at line {n} (folded lines joined) is not allowed there")
        }
        None => "the file is not valid iCalendar: it ends before its components do".to_string(),
    }
}

fn check_nesting(text: &str) -> Result<(), AppError> {
    let mut depth = 0usize;
    for line in text.lines() {
        let upper = line.get(..6).map(str::to_ascii_uppercase).unwrap_or_default();
        if upper.starts_with("BEGIN:") {
            depth += 1;
            if depth > MAX_NESTING {
                return Err(invalid(format!("components nest more than {MAX_NESTING} deep")));
            }
        } else if upper.starts_with("END:") {
            depth = depth.saturating_sub(1);
        }
    }
    Ok(())
}

fn prop<'a>(c: &'a Component<'a>, name: &str) -> Option<&'a Property<'a>> {
    c.properties.iter().find(|p| p.name.as_str().eq_ignore_ascii_case(name))
}

fn props<'a>(c: &'a Component<'a>, name: &'a str) -> impl Iterator<Item = &'a Property<'a>> {
    c.properties.iter().filter(move |p| p.name.as_str().eq_ignore_ascii_case(name))
}

fn param<'a>(p: &'a Property<'a>, key: &str) -> Option<&'a str> {
    p.params.iter().find(|x| x.key.as_str().eq_ignore_ascii_case(key)).and_then(|x| x.val.as_ref()).map(|v| v.as_str())
}

/// Whether a DTSTART, DTEND, RDATE or EXDATE holds dates (`VALUE=DATE`, or a bare `YYYYMMDD`
/// as some publishers write it) rather than date-times.
fn holds_dates(p: &Property) -> bool {
    match param(p, "VALUE") {
        Some(v) => v.eq_ignore_ascii_case("DATE"),
        None => p.val.as_str().split(',').all(|v| v.trim().len() == 8),
    }
}

/// `YYYYMMDD`, or the date of a `YYYYMMDDTHHMMSS[Z]`.
fn ical_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    let date = text.get(..8)?;
    let rest = &text[8..];
    if !date.bytes().all(|b| b.is_ascii_digit()) || !(rest.is_empty() || rest.starts_with(['T', 't'])) {
        return None;
    }
    NaiveDate::parse_from_str(date, "%Y%m%d").ok()
}

/// The event's days and name; `None` when it is ignored.
fn event_days(event: &Component, number: usize) -> Result<Option<(Vec<NaiveDate>, String)>, AppError> {
    let who = match prop(event, "UID") {
        Some(uid) => format!("VEVENT {} (UID {})", number, uid.val.as_str()),
        None => format!("VEVENT {number}"),
    };
    if prop(event, "STATUS").is_some_and(|s| s.val.as_str().trim().eq_ignore_ascii_case("CANCELLED")) {
        return Ok(None);
    }
    let Some(start) = prop(event, "DTSTART") else { return Ok(None) };
    if !holds_dates(start) {
        // A timed event: an appointment, not a day off.
        return Ok(None);
    }
    let bad_date = |what: &str, value: &str| invalid(format!("{who}: {what} {value:?} is not a date as YYYYMMDD"));
    let first = ical_date(start.val.as_str()).ok_or_else(|| bad_date("DTSTART", start.val.as_str()))?;
    let length = match (prop(event, "DTEND"), prop(event, "DURATION")) {
        (Some(end), _) => {
            let end_date = ical_date(end.val.as_str()).ok_or_else(|| bad_date("DTEND", end.val.as_str()))?;
            (end_date - first).num_days()
        }
        (None, Some(d)) => duration_days(d.val.as_str())
            .ok_or_else(|| invalid(format!("{who}: DURATION {:?} is not a number of days or weeks", d.val.as_str())))?,
        // RFC 5545 3.6.1: an all-day event without an end lasts its one day.
        (None, None) => 1,
    };
    // An end on or before the start (which RFC 5545 forbids) is read as the one day.
    let length = length.max(1);
    if length > MAX_EVENT_DAYS {
        return Ok(None);
    }
    let mut starts = vec![first];
    for rule in props(event, "RRULE") {
        match recurrence(first, rule.val.as_str()) {
            Ok(Some(more)) => starts.extend(more),
            Ok(None) => return Ok(None),
            Err(message) => return Err(invalid(format!("{who}: RRULE {:?}: {message}", rule.val.as_str()))),
        }
    }
    for rdate in props(event, "RDATE") {
        if !holds_dates(rdate) {
            continue;
        }
        for value in rdate.val.as_str().split(',') {
            starts.push(ical_date(value).ok_or_else(|| bad_date("RDATE", value))?);
        }
    }
    let mut excluded = Vec::new();
    for exdate in props(event, "EXDATE") {
        for value in exdate.val.as_str().split(',') {
            excluded.push(ical_date(value).ok_or_else(|| bad_date("EXDATE", value))?);
        }
    }
    starts.retain(|d| !excluded.contains(d));
    starts.sort();
    starts.dedup();
    let mut dates = Vec::new();
    for s in starts {
        for i in 0..length {
            if let Some(d) = s.checked_add_days(chrono::Days::new(i as u64)) {
                // Days outside the billable years can never matter to an invoice.
                if time::check_day(d).is_ok() {
                    dates.push(d);
                }
            }
        }
    }
    if dates.is_empty() {
        return Ok(None);
    }
    Ok(Some((dates, day_name(prop(event, "SUMMARY").map(|s| s.val.as_str()).unwrap_or("")))))
}

/// The SUMMARY as a day name: one line, without control characters, at most 200 characters.
pub fn day_name(summary: &str) -> String {
    let cleaned: String = summary.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    let name: String = words.join(" ").chars().take(MAX_NAME_CHARS).collect();
    if name.is_empty() {
        UNNAMED.to_string()
    } else {
        name
    }
}

/// `P1D`, `P2W`, `+P3D` (the time part of an all-day event's duration is ignored).
fn duration_days(text: &str) -> Option<i64> {
    let text = text.trim();
    let text = text.strip_prefix('+').unwrap_or(text);
    let body = text.strip_prefix(['P', 'p'])?;
    let date_part = body.split(['T', 't']).next()?;
    if date_part.is_empty() {
        return Some(0);
    }
    let unit = date_part.chars().last()?;
    let n: i64 = date_part[..date_part.len() - 1].parse().ok()?;
    match unit.to_ascii_uppercase() {
        'D' => Some(n),
        'W' => n.checked_mul(7),
        _ => None,
    }
}

/// The further starts of a yearly rule, from `first` up to ten years ahead (exclusive) or its
/// COUNT or UNTIL; `None` for any other frequency (the event is ignored).
fn recurrence(first: NaiveDate, rule: &str) -> Result<Option<Vec<NaiveDate>>, String> {
    let mut until = None;
    let mut parts = Vec::new();
    let mut frequency = None;
    for part in rule.trim().split(';').filter(|p| !p.trim().is_empty()) {
        let (key, value) = part.split_once('=').ok_or_else(|| format!("{part:?} is not NAME=VALUE"))?;
        match key.trim().to_ascii_uppercase().as_str() {
            // UNTIL is applied here, by date: the crate would read a floating UNTIL in the
            // server's own time zone.
            "UNTIL" => until = Some(ical_date(value).ok_or_else(|| format!("UNTIL {value:?} is not a date"))?),
            "FREQ" => {
                frequency = Some(value.trim().to_ascii_uppercase());
                parts.push(part);
            }
            _ => parts.push(part),
        }
    }
    match frequency.as_deref() {
        Some("YEARLY") => {}
        Some(_) => return Ok(None),
        None => return Err("has no FREQ".into()),
    }
    let horizon = first.checked_add_months(Months::new(12 * YEARS_AHEAD)).unwrap_or(time::END_DAY);
    let end = match until {
        Some(u) => horizon.min(u.succ_opt().unwrap_or(horizon)),
        None => horizon,
    };
    let unvalidated: rrule::RRule<rrule::Unvalidated> = parts.join(";").parse().map_err(|e| format!("{e}"))?;
    let midnight = first.and_time(NaiveTime::MIN);
    let dt_start = rrule::Tz::UTC.from_utc_datetime(&midnight);
    let validated = unvalidated.validate(dt_start).map_err(|e| format!("{e}"))?;
    let set = rrule::RRuleSet::new(dt_start).rrule(validated);
    let mut out = Vec::new();
    for occurrence in &set {
        let date = occurrence.date_naive();
        if date >= end || out.len() > (YEARS_AHEAD as usize + 1) * 366 {
            break;
        }
        out.push(date);
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn calendar(body: &str) -> String {
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{body}END:VCALENDAR\r\n")
    }

    #[test]
    fn a_yearly_rule_gives_ten_years_or_its_count_or_until() {
        let days = |rule: &str| recurrence(d(2026, 12, 25), rule).unwrap().unwrap();
        let ten = days("FREQ=YEARLY");
        assert_eq!(ten.len(), 10);
        assert_eq!((ten[0], ten[9]), (d(2026, 12, 25), d(2035, 12, 25)));
        assert_eq!(days("FREQ=YEARLY;COUNT=2"), vec![d(2026, 12, 25), d(2027, 12, 25)]);
        assert_eq!(days("FREQ=YEARLY;UNTIL=20281225"), vec![d(2026, 12, 25), d(2027, 12, 25), d(2028, 12, 25)]);
        assert_eq!(days("FREQ=YEARLY;UNTIL=20281224T230000Z").len(), 2);
        assert_eq!(recurrence(d(2026, 1, 1), "FREQ=MONTHLY").unwrap(), None);
        assert!(recurrence(d(2026, 1, 1), "FREQ=YEARLY;COUNT=x").is_err());
        assert!(recurrence(d(2026, 1, 1), "COUNT=3").is_err());
    }

    #[test]
    fn a_rule_by_weekday_follows_the_weekday() {
        // Thanksgiving: the fourth Thursday of November; 2026-11-26, 2027-11-25.
        let days = recurrence(d(2026, 11, 26), "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH;COUNT=2").unwrap().unwrap();
        assert_eq!(days, vec![d(2026, 11, 26), d(2027, 11, 25)]);
    }

    #[test]
    fn multi_day_events_give_each_day_and_timed_ones_none() {
        let file = calendar(
            "BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20261228\r\nDTEND;VALUE=DATE:20270101\r\n\
             SUMMARY:Betriebsferien\\, Jahresende\r\nEND:VEVENT\r\n\
             BEGIN:VEVENT\r\nUID:b\r\nDTSTART:20261002T090000Z\r\nDTEND:20261002T100000Z\r\nSUMMARY:Call\r\nEND:VEVENT\r\n\
             BEGIN:VEVENT\r\nUID:c\r\nDTSTART:20260406\r\nDURATION:P1W\r\nSUMMARY:Ostern\r\n\
             RRULE:FREQ=YEARLY;COUNT=2\r\nEXDATE;VALUE=DATE:20260406\r\nEND:VEVENT\r\n",
        );
        let got = read(file.as_bytes()).unwrap();
        assert_eq!(got.ignored, 1);
        assert_eq!(got.days.len(), 4 + 7);
        assert_eq!(got.days[&d(2026, 12, 28)], "Betriebsferien, Jahresende");
        assert_eq!(got.days[&d(2026, 12, 31)], "Betriebsferien, Jahresende");
        assert!(!got.days.contains_key(&d(2027, 1, 1)));
        // EXDATE removes the first start, so its whole week is gone; the second year's is there.
        assert!(!got.days.contains_key(&d(2026, 4, 6)) && !got.days.contains_key(&d(2026, 4, 12)));
        assert_eq!(got.days[&d(2027, 4, 12)], "Ostern");
    }

    #[test]
    fn broken_files_are_refused_with_what_is_wrong() {
        let code = |r: Result<FileDays, AppError>| match r {
            Err(AppError::Unprocessable { code, detail }) => format!("{code}: {detail}"),
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert!(code(read(b"")).starts_with("invalid_icalendar"));
        assert!(code(read(b"hello, world")).starts_with("invalid_icalendar"));
        assert!(code(read(&[0xff, 0xfe, 0x00])).contains("UTF-8"));
        let unbalanced = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20260101\r\nEND:VCALENDAR\r\n";
        assert!(code(read(unbalanced.as_bytes())).starts_with("invalid_icalendar"));
        let bad_date = calendar("BEGIN:VEVENT\r\nUID:x1\r\nDTSTART;VALUE=DATE:20261345\r\nEND:VEVENT\r\n");
        assert!(code(read(bad_date.as_bytes())).contains("UID x1"));
        let deep = "BEGIN:A\r\n".repeat(100_000);
        assert!(code(read(deep.as_bytes())).contains("nest"));
        assert!(code(read(b"BEGIN:VEVENT\r\nEND:VEVENT\r\n")).contains("VCALENDAR"));
        assert!(code(read(unbalanced.as_bytes())).contains("\"END:VCALENDAR\" at line 4"));
        assert!(code(read(b"hello, world")).contains("\"hello, world\" at line 1"));
        assert!(code(read(b" \r\n")).contains("empty"));
        match read(&vec![b' '; MAX_FILE_BYTES + 1]) {
            Err(AppError::PayloadTooLarge { limit }) => assert_eq!(limit, MAX_FILE_BYTES),
            other => panic!("expected too large, got {other:?}"),
        }
    }

    #[test]
    fn the_fixtures_read_as_published() {
        let de = read(include_bytes!("../../../tests/fixtures/holidays_de.ics")).unwrap();
        // Neujahr and Tag der Arbeit recur for ten years (10 each), the Einheit until 2027 and
        // the two Weihnachtstage twice (2 each), four movable feasts are listed per year (8).
        assert_eq!((de.days.len(), de.ignored), (34, 0));
        assert_eq!(de.days[&d(2026, 12, 25)], "1. Weihnachtstag");
        assert_eq!(de.days[&d(2027, 12, 26)], "2. Weihnachtstag");
        assert_eq!(de.days[&d(2035, 1, 1)], "Neujahr");
        assert_eq!(de.days[&d(2027, 3, 26)], "Karfreitag");
        assert!(!de.days.contains_key(&d(2028, 10, 3)) && !de.days.contains_key(&d(2036, 1, 1)));
        let mixed = read(include_bytes!("../../../tests/fixtures/holidays_mixed.ics")).unwrap();
        // A timed weekly call, a to-do, a monthly all-day event and a cancelled one.
        assert_eq!(mixed.ignored, 4);
        let dates: Vec<String> = mixed.days.keys().map(|d| d.to_string()).collect();
        assert_eq!(dates, ["2026-12-24", "2026-12-28", "2026-12-29", "2026-12-30", "2026-12-31"]);
        assert_eq!(mixed.days[&d(2026, 12, 24)], "Heiligabend (Büro geschlossen)");
    }

    #[test]
    fn day_names_are_one_clean_line() {
        assert_eq!(day_name("  Tag der\n Arbeit "), "Tag der Arbeit");
        assert_eq!(day_name(""), "Holiday");
        assert_eq!(day_name(&"x".repeat(300)).chars().count(), 200);
    }

    #[test]
    fn durations_in_days_and_weeks() {
        assert_eq!(duration_days("P1D"), Some(1));
        assert_eq!(duration_days("+P2W"), Some(14));
        assert_eq!(duration_days("P1DT12H"), Some(1));
        assert_eq!(duration_days("PT1H"), Some(0));
        assert_eq!(duration_days("1D"), None);
    }
}
