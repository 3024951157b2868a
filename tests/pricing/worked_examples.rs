//! The worked examples of SPEC section 2, which the SPEC requires as tests, and the late-entry
//! case of P6 that follows from Plan R.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use supportbill::domain::{money::*, pricing::*};

use crate::builders::{self, *};

fn entry(id: i64, started_at: &str, minutes: u32, category: Category) -> TimeEntry {
    entry_in(id, started_at, minutes, category)
}

fn subscription(plan: PlanTerms, entries: Vec<TimeEntry>) -> Subscription {
    Subscription { entries, ..builders::subscription(7, plan) }
}

fn october() -> Period {
    period("2026-10-01", "2026-11-01")
}

fn plan_h() -> PlanTerms {
    PlanTerms {
        billing_model: BillingModel::Hourly,
        hourly_rate: Some(dec!(120.00)),
        category_rates: BTreeMap::from([(Category::Technical, dec!(150.00))]),
        after_hours_multiplier: dec!(1.5),
        rounding_increment_minutes: 15,
        minimum_minutes: 30,
        monthly_fee: None,
        included_minutes: None,
        incident_fee: None,
        chargeable_categories: BTreeSet::from([Category::Technical, Category::SubscriptionManagement]),
        hours: hours_between(chrono_tz::Europe::Berlin, MON_FRI, 9, 17),
        rounding_scope: RoundingScope::Entry,
        fee_proration: FeeProration::None,
    }
}

fn plan_r() -> PlanTerms {
    PlanTerms {
        billing_model: BillingModel::Retainer,
        hourly_rate: Some(dec!(100.00)),
        category_rates: BTreeMap::new(),
        after_hours_multiplier: dec!(2),
        rounding_increment_minutes: 1,
        minimum_minutes: 0,
        monthly_fee: Some(dec!(500.00)),
        included_minutes: Some(120),
        incident_fee: None,
        chargeable_categories: Category::ALL.into_iter().collect(),
        hours: hours_between(chrono_tz::UTC, MON_FRI, 8, 18),
        rounding_scope: RoundingScope::Entry,
        fee_proration: FeeProration::None,
    }
}

fn plan_r_entries() -> Vec<TimeEntry> {
    vec![
        entry(1, "2026-10-01T10:00:00Z", 90, Category::Technical),
        entry(2, "2026-10-03T12:00:00Z", 40, Category::Technical),
    ]
}

fn assert_line(
    line: &InvoiceLine,
    kind: LineKind,
    category: Option<Category>,
    quantity_minutes: Option<Decimal>,
    unit_price: Decimal,
    amount: &str,
) {
    assert_eq!(line.kind, kind, "{line:?}");
    assert_eq!(line.category, category, "{line:?}");
    assert_eq!(line.quantity_minutes, quantity_minutes, "{line:?}");
    assert_eq!(line.unit_price, unit_price, "{line:?}");
    assert_eq!(line.amount.to_string(), amount, "{line:?}");
    assert_eq!(line.subscription_id, 7);
}

#[test]
fn plan_h_hourly_example() {
    let eur = Currency::from_code("EUR").expect("EUR");
    let entries = vec![
        entry(1, "2026-10-05T08:00:00Z", 50, Category::Technical),
        entry(2, "2026-10-06T17:30:00Z", 10, Category::Technical),
        entry(3, "2026-10-07T09:00:00Z", 20, Category::Billing),
        entry(4, "2026-10-10T10:00:00Z", 45, Category::SubscriptionManagement),
        entry(5, "2026-11-01T00:10:00Z", 30, Category::Technical),
    ];
    let req = InvoiceRequest {
        currency: eur,
        tax_rate_percent: dec!(19),
        period: october(),
        subscriptions: vec![subscription(plan_h(), entries)],
    };
    let inv = price_invoice(&req).expect("priced");

    assert_eq!(inv.lines.len(), 3, "{:#?}", inv.lines);
    let l = &inv.lines;
    assert_line(&l[0], LineKind::SupportTime, Some(Category::Technical), Some(dec!(60)), dec!(150.00), "150.00");
    assert_line(
        &l[1],
        LineKind::AfterHoursSupportTime,
        Some(Category::Technical),
        Some(dec!(30)),
        dec!(225.00),
        "112.50",
    );
    assert_line(
        &l[2],
        LineKind::AfterHoursSupportTime,
        Some(Category::SubscriptionManagement),
        Some(dec!(45)),
        dec!(180.00),
        "135.00",
    );
    let hours: Vec<String> = l.iter().map(|x| x.quantity.to_string()).collect();
    assert_eq!(hours, ["1.00", "0.50", "0.75"]);
    assert!(l.iter().all(|x| x.month.is_none()));
    assert_eq!(l[0].unit_price.to_string(), "150.00");
    assert_eq!(l[1].unit_price.to_string(), "225.00");
    assert_eq!(l[0].description, "Technical support — Azure plan");
    assert_eq!(l[1].description, "Technical support, after hours — Azure plan");
    assert_eq!(l[2].description, "Subscription management support, after hours — Azure plan");

    assert_eq!(inv.subtotal.to_string(), "397.50");
    assert_eq!(inv.tax.to_string(), "75.53");
    assert_eq!(inv.total.to_string(), "473.03");

    let mut claimed = inv.claims.entry_ids.clone();
    claimed.sort();
    assert_eq!(claimed, [1, 2, 4]);
    assert!(inv.claims.ticket_ids.is_empty());
    assert!(inv.claims.charge_ids.is_empty());
    assert!(inv.claims.retainer_months.is_empty());
}

