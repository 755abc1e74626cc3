//! /api/v1/parts: stock per dealer (配件管理), the movement ledger, ABC
//! classes, the reorder proposal and their settings.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, put, web};

use super::contract::headers::{IdempotencyKeyHeader, IfMatchHeader};
use super::extract::{IdempotencyHeader, IfMatch, Json, Query};
use super::{replayed, with_etag};
use crate::auth::Actor;
use crate::domain::customer_value::ValueFormat;
use crate::error::{AppResult, Problem};
use crate::services::idempotency::Outcome;
use crate::services::parts::reports::{
    self, DemandReport, FormatQuery, PeriodQuery, ReceiptReport, SalesReport, StockReport,
};
use crate::services::parts::stock_take::{self, SheetLine, StockTake, StockTakeInput};
use crate::services::parts::{
    self, AbcLine, Moved, Movement, NewMovement, NewPart, Part, PartSettings, PartUpdate,
    ReorderLine, ReorderQuery,
};
use crate::state::AppState;

/// The dealer's stocked parts by number. Staff who work with parts read
/// them; the cost price is shown to the parts desk and managers only.
#[utoipa::path(operation_id = "listParts", tag = "parts", security(("bearer" = [])),
    responses((status = 200, body = Vec<Part>)))]
#[get("/parts")]
pub async fn list(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(parts::list(&state.db, &actor).await?))
}

/// Stocks a new part (the parts desk, the service manager), nothing on
/// hand: stock comes only through receipts.
#[utoipa::path(operation_id = "createPart", tag = "parts", request_body = NewPart, security(("bearer" = [])),
    responses((status = 201, body = Part, headers(("ETag" = String))),
        (status = 409, description = "the part number is already stocked", body = Problem)))]
#[post("/parts")]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<NewPart>,
) -> AppResult<HttpResponse> {
    let p = parts::create(&state.db, &actor, body.0, state.clock.now()).await?;
    Ok(with_etag(StatusCode::CREATED, p.version, p))
}

/// ABC classes (ABC分类) over the last 365 days of issue and sale cost
/// value, largest first; the cut-offs are the settings'.
#[utoipa::path(operation_id = "partsAbc", tag = "parts", security(("bearer" = [])),
    responses((status = 200, body = Vec<AbcLine>)))]
#[get("/parts/abc")]
pub async fn abc(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(parts::abc(&state.db, &actor, state.clock.now()).await?))
}

/// What to order now per part: season-weighted demand over the lead time
/// and the safety days, less what is available and on order, in whole packs.
#[utoipa::path(operation_id = "partsReorderProposal", tag = "parts", params(ReorderQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<ReorderLine>)))]
#[get("/parts/reorder-proposal")]
pub async fn reorder_proposal(
    state: web::Data<AppState>,
    actor: Actor,
    q: Query<ReorderQuery>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(parts::reorder_proposal(&state.db, &actor, q.0, state.clock.now()).await?))
}

/// The ABC cut-offs, safety days and season factors (ETag: their version, 0 for the defaults).
#[utoipa::path(operation_id = "getPartSettings", tag = "parts", security(("bearer" = [])),
    responses((status = 200, body = PartSettings, headers(("ETag" = String)))))]
#[get("/parts/settings")]
pub async fn get_settings(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    let (s, v) = parts::get_settings(&state.db, &actor).await?;
    Ok(with_etag(StatusCode::OK, v, s))
}

/// Replaces the settings (`If-Match`: the ETag read; `"0"` before any were saved).
#[utoipa::path(operation_id = "putPartSettings", tag = "parts", request_body = PartSettings, security(("bearer" = [])),
    params(IfMatchHeader),
    responses((status = 200, body = PartSettings, headers(("ETag" = String)))))]
#[put("/parts/settings")]
pub async fn put_settings(
    state: web::Data<AppState>,
    actor: Actor,
    if_match: IfMatch,
    body: Json<PartSettings>,
) -> AppResult<HttpResponse> {
    let (s, v) =
        parts::put_settings(&state.db, &actor, body.0, if_match.0, state.clock.now()).await?;
    Ok(with_etag(StatusCode::OK, v, s))
}

/// One part: on hand, reserved, available, on order, bin, prices.
#[utoipa::path(operation_id = "getPart", tag = "parts", security(("bearer" = [])),
    params(("number" = String, Path)),
    responses((status = 200, body = Part, headers(("ETag" = String)))))]
