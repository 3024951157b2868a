//! Partner Center import: the customers and subscriptions lists a CSP partner exports from
//! Microsoft Partner Center, read as CSV and upserted by their Partner Center ids
//! (`external_id`). Header names are matched case-insensitively, with the aliases the exports
//! use (see [`CUSTOMER_COLUMNS`], [`SUBSCRIPTION_COLUMNS`]); other columns are ignored. A file
//! is imported all or nothing, every error naming its line (the header is line 1). Importing
//! the same file again changes nothing; a dry run reports what would change and writes nothing.

use std::collections::HashMap;

use serde::Serialize;

use crate::domain::validation::{FieldError, ValidationErrors};

mod customer_list;
mod subscription_list;

pub use customer_list::import_customers;
pub use subscription_list::{import_subscriptions, product_of};

/// Our field, and the header names (normalized: lowercase, `_`/`-` as spaces) that mean it.
pub const CUSTOMER_COLUMNS: &[(&str, &[&str])] = &[
    ("external_id", &["microsoft id", "customer id", "tenant id", "customer tenant id", "external id"]),
    ("name", &["company name", "name", "customer name"]),
    ("domain", &["primary domain", "domain", "primary domain name"]),
    ("email", &["email", "billing email", "contact email"]),
    ("country", &["country", "country/region", "billing country"]),
    ("currency", &["currency", "billing currency"]),
];

pub const SUBSCRIPTION_COLUMNS: &[(&str, &[&str])] = &[
    ("external_id", &["subscription id", "subscription external id"]),
    ("customer", &["customer id", "microsoft id", "tenant id", "customer tenant id"]),
    ("name", &["offer name", "product name"]),
    ("quantity", &["quantity", "seats", "licenses"]),
    ("status", &["status", "subscription status"]),
    // SPEC 7.1 (docs/api.md, "Partner Center import"): the Subscription resource's
    // effectiveStartDate and commitmentEndDate, the reconciliation files' SubscriptionStartDate
    // and SubscriptionEndDate, as spreadsheet headers or as the API's names.
    (
        "start_date",
        &[
            "effective start date",
            "effectivestartdate",
            "subscription start date",
            "subscriptionstartdate",
            "start date",
            "creation date",
            "creationdate",
        ],
    ),
    (
        "end_date",
        &[
            "commitment end date",
            "commitmentenddate",
            "subscription end date",
            "subscriptionenddate",
            "term end date",
            "end date",
        ],
    ),
];

/// For customers that do not exist yet: what the export does not say.
#[derive(Clone, Debug, Default)]
pub struct CustomerDefaults {
    pub currency: Option<String>,
    pub country: Option<String>,
    pub tax_rate_percent: Option<String>,
}

/// What an import did (or, in a dry run, would do).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub dry_run: bool,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// One entry per data line, in file order.
    pub lines: Vec<LineChange>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct LineChange {
    /// The line in the file (the header is line 1).
    pub line: usize,
    /// `create`, `update` or `unchanged`.
    pub action: String,
    pub external_id: String,
    /// The record's id (none for a create in a dry run).
    pub id: Option<i64>,
    /// The fields a create sets or an update changes: `[field, old, new]` (old empty on create).
    pub changes: Vec<[String; 3]>,
}

impl ImportReport {
    /// Human-readable lines for the command line.
    pub fn describe(&self, what: &str) -> String {
        let mut out = String::new();
        for l in &self.lines {
            if l.action == "unchanged" {
                continue;
            }
            let fields: Vec<String> = l
                .changes
                .iter()
                .map(
                    |[f, old, new]| {
                        if old.is_empty() {
                            format!("{f}={new:?}")
                        } else {
                            format!("{f}: {old:?} -> {new:?}")
                        }
                    },
                )
                .collect();
            out.push_str(&format!("line {}: {} {what} {}: {}\n", l.line, l.action, l.external_id, fields.join(", ")));
        }
        out.push_str(&format!(
            "{} created, {} updated, {} unchanged{}\n",
            self.created,
            self.updated,
            self.unchanged,
            if self.dry_run { " (dry run: nothing was written)" } else { "" }
        ));
        out
    }
}

fn normalize(header: &str) -> String {
    header
        .trim_start_matches('\u{feff}')
        .trim()
        .to_lowercase()
        .replace(['_', '-'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The CSV's data rows as (line, field -> value), with the columns found.
type Rows = Vec<(usize, HashMap<&'static str, String>)>;

fn read_csv(bytes: &[u8], columns: &[(&'static str, &[&str])], required: &[&str]) -> Result<Rows, ValidationErrors> {
    let header_error = |field: &str, message: String| {
        ValidationErrors(vec![FieldError { field: field.into(), message, row: Some(1) }])
    };
    crate::service::csv_input::check_quotes(bytes).map_err(|faults| {
        ValidationErrors(
            faults
                .into_iter()
                .map(|f| FieldError { field: "line".into(), message: f.message, row: Some(f.line) })
                .collect(),
        )
    })?;
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).trim(csv::Trim::All).from_reader(bytes);
    let headers = reader.headers().map_err(|e| header_error("header", format!("not a CSV header: {e}")))?.clone();
    let names: Vec<String> = headers.iter().map(normalize).collect();
    // For each field, the first column (by alias priority) that names it.
    let mut index: Vec<(&'static str, usize)> = Vec::new();
    for (field, aliases) in columns {
        if let Some(i) = aliases.iter().find_map(|a| names.iter().position(|n| n == a)) {
            index.push((field, i));
        }
    }
    for r in required {
        if !index.iter().any(|(f, _)| f == r) {
            let aliases = columns.iter().find(|(f, _)| f == r).map(|(_, a)| a.join(", ")).unwrap_or_default();
            return Err(header_error(r, format!("no column for {r} (any of: {aliases}; case does not matter)")));
        }
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut lines_of = crate::service::csv_input::LineCounter::new(bytes);
    for (i, record) in reader.records().enumerate() {
        let line = record.as_ref().ok().and_then(|r| r.position()).map(|p| lines_of.line_of(p.byte())).unwrap_or(i + 2);
        match record {
            Ok(rec) => {
                if rec.iter().all(|c| c.is_empty()) {
                    continue;
                }
                let values = index.iter().map(|(f, i)| (*f, rec.get(*i).unwrap_or("").to_string())).collect();
                rows.push((line, values));
            }
            Err(e) => errors.push(FieldError {
                field: "line".into(),
                message: format!("not valid CSV: {e}"),
                row: Some(line),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(ValidationErrors(errors));
    }
    if rows.is_empty() {
        return Err(header_error("file", "has no data lines".into()));
    }
    Ok(rows)
}

/// One line's planned write: (line, Partner Center id, the record as it is, the record as it
/// will be, the changed fields).
type Planned<Current, New> = (usize, String, Option<Current>, New, Vec<[String; 3]>);

struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, line: usize, field: &str, message: impl Into<String>) {
        self.0.push(FieldError { field: field.into(), message: message.into(), row: Some(line) });
    }
    fn take<T>(&mut self, line: usize, field: &str, r: Result<T, String>) -> Option<T> {
        r.map_err(|m| self.add(line, field, m)).ok()
    }
}

fn finish_report(dry_run: bool, lines: Vec<LineChange>) -> ImportReport {
    let count = |a: &str| lines.iter().filter(|l| l.action == a).count();
    ImportReport { dry_run, created: count("create"), updated: count("update"), unchanged: count("unchanged"), lines }
}

fn change(field: &str, old: &str, new: &str) -> [String; 3] {
    [field.to_string(), old.to_string(), new.to_string()]
}
