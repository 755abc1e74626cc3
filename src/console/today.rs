//! `/console/today`: the opening routine (营业准备) for the morning meeting
//! (晨会), on the meeting room's TV (large type from 1800 px wide) and on a
//! tablet: the same as `GET /api/v1/today`, with a tick form for each item
//! of the checklist still open, for those who may tick.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::session::{Staff, check_csrf};
use super::{Flash, locale, render, see_other};
use crate::api::extract::AccessPoint;
use crate::domain::customer::Locale;
use crate::domain::opening;
use crate::domain::privacy::AccessAction;
use crate::error::AppError;
use crate::services::privacy::Looker;
use crate::services::today::{self, AmountVsTarget, CountVsTarget, RatioVsTarget, Today};
use crate::state::AppState;

/// A share as people read it (`87.5%`), a dash for none.
fn percent(v: Option<Decimal>) -> String {
    v.map(|v| format!("{}%", (v * Decimal::ONE_HUNDRED).round_dp(1).normalize()))
        .unwrap_or_else(|| "—".into())
}

fn plain(v: Option<Decimal>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "—".into())
}

fn line(key: &str, value: String, target: String, met: Option<bool>) -> serde_json::Value {
    serde_json::json!({"key": key, "value": value, "target": target, "met": met})
}

fn amount(key: &str, f: &AmountVsTarget) -> serde_json::Value {
    line(key, f.value.to_string(), plain(f.target), f.met)
}

fn count(key: &str, f: &CountVsTarget) -> serde_json::Value {
    let target = f.target.map_or_else(|| "—".into(), |t| t.to_string());
    line(key, f.value.to_string(), target, f.met)
}

fn ratio(key: &str, f: &RatioVsTarget, shown: fn(Option<Decimal>) -> String) -> serde_json::Value {
    line(key, shown(f.value), shown(f.target), f.met)
}

/// The page's values: the answer of the API, with times as the dealer's
/// clock shows them and the words of the page's language.
fn context(t: &Today, lang: Locale, s: &Staff) -> serde_json::Value {
    let hm = |v: &chrono::DateTime<chrono::FixedOffset>| v.format("%H:%M").to_string();
    let bookings: Vec<serde_json::Value> = t
        .bookings
        .list
        .iter()
        .map(|b| {
            serde_json::json!({"at": hm(&b.slot_start), "customer": b.customer_name,
                "plate": b.plate, "advisor": b.advisor.as_ref().map(|a| &a.name),
                "state": b.state})
        })
        .collect();
    let promised: Vec<serde_json::Value> = t
        .promised_today
        .iter()
        .map(|p| {
            serde_json::json!({"number": p.number, "plate": p.plate, "state": p.state,
                "at": hm(&p.promised_at), "remaining_hours": p.remaining_hours.to_string(),
                "at_risk": p.at_risk})
        })
        .collect();
    let yesterday = t.yesterday.as_ref().map(|y| {
        serde_json::json!({"date": y.date.to_string(), "figures": [
            amount("revenue", &y.revenue),
            count("vehicles_in", &y.vehicles_in),
            count("vehicles_delivered", &y.vehicles_delivered),
            ratio("first_time_fix", &y.first_time_fix, percent),
            ratio("show_rate", &y.show_rate, percent),
            ratio("on_time_delivery", &y.on_time_delivery, percent),
            ratio("follow_up", &y.follow_up_within_3_days, percent),
            ratio("csi", &y.csi, plain),
        ]})
    });
    let overdue: Option<Vec<serde_json::Value>> = t.cases.overdue_cases.as_ref().map(|cs| {
        cs.iter()
            .map(|c| {
                serde_json::json!({"id": c.id, "customer": c.customer_name,
                    "category": c.category, "severity": c.severity, "state": c.state,
                    "due": c.due_at.format("%m-%d %H:%M").to_string()})
            })
            .collect()
    });
    let checklist: Vec<serde_json::Value> = t
        .checklist
        .iter()
        .map(|i| {
            serde_json::json!({"code": i.code,
                "label": if lang == Locale::En { &i.en } else { &i.zh_cn },
                "ticked": i.ticked, "by": i.ticked_by.as_ref().map(|b| &b.name),
                "at": i.ticked_at.as_ref().map(hm), "note": i.note})
        })
        .collect();
    let done = t.checklist.iter().filter(|i| i.ticked).count();
    // a network admin looking at another dealer reads it; writes stay theirs
    let own = s.viewing.as_ref().is_none_or(|d| d.id == s.actor.dealer_id);
    serde_json::json!({
        "date": t.date.to_string(),
        "now_local": t.as_of.format("%Y-%m-%d %H:%M").to_string(),
        "bookings": bookings,
        "bookings_total": t.bookings.total,
        "by_hour": t.bookings.by_hour.iter().map(|h| serde_json::json!({
            "label": format!("{:02}:00", h.hour), "count": h.count})).collect::<Vec<_>>(),
        "by_advisor": t.bookings.by_advisor.iter().map(|a| serde_json::json!({
            "name": a.advisor.as_ref().map(|x| &x.name), "count": a.count})).collect::<Vec<_>>(),
        "on_shift": t.staff.on_shift,
        "absent": t.staff.absent,
        "deputies": t.staff.deputies.iter().map(|d| serde_json::json!({
            "user": d.user.name, "deputy": d.deputy.name, "to": d.to.to_string()}))
            .collect::<Vec<_>>(),
        "comebacks": {
            "open": t.comebacks.open, "analysed": t.comebacks.analysed,
            "action_done": t.comebacks.action_done,
            "waiting": t.comebacks.waiting.as_ref().map(|w| w.iter().map(|c| serde_json::json!({
                "opened": c.opened_at.format("%m-%d %H:%M").to_string(), "state": c.state,
                "owner": c.action_owner.as_ref().map(|o| &o.name)})).collect::<Vec<_>>()),
        },
        "parts_missing": t.parts_missing,
        "shift_hours": t.staff.hours.to_string(),
        "promised": promised,
        "yesterday": yesterday,
        "open_cases": t.cases.open,
        "overdue_cases": t.cases.overdue,
        "overdue": overdue,
        "checklist": checklist,
        "checklist_done": done,
        "may_tick": own && opening::may_tick(&s.actor.roles),
        "may_untick": own && opening::may_untick(&s.actor.roles),
    })
}

