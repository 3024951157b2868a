//! Signing in and out of the finance page, and what every request of a signed-in visitor must
//! show.
//!
//! - Sign-in (`POST /login`) checks the API key and opens a server-side session
//!   (`service::web_sessions`); the cookie `sb_session` (HttpOnly, SameSite=Strict, Path=/;
//!   Secure over https) holds only the session's random id, never the key. Sign-out ends the
//!   session on the server.
//! - CSRF: every form carries the session's token, and every POST of a signed-in visitor must
//!   send it back. Any POST is refused (403) when its `Origin` or `Referer` names another site
//!   or `Sec-Fetch-Site` says cross-site. The sign-in form, before there is a session, carries
//!   a token that must match the cookie `sb_login` set with the form, unless the browser sent
//!   a same-site `Origin` or `Referer`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};

use crate::error::AppError;
use crate::http::extract::RawBody;
use crate::http::request_id::RequestId;
use crate::http::AppState;
use crate::service::web_sessions;
use crate::web::html::{hidden_csrf, layout, Nav, Notice};
use crate::web::visitor::Visitor;
use crate::web::{html_page, parse_form, see_other, Failure};

/// The cookie holding the session id.
pub const COOKIE: &str = "sb_session";
/// The cookie holding the sign-in form's token (double submit: the form sends it back).
const LOGIN_COOKIE: &str = "sb_login";

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

fn cookie(name: &str, value: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; HttpOnly; SameSite=Strict; Path=/{secure}")
}

fn clear_cookie(name: &str) -> String {
    format!("{name}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
}

fn set_cookie(r: &mut HttpResponse, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// A redirect to the sign-in form with `notice`, ending the session cookie.
pub(crate) fn to_sign_in(notice: &str) -> HttpResponse {
    let mut r = see_other(&format!("/?notice={notice}"));
    set_cookie(&mut r, &clear_cookie(COOKIE));
    r
}

/// The visitor of the session in the cookie, or a redirect to the sign-in form.
pub(crate) async fn signed_in(req: &HttpRequest, state: &AppState) -> Result<Visitor, Failure> {
    let id = cookie_value(req, COOKIE).ok_or(Failure::SignIn("signin"))?;
    let now = state.clock.now();
    let session = state.run(move |conn| web_sessions::resume(conn, &id, now)).await.map_err(Failure::from)?;
    Ok(Visitor { caller: session.caller, csrf_token: session.csrf_token })
}

#[derive(serde::Deserialize)]
struct TokenField {
    csrf: Option<String>,
}

/// The CSRF token a form body sent back.
fn form_token(body: &[u8]) -> Option<String> {
    let form: TokenField = std::str::from_utf8(body).ok().and_then(parse_form)?;
    form.csrf.filter(|t| !t.is_empty())
}

/// Compares without stopping at the first difference, so the time taken tells nothing.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The visitor of a POST from one of their own pages: refused (403) when it comes from another
/// site or without the session's token; a redirect to sign in when there is no live session.
pub(crate) async fn signed_in_post(req: &HttpRequest, state: &AppState, body: &[u8]) -> Result<Visitor, Failure> {
    check_same_site(req)?;
    let visitor = signed_in(req, state).await?;
    match form_token(body) {
        Some(sent) if same_token(&sent, &visitor.csrf_token) => Ok(visitor),
        _ => {
            log::warn!(
                "request_id={} web: refused a POST to {} without its form token",
                RequestId::of(req),
                req.path()
            );
            Err(Failure::CrossSite)
        }
    }
}

/// True when `url` (an `Origin`, or a `Referer` cut to its origin) names `host` over http(s).
pub fn origin_allowed(url: Option<&str>, host: Option<&str>) -> bool {
    let Some(url) = url else { return true };
    let Some(host) = host else { return false };
    let authority = match url.trim().split_once("://") {
        Some(("http" | "https", rest)) => rest,
        _ => return false, // "null", other schemes, garbage
    };
    if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
        return false;
    }
    authority.eq_ignore_ascii_case(host.trim())
}

/// A `Referer` cut to its origin (`scheme://authority`), or the text as it is when it has no path.
fn referer_origin(referer: &str) -> &str {
    let Some(scheme_end) = referer.find("://") else { return referer };
    match referer[scheme_end + 3..].find(['/', '?', '#']) {
        Some(path) => &referer[..scheme_end + 3 + path],
        None => referer,
    }
}

/// Which site-naming headers a request carried, after [`check_same_site`] let it through.
#[derive(Debug, PartialEq, Eq)]
enum SiteHeaders {
    /// An `Origin` or `Referer` of this host.
    SameSite,
    /// Neither header: only a token can show the form was ours.
    Absent,
}

/// Refuses (403) a request whose `Origin` or `Referer` names another site, or whose
/// `Sec-Fetch-Site` says it came from one.
fn check_same_site(req: &HttpRequest) -> Result<SiteHeaders, Failure> {
    let headers = req.headers();
    let text = |name: header::HeaderName| headers.get(name).map(|v| v.to_str().unwrap_or("\u{0}"));
    let host = text(header::HOST).map(str::to_string).or_else(|| req.uri().authority().map(|a| a.to_string()));
    let origin = text(header::ORIGIN);
    let referer = text(header::REFERER).map(referer_origin);
    for (name, value) in [("origin", origin), ("referer", referer)] {
        if !origin_allowed(value, host.as_deref()) {
            log::warn!(
                "request_id={} web: refused a POST to {} with {name} {:?} (host {:?})",
                RequestId::of(req),
                req.path(),
                value,
                host
            );
            return Err(Failure::CrossSite);
        }
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site") {
            log::warn!("request_id={} web: refused a {site} POST to {}", RequestId::of(req), req.path());
            return Err(Failure::CrossSite);
        }
    }
    Ok(if origin.is_some() || referer.is_some() { SiteHeaders::SameSite } else { SiteHeaders::Absent })
}

