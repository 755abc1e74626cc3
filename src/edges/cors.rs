//! Cross-origin requests from browsers. Closed by default: no origin is
//! allowed, so a page on another site cannot read an answer. The customer web
//! app's origins are listed in `server.cors_allowed_origins`; they may call
//! the API with a bearer token (never cookies: credentials are not allowed).
//!
//! A request from an origin not on the list is served as if CORS did not
//! exist (no `Access-Control-Allow-*` header, so the browser withholds the
//! answer from the page): same-origin form posts of the console and the
//! survey carry an `Origin` too and must keep working.

use actix_cors::Cors;
use actix_web::http::{Method, header};

/// The CORS layer for the configured origins (checked at start-up by
/// `Settings::validate`).
pub fn layer(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::ACCEPT_LANGUAGE,
            header::IF_MATCH,
            header::HeaderName::from_static("idempotency-key"),
            header::HeaderName::from_static("last-event-id"),
        ])
        .expose_headers([header::ETAG, header::LOCATION, header::RETRY_AFTER])
        .max_age(600);
    for o in origins {
        cors = cors.allowed_origin(o);
    }
    cors
}

/// Whether `s` is an origin as a browser sends it: `http(s)://host[:port]`,
/// nothing after it.
pub fn is_origin(s: &str) -> bool {
    let Some(rest) = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
    else {
        return false;
    };
    !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        && s.parse::<actix_web::http::Uri>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::is_origin;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        assert!(is_origin("https://app.example.cn"));
        assert!(is_origin("http://127.0.0.1:3000"));
        assert!(!is_origin("https://app.example.cn/"));
        assert!(!is_origin("https://app.example.cn/path"));
        assert!(!is_origin("app.example.cn"));
        assert!(!is_origin("*"));
        assert!(!is_origin("https://"));
        assert!(!is_origin("ftp://x.cn"));
    }
}
