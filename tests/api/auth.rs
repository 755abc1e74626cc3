use chrono::Duration;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::json;
use servicelane::domain::Role;
use sha2::Sha256;

use crate::helpers::*;
use crate::login_limits::address_failures;

#[tokio::test]
async fn login_gives_tokens_and_me_answers_who_the_token_is() {
    let app = spawn_app().await;
    let (dealer, token) = app.staff("STAR", Role::ServiceAdvisor).await;
    let me = app.get("/api/v1/me", &token).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["dealer_id"], dealer.to_string());
    assert_eq!(me.body["dealer_code"], "STAR");
    assert_eq!(me.body["roles"], json!(["service_advisor"]));
    assert_eq!(me.body["kind"], "staff");
    assert!(me.body["customer_id"].is_null());

    let tokens = app.login_as("star", "SERVICE_ADVISOR").await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_answer() {
    let app = spawn_app().await;
    app.staff("STAR", Role::ServiceAdvisor).await;
    let wrong = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"dealer_code": "STAR", "username": "service_advisor", "password": "nope-nope"}),
        )
        .await;
    let unknown = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"dealer_code": "STAR", "username": "ghost", "password": "nope-nope"}),
        )
        .await;
    let no_dealer = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"dealer_code": "NONE", "username": "ghost", "password": "nope-nope"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.body, no_dealer.body);
    assert_eq!(wrong.content_type(), "application/problem+json");
}

