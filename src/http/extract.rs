//! Request extractors and the authentication middleware, failing with our own problem+json
//! errors: the caller's API key (401), the body (413 when too large, 408 when too slow), and
//! JSON parsing (400 when it is not JSON, 422 naming the field when a value has the wrong type).

use std::future::Future;
use std::pin::Pin;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::Payload;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::web::{Bytes, Data};
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use serde::de::DeserializeOwned;

use crate::error::AppError;
use crate::http::auth_cache::{self, CheckState, PendingCheck};
use crate::http::body_deadline;
use crate::http::ratelimit::{client_ip, Subject};
use crate::http::AppState;
use crate::service::auth::{self, Caller};

/// Largest request body: an array of 10,000 time entries fits with room to spare.
pub const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// A JSON body of type `T`, read but not yet parsed: handlers call [`JsonBody::parse`] after
/// authorization, so a caller who may not use a route learns nothing from its body errors.
/// The body is read whatever its `Content-Type` says, so `application/json` and a PATCH's
/// `application/merge-patch+json` (RFC 7396) are both taken.
pub struct JsonBody<T> {
    bytes: Bytes,
    _type: std::marker::PhantomData<T>,
}

impl<T: DeserializeOwned> JsonBody<T> {
    /// 400 when it is not JSON, 422 naming the field when a value has the wrong type.
    pub fn parse(&self) -> Result<T, AppError> {
        parse_json(&self.bytes)
    }
}

impl<T> JsonBody<T> {
    /// The same body read as another type (a merge patch's members, beside its shape `T`).
    pub fn parse_as<U: DeserializeOwned>(&self) -> Result<U, AppError> {
        parse_json(&self.bytes)
    }
}

pub async fn read_body(req: &HttpRequest, payload: &mut Payload) -> Result<Bytes, AppError> {
    match Bytes::from_request(req, payload).await {
        Ok(bytes) => Ok(bytes),
        Err(e) => match e.as_error::<PayloadError>() {
            Some(PayloadError::Overflow) => Err(AppError::PayloadTooLarge { limit: BODY_LIMIT }),
            Some(e) if body_deadline::is_timeout(e) => Err(AppError::RequestTimeout),
            _ => Err(AppError::BadRequest {
                code: "unreadable_body",
                detail: "the request body could not be read".into(),
            }),
        },
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        json_error(path, e.into_inner())
    })?;
    // Trailing garbage after the document is malformed JSON, not a field error.
    de.end().map_err(|e| json_error(".".into(), e))?;
    Ok(value)
}

/// A JSON value already parsed (a merged patch) read as `T`, with the same errors as a body:
/// 422 naming the field.
pub fn parse_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, AppError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        json_error(path, e.into_inner())
    })
}

fn json_error(path: String, inner: serde_json::Error) -> AppError {
    match inner.classify() {
        serde_json::error::Category::Data => {
            let message = clean_serde_message(&inner.to_string());
            AppError::field(field_of(&path, &message, "body"), message)
        }
        _ => AppError::BadRequest { code: "malformed_json", detail: format!("the body is not valid JSON: {inner}") },
    }
}

/// The field an error names: the path where a value failed, or for a field that is missing or
/// unknown (which serde reports on the object holding it), that object's path and the field's
/// name from the message; `whole` when neither says more (`body`, `query`).
fn field_of(path: &str, message: &str, whole: &str) -> String {
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next())
        .filter(|name| !name.is_empty());
    match (path, named) {
        (".", Some(name)) => name.to_string(),
        (".", None) => whole.to_string(),
        // (An unknown field's path already ends with its name.)
        (path, Some(name)) if path != name && !path.ends_with(&format!(".{name}")) => format!("{path}.{name}"),
        (path, _) => path.to_string(),
    }
}

/// serde's messages end with " at line 1 column 42", which means nothing to a field-level error.
fn clean_serde_message(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

impl<T: 'static> FromRequest for JsonBody<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let bytes = read_body(&req, &mut payload).await?;
            Ok(JsonBody { bytes, _type: std::marker::PhantomData })
        })
    }
}

/// Authenticates every `/api/v1` request before any extractor runs, so a missing or bad key is
/// a 401 whatever else is wrong with the request; the caller is kept in the extensions.
///
/// A token seen before is recognised from the [`AuthCache`] without a database trip; its key
/// is then confirmed live in the handler's own first trip (see `http::auth_cache`), or here
/// after the handler if it never made one, and a revoked key's answer is replaced by a 401.
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let (caller, cached) = match caller_of(&req).await {
        Ok(found) => found,
        // Answered here rather than returned as `Err`, so outer middleware (the request id)
        // still sees a response.
        Err(e) => return Ok(req.error_response(e).map_into_boxed_body()),
    };
    req.extensions_mut().insert(caller.clone());
    if !cached {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let state = req.app_data::<Data<AppState>>().cloned();
    // (No clone of the request may be kept across `next.call`: the router needs it unshared.)
    let pending = PendingCheck::new(caller.key_id);
    let response = auth_cache::PENDING.scope(pending.clone(), next.call(req)).await;
    let live = match pending.state() {
        CheckState::Live => Ok(true),
        CheckState::Revoked => Ok(false),
        // The handler failed on our side before the check (no connection, say): its answer
        // gives nothing away, and asking a database that is gone again only doubles the wait.
        CheckState::Unchecked if response.as_ref().is_ok_and(|r| r.status().is_server_error()) => Ok(true),
        // The handler answered without touching the database: check now.
        CheckState::Unchecked => match &state {
            Some(state) => {
                let key_id = caller.key_id;
                state.run(move |conn| auth::is_live(conn, key_id)).await
            }
            None => Ok(false),
        },
    };
    let refusal = match live {
        Ok(true) => return response.map(ServiceResponse::map_into_boxed_body),
        Ok(false) => {
            if let Some(state) = &state {
                state.auth_cache.forget_key(caller.key_id);
            }
            AppError::Unauthorized
        }
        Err(e) => e,
    };
    match response {
        Ok(res) => Ok(ServiceResponse::from_err(refusal, res.request().clone()).map_into_boxed_body()),
        Err(_) => Err(refusal.into()),
    }
}

