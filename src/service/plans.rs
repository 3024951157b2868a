//! Support plans: what the partner publishes (scope, hours, contacts) and how it charges.

use std::collections::{BTreeMap, BTreeSet};

use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::domain::pricing::{BillingModel, Category};
use crate::domain::terms::{ContactMethod, Hours};
use crate::domain::validation::{self as v, Check, DecimalIn, ValidationErrors};
use crate::domain::vocab::{ContactKind, Weekday};
use crate::error::AppError;
use crate::storage::models::{NewPlan, Plan};
use crate::storage::schema::{plans, subscriptions};
use crate::storage::{write_tx, DbConnection, Dec};

// (No doc comment on purpose: it would become this schema's description in openapi.json.)
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    pub name: String,
    /// What the plan covers, as published to customers.
    #[serde(default)]
    pub scope: String,
    pub currency: String,
    /// `included`, `hourly`, `retainer`, `per_incident` or `prepaid`.
    pub billing_model: String,
    /// Required for `hourly`, `retainer` and `prepaid` (the overage rate).
    pub hourly_rate: Option<DecimalIn>,
    /// Category -> hourly rate, overriding `hourly_rate`.
    #[serde(default)]
    pub category_rates: BTreeMap<String, DecimalIn>,
    /// >= 1, default 1.
    pub after_hours_multiplier: Option<DecimalIn>,
    /// 1 to 1440, default 1.
    pub rounding_increment_minutes: Option<i64>,
    /// Per entry, 0 to 1440, default 0.
    pub minimum_minutes: Option<i64>,
    /// Retainer plans: the fixed monthly fee.
    pub monthly_fee: Option<DecimalIn>,
    /// Retainer plans: weighted minutes included each calendar month.
    pub included_minutes: Option<i64>,
    /// Per-incident plans: the fee per chargeable ticket.
    pub incident_fee: Option<DecimalIn>,
    /// Default: all three categories.
    pub chargeable_categories: Option<Vec<String>>,
    pub hours_of_service: Hours,
    #[serde(default)]
    pub contact_methods: Vec<ContactMethod>,
}

const MAX_RATE_DIGITS: u32 = 6;

fn rate(text: &DecimalIn) -> Result<Decimal, String> {
    let d = v::decimal(&text.0)?;
    if d < Decimal::ZERO {
        return Err("must not be negative".into());
    }
    if d.normalize().scale() > MAX_RATE_DIGITS {
        return Err(format!("at most {MAX_RATE_DIGITS} decimal places"));
    }
    Ok(d)
}

fn minutes(value: Option<i64>, default: i64, min: i64, max: i64) -> Result<i32, String> {
    let m = value.unwrap_or(default);
    if m < min || m > max {
        Err(format!("must be between {min} and {max}"))
    } else {
        Ok(m as i32)
    }
}

