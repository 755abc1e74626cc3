//! `/console/cases`: the unhappy-customer table (《不满意客户处理跟踪表》):
//! filter, open a case, log a contact, move its state; overdue ones first.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use uuid::Uuid;

use super::session::{Staff, check_csrf};
use super::{Flash, local, render, see_other};
use crate::api::extract::AccessPoint;
use crate::domain::case::{CaseAction, CaseCategory, CaseState, Severity, next};
use crate::domain::privacy::AccessAction;
use crate::error::AppError;
use crate::services::cases::{self, CaseStep, CaseView, Filter, NewCase};
use crate::services::customers;
use crate::services::privacy::Looker;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct CaseQuery {
    pub state: Option<String>,
    pub overdue: Option<bool>,
}

fn row(
    c: &CaseView,
    names: &std::collections::HashMap<Uuid, String>,
    s: &Staff,
) -> serde_json::Value {
    let due = if c.state == CaseState::Open {
        c.contact_due_at
    } else {
        c.resolve_due_at
    };
    let mut v = serde_json::to_value(c).unwrap_or_default();
    v["customer_name"] = names
        .get(&c.customer_id)
        .cloned()
        .unwrap_or_default()
        .into();
    v["opened_local"] = local(c.created_at, s.tz).into();
    v["due_local"] = local(due, s.tz).into();
    v["escalated"] = c.escalated_at.is_some().into();
    v
}

async fn table(
    state: &AppState,
    req: &HttpRequest,
    s: &Staff,
    q: &CaseQuery,
    flash: Option<Flash>,
    status: StatusCode,
) -> HttpResponse {
    let st = q
        .state
        .as_deref()
        .filter(|v| !v.is_empty())
        .and_then(CaseState::parse);
    let f = Filter {
        state: st,
        owner_id: None,
        mine: None,
        overdue: q.overdue.filter(|o| *o),
    };
    let found = async {
        let list = cases::list(&state.db, &s.actor, f, state.clock.now()).await?;
        Looker::of(state, &s.actor, AccessPoint::of(req).0)
            .saw_in(AccessAction::Search, &list)
            .await;
        let names = cases::customer_names(&state.db, &s.actor, &list).await?;
        Ok::<_, AppError>(list.iter().map(|c| row(c, &names, s)).collect::<Vec<_>>())
    }
    .await;
    let (rows, flash, status) = match found {
        Ok(r) => (r, flash, status),
        Err(e) => (
            vec![],
            Some(Flash::error(&e)),
            actix_web::ResponseError::status_code(&e),
        ),
    };
    render(
        state,
        req,
        s,
        "cases",
        status,
        flash,
        serde_json::json!({
            "cases": rows,
            "state": st.map(|x| x.as_str()),
            "overdue": q.overdue.unwrap_or(false),
            "states": CaseState::ALL.iter().map(|x| x.as_str()).collect::<Vec<_>>(),
            "categories": CaseCategory::ALL.iter().map(|x| x.as_str()).collect::<Vec<_>>(),
            "severities": Severity::ALL.iter().map(|x| x.as_str()).collect::<Vec<_>>(),
        }),
    )
}

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    s: Staff,
    q: web::Query<CaseQuery>,
) -> HttpResponse {
    table(&state, &req, &s, &q, None, StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
pub struct OpenForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub phone: String,
    pub category: CaseCategory,
    pub severity: Severity,
    #[serde(default)]
    pub summary: String,
}

/// Opens a case by hand for the customer with the phone given.
pub async fn open(
    state: web::Data<AppState>,
    req: HttpRequest,
    s: Staff,
    form: web::Form<OpenForm>,
) -> HttpResponse {
    let f = form.into_inner();
    let done = async {
        check_csrf(&s, &f.csrf)?;
        let found =
            customers::list(&state.db, &s.actor, Some(f.phone.trim()), None, Some(2)).await?;
        let c = found
            .items
            .first()
            .filter(|_| crate::domain::Phone::parse(f.phone.trim()).is_ok())
            .ok_or_else(|| AppError::field("phone", "no customer with this phone"))?;
        let n = NewCase {
            customer_id: c.id,
            vehicle_id: None,
            repair_order_id: None,
            category: f.category,
            severity: f.severity,
            summary: f.summary.clone(),
        };
        cases::create(&state.db, &s.actor, n, state.clock.now()).await
    }
    .await;
    match done {
        Ok(c) => see_other(&format!("/console/cases/{}", c.id)),
        Err(e) => {
            let status = actix_web::ResponseError::status_code(&e);
            let q = CaseQuery {
                state: None,
                overdue: None,
            };
            table(&state, &req, &s, &q, Some(Flash::error(&e)), status).await
        }
    }
}

async fn case_page(
    state: &AppState,
    req: &HttpRequest,
    s: &Staff,
    id: Uuid,
    flash: Option<Flash>,
    status: StatusCode,
) -> HttpResponse {
    let found = async {
        let c = cases::get(&state.db, &s.actor, id, state.clock.now()).await?;
        Looker::of(state, &s.actor, AccessPoint::of(req).0)
            .saw_in(AccessAction::Read, &c)
            .await;
        let names = cases::customer_names(&state.db, &s.actor, std::slice::from_ref(&c)).await?;
        Ok::<_, AppError>((row(&c, &names, s), c))
    }
    .await;
    match found {
        Ok((v, c)) => {
            let actions: Vec<&str> = CaseAction::ALL
                .iter()
                .filter(|a| next(c.state, **a).is_some())
                .map(|a| a.as_str())
                .collect();
            let events: Vec<serde_json::Value> = c
                .events
                .iter()
                .map(|e| {
                    serde_json::json!({"at": local(e.at, s.tz), "action": e.action,
                                            "to_state": e.to_state, "note": e.note})
                })
                .collect();
            render(
                state,
                req,
                s,
                "case",
                status,
                flash,
                serde_json::json!({"c": v, "actions": actions, "events": events}),
            )
        }
        Err(e) => {
            let q = CaseQuery {
                state: None,
                overdue: None,
            };
            table(
                state,
                req,
                s,
                &q,
                Some(Flash::error(&e)),
                actix_web::ResponseError::status_code(&e),
            )
            .await
        }
    }
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    s: Staff,
    id: web::Path<Uuid>,
) -> HttpResponse {
    case_page(&state, &req, &s, *id, None, StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
pub struct StepForm {
    #[serde(default)]
    pub csrf: String,
    pub action: CaseAction,
    #[serde(default)]
    pub note: String,
}

pub async fn act(
    state: web::Data<AppState>,
    req: HttpRequest,
    s: Staff,
    id: web::Path<Uuid>,
    form: web::Form<StepForm>,
) -> HttpResponse {
    let f = form.into_inner();
    let done = async {
        check_csrf(&s, &f.csrf)?;
        cases::act(
            &state.db,
            &s.actor,
            *id,
            f.action,
            CaseStep {
                note: f.note.clone(),
            },
            state.clock.now(),
        )
        .await
    }
    .await;
    match done {
        Ok(_) => see_other(&format!("/console/cases/{id}")),
        Err(e) => {
            let status = actix_web::ResponseError::status_code(&e);
            case_page(&state, &req, &s, *id, Some(Flash::error(&e)), status).await
        }
    }
}
