//! The finance page at `/`: server-rendered HTML over the same services as the JSON API.
//!
//! - Sign-in: `POST /login` checks the API key with [`auth::authenticate`] and keeps it in the
//!   cookie `sb_key` (HttpOnly, SameSite=Strict, Path=/; Secure over https). Every page and
//!   download authenticates that cookie again; a missing or unknown key redirects to `/` (303)
//!   with a message.
//! - CSRF: the SameSite=Strict cookie, and on every POST an `Origin` header, when present, must
//!   name this host (and `Sec-Fetch-Site`, when present, must not be cross-site); else 403.
//! - Roles: the services enforce what a caller may read; run, issue and void need staff (clients
//!   get 404, as in the API) and clients see no action buttons.
//! - Pages send `Content-Security-Policy: default-src 'self'`; the CSS and the little
//!   JavaScript are embedded in the binary and served from `/assets/`.

mod html;
mod invoices;
mod usage;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};

use crate::error::AppError;
use crate::http::request_id::RequestId;
use crate::http::AppState;
use crate::service::auth::{self, Caller};
use crate::storage::StorageError;

use html::{layout, Nav, Notice, E};

/// The cookie holding the signed-in API key.
pub const COOKIE: &str = "sb_key";

const CSP: &str = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const APP_CSS: &str = include_str!("assets/app.css");
const APP_JS: &str = include_str!("assets/app.js");
const FAVICON: &str = include_str!("assets/favicon.svg");

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout))
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
        .route("/usage", web::get().to(usage::page))
        .route("/usage/download.csv", web::get().to(usage::download_csv))
        .route("/usage/download.pdf", web::get().to(usage::download_pdf));
}

// ---------------------------------------------------------------------------------------------
// Responses and errors

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
    /// A service error, for a signed-in caller.
    App(AppError, Option<Caller>),
    /// A page-level message of our own (status, title, message), for a signed-in caller.
    Message(StatusCode, String, Option<Caller>),
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

/// Attaches the caller to an error, so its page keeps the navigation.
pub(crate) trait ForCaller<T> {
    fn for_caller(self, caller: &Caller) -> Result<T, Failure>;
}

