//! Prepaid blocks of hours (SPEC 7.5): recording a subscription's blocks and reading their
//! balances, what the pricing engine draws from, and what an invoice bills and draws of them.
//!
//! A draft or issued invoice draws weighted minutes from blocks (`block_draws`) and may bill a
//! block's purchase (`prepaid_blocks.invoice_id`); both are claims, written with the draft and
//! freed with its other claims when it is deleted, voided or fully credited
//! ([`free_claims`], called by `service::claims::free_claims`). A block's `used` is the sum of
//! its draws, `left` its minutes less that. Drafting locks its customers, and every write here
//! share-locks the customer, so two drafts never draw the same minutes.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use rust_decimal::Decimal;

use crate::domain::money::Currency;
use crate::domain::pricing::{self, BillingModel};
use crate::domain::validation as v;
use crate::domain::vocab::InvoiceStatus;
use crate::error::AppError;
use crate::service::auth::Caller;
use crate::service::IN_CHUNK;
use crate::storage::claims::{claim_marked, MarkedTable};
use crate::storage::models::{NewBlockDraw, NewPrepaidBlock, PrepaidBlock};
use crate::storage::schema::{block_draws, invoices, plans, prepaid_blocks, subscriptions};
use crate::storage::{bulk, write_tx, DbConnection, Dec};

/// A block to record, its fields checked one by one (the price is checked against the plan's
/// currency here).
#[derive(Clone, Debug)]
pub struct NewBlock {
    pub purchased_on: NaiveDate,
    /// Exclusive; after `purchased_on`.
    pub expires_on: Option<NaiveDate>,
    /// 1 to [`MAX_BLOCK_MINUTES`].
    pub minutes: i32,
    pub price: Decimal,
}

/// The most minutes one block may hold (about 16,667 hours).
pub const MAX_BLOCK_MINUTES: i32 = 1_000_000;

/// A block with its balance as the caller may see it.
#[derive(Clone, Debug)]
pub struct BlockBalance {
    pub block: PrepaidBlock,
    /// Weighted minutes drawn by draft and issued invoices (issued only, for client keys).
    pub used: Decimal,
    /// `minutes - used`.
    pub left: Decimal,
    /// Today (UTC) is on or after `expires_on`: nothing more can be drawn.
    pub expired: bool,
    /// The invoice that bills the purchase (not shown to client keys while it is a draft).
    pub billed_on_invoice: Option<i64>,
}

/// The subscription's customer, plan name, billing model and currency; 404 if the caller may
/// not see it.
fn subscription_terms(
    conn: &mut DbConnection,
    caller: &Caller,
    subscription_id: i64,
) -> Result<(String, BillingModel, Currency), AppError> {
    let row: Option<(i64, String, BillingModel, Currency)> = subscriptions::table
        .inner_join(plans::table)
        .filter(subscriptions::id.eq(subscription_id))
        .select((subscriptions::customer_id, plans::name, plans::billing_model, plans::currency))
        .first(conn)
        .optional()?;
    match row {
        Some((customer, name, model, currency)) if caller.may_see_customer(customer) => Ok((name, model, currency)),
        _ => Err(AppError::NotFound { what: "subscription" }),
    }
}

/// Records a block on a subscription whose plan is prepaid; the price must fit the plan's
/// currency (which is the customer's).
pub fn create(
    conn: &mut DbConnection,
    caller: &Caller,
    subscription_id: i64,
    new: NewBlock,
    now: NaiveDateTime,
) -> Result<BlockBalance, AppError> {
    write_tx(conn, |conn| {
        let (plan, model, currency) = subscription_terms(conn, caller, subscription_id)?;
        // A draft being priced for this customer finishes first, or sees the block whole.
        crate::service::lock_customers_of(conn, &[subscription_id])?;
        if model != BillingModel::Prepaid {
            return Err(AppError::field(
                "subscription_id",
                format!(
                    "the subscription's plan {plan:?} is {}, not prepaid; only prepaid plans take blocks",
                    model.as_str()
                ),
            ));
        }
        let price = v::non_negative_money(new.price, currency).map_err(|m| AppError::field("price", m))?;
        let id: i64 = diesel::insert_into(prepaid_blocks::table)
            .values(NewPrepaidBlock {
                subscription_id,
                purchased_on: new.purchased_on,
                expires_on: new.expires_on,
                minutes: new.minutes,
                price: Dec(price),
                created_at: now,
            })
            .returning(prepaid_blocks::id)
            .get_result(conn)?;
        let row = prepaid_blocks::table.find(id).select(PrepaidBlock::as_select()).first(conn)?;
        balances(conn, caller, vec![row], now.date())?.pop().ok_or(AppError::NotFound { what: "prepaid block" })
    })
}

