//! `/tickets`: support requests, with escalation to Microsoft (admin and finance).

use actix_web::{delete, get, patch, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::domain::pricing::Category;
use crate::domain::validation::{self as v, Check, ValidationErrors};
use crate::domain::vocab::{EscalationChannel, Severity};
use crate::error::{AppError, Problem};
use crate::http::extract::JsonBody;
use crate::http::merge_patch::MergePatch;
use crate::http::pagination::{paginate, PageQuery};
use crate::http::wire::{opt_timestamp, timestamp, Page};
use crate::http::AppState;
use crate::service::auth::Caller;
use crate::service::tickets;
use crate::storage::models::{NewTicket, Ticket};

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create).service(list).service(read).service(update).service(remove);
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    /// `microsoft_commercial`, `premier`, `advanced` or `signature_cloud`.
    pub channel: String,
    /// Microsoft's case number.
    pub case_id: String,
    /// RFC 3339 with offset.
    pub escalated_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketInput {
    pub subscription_id: i64,
    pub title: String,
    /// `billing`, `subscription_management` or `technical`.
    pub category: String,
    /// `critical`, `high`, `normal` or `low`.
    pub severity: String,
    /// RFC 3339 with offset.
    pub opened_at: String,
    pub closed_at: Option<String>,
    pub escalation: Option<Escalation>,
}

/// A JSON merge patch (RFC 7396): absent fields stay as they are; `null` clears `closed_at` or
/// removes the escalation; an `escalation` object merges into the current one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketPatch {
    // (Only the shape is used, to check the patch: the values are merged as JSON.)
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub opened_at: String,
    #[serde(default)]
    pub closed_at: Option<String>,
    #[serde(default)]
    pub escalation: Option<EscalationPatch>,
}

/// An escalation's fields to change; with no current escalation, all three are needed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationPatch {
    #[serde(default)]
    pub channel: String,
    #[serde(default)]
    pub case_id: String,
    #[serde(default)]
    pub escalated_at: String,
}

impl TicketInput {
    /// A create's checks; a PATCH's merged whole goes through them too.
    fn validate(self) -> Result<NewTicket, ValidationErrors> {
        let mut c = Check::new();
        let title = c.take("title", v::required_text(&self.title, 500));
        let category = c.take(
            "category",
            Category::parse(&self.category).ok_or_else(|| {
                format!("{:?} is not one of: billing, subscription_management, technical", self.category)
            }),
        );
        let severity = c.take("severity", Severity::parse_field(&self.severity));
        let opened_at = c.take("opened_at", v::timestamp(&self.opened_at));
        let closed_at = match &self.closed_at {
            Some(t) => c.take("closed_at", v::timestamp(t)).map(Some),
            None => Some(None),
        };
        let esc = escalation(&mut c, &self.escalation);
        if let (Some(o), Some(Some(cl))) = (opened_at, closed_at) {
            if cl < o {
                c.add("closed_at", "must not be before opened_at")
            }
        }
        c.finish(|| {
            let (escalation_channel, escalation_case_id, escalated_at) = esc?;
            Some(NewTicket {
                subscription_id: self.subscription_id,
                title: title?,
                category: category?,
                severity: severity?,
                opened_at: opened_at?,
                closed_at: closed_at?,
                escalation_channel,
                escalation_case_id,
                escalated_at,
            })
        })
    }

    /// The ticket's current values, as a create would have sent them (what a patch merges onto).
    fn current(t: &Ticket) -> TicketInput {
        let out = TicketOut::from(t.clone());
        TicketInput {
            subscription_id: out.subscription_id,
            title: out.title,
            category: out.category,
            severity: out.severity,
            opened_at: out.opened_at,
            closed_at: out.closed_at,
            escalation: out.escalation,
        }
    }
}

type EscalationFields = (Option<EscalationChannel>, Option<String>, Option<chrono::NaiveDateTime>);

