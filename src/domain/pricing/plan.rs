//! A plan's terms as the engine takes them, its hours of service (P3), and what one entry
//! uses of them (P2, P3).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
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
    /// Local dates of the version's holiday calendar (SPEC 7.3): days not in `days`. Shared,
    /// because every subscription of a plan carries its terms.
    pub holidays: Arc<BTreeSet<NaiveDate>>,
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
        !self.days[day] || time < self.start || time >= self.end || self.is_holiday(local.date())
    }

    fn is_holiday(&self, local_date: NaiveDate) -> bool {
        !self.holidays.is_empty() && self.holidays.contains(&local_date)
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
    /// SPEC 7.4.
    pub rounding_scope: RoundingScope,
    /// SPEC 7.1, retainer fees and allowances of partly covered months.
    pub fee_proration: FeeProration,
}

/// What P2's rounding applies to (SPEC 7.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RoundingScope {
    /// Each entry on its own (P2).
    #[default]
    Entry,
    /// The chargeable entries of one ticket in one UTC month with the same category and
    /// after-hours flag, summed first.
    Ticket,
}

impl RoundingScope {
    pub const ALL: [RoundingScope; 2] = [RoundingScope::Entry, RoundingScope::Ticket];

    pub fn as_str(&self) -> &'static str {
        match self {
            RoundingScope::Entry => "entry",
            RoundingScope::Ticket => "ticket",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        RoundingScope::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// How a retainer fee and allowance are charged for a month the subscription covers only in
/// part (SPEC 7.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FeeProration {
    /// A full fee and allowance for any overlapping month.
    #[default]
    None,
    /// Fee x covered days / days in the month (P9); allowance likewise, rounded down.
    Daily,
}

impl FeeProration {
    pub const ALL: [FeeProration; 2] = [FeeProration::None, FeeProration::Daily];

    pub fn as_str(&self) -> &'static str {
        match self {
            FeeProration::None => "none",
            FeeProration::Daily => "daily",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        FeeProration::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl PlanTerms {
    /// P2: `max(minimum_minutes, ceil(minutes / increment) * increment)`. Saturates at
    /// `u32::MAX` instead of overflowing on absurd inputs.
    pub fn billed_minutes(&self, minutes: u32) -> u32 {
        u32::try_from(self.billed_minutes_u64(u64::from(minutes))).unwrap_or(u32::MAX)
    }

    /// P2 on a sum of entries (SPEC 7.4), which may exceed a day.
    pub fn billed_minutes_u64(&self, minutes: u64) -> u64 {
        let increment = u64::from(self.rounding_increment_minutes.max(1));
        let rounded = minutes.div_ceil(increment).saturating_mul(increment);
        rounded.max(u64::from(self.minimum_minutes))
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