/// A page of a subscription's blocks (id order) with their balances as of `today`.
pub fn list(
    conn: &mut DbConnection,
    caller: &Caller,
    subscription_id: i64,
    today: NaiveDate,
    after: i64,
    limit: i64,
) -> Result<Vec<BlockBalance>, AppError> {
    subscription_terms(conn, caller, subscription_id)?;
    let rows: Vec<PrepaidBlock> = prepaid_blocks::table
        .filter(prepaid_blocks::subscription_id.eq(subscription_id))
        .filter(prepaid_blocks::id.gt(after))
        .order(prepaid_blocks::id)
        .limit(limit + 1)
        .select(PrepaidBlock::as_select())
        .load(conn)?;
    balances(conn, caller, rows, today)
}

/// Every block of these subscriptions (by subscription, then id) with its balance as of
/// `today`, for pages that show several subscriptions. The caller must already be allowed to
/// see them.
pub fn of_subscriptions(
    conn: &mut DbConnection,
    caller: &Caller,
    subscription_ids: &[i64],
    today: NaiveDate,
) -> Result<Vec<BlockBalance>, AppError> {
    let mut rows: Vec<PrepaidBlock> = Vec::new();
    for chunk in subscription_ids.chunks(IN_CHUNK) {
        rows.extend(
            prepaid_blocks::table
                .filter(prepaid_blocks::subscription_id.eq_any(chunk))
                .select(PrepaidBlock::as_select())
                .load::<PrepaidBlock>(conn)?,
        );
    }
    rows.sort_by_key(|b| (b.subscription_id, b.id));
    balances(conn, caller, rows, today)
}

/// Deletes a block recorded by mistake: only while no invoice bills its purchase or draws from
/// it (409 otherwise).
pub fn delete(conn: &mut DbConnection, caller: &Caller, block_id: i64) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        let subscription_id: Option<i64> =
            prepaid_blocks::table.find(block_id).select(prepaid_blocks::subscription_id).first(conn).optional()?;
        let subscription_id = subscription_id.ok_or(AppError::NotFound { what: "prepaid block" })?;
        subscription_terms(conn, caller, subscription_id).map_err(|_| AppError::NotFound { what: "prepaid block" })?;
        // A concurrent draft either claimed the block before this, or waits and no longer sees it.
        crate::service::lock_customers_of(conn, &[subscription_id])?;
        let billed: Option<Option<i64>> =
            prepaid_blocks::table.find(block_id).select(prepaid_blocks::invoice_id).first(conn).optional()?;
        let billed = billed.ok_or(AppError::NotFound { what: "prepaid block" })?;
        let drawn: i64 = block_draws::table.filter(block_draws::block_id.eq(block_id)).count().get_result(conn)?;
        if billed.is_some() || drawn > 0 {
            return Err(AppError::conflict(
                "block_in_use",
                "an invoice bills this block or draws from it; delete or void that invoice first",
            ));
        }
        diesel::delete(prepaid_blocks::table.find(block_id)).execute(conn)?;
        Ok(())
    })
}

/// Refuses (409) moving a subscription that has blocks to a plan that is not prepaid: its blocks
/// would no longer be billed or drawn from.
pub fn check_plan_change(conn: &mut DbConnection, subscription_id: i64, plan_id: i64) -> Result<(), AppError> {
    let model: Option<BillingModel> = plans::table.find(plan_id).select(plans::billing_model).first(conn).optional()?;
    if model.is_none_or(|m| m == BillingModel::Prepaid) {
        return Ok(());
    }
    let blocks: i64 =
        prepaid_blocks::table.filter(prepaid_blocks::subscription_id.eq(subscription_id)).count().get_result(conn)?;
    if blocks > 0 {
        return Err(AppError::conflict(
            "has_prepaid_blocks",
            "the subscription has prepaid blocks; its plan can only change to another prepaid plan",
        ));
    }
    Ok(())
}

/// How many blocks the subscription has (a subscription with blocks cannot be deleted).
pub fn count(conn: &mut DbConnection, subscription_id: i64) -> Result<i64, AppError> {
    Ok(prepaid_blocks::table.filter(prepaid_blocks::subscription_id.eq(subscription_id)).count().get_result(conn)?)
}

