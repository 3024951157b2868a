//! The finance page at `/`: server-rendered HTML over the same services as the JSON API.
//!
//! - Sessions and CSRF: [`session`] (sign-in opens a server-side session; every form carries
//!   its token).
//! - Roles: the services enforce what a caller may read; run, issue and void need staff (clients
//!   get 404, as in the API) and clients see no action buttons.
//! - Pages send `Content-Security-Policy: default-src 'self'`; the CSS and the little
//!   JavaScript are embedded in the binary and served from `/assets/`.

mod html;
mod invoices;
mod plans;
mod session;
mod usage;
mod visitor;

pub use session::COOKIE;
pub(crate) use session::{signed_in, signed_in_post};
pub(crate) use visitor::Visitor;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse, ResponseError};

use crate::error::AppError;

use html::{layout, Nav, Notice, E};

const CSP: &str = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const APP_CSS: &str = include_str!("assets/app.css");
const APP_JS: &str = include_str!("assets/app.js");
const FAVICON: &str = include_str!("assets/favicon.svg");

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(session::home))
        .route("/login", web::post().to(session::login))
        .route("/logout", web::post().to(session::logout))
        .route("/assets/app.css", web::get().to(app_css))
        .route("/assets/app.js", web::get().to(app_js))
        .route("/assets/favicon.svg", web::get().to(favicon))
        .route("/invoices", web::get().to(invoices::list))
        .route("/invoices/run", web::post().to(invoices::run))
        .route("/invoices/{id}", web::get().to(invoices::detail))
        .route("/invoices/{id}/download.csv", web::get().to(invoices::download_csv))
        .route("/invoices/{id}/download.pdf", web::get().to(invoices::download_pdf))
        .route("/credit-notes/{id}/download.csv", web::get().to(invoices::download_credit_note_csv))
        .route("/credit-notes/{id}/download.pdf", web::get().to(invoices::download_credit_note_pdf))
        .route("/invoices/{id}/issue", web::post().to(invoices::issue))
        .route("/invoices/{id}/void", web::post().to(invoices::void))
        .route("/plans", web::get().to(plans::page))
        .route("/usage", web::get().to(usage::page))
        .route("/usage/download.csv", web::get().to(usage::download_csv))
        .route("/usage/download.pdf", web::get().to(usage::download_pdf));
}

// ---------------------------------------------------------------------------------------------
// Responses and errors

/// Reads an `application/x-www-form-urlencoded` body (or a query string) into `T`.
pub(crate) fn parse_form<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    web::Query::<T>::from_query(text).ok().map(|q| q.into_inner())
}

/// An HTML page with the security headers every page carries.
pub(crate) fn html_page(status: StatusCode, body: String) -> HttpResponse {
    let mut r = HttpResponse::build(status);
    security_headers(&mut r);
    r.insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

fn security_headers(r: &mut actix_web::HttpResponseBuilder) {
    r.insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"));
}

/// 303 See Other to `location` (a path on this site).
pub(crate) fn see_other(location: &str) -> HttpResponse {
    let mut r = HttpResponse::SeeOther();
    r.insert_header((header::CACHE_CONTROL, "no-store"));
    if let Ok(v) = HeaderValue::from_str(location) {
        r.insert_header((header::LOCATION, v));
    }
    r.finish()
}

/// Why a web request did not succeed, rendered as HTML (never problem+json).
#[derive(Debug)]
pub(crate) enum Failure {
    /// No cookie, or a key we no longer know: back to the sign-in form with this notice.
    SignIn(&'static str),
    /// A cross-site POST.
    CrossSite,
    /// A service error, for a signed-in visitor.
    App(AppError, Option<Visitor>),
    /// A page-level message of our own (status, title, message), for a signed-in visitor.
    Message(StatusCode, String, Option<Visitor>),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::SignIn(n) => write!(f, "sign in ({n})"),
            Failure::CrossSite => f.write_str("cross-site request refused"),
            Failure::App(e, _) => write!(f, "{e}"),
            Failure::Message(s, m, _) => write!(f, "{s}: {m}"),
        }
    }
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Unauthorized => Failure::SignIn("expired"),
            other => Failure::App(other, None),
        }
    }
}

/// Attaches the visitor to an error, so its page keeps the navigation.
pub(crate) trait ForCaller<T> {
    fn for_caller(self, visitor: &Visitor) -> Result<T, Failure>;
}

impl<T> ForCaller<T> for Result<T, AppError> {
    fn for_caller(self, visitor: &Visitor) -> Result<T, Failure> {
        self.map_err(|e| match Failure::from(e) {
            Failure::App(e, _) => Failure::App(e, Some(visitor.clone())),
            other => other,
        })
    }
}

