//! `/plans`: the partner's published support plans (admin and finance), and their versions
//! (`/plans/{id}/versions`, SPEC 7.2).

use std::collections::BTreeMap;

use actix_web::{delete, get, post, put, web, HttpResponse};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::domain::money::Currency;
use crate::domain::terms::{ContactMethod, Hours};
use crate::domain::validation as v;
use crate::error::{AppError, Problem};
use crate::http::extract::{DeferredQuery, JsonBody};
use crate::http::pagination::{paginate, PageQuery};
use crate::http::wire::{timestamp, Page};
use crate::http::AppState;
use crate::service::auth::Caller;
use crate::service::plan_terms::VersionInput;
use crate::service::plan_versions;
use crate::service::plans::{self, PlanInput, PlanView};
use crate::storage::models::{PlanTermsRow, PlanVersionRow};
use crate::storage::Dec;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create)
        .service(list)
        .service(read)
        .service(update)
        .service(remove)
        .service(add_version)
        .service(list_versions);
}

/// A version's terms as they leave the service.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TermsOut {
    /// The first date these terms apply to (the plan's first version also applies before it).
    pub effective_from: String,
    pub scope: String,
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
    pub holiday_calendar_id: Option<i64>,
    /// `entry` or `ticket`.
    pub rounding_scope: String,
    /// `none` or `daily`.
    pub fee_proration: String,
}

impl TermsOut {
    pub fn new(effective_from: NaiveDate, t: &PlanTermsRow, currency: Currency) -> TermsOut {
        let money = |d: Option<Dec>| d.map(|d| currency.format(d.0));
        TermsOut {
            effective_from: effective_from.to_string(),
            scope: t.scope.clone(),
            hourly_rate: t.hourly_rate.map(|d| d.0.to_string()),
            category_rates: serde_json::from_str(&t.category_rates).unwrap_or_default(),
            after_hours_multiplier: t.after_hours_multiplier.0.to_string(),
            rounding_increment_minutes: t.rounding_increment_minutes,
            minimum_minutes: t.minimum_minutes,
            monthly_fee: money(t.monthly_fee),
            included_minutes: t.included_minutes,
            incident_fee: money(t.incident_fee),
            chargeable_categories: serde_json::from_str(&t.chargeable_categories).unwrap_or_default(),
            hours_of_service: serde_json::from_str(&t.hours_of_service).unwrap_or(Hours {
                timezone: "UTC".into(),
                days: vec![],
                start: "00:00".into(),
                end: "00:00".into(),
            }),
            contact_methods: serde_json::from_str(&t.contact_methods).unwrap_or_default(),
            holiday_calendar_id: t.holiday_calendar_id,
            rounding_scope: t.rounding_scope.as_str().to_string(),
            fee_proration: t.fee_proration.as_str().to_string(),
        }
    }
}

/// A plan with the terms of the version in force on the day asked about (today by default).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PlanOut {
    pub id: i64,
    pub name: String,
    pub currency: String,
    pub billing_model: String,
    pub created_at: String,
    #[serde(flatten)]
    pub terms: TermsOut,
}

impl From<PlanView> for PlanOut {
    fn from(p: PlanView) -> Self {
        PlanOut {
            id: p.plan.id,
            name: p.plan.name.clone(),
            currency: p.plan.currency.to_string(),
            billing_model: p.plan.billing_model.to_string(),
            created_at: timestamp(p.plan.created_at),
            terms: TermsOut::new(p.version.effective_from, &p.version.terms, p.plan.currency),
        }
    }
}

/// One version of a plan's terms.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VersionOut {
    pub id: i64,
    pub plan_id: i64,
    pub created_at: String,
    #[serde(flatten)]
    pub terms: TermsOut,
}

impl VersionOut {
    pub fn new(row: PlanVersionRow, currency: Currency) -> VersionOut {
        VersionOut {
            id: row.id,
            plan_id: row.plan_id,
            created_at: timestamp(row.created_at),
            terms: TermsOut::new(row.effective_from, &row.terms, currency),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AsOf {
    /// `YYYY-MM-DD`: show the version in force on this date (default today, UTC).
    pub as_of: Option<String>,
}

impl AsOf {
    fn date(&self, state: &AppState) -> Result<NaiveDate, AppError> {
        match &self.as_of {
            None => Ok(state.clock.now().date()),
            Some(text) => v::date(text).map_err(|m| AppError::field("as_of", m)),
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

#[utoipa::path(tag = "plans", params(PageQuery, AsOf), responses((status = 200, body = Page<PlanOut>)))]
#[get("/plans")]
async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    query: DeferredQuery<PageQuery>,
    as_of: DeferredQuery<AsOf>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("route")?;
    let page = query.parse()?.parse()?;
    let as_of = as_of.parse()?.date(&state)?;
    let rows = state.run(move |conn| plans::list(conn, page.after, page.limit, as_of)).await?;
    Ok(HttpResponse::Ok().json(paginate(rows, page, |p| p.plan.id, PlanOut::from)))
}

#[utoipa::path(tag = "plans", params(("id" = i64, Path), AsOf),
    responses((status = 200, body = PlanOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
#[get("/plans/{id}")]
async fn read(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    as_of: DeferredQuery<AsOf>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("plan")?;
    let id = id.into_inner();
    let as_of = as_of.parse()?.date(&state)?;
    let row = state.run(move |conn| plans::get(conn, id, as_of)).await?;
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
    let now = state.clock.now();
    let row = state.run(move |conn| plans::update(conn, id, changes, now)).await?;
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

#[utoipa::path(tag = "plans", params(("id" = i64, Path)), request_body = VersionInput,
    responses((status = 201, body = VersionOut), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
#[post("/plans/{id}/versions")]
async fn add_version(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: JsonBody<VersionInput>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("plan")?;
    let id = id.into_inner();
    let input = body.parse()?;
    let now = state.clock.now();
    let out = state
        .run(move |conn| {
            let mut currency = None;
            let row = plan_versions::add(
                conn,
                id,
                |plan| {
                    currency = Some(plan.currency);
                    Ok(input.validate(plan)?)
                },
                now,
            )?;
            let currency = currency.ok_or_else(|| AppError::Internal("no plan read".into()))?;
            Ok(VersionOut::new(row, currency))
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

#[utoipa::path(tag = "plans", params(("id" = i64, Path), PageQuery),
    responses((status = 200, body = Page<VersionOut>), (status = 404, body = Problem)))]
#[get("/plans/{id}/versions")]
async fn list_versions(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    query: DeferredQuery<PageQuery>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("plan")?;
    let id = id.into_inner();
    let page = query.parse()?.parse()?;
    // The cursor is the last date shown, as days since 1 January of year 1 (ids do not follow
    // the date order a version list is read in).
    let after = match page.after {
        0 => None,
        days => Some(
            i32::try_from(days)
                .ok()
                .and_then(NaiveDate::from_num_days_from_ce_opt)
                .ok_or_else(|| AppError::field("cursor", "is not a cursor this service gave out"))?,
        ),
    };
    let (rows, currency) = state
        .run(move |conn| {
            let plan = plans::plan_row(conn, id)?;
            Ok((plan_versions::list(conn, &plan, after, page.limit)?, plan.currency))
        })
        .await?;
    let days = |r: &PlanVersionRow| i64::from(r.effective_from.num_days_from_ce());
    Ok(HttpResponse::Ok().json(paginate(rows, page, days, |r| VersionOut::new(r, currency))))
}
