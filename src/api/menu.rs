//! /api/v1/menu

use actix_web::{HttpResponse, get, put, web};

use super::extract::Json;
use crate::auth::Actor;
use crate::error::AppResult;
use crate::services::menu::{self, MenuInput, MenuItem};
use crate::state::AppState;

/// The maintenance menu (保养菜单); customers see the active items.
#[utoipa::path(operation_id = "listMenu", tag = "menu", security(("bearer" = [])), responses((status = 200, body = Vec<MenuItem>)))]
#[get("/menu")]
pub async fn list(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(menu::list(&state.db, &actor).await?))
}

/// Creates or replaces a menu item (managers).
#[utoipa::path(operation_id = "putMenuItem", tag = "menu", request_body = MenuInput, security(("bearer" = [])),
    responses((status = 200, body = MenuItem)))]
#[put("/menu/{code}")]
pub async fn put_item(
    state: web::Data<AppState>,
    actor: Actor,
    code: web::Path<String>,
    body: Json<MenuInput>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(menu::put(&state.db, &actor, &code, body.0, state.clock.now()).await?))
}
