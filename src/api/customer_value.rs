//! /api/v1/customer-value: customer value (客户价值分析): RFM, tiers,
//! discounts and the target lists, as JSON pages or a CSV for Excel; and
//! the dealer's settings.

use actix_web::http::header;
use actix_web::{HttpResponse, get, put, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::{AccessPoint, Json, Query};
use crate::auth::Actor;
use crate::domain::customer_value::{TargetList, ValueFormat, ValueSettings, ValueTier};
use crate::domain::privacy::AccessAction;
use crate::error::{AppError, AppResult};
use crate::services::customer_value::{self as value, Context, Filter, MAX_PAGE, ValuePage};
use crate::services::privacy::Looker;
use crate::state::AppState;

/// The dealer's customer-value settings: the window, the score cut-offs,
/// where the tiers begin and the discount bands (the defaults until a
/// manager saves some). Managers, the customer centre and the dealer's admin.
#[utoipa::path(operation_id = "getCustomerValueSettings", tag = "customer-value", security(("bearer" = [])),
    responses((status = 200, body = ValueSettings)))]
#[get("/customer-value/settings")]
pub async fn get_settings(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(value::get_settings(&state.db, &actor).await?))
}

/// Replaces the dealer's customer-value settings (managers); each bad field
/// is named in the 422 (`cut_offs.monetary[2]`, `discounts[1].discount_percent`).
#[utoipa::path(operation_id = "putCustomerValueSettings", tag = "customer-value", request_body = ValueSettings, security(("bearer" = [])),
    responses((status = 200, body = ValueSettings)))]
#[put("/customer-value/settings")]
pub async fn put_settings(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<ValueSettings>,
) -> AppResult<HttpResponse> {
    let saved = value::put_settings(&state.db, &actor, body.0, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(saved))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ValueParams {
    /// Only the customers of this tier.
    pub tier: Option<ValueTier>,
    /// Only the customers of this target list.
    pub list: Option<TargetList>,
    /// `json` (default) or `csv` (UTF-8 with a BOM, every customer that passes).
    pub format: Option<ValueFormat>,
    /// JSON only: from `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// JSON only: 1 to 500, default 500.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
}

/// Customer value (客户价值分析): each customer of the dealer with recency,
/// frequency and monetary value over the window, scores, tier (golden
/// 黄金客户, regular, at risk, lost; null before a first visit) and the
/// discount their contribution earns; `tier=` and `list=` narrow it
/// (`golden_maintenance_due`, `lapsing`, `csi_survey`). JSON pages of up to
/// 500 in customer order with a cursor; `format=csv` streams them all as a
/// file for Excel. The rules are in the README. Managers, the customer
/// centre and the dealer's admin.
#[utoipa::path(operation_id = "getCustomerValue", tag = "customer-value", params(ValueParams), security(("bearer" = [])),
    responses((status = 200, description = "a page, or the CSV file", content(
            (ValuePage = "application/json"),
            ("text/csv")))))]
#[get("/customer-value")]
pub async fn analysis(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
    q: Query<ValueParams>,
) -> AppResult<HttpResponse> {
    let q = q.0;
    let filter = Filter {
        tier: q.tier,
        list: q.list,
    };
    let format = q.format.unwrap_or(ValueFormat::Json);
    if format == ValueFormat::Csv {
        for (field, given) in [("cursor", q.cursor.is_some()), ("limit", q.limit.is_some())] {
            if given {
                return Err(AppError::field(field, "applies to JSON pages only"));
            }
        }
    }
    let limit = match q.limit {
        None => MAX_PAGE,
        Some(n) if (1..=MAX_PAGE).contains(&n) => n,
        Some(_) => return Err(AppError::field("limit", "must be 1 to 500")),
    };
    let after = q
        .cursor
        .as_deref()
        .map(crate::services::decode_cursor)
        .transpose()?;
    let now = state.clock.now();
    let ctx = Context::of(&state.db, &actor, filter, now).await?;
    let looker = Looker::of(&state, &actor, point.0);
    match format {
        ValueFormat::Json => {
            let page = value::page(&state.db, &ctx, after, limit).await?;
            looker.saw_in(AccessAction::Search, &page).await;
            Ok(HttpResponse::Ok().json(page))
        }
        ValueFormat::Csv => {
            let list = q.list.map_or("all", |l| l.as_str());
            let stamp = now.format("%Y%m%d");
            Ok(HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"customer-value-{list}-{stamp}.csv\""),
                ))
                .streaming(value::csv_stream(state.db.clone(), ctx, looker)))
        }
    }
}
