//! The finance staff's actions: run a month, issue a draft, void an issued invoice.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Months;
use serde::Deserialize;

use crate::domain::validation as v;
use crate::error::AppError;
use crate::http::extract::RawBody;
use crate::http::AppState;
use crate::service::invoices as svc;
use crate::web::html::link;
use crate::web::invoices::{month_value, parse_id, parse_month};
use crate::web::{parse_form, see_other, signed_in_post, Failure, ForCaller};

#[derive(Deserialize)]
struct RunForm {
    month: Option<String>,
}

pub(crate) async fn run(
    req: HttpRequest,
    state: web::Data<AppState>,
    RawBody(body): RawBody,
) -> Result<HttpResponse, Failure> {
    let caller = signed_in_post(&req, &state, &body).await?;
    caller.require_staff("route").for_caller(&caller)?;
    let form: Option<RunForm> = std::str::from_utf8(&body).ok().and_then(parse_form);
    let month_text = form.and_then(|f| f.month).unwrap_or_default();
    let start = parse_month(&month_text).ok_or_else(|| {
        Failure::Message(
            StatusCode::UNPROCESSABLE_ENTITY,
            if month_text.trim().is_empty() {
                "Month: choose the month to invoice.".to_string()
            } else {
                format!("Month: {:?} is not a month as YYYY-MM.", month_text.trim())
            },
            Some(caller.clone()),
        )
    })?;
    let end = start.checked_add_months(Months::new(1)).ok_or_else(|| {
        Failure::Message(StatusCode::UNPROCESSABLE_ENTITY, "Month: out of range.".into(), Some(caller.clone()))
    })?;
    let period = v::period_of(start, end).map_err(AppError::from).for_caller(&caller)?;
    let now = state.clock.now();
    let pool = state.pool.clone();
    let docs = state
        .run(move |conn| svc::run(conn, crate::storage::SecondReader::from(&pool), period, now))
        .await
        .for_caller(&caller)?;
    let ids: Vec<i64> = docs.iter().map(|d| d.id).collect();
    crate::http::audit::record_direct(&state, &req, &caller, "invoice", "created", &ids, 303).await;
    let n = docs.len().to_string();
    Ok(see_other(&link(
        "/invoices",
        &[("status", "draft"), ("period", &month_value(start)), ("flash", "run"), ("n", &n)],
    )))
}

pub(crate) async fn issue(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    RawBody(body): RawBody,
) -> Result<HttpResponse, Failure> {
    let caller = signed_in_post(&req, &state, &body).await?;
    caller.require_staff("invoice").for_caller(&caller)?;
    let id = parse_id(&id).for_caller(&caller)?;
    let clock = state.clock.clone();
    state.run(move |conn| svc::issue(conn, id, clock.as_ref())).await.for_caller(&caller)?;
    crate::http::audit::record_direct(&state, &req, &caller, "invoice", "issued", &[id], 303).await;
    Ok(see_other(&format!("/invoices/{id}?flash=issued")))
}

pub(crate) async fn void(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    RawBody(body): RawBody,
) -> Result<HttpResponse, Failure> {
    let caller = signed_in_post(&req, &state, &body).await?;
    caller.require_staff("invoice").for_caller(&caller)?;
    let id = parse_id(&id).for_caller(&caller)?;
    state.run(move |conn| svc::void(conn, id)).await.for_caller(&caller)?;
    crate::http::audit::record_direct(&state, &req, &caller, "invoice", "voided", &[id], 303).await;
    Ok(see_other(&format!("/invoices/{id}?flash=voided")))
}
