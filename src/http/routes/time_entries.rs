//! `/time-entries`: support time, one entry, a JSON array of up to 10,000, or a CSV import.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::domain::validation::{self as v, FieldError, ValidationErrors};
use crate::error::{AppError, Problem};
use crate::http::extract::{parse_json, JsonBody, RawBody};
use crate::http::merge_patch::MergePatch;
use crate::http::pagination::{paginate, PageQuery};
use crate::http::wire::{timestamp, DataList, Page};
use crate::http::AppState;
use crate::service::auth::Caller;
use crate::service::import::{self, RawEntry, SubscriptionBy};
use crate::service::time_entries::{self, EntryDraft, EntryFilter, Locator, SubscriptionRef};
use crate::storage::models::TimeEntry;

pub const MAX_BATCH: usize = 10_000;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(import_csv).service(create).service(list).service(read).service(update).service(remove);
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeEntryInput {
    pub subscription_id: i64,
    pub ticket_id: Option<i64>,
    pub agent: String,
    /// RFC 3339 with an offset; stored as UTC.
    pub started_at: String,
    /// 1 to 1440.
    pub minutes: i64,
    /// Defaults to the ticket's; required without a ticket.
    pub category: Option<String>,
    /// Default true.
    pub billable: Option<bool>,
    #[serde(default)]
    pub description: String,
}

/// A JSON merge patch (RFC 7396): absent fields stay as they are; `null` clears `ticket_id`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeEntryPatch {
    // (Only the shape is used, to check the patch: the values are merged as JSON.)
    #[serde(default)]
    pub subscription_id: i64,
    #[serde(default)]
    pub ticket_id: Option<i64>,
    #[serde(default)]
    pub agent: String,
    /// RFC 3339 with an offset; stored as UTC.
    #[serde(default)]
    pub started_at: String,
    /// 1 to 1440.
    #[serde(default)]
    pub minutes: i64,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub billable: bool,
    #[serde(default)]
    pub description: String,
}

impl TimeEntryInput {
    /// The entry's current values, as a create would have sent them (what a patch merges onto).
    fn current(e: TimeEntry) -> TimeEntryInput {
        TimeEntryInput {
            subscription_id: e.subscription_id,
            ticket_id: e.ticket_id,
            agent: e.agent,
            started_at: timestamp(e.started_at),
            minutes: e.minutes.into(),
            category: Some(e.category.as_str().to_string()),
            billable: Some(e.billable),
            description: e.description,
        }
    }

