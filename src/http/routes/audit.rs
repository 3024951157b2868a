//! `/audit` (admin only): the audit trail, filtered by resource, paged like every list; and
//! `/invoices/{id}/history` (admin and finance): an invoice's life, by whom and when.

use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{AppError, Problem};
use crate::http::pagination::{paginate, PageQuery};
use crate::http::wire::{timestamp, DataList, Page};
use crate::http::AppState;
use crate::service::audit::{self, AuditEntry, HistoryEvent};
use crate::service::auth::Caller;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(list).service(invoice_history);
}

/// The resource types `resource` accepts.
const RESOURCES: [&str; 12] = [
    "customer",
    "plan",
    "holiday_calendar",
    "subscription",
    "ticket",
    "time_entry",
    "charge",
    "prepaid_block",
    "invoice",
    "credit_note",
    "api_key",
    "partner",
];

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// `customer`, `plan`, `holiday_calendar`, `subscription`, `ticket`, `time_entry`, `charge`,
    /// `prepaid_block`, `invoice`, `credit_note`, `api_key` or `partner`.
    pub resource: Option<String>,
    pub resource_id: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryOut {
    pub id: i64,
    /// RFC 3339, UTC.
    pub at: String,
    pub api_key_id: Option<i64>,
    pub request_id: String,
    pub method: String,
    /// The route pattern, e.g. `/api/v1/invoices/{id}/issue`.
    pub route: String,
    pub status: i32,
    pub resource: String,
    pub resource_id: Option<i64>,
    /// `created`, `updated`, `deleted`, `issued`, `voided`, `credited` or `imported`.
    pub action: String,
}

impl From<AuditEntry> for AuditEntryOut {
    fn from(e: AuditEntry) -> Self {
        AuditEntryOut {
            id: e.id,
            at: timestamp(e.at),
            api_key_id: e.api_key_id,
            request_id: e.request_id,
            method: e.method,
            route: e.route,
            status: e.status,
            resource: e.resource_type,
            resource_id: e.resource_id,
            action: e.action,
        }
    }
}

/// Successful writes, oldest first.
#[utoipa::path(tag = "audit", params(PageQuery, AuditQuery),
    responses((status = 200, body = Page<AuditEntryOut>), (status = 403, body = Problem), (status = 422, body = Problem)))]
#[get("/audit")]
async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    query: crate::http::extract::DeferredQuery<PageQuery>,
    filter: crate::http::extract::DeferredQuery<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    // The query is read only after the role check: finance gets 403, not a 422 about it.
    caller.require_admin("route")?;
    let page = query.parse()?.parse()?;
    let filter = filter.parse()?;
    if let Some(r) = &filter.resource {
        if !RESOURCES.contains(&r.as_str()) {
            return Err(AppError::field("resource", format!("must be one of {}", RESOURCES.join(", "))));
        }
    }
    let rows = state
        .run(move |conn| audit::list(conn, filter.resource.as_deref(), filter.resource_id, page.after, page.limit))
        .await?;
    Ok(HttpResponse::Ok().json(paginate(rows, page, |e| e.id, AuditEntryOut::from)))
}

/// The invoice's history: `created`, `issued`, `voided`, `credited`, oldest first.
#[utoipa::path(tag = "invoices", params(("id" = i64, Path)),
    responses((status = 200, body = DataList<HistoryEvent>), (status = 404, body = Problem)))]
#[get("/invoices/{id}/history")]
async fn invoice_history(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("invoice")?;
    let id = id.into_inner();
    let data = state.run(move |conn| audit::invoice_history(conn, id)).await?;
    Ok(HttpResponse::Ok().json(DataList { data }))
}