#[get("/parts/{number}")]
pub async fn read(
    state: web::Data<AppState>,
    actor: Actor,
    number: web::Path<String>,
) -> AppResult<HttpResponse> {
    let p = parts::read(&state.db, &actor, &number).await?;
    Ok(with_etag(StatusCode::OK, p.version, p))
}

/// Replaces a part's master data (name, bin, prices, on order, pack size,
/// lead time) with `If-Match`: the ETag read. Stock moves only through
/// movements; a part that moved since it was read is 412.
#[utoipa::path(operation_id = "updatePart", tag = "parts", request_body = PartUpdate, security(("bearer" = [])),
    params(("number" = String, Path), IfMatchHeader),
    responses((status = 200, body = Part, headers(("ETag" = String)))))]
#[put("/parts/{number}")]
pub async fn update(
    state: web::Data<AppState>,
    actor: Actor,
    number: web::Path<String>,
    if_match: IfMatch,
    body: Json<PartUpdate>,
) -> AppResult<HttpResponse> {
    let p = parts::update(
        &state.db,
        &actor,
        &number,
        body.0,
        if_match.0,
        state.clock.now(),
    )
    .await?;
    Ok(with_etag(StatusCode::OK, p.version, p))
}

/// The part's ledger, newest first (at most 500 rows).
#[utoipa::path(operation_id = "listPartMovements", tag = "parts", security(("bearer" = [])),
    params(("number" = String, Path)),
    responses((status = 200, body = Vec<Movement>)))]
#[get("/parts/{number}/movements")]
pub async fn movements(
    state: web::Data<AppState>,
    actor: Actor,
    number: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(parts::movements(&state.db, &actor, &number).await?))
}

/// Posts a receipt, issue, return, sale or stock-take adjustment: one
/// ledger row and the stock changed with it. An issue or sale takes at most
/// what is available (on hand − reserved), also under concurrent requests.
/// Send `Idempotency-Key`: a retried request answers the first answer and
/// moves nothing again.
#[utoipa::path(operation_id = "postPartMovement", tag = "parts", request_body = NewMovement, security(("bearer" = [])),
    params(("number" = String, Path), IdempotencyKeyHeader),
    responses((status = 201, body = Moved,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same key"))),
        (status = 409, description = "the part is short (the message names what is available), or a request with the same key is in progress", body = Problem)))]
#[post("/parts/{number}/movements")]
pub async fn post_movement(
    state: web::Data<AppState>,
    actor: Actor,
    number: web::Path<String>,
    key: IdempotencyHeader,
    body: Json<NewMovement>,
) -> AppResult<HttpResponse> {
    Ok(
        match parts::post_movement(&state, &actor, &number, body.0, key.0.as_ref()).await? {
            Outcome::Fresh(m) => HttpResponse::Created().json(m),
            Outcome::Replayed(saved) => replayed(saved),
        },
    )
}

fn csv_answer(name: &str, body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}.csv\""),
        ))
        .body(body)
}

/// 库存报表: every part's stock and its value at cost, with the total.
#[utoipa::path(operation_id = "partsStockReport", tag = "parts", params(FormatQuery), security(("bearer" = [])),
    responses((status = 200, description = "the report, as JSON or CSV",
        content((StockReport = "application/json"), (String = "text/csv")))))]
#[get("/parts/reports/stock")]
pub async fn stock_report(
    state: web::Data<AppState>,
    actor: Actor,
    q: Query<FormatQuery>,
) -> AppResult<HttpResponse> {
    let r = reports::stock(&state.db, &actor).await?;
    Ok(match q.0.format.unwrap_or(ValueFormat::Json) {
        ValueFormat::Json => HttpResponse::Ok().json(r),
        ValueFormat::Csv => csv_answer("parts-stock", reports::stock_csv(&r)),
    })
}

/// 月度需求报表: per part and calendar month of the period, what was
/// issued and sold less what was returned.
#[utoipa::path(operation_id = "partsMonthlyDemandReport", tag = "parts", params(PeriodQuery), security(("bearer" = [])),
    responses((status = 200, description = "the report, as JSON or CSV",
        content((DemandReport = "application/json"), (String = "text/csv")))))]
