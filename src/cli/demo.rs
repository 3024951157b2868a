//! Demo data for `supportbill serve --demo` (being written).

use chrono::NaiveDateTime;

use crate::error::AppError;
use crate::storage::DbConnection;

/// Fills an empty database with a believable partner. Returns false if data already existed.
pub fn seed(_conn: &mut DbConnection, _now: NaiveDateTime) -> Result<bool, AppError> {
    Err(AppError::Internal("demo data not written yet".into()))
}
