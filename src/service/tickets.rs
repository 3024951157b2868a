//! Tickets: support requests on a subscription, optionally escalated to Microsoft.

use diesel::prelude::*;

use crate::error::AppError;
use crate::service::subscriptions::check_covered;
use crate::storage::models::{NewTicket, Ticket};
use crate::storage::schema::{ticket_claims, tickets, time_entries};
use crate::storage::{write_tx, DbConnection};

pub fn create(conn: &mut DbConnection, new: NewTicket) -> Result<Ticket, AppError> {
    write_tx(conn, |conn| {
        // SPEC 7.1: opened on a day the subscription covers (and the subscription exists).
        check_covered(conn, new.subscription_id, "opened_at", new.opened_at.date())?;
        let id: i64 = diesel::insert_into(tickets::table).values(&new).returning(tickets::id).get_result(conn)?;
        get(conn, id)
    })
}

pub fn get(conn: &mut DbConnection, id: i64) -> Result<Ticket, AppError> {
    tickets::table
        .left_join(ticket_claims::table)
        .filter(tickets::id.eq(id))
        .select(Ticket::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound { what: "ticket" })
}

pub fn list(
    conn: &mut DbConnection,
    subscription_id: Option<i64>,
    after: i64,
    limit: i64,
) -> Result<Vec<Ticket>, AppError> {
    let mut query = tickets::table
        .left_join(ticket_claims::table)
        .filter(tickets::id.gt(after))
        .order(tickets::id)
        .limit(limit + 1)
        .select(Ticket::as_select())
        .into_boxed();
    if let Some(s) = subscription_id {
        query = query.filter(tickets::subscription_id.eq(s));
    }
    Ok(query.load(conn)?)
}

/// Closing and escalating are always allowed; changing what a ticket is billed as (category,
/// opening time) is not once an invoice claims it. `change` makes the new row from the current
/// one, under the customer's lock, so a PATCH merges onto what it replaces.
pub fn update(
    conn: &mut DbConnection,
    id: i64,
    change: impl FnOnce(&Ticket) -> Result<NewTicket, AppError>,
) -> Result<Ticket, AppError> {
    write_tx(conn, |conn| {
        let current = get(conn, id)?;
        crate::service::lock_customers_of(conn, &[current.subscription_id])?;
        let current = get(conn, id)?;
        let mut next = change(&current)?;
        // A ticket stays on its subscription (its time entries and claims are there).
        next.subscription_id = current.subscription_id;
        if current.invoice_id.is_some() && (next.category != current.category || next.opened_at != current.opened_at) {
            return Err(AppError::conflict(
                "claimed",
                "the ticket is on an invoice; its category and opening time are fixed",
            ));
        }
        if next.opened_at != current.opened_at {
            check_covered(conn, next.subscription_id, "opened_at", next.opened_at.date())?;
        }
        if let Some(closed) = next.closed_at {
            if closed < next.opened_at {
                return Err(AppError::field("closed_at", "must not be before opened_at"));
            }
        }
        diesel::update(tickets::table.find(id)).set(&next).execute(conn)?;
        get(conn, id)
    })
}

pub fn delete(conn: &mut DbConnection, id: i64) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        let current = get(conn, id)?;
        crate::service::lock_customers_of(conn, &[current.subscription_id])?;
        let entries: i64 = time_entries::table.filter(time_entries::ticket_id.eq(id)).count().get_result(conn)?;
        if entries > 0 {
            return Err(AppError::conflict("ticket_in_use", "time is recorded on this ticket"));
        }
        let unclaimed =
            diesel::dsl::not(diesel::dsl::exists(ticket_claims::table.filter(ticket_claims::ticket_id.eq(id))));
        let n = diesel::delete(tickets::table.find(id).filter(unclaimed)).execute(conn)?;
        if n == 0 {
            return Err(AppError::conflict("claimed", "the ticket is on an invoice"));
        }
        Ok(())
    })
}
