//! Reading time entries: the checks shared by the JSON API and the CSV import, and the CSV
//! reader itself (header names in any order; errors name the file's line, the header being 1).

use crate::domain::pricing::Category;
use crate::domain::validation::{self as v, FieldError, ValidationErrors};
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
            Some(cat) => Some(Some(cat.as_str().to_string())),
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
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(EntryDraft {
        subscription: subscription.expect("checked above"),
        ticket_id: raw.ticket_id,
        agent: agent.expect("checked above"),
        started_at: started_at.expect("checked above"),
        minutes: raw.minutes as i32,
        category: category.expect("checked above"),
        billable: raw.billable,
        description: description.expect("checked above"),
    })
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
    "subscription_id", "subscription_external_id", "started_at", "minutes", "category", "billable", "agent",
    "ticket_id", "description",
];

/// The file line each CSV record starts on, as a person opening the file counts them (the
/// header is line 1). The csv crate's own count lags a line behind after a CRLF line end (files
/// saved by Excel, exports from Partner Center): it takes a record's start before it has read
/// the LF of the line before. So lines are counted here from the record's byte offset, skipping
/// the line end it may start on.
pub(crate) struct LineCounter<'a> {
    bytes: &'a [u8],
    /// Counted up to here...
    at: usize,
    /// ...where this line begins or goes on.
    line: usize,
}

impl<'a> LineCounter<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        LineCounter { bytes, at: 0, line: 1 }
    }

    /// The line of the record that starts at byte `start` (records come in file order).
    pub(crate) fn line_of(&mut self, start: u64) -> usize {
        let mut start = usize::try_from(start).unwrap_or(usize::MAX).min(self.bytes.len());
        while start < self.bytes.len() && matches!(self.bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start < self.at {
            (self.at, self.line) = (0, 1);
        }
        // LF, CRLF and a CR alone (old Mac files) each end a line. (`self.at` is never just
        // after a CR: it is 0 or a record's first byte.)
        let mut after_cr = false;
        for &b in &self.bytes[self.at..start] {
            if b == b'\r' || (b == b'\n' && !after_cr) {
                self.line += 1;
            }
            after_cr = b == b'\r';
        }
        self.at = start;
        self.line
    }
}

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
    let fail = |row: usize, field: &str, message: String| ValidationErrors(vec![FieldError { field: field.into(), message, row: Some(row) }]);
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(false).trim(csv::Trim::All).from_reader(bytes);
    let headers = reader.headers().map_err(|e| fail(1, "header", format!("cannot read the header: {e}")))?.clone();
    let mut index = std::collections::HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        let name = h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase();
        if name.is_empty() {
            return Err(fail(1, "header", format!("column {} has no name; expected some of: {}", i + 1, COLUMNS.join(", "))));
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
        return Err(fail(1, "subscription_id", "a subscription_id or subscription_external_id column is required".into()));
    }

    // Each column's position, looked up once: a million rows asked a map by name ten times
    // each (3-4 % of a 1M import; BENCHMARKS.md, finding 27).
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
                errors.push(FieldError { field: "row".into(), message: format!("unreadable CSV: {e}"), row: Some(line.max(2)) });
                break;
            }
        }
        let line = record.position().map(|p| lines_of.line_of(p.byte())).unwrap_or(line);
        let get = |column: Option<usize>| column.and_then(|i| record.get(i)).unwrap_or("");
        let mut row_errors: Vec<(&'static str, String)> = Vec::new();
        if !get(c.subscription_external_id).is_empty() && !get(c.subscription_id).is_empty() {
            row_errors.push(("subscription_id", "give subscription_id or subscription_external_id, not both".to_string()));
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
            subscription: subscription.or_else(|| if row_errors.iter().any(|e| e.0 == "subscription_id" || e.0 == "subscription_external_id") { Some(SubscriptionRef::Id(0)) } else { None }),
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
        errors.extend(row_errors.into_iter().map(|(field, message)| FieldError { field: field.into(), message, row: Some(line) }));
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
