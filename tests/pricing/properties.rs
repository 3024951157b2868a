//! Properties of `price_invoice` over random plans of every billing model, random entries,
//! tickets and charges, in currencies with 0, 2 and 3 minor digits: totals add up, every amount
//! has the currency's scale, claims are exactly the chargeable items, retainer minutes are
//! conserved, and no input panics.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;
use proptest::sample::select;
use rust_decimal::Decimal;
use supportbill::domain::{money::*, pricing::*};

fn category() -> impl Strategy<Value = Category> {
    select(Category::ALL.to_vec())
}

fn money_value(max_cents: i64, scale: u32) -> impl Strategy<Value = Decimal> {
    (-max_cents..=max_cents).prop_map(move |n| Decimal::new(n, scale))
}

fn rate() -> impl Strategy<Value = Decimal> {
    // Up to 3 decimals so that EUR and JPY see sub-unit rates.
    (0i64..=500_000).prop_map(|n| Decimal::new(n, 3))
}

fn hours_of_service() -> impl Strategy<Value = HoursOfService> {
    (
        select(vec![
            chrono_tz::UTC,
            chrono_tz::Europe::Berlin,
            chrono_tz::America::New_York,
            chrono_tz::Asia::Tokyo,
            chrono_tz::Australia::Lord_Howe,
        ]),
        any::<[bool; 7]>(),
        0u32..24,
        0u32..24,
    )
        .prop_map(|(timezone, days, a, b): (Tz, [bool; 7], u32, u32)| HoursOfService {
            timezone,
            days,
            start: NaiveTime::from_hms_opt(a.min(b), 0, 0).expect("hour < 24"),
            end: NaiveTime::from_hms_opt(a.max(b), 30, 0).expect("hour < 24"),
            holidays: Default::default(),
        })
}

fn plan() -> impl Strategy<Value = PlanTerms> {
    (
        // (Prepaid plans have their own properties: `properties_over_time`.)
        select(vec![BillingModel::Included, BillingModel::Hourly, BillingModel::Retainer, BillingModel::PerIncident]),
        proptest::option::of(rate()),
        proptest::collection::btree_map(category(), rate(), 0..=3),
        (100i64..=300).prop_map(|n| Decimal::new(n, 2)),
        1u32..=60,
        0u32..=90,
        proptest::option::of(money_value(100_000, 2)),
        proptest::option::of(0u32..=600),
        proptest::option::of(money_value(50_000, 2)),
        proptest::collection::btree_set(category(), 0..=3),
        hours_of_service(),
    )
        .prop_map(
            |(
                billing_model,
                hourly_rate,
                category_rates,
                after_hours_multiplier,
                rounding_increment_minutes,
                minimum_minutes,
                monthly_fee,
                included_minutes,
                incident_fee,
                chargeable_categories,
                hours,
            )| PlanTerms {
                billing_model,
                hourly_rate,
                category_rates,
                after_hours_multiplier,
                rounding_increment_minutes,
                minimum_minutes,
                monthly_fee,
                included_minutes,
                incident_fee,
                chargeable_categories,
                hours,
                rounding_scope: RoundingScope::Entry,
                fee_proration: FeeProration::None,
            },
        )
}

/// Seconds from 5 days before the period to 5 days after it, so some items fall outside.
const SPAN_SECONDS: i64 = (3 * 31 + 10) * 86_400;

fn instant(period: Period, offset: i64) -> DateTime<Utc> {
    let start = period.start().and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    start + Duration::seconds(offset - 5 * 86_400)
}

#[derive(Clone, Debug)]
struct RawSub {
    plan: PlanTerms,
    /// False: the subscription ended before the period (SPEC 7.1), so no month of it is covered.
    covers_period: bool,
    entries: Vec<(i64, u32, Category, bool)>,
    tickets: Vec<(i64, Category)>,
    charges: Vec<(i64, Decimal)>,
    used: Vec<(u32, bool, u32)>,
}

fn raw_sub() -> impl Strategy<Value = RawSub> {
    (
        plan(),
        any::<bool>(),
        proptest::collection::vec((0..SPAN_SECONDS, 1u32..=1440, category(), any::<bool>()), 0..30),
        proptest::collection::vec((0..SPAN_SECONDS, category()), 0..8),
        proptest::collection::vec((0..SPAN_SECONDS, money_value(1_000_000, 3)), 0..4),
        proptest::collection::vec((0u32..3, any::<bool>(), 0u32..=700), 0..3),
    )
        .prop_map(|(plan, covers_period, entries, tickets, charges, used)| RawSub {
            plan,
            covers_period,
            entries,
            tickets,
            charges,
            used,
        })
}

