//! The pricing engine of supportbill (SPEC section 2, P1-P10): turns a customer's support time,
//! tickets and manual charges for one invoice period into priced invoice lines, totals, and the
//! list of what the new invoice claims. Pure functions only: storage decides which candidates are
//! still unclaimed, and this module decides what of them is charged and how much.
//!
//! Files: [`kinds`] (categories, billing models, line kinds), [`plan`] (a plan's terms and hours
//! of service), [`versions`] (a plan's terms over time, SPEC 7.2), [`period`] (the invoice
//! period), the engine's input and output here, and the rules: [`engine`] (P1-P10, totals),
//! [`units`] (what is rounded together, P2 and 7.4), [`time`] (P5), [`retainer`] (P6, 7.1) and
//! [`prepaid`] (7.5).

mod engine;
mod kinds;
mod period;
mod plan;
mod prepaid;
mod retainer;
mod time;
mod units;
mod versions;

pub use engine::price_invoice;
pub use kinds::{BillingModel, Category, LineKind};
pub use period::{Period, PeriodError};
pub use plan::{entry_usage, EntryUsage, FeeProration, HoursOfService, PlanTerms, RoundingScope};
pub use versions::{PlanVersion, PlanVersions};

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::domain::money::Currency;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeEntry {
    pub id: i64,
    pub started_at: DateTime<Utc>,
    pub minutes: u32,
    pub category: Category,
    pub billable: bool,
    /// Entries of one ticket may be rounded together (SPEC 7.4).
    pub ticket_id: Option<i64>,
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

/// A prepaid block of minutes (SPEC 7.5), as it stands before the invoice being priced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub id: i64,
    pub purchased_on: NaiveDate,
    /// Exclusive: the first day the block can no longer be drawn from.
    pub expires_on: Option<NaiveDate>,
    /// Bought.
    pub minutes: u32,
    pub price: Decimal,
    /// Weighted minutes not yet drawn by a draft or issued invoice.
    pub left: Decimal,
    /// An earlier draft or issued invoice already bills its purchase.
    pub purchase_billed: bool,
}

impl Block {
    /// Time worked on `date` may be drawn from it.
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.purchased_on <= date && self.expires_on.is_none_or(|end| date < end)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    pub id: i64,
    /// Offer name, used in line descriptions.
    pub name: String,
    pub plan: PlanVersions,
    /// SPEC 7.1: retainer fees and allowances exist for the months that overlap
    /// `[start_date, end_date)`.
    pub start_date: NaiveDate,
    /// Exclusive.
    pub end_date: Option<NaiveDate>,
    /// Prepaid plans: the subscription's blocks (any date; the engine picks).
    pub blocks: Vec<Block>,
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
    /// `effective_from` of the plan version whose terms priced the line (SPEC 7.2); none on
    /// charge and prepaid usage lines.
    pub plan_version: Option<NaiveDate>,
}

/// What the new invoice claims, so storage can mark it (SPEC section 3).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Claims {
    pub entry_ids: Vec<i64>,
    pub ticket_ids: Vec<i64>,
    pub charge_ids: Vec<i64>,
    pub retainer_months: Vec<RetainerMonthClaim>,
    /// Blocks whose purchase this invoice bills.
    pub block_purchases: Vec<i64>,
    /// Weighted minutes this invoice draws from each block.
    pub block_draws: Vec<BlockDraw>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockDraw {
    pub block_id: i64,
    pub minutes: Decimal,
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
