//! Edge cases of the pricing rules, first part: daylight saving and hour-window boundaries
//! (P3), currencies with 0 and 3 minor digits and half-way rounding (P9), minimums and
//! increments (P2). The rest: `edge_cases_billing`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveTime;
use chrono_tz::Tz;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use supportbill::domain::{money::*, pricing::*};

use crate::builders::*;

fn hours(tz: Tz, days: [bool; 7]) -> HoursOfService {
    hours_between(tz, days, 9, 17)
}

fn plan(model: BillingModel) -> PlanTerms {
    PlanTerms {
        billing_model: model,
        hourly_rate: Some(dec!(60)),
        category_rates: BTreeMap::new(),
        after_hours_multiplier: dec!(2),
        rounding_increment_minutes: 1,
        minimum_minutes: 0,
        monthly_fee: Some(dec!(500)),
        included_minutes: Some(60),
        incident_fee: Some(dec!(75)),
        chargeable_categories: BTreeSet::from([Category::Technical, Category::SubscriptionManagement]),
        hours: hours(chrono_tz::UTC, MON_FRI),
        rounding_scope: RoundingScope::Entry,
        fee_proration: FeeProration::None,
    }
}

fn entry(id: i64, started_at: &str, minutes: u32) -> TimeEntry {
    entry_in(id, started_at, minutes, Category::Technical)
}

fn sub(id: i64, plan: PlanTerms) -> Subscription {
    subscription(id, plan)
}

fn request(currency: &str, subs: Vec<Subscription>) -> InvoiceRequest {
    InvoiceRequest {
        currency: cur(currency),
        tax_rate_percent: dec!(0),
        period: period("2026-10-01", "2026-11-01"),
        subscriptions: subs,
    }
}

fn amounts(inv: &PricedInvoice) -> Vec<String> {
    inv.lines.iter().map(|l| l.amount.to_string()).collect()
}

// ---------------------------------------------------------------- P3, daylight saving

fn assert_hours(h: &HoursOfService, cases: &[(&str, bool)]) {
    for &(instant, after) in cases {
        assert_eq!(h.is_after_hours(at(instant)), after, "{instant}");
    }
}

#[test]
fn berlin_spring_forward() {
    let h = hours(chrono_tz::Europe::Berlin, EVERY_DAY);
    assert_hours(
        &h,
        &[
            // Saturday before, still CET (UTC+1).
            ("2026-03-28T07:59:00Z", true),
            ("2026-03-28T08:00:00Z", false),
            ("2026-03-28T15:59:00Z", false),
            ("2026-03-28T16:00:00Z", true),
            // 2026-03-29, CEST (UTC+2) from 01:00Z.
            ("2026-03-29T06:59:00Z", true),
            ("2026-03-29T07:00:00Z", false),
            ("2026-03-29T07:30:00Z", false),
            ("2026-03-29T14:59:00Z", false),
            ("2026-03-29T15:00:00Z", true),
            ("2026-03-29T15:30:00Z", true),
        ],
    );
}

#[test]
fn berlin_fall_back() {
    let h = hours(chrono_tz::Europe::Berlin, EVERY_DAY);
    assert_hours(
        &h,
        &[
            // Saturday before, still CEST (UTC+2).
            ("2026-10-24T06:59:00Z", true),
            ("2026-10-24T07:00:00Z", false),
            ("2026-10-24T15:00:00Z", true),
            // 2026-10-25, CET (UTC+1) from 01:00Z.
            ("2026-10-25T07:30:00Z", true),
            ("2026-10-25T07:59:00Z", true),
            ("2026-10-25T08:00:00Z", false),
            ("2026-10-25T15:30:00Z", false),
            ("2026-10-25T15:59:00Z", false),
            ("2026-10-25T16:00:00Z", true),
        ],
    );
}

#[test]
fn new_york_spring_forward() {
    let h = hours(chrono_tz::America::New_York, EVERY_DAY);
    assert_hours(
        &h,
        &[
            // 2026-03-07, EST (UTC-5).
            ("2026-03-07T13:59:00Z", true),
            ("2026-03-07T14:00:00Z", false),
            ("2026-03-07T22:00:00Z", true),
            // 2026-03-08, EDT (UTC-4) from 07:00Z.
            ("2026-03-08T12:59:00Z", true),
            ("2026-03-08T13:00:00Z", false),
            ("2026-03-08T13:30:00Z", false),
            ("2026-03-08T20:59:00Z", false),
            ("2026-03-08T21:00:00Z", true),
            ("2026-03-08T21:30:00Z", true),
        ],
    );
}

