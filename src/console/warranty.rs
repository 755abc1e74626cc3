//! `/console/warranty`: the warranty clerk's desk (索赔): the claims to
//! file (work done), to put right and file again (rejected), those with the
//! brand (submitted, resubmitted, approved), and the claimed parts kept,
//! those past their keep-until date first. Read-only: every step goes
//! through the API (`/api/v1/warranty-cases/{id}/{action}`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::session::Staff;
use super::{Flash, render};
use crate::domain::warranty::{WarrantyPartState, WarrantyState};
use crate::error::AppError;
use crate::services::warranty::cases::{self, WarrantyCase, WarrantyListQuery};
use crate::services::warranty::parts::{self, PartsQuery};
use crate::state::AppState;

/// The most of each list the page shows (the API pages through all).
const SHOWN: u64 = 50;

fn line(c: &WarrantyCase) -> serde_json::Value {
    serde_json::json!({
        "id": c.id, "claim_number": c.claim_number, "order_number": c.order_number,
        "vin": c.vin, "job": c.job_description, "state": c.state,
        "amount": c.claim_amount.to_string(),
    })
}

pub async fn show(state: web::Data<AppState>, req: HttpRequest, s: Staff) -> HttpResponse {
    let db = &state.db;
    let read = async {
        let mut groups = Vec::new();
        for (key, states) in [
            ("to_file", &[WarrantyState::WorkDone][..]),
            ("to_resubmit", &[WarrantyState::Rejected][..]),
            (
                "with_brand",
                &[
                    WarrantyState::Submitted,
                    WarrantyState::Resubmitted,
                    WarrantyState::Approved,
                ][..],
            ),
        ] {
            let mut lines = Vec::new();
            for st in states {
                let q = WarrantyListQuery {
                    cursor: None,
                    limit: Some(SHOWN),
                    state: Some(*st),
                };
                let page = cases::list(db, &state.settings.warranty, &s.actor, q).await?;
                lines.extend(page.items.iter().map(line));
            }
            groups.push(serde_json::json!({"key": key, "lines": lines}));
        }
        let kept = parts::list(
            db,
            &s.actor,
            PartsQuery {
                state: Some(WarrantyPartState::Kept),
                case_id: None,
                cursor: None,
                limit: Some(SHOWN),
            },
        )
        .await?;
        let today =
            crate::services::dealers::today(db, s.actor.dealer_id, state.clock.now()).await?;
        let mut kept: Vec<_> = kept.items;
        kept.sort_by_key(|p| p.keep_until);
        let kept: Vec<serde_json::Value> = kept
            .iter()
            .map(|p| {
                serde_json::json!({"tag": p.tag, "claim_number": p.claim_number,
                    "part": format!("{} {}", p.part_number, p.name), "location": p.location,
                    "keep_until": p.keep_until.to_string(), "past": p.keep_until < today})
            })
            .collect();
        Ok::<_, AppError>(serde_json::json!({"groups": groups, "kept": kept}))
    };
    match read.await {
        Ok(ctx) => render(&state, &req, &s, "warranty", StatusCode::OK, None, ctx),
        Err(e) => {
            let status = actix_web::ResponseError::status_code(&e);
            render(
                &state,
                &req,
                &s,
                "warranty",
                status,
                Some(Flash::error(&e)),
                serde_json::json!({"groups": [], "kept": []}),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::care::render::Templates;
    use crate::domain::customer::Locale;

    #[test]
    fn the_desk_renders_each_list_in_both_languages() {
        let t = Templates::new().unwrap();
        for (lang, words, heading) in [
            (
                "zh-CN",
                crate::console::texts::of(Locale::ZhCn),
                "待提交索赔",
            ),
            (
                "en",
                crate::console::texts::of(Locale::En),
                "Claims to file",
            ),
        ] {
            let claim = serde_json::json!({"id": "c", "claim_number": "WC000001",
                "order_number": "RO1", "vin": "LSV", "job": "节温器漏水", "state": "work_done",
                "amount": "536.00"});
            let ctx = serde_json::json!({"t": words, "lang": lang, "page": "warranty", "csrf": "x",
                "user_id": "u", "user_name": "王", "dealer_name": "店", "flash": null, "kpis": false,
                "comebacks": false, "dealers": [], "viewing": null,
                "groups": [{"key": "to_file", "lines": [claim]}, {"key": "to_resubmit", "lines": []}],
                "kept": [{"tag": "T-1", "claim_number": "WC000001", "part": "P-1 节温器",
                          "location": "B-2", "keep_until": "2027-06-01", "past": true}]});
            let page = t.page("console/warranty.html", &ctx).unwrap();
            assert!(page.contains(heading) && page.contains("WC000001") && page.contains("536.00"));
            assert!(page.contains("class=\"overdue\""));
        }
    }
}
