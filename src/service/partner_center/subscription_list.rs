//! The subscriptions export: upserted by subscription id under customers already imported,
//! with the product read from the offer name and the status from the export's words.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;

use crate::domain::validation::{self as v, ValidationErrors};
use crate::domain::vocab::{Product, SubscriptionStatus};
use crate::error::AppError;
use crate::service::partner_center::*;
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
                        status: status.unwrap_or(SubscriptionStatus::Active),
                    };
                    let changes = vec![
                        change("customer", "", &customer_ext),
                        change("name", "", &new.name),
                        change("product", "", new.product.as_str()),
                        change("status", "", new.status.as_str()),
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
