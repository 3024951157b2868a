//! The request id (docs/operations.md, "Request ids and logs"): taken from `X-Request-Id` when it is sane
//! (1 to 128 characters of `A-Z a-z 0-9 - _ . : /`), else generated (16 random bytes, hex).
//! It is kept in the request's extensions as [`RequestId`], echoed in the `X-Request-Id`
//! response header and in problem+json bodies (`request_id`), written to the audit trail and
//! to the request's log lines (`request_id=...`). The same middleware counts the request for
//! `/metrics` and writes the one access-log line per request.

use std::time::Instant;

use actix_web::body::{to_bytes, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web::Data;
use actix_web::{HttpMessage, HttpRequest};

use crate::http::AppState;

pub const HEADER: &str = "x-request-id";

/// The id of the request being served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    /// The id of `req`, or `-` outside the middleware (never expected).
    pub fn of(req: &HttpRequest) -> String {
        req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_else(|| "-".into())
    }
}

/// Whether a client's id may be used as is (and so appear in logs and headers).
pub fn is_sane(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/'))
}

pub fn generate() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No randomness: still unique enough within the process for correlating logs.
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        bytes.copy_from_slice(&nanos.to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Outermost middleware: assigns the id, echoes it on every response (errors included), adds
/// it to problem+json bodies, counts the request in `/metrics` and writes the access log line.
pub async fn assign(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| is_sane(v))
        .map(str::to_string)
        .unwrap_or_else(generate);
    req.extensions_mut().insert(RequestId(id.clone()));
    let peer = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_else(|| "-".into());
    // Our middleware answers its errors (401, 429, ...) as responses, not `Err`, so they pass
    // through here and get the header too. (Cloning the request to answer an `Err` here would
    // break routing, which needs the only reference.)
    let res = next.call(req).await?;
    let mut res = tag_problem(res, &id).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HeaderName::from_static(HEADER), value);
    }

    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    let request = res.request();
    let route = request.match_pattern();
    if let Some(state) = request.app_data::<Data<AppState>>() {
        state.metrics.observe(request.method(), route.clone(), status, elapsed);
    }
    if status >= 500 {
        // The cause, which the client never sees.
        let cause = res.response().error().map(|e| format!("{e:?}")).unwrap_or_else(|| "-".into());
        log::error!("request_id={id} status={status} error={cause:?}");
    }
    log::info!(
        target: "supportbill::access",
        "request_id={id} peer={peer} method={} path={} route={} status={status} duration_ms={:.1}",
        request.method(),
        request.path(),
        route.as_deref().unwrap_or("-"),
        elapsed.as_secs_f64() * 1000.0
    );
    Ok(res)
}

/// Innermost middleware of `/api/v1`: adds the request id to problem+json bodies before the
/// idempotency layer stores them, so a replay is the first response byte for byte.
pub async fn tag_problems(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    let res = next.call(req).await?;
    Ok(match id {
        Some(id) => tag_problem(res, &id).await,
        None => res.map_into_boxed_body(),
    })
}

/// `{"type": ..., "code": ...}` -> `{"type": ..., "code": ..., "request_id": "ID"}`, unless it
/// has one already. The id is plain ASCII (`is_sane` or generated hex), so it needs no escaping.
async fn tag_problem<B: MessageBody + 'static>(res: ServiceResponse<B>, id: &str) -> ServiceResponse<BoxBody> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/problem+json"));
    if !is_problem {
        return res.map_into_boxed_body();
    }
    let (http_req, response) = res.into_parts();
    let (head, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body).await else {
        return ServiceResponse::new(http_req, head.set_body(BoxBody::new(())));
    };
    let text = String::from_utf8_lossy(&bytes);
    let tagged = match text.trim_end().strip_suffix('}') {
        Some(open) if !text.contains("\"request_id\"") && open.trim_start().starts_with('{') => {
            let sep = if open.trim_end().ends_with('{') { "" } else { "," };
            format!("{open}{sep}\"request_id\":\"{id}\"}}").into_bytes()
        }
        _ => bytes.to_vec(),
    };
    let mut head = head;
    head.headers_mut().remove(header::CONTENT_LENGTH);
    ServiceResponse::new(http_req, head.set_body(tagged).map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_ids_are_taken() {
        assert!(is_sane("abc-123"));
        assert!(is_sane("0f8fad5b-d9cb-469f-a165-70867728950e"));
        assert!(!is_sane(""));
        assert!(!is_sane("a b"));
        assert!(!is_sane("x\"; drop"));
        assert!(!is_sane(&"a".repeat(129)));
        assert_eq!(generate().len(), 32);
        assert!(is_sane(&generate()));
    }
}
