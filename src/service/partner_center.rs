//! Partner Center import: the customers and subscriptions lists a CSP partner exports from
//! Microsoft Partner Center, read as CSV and upserted by their Partner Center ids
//! (`external_id`). Header names are matched case-insensitively, with the aliases the exports
//! use (see [`CUSTOMER_COLUMNS`], [`SUBSCRIPTION_COLUMNS`]); other columns are ignored. A file
//! is imported all or nothing, every error naming its line (the header is line 1). Importing
//! the same file again changes nothing; a dry run reports what would change and writes nothing.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use serde::Serialize;

use crate::domain::validation::{self as v, FieldError, ValidationErrors};
use crate::domain::vocab::{Product, SubscriptionStatus, TaxTreatment};
use crate::error::AppError;
use crate::storage::models::{Customer, NewCustomer, NewSubscription, Plan, Subscription};
use crate::storage::schema::{customers, plans, subscriptions};
use crate::storage::{write_tx, DbConnection, Dec};

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

/// Imports Partner Center's customer list: new customers are created (with `defaults` for what
/// the export lacks), known ones (by `external_id`) get their name, and the email and country
/// when the file has those columns, updated. Currency and tax settings of existing customers
/// are never touched.
pub fn import_customers(
    conn: &mut DbConnection,
    bytes: &[u8],
    defaults: &CustomerDefaults,
    dry_run: bool,
    now: chrono::NaiveDateTime,
) -> Result<ImportReport, AppError> {
    let rows = read_csv(bytes, CUSTOMER_COLUMNS, &["external_id", "name"])?;
    write_tx(conn, |conn| {
        let existing: Vec<Customer> =
            customers::table.filter(customers::external_id.is_not_null()).select(Customer::as_select()).load(conn)?;
        let by_external: HashMap<String, Customer> =
            existing.into_iter().filter_map(|c| c.external_id.clone().map(|x| (x, c))).collect();
        let mut errors = Errors(Vec::new());
        let mut seen = HashSet::new();
        let mut planned: Vec<Planned<Customer, NewCustomer>> = Vec::new();
        for (line, row) in rows {
            let get = |f: &str| row.get(f).map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
            let Some(ext) = errors.take(
                line,
                "external_id",
                v::required_text(row.get("external_id").map(String::as_str).unwrap_or(""), 128),
            ) else {
                continue;
            };
            if !seen.insert(ext.clone()) {
                errors.add(line, "external_id", format!("{ext} appears on an earlier line too"));
                continue;
            }
            let name =
                errors.take(line, "name", v::required_text(row.get("name").map(String::as_str).unwrap_or(""), 300));
            let email = match (get("email"), get("domain")) {
                (Some(e), _) => errors.take(line, "email", v::email(&e)).map(Some),
                (None, Some(d)) => errors
                    .take(
                        line,
                        "domain",
                        v::email(&format!("billing@{d}")).map_err(|_| format!("{d:?} is not a domain name")),
                    )
                    .map(Some),
                (None, None) => Some(None),
            };
            let country = match get("country").or_else(|| defaults.country.clone()) {
                Some(c) => errors.take(line, "country", v::country(&c.to_uppercase())).map(Some),
                None => Some(None),
            };
            let (Some(name), Some(email), Some(country)) = (name, email, country) else { continue };
            match by_external.get(&ext) {
                Some(current) => {
                    let mut next = NewCustomer {
                        name: current.name.clone(),
                        billing_address: current.billing_address.clone(),
                        email: current.email.clone(),
                        country: current.country.clone(),
                        currency: current.currency.clone(),
                        tax_rate_percent: current.tax_rate_percent,
                        tax_id: current.tax_id.clone(),
                        external_id: current.external_id.clone(),
                        tax_treatment: current.tax_treatment.clone(),
                        exemption_reason: current.exemption_reason.clone(),
                    };
                    let mut changes = Vec::new();
                    if name != current.name {
                        changes.push(change("name", &current.name, &name));
                        next.name = name;
                    }
                    // Only an explicit email column replaces a customer's email (not one made
                    // from the domain), and only an explicit country column its country.
                    if let (Some(e), true) = (email, get("email").is_some()) {
                        if e != current.email {
                            changes.push(change("email", &current.email, &e));
                            next.email = e;
                        }
                    }
                    if let (Some(c), true) = (country, get("country").is_some()) {
                        if c != current.country {
                            changes.push(change("country", &current.country, &c));
                            next.country = c;
                        }
                    }
                    planned.push((line, ext, Some(current.clone()), next, changes));
                }
                None => {
                    let Some(email) = email else {
                        errors.add(line, "email", "a new customer needs an Email or Primary domain column value");
                        continue;
                    };
                    let Some(country) = country else {
                        errors.add(
                            line,
                            "country",
                            "a new customer needs a Country column or the default country (--country)",
                        );
                        continue;
                    };
                    let currency = match get("currency").or_else(|| defaults.currency.clone()) {
                        Some(c) => errors.take(line, "currency", v::currency(&c.to_uppercase())),
                        None => {
                            errors.add(
                                line,
                                "currency",
                                "a new customer needs a Currency column or the default currency (--currency)",
                            );
                            None
                        }
                    };
                    let rate = match &defaults.tax_rate_percent {
                        Some(r) => errors.take(line, "tax_rate_percent", v::decimal(r).and_then(v::percent)),
                        None => {
                            errors.add(
                                line,
                                "tax_rate_percent",
                                "a new customer needs the default tax rate (--tax-rate)",
                            );
                            None
                        }
                    };
                    let (Some(currency), Some(rate)) = (currency, rate) else { continue };
                    let new = NewCustomer {
                        name,
                        billing_address: String::new(),
                        email,
                        country,
                        currency: currency.code().to_string(),
                        tax_rate_percent: Dec(rate.normalize()),
                        tax_id: String::new(),
                        external_id: Some(ext.clone()),
                        tax_treatment: TaxTreatment::Standard.as_str().to_string(),
                        exemption_reason: String::new(),
                    };
                    let changes = vec![
                        change("name", "", &new.name),
                        change("email", "", &new.email),
                        change("country", "", &new.country),
                        change("currency", "", &new.currency),
                        change("tax_rate_percent", "", &new.tax_rate_percent.0.to_string()),
                    ];
                    planned.push((line, ext, None, new, changes));
                }
            }
        }
        if !errors.0.is_empty() {
            return Err(AppError::Validation(ValidationErrors(errors.0)));
        }
        let mut lines = Vec::new();
        for (line, ext, current, new, changes) in planned {
            let (action, id) = match (&current, changes.is_empty()) {
                (Some(c), true) => ("unchanged", Some(c.id)),
                (Some(c), false) => {
                    if !dry_run {
                        diesel::update(customers::table.find(c.id)).set(&new).execute(conn)?;
                    }
                    ("update", Some(c.id))
                }
                (None, _) => {
                    let id = if dry_run {
                        None
                    } else {
                        Some(
                            diesel::insert_into(customers::table)
                                .values((&new, customers::created_at.eq(now)))
                                .returning(customers::id)
                                .get_result(conn)
                                .map_err(crate::service::unique_violation("external_id"))?,
                        )
                    };
                    ("create", id)
                }
            };
            lines.push(LineChange { line, action: action.into(), external_id: ext, id, changes });
        }
        Ok(finish_report(dry_run, lines))
    })
}

