//! Property tests of SPEC section 7: the version in force is a step function of the date, each
//! entry is priced by exactly one version, blocks never go below zero and what is drawn plus
//! what is left is what there was, and fees exist exactly for the covered months.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, Months, NaiveDate};
use proptest::prelude::*;
use rust_decimal::Decimal;
use supportbill::domain::pricing::*;

use crate::builders::*;

fn terms(model: BillingModel, rate: Decimal) -> PlanTerms {
    PlanTerms {
        billing_model: model,
        hourly_rate: Some(rate),
        category_rates: BTreeMap::new(),
        after_hours_multiplier: Decimal::new(15, 1),
        rounding_increment_minutes: 1,
        minimum_minutes: 0,
        monthly_fee: Some(Decimal::new(10_000, 2)),
        included_minutes: Some(120),
        incident_fee: None,
        chargeable_categories: Category::ALL.into_iter().collect(),
        hours: hours_between(chrono_tz::UTC, MON_FRI, 8, 18),
        rounding_scope: RoundingScope::Entry,
        fee_proration: FeeProration::Daily,
    }
}

fn day(offset: i64) -> NaiveDate {
    date("2026-01-01") + Duration::days(offset)
}

/// Versions on distinct days of 2026, the i-th at rate 100 + i.
fn versions(model: BillingModel) -> impl Strategy<Value = PlanVersions> {
    proptest::collection::btree_set(0i64..365, 1..5).prop_map(move |days| {
        let list = days
            .into_iter()
            .enumerate()
            .map(|(i, d)| PlanVersion { effective_from: day(d), terms: terms(model, Decimal::from(100 + i as i64)) })
            .collect();
        PlanVersions::new(list).expect("non-empty")
    })
}

fn entries() -> impl Strategy<Value = Vec<TimeEntry>> {
    proptest::collection::vec((0i64..365 * 24, 1u32..=600), 0..40).prop_map(|list| {
        list.into_iter()
            .enumerate()
            .map(|(i, (hour, minutes))| TimeEntry {
                id: i as i64 + 1,
                started_at: day(0).and_hms_opt(0, 0, 0).expect("midnight").and_utc() + Duration::hours(hour),
                minutes,
                category: Category::Technical,
                billable: true,
                ticket_id: None,
            })
            .collect()
    })
}

fn year() -> Period {
    period("2026-01-01", "2027-01-01")
}

