//! API keys and who may do what. Tokens are random, shown once, and stored only as a SHA-256
//! hash; a lookup by hash is a constant-time comparison in effect (the database compares hashes,
//! never the secret).

use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::domain::vocab::Role;
use crate::error::AppError;
use crate::storage::schema::api_keys;
use crate::storage::DbConnection;

/// The authenticated caller of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub key_id: i64,
    pub role: Role,
    /// Set for client keys: the one customer whose data they may read.
    pub customer_id: Option<i64>,
}

impl Caller {
    /// Admin and finance see all data. Clients get 404 for what is not theirs, as if absent.
    pub fn require_staff(&self, what: &'static str) -> Result<(), AppError> {
        match self.role {
            Role::Admin | Role::Finance => Ok(()),
            Role::Client => Err(AppError::NotFound { what }),
        }
    }

    /// Admin only (keys, partner settings). Finance gets 403; clients 404.
    pub fn require_admin(&self, what: &'static str) -> Result<(), AppError> {
        match self.role {
            Role::Admin => Ok(()),
            Role::Finance => Err(AppError::forbidden("only an admin key may do this")),
            Role::Client => Err(AppError::NotFound { what }),
        }
    }

    /// For reads of one customer's data: clients only their own.
    pub fn may_see_customer(&self, customer_id: i64) -> bool {
        match self.role {
            Role::Admin | Role::Finance => true,
            Role::Client => self.customer_id == Some(customer_id),
        }
    }

    pub fn is_client(&self) -> bool {
        self.role == Role::Client
    }
}

pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new token: `sb_` and 32 random bytes in hex.
pub fn new_token() -> Result<String, AppError> {
    Ok(format!("sb_{}", random_hex()?))
}

/// 32 random bytes from the operating system, in hex.
pub fn random_hex() -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

pub fn authenticate(conn: &mut DbConnection, token: &str) -> Result<Caller, AppError> {
    if !plausible_token(token) {
        return Err(AppError::Unauthorized);
    }
    authenticate_hash(conn, &hash_token(token))
}

/// Tokens are short; anything empty or long is refused before it is hashed.
pub fn plausible_token(token: &str) -> bool {
    !token.is_empty() && token.len() <= 200
}

/// [`authenticate`] with the token already hashed ([`hash_token`]).
pub fn authenticate_hash(conn: &mut DbConnection, hash: &str) -> Result<Caller, AppError> {
    let row: Option<(i64, String, Option<i64>)> = api_keys::table
        .filter(api_keys::token_hash.eq(hash))
        .filter(api_keys::revoked_at.is_null())
        .select((api_keys::id, api_keys::role, api_keys::customer_id))
        .first(conn)
        .optional()?;
    let (key_id, role, customer_id) = row.ok_or(AppError::Unauthorized)?;
    let role = Role::parse(&role).ok_or(AppError::Unauthorized)?;
    Ok(Caller { key_id, role, customer_id })
}

/// The caller of live key `key_id` (a finance page session's key); `Unauthorized` when it is
/// revoked or gone.
pub fn caller_of_key(conn: &mut DbConnection, key_id: i64) -> Result<Caller, AppError> {
    let row: Option<(i64, String, Option<i64>)> = api_keys::table
        .filter(api_keys::id.eq(key_id))
        .filter(api_keys::revoked_at.is_null())
        .select((api_keys::id, api_keys::role, api_keys::customer_id))
        .first(conn)
        .optional()?;
    let (key_id, role, customer_id) = row.ok_or(AppError::Unauthorized)?;
    let role = Role::parse(&role).ok_or(AppError::Unauthorized)?;
    Ok(Caller { key_id, role, customer_id })
}

/// Whether key `key_id` still exists and is not revoked: the per-request check of a caller the
/// authentication cache remembered (`http::auth_cache`), by primary key.
pub fn is_live(conn: &mut DbConnection, key_id: i64) -> Result<bool, AppError> {
    let found: Option<i64> = api_keys::table
        .filter(api_keys::id.eq(key_id))
        .filter(api_keys::revoked_at.is_null())
        .select(api_keys::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}
