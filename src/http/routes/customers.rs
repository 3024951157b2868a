//! `/customers`: the partner's customers (admin and finance).

use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{AppError, Problem};
use crate::http::extract::JsonBody;
use crate::http::pagination::{paginate, PageQuery};
use crate::http::wire::{timestamp, Page};
use crate::http::AppState;
use crate::service::auth::Caller;
use crate::service::customers::{self, CustomerInput};
use crate::storage::models::Customer;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create).service(list).service(read).service(update).service(remove);
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CustomerOut {
    pub id: i64,
    pub name: String,
    pub billing_address: String,
    pub email: String,
    pub country: String,
    pub currency: String,
    pub tax_rate_percent: String,
    pub tax_id: String,
    pub external_id: Option<String>,
    pub tax_treatment: String,
    pub exemption_reason: String,
    pub created_at: String,
}

impl From<Customer> for CustomerOut {
    fn from(c: Customer) -> Self {
        CustomerOut {
            id: c.id,
            name: c.name,
            billing_address: c.billing_address,
            email: c.email,
            country: c.country,
            currency: c.currency.to_string(),
            tax_rate_percent: c.tax_rate_percent.0.to_string(),
            tax_id: c.tax_id,
            external_id: c.external_id,
            tax_treatment: c.tax_treatment.to_string(),
            exemption_reason: c.exemption_reason,
            created_at: timestamp(c.created_at),
        }
    }
}

#[utoipa::path(tag = "customers", request_body = CustomerInput,
    responses((status = 201, body = CustomerOut), (status = 422, body = Problem), (status = 409, body = Problem)))]
#[post("/customers")]
async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: JsonBody<CustomerInput>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("route")?;
    let new = body.parse()?.validate()?;
    let now = state.clock.now();
    let row = state.run(move |conn| customers::create(conn, new, now)).await?;
    Ok(HttpResponse::Created().json(CustomerOut::from(row)))
}

#[utoipa::path(tag = "customers", params(PageQuery), responses((status = 200, body = Page<CustomerOut>)))]
#[get("/customers")]
async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    query: crate::http::extract::DeferredQuery<PageQuery>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("route")?;
    let page = query.parse()?.parse()?;
    let rows = state.run(move |conn| customers::list(conn, page.after, page.limit)).await?;
    Ok(HttpResponse::Ok().json(paginate(rows, page, |c| c.id, CustomerOut::from)))
}

#[utoipa::path(tag = "customers", params(("id" = i64, Path)), responses((status = 200, body = CustomerOut), (status = 404, body = Problem)))]
#[get("/customers/{id}")]
async fn read(caller: Caller, state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    caller.require_staff("customer")?;
    let id = id.into_inner();
    let row = state.run(move |conn| customers::get(conn, id)).await?;
    Ok(HttpResponse::Ok().json(CustomerOut::from(row)))
}

#[utoipa::path(tag = "customers", params(("id" = i64, Path)), request_body = CustomerInput,
    responses((status = 200, body = CustomerOut), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
#[put("/customers/{id}")]
async fn update(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: JsonBody<CustomerInput>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("customer")?;
    let id = id.into_inner();
    let changes = body.parse()?.validate()?;
    let row = state.run(move |conn| customers::update(conn, id, changes)).await?;
    Ok(HttpResponse::Ok().json(CustomerOut::from(row)))
}

#[utoipa::path(tag = "customers", params(("id" = i64, Path)), responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
#[delete("/customers/{id}")]
async fn remove(caller: Caller, state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    caller.require_staff("customer")?;
    let id = id.into_inner();
    state.run(move |conn| customers::delete(conn, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