fn request(subscription: Subscription) -> InvoiceRequest {
    InvoiceRequest {
        currency: cur("EUR"),
        tax_rate_percent: Decimal::ZERO,
        period: year(),
        subscriptions: vec![subscription],
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_version_in_force_is_a_step_function_of_the_date(plan in versions(BillingModel::Hourly), a in -30i64..400, b in -30i64..400) {
        let (a, b) = (day(a.min(b)), day(a.max(b)));
        let all = plan.all();
        for d in [a, b] {
            let v = plan.in_force(d);
            if d < all[0].effective_from {
                prop_assert_eq!(v.effective_from, all[0].effective_from, "before the first: the first");
            } else {
                prop_assert!(v.effective_from <= d);
                prop_assert!(all.iter().all(|o| o.effective_from <= v.effective_from || o.effective_from > d),
                    "no later version in force by {}", d);
            }
        }
        prop_assert!(plan.in_force(a).effective_from <= plan.in_force(b).effective_from, "never goes back in time");
    }

    #[test]
    fn each_entry_is_priced_by_exactly_one_version(plan in versions(BillingModel::Hourly), entries in entries()) {
        let mut s = subscription(1, terms(BillingModel::Hourly, Decimal::ONE));
        s.plan = plan.clone();
        s.entries = entries.clone();
        // The minutes each (version, after-hours) pair should bill, computed without the engine.
        let mut expected: BTreeMap<(NaiveDate, bool), Decimal> = BTreeMap::new();
        for e in &entries {
            let v = plan.in_force(e.started_at.date_naive());
            let after = v.terms.hours.is_after_hours(e.started_at);
            *expected.entry((v.effective_from, after)).or_default() += Decimal::from(e.minutes);
        }
        match price_invoice(&request(s)) {
            Err(PricingError::NothingToInvoice) => prop_assert!(entries.is_empty()),
            Err(e) => prop_assert!(false, "{e}"),
            Ok(inv) => {
                let mut priced: BTreeMap<(NaiveDate, bool), Decimal> = BTreeMap::new();
                for l in &inv.lines {
                    let version = l.plan_version.expect("time lines carry their version");
                    let after = l.kind == LineKind::AfterHoursSupportTime;
                    *priced.entry((version, after)).or_default() += l.quantity_minutes.expect("minutes");
                    // Each version has its own rate, so the line's price names its version.
                    let v = plan.all().iter().find(|v| v.effective_from == version).expect("a version of the plan");
                    let rate = v.terms.hourly_rate.expect("rate");
                    let price = if after { rate * v.terms.after_hours_multiplier } else { rate };
                    prop_assert_eq!(l.unit_price, price);
                }
                prop_assert_eq!(priced, expected);
                prop_assert_eq!(inv.claims.entry_ids.len(), entries.len());
            }
        }
    }

    #[test]
    fn blocks_never_go_below_zero_and_nothing_is_lost(
        blocks in proptest::collection::vec((0i64..365, proptest::option::of(1i64..200), 1u32..2000, 0u32..2000), 0..5),
        entries in entries(),
    ) {
        let mut s = subscription(1, terms(BillingModel::Prepaid, Decimal::from(100)));
        s.blocks = blocks
            .iter()
            .enumerate()
            .map(|(i, &(bought, valid, minutes, left))| Block {
                id: i as i64 + 1,
                purchased_on: day(bought),
                expires_on: valid.map(|v| day(bought + v)),
                minutes,
                price: Decimal::from(10),
                left: Decimal::from(left.min(minutes)),
                purchase_billed: false,
            })
            .collect();
        s.entries = entries.clone();
        let plan = s.plan.clone();
        let before: BTreeMap<i64, Decimal> = s.blocks.iter().map(|b| (b.id, b.left)).collect();
        let covers: BTreeMap<i64, Block> = s.blocks.iter().map(|b| (b.id, b.clone())).collect();
        let weighted: Decimal = entries
            .iter()
            .map(|e| {
                let t = &plan.in_force(e.started_at.date_naive()).terms;
                let m = Decimal::from(e.minutes);
                if t.hours.is_after_hours(e.started_at) { m * t.after_hours_multiplier } else { m }
            })
            .sum();
        match price_invoice(&request(s)) {
            Err(PricingError::NothingToInvoice) => prop_assert!(entries.is_empty() && blocks.is_empty()),
            Err(e) => prop_assert!(false, "{e}"),
            Ok(inv) => {
                let mut drawn = Decimal::ZERO;
                for d in &inv.claims.block_draws {
                    prop_assert!(d.minutes > Decimal::ZERO);
                    prop_assert!(d.minutes <= before[&d.block_id], "block {} drew {} of {}", d.block_id, d.minutes, before[&d.block_id]);
                    drawn += d.minutes;
                }
                let overage: Decimal = inv.lines.iter().filter(|l| l.kind == LineKind::Overage).filter_map(|l| l.quantity_minutes).sum();
                prop_assert_eq!(drawn + overage, weighted, "every weighted minute is drawn or overage");
                let usage: Decimal = inv.lines.iter().filter(|l| l.kind == LineKind::PrepaidUsage).filter_map(|l| l.quantity_minutes).sum();
                prop_assert_eq!(usage, drawn);
                // Overage only when no block that covers the date had minutes left for it.
                if overage > Decimal::ZERO {
                    let left_after: Decimal = covers.values().filter(|b| b.expires_on.is_none() && b.purchased_on <= day(0))
                        .map(|b| before[&b.id] - inv.claims.block_draws.iter().filter(|d| d.block_id == b.id).map(|d| d.minutes).sum::<Decimal>())
                        .sum();
                    prop_assert_eq!(left_after, Decimal::ZERO, "a block valid all year was left with minutes");
                }
                let bought: usize = inv.lines.iter().filter(|l| l.kind == LineKind::BlockPurchase).count();
                prop_assert_eq!(bought, blocks.len(), "every block bought in the year is billed once");
            }
        }
    }

    #[test]
    fn fees_exist_exactly_for_the_covered_months(start in 0i64..365, length in proptest::option::of(1i64..400)) {
        let mut s = subscription(1, terms(BillingModel::Retainer, Decimal::from(100)));
        s.start_date = day(start);
        s.end_date = length.map(|l| day(start + l));
        let sub = s.clone();
        let inv = price_invoice(&request(s)).expect("at least one covered month");
        let fee_months: Vec<NaiveDate> = inv.lines.iter().filter(|l| l.kind == LineKind::RetainerFee).filter_map(|l| l.month).collect();
        let covered: Vec<NaiveDate> = year()
            .months()
            .into_iter()
            .filter(|m| {
                let next = *m + Months::new(1);
                sub.start_date < next && sub.end_date.is_none_or(|e| e > *m)
            })
            .collect();
        prop_assert_eq!(fee_months.clone(), covered);
        // Daily proration: a month covered in full pays 100.00, a partial one its share.
        for l in inv.lines.iter().filter(|l| l.kind == LineKind::RetainerFee) {
            let m = l.month.expect("month");
            let full = sub.start_date <= m && sub.end_date.is_none_or(|e| e >= m + Months::new(1));
            prop_assert_eq!(full, l.amount == Decimal::new(10_000, 2), "{} {}", m, l.amount);
            prop_assert!(l.amount <= Decimal::new(10_000, 2) && l.amount > Decimal::ZERO);
            prop_assert_eq!(m.day(), 1);
        }
    }
}
