//! The days a subscription covers (SPEC 7.1): `[start_date, end_date)`, the end exclusive and
//! optional. Time entries, tickets and charges are taken only on covered days (UTC dates), and
//! the messages that refuse them name the dates, so a client knows which edge it crossed.

use chrono::{Datelike, Months, NaiveDate};

use super::time;

/// A subscription's covered days: `start` inclusive, `end` exclusive (`None`: open-ended).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Coverage {
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
}

impl Coverage {
    pub fn covers(&self, day: NaiveDate) -> bool {
        self.start <= day && self.end.is_none_or(|end| day < end)
    }

    /// Why `day` is not covered (naming the dates), or `None` when it is.
    pub fn refusal(&self, day: NaiveDate) -> Option<String> {
        if day < self.start {
            return Some(format!("{day} is before the subscription's start_date {}", self.start));
        }
        match self.end {
            Some(end) if day >= end => Some(format!(
                "{day} is on or after the subscription's end_date {end} (its last covered day is {})",
                last_day(end)
            )),
            _ => None,
        }
    }

    /// `end_date > start_date` (SPEC 7.1), else the message for `end_date`.
    pub fn check(&self) -> Result<(), String> {
        match self.end {
            Some(end) if end <= self.start => {
                Err(format!("{end} must be after start_date {} (end_date is the first day not covered)", self.start))
            }
            _ => Ok(()),
        }
    }
}

/// The day before an exclusive end: what documents print as the last day.
pub fn last_day(end: NaiveDate) -> NaiveDate {
    end.pred_opt().unwrap_or(end)
}

/// The first day of `day`'s month.
pub fn month_start(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// The first day of the month after `day`'s: the end a cancellation without a date takes
/// (SPEC 7.1). Within the billable years it is at most [`time::END_DAY`].
pub fn next_month_start(day: NaiveDate) -> NaiveDate {
    month_start(day).checked_add_months(Months::new(1)).unwrap_or(time::END_DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn the_end_is_exclusive_and_the_messages_name_the_dates() {
        let c = Coverage { start: d("2026-10-01"), end: Some(d("2027-01-01")) };
        assert!(c.covers(d("2026-10-01")) && c.covers(d("2026-12-31")));
        assert!(!c.covers(d("2026-09-30")) && !c.covers(d("2027-01-01")));
        assert_eq!(
            c.refusal(d("2026-09-30")).unwrap(),
            "2026-09-30 is before the subscription's start_date 2026-10-01"
        );
        assert_eq!(
            c.refusal(d("2027-01-01")).unwrap(),
            "2027-01-01 is on or after the subscription's end_date 2027-01-01 (its last covered day is 2026-12-31)"
        );
        assert_eq!(c.refusal(d("2026-11-15")), None);
        let open = Coverage { start: d("2026-10-01"), end: None };
        assert!(open.covers(d("2199-12-31")));
    }

    #[test]
    fn the_end_must_follow_the_start() {
        let start = d("2026-10-01");
        assert!(Coverage { start, end: Some(start) }.check().is_err());
        assert!(Coverage { start, end: Some(d("2026-09-01")) }.check().is_err());
        assert!(Coverage { start, end: Some(d("2026-10-02")) }.check().is_ok());
        assert!(Coverage { start, end: None }.check().is_ok());
    }

    #[test]
    fn next_month_starts() {
        assert_eq!(next_month_start(d("2026-12-04")), d("2027-01-01"));
        assert_eq!(next_month_start(d("2026-01-31")), d("2026-02-01"));
        assert_eq!(next_month_start(d("2199-12-31")), time::END_DAY);
        assert_eq!(month_start(d("2026-02-28")), d("2026-02-01"));
    }
}
