//! Field-level validation shared by every input: errors collected per field, so a client sees
//! all that is wrong with a request at once, each error naming its field (JSON path).

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;

use super::money::Currency;
use super::pricing::Period;
use super::time;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    /// For CSV imports: the line of the file (the header is line 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl std::fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|e| match e.row {
                Some(row) => format!("line {row}: {}: {}", e.field, e.message),
                None => format!("{}: {}", e.field, e.message),
            })
            .collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for ValidationErrors {}

impl ValidationErrors {
    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationErrors(vec![FieldError { field: field.into(), message: message.into(), row: None }])
    }
}

/// Collects errors while a request is parsed into domain types.
#[derive(Debug, Default)]
pub struct Check {
    errors: Vec<FieldError>,
    prefix: String,
}

impl Check {
    pub fn new() -> Self {
        Check::default()
    }

    /// Field names are prefixed, e.g. `[3].minutes` for the fourth element of an array.
    pub fn with_prefix(prefix: impl Into<String>) -> Self {
        Check { errors: Vec::new(), prefix: prefix.into() }
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        let field = if self.prefix.is_empty() {
            field.to_string()
        } else if field.starts_with('[') {
            format!("{}{field}", self.prefix)
        } else {
            format!("{}.{field}", self.prefix)
        };
        self.errors.push(FieldError { field, message: message.into(), row: None });
    }

    /// Records `Err` under `field` and turns the result into an Option.
    pub fn take<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(message) => {
                self.add(field, message);
                None
            }
        }
    }

    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn into_errors(self) -> Vec<FieldError> {
        self.errors
    }

    /// What `build` makes of the values taken above, when nothing was recorded. `build` takes
    /// them out with `?`: each `None` recorded an error, so with no errors every one is there.
    /// Should one be missing all the same, that is reported rather than a panic.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, ValidationErrors> {
        if !self.errors.is_empty() {
            return Err(ValidationErrors(self.errors));
        }
        build().ok_or_else(|| {
            ValidationErrors(vec![FieldError { field: String::new(), message: "could not be read".into(), row: None }])
        })
    }
}

pub fn required_text(value: &str, max_len: usize) -> Result<String, String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err("must not be empty".into());
    }
    optional_text(trimmed, max_len)
}

pub fn optional_text(value: &str, max_len: usize) -> Result<String, String> {
    if value.chars().count() > max_len {
        return Err(format!("must be at most {max_len} characters"));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err("must not contain control characters".into());
    }
    Ok(value.to_string())
}

/// The longest invoice number prefix.
pub const MAX_INVOICE_PREFIX: usize = 20;

/// An invoice number prefix: ASCII letters, digits, `-` and `_` only, since the number is the
/// file name of every download of the invoice (no `/` or `.` to make it a path).
pub fn invoice_prefix(value: &str) -> Result<String, String> {
    if value.chars().count() > MAX_INVOICE_PREFIX {
        return Err(format!("must be at most {MAX_INVOICE_PREFIX} characters"));
    }
    if !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err("may hold only the letters A-Z and a-z, the digits 0-9, - and _".into());
    }
    Ok(value.to_string())
}

pub fn currency(code: &str) -> Result<Currency, String> {
    Currency::from_code(code).ok_or_else(|| format!("{code:?} is not an ISO 4217 currency code (e.g. \"EUR\")"))
}

/// ISO 3166-1 alpha-2 shape; the list itself is not enforced (partners invoice worldwide).
pub fn country(code: &str) -> Result<String, String> {
    if code.len() == 2 && code.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(code.to_string())
    } else {
        Err(format!("{code:?} is not a two-letter ISO 3166 country code (e.g. \"DE\")"))
    }
}

pub fn email(value: &str) -> Result<String, String> {
    let value = value.trim();
    match value.split_once('@') {
        Some((local, domain)) if !local.is_empty() && domain.contains('.') && !value.contains(' ') => {
            optional_text(value, 254)
        }
        _ => Err(format!("{value:?} is not an email address")),
    }
}

/// The largest magnitude accepted for money and rates: far beyond any support invoice, and
/// small enough that no sum or product of them can overflow a `Decimal`.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

/// A decimal as the client sent it, string or number, kept as exact text: it is parsed by
/// [`decimal`], so a bad value becomes a 422 naming its field. (serde_json is built with
/// `arbitrary_precision`, so a number's digits arrive untouched, never through a float.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecimalIn(pub String);

impl<'de> Deserialize<'de> for DecimalIn {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(s) => Ok(DecimalIn(s)),
            serde_json::Value::Number(n) => Ok(DecimalIn(n.to_string())),
            _ => Err(D::Error::custom("expected a decimal as a string (\"120.00\") or a number")),
        }
    }
}

impl utoipa::PartialSchema for DecimalIn {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(SchemaType::new(Type::String)).examples(["120.00"]))
            .item(ObjectBuilder::new().schema_type(SchemaType::new(Type::Number)))
            .description(Some("A decimal, as a string (preferred) or a number; parsed exactly."))
            .into()
    }
}

impl utoipa::ToSchema for DecimalIn {}