/// The page, or the frame with the problem when it cannot be read.
async fn page(
    state: &AppState,
    req: &HttpRequest,
    s: &Staff,
    flash: Option<Flash>,
    status: StatusCode,
) -> HttpResponse {
    let (reader, _) = s.reader();
    match today::today(&state.db, &reader, state.clock.now()).await {
        Ok(t) => {
            Looker::of(state, &reader, AccessPoint::of(req).0)
                .saw_in(AccessAction::Search, &t)
                .await;
            render(
                state,
                req,
                s,
                "today",
                status,
                flash,
                context(&t, locale(req), s),
            )
        }
        Err(e) => {
            let status = actix_web::ResponseError::status_code(&e);
            render(
                state,
                req,
                s,
                "today",
                status,
                Some(Flash::error(&e)),
                serde_json::json!({"date": "", "now_local": "", "bookings": [], "bookings_total": 0,
                    "by_hour": [], "by_advisor": [], "on_shift": [], "absent": [], "deputies": [],
                    "comebacks": {"open": 0, "analysed": 0, "action_done": 0, "waiting": null},
                    "parts_missing": [],
                    "shift_hours": "0", "promised": [], "yesterday": null, "open_cases": 0,
                    "overdue_cases": 0, "overdue": null, "checklist": [], "checklist_done": 0,
                    "may_tick": false, "may_untick": false}),
            )
        }
    }
}

pub async fn show(state: web::Data<AppState>, req: HttpRequest, s: Staff) -> HttpResponse {
    page(&state, &req, &s, None, StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
pub struct TickForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub note: String,
}

/// Ticks an item (as `POST /api/v1/today/checklist/{code}`), then back to
/// the page.
pub async fn tick(
    state: web::Data<AppState>,
    req: HttpRequest,
    s: Staff,
    code: web::Path<String>,
    form: web::Form<TickForm>,
) -> HttpResponse {
    let f = form.into_inner();
    let done = async {
        check_csrf(&s, &f.csrf)?;
        let input = today::OpeningTick {
            note: Some(f.note.clone()).filter(|n| !n.trim().is_empty()),
        };
        today::tick(&state.db, &s.actor, &code, input, state.clock.now()).await
    }
    .await;
    after(&state, &req, &s, done.map(|_| ())).await
}

#[derive(Debug, Deserialize)]
pub struct UntickForm {
    #[serde(default)]
    pub csrf: String,
}

/// Takes a tick back (managers and the supervisor).
pub async fn untick(
    state: web::Data<AppState>,
    req: HttpRequest,
    s: Staff,
    code: web::Path<String>,
    form: web::Form<UntickForm>,
) -> HttpResponse {
    let done = async {
        check_csrf(&s, &form.csrf)?;
        today::untick(&state.db, &s.actor, &code, state.clock.now()).await
    }
    .await;
    after(&state, &req, &s, done.map(|_| ())).await
}

async fn after(
    state: &AppState,
    req: &HttpRequest,
    s: &Staff,
    done: Result<(), AppError>,
) -> HttpResponse {
    match done {
        Ok(()) => see_other("/console/today"),
        Err(e) => {
            let status = actix_web::ResponseError::status_code(&e);
            page(state, req, s, Some(Flash::error(&e)), status).await
        }
    }
}
