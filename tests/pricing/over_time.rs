//! The worked examples of SPEC section 7 (billing over time) on the pure engine, with the
//! amounts computed by hand next to each case. The API tests run the same cases through storage.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use supportbill::domain::pricing::*;

use crate::builders::*;

fn hourly(rate: Decimal) -> PlanTerms {
    PlanTerms {
        billing_model: BillingModel::Hourly,
        hourly_rate: Some(rate),
        category_rates: BTreeMap::new(),
        after_hours_multiplier: dec!(1.5),
        rounding_increment_minutes: 1,
        minimum_minutes: 0,
        monthly_fee: None,
        included_minutes: None,
        incident_fee: None,
        chargeable_categories: Category::ALL.into_iter().collect(),
        hours: hours_between(chrono_tz::Europe::Berlin, MON_FRI, 9, 17),
        rounding_scope: RoundingScope::Entry,
        fee_proration: FeeProration::None,
    }
}

fn versions(list: Vec<(&str, PlanTerms)>) -> PlanVersions {
    PlanVersions::new(list.into_iter().map(|(d, terms)| PlanVersion { effective_from: date(d), terms }).collect())
        .expect("at least one version")
}

fn request(period: Period, subscription: Subscription) -> InvoiceRequest {
    InvoiceRequest { currency: cur("EUR"), tax_rate_percent: Decimal::ZERO, period, subscriptions: vec![subscription] }
}

fn lines(inv: &PricedInvoice) -> Vec<(LineKind, Option<Decimal>, String, String)> {
    inv.lines.iter().map(|l| (l.kind, l.quantity_minutes, l.unit_price.to_string(), l.amount.to_string())).collect()
}

// SPEC 7.2: 120.00 until 2026-12-31, 130.00 from 2027-01-01. December's 60 minutes at 120.00 =
// 120.00; January's 90 minutes at 130.00 = 195.00. One invoice over both months: two lines.
#[test]
fn a_rate_change_in_january_prices_december_at_the_old_rate() {
    let mut s = subscription(1, hourly(dec!(120.00)));
    s.plan = versions(vec![("2026-01-01", hourly(dec!(120.00))), ("2027-01-01", hourly(dec!(130.00)))]);
    s.entries = vec![
        entry_in(1, "2026-12-10T10:00:00Z", 60, Category::Technical), // Thursday 11:00 Berlin
        entry_in(2, "2027-01-12T10:00:00Z", 90, Category::Technical), // Tuesday 11:00 Berlin
    ];
    let inv = price_invoice(&request(period("2026-12-01", "2027-02-01"), s)).expect("priced");
    assert_eq!(
        lines(&inv),
        [
            (LineKind::SupportTime, Some(dec!(60)), "120.00".into(), "120.00".into()),
            (LineKind::SupportTime, Some(dec!(90)), "130.00".into(), "195.00".into()),
        ]
    );
    assert_eq!(inv.lines[0].plan_version, Some(date("2026-01-01")));
    assert_eq!(inv.lines[1].plan_version, Some(date("2027-01-01")));
    assert!(inv.lines[1].description.ends_with("(rate from 2027-01-01)"), "{}", inv.lines[1].description);
    assert_eq!(inv.subtotal, dec!(315.00));
}

// The first version also prices dates before its own (SPEC 7.2): an entry of 2025 under a plan
// whose only version starts in 2026.
#[test]
fn the_first_version_applies_before_its_date() {
    let mut s = subscription(1, hourly(dec!(100.00)));
    s.plan = versions(vec![("2026-06-01", hourly(dec!(100.00))), ("2026-09-01", hourly(dec!(200.00)))]);
    s.entries = vec![entry_in(1, "2026-03-03T10:00:00Z", 30, Category::Technical)];
    let inv = price_invoice(&request(period("2026-03-01", "2026-04-01"), s)).expect("priced");
    // 30 min x 100.00 / 60 = 50.00
    assert_eq!(lines(&inv), [(LineKind::SupportTime, Some(dec!(30)), "100.00".into(), "50.00".into())]);
}

