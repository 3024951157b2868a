//! Holiday calendars (SPEC 7.3): named lists of days a plan version may treat as outside its
//! hours of service. Written whole (create, replace) or merged from an iCalendar file
//! (`ical`); read by the pricing through [`days_by_calendar`].

pub mod ical;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::count_star;
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::domain::validation::{self as v, Check, ValidationErrors};
use crate::error::AppError;
use crate::storage::bulk::insert_holiday_days;
use crate::storage::locks::holiday_calendar_for_update;
use crate::storage::models::{HolidayCalendar, HolidayDay};
use crate::storage::schema::{holiday_calendars, holiday_days, plan_versions};
use crate::storage::{write_tx, DbConnection, IN_CHUNK};

/// The most days one calendar holds: a national calendar for decades, with room to spare.
pub const MAX_DAYS: usize = 10_000;

// (No doc comment on purpose: it would become this schema's description in openapi.json.)
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolidayCalendarInput {
    pub name: String,
    /// The calendar's days, each date once; a PUT replaces them all.
    #[serde(default)]
    pub days: Vec<HolidayDayInput>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolidayDayInput {
    /// `YYYY-MM-DD`, 2000-01-01 to 2199-12-31.
    pub date: String,
    pub name: String,
}

/// A checked calendar: its name and its days by date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCalendar {
    pub name: String,
    pub days: BTreeMap<NaiveDate, String>,
}

impl HolidayCalendarInput {
    pub fn validate(self) -> Result<NewCalendar, ValidationErrors> {
        let mut c = Check::new();
        let name = c.take("name", v::required_text(&self.name, 200));
        if self.days.len() > MAX_DAYS {
            c.add("days", format!("at most {MAX_DAYS} days"));
        }
        let mut days = BTreeMap::new();
        let mut first_of: BTreeMap<NaiveDate, usize> = BTreeMap::new();
        for (i, day) in self.days.iter().enumerate() {
            let date = c.take(&format!("days[{i}].date"), v::date(&day.date));
            let day_name = c.take(&format!("days[{i}].name"), v::required_text(&day.name, ical::MAX_NAME_CHARS));
            if let Some(date) = date {
                if let Some(first) = first_of.get(&date) {
                    c.add(&format!("days[{i}].date"), format!("{date} is already given at days[{first}]"));
                    continue;
                }
                first_of.insert(date, i);
                if let Some(n) = day_name {
                    days.insert(date, n);
                }
            }
        }
        c.finish(|| Some(NewCalendar { name: name?, days }))
    }
}

/// A calendar with its days in date order.
#[derive(Debug, Clone)]
pub struct CalendarWithDays {
    pub calendar: HolidayCalendar,
    pub days: Vec<HolidayDay>,
}

/// A calendar in a list: its days counted, not listed.
#[derive(Debug, Clone)]
pub struct CalendarSummary {
    pub calendar: HolidayCalendar,
    pub day_count: i64,
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct ImportReport {
    /// The days the file gives, as the calendar now holds them (a date it had before keeps its
    /// name).
    pub days: Vec<HolidayDay>,
    /// How many of them the calendar did not hold before.
    pub added: usize,
    /// The file's components that gave no day.
    pub ignored: usize,
}

fn day_rows(calendar_id: i64, days: &BTreeMap<NaiveDate, String>) -> Vec<HolidayDay> {
    days.iter().map(|(date, name)| HolidayDay { calendar_id, date: *date, name: name.clone() }).collect()
}

pub fn create(conn: &mut DbConnection, new: NewCalendar, now: NaiveDateTime) -> Result<CalendarWithDays, AppError> {
    write_tx(conn, |conn| {
        let id: i64 = diesel::insert_into(holiday_calendars::table)
            .values((holiday_calendars::name.eq(&new.name), holiday_calendars::created_at.eq(now)))
            .returning(holiday_calendars::id)
            .get_result(conn)?;
        insert_holiday_days(conn, &day_rows(id, &new.days))?;
        get(conn, id)
    })
}

fn calendar(conn: &mut DbConnection, id: i64) -> Result<HolidayCalendar, AppError> {
    holiday_calendars::table
        .find(id)
        .select(HolidayCalendar::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound { what: "holiday calendar" })
}

fn days_of(conn: &mut DbConnection, id: i64) -> Result<Vec<HolidayDay>, AppError> {
    Ok(holiday_days::table
        .filter(holiday_days::calendar_id.eq(id))
        .order(holiday_days::date)
        .select(HolidayDay::as_select())
        .load(conn)?)
}

pub fn get(conn: &mut DbConnection, id: i64) -> Result<CalendarWithDays, AppError> {
    let calendar = calendar(conn, id)?;
    let days = days_of(conn, id)?;
    Ok(CalendarWithDays { calendar, days })
}

pub fn list(conn: &mut DbConnection, after: i64, limit: i64) -> Result<Vec<CalendarSummary>, AppError> {
    let calendars: Vec<HolidayCalendar> = holiday_calendars::table
        .filter(holiday_calendars::id.gt(after))
        .order(holiday_calendars::id)
        .limit(limit + 1)
        .select(HolidayCalendar::as_select())
        .load(conn)?;
    let ids: Vec<i64> = calendars.iter().map(|c| c.id).collect();
    let mut counts: HashMap<i64, i64> = HashMap::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let rows: Vec<(i64, i64)> = holiday_days::table
            .filter(holiday_days::calendar_id.eq_any(chunk))
            .group_by(holiday_days::calendar_id)
            .select((holiday_days::calendar_id, count_star()))
            .load(conn)?;
        counts.extend(rows);
    }
    Ok(calendars
        .into_iter()
        .map(|calendar| CalendarSummary { day_count: counts.get(&calendar.id).copied().unwrap_or(0), calendar })
        .collect())
}

