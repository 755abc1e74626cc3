//! `/console/comebacks`: the monthly comeback statistics (《返修车月统计表》)
//! for the quality meeting: the month beside the month before, by cause
//! (as a chart), technician, job and model, and the actions still open.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::session::Staff;
use super::{Flash, chart, locale, render};
use crate::services::comebacks::stats::{self, ComebackGroup, ComebackMonth};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct MonthQuery {
    pub month: Option<String>,
}

/// One breakdown's lines with the month before's figures beside them.
fn side_by_side(now: &[ComebackGroup], before: &[ComebackGroup]) -> Vec<serde_json::Value> {
    let prev = |key: &str| before.iter().find(|g| g.key == key);
    let mut out: Vec<serde_json::Value> = now
        .iter()
        .map(|g| serde_json::json!({"now": g, "before": prev(&g.key)}))
        .collect();
    out.extend(
        before
            .iter()
            .filter(|g| !now.iter().any(|n| n.key == g.key))
            .map(|g| serde_json::json!({"now": null, "before": g})),
    );
    out
}

fn breakdowns(m: &ComebackMonth, p: &ComebackMonth) -> serde_json::Value {
    serde_json::json!({
        "cause": side_by_side(&m.by_cause, &p.by_cause),
        "technician": side_by_side(&m.by_technician, &p.by_technician),
        "operation": side_by_side(&m.by_operation, &p.by_operation),
        "model": side_by_side(&m.by_model, &p.by_model),
    })
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    s: Staff,
    q: web::Query<MonthQuery>,
) -> HttpResponse {
    let lang = locale(&req);
    let words = super::texts::of(lang);
    let month = q
        .month
        .clone()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| {
            state
                .clock
                .now()
                .with_timezone(&s.tz)
                .format("%Y-%m")
                .to_string()
        });
    match stats::monthly(&state.db, &s.actor, &month, lang).await {
        Ok(st) => {
            let groups: Vec<(String, u64, u64)> =
                side_by_side(&st.month.by_cause, &st.previous.by_cause)
                    .iter()
                    .map(|l| {
                        let count = |g: &serde_json::Value| {
                            g["comebacks"].as_u64().unwrap_or(0)
                                + g["internal"].as_u64().unwrap_or(0)
                        };
                        let label = l["now"]["label"]
                            .as_str()
                            .or(l["before"]["label"].as_str())
                            .unwrap_or_default()
                            .to_string();
                        (label, count(&l["now"]), count(&l["before"]))
                    })
                    .collect();
            let svg = chart::bars(
                words["comeback_causes"],
                (words["this_month"], words["month_before"]),
                &groups,
            );
            render(
                &state,
                &req,
                &s,
                "comebacks",
                StatusCode::OK,
                None,
                serde_json::json!({
                    "month": st.month, "previous": st.previous, "chart": svg,
                    "lines": breakdowns(&st.month, &st.previous),
                    "open_actions": st.open_actions,
                    "csv": format!("/api/v1/comebacks/stats?month={}&format=csv&lang={}", st.month.month, lang.as_str()),
                }),
            )
        }
        Err(e) => {
            let status = actix_web::ResponseError::status_code(&e);
            render(
                &state,
                &req,
                &s,
                "comebacks",
                status,
                Some(Flash::error(&e)),
                serde_json::json!({"month": null, "lines": {}, "open_actions": []}),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::care::render::Templates;
    use crate::domain::customer::Locale;

    #[test]
    fn the_page_renders_a_month_and_a_page_without_one() {
        let t = Templates::new().unwrap();
        let words = crate::console::texts::of(Locale::ZhCn);
        let group = serde_json::json!({"key": "workmanship", "label": "维修工艺", "comebacks": 1,
                                       "internal": 0, "orders": null, "rate": null});
        let month = |m: &str| {
            serde_json::json!({"month": m, "orders_delivered": 4, "comebacks": 1,
            "internal": 1, "comeback_rate": "0.250", "first_time_fix": null, "redo_cost": "120.50"})
        };
        let ctx = serde_json::json!({"t": words, "lang": "zh-CN", "page": "comebacks", "csrf": "x",
            "user_id": "u", "user_name": "王", "dealer_name": "店", "flash": null, "kpis": true,
            "comebacks": true, "dealers": [], "viewing": null,
            "month": month("2027-03"), "previous": month("2027-02"),
            "lines": {"cause": [{"now": group, "before": null}, {"now": null, "before": group}],
                      "technician": [], "operation": [], "model": []},
            "open_actions": [], "chart": "<svg></svg>", "csv": "/x"});
        let page = t.page("console/comebacks.html", &ctx).unwrap();
        assert!(page.contains("维修工艺") && page.contains("120.50") && page.contains("<svg"));
        assert!(page.contains("data-section=\"model\""));
        let mut empty = ctx.clone();
        empty["month"] = serde_json::Value::Null;
        let page = t.page("console/comebacks.html", &empty).unwrap();
        assert!(!page.contains("data-section"));
    }
}
