//! The request id (README "Request ids and logs"): taken from `X-Request-Id` when it is sane
//! (1 to 128 characters of `A-Z a-z 0-9 - _ . : /`), else generated (16 random bytes, hex).
//! It is kept in the request's extensions as [`RequestId`], echoed in the `X-Request-Id`
//! response header, written to the audit trail and to every log line of the request.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest};

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
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        bytes.copy_from_slice(&nanos.to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Outermost middleware: assigns the id and echoes it on every response, errors included.
pub async fn assign(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| is_sane(v))
        .map(str::to_string)
        .unwrap_or_else(generate);
    req.extensions_mut().insert(RequestId(id.clone()));
    // Our middleware answers its errors (401, 429, ...) as responses, not `Err`, so they pass
    // through here and get the header too. (Cloning the request to answer an `Err` here would
    // break routing, which needs the only reference.)
    let mut res = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HeaderName::from_static(HEADER), value);
    }
    Ok(res)
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
