//! The clock is injected, so tests (and back-dated runs) can bill at any moment.

use chrono::{NaiveDateTime, Utc};

pub trait Clock: Send + Sync {
    /// Now, in UTC, to the microsecond (the precision both backends keep).
    fn now(&self) -> NaiveDateTime;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> NaiveDateTime {
        crate::domain::validation::truncate_micros(Utc::now().naive_utc())
    }
}

/// A clock that always says the same time (tests).
pub struct FixedClock(pub NaiveDateTime);

impl Clock for FixedClock {
    fn now(&self) -> NaiveDateTime {
        self.0
    }
}
