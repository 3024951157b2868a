//! Support plans: what the partner publishes (scope, hours, contacts) and how it charges. A
//! plan holds what never changes (name, currency, billing model); its terms are versions
//! (SPEC 7.2, [`crate::service::plan_versions`]).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::domain::pricing::BillingModel;
use crate::domain::validation::{self as v, Check, ValidationErrors};
use crate::error::AppError;
use crate::service::plan_terms::{check_terms, with_terms};
use crate::service::plan_versions;
use crate::storage::models::{NewPlan, Plan, PlanTermsRow, PlanVersionRow};
use crate::storage::schema::{plans, subscriptions};
use crate::storage::{write_tx, DbConnection};

with_terms! {
    // (No doc comment on purpose: it would become this schema's description in openapi.json.)
    #[derive(Debug, Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct PlanInput {
        pub name: String,
        pub currency: String,
        /// `included`, `hourly`, `retainer`, `per_incident` or `prepaid`.
        pub billing_model: String,
        /// `YYYY-MM-DD`, the first date of the terms. `POST`: default today (UTC); `PUT`
        /// replaces the terms from today on, so only today may be given.
        pub effective_from: Option<String>,
    }
}

/// A checked plan: its own fields and its terms.
#[derive(Clone, Debug)]
pub struct PlanChange {
    pub plan: NewPlan,
    /// `None`: today.
    pub effective_from: Option<NaiveDate>,
    pub terms: PlanTermsRow,
}

impl PlanInput {
    pub fn validate(self) -> Result<PlanChange, ValidationErrors> {
        let mut c = Check::new();
        let name = c.take("name", v::required_text(&self.name, 200));
        let currency = c.take("currency", v::currency(&self.currency));
        let model = c.take(
            "billing_model",
            BillingModel::parse(&self.billing_model).ok_or_else(|| {
                format!("{:?} is not one of: included, hourly, retainer, per_incident, prepaid", self.billing_model)
            }),
        );
        let effective_from = match &self.effective_from {
            None => Some(None),
            Some(text) => c.take("effective_from", v::date(text)).map(Some),
        };
        let terms = check_terms(&mut c, &self.terms_fields(), model, currency);
        c.finish(|| {
            Some(PlanChange {
                plan: NewPlan { name: name?, currency: currency?, billing_model: model? },
                effective_from: effective_from?,
                terms: terms?,
            })
        })
    }
}

/// A plan with the version of its terms in force on the day asked about.
#[derive(Clone, Debug)]
pub struct PlanView {
    pub plan: Plan,
    pub version: PlanVersionRow,
}

/// Creates the plan and its first version, from `effective_from` or else today (UTC).
pub fn create(conn: &mut DbConnection, new: PlanChange, now: NaiveDateTime) -> Result<PlanView, AppError> {
    write_tx(conn, |conn| {
        let id: i64 = diesel::insert_into(plans::table)
            .values((&new.plan, plans::created_at.eq(now)))
            .returning(plans::id)
            .get_result(conn)?;
        let from = new.effective_from.unwrap_or(now.date());
        let version = plan_versions::insert(conn, id, from, new.terms, now)?;
        Ok(PlanView { plan: plan_row(conn, id)?, version })
    })
}

pub fn plan_row(conn: &mut DbConnection, id: i64) -> Result<Plan, AppError> {
    plans::table.find(id).select(Plan::as_select()).first(conn).optional()?.ok_or(AppError::NotFound { what: "plan" })
}

/// The plan with the version in force on `as_of`.
pub fn get(conn: &mut DbConnection, id: i64, as_of: NaiveDate) -> Result<PlanView, AppError> {
    let plan = plan_row(conn, id)?;
    let version = plan_versions::in_force_on(conn, &[id], as_of)?
        .remove(&id)
        .ok_or_else(|| AppError::Internal(format!("plan {id} has no version")))?;
    Ok(PlanView { plan, version })
}

/// A page of plans (`limit + 1` rows, for the cursor), each with its version in force on `as_of`.
pub fn list(conn: &mut DbConnection, after: i64, limit: i64, as_of: NaiveDate) -> Result<Vec<PlanView>, AppError> {
    let rows: Vec<Plan> = plans::table
        .filter(plans::id.gt(after))
        .order(plans::id)
        .limit(limit + 1)
        .select(Plan::as_select())
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|p| p.id).collect();
    let mut versions = plan_versions::in_force_on(conn, &ids, as_of)?;
    rows.into_iter()
        .map(|plan| {
            let version = versions
                .remove(&plan.id)
                .ok_or_else(|| AppError::Internal(format!("plan {} has no version", plan.id)))?;
            Ok(PlanView { plan, version })
        })
        .collect()
}

fn in_use(conn: &mut DbConnection, id: i64) -> Result<bool, AppError> {
    let n: i64 = subscriptions::table.filter(subscriptions::plan_id.eq(id)).count().get_result(conn)?;
    Ok(n > 0)
}

/// `PUT /plans/{id}`: the name, and the terms from today (UTC) on; what was billed keeps the
/// terms it was billed under. The currency and billing model, which every version shares, may
/// change only while no subscription uses the plan; the plan then keeps one version, today's.
pub fn update(conn: &mut DbConnection, id: i64, changes: PlanChange, now: NaiveDateTime) -> Result<PlanView, AppError> {
    let today = now.date();
    if changes.effective_from.is_some_and(|d| d != today) {
        return Err(AppError::field(
            "effective_from",
            format!("PUT replaces the terms from today ({today}) on; add a version for another date"),
        ));
    }
    write_tx(conn, |conn| {
        let current = plan_row(conn, id)?;
        let used = in_use(conn, id)?;
        if current.currency != changes.plan.currency && used {
            return Err(AppError::conflict(
                "currency_locked",
                "currency: cannot change the currency of a plan that subscriptions use",
            ));
        }
        if current.billing_model != changes.plan.billing_model && used {
            return Err(AppError::conflict(
                "billing_model_locked",
                "billing_model: cannot change the billing model of a plan that subscriptions use",
            ));
        }
        let shared_changed =
            current.currency != changes.plan.currency || current.billing_model != changes.plan.billing_model;
        diesel::update(plans::table.find(id)).set(&changes.plan).execute(conn)?;
        let version = if shared_changed {
            plan_versions::replace_all(conn, id, today, changes.terms, now)?
        } else {
            plan_versions::replace_from(conn, id, today, changes.terms, now)?
        };
        Ok(PlanView { plan: plan_row(conn, id)?, version })
    })
}

pub fn delete(conn: &mut DbConnection, id: i64) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        plan_row(conn, id)?;
        if in_use(conn, id)? {
            return Err(AppError::conflict(
                "plan_in_use",
                "subscriptions use this plan; move them to another plan first",
            ));
        }
        plan_versions::delete_all(conn, id)?;
        diesel::delete(plans::table.find(id)).execute(conn)?;
        Ok(())
    })
}
