//! `/console/board`: the 看板 for the manager's screen and the workshop TV
//! (large type from 1800 px wide), refreshing itself every minute; and
//! `/console/trends`: twelve weeks drawn as SVG on the server.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use rust_decimal::Decimal;

use super::session::Staff;
use super::{Flash, chart, local, render};
use crate::error::AppError;
use crate::services::board::{self, Figures};
use crate::services::kpi::KpiPeriod;
use crate::state::AppState;

/// How a figure of a period is printed.
type Show = fn(&KpiPeriod) -> String;

/// Which figure of a week a chart draws.
type Pick = fn(&KpiPeriod) -> Option<Decimal>;

/// The board's figures: each a key of the texts and how to print it.
const FIGURES: &[(&str, Show)] = &[
    ("revenue", |p| p.revenue.total.round_dp(2).to_string()),
    ("vehicles_in", |p| p.vehicles_in.to_string()),
    ("vehicles_delivered", |p| p.vehicles_delivered.to_string()),
    ("in_work_at_close", |p| p.in_work_at_close.to_string()),
    ("productivity", |p| p.hours.productivity.percent()),
    ("efficiency", |p| p.hours.efficiency.percent()),
    ("first_time_fix", |p| p.first_time_fix.percent()),
    ("show_rate", |p| p.appointments.show_rate.percent()),
    ("on_time_delivery", |p| p.on_time_delivery.percent()),
    ("follow_up", |p| p.follow_up_within_3_days.percent()),
    ("csi", |p| p.csi.plain()),
];

fn figures_json(f: &Figures) -> Vec<serde_json::Value> {
    FIGURES
        .iter()
        .map(|(key, show)| {
            serde_json::json!({"key": key, "today": show(&f.today),
                               "yesterday": show(&f.yesterday), "month": show(&f.month)})
        })
        .collect()
}

/// The board's frame without figures, for a page that carries an error.
fn empty_board(now_local: &str) -> serde_json::Value {
    serde_json::json!({
        "date": "", "now_local": now_local, "figures": [], "states": [], "at_risk": [],
        "callbacks_due": 0, "open_cases": 0, "overdue_cases": 0,
    })
}

pub async fn show(state: web::Data<AppState>, req: HttpRequest, s: Staff) -> HttpResponse {
    let (reader, tz) = s.reader();
    let now_local = local(state.clock.now(), tz);
    let found = async {
        let b = board::board(&state, &reader).await?;
        let f = board::figures(&state, &reader, b.date).await?;
        Ok::<_, AppError>((b, f))
    }
    .await;
    match found {
        Ok((b, f)) => {
            let at_risk: Vec<serde_json::Value> = b
                .at_risk
                .iter()
                .map(|r| {
                    serde_json::json!({"order_number": r.order_number, "state": r.state,
                        "promised": r.promised_at.format("%Y-%m-%d %H:%M").to_string(),
                        "remaining_hours": r.remaining_hours.to_string()})
                })
                .collect();
            let figures = f.as_ref().map(figures_json).unwrap_or_default();
            render(
                &state,
                &req,
                &s,
                "board",
                StatusCode::OK,
                None,
                serde_json::json!({
                    "date": b.date.to_string(), "now_local": now_local,
                    "figures": figures, "states": b.states, "at_risk": at_risk,
                    "callbacks_due": b.callbacks_due, "open_cases": b.open_cases,
                    "overdue_cases": b.overdue_cases, "kpis": board::reads_kpis(&s.actor),
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
                empty_board(&now_local),
            )
        }
    }
}

/// The series the trends page draws: a text key and the figure of a week.
const SERIES: &[(&str, Pick)] = &[
    ("revenue", |p| Some(p.revenue.total)),
    ("csi", |p| p.csi.value),
    ("comeback_rate", |p| {
        p.comeback_rate.value.map(|v| v * Decimal::ONE_HUNDRED)
    }),
    ("show_rate", |p| {
        p.appointments
            .show_rate
            .value
            .map(|v| v * Decimal::ONE_HUNDRED)
    }),
];

pub async fn trends(state: web::Data<AppState>, req: HttpRequest, s: Staff) -> HttpResponse {
    let (reader, tz) = s.reader();
    let date = state.clock.now().with_timezone(&tz).date_naive();
    let words = super::texts::of(super::locale(&req));
    match board::weeks(&state, &reader, date).await {
        Ok(weeks) => {
            let charts: Vec<serde_json::Value> = SERIES
                .iter()
                .map(|(key, of)| {
                    let points: Vec<(String, Option<Decimal>)> = weeks
                        .iter()
                        .map(|w| (w.from.format("%m-%d").to_string(), of(w)))
                        .collect();
                    let title = words.get(&format!("kpi_{key}")).copied().unwrap_or(key);
                    serde_json::json!({"key": key, "svg": chart::line(title, &points)})
                })
                .collect();
            render(
                &state,
                &req,
                &s,
                "trends",
                StatusCode::OK,
                None,
                serde_json::json!({"charts": charts, "date": date.to_string()}),
            )
        }
        Err(e) => {
            let status = actix_web::ResponseError::status_code(&e);
            render(
                &state,
                &req,
                &s,
                "trends",
                status,
                Some(Flash::error(&e)),
                serde_json::json!({"charts": [], "date": date.to_string()}),
            )
        }
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct ReportQuery {
    pub date: Option<chrono::NaiveDate>,
}

/// The daily report (维修日报表) as the email's link opens it, in the
/// console's session (the API's twin is `GET /api/v1/reports/daily`).
pub async fn daily_report(
    state: web::Data<AppState>,
    req: HttpRequest,
    s: Staff,
    q: web::Query<ReportQuery>,
) -> HttpResponse {
    let (reader, tz) = s.reader();
    let date = q
        .date
        .unwrap_or_else(|| state.clock.now().with_timezone(&tz).date_naive());
    let page = async {
        let (name, r) = crate::services::reports::daily(&state, &reader, date).await?;
        crate::services::reports::html(&state, &name, &r, super::locale(&req))
    }
    .await;
    match page {
        Ok(body) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
            .body(body),
        Err(e) => {
            let status = actix_web::ResponseError::status_code(&e);
            render(
                &state,
                &req,
                &s,
                "board",
                status,
                Some(Flash::error(&e)),
                empty_board(""),
            )
        }
    }
}