#[get("/parts/reports/monthly-demand")]
pub async fn demand_report(
    state: web::Data<AppState>,
    actor: Actor,
    q: Query<PeriodQuery>,
) -> AppResult<HttpResponse> {
    let r = reports::monthly_demand(&state.db, &actor, q.0.from, q.0.to).await?;
    Ok(match q.0.format.unwrap_or(ValueFormat::Json) {
        ValueFormat::Json => HttpResponse::Ok().json(r),
        ValueFormat::Csv => csv_answer("parts-demand", reports::demand_csv(&r)),
    })
}

/// 备件销售报表: per part over the period, issued to repair orders, sold
/// over the counter, returned, revenue, cost and margin.
#[utoipa::path(operation_id = "partsSalesReport", tag = "parts", params(PeriodQuery), security(("bearer" = [])),
    responses((status = 200, description = "the report, as JSON or CSV",
        content((SalesReport = "application/json"), (String = "text/csv")))))]
#[get("/parts/reports/sales")]
pub async fn sales_report(
    state: web::Data<AppState>,
    actor: Actor,
    q: Query<PeriodQuery>,
) -> AppResult<HttpResponse> {
    let r = reports::sales(&state.db, &actor, q.0.from, q.0.to).await?;
    Ok(match q.0.format.unwrap_or(ValueFormat::Json) {
        ValueFormat::Json => HttpResponse::Ok().json(r),
        ValueFormat::Csv => csv_answer("parts-sales", reports::sales_csv(&r)),
    })
}

/// The count sheet (盘点表): every part by bin with what the system holds;
/// as CSV with an empty column to count into.
#[utoipa::path(operation_id = "partsCountSheet", tag = "parts", params(FormatQuery), security(("bearer" = [])),
    responses((status = 200, description = "the sheet, as JSON or CSV",
        content((Vec<SheetLine> = "application/json"), (String = "text/csv")))))]
#[get("/parts/stock-takes/sheet")]
pub async fn count_sheet(
    state: web::Data<AppState>,
    actor: Actor,
    q: Query<FormatQuery>,
) -> AppResult<HttpResponse> {
    let lines = stock_take::sheet(&state.db, &actor).await?;
    Ok(match q.0.format.unwrap_or(ValueFormat::Json) {
        ValueFormat::Json => HttpResponse::Ok().json(lines),
        ValueFormat::Csv => csv_answer("parts-count-sheet", stock_take::sheet_csv(&lines)),
    })
}

/// Posts a stock-take: the counted quantities replace what the system
/// holds, one adjustment (ledger row) per differing part, all or none;
/// answers the variance summary. A part that moved while the count was
/// posted makes it 409 (nothing written: post again). Send
/// `Idempotency-Key`: a retry answers the first summary.
#[utoipa::path(operation_id = "postStockTake", tag = "parts", request_body = StockTakeInput, security(("bearer" = [])),
    params(IdempotencyKeyHeader),
    responses((status = 201, body = StockTake,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same key"))),
        (status = 409, description = "a part moved while the count was posted, or a request with the same key is in progress", body = Problem)))]
#[post("/parts/stock-takes")]
pub async fn post_stock_take(
    state: web::Data<AppState>,
    actor: Actor,
    key: IdempotencyHeader,
    body: Json<StockTakeInput>,
) -> AppResult<HttpResponse> {
    Ok(
        match stock_take::post(&state, &actor, body.0, key.0.as_ref()).await? {
            Outcome::Fresh(s) => HttpResponse::Created().json(s),
            Outcome::Replayed(saved) => replayed(saved),
        },
    )
}

/// 运输收货反馈: the period's receipts, ordered against received, with the
/// short and damaged lines counted.
#[utoipa::path(operation_id = "partsReceiptReport", tag = "parts", params(PeriodQuery), security(("bearer" = [])),
    responses((status = 200, description = "the report, as JSON or CSV",
        content((ReceiptReport = "application/json"), (String = "text/csv")))))]
#[get("/parts/reports/receipts")]
pub async fn receipt_report(
    state: web::Data<AppState>,
    actor: Actor,
    q: Query<PeriodQuery>,
) -> AppResult<HttpResponse> {
    let r = reports::receipts(&state.db, &actor, q.0.from, q.0.to).await?;
    Ok(match q.0.format.unwrap_or(ValueFormat::Json) {
        ValueFormat::Json => HttpResponse::Ok().json(r),
        ValueFormat::Csv => csv_answer("parts-receipts", reports::receipts_csv(&r)),
    })
}
