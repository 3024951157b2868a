//! Builders the pricing tests share: instants, dates, currencies and the engine's input
//! structs with every field a test does not care about set once, here.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use supportbill::domain::{money::*, pricing::*};

pub const EVERY_DAY: [bool; 7] = [true; 7];
pub const MON_FRI: [bool; 7] = [true, true, true, true, true, false, false];

pub fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("test timestamp")
}

pub fn date(s: &str) -> NaiveDate {
    s.parse().expect("test date")
}

pub fn time(h: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, 0, 0).expect("test time")
}

pub fn cur(code: &str) -> Currency {
    Currency::from_code(code).expect("known currency")
}

/// `start`:00 to `end`:00 local time on `days`.
pub fn hours_between(tz: Tz, days: [bool; 7], start: u32, end: u32) -> HoursOfService {
    HoursOfService { timezone: tz, days, start: time(start), end: time(end), holidays: Default::default() }
}

/// A billable entry of `category`.
pub fn entry_in(id: i64, started_at: &str, minutes: u32, category: Category) -> TimeEntry {
    TimeEntry { id, started_at: at(started_at), minutes, category, billable: true, ticket_id: None }
}

/// A subscription under `plan` (one version, in force on every date) that covers every month,
/// with nothing in it yet.
pub fn subscription(id: i64, plan: PlanTerms) -> Subscription {
    Subscription {
        id,
        name: "Azure plan".to_string(),
        plan: PlanVersions::single(date("2000-01-01"), plan),
        start_date: date("2000-01-01"),
        end_date: None,
        blocks: vec![],
        entries: vec![],
        tickets: vec![],
        charges: vec![],
        retainer_used: BTreeMap::new(),
    }
}

pub fn charge(id: i64, day: &str, amount: Decimal) -> Charge {
    Charge { id, date: date(day), description: format!("Charge {id}"), amount }
}

pub fn period(start: &str, end: &str) -> Period {
    Period::new(date(start), date(end)).expect("valid period")
}
