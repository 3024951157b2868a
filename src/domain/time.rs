//! Timestamps as they leave the service: RFC 3339 in UTC (SPEC 5), the one format of every
//! document, list and event; and the years the service bills in, the one place that bounds
//! every date and timestamp it takes (docs/decisions.md, "Billable years").

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};

/// RFC 3339 in UTC, as every timestamp leaves the service.
pub fn timestamp(t: NaiveDateTime) -> String {
    DateTime::<Utc>::from_naive_utc_and_offset(t, Utc).to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

pub fn opt_timestamp(t: Option<NaiveDateTime>) -> Option<String> {
    t.map(timestamp)
}

/// The first day a date or timestamp the service takes may fall on (UTC).
pub const FIRST_DAY: NaiveDate = ymd(2000, 1, 1);
/// The last such day.
pub const LAST_DAY: NaiveDate = ymd(2199, 12, 31);
/// The day after [`LAST_DAY`]: the latest exclusive end of an invoice period or a range, so the
/// month holding any accepted date can be invoiced and reported.
pub const END_DAY: NaiveDate = ymd(2200, 1, 1);

const fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(d) => d,
        None => panic!("not a date"),
    }
}

/// A date that is stored or starts a range: [`FIRST_DAY`] to [`LAST_DAY`]. The error reads
/// after the value ("2300-01-01 is outside ...").
pub fn check_day(d: NaiveDate) -> Result<NaiveDate, String> {
    if (FIRST_DAY..=LAST_DAY).contains(&d) {
        Ok(d)
    } else {
        Err(format!("is outside the dates the service bills, {FIRST_DAY} to {LAST_DAY}"))
    }
}

/// The exclusive end of a range or period: [`FIRST_DAY`] to [`END_DAY`].
pub fn check_end_day(d: NaiveDate) -> Result<NaiveDate, String> {
    if (FIRST_DAY..=END_DAY).contains(&d) {
        Ok(d)
    } else {
        Err(format!("is outside the range ends the service takes, {FIRST_DAY} to {END_DAY}"))
    }
}

/// A stored timestamp (UTC): on [`FIRST_DAY`] to [`LAST_DAY`].
pub fn check_instant(t: NaiveDateTime) -> Result<NaiveDateTime, String> {
    if (FIRST_DAY..=LAST_DAY).contains(&t.date()) {
        Ok(t)
    } else {
        Err(format!("is outside the times the service bills, {FIRST_DAY}T00:00:00Z up to {END_DAY}T00:00:00Z (UTC)"))
    }
}

/// The exclusive end of a time range (UTC): up to [`END_DAY`] at midnight.
pub fn check_end_instant(t: NaiveDateTime) -> Result<NaiveDateTime, String> {
    if FIRST_DAY.and_time(NaiveTime::MIN) <= t && t <= END_DAY.and_time(NaiveTime::MIN) {
        Ok(t)
    } else {
        Err(format!("is outside the range ends the service takes, {FIRST_DAY}T00:00:00Z to {END_DAY}T00:00:00Z"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_billable_years_hold_every_period_end() {
        let at = |d: NaiveDate, h, m, s| d.and_hms_opt(h, m, s).unwrap();
        assert!(check_day(FIRST_DAY).is_ok() && check_day(LAST_DAY).is_ok());
        assert!(check_day(FIRST_DAY.pred_opt().unwrap()).is_err() && check_day(END_DAY).is_err());
        assert!(check_end_day(END_DAY).is_ok() && check_end_day(END_DAY.succ_opt().unwrap()).is_err());
        assert!(check_instant(at(FIRST_DAY, 0, 0, 0)).is_ok() && check_instant(at(LAST_DAY, 23, 59, 59)).is_ok());
        assert!(check_instant(at(END_DAY, 0, 0, 0)).is_err());
        assert!(check_instant(at(FIRST_DAY, 0, 0, 0) - chrono::Duration::seconds(1)).is_err());
        assert!(check_end_instant(at(END_DAY, 0, 0, 0)).is_ok() && check_end_instant(at(END_DAY, 0, 0, 1)).is_err());
        // The month of the last day ends on the last allowed period end.
        assert_eq!(ymd(2199, 12, 1).checked_add_months(chrono::Months::new(1)), Some(END_DAY));
    }
}
