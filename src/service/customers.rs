//! Customers: the partner's CSP customers, each billed in one currency at one tax rate.

use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::domain::validation::{self as v, Check, DecimalIn, ValidationErrors};
use crate::domain::vocab::TaxTreatment;
use crate::error::AppError;
use crate::service::unique_violation;
use crate::storage::models::{Customer, NewCustomer};
use crate::storage::schema::{api_keys, customers, idempotency_keys, invoices, subscriptions};
use crate::storage::{write_tx, DbConnection, Dec};

// (No doc comment on purpose: it would become this schema's description in openapi.json.)
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    /// Any Unicode, e.g. `ООО «Ромашка»`.
    pub name: String,
    /// ISO 4217 code; the customer's plans must use the same currency.
    pub currency: String,
    /// 0 to 100.
    pub tax_rate_percent: DecimalIn,
    /// ISO 3166 alpha-2.
    pub country: String,
    pub email: String,
    #[serde(default)]
    pub billing_address: String,
    #[serde(default)]
    pub tax_id: String,
    /// Partner Center customer tenant id; unique.
    pub external_id: Option<String>,
    /// `standard` (default), `reverse_charge` (rate 0, customer and partner tax ids set),
    /// `exempt` (rate 0, `exemption_reason` required) or `outside_scope` (rate 0).
    pub tax_treatment: Option<String>,
    /// Why the customer is exempt; printed on its invoices. Only with `exempt`.
    pub exemption_reason: Option<String>,
}

impl CustomerInput {
    pub fn validate(self) -> Result<NewCustomer, ValidationErrors> {
        let mut c = Check::new();
        let name = c.take("name", v::required_text(&self.name, 300));
        let currency = c.take("currency", v::currency(&self.currency));
        let tax = c.take("tax_rate_percent", v::decimal(&self.tax_rate_percent.0).and_then(v::percent));
        let country = c.take("country", v::country(&self.country));
        let email = c.take("email", v::email(&self.email));
        let address = c.take("billing_address", v::optional_text(&self.billing_address, 1000));
        let tax_id = c.take("tax_id", v::optional_text(self.tax_id.trim(), 64));
        let external_id = match &self.external_id {
            Some(x) => c.take("external_id", v::required_text(x, 128)).map(Some),
            None => Some(None),
        };
        let treatment =
            c.take("tax_treatment", TaxTreatment::parse_field(self.tax_treatment.as_deref().unwrap_or("standard")));
        let reason =
            c.take("exemption_reason", v::optional_text(self.exemption_reason.as_deref().unwrap_or("").trim(), 500));
        // SPEC 6: only standard customers pay VAT; the others need what their note refers to.
        if let (Some(t), Some(rate), Some(reason), Some(tax_id)) =
            (treatment, tax, reason.as_deref(), tax_id.as_deref())
        {
            if t != TaxTreatment::Standard && !rate.is_zero() {
                c.add("tax_rate_percent", format!("must be 0 for tax_treatment {}", t.as_str()));
            }
            match t {
                TaxTreatment::ReverseCharge if tax_id.is_empty() => {
                    c.add("tax_id", "the customer's tax id is required for reverse_charge");
                }
                TaxTreatment::Exempt if reason.is_empty() => {
                    c.add("exemption_reason", "is required for tax_treatment exempt (it is printed on invoices)");
                }
                TaxTreatment::Standard | TaxTreatment::ReverseCharge | TaxTreatment::OutsideScope
                    if !reason.is_empty() =>
                {
                    c.add("exemption_reason", "only applies to tax_treatment exempt");
                }
                _ => {}
            }
        }
        c.finish(|| {
            Some(NewCustomer {
                name: name?,
                billing_address: address?,
                email: email?,
                country: country?,
                currency: currency?,
                tax_rate_percent: Dec(tax?.normalize()),
                tax_id: tax_id?,
                external_id: external_id?,
                tax_treatment: treatment?,
                exemption_reason: reason?,
            })
        })
    }
}

/// SPEC 6: a reverse-charge invoice names both VAT ids, so the partner's must be set too.
fn check_partner_tax_id(conn: &mut DbConnection, new: &NewCustomer) -> Result<(), AppError> {
    if new.tax_treatment == TaxTreatment::ReverseCharge && crate::service::partner::get(conn)?.tax_id.trim().is_empty()
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
