//! The invoice lifecycle (SPEC section 3): drafting (one customer, or a run over all), issuing
//! with a gapless number, voiding, deleting drafts; and the invoice document, which is frozen
//! into a snapshot at issue so an issued invoice never changes afterwards.
//! Claims, which keep an item on one invoice at a time, are in `service::claims`.

mod document;
mod draft;
mod lifecycle;
mod queries;

pub use document::{document, summary};
pub use draft::{create_draft, run, run_ids};
pub use lifecycle::{delete_draft, issue, issue_many, void, MAX_BULK_ISSUE};
pub use queries::{get, get_json, get_json_confirming_key, get_row, issued_between, list, InvoiceFilter};
