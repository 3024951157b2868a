//! Wire-format building blocks shared by the route modules (SPEC section 5): decimals that
//! arrive as a string or a number and leave as strings, timestamps, pages.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;

/// A decimal as the client sent it, string or number, kept as exact text: it is parsed by the
/// domain validation, so a bad value becomes a 422 naming its field. (serde_json is built with
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

pub use crate::domain::time::{opt_timestamp, timestamp};

/// One page of a list: `{"data": [...], "next_cursor": ...}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T: utoipa::ToSchema> {
    pub data: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A list that is not paged (invoice runs, reports).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DataList<T: utoipa::ToSchema> {
    pub data: Vec<T>,
}
