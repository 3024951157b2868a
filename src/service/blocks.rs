//! Prepaid blocks of hours (SPEC 7.5): what the pricing engine draws from, and what an invoice
//! bills and draws of them.

use std::collections::HashMap;

use crate::domain::pricing;
use crate::error::AppError;
use crate::storage::DbConnection;

/// The subscriptions' blocks as they stand before a new draft, by subscription id.
pub fn for_pricing(
    _conn: &mut DbConnection,
    _subscription_ids: &[i64],
) -> Result<HashMap<i64, Vec<pricing::Block>>, AppError> {
    // Temporary until the blocks table exists: no subscription has a block.
    Ok(HashMap::new())
}

/// Records what new drafts bill and draw of blocks.
pub fn write_claims(_conn: &mut DbConnection, _claims: &[(i64, &pricing::Claims)]) -> Result<(), AppError> {
    Ok(())
}
