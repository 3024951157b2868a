//! Idempotency keys, storage side: claiming a key for one request, storing the response it
//! produced, and releasing the claim when the response is not to be kept (5xx, errors). The
//! HTTP side (reading the header, fingerprinting, replaying) is `http::idempotency`.
//!
//! A claim is its own short transaction, committed before the handler runs, so a concurrent
//! retry sees the key taken (409 `idempotency_in_progress`) rather than running the write twice.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::error::AppError;
use crate::storage::schema::idempotency_keys as ik;
use crate::storage::{write_tx, DbConnection};

/// How long a stored response is replayed (at least 24 hours, as docs/operations.md promises).
pub const RETENTION_HOURS: i64 = 24;
/// A claim still running after this long is taken to be abandoned (a crashed process) and may
/// be claimed again.
pub const STALE_AFTER_MINUTES: i64 = 10;

/// A stored response: status, the headers that matter, and the body bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What a request with an idempotency key may do.
#[derive(Debug)]
pub enum Claim {
    /// The key is ours (row id): run the request, then [`complete`] or [`release`].
    New(i64),
    /// Same key, same fingerprint, already answered: replay this.
    Replay(Stored),
    /// Same key, same fingerprint, the first request is still running.
    InProgress,
    /// Same key, another request.
    Reused,
}

type Row = (i64, String, Option<i32>, String, Option<Vec<u8>>, NaiveDateTime);

/// Claims `key` for the caller's API key, purging expired rows first.
pub fn claim(
    conn: &mut DbConnection,
    api_key_id: i64,
    key: &str,
    fingerprint: &str,
    now: NaiveDateTime,
) -> Result<Claim, AppError> {
    // Two first requests racing on PostgreSQL: the loser's insert waits for the winner's commit
    // and then fails on the unique index; its second attempt sees the winner's row.
    let mut attempts = 0;
    loop {
        attempts += 1;
        match write_tx(conn, |conn| claim_once(conn, api_key_id, key, fingerprint, now)) {
            Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
                if attempts < 3 =>
            {
                continue
            }
            other => return other.map_err(AppError::from),
        }
    }
}

fn claim_once(
    conn: &mut DbConnection,
    api_key_id: i64,
    key: &str,
    fingerprint: &str,
    now: NaiveDateTime,
) -> Result<Claim, diesel::result::Error> {
    diesel::delete(ik::table.filter(ik::expires_at.lt(now))).execute(conn)?;
    let existing: Option<Row> = ik::table
        .filter(ik::api_key_id.eq(api_key_id))
        .filter(ik::idem_key.eq(key))
        .select((ik::id, ik::fingerprint, ik::status, ik::headers, ik::body, ik::created_at))
        .first(conn)
        .optional()?;
    if let Some((id, stored_fingerprint, status, headers, body, created_at)) = existing {
        if stored_fingerprint != fingerprint {
            return Ok(Claim::Reused);
        }
        match status {
            Some(status) => {
                let headers: Vec<(String, String)> = serde_json::from_str(&headers).unwrap_or_default();
                return Ok(Claim::Replay(Stored { status: status as u16, headers, body: body.unwrap_or_default() }));
            }
            None if created_at > now - Duration::minutes(STALE_AFTER_MINUTES) => return Ok(Claim::InProgress),
            None => {
                diesel::delete(ik::table.find(id)).execute(conn)?;
            }
        }
    }
    let id: i64 = diesel::insert_into(ik::table)
        .values((
            ik::api_key_id.eq(api_key_id),
            ik::idem_key.eq(key),
            ik::fingerprint.eq(fingerprint),
            ik::headers.eq("[]"),
            ik::created_at.eq(now),
            ik::expires_at.eq(now + Duration::hours(RETENTION_HOURS)),
        ))
        .returning(ik::id)
        .get_result(conn)?;
    Ok(Claim::New(id))
}

/// Stores the response of a claimed key.
pub fn complete(conn: &mut DbConnection, id: i64, response: &Stored) -> Result<(), AppError> {
    let headers = serde_json::to_string(&response.headers).map_err(|e| AppError::Internal(e.to_string()))?;
    write_tx(conn, |conn| {
        diesel::update(ik::table.find(id))
            .set((
                ik::status.eq(Some(response.status as i32)),
                ik::headers.eq(headers),
                ik::body.eq(Some(response.body.as_slice())),
            ))
            .execute(conn)
    })?;
    Ok(())
}

/// Gives a claimed key up: the response is not kept, and a retry runs the request again.
pub fn release(conn: &mut DbConnection, id: i64) -> Result<(), AppError> {
    write_tx(conn, |conn| diesel::delete(ik::table.find(id)).execute(conn))?;
    Ok(())
}
