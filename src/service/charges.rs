//! Charges: manual lines on a subscription (a Premier case fee passed through, or a credit).

use diesel::prelude::*;

use crate::domain::money::Currency;
use crate::domain::validation as v;
use crate::error::AppError;
use crate::service::subscriptions::check_covered;
use crate::storage::models::{Charge, NewCharge};
use crate::storage::schema::{charges, customers, subscriptions};
use crate::storage::{write_tx, DbConnection};

/// The amount must fit the currency of the subscription's customer (no 10.005 EUR).
pub fn create(conn: &mut DbConnection, mut new: NewCharge) -> Result<Charge, AppError> {
    write_tx(conn, |conn| {
        let currency: Option<Currency> = subscriptions::table
            .inner_join(customers::table)
            .filter(subscriptions::id.eq(new.subscription_id))
            .select(customers::currency)
            .first(conn)
            .optional()?;
        let currency = currency.ok_or_else(|| AppError::field("subscription_id", "no subscription has this id"))?;
        // SPEC 7.1: dated on a day the subscription covers.
        check_covered(conn, new.subscription_id, "date", new.date)?;
        new.amount.0 = v::money(new.amount.0, currency).map_err(|m| AppError::field("amount", m))?;
        let id: i64 = diesel::insert_into(charges::table).values(&new).returning(charges::id).get_result(conn)?;
        get(conn, id)
    })
}

pub fn get(conn: &mut DbConnection, id: i64) -> Result<Charge, AppError> {
    charges::table
        .find(id)
        .select(Charge::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound { what: "charge" })
}

pub fn list(
    conn: &mut DbConnection,
    subscription_id: Option<i64>,
    after: i64,
    limit: i64,
) -> Result<Vec<Charge>, AppError> {
    let mut query = charges::table
        .filter(charges::id.gt(after))
        .order(charges::id)
        .limit(limit + 1)
        .select(Charge::as_select())
        .into_boxed();
    if let Some(s) = subscription_id {
        query = query.filter(charges::subscription_id.eq(s));
    }
    Ok(query.load(conn)?)
}

pub fn delete(conn: &mut DbConnection, id: i64) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        let current = get(conn, id)?;
        crate::service::lock_customers_of(conn, &[current.subscription_id])?;
        // Deletes only while unclaimed: a draft that took it meanwhile makes this a 409.
        let n = diesel::delete(charges::table.find(id).filter(charges::invoice_id.is_null())).execute(conn)?;
        if n == 0 {
            return Err(AppError::conflict(
                "claimed",
                "the charge is on an invoice; void or delete that invoice first",
            ));
        }
        Ok(())
    })
}
