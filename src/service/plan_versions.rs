//! Plan versions (SPEC 7.2): a plan's terms over time, as the pricing engine takes them.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::domain::pricing::PlanVersions;
use crate::error::AppError;
use crate::storage::models::Plan;
use crate::storage::schema::plans;
use crate::storage::DbConnection;

/// Every plan's versions, by plan id.
pub fn for_pricing(conn: &mut DbConnection) -> Result<HashMap<i64, PlanVersions>, AppError> {
    let rows: Vec<Plan> = plans::table.select(Plan::as_select()).load(conn)?;
    let mut versions = HashMap::with_capacity(rows.len());
    for p in &rows {
        let terms = p.terms().map_err(|e| AppError::Internal(format!("plan {} is corrupt: {e}", p.id)))?;
        versions.insert(p.id, PlanVersions::single(p.created_at.date(), terms));
    }
    Ok(versions)
}
