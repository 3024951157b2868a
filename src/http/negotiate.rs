//! Content negotiation for documents: `Accept: text/csv | application/pdf` or a `.csv` / `.pdf`
//! suffix (invoices and credit notes also `application/xml` / `.xml`, the UBL e-invoice, which
//! reports do not offer);
//! downloads carry a safe file name (whatever the database holds), and a strong `ETag` so
//! `If-None-Match` answers 304.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};

use crate::documents::{etag, safe_file_name, Format};
use crate::error::AppError;

/// Splits `12.pdf` into the id and the format its suffix names.
pub fn id_and_suffix(raw: &str) -> Result<(i64, Option<Format>), AppError> {
    let (id, format) = match raw.rsplit_once('.') {
        Some((id, ext)) => {
            let format = Format::from_extension(ext).ok_or_else(|| AppError::NotFound { what: "document format" })?;
            (id, Some(format))
        }
        None => (raw, None),
    };
    let id = id.parse::<i64>().map_err(|_| AppError::NotFound { what: "invoice" })?;
    Ok((id, format))
}

/// The format a client asked for: the suffix wins, then the first `Accept` type we make (XML
/// only by [`document_request`]).
pub fn requested_format(req: &HttpRequest, suffix: Option<Format>) -> Result<Format, AppError> {
    if let Some(f) = suffix {
        return Ok(f);
    }
    let Some(accept) = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(Format::Json);
    };
    for item in accept.split(',') {
        let media = item.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match media.as_str() {
            "application/json" | "application/problem+json" | "*/*" | "application/*" | "" => return Ok(Format::Json),
            "text/csv" | "text/*" => return Ok(Format::Csv),
            "application/pdf" => return Ok(Format::Pdf),
            _ => {}
        }
    }
    Err(not_acceptable())
}

/// The answer to an `Accept` with none of the resource's formats.
pub fn not_acceptable() -> AppError {
    AppError::NotAcceptable {
        detail: "this resource is available as application/json, text/csv or application/pdf (invoices and credit notes also as application/xml)".into(),
    }
}

/// What a client asked an invoice or a credit note as: a format by suffix, else by `Accept`,
/// where `application/xml` / `text/xml` ask for the UBL e-invoice ([`Format::Xml`]).
pub fn document_request(req: &HttpRequest, raw: &str) -> Result<(i64, Format), AppError> {
    let (id, suffix) = id_and_suffix(raw)?;
    if suffix.is_none() {
        let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
        for item in accept.split(',') {
            let media = item.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            match media.as_str() {
                "application/xml" | "text/xml" => return Ok((id, Format::Xml)),
                "application/json"
                | "application/problem+json"
                | "*/*"
                | "application/*"
                | "text/csv"
                | "text/*"
                | "application/pdf" => break,
                _ => {}
            }
        }
    }
    Ok((id, requested_format(req, suffix)?))
}

/// A document download, or 304 when the client's `If-None-Match` has these bytes already.
pub fn document(req: &HttpRequest, format: Format, file_name: &str, bytes: Vec<u8>) -> HttpResponse {
    let name = if format != Format::Json { Some(file_name) } else { None };
    send(req, format.content_type(), name, bytes)
}

fn send(req: &HttpRequest, content_type: &str, attachment: Option<&str>, bytes: Vec<u8>) -> HttpResponse {
    let tag = etag(&bytes);
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let mut response = if matches { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    response.insert_header((header::ETAG, tag));
    response.insert_header((header::CACHE_CONTROL, "private, no-cache"));
    response.insert_header((header::VARY, "Accept"));
    if matches {
        return response.finish();
    }
    response.insert_header((header::CONTENT_TYPE, content_type));
    if let Some(file_name) = attachment {
        // RFC 6266: the safe name is plain ASCII, so `filename="..."` needs no escaping and no
        // `filename*`.
        let disposition = format!("attachment; filename=\"{}\"", safe_file_name(file_name));
        if let Ok(value) = HeaderValue::from_str(&disposition) {
            response.insert_header((header::CONTENT_DISPOSITION, value));
        }
    }
    response.body(bytes)
}
