//! The error answers every operation may give, added to the OpenAPI document once for all
//! routes (found by schemathesis' status-code and content-type conformance checks):
//!
//! - errors are `application/problem+json` (RFC 9457), not `application/json`;
//! - every operation may answer 401 (no or bad key) and 404 (a client asking for what is not its
//!   own, or an id that does not exist); operations with a query string or a body 422 (invalid
//!   input); operations with a body 400 (not JSON), 408 (too slow) and 413 (too large).
//!
//! It also makes each list page (`Page_X`) refer to its item schema `X` instead of repeating it
//! inline (the same document, only named): schemathesis tells which resource a list returns by
//! that name, and its object-level authorization check needs to know that `GET /subscriptions`
//! lists what `GET /subscriptions/{id}` reads (see `.ci/schemathesis/bola.toml`).

use serde_json::{json, Map, Value};

const PROBLEM_JSON: &str = "application/problem+json";

/// `api` with the common error responses added and problem responses typed as problem+json.
/// (Works on the JSON form: it is the document's wire format, whatever utoipa's types look like.)
pub fn with_common_responses(api: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let Ok(mut doc) = serde_json::to_value(&api) else { return api };
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else { continue };
            for (method, op) in item.iter_mut() {
                if !matches!(method.as_str(), "get" | "put" | "post" | "delete" | "patch") {
                    continue;
                }
                if let Some(op) = op.as_object_mut() {
                    add_common_responses(op);
                }
            }
        }
    }
    reference_page_items(&mut doc);
    serde_json::from_value(doc).unwrap_or(api)
}

/// `Page_X.data.items`, inlined by utoipa for the generic `Page<X>`, becomes `$ref: X` where
/// the component `X` is exactly that schema.
fn reference_page_items(doc: &mut Value) {
    let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else { return };
    let names: Vec<String> = schemas.keys().filter(|k| k.starts_with("Page_")).cloned().collect();
    for name in names {
        let item = &name["Page_".len()..];
        let Some(component) = schemas.get(item).cloned() else { continue };
        let Some(items) = schemas.get_mut(&name).and_then(|page| page.pointer_mut("/properties/data/items")) else {
            continue;
        };
        if *items == component {
            *items = json!({"$ref": format!("#/components/schemas/{item}")});
        }
    }
}

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    })
}

fn add_common_responses(op: &mut Map<String, Value>) {
    let has_body = op.contains_key("requestBody");
    let has_query =
        op.get("parameters").and_then(Value::as_array).is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
    let Some(responses) = op.entry("responses").or_insert_with(|| json!({})).as_object_mut() else { return };

    // Problem bodies documented as application/json are sent as application/problem+json.
    for response in responses.values_mut() {
        let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) else { continue };
        let is_problem =
            content.get("application/json").is_some_and(|c| c["schema"]["$ref"] == "#/components/schemas/Problem");
        if is_problem {
            if let Some(c) = content.remove("application/json") {
                content.insert(PROBLEM_JSON.to_string(), c);
            }
        }
    }

    let mut add = |status: &str, description: &str| {
        responses.entry(status.to_string()).or_insert_with(|| problem(description));
    };
    add("401", "no API key, or one that is unknown or revoked");
    add("404", "not found, or not the caller's (clients get 404 for anything not their own)");
    if has_body || has_query {
        add("422", "invalid input; `errors` names each field");
    }
    if has_body {
        add("400", "the body is not valid JSON (or CSV)");
        add("413", "the body is larger than 16 MiB");
        add("408", "the body did not arrive within the time limit (30 s by default); the connection is closed");
    }
}
