//! Prepaid hours (SPEC 7.5): blocks bought are billed once, on the invoice whose period holds
//! their purchase; time draws them down, the soonest to expire first; what no block covers is
//! overage, priced as a retainer's.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use super::engine::{add, hours, minus, Ctx};
use super::time::TimeSums;
use crate::domain::pricing::*;

/// `h:mm` of a number of minutes, with any fraction of a minute kept ("1:07.5").
fn hm(minutes: Decimal) -> String {
    let whole = minutes.trunc();
    let fraction = (minutes - whole).normalize();
    let whole = whole.to_i128().unwrap_or_default();
    let mut text = format!("{}:{:02}", whole / 60, whole % 60);
    if !fraction.is_zero() {
        let digits = fraction.to_string();
        text.push_str(digits.trim_start_matches('0'));
    }
    text
}

impl Ctx {
    /// Purchase lines, then the usage line, then overage by (month, category, price).
    pub(super) fn prepaid(
        &self,
        sub: &Subscription,
        lines: &mut Vec<InvoiceLine>,
        claims: &mut Claims,
    ) -> Result<(), PricingError> {
        let mut bought: Vec<&Block> =
            sub.blocks.iter().filter(|b| !b.purchase_billed && self.period.contains(b.purchased_on)).collect();
        bought.sort_by_key(|b| (b.purchased_on, b.id));
        for block in &bought {
            let validity = match block.expires_on.and_then(|d| d.pred_opt()) {
                Some(last) => format!(", valid until {last}"),
                None => String::new(),
            };
            lines.push(InvoiceLine {
                subscription_id: sub.id,
                kind: LineKind::BlockPurchase,
                category: None,
                month: None,
                description: format!(
                    "Prepaid hours: block of {} h bought {}{validity} — {}",
                    hm(Decimal::from(block.minutes)),
                    block.purchased_on,
                    sub.name
                ),
                quantity: Decimal::ONE,
                quantity_minutes: None,
                unit_price: self.price(block.price),
                amount: self.money(block.price)?,
                plan_version: Some(sub.plan.in_force(block.purchased_on).effective_from),
            });
            claims.block_purchases.push(block.id);
        }

        // Soonest to expire first (no expiry last), then the oldest.
        let mut order: Vec<usize> = (0..sub.blocks.len()).collect();
        order.sort_by_key(|&i| {
            let b = &sub.blocks[i];
            (b.expires_on.is_none(), b.expires_on, b.purchased_on, b.id)
        });
        let mut left: Vec<Decimal> = sub.blocks.iter().map(|b| b.left.max(Decimal::ZERO)).collect();
        let mut drawn = vec![Decimal::ZERO; sub.blocks.len()];
        let mut overage = TimeSums::default();
        for unit in self.units(sub, claims) {
            let mut need = unit.weighted()?;
            for &i in &order {
                if need <= Decimal::ZERO {
                    break;
                }
                if left[i].is_zero() || !sub.blocks[i].covers(unit.date) {
                    continue;
                }
                let take = need.min(left[i]);
                left[i] = minus(left[i], take)?;
                drawn[i] = add(drawn[i], take)?;
                need = minus(need, take)?;
            }
            if !need.is_zero() {
                overage.add_overage(&unit, need)?;
            }
        }

        let mut total_drawn = Decimal::ZERO;
        for (block, minutes) in sub.blocks.iter().zip(&drawn) {
            if !minutes.is_zero() {
                total_drawn = add(total_drawn, *minutes)?;
                claims.block_draws.push(BlockDraw { block_id: block.id, minutes: minutes.normalize() });
            }
        }
        if !total_drawn.is_zero() || !bought.is_empty() {
            // What is still usable after the period: blocks bought by its end and still valid on
            // the day after it (`expires_on` is exclusive).
            let mut balance = Decimal::ZERO;
            for (block, left) in sub.blocks.iter().zip(&left) {
                let end = self.period.end();
                if block.purchased_on < end && block.expires_on.is_none_or(|e| e > end) {
                    balance = add(balance, *left)?;
                }
            }
            let drawn = total_drawn.normalize();
            lines.push(InvoiceLine {
                subscription_id: sub.id,
                kind: LineKind::PrepaidUsage,
                category: None,
                month: None,
                description: format!(
                    "Prepaid hours drawn {} h, left {} h — {}",
                    hm(drawn),
                    hm(balance.normalize()),
                    sub.name
                ),
                quantity: hours(drawn)?,
                quantity_minutes: Some(drawn),
                unit_price: self.price(Decimal::ZERO),
                amount: self.money(Decimal::ZERO)?,
                plan_version: None,
            });
        }
        self.time_lines(sub, overage, lines)
    }
}
