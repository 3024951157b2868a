//! Who a token belongs to, remembered between requests, without ever trusting a revoked key.
//!
//! A key's identity (id, role, customer) never changes after it is created; only its
//! revocation does, and a revoked key must be refused at once, by every server process on the
//! database. So the cache answers *who* (saving the lookup by hash), and the database is still
//! asked, on every request, whether that key is still live: by primary key, on the same pooled
//! connection and in the same trip through the blocking pool as the handler's own first query
//! ([`AppState::run`](crate::http::AppState::run) does it before running the handler's work).
//! That halves the trips of a cached read such as `GET /invoices/{id}`.
//!
//! The check is carried to `AppState::run` in a task-local set around the handler. A request
//! whose handler never reached the database (it failed on its body or query first, say) is
//! checked by the middleware afterwards, in a trip of its own, and answered 401 if the key was
//! revoked; so every answer to a revoked key is a 401, exactly as without the cache.

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::RwLock;

use crate::service::auth::Caller;

/// At most this many keys are remembered; past it the cache starts again (only keys that
/// authenticated are ever stored, so this bounds memory, not correctness).
const CAPACITY: usize = 10_000;

/// Token hash (hex SHA-256) to the key's identity.
#[derive(Default)]
pub struct AuthCache {
    callers: RwLock<HashMap<String, Caller>>,
}

impl AuthCache {
    pub fn get(&self, token_hash: &str) -> Option<Caller> {
        self.callers.read().ok()?.get(token_hash).cloned()
    }

    pub fn insert(&self, token_hash: String, caller: Caller) {
        if let Ok(mut map) = self.callers.write() {
            if map.len() >= CAPACITY {
                map.clear();
            }
            map.insert(token_hash, caller);
        }
    }

    /// Forgets every token of `key_id` (once it is known to be revoked).
    pub fn forget_key(&self, key_id: i64) {
        if let Ok(mut map) = self.callers.write() {
            map.retain(|_, c| c.key_id != key_id);
        }
    }
}

/// A cached caller whose key has not yet been confirmed live during this request.
#[derive(Clone)]
pub struct PendingCheck {
    pub key_id: i64,
    state: Rc<Cell<CheckState>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckState {
    Unchecked,
    Live,
    Revoked,
}

impl PendingCheck {
    pub fn new(key_id: i64) -> PendingCheck {
        PendingCheck { key_id, state: Rc::new(Cell::new(CheckState::Unchecked)) }
    }

    pub fn state(&self) -> CheckState {
        self.state.get()
    }

    pub fn settle(&self, live: bool) {
        self.state.set(if live { CheckState::Live } else { CheckState::Revoked });
    }
}

tokio::task_local! {
    /// Set by the authentication middleware around the handler of a request authenticated
    /// from the cache.
    pub static PENDING: PendingCheck;
}

/// The key to confirm in the next database trip of this request, if any.
pub fn pending_key() -> Option<PendingCheck> {
    PENDING.try_with(|p| (p.state() == CheckState::Unchecked).then(|| p.clone())).ok().flatten()
}
