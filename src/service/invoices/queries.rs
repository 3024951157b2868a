//! Reading invoices: one by id (as the caller may see it), lists with filters, and the
//! invoices issued in a range for the register.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Deserialize;

use super::document::*;
use crate::documents::model::InvoiceDocument;
use crate::domain::vocab::InvoiceStatus;
use crate::error::AppError;
use crate::service::auth::Caller;
use crate::service::IN_CHUNK;
use crate::storage::models::*;
use crate::storage::schema::*;
use crate::storage::DbConnection;

pub(crate) fn find(conn: &mut DbConnection, id: i64) -> Result<Option<Invoice>, AppError> {
    Ok(invoices::table.find(id).select(Invoice::as_select()).first(conn).optional()?)
}

/// The rows of these invoices, in id order (missing ids are left out).
pub(crate) fn find_many(conn: &mut DbConnection, ids: &[i64]) -> Result<Vec<Invoice>, AppError> {
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(IN_CHUNK) {
        rows.extend(
            invoices::table
                .filter(invoices::id.eq_any(chunk))
                .order(invoices::id)
                .select(Invoice::as_select())
                .load(conn)?,
        );
    }
    rows.sort_unstable_by_key(|r: &Invoice| r.id);
    Ok(rows)
}

/// An invoice the caller may see: clients only their own customer's, and never drafts.
pub fn get_row(conn: &mut DbConnection, caller: &Caller, id: i64) -> Result<Invoice, AppError> {
    visible(find(conn, id)?, caller)
}

pub(crate) fn visible(row: Option<Invoice>, caller: &Caller) -> Result<Invoice, AppError> {
    match row {
        Some(row)
            if caller.may_see_customer(row.customer_id)
                && !(caller.is_client() && row.status == InvoiceStatus::Draft) =>
        {
            Ok(row)
        }
        _ => Err(AppError::NotFound { what: "invoice" }),
    }
}

pub fn get(conn: &mut DbConnection, caller: &Caller, id: i64) -> Result<InvoiceDocument, AppError> {
    let row = get_row(conn, caller, id)?;
    document(conn, &row)
}

/// The invoice as JSON bytes. An issued invoice's stored snapshot is its document, so it is
/// served as stored, without parsing and re-serializing it (the hot path of API clients
/// polling invoices); drafts and void or credited invoices (whose status moved on) are
/// serialized from [`document`].
pub fn get_json(conn: &mut DbConnection, caller: &Caller, id: i64) -> Result<Vec<u8>, AppError> {
    let row = get_row(conn, caller, id)?;
    json_of(conn, row)
}

/// [`get_json`], also confirming that API key `key_id` is still live, in the invoice's own
/// statement: one round trip to PostgreSQL instead of two (see `AppState::run_read`). A revoked
/// key is `Unauthorized`, whether or not the invoice exists.
pub fn get_json_confirming_key(
    conn: &mut DbConnection,
    caller: &Caller,
    id: i64,
    key_id: i64,
) -> Result<Vec<u8>, AppError> {
    let live_key =
        diesel::dsl::exists(api_keys::table.filter(api_keys::id.eq(key_id)).filter(api_keys::revoked_at.is_null()));
    let found: Option<(Invoice, bool)> =
        invoices::table.find(id).select((Invoice::as_select(), live_key)).first(conn).optional()?;
    match found {
        Some((_, false)) => Err(AppError::Unauthorized),
        Some((row, true)) => json_of(conn, visible(Some(row), caller)?),
        None if crate::service::auth::is_live(conn, key_id)? => Err(AppError::NotFound { what: "invoice" }),
        None => Err(AppError::Unauthorized),
    }
}

/// An issued invoice's stored snapshot as is; anything else serialized from [`document`].
pub(crate) fn json_of(conn: &mut DbConnection, mut row: Invoice) -> Result<Vec<u8>, AppError> {
    match row.snapshot.take() {
        Some(snapshot) if row.status == InvoiceStatus::Issued => Ok(snapshot.into_bytes()),
        snapshot => {
            row.snapshot = snapshot;
            serde_json::to_vec(&document(conn, &row)?).map_err(|e| AppError::Internal(e.to_string()))
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct InvoiceFilter {
    pub customer_id: Option<i64>,
    pub status: Option<InvoiceStatus>,
    pub period_start: Option<NaiveDate>,
}

pub fn list(
    conn: &mut DbConnection,
    caller: &Caller,
    filter: InvoiceFilter,
    after: i64,
    limit: i64,
) -> Result<Vec<Invoice>, AppError> {
    let mut query = invoices::table
        .filter(invoices::id.gt(after))
        .order(invoices::id)
        .limit(limit + 1)
        .select(Invoice::as_select())
        .into_boxed();
    if caller.is_client() {
        query = query
            .filter(invoices::customer_id.eq(caller.customer_id.unwrap_or(-1)))
            .filter(invoices::status.ne(InvoiceStatus::Draft));
    }
    if let Some(c) = filter.customer_id {
        query = query.filter(invoices::customer_id.eq(c));
    }
    if let Some(s) = filter.status {
        query = query.filter(invoices::status.eq(s));
    }
    if let Some(p) = filter.period_start {
        query = query.filter(invoices::period_start.eq(p));
    }
    Ok(query.load(conn)?)
}

/// For the invoice register: invoices issued in [from, to), void ones included.
pub fn issued_between(
    conn: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
    customer_id: Option<i64>,
) -> Result<Vec<(Invoice, String)>, AppError> {
    let mut q = invoices::table
        .inner_join(customers::table)
        .filter(invoices::issued_at.ge(utc_midnight(from)))
        .filter(invoices::issued_at.lt(utc_midnight(to)))
        .order((invoices::issued_at, invoices::id))
        .select((Invoice::as_select(), customers::name))
        .into_boxed();
    if let Some(c) = customer_id {
        q = q.filter(invoices::customer_id.eq(c));
    }
    let rows: Vec<(Invoice, String)> = q.load(conn)?;
    // The register shows each customer as invoiced: the name frozen in the snapshot.
    Ok(rows
        .into_iter()
        .map(|(inv, live_name)| {
            let name = inv
                .snapshot
                .as_deref()
                .and_then(|json| serde_json::from_str::<SnapshotCustomer>(json).ok())
                .map(|s| s.customer.name)
                .unwrap_or(live_name);
            (inv, name)
        })
        .collect())
}

#[derive(Deserialize)]
pub(crate) struct SnapshotCustomer {
    customer: CustomerName,
}

#[derive(Deserialize)]
pub(crate) struct CustomerName {
    name: String,
}

pub(crate) fn utc_midnight(d: NaiveDate) -> NaiveDateTime {
    d.and_time(chrono::NaiveTime::MIN)
}
