//! What the OpenAPI document says of every operation beyond its handler's own annotation: the
//! rules of the codes in paths (patterns, lengths, and the check a `format` names), the error
//! answers every operation of its kind can give, and that errors are `application/problem+json`.
//! Kept in one place so that the same parameter or the same refusal is described the same way
//! everywhere; `platform/scripts/api-contract` holds the server to it.

use serde_json::{Value, json};

use super::extract::{BODY_LIMIT, MAX_KEY_CHARS};
use crate::problem::PROBLEM_JSON;

/// Custom `format`s: each names a check that a pattern cannot state (documented in
/// `info.description`; the contract test generates values that pass them).
const FORMATS: &str = "Formats beyond JSON Schema's: `approval-code` (16 digits, the last a Damm \
    check digit over the first 15), `id-number` (resident ID number, GB 11643: a real birth date \
    and the ISO 7064 MOD 11-2 check character), `credit-code` (unified social credit code, \
    GB 32100 check character), `payment-code` (a fee notice's 20 digits; issuers' own, no \
    check), `project-code` (investment project code, GB/T 40058-2021; its check code is not \
    public, so the shape only). Times are RFC 3339 with the offset of the hall's clock.";

/// Rules between fields of a request, which the derived schemas cannot say.
const CROSS_FIELD_RULES: &[(&str, &str)] = &[
    // A command goes to one kiosk or to one hall, never both.
    (
        "IssueCommand",
        r#"{"oneOf": [
            {"required": ["kiosk_id"], "properties": {"kiosk_id": {"type": "string"}, "hall": {"type": "null"}}},
            {"required": ["hall"], "properties": {"hall": {"type": "string"}, "kiosk_id": {"type": "null"}}}
        ]}"#,
    ),
    // A rollout goes to one kiosk or to one hall (a share of it), never both.
    (
        "StartRollout",
        r#"{"oneOf": [
            {"required": ["kiosk_id"], "properties": {"kiosk_id": {"type": "string"}, "hall": {"type": "null"}}},
            {"required": ["hall"], "properties": {"hall": {"type": "string"}, "kiosk_id": {"type": "null"}}}
        ]}"#,
    ),
    // Refusing, asking for corrections and rejecting say why.
    (
        "StaffActionRequest",
        r#"{"if": {"properties": {"action": {"enum": ["refuse", "ask_corrections", "reject"]}}},
            "then": {"required": ["opinion"], "properties": {"opinion": {"type": "string", "pattern": "\S"}}}}"#,
    ),
];

/// The schema of a path or header parameter, by its name.
fn parameter_schema(name: &str) -> Option<Value> {
    let id = || json!({"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9._-]{1,64}$"});
    Some(match name {
        "approval_code" => {
            json!({"type": "string", "format": "approval-code", "pattern": "^[0-9]{16}$"})
        }
        "payment_code" => {
            json!({"type": "string", "format": "payment-code", "pattern": "^[0-9]{20}$"})
        }
        "credit_code" => {
            json!({"type": "string", "format": "credit-code", "pattern": "^[0-9A-HJ-NPQRTUWXY]{18}$"})
        }
        "code" => json!({"type": "string", "format": "project-code", "pattern": PROJECT_CODE}),
        "reference" => json!({"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}),
        "key" | "Idempotency-Key" => json!({
            "type": "string", "minLength": 1, "maxLength": MAX_KEY_CHARS,
            "pattern": format!("^[!-~]{{1,{MAX_KEY_CHARS}}}$"),
        }),
        "kiosk_id" | "order_id" | "id" | "rollout_id" => id(),
        "release" => json!({"type": "string", "minLength": 1, "maxLength": 64,
            "pattern": "^[A-Za-z0-9][A-Za-z0-9._+~-]{0,63}$"}),
        "Range" => json!({"type": "string", "pattern": "^bytes=[0-9]*-[0-9]*$"}),
        "X-Hall-Signature" => json!({"type": "string", "pattern": "^sha256=[0-9a-fA-F]{64}$"}),
        _ => return None,
    })
}

/// An investment project code (GB/T 40058-2021), with or without its dashes.
pub const PROJECT_CODE: &str = "^(20[0-9]{18}|20[0-9]{2}-[0-9]{6}-[0-9]{2}-[0-9]{2}-[0-9]{6})$";

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    })
}

fn secured_by(op: &Value, scheme: &str) -> bool {
    op.get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|r| r.get(scheme).is_some()))
}

/// Refines the generated document in place.
pub fn refine(doc: &mut Value) {
    if let Some(info) = doc.get_mut("info").and_then(Value::as_object_mut) {
        let d = info
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let d = format!("{d} {FORMATS}");
        info.insert("description".into(), Value::String(d));
    }
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for (name, rule) in CROSS_FIELD_RULES {
            if let (Some(schema), Ok(rule)) = (
                schemas.get_mut(*name).and_then(Value::as_object_mut),
                serde_json::from_str::<serde_json::Map<String, Value>>(rule),
            ) {
                schema.extend(rule);
            }
        }
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for op in item.values_mut() {
            refine_operation(op);
        }
    }
}

fn refine_operation(op: &mut Value) {
    let mut has_params = false;
    if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
        for p in params {
            has_params = true;
            let name = p["name"].as_str().unwrap_or_default().to_string();
            if let Some(schema) = parameter_schema(&name) {
                p["schema"] = schema;
            }
        }
    }
    let body = op.get("requestBody").is_some();
    let secured = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    let kiosk = secured_by(op, "kiosk_credential");
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    let mut add = |status: &str, description: &str| {
        responses
            .entry(status.to_string())
            .or_insert_with(|| problem(description));
    };
    if has_params || body {
        add(
            "400",
            "The request is malformed: a parameter or the body is not what it must be",
        );
    }
    if secured {
        add(
            "401",
            "No valid credential for this operation (Authorization: Bearer …)",
        );
    }
    if body {
        add(
            "413",
            &format!("The body is larger than {BODY_LIMIT} bytes"),
        );
        add("415", "The body is not application/json");
        add(
            "422",
            "The body is JSON but not a valid request: its fields say why",
        );
    }
    add(
        "429",
        if kiosk {
            "This kiosk, or its network address, sends more requests than its rate allows; see Retry-After"
        } else {
            "This network address sends more requests than its rate allows; see Retry-After"
        },
    );
    for (status, answer) in responses.iter_mut() {
        if status.starts_with(['4', '5']) {
            problem_content(answer);
        }
    }
}

/// An error answer's body is `application/problem+json`, whatever the annotation said.
fn problem_content(answer: &mut Value) {
    let Some(content) = answer.get_mut("content").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(schema) = content.remove("application/json") {
        content.insert(PROBLEM_JSON.to_string(), schema);
    }
}
