//! Errors, and the one place they become HTTP responses.
//!
//! Which error type each layer uses:
//! - the pricing engine (`domain::pricing`): `PricingError`, pure and total;
//! - domain parsing and validation (`domain::validation`): `ValidationErrors`, a list of
//!   `{field, message}`, always the client's fault (422);
//! - storage (`storage`): `StorageError`, always ours or the database's (5xx);
//! - services and HTTP handlers: [`AppError`], which wraps the two above and adds not found,
//!   conflict and authentication. `AppError` is mapped to `application/problem+json`
//!   (RFC 9457) exactly once, in its `ResponseError` impl below. Internal causes are logged,
//!   never sent to the client.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::pricing::PricingError;
use crate::domain::validation::{FieldError, ValidationErrors};
use crate::storage::{FailureKind, StorageError};

/// SPEC 7.1: the code of a time entry, ticket or charge dated outside its subscription.
pub const OUTSIDE_SUBSCRIPTION: &str = "outside_subscription";

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 422: fields of the request are invalid; each error names its field.
    #[error("invalid input")]
    Validation(ValidationErrors),
    /// 422 with a stable code of its own and per-field errors, for input that is well formed
    /// but refused by a business rule (e.g. `outside_subscription`, SPEC 7.1).
    #[error("{errors}")]
    Refused { code: &'static str, errors: ValidationErrors },
    /// 422 with a specific stable code (e.g. `nothing_to_invoice`).
    #[error("{detail}")]
    Unprocessable { code: &'static str, detail: String },
    /// 400: the request could not be read at all (malformed JSON or CSV, bad query string).
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String },
    /// 413
    #[error("request body too large")]
    PayloadTooLarge { limit: usize },
    /// 408: the request's body did not arrive within the time limit (`http::body_deadline`).
    #[error("the request body did not arrive within the time limit; the connection is closed")]
    RequestTimeout,
    /// 415
    #[error("{detail}")]
    UnsupportedMediaType { detail: String },
    /// 406: the client accepts none of the formats a document comes in.
    #[error("{detail}")]
    NotAcceptable { detail: String },
    /// 401: no key, or a key we do not know.
    #[error("missing or invalid API key")]
    Unauthorized,
    /// 403: a known key whose role may not do this (clients never see 403: they get 404).
    #[error("{detail}")]
    Forbidden { detail: String },
    /// 404
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// 409: the request conflicts with the current state (claimed entries, issued invoices).
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    /// 429: the caller's rate limit is spent; retry after that many seconds.
    #[error("rate limit exceeded")]
    RateLimited { retry_after: u64 },
    /// 503 when the database is unavailable, read-only, full or busy (a retry may succeed: the
    /// answer carries `Retry-After`), else 500. The cause is logged, not returned.
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::Conflict { code, detail: detail.into() }
    }
    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::Unprocessable { code, detail: detail.into() }
    }
    /// SPEC 7.1: items dated outside their subscription's dates, each error naming its field
    /// (and index or CSV line) and the dates.
    pub fn outside_subscription(errors: Vec<FieldError>) -> Self {
        AppError::Refused { code: OUTSIDE_SUBSCRIPTION, errors: ValidationErrors(errors) }
    }
    /// A 422 about a single field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation(ValidationErrors::single(field, message))
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        AppError::Forbidden { detail: detail.into() }
    }

    /// The database's condition behind a 503, when that is what failed: its kind is transient.
    pub fn database_condition(&self) -> Option<FailureKind> {
        match self {
            AppError::Storage(e) => Some(e.kind()).filter(|kind| kind.is_transient()),
            _ => None,
        }
    }

    /// Seconds a client should wait before it retries, for the answers that say so: a rate
    /// limit's own wait; a busy SQLite clears in a moment, a lost database reconnects within
    /// seconds, a read-only or full disk needs an operator.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::RateLimited { retry_after } => Some(*retry_after),
            _ => self.database_condition().map(|kind| match kind {
                FailureKind::Busy => 1,
                FailureKind::Unavailable => 2,
                FailureKind::ReadOnly | FailureKind::Full | FailureKind::Query => 30,
            }),
        }
    }

    /// The stable, machine-readable code clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "invalid_input",
            AppError::Refused { code, .. } => code,
            AppError::Unprocessable { code, .. } => code,
            AppError::BadRequest { code, .. } => code,
            AppError::PayloadTooLarge { .. } => "payload_too_large",
            AppError::RequestTimeout => "request_timeout",
            AppError::UnsupportedMediaType { .. } => "unsupported_media_type",
            AppError::Unauthorized => "unauthorized",
            AppError::NotAcceptable { .. } => "not_acceptable",
            AppError::Forbidden { .. } => "forbidden",
            AppError::NotFound { .. } => "not_found",
            AppError::Conflict { code, .. } => code,
            AppError::RateLimited { .. } => "rate_limited",
            AppError::Storage(_) => match self.database_condition() {
                Some(FailureKind::Busy) => "database_busy",
                Some(FailureKind::Unavailable) => "database_unavailable",
                Some(FailureKind::ReadOnly) => "database_read_only",
                Some(FailureKind::Full) => "database_full",
                Some(FailureKind::Query) | None => "internal_error",
            },
            AppError::Internal(_) => "internal_error",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            AppError::Validation(_) | AppError::Refused { .. } | AppError::Unprocessable { .. } => {
                "Unprocessable request"
            }
            AppError::BadRequest { .. } => "Bad request",
            AppError::PayloadTooLarge { .. } => "Request body too large",
            AppError::RequestTimeout => "Request timeout",
            AppError::UnsupportedMediaType { .. } => "Unsupported media type",
            AppError::Unauthorized => "Unauthorized",
            AppError::NotAcceptable { .. } => "Not acceptable",
            AppError::Forbidden { .. } => "Forbidden",
            AppError::NotFound { .. } => "Not found",
            AppError::Conflict { .. } => "Conflict",
            AppError::RateLimited { .. } => "Too many requests",
            AppError::Storage(_) => match self.database_condition() {
                Some(FailureKind::Busy) => "Service busy",
                Some(_) => "Service unavailable",
                None => "Internal error",
            },
            AppError::Internal(_) => "Internal error",
        }
    }

    /// What the client is told: never an internal cause (the log has it, by request id).
    pub(crate) fn detail(&self) -> String {
        match self {
            AppError::Validation(errors) | AppError::Refused { errors, .. } => match errors.0.as_slice() {
                [one] => format!("{}: {}", one.field, one.message),
                many => format!("{} fields are invalid", many.len()),
            },
            AppError::PayloadTooLarge { limit } => {
                format!("the request body is larger than the limit of {limit} bytes")
            }
            AppError::RateLimited { retry_after } => {
                format!("too many requests for this API key or client; retry in {retry_after} s")
            }
            AppError::Unauthorized => "send a valid API key as 'Authorization: Bearer <token>'".to_string(),
            AppError::Storage(_) => match self.database_condition() {
                Some(FailureKind::Busy) => "the database is busy; retry shortly",
                Some(FailureKind::Unavailable) => "the database is not available at the moment; retry shortly",
                Some(FailureKind::ReadOnly) => "the database does not accept writes at the moment; retry later",
                Some(FailureKind::Full) => "the database's disk is full; retry later",
                // Never leak internals: the log has them, keyed by the request id.
                Some(FailureKind::Query) | None => "the service could not complete the request; it has been logged",
            }
            .to_string(),
            AppError::Internal(_) => "the service could not complete the request; it has been logged".to_string(),
            other => other.to_string(),
        }
    }
}