/// The status, heading and message a service error shows as.
pub(crate) fn describe(e: &AppError) -> (StatusCode, &'static str, String) {
    let status = e.status_code();
    let heading = match status.as_u16() {
        400 | 422 => "Please check your input",
        403 => "Not allowed",
        404 => "Not found",
        409 => "That cannot be done now",
        503 => "The service is unavailable",
        s if s >= 500 => "Something went wrong",
        _ => "That did not work",
    };
    let message = match e {
        AppError::Validation(errors) | AppError::Refused { errors, .. } => errors
            .0
            .iter()
            .map(|f| format!("{}: {}", f.field.replace('_', " "), f.message))
            .collect::<Vec<_>>()
            .join("; "),
        AppError::NotFound { what } => format!("No such {what}, or it is not yours to see."),
        // The database's condition (busy, unreachable, read-only, full): the same words as the API's.
        AppError::Storage(_) if e.database_condition().is_some() => e.detail(),
        AppError::Storage(_) | AppError::Internal(_) => {
            log::error!("web: {e:?}");
            "The service could not complete the request; the error has been logged.".to_string()
        }
        other => other.to_string(),
    };
    (status, heading, sentence(&message))
}

/// First letter upper case, and a full stop.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out = match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect::<String>(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

pub(crate) fn error_page(status: StatusCode, heading: &str, message: &str, caller: Option<&Visitor>) -> HttpResponse {
    let back = if caller.is_some() {
        "<p class=\"actions\"><a class=\"button secondary\" href=\"/invoices\">Back to invoices</a></p>"
    } else {
        "<p class=\"actions\"><a class=\"button secondary\" href=\"/\">Sign in</a></p>"
    };
    let body = format!(
        "<section class=\"card error-page\"><h1>{}</h1><p class=\"status\">HTTP {}</p>{}{back}</section>\n",
        E(heading),
        E(status.as_u16()),
        Notice::error(message).render()
    );
    html_page(status, layout(heading, caller, Nav::None, &[], &body))
}

impl ResponseError for Failure {
    fn status_code(&self) -> StatusCode {
        match self {
            Failure::SignIn(_) => StatusCode::SEE_OTHER,
            Failure::CrossSite => StatusCode::FORBIDDEN,
            Failure::App(e, _) => e.status_code(),
            Failure::Message(s, _, _) => *s,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Failure::SignIn(notice) => session::to_sign_in(notice),
            Failure::CrossSite => error_page(
                StatusCode::FORBIDDEN,
                "Request refused",
                "This form was sent from another site, or from a page that has expired, so it was refused. \
                 Open the page here and try again.",
                None,
            ),
            Failure::App(e, caller) => {
                let (status, heading, message) = describe(e);
                let mut page = error_page(status, heading, &message, caller.as_ref());
                if let Some(seconds) = e.retry_after() {
                    page.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                }
                page
            }
            Failure::Message(status, message, caller) => {
                let heading = if status.is_client_error() { "Please check your input" } else { "Something went wrong" };
                error_page(*status, heading, message, caller.as_ref())
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Assets

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    let mut r = HttpResponse::Ok();
    security_headers(&mut r);
    r.insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::ETAG, crate::documents::etag(body.as_bytes())))
        .body(body)
}

async fn app_css() -> HttpResponse {
    asset("text/css; charset=utf-8", APP_CSS)
}

async fn app_js() -> HttpResponse {
    asset("text/javascript; charset=utf-8", APP_JS)
}

async fn favicon() -> HttpResponse {
    asset("image/svg+xml", FAVICON)
}

#[cfg(test)]
mod tests {
    use super::html::{esc, group_digits, link, period_label, E};
    use super::*;

    #[test]
    fn escapes_every_special_character() {
        assert_eq!(
            esc(r#"<a href="x" onclick='y'>&amp;</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;"
        );
        assert_eq!(esc("plain text, ünïcode €"), "plain text, ünïcode €");
        assert_eq!(esc(""), "");
        assert_eq!(format!("{}", E("<script>")), "&lt;script&gt;");
        assert_eq!(format!("{}", E(42)), "42");
    }

    #[test]
    fn links_encode_and_skip_empty_values() {
        assert_eq!(link("/invoices", &[("status", "issued"), ("customer", "")]), "/invoices?status=issued");
        assert_eq!(link("/x", &[("q", "a b&c=<d>")]), "/x?q=a%20b%26c%3D%3Cd%3E");
        assert_eq!(link("/x", &[]), "/x");
        assert_eq!(esc(&link("/x", &[("a", "1"), ("b", "2")])), "/x?a=1&amp;b=2");
    }

    #[test]
    fn formats_amounts_and_periods() {
        assert_eq!(group_digits("1234567.50"), "1,234,567.50");
        assert_eq!(group_digits("-1000"), "-1,000");
        assert_eq!(group_digits("999.99"), "999.99");
        assert_eq!(group_digits("0.00"), "0.00");
        assert_eq!(period_label("2025-01-01", "2025-02-01"), "Jan 2025");
        assert_eq!(period_label("2025-01-01", "2025-04-01"), "Jan 2025 – Mar 2025");
    }

    #[test]
    fn service_errors_read_as_sentences() {
        let (status, _, message) =
            describe(&AppError::unprocessable("nothing_to_invoice", "nothing to invoice for this customer and period"));
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(message, "Nothing to invoice for this customer and period.");
        let (status, _, message) = describe(&AppError::Internal("secret detail".into()));
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!message.contains("secret"));
    }
}
