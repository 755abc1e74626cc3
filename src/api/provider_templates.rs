//! /api/v1/care/provider-templates: which approved operator template carries
//! each kind of message, per dealer.

use actix_web::{HttpResponse, delete, get, put, web};

use super::extract::Json;
use crate::auth::Actor;
use crate::care::provider_templates::{self, ProviderTemplate, TemplateInput};
use crate::domain::care::TemplateChannel;
use crate::domain::message::MessageKind;
use crate::error::AppResult;
use crate::state::AppState;

/// The dealer's provider templates (staff).
#[utoipa::path(operation_id = "listProviderTemplates", tag = "care", security(("bearer" = [])),
    responses((status = 200, body = Vec<ProviderTemplate>)))]
#[get("/care/provider-templates")]
pub async fn list(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(provider_templates::list(&state.db, &actor).await?))
}

/// States the approved template (and signature) that carries `kind` on
/// `channel`, and which of the message's values fills each variable (managers).
#[utoipa::path(operation_id = "putProviderTemplate", tag = "care", request_body = TemplateInput,
    params(("channel" = TemplateChannel, Path), ("kind" = MessageKind, Path)), security(("bearer" = [])),
    responses((status = 200, body = ProviderTemplate)))]
#[put("/care/provider-templates/{channel}/{kind}")]
pub async fn put(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(TemplateChannel, MessageKind)>,
    body: Json<TemplateInput>,
) -> AppResult<HttpResponse> {
    let (channel, kind) = path.into_inner();
    let now = state.clock.now();
    let t = provider_templates::put(&state.db, &actor, channel, kind, body.0, now).await?;
    Ok(HttpResponse::Ok().json(t))
}

/// Removes a template (managers): the kind then falls back on that channel.
#[utoipa::path(operation_id = "deleteProviderTemplate", tag = "care",
    params(("channel" = TemplateChannel, Path), ("kind" = MessageKind, Path)), security(("bearer" = [])),
    responses((status = 204, description = "removed")))]
#[delete("/care/provider-templates/{channel}/{kind}")]
pub async fn remove(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(TemplateChannel, MessageKind)>,
) -> AppResult<HttpResponse> {
    let (channel, kind) = path.into_inner();
    provider_templates::remove(&state.db, &actor, channel, kind).await?;
    Ok(HttpResponse::NoContent().finish())
}
