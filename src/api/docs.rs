//! /docs: the API viewer (Swagger UI), its assets served from the binary so
//! it works without internet (a dealer's server room, a laptop on a train).

use actix_web::{HttpResponse, http::header, web};
use utoipa_swagger_ui::{Config, SwaggerUi};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/docs",
        web::get().to(|| async {
            HttpResponse::PermanentRedirect()
                .insert_header((header::LOCATION, "/docs/"))
                .finish()
        }),
    )
    .service(SwaggerUi::new("/docs/{_:.*}").config(Config::new(["/openapi.json"])));
}
