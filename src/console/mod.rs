//! `/console/`: the staff console in the browser (issue 11), server-rendered
//! from `templates/web/console/` — no front-end build. The customer centre's
//! callback list and unhappy-customer table, the manager's board, and the
//! opening routine for the morning meeting.
//!
//! It is a second face of the same use cases: every page reads and writes
//! through `services::*` with the staff member's `Actor`, so the roles are
//! the API's. A session is a refresh token kept in an HttpOnly, Secure,
//! SameSite=Strict cookie (`session`); every form carries a CSRF token
//! derived from it. Not part of the OpenAPI document: it is HTML for people.

mod board;
mod callbacks;
mod cases;
pub mod chart;
mod comebacks;
mod parts;
mod scorecards;
pub mod session;
pub mod texts;
mod today;
mod tools;
mod warranty;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::customer::Locale;
use crate::error::AppError;
use crate::state::AppState;
use session::Staff;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/console")
            .route("", web::get().to(home))
            .route("/", web::get().to(home))
            .route("/login", web::get().to(session::login_page))
            .route("/login", web::post().to(session::login))
            .route("/logout", web::post().to(session::logout))
            .route("/dealer", web::post().to(session::pick_dealer))
            .route("/board", web::get().to(board::show))
            .route("/trends", web::get().to(board::trends))
            .route("/comebacks", web::get().to(comebacks::show))
            .route("/scorecards", web::get().to(scorecards::show))
            .route("/reports/daily", web::get().to(board::daily_report))
            .route("/callbacks", web::get().to(callbacks::list))
            .route("/callbacks/{id}", web::get().to(callbacks::show))
            .route("/callbacks/{id}/claim", web::post().to(callbacks::claim))
            .route(
                "/callbacks/{id}/outcome",
                web::post().to(callbacks::outcome),
            )
            .route("/cases", web::get().to(cases::list))
            .route("/cases", web::post().to(cases::open))
            .route("/cases/{id}", web::get().to(cases::show))
            .route("/cases/{id}/act", web::post().to(cases::act))
            .route("/tools", web::get().to(tools::show))
            .route("/parts", web::get().to(parts::show))
            .route("/warranty", web::get().to(warranty::show))
            .route("/today", web::get().to(today::show))
            .route("/today/checklist/{code}", web::post().to(today::tick))
            .route(
                "/today/checklist/{code}/untick",
                web::post().to(today::untick),
            ),
    );
}

async fn home() -> HttpResponse {
    see_other("/console/board")
}

/// A redirect after a form (303: the browser GETs the target).
pub fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

/// The page's language: `?lang=` (remembered in a cookie), the cookie, zh-CN.
pub fn locale(req: &HttpRequest) -> Locale {
    let from_query =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.get("lang").and_then(|l| Locale::parse(l)));
    from_query
        .or_else(|| session::cookie(req, session::LANG).and_then(|l| Locale::parse(&l)))
        .unwrap_or(Locale::ZhCn)
}

/// A message at the top of a page.
#[derive(Debug, Serialize)]
pub struct Flash {
    pub kind: &'static str,
    pub text: String,
}

impl Flash {
    pub fn error(e: &AppError) -> Self {
        let p = e.problem();
        let detail = if p.errors.is_empty() {
            p.detail
        } else {
            p.errors
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; ")
        };
        Flash {
            kind: "error",
            text: detail,
        }
    }
}

/// Renders `templates/web/console/<name>` with the frame's values (who is
/// logged in, the language, the words, the CSRF token) beside `ctx`.
pub fn render(
    state: &AppState,
    req: &HttpRequest,
    staff: &Staff,
    page: &str,
    status: StatusCode,
    flash: Option<Flash>,
    ctx: serde_json::Value,
) -> HttpResponse {
    let lang = locale(req);
    let mut all = serde_json::json!({
        "lang": lang.as_str(),
        "t": texts::of(lang),
        "page": page,
        "csrf": staff.csrf,
        "user_id": staff.actor.id.to_string(),
        "user_name": staff.display_name,
        "dealer_name": staff.dealer_name,
        "flash": flash,
        "kpis": crate::services::board::reads_kpis(&staff.actor),
        "comebacks": staff.actor.roles.iter().any(|r| crate::domain::comeback::READERS.contains(r)),
        "tools": staff.actor.roles.iter().any(|r| crate::domain::tools::READERS.contains(r)),
        "parts_desk": staff.actor.roles.iter().any(|r| crate::domain::parts::ANALYSTS.contains(r)),
        "warranty_desk": staff.actor.roles.iter().any(|r| crate::domain::warranty::READERS.contains(r)),
        "dealers": staff.dealers.iter()
            .map(|d| serde_json::json!({"code": d.code, "name": d.name}))
            .collect::<Vec<_>>(),
        "viewing": staff.viewing.as_ref().map_or_else(
            || staff.dealers.iter().find(|d| d.id == staff.actor.dealer_id).map(|d| d.code.clone()),
            |d| Some(d.code.clone())),
    });
    if let (Some(base), serde_json::Value::Object(more)) = (all.as_object_mut(), ctx) {
        base.extend(more);
    }
    html(state, req, &format!("console/{page}.html"), status, &all)
}

/// A page, with the headers every console page carries.
pub fn html(
    state: &AppState,
    req: &HttpRequest,
    name: &str,
    status: StatusCode,
    ctx: &serde_json::Value,
) -> HttpResponse {
    match state.templates.page(name, ctx) {
        Ok(body) => {
            let mut r = HttpResponse::build(status);
            r.content_type("text/html; charset=utf-8")
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .insert_header(("Referrer-Policy", "same-origin"))
                .insert_header(("X-Frame-Options", "DENY"))
                .insert_header((
                    "Content-Security-Policy",
                    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
                ));
            if let Some(l) = web::Query::<std::collections::HashMap<String, String>>::from_query(
                req.query_string(),
            )
            .ok()
            .and_then(|q| q.get("lang").and_then(|l| Locale::parse(l)))
            {
                r.insert_header((header::SET_COOKIE, session::lang_cookie(l)));
            }
            r.body(body)
        }
        Err(e) => actix_web::ResponseError::error_response(&AppError::Internal(e)),
    }
}

/// A time in the dealer's zone, as the pages show it.
pub fn local(t: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}