/// The caller, and whether it came from the cache (its key not yet confirmed live).
async fn caller_of(req: &ServiceRequest) -> Result<(Caller, bool), AppError> {
    let token = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|t| t.trim().to_string());
    let state = req.app_data::<Data<AppState>>().cloned().ok_or_else(|| AppError::Internal("no app state".into()))?;
    let Some(token) = token else {
        // No Authorization header: `ratelimit::limit_anonymous` has counted it against the
        // client IP. One that is not a Bearer token (`Basic ...`) passed that check as keyed,
        // so it is counted here, or such refusals would be unlimited.
        if req.headers().contains_key(actix_web::http::header::AUTHORIZATION) {
            state.limits.check(Subject::Ip(client_ip(req)))?;
        }
        return Err(AppError::Unauthorized);
    };
    if !auth::plausible_token(&token) {
        state.limits.check(Subject::Ip(client_ip(req)))?;
        return Err(AppError::Unauthorized);
    }
    let hash = auth::hash_token(&token);
    if let Some(caller) = state.auth_cache.get(&hash) {
        state.limits.check(Subject::Key(caller.key_id))?;
        return Ok((caller, true));
    }
    // Per key when the key is good; a wrong key spends its client IP's budget instead.
    let lookup = hash.clone();
    let caller = match state.run(move |conn| auth::authenticate_hash(conn, &lookup)).await {
        Ok(caller) => caller,
        Err(e) => {
            state.limits.check(Subject::Ip(client_ip(req)))?;
            return Err(e);
        }
    };
    state.auth_cache.insert(hash, caller.clone());
    state.limits.check(Subject::Key(caller.key_id))?;
    Ok((caller, false))
}

impl FromRequest for Caller {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        std::future::ready(req.extensions().get::<Caller>().cloned().ok_or(AppError::Unauthorized))
    }
}

/// The raw body (CSV imports, one-or-many JSON), with the same size limit and errors.
pub struct RawBody(pub Bytes);

impl FromRequest for RawBody {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move { read_body(&req, &mut payload).await.map(RawBody) })
    }
}

/// A query string of type `T`, read but not yet parsed: like [`JsonBody`], handlers call
/// [`DeferredQuery::parse`] after authorization, so a caller who may not use a route gets its
/// 404 (or 403) rather than a 422 about the query. Errors name the parameter (`limit`), or
/// `query` when nothing more precise is known.
pub struct DeferredQuery<T> {
    raw: String,
    _type: std::marker::PhantomData<T>,
}

impl<T: DeserializeOwned> DeferredQuery<T> {
    pub fn parse(&self) -> Result<T, AppError> {
        parse_query(&self.raw)
    }
}

impl<T: 'static> FromRequest for DeferredQuery<T> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        std::future::ready(Ok(DeferredQuery { raw: req.query_string().to_string(), _type: std::marker::PhantomData }))
    }
}

/// Parses a query string into `T`, naming the parameter that failed: `?limit=ten` is a 422 on
/// `limit`, not on the whole query (`web::Query` only says "invalid digit found in string").
pub fn parse_query<T: DeserializeOwned>(raw: &str) -> Result<T, AppError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(raw.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        AppError::field(field_of(&path, &message, "query"), format!("invalid query parameter: {message}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Q {
        from: String,
        limit: Option<u32>,
    }

    fn field(r: Result<Q, AppError>) -> String {
        match r {
            Err(AppError::Validation(v)) => v.0[0].field.clone(),
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn query_errors_name_the_parameter() {
        assert_eq!(parse_query::<Q>("from=2026-10-01&limit=5").unwrap().limit, Some(5));
        assert_eq!(field(parse_query::<Q>("from=2026-10-01&limit=ten")), "limit");
        assert_eq!(field(parse_query::<Q>("from=2026-10-01&limit=-1")), "limit");
        assert_eq!(field(parse_query::<Q>("limit=5")), "from");
        assert_eq!(field(parse_query::<Q>("from=x&limt=5")), "limt");
    }

    #[test]
    fn body_errors_name_missing_unknown_and_nested_fields() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Inner {
            start: String,
        }
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct B {
            name: String,
            hours: Option<Inner>,
        }
        let field = |json: &str| match parse_json::<B>(json.as_bytes()) {
            Err(AppError::Validation(v)) => v.0[0].field.clone(),
            other => panic!("expected a field error, got {other:?}"),
        };
        assert_eq!(field(r#"{}"#), "name");
        assert_eq!(field(r#"{"name": "x", "nme": 1}"#), "nme");
        assert_eq!(field(r#"{"name": 5}"#), "name");
        assert_eq!(field(r#"{"name": "x", "hours": {}}"#), "hours.start");
        assert_eq!(field(r#"{"name": "x", "hours": {"start": "9", "end": "5"}}"#), "hours.end");
        assert_eq!(field(r#""x""#), "body");
    }
}