/// Adds each block's draws and billing invoice as the caller may see them: client keys do not
/// see drafts, so their draws and purchase marks count for staff only.
fn balances(
    conn: &mut DbConnection,
    caller: &Caller,
    rows: Vec<PrepaidBlock>,
    today: NaiveDate,
) -> Result<Vec<BlockBalance>, AppError> {
    let visible = |status: InvoiceStatus| match status {
        InvoiceStatus::Issued => true,
        InvoiceStatus::Draft => !caller.is_client(),
        // Their draws and marks were freed when they became void or credited.
        InvoiceStatus::Void | InvoiceStatus::Credited => false,
    };
    let ids: Vec<i64> = rows.iter().map(|b| b.id).collect();
    let mut used: HashMap<i64, Decimal> = HashMap::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let draws: Vec<(i64, Dec, InvoiceStatus)> = block_draws::table
            .inner_join(invoices::table)
            .filter(block_draws::block_id.eq_any(chunk))
            .select((block_draws::block_id, block_draws::minutes, invoices::status))
            .load(conn)?;
        for (block, minutes, status) in draws {
            if visible(status) {
                *used.entry(block).or_default() += minutes.0;
            }
        }
    }
    let billing: Vec<i64> = rows.iter().filter_map(|b| b.invoice_id).collect::<HashSet<_>>().into_iter().collect();
    let mut shown: HashSet<i64> = HashSet::new();
    for chunk in billing.chunks(IN_CHUNK) {
        let statuses: Vec<(i64, InvoiceStatus)> =
            invoices::table.filter(invoices::id.eq_any(chunk)).select((invoices::id, invoices::status)).load(conn)?;
        shown.extend(statuses.into_iter().filter(|&(_, s)| visible(s)).map(|(id, _)| id));
    }
    Ok(rows
        .into_iter()
        .map(|block| {
            let used = used.get(&block.id).copied().unwrap_or_default().normalize();
            BlockBalance {
                used,
                left: (Decimal::from(block.minutes) - used).normalize(),
                expired: block.expires_on.is_some_and(|end| today >= end),
                billed_on_invoice: block.invoice_id.filter(|id| shown.contains(id)),
                block,
            }
        })
        .collect())
}

/// The subscriptions' blocks as they stand before a new draft, by subscription id: `left`
/// after the draws of every draft and issued invoice, `purchase_billed` if one bills it.
pub fn for_pricing(
    conn: &mut DbConnection,
    subscription_ids: &[i64],
) -> Result<HashMap<i64, Vec<pricing::Block>>, AppError> {
    let mut out: HashMap<i64, Vec<pricing::Block>> = HashMap::new();
    for chunk in subscription_ids.chunks(IN_CHUNK) {
        let rows: Vec<PrepaidBlock> = prepaid_blocks::table
            .filter(prepaid_blocks::subscription_id.eq_any(chunk))
            .select(PrepaidBlock::as_select())
            .load(conn)?;
        if rows.is_empty() {
            continue;
        }
        // Draws exist only for draft and issued invoices: the others' are deleted as they end.
        let draws: Vec<(i64, Dec)> = block_draws::table
            .inner_join(prepaid_blocks::table)
            .filter(prepaid_blocks::subscription_id.eq_any(chunk))
            .select((block_draws::block_id, block_draws::minutes))
            .load(conn)?;
        let mut drawn: HashMap<i64, Decimal> = HashMap::new();
        for (block, minutes) in draws {
            *drawn.entry(block).or_default() += minutes.0;
        }
        for b in rows {
            let used = drawn.get(&b.id).copied().unwrap_or_default();
            out.entry(b.subscription_id).or_default().push(pricing::Block {
                id: b.id,
                purchased_on: b.purchased_on,
                expires_on: b.expires_on,
                minutes: b.minutes.max(0) as u32,
                price: b.price.0,
                left: Decimal::from(b.minutes) - used,
                purchase_billed: b.invoice_id.is_some(),
            });
        }
    }
    for list in out.values_mut() {
        list.sort_unstable_by_key(|b| b.id);
    }
    Ok(out)
}

/// Records what new drafts bill and draw of blocks: the draws in a few multi-row INSERTs, the
/// purchases marked in a few UPDATEs. A purchase another invoice billed meanwhile fails the
/// whole draft (409 `already_claimed`), as for charges.
pub fn write_claims(conn: &mut DbConnection, claims: &[(i64, &pricing::Claims)]) -> Result<(), AppError> {
    let draws: Vec<NewBlockDraw> = claims
        .iter()
        .flat_map(|&(invoice_id, c)| {
            c.block_draws.iter().map(move |d| NewBlockDraw {
                invoice_id,
                block_id: d.block_id,
                minutes: Dec(d.minutes),
            })
        })
        .collect();
    bulk::insert_block_draws(conn, &draws)?;
    let mut purchases: Vec<(i64, i64)> =
        claims.iter().flat_map(|&(invoice, c)| c.block_purchases.iter().map(move |&block| (block, invoice))).collect();
    if purchases.is_empty() {
        return Ok(());
    }
    let marked = claim_marked(conn, MarkedTable::PrepaidBlocks, &mut purchases)?;
    if marked != purchases.len() {
        return Err(AppError::conflict(
            "already_claimed",
            "some prepaid block purchases were billed by another invoice meanwhile; retry",
        ));
    }
    Ok(())
}

/// Frees what invoice `invoice_id` drew from blocks and the purchases it billed.
pub(crate) fn free_claims(conn: &mut DbConnection, invoice_id: i64) -> Result<(), AppError> {
    diesel::delete(block_draws::table.filter(block_draws::invoice_id.eq(invoice_id))).execute(conn)?;
    diesel::update(prepaid_blocks::table.filter(prepaid_blocks::invoice_id.eq(invoice_id)))
        .set(prepaid_blocks::invoice_id.eq(None::<i64>))
        .execute(conn)?;
    Ok(())
}
