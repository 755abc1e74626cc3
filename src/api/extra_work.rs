//! /api/v1/repair-orders/{id}/extra-work: extra work (追加维修) and the
//! customer's answers.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, post, web};
use uuid::Uuid;

use super::contract::headers::IdempotencyKeyHeader;
use super::extract::{IdempotencyHeader, Json, OptionalJson};
use super::replayed;
use super::with_etag;
use crate::auth::Actor;
use crate::error::{AppResult, Problem};
use crate::services::idempotency::Outcome;
use crate::services::repair_orders::RepairOrder;
use crate::services::repair_orders::extra_work::{self, ExtraWork, ExtraWorkAnswer};
use crate::state::AppState;

/// Proposes extra work found in the workshop: each line becomes a job
/// awaiting the customer's approval, and the customer is told (app inbox and
/// SMS). While the order is `estimate_accepted`, `in_work` or `qc`. Send
/// `Idempotency-Key`: a retried request answers the same proposal.
#[utoipa::path(operation_id = "proposeExtraWork", tag = "repair-orders", request_body = ExtraWork, security(("bearer" = [])),
    params(("id" = Uuid, Path), IdempotencyKeyHeader),
    responses((status = 201, body = RepairOrder, headers(("ETag" = String),
            ("Idempotent-Replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same key"))),
        (status = 409, description = "the order is not in the workshop (its state is named), or a request with the same key is in progress", body = Problem)))]
#[post("/repair-orders/{id}/extra-work")]
pub async fn propose(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    key: IdempotencyHeader,
    body: Json<ExtraWork>,
) -> AppResult<HttpResponse> {
    Ok(
        match extra_work::propose(&state, &actor, id.into_inner(), body.0, key.0.as_ref()).await? {
            Outcome::Fresh(o) => with_etag(StatusCode::CREATED, o.version, o),
            Outcome::Replayed(saved) => replayed(saved),
        },
    )
}

async fn answer(
    state: &AppState,
    actor: &Actor,
    path: (Uuid, Uuid),
    approved: bool,
    body: OptionalJson<ExtraWorkAnswer>,
) -> AppResult<HttpResponse> {
    let (id, line_id) = path;
    let o = extra_work::answer(
        state,
        actor,
        id,
        line_id,
        approved,
        body.0.unwrap_or_default(),
    )
    .await?;
    Ok(with_etag(StatusCode::OK, o.version, o))
}

/// Approves a line of extra work: the customer in the app (no body, or
/// `{note}`), or staff recording the answer (`{by: phone, note}` or `{by: tablet}`).
/// Only then may the line be dispatched.
#[utoipa::path(operation_id = "approveExtraWork", tag = "repair-orders", request_body = Option<ExtraWorkAnswer>, security(("bearer" = [])),
    params(("id" = Uuid, Path), ("line_id" = Uuid, Path)),
    responses((status = 200, body = RepairOrder, headers(("ETag" = String))),
        (status = 409, description = "the line is already answered, or the order is no longer in the workshop", body = Problem)))]
#[post("/repair-orders/{id}/extra-work/{line_id}/approve")]
pub async fn approve(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(Uuid, Uuid)>,
    body: OptionalJson<ExtraWorkAnswer>,
) -> AppResult<HttpResponse> {
    answer(&state, &actor, path.into_inner(), true, body).await
}

/// Declines a line of extra work (same body as approve). The line is kept as
/// declined work on the vehicle: the invitation list offers it later.
#[utoipa::path(operation_id = "declineExtraWork", tag = "repair-orders", request_body = Option<ExtraWorkAnswer>, security(("bearer" = [])),
    params(("id" = Uuid, Path), ("line_id" = Uuid, Path)),
    responses((status = 200, body = RepairOrder, headers(("ETag" = String))),
        (status = 409, description = "the line is already answered, or the order is no longer in the workshop", body = Problem)))]
#[post("/repair-orders/{id}/extra-work/{line_id}/decline")]
pub async fn decline(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(Uuid, Uuid)>,
    body: OptionalJson<ExtraWorkAnswer>,
) -> AppResult<HttpResponse> {
    answer(&state, &actor, path.into_inner(), false, body).await
}
