//! The audit middleware of `/api/v1` (docs/operations.md, "Audit trail"): every write (POST, PUT, PATCH or
//! DELETE) records who, when, the request and which resources it touched, read from the route
//! pattern, the path's `{id}` and the response body's `id` / `data[].id`. Storage is
//! `service::audit`.
//!
//! The rows are written **inside the request's own write transaction**: this middleware puts
//! them in a task-local, `AppState::run` hands them to `storage::with_before_commit`, and
//! `storage::write_tx` inserts them just before it commits. So a write cannot commit without
//! its audit rows, and a crash cannot leave one without the other. Their status is 0 until the
//! answer is known; then a second, small transaction sets it and fills in the ids of what the
//! request created (known only from the response body). A row left at status 0 is a write that
//! committed while the server stopped before answering.

use std::cell::RefCell;
use std::rc::Rc;

use actix_web::body::{to_bytes, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web::Data;
use actix_web::{HttpMessage, HttpRequest};
use serde_json::Value;

use crate::error::AppError;
use crate::http::request_id::RequestId;
use crate::http::AppState;
use crate::service::audit::{self, NewAuditEntry};
use crate::service::auth::Caller;

/// What a route did, from its pattern (relative to `/api/v1`) and method: the resource type,
/// the action, and where the id comes from.
#[derive(Debug, PartialEq, Eq)]
pub struct Effect {
    pub resource_type: &'static str,
    pub action: &'static str,
    pub ids: IdSource,
}

#[derive(Debug, PartialEq, Eq)]
pub enum IdSource {
    /// The `{id}` of the path.
    Path,
    /// `id`, or each `data[].id`, of the response body.
    Body,
    None,
}

/// The effects of a successful write on `pattern` (e.g. `/api/v1/invoices/{id}/issue`).
pub fn effects(method: &Method, pattern: &str) -> Vec<Effect> {
    use IdSource::*;
    let route = pattern.strip_prefix("/api/v1").unwrap_or(pattern);
    let segments: Vec<&str> = route.trim_matches('/').split('/').collect();
    let e = |resource_type, action, ids| Effect { resource_type, action, ids };
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["invoices", "run"]) => vec![e("invoice", "created", Body)],
        ("POST", ["invoices", "issue"]) => vec![e("invoice", "issued", Body)],
        ("POST", ["invoices", "{id}", "issue"]) => vec![e("invoice", "issued", Path)],
        ("POST", ["invoices", "{id}", "void"]) => vec![e("invoice", "voided", Path)],
        ("POST", ["invoices", "{id}", "credit-notes"]) => {
            vec![e("invoice", "credited", Path), e("credit_note", "created", Body)]
        }
        ("POST", ["subscriptions", "{id}", "blocks"]) => vec![e("prepaid_block", "created", Body)],
        ("POST", ["import", "partner-center", what]) => vec![e(resource_name(what), "imported", None)],
        ("POST", [collection, "{id}", "import"]) => vec![e(resource_name(collection), "imported", Path)],
        ("POST", [collection, "import"]) => vec![e(resource_name(collection), "imported", None)],
        ("POST", [collection]) => vec![e(resource_name(collection), "created", Body)],
        ("PUT" | "PATCH", [collection]) => vec![e(resource_name(collection), "updated", None)],
        ("PUT" | "PATCH", [collection, "{id}"]) => vec![e(resource_name(collection), "updated", Path)],
        ("DELETE", [collection, "{id}"]) => vec![e(resource_name(collection), "deleted", Path)],
        (_, [collection, ..]) => vec![e(resource_name(collection), "changed", None)],
        _ => Vec::new(),
    }
}

/// `time-entries` -> `time_entry`: the singular, as `GET /audit?resource=` takes it.
pub fn resource_name(collection: &str) -> &'static str {
    match collection {
        "customers" => "customer",
        "plans" => "plan",
        "holiday-calendars" => "holiday_calendar",
        "subscriptions" => "subscription",
        "tickets" => "ticket",
        "time-entries" => "time_entry",
        "charges" => "charge",
        "prepaid-blocks" => "prepaid_block",
        "invoices" => "invoice",
        "credit-notes" => "credit_note",
        "api-keys" => "api_key",
        "partner" => "partner",
        _ => "other",
    }
}

fn body_ids(body: &[u8]) -> Vec<i64> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else { return Vec::new() };
    if let Some(id) = value.get("id").and_then(Value::as_i64) {
        return vec![id];
    }
    value
        .get("data")
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(|i| i.get("id").and_then(Value::as_i64)).collect())
        .unwrap_or_default()
}

