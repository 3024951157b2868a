//! Plan versions (SPEC 7.2): a plan's terms over time. Each version is in force from its
//! `effective_from` until the next one; the first also before its own date. A version may not
//! take effect on or before a date already billed under the plan on a draft or issued invoice.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;

use crate::domain::pricing::{BillingModel, PlanVersion, PlanVersions};
use crate::domain::vocab::InvoiceStatus;
use crate::error::AppError;
use crate::service::plan_terms::NewVersion;
use crate::storage::models::{NewPlanVersion, Plan, PlanTermsRow, PlanVersionRow};
use crate::storage::schema::{
    holiday_calendars, invoices, plan_versions, plans, prepaid_blocks, retainer_claims, subscriptions, ticket_claims,
    tickets, time_entries, time_entry_claims,
};
use crate::storage::{locks, write_tx, DbConnection};

/// Every plan's versions, by plan id, as the pricing engine takes them.
pub fn for_pricing(conn: &mut DbConnection) -> Result<HashMap<i64, PlanVersions>, AppError> {
    let models: Vec<(i64, BillingModel)> = plans::table.select((plans::id, plans::billing_model)).load(conn)?;
    let rows: Vec<PlanVersionRow> = plan_versions::table
        .order((plan_versions::plan_id, plan_versions::effective_from))
        .select(PlanVersionRow::as_select())
        .load(conn)?;
    let mut by_plan: HashMap<i64, Vec<PlanVersionRow>> = HashMap::with_capacity(models.len());
    for row in rows {
        by_plan.entry(row.plan_id).or_default().push(row);
    }
    let holidays = Holidays::of_calendars(conn, by_plan.values().flatten())?;
    let mut versions = HashMap::with_capacity(models.len());
    for (plan_id, model) in models {
        let rows = by_plan.remove(&plan_id).unwrap_or_default();
        versions.insert(plan_id, to_versions(plan_id, model, &rows, &holidays)?);
    }
    Ok(versions)
}

/// The days of each holiday calendar, shared by every version that names it.
#[derive(Default)]
struct Holidays {
    by_calendar: HashMap<i64, Arc<BTreeSet<NaiveDate>>>,
    none: Arc<BTreeSet<NaiveDate>>,
}

impl Holidays {
    /// The days of every calendar these versions name, read once.
    fn of_calendars<'a>(
        conn: &mut DbConnection,
        rows: impl Iterator<Item = &'a PlanVersionRow>,
    ) -> Result<Holidays, AppError> {
        let ids: Vec<i64> = rows.filter_map(|r| r.terms.holiday_calendar_id).collect();
        let by_calendar = if ids.is_empty() {
            HashMap::new()
        } else {
            crate::service::holidays::days_by_calendar(conn, &ids)?
                .into_iter()
                .map(|(id, d)| (id, Arc::new(d)))
                .collect()
        };
        Ok(Holidays { by_calendar, none: Arc::default() })
    }

    fn of(&self, calendar: Option<i64>) -> Arc<BTreeSet<NaiveDate>> {
        calendar.and_then(|id| self.by_calendar.get(&id)).unwrap_or(&self.none).clone()
    }
}

/// Stored versions (in date order) as the engine's; a plan without any, or with terms that no
/// longer parse, was edited by hand and is reported rather than priced wrongly.
fn to_versions(
    plan_id: i64,
    model: BillingModel,
    rows: &[PlanVersionRow],
    holidays: &Holidays,
) -> Result<PlanVersions, AppError> {
    let corrupt = |e: String| AppError::Internal(format!("plan {plan_id} is corrupt: {e}"));
    let mut versions = Vec::with_capacity(rows.len());
    for row in rows {
        let terms = row.terms.terms(model, holidays.of(row.terms.holiday_calendar_id)).map_err(corrupt)?;
        versions.push(PlanVersion { effective_from: row.effective_from, terms });
    }
    PlanVersions::new(versions).ok_or_else(|| corrupt("it has no version".into()))
}