fn request() -> impl Strategy<Value = InvoiceRequest> {
    (
        select(vec!["EUR", "JPY", "KWD"]),
        (0i64..=10_000).prop_map(|n| Decimal::new(n, 2)),
        0u32..24,
        1u32..=3,
        proptest::collection::vec(raw_sub(), 0..4),
    )
        .prop_map(|(code, tax_rate_percent, start_offset, months, raws)| {
            let first = NaiveDate::from_ymd_opt(2026, 1, 1).expect("date");
            let start = first + Months::new(start_offset);
            let period = Period::new(start, start + Months::new(months)).expect("valid period");
            let mut next_id = 1i64;
            let mut id = || {
                next_id += 1;
                next_id
            };
            let subscriptions = raws
                .into_iter()
                .enumerate()
                .map(|(i, raw)| Subscription {
                    id: i as i64 + 100,
                    name: format!("Subscription {i}"),
                    plan: PlanVersions::single(first, raw.plan),
                    start_date: NaiveDate::from_ymd_opt(2000, 1, 1).expect("date"),
                    end_date: (!raw.covers_period).then(|| NaiveDate::from_ymd_opt(2000, 2, 1).expect("date")),
                    blocks: vec![],
                    entries: raw
                        .entries
                        .into_iter()
                        .map(|(offset, minutes, category, billable)| TimeEntry {
                            id: id(),
                            started_at: instant(period, offset),
                            minutes,
                            category,
                            billable,
                            ticket_id: None,
                        })
                        .collect(),
                    tickets: raw
                        .tickets
                        .into_iter()
                        .map(|(offset, category)| Ticket { id: id(), opened_at: instant(period, offset), category })
                        .collect(),
                    charges: raw
                        .charges
                        .into_iter()
                        .map(|(offset, amount)| Charge {
                            id: id(),
                            date: instant(period, offset).date_naive(),
                            description: "Premier case fee".to_string(),
                            amount,
                        })
                        .collect(),
                    retainer_used: raw
                        .used
                        .into_iter()
                        .map(|(month, fee_claimed, used)| {
                            (
                                period.start() + Months::new(month),
                                RetainerMonthUsed { fee_claimed, allowance_used: Decimal::from(used) },
                            )
                        })
                        .collect(),
                })
                .collect();
            InvoiceRequest {
                currency: Currency::from_code(code).expect("known currency"),
                tax_rate_percent,
                period,
                subscriptions,
            }
        })
}

fn month_of(d: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year(), d.month(), 1).expect("first of month")
}

/// The one version these subscriptions have.
fn terms(sub: &Subscription) -> &PlanTerms {
    &sub.plan.all()[0].terms
}

fn covers_period(sub: &Subscription) -> bool {
    sub.end_date.is_none()
}

fn chargeable(req: &InvoiceRequest, sub: &Subscription) -> Vec<TimeEntry> {
    sub.entries
        .iter()
        .filter(|e| {
            req.period.contains(e.started_at.date_naive())
                && e.billable
                && terms(sub).chargeable_categories.contains(&e.category)
        })
        .cloned()
        .collect()
}

fn weighted(plan: &PlanTerms, e: &TimeEntry) -> Decimal {
    let billed = Decimal::from(plan.billed_minutes(e.minutes));
    if plan.hours.is_after_hours(e.started_at) {
        billed * plan.after_hours_multiplier
    } else {
        billed
    }
}

fn sorted(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids
}

/// Everything the SPEC says must be claimed, computed without the engine.
fn expected_claims(req: &InvoiceRequest) -> (Vec<i64>, Vec<i64>, Vec<i64>) {
    let mut entries = Vec::new();
    let mut tickets = Vec::new();
    let mut charges = Vec::new();
    for sub in &req.subscriptions {
        match sub.plan.billing_model() {
            BillingModel::Hourly | BillingModel::Retainer | BillingModel::Prepaid => {
                entries.extend(chargeable(req, sub).iter().map(|e| e.id))
            }
            BillingModel::PerIncident => tickets.extend(
                sub.tickets
                    .iter()
                    .filter(|t| {
                        req.period.contains(t.opened_at.date_naive())
                            && terms(sub).chargeable_categories.contains(&t.category)
                    })
                    .map(|t| t.id),
            ),
            BillingModel::Included => {}
        }
        charges.extend(sub.charges.iter().filter(|c| req.period.contains(c.date)).map(|c| c.id));
    }
    (sorted(entries), sorted(tickets), sorted(charges))
}