    fn into_raw(self) -> RawEntry {
        RawEntry {
            subscription: Some(SubscriptionRef::Id(self.subscription_id)),
            ticket_id: self.ticket_id,
            agent: self.agent,
            started_at: self.started_at,
            minutes: self.minutes,
            category: self.category,
            billable: self.billable.unwrap_or(true),
            description: self.description,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TimeEntryOut {
    pub id: i64,
    pub subscription_id: i64,
    pub ticket_id: Option<i64>,
    pub agent: String,
    pub started_at: String,
    pub minutes: i32,
    pub category: String,
    pub billable: bool,
    pub description: String,
    /// The draft or issued invoice that claims this entry; claimed entries cannot change.
    pub invoice_id: Option<i64>,
}

impl From<TimeEntry> for TimeEntryOut {
    fn from(e: TimeEntry) -> Self {
        TimeEntryOut {
            id: e.id,
            subscription_id: e.subscription_id,
            ticket_id: e.ticket_id,
            agent: e.agent,
            started_at: timestamp(e.started_at),
            minutes: e.minutes,
            category: e.category.to_string(),
            billable: e.billable,
            description: e.description,
            invoice_id: e.invoice_id,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    pub imported: usize,
}

fn validate_all(inputs: Vec<TimeEntryInput>, single: bool) -> Result<Vec<EntryDraft>, AppError> {
    let mut drafts = Vec::with_capacity(inputs.len());
    let mut errors = Vec::new();
    for (i, input) in inputs.into_iter().enumerate() {
        match import::validate_entry(input.into_raw()) {
            Ok(d) => drafts.push(d),
            Err(es) => errors.extend(es.into_iter().map(|(field, message)| FieldError {
                field: if single { field.to_string() } else { format!("[{i}].{field}") },
                message,
                row: None,
            })),
        }
    }
    if errors.is_empty() {
        Ok(drafts)
    } else {
        Err(AppError::Validation(ValidationErrors(errors)))
    }
}

/// One entry (`{...}` -> 201 with the entry) or an array of up to 10,000 (`[...]` -> 201 with
/// `{"data": [...]}`), written in one transaction.
#[utoipa::path(tag = "time-entries", request_body(content = TimeEntryInput, description = "one entry, or a JSON array of up to 10,000 of them"),
    responses((status = 201, body = TimeEntryOut), (status = 400, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
#[post("/time-entries")]
async fn create(caller: Caller, state: web::Data<AppState>, body: RawBody) -> Result<HttpResponse, AppError> {
    caller.require_staff("route")?;
    let bytes = body.0;
    let is_array = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let (inputs, single) = if is_array {
        let inputs: Vec<TimeEntryInput> = parse_json(&bytes)?;
        if inputs.is_empty() || inputs.len() > MAX_BATCH {
            return Err(AppError::field("body", format!("an array of 1 to {MAX_BATCH} time entries is expected")));
        }
        (inputs, false)
    } else {
        (vec![parse_json::<TimeEntryInput>(&bytes)?], true)
    };
    let drafts = validate_all(inputs, single)?;
    let locator = if single { Locator::JsonSingle } else { Locator::JsonIndex };
    let rows = state.run(move |conn| time_entries::create_batch(conn, drafts, locator)).await?;
    let mut out: Vec<TimeEntryOut> = rows.into_iter().map(TimeEntryOut::from).collect();
    if single {
        let entry = out.pop().ok_or_else(|| AppError::Internal("a created time entry was not read back".into()))?;
        Ok(HttpResponse::Created().json(entry))
    } else {
        Ok(HttpResponse::Created().json(DataList { data: out }))
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `external-id`: the `subscription_id` column holds Partner Center subscription ids.
    pub subscription_by: Option<String>,
}

/// CSV import (`text/csv`), all or nothing; errors name the file's line (header = line 1).
#[utoipa::path(tag = "time-entries", params(ImportQuery), request_body(content = String, content_type = "text/csv"),
    responses((status = 201, body = ImportResult), (status = 422, body = Problem)))]
#[post("/time-entries/import")]
async fn import_csv(
    caller: Caller,
    state: web::Data<AppState>,
    query: crate::http::extract::DeferredQuery<ImportQuery>,
    body: RawBody,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("route")?;
    let query = query.parse()?;
    let by = parse_subscription_by(query.subscription_by.as_deref())?;
    let bytes = body.0;
    // Parsing a large file is CPU work: it runs on the blocking pool with the insert, not on
    // the async worker.
    let imported = state
        .run(move |conn| {
            let (drafts, lines) = import::parse_csv(&bytes, by)?;
            time_entries::import(conn, drafts, Locator::CsvLine(lines))
        })
        .await?;
    Ok(HttpResponse::Created().json(ImportResult { imported }))
}

pub fn parse_subscription_by(text: Option<&str>) -> Result<SubscriptionBy, AppError> {
    match text {
        None | Some("id") => Ok(SubscriptionBy::Auto),
        Some("external-id") | Some("external_id") => Ok(SubscriptionBy::ExternalId),
        Some(other) => Err(AppError::field("subscription_by", format!("{other:?} is not id or external-id"))),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntryQuery {
    pub subscription_id: Option<i64>,
    /// Entries started at or after this RFC 3339 timestamp.
    pub from: Option<String>,
    /// Entries started before this RFC 3339 timestamp.
    pub to: Option<String>,
}

#[utoipa::path(tag = "time-entries", params(PageQuery, EntryQuery), responses((status = 200, body = Page<TimeEntryOut>)))]
#[get("/time-entries")]
async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    query: crate::http::extract::DeferredQuery<PageQuery>,
    filter: crate::http::extract::DeferredQuery<EntryQuery>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("route")?;
    let page = query.parse()?.parse()?;
    let filter = filter.parse()?;
    let from = filter.from.as_deref().map(v::timestamp).transpose().map_err(|m| AppError::field("from", m))?;
    let to = filter.to.as_deref().map(v::end_timestamp).transpose().map_err(|m| AppError::field("to", m))?;
    let f = EntryFilter { subscription_id: filter.subscription_id, from, to };
    let rows = state.run(move |conn| time_entries::list(conn, f, page.after, page.limit)).await?;
    Ok(HttpResponse::Ok().json(paginate(rows, page, |e| e.id, TimeEntryOut::from)))
}

#[utoipa::path(tag = "time-entries", params(("id" = i64, Path)), responses((status = 200, body = TimeEntryOut), (status = 404, body = Problem)))]
#[get("/time-entries/{id}")]
async fn read(caller: Caller, state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    caller.require_staff("time entry")?;
    let id = id.into_inner();
    let row = state.run(move |conn| time_entries::get(conn, id)).await?;
    Ok(HttpResponse::Ok().json(TimeEntryOut::from(row)))
}

/// Changes an unclaimed entry by a JSON merge patch (409 once an invoice claims it).
///
/// The merged entry is checked as a create is.
#[utoipa::path(tag = "time-entries", params(("id" = i64, Path)),
    request_body(content = TimeEntryPatch, content_type = "application/merge-patch+json"),
    responses((status = 200, body = TimeEntryOut), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
#[patch("/time-entries/{id}")]
async fn update(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: JsonBody<TimeEntryPatch>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("time entry")?;
    let id = id.into_inner();
    let patch = MergePatch::parse(&body)?;
    let row = state
        .run(move |conn| {
            time_entries::update(conn, id, |current| {
                let merged = patch.apply(&TimeEntryInput::current(current.clone()))?;
                validate_all(vec![merged], true)?
                    .pop()
                    .ok_or_else(|| AppError::Internal("a validated time entry went missing".into()))
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(TimeEntryOut::from(row)))
}

#[utoipa::path(tag = "time-entries", params(("id" = i64, Path)), responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
#[delete("/time-entries/{id}")]
async fn remove(caller: Caller, state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    caller.require_staff("time entry")?;
    let id = id.into_inner();
    state.run(move |conn| time_entries::delete(conn, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
