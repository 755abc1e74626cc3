//! The edges every request passes: security headers, CORS, the public
//! endpoints' rate limits (issue 14 part 5).

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

fn h<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn raw_get(app: &TestApp, path: &str) -> reqwest::Response {
    app.http.get(app.url(path)).send().await.unwrap()
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = spawn_app().await;
    // a success, a refusal (problem+json) and a path nobody serves
    for path in ["/health/live", "/api/v1/customers", "/nowhere"] {
        let r = raw_get(&app, path).await;
        let hs = r.headers();
        assert_eq!(h(hs, "x-content-type-options"), Some("nosniff"), "{path}");
        assert_eq!(h(hs, "referrer-policy"), Some("no-referrer"), "{path}");
        assert_eq!(h(hs, "x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(
            h(hs, "content-security-policy"),
            Some("default-src 'none'; frame-ancestors 'none'"),
            "{path}"
        );
        // not in production: no HSTS (the test server speaks plain HTTP)
        assert_eq!(h(hs, "strict-transport-security"), None, "{path}");
    }
    // a page keeps its own, stricter-for-its-needs policy
    let r = raw_get(&app, "/console/login").await;
    let csp = h(r.headers(), "content-security-policy")
        .unwrap()
        .to_string();
    assert!(csp.contains("form-action 'self'"), "{csp}");
    assert_eq!(h(r.headers(), "referrer-policy"), Some("same-origin"));
    // the interactive documentation runs its own scripts: no CSP of ours
    let r = raw_get(&app, "/docs/").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(h(r.headers(), "content-security-policy"), None);
    assert_eq!(h(r.headers(), "x-content-type-options"), Some("nosniff"));
}

#[tokio::test]
async fn hsts_is_sent_when_configured() {
    let app = spawn_app_with(&[("SERVICELANE__SERVER__HSTS_MAX_AGE_SECS", "31536000")]).await;
    let r = raw_get(&app, "/health/live").await;
    assert_eq!(
        h(r.headers(), "strict-transport-security"),
        Some("max-age=31536000; includeSubDomains")
    );
}

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.http
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/me"))
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap()
}

async fn cross_origin_get(app: &TestApp, origin: &str) -> reqwest::Response {
    app.http
        .get(app.url("/health/live"))
        .header("origin", origin)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn cors_is_closed_unless_the_origin_is_listed() {
    let app = spawn_app().await;
    let r = preflight(&app, "https://app.example.cn").await;
    assert_eq!(h(r.headers(), "access-control-allow-origin"), None);
    let r = cross_origin_get(&app, "https://app.example.cn").await;
    // served (a non-browser client is not refused) but not readable by a foreign page
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(h(r.headers(), "access-control-allow-origin"), None);

    let app = spawn_app_with(&[(
        "SERVICELANE__SERVER__CORS_ALLOWED_ORIGINS",
        "https://app.example.cn,http://127.0.0.1:3000",
    )])
    .await;
    let r = preflight(&app, "https://app.example.cn").await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(
        h(r.headers(), "access-control-allow-origin"),
        Some("https://app.example.cn")
    );
    let methods = h(r.headers(), "access-control-allow-methods").unwrap_or_default();
    assert!(methods.contains("PUT"), "{methods}");
    // never with cookies: the app sends a bearer token
    assert_eq!(h(r.headers(), "access-control-allow-credentials"), None);
    let r = cross_origin_get(&app, "http://127.0.0.1:3000").await;
    assert_eq!(
        h(r.headers(), "access-control-allow-origin"),
        Some("http://127.0.0.1:3000")
    );
    let exposed = h(r.headers(), "access-control-expose-headers")
        .unwrap_or_default()
        .to_lowercase();
    assert!(exposed.contains("etag"), "{exposed}");
    // an origin not on the list stays closed
    let r = preflight(&app, "https://evil.example").await;
    assert_eq!(h(r.headers(), "access-control-allow-origin"), None);
    let r = cross_origin_get(&app, "https://evil.example").await;
    assert_eq!(h(r.headers(), "access-control-allow-origin"), None);
}

#[tokio::test]
async fn a_bad_cors_origin_stops_start_up_naming_the_key() {
    let err = servicelane::config::Settings::load_from(
        std::path::Path::new("config"),
        [
            ("SERVICELANE__PROFILE".to_string(), "test".to_string()),
            (
                "SERVICELANE__SERVER__CORS_ALLOWED_ORIGINS".to_string(),
                "https://app.example.cn/path".to_string(),
            ),
        ],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("SERVICELANE__SERVER__CORS_ALLOWED_ORIGINS"),
        "{err}"
    );
}

async fn page_from(app: &TestApp, forwarded_for: &str) -> reqwest::Response {
    app.http
        .get(app.url("/s/no-such-token"))
        .header("x-forwarded-for", forwarded_for)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn public_pages_are_rate_limited_per_client_address() {
    let app = spawn_app_with(&[
        ("SERVICELANE__SERVER__TRUSTED_PROXIES", "127.0.0.1/32"),
        ("SERVICELANE__LIMITS__PAGES__PER_MINUTE", "6"),
        ("SERVICELANE__LIMITS__PAGES__BURST", "2"),
    ])
    .await;
    for _ in 0..2 {
        let r = page_from(&app, "198.51.100.1").await;
        assert_ne!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    let r = page_from(&app, "198.51.100.1").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = h(r.headers(), "retry-after").unwrap().parse().unwrap();
    assert!((1..=10).contains(&retry), "{retry}");
    assert!(
        h(r.headers(), "content-type")
            .unwrap()
            .starts_with("application/problem+json")
    );
    // another client behind the same proxy has its own allowance
    let r = page_from(&app, "198.51.100.2").await;
    assert_ne!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // the API behind a login is not limited here
    for _ in 0..5 {
        let r = raw_get(&app, "/api/v1/customers").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn a_forged_forwarded_for_buys_no_new_allowance() {
    // no trusted proxy: the TCP peer is the client whatever the header says
    let app = spawn_app_with(&[
        ("SERVICELANE__LIMITS__CODES__PER_MINUTE", "6"),
        ("SERVICELANE__LIMITS__CODES__BURST", "3"),
    ])
    .await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        let r = app
            .http
            .post(app.url("/api/v1/auth/otp"))
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .json(&serde_json::json!({"dealer_code": "NONE", "phone": "13800000001"}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status());
    }
    assert!(
        statuses[..3]
            .iter()
            .all(|s| *s != StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert_eq!(statuses[3], StatusCode::TOO_MANY_REQUESTS);
    // the same endpoint spelt with an encoded letter is the same endpoint
    for path in ["/api/v1/auth/%6ftp", "/api/v1/auth/%6Ftp/verify"] {
        let r = app
            .http
            .post(app.url(path))
            .json(&serde_json::json!({"dealer_code": "NONE", "phone": "13800000001", "code": "123456"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{path}");
    }
}
