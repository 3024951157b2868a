//! How numbers, times, dates, amounts and country codes are written on the PDFs: `h:mm`
//! durations, `1 Oct 2026` dates, date ranges whose end is exclusive, and the documents'
//! amount strings read back as decimals.

use chrono::{Datelike, NaiveDate, NaiveTime};
use rust_decimal::Decimal;

/// `"67.5"` minutes -> `"1:08"` (rounded to the minute, halves up).
pub(super) fn hmm_from_minutes(minutes: &str) -> String {
    match minutes.trim().parse::<f64>() {
        Ok(m) => hmm(m),
        Err(_) => minutes.to_string(),
    }
}

pub(super) fn hmm(minutes: f64) -> String {
    let neg = minutes < 0.0;
    let total = (minutes.abs() + 0.5).floor() as u64;
    format!("{}{}:{:02}", if neg { "-" } else { "" }, total / 60, total % 60)
}

pub(super) fn trim_percent(p: &str) -> String {
    if p.contains('.') {
        p.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        p.to_string()
    }
}

/// `2.50` -> `"2.5"`, `3.0` -> `"3"`: the chart's axis labels.
pub(super) fn trim_float(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// An amount as the documents write it (`-397.50`, `15000`) as a decimal, keeping its number
/// of fraction digits; `None` for anything else.
pub(super) fn parse_amount(s: &str) -> Option<Decimal> {
    let s = s.trim();
    // Only plain digits with an optional minus and fraction: `Decimal::from_str` would also
    // take `+1`, `.5`, `1e3` and `1_000`, which the register must not add up.
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() || !int.bytes().all(|c| c.is_ascii_digit()) || !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The date at the start of `s` (`YYYY-MM-DD`, a timestamp's time ignored).
fn parse_date(s: &str) -> Option<NaiveDate> {
    // Split field by field rather than with `%Y-%m-%d`, which reads signs, spaces and short
    // fields differently; chrono checks the month and the day.
    let s = s.get(..10)?;
    let mut it = s.split('-');
    let y = it.next()?.parse().ok()?;
    let m = it.next()?.parse().ok()?;
    let d = it.next()?.parse().ok()?;
    NaiveDate::from_ymd_opt(y, m, d)
}

/// `YYYY-MM-DD`, the year zero-padded to four characters like the documents' dates.
fn iso_date(date: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
}

/// The day before `date` (`YYYY-MM-DD`): the last day of a period whose end is exclusive.
pub(super) fn last_day(date: &str) -> String {
    match parse_date(date).and_then(|d| d.pred_opt()) {
        Some(day) => iso_date(day),
        None => date.to_string(),
    }
}

/// `2026-10-01` -> `1 Oct 2026` (unparseable input is shown as given).
pub(super) fn human_date(date: &str) -> String {
    match parse_date(date) {
        Some(d) => format!("{} {} {}", d.day(), d.format("%b"), d.year()),
        None => date.to_string(),
    }
}

pub(super) fn range_text(from: &str, to: &str) -> String {
    format!("{} – {}", human_date(from), human_date(&last_day(to)))
}

/// Seconds since the epoch of a date's midnight UTC (0 when unparseable).
pub(super) fn unix_midnight(date: &str) -> i64 {
    parse_date(date).map_or(0, |d| d.and_time(NaiveTime::MIN).and_utc().timestamp())
}

pub(super) fn country_name(code: &str) -> String {
    let name = match code.to_ascii_uppercase().as_str() {
        "DE" => "Germany",
        "AT" => "Austria",
        "CH" => "Switzerland",
        "FR" => "France",
        "NL" => "Netherlands",
        "BE" => "Belgium",
        "IT" => "Italy",
        "ES" => "Spain",
        "PL" => "Poland",
        "GB" | "UK" => "United Kingdom",
        "IE" => "Ireland",
        "US" => "United States",
        "CA" => "Canada",
        "GR" => "Greece",
        "RU" => "Russia",
        "UA" => "Ukraine",
        "JP" => "Japan",
        "SE" => "Sweden",
        "DK" => "Denmark",
        "NO" => "Norway",
        "FI" => "Finland",
        "CZ" => "Czechia",
        "PT" => "Portugal",
        _ => return code.to_string(),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(hmm_from_minutes("60"), "1:00");
        assert_eq!(hmm_from_minutes("30"), "0:30");
        assert_eq!(hmm_from_minutes("67.5"), "1:08");
        assert_eq!(hmm_from_minutes("0"), "0:00");
        assert_eq!(last_day("2026-11-01"), "2026-10-31");
        assert_eq!(last_day("2026-01-01"), "2025-12-31");
        assert_eq!(last_day("2028-03-01"), "2028-02-29");
        assert_eq!(last_day("2026-02-30"), "2026-02-30");
        assert_eq!(human_date("2026-10-01"), "1 Oct 2026");
        assert_eq!(human_date("0000-12-31"), "31 Dec 0");
        assert_eq!(human_date("2026-13-01"), "2026-13-01");
        assert_eq!(unix_midnight("1970-01-02"), 86_400);
        assert_eq!(unix_midnight("2026-10-01"), 1_790_812_800);
        assert_eq!(unix_midnight("2026-10-01T23:59:59Z"), 1_790_812_800);
        assert_eq!(unix_midnight("not a date"), 0);
        assert_eq!(trim_percent("19.00"), "19");
        assert_eq!(trim_percent("7.5"), "7.5");
    }

    #[test]
    fn amounts() {
        let sum = |a: &str, b: &str| (parse_amount(a).unwrap() + parse_amount(b).unwrap()).to_string();
        assert_eq!(sum("150.00", "-0.50"), "149.50");
        assert_eq!(sum("1500", "3"), "1503");
        assert_eq!(sum("-0.50", "0.50"), "0.00");
        assert_eq!(parse_amount(" 12.30 ").unwrap().to_string(), "12.30");
        for bad in ["", "-", "+1", ".5", "1e3", "1_000", "1.2.3", "x"] {
            assert_eq!(parse_amount(bad), None, "{bad:?}");
        }
    }
}
