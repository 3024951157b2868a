//! The closed vocabularies (statuses, kinds, roles, categories, ...) and currencies as column
//! types: each is stored as its wire name in a TEXT column, byte for byte what was stored as a
//! string before, and read back into the domain's type. The domain stays free of diesel, so the
//! impls that diesel's derives would write are written here, one line per type.
//!
//! A stored name outside the vocabulary is a deserialization error, so the query fails as a
//! storage error (5xx) instead of the row being read wrong.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, Queryable};
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{Nullable, Text};
use diesel::sqlite::Sqlite;

use super::MultiBackend;
use crate::domain::money::Currency;
use crate::domain::pricing::{BillingModel, Category, FeeProration, LineKind, RoundingScope};
use crate::domain::vocab::{
    EscalationChannel, InvoiceStatus, Product, Role, Severity, SubscriptionStatus, TaxTreatment,
};

/// The stored text of an unknown name, as the error that fails the query.
fn unknown(what: &str, text: &str) -> Box<dyn std::error::Error + Send + Sync> {
    format!("stored {what} {text:?} is not one of its names").into()
}

/// The diesel impls of `$ty` in a `Text` column, through `$ty::$name(&self) -> &'static str`
/// and `$ty::$parse(&str) -> Option<$ty>`. Expressions bind the `&'static str` itself, so a
/// filter such as `invoices::status.eq(InvoiceStatus::Issued)` sends what `.eq("issued")` sent.
macro_rules! text_column {
    ($ty:ident, $name:ident, $parse:ident) => {
        impl ToSql<Text, Sqlite> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
                <str as ToSql<Text, Sqlite>>::to_sql(self.$name(), out)
            }
        }

        impl ToSql<Text, Pg> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <str as ToSql<Text, Pg>>::to_sql(self.$name(), out)
            }
        }

        // The MultiConnection backend forwards to the two impls above.
        impl ToSql<Text, MultiBackend> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
                out.set_value((Text, self));
                Ok(IsNull::No)
            }
        }

        impl FromSql<Text, Sqlite> for $ty {
            fn from_sql(mut value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
                let text = value.read_text();
                $ty::$parse(text).ok_or_else(|| unknown(stringify!($ty), text))
            }
        }

        impl FromSql<Text, Pg> for $ty {
            fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
                let text = std::str::from_utf8(value.as_bytes())?;
                $ty::$parse(text).ok_or_else(|| unknown(stringify!($ty), text))
            }
        }

        impl FromSql<Text, MultiBackend> for $ty {
            fn from_sql(value: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
                value.from_sql::<Self, Text>()
            }
        }

        // What `#[derive(FromSqlRow)]` writes: the value is a row of one column.
        impl<DB: Backend> Queryable<Text, DB> for $ty
        where
            $ty: FromSql<Text, DB>,
        {
            type Row = Self;
            fn build(row: Self) -> deserialize::Result<Self> {
                Ok(row)
            }
        }

        text_column!(@expression $ty, $name, $ty);
        text_column!(@expression $ty, $name, &$ty);
    };
    // What `#[derive(AsExpression)]` writes, bound as the name's `&'static str`.
    (@expression $ty:ident, $name:ident, $self_ty:ty) => {
        impl AsExpression<Text> for $self_ty {
            type Expression = <&'static str as AsExpression<Text>>::Expression;
            fn as_expression(self) -> Self::Expression {
                <&'static str as AsExpression<Text>>::as_expression($ty::$name(&self))
            }
        }

        impl AsExpression<Nullable<Text>> for $self_ty {
            type Expression = <&'static str as AsExpression<Nullable<Text>>>::Expression;
            fn as_expression(self) -> Self::Expression {
                <&'static str as AsExpression<Nullable<Text>>>::as_expression($ty::$name(&self))
            }
        }
    };
}

text_column!(Currency, code, from_code);
text_column!(TaxTreatment, as_str, parse);
text_column!(BillingModel, as_str, parse);
text_column!(Product, as_str, parse);
text_column!(SubscriptionStatus, as_str, parse);
text_column!(Category, as_str, parse);
text_column!(Severity, as_str, parse);
text_column!(EscalationChannel, as_str, parse);
text_column!(InvoiceStatus, as_str, parse);
text_column!(LineKind, as_str, parse);
text_column!(Role, as_str, parse);
text_column!(RoundingScope, as_str, parse);
text_column!(FeeProration, as_str, parse);

#[cfg(test)]
mod tests {
    use diesel::connection::Connection;
    use diesel::pg::PgConnection;
    use diesel::prelude::*;
    use diesel::sql_types::Text;
    use diesel::sqlite::SqliteConnection;
    use diesel::{debug_query, sql_query};

