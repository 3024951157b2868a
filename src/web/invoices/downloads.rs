//! An invoice or credit note as CSV or PDF: the same bytes as the API's downloads.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::documents::{self, pdf, Format};
use crate::error::AppError;
use crate::http::negotiate;
use crate::http::routes::invoices::render_invoice;
use crate::http::AppState;
use crate::service::credit_notes;
use crate::service::invoices as svc;
use crate::web::invoices::{invoice_label, parse_id};
use crate::web::{signed_in, Failure, ForCaller};

async fn download(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: String,
    format: Format,
) -> Result<HttpResponse, Failure> {
    let caller = signed_in(&req, &state).await?;
    let id = parse_id(&id).for_caller(&caller)?;
    let run_caller = caller.clone();
    let doc = state.run(move |conn| svc::get(conn, &run_caller, id)).await.for_caller(&caller)?;
    let name = documents::invoice_file_name(doc.number.as_deref(), doc.id, format);
    match render_invoice(&doc, format, pdf::Paper::A4) {
        Ok(bytes) => Ok(negotiate::document(&req, format, &name, bytes)),
        Err(e) => {
            log::error!(
                "request_id={} web: {} of invoice {}: {e:?}",
                crate::http::request_id::RequestId::of(&req),
                format.extension(),
                doc.id
            );
            let label = invoice_label(doc.number.as_deref(), doc.id);
            Err(Failure::Message(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "The {} of invoice {label} could not be produced right now; the error has been logged. \
                     The other download format may still work.",
                    format.extension().to_uppercase()
                ),
                Some(caller),
            ))
        }
    }
}

pub(crate) async fn download_csv(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    download(req, state, id.into_inner(), Format::Csv).await
}

pub(crate) async fn download_pdf(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    download(req, state, id.into_inner(), Format::Pdf).await
}

/// A credit note as CSV or PDF: the same bytes as the API's `/credit-notes/{id}.csv` and `.pdf`.
async fn download_credit_note(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: String,
    format: Format,
) -> Result<HttpResponse, Failure> {
    let caller = signed_in(&req, &state).await?;
    let id = parse_id(&id).map_err(|_| AppError::NotFound { what: "credit note" }).for_caller(&caller)?;
    let run_caller = caller.clone();
    let doc = state.run(move |conn| credit_notes::get(conn, &run_caller, id)).await.for_caller(&caller)?;
    match documents::render_credit_note(&doc, format, pdf::Paper::A4) {
        Ok(bytes) => Ok(negotiate::document(&req, format, &format!("{}.{}", doc.number, format.extension()), bytes)),
        Err(e) => {
            log::error!(
                "request_id={} web: {} of credit note {}: {e:?}",
                crate::http::request_id::RequestId::of(&req),
                format.extension(),
                doc.id
            );
            Err(Failure::Message(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "The {} of credit note {} could not be produced right now; the error has been logged.",
                    format.extension().to_uppercase(),
                    doc.number
                ),
                Some(caller),
            ))
        }
    }
}

pub(crate) async fn download_credit_note_csv(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    download_credit_note(req, state, id.into_inner(), Format::Csv).await
}

pub(crate) async fn download_credit_note_pdf(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    download_credit_note(req, state, id.into_inner(), Format::Pdf).await
}
