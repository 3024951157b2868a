//! The invoice period: whole months or any day range, end exclusive, checked on creation.

use std::fmt;

use chrono::{Datelike, Months, NaiveDate};

/// An invoice period: whole calendar months, `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Period {
    start: NaiveDate,
    end: NaiveDate,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeriodError {
    pub field: &'static str,
    pub message: String,
}

impl fmt::Display for PeriodError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for PeriodError {}

impl Period {
    /// Both dates the first of a month and end > start, else the first offending field.
    pub fn new(start: NaiveDate, end: NaiveDate) -> Result<Period, PeriodError> {
        if start.day() != 1 {
            return Err(PeriodError {
                field: "period_start",
                message: format!("must be the first day of a month, got {start}"),
            });
        }
        if end.day() != 1 {
            return Err(PeriodError {
                field: "period_end",
                message: format!("must be the first day of a month, got {end}"),
            });
        }
        if end <= start {
            return Err(PeriodError {
                field: "period_end",
                message: format!("must be after period_start ({start}), got {end}"),
            });
        }
        Ok(Period { start, end })
    }

    pub fn start(&self) -> NaiveDate {
        self.start
    }

    /// Exclusive.
    pub fn end(&self) -> NaiveDate {
        self.end
    }

    /// First day of each month in `[start, end)`.
    pub fn months(&self) -> Vec<NaiveDate> {
        let mut months = Vec::new();
        let mut month = self.start;
        while month < self.end {
            months.push(month);
            match month.checked_add_months(Months::new(1)) {
                Some(next) => month = next,
                None => break,
            }
        }
        months
    }

    pub fn contains(&self, d: NaiveDate) -> bool {
        self.start <= d && d < self.end
    }
}
