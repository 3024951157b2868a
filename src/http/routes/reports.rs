//! `/reports`: the usage summary and the invoice register, as JSON.

use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::domain::validation::{self as v, Check};
use crate::error::{AppError, Problem};
use crate::http::wire::DataList;
use crate::http::AppState;
use crate::service::auth::Caller;
use crate::service::reports::{self, GroupBy, RegisterRow, UsageRow};

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(usage).service(register);
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// `YYYY-MM-DD`, inclusive.
    pub from: String,
    /// `YYYY-MM-DD`, exclusive.
    pub to: String,
    /// `customer`, `subscription`, `product`, `category`, `agent` or `escalation_channel`.
    pub group_by: Option<String>,
    pub customer_id: Option<i64>,
}

fn range(from: &str, to: &str) -> Result<(chrono::NaiveDate, chrono::NaiveDate), AppError> {
    let mut c = Check::new();
    let f = c.take("from", v::date(from));
    let t = c.take("to", v::date(to));
    if let (Some(f), Some(t)) = (f, t) {
        if t <= f { c.add("to", "must be after from") }
    }
    c.finish(|| (f.expect("checked"), t.expect("checked"))).map_err(AppError::from)
}

#[utoipa::path(tag = "reports", params(UsageQuery), responses((status = 200, body = DataList<UsageRow>), (status = 422, body = Problem)))]
#[get("/reports/usage")]
async fn usage(caller: Caller, state: web::Data<AppState>, query: web::Query<UsageQuery>) -> Result<HttpResponse, AppError> {
    let (from, to) = range(&query.from, &query.to)?;
    let group_name = query.group_by.as_deref().unwrap_or("customer");
    let group_by = GroupBy::parse(group_name)
        .ok_or_else(|| AppError::field("group_by", format!("{group_name:?} is not one of: {}", GroupBy::NAMES.join(", "))))?;
    // Clients always see only their own customer.
    let customer_id = if caller.is_client() { caller.customer_id } else { query.customer_id };
    let rows = state.run(move |conn| reports::usage(conn, from, to, group_by, customer_id)).await?;
    Ok(HttpResponse::Ok().json(DataList { data: rows }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RegisterQuery {
    pub from: String,
    pub to: String,
}

/// Invoices issued in [from, to), void ones included.
#[utoipa::path(tag = "reports", params(RegisterQuery), responses((status = 200, body = DataList<RegisterRow>), (status = 422, body = Problem)))]
#[get("/reports/invoices")]
async fn register(caller: Caller, state: web::Data<AppState>, query: web::Query<RegisterQuery>) -> Result<HttpResponse, AppError> {
    caller.require_staff("route")?;
    let (from, to) = range(&query.from, &query.to)?;
    let rows = state.run(move |conn| reports::register(conn, from, to, None)).await?;
    Ok(HttpResponse::Ok().json(DataList { data: rows }))
}
