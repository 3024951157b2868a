//! Support plans: what the partner publishes (scope, hours, contacts) and how it charges.

use diesel::prelude::*;

use crate::error::AppError;
use crate::storage::models::{NewPlan, Plan};
use crate::storage::schema::{plans, subscriptions};
use crate::storage::{write_tx, DbConnection};

pub fn create(conn: &mut DbConnection, new: NewPlan, now: chrono::NaiveDateTime) -> Result<Plan, AppError> {
    write_tx(conn, |conn| {
        let id: i64 = diesel::insert_into(plans::table)
            .values((&new, plans::created_at.eq(now)))
            .returning(plans::id)
            .get_result(conn)?;
        get(conn, id)
    })
}

pub fn get(conn: &mut DbConnection, id: i64) -> Result<Plan, AppError> {
    plans::table.find(id).select(Plan::as_select()).first(conn).optional()?.ok_or(AppError::NotFound { what: "plan" })
}

pub fn list(conn: &mut DbConnection, after: i64, limit: i64) -> Result<Vec<Plan>, AppError> {
    Ok(plans::table
        .filter(plans::id.gt(after))
        .order(plans::id)
        .limit(limit + 1)
        .select(Plan::as_select())
        .load(conn)?)
}

fn in_use(conn: &mut DbConnection, id: i64) -> Result<bool, AppError> {
    let n: i64 = subscriptions::table.filter(subscriptions::plan_id.eq(id)).count().get_result(conn)?;
    Ok(n > 0)
}

/// Changes apply to invoices drafted from now on; issued invoices keep the terms they had.
pub fn update(conn: &mut DbConnection, id: i64, changes: NewPlan) -> Result<Plan, AppError> {
    write_tx(conn, |conn| {
        let current = get(conn, id)?;
        if current.currency != changes.currency && in_use(conn, id)? {
            return Err(AppError::conflict(
                "currency_locked",
                "currency: cannot change the currency of a plan that subscriptions use",
            ));
        }
        diesel::update(plans::table.find(id)).set(&changes).execute(conn)?;
        get(conn, id)
    })
}

pub fn delete(conn: &mut DbConnection, id: i64) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        get(conn, id)?;
        if in_use(conn, id)? {
            return Err(AppError::conflict(
                "plan_in_use",
                "subscriptions use this plan; move them to another plan first",
            ));
        }
        diesel::delete(plans::table.find(id)).execute(conn)?;
        Ok(())
    })
}