pub fn decimal(text: &str) -> Result<Decimal, String> {
    let text = text.trim();
    // Exponents are refused: a finance system should see the digits it stores.
    if text.is_empty() || text.contains(['e', 'E']) {
        return Err(format!("{text:?} is not a decimal number"));
    }
    // Exact or not at all: `from_str` would round digits beyond 28 silently.
    let d = Decimal::from_str_exact(text)
        .map_err(|_| format!("{text:?} is not a decimal number that can be held exactly"))?;
    if d.abs() >= Decimal::from(MAX_AMOUNT) {
        return Err(format!("must be less than {MAX_AMOUNT} in magnitude"));
    }
    Ok(d)
}

pub fn percent(value: Decimal) -> Result<Decimal, String> {
    if value < Decimal::ZERO || value > Decimal::ONE_HUNDRED {
        Err("must be between 0 and 100".into())
    } else {
        Ok(value)
    }
}

/// An amount in a currency: at most its minor digits, returned at exactly that scale.
pub fn money(value: Decimal, currency: Currency) -> Result<Decimal, String> {
    if !currency.fits(value) {
        return Err(format!(
            "{value} has more decimal places than {} allows ({})",
            currency.code(),
            currency.minor_digits()
        ));
    }
    Ok(currency.round(value))
}

pub fn non_negative_money(value: Decimal, currency: Currency) -> Result<Decimal, String> {
    if value < Decimal::ZERO {
        return Err("must not be negative".into());
    }
    money(value, currency)
}

/// RFC 3339 with an explicit offset (`Z` or `+02:00`), stored as UTC to the microsecond.
/// Only in the billable years ([`time::check_instant`]), and no leap seconds: PostgreSQL would
/// roll `23:59:60` into the next day and SQLite would not, billing one entry in two months.
pub fn timestamp(text: &str) -> Result<NaiveDateTime, String> {
    time::check_instant(any_timestamp(text)?).map_err(|m| format!("{text:?} {m}"))
}

/// [`timestamp`] as the exclusive end of a range: up to the end of the billable years.
pub fn end_timestamp(text: &str) -> Result<NaiveDateTime, String> {
    time::check_end_instant(any_timestamp(text)?).map_err(|m| format!("{text:?} {m}"))
}

fn any_timestamp(text: &str) -> Result<NaiveDateTime, String> {
    let invalid = || format!("{text:?} is not an RFC 3339 timestamp with an offset (e.g. \"2026-10-05T08:00:00Z\")");
    let parsed = DateTime::parse_from_rfc3339(text.trim()).map_err(|_| invalid())?;
    let utc = parsed.with_timezone(&Utc).naive_utc();
    use chrono::Timelike;
    if utc.nanosecond() >= 1_000_000_000 {
        return Err(format!("{text:?} is a leap second; use :59 or the next minute"));
    }
    Ok(truncate_micros(utc))
}

pub fn truncate_micros(t: NaiveDateTime) -> NaiveDateTime {
    use chrono::Timelike;
    let micros = t.nanosecond() / 1_000 * 1_000;
    t.with_nanosecond(micros).unwrap_or(t)
}

/// Exactly `YYYY-MM-DD` (chrono alone would take `+10000-01-01` or `2026-1-5`), in the
/// billable years ([`time::check_day`]): a stored date, or the first day of a range.
pub fn date(text: &str) -> Result<NaiveDate, String> {
    time::check_day(any_date(text)?).map_err(|m| format!("{:?} {m}", text.trim()))
}

/// [`date`] as the exclusive end of a range or period: up to the day after the billable years.
pub fn end_date(text: &str) -> Result<NaiveDate, String> {
    time::check_end_day(any_date(text)?).map_err(|m| format!("{:?} {m}", text.trim()))
}

fn any_date(text: &str) -> Result<NaiveDate, String> {
    let text = text.trim();
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    let invalid = || format!("{text:?} is not a date as YYYY-MM-DD");
    if !shaped {
        return Err(invalid());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| invalid())
}

pub fn local_time(text: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M").map_err(|_| format!("{text:?} is not a local time as HH:MM"))
}

pub fn timezone(name: &str) -> Result<chrono_tz::Tz, String> {
    name.parse::<chrono_tz::Tz>().map_err(|_| format!("{name:?} is not an IANA time zone (e.g. \"Europe/Berlin\")"))
}

/// The longest invoice period accepted.
pub const MAX_PERIOD_MONTHS: usize = 24;

/// SPEC 2: both dates the first of a month, end after start (else an error naming the field).
pub fn period(start: &str, end: &str) -> Result<Period, ValidationErrors> {
    let mut c = Check::new();
    let s = c.take("period_start", date(start));
    let e = c.take("period_end", end_date(end));
    let (Some(s), Some(e)) = (s, e) else { return Err(ValidationErrors(c.into_errors())) };
    period_of(s, e)
}

/// [`period`] for dates already parsed (the finance page's month), with the same checks.
pub fn period_of(s: NaiveDate, e: NaiveDate) -> Result<Period, ValidationErrors> {
    let mut c = Check::new();
    c.take("period_start", time::check_day(s).map_err(|m| format!("{s} {m}")));
    c.take("period_end", time::check_end_day(e).map_err(|m| format!("{e} {m}")));
    if !c.is_ok() {
        return Err(ValidationErrors(c.into_errors()));
    }
    let period = Period::new(s, e).map_err(|err| ValidationErrors::single(err.field, err.message))?;
    // A typo such as 2062 would bill decades of retainer fees in one transaction.
    if period.months().len() > MAX_PERIOD_MONTHS {
        return Err(ValidationErrors::single(
            "period_end",
            format!("a period spans at most {MAX_PERIOD_MONTHS} months"),
        ));
    }
    Ok(period)
}
