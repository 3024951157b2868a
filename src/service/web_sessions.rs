//! Sessions of the finance page. Signing in with an API key creates a session: a random id the
//! browser keeps in its cookie, stored here only as its SHA-256 hash, and a random CSRF token
//! every form of the page carries. A session ends after [`IDLE_LIMIT`] without a request,
//! after [`LIFETIME`] whatever happens, at sign-out, and when its key is revoked (each lookup
//! joins the key, and revoking deletes the key's sessions). Why these limits:
//! docs/decisions.md, "Finance page sessions".

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::error::AppError;
use crate::service::auth::{self, Caller};
use crate::storage::schema::{api_keys, web_sessions};
use crate::storage::{write_tx, DbConnection};

/// A session ends after this long without a request.
pub const IDLE_LIMIT: Duration = Duration::hours(1);
/// A session ends this long after sign-in, however busy: a working day.
pub const LIFETIME: Duration = Duration::hours(10);
/// How stale `last_seen_at` may get before a request writes it again (so browsing is not a
/// write per page).
const TOUCH_AFTER: Duration = Duration::minutes(1);

/// A session as the browser holds it: its id (for the cookie) and its CSRF token.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub id: String,
    pub csrf_token: String,
}

/// A live session's caller and the token its forms must carry.
#[derive(Clone, Debug)]
pub struct Session {
    pub caller: Caller,
    pub csrf_token: String,
}

/// Checks the API key and opens a session for it; also clears out sessions that have ended.
pub fn sign_in(conn: &mut DbConnection, api_key: &str, now: NaiveDateTime) -> Result<(Caller, NewSession), AppError> {
    write_tx(conn, |conn| {
        let caller = auth::authenticate(conn, api_key)?;
        diesel::delete(
            web_sessions::table.filter(
                web_sessions::last_seen_at.le(now - IDLE_LIMIT).or(web_sessions::created_at.le(now - LIFETIME)),
            ),
        )
        .execute(conn)?;
        let session = NewSession { id: auth::random_hex()?, csrf_token: auth::random_hex()? };
        diesel::insert_into(web_sessions::table)
            .values((
                web_sessions::token_hash.eq(auth::hash_token(&session.id)),
                web_sessions::api_key_id.eq(caller.key_id),
                web_sessions::csrf_token.eq(&session.csrf_token),
                web_sessions::created_at.eq(now),
                web_sessions::last_seen_at.eq(now),
            ))
            .execute(conn)?;
        Ok((caller, session))
    })
}

/// The live session with this id, its last activity moved to `now`; `Unauthorized` when there
/// is none, it has ended, or its key is revoked.
pub fn resume(conn: &mut DbConnection, session_id: &str, now: NaiveDateTime) -> Result<Session, AppError> {
    if !auth::plausible_token(session_id) {
        return Err(AppError::Unauthorized);
    }
    let hash = auth::hash_token(session_id);
    let row: Option<(i64, String, NaiveDateTime, NaiveDateTime)> = web_sessions::table
        .inner_join(api_keys::table)
        .filter(web_sessions::token_hash.eq(&hash))
        .filter(api_keys::revoked_at.is_null())
        .select((
            web_sessions::api_key_id,
            web_sessions::csrf_token,
            web_sessions::created_at,
            web_sessions::last_seen_at,
        ))
        .first(conn)
        .optional()?;
    let (key_id, csrf_token, created_at, last_seen_at) = row.ok_or(AppError::Unauthorized)?;
    if now - last_seen_at >= IDLE_LIMIT || now - created_at >= LIFETIME {
        diesel::delete(web_sessions::table.filter(web_sessions::token_hash.eq(&hash))).execute(conn)?;
        return Err(AppError::Unauthorized);
    }
    if now - last_seen_at >= TOUCH_AFTER {
        diesel::update(web_sessions::table.filter(web_sessions::token_hash.eq(&hash)))
            .set(web_sessions::last_seen_at.eq(now))
            .execute(conn)?;
    }
    let caller = auth::caller_of_key(conn, key_id)?;
    Ok(Session { caller, csrf_token })
}

/// Ends the session with this id (nothing to do when there is none).
pub fn sign_out(conn: &mut DbConnection, session_id: &str) -> Result<(), AppError> {
    if auth::plausible_token(session_id) {
        diesel::delete(web_sessions::table.filter(web_sessions::token_hash.eq(auth::hash_token(session_id))))
            .execute(conn)?;
    }
    Ok(())
}

/// Ends every session of key `key_id` (when the key is revoked).
pub fn end_sessions_of_key(conn: &mut DbConnection, key_id: i64) -> Result<(), AppError> {
    diesel::delete(web_sessions::table.filter(web_sessions::api_key_id.eq(key_id))).execute(conn)?;
    Ok(())
}
