//! Edge cases of the pricing rules, second part: retainer splits and allowances (P6),
//! multi-month periods, period validation (P1), charges, incidents and line order (P7, P8, P10).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use chrono_tz::Tz;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use supportbill::domain::pricing::*;

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

// ---------------------------------------------------------------- P6

#[test]
fn retainer_splits_the_entry_that_crosses_the_allowance() {
    let mut s = sub(1, plan(BillingModel::Retainer));
    // Given out of order: the (started_at, id) order decides who uses the allowance.
    s.entries = vec![entry(2, "2026-10-06T10:00:00Z", 50), entry(1, "2026-10-05T10:00:00Z", 40), {
        let mut e = entry(3, "2026-10-07T10:00:00Z", 10);
        e.category = Category::SubscriptionManagement;
        e
    }];
    let inv = price_invoice(&request("EUR", vec![s])).expect("priced");
    let summary: Vec<(LineKind, Option<Category>, Option<Decimal>, String)> =
        inv.lines.iter().map(|l| (l.kind, l.category, l.quantity_minutes, l.amount.to_string())).collect();
    assert_eq!(
        summary,
        [
            (LineKind::RetainerFee, None, None, "500.00".to_string()),
            (LineKind::Overage, Some(Category::Technical), Some(dec!(30)), "30.00".to_string()),
            (LineKind::Overage, Some(Category::SubscriptionManagement), Some(dec!(10)), "10.00".to_string()),
        ]
    );
    let mut claimed = inv.claims.entry_ids.clone();
    claimed.sort_unstable();
    assert_eq!(claimed, [1, 2, 3]);
    assert_eq!(inv.claims.retainer_months[0].allowance_used, dec!(60));
}

#[test]
fn retainer_overage_is_weighted_but_priced_at_the_base_rate() {
    let mut p = plan(BillingModel::Retainer);
    p.included_minutes = Some(0);
    p.after_hours_multiplier = dec!(1.25);
    let mut s = sub(1, p);
    s.entries = vec![entry(1, "2026-10-04T10:00:00Z", 10)]; // Sunday: 12.5 weighted
    let inv = price_invoice(&request("EUR", vec![s])).expect("priced");
    let overage = &inv.lines[1];
    assert_eq!(overage.quantity_minutes, Some(dec!(12.5)));
    assert_eq!(overage.unit_price.to_string(), "60.00");
    assert_eq!(overage.amount.to_string(), "12.50");
    assert_eq!(overage.quantity.to_string(), "0.21");
}

// A month the subscription does not cover (it ended before October, SPEC 7.1) has no fee and no
// allowance, whatever its status. Time recorded there anyway (before subscriptions had dates)
// is all overage: 90 minutes.
#[test]
fn a_month_outside_the_subscription_has_no_fee_and_no_allowance() {
    let mut s = sub(1, plan(BillingModel::Retainer));
    s.end_date = Some(date("2026-10-01"));
    s.entries = vec![entry(1, "2026-10-05T10:00:00Z", 90)];
    let inv = price_invoice(&request("EUR", vec![s])).expect("priced");
    assert_eq!(inv.lines.len(), 1);
    assert_eq!(inv.lines[0].kind, LineKind::Overage);
    assert_eq!(inv.lines[0].quantity_minutes, Some(dec!(90)));
    assert_eq!(
        inv.claims.retainer_months,
        [RetainerMonthClaim {
            subscription_id: 1,
            month: date("2026-10-01"),
            fee_claimed: false,
            allowance_used: dec!(0),
        }]
    );
}

// Cancelled at the end of October after an earlier invoice claimed October's fee: late October
// time still uses what is left of that month's allowance (60 - 20 = 40), and brings no second fee.
#[test]
fn a_late_entry_uses_what_is_left_of_a_covered_month() {
    let mut s = sub(1, plan(BillingModel::Retainer));
    s.end_date = Some(date("2026-11-01"));
    s.retainer_used.insert(date("2026-10-01"), RetainerMonthUsed { fee_claimed: true, allowance_used: dec!(20) });
    s.entries = vec![entry(1, "2026-10-05T10:00:00Z", 90)];
    let inv = price_invoice(&request("EUR", vec![s])).expect("priced");
    let summary: Vec<(LineKind, Option<Decimal>)> = inv.lines.iter().map(|l| (l.kind, l.quantity_minutes)).collect();
    assert_eq!(summary, [(LineKind::Overage, Some(dec!(50)))], "40 of the 60 included minutes were left");
    assert_eq!(inv.claims.retainer_months[0].allowance_used, dec!(40));
    assert!(!inv.claims.retainer_months[0].fee_claimed);
}

