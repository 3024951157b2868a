//! A plan version's terms as a client sends them (SPEC 2 and 7.2 to 7.4) and their checks,
//! shared by a new plan (`POST /plans`), its replacement (`PUT /plans/{id}`) and a new version
//! (`POST /plans/{id}/versions`), so the three take the same fields under the same rules.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::domain::money::Currency;
use crate::domain::pricing::{BillingModel, Category, FeeProration, RoundingScope};
use crate::domain::terms::{ContactMethod, Hours};
use crate::domain::validation::{self as v, Check, DecimalIn, ValidationErrors};
use crate::domain::vocab::{ContactKind, Weekday};
use crate::storage::models::{Plan, PlanTermsRow};
use crate::storage::Dec;

/// Declares an input struct with the fields given, followed by every term field, and its
/// [`TermsFields`] view: one list of term fields for every input that carries terms.
macro_rules! with_terms {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
            /// What the plan covers, as published to customers.
            #[serde(default)]
            pub scope: String,
            /// Required for `hourly`, `retainer` and `prepaid` (the overage rate of the last two).
            pub hourly_rate: Option<$crate::domain::validation::DecimalIn>,
            /// Category -> hourly rate, overriding `hourly_rate`.
            #[serde(default)]
            pub category_rates: ::std::collections::BTreeMap<String, $crate::domain::validation::DecimalIn>,
            /// >= 1, default 1.
            pub after_hours_multiplier: Option<$crate::domain::validation::DecimalIn>,
            /// 1 to 1440, default 1.
            pub rounding_increment_minutes: Option<i64>,
            /// 0 to 1440, default 0.
            pub minimum_minutes: Option<i64>,
            /// Retainer plans: the fixed monthly fee.
            pub monthly_fee: Option<$crate::domain::validation::DecimalIn>,
            /// Retainer plans: weighted minutes included each calendar month.
            pub included_minutes: Option<i64>,
            /// Per-incident plans: the fee per chargeable ticket.
            pub incident_fee: Option<$crate::domain::validation::DecimalIn>,
            /// Default: all three categories.
            pub chargeable_categories: Option<Vec<String>>,
            pub hours_of_service: $crate::domain::terms::Hours,
            #[serde(default)]
            pub contact_methods: Vec<$crate::domain::terms::ContactMethod>,
            /// A holiday calendar whose days count as outside the hours of service (SPEC 7.3).
            pub holiday_calendar_id: Option<i64>,
            /// `entry` (default: each entry rounded on its own) or `ticket` (SPEC 7.4).
            pub rounding_scope: Option<String>,
            /// `none` (default) or `daily`: retainer fees of partly covered months (SPEC 7.1).
            pub fee_proration: Option<String>,
        }

        impl $name {
            pub(crate) fn terms_fields(&self) -> $crate::service::plan_terms::TermsFields<'_> {
                $crate::service::plan_terms::TermsFields {
                    scope: &self.scope,
                    hourly_rate: self.hourly_rate.as_ref(),
                    category_rates: &self.category_rates,
                    after_hours_multiplier: self.after_hours_multiplier.as_ref(),
                    rounding_increment_minutes: self.rounding_increment_minutes,
                    minimum_minutes: self.minimum_minutes,
                    monthly_fee: self.monthly_fee.as_ref(),
                    included_minutes: self.included_minutes,
                    incident_fee: self.incident_fee.as_ref(),
                    chargeable_categories: self.chargeable_categories.as_deref(),
                    hours_of_service: &self.hours_of_service,
                    contact_methods: &self.contact_methods,
                    holiday_calendar_id: self.holiday_calendar_id,
                    rounding_scope: self.rounding_scope.as_deref(),
                    fee_proration: self.fee_proration.as_deref(),
                }
            }
        }
    };
}
pub(crate) use with_terms;

with_terms! {
    // (No doc comment on purpose: it would become this schema's description in openapi.json.)
    #[derive(Debug, Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct VersionInput {
        /// `YYYY-MM-DD`: the first date the terms apply to.
        pub effective_from: String,
    }
}

/// The term fields of any input, borrowed.
pub(crate) struct TermsFields<'a> {
    pub scope: &'a str,
    pub hourly_rate: Option<&'a DecimalIn>,
    pub category_rates: &'a BTreeMap<String, DecimalIn>,
    pub after_hours_multiplier: Option<&'a DecimalIn>,
    pub rounding_increment_minutes: Option<i64>,
    pub minimum_minutes: Option<i64>,
    pub monthly_fee: Option<&'a DecimalIn>,
    pub included_minutes: Option<i64>,
    pub incident_fee: Option<&'a DecimalIn>,
    pub chargeable_categories: Option<&'a [String]>,
    pub hours_of_service: &'a Hours,
    pub contact_methods: &'a [ContactMethod],
    pub holiday_calendar_id: Option<i64>,
    pub rounding_scope: Option<&'a str>,
    pub fee_proration: Option<&'a str>,
}

/// A new version, checked: its date and terms.
#[derive(Clone, Debug)]
pub struct NewVersion {
    pub effective_from: chrono::NaiveDate,
    pub terms: PlanTermsRow,
}