/// The stored versions of `plan` (`rows`, in date order) in force at some time in
/// `[start, end)`, oldest first: the rule of `PlanVersions::in_force_between`.
pub fn in_force_between<'a>(
    plan: &Plan,
    rows: &'a [PlanVersionRow],
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Vec<&'a PlanVersionRow>, AppError> {
    let versions = to_versions(plan.id, plan.billing_model, rows, &Holidays::default())?;
    let dates: BTreeSet<NaiveDate> = versions.in_force_between(start, end).iter().map(|v| v.effective_from).collect();
    Ok(rows.iter().filter(|r| dates.contains(&r.effective_from)).collect())
}

/// Every version of these plans, by plan id, in date order.
pub fn of_plans(conn: &mut DbConnection, plan_ids: &[i64]) -> Result<HashMap<i64, Vec<PlanVersionRow>>, AppError> {
    let mut by_plan: HashMap<i64, Vec<PlanVersionRow>> = HashMap::new();
    for chunk in plan_ids.chunks(crate::service::IN_CHUNK) {
        let rows: Vec<PlanVersionRow> = plan_versions::table
            .filter(plan_versions::plan_id.eq_any(chunk))
            .order((plan_versions::plan_id, plan_versions::effective_from))
            .select(PlanVersionRow::as_select())
            .load(conn)?;
        for row in rows {
            by_plan.entry(row.plan_id).or_default().push(row);
        }
    }
    Ok(by_plan)
}

/// The version of each of these plans in force on `date`: the greatest `effective_from` <=
/// `date`, else the first.
pub fn in_force_on(
    conn: &mut DbConnection,
    plan_ids: &[i64],
    date: NaiveDate,
) -> Result<HashMap<i64, PlanVersionRow>, AppError> {
    let mut out = HashMap::with_capacity(plan_ids.len());
    for (plan_id, rows) in of_plans(conn, plan_ids)? {
        let after = rows.partition_point(|r| r.effective_from <= date);
        if let Some(row) = rows.into_iter().nth(after.saturating_sub(1)) {
            out.insert(plan_id, row);
        }
    }
    Ok(out)
}

/// One plan's versions in date order, a page of them: those after `after` (a date).
pub fn list(
    conn: &mut DbConnection,
    plan: &Plan,
    after: Option<NaiveDate>,
    limit: i64,
) -> Result<Vec<PlanVersionRow>, AppError> {
    let mut query = plan_versions::table.filter(plan_versions::plan_id.eq(plan.id)).into_boxed();
    if let Some(after) = after {
        query = query.filter(plan_versions::effective_from.gt(after));
    }
    Ok(query.order(plan_versions::effective_from).limit(limit + 1).select(PlanVersionRow::as_select()).load(conn)?)
}

/// Adds a version to plan `plan_id` (`POST /plans/{id}/versions`). 409 `version_exists` when
/// the plan has one of that date, 409 `terms_already_billed` when its dates are billed.
pub fn add(
    conn: &mut DbConnection,
    plan_id: i64,
    check: impl FnOnce(&Plan) -> Result<NewVersion, AppError>,
    now: NaiveDateTime,
) -> Result<PlanVersionRow, AppError> {
    write_tx(conn, |conn| {
        let plan = plan_of(conn, plan_id)?;
        let new = check(&plan)?;
        lock_billing(conn, plan_id)?;
        let taken: i64 = plan_versions::table
            .filter(plan_versions::plan_id.eq(plan_id))
            .filter(plan_versions::effective_from.eq(new.effective_from))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Err(AppError::conflict(
                "version_exists",
                format!("effective_from: the plan already has a version from {}", new.effective_from),
            ));
        }
        refuse_if_billed(conn, plan_id, new.effective_from)?;
        insert(conn, plan_id, new.effective_from, new.terms, now)
    })
}

/// Makes `terms` the plan's terms from `from` on (`PUT /plans/{id}`): the version of that day
/// is created or replaced, and later ones are removed. Runs inside the caller's transaction.
pub(crate) fn replace_from(
    conn: &mut DbConnection,
    plan_id: i64,
    from: NaiveDate,
    terms: PlanTermsRow,
    now: NaiveDateTime,
) -> Result<PlanVersionRow, AppError> {
    lock_billing(conn, plan_id)?;
    refuse_if_billed(conn, plan_id, from)?;
    check_calendar(conn, terms.holiday_calendar_id)?;
    diesel::delete(
        plan_versions::table.filter(plan_versions::plan_id.eq(plan_id)).filter(plan_versions::effective_from.gt(from)),
    )
    .execute(conn)?;
    let same_day =
        plan_versions::table.filter(plan_versions::plan_id.eq(plan_id)).filter(plan_versions::effective_from.eq(from));
    let updated = diesel::update(same_day).set(&terms).execute(conn)?;
    if updated == 0 {
        return insert(conn, plan_id, from, terms, now);
    }
    Ok(same_day.select(PlanVersionRow::as_select()).first(conn)?)
}

