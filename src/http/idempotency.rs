//! The `Idempotency-Key` middleware of `/api/v1` (docs/operations.md, "Idempotency keys"): a POST carrying the
//! header runs at most once per API key and key; retries get the first response back byte for
//! byte, with `Idempotency-Replayed: true`. Storage is `service::idempotency`.
//!
//! Runs inside `authenticate` (it needs the caller's key id). Only 2xx and 4xx responses are
//! kept; a 5xx or a failure releases the key so the retry runs again.

use actix_web::body::{to_bytes, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, Data};
use actix_web::{HttpMessage, HttpResponse};
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::http::extract::read_body;
use crate::http::request_id::RequestId;
use crate::http::AppState;
use crate::service::auth::Caller;
use crate::service::idempotency::{self as store, Claim, Stored};

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
pub const IDEMPOTENCY_REPLAYED: &str = "idempotency-replayed";
/// The response headers stored and replayed with the body.
const KEPT_HEADERS: [HeaderName; 4] =
    [header::CONTENT_TYPE, header::LOCATION, header::CONTENT_DISPOSITION, header::ETAG];

/// 1 to 255 visible ASCII characters (0x21 to 0x7E), else 422 naming the header.
pub fn parse_key(value: &HeaderValue) -> Result<String, AppError> {
    let bytes = value.as_bytes();
    if bytes.is_empty() || bytes.len() > 255 || !bytes.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return Err(AppError::field("Idempotency-Key", "must be 1 to 255 visible ASCII characters (no spaces)"));
    }
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

/// SHA-256 over method, path with query, and body, hex.
pub fn fingerprint(method: &Method, path_and_query: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_str().as_bytes());
    h.update(b"\n");
    h.update(path_and_query.as_bytes());
    h.update(b"\n");
    h.update(body);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if req.method() != Method::POST || !req.headers().contains_key(IDEMPOTENCY_KEY) {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    // Errors before the handler are answered here (not returned as `Err`), like `authenticate`.
    let (state, row) = match claim(&mut req).await {
        Ok((state, Claim::New(row))) => (state, row),
        Ok((_, Claim::Replay(stored))) => return Ok(req.into_response(replay(stored))),
        Ok((_, Claim::InProgress)) => {
            let e = AppError::conflict(
                "idempotency_in_progress",
                "a request with this Idempotency-Key is still running; retry later",
            );
            return Ok(req.error_response(e).map_into_boxed_body());
        }
        Ok((_, Claim::Reused)) => {
            let e = AppError::unprocessable(
                "idempotency_key_reused",
                "this Idempotency-Key was used with another request (method, path or body)",
            );
            return Ok(req.error_response(e).map_into_boxed_body());
        }
        Err(e) => return Ok(req.error_response(e).map_into_boxed_body()),
    };

    let res = match next.call(req).await {
        Ok(res) => res,
        Err(e) => {
            release(&state, row).await;
            return Err(e);
        }
    };
    let status = res.status();
    if !(status.is_success() || status.is_client_error()) {
        release(&state, row).await;
        return Ok(res.map_into_boxed_body());
    }
    let (http_req, response) = res.into_parts();
    let (head, body) = response.into_parts();
    let bytes: Bytes = match to_bytes(body).await {
        Ok(b) => b,
        Err(e) => {
            release(&state, row).await;
            let e: Box<dyn std::error::Error> = e.into();
            let e = AppError::Internal(format!("reading the response body: {e}"));
            return Ok(ServiceResponse::from_err(e, http_req).map_into_boxed_body());
        }
    };
    let headers = KEPT_HEADERS
        .iter()
        .filter_map(|name| {
            head.headers().get(name).and_then(|v| v.to_str().ok()).map(|v| (name.as_str().to_string(), v.to_string()))
        })
        .collect();
    let stored = Stored { status: status.as_u16(), headers, body: bytes.to_vec() };
    if let Err(e) = state.run(move |conn| store::complete(conn, row, &stored)).await {
        // The write happened; the response is still the client's. A retry will get 409 until
        // the claim goes stale, never a second write.
        log::error!(
            "request_id={} idempotency: storing the response of claim {row} failed: {e:?}",
            RequestId::of(&http_req)
        );
    }
    Ok(ServiceResponse::new(http_req, head.set_body(bytes).map_into_boxed_body()))
}

/// Validates the key, reads the body (and puts it back for the handler), and claims the key.
async fn claim(req: &mut ServiceRequest) -> Result<(Data<AppState>, Claim), AppError> {
    let key = match req.headers().get(IDEMPOTENCY_KEY) {
        Some(value) => parse_key(value)?,
        None => return Err(AppError::Internal("no idempotency key".into())),
    };
    let caller = req.extensions().get::<Caller>().cloned().ok_or(AppError::Unauthorized)?;
    let state = req.app_data::<Data<AppState>>().cloned().ok_or_else(|| AppError::Internal("no app state".into()))?;
    let body = {
        let (http_req, payload) = req.parts_mut();
        read_body(http_req, payload).await?
    };
    let path = req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let fp = fingerprint(req.method(), &path, &body);
    req.set_payload(Payload::from(body));
    let now = state.clock.now();
    let key_id = caller.key_id;
    let claim = state.run(move |conn| store::claim(conn, key_id, &key, &fp, now)).await?;
    Ok((state, claim))
}

async fn release(state: &AppState, row: i64) {
    if let Err(e) = state.run(move |conn| store::release(conn, row)).await {
        log::error!("idempotency: releasing claim {row} failed: {e:?}");
    }
}

fn replay(stored: Stored) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    for (name, value) in stored.headers {
        response.insert_header((name, value));
    }
    response.insert_header((IDEMPOTENCY_REPLAYED, "true"));
    response.body(stored.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_of_1_to_255() {
        let ok = |s: &str| parse_key(&HeaderValue::from_str(s).unwrap()).is_ok();
        assert!(ok("a"));
        assert!(ok(&"k".repeat(255)));
        assert!(ok("3f2a-9b!~"));
        assert!(!ok(""));
        assert!(!ok(&"k".repeat(256)));
        assert!(!ok("with space"));
        assert!(parse_key(&HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap()).is_err());
    }

    #[test]
    fn the_fingerprint_covers_method_path_and_body() {
        let a = fingerprint(&Method::POST, "/api/v1/customers", b"{}");
        assert_eq!(a, fingerprint(&Method::POST, "/api/v1/customers", b"{}"));
        assert_ne!(a, fingerprint(&Method::POST, "/api/v1/plans", b"{}"));
        assert_ne!(a, fingerprint(&Method::POST, "/api/v1/customers", b"{ }"));
        assert_eq!(a.len(), 64);
    }
}