fn retainer(fee: Decimal, included: u32, proration: FeeProration) -> PlanTerms {
    PlanTerms {
        billing_model: BillingModel::Retainer,
        monthly_fee: Some(fee),
        included_minutes: Some(included),
        fee_proration: proration,
        hours: hours_between(chrono_tz::UTC, EVERY_DAY, 0, 23),
        after_hours_multiplier: Decimal::ONE,
        ..hourly(dec!(90.00))
    }
}

// SPEC 7.1: started 2026-10-17, so October is covered 17..31 = 15 of 31 days. Daily proration:
// fee 300.00 x 15 / 31 = 145.1612... = 145.16; allowance 600 x 15 / 31 = 290.32 -> 290 minutes.
// 300 minutes of time leave 10 minutes of overage at 90.00/h = 15.00. Total 160.16.
#[test]
fn a_subscription_started_mid_month_pays_a_daily_share() {
    let mut s = subscription(1, retainer(dec!(300.00), 600, FeeProration::Daily));
    s.start_date = date("2026-10-17");
    s.entries = vec![entry_in(1, "2026-10-20T10:00:00Z", 300, Category::Technical)];
    let inv = price_invoice(&request(period("2026-09-01", "2026-11-01"), s)).expect("priced");
    assert_eq!(
        lines(&inv),
        [
            (LineKind::RetainerFee, None, "145.16".into(), "145.16".into()),
            (LineKind::Overage, Some(dec!(10)), "90.00".into(), "15.00".into()),
        ],
        "September is not covered: no fee"
    );
    assert_eq!(inv.lines[0].description, "Retainer October 2026, 17–31 October (15 of 31 days) — Azure plan");
    assert_eq!(inv.claims.retainer_months[0].allowance_used, dec!(290));
    assert_eq!(inv.total, dec!(160.16));
}

// Without proration any overlapping month costs the full fee; the month after the end date
// costs nothing: cancelled with end_date 2026-11-01, October full (300.00), November none.
#[test]
fn without_proration_an_overlapping_month_pays_in_full() {
    let mut s = subscription(1, retainer(dec!(300.00), 600, FeeProration::None));
    s.start_date = date("2026-10-30");
    s.end_date = Some(date("2026-11-01"));
    s.charges = vec![charge(1, "2026-11-15", dec!(10.00))];
    let inv = price_invoice(&request(period("2026-10-01", "2026-12-01"), s)).expect("priced");
    assert_eq!(
        lines(&inv),
        [
            (LineKind::RetainerFee, None, "300.00".into(), "300.00".into()),
            (LineKind::Charge, None, "10.00".into(), "10.00".into()),
        ]
    );
}

// SPEC 7.3: 2026-12-25 is a Friday; 09:00Z is 10:00 in Berlin, inside Mon-Fri 09-17, but a
// holiday of the version's calendar: after hours, 60 min x 120.00 x 1.5 = 180.00. The
// 2026-12-24T23:30Z entry is already 00:30 on the 25th in Berlin: after hours by the clock anyway.
// 2026-12-28 (Monday) 10:00 Berlin is in hours: 60 min x 120.00 = 120.00.
#[test]
fn a_holiday_in_the_plans_time_zone_is_after_hours() {
    let mut terms = hourly(dec!(120.00));
    terms.hours.holidays = Arc::new(BTreeSet::from([date("2026-12-25"), date("2026-12-26")]));
    let mut s = subscription(1, terms);
    s.entries = vec![
        entry_in(1, "2026-12-25T09:00:00Z", 60, Category::Technical),
        entry_in(2, "2026-12-28T09:00:00Z", 60, Category::Technical),
    ];
    let inv = price_invoice(&request(period("2026-12-01", "2027-01-01"), s)).expect("priced");
    assert_eq!(
        lines(&inv),
        [
            (LineKind::SupportTime, Some(dec!(60)), "120.00".into(), "120.00".into()),
            (LineKind::AfterHoursSupportTime, Some(dec!(60)), "180.00".into(), "180.00".into()),
        ]
    );
}

