//! The finance page's sessions and forms: the cookie holds a session id, never the API key;
//! sign-out and revoking the key end the session on the server; sessions expire; every POST
//! needs the session's form token and is refused from another site.

use chrono::Duration;
use supportbill::domain::vocab::Role;
use supportbill::service::clock::{Clock, SystemClock};
use supportbill::service::web_sessions::{self, IDLE_LIMIT, LIFETIME};

use crate::fixtures;
use crate::harness::*;

/// A signed-in browser: its session cookie and the form token its pages carry.
pub struct WebSession {
    pub cookie: String,
    pub csrf: String,
}

fn set_cookie_value(r: &Resp, name: &str) -> Option<String> {
    r.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .filter_map(|(_, v)| v.split(';').next()?.trim().strip_prefix(&format!("{name}=")).map(str::to_string))
        .find(|v| !v.is_empty())
}

/// The value of the first hidden `csrf` field on a page.
fn form_token(page: &str) -> Option<String> {
    let at = page.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    Some(page[at..].split('"').next()?.to_string())
}

/// Sends a request as a browser's first step would: redirects are answers here, not followed
/// (the harness's client follows them, and would drop the cookies they set).
async fn send(app: &TestApp, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> Resp {
    let client = awc::Client::builder().disable_redirects().finish();
    let method = actix_web::http::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = client.request(method, format!("{}{}", app.base_url, path));
    for (name, value) in headers {
        req = req.insert_header((*name, *value));
    }
    let mut res = match body {
        Some(b) => {
            req.insert_header(("Content-Type", "application/x-www-form-urlencoded")).send_body(b.to_string()).await
        }
        None => req.send().await,
    }
    .unwrap_or_else(|e| panic!("{path}: {e}"));
    let headers: Vec<(String, String)> =
        res.headers().iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())).collect();
    let bytes = res.body().limit(16 << 20).await.expect("body");
    let text = String::from_utf8_lossy(&bytes).to_string();
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    Resp {
        status: res.status().as_u16(),
        content_type,
        headers,
        text,
        body: serde_json::Value::Null,
        bytes: bytes.to_vec(),
    }
}

/// Signs in with `key` as a browser does: the sign-in form, then the form posted back with
/// its token and cookie.
pub async fn sign_in(app: &TestApp, key: &str) -> WebSession {
    let form = send(app, "GET", "/", &[], None).await.expect(200);
    let login_cookie = set_cookie_value(&form, "sb_login").expect("the sign-in form sets sb_login");
    let token = form_token(&form.text).expect("the sign-in form carries a token");
    let login = format!("sb_login={login_cookie}");
    let r =
        send(app, "POST", "/login", &[("Cookie", &login)], Some(&format!("key={key}&csrf={token}"))).await.expect(303);
    let session = set_cookie_value(&r, "sb_session").expect("sign-in sets sb_session");
    let cookie = format!("sb_session={session}");
    let page = send(app, "GET", "/invoices", &[("Cookie", &cookie)], None).await.expect(200);
    WebSession { cookie, csrf: form_token(&page.text).expect("the invoice page carries a form token") }
}

impl WebSession {
    pub async fn get(&self, app: &TestApp, path: &str) -> Resp {
        send(app, "GET", path, &[("Cookie", &self.cookie)], None).await
    }

    /// Posts `form` (with this session's token added) and the extra headers.
    pub async fn post(&self, app: &TestApp, path: &str, form: &str, headers: &[(&str, &str)]) -> Resp {
        let body = if form.is_empty() { format!("csrf={}", self.csrf) } else { format!("{form}&csrf={}", self.csrf) };
        self.post_raw(app, path, &body, headers).await
    }

    /// Posts `body` exactly as given.
    pub async fn post_raw(&self, app: &TestApp, path: &str, body: &str, headers: &[(&str, &str)]) -> Resp {
        let mut all = vec![("Cookie", self.cookie.as_str())];
        all.extend_from_slice(headers);
        send(app, "POST", path, &all, Some(body)).await
    }
}

/// Where a redirect points.
fn location(r: &Resp) -> &str {
    r.header("location").unwrap_or("")
}

both_backends!(the_session_cookie_holds_a_session_id_and_never_the_key, |app| {
    let session = sign_in(app, &app.admin_token).await;
    assert!(!session.cookie.contains(&app.admin_token), "{}", session.cookie);
    assert!(!session.cookie.contains(&app.admin_token["sb_".len()..]), "{}", session.cookie);
    // Stored only hashed: no row holds the cookie's id itself.
    let id = session.cookie.trim_start_matches("sb_session=").to_string();
    let mut conn = app.conn();
    use diesel::prelude::*;
    use supportbill::storage::schema::web_sessions;
    let hashes: Vec<String> = web_sessions::table.select(web_sessions::token_hash).load(&mut *conn).unwrap();
    assert_eq!(hashes.len(), 1);
    assert_ne!(hashes[0], id);
    assert_eq!(hashes[0], supportbill::service::auth::hash_token(&id));
    // The raw key in a cookie, as the old page set it, signs nobody in.
    let old = send(app, "GET", "/invoices", &[("Cookie", &format!("sb_session={}", app.admin_token))], None)
        .await
        .expect(303);
    assert!(location(&old).starts_with("/?notice="), "{old:?}");
});

