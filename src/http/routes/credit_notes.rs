//! `/credit-notes` and `/invoices/{id}/credit-notes` (SPEC 6): finance and admin keys credit an
//! issued invoice in full or in part; clients read their own customer's credit notes (as JSON,
//! CSV or PDF, like invoices), and get 404 for anyone else's.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::documents::model::{CreditNoteDocument, CreditNoteSummary};
use crate::documents::{self, pdf, RenderError};
use crate::domain::validation::{self as v, Check};
use crate::error::{AppError, Problem};
use crate::http::extract::JsonBody;
use crate::http::negotiate;
use crate::http::pagination::{paginate, PageQuery};
use crate::http::wire::{DecimalIn, Page};
use crate::http::AppState;
use crate::service::auth::Caller;
use crate::service::credit_notes::{self, CreditRequest};

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create).service(list_for_invoice).service(list).service(read);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditNoteInput {
    /// Why the invoice is credited; printed on the credit note.
    pub reason: String,
    /// Leave out to credit everything still uncredited; else the lines to credit in part.
    pub lines: Option<Vec<CreditLineInput>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditLineInput {
    /// The invoice line's 1-based position.
    pub line: i64,
    /// Positive, at most what is still uncredited on the line.
    pub amount: DecimalIn,
}

/// Credits an issued invoice: in full (`{"reason"}`) or in part (`{"reason", "lines"}`).
#[utoipa::path(tag = "credit notes", params(("id" = i64, Path, description = "the invoice id")), request_body = CreditNoteInput,
    responses((status = 201, body = CreditNoteDocument), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the invoice is not issued (draft, void, credited), or nothing is left to credit"),
        (status = 422, body = Problem)))]
#[post("/invoices/{id}/credit-notes")]
async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: JsonBody<CreditNoteInput>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("invoice")?;
    let id = id.into_inner();
    let input = body.parse()?;
    let mut c = Check::new();
    let reason = c.take("reason", v::required_text(&input.reason, 500));
    let reason = c.finish(|| reason)?;
    let req =
        CreditRequest { reason, lines: input.lines.map(|ls| ls.into_iter().map(|l| (l.line, l.amount.0)).collect()) };
    let clock = state.clock.clone();
    let doc = state.run(move |conn| credit_notes::create(conn, id, req, clock.as_ref())).await?;
    Ok(HttpResponse::Created().json(doc))
}

/// The credit notes of one invoice (summaries).
#[utoipa::path(tag = "credit notes", params(("id" = i64, Path, description = "the invoice id"), PageQuery),
    responses((status = 200, body = Page<CreditNoteSummary>), (status = 404, body = Problem)))]
#[get("/invoices/{id}/credit-notes")]
async fn list_for_invoice(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    query: crate::http::extract::DeferredQuery<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let page = query.parse()?.parse()?;
    let rows = state.run(move |conn| credit_notes::list(conn, &caller, Some(id), None, page.after, page.limit)).await?;
    let summaries = rows.iter().map(credit_notes::summary).collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(paginate(summaries, page, |s| s.id, |s| s)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CreditNoteQuery {
    pub customer_id: Option<i64>,
}

/// Credit notes (clients: their own customer's).
#[utoipa::path(tag = "credit notes", params(PageQuery, CreditNoteQuery), responses((status = 200, body = Page<CreditNoteSummary>)))]
#[get("/credit-notes")]
async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    query: crate::http::extract::DeferredQuery<PageQuery>,
    filter: crate::http::extract::DeferredQuery<CreditNoteQuery>,
) -> Result<HttpResponse, AppError> {
    let page = query.parse()?.parse()?;
    let customer = filter.parse()?.customer_id;
    let rows = state.run(move |conn| credit_notes::list(conn, &caller, None, customer, page.after, page.limit)).await?;
    let summaries = rows.iter().map(credit_notes::summary).collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(paginate(summaries, page, |s| s.id, |s| s)))
}

/// One credit note as JSON, CSV, PDF or a UBL 2.1 CreditNote (`Accept`, or the `.json` /
/// `.csv` / `.pdf` / `.xml` suffix), always rendered from its frozen snapshot.
#[utoipa::path(tag = "credit notes", params(("id" = String, Path, description = "the credit note id, optionally with .json, .csv, .pdf or .xml")),
    responses(
        (status = 200, content((CreditNoteDocument = "application/json"), (String = "text/csv"), (Vec<u8> = "application/pdf"), (String = "application/xml"))),
        (status = 304, description = "not modified (If-None-Match)"),
        (status = 404, body = Problem), (status = 406, body = Problem)))]
#[get("/credit-notes/{id}")]
async fn read(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (id, format) = negotiate::document_request(&req, &id).map_err(|e| match e {
        AppError::NotFound { .. } => AppError::NotFound { what: "credit note" },
        other => other,
    })?;
    let doc = state.run(move |conn| credit_notes::get(conn, &caller, id)).await?;
    let name = format!("{}.{}", doc.number, format.extension());
    // XML is the UBL 2.1 CreditNote (type 381) referring to the invoice.
    let bytes = documents::render_credit_note(&doc, format, pdf::Paper::A4).map_err(|e| match e {
        RenderError::Ubl(e) => AppError::unprocessable(e.code, e.detail),
        RenderError::Failed(e) => AppError::Internal(format!("credit note {} as {format:?}: {e}", doc.id)),
    })?;
    Ok(negotiate::document(&req, format, &name, bytes))
}
