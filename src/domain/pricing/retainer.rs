//! Retainers (P6 as amended by SPEC 7.1, 7.2 and 7.4): a fee and an allowance for each month the
//! subscription covers, prorated by day when its version says so; units beyond the allowance
//! are overage.

use chrono::{Datelike, Months, NaiveDate};
use rust_decimal::Decimal;

use super::engine::{add, div, minus, month_label, mul, Ctx};
use super::time::TimeSums;
use crate::domain::pricing::*;

/// Days of `month` inside `[start_date, end_date)`, and the month's length.
fn covered_days(sub: &Subscription, month: NaiveDate) -> (i64, i64) {
    let next = month.checked_add_months(Months::new(1)).unwrap_or(month);
    let in_month = (next - month).num_days();
    let from = sub.start_date.max(month);
    let to = sub.end_date.map_or(next, |end| end.min(next));
    ((to - from).num_days().max(0), in_month)
}

/// "17–31 October" for a partly covered month.
fn covered_range(sub: &Subscription, month: NaiveDate) -> String {
    let next = month.checked_add_months(Months::new(1)).unwrap_or(month);
    let from = sub.start_date.max(month);
    let last = sub.end_date.map_or(next, |end| end.min(next)).pred_opt().unwrap_or(from);
    let name = month_label(month);
    let name = name.split(' ').next().unwrap_or_default();
    if from == last {
        format!("{} {name}", from.day())
    } else {
        format!("{}–{} {name}", from.day(), last.day())
    }
}

impl Ctx {
    /// Fee lines of all months come first, then the overage lines by (month, category, price).
    pub(super) fn retainer(
        &self,
        sub: &Subscription,
        lines: &mut Vec<InvoiceLine>,
        claims: &mut Claims,
    ) -> Result<(), PricingError> {
        let mut units = self.units(sub, claims).into_iter().peekable();
        let mut overage = TimeSums::default();
        for month in self.period.months() {
            let version = sub.plan.in_force(month);
            let terms = &version.terms;
            let used = sub.retainer_used.get(&month);
            let (days, in_month) = covered_days(sub, month);
            let prorated = terms.fee_proration == FeeProration::Daily && days < in_month;
            let fee_claimed = match terms.monthly_fee {
                Some(fee) if days > 0 && !used.is_some_and(|u| u.fee_claimed) => {
                    let (amount, period) = if prorated {
                        let amount = div(mul(fee, Decimal::from(days))?, Decimal::from(in_month))?;
                        let words = format!(", {} ({days} of {in_month} days)", covered_range(sub, month));
                        (self.money(amount)?, words)
                    } else {
                        (self.money(fee)?, String::new())
                    };
                    lines.push(InvoiceLine {
                        subscription_id: sub.id,
                        kind: LineKind::RetainerFee,
                        category: None,
                        month: Some(month),
                        description: format!("Retainer {}{period} — {}", month_label(month), sub.name),
                        quantity: Decimal::ONE,
                        quantity_minutes: None,
                        unit_price: self.price(amount),
                        amount,
                        plan_version: Some(version.effective_from),
                    });
                    true
                }
                _ => false,
            };

            // The allowance exists for covered months, whatever the status; a late entry uses
            // what earlier invoices left of it.
            let included = match terms.included_minutes {
                Some(minutes) if days > 0 => {
                    let minutes = Decimal::from(minutes);
                    if prorated {
                        div(mul(minutes, Decimal::from(days))?, Decimal::from(in_month))?.floor()
                    } else {
                        minutes
                    }
                }
                _ => Decimal::ZERO,
            };
            let already_used = used.map_or(Decimal::ZERO, |u| u.allowance_used);
            let mut remaining = minus(included, already_used)?.max(Decimal::ZERO);
            let mut covered_total = Decimal::ZERO;
            let mut any_unit = false;
            while let Some(unit) = units.next_if(|u| u.month() == month) {
                any_unit = true;
                let weighted = unit.weighted()?;
                // A negative weight (only from an invalid multiplier) must not refill the
                // allowance; it goes to overage so covered + overage still equals the total.
                let covered = remaining.min(weighted.max(Decimal::ZERO));
                remaining = minus(remaining, covered)?;
                covered_total = add(covered_total, covered)?;
                let beyond = minus(weighted, covered)?;
                if !beyond.is_zero() {
                    overage.add_overage(&unit, beyond)?;
                }
            }
            if fee_claimed || any_unit {
                claims.retainer_months.push(RetainerMonthClaim {
                    subscription_id: sub.id,
                    month,
                    fee_claimed,
                    allowance_used: covered_total.normalize(),
                });
            }
        }
        self.time_lines(sub, overage, lines)
    }
}
