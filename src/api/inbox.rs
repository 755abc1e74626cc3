//! /api/v1/inbox

use actix_web::{HttpResponse, get, web};

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
