//! The contract: the OpenAPI document as clients get it, and the answers for
//! requests that no route takes.
//!
//! Handlers declare what is particular to them (bodies, parameters, the
//! statuses only they answer, with a description). What every operation of a
//! kind can answer is declared here once, as shared responses in
//! `components/responses`, and attached by rule: a body can be malformed
//! (400), too large (413) or invalid (422); a bearer token can be missing
//! (401) or lack the role (403); a path id can name nothing (404); a write can
//! clash (409); `If-Match` can be stale (412) or missing (428).

use actix_web::dev::ResourceDef;
use actix_web::http::{Method, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use crate::error::AppError;

/// The finished document, and the route patterns it lists (for 405).
pub struct Contract {
    json: String,
    routes: Vec<(ResourceDef, Vec<Method>)>,
}

impl Contract {
    pub fn new() -> Self {
        Self::from_document(super::openapi())
    }

    pub fn from_document(doc: Value) -> Self {
        let mut routes = Vec::new();
        if let Some(paths) = doc["paths"].as_object() {
            for (path, item) in paths {
                let methods = item
                    .as_object()
                    .into_iter()
                    .flat_map(|ops| ops.keys())
                    .filter_map(|m| Method::from_bytes(m.to_uppercase().as_bytes()).ok())
                    .collect();
                routes.push((ResourceDef::new(path.as_str()), methods));
            }
        }
        Self {
            json: pretty(&doc),
            routes,
        }
    }

    /// The document as served and as committed in `openapi.json`.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The methods served on a path, if any route matches it.
    fn allowed(&self, path: &str) -> Option<Vec<Method>> {
        let mut allowed: Vec<Method> = self
            .routes
            .iter()
            .filter(|(def, _)| def.is_match(path))
            .flat_map(|(_, methods)| methods.iter().cloned())
            .collect();
        allowed.dedup();
        (!allowed.is_empty()).then_some(allowed)
    }
}

impl Default for Contract {
    fn default() -> Self {
        Self::new()
    }
}

/// The document with a trailing newline, as `servicelane openapi` prints it.
pub fn pretty(doc: &Value) -> String {
    let mut s = serde_json::to_string_pretty(doc).unwrap_or_default();
    s.push('\n');
    s
}

pub async fn serve_document(contract: web::Data<Contract>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(contract.json.clone())
}

/// No route took the request: 405 with `Allow` when the path exists under
/// another method, else 404.
pub async fn unrouted(req: HttpRequest, contract: web::Data<Contract>) -> HttpResponse {
    match contract.allowed(req.path()) {
        Some(methods) if !methods.contains(req.method()) => {
            let allow = methods
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            let mut res = actix_web::ResponseError::error_response(&AppError::MethodNotAllowed);
            if let Ok(v) = header::HeaderValue::from_str(&allow) {
                res.headers_mut().insert(header::ALLOW, v);
            }
            res
        }
        _ => actix_web::ResponseError::error_response(&AppError::NoRoute),
    }
}

/// Request headers as the contract documents them, for `params(...)` of a
/// handler's `#[utoipa::path]`: one definition each.
pub mod headers {
    use utoipa::IntoParams;
    use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
    use utoipa::openapi::{ObjectBuilder, Required, Type};

    fn header(name: &str, required: bool, description: &str, schema: ObjectBuilder) -> Parameter {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Header)
            .required(if required {
                Required::True
            } else {
                Required::False
            })
            .description(Some(description))
            .schema(Some(schema.schema_type(Type::String)))
            .build()
    }

    fn etag() -> ObjectBuilder {
        ObjectBuilder::new()
            .pattern(Some(r#"^(W/)?"[0-9]+"$"#))
            .examples([serde_json::json!("\"3\"")])
    }

    /// `If-Match`, required: an edit without it is refused with 428.
    pub struct IfMatchHeader;

    impl IntoParams for IfMatchHeader {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            vec![header(
                "If-Match",
                true,
                "the ETag of the version you edited; a stale one is refused with 412",
                etag(),
            )]
        }
    }

    /// `If-Match`, optional: when sent, a stale one is refused with 412.
    pub struct IfMatchOptionalHeader;

    impl IntoParams for IfMatchOptionalHeader {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            vec![header(
                "If-Match",
                false,
                "the ETag of the version you edited; when sent, a stale one is refused with 412",
                etag(),
            )]
        }
    }

    /// `Idempotency-Key`: a retry with the same key and body replays the first answer.
    pub struct IdempotencyKeyHeader;

    impl IntoParams for IdempotencyKeyHeader {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            vec![header(
                "Idempotency-Key",
                false,
                "a key you choose per intended write (a UUID is good); the same key and body \
                 replay the first answer with Idempotent-Replayed: true, another body is refused",
                ObjectBuilder::new()
                    .min_length(Some(1))
                    .max_length(Some(255))
                    .pattern(Some("^[\\x21-\\x7E]+$")),
            )]
        }
    }
}

