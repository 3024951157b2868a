//! The partner's own details (one row): name, address, tax id, invoice prefix, payment terms.

use diesel::prelude::*;

use crate::error::AppError;
use crate::storage::models::Partner;
use crate::storage::schema::partner;
use crate::storage::{write_tx, DbConnection};

pub fn get(conn: &mut DbConnection) -> Result<Partner, AppError> {
    Ok(partner::table.select(Partner::as_select()).first(conn)?)
}

pub fn update(conn: &mut DbConnection, mut details: Partner) -> Result<Partner, AppError> {
    details.id = 1;
    write_tx(conn, |conn| {
        diesel::update(partner::table.filter(partner::id.eq(1))).set(&details).execute(conn)?;
        get(conn)
    })
}
