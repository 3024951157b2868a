//! Timestamps read fast in the bulk reads (a month's entries for the usage summary and the
//! invoice run). SQLite stores a timestamp as text, and diesel parses it with chrono's
//! format-string parser, trying its formats in turn, a large share of reading a month of
//! entries (docs/performance-findings.md, finding 28). The text diesel itself writes, `YYYY-MM-DD HH:MM:SS`, is read
//! here digit by digit; anything else still goes through diesel's own parser. PostgreSQL's
//! binary timestamps are read as diesel reads them.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::Pg;
use diesel::sql_types::Timestamp;
use diesel::sqlite::Sqlite;

use super::MultiBackend;

/// A `Timestamp` column's value, read with the fast path above.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, FromSqlRow)]
pub struct StoredTimestamp(pub NaiveDateTime);

/// `YYYY-MM-DD HH:MM:SS` exactly (what diesel writes for a whole second), else `None`.
pub fn parse_plain(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    date.and_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?)
}

impl FromSql<Timestamp, Sqlite> for StoredTimestamp {
    fn from_sql(mut value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        if let Some(t) = parse_plain(value.read_text()) {
            return Ok(StoredTimestamp(t));
        }
        <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(StoredTimestamp)
    }
}

impl FromSql<Timestamp, Pg> for StoredTimestamp {
    fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(StoredTimestamp)
    }
}

// The MultiConnection backend forwards to the two impls above.
impl FromSql<Timestamp, MultiBackend> for StoredTimestamp {
    fn from_sql(bytes: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        bytes.from_sql::<Self, Timestamp>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_form_reads_as_chrono_reads_it_and_nothing_else_does() {
        for text in [
            "2026-10-05 08:00:00",
            "2024-02-29 23:59:59",
            "0001-01-01 00:00:00",
            "9999-12-31 23:59:59",
            "2026-03-29 02:30:00",
        ] {
            assert_eq!(parse_plain(text), NaiveDateTime::parse_from_str(text, "%F %T").ok(), "{text}");
            assert!(parse_plain(text).is_some(), "{text}");
        }
        // Left to diesel's parser: fractions, offsets, the T form, impossible dates and times.
        for text in [
            "2026-10-05 08:00:00.5",
            "2026-10-05T08:00:00",
            "2026-10-05 08:00:00Z",
            "2026-02-29 08:00:00",
            "2026-10-05 24:00:00",
            "2026-10-05 08:60:00",
            "2026-1O-05 08:00:00",
            "+026-10-05 08:00:00",
            "",
        ] {
            assert_eq!(parse_plain(text), None, "{text}");
        }
    }
}