/// The shared problem answers, by status: (name, description).
const PROBLEMS: &[(u16, &str, &str)] = &[
    (
        400,
        "BadRequest",
        "The body is not JSON, or not sent as application/json.",
    ),
    (401, "Unauthorized", "No valid bearer token was sent."),
    (403, "Forbidden", "Your role may not do this."),
    (
        404,
        "NotFound",
        "No such record, or one you may not see (another dealer's or customer's).",
    ),
    (
        409,
        "Conflict",
        "The write clashes with the current state: a unique value taken, a state change not allowed.",
    ),
    (
        412,
        "PreconditionFailed",
        "The record changed since you read it (If-Match is stale): read it again.",
    ),
    (413, "PayloadTooLarge", "The body is larger than allowed."),
    (
        422,
        "Unprocessable",
        "Invalid fields; `errors` names each with its problem.",
    ),
    (
        428,
        "PreconditionRequired",
        "Send If-Match with the ETag you read.",
    ),
    (
        429,
        "TooManyRequests",
        "Too many attempts; wait for Retry-After seconds.",
    ),
    (
        503,
        "Unavailable",
        "Busy for a moment; try again after Retry-After seconds.",
    ),
];

const PROBLEM_JSON: &str = "application/problem+json";

/// Completes the document collected from the route table: security scheme,
/// shared problem answers attached by rule, operation-level conventions.
pub fn finish(doc: utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(doc).unwrap_or_default();
    let components = doc["components"]
        .as_object_mut()
        .map(std::mem::take)
        .unwrap_or_default();
    let mut components = components;
    components.insert(
        "securitySchemes".into(),
        json!({ "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" } }),
    );
    let mut responses = Map::new();
    for (status, name, description) in PROBLEMS {
        let mut r = json!({
            "description": description,
            "content": { PROBLEM_JSON: { "schema": { "$ref": "#/components/schemas/Problem" } } }
        });
        if matches!(status, 429 | 503) {
            r["headers"] = json!({ "Retry-After": {
                "description": "seconds to wait before trying again",
                "schema": { "type": "integer", "minimum": 0 }
            }});
        }
        responses.insert((*name).into(), r);
    }
    components.insert("responses".into(), Value::Object(responses));
    doc["components"] = Value::Object(components);

    decimal_pattern(&mut doc);
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            let Some(ops) = item.as_object_mut() else {
                continue;
            };
            for (method, op) in ops.iter_mut() {
                attach_problems(path, method, op);
                params_not_null(op);
                optional_body_absent(op);
            }
        }
    }
    doc
}

/// Decimals (money, hours, quantities) travel as strings so that no digit is
/// lost to a float: every schema of format `decimal` gets the one pattern.
pub const DECIMAL_PATTERN: &str = r"^-?[0-9]{1,18}(\.[0-9]{1,6})?$";

fn decimal_pattern(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.get("format").and_then(Value::as_str) == Some("decimal") {
                m.insert("pattern".into(), json!(DECIMAL_PATTERN));
            }
            m.values_mut().for_each(decimal_pattern);
        }
        Value::Array(a) => a.iter_mut().for_each(decimal_pattern),
        _ => {}
    }
}

/// A parameter is absent or has a value: `null` cannot be sent in a path,
/// query or header, so the schema says the type alone.
fn params_not_null(op: &mut Value) {
    let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
        return;
    };
    for p in params {
        let schema = &mut p["schema"];
        if let Some(types) = schema["type"].as_array() {
            let types: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
            schema["type"] = match types.as_slice() {
                [one] => one.clone(),
                _ => Value::Array(types),
            };
        }
        if let Some(one_of) = schema["oneOf"].as_array() {
            let rest: Vec<Value> = one_of
                .iter()
                .filter(|s| s["type"] != "null")
                .cloned()
                .collect();
            if let [only] = rest.as_slice() {
                *schema = only.clone();
            }
        }
    }
}

