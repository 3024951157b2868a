//! Subscriptions: a customer's CSP subscriptions, each supported under one plan.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;

use crate::domain::coverage::{next_month_start, Coverage};
use crate::domain::validation::FieldError;
use crate::domain::vocab::SubscriptionStatus;
use crate::error::AppError;
use crate::service::auth::Caller;
use crate::service::unique_violation;
use crate::storage::locks::{self, SubscriptionKeys};
use crate::storage::models::{NewSubscription, Subscription};
use crate::storage::schema::{charges, customers, invoice_lines, plans, subscriptions, tickets, time_entries};
use crate::storage::{write_tx, DbConnection};

/// SPEC 1: the plan's currency MUST equal the customer's (else 422).
fn check_refs(conn: &mut DbConnection, customer_id: i64, plan_id: i64) -> Result<(), AppError> {
    let customer: Option<String> =
        customers::table.find(customer_id).select(customers::currency).first(conn).optional()?;
    let customer = customer.ok_or_else(|| AppError::field("customer_id", "no customer has this id"))?;
    let plan: Option<String> = plans::table.find(plan_id).select(plans::currency).first(conn).optional()?;
    let plan = plan.ok_or_else(|| AppError::field("plan_id", "no plan has this id"))?;
    if plan != customer {
        return Err(AppError::field(
            "plan_id",
            format!("the plan is in {plan} but the customer is billed in {customer}"),
        ));
    }
    Ok(())
}

/// SPEC 7.1: a cancelled subscription without an end date ends on the first day of the month
/// after `now` (UTC); and the end, given or so made, must follow the start (422 on `end_date`).
pub fn settle_end(new: &mut NewSubscription, now: NaiveDateTime) -> Result<(), AppError> {
    if new.status == SubscriptionStatus::Cancelled && new.end_date.is_none() {
        let end = next_month_start(now.date());
        if end <= new.start_date {
            return Err(AppError::field(
                "end_date",
                format!(
                    "a cancellation now would end the subscription on {end}, before its start_date {}; send an end_date after the start",
                    new.start_date
                ),
            ));
        }
        new.end_date = Some(end);
    }
    Coverage { start: new.start_date, end: new.end_date }.check().map_err(|m| AppError::field("end_date", m))
}

pub fn create(conn: &mut DbConnection, mut new: NewSubscription, now: NaiveDateTime) -> Result<Subscription, AppError> {
    settle_end(&mut new, now)?;
    write_tx(conn, |conn| {
        check_refs(conn, new.customer_id, new.plan_id)?;
        let id: i64 = diesel::insert_into(subscriptions::table)
            .values((&new, subscriptions::created_at.eq(now)))
            .returning(subscriptions::id)
            .get_result(conn)
            .map_err(unique_violation("external_id"))?;
        find(conn, id)?.ok_or(AppError::NotFound { what: "subscription" })
    })
}

fn find(conn: &mut DbConnection, id: i64) -> Result<Option<Subscription>, AppError> {
    Ok(subscriptions::table.find(id).select(Subscription::as_select()).first(conn).optional()?)
}

/// A subscription the caller may see (clients: only their customer's), else 404.
pub fn get(conn: &mut DbConnection, caller: &Caller, id: i64) -> Result<Subscription, AppError> {
    match find(conn, id)? {
        Some(s) if caller.may_see_customer(s.customer_id) => Ok(s),
        _ => Err(AppError::NotFound { what: "subscription" }),
    }
}

pub fn list(
    conn: &mut DbConnection,
    customer_id: Option<i64>,
    after: i64,
    limit: i64,
) -> Result<Vec<Subscription>, AppError> {
    let mut query = subscriptions::table
        .filter(subscriptions::id.gt(after))
        .order(subscriptions::id)
        .limit(limit + 1)
        .select(Subscription::as_select())
        .into_boxed();
    if let Some(c) = customer_id {
        query = query.filter(subscriptions::customer_id.eq(c));
    }
    Ok(query.load(conn)?)
}

/// `change` makes the new row from the current one, inside the transaction and with the row
/// locked, so a PATCH merges onto what it replaces. New dates must still cover every time
/// entry, ticket and charge of the subscription (422 `outside_subscription`, naming the first
/// one outside).
pub fn update(
    conn: &mut DbConnection,
    caller: &Caller,
    id: i64,
    now: NaiveDateTime,
    change: impl FnOnce(&Subscription) -> Result<NewSubscription, AppError>,
) -> Result<Subscription, AppError> {
    write_tx(conn, |conn| {
        // Writers of entries, tickets and charges key-share-lock the subscription while they
        // check its dates ([`check_covered`], `time_entries::resolve`), so new dates and a new item never pass each
        // other's check unseen on PostgreSQL.
        locks::subscription_for_update(conn, id)?;
        let current = get(conn, caller, id)?;
        let mut next = change(&current)?;
        // A subscription stays with its customer (its invoices are the customer's).
        next.customer_id = current.customer_id;
        settle_end(&mut next, now)?;
        if next.plan_id != current.plan_id {
            check_refs(conn, next.customer_id, next.plan_id)?;
            crate::service::blocks::check_plan_change(conn, id, next.plan_id)?;
        }
        if (next.start_date, next.end_date) != (current.start_date, current.end_date) {
            items_within(conn, id, Coverage { start: next.start_date, end: next.end_date })?;
        }
        diesel::update(subscriptions::table.find(id))
            .set(&next)
            .execute(conn)
            .map_err(unique_violation("external_id"))?;
        get(conn, caller, id)
    })
}