both_backends!(signing_out_ends_the_session_on_the_server, |app| {
    let session = sign_in(app, &app.admin_token).await;
    session.get(app, "/invoices").await.expect(200);
    let out = session.post(app, "/logout", "", &[]).await.expect(303);
    assert_eq!(location(&out), "/?notice=signed_out");
    // The same cookie, replayed after sign-out, is refused.
    let replay = session.get(app, "/invoices").await.expect(303);
    assert!(location(&replay).starts_with("/?notice="), "{replay:?}");
});

both_backends!(revoking_the_key_ends_its_sessions, |app| {
    let finance = app.make_key(Role::Finance, None);
    let session = sign_in(app, &finance).await;
    session.get(app, "/invoices").await.expect(200);
    let keys = app.list_all("/api/v1/api-keys", 100).await;
    let id = keys.iter().find(|k| k["role"] == "finance").expect("the finance key")["id"].as_i64().unwrap();
    app.delete(&format!("/api/v1/api-keys/{id}")).await.expect(204);
    let after = session.get(app, "/invoices").await.expect(303);
    assert!(location(&after).starts_with("/?notice="), "{after:?}");
});

both_backends!(sessions_expire_after_an_idle_hour_and_after_a_working_day, |app| {
    let mut conn = app.conn();
    let t0 = SystemClock.now();
    let (_, idle) = web_sessions::sign_in(&mut conn, &app.admin_token, t0).unwrap();
    // 59 minutes of silence: still signed in; then an hour without a request: ended.
    assert!(web_sessions::resume(&mut conn, &idle.id, t0 + Duration::minutes(59)).is_ok());
    assert!(web_sessions::resume(&mut conn, &idle.id, t0 + Duration::minutes(59) + IDLE_LIMIT).is_err());
    // Busy all day (a request every 30 minutes): ended ten hours after sign-in all the same.
    let (_, busy) = web_sessions::sign_in(&mut conn, &app.admin_token, t0).unwrap();
    let mut t = t0;
    while t + Duration::minutes(30) < t0 + LIFETIME {
        t += Duration::minutes(30);
        assert!(web_sessions::resume(&mut conn, &busy.id, t).is_ok(), "at {t}");
    }
    assert!(web_sessions::resume(&mut conn, &busy.id, t0 + LIFETIME).is_err());
    assert_eq!(LIFETIME, Duration::hours(10));
    assert_eq!(IDLE_LIMIT, Duration::hours(1));
});

both_backends!(posts_need_the_form_token_and_our_own_site, |app| {
    let (_, _, sub) = fixtures::billing_setup(app).await;
    app.post_json("/api/v1/time-entries", &fixtures::entry(sub, 60)).await.expect(201);
    let session = sign_in(app, &app.admin_token).await;
    let host = app.base_url.trim_start_matches("http://").to_string();
    let ours = format!("http://{host}/invoices");

    // No Origin, no Referer, no token: refused, and nothing was drafted.
    let bare = session.post_raw(app, "/invoices/run", "month=2026-10", &[]).await;
    assert_eq!(bare.status, 403, "{}", bare.text);
    // The token of another session does not do either.
    let forged = session.post_raw(app, "/invoices/run", "month=2026-10&csrf=00ff", &[]).await;
    assert_eq!(forged.status, 403);
    // A valid token from another site's page: refused by Origin, and by Referer.
    let cross_origin = session.post(app, "/invoices/run", "month=2026-10", &[("Origin", "http://evil.example")]).await;
    assert_eq!(cross_origin.status, 403);
    let cross_referer =
        session.post(app, "/invoices/run", "month=2026-10", &[("Referer", "http://evil.example/page")]).await;
    assert_eq!(cross_referer.status, 403);
    assert_eq!(app.list_all("/api/v1/invoices", 100).await.len(), 0, "a refused run drafted invoices");

    // The page's own form: its token, from our own page.
    let ok = session.post(app, "/invoices/run", "month=2026-10", &[("Referer", &ours)]).await.expect(303);
    assert!(location(&ok).starts_with("/invoices?"), "{ok:?}");
    assert_eq!(app.list_all("/api/v1/invoices", 100).await.len(), 1);
});

both_backends!(the_sign_in_form_refuses_a_post_from_elsewhere, |app| {
    let body = format!("key={}", app.admin_token);
    let post = |headers: Vec<(&'static str, String)>| {
        let body = body.clone();
        async move {
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            send(app, "POST", "/login", &headers, Some(&body)).await
        }
    };
    // Neither Origin nor Referer, and no form token: refused.
    assert_eq!(post(vec![]).await.status, 403);
    // Another site's Origin: refused.
    assert_eq!(post(vec![("Origin", "http://evil.example".into())]).await.status, 403);
    // Our own Origin: a session.
    let origin = app.base_url.clone();
    let ok = post(vec![("Origin", origin)]).await.expect(303);
    assert!(set_cookie_value(&ok, "sb_session").is_some());
});
