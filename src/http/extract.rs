//! Request extractors that fail with our own problem+json errors: the JSON body (400 when it is
//! not JSON, 413 when too large, 422 naming the field when a value has the wrong type) and the
//! caller's API key.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::web::{Bytes, Data};
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::error::AppError;
use crate::http::AppState;
use crate::service::auth::{self, Caller};

/// Largest request body: an array of 10,000 time entries fits with room to spare.
pub const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// A JSON body parsed into `T`.
pub struct JsonBody<T>(pub T);

pub async fn read_body(req: &HttpRequest, payload: &mut Payload) -> Result<Bytes, AppError> {
    match Bytes::from_request(req, payload).await {
        Ok(bytes) => Ok(bytes),
        Err(e) => match e.as_error::<PayloadError>() {
            Some(PayloadError::Overflow) => Err(AppError::PayloadTooLarge { limit: BODY_LIMIT }),
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

fn json_error(path: String, inner: serde_json::Error) -> AppError {
    match inner.classify() {
        serde_json::error::Category::Data => {
            let message = clean_serde_message(&inner.to_string());
            let field = if path == "." { "body".to_string() } else { path };
            AppError::field(field, message)
        }
        _ => AppError::BadRequest {
            code: "malformed_json",
            detail: format!("the body is not valid JSON: {inner}"),
        },
    }
}

/// serde's messages end with " at line 1 column 42", which means nothing to a field-level error.
fn clean_serde_message(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let bytes = read_body(&req, &mut payload).await?;
            parse_json(&bytes).map(JsonBody)
        })
    }
}

impl FromRequest for Caller {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let token = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(|t| t.trim().to_string());
        let state = req.app_data::<Data<AppState>>().cloned();
        Box::pin(async move {
            let token = token.ok_or(AppError::Unauthorized)?;
            let state = state.ok_or_else(|| AppError::Internal("no app state".into()))?;
            state.run(move |conn| auth::authenticate(conn, &token)).await
        })
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

impl<T> std::ops::Deref for JsonBody<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
