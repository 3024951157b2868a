//! The audit middleware of `/api/v1` (README "Audit trail"): after a successful write (a 2xx
//! answer to POST, PUT, PATCH or DELETE) it records who, when, the request and which resources
//! it touched, read from the route pattern, the path's `{id}` and the response body's `id` /
//! `data[].id`. Storage is `service::audit`.
//!
//! The rows are written right after the handler's transaction commits, in their own
//! transaction (the services each own their transaction; threading the audit into all of them
//! would touch every service). If recording fails the write still stands: the failure is logged
//! with the request id and counted in `/metrics` (`supportbill_audit_failures_total`).

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
        ("POST", ["import", "partner-center", what]) => vec![e(resource_name(what), "imported", None)],
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
        "subscriptions" => "subscription",
        "tickets" => "ticket",
        "time-entries" => "time_entry",
        "charges" => "charge",
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

pub async fn audit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let res = next.call(req).await?;
    if !res.status().is_success() {
        return Ok(res.map_into_boxed_body());
    }
    let request = res.request().clone();
    let method = request.method().clone();
    let pattern = request.match_pattern().unwrap_or_else(|| request.path().to_string());
    let effects = effects(&method, &pattern);
    let needs_body = effects.iter().any(|e| e.ids == IdSource::Body);
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

    let Some(state) = request.app_data::<Data<AppState>>().cloned() else { return Ok(res) };
    let caller = request.extensions().get::<Caller>().cloned();
    let request_id = request.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
    let path_id = request.match_info().get("id").and_then(|id| id.parse::<i64>().ok());
    let at = state.clock.now();
    for effect in &effects {
        let n = match effect.ids {
            IdSource::Body => body_ids(&body).len() as u64,
            _ => 1,
        };
        match (effect.resource_type, effect.action) {
            ("invoice", "issued") => state.metrics.invoices_issued(n),
            ("credit_note", "created") => state.metrics.credit_notes_issued(n),
            _ => {}
        }
    }
    let status = res.status().as_u16() as i32;
    let mut entries = Vec::new();
    for effect in &effects {
        let ids: Vec<Option<i64>> = match effect.ids {
            IdSource::Path => vec![path_id],
            IdSource::Body => body_ids(&body).into_iter().map(Some).collect(),
            IdSource::None => vec![None],
        };
        for resource_id in ids {
            entries.push(NewAuditEntry {
                at,
                api_key_id: caller.as_ref().map(|c| c.key_id),
                request_id: request_id.clone(),
                method: method.to_string(),
                route: pattern.clone(),
                status,
                resource_type: effect.resource_type.to_string(),
                resource_id,
                action: effect.action.to_string(),
            });
        }
    }
    if let Err(e) = state.run(move |conn| audit::record(conn, &entries)).await {
        log::error!("request_id={request_id} audit: recording {method} {pattern} failed: {e:?}");
        state.metrics.audit_failure();
    }
    Ok(res)
}

/// Records writes made outside `/api/v1` (the finance page's run, issue and void), which answer
/// with redirects rather than the bodies the middleware reads: one row per id, status as sent.
pub async fn record_direct(state: &AppState, req: &HttpRequest, caller: &Caller, resource_type: &str, action: &str, ids: &[i64], status: u16) {
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
        let one = |m: Method, p: &str| effects(&m, p).into_iter().map(|e| (e.resource_type, e.action)).collect::<Vec<_>>();
        assert_eq!(one(Method::POST, "/api/v1/invoices"), [("invoice", "created")]);
        assert_eq!(one(Method::POST, "/api/v1/invoices/run"), [("invoice", "created")]);
        assert_eq!(one(Method::POST, "/api/v1/invoices/{id}/issue"), [("invoice", "issued")]);
        assert_eq!(one(Method::POST, "/api/v1/invoices/issue"), [("invoice", "issued")]);
        assert_eq!(one(Method::POST, "/api/v1/invoices/{id}/void"), [("invoice", "voided")]);
        assert_eq!(one(Method::POST, "/api/v1/invoices/{id}/credit-notes"), [("invoice", "credited"), ("credit_note", "created")]);
        assert_eq!(one(Method::DELETE, "/api/v1/invoices/{id}"), [("invoice", "deleted")]);
        assert_eq!(one(Method::PATCH, "/api/v1/time-entries/{id}"), [("time_entry", "updated")]);
        assert_eq!(one(Method::POST, "/api/v1/time-entries/import"), [("time_entry", "imported")]);
        assert_eq!(one(Method::PUT, "/api/v1/partner"), [("partner", "updated")]);
        assert_eq!(one(Method::POST, "/api/v1/api-keys"), [("api_key", "created")]);
    }

    #[test]
    fn ids_come_from_id_or_data() {
        assert_eq!(body_ids(br#"{"id": 7, "x": 1}"#), [7]);
        assert_eq!(body_ids(br#"{"data": [{"id": 1}, {"id": 2}]}"#), [1, 2]);
        assert_eq!(body_ids(b"not json"), Vec::<i64>::new());
    }
}