/// Replaces every version with one from `from` (a plan that no subscription uses changed its
/// currency or billing model, which every version shares). Inside the caller's transaction.
pub(crate) fn replace_all(
    conn: &mut DbConnection,
    plan_id: i64,
    from: NaiveDate,
    terms: PlanTermsRow,
    now: NaiveDateTime,
) -> Result<PlanVersionRow, AppError> {
    diesel::delete(plan_versions::table.filter(plan_versions::plan_id.eq(plan_id))).execute(conn)?;
    insert(conn, plan_id, from, terms, now)
}

/// Inserts a version; inside the caller's transaction.
pub(crate) fn insert(
    conn: &mut DbConnection,
    plan_id: i64,
    effective_from: NaiveDate,
    terms: PlanTermsRow,
    now: NaiveDateTime,
) -> Result<PlanVersionRow, AppError> {
    check_calendar(conn, terms.holiday_calendar_id)?;
    let id: i64 = diesel::insert_into(plan_versions::table)
        .values(&NewPlanVersion { plan_id, effective_from, created_at: now, terms })
        .returning(plan_versions::id)
        .get_result(conn)?;
    Ok(plan_versions::table.find(id).select(PlanVersionRow::as_select()).first(conn)?)
}

/// 422 on `holiday_calendar_id` unless the calendar exists; share-locked until the commit, so
/// it cannot be deleted meanwhile.
fn check_calendar(conn: &mut DbConnection, calendar: Option<i64>) -> Result<(), AppError> {
    let Some(id) = calendar else { return Ok(()) };
    locks::holiday_calendar_for_share(conn, id)?;
    let n: i64 = holiday_calendars::table.filter(holiday_calendars::id.eq(id)).count().get_result(conn)?;
    if n == 0 {
        return Err(AppError::field("holiday_calendar_id", "no holiday calendar has this id"));
    }
    Ok(())
}

/// Removes every version of a plan (before the plan itself); inside the caller's transaction.
pub(crate) fn delete_all(conn: &mut DbConnection, plan_id: i64) -> Result<(), AppError> {
    diesel::delete(plan_versions::table.filter(plan_versions::plan_id.eq(plan_id))).execute(conn)?;
    Ok(())
}

fn plan_of(conn: &mut DbConnection, plan_id: i64) -> Result<Plan, AppError> {
    plans::table
        .find(plan_id)
        .select(Plan::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound { what: "plan" })
}

/// Orders a change of terms against drafts of the plan's customers (PostgreSQL): a draft holds
/// its customers `FOR UPDATE` while it reads the versions and claims, so the change waits for
/// it and then sees its claims, and a draft that comes later reads the new versions.
fn lock_billing(conn: &mut DbConnection, plan_id: i64) -> Result<(), AppError> {
    let subs: Vec<i64> =
        subscriptions::table.filter(subscriptions::plan_id.eq(plan_id)).select(subscriptions::id).load(conn)?;
    if !subs.is_empty() {
        locks::customers_of_subscriptions_for_share(conn, &subs)?;
    }
    Ok(())
}

/// A date billed under a plan, and the invoice that bills it.
struct Billed {
    date: NaiveDate,
    invoice_id: i64,
    number: Option<String>,
}

