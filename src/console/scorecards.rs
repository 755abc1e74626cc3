//! `/console/scorecards`: the month's scorecards (绩效), each target
//! against the figure and the month before, and the bonus line by line in
//! the reader's language. Managers and the supervisor see everyone's; the
//! others their own.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::comebacks::MonthQuery;
use super::session::Staff;
use super::{Flash, locale, render};
use crate::domain::customer::Locale;
use crate::services::performance::{self, Scorecard};
use crate::state::AppState;

fn shown(d: Option<rust_decimal::Decimal>) -> String {
    d.map_or_else(|| "—".to_string(), |v| v.to_string())
}

fn card(c: &Scorecard, lang: Locale) -> serde_json::Value {
    let bonus = c.bonus.as_ref().map(|b| {
        serde_json::json!({
            "total": b.total.to_string(), "subtotal": b.subtotal.to_string(),
            "max": b.max_bonus.to_string(), "base": b.base_bonus.to_string(),
            "lines": b.lines.iter().map(|l| serde_json::json!({
                "metric": l.metric, "amount": l.amount.to_string(),
                "why": if lang == Locale::En { &l.why_en } else { &l.why_zh_cn },
            })).collect::<Vec<_>>(),
        })
    });
    serde_json::json!({
        "user_id": c.user.id, "name": c.user.name,
        "counted": c.counted_from.zip(c.counted_to).map(|(f, t)| format!("{f} – {t}")),
        "lines": c.lines.iter().map(|l| serde_json::json!({
            "metric": l.metric, "scope": l.scope, "target": shown(l.target),
            "actual": shown(l.actual), "last_month": shown(l.last_month), "met": l.met,
        })).collect::<Vec<_>>(),
        "bonus": bonus,
    })
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    s: Staff,
    q: web::Query<MonthQuery>,
) -> HttpResponse {
    let lang = locale(&req);
    let now = state.clock.now();
    let month = q
        .month
        .clone()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| now.with_timezone(&s.tz).format("%Y-%m").to_string());
    let (status, flash, cards) =
        match performance::scorecards(&state.db, &s.actor, &month, None, now).await {
            Ok(cards) => (
                StatusCode::OK,
                None,
                cards.iter().map(|c| card(c, lang)).collect(),
            ),
            Err(e) => (
                actix_web::ResponseError::status_code(&e),
                Some(Flash::error(&e)),
                Vec::new(),
            ),
        };
    render(
        &state,
        &req,
        &s,
        "scorecards",
        status,
        flash,
        serde_json::json!({"month": month, "cards": cards}),
    )
}

#[cfg(test)]
mod tests {
    use crate::care::render::Templates;
    use crate::domain::customer::Locale;

    #[test]
    fn the_page_renders_a_card_with_its_bonus_and_one_without() {
        let t = Templates::new().unwrap();
        let words = crate::console::texts::of(Locale::ZhCn);
        let line = serde_json::json!({"metric": "revenue", "scope": "advisor", "target": "800",
            "actual": "587.00", "last_month": "—", "met": false});
        let ctx = serde_json::json!({"t": words, "lang": "zh-CN", "page": "scorecards", "csrf": "x",
            "user_id": "u", "user_name": "王", "dealer_name": "店", "flash": null, "kpis": true,
            "comebacks": true, "dealers": [], "viewing": null, "month": "2027-03",
            "cards": [
                {"user_id": "a", "name": "王顾问", "counted": "2027-03-01 – 2027-03-02",
                 "lines": [line], "bonus": {"total": "733.80", "subtotal": "733.80", "max": "2500.00",
                 "base": "2000.00", "lines": [{"metric": "revenue", "amount": "733.80",
                 "why": "达成率 73.4%：2000.00 × 50.0% × 73.4% = 733.80"}]}},
                {"user_id": "b", "name": "李技师", "counted": null, "lines": [], "bonus": null}]});
        let page = t.page("console/scorecards.html", &ctx).unwrap();
        assert!(page.contains("王顾问") && page.contains("733.80") && page.contains("营业额"));
        assert!(page.contains("李技师"));
    }
}
