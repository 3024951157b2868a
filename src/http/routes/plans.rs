//! `/plans`: the partner's published support plans (admin and finance).

use std::collections::BTreeMap;

use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::domain::terms::{ContactMethod, Hours};
use crate::error::{AppError, Problem};
use crate::http::extract::JsonBody;
use crate::http::pagination::{paginate, PageQuery};
use crate::http::wire::{timestamp, Page};
use crate::http::AppState;
use crate::service::auth::Caller;
use crate::service::plans::{self, PlanInput};
use crate::storage::models::Plan;
use crate::storage::Dec;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create).service(list).service(read).service(update).service(remove);
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PlanOut {
    pub id: i64,
    pub name: String,
    pub scope: String,
    pub currency: String,
    pub billing_model: String,
    pub hourly_rate: Option<String>,
    pub category_rates: BTreeMap<String, String>,
    pub after_hours_multiplier: String,
    pub rounding_increment_minutes: i32,
    pub minimum_minutes: i32,
    pub monthly_fee: Option<String>,
    pub included_minutes: Option<i32>,
    pub incident_fee: Option<String>,
    pub chargeable_categories: Vec<String>,
    pub hours_of_service: Hours,
    pub contact_methods: Vec<ContactMethod>,
    pub created_at: String,
}

impl From<Plan> for PlanOut {
    fn from(p: Plan) -> Self {
        let money = |d: Option<Dec>| d.map(|d| p.currency.format(d.0));
        PlanOut {
            id: p.id,
            name: p.name.clone(),
            scope: p.scope.clone(),
            currency: p.currency.to_string(),
            billing_model: p.billing_model.to_string(),
            hourly_rate: p.hourly_rate.map(|d| d.0.to_string()),
            category_rates: serde_json::from_str(&p.category_rates).unwrap_or_default(),
            after_hours_multiplier: p.after_hours_multiplier.0.to_string(),
            rounding_increment_minutes: p.rounding_increment_minutes,
            minimum_minutes: p.minimum_minutes,
            monthly_fee: money(p.monthly_fee),
            included_minutes: p.included_minutes,
            incident_fee: money(p.incident_fee),
            chargeable_categories: serde_json::from_str(&p.chargeable_categories).unwrap_or_default(),
            hours_of_service: serde_json::from_str(&p.hours_of_service).unwrap_or(Hours {
                timezone: "UTC".into(),
                days: vec![],
                start: "00:00".into(),
                end: "00:00".into(),
            }),
            contact_methods: serde_json::from_str(&p.contact_methods).unwrap_or_default(),
            created_at: timestamp(p.created_at),
        }
    }
}

#[utoipa::path(tag = "plans", request_body = PlanInput,
    responses((status = 201, body = PlanOut), (status = 422, body = Problem)))]
#[post("/plans")]
async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: JsonBody<PlanInput>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("route")?;
    let new = body.parse()?.validate()?;
    let now = state.clock.now();
    let row = state.run(move |conn| plans::create(conn, new, now)).await?;
    Ok(HttpResponse::Created().json(PlanOut::from(row)))
}

#[utoipa::path(tag = "plans", params(PageQuery), responses((status = 200, body = Page<PlanOut>)))]
#[get("/plans")]
async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    query: crate::http::extract::DeferredQuery<PageQuery>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("route")?;
    let page = query.parse()?.parse()?;
    let rows = state.run(move |conn| plans::list(conn, page.after, page.limit)).await?;
    Ok(HttpResponse::Ok().json(paginate(rows, page, |p| p.id, PlanOut::from)))
}

#[utoipa::path(tag = "plans", params(("id" = i64, Path)), responses((status = 200, body = PlanOut), (status = 404, body = Problem)))]
#[get("/plans/{id}")]
async fn read(caller: Caller, state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    caller.require_staff("plan")?;
    let id = id.into_inner();
    let row = state.run(move |conn| plans::get(conn, id)).await?;
    Ok(HttpResponse::Ok().json(PlanOut::from(row)))
}

#[utoipa::path(tag = "plans", params(("id" = i64, Path)), request_body = PlanInput,
    responses((status = 200, body = PlanOut), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
#[put("/plans/{id}")]
async fn update(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: JsonBody<PlanInput>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("plan")?;
    let id = id.into_inner();
    let changes = body.parse()?.validate()?;
    let row = state.run(move |conn| plans::update(conn, id, changes)).await?;
    Ok(HttpResponse::Ok().json(PlanOut::from(row)))
}

#[utoipa::path(tag = "plans", params(("id" = i64, Path)), responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
#[delete("/plans/{id}")]
async fn remove(caller: Caller, state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    caller.require_staff("plan")?;
    let id = id.into_inner();
    state.run(move |conn| plans::delete(conn, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
