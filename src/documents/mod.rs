//! Documents rendered from plain data (an invoice's or credit note's document, a report's
//! rows): CSV, PDF and (invoices and credit notes) UBL 2.1 XML.
//! Nothing here reads the clock or the database, so an issued invoice, rendered from its
//! frozen snapshot, gives the same bytes every time.

pub mod csv;
pub mod model;
pub mod pdf;
pub mod ubl;

use sha2::{Digest, Sha256};

/// The formats a document can be had in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Pdf,
}

impl Format {
    pub fn content_type(&self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Pdf => "application/pdf",
        }
    }

    pub fn extension(&self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Pdf => "pdf",
        }
    }

    pub fn from_extension(ext: &str) -> Option<Format> {
        match ext {
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "pdf" => Some(Format::Pdf),
            _ => None,
        }
    }
}

/// A strong ETag: the SHA-256 of the bytes.
pub fn etag(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// The file name a download gets: the invoice number, or `draft-ID` before issue.
pub fn invoice_file_name(number: Option<&str>, id: i64, format: Format) -> String {
    match number {
        Some(n) => format!("{n}.{}", format.extension()),
        None => format!("draft-{id}.{}", format.extension()),
    }
}

/// An invoice in the asked format: JSON is the document itself, CSV and PDF are rendered from it.
pub fn render_invoice(
    doc: &model::InvoiceDocument,
    format: Format,
    paper: pdf::Paper,
) -> Result<Vec<u8>, pdf::PdfError> {
    match format {
        Format::Json => serde_json::to_vec(doc).map_err(|e| pdf::PdfError(e.to_string())),
        Format::Csv => Ok(csv::invoice_csv(doc)),
        Format::Pdf => pdf::invoice_pdf(doc, paper),
    }
}

/// A credit note in the asked format, rendered from its frozen snapshot.
pub fn render_credit_note(
    doc: &model::CreditNoteDocument,
    format: Format,
    paper: pdf::Paper,
) -> Result<Vec<u8>, pdf::PdfError> {
    match format {
        Format::Json => serde_json::to_vec(doc).map_err(|e| pdf::PdfError(e.to_string())),
        Format::Csv => Ok(csv::credit_note_csv(doc)),
        Format::Pdf => pdf::credit_note_pdf(doc, paper),
    }
}
