//! Time lines: hourly support time (P5) and the overage of retainers and prepaid plans (P6),
//! one line per key and unit price, so a price change inside the period gives one line per
//! price (SPEC 7.2).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::engine::{add, hours, month_label, mul, Ctx};
use super::units::Unit;
use crate::domain::pricing::*;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    /// Overage lines only.
    month: Option<NaiveDate>,
    after_hours: bool,
    category: Category,
    /// Per hour.
    price: Decimal,
}

struct Sum {
    minutes: Decimal,
    /// The oldest version among the line's time.
    version: NaiveDate,
}

/// Minutes summed per future line.
#[derive(Default)]
pub(super) struct TimeSums(BTreeMap<Key, Sum>);

impl TimeSums {
    fn add(&mut self, key: Key, minutes: Decimal, version: NaiveDate) -> Result<(), PricingError> {
        let sum = self.0.entry(key).or_insert(Sum { minutes: Decimal::ZERO, version });
        sum.minutes = add(sum.minutes, minutes)?;
        sum.version = sum.version.min(version);
        Ok(())
    }

    /// Overage of `unit` (P6): weighted minutes at the rate without multiplier.
    pub fn add_overage(&mut self, unit: &Unit, minutes: Decimal) -> Result<(), PricingError> {
        let key = Key { month: Some(unit.month()), after_hours: false, category: unit.category, price: unit.rate() };
        self.add(key, minutes, unit.version.effective_from)
    }

    /// In line order: month, after-hours flag, category, then the versions' order.
    fn into_lines(self) -> Vec<(Key, Sum)> {
        let mut lines: Vec<(Key, Sum)> = self.0.into_iter().filter(|(_, s)| !s.minutes.is_zero()).collect();
        lines.sort_by_key(|(k, s)| (k.month, k.after_hours, k.category, s.version, k.price));
        lines
    }
}

/// The oldest version of each key's lines: a line of a later version is one with a new price,
/// and its description says from when.
fn first_versions(lines: &[(Key, Sum)]) -> BTreeMap<(Option<NaiveDate>, bool, Category), NaiveDate> {
    let mut first = BTreeMap::new();
    for (k, s) in lines {
        let slot = first.entry((k.month, k.after_hours, k.category)).or_insert(s.version);
        *slot = (*slot).min(s.version);
    }
    first
}

impl Ctx {
    /// P5.
    pub(super) fn hourly(
        &self,
        sub: &Subscription,
        lines: &mut Vec<InvoiceLine>,
        claims: &mut Claims,
    ) -> Result<(), PricingError> {
        let mut sums = TimeSums::default();
        for unit in self.units(sub, claims) {
            let rate = unit.rate();
            let price = if unit.after_hours { mul(rate, unit.version.terms.after_hours_multiplier)? } else { rate };
            let key = Key { month: None, after_hours: unit.after_hours, category: unit.category, price };
            sums.add(key, Decimal::from(unit.billed), unit.version.effective_from)?;
        }
        self.time_lines(sub, sums, lines)
    }

    /// One line per sum: support time (P5) without a month, overage (P6) with one.
    pub(super) fn time_lines(
        &self,
        sub: &Subscription,
        sums: TimeSums,
        lines: &mut Vec<InvoiceLine>,
    ) -> Result<(), PricingError> {
        let sums = sums.into_lines();
        let first = first_versions(&sums);
        for (key, sum) in sums {
            let mut description = match (key.month, key.after_hours) {
                (Some(month), _) => {
                    format!("Overage {}, {} — {}", month_label(month), key.category.words(), sub.name)
                }
                (None, true) => format!("{} support, after hours — {}", key.category.title(), sub.name),
                (None, false) => format!("{} support — {}", key.category.title(), sub.name),
            };
            if first.get(&(key.month, key.after_hours, key.category)).is_some_and(|&v| v < sum.version) {
                description.push_str(&format!(" (rate from {})", sum.version));
            }
            let kind = match (key.month, key.after_hours) {
                (Some(_), _) => LineKind::Overage,
                (None, true) => LineKind::AfterHoursSupportTime,
                (None, false) => LineKind::SupportTime,
            };
            let quantity_minutes = sum.minutes.normalize();
            lines.push(InvoiceLine {
                subscription_id: sub.id,
                kind,
                category: Some(key.category),
                month: key.month,
                description,
                quantity: hours(quantity_minutes)?,
                quantity_minutes: Some(quantity_minutes),
                unit_price: self.price(key.price),
                amount: self.time_amount(quantity_minutes, key.price)?,
                plan_version: Some(sum.version),
            });
        }
        Ok(())
    }
}
