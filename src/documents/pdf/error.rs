//! The one error PDF rendering reports: a font that does not parse, or printpdf or lopdf
//! failing to write the file.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PdfError(pub String);

impl fmt::Display for PdfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PDF rendering failed: {}", self.0)
    }
}

impl std::error::Error for PdfError {}
