//! The pricing engine of supportbill (SPEC section 2, P1-P10): turns a customer's support time,
//! tickets and manual charges for one invoice period into priced invoice lines, totals, and the
//! list of what the new invoice claims. Pure functions only: storage decides which candidates are
//! still unclaimed, and this module decides what of them is charged and how much.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use rust_decimal::{Decimal, RoundingStrategy};

use super::money::Currency;

/// Ticket and time-entry category. Declaration order is the order lines are emitted in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Technical,
    SubscriptionManagement,
    Billing,
}

impl Category {
    pub const ALL: [Category; 3] = [Category::Technical, Category::SubscriptionManagement, Category::Billing];

    pub fn as_str(&self) -> &'static str {
        match self {
            Category::Technical => "technical",
            Category::SubscriptionManagement => "subscription_management",
            Category::Billing => "billing",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Lowercase words for running text on invoices ("subscription management").
    fn words(&self) -> &'static str {
        match self {
            Category::Technical => "technical",
            Category::SubscriptionManagement => "subscription management",
            Category::Billing => "billing",
        }
    }

    /// Capitalised words for the start of a line description.
    fn title(&self) -> &'static str {
        match self {
            Category::Technical => "Technical",
            Category::SubscriptionManagement => "Subscription management",
            Category::Billing => "Billing",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BillingModel {
    Included,
    Hourly,
    Retainer,
    PerIncident,
}

impl BillingModel {
    pub const ALL: [BillingModel; 4] =
        [BillingModel::Included, BillingModel::Hourly, BillingModel::Retainer, BillingModel::PerIncident];

    pub fn as_str(&self) -> &'static str {
        match self {
            BillingModel::Included => "included",
            BillingModel::Hourly => "hourly",
            BillingModel::Retainer => "retainer",
            BillingModel::PerIncident => "per_incident",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        BillingModel::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LineKind {
    SupportTime,
    AfterHoursSupportTime,
    RetainerFee,
    Overage,
    IncidentFee,
    Charge,
}

impl LineKind {
    pub const ALL: [LineKind; 6] = [
        LineKind::SupportTime,
        LineKind::AfterHoursSupportTime,
        LineKind::RetainerFee,
        LineKind::Overage,
        LineKind::IncidentFee,
        LineKind::Charge,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            LineKind::SupportTime => "support_time",
            LineKind::AfterHoursSupportTime => "after_hours_support_time",
            LineKind::RetainerFee => "retainer_fee",
            LineKind::Overage => "overage",
            LineKind::IncidentFee => "incident_fee",
            LineKind::Charge => "charge",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        LineKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Time lines carry `quantity_minutes` and a price per hour.
    pub fn is_time(&self) -> bool {
        matches!(self, LineKind::SupportTime | LineKind::AfterHoursSupportTime | LineKind::Overage)
    }
}

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

/// An invoice period: whole calendar months, `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Period {
    start: NaiveDate,
    end: NaiveDate,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeriodError {
    pub field: &'static str,
    pub message: String,
}

impl fmt::Display for PeriodError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for PeriodError {}

impl Period {
    /// Both dates the first of a month and end > start, else the first offending field.
    pub fn new(start: NaiveDate, end: NaiveDate) -> Result<Period, PeriodError> {
        if start.day() != 1 {
            return Err(PeriodError {
                field: "period_start",
                message: format!("must be the first day of a month, got {start}"),
            });
        }
        if end.day() != 1 {
            return Err(PeriodError {
                field: "period_end",
                message: format!("must be the first day of a month, got {end}"),
            });
        }
        if end <= start {
            return Err(PeriodError {
                field: "period_end",
                message: format!("must be after period_start ({start}), got {end}"),
            });
        }
        Ok(Period { start, end })
    }

    pub fn start(&self) -> NaiveDate {
        self.start
    }

    /// Exclusive.
    pub fn end(&self) -> NaiveDate {
        self.end
    }

    /// First day of each month in `[start, end)`.
    pub fn months(&self) -> Vec<NaiveDate> {
        let mut months = Vec::new();
        let mut month = self.start;
        while month < self.end {
            months.push(month);
            match month.checked_add_months(Months::new(1)) {
                Some(next) => month = next,
                None => break,
            }
        }
        months
    }

    pub fn contains(&self, d: NaiveDate) -> bool {
        self.start <= d && d < self.end
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeEntry {
    pub id: i64,
    pub started_at: DateTime<Utc>,
    pub minutes: u32,
    pub category: Category,
    pub billable: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub id: i64,
    pub opened_at: DateTime<Utc>,
    pub category: Category,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Charge {
    pub id: i64,
    pub date: NaiveDate,
    pub description: String,
    pub amount: Decimal,
}

/// What earlier non-void invoices already took of a retainer month (SPEC P6, late entries).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetainerMonthUsed {
    pub fee_claimed: bool,
    /// Weighted minutes.
    pub allowance_used: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    pub id: i64,
    /// Offer name, used in line descriptions.
    pub name: String,
    pub plan: PlanTerms,
    /// False for cancelled subscriptions: no new monthly fees, but their time is still billed.
    pub charge_retainer_fee: bool,
    /// Candidates not on any other draft/issued invoice; the engine applies the rest of P1.
    pub entries: Vec<TimeEntry>,
    /// Unclaimed candidates; the engine applies the P7 filters.
    pub tickets: Vec<Ticket>,
    /// Unclaimed candidates; the engine applies the P8 date filter.
    pub charges: Vec<Charge>,
    /// Keyed by month start.
    pub retainer_used: BTreeMap<NaiveDate, RetainerMonthUsed>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvoiceRequest {
    pub currency: Currency,
    pub tax_rate_percent: Decimal,
    pub period: Period,
    pub subscriptions: Vec<Subscription>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvoiceLine {
    pub subscription_id: i64,
    pub kind: LineKind,
    pub category: Option<Category>,
    pub month: Option<NaiveDate>,
    pub description: String,
    /// Hours to 2 decimals for time lines, the count for incident_fee, 1 otherwise.
    pub quantity: Decimal,
    /// Time lines only; fractional for weighted overage.
    pub quantity_minutes: Option<Decimal>,
    /// Per hour for time lines, per unit otherwise. Exact (never rounded), but written with at
    /// least the currency's minor digits (225.000 becomes 225.00, 120.125 stays).
    pub unit_price: Decimal,
    /// round_money, exactly the currency's minor digits.
    pub amount: Decimal,
}

/// What the new invoice claims, so storage can mark it (SPEC section 3).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Claims {
    pub entry_ids: Vec<i64>,
    pub ticket_ids: Vec<i64>,
    pub charge_ids: Vec<i64>,
    pub retainer_months: Vec<RetainerMonthClaim>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetainerMonthClaim {
    pub subscription_id: i64,
    pub month: NaiveDate,
    /// This invoice bills the month's fee.
    pub fee_claimed: bool,
    /// Weighted minutes of the allowance this invoice covered.
    pub allowance_used: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PricedInvoice {
    pub lines: Vec<InvoiceLine>,
    pub subtotal: Decimal,
    pub tax: Decimal,
    pub total: Decimal,
    pub claims: Claims,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PricingError {
    /// P10: the invoice would have no lines.
    NothingToInvoice,
    /// A product or sum left the range of `Decimal` (about 7.9e28), or an amount that large
    /// cannot carry the currency's minor digits. Only absurd rates or amounts get here; it
    /// exists so that no input can make the engine panic.
    AmountOutOfRange,
}

impl PricingError {
    /// Stable machine-readable code for problem+json.
    pub fn code(&self) -> &'static str {
        match self {
            PricingError::NothingToInvoice => "nothing_to_invoice",
            PricingError::AmountOutOfRange => "amount_out_of_range",
        }
    }
}

impl fmt::Display for PricingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PricingError::NothingToInvoice => f.write_str("nothing to invoice for this customer and period"),
            PricingError::AmountOutOfRange => f.write_str("an invoice amount is too large to compute exactly"),
        }
    }
}

impl std::error::Error for PricingError {}

const MINUTES_PER_HOUR: Decimal = Decimal::from_parts(60, 0, 0, false, 0);
const ONE_HUNDRED: Decimal = Decimal::from_parts(100, 0, 0, false, 0);

#[rustfmt::skip]
const MONTH_NAMES: [&str; 12] = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
];

/// Prices one invoice (SPEC P1-P10). O(n log n) in the number of entries, tickets and charges
/// (only the per-subscription sorts are superlinear), because a run prices every customer of a
/// deployment, up to millions of entries, in one go.
pub fn price_invoice(req: &InvoiceRequest) -> Result<PricedInvoice, PricingError> {
    let ctx = Ctx { currency: req.currency, period: req.period };
    let mut lines = Vec::new();
    let mut claims = Claims::default();
    for sub in &req.subscriptions {
        ctx.price_subscription(sub, &mut lines, &mut claims)?;
    }
    if lines.is_empty() {
        return Err(PricingError::NothingToInvoice);
    }

    let mut sum = Decimal::ZERO;
    for line in &lines {
        sum = add(sum, line.amount)?;
    }
    let subtotal = ctx.money(sum)?;
    let tax = ctx.money(div(mul(subtotal, req.tax_rate_percent)?, ONE_HUNDRED)?)?;
    let total = ctx.money(add(subtotal, tax)?)?;
    Ok(PricedInvoice { lines, subtotal, tax, total, claims })
}

fn add(a: Decimal, b: Decimal) -> Result<Decimal, PricingError> {
    a.checked_add(b).ok_or(PricingError::AmountOutOfRange)
}

fn minus(a: Decimal, b: Decimal) -> Result<Decimal, PricingError> {
    a.checked_sub(b).ok_or(PricingError::AmountOutOfRange)
}

fn mul(a: Decimal, b: Decimal) -> Result<Decimal, PricingError> {
    a.checked_mul(b).ok_or(PricingError::AmountOutOfRange)
}

fn div(a: Decimal, b: Decimal) -> Result<Decimal, PricingError> {
    a.checked_div(b).ok_or(PricingError::AmountOutOfRange)
}

/// First day of the month of `d`.
fn month_of(d: NaiveDate) -> NaiveDate {
    d.with_day(1).expect("every month has a first day")
}

fn month_label(month: NaiveDate) -> String {
    format!("{} {}", MONTH_NAMES[month.month0() as usize], month.year())
}

/// Hours for display: minutes / 60, half away from zero, exactly 2 decimals (SPEC section 5).
fn hours(minutes: Decimal) -> Result<Decimal, PricingError> {
    let mut h = div(minutes, MINUTES_PER_HOUR)?.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    h.rescale(2);
    if h.is_zero() {
        h.set_sign_positive(true);
    }
    Ok(h)
}

struct Ctx {
    currency: Currency,
    period: Period,
}

impl Ctx {
    /// P9 round_money, refusing the rare value too large to carry the minor digits, so every
    /// amount on an invoice has exactly the currency's scale.
    fn money(&self, amount: Decimal) -> Result<Decimal, PricingError> {
        let rounded = self.currency.round(amount);
        if self.currency.has_exact_scale(rounded) {
            Ok(rounded)
        } else {
            Err(PricingError::AmountOutOfRange)
        }
    }

    /// Same value, but never fewer decimals than the currency shows, so "225.000" and
    /// "225" both read as "225.00" while a sub-cent rate keeps its precision.
    fn price(&self, price: Decimal) -> Decimal {
        let mut p = price.normalize();
        if p.scale() < self.currency.minor_digits() {
            p.rescale(self.currency.minor_digits());
        }
        p
    }

    /// round_money(minutes x rate / 60), multiplying first so the one rounding sees the
    /// exact value (75.525 must round to 75.53).
    fn time_amount(&self, minutes: Decimal, rate: Decimal) -> Result<Decimal, PricingError> {
        self.money(div(mul(minutes, rate)?, MINUTES_PER_HOUR)?)
    }

    fn chargeable_entries<'a>(&self, sub: &'a Subscription) -> Vec<&'a TimeEntry> {
        sub.entries
            .iter()
            .filter(|e| self.period.contains(e.started_at.date_naive()) && sub.plan.is_chargeable(e))
            .collect()
    }

    fn price_subscription(
        &self,
        sub: &Subscription,
        lines: &mut Vec<InvoiceLine>,
        claims: &mut Claims,
    ) -> Result<(), PricingError> {
        match sub.plan.billing_model {
            BillingModel::Included => {}
            BillingModel::Hourly => self.hourly(sub, lines, claims)?,
            BillingModel::Retainer => self.retainer(sub, lines, claims)?,
            BillingModel::PerIncident => self.incidents(sub, lines, claims)?,
        }
        self.charges(sub, lines, claims)
    }

    /// P5.
    fn hourly(
        &self,
        sub: &Subscription,
        lines: &mut Vec<InvoiceLine>,
        claims: &mut Claims,
    ) -> Result<(), PricingError> {
        let plan = &sub.plan;
        // Key order (in-hours before after-hours, then category) is the line order.
        let mut buckets: BTreeMap<(bool, Category), u64> = BTreeMap::new();
        for entry in self.chargeable_entries(sub) {
            let after_hours = plan.hours.is_after_hours(entry.started_at);
            let bucket = buckets.entry((after_hours, entry.category)).or_insert(0);
            *bucket = bucket
                .checked_add(u64::from(plan.billed_minutes(entry.minutes)))
                .ok_or(PricingError::AmountOutOfRange)?;
            claims.entry_ids.push(entry.id);
        }
        for ((after_hours, category), minutes) in buckets {
            let base = plan.rate(category);
            let (kind, unit_price, description) = if after_hours {
                (
                    LineKind::AfterHoursSupportTime,
                    mul(base, plan.after_hours_multiplier)?,
                    format!("{} support, after hours — {}", category.title(), sub.name),
                )
            } else {
                (LineKind::SupportTime, base, format!("{} support — {}", category.title(), sub.name))
            };
            let quantity_minutes = Decimal::from(minutes);
            lines.push(InvoiceLine {
                subscription_id: sub.id,
                kind,
                category: Some(category),
                month: None,
                description,
                quantity: hours(quantity_minutes)?,
                quantity_minutes: Some(quantity_minutes),
                unit_price: self.price(unit_price),
                amount: self.time_amount(quantity_minutes, unit_price)?,
            });
        }
        Ok(())
    }

    /// P6. Fee lines of all months come first, then the overage lines by (month, category).
    fn retainer(
        &self,
        sub: &Subscription,
        lines: &mut Vec<InvoiceLine>,
        claims: &mut Claims,
    ) -> Result<(), PricingError> {
        let plan = &sub.plan;
        let mut entries = self.chargeable_entries(sub);
        // Sorting by start also groups entries by month, in month order, so one pass over
        // the period's months consumes them without any per-month search.
        entries.sort_by_key(|e| (e.started_at, e.id));
        let mut entries = entries.into_iter().peekable();

        let included = Decimal::from(plan.included_minutes.unwrap_or(0));
        let mut overage_lines = Vec::new();
        for month in self.period.months() {
            let used = sub.retainer_used.get(&month);
            let fee_claimed = match plan.monthly_fee {
                Some(fee) if sub.charge_retainer_fee && !used.is_some_and(|u| u.fee_claimed) => {
                    lines.push(InvoiceLine {
                        subscription_id: sub.id,
                        kind: LineKind::RetainerFee,
                        category: None,
                        month: Some(month),
                        description: format!("Retainer {} — {}", month_label(month), sub.name),
                        quantity: Decimal::ONE,
                        quantity_minutes: None,
                        unit_price: self.price(fee),
                        amount: self.money(fee)?,
                    });
                    true
                }
                _ => false,
            };

            // The allowance is what the fee pays for. A cancelled subscription brings no new
            // fee, so its month has no allowance either (its time is all overage), unless an
            // earlier invoice claimed that month's fee: then what is left of it still counts.
            let allowance_paid = sub.charge_retainer_fee || used.is_some_and(|u| u.fee_claimed);
            let included = if allowance_paid { included } else { Decimal::ZERO };
            let already_used = used.map_or(Decimal::ZERO, |u| u.allowance_used);
            let mut remaining = minus(included, already_used)?.max(Decimal::ZERO);
            let mut covered_total = Decimal::ZERO;
            let mut overage: BTreeMap<Category, Decimal> = BTreeMap::new();
            let mut any_entry = false;
            while let Some(entry) = entries.next_if(|e| month_of(e.started_at.date_naive()) == month) {
                any_entry = true;
                claims.entry_ids.push(entry.id);
                let billed = Decimal::from(plan.billed_minutes(entry.minutes));
                let weighted = if plan.hours.is_after_hours(entry.started_at) {
                    mul(billed, plan.after_hours_multiplier)?
                } else {
                    billed
                };
                // A negative weight (only from an invalid multiplier) must not refill the
                // allowance; it goes to overage so covered + overage still equals the total.
                let covered = remaining.min(weighted.max(Decimal::ZERO));
                remaining = minus(remaining, covered)?;
                covered_total = add(covered_total, covered)?;
                let beyond = minus(weighted, covered)?;
                if !beyond.is_zero() {
                    let slot = overage.entry(entry.category).or_insert(Decimal::ZERO);
                    *slot = add(*slot, beyond)?;
                }
            }

            for (category, minutes) in overage {
                if minutes.is_zero() {
                    continue;
                }
                let quantity_minutes = minutes.normalize();
                let rate = plan.rate(category);
                overage_lines.push(InvoiceLine {
                    subscription_id: sub.id,
                    kind: LineKind::Overage,
                    category: Some(category),
                    month: Some(month),
                    description: format!("Overage {}, {} — {}", month_label(month), category.words(), sub.name),
                    quantity: hours(quantity_minutes)?,
                    quantity_minutes: Some(quantity_minutes),
                    unit_price: self.price(rate),
                    amount: self.time_amount(quantity_minutes, rate)?,
                });
            }

            if fee_claimed || any_entry {
                claims.retainer_months.push(RetainerMonthClaim {
                    subscription_id: sub.id,
                    month,
                    fee_claimed,
                    allowance_used: covered_total.normalize(),
                });
            }
        }
        lines.append(&mut overage_lines);
        Ok(())
    }

    /// P7.
    fn incidents(
        &self,
        sub: &Subscription,
        lines: &mut Vec<InvoiceLine>,
        claims: &mut Claims,
    ) -> Result<(), PricingError> {
        let plan = &sub.plan;
        let first_claim = claims.ticket_ids.len();
        claims.ticket_ids.extend(
            sub.tickets
                .iter()
                .filter(|t| {
                    self.period.contains(t.opened_at.date_naive()) && plan.chargeable_categories.contains(&t.category)
                })
                .map(|t| t.id),
        );
        let count = claims.ticket_ids.len() - first_claim;
        if count == 0 {
            return Ok(());
        }
        let fee = plan.incident_fee.unwrap_or(Decimal::ZERO);
        let quantity = Decimal::from(count);
        let noun = if count == 1 { "incident" } else { "incidents" };
        lines.push(InvoiceLine {
            subscription_id: sub.id,
            kind: LineKind::IncidentFee,
            category: None,
            month: None,
            description: format!("{count} {noun} — {}", sub.name),
            quantity,
            quantity_minutes: None,
            unit_price: self.price(fee),
            amount: self.money(mul(quantity, fee)?)?,
        });
        Ok(())
    }

    /// P8, whatever the billing model.
    fn charges(
        &self,
        sub: &Subscription,
        lines: &mut Vec<InvoiceLine>,
        claims: &mut Claims,
    ) -> Result<(), PricingError> {
        let mut charges: Vec<&Charge> = sub.charges.iter().filter(|c| self.period.contains(c.date)).collect();
        charges.sort_by_key(|c| (c.date, c.id));
        for charge in charges {
            claims.charge_ids.push(charge.id);
            lines.push(InvoiceLine {
                subscription_id: sub.id,
                kind: LineKind::Charge,
                category: None,
                month: None,
                description: charge.description.clone(),
                quantity: Decimal::ONE,
                quantity_minutes: None,
                unit_price: self.price(charge.amount),
                amount: self.money(charge.amount)?,
            });
        }
        Ok(())
    }
}
