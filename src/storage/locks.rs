//! Row locks that order concurrent writers on PostgreSQL. SQLite needs none of them: its
//! writers already run one at a time (`write_tx` takes the write lock at `BEGIN IMMEDIATE`), so
//! each function is a no-op there. Why each lock is taken is said where the service takes it.

use chrono::NaiveDate;
use diesel::prelude::*;

use super::schema::{customers, holiday_calendars, invoices, subscriptions, time_entries};
use super::DbConnection;

/// Locks customers `FOR UPDATE`, in id order: one (`Some(id)`) or all of them.
pub fn customers_for_update(conn: &mut DbConnection, only: Option<i64>) -> QueryResult<()> {
    if let DbConnection::Postgresql(pg) = conn {
        let _: Vec<i64> = match only {
            Some(id) => customers::table.filter(customers::id.eq(id)).select(customers::id).for_update().load(pg)?,
            None => customers::table.select(customers::id).order(customers::id).for_update().load(pg)?,
        };
    }
    Ok(())
}

/// Share-locks the customer of invoice `invoice_id`.
pub fn customer_of_invoice_for_share(conn: &mut DbConnection, invoice_id: i64) -> QueryResult<()> {
    if let DbConnection::Postgresql(pg) = conn {
        let _: Vec<i64> = customers::table
            .filter(
                customers::id.eq_any(invoices::table.filter(invoices::id.eq(invoice_id)).select(invoices::customer_id)),
            )
            .select(customers::id)
            .for_share()
            .load(pg)?;
    }
    Ok(())
}

/// Key-share-locks the customers of these invoices, in id order. Issuing updates each invoice
/// row twice in one transaction, and PostgreSQL checks the second update's foreign key to the
/// customer (the row version it replaces is the transaction's own), which key-share-locks the
/// customer. Taken there, in invoice order, those locks deadlocked with a run, which locks its
/// customers in id order; taken here first, in the run's order, they queue behind it instead.
pub fn customers_of_invoices_for_key_share(conn: &mut DbConnection, invoice_ids: &[i64]) -> QueryResult<()> {
    if let DbConnection::Postgresql(pg) = conn {
        let _: Vec<i64> = customers::table
            .filter(
                customers::id
                    .eq_any(invoices::table.filter(invoices::id.eq_any(invoice_ids)).select(invoices::customer_id)),
            )
            .select(customers::id)
            .order(customers::id)
            .for_key_share()
            .load(pg)?;
    }
    Ok(())
}

/// Share-locks the customers of these subscriptions, in id order.
pub fn customers_of_subscriptions_for_share(conn: &mut DbConnection, subscription_ids: &[i64]) -> QueryResult<()> {
    if let DbConnection::Postgresql(pg) = conn {
        let _: Vec<i64> = customers::table
            .filter(
                customers::id.eq_any(
                    subscriptions::table
                        .filter(subscriptions::id.eq_any(subscription_ids))
                        .select(subscriptions::customer_id),
                ),
            )
            .select(customers::id)
            .order(customers::id)
            .for_share()
            .load(pg)?;
    }
    Ok(())
}

/// Locks time entry `id` `FOR UPDATE`, so a change computed from its current values (a merge
/// patch) cannot interleave with another.
pub fn time_entry_for_update(conn: &mut DbConnection, id: i64) -> QueryResult<()> {
    if let DbConnection::Postgresql(pg) = conn {
        let _: Vec<i64> =
            time_entries::table.filter(time_entries::id.eq(id)).select(time_entries::id).for_update().load(pg)?;
    }
    Ok(())
}

/// Share-locks holiday calendar `id`, so that it cannot be deleted while a plan version that
/// names it is written (the delete locks it `FOR UPDATE` before it looks for such versions).
pub fn holiday_calendar_for_share(conn: &mut DbConnection, id: i64) -> QueryResult<()> {
    if let DbConnection::Postgresql(pg) = conn {
        let _: Vec<i64> = holiday_calendars::table
            .filter(holiday_calendars::id.eq(id))
            .select(holiday_calendars::id)
            .for_share()
            .load(pg)?;
    }
    Ok(())
}

/// Locks holiday calendar `id` `FOR UPDATE`, so two writers of its days (a replace and an
/// import) run one after the other and never add the same date twice.
pub fn holiday_calendar_for_update(conn: &mut DbConnection, id: i64) -> QueryResult<()> {
    if let DbConnection::Postgresql(pg) = conn {
        let _: Vec<i64> = holiday_calendars::table
            .filter(holiday_calendars::id.eq(id))
            .select(holiday_calendars::id)
            .for_update()
            .load(pg)?;
    }
    Ok(())
}

/// Locks subscription `id` `FOR UPDATE`: a change of its dates waits for the writers of its
/// entries, tickets and charges that have checked the old dates
/// ([`subscription_dates_for_key_share`]), and they wait for it.
pub fn subscription_for_update(conn: &mut DbConnection, id: i64) -> QueryResult<()> {
    if let DbConnection::Postgresql(pg) = conn {
        let _: Vec<i64> =
            subscriptions::table.filter(subscriptions::id.eq(id)).select(subscriptions::id).for_update().load(pg)?;
    }
    Ok(())
}

/// A subscription's id, external id and dates (`start_date`, `end_date`).
pub type SubscriptionDates = (i64, Option<String>, NaiveDate, Option<NaiveDate>);

/// Which subscriptions [`subscription_dates_for_key_share`] reads.
pub enum SubscriptionKeys<'a> {
    Ids(&'a [i64]),
    ExternalIds(&'a [String]),
}

/// The dates of these subscriptions (those that exist), key-share-locked on PostgreSQL until the
/// transaction ends: a writer checks its items against these dates, and a change of the dates
/// ([`subscription_for_update`]) waits for it to commit, or it waits for the change and reads
/// the new dates. Key-share locks do not wait for each other, nor for other updates of the row.
pub fn subscription_dates_for_key_share(
    conn: &mut DbConnection,
    keys: SubscriptionKeys,
) -> QueryResult<Vec<SubscriptionDates>> {
    let columns = (subscriptions::id, subscriptions::external_id, subscriptions::start_date, subscriptions::end_date);
    macro_rules! read {
        ($filter:expr) => {
            match conn {
                DbConnection::Postgresql(pg) => subscriptions::table
                    .filter($filter)
                    .select(columns)
                    .order(subscriptions::id)
                    .for_key_share()
                    .load(pg),
                DbConnection::Sqlite(c) => subscriptions::table.filter($filter).select(columns).load(c),
            }
        };
    }
    match keys {
        SubscriptionKeys::Ids(ids) => read!(subscriptions::id.eq_any(ids)),
        SubscriptionKeys::ExternalIds(externals) => read!(subscriptions::external_id.eq_any(externals)),
    }
}
