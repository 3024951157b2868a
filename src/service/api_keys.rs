//! Creating, listing and revoking API keys (admin only; also `supportbill create-key`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::domain::vocab::Role;
use crate::error::AppError;
use crate::service::auth::{hash_token, new_token};
use crate::storage::models::{ApiKey, NewApiKey};
use crate::storage::schema::{api_keys, customers};
use crate::storage::{write_tx, DbConnection};

pub struct NewKey {
    pub name: String,
    pub role: Role,
    pub customer_id: Option<i64>,
}

/// Creates a key and returns it with its token, which is never retrievable again.
pub fn create(conn: &mut DbConnection, key: NewKey, now: NaiveDateTime) -> Result<(ApiKey, String), AppError> {
    match (key.role, key.customer_id) {
        (Role::Client, None) => return Err(AppError::field("customer_id", "a client key must name its customer")),
        (Role::Admin | Role::Finance, Some(_)) => {
            return Err(AppError::field("customer_id", "only client keys belong to a customer"))
        }
        _ => {}
    }
    let token = new_token()?;
    let row = write_tx(conn, |conn| {
        if let Some(customer_id) = key.customer_id {
            let exists: i64 = customers::table.filter(customers::id.eq(customer_id)).count().get_result(conn)?;
            if exists == 0 {
                return Err(AppError::field("customer_id", "no customer has this id"));
            }
        }
        let new = NewApiKey {
            name: key.name,
            role: key.role,
            customer_id: key.customer_id,
            token_hash: hash_token(&token),
            created_at: now,
        };
        diesel::insert_into(api_keys::table).values(&new).execute(conn)?;
        let row: ApiKey =
            api_keys::table.filter(api_keys::token_hash.eq(&new.token_hash)).select(ApiKey::as_select()).first(conn)?;
        Ok::<_, AppError>(row)
    })?;
    Ok((row, token))
}

pub fn list(conn: &mut DbConnection, after: i64, limit: i64) -> Result<Vec<ApiKey>, AppError> {
    Ok(api_keys::table
        .filter(api_keys::id.gt(after))
        .order(api_keys::id)
        .limit(limit + 1)
        .select(ApiKey::as_select())
        .load(conn)?)
}

/// Revoking is immediate: the next request with that token is a 401, and the key's finance
/// page sessions end.
pub fn revoke(conn: &mut DbConnection, id: i64, now: NaiveDateTime) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        let n = diesel::update(api_keys::table.filter(api_keys::id.eq(id)).filter(api_keys::revoked_at.is_null()))
            .set(api_keys::revoked_at.eq(Some(now)))
            .execute(conn)?;
        if n == 0 {
            return Err(AppError::NotFound { what: "api key" });
        }
        crate::service::web_sessions::end_sessions_of_key(conn, id)
    })
}

pub fn count(conn: &mut DbConnection) -> Result<i64, AppError> {
    Ok(api_keys::table.count().get_result(conn)?)
}
