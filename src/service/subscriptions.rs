//! Subscriptions: a customer's CSP subscriptions, each supported under one plan.

use diesel::prelude::*;

use crate::error::AppError;
use crate::service::auth::Caller;
use crate::service::unique_violation;
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

pub fn create(
    conn: &mut DbConnection,
    new: NewSubscription,
    now: chrono::NaiveDateTime,
) -> Result<Subscription, AppError> {
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

/// `change` makes the new row from the current one, inside the transaction, so a PATCH merges
/// onto what it replaces.
pub fn update(
    conn: &mut DbConnection,
    caller: &Caller,
    id: i64,
    change: impl FnOnce(&Subscription) -> Result<NewSubscription, AppError>,
) -> Result<Subscription, AppError> {
    write_tx(conn, |conn| {
        let current = get(conn, caller, id)?;
        let mut next = change(&current)?;
        // A subscription stays with its customer (its invoices are the customer's).
        next.customer_id = current.customer_id;
        if next.plan_id != current.plan_id {
            check_refs(conn, next.customer_id, next.plan_id)?;
        }
        diesel::update(subscriptions::table.find(id))
            .set(&next)
            .execute(conn)
            .map_err(unique_violation("external_id"))?;
        get(conn, caller, id)
    })
}

pub fn delete(conn: &mut DbConnection, caller: &Caller, id: i64) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        get(conn, caller, id)?;
        let used: i64 = time_entries::table.filter(time_entries::subscription_id.eq(id)).count().get_result(conn)?;
        let used = used
            + tickets::table.filter(tickets::subscription_id.eq(id)).count().get_result::<i64>(conn)?
            + charges::table.filter(charges::subscription_id.eq(id)).count().get_result::<i64>(conn)?
            + invoice_lines::table.filter(invoice_lines::subscription_id.eq(id)).count().get_result::<i64>(conn)?;
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
