//! Extractors that answer bad input with a problem naming the field: the
//! JSON body, the query string, and the If-Match header.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::domain::{FieldErrors, validation};
use crate::error::AppError;
use crate::services::Version;
use crate::services::idempotency::IdempotencyKey;

/// A JSON body. Malformed JSON is 400; a wrong type, unknown enum value,
/// missing or unknown field is 422 naming the field.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    /// Read as [`OptionalJson`], where no body at all is the only difference.
    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = OptionalJson::<T>::from_request(req, payload);
        Box::pin(async move {
            body.await?.0.map(Json).ok_or_else(|| AppError::BadRequest {
                detail: "a JSON body is required".into(),
                errors: vec![],
            })
        })
    }
}

/// A JSON body that may be left out: no body at all is `None`; a body that
/// is sent is read as strictly as [`Json`] (so `{{{` is 400, not "no body").
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJson<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_body(req, payload);
        Box::pin(async move {
            let bytes = body.await?;
            if bytes.is_empty() {
                return Ok(OptionalJson(None));
            }
            parse_json(&bytes).map(|v| OptionalJson(Some(v)))
        })
    }
}

/// The raw body of a JSON request: an empty one is allowed here (the caller
/// decides), a non-JSON content type is 400, one over the limit is 413.
fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
) -> LocalBoxFuture<'static, Result<web::Bytes, AppError>> {
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase)
        .is_some_and(|v| v.starts_with("application/json") || v.contains("+json"));
    let body = web::Bytes::from_request(req, payload);
    Box::pin(async move {
        let bytes = body.await.map_err(|e| {
            if let Some(actix_web::error::PayloadError::Overflow) =
                e.as_error::<actix_web::error::PayloadError>()
            {
                AppError::PayloadTooLarge {
                    limit: BODY_LIMIT,
                    field: None,
                }
            } else {
                AppError::BadRequest {
                    detail: format!("body: {e}"),
                    errors: vec![],
                }
            }
        })?;
        if !bytes.is_empty() && !json {
            return Err(AppError::BadRequest {
                detail: "send the body as Content-Type: application/json".into(),
                errors: vec![],
            });
        }
        Ok(bytes)
    })
}

/// The largest JSON body read; the app's `PayloadConfig` is set to it.
pub const BODY_LIMIT: usize = 262_144;

/// Deserialises with the path of the failing field kept.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => data_problem(&path, &inner.to_string()),
            // serde_json reads a null or a number where an enum's name goes as
            // "expected value": the JSON is well formed, the field is wrong
            _ if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() => {
                data_problem(&path, "must be one of the names this field takes")
            }
            _ => AppError::BadRequest {
                detail: format!("malformed JSON: {inner}"),
                errors: vec![],
            },
        }
    })?;
    de.end().map_err(|e| AppError::BadRequest {
        detail: format!("malformed JSON: {e}"),
        errors: vec![],
    })?;
    refuse_controls_in_json(bytes)?;
    Ok(value)
}

/// JSON can carry any character escaped (`\u0000`); no text field of ours
/// takes NUL or other control characters (PostgreSQL refuses NUL in text, so
/// it would surface as a 500). Tab, CR and LF pass here; single-line fields
/// refuse them where they are parsed. The value is only walked when the raw
/// body could hold such a character at all.
fn refuse_controls_in_json(bytes: &[u8]) -> Result<(), AppError> {
    let suspicious = bytes.windows(2).any(|w| w == b"\\u" || w[0] == 0xC2) || bytes.contains(&0x7F);
    if !suspicious {
        return Ok(());
    }
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| AppError::BadRequest {
            detail: format!("malformed JSON: {e}"),
            errors: vec![],
        })?;
    let mut errors = FieldErrors::new();
    walk(&value, String::new(), &mut errors);
    errors.into_result().map_err(AppError::Validation)
}

fn walk(v: &serde_json::Value, path: String, errors: &mut FieldErrors) {
    let here = |p: &str| {
        if p.is_empty() {
            "body".to_string()
        } else {
            p.to_string()
        }
    };
    match v {
        serde_json::Value::String(s) => {
            if let Err(m) = validation::no_controls(s, false) {
                errors.add(here(&path), m);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, format!("{path}[{i}]"), errors);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, item) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if let Err(m) = validation::no_controls(k, true) {
                    errors.add(here(&path), format!("a field name {m}"));
                    continue;
                }
                walk(item, p, errors);
            }
        }
        _ => {}
    }
}

/// Turns serde's message into a field problem: the field is the path, or the
/// name inside "missing field `x`" / "unknown field `x`" under that path.
fn data_problem(path: &str, message: &str) -> AppError {
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_string();
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|rest| rest.split('`').next());
    let base = if path == "." { "" } else { path };
    let field = match named {
        Some(n) if base.is_empty() || base.rsplit('.').next() == Some(n) => {
            if base.is_empty() {
                n.to_string()
            } else {
                base.to_string()
            }
        }
        Some(n) => format!("{base}.{n}"),
        None if base.is_empty() => "body".to_string(),
        None => base.to_string(),
    };
    AppError::Validation(FieldErrors::single(field, message))
}

