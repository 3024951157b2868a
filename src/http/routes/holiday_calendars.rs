//! `/holiday-calendars` (SPEC 7.3): calendars of days off, written and read by admin and
//! finance keys (clients 404, as for plans), and filled from iCalendar files.

use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{AppError, Problem};
use crate::http::extract::{DeferredQuery, JsonBody, RawBody};
use crate::http::pagination::{paginate, PageQuery};
use crate::http::wire::{timestamp, Page};
use crate::http::AppState;
use crate::service::auth::Caller;
use crate::service::holidays::{self, CalendarSummary, CalendarWithDays, HolidayCalendarInput};
use crate::storage::models::HolidayDay;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create).service(list).service(read).service(update).service(remove).service(import);
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HolidayDayOut {
    /// `YYYY-MM-DD`
    pub date: String,
    pub name: String,
}

impl From<HolidayDay> for HolidayDayOut {
    fn from(d: HolidayDay) -> Self {
        HolidayDayOut { date: d.date.to_string(), name: d.name }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HolidayCalendarOut {
    pub id: i64,
    pub name: String,
    /// In date order.
    pub days: Vec<HolidayDayOut>,
    pub created_at: String,
}

impl From<CalendarWithDays> for HolidayCalendarOut {
    fn from(c: CalendarWithDays) -> Self {
        HolidayCalendarOut {
            id: c.calendar.id,
            name: c.calendar.name,
            days: c.days.into_iter().map(HolidayDayOut::from).collect(),
            created_at: timestamp(c.calendar.created_at),
        }
    }
}

/// A calendar in a list: its days are counted; `GET /holiday-calendars/{id}` lists them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HolidayCalendarSummary {
    pub id: i64,
    pub name: String,
    pub day_count: i64,
    pub created_at: String,
}

impl From<CalendarSummary> for HolidayCalendarSummary {
    fn from(s: CalendarSummary) -> Self {
        HolidayCalendarSummary {
            id: s.calendar.id,
            name: s.calendar.name,
            day_count: s.day_count,
            created_at: timestamp(s.calendar.created_at),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HolidayImportResult {
    /// Days the file gives (each date once).
    pub imported: usize,
    /// Of those, the dates the calendar did not hold before.
    pub added: usize,
    /// Components of the file that gave no day: timed events, to-dos, recurrences other than
    /// yearly, cancelled events.
    pub ignored: usize,
    /// The file's days as the calendar now holds them: a date it already had keeps its name.
    pub days: Vec<HolidayDayOut>,
}

#[utoipa::path(tag = "holiday-calendars", request_body = HolidayCalendarInput,
    responses((status = 201, body = HolidayCalendarOut), (status = 422, body = Problem)))]
#[post("/holiday-calendars")]
async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: JsonBody<HolidayCalendarInput>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("route")?;
    let new = body.parse()?.validate()?;
    let now = state.clock.now();
    let row = state.run(move |conn| holidays::create(conn, new, now)).await?;
    Ok(HttpResponse::Created().json(HolidayCalendarOut::from(row)))
}

#[utoipa::path(tag = "holiday-calendars", params(PageQuery),
    responses((status = 200, body = Page<HolidayCalendarSummary>)))]
#[get("/holiday-calendars")]
async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    query: DeferredQuery<PageQuery>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("route")?;
    let page = query.parse()?.parse()?;
    let rows = state.run(move |conn| holidays::list(conn, page.after, page.limit)).await?;
    Ok(HttpResponse::Ok().json(paginate(rows, page, |c| c.calendar.id, HolidayCalendarSummary::from)))
}

#[utoipa::path(tag = "holiday-calendars", params(("id" = i64, Path)),
    responses((status = 200, body = HolidayCalendarOut), (status = 404, body = Problem)))]
#[get("/holiday-calendars/{id}")]
async fn read(caller: Caller, state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    caller.require_staff("holiday calendar")?;
    let id = id.into_inner();
    let row = state.run(move |conn| holidays::get(conn, id)).await?;
    Ok(HttpResponse::Ok().json(HolidayCalendarOut::from(row)))
}

/// Replaces the calendar's name and all its days.
#[utoipa::path(tag = "holiday-calendars", params(("id" = i64, Path)), request_body = HolidayCalendarInput,
    responses((status = 200, body = HolidayCalendarOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
#[put("/holiday-calendars/{id}")]
async fn update(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: JsonBody<HolidayCalendarInput>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("holiday calendar")?;
    let id = id.into_inner();
    let new = body.parse()?.validate()?;
    let row = state.run(move |conn| holidays::replace(conn, id, new)).await?;
    Ok(HttpResponse::Ok().json(HolidayCalendarOut::from(row)))
}

/// Deletes the calendar and its days (409 `calendar_in_use` while a plan version names it).
#[utoipa::path(tag = "holiday-calendars", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
#[delete("/holiday-calendars/{id}")]
async fn remove(caller: Caller, state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    caller.require_staff("holiday calendar")?;
    let id = id.into_inner();
    state.run(move |conn| holidays::delete(conn, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Merges the days of an iCalendar file (`text/calendar`, at most 1 MiB) into the calendar.
///
/// All-day events become days (each day of a multi-day one); yearly recurrences are expanded
/// ten years ahead of their start, or to their COUNT or UNTIL. A date the calendar already
/// holds keeps its name. A file that is not iCalendar is a 422 `invalid_icalendar`, and writes
/// nothing.
#[utoipa::path(tag = "holiday-calendars", params(("id" = i64, Path)),
    request_body(content = String, content_type = "text/calendar"),
    responses((status = 200, body = HolidayImportResult), (status = 404, body = Problem),
        (status = 413, body = Problem), (status = 422, body = Problem)))]
#[post("/holiday-calendars/{id}/import")]
async fn import(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: RawBody,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("holiday calendar")?;
    let id = id.into_inner();
    let bytes = body.0;
    // Parsing is CPU work: it runs on the blocking pool, like the CSV imports.
    let report = state.run(move |conn| holidays::import_ics(conn, id, &bytes)).await?;
    Ok(HttpResponse::Ok().json(HolidayImportResult {
        imported: report.days.len(),
        added: report.added,
        ignored: report.ignored,
        days: report.days.into_iter().map(HolidayDayOut::from).collect(),
    }))
}