fn kind_rank(kind: LineKind) -> u8 {
    match kind {
        LineKind::RetainerFee => 0,
        LineKind::Overage => 1,
        LineKind::SupportTime => 2,
        LineKind::AfterHoursSupportTime => 3,
        LineKind::IncidentFee => 4,
        LineKind::Charge => 5,
        LineKind::BlockPurchase | LineKind::PrepaidUsage => 6,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn invoices_add_up_and_claim_exactly_the_chargeable_items(req in request()) {
        let digits = req.currency.minor_digits();
        let (entries, tickets, charges) = expected_claims(&req);
        let inv = match price_invoice(&req) {
            Ok(inv) => inv,
            Err(err) => {
                prop_assert_eq!(err, PricingError::NothingToInvoice);
                // Hourly time and charges always make a line; so do due retainer fees.
                let has_hourly = req.subscriptions.iter().any(|s| {
                    s.plan.billing_model() == BillingModel::Hourly && !chargeable(&req, s).is_empty()
                });
                prop_assert!(!has_hourly && charges.is_empty() && tickets.is_empty());
                return Ok(());
            }
        };

        // P9 totals and scales.
        let sum: Decimal = inv.lines.iter().map(|l| l.amount).sum();
        prop_assert_eq!(inv.subtotal, sum);
        prop_assert_eq!(inv.total, inv.subtotal + inv.tax);
        prop_assert_eq!(inv.tax, req.currency.round(inv.subtotal * req.tax_rate_percent / Decimal::from(100)));
        prop_assert_eq!(inv.subtotal.scale(), digits);
        prop_assert_eq!(inv.tax.scale(), digits);
        prop_assert_eq!(inv.total.scale(), digits);
        for line in &inv.lines {
            prop_assert_eq!(line.amount.scale(), digits, "{:?}", line);
            prop_assert_eq!(line.quantity_minutes.is_some(), line.kind.is_time(), "{:?}", line);
            match line.quantity_minutes {
                Some(q) => {
                    prop_assert_eq!(line.amount, req.currency.round(q * line.unit_price / Decimal::from(60)));
                    prop_assert_eq!(line.quantity.scale(), 2);
                }
                None => prop_assert_eq!(line.amount, req.currency.round(line.quantity * line.unit_price)),
            }
        }

        // Claims: each chargeable item exactly once, nothing else.
        prop_assert_eq!(sorted(inv.claims.entry_ids.clone()), entries);
        prop_assert_eq!(sorted(inv.claims.ticket_ids.clone()), tickets);
        prop_assert_eq!(sorted(inv.claims.charge_ids.clone()), charges);

        // Line order: subscriptions as given, kinds in the documented order.
        let position: HashMap<i64, usize> =
            req.subscriptions.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
        let keys: Vec<(usize, u8)> = inv
            .lines
            .iter()
            .map(|l| (position[&l.subscription_id], kind_rank(l.kind)))
            .collect();
        prop_assert!(keys.windows(2).all(|w| w[0] <= w[1]), "{:?}", keys);

        for sub in &req.subscriptions {
            let lines: Vec<&InvoiceLine> =
                inv.lines.iter().filter(|l| l.subscription_id == sub.id).collect();
            let entries = chargeable(&req, sub);
            match sub.plan.billing_model() {
                BillingModel::Hourly => {
                    let billed: u64 = entries.iter().map(|e| u64::from(terms(sub).billed_minutes(e.minutes))).sum();
                    let priced: Decimal = lines.iter().filter_map(|l| l.quantity_minutes).sum();
                    prop_assert_eq!(priced, Decimal::from(billed));
                    let keys: BTreeSet<(bool, Category)> = entries
                        .iter()
                        .map(|e| (terms(sub).hours.is_after_hours(e.started_at), e.category))
                        .collect();
                    prop_assert_eq!(lines.iter().filter(|l| l.kind.is_time()).count(), keys.len());
                }
                BillingModel::Retainer => {
                    let mut by_month: BTreeMap<NaiveDate, Decimal> = BTreeMap::new();
                    for e in &entries {
                        *by_month.entry(month_of(e.started_at.date_naive())).or_default() += weighted(terms(sub), e);
                    }
                    for month in req.period.months() {
                        let used = sub.retainer_used.get(&month).cloned().unwrap_or_default();
                        let claim = inv
                            .claims
                            .retainer_months
                            .iter()
                            .find(|c| c.subscription_id == sub.id && c.month == month);
                        let covered = claim.map_or(Decimal::ZERO, |c| c.allowance_used);
                        let overage: Decimal = lines
                            .iter()
                            .filter(|l| l.kind == LineKind::Overage && l.month == Some(month))
                            .filter_map(|l| l.quantity_minutes)
                            .sum();
                        let total = by_month.get(&month).copied().unwrap_or_default();
                        prop_assert_eq!(covered + overage, total, "month {}", month);
                        // Fee and allowance exist for the months the subscription covers (SPEC
                        // 7.1), whatever its status.
                        let included = if covers_period(sub) { Decimal::from(terms(sub).included_minutes.unwrap_or(0)) } else { Decimal::ZERO };
                        let left = (included - used.allowance_used).max(Decimal::ZERO);
                        prop_assert_eq!(covered, left.min(total), "month {}", month);
                        let fee_due = covers_period(sub) && terms(sub).monthly_fee.is_some() && !used.fee_claimed;
                        let fee_lines = lines
                            .iter()
                            .filter(|l| l.kind == LineKind::RetainerFee && l.month == Some(month))
                            .count();
                        prop_assert_eq!(fee_lines, usize::from(fee_due));
                        prop_assert_eq!(claim.is_some_and(|c| c.fee_claimed), fee_due);
                    }
                }
                BillingModel::Included | BillingModel::PerIncident | BillingModel::Prepaid => {
                    prop_assert!(lines.iter().all(|l| !l.kind.is_time()));
                }
            }
        }
    }

    #[test]
    fn never_panics_on_wild_values(
        rate in any::<i64>(),
        rate_scale in 0u32..=28,
        multiplier in any::<i64>(),
        minutes in any::<u32>(),
        increment in any::<u32>(),
        minimum in any::<u32>(),
        included in any::<u32>(),
        used in any::<i64>(),
        charge in any::<i64>(),
        tax in any::<i64>(),
        model in select(BillingModel::ALL.to_vec()),
        code in select(vec!["EUR", "JPY", "KWD", "CLF"]),
    ) {
        let period = Period::new(
            NaiveDate::from_ymd_opt(2026, 10, 1).expect("date"),
            NaiveDate::from_ymd_opt(2026, 11, 1).expect("date"),
        ).expect("period");
        let amount = Decimal::new(rate, rate_scale);
        let plan = PlanTerms {
            billing_model: model,
            hourly_rate: Some(amount),
            category_rates: BTreeMap::new(),
            after_hours_multiplier: Decimal::new(multiplier, 2),
            rounding_increment_minutes: increment,
            minimum_minutes: minimum,
            monthly_fee: Some(amount),
            included_minutes: Some(included),
            incident_fee: Some(amount),
            chargeable_categories: Category::ALL.into_iter().collect(),
            hours: HoursOfService {
                timezone: chrono_tz::UTC,
                days: [true, true, true, true, true, false, false],
                start: NaiveTime::from_hms_opt(9, 0, 0).expect("time"),
                end: NaiveTime::from_hms_opt(17, 0, 0).expect("time"),
                holidays: Default::default(),
            },
            rounding_scope: RoundingScope::Entry,
            fee_proration: FeeProration::Daily,
        };
        let entries = (0..4)
            .map(|i| TimeEntry {
                id: i,
                started_at: instant(period, 5 * 86_400 + i * 40_000),
                minutes,
                category: Category::Technical,
                billable: true,
                ticket_id: Some(1),
            })
            .collect();
        let req = InvoiceRequest {
            currency: Currency::from_code(code).expect("currency"),
            tax_rate_percent: Decimal::new(tax, 0),
            period,
            subscriptions: vec![Subscription {
                id: 1,
                name: "S".into(),
                plan: PlanVersions::single(period.start(), plan),
                start_date: NaiveDate::from_ymd_opt(2026, 10, 9).expect("date"),
                end_date: None,
                blocks: vec![Block {
                    id: 1,
                    purchased_on: period.start(),
                    expires_on: None,
                    minutes: included,
                    price: amount,
                    left: Decimal::new(used, 1),
                    purchase_billed: false,
                }],
                entries,
                tickets: vec![Ticket { id: 1, opened_at: instant(period, 6 * 86_400), category: Category::Billing }],
                charges: vec![Charge { id: 1, date: period.start(), description: "c".into(), amount: Decimal::new(charge, 4) }],
                retainer_used: BTreeMap::from([(period.start(), RetainerMonthUsed { fee_claimed: false, allowance_used: Decimal::new(used, 1) })]),
            }],
        };
        if let Ok(inv) = price_invoice(&req) {
            let digits = req.currency.minor_digits();
            prop_assert!(inv.lines.iter().all(|l| l.amount.scale() == digits));
            prop_assert_eq!(inv.total.scale(), digits);
        }
    }
}