impl From<ValidationErrors> for AppError {
    fn from(e: ValidationErrors) -> Self {
        AppError::Validation(e)
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        AppError::Storage(StorageError::Query(e))
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        AppError::Storage(StorageError::Pool(e))
    }
}

impl From<PricingError> for AppError {
    fn from(e: PricingError) -> Self {
        AppError::unprocessable(e.code(), e.to_string())
    }
}

/// RFC 9457 problem details, with our stable `code` and per-field `errors`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The request's id (also the `X-Request-Id` response header), for support and the logs.
    /// Added by the HTTP layer, which knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Validation(_) | AppError::Refused { .. } | AppError::Unprocessable { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            AppError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::NotAcceptable { .. } => StatusCode::NOT_ACCEPTABLE,
            AppError::Forbidden { .. } => StatusCode::FORBIDDEN,
            AppError::NotFound { .. } => StatusCode::NOT_FOUND,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Storage(_) if self.database_condition().is_some() => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Storage(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        // 5xx causes are logged with the request id by `http::request_id::assign`.
        let problem = Problem {
            type_: format!("https://supportbill.dev/problems/{}", self.code()),
            title: self.title().to_string(),
            status: status.as_u16(),
            detail: self.detail(),
            code: self.code().to_string(),
            errors: match self {
                AppError::Validation(errors) | AppError::Refused { errors, .. } => errors.0.clone(),
                _ => Vec::new(),
            },
            request_id: None,
        };
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let Some(seconds) = self.retry_after() {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        response.body(serde_json::to_string(&problem).unwrap_or_default())
    }
}
