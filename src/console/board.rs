//! `/console/board`: the 看板 for the manager's screen and the workshop TV
//! (large type from 1800 px wide), refreshing itself every minute.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::session::Staff;
use super::{Flash, local, render};
use crate::services::board;
use crate::state::AppState;

pub async fn show(state: web::Data<AppState>, req: HttpRequest, s: Staff) -> HttpResponse {
    let now_local = local(state.clock.now(), s.tz);
    match board::board(&state, &s.actor).await {
        Ok(b) => {
            let at_risk: Vec<serde_json::Value> = b
                .at_risk
                .iter()
                .map(|r| {
                    serde_json::json!({"order_number": r.order_number, "state": r.state,
                        "promised": r.promised_at.format("%Y-%m-%d %H:%M").to_string(),
                        "remaining_hours": r.remaining_hours.to_string()})
                })
                .collect();
            render(
                &state,
                &req,
                &s,
                "board",
                StatusCode::OK,
                None,
                serde_json::json!({
                    "date": b.date.to_string(), "now_local": now_local,
                    "figures": [], "states": b.states, "at_risk": at_risk,
                    "callbacks_due": b.callbacks_due, "open_cases": b.open_cases,
                    "overdue_cases": b.overdue_cases,
                }),
            )
        }
        Err(e) => {
            let status = actix_web::ResponseError::status_code(&e);
            render(
                &state,
                &req,
                &s,
                "board",
                status,
                Some(Flash::error(&e)),
                serde_json::json!({
                    "date": "", "now_local": now_local, "figures": [], "states": [], "at_risk": [],
                    "callbacks_due": 0, "open_cases": 0, "overdue_cases": 0,
                }),
            )
        }
    }
}
