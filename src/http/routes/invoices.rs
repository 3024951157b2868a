//! `/invoices`: drafting (one customer or a run over all), issuing, voiding, deleting drafts.
//! Clients may read their own customer's issued and void invoices.

use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::documents::model::{InvoiceDocument, InvoiceSummary};
use crate::documents::{self, pdf, Format, RenderError};
use crate::domain::validation::{self as v};
use crate::domain::vocab::InvoiceStatus;
use crate::error::{AppError, Problem};
use crate::http::extract::JsonBody;
use crate::http::negotiate;
use crate::http::pagination::{paginate, PageQuery};
use crate::http::wire::{DataList, Page};
use crate::http::AppState;
use crate::service::auth::Caller;
use crate::service::invoices::{self, InvoiceFilter};

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(run)
        .service(issue_many)
        .service(create)
        .service(list)
        .service(read)
        .service(issue)
        .service(void)
        .service(remove);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceInput {
    pub customer_id: i64,
    /// First day of a month.
    pub period_start: String,
    /// First day of a month, after `period_start` (exclusive).
    pub period_end: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueManyInput {
    /// Drafts to issue together (at most 10,000), all or nothing; numbered in id order.
    pub invoice_ids: Vec<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunInput {
    pub period_start: String,
    pub period_end: String,
}

#[utoipa::path(tag = "invoices", request_body = InvoiceInput,
    responses((status = 201, body = InvoiceDocument), (status = 422, body = Problem, description = "invalid input, or code nothing_to_invoice"), (status = 409, body = Problem)))]
#[post("/invoices")]
async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: JsonBody<InvoiceInput>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("route")?;
    let input = body.parse()?;
    let period = v::period(&input.period_start, &input.period_end)?;
    let customer_id = input.customer_id;
    let now = state.clock.now();
    let doc = state.run(move |conn| invoices::create_draft(conn, customer_id, period, now)).await?;
    Ok(HttpResponse::Created().json(doc))
}

/// Drafts an invoice for every customer with something to bill in the period.
#[utoipa::path(tag = "invoices", request_body = RunInput,
    responses((status = 201, body = DataList<InvoiceDocument>), (status = 422, body = Problem)))]