/// 409 `terms_already_billed` when a version from `from` would change the terms of a date
/// already billed under the plan. A version dated before the plan's first one also takes over
/// the dates before it (the first version applies to them), so then any billed date counts.
fn refuse_if_billed(conn: &mut DbConnection, plan_id: i64, from: NaiveDate) -> Result<(), AppError> {
    let first: Option<NaiveDate> = plan_versions::table
        .filter(plan_versions::plan_id.eq(plan_id))
        .select(diesel::dsl::min(plan_versions::effective_from))
        .first(conn)?;
    let becomes_first = first.is_none_or(|first| from < first);
    let since = if becomes_first { crate::domain::time::FIRST_DAY.min(from) } else { from };
    let Some(billed) = latest_billed(conn, plan_id, since)? else { return Ok(()) };
    let invoice = match &billed.number {
        Some(number) => format!("invoice {number}"),
        None => format!("draft invoice {}", billed.invoice_id),
    };
    let detail = if billed.date >= from {
        format!(
            "effective_from: {invoice} bills {} under this plan; a new version must take effect after {}",
            billed.date, billed.date
        )
    } else {
        format!(
            "effective_from: {invoice} bills {} under the plan's first version, which a version dated before \
             it would replace for every earlier date",
            billed.date
        )
    };
    Err(AppError::conflict("terms_already_billed", detail))
}

/// The latest date on or after `since` billed under plan `plan_id` on a draft or issued invoice:
/// claimed entries (their UTC date), retainer months (their first day), tickets (their UTC
/// opening date) and prepaid blocks whose purchase is billed (their purchase date) of the
/// plan's subscriptions; one query per kind.
fn latest_billed(conn: &mut DbConnection, plan_id: i64, since: NaiveDate) -> Result<Option<Billed>, AppError> {
    let open = [InvoiceStatus::Draft, InvoiceStatus::Issued];
    let midnight = since.and_time(NaiveTime::MIN);
    let entry: Option<(NaiveDateTime, i64, Option<String>)> = time_entry_claims::table
        .inner_join(time_entries::table.inner_join(subscriptions::table))
        .inner_join(invoices::table)
        .filter(subscriptions::plan_id.eq(plan_id))
        .filter(invoices::status.eq_any(open))
        .filter(time_entries::started_at.ge(midnight))
        .order(time_entries::started_at.desc())
        .select((time_entries::started_at, invoices::id, invoices::number))
        .first(conn)
        .optional()?;
    let ticket: Option<(NaiveDateTime, i64, Option<String>)> = ticket_claims::table
        .inner_join(tickets::table.inner_join(subscriptions::table))
        .inner_join(invoices::table)
        .filter(subscriptions::plan_id.eq(plan_id))
        .filter(invoices::status.eq_any(open))
        .filter(tickets::opened_at.ge(midnight))
        .order(tickets::opened_at.desc())
        .select((tickets::opened_at, invoices::id, invoices::number))
        .first(conn)
        .optional()?;
    let month: Option<(NaiveDate, i64, Option<String>)> = retainer_claims::table
        .inner_join(subscriptions::table)
        .inner_join(invoices::table.on(invoices::id.eq(retainer_claims::invoice_id)))
        .filter(subscriptions::plan_id.eq(plan_id))
        .filter(invoices::status.eq_any(open))
        .filter(retainer_claims::month.ge(since))
        .order(retainer_claims::month.desc())
        .select((retainer_claims::month, invoices::id, invoices::number))
        .first(conn)
        .optional()?;
    let block: Option<(NaiveDate, i64, Option<String>)> = prepaid_blocks::table
        .inner_join(subscriptions::table)
        .inner_join(invoices::table.on(prepaid_blocks::invoice_id.eq(invoices::id.nullable())))
        .filter(subscriptions::plan_id.eq(plan_id))
        .filter(invoices::status.eq_any(open))
        .filter(prepaid_blocks::purchased_on.ge(since))
        .order(prepaid_blocks::purchased_on.desc())
        .select((prepaid_blocks::purchased_on, invoices::id, invoices::number))
        .first(conn)
        .optional()?;
    let found = [
        entry.map(|(at, id, number)| Billed { date: at.date(), invoice_id: id, number }),
        ticket.map(|(at, id, number)| Billed { date: at.date(), invoice_id: id, number }),
        month.map(|(date, id, number)| Billed { date, invoice_id: id, number }),
        block.map(|(date, id, number)| Billed { date, invoice_id: id, number }),
    ];
    Ok(found.into_iter().flatten().max_by_key(|b| b.date))
}