/// A query string, with the failing parameter named (422).
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // a query parameter is one line: any control character is refused,
        // named by its parameter, before anything reaches the database
        let mut errors = FieldErrors::new();
        for (k, v) in form_urlencoded::parse(req.query_string().as_bytes()) {
            if let Err(m) =
                validation::no_controls(&k, true).and_then(|_| validation::no_controls(&v, true))
            {
                errors.add(k.chars().filter(|c| !c.is_control()).collect::<String>(), m);
            }
        }
        if !errors.is_empty() {
            return ready(Err(AppError::Validation(errors)));
        }
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(
            req.query_string().as_bytes(),
        ));
        ready(
            serde_path_to_error::deserialize(de)
                .map(Query)
                .map_err(|e| data_problem(&e.path().to_string(), &e.inner().to_string())),
        )
    }
}

/// The `Idempotency-Key` header, if sent: 1 to 255 visible ASCII characters,
/// else 422 naming `Idempotency-Key` (it is used in SQL, so nothing else
/// reaches the database).
pub struct IdempotencyHeader(pub Option<IdempotencyKey>);

impl FromRequest for IdempotencyHeader {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let key = req.headers().get("idempotency-key").map(|v| {
            v.to_str()
                .map_err(|_| "must be 1 to 255 visible ASCII characters".to_string())
                .and_then(IdempotencyKey::parse)
                .map_err(|m| AppError::field("Idempotency-Key", m))
        });
        ready(key.transpose().map(IdempotencyHeader))
    }
}

/// The `If-Match` header, if sent, as the version it names (422 when it is
/// not an ETag this server gave out).
pub struct IfMatch(pub Option<Version>);

impl FromRequest for IfMatch {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let v = req.headers().get(header::IF_MATCH).map(|v| {
            v.to_str()
                .map_err(|_| AppError::field("If-Match", "is not an ETag this server gave out"))
                .and_then(Version::from_if_match)
        });
        ready(v.transpose().map(IfMatch))
    }
}

/// Where a request came in, for the personal-data access log: the method and
/// route (`GET /api/v1/customers/{id}`) and the client's address.
pub struct AccessPoint(pub crate::services::privacy::Point);

impl AccessPoint {
    /// Where `req` came in; also for the console's pages, which are not
    /// API handlers.
    pub fn of(req: &HttpRequest) -> AccessPoint {
        let addr = crate::auth::ClientAddr::from_request(req, &mut Payload::None)
            .into_inner()
            .ok()
            .and_then(|a| a.0);
        let route = req
            .match_pattern()
            .unwrap_or_else(|| req.path().to_string());
        AccessPoint(crate::services::privacy::Point {
            endpoint: format!("{} {route}", req.method()),
            client_addr: addr.map(|a| a.to_string()),
        })
    }
}

impl FromRequest for AccessPoint {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(AccessPoint::of(req)))
    }
}

/// A raw body (a CSV file) read up to `limit` bytes: a larger one is a
/// problem+json 413 naming the limit, refused unread when its declared
/// length says so.
pub async fn body_up_to(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, AppError> {
    use futures_util::StreamExt;
    let too_large = || AppError::PayloadTooLarge { limit, field: None };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| AppError::BadRequest {
            detail: format!("body: {e}"),
            errors: vec![],
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        month: u8,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        vin: String,
        birthday: Option<Inner>,
    }

    fn field_of(json: &str) -> (u16, String) {
        let e = parse_json::<Body>(json.as_bytes()).unwrap_err();
        let p = e.problem();
        (
            p.status,
            p.errors
                .first()
                .map(|e| e.field.clone())
                .unwrap_or_default(),
        )
    }

    #[test]
    fn each_kind_of_bad_json_names_its_field() {
        assert_eq!(field_of(r#"{"birthday": null}"#), (422, "vin".into()));
        assert_eq!(field_of(r#"{"vin": 5}"#), (422, "vin".into()));
        assert_eq!(
            field_of(r#"{"vin": "x", "birthday": {"month": "May"}}"#),
            (422, "birthday.month".into())
        );
        assert_eq!(
            field_of(r#"{"vin": "x", "birthday": {}}"#),
            (422, "birthday.month".into())
        );
        assert_eq!(
            field_of(r#"{"vin": "x", "colour": "red"}"#),
            (422, "colour".into())
        );
        assert_eq!(field_of(r#"{"vin": "#).0, 400);
        assert_eq!(field_of(r#"{"vin": "x"} trailing"#).0, 400);
    }

    #[test]
    fn a_control_character_anywhere_names_its_field() {
        assert_eq!(field_of(r#"{"vin": "a\u0000b"}"#), (422, "vin".into()));
        assert_eq!(field_of("{\"vin\": \"a\u{85}b\"}"), (422, "vin".into()));
        assert_eq!(field_of("{\"vin\": \"a\u{7f}\"}"), (422, "vin".into()));
        // line breaks are for the domain to judge (notes may have them)
        assert!(parse_json::<Body>(br#"{"vin": "a\nb"}"#).is_ok());
        assert!(parse_json::<Body>("{\"vin\": \"王小明\"}".as_bytes()).is_ok());
    }
}