#[post("/invoices/run")]
async fn run(caller: Caller, state: web::Data<AppState>, body: JsonBody<RunInput>) -> Result<HttpResponse, AppError> {
    caller.require_staff("route")?;
    let input = body.parse()?;
    let period = v::period(&input.period_start, &input.period_end)?;
    let now = state.clock.now();
    let pool = state.pool.clone();
    let docs =
        state.run(move |conn| invoices::run(conn, crate::storage::SecondReader::from(&pool), period, now)).await?;
    Ok(HttpResponse::Created().json(DataList { data: docs }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvoiceQuery {
    pub customer_id: Option<i64>,
    /// `draft`, `issued`, `void` or `credited`.
    pub status: Option<String>,
    /// `YYYY-MM-DD`
    pub period_start: Option<String>,
}

#[utoipa::path(tag = "invoices", params(PageQuery, InvoiceQuery), responses((status = 200, body = Page<InvoiceSummary>)))]
#[get("/invoices")]
async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    query: crate::http::extract::DeferredQuery<PageQuery>,
    filter: crate::http::extract::DeferredQuery<InvoiceQuery>,
) -> Result<HttpResponse, AppError> {
    let page = query.parse()?.parse()?;
    let filter = filter.parse()?;
    let status = filter
        .status
        .as_deref()
        .map(InvoiceStatus::parse_field)
        .transpose()
        .map_err(|m| AppError::field("status", m))?;
    let period_start =
        filter.period_start.as_deref().map(v::date).transpose().map_err(|m| AppError::field("period_start", m))?;
    let f = InvoiceFilter { customer_id: filter.customer_id, status, period_start };
    let rows = state.run(move |conn| invoices::list(conn, &caller, f, page.after, page.limit)).await?;
    let summaries = rows.iter().map(invoices::summary).collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(paginate(summaries, page, |s| s.id, |s| s)))
}

/// The invoice as JSON, CSV, PDF or a UBL 2.1 e-invoice: `Accept: text/csv` /
/// `application/pdf` / `application/xml`, or the `.csv` / `.pdf` / `.xml` suffix
/// (`/invoices/12.pdf`). Issued invoices render from their frozen snapshot, so the bytes (and
/// the `ETag`) never change. The e-invoice answers 409 `not_issued` for drafts and 422
/// `einvoice_unsupported` for currencies with three minor digits.
#[utoipa::path(tag = "invoices", params(("id" = String, Path, description = "the invoice id, optionally with .json, .csv, .pdf or .xml")),
    responses(
        (status = 200, content((InvoiceDocument = "application/json"), (String = "text/csv"), (Vec<u8> = "application/pdf"), (String = "application/xml"))),
        (status = 304, description = "not modified (If-None-Match)"),
        (status = 404, body = Problem), (status = 406, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
#[get("/invoices/{id}")]
async fn read(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (id, format) = negotiate::document_request(&req, &id)?;
    if format == Format::Json {
        let bytes = state
            .run_read_confirming_key(move |conn, key| match key {
                Some(key_id) => invoices::get_json_confirming_key(conn, &caller, id, key_id),
                None => invoices::get_json(conn, &caller, id),
            })
            .await?;
        return Ok(negotiate::document(&req, Format::Json, "", bytes));
    }
    let doc = state.run(move |conn| invoices::get(conn, &caller, id)).await?;
    let name = documents::invoice_file_name(doc.number.as_deref(), doc.id, format);
    let bytes = render_invoice(&doc, format, pdf::Paper::A4)?;
    Ok(negotiate::document(&req, format, &name, bytes))
}

/// [`documents::render_invoice`], with a rendering failure as our 500. The UBL 2.1 e-invoice
/// (SPEC 6) refuses drafts (409) and 3-digit currencies (422).
pub fn render_invoice(doc: &InvoiceDocument, format: Format, paper: pdf::Paper) -> Result<Vec<u8>, AppError> {
    documents::render_invoice(doc, format, paper).map_err(|e| match e {
        RenderError::Ubl(e) => match doc.status {
            InvoiceStatus::Draft => AppError::conflict("not_issued", e.detail),
            InvoiceStatus::Issued | InvoiceStatus::Void | InvoiceStatus::Credited => {
                AppError::unprocessable(e.code, e.detail)
            }
        },
        RenderError::Failed(e) => AppError::Internal(format!("invoice {} as {format:?}: {e}", doc.id)),
    })
}

/// Gives the draft the next number and freezes it.
#[utoipa::path(tag = "invoices", params(("id" = i64, Path)), responses((status = 200, body = InvoiceDocument), (status = 404, body = Problem), (status = 409, body = Problem)))]
#[post("/invoices/{id}/issue")]
async fn issue(caller: Caller, state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    caller.require_staff("invoice")?;
    let id = id.into_inner();
    let clock = state.clock.clone();
    let doc = state.run(move |conn| invoices::issue(conn, id, clock.as_ref())).await?;
    Ok(HttpResponse::Ok().json(doc))
}

/// Issues many drafts in one transaction (a reviewed invoice run, say): all or nothing,
/// numbered in id order. 409 `invalid_status` names the first invoice that is not a draft.
#[utoipa::path(tag = "invoices", request_body = IssueManyInput,
    responses((status = 200, body = DataList<InvoiceSummary>), (status = 422, body = Problem), (status = 409, body = Problem)))]
#[post("/invoices/issue")]
async fn issue_many(
    caller: Caller,
    state: web::Data<AppState>,
    body: JsonBody<IssueManyInput>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("route")?;
    let input = body.parse()?;
    if input.invoice_ids.is_empty() || input.invoice_ids.len() > invoices::MAX_BULK_ISSUE {
        return Err(AppError::field("invoice_ids", format!("give 1 to {} invoice ids", invoices::MAX_BULK_ISSUE)));
    }
    let clock = state.clock.clone();
    let docs = state.run(move |conn| invoices::issue_many(conn, &input.invoice_ids, clock.as_ref())).await?;
    let data = docs.iter().map(|d| d.summary()).collect::<Vec<_>>();
    Ok(HttpResponse::Ok().json(DataList { data }))
}

/// Voids an issued invoice; it keeps its number, and what it billed can be invoiced again.
#[utoipa::path(tag = "invoices", params(("id" = i64, Path)), responses((status = 200, body = InvoiceDocument), (status = 404, body = Problem), (status = 409, body = Problem)))]
#[post("/invoices/{id}/void")]
async fn void(caller: Caller, state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    caller.require_staff("invoice")?;
    let id = id.into_inner();
    let doc = state.run(move |conn| invoices::void(conn, id)).await?;
    Ok(HttpResponse::Ok().json(doc))
}

/// Deletes a draft (409 for issued or void invoices).
#[utoipa::path(tag = "invoices", params(("id" = i64, Path)), responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
#[delete("/invoices/{id}")]
async fn remove(caller: Caller, state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    caller.require_staff("invoice")?;
    let id = id.into_inner();
    state.run(move |conn| invoices::delete_draft(conn, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