fn on_ticket(id: i64, at: &str, minutes: u32, ticket: i64) -> TimeEntry {
    TimeEntry { ticket_id: Some(ticket), ..entry_in(id, at, minutes, Category::Technical) }
}

fn six_small_entries() -> Vec<TimeEntry> {
    (0..6).map(|i| on_ticket(i + 1, &format!("2026-10-0{}T10:00:00Z", i + 1), 5, 7)).collect()
}

// SPEC 7.4: six entries of 5 minutes on one ticket, increment 15, minimum 0. Per entry each is
// rounded to 15: 90 minutes. Per ticket the 30 minutes are summed first: 30 minutes (already a
// multiple of 15). At 120.00/h: 180.00 against 60.00. (2026-10-03 and -04 are a weekend: those
// two entries are after hours and form their own group, 10 -> 15 minutes at 180.00/h = 45.00;
// the four weekday ones 20 -> 30 minutes at 120.00/h = 60.00.)
#[test]
fn rounding_per_ticket_sums_a_tickets_entries_first() {
    let mut per_entry = hourly(dec!(120.00));
    per_entry.rounding_increment_minutes = 15;
    per_entry.hours = hours_between(chrono_tz::UTC, EVERY_DAY, 0, 23);
    let mut per_ticket = per_entry.clone();
    per_ticket.rounding_scope = RoundingScope::Ticket;

    let mut s = subscription(1, per_entry.clone());
    s.entries = six_small_entries();
    let inv = price_invoice(&request(period("2026-10-01", "2026-11-01"), s)).expect("priced");
    assert_eq!(lines(&inv), [(LineKind::SupportTime, Some(dec!(90)), "120.00".into(), "180.00".into())]);

    let mut s = subscription(1, per_ticket.clone());
    s.entries = six_small_entries();
    let inv = price_invoice(&request(period("2026-10-01", "2026-11-01"), s)).expect("priced");
    assert_eq!(lines(&inv), [(LineKind::SupportTime, Some(dec!(30)), "120.00".into(), "60.00".into())]);
    assert_eq!(inv.claims.entry_ids.len(), 6);

    let mut weekdays = per_ticket;
    weekdays.hours = hours_between(chrono_tz::UTC, MON_FRI, 0, 23);
    let mut s = subscription(1, weekdays);
    s.entries = six_small_entries();
    let inv = price_invoice(&request(period("2026-10-01", "2026-11-01"), s)).expect("priced");
    assert_eq!(
        lines(&inv),
        [
            (LineKind::SupportTime, Some(dec!(30)), "120.00".into(), "60.00".into()),
            (LineKind::AfterHoursSupportTime, Some(dec!(15)), "180.00".into(), "45.00".into()),
        ]
    );
}

// SPEC 7.4 in a retainer: a rounded group uses the allowance as one unit. Included 20 minutes;
// the ticket's six 5-minute entries sum to 30 -> 30 billed (increment 15): 20 covered, 10 overage
// at 90.00/h = 15.00. Entries without a ticket are rounded one by one.
#[test]
fn a_tickets_group_uses_a_retainer_allowance_as_one_unit() {
    let mut terms = retainer(dec!(100.00), 20, FeeProration::None);
    terms.rounding_increment_minutes = 15;
    terms.rounding_scope = RoundingScope::Ticket;
    let mut s = subscription(1, terms);
    s.entries = six_small_entries();
    s.entries.push(entry_in(9, "2026-10-20T10:00:00Z", 1, Category::Technical)); // alone: 15
    let inv = price_invoice(&request(period("2026-10-01", "2026-11-01"), s)).expect("priced");
    // 30 + 15 = 45 billed, 20 covered, 25 overage: 25 x 90.00 / 60 = 37.50
    assert_eq!(
        lines(&inv),
        [
            (LineKind::RetainerFee, None, "100.00".into(), "100.00".into()),
            (LineKind::Overage, Some(dec!(25)), "90.00".into(), "37.50".into()),
        ]
    );
}

