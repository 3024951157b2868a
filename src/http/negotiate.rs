//! Content negotiation for documents: `Accept: text/csv | application/pdf` or a `.csv` / `.pdf`
//! suffix (invoices and credit notes also `application/xml` / `.xml`, the UBL e-invoice);
//! downloads carry a file name, and a strong `ETag` so `If-None-Match` answers 304.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};

use crate::documents::{etag, Format};
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

/// The format a client asked for: the suffix wins, then the first `Accept` type we make.
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
    Err(AppError::NotAcceptable {
        detail: "this resource is available as application/json, text/csv or application/pdf (invoices and credit notes also as application/xml)".into(),
    })
}

/// What a client asked an invoice or a credit note as: one of the formats, or (`None`) the
/// UBL e-invoice, by the `.xml` suffix or an `Accept` of `application/xml` / `text/xml`.
pub fn document_request(req: &HttpRequest, raw: &str) -> Result<(i64, Option<Format>), AppError> {
    if let Some(id) = raw.strip_suffix(".xml") {
        let id = id.parse::<i64>().map_err(|_| AppError::NotFound { what: "invoice" })?;
        return Ok((id, None));
    }
    let (id, suffix) = id_and_suffix(raw)?;
    if suffix.is_none() {
        let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
        for item in accept.split(',') {
            let media = item.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            match media.as_str() {
                "application/xml" | "text/xml" => return Ok((id, None)),
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
    Ok((id, Some(requested_format(req, suffix)?)))
}

/// The UBL e-invoice download (`application/xml`), with the same caching as the documents.
pub fn xml_document(req: &HttpRequest, file_name: &str, bytes: Vec<u8>) -> HttpResponse {
    send(req, "application/xml; charset=utf-8", Some(file_name), bytes)
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
        let disposition = format!("attachment; filename=\"{}\"", file_name.replace(['"', '\\'], "_"));
        if let Ok(value) = HeaderValue::from_str(&disposition) {
            response.insert_header((header::CONTENT_DISPOSITION, value));
        }
    }
    response.body(bytes)
}
