//! The pricing rules (SPEC P1-P10): one subscription at a time into lines and claims, then
//! the invoice's totals.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::domain::money::Currency;
use crate::domain::pricing::*;

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
    // Every month has a first day: `with_day(1)` cannot fail.
    d.with_day(1).unwrap_or(d)
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