// ---------------------------------------------------------------- multi-month periods

#[test]
fn three_month_hourly_period_is_not_split_by_month() {
    let mut s = sub(1, plan(BillingModel::Hourly));
    s.entries = vec![
        entry(1, "2026-10-05T10:00:00Z", 30),
        entry(2, "2026-11-05T10:00:00Z", 30),
        entry(3, "2026-12-07T10:00:00Z", 30),
        entry(4, "2027-01-04T10:00:00Z", 30),
    ];
    let mut req = request("EUR", vec![s]);
    req.period = period("2026-10-01", "2027-01-01");
    let inv = price_invoice(&req).expect("priced");
    assert_eq!(inv.lines.len(), 1);
    assert_eq!(inv.lines[0].quantity_minutes, Some(dec!(90)));
    assert_eq!(inv.lines[0].month, None);
    assert_eq!(inv.total.to_string(), "90.00");
    assert_eq!(inv.claims.entry_ids, [1, 2, 3]);
}

#[test]
fn three_month_retainer_period_has_three_fees_and_monthly_allowances() {
    let mut s = sub(1, plan(BillingModel::Retainer));
    s.entries = vec![
        entry(1, "2026-10-05T10:00:00Z", 100),
        entry(2, "2026-11-05T10:00:00Z", 100),
        entry(3, "2026-12-07T10:00:00Z", 50),
    ];
    s.retainer_used.insert(date("2026-11-01"), RetainerMonthUsed { fee_claimed: false, allowance_used: dec!(30) });
    let mut req = request("EUR", vec![s]);
    req.period = period("2026-10-01", "2027-01-01");
    let inv = price_invoice(&req).expect("priced");
    let summary: Vec<(LineKind, Option<NaiveDate>, Option<Decimal>)> =
        inv.lines.iter().map(|l| (l.kind, l.month, l.quantity_minutes)).collect();
    assert_eq!(
        summary,
        [
            (LineKind::RetainerFee, Some(date("2026-10-01")), None),
            (LineKind::RetainerFee, Some(date("2026-11-01")), None),
            (LineKind::RetainerFee, Some(date("2026-12-01")), None),
            (LineKind::Overage, Some(date("2026-10-01")), Some(dec!(40))),
            (LineKind::Overage, Some(date("2026-11-01")), Some(dec!(70))),
        ]
    );
    assert_eq!(inv.lines[1].description, "Retainer November 2026 — Azure plan");
    assert_eq!(inv.total.to_string(), "1610.00");
    let months: Vec<(NaiveDate, bool, Decimal)> =
        inv.claims.retainer_months.iter().map(|m| (m.month, m.fee_claimed, m.allowance_used)).collect();
    assert_eq!(
        months,
        [
            (date("2026-10-01"), true, dec!(60)),
            (date("2026-11-01"), true, dec!(30)),
            (date("2026-12-01"), true, dec!(50)),
        ]
    );
}

// ---------------------------------------------------------------- P1 and periods

#[test]
fn period_validation_names_the_field() {
    let err = Period::new(date("2026-10-02"), date("2026-11-01")).expect_err("not the 1st");
    assert_eq!(err.field, "period_start");
    assert!(err.message.contains("first day"), "{}", err.message);
    let err = Period::new(date("2026-10-01"), date("2026-11-15")).expect_err("not the 1st");
    assert_eq!(err.field, "period_end");
    assert!(err.message.contains("first day"), "{}", err.message);
    let err = Period::new(date("2026-10-01"), date("2026-10-01")).expect_err("empty");
    assert_eq!(err.field, "period_end");
    assert!(err.message.contains("after"), "{}", err.message);
    let err = Period::new(date("2026-11-01"), date("2026-10-01")).expect_err("backwards");
    assert_eq!(err.field, "period_end");

    let p = period("2026-11-01", "2027-02-01");
    assert_eq!(p.start(), date("2026-11-01"));
    assert_eq!(p.end(), date("2027-02-01"));
    assert_eq!(p.months(), [date("2026-11-01"), date("2026-12-01"), date("2027-01-01")]);
    assert!(p.contains(date("2026-11-01")));
    assert!(p.contains(date("2027-01-31")));
    assert!(!p.contains(date("2027-02-01")));
    assert!(!p.contains(date("2026-10-31")));
}

