use reqwest::StatusCode;
use servicelane::domain::Role;

use crate::helpers::*;

#[tokio::test]
async fn health_metrics_openapi_and_docs_answer() {
    let app = spawn_app().await;
    let live = app.send(app.http.get(app.url("/health/live"))).await;
    assert_eq!(live.status, StatusCode::OK);
    let ready = app.send(app.http.get(app.url("/health/ready"))).await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.body["migrations"], true);

    let (_, token) = app.staff("STAR", Role::ServiceAdvisor).await;
    let me = app.get("/api/v1/me", &token).await;
    let request_id = me.headers.get("x-request-id").unwrap().to_str().unwrap();
    assert!(!request_id.is_empty());
    let echoed = app
        .send(
            app.http
                .get(app.url("/health/live"))
                .header("x-request-id", "tablet-42"),
        )
        .await;
    assert_eq!(echoed.headers["x-request-id"], "tablet-42");

    let metrics = app.text("/metrics").await;
    assert!(
        metrics.contains(
            r#"servicelane_http_requests_total{method="GET",route="/api/v1/me",status="200"} 1"#
        ),
        "{metrics}"
    );
    assert!(metrics.contains("servicelane_http_request_duration_seconds_bucket"));

    let spec = app.send(app.http.get(app.url("/openapi.json"))).await;
    assert_eq!(
        spec.body["openapi"].as_str().unwrap().chars().next(),
        Some('3')
    );
    for path in [
        "/api/v1/auth/login",
        "/api/v1/customers",
        "/api/v1/customers/{id}",
        "/api/v1/vehicles/{id}/mileage",
        "/api/v1/me",
        "/api/v1/appointment-slots",
        "/api/v1/appointments/{id}/{action}",
        "/api/v1/appointments/{id}.ics",
        "/api/v1/capacity",
        "/api/v1/menu/{code}",
        "/api/v1/inbox",
    ] {
        assert!(
            spec.body["paths"][path].is_object(),
            "{path} missing from the spec"
        );
    }
    assert!(spec.body["components"]["schemas"]["Problem"].is_object());
    assert!(spec.body["components"]["schemas"]["NewCustomer"].is_object());

    let docs = app.http.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.unwrap().contains("<html"));
}

#[tokio::test]
async fn without_a_webhook_the_sms_lands_in_the_outbox_folder() {
    let app = spawn_app_with(&[("SERVICELANE__SMS__WEBHOOK_URL", "")]).await;
    let (_, token) = app.staff("STAR", Role::ServiceAdvisor).await;
    app.create_customer(&token, "王小明", "13800000001").await;
    let a = app
        .post(
            "/api/v1/auth/otp",
            None,
            &serde_json::json!({"dealer_code": "STAR", "phone": "13800000001"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    let outbox = app.data_dir.join("outbox");
    let mut found = None;
    for _ in 0..100 {
        if let Some(entry) = std::fs::read_dir(&outbox).ok().and_then(|mut d| d.next()) {
            found = Some(std::fs::read_to_string(entry.unwrap().path()).unwrap());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let body: serde_json::Value =
        serde_json::from_str(&found.expect("no file in the outbox")).unwrap();
    assert_eq!(body["to"], "+8613800000001");
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .contains(body["params"]["code"].as_str().unwrap())
    );
}

async fn demo_login(app: &TestApp, username: &str) -> Answer {
    let body =
        serde_json::json!({"dealer_code": "DEMO", "username": username, "password": "servicelane"});
    app.post("/api/v1/auth/login", None, &body).await
}

const CHEAP_HASHING: [(&str, &str); 2] = [
    ("SERVICELANE__AUTH__ARGON2_MEMORY_KIB", "1024"),
    ("SERVICELANE__AUTH__ARGON2_ITERATIONS", "1"),
];

#[tokio::test]
async fn the_development_profile_seeds_a_demo_a_newcomer_can_book_with() {
    let mut vars = vec![("SERVICELANE__PROFILE", "development")];
    vars.extend(CHEAP_HASHING);
    let app = spawn_app_with(&vars).await;
    let login = demo_login(&app, "advisor").await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    let token = login.body["access_token"].as_str().unwrap();
    let found = app.get("/api/v1/customers?q=13800000001", token).await;
    let customer = &found.body["items"][0];
    assert_eq!(customer["phone"], "+8613800000001");
    let vehicles = app
        .get(
            &format!(
                "/api/v1/customers/{}/vehicles",
                customer["id"].as_str().unwrap()
            ),
            token,
        )
        .await;
    let vin = vehicles.body[0]["vin"].as_str().unwrap();
    assert!(servicelane::domain::Vin::parse(vin).is_ok());
    let menu = app.get("/api/v1/menu", token).await;
    assert_eq!(menu.body.as_array().unwrap().len(), 4);
    for user in [
        "manager",
        "supervisor",
        "foreman",
        "technician",
        "qc",
        "warranty",
        "care",
        "parts",
        "cashier",
        "tool_keeper",
        "admin",
        "brand",
    ] {
        let a = demo_login(&app, user).await;
        assert_eq!(a.status, StatusCode::OK, "{user}");
    }
}

#[tokio::test]
async fn the_production_profile_never_seeds() {
    let mut vars = vec![
        ("SERVICELANE__PROFILE", "production"),
        ("SERVICELANE__SEED_DEMO", "true"),
    ];
    vars.extend(CHEAP_HASHING);
    let app = spawn_app_with(&vars).await;
    let login = demo_login(&app, "advisor").await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED);
}
