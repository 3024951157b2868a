//! The subscriptions export: upserted by subscription id under customers already imported,
//! with the product read from the offer name and the status from the export's words.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;

use chrono::NaiveDate;

use crate::domain::coverage::{month_start, Coverage};
use crate::domain::time::check_day;
use crate::domain::validation::{self as v, ValidationErrors};
use crate::domain::vocab::{Product, SubscriptionStatus};
use crate::error::AppError;
use crate::service::partner_center::*;
use crate::service::subscriptions::{items_within, settle_end};
use crate::storage::models::{Customer, NewSubscription, Plan, Subscription};
use crate::storage::schema::{customers, plans, subscriptions};
use crate::storage::{write_tx, DbConnection};

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

/// A Partner Center date: `YYYY-MM-DD`, an RFC 3339 timestamp (its UTC date) or a date and
/// time as `YYYY-MM-DDTHH:MM:SS` (UTC, as Partner Center gives every time), or `M/D/YYYY`
/// with an optional time after a space (its en-US reconciliation files); in the billable years.
pub fn export_date(text: &str) -> Result<NaiveDate, String> {
    let text = text.trim();
    let parsed = if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        Some(t.with_timezone(&chrono::Utc).date_naive())
    } else if text.contains('/') {
        let day = text.split_whitespace().next().unwrap_or(text);
        NaiveDate::parse_from_str(day, "%m/%d/%Y").ok().filter(|_| day.split('/').nth(2).is_some_and(|y| y.len() == 4))
    } else {
        let day = text.get(..10).unwrap_or(text);
        let rest = text.get(10..).unwrap_or("");
        (rest.is_empty() || rest.starts_with(['T', ' '])).then(|| v::date(day).ok()).flatten()
    };
    let day = parsed.ok_or_else(|| {
        format!("{text:?} is not a date (YYYY-MM-DD, an RFC 3339 timestamp, or M/D/YYYY as Partner Center writes it)")
    })?;
    check_day(day).map_err(|m| format!("{text:?} {m}"))
}

/// The end date an imported subscription takes (docs/api.md, "Partner Center import"). A
/// cancelled one ends where the export says, else where it already ends here (else
/// `settle_end` ends it next month). For an active or suspended one, the end column is the
/// renewal date of its term, not an end: it keeps its own end, unless it is cancelled here and
/// the export shows it back, which makes it open-ended again.
fn imported_end(
    status: SubscriptionStatus,
    current: Option<&Subscription>,
    exported: Option<NaiveDate>,
) -> Option<NaiveDate> {
    let current_end = current.and_then(|c| c.end_date);
    if status == SubscriptionStatus::Cancelled {
        return exported.or(current_end);
    }
    match current {
        Some(c) if c.status == SubscriptionStatus::Cancelled => None,
        _ => current_end,
    }
}

fn day_text(day: Option<NaiveDate>) -> String {
    day.map(|d| d.to_string()).unwrap_or_default()
}

