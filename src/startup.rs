//! The application's assembly: the API under `/api/v1`, its middleware, the operational routes
//! and the finance page, bound to a listener. `main` and the tests start the server the same
//! way, through [`start`].

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

use crate::error::AppError;
use crate::http::{self, AppState};
use crate::web as web_page;

/// Binds the app to `listener` and returns the running server (not yet awaited).
pub fn start(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let state = web::Data::new(state);
    let api = web::Data::new(http::openapi_document());
    let server = HttpServer::new(move || {
        let (app, _) = App::new()
            .into_utoipa_app()
            .openapi(http::ApiDoc::openapi())
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(http::extract::BODY_LIMIT))
            // An id that cannot exist (`/customers/abc`) is simply not found.
            .app_data(web::PathConfig::default().error_handler(|_, _| AppError::NotFound { what: "resource" }.into()))
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|err, _| AppError::field("query", format!("invalid query string: {err}")).into()),
            )
            // Before the /api/v1 scope, which would otherwise answer 404 for it.
            .map(|app| app.route("/api/v1/openapi.json", web::get().to(http::openapi_json)))
            .service(
                utoipa_actix_web::scope("/api/v1")
                    // The last `wrap` runs first: authenticate, idempotency keys, the audit of writes (so a
                    // replayed response is not audited twice), the request id in problem bodies.
                    .wrap(actix_web::middleware::from_fn(http::request_id::tag_problems))
                    .wrap(actix_web::middleware::from_fn(http::audit::audit))
                    .wrap(actix_web::middleware::from_fn(http::idempotency::idempotency))
                    .wrap(actix_web::middleware::from_fn(http::extract::authenticate))
                    .configure(http::routes::config),
            )
            .split_for_parts();
        app.app_data(api.clone())
            .wrap(actix_web::middleware::from_fn(http::ratelimit::limit_anonymous))
            .wrap(actix_web::middleware::from_fn(http::request_id::assign))
            // Outermost, so a 408's body, which keeps the unread request body, is the one sent.
            .wrap(actix_web::middleware::from_fn(http::body_deadline::limit_body_time))
            .route("/healthz", web::get().to(http::healthz))
            .route("/metrics", web::get().to(http::metrics::metrics))
            .route("/version", web::get().to(http::version))
            .configure(web_page::config)
            .default_service(web::to(http::not_found))
    })
    .listen(listener)?
    .shutdown_timeout(30)
    .run();
    Ok(server)
}
