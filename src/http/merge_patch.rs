//! PATCH bodies are JSON merge patches (RFC 7396): a member absent from the patch leaves its
//! field as it is, `null` removes it, and an object merges into the object it names. The patch
//! is merged onto the resource's current values in the shape of its create input, and the
//! merged whole goes through the create input's own checks, so a PATCH can never store what a
//! create would refuse.
//!
//! Each route describes its patch with a partial schema `P` (every field optional, only the
//! clearable ones nullable, unknown fields refused): [`MergePatch::parse`] checks the body
//! against it first, so a typo or a `null` for a field that cannot be empty is a 422 naming
//! the field before anything is read from the database.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::AppError;
use crate::http::extract::{parse_value, JsonBody};

/// A parsed merge patch: a JSON object whose shape its route has checked.
#[derive(Clone, Debug)]
pub struct MergePatch(Value);

impl MergePatch {
    /// Reads `body` as a merge patch of shape `P`: 400 when it is not JSON, 422 naming the field
    /// when `P` refuses a member (unknown, wrong type, or `null` where the field cannot be
    /// empty), 422 on `body` when it is not an object.
    pub fn parse<P: DeserializeOwned>(body: &JsonBody<P>) -> Result<MergePatch, AppError> {
        // A non-object is a valid RFC 7396 patch (it replaces the whole resource), but no
        // resource here is anything but an object, so it can only be a mistake.
        let value: Value = body.parse_as()?;
        if !value.is_object() {
            return Err(AppError::field("body", "a merge patch must be a JSON object"));
        }
        let _shape: P = body.parse()?;
        Ok(MergePatch(value))
    }

    /// `current` with the patch merged onto it, read back as `T`: a member the merge left
    /// missing or of the wrong type is a 422 naming the field, as in a create.
    pub fn apply<T: Serialize + DeserializeOwned>(&self, current: &T) -> Result<T, AppError> {
        let mut target = serde_json::to_value(current)
            .map_err(|e| AppError::Internal(format!("the current values do not serialize: {e}")))?;
        merge(&mut target, &self.0);
        parse_value(target)
    }
}

/// RFC 7396, section 2: `MergePatch(Target, Patch)`, in place.
pub fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(members) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(fields) = target {
        for (name, value) in members {
            if value.is_null() {
                fields.remove(name);
            } else {
                merge(fields.entry(name.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::merge;

    /// RFC 7396, appendix A: every example, target, patch and result as the RFC lists them.
    #[test]
    fn the_rfcs_examples() {
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "b"}), json!({"b": "c"}), json!({"a": "b", "b": "c"})),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (json!({"a": "b", "b": "c"}), json!({"a": null}), json!({"b": "c"})),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (json!({"a": {"b": "c"}}), json!({"a": {"b": "d", "c": null}}), json!({"a": {"b": "d"}})),
            (json!({"a": [{"b": "c"}]}), json!({"a": [1]}), json!({"a": [1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (json!({"a": "foo"}), json!(null), json!(null)),
            (json!({"a": "foo"}), json!("bar"), json!("bar")),
            (json!({"e": null}), json!({"a": 1}), json!({"e": null, "a": 1})),
            (json!([1, 2]), json!({"a": "b", "c": null}), json!({"a": "b"})),
            (json!({}), json!({"a": {"bb": {"ccc": null}}}), json!({"a": {"bb": {}}})),
        ];
        for (target, patch, expected) in cases {
            let mut merged = target.clone();
            merge(&mut merged, &patch);
            assert_eq!(merged, expected, "{target} merged with {patch}");
        }
    }
}
