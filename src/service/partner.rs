//! The partner's own details (one row): name, address, tax id, invoice prefix, payment terms.

use diesel::prelude::*;

use crate::domain::vocab::TaxTreatment;
use crate::error::AppError;
use crate::storage::models::Partner;
use crate::storage::schema::{customers, partner};
use crate::storage::{write_tx, DbConnection};

pub fn get(conn: &mut DbConnection) -> Result<Partner, AppError> {
    Ok(partner::table.select(Partner::as_select()).first(conn)?)
}

pub fn update(conn: &mut DbConnection, mut details: Partner) -> Result<Partner, AppError> {
    details.id = 1;
    write_tx(conn, |conn| {
        // Reverse-charge customers' invoices must name the partner's VAT id (SPEC 6).
        if details.tax_id.trim().is_empty() {
            let reverse: i64 = customers::table
                .filter(customers::tax_treatment.eq(TaxTreatment::ReverseCharge))
                .count()
                .get_result(conn)?;
            if reverse > 0 {
                return Err(AppError::field("tax_id", "cannot be empty while customers are billed by reverse charge"));
            }
        }
        diesel::update(partner::table.filter(partner::id.eq(1))).set(&details).execute(conn)?;
        get(conn)
    })
}