#[test]
fn the_utc_date_decides_the_period() {
    let mut p = plan(BillingModel::Hourly);
    // 23:59Z on Oct 31 is already Nov 1 in Berlin; P1 uses the UTC date.
    p.hours = hours(chrono_tz::Europe::Berlin, EVERY_DAY);
    let mut s = sub(1, p);
    s.entries = vec![
        entry(1, "2026-10-31T23:59:00Z", 60),
        entry(2, "2026-11-01T00:00:00Z", 60),
        entry(3, "2026-09-30T23:59:59Z", 60),
    ];
    let inv = price_invoice(&request("EUR", vec![s])).expect("priced");
    assert_eq!(inv.claims.entry_ids, [1]);
    assert_eq!(inv.lines.len(), 1);
}

#[test]
fn non_billable_and_non_chargeable_entries_are_neither_priced_nor_claimed() {
    let mut s = sub(1, plan(BillingModel::Hourly));
    let mut not_billable = entry(1, "2026-10-05T10:00:00Z", 60);
    not_billable.billable = false;
    let mut billing = entry(2, "2026-10-05T10:00:00Z", 60);
    billing.category = Category::Billing;
    s.entries = vec![not_billable, billing, entry(3, "2026-10-05T11:00:00Z", 30)];
    let inv = price_invoice(&request("EUR", vec![s])).expect("priced");
    assert_eq!(inv.claims.entry_ids, [3]);
    assert_eq!(amounts(&inv), ["30.00"]);
}

// ---------------------------------------------------------------- P7, P8, P10

#[test]
fn nothing_to_invoice() {
    assert_eq!(price_invoice(&request("EUR", vec![])), Err(PricingError::NothingToInvoice));
    let mut s = sub(1, plan(BillingModel::Hourly));
    let mut e = entry(1, "2026-10-05T10:00:00Z", 60);
    e.billable = false;
    s.entries = vec![e];
    s.charges = vec![charge(1, "2026-11-01", dec!(10))];
    assert_eq!(price_invoice(&request("EUR", vec![s])), Err(PricingError::NothingToInvoice));
    assert_eq!(PricingError::NothingToInvoice.code(), "nothing_to_invoice");
}

#[test]
fn included_plan_charges_no_time() {
    let mut s = sub(1, plan(BillingModel::Included));
    s.entries = vec![entry(1, "2026-10-05T10:00:00Z", 60)];
    s.tickets = vec![Ticket { id: 1, opened_at: at("2026-10-05T09:00:00Z"), category: Category::Technical }];
    assert_eq!(price_invoice(&request("EUR", vec![s.clone()])), Err(PricingError::NothingToInvoice));
    // Charges apply whatever the model; the entries stay unclaimed.
    s.charges = vec![charge(9, "2026-10-20", dec!(85.00))];
    let inv = price_invoice(&request("EUR", vec![s])).expect("priced");
    assert_eq!(amounts(&inv), ["85.00"]);
    assert_eq!(inv.lines[0].kind, LineKind::Charge);
    assert_eq!(inv.lines[0].description, "Charge 9");
    assert!(inv.claims.entry_ids.is_empty());
    assert!(inv.claims.ticket_ids.is_empty());
    assert_eq!(inv.claims.charge_ids, [9]);
}

#[test]
fn per_incident_counts_qualifying_tickets() {
    let mut s = sub(1, plan(BillingModel::PerIncident));
    let ticket = |id, opened: &str, category| Ticket { id, opened_at: at(opened), category };
    s.tickets = vec![
        ticket(1, "2026-10-01T00:00:00Z", Category::Technical),
        ticket(2, "2026-10-15T12:00:00Z", Category::SubscriptionManagement),
        ticket(3, "2026-10-31T23:59:59Z", Category::Technical),
        ticket(4, "2026-10-16T12:00:00Z", Category::Billing),
        ticket(5, "2026-11-01T00:00:00Z", Category::Technical),
    ];
    s.entries = vec![entry(1, "2026-10-05T10:00:00Z", 60)];
    let inv = price_invoice(&request("EUR", vec![s.clone()])).expect("priced");
    assert_eq!(inv.lines.len(), 1);
    let line = &inv.lines[0];
    assert_eq!(line.kind, LineKind::IncidentFee);
    assert_eq!(line.quantity, dec!(3));
    assert_eq!(line.unit_price.to_string(), "75.00");
    assert_eq!(line.amount.to_string(), "225.00");
    assert_eq!(line.description, "3 incidents — Azure plan");
    assert_eq!(line.quantity_minutes, None);
    assert_eq!(inv.claims.ticket_ids, [1, 2, 3]);
    assert!(inv.claims.entry_ids.is_empty(), "time is not charged");

    s.tickets.truncate(1);
    let inv = price_invoice(&request("EUR", vec![s.clone()])).expect("priced");
    assert_eq!(inv.lines[0].description, "1 incident — Azure plan");

    s.tickets = vec![ticket(4, "2026-10-16T12:00:00Z", Category::Billing)];
    assert_eq!(
        price_invoice(&request("EUR", vec![s])),
        Err(PricingError::NothingToInvoice),
        "no line for zero incidents"
    );
}

