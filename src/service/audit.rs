//! The audit trail, storage side: recording what successful writes did, listing it (admin), and
//! an invoice's history (created, issued, voided, credited, deleted: by which key, when).
//! Which rows a request produces is decided by `http::audit`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppError;
use crate::storage::schema::{api_keys, audit_log, invoices};
use crate::storage::{write_tx, DbConnection};

/// One row to record.
#[derive(Clone, Debug, PartialEq, Eq, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAuditEntry {
    pub at: NaiveDateTime,
    pub api_key_id: Option<i64>,
    pub request_id: String,
    pub method: String,
    pub route: String,
    pub status: i32,
    pub resource_type: String,
    pub resource_id: Option<i64>,
    pub action: String,
}

#[derive(Clone, Debug, Queryable)]
pub struct AuditEntry {
    pub id: i64,
    pub at: NaiveDateTime,
    pub api_key_id: Option<i64>,
    pub request_id: String,
    pub method: String,
    pub route: String,
    pub status: i32,
    pub resource_type: String,
    pub resource_id: Option<i64>,
    pub action: String,
}

/// Records `entries` in one transaction.
pub fn record(conn: &mut DbConnection, entries: &[NewAuditEntry]) -> Result<(), AppError> {
    if entries.is_empty() {
        return Ok(());
    }
    write_tx(conn, |conn| {
        for e in entries {
            diesel::insert_into(audit_log::table).values(e).execute(conn)?;
        }
        Ok(())
    })
}

/// Status of rows written inside a request's transaction until its answer is known
/// ([`finish`]); a row left at 0 is a write that committed while the server stopped before
/// answering.
pub const STATUS_PENDING: i32 = 0;

/// Inserts `entries` (on the caller's open transaction) and returns their ids, in order.
pub fn insert_returning_ids(
    conn: &mut DbConnection,
    entries: &[NewAuditEntry],
) -> Result<Vec<i64>, diesel::result::Error> {
    entries
        .iter()
        .map(|e| diesel::insert_into(audit_log::table).values(e).returning(audit_log::id).get_result(conn))
        .collect()
}

/// Completes the rows `ids` written inside the request's transaction, once its answer is
/// known: their status, and the ids of what it created (`created`, one per row: the first
/// fills the row's empty `resource_id`, each further one gets a copy of the row).
pub fn finish(conn: &mut DbConnection, ids: &[i64], status: i32, created: &[(i64, Vec<i64>)]) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        diesel::update(audit_log::table.filter(audit_log::id.eq_any(ids)))
            .set(audit_log::status.eq(status))
            .execute(conn)?;
        for (row_id, resource_ids) in created {
            let Some((first, rest)) = resource_ids.split_first() else { continue };
            diesel::update(audit_log::table.find(row_id)).set(audit_log::resource_id.eq(Some(*first))).execute(conn)?;
            if rest.is_empty() {
                continue;
            }
            let row: AuditEntry = audit_log::table.find(row_id).first(conn)?;
            let copies: Vec<NewAuditEntry> = rest
                .iter()
                .map(|&id| NewAuditEntry {
                    at: row.at,
                    api_key_id: row.api_key_id,
                    request_id: row.request_id.clone(),
                    method: row.method.clone(),
                    route: row.route.clone(),
                    status,
                    resource_type: row.resource_type.clone(),
                    resource_id: Some(id),
                    action: row.action.clone(),
                })
                .collect();
            for copy in &copies {
                diesel::insert_into(audit_log::table).values(copy).execute(conn)?;
            }
        }
        Ok(())
    })
}

/// Audit rows in id order after `after`, `limit + 1` of them (for pagination).
pub fn list(
    conn: &mut DbConnection,
    resource_type: Option<&str>,
    resource_id: Option<i64>,
    after: i64,
    limit: i64,
) -> Result<Vec<AuditEntry>, AppError> {
    let mut q = audit_log::table.filter(audit_log::id.gt(after)).into_boxed();
    if let Some(t) = resource_type {
        q = q.filter(audit_log::resource_type.eq(t.to_string()));
    }
    if let Some(id) = resource_id {
        q = q.filter(audit_log::resource_id.eq(id));
    }
    Ok(q.order(audit_log::id).limit(limit + 1).load(conn)?)
}

/// One event of an invoice's life.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct HistoryEvent {
    /// `created`, `issued`, `voided`, `credited` or `deleted`.
    pub action: String,
    /// RFC 3339, UTC.
    pub at: String,
    /// The API key that did it, and its name (null if the key is gone).
    pub api_key_id: Option<i64>,
    pub api_key_name: Option<String>,
    pub request_id: String,
}

/// The history of invoice `id`, oldest first; 404 if there is no such invoice (or it was a
/// deleted draft without audit rows).
pub fn invoice_history(conn: &mut DbConnection, id: i64) -> Result<Vec<HistoryEvent>, AppError> {
    let rows: Vec<(String, NaiveDateTime, Option<i64>, String)> = audit_log::table
        .filter(audit_log::resource_type.eq("invoice"))
        .filter(audit_log::resource_id.eq(id))
        .order(audit_log::id)
        .select((audit_log::action, audit_log::at, audit_log::api_key_id, audit_log::request_id))
        .load(conn)?;
    if rows.is_empty() {
        let exists: i64 = invoices::table.filter(invoices::id.eq(id)).count().get_result(conn)?;
        if exists == 0 {
            return Err(AppError::NotFound { what: "invoice" });
        }
    }
    let key_ids: Vec<i64> = rows.iter().filter_map(|r| r.2).collect();
    let names: Vec<(i64, String)> =
        api_keys::table.filter(api_keys::id.eq_any(&key_ids)).select((api_keys::id, api_keys::name)).load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(action, at, key, request_id)| HistoryEvent {
            action,
            at: crate::domain::time::timestamp(at),
            api_key_id: key,
            api_key_name: key.and_then(|k| names.iter().find(|(id, _)| *id == k).map(|(_, n)| n.clone())),
            request_id,
        })
        .collect())
}
