//! `/console/callbacks`: the customer centre's queue (回访名单): the day's
//! calls, claimed, the script read out, the outcome recorded.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;
use uuid::Uuid;

use super::session::{self, Staff, check_csrf};
use super::{Flash, local, render, see_other};
use crate::api::extract::AccessPoint;
use crate::domain::callback::CallResult;
use crate::domain::privacy::AccessAction;
use crate::error::AppError;
use crate::services::callbacks::{self, CallbackView, Outcome};
use crate::services::privacy::Looker;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct DayQuery {
    pub date: Option<NaiveDate>,
}

fn entry_json(e: &CallbackView, s: &Staff) -> serde_json::Value {
    let mut v = serde_json::to_value(e).unwrap_or_default();
    v["due_local"] = local(e.due_at, s.tz).into();
    v
}

async fn queue(
    state: &AppState,
    req: &HttpRequest,
    s: &Staff,
    date: Option<NaiveDate>,
    flash: Option<Flash>,
    status: StatusCode,
) -> HttpResponse {
    let day = date.unwrap_or_else(|| state.clock.now().with_timezone(&s.tz).date_naive());
    let found = callbacks::list(state, &s.actor, Some(day), false).await;
    if let Ok(entries) = &found {
        Looker::of(state, &s.actor, AccessPoint::of(req).0)
            .saw_in(AccessAction::Search, entries)
            .await;
    }
    match found {
        Ok(entries) => render(
            state,
            req,
            s,
            "callbacks",
            status,
            flash,
            serde_json::json!({
                "date": day.to_string(),
                "entries": entries.iter().map(|e| entry_json(e, s)).collect::<Vec<_>>(),
            }),
        ),
        Err(e) => failed(state, req, s, &e),
    }
}

/// An error on a page of its own (403, 404…), in the console's frame.
fn failed(state: &AppState, req: &HttpRequest, s: &Staff, e: &AppError) -> HttpResponse {
    let status = actix_web::ResponseError::status_code(e);
    render(
        state,
        req,
        s,
        "callbacks",
        status,
        Some(Flash::error(e)),
        serde_json::json!({
            "date": "", "entries": [],
        }),
    )
}

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    s: Staff,
    q: web::Query<DayQuery>,
) -> HttpResponse {
    queue(&state, &req, &s, q.date, None, StatusCode::OK).await
}

async fn entry_page(
    state: &AppState,
    req: &HttpRequest,
    s: &Staff,
    id: Uuid,
    flash: Option<Flash>,
    status: StatusCode,
) -> HttpResponse {
    let found = callbacks::get(state, &s.actor, id).await;
    if let Ok(e) = &found {
        Looker::of(state, &s.actor, AccessPoint::of(req).0)
            .saw_in(AccessAction::Read, e)
            .await;
    }
    match found {
        Ok(e) => {
            let calls: Vec<serde_json::Value> = e
                .calls
                .iter()
                .map(|c| {
                    serde_json::json!({"at": local(c.called_at, s.tz), "result": c.result, "note": c.note})
                })
                .collect();
            render(
                state,
                req,
                s,
                "callback",
                status,
                flash,
                serde_json::json!({
                    "e": entry_json(&e, s),
                    "claimed_until_local": e.claimed_until.map(|t| local(t, s.tz)),
                    "calls": calls,
                    "results": CallResult::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                }),
            )
        }
        Err(e) => failed(state, req, s, &e),
    }
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    s: Staff,
    id: web::Path<Uuid>,
) -> HttpResponse {
    entry_page(&state, &req, &s, *id, None, StatusCode::OK).await
}

pub async fn claim(
    state: web::Data<AppState>,
    req: HttpRequest,
    s: Staff,
    id: web::Path<Uuid>,
    form: web::Form<session::CsrfForm>,
) -> HttpResponse {
    let done = match check_csrf(&s, &form.csrf) {
        Ok(()) => callbacks::claim(&state, &s.actor, *id).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match done {
        Ok(()) => see_other(&format!("/console/callbacks/{id}")),
        Err(e) => {
            let status = actix_web::ResponseError::status_code(&e);
            queue(&state, &req, &s, None, Some(Flash::error(&e)), status).await
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct OutcomeForm {
    #[serde(default)]
    pub csrf: String,
    pub result: CallResult,
    /// `datetime-local`: the dealer's local time.
    #[serde(default)]
    pub at: String,
    #[serde(default)]
    pub note: String,
}

pub async fn outcome(
    state: web::Data<AppState>,
    req: HttpRequest,
    s: Staff,
    id: web::Path<Uuid>,
    form: web::Form<OutcomeForm>,
) -> HttpResponse {
    let f = form.into_inner();
    let done = async {
        check_csrf(&s, &f.csrf)?;
        let at = match f.at.trim() {
            "" => None,
            t => Some(
                NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M")
                    .map(|l| crate::domain::care_plan::local_instant(l, s.tz))
                    .map_err(|_| AppError::field("at", "a date and time"))?,
            ),
        };
        let o = Outcome {
            result: f.result,
            answers: None,
            at,
            note: Some(f.note.clone()).filter(|n| !n.trim().is_empty()),
        };
        callbacks::outcome(&state, &s.actor, *id, o).await
    }
    .await;
    match done {
        Ok(_) => see_other("/console/callbacks"),
        Err(e) => {
            let status = actix_web::ResponseError::status_code(&e);
            entry_page(&state, &req, &s, *id, Some(Flash::error(&e)), status).await
        }
    }
}