#[tokio::test]
async fn refresh_rotates_and_reusing_a_rotated_token_revokes_the_family() {
    let app = spawn_app().await;
    app.staff("STAR", Role::ServiceAdvisor).await;
    let first = app.login_as("STAR", "service_advisor").await;
    let r1 = first["refresh_token"].as_str().unwrap();

    let second = app
        .post("/api/v1/auth/refresh", None, &json!({"refresh_token": r1}))
        .await;
    assert_eq!(second.status, StatusCode::OK);
    let r2 = second.body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(r1, r2);
    assert_eq!(
        app.get("/api/v1/me", second.body["access_token"].as_str().unwrap())
            .await
            .status,
        StatusCode::OK
    );

    // r1 again: stolen copy in use; the whole family dies, r2 included
    let reuse = app
        .post("/api/v1/auth/refresh", None, &json!({"refresh_token": r1}))
        .await;
    assert_eq!(reuse.status, StatusCode::UNAUTHORIZED);
    let after = app
        .post("/api/v1/auth/refresh", None, &json!({"refresh_token": r2}))
        .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);

    // another login is a new family and works
    let fresh = app.login_as("STAR", "service_advisor").await;
    let again = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": fresh["refresh_token"]}),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = spawn_app().await;
    app.staff("STAR", Role::ServiceAdvisor).await;
    let t = app.login_as("STAR", "service_advisor").await;
    let out = app
        .post(
            "/api/v1/auth/logout",
            None,
            &json!({"refresh_token": t["refresh_token"]}),
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let r = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": t["refresh_token"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_access_token_expires_after_15_minutes() {
    let app = spawn_app().await;
    let (_, token) = app.staff("STAR", Role::ServiceAdvisor).await;
    app.clock.advance(Duration::minutes(14));
    assert_eq!(app.get("/api/v1/me", &token).await.status, StatusCode::OK);
    app.clock.advance(Duration::minutes(2));
    assert_eq!(
        app.get("/api/v1/me", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/v1/me", "not-a-jwt").await.status,
        StatusCode::UNAUTHORIZED
    );
    let none = app.send(app.http.get(app.url("/api/v1/me"))).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn repeated_failures_lock_the_account_even_for_the_right_password() {
    let app = spawn_app().await;
    app.staff("STAR", Role::ServiceAdvisor).await;
    let wrong =
        json!({"dealer_code": "STAR", "username": "service_advisor", "password": "wrong-password"});
    for _ in 0..5 {
        assert_eq!(
            app.post("/api/v1/auth/login", None, &wrong).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let right = json!({"dealer_code": "STAR", "username": "service_advisor", "password": PASSWORD});
    let locked = app.post("/api/v1/auth/login", None, &right).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = locked.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 900, "{retry}");

    // an unknown username locks the same way, so lock-out does not tell who exists
    let ghost = json!({"dealer_code": "STAR", "username": "ghost", "password": "wrong-password"});
    for _ in 0..5 {
        app.post("/api/v1/auth/login", None, &ghost).await;
    }
    assert_eq!(
        app.post("/api/v1/auth/login", None, &ghost).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    app.clock.advance(Duration::minutes(16));
    assert_eq!(
        app.post("/api/v1/auth/login", None, &right).await.status,
        StatusCode::OK
    );
}

async fn customer_with_phone(app: &TestApp) {
    let (_, token) = app.staff("STAR", Role::ServiceAdvisor).await;
    app.create_customer(&token, "李娜", "139 1234 5678").await;
}

fn otp_code(body: &serde_json::Value) -> String {
    body["params"]["code"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_customer_logs_in_with_the_code_the_sms_webhook_received() {
    let app = spawn_app().await;
    customer_with_phone(&app).await;
    let asked = app
        .post(
            "/api/v1/auth/otp",
            None,
            &json!({"dealer_code": "STAR", "phone": "+86 13912345678"}),
        )
        .await;
    assert_eq!(asked.status, StatusCode::ACCEPTED);

    let (sms, signature, raw) = app.sms.wait_for("+8613912345678").await;
    let code = otp_code(&sms);
    assert_eq!(code.len(), 6);
    assert!(sms["text"].as_str().unwrap().contains(&code), "{sms}");
    assert!(sms["text"].as_str().unwrap().contains("验证码"));
    assert_eq!(sms["template"], "otp");
    let mut mac = Hmac::<Sha256>::new_from_slice(SMS_SECRET.as_bytes()).unwrap();
    mac.update(&raw);
    assert_eq!(
        signature,
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    );

    let ok = app
        .post(
            "/api/v1/auth/otp/verify",
            None,
            &json!({"dealer_code": "STAR", "phone": "13912345678", "code": code}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let me = app
        .get("/api/v1/me", ok.body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(me.body["roles"], json!(["customer"]));
    assert_eq!(me.body["kind"], "customer");
    assert!(me.body["customer_id"].is_string());

    // single use
    let again = app
        .post(
            "/api/v1/auth/otp/verify",
            None,
            &json!({"dealer_code": "STAR", "phone": "13912345678", "code": code}),
        )
        .await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_unknown_phone_gets_the_same_202_and_no_sms() {
    let app = spawn_app().await;
    customer_with_phone(&app).await;
    let unknown = app
        .post(
            "/api/v1/auth/otp",
            None,
            &json!({"dealer_code": "STAR", "phone": "13700000000"}),
        )
        .await;
    let known = app
        .post(
            "/api/v1/auth/otp",
            None,
            &json!({"dealer_code": "STAR", "phone": "13912345678"}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::ACCEPTED);
    assert_eq!(unknown.body, known.body);
    app.sms.wait_for("+8613912345678").await;
    assert!(app.sms.messages_to("+8613700000000").is_empty());
    // the same work for both: a stored code and a counted send each
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    use servicelane::entities::{otp_code, otp_quota};
    for phone in ["+8613700000000", "+8613912345678"] {
        let codes = otp_code::Entity::find()
            .filter(otp_code::Column::Phone.eq(phone))
            .count(&app.state.db)
            .await
            .unwrap();
        assert_eq!(codes, 1, "{phone}");
        let quota = otp_quota::Entity::find()
            .filter(otp_quota::Column::Phone.eq(phone))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(quota.sends, 1, "{phone}");
    }
}

#[tokio::test]
async fn a_code_expires_after_5_minutes() {
    let app = spawn_app().await;
    customer_with_phone(&app).await;
    app.post(
        "/api/v1/auth/otp",
        None,
        &json!({"dealer_code": "STAR", "phone": "13912345678"}),
    )
    .await;
    let code = otp_code(&app.sms.wait_for("+8613912345678").await.0);
    app.clock
        .advance(Duration::minutes(5) + Duration::seconds(1));
    let late = app
        .post(
            "/api/v1/auth/otp/verify",
            None,
            &json!({"dealer_code": "STAR", "phone": "13912345678", "code": code}),
        )
        .await;
    assert_eq!(late.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_code_allows_five_tries_then_not_even_the_right_one() {
    let app = spawn_app().await;
    customer_with_phone(&app).await;
    app.post(
        "/api/v1/auth/otp",
        None,
        &json!({"dealer_code": "STAR", "phone": "13912345678"}),
    )
    .await;
    let code = otp_code(&app.sms.wait_for("+8613912345678").await.0);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let a = app
            .post(
                "/api/v1/auth/otp/verify",
                None,
                &json!({"dealer_code": "STAR", "phone": "13912345678", "code": wrong}),
            )
            .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    let right = app
        .post(
            "/api/v1/auth/otp/verify",
            None,
            &json!({"dealer_code": "STAR", "phone": "13912345678", "code": code}),
        )
        .await;
    assert_eq!(right.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn failures_from_one_address_do_not_refuse_another_accounts_right_password() {
    let app = spawn_app().await;
    app.staff("STAR", Role::ServiceAdvisor).await;
    // 25 failures from one address (a dealership's NAT), each a different name
    for i in 0..25 {
        let a = app
            .post("/api/v1/auth/login", None, &json!({"dealer_code": "STAR", "username": format!("guess{i}"), "password": "wrong-password"}))
            .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let right = json!({"dealer_code": "STAR", "username": "service_advisor", "password": PASSWORD});
    let ok = app.post("/api/v1/auth/login", None, &right).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    // the address rule counted them all (it slows guessing down instead)
    assert_eq!(address_failures(&app, "127.0.0.1").await, Some(25));
}

#[tokio::test]
async fn a_second_code_is_not_sent_within_a_minute() {
    let app = spawn_app().await;
    customer_with_phone(&app).await;
    let ask = json!({"dealer_code": "STAR", "phone": "13912345678"});
    app.post("/api/v1/auth/otp", None, &ask).await;
    let first = otp_code(&app.sms.wait_for("+8613912345678").await.0);
    assert_eq!(
        app.post("/api/v1/auth/otp", None, &ask).await.status,
        StatusCode::ACCEPTED
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.sms.messages_to("+8613912345678").len(), 1);

    app.clock.advance(Duration::seconds(61));
    app.post("/api/v1/auth/otp", None, &ask).await;
    for _ in 0..100 {
        if app.sms.messages_to("+8613912345678").len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let all = app.sms.messages_to("+8613912345678");
    assert_eq!(all.len(), 2);
    // the newest code is the one that counts
    let second = otp_code(&all[1].0);
    let verify = |code: &str| json!({"dealer_code": "STAR", "phone": "13912345678", "code": code});
    if first != second {
        assert_eq!(
            app.post("/api/v1/auth/otp/verify", None, &verify(&first))
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        app.post("/api/v1/auth/otp/verify", None, &verify(&second))
            .await
            .status,
        StatusCode::OK
    );
}