impl VersionInput {
    /// Checked against the plan's billing model and currency, which every version shares.
    pub fn validate(&self, plan: &Plan) -> Result<NewVersion, ValidationErrors> {
        let mut c = Check::new();
        let effective_from = c.take("effective_from", v::date(&self.effective_from));
        let terms = check_terms(&mut c, &self.terms_fields(), Some(plan.billing_model), Some(plan.currency));
        c.finish(|| Some(NewVersion { effective_from: effective_from?, terms: terms? }))
    }
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

/// Records every problem of the terms in `c`; the stored terms when there was none. `model`
/// and `currency` are `None` when the plan's own were invalid (and reported already).
pub(crate) fn check_terms(
    c: &mut Check,
    t: &TermsFields<'_>,
    model: Option<BillingModel>,
    currency: Option<Currency>,
) -> Option<PlanTermsRow> {
    let scope = c.take("scope", v::optional_text(t.scope, 5000));
    let hourly_rate = t.hourly_rate.and_then(|r| c.take("hourly_rate", rate(r)));
    let mut category_rates = BTreeMap::new();
    for (name, value) in t.category_rates {
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
    let multiplier = match t.after_hours_multiplier {
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
    let increment = c.take("rounding_increment_minutes", minutes(t.rounding_increment_minutes, 1, 1, 1440));
    let minimum = c.take("minimum_minutes", minutes(t.minimum_minutes, 0, 0, 1440));
    let fee = |c: &mut Check, field: &str, value: Option<&DecimalIn>| -> Option<Dec> {
        let value = value?;
        let currency = currency?;
        c.take(field, v::decimal(&value.0).and_then(|d| v::non_negative_money(d, currency))).map(Dec)
    };
    let monthly_fee = fee(c, "monthly_fee", t.monthly_fee);
    let incident_fee = fee(c, "incident_fee", t.incident_fee);
    let included = match t.included_minutes {
        None => None,
        Some(m) => c.take("included_minutes", minutes(Some(m), 0, 0, 1_000_000)),
    };
    required_by_model(c, t, model);
    let chargeable: BTreeSet<&'static str> = match t.chargeable_categories {
        None => Category::ALL.iter().map(|c| c.as_str()).collect(),
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
            set
        }
    };
    let hours = check_hours(c, t.hours_of_service);
    for (i, m) in t.contact_methods.iter().enumerate() {
        if let Err(e) = ContactKind::parse_field(&m.kind) {
            c.add(&format!("contact_methods[{i}].kind"), e)
        }
        if let Err(e) = v::required_text(&m.value, 300) {
            c.add(&format!("contact_methods[{i}].value"), e)
        }
    }
    if t.holiday_calendar_id.is_some_and(|id| id <= 0) {
        c.add("holiday_calendar_id", "no holiday calendar has this id");
    }
    let rounding_scope = match t.rounding_scope {
        None => Some(RoundingScope::default()),
        Some(s) => c.take(
            "rounding_scope",
            RoundingScope::parse(s).ok_or_else(|| format!("{s:?} is not one of: entry, ticket")),
        ),
    };
    let fee_proration = match t.fee_proration {
        None => Some(FeeProration::default()),
        Some(s) => {
            c.take("fee_proration", FeeProration::parse(s).ok_or_else(|| format!("{s:?} is not one of: none, daily")))
        }
    };
    Some(PlanTermsRow {
        scope: scope?,
        hourly_rate: hourly_rate.map(Dec),
        category_rates: serde_json::to_string(&category_rates).unwrap_or_default(),
        after_hours_multiplier: Dec(multiplier?),
        rounding_increment_minutes: increment?,
        minimum_minutes: minimum?,
        monthly_fee,
        included_minutes: included,
        incident_fee,
        chargeable_categories: serde_json::to_string(&chargeable).unwrap_or_default(),
        hours_of_service: serde_json::to_string(&hours).unwrap_or_default(),
        contact_methods: serde_json::to_string(t.contact_methods).unwrap_or_default(),
        holiday_calendar_id: t.holiday_calendar_id,
        rounding_scope: rounding_scope?,
        fee_proration: fee_proration?,
    })
}

/// The fields each billing model needs to price anything.
fn required_by_model(c: &mut Check, t: &TermsFields<'_>, model: Option<BillingModel>) {
    match model {
        Some(BillingModel::Hourly) if t.hourly_rate.is_none() => c.add("hourly_rate", "is required for hourly plans"),
        Some(BillingModel::Prepaid) if t.hourly_rate.is_none() => {
            c.add("hourly_rate", "is required for prepaid plans (the rate of time no block covers)")
        }
        Some(BillingModel::Retainer) => {
            if t.hourly_rate.is_none() {
                c.add("hourly_rate", "is required for retainer plans (the overage rate)")
            }
            if t.monthly_fee.is_none() {
                c.add("monthly_fee", "is required for retainer plans")
            }
            if t.included_minutes.is_none() {
                c.add("included_minutes", "is required for retainer plans")
            }
        }
        Some(BillingModel::PerIncident) if t.incident_fee.is_none() => {
            c.add("incident_fee", "is required for per-incident plans")
        }
        _ => {}
    }
}

/// Checks the hours of service, and returns them normalized: days once each in week order,
/// times as `HH:MM`.
fn check_hours(c: &mut Check, h: &Hours) -> Hours {
    match h.to_domain() {
        Ok(d) if d.start >= d.end => c.add("hours_of_service.end", "must be after start"),
        Ok(_) => {}
        Err(message) => {
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
    let mut days: Vec<Weekday> = h.days.iter().filter_map(|d| Weekday::parse(d.trim())).collect();
    days.sort();
    days.dedup();
    let hhmm = |t: &str| v::local_time(t).map(|t| t.format("%H:%M").to_string()).unwrap_or_default();
    Hours {
        timezone: h.timezone.trim().to_string(),
        days: days.iter().map(|d| d.as_str().to_string()).collect(),
        start: hhmm(&h.start),
        end: hhmm(&h.end),
    }
}
