//! Customers: the partner's CSP customers, each billed in one currency at one tax rate.

use diesel::prelude::*;

use crate::domain::vocab::TaxTreatment;
use crate::error::AppError;
use crate::service::unique_violation;
use crate::storage::models::{Customer, NewCustomer};
use crate::storage::schema::{api_keys, customers, idempotency_keys, invoices, subscriptions};
use crate::storage::{write_tx, DbConnection};

/// SPEC 6: a reverse-charge invoice names both VAT ids, so the partner's must be set too.
fn check_partner_tax_id(conn: &mut DbConnection, new: &NewCustomer) -> Result<(), AppError> {
    if new.tax_treatment == TaxTreatment::ReverseCharge.as_str()
        && crate::service::partner::get(conn)?.tax_id.trim().is_empty()
    {
        return Err(AppError::field(
            "tax_treatment",
            "reverse_charge needs the partner's tax id: set it first (PUT /api/v1/partner)",
        ));
    }
    Ok(())
}

pub fn create(conn: &mut DbConnection, new: NewCustomer, now: chrono::NaiveDateTime) -> Result<Customer, AppError> {
    write_tx(conn, |conn| {
        check_partner_tax_id(conn, &new)?;
        let id: i64 = diesel::insert_into(customers::table)
            .values((&new, customers::created_at.eq(now)))
            .returning(customers::id)
            .get_result(conn)
            .map_err(unique_violation("external_id"))?;
        get(conn, id)
    })
}

pub fn get(conn: &mut DbConnection, id: i64) -> Result<Customer, AppError> {
    customers::table
        .find(id)
        .select(Customer::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound { what: "customer" })
}

pub fn list(conn: &mut DbConnection, after: i64, limit: i64) -> Result<Vec<Customer>, AppError> {
    Ok(customers::table
        .filter(customers::id.gt(after))
        .order(customers::id)
        .limit(limit + 1)
        .select(Customer::as_select())
        .load(conn)?)
}

pub fn update(conn: &mut DbConnection, id: i64, changes: NewCustomer) -> Result<Customer, AppError> {
    write_tx(conn, |conn| {
        let current = get(conn, id)?;
        check_partner_tax_id(conn, &changes)?;
        if current.currency != changes.currency {
            let subs: i64 = subscriptions::table.filter(subscriptions::customer_id.eq(id)).count().get_result(conn)?;
            let invs: i64 = invoices::table.filter(invoices::customer_id.eq(id)).count().get_result(conn)?;
            if subs + invs > 0 {
                return Err(AppError::conflict(
                    "currency_locked",
                    "currency: cannot change the currency of a customer with subscriptions or invoices",
                ));
            }
        }
        diesel::update(customers::table.find(id))
            .set(&changes)
            .execute(conn)
            .map_err(unique_violation("external_id"))?;
        get(conn, id)
    })
}

pub fn delete(conn: &mut DbConnection, id: i64) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        get(conn, id)?;
        let subs: i64 = subscriptions::table.filter(subscriptions::customer_id.eq(id)).count().get_result(conn)?;
        let invs: i64 = invoices::table.filter(invoices::customer_id.eq(id)).count().get_result(conn)?;
        if subs + invs > 0 {
            return Err(AppError::conflict(
                "customer_in_use",
                "the customer has subscriptions or invoices; cancel its subscriptions instead",
            ));
        }
        // Its client keys go with it, and first what they stored for retries (idempotency
        // keys name their API key): else any client request with an Idempotency-Key made its
        // customer undeletable, a 500, for a day.
        let keys = api_keys::table.filter(api_keys::customer_id.eq(id)).select(api_keys::id);
        diesel::delete(idempotency_keys::table.filter(idempotency_keys::api_key_id.eq_any(keys))).execute(conn)?;
        diesel::delete(api_keys::table.filter(api_keys::customer_id.eq(id))).execute(conn)?;
        diesel::delete(customers::table.find(id)).execute(conn)?;
        Ok(())
    })
}