impl PlanInput {
    pub fn validate(self) -> Result<NewPlan, ValidationErrors> {
        let mut c = Check::new();
        let name = c.take("name", v::required_text(&self.name, 200));
        let scope = c.take("scope", v::optional_text(&self.scope, 5000));
        let currency = c.take("currency", v::currency(&self.currency));
        let model = c.take(
            "billing_model",
            BillingModel::parse(&self.billing_model).ok_or_else(|| {
                format!("{:?} is not one of: included, hourly, retainer, per_incident, prepaid", self.billing_model)
            }),
        );
        let hourly_rate = self.hourly_rate.as_ref().and_then(|r| c.take("hourly_rate", rate(r)));
        let mut category_rates = BTreeMap::new();
        for (name, value) in &self.category_rates {
            let field = format!("category_rates.{name}");
            match Category::parse(name) {
                None => c.add(&field, "is not a category (technical, subscription_management, billing)"),
                Some(category) => {
                    if let Some(r) = c.take(&field, rate(value)) {
                        category_rates.insert(category.as_str().to_string(), r.to_string());
                    }
                }
            }
        }
        let multiplier = match &self.after_hours_multiplier {
            None => Some(Decimal::ONE),
            Some(m) => c.take(
                "after_hours_multiplier",
                v::decimal(&m.0).and_then(|m| {
                    if m < Decimal::ONE || m > Decimal::from(100) {
                        Err("must be between 1 and 100".into())
                    } else {
                        Ok(m)
                    }
                }),
            ),
        };
        let increment = c.take("rounding_increment_minutes", minutes(self.rounding_increment_minutes, 1, 1, 1440));
        let minimum = c.take("minimum_minutes", minutes(self.minimum_minutes, 0, 0, 1440));
        let fee = |c: &mut Check, field: &str, value: &Option<DecimalIn>| -> Option<Dec> {
            let value = value.as_ref()?;
            let currency = currency?;
            c.take(field, v::decimal(&value.0).and_then(|d| v::non_negative_money(d, currency))).map(Dec)
        };
        let monthly_fee = fee(&mut c, "monthly_fee", &self.monthly_fee);
        let incident_fee = fee(&mut c, "incident_fee", &self.incident_fee);
        let included = match self.included_minutes {
            None => None,
            Some(m) => c.take("included_minutes", minutes(Some(m), 0, 0, 1_000_000)),
        };
        match model {
            Some(BillingModel::Hourly) if self.hourly_rate.is_none() => {
                c.add("hourly_rate", "is required for hourly plans")
            }
            Some(BillingModel::Retainer) => {
                if self.hourly_rate.is_none() {
                    c.add("hourly_rate", "is required for retainer plans (the overage rate)")
                }
                if self.monthly_fee.is_none() {
                    c.add("monthly_fee", "is required for retainer plans")
                }
                if self.included_minutes.is_none() {
                    c.add("included_minutes", "is required for retainer plans")
                }
            }
            Some(BillingModel::Prepaid) if self.hourly_rate.is_none() => {
                c.add("hourly_rate", "is required for prepaid plans (the rate of time no block covers)")
            }
            Some(BillingModel::PerIncident) if self.incident_fee.is_none() => {
                c.add("incident_fee", "is required for per-incident plans")
            }
            _ => {}
        }
        let chargeable: Option<BTreeSet<&'static str>> = match &self.chargeable_categories {
            None => Some(Category::ALL.iter().map(|c| c.as_str()).collect()),
            Some(names) => {
                let mut set = BTreeSet::new();
                for (i, n) in names.iter().enumerate() {
                    match Category::parse(n) {
                        Some(cat) => {
                            set.insert(cat.as_str());
                        }
                        None => c.add(&format!("chargeable_categories[{i}]"), format!("{n:?} is not a category")),
                    }
                }
                Some(set)
            }
        };
        match self.hours_of_service.to_domain() {
            Ok(h) if h.start >= h.end => c.add("hours_of_service.end", "must be after start"),
            Ok(_) => {}
            Err(message) => {
                let h = &self.hours_of_service;
                let field = if v::timezone(&h.timezone).is_err() {
                    "hours_of_service.timezone"
                } else if v::local_time(&h.start).is_err() {
                    "hours_of_service.start"
                } else if v::local_time(&h.end).is_err() {
                    "hours_of_service.end"
                } else {
                    "hours_of_service.days"
                };
                c.add(field, message);
            }
        }
        for (i, m) in self.contact_methods.iter().enumerate() {
            if let Err(e) = ContactKind::parse_field(&m.kind) {
                c.add(&format!("contact_methods[{i}].kind"), e)
            }
            if let Err(e) = v::required_text(&m.value, 300) {
                c.add(&format!("contact_methods[{i}].value"), e)
            }
        }
        // Stored normalized: days once each in week order, times as HH:MM.
        let mut days: Vec<Weekday> =
            self.hours_of_service.days.iter().filter_map(|d| Weekday::parse(d.trim())).collect();
        days.sort();
        days.dedup();
        let hhmm = |t: &str| v::local_time(t).map(|t| t.format("%H:%M").to_string()).unwrap_or_default();
        let hours = Hours {
            timezone: self.hours_of_service.timezone.trim().to_string(),
            days: days.iter().map(|d| d.as_str().to_string()).collect(),
            start: hhmm(&self.hours_of_service.start),
            end: hhmm(&self.hours_of_service.end),
        };
        c.finish(|| {
            Some(NewPlan {
                name: name?,
                scope: scope?,
                currency: currency?,
                billing_model: model?,
                hourly_rate: hourly_rate.map(Dec),
                category_rates: serde_json::to_string(&category_rates).unwrap_or_default(),
                after_hours_multiplier: Dec(multiplier?),
                rounding_increment_minutes: increment?,
                minimum_minutes: minimum?,
                monthly_fee,
                included_minutes: included,
                incident_fee,
                chargeable_categories: serde_json::to_string(&chargeable?).unwrap_or_default(),
                hours_of_service: serde_json::to_string(&hours).unwrap_or_default(),
                contact_methods: serde_json::to_string(&self.contact_methods).unwrap_or_default(),
            })
        })
    }
}

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