/// Replaces the name and every day.
pub fn replace(conn: &mut DbConnection, id: i64, new: NewCalendar) -> Result<CalendarWithDays, AppError> {
    write_tx(conn, |conn| {
        holiday_calendar_for_update(conn, id)?;
        calendar(conn, id)?;
        diesel::update(holiday_calendars::table.find(id)).set(holiday_calendars::name.eq(&new.name)).execute(conn)?;
        diesel::delete(holiday_days::table.filter(holiday_days::calendar_id.eq(id))).execute(conn)?;
        insert_holiday_days(conn, &day_rows(id, &new.days))?;
        get(conn, id)
    })
}

/// Whether a plan version names the calendar, which then cannot be deleted.
pub fn in_use(conn: &mut DbConnection, id: i64) -> Result<bool, AppError> {
    let n: i64 = plan_versions::table.filter(plan_versions::holiday_calendar_id.eq(id)).count().get_result(conn)?;
    Ok(n > 0)
}

pub fn delete(conn: &mut DbConnection, id: i64) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        holiday_calendar_for_update(conn, id)?;
        calendar(conn, id)?;
        if in_use(conn, id)? {
            return Err(AppError::conflict(
                "calendar_in_use",
                "a plan version names this holiday calendar; name another calendar there first",
            ));
        }
        diesel::delete(holiday_days::table.filter(holiday_days::calendar_id.eq(id))).execute(conn)?;
        diesel::delete(holiday_calendars::table.find(id)).execute(conn)?;
        Ok(())
    })
}

/// Merges the days of an iCalendar file into calendar `id`: dates the calendar lacks are added,
/// dates it has keep their name. A refused file writes nothing.
pub fn import_ics(conn: &mut DbConnection, id: i64, file: &[u8]) -> Result<ImportReport, AppError> {
    // The calendar's absence is said before anything about the file.
    calendar(conn, id)?;
    let read = ical::read(file)?;
    write_tx(conn, |conn| {
        holiday_calendar_for_update(conn, id)?;
        calendar(conn, id)?;
        let existing: BTreeSet<NaiveDate> = days_of(conn, id)?.into_iter().map(|d| d.date).collect();
        let new: BTreeMap<NaiveDate, String> =
            read.days.iter().filter(|(date, _)| !existing.contains(date)).map(|(d, n)| (*d, n.clone())).collect();
        if existing.len() + new.len() > MAX_DAYS {
            return Err(AppError::unprocessable(
                "too_many_days",
                format!(
                    "the calendar would hold {} days, more than the {MAX_DAYS} a calendar may hold",
                    existing.len() + new.len()
                ),
            ));
        }
        insert_holiday_days(conn, &day_rows(id, &new))?;
        let stored = days_of(conn, id)?;
        let days = stored.into_iter().filter(|d| read.days.contains_key(&d.date)).collect();
        Ok(ImportReport { days, added: new.len(), ignored: read.ignored })
    })
}

/// The dates of each calendar in `ids`, for pricing (SPEC 7.3, P3 amended). Every id asked for
/// is a key; a calendar without days, or one that does not exist, has an empty set.
pub fn days_by_calendar(conn: &mut DbConnection, ids: &[i64]) -> Result<HashMap<i64, BTreeSet<NaiveDate>>, AppError> {
    let mut out: HashMap<i64, BTreeSet<NaiveDate>> = ids.iter().map(|id| (*id, BTreeSet::new())).collect();
    let mut wanted: Vec<i64> = ids.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    for chunk in wanted.chunks(IN_CHUNK) {
        let rows: Vec<(i64, NaiveDate)> = holiday_days::table
            .filter(holiday_days::calendar_id.eq_any(chunk))
            .select((holiday_days::calendar_id, holiday_days::date))
            .load(conn)?;
        for (id, date) in rows {
            out.entry(id).or_default().insert(date);
        }
    }
    Ok(out)
}
