//! Reading time entries: the checks shared by the JSON API and the CSV import, and the CSV
//! reader itself (header names in any order; errors name the file's line, the header being 1).

use crate::domain::pricing::Category;
use crate::domain::validation::{self as v, FieldError, ValidationErrors};
use crate::service::csv_input::{check_quotes, LineCounter};
use crate::service::time_entries::{EntryDraft, SubscriptionRef};

/// A time entry as received, before validation.
#[derive(Clone, Debug, Default)]
pub struct RawEntry {
    pub subscription: Option<SubscriptionRef>,
    pub ticket_id: Option<i64>,
    pub agent: String,
    pub started_at: String,
    pub minutes: i64,
    pub category: Option<String>,
    pub billable: bool,
    pub description: String,
}

/// Validates one entry; errors are `(field, message)`.
pub fn validate_entry(raw: RawEntry) -> Result<EntryDraft, Vec<(&'static str, String)>> {
    let mut errors = Vec::new();
    let subscription = raw.subscription.clone();
    if subscription.is_none() {
        errors.push(("subscription_id", "is required".to_string()));
    }
    let agent = v::required_text(&raw.agent, 200).map_err(|e| errors.push(("agent", e))).ok();
    let started_at = v::timestamp(&raw.started_at).map_err(|e| errors.push(("started_at", e))).ok();
    if !(1..=1440).contains(&raw.minutes) {
        errors.push(("minutes", "must be a whole number from 1 to 1440".to_string()));
    }
    let category = match raw.category.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => Some(None),
        Some(c) => match Category::parse(c) {
            Some(cat) => Some(Some(cat)),
            None => {
                errors.push(("category", format!("{c:?} is not one of: billing, subscription_management, technical")));
                None
            }
        },
    };
    if raw.ticket_id.is_none() && matches!(category, Some(None)) {
        errors.push(("category", "is required for time without a ticket".to_string()));
    }
    let description = v::optional_text(&raw.description, 2000).map_err(|e| errors.push(("description", e))).ok();
    match (subscription, agent, started_at, category, description) {
        (Some(subscription), Some(agent), Some(started_at), Some(category), Some(description)) if errors.is_empty() => {
            Ok(EntryDraft {
                subscription,
                ticket_id: raw.ticket_id,
                agent,
                started_at,
                minutes: raw.minutes as i32,
                category,
                billable: raw.billable,
                description,
            })
        }
        // Each value missing recorded an error.
        _ => Err(errors),
    }
}

/// How the CSV names subscriptions when a column could mean either.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubscriptionBy {
    /// `subscription_id` holds our ids, `subscription_external_id` Partner Center's.
    Auto,
    /// `subscription_id` holds Partner Center subscription ids.
    ExternalId,
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

/// A quoted cell over several lines, with its line breaks as LF: in a file saved with CRLF
/// (Excel, Partner Center) or CR line ends, those are the file's line ends, not the text's.
fn one_line_end(cell: &str) -> String {
    if cell.contains('\r') {
        cell.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        cell.to_string()
    }
}

/// Where each known column is in the file, if it is there.
struct Columns {
    subscription_id: Option<usize>,
    subscription_external_id: Option<usize>,
    started_at: Option<usize>,
    minutes: Option<usize>,
    category: Option<usize>,
    billable: Option<usize>,
    agent: Option<usize>,
    ticket_id: Option<usize>,
    description: Option<usize>,
}

