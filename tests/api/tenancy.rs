use reqwest::StatusCode;
use serde_json::json;
use servicelane::domain::Role;

use crate::helpers::*;

#[tokio::test]
async fn roles_that_may_not_act_get_403() {
    let app = spawn_app().await;
    let (_, technician) = app.staff("STAR", Role::Technician).await;
    let (_, keeper) = app.staff("STAR", Role::ToolKeeper).await;
    let create = app
        .post(
            "/api/v1/customers",
            Some(&technician),
            &json!({"name": "王伟", "phone": "13800000002"}),
        )
        .await;
    assert_eq!(create.status, StatusCode::FORBIDDEN);
    assert_eq!(create.content_type(), "application/problem+json");
    assert_eq!(
        app.get("/api/v1/customers", &keeper).await.status,
        StatusCode::FORBIDDEN
    );
    // but a technician may read the archive
    assert_eq!(
        app.get("/api/v1/customers", &technician).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn another_dealers_records_answer_404() {
    let app = spawn_app().await;
    let (_, star) = app.staff("STAR", Role::ServiceAdvisor).await;
    let (_, moon) = app.staff("MOON", Role::ServiceAdvisor).await;
    let c = app.create_customer(&star, "王伟", "13800000002").await;
    let v = app
        .create_vehicle(&star, c["id"].as_str().unwrap(), &vin(1), "京A12345")
        .await;
    let id = c["id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/customers/{id}"), &moon)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/api/v1/customers/{id}/vehicles"), &moon)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(
            &format!("/api/v1/vehicles/{}", v["id"].as_str().unwrap()),
            &moon
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let p = app
        .patch(
            &format!("/api/v1/customers/{id}"),
            &moon,
            Some("\"1\""),
            &json!({"name": "x"}),
        )
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    // nor do they show in a search, and MOON may use the same phone for its own customer
    let found = app.get("/api/v1/customers?q=13800000002", &moon).await;
    assert_eq!(found.body["items"], json!([]));
    app.create_customer(&moon, "王伟", "13800000002").await;
    // a vehicle cannot be registered to another dealer's customer
    let steal = app
        .post(
            "/api/v1/vehicles",
            Some(&moon),
            &json!({"customer_id": id, "vin": vin(2), "make": "大众", "model": "朗逸"}),
        )
        .await;
    assert_eq!(steal.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(steal.problem_fields(), ["customer_id"]);
}

#[tokio::test]
async fn a_customer_sees_only_their_own_records() {
    let app = spawn_app().await;
    let (_, staff) = app.staff("STAR", Role::ServiceAdvisor).await;
    let me = app.create_customer(&staff, "李娜", "13912345678").await;
    let other = app.create_customer(&staff, "张伟", "13912345679").await;
    app.create_vehicle(&staff, me["id"].as_str().unwrap(), &vin(3), "京B12345")
        .await;
    let ov = app
        .create_vehicle(&staff, other["id"].as_str().unwrap(), &vin(4), "京B12346")
        .await;

    app.post(
        "/api/v1/auth/otp",
        None,
        &json!({"dealer_code": "STAR", "phone": "13912345678"}),
    )
    .await;
    let (sms, _, _) = app.sms.wait_for("+8613912345678").await;
    let t = app
        .post(
            "/api/v1/auth/otp/verify",
            None,
            &json!({"dealer_code": "STAR", "phone": "13912345678", "code": sms["params"]["code"]}),
        )
        .await;
    let token = t.body["access_token"].as_str().unwrap();

    let own = app
        .get(
            &format!("/api/v1/customers/{}", me["id"].as_str().unwrap()),
            token,
        )
        .await;
    assert_eq!(own.status, StatusCode::OK);
    assert_eq!(
        app.get(
            &format!("/api/v1/customers/{}", other["id"].as_str().unwrap()),
            token
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(
            &format!("/api/v1/vehicles/{}", ov["id"].as_str().unwrap()),
            token
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let list = app.get("/api/v1/customers", token).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["items"][0]["id"], me["id"]);
    let vs = app
        .get(
            &format!("/api/v1/customers/{}/vehicles", me["id"].as_str().unwrap()),
            token,
        )
        .await;
    assert_eq!(vs.body.as_array().unwrap().len(), 1);
    // a customer may not create customers, nor retag themself
    assert_eq!(
        app.post(
            "/api/v1/customers",
            Some(token),
            &json!({"name": "x", "phone": "13900000000"})
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let retag = app
        .patch(
            &format!("/api/v1/customers/{}", me["id"].as_str().unwrap()),
            token,
            Some(&own.etag()),
            &json!({"tags": ["VIP"]}),
        )
        .await;
    assert_eq!(retag.status, StatusCode::FORBIDDEN);
    let mail = app
        .patch(
            &format!("/api/v1/customers/{}", me["id"].as_str().unwrap()),
            token,
            Some(&own.etag()),
            &json!({"email": "li.na@example.com"}),
        )
        .await;
    assert_eq!(mail.status, StatusCode::OK, "{}", mail.body);
}

#[tokio::test]
async fn the_brand_reads_every_dealer_but_writes_none() {
    let app = spawn_app().await;
    let (_, star) = app.staff("STAR", Role::ServiceAdvisor).await;
    let (_, brand) = app.staff("BRAND", Role::NetworkAdmin).await;
    let c = app.create_customer(&star, "王伟", "13800000002").await;
    let id = c["id"].as_str().unwrap();
    let read = app.get(&format!("/api/v1/customers/{id}"), &brand).await;
    assert_eq!(read.status, StatusCode::OK);
    let p = app
        .patch(
            &format!("/api/v1/customers/{id}"),
            &brand,
            Some(&read.etag()),
            &json!({"name": "x"}),
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
}
