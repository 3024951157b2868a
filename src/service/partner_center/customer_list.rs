//! The customers export: upserted by Partner Center id, new customers completed from the
//! defaults the caller gives.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;

use crate::domain::validation::{self as v, ValidationErrors};
use crate::domain::vocab::TaxTreatment;
use crate::error::AppError;
use crate::service::partner_center::*;
use crate::storage::models::{Customer, NewCustomer};
use crate::storage::schema::customers;
use crate::storage::{write_tx, DbConnection, Dec};

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
                        currency: current.currency,
                        tax_rate_percent: current.tax_rate_percent,
                        tax_id: current.tax_id.clone(),
                        external_id: current.external_id.clone(),
                        tax_treatment: current.tax_treatment,
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
                        currency,
                        tax_rate_percent: Dec(rate.normalize()),
                        tax_id: String::new(),
                        external_id: Some(ext.clone()),
                        tax_treatment: TaxTreatment::Standard,
                        exemption_reason: String::new(),
                    };
                    let changes = vec![
                        change("name", "", &new.name),
                        change("email", "", &new.email),
                        change("country", "", &new.country),
                        change("currency", "", new.currency.code()),
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
