//! A support plan's published terms (hours of service, contact methods, rates) in the form they
//! are stored (JSON text columns) and the conversion into the pricing engine's `PlanTerms`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::NaiveDate;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::pricing::{BillingModel, Category, FeeProration, HoursOfService, PlanTerms, RoundingScope};
use super::validation::{local_time, timezone};
use super::vocab::Weekday;

/// Hours of service as published: `{"timezone", "days", "start", "end"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Hours {
    /// IANA time zone name, e.g. `Europe/Berlin`.
    pub timezone: String,
    /// `mon`..`sun`.
    pub days: Vec<String>,
    /// Local `HH:MM`.
    pub start: String,
    /// Local `HH:MM`, after `start`.
    pub end: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ContactMethod {
    /// `email`, `phone`, `portal` or `chat`.
    pub kind: String,
    pub value: String,
}

impl Hours {
    pub fn to_domain(&self) -> Result<HoursOfService, String> {
        let tz = timezone(&self.timezone)?;
        let mut days = [false; 7];
        for day in &self.days {
            days[Weekday::parse_field(day)?.index()] = true;
        }
        let start = local_time(&self.start)?;
        let end = local_time(&self.end)?;
        Ok(HoursOfService { timezone: tz, days, start, end, holidays: Default::default() })
    }
}

/// The pricing fields of a stored plan version, decoded.
pub struct StoredPlanPricing<'a> {
    pub billing_model: BillingModel,
    pub hourly_rate: Option<Decimal>,
    pub category_rates: &'a str,
    pub after_hours_multiplier: Decimal,
    pub rounding_increment_minutes: i32,
    pub minimum_minutes: i32,
    pub monthly_fee: Option<Decimal>,
    pub included_minutes: Option<i32>,
    pub incident_fee: Option<Decimal>,
    pub chargeable_categories: &'a str,
    pub hours_of_service: &'a str,
    pub rounding_scope: RoundingScope,
    pub fee_proration: FeeProration,
    /// The days of the version's holiday calendar (SPEC 7.3); empty without one.
    pub holidays: Arc<BTreeSet<NaiveDate>>,
}

impl StoredPlanPricing<'_> {
    /// Stored plans were validated on the way in; a failure here means the row was edited by
    /// hand, and is reported as such rather than priced wrongly.
    pub fn to_terms(&self) -> Result<PlanTerms, String> {
        let rates: BTreeMap<String, String> = serde_json::from_str(self.category_rates).map_err(|e| e.to_string())?;
        let mut category_rates = BTreeMap::new();
        for (category, rate) in rates {
            let category = Category::parse(&category).ok_or_else(|| format!("unknown category {category:?}"))?;
            let rate = Decimal::from_str_exact(&rate).map_err(|e| e.to_string())?;
            category_rates.insert(category, rate);
        }
        let names: Vec<String> = serde_json::from_str(self.chargeable_categories).map_err(|e| e.to_string())?;
        let chargeable_categories: BTreeSet<Category> = names.iter().filter_map(|n| Category::parse(n)).collect();
        let hours: Hours = serde_json::from_str(self.hours_of_service).map_err(|e| e.to_string())?;
        Ok(PlanTerms {
            billing_model: self.billing_model,
            hourly_rate: self.hourly_rate,
            category_rates,
            after_hours_multiplier: self.after_hours_multiplier,
            rounding_increment_minutes: self.rounding_increment_minutes.max(1) as u32,
            minimum_minutes: self.minimum_minutes.max(0) as u32,
            monthly_fee: self.monthly_fee,
            included_minutes: self.included_minutes.map(|m| m.max(0) as u32),
            incident_fee: self.incident_fee,
            chargeable_categories,
            hours: HoursOfService { holidays: self.holidays.clone(), ..hours.to_domain()? },
            rounding_scope: self.rounding_scope,
            fee_proration: self.fee_proration,
        })
    }
}