impl<T> ForCaller<T> for Result<T, AppError> {
    fn for_caller(self, caller: &Caller) -> Result<T, Failure> {
        self.map_err(|e| match Failure::from(e) {
            Failure::App(e, _) => Failure::App(e, Some(caller.clone())),
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
        503 => "The service is busy",
        s if s >= 500 => "Something went wrong",
        _ => "That did not work",
    };
    let message = match e {
        AppError::Validation(errors) => errors
            .0
            .iter()
            .map(|f| format!("{}: {}", f.field.replace('_', " "), f.message))
            .collect::<Vec<_>>()
            .join("; "),
        AppError::NotFound { what } => format!("No such {what}, or it is not yours to see."),
        AppError::Storage(StorageError::Query(_)) if status == StatusCode::SERVICE_UNAVAILABLE => {
            "The database is busy; please try again in a moment.".to_string()
        }
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

pub(crate) fn error_page(status: StatusCode, heading: &str, message: &str, caller: Option<&Caller>) -> HttpResponse {
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
            Failure::SignIn(notice) => {
                let mut r = see_other(&format!("/?notice={notice}"));
                if let Ok(v) = HeaderValue::from_str(&clear_cookie()) {
                    r.headers_mut().append(header::SET_COOKIE, v);
                }
                r
            }
            Failure::CrossSite => error_page(
                StatusCode::FORBIDDEN,
                "Request refused",
                "This form was sent from another site, so it was refused. Open the page here and try again.",
                None,
            ),
            Failure::App(e, caller) => {
                let (status, heading, message) = describe(e);
                error_page(status, heading, &message, caller.as_ref())
            }
            Failure::Message(status, message, caller) => {
                let heading = if status.is_client_error() { "Please check your input" } else { "Something went wrong" };
                error_page(*status, heading, message, caller.as_ref())
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Authentication and CSRF

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie_value(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
}

fn is_https(req: &HttpRequest) -> bool {
    req.connection_info().scheme() == "https"
}

fn session_cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/{secure}")
}

fn clear_cookie() -> String {
    format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
}

/// The caller of the signed-in key in the cookie, or a redirect to the sign-in form.
pub(crate) async fn signed_in(req: &HttpRequest, state: &AppState) -> Result<Caller, Failure> {
    let token = cookie_value(req, COOKIE).ok_or(Failure::SignIn("signin"))?;
    state.run(move |conn| auth::authenticate(conn, &token)).await.map_err(Failure::from)
}

/// True when a POST may proceed: no `Origin` (older browsers, curl), or one naming `host`.
pub fn origin_allowed(origin: Option<&str>, host: Option<&str>) -> bool {
    let Some(origin) = origin else { return true };
    let Some(host) = host else { return false };
    let origin = origin.trim();
    let authority = match origin.split_once("://") {
        Some(("http" | "https", rest)) => rest,
        _ => return false, // "null", other schemes, garbage
    };
    if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
        return false;
    }
    authority.eq_ignore_ascii_case(host.trim())
}

/// Refuses cross-site POSTs (403).
pub(crate) fn check_same_origin(req: &HttpRequest) -> Result<(), Failure> {
    let headers = req.headers();
    let text = |name: header::HeaderName| headers.get(name).map(|v| v.to_str().unwrap_or("\u{0}"));
    let origin = text(header::ORIGIN);
    let host = text(header::HOST).map(str::to_string).or_else(|| req.uri().authority().map(|a| a.to_string()));
    if !origin_allowed(origin, host.as_deref()) {
        log::warn!(
            "request_id={} web: refused a POST to {} from origin {:?} (host {:?})",
            RequestId::of(req),
            req.path(),
            origin,
            host
        );
        return Err(Failure::CrossSite);
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site") {
            log::warn!("request_id={} web: refused a {site} POST to {}", RequestId::of(req), req.path());
            return Err(Failure::CrossSite);
        }
    }
    Ok(())
}

/// Reads an `application/x-www-form-urlencoded` body (or a query string) into `T`.
pub(crate) fn parse_form<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    web::Query::<T>::from_query(text).ok().map(|q| q.into_inner())
}

// ---------------------------------------------------------------------------------------------
// Sign-in and sign-out

#[derive(serde::Deserialize, Default)]
struct HomeQuery {
    notice: Option<String>,
}

async fn home(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if cookie_value(&req, COOKIE).is_some() {
        match signed_in(&req, &state).await {
            Ok(_) => return see_other("/invoices"),
            Err(Failure::SignIn(_)) => {
                let mut r = sign_in_page(StatusCode::OK, Some(Notice::error(notice_text("expired"))));
                if let Ok(v) = HeaderValue::from_str(&clear_cookie()) {
                    r.headers_mut().append(header::SET_COOKIE, v);
                }
                return r;
            }
            Err(other) => return other.error_response(),
        }
    }
    let q: HomeQuery = parse_form(req.query_string()).unwrap_or_default();
    let notice = q.notice.as_deref().map(|n| match n {
        "signed_out" => Notice::success(notice_text(n)),
        _ => Notice::info(notice_text(n)),
    });
    sign_in_page(StatusCode::OK, notice)
}

fn notice_text(code: &str) -> &'static str {
    match code {
        "signed_out" => "You are signed out.",
        "expired" => "Your session has ended or the key is no longer valid. Please sign in again.",
        _ => "Please sign in with your API key to continue.",
    }
}

fn sign_in_page(status: StatusCode, notice: Option<Notice>) -> HttpResponse {
    let notice = notice.map(|n| n.render()).unwrap_or_default();
    let body = format!(
        "<section class=\"card signin\">\n<h1>Sign in</h1>\n\
         <p class=\"muted\">Use an API key with the finance or admin role (client keys see their own invoices).</p>\n\
         {notice}<form method=\"post\" action=\"/login\" class=\"stack\">\n\
         <label for=\"key\">API key</label>\n\
         <input type=\"password\" id=\"key\" name=\"key\" autocomplete=\"current-password\" required autofocus \
         spellcheck=\"false\" placeholder=\"sb_…\">\n\
         <button type=\"submit\">Sign in</button>\n</form>\n</section>\n"
    );
    html_page(status, layout("Sign in", None, Nav::None, &[], &body))
}

#[derive(serde::Deserialize)]
struct LoginForm {
    key: Option<String>,
}

async fn login(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, Failure> {
    check_same_origin(&req)?;
    let form: Option<LoginForm> = std::str::from_utf8(&body).ok().and_then(parse_form);
    let key = form.and_then(|f| f.key).map(|k| k.trim().to_string()).unwrap_or_default();
    if key.is_empty() {
        return Ok(sign_in_page(StatusCode::UNPROCESSABLE_ENTITY, Some(Notice::error("Enter your API key."))));
    }
    let token = key.clone();
    match state.run(move |conn| auth::authenticate(conn, &token)).await {
        Ok(_) => {
            let mut r = see_other("/invoices");
            if let Ok(v) = HeaderValue::from_str(&session_cookie(&key, is_https(&req))) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            Ok(r)
        }
        Err(AppError::Unauthorized) => Ok(sign_in_page(
            StatusCode::UNAUTHORIZED,
            Some(Notice::error("That API key was not recognised, or it has been revoked. Check it and try again.")),
        )),
        Err(e) => Err(e.into()),
    }
}

async fn logout(req: HttpRequest) -> Result<HttpResponse, Failure> {
    check_same_origin(&req)?;
    let mut r = see_other("/?notice=signed_out");
    if let Ok(v) = HeaderValue::from_str(&clear_cookie()) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(r)
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
    fn origin_must_match_host_when_present() {
        assert!(origin_allowed(None, Some("127.0.0.1:8080")));
        assert!(origin_allowed(None, None));
        assert!(origin_allowed(Some("http://127.0.0.1:8080"), Some("127.0.0.1:8080")));
        assert!(origin_allowed(Some("https://Billing.Example.com"), Some("billing.example.com")));
        assert!(!origin_allowed(Some("http://127.0.0.1:8081"), Some("127.0.0.1:8080")));
        assert!(!origin_allowed(Some("http://evil.example"), Some("billing.example.com")));
        assert!(!origin_allowed(Some("http://billing.example.com.evil.example"), Some("billing.example.com")));
        assert!(!origin_allowed(Some("http://evil.example/billing.example.com"), Some("billing.example.com")));
        assert!(!origin_allowed(Some("http://user@billing.example.com"), Some("billing.example.com")));
        assert!(!origin_allowed(Some("null"), Some("billing.example.com")));
        assert!(!origin_allowed(Some("file://billing.example.com"), Some("billing.example.com")));
        assert!(!origin_allowed(Some("http://"), Some("")));
        assert!(!origin_allowed(Some("http://billing.example.com"), None));
    }

    #[test]
    fn reads_the_session_cookie() {
        let req = actix_web::test::TestRequest::default()
            .insert_header((header::COOKIE, "theme=dark; sb_key=sb_abc123; other=1"))
            .to_http_request();
        assert_eq!(cookie_value(&req, COOKIE).as_deref(), Some("sb_abc123"));
        let req = actix_web::test::TestRequest::default().insert_header((header::COOKIE, "sb_key=")).to_http_request();
        assert_eq!(cookie_value(&req, COOKIE), None);
        assert!(session_cookie("sb_x", false).contains("HttpOnly; SameSite=Strict; Path=/"));
        assert!(session_cookie("sb_x", true).ends_with("; Secure"));
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let ok = actix_web::test::TestRequest::post()
            .uri("/logout")
            .insert_header((header::HOST, "127.0.0.1:9000"))
            .insert_header((header::ORIGIN, "http://127.0.0.1:9000"))
            .insert_header(("sec-fetch-site", "same-origin"))
            .to_http_request();
        assert!(check_same_origin(&ok).is_ok());
        let bad = actix_web::test::TestRequest::post()
            .uri("/logout")
            .insert_header((header::HOST, "127.0.0.1:9000"))
            .insert_header((header::ORIGIN, "http://attacker.example"))
            .to_http_request();
        assert!(matches!(check_same_origin(&bad), Err(Failure::CrossSite)));
        let sneaky = actix_web::test::TestRequest::post()
            .uri("/logout")
            .insert_header((header::HOST, "127.0.0.1:9000"))
            .insert_header(("sec-fetch-site", "cross-site"))
            .to_http_request();
        assert!(matches!(check_same_origin(&sneaky), Err(Failure::CrossSite)));
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