#[test]
fn new_york_fall_back() {
    let h = hours(chrono_tz::America::New_York, EVERY_DAY);
    assert_hours(
        &h,
        &[
            // 2026-10-31, EDT (UTC-4).
            ("2026-10-31T12:59:00Z", true),
            ("2026-10-31T13:00:00Z", false),
            ("2026-10-31T21:00:00Z", true),
            // 2026-11-01, EST (UTC-5) from 06:00Z.
            ("2026-11-01T13:30:00Z", true),
            ("2026-11-01T13:59:00Z", true),
            ("2026-11-01T14:00:00Z", false),
            ("2026-11-01T21:30:00Z", false),
            ("2026-11-01T21:59:00Z", false),
            ("2026-11-01T22:00:00Z", true),
        ],
    );
}

#[test]
fn local_date_decides_the_weekday() {
    // 2026-10-09 is a Friday in UTC, but 23:30Z is already Saturday 01:30 in Berlin; widen
    // the window so that only the weekday can make it after hours.
    let mut h = hours(chrono_tz::Europe::Berlin, MON_FRI);
    h.start = time(0);
    h.end = NaiveTime::from_hms_opt(23, 59, 59).expect("time");
    assert!(!h.is_after_hours(at("2026-10-09T20:00:00Z")));
    assert!(h.is_after_hours(at("2026-10-09T23:30:00Z")));
}

#[test]
fn window_edges_and_sunday() {
    let h = hours(chrono_tz::UTC, MON_FRI);
    assert!(!h.is_after_hours(at("2026-10-05T09:00:00Z")), "exactly start is in hours");
    assert!(h.is_after_hours(at("2026-10-05T08:59:59Z")));
    assert!(!h.is_after_hours(at("2026-10-05T16:59:59Z")));
    assert!(h.is_after_hours(at("2026-10-05T17:00:00Z")), "exactly end is after hours");
    assert!(h.is_after_hours(at("2026-10-04T12:00:00Z")), "Sunday");
    assert!(h.is_after_hours(at("2026-10-03T12:00:00Z")), "Saturday");
}

#[test]
fn the_whole_entry_follows_its_start() {
    // Starts 16:30 in hours, runs 120 minutes past the end: all of it is in-hours time.
    let mut s = sub(1, plan(BillingModel::Hourly));
    s.entries = vec![entry(1, "2026-10-05T16:30:00Z", 120), entry(2, "2026-10-05T08:30:00Z", 120)];
    let inv = price_invoice(&request("EUR", vec![s])).expect("priced");
    let kinds: Vec<(LineKind, Option<Decimal>)> = inv.lines.iter().map(|l| (l.kind, l.quantity_minutes)).collect();
    assert_eq!(kinds, [(LineKind::SupportTime, Some(dec!(120))), (LineKind::AfterHoursSupportTime, Some(dec!(120))),]);
    assert_eq!(inv.lines[1].unit_price, dec!(120));
    assert_eq!(amounts(&inv), ["120.00", "240.00"]);
}

// ---------------------------------------------------------------- P9, currencies

#[test]
fn jpy_has_no_minor_digits() {
    let mut p = plan(BillingModel::Hourly);
    p.hourly_rate = Some(dec!(1000));
    let mut s = sub(1, p);
    s.entries = vec![entry(1, "2026-10-05T10:00:00Z", 90)];
    let inv = price_invoice(&request("JPY", vec![s])).expect("priced");
    assert_eq!(amounts(&inv), ["1500"]);
    assert_eq!(inv.total.to_string(), "1500");
    assert_eq!(inv.lines[0].unit_price.to_string(), "1000");
    assert_eq!(cur("JPY").format(dec!(1500)), "1500");
    assert_eq!(cur("JPY").format(dec!(1499.5)), "1500");
    assert_eq!(cur("KRW").minor_digits(), 0);
}

#[test]
fn three_digit_currencies() {
    let kwd = cur("KWD");
    let bhd = cur("BHD");
    assert_eq!(kwd.minor_digits(), 3);
    assert_eq!(bhd.minor_digits(), 3);
    assert_eq!(kwd.format(dec!(12.3455)), "12.346");
    assert_eq!(bhd.format(dec!(150)), "150.000");
    assert_eq!(bhd.format(dec!(-1.0005)), "-1.001");

    let mut p = plan(BillingModel::Hourly);
    p.hourly_rate = Some(dec!(12.345));
    let mut s = sub(1, p);
    s.entries = vec![entry(1, "2026-10-05T10:00:00Z", 50)];
    let mut req = request("KWD", vec![s]);
    req.tax_rate_percent = dec!(5);
    let inv = price_invoice(&req).expect("priced");
    // 50 x 12.345 / 60 = 10.2875 -> 10.288; tax 0.5144 -> 0.514
    assert_eq!(amounts(&inv), ["10.288"]);
    assert_eq!(inv.lines[0].unit_price.to_string(), "12.345");
    assert_eq!(inv.subtotal.to_string(), "10.288");
    assert_eq!(inv.tax.to_string(), "0.514");
    assert_eq!(inv.total.to_string(), "10.802");
}