/// The product family an offer name belongs to.
pub fn product_of(offer: &str) -> Product {
    let o = offer.to_lowercase();
    if o.contains("azure") {
        Product::Azure
    } else if o.contains("dynamics") {
        Product::Dynamics365
    } else if [
        "microsoft 365",
        "office 365",
        "exchange online",
        "teams",
        "sharepoint",
        "onedrive",
        "intune",
        "windows 365",
        "enterprise mobility",
        "m365",
        "o365",
    ]
    .iter()
    .any(|k| o.contains(k))
    {
        Product::Microsoft365
    } else {
        Product::Other
    }
}

/// Partner Center statuses as ours.
fn status_of(text: &str) -> Result<SubscriptionStatus, String> {
    match text.trim().to_lowercase().as_str() {
        "active" => Ok(SubscriptionStatus::Active),
        "suspended" | "disabled" => Ok(SubscriptionStatus::Suspended),
        "deleted" | "cancelled" | "canceled" | "expired" => Ok(SubscriptionStatus::Cancelled),
        other => Err(format!(
            "{other:?} is not a subscription status (active, suspended, disabled, deleted, cancelled, expired)"
        )),
    }
}

/// Imports Partner Center's subscription list for customers already known by their Partner
/// Center id: new subscriptions go on `plan_id` (its currency must be the customer's); known
/// ones (by `external_id`) get name, product and status updated, and keep their plan.
pub fn import_subscriptions(
    conn: &mut DbConnection,
    bytes: &[u8],
    plan_id: i64,
    dry_run: bool,
    now: chrono::NaiveDateTime,
) -> Result<ImportReport, AppError> {
    let rows = read_csv(bytes, SUBSCRIPTION_COLUMNS, &["external_id", "customer", "name"])?;
    write_tx(conn, |conn| {
        let plan: Plan = plans::table
            .find(plan_id)
            .select(Plan::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| AppError::field("plan_id", "no plan has this id"))?;
        let known_customers: Vec<Customer> =
            customers::table.filter(customers::external_id.is_not_null()).select(Customer::as_select()).load(conn)?;
        let customer_by_ext: HashMap<String, Customer> =
            known_customers.into_iter().filter_map(|c| c.external_id.clone().map(|x| (x, c))).collect();
        let known_subs: Vec<Subscription> = subscriptions::table
            .filter(subscriptions::external_id.is_not_null())
            .select(Subscription::as_select())
            .load(conn)?;
        let sub_by_ext: HashMap<String, Subscription> =
            known_subs.into_iter().filter_map(|s| s.external_id.clone().map(|x| (x, s))).collect();
        let mut errors = Errors(Vec::new());
        let mut seen = HashSet::new();
        let mut planned: Vec<Planned<i64, NewSubscription>> = Vec::new();
        for (line, row) in rows {
            let get = |f: &str| row.get(f).map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
            let Some(ext) = errors.take(
                line,
                "external_id",
                v::required_text(row.get("external_id").map(String::as_str).unwrap_or(""), 128),
            ) else {
                continue;
            };
            if !seen.insert(ext.clone()) {
                errors.add(line, "external_id", format!("{ext} appears on an earlier line too"));
                continue;
            }
            let name =
                errors.take(line, "name", v::required_text(row.get("name").map(String::as_str).unwrap_or(""), 300));
            if let Some(q) = get("quantity") {
                if q.parse::<u64>().is_err() {
                    errors.add(line, "quantity", format!("{q:?} is not a whole number of licences"));
                }
            }
            let status = match get("status") {
                Some(s) => errors.take(line, "status", status_of(&s)).map(Some),
                None => Some(None),
            };
            let customer_ext = get("customer").unwrap_or_default();
            let customer = match customer_by_ext.get(&customer_ext) {
                Some(c) => Some(c),
                None => {
                    errors.add(
                        line,
                        "customer",
                        format!("no customer has the Partner Center id {customer_ext:?}; import the customers first"),
                    );
                    None
                }
            };
            let (Some(name), Some(status), Some(customer)) = (name, status, customer) else { continue };
            let product = product_of(&name).as_str().to_string();
            match sub_by_ext.get(&ext) {
                Some(current) => {
                    if current.customer_id != customer.id {
                        errors.add(
                            line,
                            "customer",
                            format!("subscription {ext} belongs to another customer (id {})", current.customer_id),
                        );
                        continue;
                    }
                    let mut next = NewSubscription {
                        customer_id: current.customer_id,
                        plan_id: current.plan_id,
                        product: current.product.clone(),
                        name: current.name.clone(),
                        external_id: current.external_id.clone(),
                        status: current.status.clone(),
                    };
                    let mut changes = Vec::new();
                    if name != current.name {
                        changes.push(change("name", &current.name, &name));
                        next.name = name;
                    }
                    if product != current.product {
                        changes.push(change("product", &current.product, &product));
                        next.product = product;
                    }
                    if let Some(s) = status {
                        if s.as_str() != current.status {
                            changes.push(change("status", &current.status, s.as_str()));
                            next.status = s.as_str().to_string();
                        }
                    }
                    planned.push((line, ext, Some(current.id), next, changes));
                }
                None => {
                    if plan.currency != customer.currency {
                        errors.add(
                            line,
                            "plan_id",
                            format!(
                                "plan {} is in {}, customer {:?} is billed in {}",
                                plan.id, plan.currency, customer.name, customer.currency
                            ),
                        );
                        continue;
                    }
                    let new = NewSubscription {
                        customer_id: customer.id,
                        plan_id: plan.id,
                        product,
                        name,
                        external_id: Some(ext.clone()),
                        status: status.unwrap_or(SubscriptionStatus::Active).as_str().to_string(),
                    };
                    let changes = vec![
                        change("customer", "", &customer_ext),
                        change("name", "", &new.name),
                        change("product", "", &new.product),
                        change("status", "", &new.status),
                        change("plan_id", "", &plan.id.to_string()),
                    ];
                    planned.push((line, ext, None, new, changes));
                }
            }
        }
        if !errors.0.is_empty() {
            return Err(AppError::Validation(ValidationErrors(errors.0)));
        }
        let mut lines = Vec::new();
        for (line, ext, current, new, changes) in planned {
            let (action, id) = match (current, changes.is_empty()) {
                (Some(id), true) => ("unchanged", Some(id)),
                (Some(id), false) => {
                    if !dry_run {
                        diesel::update(subscriptions::table.find(id)).set(&new).execute(conn)?;
                    }
                    ("update", Some(id))
                }
                (None, _) => {
                    let id = if dry_run {
                        None
                    } else {
                        Some(
                            diesel::insert_into(subscriptions::table)
                                .values((&new, subscriptions::created_at.eq(now)))
                                .returning(subscriptions::id)
                                .get_result(conn)
                                .map_err(crate::service::unique_violation("external_id"))?,
                        )
                    };
                    ("create", id)
                }
            };
            lines.push(LineChange { line, action: action.into(), external_id: ext, id, changes });
        }
        Ok(finish_report(dry_run, lines))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_names_give_the_product_family() {
        assert_eq!(product_of("Azure plan"), Product::Azure);
        assert_eq!(product_of("Microsoft 365 Business Premium"), Product::Microsoft365);
        assert_eq!(product_of("Office 365 E3"), Product::Microsoft365);
        assert_eq!(product_of("Dynamics 365 Sales Enterprise"), Product::Dynamics365);
        assert_eq!(product_of("Windows 365 Enterprise"), Product::Microsoft365);
        assert_eq!(product_of("Visio Plan 2"), Product::Other);
    }

    #[test]
    fn headers_match_whatever_their_case_and_separators() {
        assert_eq!(normalize("\u{feff}Microsoft ID"), "microsoft id");
        assert_eq!(normalize("  PRIMARY_DOMAIN "), "primary domain");
        assert_eq!(normalize("Offer-Name"), "offer name");
    }
}
