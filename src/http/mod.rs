//! HTTP: the actix-web application. Route modules each expose `config`, composed here; the
//! OpenAPI document is collected from the same registrations, so it cannot drift from the
//! routes. `main` and the tests both start the server through [`start`].

pub mod audit;
pub mod auth_cache;
pub mod extract;
pub mod idempotency;
pub mod metrics;
pub mod negotiate;
pub mod openapi;
pub mod pagination;
pub mod ratelimit;
pub mod request_id;
pub mod routes;
pub mod wire;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

use crate::error::AppError;
use crate::service::clock::Clock;
use crate::storage::{DbConnection, Pool};

/// What every handler can reach: the connection pool, the clock, and the rate limits.
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub clock: Arc<dyn Clock>,
    pub limits: Arc<ratelimit::RateLimits>,
    pub metrics: Arc<metrics::Metrics>,
    pub auth_cache: Arc<auth_cache::AuthCache>,
    /// The pool's backend is SQLite (decides where short reads run).
    sqlite: bool,
}

impl AppState {
    /// With the default (generous) rate limits.
    pub fn new(pool: Pool, clock: Arc<dyn Clock>) -> AppState {
        AppState {
            pool: pool.clone(),
            clock,
            limits: Arc::new(ratelimit::RateLimits::new(ratelimit::RateLimitConfig::default())),
            metrics: Arc::new(metrics::Metrics::default()),
            auth_cache: Arc::new(auth_cache::AuthCache::default()),
            sqlite: pool.get().map(|conn| matches!(**conn, DbConnection::Sqlite(_))).unwrap_or(false),
        }
    }

    pub fn with_rate_limit(mut self, config: ratelimit::RateLimitConfig) -> AppState {
        self.limits = Arc::new(ratelimit::RateLimits::new(config));
        self
    }

    /// A short read by key, such as one invoice: on SQLite, when a pooled connection is free at
    /// once, it runs on this thread instead of the blocking pool. Handing work to the pool and
    /// back costs two thread switches, more than reading a row from SQLite's cache
    /// (BENCHMARKS.md, "GET invoice"). Only for point reads: the worker thread serves nothing
    /// else meanwhile. PostgreSQL (a network round trip each query), a busy pool and a request
    /// with audit rows go through [`AppState::run`]. The cached caller's key is confirmed first,
    /// as there.
    pub async fn run_read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        if audit::pending_rows().is_none() {
            if let Some(mut conn) = self.pool.try_get() {
                if matches!(**conn, DbConnection::Sqlite(_)) {
                    if let Some(pending) = auth_cache::pending_key() {
                        let live = crate::service::auth::is_live(&mut conn, pending.key_id)?;
                        pending.settle(live);
                        if !live {
                            return Err(AppError::Unauthorized);
                        }
                    }
                    return f(&mut conn);
                }
            }
        }
        self.run(f).await
    }

    /// [`AppState::run_read`] for a read that can confirm the cached caller's key in its own
    /// statement: on PostgreSQL, `f` gets the key to confirm and must answer `Unauthorized`
    /// when it is revoked, and anything else only once it found the key live. That saves a
    /// round trip per request. On SQLite the key is confirmed as in `run_read` (a second
    /// statement there costs no round trip) and `f` gets `None`.
    pub async fn run_read_confirming_key<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection, Option<i64>) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let Some(pending) = auth_cache::pending_key() else { return self.run_read(move |conn| f(conn, None)).await };
        if self.sqlite || audit::pending_rows().is_some() {
            return self.run_read(move |conn| f(conn, None)).await;
        }
        let pool = self.pool.clone();
        let key_id = pending.key_id;
        let result = web::block(move || {
            let mut conn = pool.get()?;
            f(&mut conn, Some(key_id))
        })
        .await
        .map_err(|e| AppError::Internal(format!("blocking task failed: {e}")))?;
        match &result {
            Err(AppError::Unauthorized) => pending.settle(false),
            Ok(_) | Err(AppError::NotFound { .. }) => pending.settle(true),
            // Failed before it could tell: the authentication middleware checks the key itself.
            Err(_) => {}
        }
        result
    }

    /// Runs blocking database work on actix's thread pool with a pooled connection. When the
    /// request's caller came from the authentication cache and its key has not been confirmed
    /// live yet, that check runs first, on the same connection (see [`auth_cache`]): a revoked
    /// key gets 401 and `f` does not run. A write request's audit rows ([`audit`]) are written
    /// inside the first write transaction `f` commits.
    pub async fn run<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let pending = auth_cache::pending_key();
        let key_to_check = pending.as_ref().map(|p| p.key_id);
        let (audit, audit_rows) = audit::pending_rows().unzip();
        let (live, result, audit_ids) = web::block(move || {
            let mut conn = match pool.get() {
                Ok(conn) => conn,
                Err(e) => return (None, Err(e.into()), None),
            };
            if let Some(key_id) = key_to_check {
                match crate::service::auth::is_live(&mut conn, key_id) {
                    Ok(true) => {}
                    Ok(false) => return (Some(false), Err(AppError::Unauthorized), None),
                    Err(e) => return (None, Err(e), None),
                }
            }
            let live = key_to_check.map(|_| true);
            let Some(rows) = audit_rows else { return (live, f(&mut conn), None) };
            // The request's audit rows go into its first write transaction, before the commit.
            let ids = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let sink = ids.clone();
            let hook: crate::storage::BeforeCommit = Box::new(move |conn| {
                let written = crate::service::audit::insert_returning_ids(conn, &rows)?;
                if let Ok(mut sink) = sink.lock() {
                    *sink = written;
                }
                Ok(())
            });
            let (result, ran) = crate::storage::with_before_commit(hook, || f(&mut conn));
            let ids = ran.then(|| ids.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default());
            (live, result, ids)
        })
        .await
        .map_err(|e| AppError::Internal(format!("blocking task failed: {e}")))?;
        if let (Some(p), Some(live)) = (pending, live) {
            p.settle(live);
        }
        if let (Some(audit), Some(ids)) = (audit, audit_ids) {
            audit.written(ids);
        }
        result
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "supportbill",
        description = "Support time billing for Microsoft CSP partners. Amounts and rates are \
                       decimal strings; ids are opaque; errors are application/problem+json.",
        version = "1"
    ),
    modifiers(&BearerAuth),
    components(schemas(crate::error::Problem))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security =
            Some(vec![utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new())]);
    }
}