fn prepaid() -> PlanTerms {
    PlanTerms {
        billing_model: BillingModel::Prepaid,
        hours: hours_between(chrono_tz::UTC, EVERY_DAY, 0, 23),
        after_hours_multiplier: Decimal::ONE,
        ..hourly(dec!(100.00))
    }
}

fn block(id: i64, purchased_on: &str, expires_on: Option<&str>, minutes: u32, price: Decimal, left: Decimal) -> Block {
    Block {
        id,
        purchased_on: date(purchased_on),
        expires_on: expires_on.map(date),
        minutes,
        price,
        left,
        purchase_billed: false,
    }
}

fn drawn(inv: &PricedInvoice) -> Vec<(i64, Decimal)> {
    inv.claims.block_draws.iter().map(|d| (d.block_id, d.minutes)).collect()
}

// SPEC 7.5, the worked example. Block A: 600 minutes bought 2026-10-01, expiring 2027-01-01,
// 900.00. Block B: 300 minutes bought 2026-11-01, no expiry, 450.00.
#[test]
fn blocks_are_drawn_soonest_to_expire_first() {
    let a = |left| block(1, "2026-10-01", Some("2027-01-01"), 600, dec!(900.00), left);
    let b = |left| block(2, "2026-11-01", None, 300, dec!(450.00), left);
    let october_entries = vec![
        entry_in(1, "2026-10-05T10:00:00Z", 300, Category::Technical),
        entry_in(2, "2026-10-06T10:00:00Z", 120, Category::Technical),
    ];

    // October: 420 minutes, all from A (B is not bought yet). Lines: A's purchase 900.00 and the
    // usage line (0.00): 7:00 drawn, 3:00 left in A.
    let mut s = subscription(1, prepaid());
    s.blocks = vec![a(dec!(600)), b(dec!(300))];
    s.entries = october_entries.clone();
    let october = price_invoice(&request(period("2026-10-01", "2026-11-01"), s)).expect("priced");
    assert_eq!(drawn(&october), [(1, dec!(420))]);
    assert_eq!(
        lines(&october),
        [
            (LineKind::BlockPurchase, None, "900.00".into(), "900.00".into()),
            (LineKind::PrepaidUsage, Some(dec!(420)), "0.00".into(), "0.00".into()),
        ]
    );
    assert_eq!(october.claims.block_purchases, [1]);
    assert!(october.lines[1].description.starts_with("Prepaid hours drawn 7:00 h, left 3:00 h"));

    // November: 400 minutes draw A's last 180, then 220 of B. Lines: B's purchase 450.00, usage:
    // 6:40 drawn, 1:20 left (80 of B; A's 0).
    let mut s = subscription(1, prepaid());
    s.blocks = vec![Block { purchase_billed: true, ..a(dec!(180)) }, b(dec!(300))];
    s.entries = vec![entry_in(3, "2026-11-10T10:00:00Z", 400, Category::Technical)];
    let november = price_invoice(&request(period("2026-11-01", "2026-12-01"), s)).expect("priced");
    assert_eq!(drawn(&november), [(1, dec!(180)), (2, dec!(220))]);
    assert_eq!(november.total, dec!(450.00));
    assert!(november.lines[1].description.starts_with("Prepaid hours drawn 6:40 h, left 1:20 h"));

    // October voided: its 420 go back to A (600 - November's 180 = 420 left) and its purchase is
    // free again. October drafted again draws the same 420 from A and bills A again.
    let mut s = subscription(1, prepaid());
    s.blocks = vec![a(dec!(420)), Block { purchase_billed: true, ..b(dec!(80)) }];
    s.entries = october_entries;
    let again = price_invoice(&request(period("2026-10-01", "2026-11-01"), s)).expect("priced");
    assert_eq!(drawn(&again), [(1, dec!(420))]);
    assert_eq!(again.total, dec!(900.00));
}