/// Parses the whole file; on any error, every error found (up to 1000) and no entries.
/// Returns the drafts and the file line of each.
pub fn parse_csv(bytes: &[u8], by: SubscriptionBy) -> Result<(Vec<EntryDraft>, Vec<usize>), ValidationErrors> {
    let fail = |row: usize, field: &str, message: String| {
        ValidationErrors(vec![FieldError { field: field.into(), message, row: Some(row) }])
    };
    check_quotes(bytes).map_err(|faults| {
        ValidationErrors(
            faults
                .into_iter()
                .map(|f| FieldError { field: "row".into(), message: f.message, row: Some(f.line) })
                .collect(),
        )
    })?;
    let mut reader =
        csv::ReaderBuilder::new().has_headers(true).flexible(false).trim(csv::Trim::All).from_reader(bytes);
    let headers = reader.headers().map_err(|e| fail(1, "header", format!("cannot read the header: {e}")))?.clone();
    let mut index = std::collections::HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        let name = h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase();
        if name.is_empty() {
            return Err(fail(
                1,
                "header",
                format!("column {} has no name; expected some of: {}", i + 1, COLUMNS.join(", ")),
            ));
        }
        if !COLUMNS.contains(&name.as_str()) {
            return Err(fail(1, &name, format!("unknown column; expected some of: {}", COLUMNS.join(", "))));
        }
        if index.insert(name.clone(), i).is_some() {
            return Err(fail(1, &name, "column appears twice".into()));
        }
    }
    for required in ["started_at", "minutes", "agent"] {
        if !index.contains_key(required) {
            return Err(fail(1, required, "required column is missing".into()));
        }
    }
    if !index.contains_key("subscription_id") && !index.contains_key("subscription_external_id") {
        return Err(fail(
            1,
            "subscription_id",
            "a subscription_id or subscription_external_id column is required".into(),
        ));
    }

    // Each column's position, looked up once: a million rows asked a map by name ten times
    // each (docs/performance-findings.md, finding 27).
    let at = |name: &str| index.get(name).copied();
    let c = Columns {
        subscription_id: at("subscription_id"),
        subscription_external_id: at("subscription_external_id"),
        started_at: at("started_at"),
        minutes: at("minutes"),
        category: at("category"),
        billable: at("billable"),
        agent: at("agent"),
        ticket_id: at("ticket_id"),
        description: at("description"),
    };
    let mut drafts = Vec::new();
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut lines_of = LineCounter::new(bytes);
    loop {
        let line = lines_of.line_of(reader.position().byte());
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                errors.push(FieldError {
                    field: "row".into(),
                    message: format!("unreadable CSV: {e}"),
                    row: Some(line.max(2)),
                });
                break;
            }
        }
        let line = record.position().map(|p| lines_of.line_of(p.byte())).unwrap_or(line);
        let get = |column: Option<usize>| column.and_then(|i| record.get(i)).unwrap_or("");
        let mut row_errors: Vec<(&'static str, String)> = Vec::new();
        if !get(c.subscription_external_id).is_empty() && !get(c.subscription_id).is_empty() {
            row_errors
                .push(("subscription_id", "give subscription_id or subscription_external_id, not both".to_string()));
        }
        // A Partner Center id is checked as the subscription's own `external_id` is: a NUL
        // byte in it once reached PostgreSQL, which refused the lookup (a 500).
        let mut external = |field: &'static str, text: &str| match v::required_text(text, 128) {
            Ok(x) => Some(SubscriptionRef::ExternalId(x)),
            Err(e) => {
                row_errors.push((field, e));
                None
            }
        };
        let subscription = if !get(c.subscription_external_id).is_empty() {
            external("subscription_external_id", get(c.subscription_external_id))
        } else if !get(c.subscription_id).is_empty() {
            let text = get(c.subscription_id);
            match by {
                SubscriptionBy::ExternalId => external("subscription_id", text),
                SubscriptionBy::Auto => match text.parse::<i64>() {
                    Ok(id) => Some(SubscriptionRef::Id(id)),
                    Err(_) => {
                        row_errors.push(("subscription_id", format!("{text:?} is not a subscription id")));
                        None
                    }
                },
            }
        } else {
            None
        };
        let minutes = match get(c.minutes).parse::<i64>() {
            Ok(m) => m,
            Err(_) => {
                row_errors.push(("minutes", format!("{:?} is not a whole number of minutes", get(c.minutes))));
                1
            }
        };
        let ticket_id = match get(c.ticket_id) {
            "" => None,
            t => match t.parse::<i64>() {
                Ok(id) => Some(id),
                Err(_) => {
                    row_errors.push(("ticket_id", format!("{t:?} is not a ticket id")));
                    None
                }
            },
        };
        let billable = match get(c.billable) {
            "" | "1" => true,
            "0" => false,
            text if ["true", "yes"].iter().any(|t| text.eq_ignore_ascii_case(t)) => true,
            text if ["false", "no"].iter().any(|t| text.eq_ignore_ascii_case(t)) => false,
            other => {
                row_errors.push(("billable", format!("{other:?} is not true or false")));
                true
            }
        };
        let raw = RawEntry {
            subscription: subscription.or_else(|| {
                if row_errors.iter().any(|e| e.0 == "subscription_id" || e.0 == "subscription_external_id") {
                    Some(SubscriptionRef::Id(0))
                } else {
                    None
                }
            }),
            ticket_id,
            agent: get(c.agent).to_string(),
            started_at: get(c.started_at).to_string(),
            minutes,
            category: Some(get(c.category).to_string()),
            billable,
            description: one_line_end(get(c.description)),
        };
        match validate_entry(raw) {
            Ok(draft) if row_errors.is_empty() => {
                drafts.push(draft);
                lines.push(line);
            }
            Ok(_) => {}
            Err(more) => row_errors.extend(more),
        }
        errors.extend(row_errors.into_iter().map(|(field, message)| FieldError {
            field: field.into(),
            message,
            row: Some(line),
        }));
        if errors.len() >= 1000 {
            break;
        }
    }
    if !errors.is_empty() {
        return Err(ValidationErrors(errors));
    }
    if drafts.is_empty() {
        return Err(fail(2, "row", "the file has no time entries".into()));
    }
    Ok((drafts, lines))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// How a generated row's description is written into the file.
    #[derive(Clone, Copy, Debug)]
    enum Writing {
        /// Quoted when it needs to be (RFC 4180), or always.
        Proper { always_quote: bool },
        /// Opened with a quote that is never closed.
        Unterminated,
        /// Written as it is, quotes, commas and line breaks included.
        Raw,
    }

    fn needs_quotes(text: &str) -> bool {
        text.contains(['"', ',', '\n', '\r'])
    }

    fn write_cell(text: &str, writing: Writing) -> String {
        match writing {
            Writing::Proper { always_quote } if always_quote || needs_quotes(text) => {
                format!("\"{}\"", text.replace('"', "\"\""))
            }
            Writing::Proper { .. } | Writing::Raw => text.to_string(),
            Writing::Unterminated => format!("\"{}", text.replace('"', "\"\"")),
        }
    }

    fn description() -> impl Strategy<Value = Vec<&'static str>> {
        prop::collection::vec(
            prop::sample::select(vec!["fix", "VM 5", ",", "\"", "\n", ";", "Müller", "a\"b", "''"]),
            0..5,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        /// Every data line of a generated file is either stored as its own entry, with its own
        /// description, or the file is refused naming the row that was written wrong (nothing
        /// stored); a line is never absorbed into another row.
        #[test]
        fn every_line_is_stored_or_named(
            rows in prop::collection::vec((description(), any::<bool>()), 1..6),
            broken in prop::option::of((0usize..6, any::<bool>())),
            crlf in any::<bool>(),
            bom in any::<bool>(),
            description_last in any::<bool>(),
        ) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let broken = broken.filter(|(row, _)| *row < rows.len());
            let mut file = String::from(if bom { "\u{feff}" } else { "" });
            file += if description_last {
                "subscription_id,started_at,minutes,category,agent,description"
            } else {
                "subscription_id,description,started_at,minutes,category,agent"
            };
            file += eol;
            // Per row: its description as stored, and the file lines it spans.
            let mut expected = Vec::new();
            let mut line = 2;
            for (i, (parts, always_quote)) in rows.iter().enumerate() {
                let text = parts.concat().replace('\n', eol);
                let writing = match broken {
                    Some((row, unterminated)) if row == i => if unterminated { Writing::Unterminated } else { Writing::Raw },
                    _ => Writing::Proper { always_quote: *always_quote },
                };
                let cell = write_cell(&text, writing);
                let minutes = i + 1;
                let record = if description_last {
                    format!("7,2026-10-05T08:00:00Z,{minutes},technical,a.agent,{cell}")
                } else {
                    format!("7,{cell},2026-10-05T08:00:00Z,{minutes},technical,a.agent")
                };
                let spans = 1 + text.matches(eol).count();
                let really_broken = match writing {
                    Writing::Proper { .. } => false,
                    Writing::Unterminated => true,
                    Writing::Raw => needs_quotes(&text),
                };
                expected.push((parts.concat().trim().to_string(), line, line + spans - 1, really_broken));
                file += &record;
                file += eol;
                line += spans;
            }
            match parse_csv(file.as_bytes(), SubscriptionBy::Auto) {
                Ok((drafts, lines)) => {
                    // Text written raw may still come through whole (a trailing line break
                    // is a blank line); a quote never closed never does.
                    prop_assert!(!matches!(broken, Some((_, true))), "an unterminated quote was accepted:\n{}", file);
                    prop_assert_eq!(drafts.len(), rows.len(), "every row stored:\n{}", file);
                    for (i, (draft, (text, first, _, _))) in drafts.iter().zip(&expected).enumerate() {
                        prop_assert_eq!(draft.minutes as usize, i + 1);
                        prop_assert_eq!(lines[i], *first);
                        // Raw text may be valid CSV meaning something else (`""` is empty).
                        if !matches!(broken, Some((row, false)) if row == i) {
                            prop_assert_eq!(&draft.description, text);
                        }
                    }
                }
                Err(ValidationErrors(errors)) => {
                    let broken_at = expected.iter().position(|e| e.3)
                        .unwrap_or_else(|| panic!("a well-written file was refused: {errors:?}\n{file}"));
                    // The broken row is named; or, where a later row's cell runs over several
                    // lines, possibly that row: a quote shifted by one reads there the same as
                    // a correct file with the fault further down.
                    let named = |r: usize| expected.iter().enumerate().any(|(i, (_, first, last, _))| {
                        (i == broken_at || (i > broken_at && last > first)) && (*first..=*last).contains(&r)
                    });
                    prop_assert!(
                        errors.iter().any(|e| e.row.is_some_and(named)),
                        "the broken row (line {}) is not named: {:?}\n{}", expected[broken_at].1, errors, file
                    );
                }
            }
        }
    }
}
