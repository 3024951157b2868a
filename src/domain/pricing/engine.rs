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

pub(super) fn add(a: Decimal, b: Decimal) -> Result<Decimal, PricingError> {
    a.checked_add(b).ok_or(PricingError::AmountOutOfRange)
}

pub(super) fn minus(a: Decimal, b: Decimal) -> Result<Decimal, PricingError> {
    a.checked_sub(b).ok_or(PricingError::AmountOutOfRange)
}

pub(super) fn mul(a: Decimal, b: Decimal) -> Result<Decimal, PricingError> {
    a.checked_mul(b).ok_or(PricingError::AmountOutOfRange)
}

pub(super) fn div(a: Decimal, b: Decimal) -> Result<Decimal, PricingError> {
    a.checked_div(b).ok_or(PricingError::AmountOutOfRange)
}

/// First day of the month of `d`.
pub(super) fn month_of(d: NaiveDate) -> NaiveDate {
    // Every month has a first day: `with_day(1)` cannot fail.
    d.with_day(1).unwrap_or(d)
}

pub(super) fn month_label(month: NaiveDate) -> String {
    format!("{} {}", MONTH_NAMES[month.month0() as usize], month.year())
}

/// Hours for display: minutes / 60, half away from zero, exactly 2 decimals (SPEC section 5).
pub(super) fn hours(minutes: Decimal) -> Result<Decimal, PricingError> {
    let mut h = div(minutes, MINUTES_PER_HOUR)?.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    h.rescale(2);
    if h.is_zero() {
        h.set_sign_positive(true);
    }
    Ok(h)
}

pub(super) struct Ctx {
    pub currency: Currency,
    pub period: Period,
}

impl Ctx {
    /// P9 round_money, refusing the rare value too large to carry the minor digits, so every
    /// amount on an invoice has exactly the currency's scale.
    pub(super) fn money(&self, amount: Decimal) -> Result<Decimal, PricingError> {
        let rounded = self.currency.round(amount);
        if self.currency.has_exact_scale(rounded) {
            Ok(rounded)
        } else {
            Err(PricingError::AmountOutOfRange)
        }
    }

    /// Same value, but never fewer decimals than the currency shows, so "225.000" and
    /// "225" both read as "225.00" while a sub-cent rate keeps its precision.
    pub(super) fn price(&self, price: Decimal) -> Decimal {
        let mut p = price.normalize();
        if p.scale() < self.currency.minor_digits() {
            p.rescale(self.currency.minor_digits());
        }
        p
    }

    /// round_money(minutes x rate / 60), multiplying first so the one rounding sees the
    /// exact value (75.525 must round to 75.53).
    pub(super) fn time_amount(&self, minutes: Decimal, rate: Decimal) -> Result<Decimal, PricingError> {
        self.money(div(mul(minutes, rate)?, MINUTES_PER_HOUR)?)
    }

    fn price_subscription(
        &self,
        sub: &Subscription,
        lines: &mut Vec<InvoiceLine>,
        claims: &mut Claims,
    ) -> Result<(), PricingError> {
        match sub.plan.billing_model() {
            BillingModel::Included => {}
            BillingModel::Hourly => self.hourly(sub, lines, claims)?,
            BillingModel::Retainer => self.retainer(sub, lines, claims)?,
            BillingModel::PerIncident => self.incidents(sub, lines, claims)?,
            BillingModel::Prepaid => self.prepaid(sub, lines, claims)?,
        }
        self.charges(sub, lines, claims)
    }

    /// P7, each ticket by the version in force on its opening date: one line per fee.
    fn incidents(
        &self,
        sub: &Subscription,
        lines: &mut Vec<InvoiceLine>,
        claims: &mut Claims,
    ) -> Result<(), PricingError> {
        // (version date, fee) -> count, in version order.
        let mut counts: BTreeMap<(NaiveDate, Decimal), u64> = BTreeMap::new();
        for ticket in &sub.tickets {
            let date = ticket.opened_at.date_naive();
            if !self.period.contains(date) {
                continue;
            }
            let version = sub.plan.in_force(date);
            if !version.terms.chargeable_categories.contains(&ticket.category) {
                continue;
            }
            claims.ticket_ids.push(ticket.id);
            let fee = version.terms.incident_fee.unwrap_or(Decimal::ZERO);
            *counts.entry((version.effective_from, fee)).or_insert(0) += 1;
        }
        // Versions with the same fee share a line, dated by the oldest of them.
        let mut by_fee: Vec<(NaiveDate, Decimal, u64)> = Vec::new();
        for ((version, fee), count) in counts {
            match by_fee.iter_mut().find(|(_, f, _)| *f == fee) {
                Some(slot) => slot.2 += count,
                None => by_fee.push((version, fee, count)),
            }
        }
        let several = by_fee.len() > 1;
        for (i, (version, fee, count)) in by_fee.into_iter().enumerate() {
            let quantity = Decimal::from(count);
            let noun = if count == 1 { "incident" } else { "incidents" };
            let mut description = format!("{count} {noun} — {}", sub.name);
            if several && i > 0 {
                description.push_str(&format!(" (fee from {version})"));
            }
            lines.push(InvoiceLine {
                subscription_id: sub.id,
                kind: LineKind::IncidentFee,
                category: None,
                month: None,
                description,
                quantity,
                quantity_minutes: None,
                unit_price: self.price(fee),
                amount: self.money(mul(quantity, fee)?)?,
                plan_version: Some(version),
            });
        }
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
                plan_version: None,
            });
        }
        Ok(())
    }
}