// A block that expires on the first day after the period is not "left" on its usage line: 100
// of 600 drawn from a block expiring 2026-11-01 (exclusive), and nothing is usable after October.
#[test]
fn a_block_expiring_with_the_period_leaves_nothing() {
    let mut s = subscription(1, prepaid());
    s.blocks =
        vec![Block { purchase_billed: true, ..block(1, "2026-09-01", Some("2026-11-01"), 600, dec!(1.00), dec!(600)) }];
    s.entries = vec![entry_in(1, "2026-10-31T10:00:00Z", 100, Category::Technical)];
    let inv = price_invoice(&request(period("2026-10-01", "2026-11-01"), s)).expect("priced");
    assert_eq!(drawn(&inv), [(1, dec!(100))]);
    assert!(
        inv.lines[0].description.starts_with("Prepaid hours drawn 1:40 h, left 0:00 h"),
        "{}",
        inv.lines[0].description
    );
}

// What no block covers is overage at the plan's rate: 100 minutes with 40 left in an expired
// block and 30 in a valid one: 30 drawn, 70 overage x 100.00 / 60 = 116.666... = 116.67.
#[test]
fn time_beyond_the_blocks_is_overage() {
    let mut s = subscription(1, prepaid());
    s.blocks = vec![
        Block { purchase_billed: true, ..block(1, "2026-01-01", Some("2026-10-01"), 60, dec!(1.00), dec!(40)) },
        Block { purchase_billed: true, ..block(2, "2026-09-01", None, 60, dec!(1.00), dec!(30)) },
    ];
    s.entries = vec![entry_in(1, "2026-10-05T10:00:00Z", 100, Category::Technical)];
    let inv = price_invoice(&request(period("2026-10-01", "2026-11-01"), s)).expect("priced");
    assert_eq!(drawn(&inv), [(2, dec!(30))]);
    assert_eq!(
        lines(&inv),
        [
            (LineKind::PrepaidUsage, Some(dec!(30)), "0.00".into(), "0.00".into()),
            (LineKind::Overage, Some(dec!(70)), "100.00".into(), "116.67".into()),
        ]
    );
}

// Per incident (7.2: a ticket by the version in force on its opening date): 75.00 until
// 2026-10-15, 90.00 from then. Two tickets before, one after: 2 x 75.00 + 1 x 90.00 = 240.00.
#[test]
fn incident_fees_follow_the_version_of_the_opening_date() {
    let fee =
        |f: Decimal| PlanTerms { billing_model: BillingModel::PerIncident, incident_fee: Some(f), ..hourly(dec!(0)) };
    let mut s = subscription(1, fee(dec!(75.00)));
    s.plan = versions(vec![("2026-01-01", fee(dec!(75.00))), ("2026-10-15", fee(dec!(90.00)))]);
    let ticket = |id, at: &str| Ticket { id, opened_at: at.parse().expect("instant"), category: Category::Technical };
    s.tickets =
        vec![ticket(1, "2026-10-02T10:00:00Z"), ticket(2, "2026-10-14T23:59:00Z"), ticket(3, "2026-10-15T00:00:00Z")];
    let inv = price_invoice(&request(period("2026-10-01", "2026-11-01"), s)).expect("priced");
    let summary: Vec<(Decimal, String, String)> =
        inv.lines.iter().map(|l| (l.quantity, l.unit_price.to_string(), l.amount.to_string())).collect();
    assert_eq!(summary, [(dec!(2), "75.00".into(), "150.00".into()), (dec!(1), "90.00".into(), "90.00".into())]);
    assert_eq!(inv.subtotal, dec!(240.00));
}