/// `/api/v1/invoices/12/issue` -> `/api/v1/invoices/{id}/issue`: the route pattern of a write,
/// known before the router has matched it (the ids of every write route are numbers).
pub fn pattern_of(path: &str) -> String {
    path.split('/')
        .map(|s| if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) { "{id}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

tokio::task_local! {
    /// The audit rows of the write request being handled, for `AppState::run` to write inside
    /// the request's first write transaction.
    pub static PENDING_AUDIT: PendingAudit;
}

/// A write request's audit rows: what is known before the handler runs (who, when, the request
/// id, the route, the path's id), written inside its transaction; then the ids of the rows,
/// once written.
#[derive(Clone)]
pub struct PendingAudit {
    rows: Rc<Vec<NewAuditEntry>>,
    written: Rc<RefCell<Option<Vec<i64>>>>,
}

impl PendingAudit {
    /// Records that `ids` were written by a transaction that reached its commit.
    pub fn written(&self, ids: Vec<i64>) {
        *self.written.borrow_mut() = Some(ids);
    }
}

/// The rows still to write in this request's next write transaction, if any.
pub fn pending_rows() -> Option<(PendingAudit, Vec<NewAuditEntry>)> {
    PENDING_AUDIT
        .try_with(|p| p.written.borrow().is_none().then(|| (p.clone(), p.rows.as_ref().clone())))
        .ok()
        .flatten()
}

pub async fn audit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let Some(state) = req.app_data::<Data<AppState>>().cloned() else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let method = req.method().clone();
    let pattern = pattern_of(req.path());
    let effects = effects(&method, &pattern);
    if effects.is_empty() {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let path_id = req.path().split('/').rev().find_map(|s| s.parse::<i64>().ok());
    let caller = req.extensions().get::<Caller>().cloned();
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
    let at = state.clock.now();
    let row = |effect: &Effect, resource_id: Option<i64>, status: i32| NewAuditEntry {
        at,
        api_key_id: caller.as_ref().map(|c| c.key_id),
        request_id: request_id.clone(),
        method: method.to_string(),
        route: pattern.clone(),
        status,
        resource_type: effect.resource_type.to_string(),
        resource_id,
        action: effect.action.to_string(),
    };
    let rows: Vec<NewAuditEntry> = effects
        .iter()
        .map(|e| row(e, if e.ids == IdSource::Path { path_id } else { None }, audit::STATUS_PENDING))
        .collect();
    let pending = PendingAudit { rows: Rc::new(rows), written: Rc::new(RefCell::new(None)) };
    let res = PENDING_AUDIT.scope(pending.clone(), next.call(req)).await?;
    let written = pending.written.borrow_mut().take();
    let status = res.status().as_u16() as i32;
    if written.is_none() && !res.status().is_success() {
        // Nothing committed: nothing to record.
        return Ok(res.map_into_boxed_body());
    }

    let needs_body = res.status().is_success() && effects.iter().any(|e| e.ids == IdSource::Body);
    let (res, body) = if needs_body {
        let (http_req, response) = res.into_parts();
        let (head, body) = response.into_parts();
        let bytes = match to_bytes(body).await {
            Ok(bytes) => bytes,
            Err(e) => {
                let e: Box<dyn std::error::Error> = e.into();
                let e = AppError::Internal(format!("reading the response body: {e}"));
                return Ok(ServiceResponse::from_err(e, http_req).map_into_boxed_body());
            }
        };
        (ServiceResponse::new(http_req, head.set_body(bytes.clone()).map_into_boxed_body()), bytes.to_vec())
    } else {
        (res.map_into_boxed_body(), Vec::new())
    };
    let created_ids = body_ids(&body);
    if res.status().is_success() {
        for effect in &effects {
            let n = if effect.ids == IdSource::Body { created_ids.len() as u64 } else { 1 };
            match (effect.resource_type, effect.action) {
                ("invoice", "issued") => state.metrics.invoices_issued(n),
                ("credit_note", "created") => state.metrics.credit_notes_issued(n),
                _ => {}
            }
        }
    }

    let outcome = match written {
        // The usual case: the rows went in with the request's own transaction; now their
        // status and the ids of what was created.
        Some(ids) => {
            let created: Vec<(i64, Vec<i64>)> = effects
                .iter()
                .zip(&ids)
                .filter(|(e, _)| e.ids == IdSource::Body)
                .map(|(_, &row_id)| (row_id, created_ids.clone()))
                .collect();
            state.run(move |conn| audit::finish(conn, &ids, status, &created)).await
        }
        // A successful write that committed outside `storage::write_tx` (none should): its
        // rows are recorded now, in their own transaction.
        None => {
            let mut entries = Vec::new();
            for effect in &effects {
                let ids: Vec<Option<i64>> = match effect.ids {
                    IdSource::Path => vec![path_id],
                    IdSource::Body => created_ids.iter().copied().map(Some).collect(),
                    IdSource::None => vec![None],
                };
                entries.extend(ids.into_iter().map(|id| row(effect, id, status)));
            }
            log::warn!("request_id={request_id} audit: {method} {pattern} wrote outside a write transaction; recorded after it");
            state.run(move |conn| audit::record(conn, &entries)).await
        }
    };
    if let Err(e) = outcome {
        log::error!("request_id={request_id} audit: completing the record of {method} {pattern} failed: {e:?}");
        state.metrics.audit_failure();
    }
    Ok(res)
}

/// Records writes made outside `/api/v1` (the finance page's run, issue and void), which answer
/// with redirects rather than the bodies the middleware reads: one row per id, status as sent.
pub async fn record_direct(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
    resource_type: &str,
    action: &str,
    ids: &[i64],
    status: u16,
) {
    let request_id = RequestId::of(req);
    let route = req.match_pattern().unwrap_or_else(|| req.path().to_string());
    if (resource_type, action) == ("invoice", "issued") {
        state.metrics.invoices_issued(ids.len() as u64);
    }
    let entries: Vec<NewAuditEntry> = ids
        .iter()
        .map(|id| NewAuditEntry {
            at: state.clock.now(),
            api_key_id: Some(caller.key_id),
            request_id: request_id.clone(),
            method: req.method().to_string(),
            route: route.clone(),
            status: status as i32,
            resource_type: resource_type.to_string(),
            resource_id: Some(*id),
            action: action.to_string(),
        })
        .collect();
    if let Err(e) = state.run(move |conn| audit::record(conn, &entries)).await {
        log::error!("request_id={request_id} audit: recording {} {route} failed: {e:?}", req.method());
        state.metrics.audit_failure();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_map_to_resources_and_actions() {
        let one =
            |m: Method, p: &str| effects(&m, p).into_iter().map(|e| (e.resource_type, e.action)).collect::<Vec<_>>();
        assert_eq!(one(Method::POST, "/api/v1/invoices"), [("invoice", "created")]);
        assert_eq!(one(Method::POST, "/api/v1/invoices/run"), [("invoice", "created")]);
        assert_eq!(one(Method::POST, "/api/v1/invoices/{id}/issue"), [("invoice", "issued")]);
        assert_eq!(one(Method::POST, "/api/v1/invoices/issue"), [("invoice", "issued")]);
        assert_eq!(one(Method::POST, "/api/v1/invoices/{id}/void"), [("invoice", "voided")]);
        assert_eq!(
            one(Method::POST, "/api/v1/invoices/{id}/credit-notes"),
            [("invoice", "credited"), ("credit_note", "created")]
        );
        assert_eq!(one(Method::DELETE, "/api/v1/invoices/{id}"), [("invoice", "deleted")]);
        assert_eq!(one(Method::PATCH, "/api/v1/time-entries/{id}"), [("time_entry", "updated")]);
        assert_eq!(one(Method::POST, "/api/v1/time-entries/import"), [("time_entry", "imported")]);
        assert_eq!(one(Method::PUT, "/api/v1/partner"), [("partner", "updated")]);
        assert_eq!(one(Method::POST, "/api/v1/api-keys"), [("api_key", "created")]);
        assert_eq!(one(Method::POST, "/api/v1/subscriptions/{id}/blocks"), [("prepaid_block", "created")]);
        assert_eq!(one(Method::DELETE, "/api/v1/prepaid-blocks/{id}"), [("prepaid_block", "deleted")]);
    }

    #[test]
    fn ids_come_from_id_or_data() {
        assert_eq!(body_ids(br#"{"id": 7, "x": 1}"#), [7]);
        assert_eq!(body_ids(br#"{"data": [{"id": 1}, {"id": 2}]}"#), [1, 2]);
        assert_eq!(body_ids(b"not json"), Vec::<i64>::new());
    }
}