#[test]
fn half_way_rounds_away_from_zero() {
    let eur = cur("EUR");
    let jpy = cur("JPY");
    assert_eq!(eur.round(dec!(0.005)).to_string(), "0.01");
    assert_eq!(eur.round(dec!(-0.005)).to_string(), "-0.01");
    assert_eq!(eur.round(dec!(0.0049999)).to_string(), "0.00");
    assert_eq!(eur.round(dec!(-0.004)).to_string(), "0.00", "no negative zero");
    assert_eq!(jpy.round(dec!(2.5)).to_string(), "3");
    assert_eq!(jpy.round(dec!(-2.5)).to_string(), "-3");
    assert_eq!(eur.round(dec!(150)).to_string(), "150.00");
    assert_eq!(eur.round(dec!(150)).scale(), 2);
    assert_eq!(eur.format(dec!(75.525)), "75.53");
}

#[test]
fn charges_are_rounded_once_credits_included() {
    let mut s = sub(1, plan(BillingModel::Included));
    s.charges = vec![charge(1, "2026-10-20", dec!(0.005)), charge(2, "2026-10-21", dec!(-0.005))];
    let inv = price_invoice(&request("EUR", vec![s.clone()])).expect("priced");
    assert_eq!(amounts(&inv), ["0.01", "-0.01"]);
    assert_eq!(inv.lines[1].unit_price, dec!(-0.005), "unit price is not rounded");
    assert_eq!(inv.total.to_string(), "0.00");

    s.charges = vec![charge(1, "2026-10-20", dec!(2.5)), charge(2, "2026-10-21", dec!(-2.5))];
    let inv = price_invoice(&request("JPY", vec![s])).expect("priced");
    assert_eq!(amounts(&inv), ["3", "-3"]);
}

#[test]
fn currency_lookup_and_fits() {
    let eur = cur("EUR");
    assert_eq!(eur.code(), "EUR");
    assert_eq!(eur.minor_digits(), 2);
    assert!(Currency::from_code("eur").is_none());
    assert!(Currency::from_code("XYZ").is_none());
    assert!(Currency::from_code("").is_none());
    for (code, digits) in [
        ("USD", 2),
        ("CLP", 0),
        ("ISK", 0),
        ("VND", 0),
        ("UGX", 0),
        ("XAF", 0),
        ("XOF", 0),
        ("PYG", 0),
        ("RWF", 0),
        ("KMF", 0),
        ("GNF", 0),
        ("DJF", 0),
        ("BIF", 0),
        ("VUV", 0),
        ("XPF", 0),
        ("JOD", 3),
        ("OMR", 3),
        ("TND", 3),
        ("IQD", 3),
        ("LYD", 3),
        ("CLF", 4),
    ] {
        assert_eq!(cur(code).minor_digits(), digits, "{code}");
    }
    assert!(eur.fits(dec!(10.00)));
    assert!(eur.fits(dec!(10.000)));
    assert!(eur.fits(dec!(-10.5)));
    assert!(!eur.fits(dec!(10.005)));
    assert!(cur("JPY").fits(dec!(1500.0)));
    assert!(!cur("JPY").fits(dec!(1500.5)));
    assert!(cur("KWD").fits(dec!(1.234)));
    assert!(!cur("KWD").fits(dec!(1.2345)));
}

// ---------------------------------------------------------------- P2

#[test]
fn minimum_and_increment() {
    let mut p = plan(BillingModel::Hourly);
    p.minimum_minutes = 30;
    p.rounding_increment_minutes = 15;
    assert_eq!(p.billed_minutes(10), 30);
    assert_eq!(p.billed_minutes(30), 30);
    assert_eq!(p.billed_minutes(31), 45);
    p.minimum_minutes = 0;
    assert_eq!(p.billed_minutes(1), 15);
    assert_eq!(p.billed_minutes(15), 15);
    assert_eq!(p.billed_minutes(16), 30);
    p.minimum_minutes = 60;
    p.rounding_increment_minutes = 1;
    assert_eq!(p.billed_minutes(61), 61);
    assert_eq!(p.billed_minutes(59), 60);
    p.rounding_increment_minutes = 0;
    assert_eq!(p.billed_minutes(61), 61, "a zero increment acts as 1");
    p.rounding_increment_minutes = 1000;
    assert_eq!(p.billed_minutes(u32::MAX), u32::MAX, "saturates");
}

#[test]
fn entry_usage_reuses_p2_and_p3() {
    let mut p = plan(BillingModel::Hourly);
    p.rounding_increment_minutes = 15;
    let mut e = entry(1, "2026-10-04T10:00:00Z", 20);
    e.category = Category::Billing;
    let u = entry_usage(&p, &e);
    assert_eq!(u, EntryUsage { billed_minutes: 30, after_hours: true, chargeable: false });
}