fn escalation(c: &mut Check, e: &Option<Escalation>) -> Option<EscalationFields> {
    let Some(e) = e else { return Some((None, None, None)) };
    let channel = c.take("escalation.channel", EscalationChannel::parse_field(&e.channel));
    let case_id = c.take("escalation.case_id", v::required_text(&e.case_id, 64));
    let at = c.take("escalation.escalated_at", v::timestamp(&e.escalated_at));
    Some((Some(channel?), Some(case_id?), Some(at?)))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TicketOut {
    pub id: i64,
    pub subscription_id: i64,
    pub title: String,
    pub category: String,
    pub severity: String,
    pub opened_at: String,
    pub closed_at: Option<String>,
    pub escalation: Option<Escalation>,
    /// The draft or issued invoice that bills this ticket (per-incident plans).
    pub invoice_id: Option<i64>,
}

impl From<Ticket> for TicketOut {
    fn from(t: Ticket) -> Self {
        let escalation = match (t.escalation_channel, t.escalation_case_id, t.escalated_at) {
            (Some(channel), Some(case_id), Some(at)) => {
                Some(Escalation { channel: channel.to_string(), case_id, escalated_at: timestamp(at) })
            }
            _ => None,
        };
        TicketOut {
            id: t.id,
            subscription_id: t.subscription_id,
            title: t.title,
            category: t.category.to_string(),
            severity: t.severity.to_string(),
            opened_at: timestamp(t.opened_at),
            closed_at: opt_timestamp(t.closed_at),
            escalation,
            invoice_id: t.invoice_id,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketFilter {
    pub subscription_id: Option<i64>,
}

#[utoipa::path(tag = "tickets", request_body = TicketInput,
    responses((status = 201, body = TicketOut), (status = 422, body = Problem)))]
#[post("/tickets")]
async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: JsonBody<TicketInput>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("route")?;
    let new = body.parse()?.validate()?;
    let row = state.run(move |conn| tickets::create(conn, new)).await?;
    Ok(HttpResponse::Created().json(TicketOut::from(row)))
}

#[utoipa::path(tag = "tickets", params(PageQuery, TicketFilter), responses((status = 200, body = Page<TicketOut>)))]
#[get("/tickets")]
async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    query: crate::http::extract::DeferredQuery<PageQuery>,
    filter: crate::http::extract::DeferredQuery<TicketFilter>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("route")?;
    let page = query.parse()?.parse()?;
    let subscription_id = filter.parse()?.subscription_id;
    let rows = state.run(move |conn| tickets::list(conn, subscription_id, page.after, page.limit)).await?;
    Ok(HttpResponse::Ok().json(paginate(rows, page, |t| t.id, TicketOut::from)))
}

#[utoipa::path(tag = "tickets", params(("id" = i64, Path)), responses((status = 200, body = TicketOut), (status = 404, body = Problem)))]
#[get("/tickets/{id}")]
async fn read(caller: Caller, state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    caller.require_staff("ticket")?;
    let id = id.into_inner();
    let row = state.run(move |conn| tickets::get(conn, id)).await?;
    Ok(HttpResponse::Ok().json(TicketOut::from(row)))
}

/// Changes a ticket by a JSON merge patch.
///
/// The merged ticket is checked as a create is. Its category and opening time are fixed once an
/// invoice claims it (409).
#[utoipa::path(tag = "tickets", params(("id" = i64, Path)),
    request_body(content = TicketPatch, content_type = "application/merge-patch+json"),
    responses((status = 200, body = TicketOut), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
#[patch("/tickets/{id}")]
async fn update(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: JsonBody<TicketPatch>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("ticket")?;
    let id = id.into_inner();
    let patch = MergePatch::parse(&body)?;
    let row = state
        .run(move |conn| {
            tickets::update(conn, id, |current| Ok(patch.apply(&TicketInput::current(current))?.validate()?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(TicketOut::from(row)))
}

#[utoipa::path(tag = "tickets", params(("id" = i64, Path)), responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
#[delete("/tickets/{id}")]
async fn remove(caller: Caller, state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    caller.require_staff("ticket")?;
    let id = id.into_inner();
    state.run(move |conn| tickets::delete(conn, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
