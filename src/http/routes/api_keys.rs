//! `/api-keys`: admin only. The token is shown once, in the creation response.

use actix_web::{delete, get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::domain::validation::{self as v, Check};
use crate::domain::vocab::Role;
use crate::error::{AppError, Problem};
use crate::http::extract::JsonBody;
use crate::http::pagination::{paginate, PageQuery};
use crate::http::wire::{opt_timestamp, timestamp, Page};
use crate::http::AppState;
use crate::service::api_keys::{self, NewKey};
use crate::service::auth::Caller;
use crate::storage::models::ApiKey;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create).service(list).service(revoke);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyInput {
    pub name: String,
    /// `admin`, `finance` or `client`.
    pub role: String,
    /// Required for client keys.
    pub customer_id: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyOut {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub customer_id: Option<i64>,
    pub created_at: String,
    pub revoked_at: Option<String>,
    /// Only in the creation response; store it now, it cannot be shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl From<ApiKey> for ApiKeyOut {
    fn from(k: ApiKey) -> Self {
        ApiKeyOut {
            id: k.id,
            name: k.name,
            role: k.role.to_string(),
            customer_id: k.customer_id,
            created_at: timestamp(k.created_at),
            revoked_at: opt_timestamp(k.revoked_at),
            token: None,
        }
    }
}

#[utoipa::path(tag = "api-keys", request_body = ApiKeyInput, responses((status = 201, body = ApiKeyOut), (status = 403, body = Problem), (status = 422, body = Problem)))]
#[post("/api-keys")]
async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: JsonBody<ApiKeyInput>,
) -> Result<HttpResponse, AppError> {
    caller.require_admin("route")?;
    let body = body.parse()?;
    let mut c = Check::new();
    let name = c.take("name", v::required_text(&body.name, 200));
    let role = c.take("role", Role::parse_field(&body.role));
    let key = c.finish(|| Some(NewKey { name: name?, role: role?, customer_id: body.customer_id }))?;
    let now = state.clock.now();
    let (row, token) = state.run(move |conn| api_keys::create(conn, key, now)).await?;
    let mut out = ApiKeyOut::from(row);
    out.token = Some(token);
    Ok(HttpResponse::Created().json(out))
}

#[utoipa::path(tag = "api-keys", params(PageQuery), responses((status = 200, body = Page<ApiKeyOut>), (status = 403, body = Problem)))]
#[get("/api-keys")]
async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    query: crate::http::extract::DeferredQuery<PageQuery>,
) -> Result<HttpResponse, AppError> {
    caller.require_admin("route")?;
    let page = query.parse()?.parse()?;
    let rows = state.run(move |conn| api_keys::list(conn, page.after, page.limit)).await?;
    Ok(HttpResponse::Ok().json(paginate(rows, page, |k| k.id, ApiKeyOut::from)))
}

/// Revokes a key at once.
#[utoipa::path(tag = "api-keys", params(("id" = i64, Path)), responses((status = 204), (status = 404, body = Problem)))]
#[delete("/api-keys/{id}")]
async fn revoke(caller: Caller, state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    caller.require_admin("api key")?;
    let id = id.into_inner();
    let now = state.clock.now();
    state.run(move |conn| api_keys::revoke(conn, id, now)).await?;
    Ok(HttpResponse::NoContent().finish())
}
