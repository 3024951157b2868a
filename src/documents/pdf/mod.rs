//! PDF rendering of invoices, credit notes, the usage summary and the invoice register (SPEC
//! sections 3-5).
//!
//! Built on printpdf 0.12 drawing ops (no HTML layout): every page is a `Vec<Op>` that these
//! modules lay out themselves. Text is set in embedded DejaVu Sans (Latin, Greek, Cyrillic), subset
//! by printpdf at save time. Characters the font has no glyph for (e.g. CJK) are printed as `?`
//! and the page carries a footnote saying so, instead of silently drawing empty boxes.
//!
//! Output is deterministic: fixed font resource ids, document dates derived from the document
//! and the trailer `/ID` replaced by a hash of the file's content, so the same input renders to
//! byte-identical files (SPEC section 3: an issued invoice's PDF never changes).
//!
//! The submodules depend on each other in one direction only: `error` and `format` at the
//! bottom, then `fonts`, `serialize`, `layout` and `table`, then the documents (`terms`,
//! `invoice`, `credit_note`, `usage`, `register`).

mod credit_note;
mod error;
mod fonts;
mod format;
mod invoice;
mod layout;
mod register;
mod serialize;
mod table;
mod terms;
mod usage;

pub use credit_note::credit_note_pdf;
pub use error::PdfError;
pub use invoice::invoice_pdf;
pub use layout::Paper;
pub use register::register_pdf;
pub use usage::usage_pdf;