#[test]
fn plan_r_retainer_example() {
    let usd = Currency::from_code("USD").expect("USD");
    let req = InvoiceRequest {
        currency: usd,
        tax_rate_percent: dec!(0),
        period: october(),
        subscriptions: vec![subscription(plan_r(), plan_r_entries())],
    };
    let inv = price_invoice(&req).expect("priced");

    assert_eq!(inv.lines.len(), 2, "{:#?}", inv.lines);
    let fee = &inv.lines[0];
    assert_line(fee, LineKind::RetainerFee, None, None, dec!(500.00), "500.00");
    assert_eq!(fee.month, Some(date("2026-10-01")));
    assert_eq!(fee.quantity, dec!(1));
    assert_eq!(fee.description, "Retainer October 2026 — Azure plan");

    let overage = &inv.lines[1];
    assert_line(overage, LineKind::Overage, Some(Category::Technical), Some(dec!(50)), dec!(100.00), "83.33");
    assert_eq!(overage.month, Some(date("2026-10-01")));
    assert_eq!(overage.quantity.to_string(), "0.83");
    assert_eq!(overage.description, "Overage October 2026, technical — Azure plan");

    assert_eq!(inv.subtotal.to_string(), "583.33");
    assert_eq!(inv.tax.to_string(), "0.00");
    assert_eq!(inv.total.to_string(), "583.33");

    assert_eq!(inv.claims.entry_ids, [1, 2]);
    assert_eq!(
        inv.claims.retainer_months,
        [RetainerMonthClaim {
            subscription_id: 7,
            month: date("2026-10-01"),
            fee_claimed: true,
            allowance_used: dec!(120),
        }]
    );
}

#[test]
fn plan_r_late_entries_use_what_is_left_and_bring_no_second_fee() {
    let usd = Currency::from_code("USD").expect("USD");
    let mut sub = subscription(plan_r(), plan_r_entries());
    sub.retainer_used.insert(date("2026-10-01"), RetainerMonthUsed { fee_claimed: true, allowance_used: dec!(120) });
    let req = InvoiceRequest { currency: usd, tax_rate_percent: dec!(0), period: october(), subscriptions: vec![sub] };
    let inv = price_invoice(&req).expect("priced");

    // The allowance is gone: 90 in-hours minutes plus 80 weighted after-hours minutes.
    assert_eq!(inv.lines.len(), 1, "{:#?}", inv.lines);
    assert_line(&inv.lines[0], LineKind::Overage, Some(Category::Technical), Some(dec!(170)), dec!(100.00), "283.33");
    assert_eq!(inv.total.to_string(), "283.33");
    assert_eq!(inv.claims.entry_ids, [1, 2]);
    assert_eq!(
        inv.claims.retainer_months,
        [RetainerMonthClaim {
            subscription_id: 7,
            month: date("2026-10-01"),
            fee_claimed: false,
            allowance_used: dec!(0),
        }]
    );
}

#[test]
fn plan_r_late_entries_partly_covered_by_the_rest_of_the_allowance() {
    let usd = Currency::from_code("USD").expect("USD");
    let mut sub = subscription(plan_r(), plan_r_entries());
    sub.retainer_used.insert(date("2026-10-01"), RetainerMonthUsed { fee_claimed: true, allowance_used: dec!(100) });
    let req = InvoiceRequest { currency: usd, tax_rate_percent: dec!(0), period: october(), subscriptions: vec![sub] };
    let inv = price_invoice(&req).expect("priced");
    assert_eq!(inv.lines.len(), 1, "{:#?}", inv.lines);
    // 20 minutes left: the first entry takes them, the rest (70 + 80) is overage.
    assert_eq!(inv.lines[0].quantity_minutes, Some(dec!(150)));
    assert_eq!(inv.lines[0].amount.to_string(), "250.00");
    assert_eq!(inv.claims.retainer_months[0].allowance_used, dec!(20));
    assert!(!inv.claims.retainer_months[0].fee_claimed);
}