// ---------------------------------------------------------------------------------------------
// Sign-in and sign-out

#[derive(serde::Deserialize, Default)]
struct HomeQuery {
    notice: Option<String>,
}

pub(crate) async fn home(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if cookie_value(&req, COOKIE).is_some() {
        match signed_in(&req, &state).await {
            Ok(_) => return see_other("/invoices"),
            Err(Failure::SignIn(_)) => {
                let mut r = sign_in_page(&req, StatusCode::OK, Some(Notice::error(notice_text("expired"))));
                set_cookie(&mut r, &clear_cookie(COOKIE));
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
    sign_in_page(&req, StatusCode::OK, notice)
}

fn notice_text(code: &str) -> &'static str {
    match code {
        "signed_out" => "You are signed out.",
        "expired" => "Your session has ended or the key is no longer valid. Please sign in again.",
        _ => "Please sign in with your API key to continue.",
    }
}

/// The sign-in form, with a fresh token in the form and in the `sb_login` cookie.
fn sign_in_page(req: &HttpRequest, status: StatusCode, notice: Option<Notice>) -> HttpResponse {
    let token = match crate::service::auth::random_hex() {
        Ok(token) => token,
        Err(e) => return Failure::from(e).error_response(),
    };
    let notice = notice.map(|n| n.render()).unwrap_or_default();
    let body = format!(
        "<section class=\"card signin\">\n<h1>Sign in</h1>\n\
         <p class=\"muted\">Use an API key with the finance or admin role (client keys see their own invoices).</p>\n\
         {notice}<form method=\"post\" action=\"/login\" class=\"stack\">\n{}\
         <label for=\"key\">API key</label>\n\
         <input type=\"password\" id=\"key\" name=\"key\" autocomplete=\"current-password\" required autofocus \
         spellcheck=\"false\" placeholder=\"sb_…\">\n\
         <button type=\"submit\">Sign in</button>\n</form>\n</section>\n",
        hidden_csrf(&token)
    );
    let mut r = html_page(status, layout("Sign in", None, Nav::None, &[], &body));
    set_cookie(&mut r, &cookie(LOGIN_COOKIE, &token, is_https(req)));
    r
}

#[derive(serde::Deserialize)]
struct LoginForm {
    key: Option<String>,
}

pub(crate) async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    RawBody(body): RawBody,
) -> Result<HttpResponse, Failure> {
    let site = check_same_site(&req)?;
    if site == SiteHeaders::Absent {
        let expected = cookie_value(&req, LOGIN_COOKIE);
        let sent = form_token(&body);
        if !matches!((expected, sent), (Some(e), Some(s)) if same_token(&e, &s)) {
            log::warn!("request_id={} web: refused a sign-in without its form token", RequestId::of(&req));
            return Err(Failure::CrossSite);
        }
    }
    let form: Option<LoginForm> = std::str::from_utf8(&body).ok().and_then(parse_form);
    let key = form.and_then(|f| f.key).map(|k| k.trim().to_string()).unwrap_or_default();
    if key.is_empty() {
        return Ok(sign_in_page(&req, StatusCode::UNPROCESSABLE_ENTITY, Some(Notice::error("Enter your API key."))));
    }
    let now = state.clock.now();
    match state.run(move |conn| web_sessions::sign_in(conn, &key, now)).await {
        Ok((_, session)) => {
            let mut r = see_other("/invoices");
            set_cookie(&mut r, &cookie(COOKIE, &session.id, is_https(&req)));
            set_cookie(&mut r, &clear_cookie(LOGIN_COOKIE));
            Ok(r)
        }
        Err(AppError::Unauthorized) => Ok(sign_in_page(
            &req,
            StatusCode::UNAUTHORIZED,
            Some(Notice::error("That API key was not recognised, or it has been revoked. Check it and try again.")),
        )),
        Err(e) => Err(e.into()),
    }
}

/// Ends the session. A session that has already ended needs no token to be forgotten.
pub(crate) async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    RawBody(body): RawBody,
) -> Result<HttpResponse, Failure> {
    check_same_site(&req)?;
    if let Some(id) = cookie_value(&req, COOKIE) {
        match signed_in_post(&req, &state, &body).await {
            Ok(_) => state.run(move |conn| web_sessions::sign_out(conn, &id)).await?,
            Err(Failure::SignIn(_)) => {}
            Err(refused) => return Err(refused),
        }
    }
    Ok(to_sign_in("signed_out"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_referer_counts_by_its_origin() {
        assert_eq!(referer_origin("https://billing.example.com/invoices/7?x=1"), "https://billing.example.com");
        assert_eq!(referer_origin("http://127.0.0.1:9000"), "http://127.0.0.1:9000");
        assert_eq!(referer_origin("http://evil.example?next=/"), "http://evil.example");
        let host = Some("billing.example.com");
        assert!(origin_allowed(Some(referer_origin("https://billing.example.com/invoices")), host));
        assert!(!origin_allowed(Some(referer_origin("https://evil.example/billing.example.com")), host));
        assert!(!origin_allowed(Some(referer_origin("about:blank")), host));
    }

    #[test]
    fn reads_the_session_cookie() {
        let req = actix_web::test::TestRequest::default()
            .insert_header((header::COOKIE, "theme=dark; sb_session=abc123; other=1"))
            .to_http_request();
        assert_eq!(cookie_value(&req, COOKIE).as_deref(), Some("abc123"));
        let req =
            actix_web::test::TestRequest::default().insert_header((header::COOKIE, "sb_session=")).to_http_request();
        assert_eq!(cookie_value(&req, COOKIE), None);
        assert!(cookie(COOKIE, "x", false).contains("HttpOnly; SameSite=Strict; Path=/"));
        assert!(cookie(COOKIE, "x", true).ends_with("; Secure"));
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let post =
            || actix_web::test::TestRequest::post().uri("/logout").insert_header((header::HOST, "127.0.0.1:9000"));
        let ok = post()
            .insert_header((header::ORIGIN, "http://127.0.0.1:9000"))
            .insert_header(("sec-fetch-site", "same-origin"))
            .to_http_request();
        assert_eq!(check_same_site(&ok).ok(), Some(SiteHeaders::SameSite));
        let bare = post().to_http_request();
        assert_eq!(check_same_site(&bare).ok(), Some(SiteHeaders::Absent));
        let bad = post().insert_header((header::ORIGIN, "http://attacker.example")).to_http_request();
        assert!(matches!(check_same_site(&bad), Err(Failure::CrossSite)));
        let referred = post().insert_header((header::REFERER, "http://attacker.example/page")).to_http_request();
        assert!(matches!(check_same_site(&referred), Err(Failure::CrossSite)));
        let sneaky = post().insert_header(("sec-fetch-site", "cross-site")).to_http_request();
        assert!(matches!(check_same_site(&sneaky), Err(Failure::CrossSite)));
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "abcd"));
        assert_eq!(form_token(b"month=2026-10&csrf=t0k3n"), Some("t0k3n".to_string()));
        assert_eq!(form_token(b"csrf="), None);
        assert_eq!(form_token(b"month=2026-10"), None);
    }
}
