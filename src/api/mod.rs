//! HTTP: one module per resource. Handlers extract, call a use case, answer.

pub mod appointments;
pub mod auth;
pub mod capacity;
pub mod customers;
pub mod extract;
pub mod health;
pub mod imports;
pub mod inbox;
pub mod menu;
pub mod vehicles;

use actix_web::{HttpResponse, web};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_scalar::{Scalar, Servable};

use crate::error::AppError;

/// An answer carrying the record's version as its ETag, for If-Match on the next write.
pub fn with_etag(
    status: actix_web::http::StatusCode,
    version: i32,
    body: impl serde::Serialize,
) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((
            actix_web::http::header::ETAG,
            crate::services::etag(version),
        ))
        .json(body)
}

#[derive(OpenApi)]
#[openapi(
    info(title = "servicelane", description = "After-sales service backend for car dealers (售后服务). Errors are application/problem+json (RFC 9457)."),
    paths(
        auth::login, auth::refresh, auth::logout, auth::otp, auth::otp_verify, auth::me,
        customers::list, customers::create, customers::read, customers::update, customers::vehicles_of,
        vehicles::create, vehicles::read, vehicles::update, vehicles::record_mileage, vehicles::mileage_history,
        capacity::get_capacity, capacity::put_capacity, capacity::list_closed, capacity::close_date, capacity::reopen_date,
        menu::list, menu::put_item, inbox::list,
        imports::import_customers, imports::read, imports::report_csv, imports::export_customers,
        appointments::slots, appointments::create, appointments::register, appointments::invitations,
        appointments::preparation, appointments::calendar, appointments::read, appointments::history,
        appointments::reschedule, appointments::act,
        health::live, health::ready, health::metrics,
    ),
    components(schemas(crate::error::Problem, crate::domain::FieldError, crate::domain::Role)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Every route of the service.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()))
        .service(health::live)
        .service(health::ready)
        .service(health::metrics)
        .route(
            "/openapi.json",
            web::get().to(|| async { HttpResponse::Ok().json(ApiDoc::openapi()) }),
        )
        .service(Scalar::with_url("/docs", ApiDoc::openapi()))
        .service(
            web::scope("/api/v1")
                .service(auth::login)
                .service(auth::refresh)
                .service(auth::logout)
                .service(auth::otp)
                .service(auth::otp_verify)
                .service(auth::me)
                .service(customers::list)
                .service(customers::create)
                // fixed paths before /customers/{id}
                .service(imports::export_customers)
                .service(customers::read)
                .service(customers::update)
                .service(customers::vehicles_of)
                .service(vehicles::create)
                .service(vehicles::read)
                .service(vehicles::update)
                .service(vehicles::record_mileage)
                .service(vehicles::mileage_history)
                .service(capacity::get_capacity)
                .service(capacity::put_capacity)
                .service(capacity::list_closed)
                .service(capacity::close_date)
                .service(capacity::reopen_date)
                .service(menu::list)
                .service(menu::put_item)
                .service(appointments::slots)
                .service(appointments::create)
                .service(appointments::register)
                // fixed paths before /appointments/{id}
                .service(appointments::invitations)
                .service(appointments::preparation)
                .service(appointments::calendar)
                .service(appointments::read)
                .service(appointments::history)
                .service(appointments::reschedule)
                .service(appointments::act)
                .service(inbox::list)
                .service(imports::import_customers)
                .service(imports::read)
                .service(imports::report_csv),
        )
        .default_service(web::to(|| async {
            Err::<HttpResponse, _>(AppError::NotFound)
        }));
}
