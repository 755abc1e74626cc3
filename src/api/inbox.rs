//! /api/v1/inbox

use actix_web::{HttpResponse, get, post, web};
use uuid::Uuid;

use crate::auth::Actor;
use crate::error::AppResult;
use crate::services::inbox::{self, InboxMessage};
use crate::state::AppState;

/// The customer's in-app messages, newest first.
#[utoipa::path(operation_id = "listInbox", tag = "inbox", security(("bearer" = [])), responses((status = 200, body = Vec<InboxMessage>)))]
#[get("/inbox")]
pub async fn list(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(inbox::list(&state.db, &actor).await?))
}

/// Marks one message read; idempotent (the first read's time stays).
#[utoipa::path(operation_id = "markInboxRead", tag = "inbox", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = InboxMessage)))]
#[post("/inbox/{id}/read")]
pub async fn mark_read(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now();
    Ok(HttpResponse::Ok().json(inbox::mark_read(&state.db, &actor, id.into_inner(), now).await?))
}
