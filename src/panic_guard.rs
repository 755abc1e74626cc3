//! A panic in a handler answers 500 problem+json and is logged, instead of
//! closing the connection mid-request. Every known panic is fixed at its
//! source; this is the net under the ones nobody knows of yet.

use std::panic::AssertUnwindSafe;

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use futures_util::FutureExt;

use crate::error::AppError;

/// What a caught panic said (`panic!` carries a `&str` or a `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic".into())
}

/// Middleware (with `actix_web::middleware::from_fn`): runs the rest of the
/// chain under `catch_unwind`. A caught panic becomes `AppError::Internal`,
/// which the server answers as 500 problem+json and logs with its cause. (The
/// request cannot be kept aside to build a response here: actix needs it
/// unshared while it routes.)
pub async fn catch_panic(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, Error> {
    let (method, path) = (req.method().clone(), req.path().to_string());
    match AssertUnwindSafe(next.call(req)).catch_unwind().await {
        Ok(res) => res,
        Err(payload) => {
            let what = panic_message(payload.as_ref());
            tracing::error!(%method, %path, panic = %what, "handler panicked");
            Err(AppError::Internal(anyhow::anyhow!(
                "panic while serving {method} {path}: {what}"
            ))
            .into())
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::middleware::from_fn;
    use actix_web::{App, HttpResponse, HttpServer, web};

    use super::*;

    #[actix_web::test]
    async fn a_panicking_handler_answers_500_problem_json_and_the_server_goes_on() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(|| {
            App::new()
                .wrap(from_fn(catch_panic))
                .route(
                    "/boom",
                    web::get().to(|| async {
                        let v: Vec<u8> = Vec::new();
                        // an index out of bounds, as a bug would
                        HttpResponse::Ok().body(vec![v[usize::from(v.is_empty())]])
                    }),
                )
                .route(
                    "/fine",
                    web::get().to(|| async { HttpResponse::Ok().body("ok") }),
                )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        let http = reqwest::Client::new();
        let res = http
            .get(format!("http://127.0.0.1:{port}/boom"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 500);
        assert_eq!(
            res.headers().get("content-type").unwrap(),
            "application/problem+json"
        );
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["status"], 500);
        assert_eq!(body["detail"], "something went wrong on our side");
        let res = http
            .get(format!("http://127.0.0.1:{port}/fine"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        handle.stop(false).await;
    }
}