#[test]
fn line_order_across_subscriptions_and_charges() {
    let mut a = sub(20, plan(BillingModel::Hourly));
    a.entries = vec![
        {
            let mut e = entry(1, "2026-10-04T10:00:00Z", 60); // Sunday
            e.category = Category::SubscriptionManagement;
            e
        },
        entry(2, "2026-10-04T11:00:00Z", 60),
        {
            let mut e = entry(3, "2026-10-05T10:00:00Z", 60);
            e.category = Category::SubscriptionManagement;
            e
        },
        entry(4, "2026-10-05T11:00:00Z", 60),
    ];
    a.charges = vec![
        charge(12, "2026-10-20", dec!(1)),
        charge(11, "2026-10-20", dec!(2)),
        charge(10, "2026-10-21", dec!(3)),
        charge(13, "2026-11-01", dec!(4)),
    ];
    let mut b = sub(10, plan(BillingModel::Retainer));
    b.entries = vec![entry(5, "2026-10-05T10:00:00Z", 90)];
    let inv = price_invoice(&request("EUR", vec![a, b])).expect("priced");
    let order: Vec<(i64, LineKind, Option<Category>, String)> =
        inv.lines.iter().map(|l| (l.subscription_id, l.kind, l.category, l.amount.to_string())).collect();
    let t = Some(Category::Technical);
    let sm = Some(Category::SubscriptionManagement);
    assert_eq!(
        order,
        [
            (20, LineKind::SupportTime, t, "60.00".into()),
            (20, LineKind::SupportTime, sm, "60.00".into()),
            (20, LineKind::AfterHoursSupportTime, t, "120.00".into()),
            (20, LineKind::AfterHoursSupportTime, sm, "120.00".into()),
            (20, LineKind::Charge, None, "2.00".into()),
            (20, LineKind::Charge, None, "1.00".into()),
            (20, LineKind::Charge, None, "3.00".into()),
            (10, LineKind::RetainerFee, None, "500.00".into()),
            (10, LineKind::Overage, t, "30.00".into()),
        ]
    );
    assert_eq!(inv.claims.charge_ids, [11, 12, 10]);
}

#[test]
fn absurd_amounts_are_an_error_not_a_panic() {
    let mut p = plan(BillingModel::Hourly);
    p.hourly_rate = Some(Decimal::MAX);
    p.after_hours_multiplier = Decimal::MAX;
    let mut s = sub(1, p);
    s.entries = vec![entry(1, "2026-10-04T10:00:00Z", 1440)];
    assert_eq!(price_invoice(&request("EUR", vec![s.clone()])), Err(PricingError::AmountOutOfRange));
    s.entries.clear();
    s.charges = vec![charge(1, "2026-10-05", Decimal::MAX), charge(2, "2026-10-06", Decimal::MAX)];
    assert_eq!(price_invoice(&request("EUR", vec![s])), Err(PricingError::AmountOutOfRange));
}

#[test]
fn enum_names_round_trip() {
    for c in Category::ALL {
        assert_eq!(Category::parse(c.as_str()), Some(c));
    }
    for m in BillingModel::ALL {
        assert_eq!(BillingModel::parse(m.as_str()), Some(m));
    }
    for k in LineKind::ALL {
        assert_eq!(LineKind::parse(k.as_str()), Some(k));
    }
    assert_eq!(Category::SubscriptionManagement.as_str(), "subscription_management");
    assert_eq!(BillingModel::PerIncident.as_str(), "per_incident");
    assert_eq!(LineKind::AfterHoursSupportTime.as_str(), "after_hours_support_time");
    assert_eq!(Category::parse("Technical"), None);
    assert_eq!(LineKind::parse(""), None);
}
