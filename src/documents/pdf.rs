//! PDF documents (being written: rendered with printpdf from the same data as the CSVs).

use crate::service::invoices::InvoiceDocument;
use crate::service::reports::{RegisterRow, UsageRow};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Paper {
    #[default]
    A4,
    Letter,
}

#[derive(Debug)]
pub struct PdfError(pub String);

impl std::fmt::Display for PdfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PdfError {}

pub fn invoice_pdf(_doc: &InvoiceDocument, _paper: Paper) -> Result<Vec<u8>, PdfError> {
    Err(PdfError("PDF rendering is not available yet".into()))
}

pub fn usage_pdf(_title: &str, _from: &str, _to: &str, _group_by: &str, _rows: &[UsageRow], _paper: Paper) -> Result<Vec<u8>, PdfError> {
    Err(PdfError("PDF rendering is not available yet".into()))
}

pub fn register_pdf(_from: &str, _to: &str, _rows: &[RegisterRow], _paper: Paper) -> Result<Vec<u8>, PdfError> {
    Err(PdfError("PDF rendering is not available yet".into()))
}