/// The OpenAPI document of every route under `/api/v1`.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let (_, api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .service(utoipa_actix_web::scope("/api/v1").configure(routes::config))
        .split_for_parts();
    openapi::with_common_responses(api)
}

/// Binds the app to `listener` and returns the running server (not yet awaited).
pub fn start(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let state = web::Data::new(state);
    let api = web::Data::new(openapi_document());
    let server = HttpServer::new(move || {
        let (app, _) = App::new()
            .into_utoipa_app()
            .openapi(ApiDoc::openapi())
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(extract::BODY_LIMIT))
            // An id that cannot exist (`/customers/abc`) is simply not found.
            .app_data(web::PathConfig::default().error_handler(|_, _| AppError::NotFound { what: "resource" }.into()))
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|err, _| AppError::field("query", format!("invalid query string: {err}")).into()),
            )
            // Before the /api/v1 scope, which would otherwise answer 404 for it.
            .map(|app| app.route("/api/v1/openapi.json", web::get().to(openapi_json)))
            .service(
                utoipa_actix_web::scope("/api/v1")
                    // The last `wrap` runs first: authenticate, idempotency keys, the audit of writes (so a
                    // replayed response is not audited twice), the request id in problem bodies.
                    .wrap(actix_web::middleware::from_fn(request_id::tag_problems))
                    .wrap(actix_web::middleware::from_fn(audit::audit))
                    .wrap(actix_web::middleware::from_fn(idempotency::idempotency))
                    .wrap(actix_web::middleware::from_fn(extract::authenticate))
                    .configure(routes::config),
            )
            .split_for_parts();
        app.app_data(api.clone())
            .wrap(actix_web::middleware::from_fn(ratelimit::limit_anonymous))
            .wrap(actix_web::middleware::from_fn(request_id::assign))
            .route("/healthz", web::get().to(healthz))
            .route("/metrics", web::get().to(metrics::metrics))
            .route("/version", web::get().to(version))
            .configure(crate::web::config)
            .default_service(web::to(not_found))
    })
    .listen(listener)?
    .shutdown_timeout(30)
    .run();
    Ok(server)
}

async fn openapi_json(api: web::Data<utoipa::openapi::OpenApi>) -> HttpResponse {
    HttpResponse::Ok().json(api.get_ref())
}

async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    use diesel::connection::SimpleConnection;
    state.run(|conn| conn.batch_execute("SELECT 1").map_err(AppError::from)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ok"})))
}

/// The name and version of the running binary; touches nothing (the benchmarks' baseline route).
async fn version() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"name": "supportbill", "version": env!("CARGO_PKG_VERSION")}))
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, AppError> {
    let _ = req.headers().get(header::ACCEPT);
    Err(AppError::NotFound { what: "route" })
}
