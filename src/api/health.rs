//! /health/live, /health/ready, /metrics

use actix_web::{HttpResponse, get, web};
use sea_orm::ConnectionTrait;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db;
use crate::state::AppState;

/// The process is up.
#[utoipa::path(operation_id = "getLive", tag = "operations", responses((status = 200, body = Liveness)))]
#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Liveness { status: "ok" })
}

#[derive(Serialize, ToSchema)]
pub struct Liveness {
    #[schema(value_type = String, example = "ok")]
    status: &'static str,
}

/// Whether the service can take requests: the database and the schema.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    database: bool,
    migrations: bool,
}

/// The database answers and every migration is applied.
#[utoipa::path(operation_id = "getReady", tag = "operations",
    responses((status = 200, body = Readiness), (status = 503, description = "not ready: see which part failed", body = Readiness)))]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let database = state.db.execute_unprepared("SELECT 1").await.is_ok();
    let migrations = database && db::migrations_applied(&state.db).await;
    let body = Readiness {
        database,
        migrations,
    };
    if database && migrations {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus text format.
#[utoipa::path(operation_id = "getMetrics", tag = "operations", responses((status = 200, description = "Prometheus text exposition format", body = String, content_type = "text/plain")))]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}