/// For a writer of one time entry, ticket or charge: the item's UTC date `day` lies within
/// subscription `subscription_id`'s dates, else a 422 `outside_subscription` naming `field`
/// and the dates; a subscription that does not exist is a 422 naming `subscription_id`. The
/// dates stay key-share-locked until the writer commits (`storage::locks`).
pub fn check_covered(
    conn: &mut DbConnection,
    subscription_id: i64,
    field: &str,
    day: NaiveDate,
) -> Result<(), AppError> {
    let found = locks::subscription_dates_for_key_share(conn, SubscriptionKeys::Ids(&[subscription_id]))?;
    let Some(&(_, _, start, end)) = found.first() else {
        return Err(AppError::field("subscription_id", "no subscription has this id"));
    };
    match (Coverage { start, end }).refusal(day) {
        None => Ok(()),
        Some(message) => {
            Err(AppError::outside_subscription(vec![FieldError { field: field.to_string(), message, row: None }]))
        }
    }
}

/// One item of a subscription, by its date: (UTC date, what it is, its id).
type Dated = (NaiveDate, &'static str, i64);

/// Every time entry, ticket and charge of subscription `id` lies within `coverage`, else a
/// 422 `outside_subscription` naming `start_date` and/or `end_date` and the first item outside
/// each (two indexed reads per table: `(subscription_id, date)` is indexed in each).
pub fn items_within(conn: &mut DbConnection, id: i64, coverage: Coverage) -> Result<(), AppError> {
    // The first of the subscription's rows in `$table` whose `$col` meets `$cond`, by date.
    macro_rules! first {
        ($table:ident, $col:ident, $cond:expr) => {
            $table::table
                .filter($table::subscription_id.eq(id))
                .filter($cond)
                .order(($table::$col, $table::id))
                .select(($table::id, $table::$col))
                .first(conn)
                .optional()?
        };
    }
    let entry = |(i, t): (i64, NaiveDateTime)| (t.date(), "time entry", i);
    let ticket = |(i, t): (i64, NaiveDateTime)| (t.date(), "ticket", i);
    let charge = |(i, d): (i64, NaiveDate)| (d, "charge", i);
    let start = coverage.start.and_time(NaiveTime::MIN);
    let before: Vec<Dated> = [
        first!(time_entries, started_at, time_entries::started_at.lt(start)).map(entry),
        first!(tickets, opened_at, tickets::opened_at.lt(start)).map(ticket),
        first!(charges, date, charges::date.lt(coverage.start)).map(charge),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut after: Vec<Dated> = Vec::new();
    if let Some(end_day) = coverage.end {
        let end = end_day.and_time(NaiveTime::MIN);
        after.extend(first!(time_entries, started_at, time_entries::started_at.ge(end)).map(entry));
        after.extend(first!(tickets, opened_at, tickets::opened_at.ge(end)).map(ticket));
        after.extend(first!(charges, date, charges::date.ge(end_day)).map(charge));
    }
    let mut errors = Vec::new();
    if let Some((day, what, item)) = before.into_iter().min() {
        errors.push(FieldError {
            field: "start_date".into(),
            message: format!(
                "{what} {item}, dated {day}, would fall before start_date {}; move or delete it first",
                coverage.start
            ),
            row: None,
        });
    }
    if let (Some((day, what, item)), Some(end)) = (after.into_iter().min(), coverage.end) {
        errors.push(FieldError {
            field: "end_date".into(),
            message: format!(
                "{what} {item}, dated {day}, would fall on or after end_date {end} (the first day not covered); move or delete it first"
            ),
            row: None,
        });
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::outside_subscription(errors))
    }
}

pub fn delete(conn: &mut DbConnection, caller: &Caller, id: i64) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        get(conn, caller, id)?;
        let used: i64 = time_entries::table.filter(time_entries::subscription_id.eq(id)).count().get_result(conn)?;
        let used = used
            + tickets::table.filter(tickets::subscription_id.eq(id)).count().get_result::<i64>(conn)?
            + charges::table.filter(charges::subscription_id.eq(id)).count().get_result::<i64>(conn)?
            + invoice_lines::table.filter(invoice_lines::subscription_id.eq(id)).count().get_result::<i64>(conn)?
            + crate::service::blocks::count(conn, id)?;
        if used > 0 {
            return Err(AppError::conflict(
                "subscription_in_use",
                "the subscription has recorded support; set its status to cancelled instead",
            ));
        }
        diesel::delete(subscriptions::table.find(id)).execute(conn)?;
        Ok(())
    })
}