/// Records a refused check as errors of `line`, counting those that are items outside a
/// subscription's dates; true when the check passed. A storage failure still fails the import.
fn on_line(
    errors: &mut Errors,
    outside: &mut usize,
    line: usize,
    checked: Result<(), AppError>,
) -> Result<bool, AppError> {
    let refused = match checked {
        Ok(()) => return Ok(true),
        Err(AppError::Validation(e)) => e,
        Err(AppError::Refused { errors: e, .. }) => {
            *outside += e.0.len();
            e
        }
        Err(other) => return Err(other),
    };
    for f in refused.0 {
        errors.add(line, &f.field, f.message);
    }
    Ok(false)
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
        // How many of the errors are items a new date would leave outside (SPEC 7.1).
        let mut outside = 0;
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
            // SPEC 7.1: the export's first covered day, and its last (the end column).
            let start = match get("start_date") {
                Some(t) => errors.take(line, "start_date", export_date(&t)).map(Some),
                None => Some(None),
            };
            let last = match get("end_date") {
                Some(t) => errors.take(line, "end_date", export_date(&t)).map(Some),
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
            let (Some(name), Some(status), Some(customer), Some(start), Some(last)) =
                (name, status, customer, start, last)
            else {
                continue;
            };
            // The end column as our exclusive end: the day after the last covered day.
            let exported_end = last.map(|d| d.succ_opt().unwrap_or(d));
            let product = product_of(&name);
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
                        product: current.product,
                        name: current.name.clone(),
                        external_id: current.external_id.clone(),
                        status: current.status,
                        start_date: current.start_date,
                        end_date: current.end_date,
                    };
                    let mut changes = Vec::new();
                    if name != current.name {
                        changes.push(change("name", &current.name, &name));
                        next.name = name;
                    }
                    if product != current.product {
                        changes.push(change("product", current.product.as_str(), product.as_str()));
                        next.product = product;
                    }
                    if let Some(s) = status {
                        if s != current.status {
                            changes.push(change("status", current.status.as_str(), s.as_str()));
                            next.status = s;
                        }
                    }
                    next.start_date = start.unwrap_or(current.start_date);
                    next.end_date = imported_end(next.status, Some(current), exported_end);
                    if !on_line(&mut errors, &mut outside, line, settle_end(&mut next, now))? {
                        continue;
                    }
                    if (next.start_date, next.end_date) != (current.start_date, current.end_date) {
                        let coverage = Coverage { start: next.start_date, end: next.end_date };
                        if !on_line(&mut errors, &mut outside, line, items_within(conn, current.id, coverage))? {
                            continue;
                        }
                    }
                    if next.start_date != current.start_date {
                        let (old, new) = (current.start_date.to_string(), next.start_date.to_string());
                        changes.push(change("start_date", &old, &new));
                    }
                    if next.end_date != current.end_date {
                        changes.push(change("end_date", &day_text(current.end_date), &day_text(next.end_date)));
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
                    let status = status.unwrap_or(SubscriptionStatus::Active);
                    let mut new = NewSubscription {
                        customer_id: customer.id,
                        plan_id: plan.id,
                        product,
                        name,
                        external_id: Some(ext.clone()),
                        status,
                        // Without a start column: from the current month (docs/api.md).
                        start_date: start.unwrap_or_else(|| month_start(now.date())),
                        end_date: imported_end(status, None, exported_end),
                    };
                    if !on_line(&mut errors, &mut outside, line, settle_end(&mut new, now))? {
                        continue;
                    }
                    let mut changes = vec![
                        change("customer", "", &customer_ext),
                        change("name", "", &new.name),
                        change("product", "", new.product.as_str()),
                        change("status", "", new.status.as_str()),
                        change("plan_id", "", &plan.id.to_string()),
                        change("start_date", "", &new.start_date.to_string()),
                    ];
                    if new.end_date.is_some() {
                        changes.push(change("end_date", "", &day_text(new.end_date)));
                    }
                    planned.push((line, ext, None, new, changes));
                }
            }
        }
        if !errors.0.is_empty() && errors.0.len() == outside {
            return Err(AppError::outside_subscription(errors.0));
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
    fn export_dates_in_partner_centers_formats() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(export_date("2026-03-15").unwrap(), d(2026, 3, 15));
        assert_eq!(export_date("2026-03-15T00:00:00Z").unwrap(), d(2026, 3, 15));
        assert_eq!(export_date("2026-03-15T23:30:00-02:00").unwrap(), d(2026, 3, 16), "its UTC date");
        assert_eq!(export_date("2026-03-15T08:00:00").unwrap(), d(2026, 3, 15));
        assert_eq!(export_date(" 10/3/2020 ").unwrap(), d(2020, 10, 3));
        assert_eq!(export_date("1/31/2023 11:59:59 PM").unwrap(), d(2023, 1, 31));
        for bad in ["31/12/2026", "20.05.2024", "2026-02-30", "10/3/20", "2026-03-15x", "1999-12-31", ""] {
            assert!(export_date(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn headers_match_whatever_their_case_and_separators() {
        assert_eq!(normalize("\u{feff}Microsoft ID"), "microsoft id");
        assert_eq!(normalize("  PRIMARY_DOMAIN "), "primary domain");
        assert_eq!(normalize("Offer-Name"), "offer name");
    }
}
