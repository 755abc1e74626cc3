//! `/console/tools`: the tool keeper's page (工具室): the tools out on loan,
//! overdue first, and the equipment due for upkeep this week. Read-only:
//! lends and returns go through the API (`/api/v1/tools/{id}/lend|return`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::session::Staff;
use super::{Flash, local, render};
use crate::services::tools;
use crate::state::AppState;

pub async fn show(state: web::Data<AppState>, req: HttpRequest, s: Staff) -> HttpResponse {
    let now = state.clock.now();
    let read = async {
        let loans = tools::loans(&state.db, &s.actor, false, now).await?;
        let due = tools::upkeep_due(&state.db, &s.actor, None, now).await?;
        Ok::<_, crate::error::AppError>((loans, due))
    };
    match read.await {
        Ok((loans, due)) => {
            let loans: Vec<serde_json::Value> = loans
                .iter()
                .map(|l| {
                    serde_json::json!({
                        "code": l.tool_code, "name": l.tool_name, "borrower": l.to_user.name,
                        "lent_at": local(l.lent_at, s.tz), "due_at": local(l.due_at, s.tz),
                        "overdue": l.overdue,
                    })
                })
                .collect();
            render(
                &state,
                &req,
                &s,
                "tools",
                StatusCode::OK,
                None,
                serde_json::json!({"loans": loans, "due": due}),
            )
        }
        Err(e) => {
            let status = actix_web::ResponseError::status_code(&e);
            render(
                &state,
                &req,
                &s,
                "tools",
                status,
                Some(Flash::error(&e)),
                serde_json::json!({"loans": [], "due": null}),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::care::render::Templates;
    use crate::domain::customer::Locale;

    #[test]
    fn the_page_renders_loans_and_upkeep_in_both_languages() {
        let t = Templates::new().unwrap();
        for (lang, words, heading) in [
            (
                "zh-CN",
                crate::console::texts::of(Locale::ZhCn),
                "本周应保养设备",
            ),
            (
                "en",
                crate::console::texts::of(Locale::En),
                "Upkeep due this week",
            ),
        ] {
            let ctx = serde_json::json!({"t": words, "lang": lang, "page": "tools", "csrf": "x",
                "user_id": "u", "user_name": "王", "dealer_name": "店", "flash": null, "kpis": false,
                "comebacks": false, "dealers": [], "viewing": null,
                "loans": [{"code": "ST-1", "name": "正时工具", "borrower": "李师傅",
                           "lent_at": "2027-03-01 09:00", "due_at": "2027-03-02 00:00", "overdue": true}],
                "due": {"week": "2027-W09", "from": "2027-03-01", "to": "2027-03-07", "items": [
                    {"code": "EQ-BAL", "name": "平衡机", "location": null, "last_upkeep_on": null,
                     "next_due_on": null, "overdue": true, "upkeep_interval_days": 90}]}});
            let page = t.page("console/tools.html", &ctx).unwrap();
            assert!(page.contains(heading) && page.contains("ST-1") && page.contains("EQ-BAL"));
            assert!(page.contains("class=\"overdue\""));
            let mut empty = ctx.clone();
            empty["loans"] = serde_json::json!([]);
            empty["due"] = serde_json::Value::Null;
            assert!(t.page("console/tools.html", &empty).is_ok());
        }
    }
}