    use super::*;
    use crate::storage::schema::invoices;
    use crate::storage::DbConnection;

    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        name: String,
    }

    #[derive(QueryableByName)]
    struct Status {
        #[diesel(sql_type = Text)]
        status: InvoiceStatus,
    }

    #[derive(QueryableByName)]
    struct Code {
        #[diesel(sql_type = Text)]
        currency: Currency,
    }

    /// Every name of `$ty` (made by `$parse`) is bound as exactly its text and read back as the
    /// same value; `$p` is the backend's placeholder.
    macro_rules! round_trip {
        ($conn:expr, $p:expr, $ty:ident, $parse:path, $names:expr) => {{
            #[derive(QueryableByName)]
            struct Read {
                #[diesel(sql_type = Text)]
                value: $ty,
            }
            for &name in $names {
                let value = $parse(name).unwrap();
                let stored: Name =
                    sql_query(format!("SELECT {} AS name", $p)).bind::<Text, _>(value).get_result($conn).unwrap();
                assert_eq!(stored.name, name, "{} bound", stringify!($ty));
                let read: Read =
                    sql_query(format!("SELECT {} AS value", $p)).bind::<Text, _>(name).get_result($conn).unwrap();
                assert_eq!(read.value, value, "{} read", stringify!($ty));
            }
        }};
    }

    fn every_name_round_trips(conn: &mut DbConnection, p: &str) {
        round_trip!(conn, p, TaxTreatment, TaxTreatment::parse, TaxTreatment::NAMES);
        round_trip!(conn, p, Product, Product::parse, Product::NAMES);
        round_trip!(conn, p, SubscriptionStatus, SubscriptionStatus::parse, SubscriptionStatus::NAMES);
        round_trip!(conn, p, Severity, Severity::parse, Severity::NAMES);
        round_trip!(conn, p, EscalationChannel, EscalationChannel::parse, EscalationChannel::NAMES);
        round_trip!(conn, p, InvoiceStatus, InvoiceStatus::parse, InvoiceStatus::NAMES);
        round_trip!(conn, p, Role, Role::parse, Role::NAMES);
        round_trip!(conn, p, Category, Category::parse, &Category::ALL.map(|c| c.as_str()));
        round_trip!(conn, p, BillingModel, BillingModel::parse, &BillingModel::ALL.map(|m| m.as_str()));
        round_trip!(conn, p, LineKind, LineKind::parse, &LineKind::ALL.map(|k| k.as_str()));
        round_trip!(conn, p, RoundingScope, RoundingScope::parse, &RoundingScope::ALL.map(|r| r.as_str()));
        round_trip!(conn, p, FeeProration, FeeProration::parse, &FeeProration::ALL.map(|f| f.as_str()));
        let codes: Vec<&str> = Currency::all().map(|c| c.code()).collect();
        round_trip!(conn, p, Currency, Currency::from_code, codes.as_slice());
    }

    fn sqlite() -> DbConnection {
        DbConnection::Sqlite(SqliteConnection::establish(":memory:").unwrap())
    }

    #[test]
    fn names_are_stored_as_their_text_and_read_back() {
        every_name_round_trips(&mut sqlite(), "?");
        // PostgreSQL too, when the tests have one.
        if let Ok(url) = std::env::var("SUPPORTBILL_TEST_PG_URL") {
            every_name_round_trips(&mut DbConnection::Postgresql(PgConnection::establish(&url).unwrap()), "$1");
        }
    }

    #[test]
    fn a_name_outside_the_vocabulary_is_an_error_not_a_panic() {
        let mut conn = sqlite();
        for text in ["paid", "Issued", "issued ", ""] {
            match sql_query(format!("SELECT '{text}' AS status")).get_result::<Status>(&mut conn) {
                Err(diesel::result::Error::DeserializationError(e)) => {
                    assert!(e.to_string().contains(&format!("{text:?}")), "{e}")
                }
                other => panic!("{text:?}: {:?}", other.map(|s| s.status)),
            }
        }
        // Codes are uppercase ISO 4217 with a minor unit, as validation admits them.
        for text in ["eur", "XAU", "EURO"] {
            let read =
                sql_query(format!("SELECT '{text}' AS currency")).get_result::<Code>(&mut conn).map(|c| c.currency);
            assert!(matches!(read, Err(diesel::result::Error::DeserializationError(_))), "{text:?}");
        }
    }

    #[test]
    fn a_filter_binds_the_name_as_text() {
        let query = invoices::table.filter(invoices::status.eq(InvoiceStatus::Void)).select(invoices::id);
        assert!(debug_query::<Sqlite, _>(&query).to_string().ends_with(r#"-- binds: ["void"]"#));
        assert!(debug_query::<Pg, _>(&query).to_string().ends_with(r#"-- binds: ["void"]"#));
        let query = invoices::table.filter(invoices::status.ne(&InvoiceStatus::Draft)).select(invoices::id);
        assert!(debug_query::<Sqlite, _>(&query).to_string().ends_with(r#"-- binds: ["draft"]"#));
    }
}
