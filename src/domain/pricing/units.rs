//! Billing units: the chargeable time of a period, rounded as its plan version says (P2, SPEC
//! 7.4). A unit is one entry, or under `rounding_scope: ticket` the entries of one ticket in one
//! UTC month with the same category and after-hours flag; every rule after rounding (hourly
//! lines, a retainer's allowance, prepaid blocks) takes units whole.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use super::engine::{month_of, mul, Ctx};
use crate::domain::pricing::*;

pub(super) struct Unit<'a> {
    /// `(started_at, id)` of its first entry: the order units use an allowance or a block in.
    pub first: (DateTime<Utc>, i64),
    /// UTC date of its first entry.
    pub date: NaiveDate,
    pub category: Category,
    pub after_hours: bool,
    /// The version in force on `date`: its rounding, rates and multiplier price the unit.
    pub version: &'a PlanVersion,
    /// P2 on the unit's raw minutes.
    pub billed: u64,
}

impl Unit<'_> {
    pub fn month(&self) -> NaiveDate {
        month_of(self.date)
    }

    /// P4 base rate per hour.
    pub fn rate(&self) -> Decimal {
        self.version.terms.rate(self.category)
    }

    /// P4: billed x multiplier after hours.
    pub fn weighted(&self) -> Result<Decimal, PricingError> {
        let billed = Decimal::from(self.billed);
        if self.after_hours {
            mul(billed, self.version.terms.after_hours_multiplier)
        } else {
            Ok(billed)
        }
    }
}

/// One ticket's entries of one month, category and after-hours flag, being summed.
struct Group {
    first: (DateTime<Utc>, i64),
    minutes: u64,
}

impl Ctx {
    /// The subscription's chargeable units in the period (P1 with each entry's own version), in
    /// `first` order, and every entry they hold added to `claims`.
    pub(super) fn units<'a>(&self, sub: &'a Subscription, claims: &mut Claims) -> Vec<Unit<'a>> {
        let mut units = Vec::new();
        let mut groups: HashMap<(i64, NaiveDate, Category, bool), Group> = HashMap::new();
        for entry in &sub.entries {
            let date = entry.started_at.date_naive();
            if !self.period.contains(date) {
                continue;
            }
            let version = sub.plan.in_force(date);
            let terms = &version.terms;
            if !terms.is_chargeable(entry) {
                continue;
            }
            claims.entry_ids.push(entry.id);
            let after_hours = terms.hours.is_after_hours(entry.started_at);
            let first = (entry.started_at, entry.id);
            match entry.ticket_id {
                Some(ticket) if terms.rounding_scope == RoundingScope::Ticket => {
                    let key = (ticket, month_of(date), entry.category, after_hours);
                    let group = groups.entry(key).or_insert(Group { first, minutes: 0 });
                    group.first = group.first.min(first);
                    group.minutes = group.minutes.saturating_add(u64::from(entry.minutes));
                }
                _ => units.push(Unit {
                    first,
                    date,
                    category: entry.category,
                    after_hours,
                    version,
                    billed: u64::from(terms.billed_minutes(entry.minutes)),
                }),
            }
        }
        for ((_, _, category, after_hours), group) in groups {
            let date = group.first.0.date_naive();
            let version = sub.plan.in_force(date);
            units.push(Unit {
                first: group.first,
                date,
                category,
                after_hours,
                version,
                billed: version.terms.billed_minutes_u64(group.minutes),
            });
        }
        units.sort_unstable_by_key(|u| u.first);
        units
    }
}
