//! Documents rendered from plain data (an invoice's or credit note's document, a report's
//! rows): CSV, PDF and (invoices and credit notes) UBL 2.1 XML.
//! Nothing here reads the clock or the database, so an issued invoice, rendered from its
//! frozen snapshot, gives the same bytes every time.

pub mod csv;
pub mod model;
pub mod pdf;
pub mod ubl;

use std::fmt;

use sha2::{Digest, Sha256};

/// The formats a document can be had in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Pdf,
    /// The UBL 2.1 e-invoice: invoices and credit notes only, not reports.
    Xml,
}

impl Format {
    pub fn content_type(&self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Pdf => "application/pdf",
            Format::Xml => "application/xml; charset=utf-8",
        }
    }

    pub fn extension(&self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Pdf => "pdf",
            Format::Xml => "xml",
        }
    }

    pub fn from_extension(ext: &str) -> Option<Format> {
        match ext {
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "pdf" => Some(Format::Pdf),
            "xml" => Some(Format::Xml),
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

/// The file name a download gets: the invoice number, or `draft-ID` before issue, made safe
/// by [`safe_file_name`] (an old database may hold a prefix with `/` or `.`).
pub fn invoice_file_name(number: Option<&str>, id: i64, format: Format) -> String {
    match number {
        Some(n) => safe_file_name(&format!("{n}.{}", format.extension())),
        None => format!("draft-{id}.{}", format.extension()),
    }
}

/// A download's file name reduced to a safe base name: the part before the last `.` keeps
/// ASCII letters, digits, `-` and `_`, each run of anything else becoming one `_`, trimmed of
/// `-` and `_` at either end; the extension keeps letters and digits. So no name is a path,
/// a hidden file, an option, or needs quoting beyond RFC 6266's `filename="..."`.
pub fn safe_file_name(name: &str) -> String {
    let (stem, extension) = name.rsplit_once('.').unwrap_or((name, ""));
    let mut safe = String::with_capacity(stem.len());
    for c in stem.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            safe.push(c);
        } else if !safe.ends_with('_') {
            safe.push('_');
        }
    }
    let safe = safe.trim_matches(['-', '_']);
    let stem = if safe.is_empty() { "download" } else { safe };
    let extension: String = extension.chars().filter(char::is_ascii_alphanumeric).collect();
    if extension.is_empty() {
        stem.to_string()
    } else {
        format!("{stem}.{extension}")
    }
}

/// Why a document could not be rendered.
pub enum RenderError {
    /// Ours: the PDF (or the JSON) could not be written.
    Failed(pdf::PdfError),
    /// The document cannot be a UBL e-invoice (a draft, three minor digits, details missing).
    Ubl(ubl::UblError),
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderError::Failed(e) => e.fmt(f),
            RenderError::Ubl(e) => f.write_str(&e.detail),
        }
    }
}

// As the inner error, so logs read as they did before the two were one type.
impl fmt::Debug for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderError::Failed(e) => e.fmt(f),
            RenderError::Ubl(e) => e.fmt(f),
        }
    }
}

/// An invoice in the asked format: JSON is the document itself, CSV, PDF and XML are rendered
/// from it.
pub fn render_invoice(doc: &model::InvoiceDocument, format: Format, paper: pdf::Paper) -> Result<Vec<u8>, RenderError> {
    match format {
        Format::Json => serde_json::to_vec(doc).map_err(|e| RenderError::Failed(pdf::PdfError(e.to_string()))),
        Format::Csv => Ok(csv::invoice_csv(doc)),
        Format::Pdf => pdf::invoice_pdf(doc, paper).map_err(RenderError::Failed),
        Format::Xml => ubl::invoice_ubl(doc).map_err(RenderError::Ubl),
    }
}

/// A credit note in the asked format, rendered from its frozen snapshot.
pub fn render_credit_note(
    doc: &model::CreditNoteDocument,
    format: Format,
    paper: pdf::Paper,
) -> Result<Vec<u8>, RenderError> {
    match format {
        Format::Json => serde_json::to_vec(doc).map_err(|e| RenderError::Failed(pdf::PdfError(e.to_string()))),
        Format::Csv => Ok(csv::credit_note_csv(doc)),
        Format::Pdf => pdf::credit_note_pdf(doc, paper).map_err(RenderError::Failed),
        Format::Xml => ubl::credit_note_ubl(doc).map_err(RenderError::Ubl),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe_base_names() {
        assert_eq!(safe_file_name("INV-000001.pdf"), "INV-000001.pdf");
        assert_eq!(safe_file_name("usage-2026-10-01-2026-11-01-agent.csv"), "usage-2026-10-01-2026-11-01-agent.csv");
        assert_eq!(safe_file_name("../../.bashrc/000022.pdf"), "bashrc_000022.pdf");
        assert_eq!(safe_file_name("INV/2026/000003.csv"), "INV_2026_000003.csv");
        assert_eq!(safe_file_name("RE.2026.000003.xml"), "RE_2026_000003.xml");
        assert_eq!(safe_file_name("Rë \"x\"\\;000001.csv"), "R_x_000001.csv");
        assert_eq!(safe_file_name("--000001.csv"), "000001.csv");
        assert_eq!(safe_file_name("../.pdf"), "download.pdf");
        assert_eq!(safe_file_name("x.p/df"), "x.pdf");
        assert_eq!(safe_file_name("noext"), "noext");
        assert_eq!(invoice_file_name(Some("../a/000001"), 7, Format::Xml), "a_000001.xml");
        assert_eq!(invoice_file_name(None, 7, Format::Csv), "draft-7.csv");
    }
}
