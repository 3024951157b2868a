//! A plan's terms as the engine takes them, its hours of service (P3), and what one entry
//! uses of them (P2, P3).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, NaiveTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use crate::domain::pricing::*;

/// A plan's published hours of service, in its own timezone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoursOfService {
    pub timezone: Tz,
    /// Index = `chrono::Weekday::num_days_from_monday()`.
    pub days: [bool; 7],
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl HoursOfService {
    /// P3 — the whole entry follows its start. Taken literally from the SPEC: a window whose
    /// `end` is not after its `start` has no in-hours time at all (no overnight windows).
    /// Converting the UTC instant (never a local wall time) keeps daylight-saving gaps and
    /// repeated hours unambiguous.
    pub fn is_after_hours(&self, started_at: DateTime<Utc>) -> bool {
        let local = started_at.with_timezone(&self.timezone).naive_local();
        let day = local.weekday().num_days_from_monday() as usize;
        let time = local.time();
        !self.days[day] || time < self.start || time >= self.end
    }
}

/// The pricing part of a support plan (SPEC section 2). Validation of the ranges written in
/// the comments belongs to the API; the engine stays total on any value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanTerms {
    pub billing_model: BillingModel,
    pub hourly_rate: Option<Decimal>,
    pub category_rates: BTreeMap<Category, Decimal>,
    /// >= 1
    pub after_hours_multiplier: Decimal,
    /// >= 1; 0 is treated as 1.
    pub rounding_increment_minutes: u32,
    pub minimum_minutes: u32,
    pub monthly_fee: Option<Decimal>,
    pub included_minutes: Option<u32>,
    pub incident_fee: Option<Decimal>,
    pub chargeable_categories: BTreeSet<Category>,
    pub hours: HoursOfService,
}

impl PlanTerms {
    /// P2: `max(minimum_minutes, ceil(minutes / increment) * increment)`. Saturates at
    /// `u32::MAX` instead of overflowing on absurd inputs.
    pub fn billed_minutes(&self, minutes: u32) -> u32 {
        let increment = u64::from(self.rounding_increment_minutes.max(1));
        let rounded = u64::from(minutes).div_ceil(increment) * increment;
        let billed = rounded.max(u64::from(self.minimum_minutes));
        u32::try_from(billed).unwrap_or(u32::MAX)
    }

    /// P4 base rate per hour: the category's own rate, else `hourly_rate`, else zero.
    pub fn rate(&self, category: Category) -> Decimal {
        self.category_rates.get(&category).copied().or(self.hourly_rate).unwrap_or(Decimal::ZERO)
    }

    /// P1 without the period and invoice conditions: billable and of a chargeable category.
    pub fn is_chargeable(&self, entry: &TimeEntry) -> bool {
        entry.billable && self.chargeable_categories.contains(&entry.category)
    }
}

/// What the usage report needs of one entry, computed by the same rules as invoices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryUsage {
    /// P2 rounded minutes (whether or not the entry is chargeable).
    pub billed_minutes: u32,
    /// P3.
    pub after_hours: bool,
    /// P1 without the period and invoice conditions.
    pub chargeable: bool,
}

/// For the usage report: billed minutes / after-hours of one entry, reusing P2/P3.
pub fn entry_usage(plan: &PlanTerms, entry: &TimeEntry) -> EntryUsage {
    EntryUsage {
        billed_minutes: plan.billed_minutes(entry.minutes),
        after_hours: plan.hours.is_after_hours(entry.started_at),
        chargeable: plan.is_chargeable(entry),
    }
}
