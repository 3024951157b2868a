//! Wire-format building blocks shared by the route modules (SPEC section 5): decimals that
//! arrive as a string or a number (`DecimalIn`, from `domain`, where the services parse it too)
//! and leave as strings, timestamps, pages.

use serde::Serialize;

pub use crate::domain::time::{opt_timestamp, timestamp};
pub use crate::domain::validation::DecimalIn;

/// One page of a list: `{"data": [...], "next_cursor": ...}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T: utoipa::ToSchema> {
    pub data: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A list that is not paged (invoice runs, reports).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DataList<T: utoipa::ToSchema> {
    pub data: Vec<T>,
}
