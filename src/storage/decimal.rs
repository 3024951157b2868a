//! Exact decimals in the database. Money, rates and multipliers are stored as TEXT and parsed
//! with `Decimal::from_str_exact`, because diesel reads SQLite `Numeric` through an f64 and
//! SQLite's NUMERIC affinity rewrites "-20.00" as the integer -20.

use std::fmt;
use std::str::FromStr;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;
use rust_decimal::Decimal;

use super::MultiBackend;

/// A decimal stored as its exact text, so "25.125" and "-20.00" come back digit for digit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct Dec(pub Decimal);

impl fmt::Display for Dec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Decimal> for Dec {
    fn from(d: Decimal) -> Self {
        Dec(d)
    }
}

fn parse(text: &str) -> deserialize::Result<Dec> {
    Decimal::from_str_exact(text)
        .or_else(|_| Decimal::from_str(text))
        .map(Dec)
        .map_err(|e| format!("stored decimal {text:?} is not a decimal: {e}").into())
}

impl ToSql<Text, Sqlite> for Dec {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.to_string());
        Ok(IsNull::No)
    }
}

impl FromSql<Text, Sqlite> for Dec {
    fn from_sql(bytes: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(bytes)?;
        parse(&text)
    }
}

impl ToSql<Text, Pg> for Dec {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        use std::io::Write;
        write!(out, "{}", self.0)?;
        Ok(IsNull::No)
    }
}

impl FromSql<Text, Pg> for Dec {
    fn from_sql(bytes: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
        parse(&text)
    }
}

// The MultiConnection backend forwards to the two impls above.
impl ToSql<Text, MultiBackend> for Dec {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((Text, self));
        Ok(IsNull::No)
    }
}

impl FromSql<Text, MultiBackend> for Dec {
    fn from_sql(bytes: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        bytes.from_sql::<Self, Text>()
    }
}
