//! HTTP: the actix-web application. Route modules each expose `config`, composed here; the
//! OpenAPI document is collected from the same registrations, so it cannot drift from the
//! routes. The application is assembled from these and the finance page in `startup`.

pub mod audit;
pub mod auth_cache;
pub mod body_deadline;
pub mod extract;
pub mod idempotency;
pub mod merge_patch;
pub mod metrics;
pub mod negotiate;
pub mod openapi;
pub mod pagination;
pub mod ratelimit;
pub mod request_id;
pub mod routes;
pub mod state;
pub mod wire;

use actix_web::http::header;
use actix_web::{web, App, HttpRequest, HttpResponse};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

use crate::error::AppError;

pub use state::AppState;

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
pub struct ApiDoc;

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

pub async fn openapi_json(api: web::Data<utoipa::openapi::OpenApi>) -> HttpResponse {
    HttpResponse::Ok().json(api.get_ref())
}

/// 200 when the database answers, else 503 (problem+json, `Retry-After`): unreachable, or no
/// connection free within `state::HEALTH_WAIT`.
pub async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    state.ping().await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ok"})))
}

/// The name and version of the running binary; touches nothing (the benchmarks' baseline route).
pub async fn version() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"name": "supportbill", "version": env!("CARGO_PKG_VERSION")}))
}

pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, AppError> {
    let _ = req.headers().get(header::ACCEPT);
    Err(AppError::NotFound { what: "route" })
}
