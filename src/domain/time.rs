//! Timestamps as they leave the service: RFC 3339 in UTC (SPEC 5), the one format of every
//! document, list and event.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

/// RFC 3339 in UTC, as every timestamp leaves the service.
pub fn timestamp(t: NaiveDateTime) -> String {
    DateTime::<Utc>::from_naive_utc_and_offset(t, Utc).to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

pub fn opt_timestamp(t: Option<NaiveDateTime>) -> Option<String> {
    t.map(timestamp)
}
