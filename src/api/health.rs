//! /health/live, /health/ready, /metrics

use actix_web::{HttpResponse, get, web};
use sea_orm::ConnectionTrait;

use crate::db;
use crate::state::AppState;

/// The process is up.
#[utoipa::path(tag = "operations", responses((status = 200)))]
#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// The database answers and every migration is applied.
#[utoipa::path(tag = "operations", responses((status = 200), (status = 503)))]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let database = state.db.execute_unprepared("SELECT 1").await.is_ok();
    let migrations = database && db::migrations_applied(&state.db).await;
    let body = serde_json::json!({ "database": database, "migrations": migrations });
    if database && migrations {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus text format.
#[utoipa::path(tag = "operations", responses((status = 200, content_type = "text/plain")))]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}
