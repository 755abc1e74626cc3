//! `/console/parts`: the parts desk (配件): what to order now (the reorder
//! proposal: monthly demand by season, lead time, safety stock, less what
//! is available and on order, in whole packs) and what today's bookings
//! are short of. Read-only: receipts and issues go through the API.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::session::Staff;
use super::{Flash, render};
use crate::error::AppError;
use crate::services::parts::{self, ReorderQuery};
use crate::state::AppState;

pub async fn show(state: web::Data<AppState>, req: HttpRequest, s: Staff) -> HttpResponse {
    let now = state.clock.now();
    let read = async {
        let order =
            parts::reorder_proposal(&state.db, &s.actor, ReorderQuery::default(), now).await?;
        let today =
            crate::services::today::parts_missing_now(&state.db, s.actor.dealer_id, now).await?;
        Ok::<_, AppError>((order, today))
    };
    match read.await {
        Ok((order, short)) => render(
            &state,
            &req,
            &s,
            "parts",
            StatusCode::OK,
            None,
            serde_json::json!({"order": order, "short": short}),
        ),
        Err(e) => {
            let status = actix_web::ResponseError::status_code(&e);
            render(
                &state,
                &req,
                &s,
                "parts",
                status,
                Some(Flash::error(&e)),
                serde_json::json!({"order": [], "short": []}),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::care::render::Templates;
    use crate::domain::customer::Locale;

    #[test]
    fn the_desk_renders_the_proposal_and_the_shortfalls() {
        let t = Templates::new().unwrap();
        for (lang, words, heading) in [
            ("zh-CN", crate::console::texts::of(Locale::ZhCn), "建议订货"),
            ("en", crate::console::texts::of(Locale::En), "To order now"),
        ] {
            let ctx = serde_json::json!({"t": words, "lang": lang, "page": "parts", "csrf": "x",
                "user_id": "u", "user_name": "王", "dealer_name": "店", "flash": null, "kpis": false,
                "comebacks": false, "dealers": [], "viewing": null,
                "order": [{"number": "OF-1", "name": "机油滤清器", "average_monthly_demand": "12",
                    "lead_time_demand": "6", "safety_stock": "3", "available": "2", "on_order": "0",
                    "lead_time_days": 14, "order_quantity": "10"}],
                "short": [{"part_number": "OIL-5W30", "name": "机油", "needed": "9", "available": "8"}]});
            let page = t.page("console/parts.html", &ctx).unwrap();
            assert!(page.contains(heading) && page.contains("OF-1") && page.contains("OIL-5W30"));
        }
    }
}