/// An optional body is left out, not sent as `null` (which is refused):
/// `oneOf [null, X]` becomes `X` with `required: false`.
fn optional_body_absent(op: &mut Value) {
    let Some(body) = op.get_mut("requestBody") else {
        return;
    };
    let mut optional = false;
    if let Some(content) = body.get_mut("content").and_then(Value::as_object_mut) {
        for media in content.values_mut() {
            let Some(schema) = media.get_mut("schema") else {
                continue;
            };
            if let Some(one_of) = schema.get("oneOf").and_then(Value::as_array) {
                let rest: Vec<Value> = one_of
                    .iter()
                    .filter(|s| s["type"] != "null")
                    .cloned()
                    .collect();
                if let [only] = rest.as_slice()
                    && rest.len() < one_of.len()
                {
                    *schema = only.clone();
                    optional = true;
                }
            }
        }
    }
    body["required"] = json!(!optional);
}

/// The statuses an operation can answer by its shape, attached unless the
/// handler documented them itself (with its own description).
fn attach_problems(path: &str, method: &str, op: &mut Value) {
    let has = |op: &Value, name: &str, place: &str| {
        op["parameters"].as_array().is_some_and(|ps| {
            ps.iter()
                .any(|p| p["in"] == place && (name.is_empty() || p["name"] == name))
        })
    };
    let body = op.get("requestBody").is_some();
    let query = has(op, "", "query");
    let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
    let write = matches!(method, "post" | "put" | "patch" | "delete");
    let if_match = has(op, "If-Match", "header");
    let if_match_required = op["parameters"].as_array().is_some_and(|ps| {
        ps.iter()
            .any(|p| p["name"] == "If-Match" && p["required"] == true)
    });

    let mut statuses = Vec::new();
    if body {
        statuses.extend([400, 413, 422]);
    }
    // a path value that does not parse names no record (404); a query or
    // header value that does not parse is named in a 422
    // (a path value that parses but is out of bounds, such as a date, is named in a 422)
    let checked_path = op["parameters"].as_array().is_some_and(|ps| {
        ps.iter()
            .any(|p| p["in"] == "path" && p["schema"]["format"] != "uuid")
    });
    if query || checked_path || has(op, "", "header") {
        statuses.push(422);
    }
    if secured {
        statuses.extend([401, 403]);
    }
    if path.contains('{') {
        statuses.push(404);
    }
    if write && secured {
        statuses.push(409);
    }
    // a statement that waited past its time for another's lock (SQLite busy,
    // PostgreSQL's lock_timeout, a deadlock) is rolled back and answered 503
    // with Retry-After: a write on either database, a read on PostgreSQL
    // (behind a migration's exclusive lock, say)
    statuses.push(503);
    if if_match {
        statuses.push(412);
    }
    if if_match_required {
        statuses.push(428);
    }
    // the public endpoints' rate limits (edges::limits) answer before any handler
    if crate::edges::limits::class_of(path).is_some() {
        statuses.push(429);
    }
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    for status in statuses {
        let key = status.to_string();
        if responses.contains_key(&key) {
            continue;
        }
        let name = PROBLEMS
            .iter()
            .find(|(s, _, _)| *s == status)
            .map(|(_, n, _)| *n)
            .unwrap_or("BadRequest");
        responses.insert(
            key,
            json!({ "$ref": format!("#/components/responses/{name}") }),
        );
    }
    // a problem a handler documented itself is still problem+json with Retry-After where due
    for (status, r) in responses.iter_mut() {
        let Ok(code) = status.parse::<u16>() else {
            continue;
        };
        // (`get_mut`, not indexing: indexing a JSON object inserts a null)
        if let Some(etag) = r.get_mut("headers").and_then(|h| h.get_mut("ETag")) {
            etag["description"] =
                json!("the record's version; send it back in If-Match to edit it");
        }
        if code >= 400
            && let Some(content) = r.get_mut("content").and_then(Value::as_object_mut)
            && let Some(schema) = content.remove("application/json")
        {
            content.insert(PROBLEM_JSON.into(), schema);
        }
        if matches!(code, 429 | 503) && r.get("$ref").is_none() && r.get("headers").is_none() {
            r["headers"] = json!({ "Retry-After": {
                "description": "seconds to wait before trying again",
                "schema": { "type": "integer", "minimum": 0 }
            }});
        }
    }
}
