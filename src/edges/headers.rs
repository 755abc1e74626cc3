//! The security headers every answer carries. A page that needs a looser or
//! stricter rule sets its own header (the console, the survey and
//! unsubscribe pages do); this layer only fills in what an answer left out.

use actix_web::{
    Error,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{self, HeaderMap, HeaderName, HeaderValue},
    middleware::Next,
    web,
};

use crate::state::AppState;

/// An API answer is data, never a document: nothing in it may load or run,
/// and no page may frame it.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Adds the headers an answer lacks: `X-Content-Type-Options: nosniff`,
/// `Referrer-Policy: no-referrer`, `X-Frame-Options: DENY`, a
/// `Content-Security-Policy` that allows nothing (not on the interactive
/// documentation under `/docs`, whose page runs its own scripts), and
/// `Strict-Transport-Security` when `server.hsts_max_age_secs` is set (in
/// production: the server is only ever reached over HTTPS there).
pub async fn secure(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let hsts = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.settings.server.hsts_max_age_secs)
        .unwrap_or(0);
    let docs = req.path() == "/docs" || req.path().starts_with("/docs/");
    let mut res = next.call(req).await?;
    let h = res.headers_mut();
    fill(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    fill(h, header::REFERRER_POLICY, "no-referrer");
    if !docs {
        fill(h, header::X_FRAME_OPTIONS, "DENY");
        fill(h, header::CONTENT_SECURITY_POLICY, API_CSP);
    }
    if hsts > 0
        && let Ok(v) = HeaderValue::from_str(&format!("max-age={hsts}; includeSubDomains"))
    {
        h.insert(header::STRICT_TRANSPORT_SECURITY, v);
    }
    Ok(res)
}

fn fill(h: &mut HeaderMap, name: HeaderName, value: &'static str) {
    if !h.contains_key(&name) {
        h.insert(name, HeaderValue::from_static(value));
    }
}
