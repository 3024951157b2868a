//! `/charges`: manual lines on a subscription; a negative amount is a credit.

use actix_web::{delete, get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::domain::validation::{self as v, Check};
use crate::error::{AppError, Problem};
use crate::http::extract::JsonBody;
use crate::http::pagination::{paginate, PageQuery};
use crate::http::wire::{DecimalIn, Page};
use crate::http::AppState;
use crate::service::auth::Caller;
use crate::service::charges;
use crate::storage::models::{Charge, NewCharge};
use crate::storage::Dec;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create).service(list).service(read).service(remove);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChargeInput {
    pub subscription_id: i64,
    /// `YYYY-MM-DD`; the charge is invoiced in the period containing it.
    pub date: String,
    pub description: String,
    /// In the customer's currency, at most its minor digits; negative for a credit.
    pub amount: DecimalIn,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChargeOut {
    pub id: i64,
    pub subscription_id: i64,
    pub date: String,
    pub description: String,
    pub amount: String,
    pub invoice_id: Option<i64>,
}

impl From<Charge> for ChargeOut {
    fn from(c: Charge) -> Self {
        ChargeOut {
            id: c.id,
            subscription_id: c.subscription_id,
            date: c.date.to_string(),
            description: c.description,
            amount: c.amount.0.to_string(),
            invoice_id: c.invoice_id,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChargeFilter {
    pub subscription_id: Option<i64>,
}

#[utoipa::path(tag = "charges", request_body = ChargeInput,
    responses((status = 201, body = ChargeOut), (status = 422, body = Problem)))]
#[post("/charges")]
async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: JsonBody<ChargeInput>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("route")?;
    let input = body.parse()?;
    let mut c = Check::new();
    let date = c.take("date", v::date(&input.date));
    let description = c.take("description", v::required_text(&input.description, 500));
    let amount = c.take("amount", v::decimal(&input.amount.0));
    let new = c.finish(|| {
        Some(NewCharge {
            subscription_id: input.subscription_id,
            date: date?,
            description: description?,
            amount: Dec(amount?),
        })
    })?;
    let row = state.run(move |conn| charges::create(conn, new)).await?;
    Ok(HttpResponse::Created().json(ChargeOut::from(row)))
}

#[utoipa::path(tag = "charges", params(PageQuery, ChargeFilter), responses((status = 200, body = Page<ChargeOut>)))]
#[get("/charges")]
async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    query: crate::http::extract::DeferredQuery<PageQuery>,
    filter: crate::http::extract::DeferredQuery<ChargeFilter>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("route")?;
    let page = query.parse()?.parse()?;
    let subscription_id = filter.parse()?.subscription_id;
    let rows = state.run(move |conn| charges::list(conn, subscription_id, page.after, page.limit)).await?;
    Ok(HttpResponse::Ok().json(paginate(rows, page, |c| c.id, ChargeOut::from)))
}

#[utoipa::path(tag = "charges", params(("id" = i64, Path)), responses((status = 200, body = ChargeOut), (status = 404, body = Problem)))]
#[get("/charges/{id}")]
async fn read(caller: Caller, state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    caller.require_staff("charge")?;
    let id = id.into_inner();
    let row = state.run(move |conn| charges::get(conn, id)).await?;
    Ok(HttpResponse::Ok().json(ChargeOut::from(row)))
}

#[utoipa::path(tag = "charges", params(("id" = i64, Path)), responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
#[delete("/charges/{id}")]
async fn remove(caller: Caller, state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    caller.require_staff("charge")?;
    let id = id.into_inner();
    state.run(move |conn| charges::delete(conn, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
