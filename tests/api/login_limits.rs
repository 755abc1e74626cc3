//! Issue 16 and issue 6 §2: bounded hashing, the lock-out under parallel
//! requests, client addresses behind proxies, OTP caps, the refresh race and
//! the cardinality of the metrics.

use chrono::Duration;
use futures_util::future::join_all;
use reqwest::StatusCode;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use servicelane::domain::Role;
use servicelane::entities::login_failure;

use crate::helpers::*;

/// Failures counted for `address` by the per-address rule.
pub async fn address_failures(app: &TestApp, address: &str) -> Option<i32> {
    login_failure::Entity::find_by_id(format!("address:{address}"))
        .one(&app.state.db)
        .await
        .unwrap()
        .map(|r| r.failures)
}

fn login_body(username: &str, password: &str) -> Value {
    json!({"dealer_code": "STAR", "username": username, "password": password})
}

#[tokio::test]
async fn a_burst_of_wrong_passwords_and_the_right_one_checks_at_most_the_threshold() {
    let app = spawn_app().await;
    app.staff("STAR", Role::ServiceAdvisor).await;
    let wrong = login_body("service_advisor", "wrong-password");
    let right = login_body("service_advisor", PASSWORD);
    let mut bodies = vec![wrong; 30];
    bodies.insert(15, right.clone());
    let answers = join_all(
        bodies
            .iter()
            .map(|b| app.post("/api/v1/auth/login", None, b)),
    )
    .await;
    let count = |s: StatusCode| answers.iter().filter(|a| a.status == s).count();
    let (ok, wrong_pw, refused) = (
        count(StatusCode::OK),
        count(StatusCode::UNAUTHORIZED),
        count(StatusCode::TOO_MANY_REQUESTS),
    );
    assert_eq!(ok + wrong_pw + refused, 31, "only 200, 401 and 429");
    // lockout_threshold is 5: no more passwords than that were checked
    // before the right one, nor after it (a success clears the count, so
    // when it lands before the burst's tail, five more may be checked)
    let most = if ok == 1 { 5 + 5 } else { 5 };
    assert!(ok <= 1);
    assert!(ok + wrong_pw <= most, "{ok} accepted and {wrong_pw} wrong");
    assert!(refused >= 31 - most);
    for a in answers
        .iter()
        .filter(|a| a.status == StatusCode::TOO_MANY_REQUESTS)
    {
        assert!(a.headers.contains_key("retry-after"));
    }
    if ok == 0 {
        // five wrong ones were checked: the account is locked, right password or not
        let after = app.post("/api/v1/auth/login", None, &right).await;
        assert_eq!(after.status, StatusCode::TOO_MANY_REQUESTS);
    }
}

#[tokio::test]
async fn with_one_hashing_slot_a_burst_gets_200_or_503_and_every_200_is_a_session() {
    let app = spawn_app_with(&[
        ("SERVICELANE__AUTH__HASH_CONCURRENCY", "1"),
        ("SERVICELANE__AUTH__HASH_WAIT_MS", "200"),
    ])
    .await;
    let (dealer, _) = app.staff("STAR", Role::ServiceAdvisor).await;
    let names: Vec<String> = (0..16).map(|i| format!("advisor{i}")).collect();
    for n in &names {
        app.user(dealer, n, Role::ServiceAdvisor).await;
    }

    // the only slot is taken: a login waits 200 ms, then 503 with Retry-After
    let held = app.state.passwords.slot().await.unwrap();
    for _ in 0..6 {
        let busy = app
            .post(
                "/api/v1/auth/login",
                None,
                &login_body("advisor0", PASSWORD),
            )
            .await;
        assert_eq!(
            busy.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            busy.body
        );
        assert_eq!(busy.content_type(), "application/problem+json");
        assert!(
            busy.headers["retry-after"]
                .to_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
                >= 1
        );
    }
    drop(held);
    let text = app.text("/metrics").await;
    assert!(
        text.contains("servicelane_password_hash_busy_total 6"),
        "{text}"
    );
    // six 503s were not six failures: the account is not locked
    let ok = app
        .post(
            "/api/v1/auth/login",
            None,
            &login_body("advisor0", PASSWORD),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);

    // a burst: each answer is a session or a 503, nothing else
    let bodies: Vec<Value> = names
        .iter()
        .chain(names.iter())
        .map(|n| login_body(n, PASSWORD))
        .collect();
    let answers = join_all(
        bodies
            .iter()
            .map(|b| app.post("/api/v1/auth/login", None, b)),
    )
    .await;
    for a in &answers {
        match a.status {
            StatusCode::OK => {
                let me = app
                    .get("/api/v1/me", a.body["access_token"].as_str().unwrap())
                    .await;
                assert_eq!(me.status, StatusCode::OK);
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(a.headers.contains_key("retry-after"));
            }
            other => panic!("unexpected {other}: {}", a.body),
        }
    }
}

#[tokio::test]
async fn forwarded_for_is_ignored_from_an_untrusted_peer() {
    let app = spawn_app().await;
    app.staff("STAR", Role::ServiceAdvisor).await;
    let a = app
        .send(
            app.http
                .post(app.url("/api/v1/auth/login"))
                .header("x-forwarded-for", "203.0.113.7")
                .json(&login_body("service_advisor", "wrong-password")),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(address_failures(&app, "127.0.0.1").await, Some(1));
    assert_eq!(address_failures(&app, "203.0.113.7").await, None);
}

#[tokio::test]
async fn forwarded_for_is_honoured_from_a_trusted_proxy() {
    let app = spawn_app_with(&[("SERVICELANE__SERVER__TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    app.staff("STAR", Role::ServiceAdvisor).await;
    // the client wrote 6.6.6.6 itself; our proxy appended 203.0.113.7
    let a = app
        .send(
            app.http
                .post(app.url("/api/v1/auth/login"))
                .header("x-forwarded-for", "6.6.6.6, 203.0.113.7")
                .json(&login_body("service_advisor", "wrong-password")),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(address_failures(&app, "203.0.113.7").await, Some(1));
    assert_eq!(address_failures(&app, "6.6.6.6").await, None);
    assert_eq!(address_failures(&app, "127.0.0.1").await, None);
}

fn otp(phone: &str) -> Value {
    json!({"dealer_code": "STAR", "phone": phone})
}

fn verify(phone: &str, code: &str) -> Value {
    json!({"dealer_code": "STAR", "phone": phone, "code": code})
}

async fn sms_count(app: &TestApp, to: &str, expected: usize) -> usize {
    for _ in 0..100 {
        if app.sms.messages_to(to).len() >= expected {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.sms.messages_to(to).len()
}

#[tokio::test]
async fn codes_sent_to_one_phone_are_capped_per_day_and_the_answer_stays_202() {
    let app = spawn_app_with(&[("SERVICELANE__AUTH__OTP_MAX_SENDS_PER_DAY", "2")]).await;
    let (_, token) = app.staff("STAR", Role::ServiceAdvisor).await;
    app.create_customer(&token, "李娜", "139 1234 5678").await;
    // noon in Shanghai, so the minutes below stay within one day there
    let now = app.clock.now_utc();
    let noon = now.date_naive().and_hms_opt(4, 0, 0).unwrap().and_utc();
    app.clock.advance(noon - now + Duration::days(1));
    let mut answers = vec![];
    for _ in 0..3 {
        answers.push(
            app.post("/api/v1/auth/otp", None, &otp("13912345678"))
                .await,
        );
        app.clock.advance(Duration::seconds(61));
    }
    let unknown = app
        .post("/api/v1/auth/otp", None, &otp("13700000000"))
        .await;
    for a in answers.iter().chain([&unknown]) {
        assert_eq!(a.status, StatusCode::ACCEPTED);
        assert_eq!(a.body, unknown.body);
    }
    assert_eq!(sms_count(&app, "+8613912345678", 2).await, 2);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        app.sms.messages_to("+8613912345678").len(),
        2,
        "the third is over the cap"
    );

    // the next day the phone gets codes again
    app.clock.advance(Duration::days(1));
    app.post("/api/v1/auth/otp", None, &otp("13912345678"))
        .await;
    assert_eq!(sms_count(&app, "+8613912345678", 3).await, 3);
}

#[tokio::test]
async fn code_checks_are_capped_per_phone_per_day_known_or_not() {
    let app = spawn_app_with(&[("SERVICELANE__AUTH__OTP_MAX_VERIFICATIONS_PER_DAY", "3")]).await;
    let (_, token) = app.staff("STAR", Role::ServiceAdvisor).await;
    app.create_customer(&token, "李娜", "139 1234 5678").await;
    let now = app.clock.now_utc();
    let noon = now.date_naive().and_hms_opt(4, 0, 0).unwrap().and_utc();
    app.clock.advance(noon - now + Duration::days(1));

    app.post("/api/v1/auth/otp", None, &otp("13912345678"))
        .await;
    let (sms, _, _) = app.sms.wait_for("+8613912345678").await;
    let code = sms["params"]["code"].as_str().unwrap().to_string();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for phone in ["13912345678", "13700000000"] {
        for _ in 0..3 {
            let a = app
                .post("/api/v1/auth/otp/verify", None, &verify(phone, wrong))
                .await;
            assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{phone}");
        }
        let capped = app
            .post("/api/v1/auth/otp/verify", None, &verify(phone, wrong))
            .await;
        assert_eq!(capped.status, StatusCode::TOO_MANY_REQUESTS, "{phone}");
        assert_eq!(capped.content_type(), "application/problem+json");
        let retry: i64 = capped.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        // until midnight in Shanghai: 12 hours from noon
        assert_eq!(retry, 12 * 3600, "{phone}");
    }
    // not even the right code today
    let right = app
        .post(
            "/api/v1/auth/otp/verify",
            None,
            &verify("13912345678", &code),
        )
        .await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);

    app.clock.advance(Duration::days(1));
    app.post("/api/v1/auth/otp", None, &otp("13912345678"))
        .await;
    assert_eq!(sms_count(&app, "+8613912345678", 2).await, 2);
    let fresh = app.sms.messages_to("+8613912345678")[1].0["params"]["code"]
        .as_str()
        .unwrap()
        .to_string();
    let ok = app
        .post(
            "/api/v1/auth/otp/verify",
            None,
            &verify("13912345678", &fresh),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
}

#[tokio::test]
async fn two_refreshes_of_one_token_at_once_leave_no_token_that_refreshes() {
    let app = spawn_app().await;
    app.staff("STAR", Role::ServiceAdvisor).await;
    let app = &app;
    let refresh = |t: String| async move {
        app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": t}))
            .await
    };
    for trial in 0..30 {
        let tokens = app.login_as("STAR", "service_advisor").await;
        let r = tokens["refresh_token"].as_str().unwrap().to_string();
        let (a, b) = tokio::join!(refresh(r.clone()), refresh(r.clone()));
        assert!(
            a.status == StatusCode::UNAUTHORIZED || b.status == StatusCode::UNAUTHORIZED,
            "trial {trial}: one of two uses of one token is a reuse"
        );
        for won in [a, b].into_iter().filter(|x| x.status == StatusCode::OK) {
            let next = won.body["refresh_token"].as_str().unwrap().to_string();
            let again = refresh(next).await;
            assert_eq!(
                again.status,
                StatusCode::UNAUTHORIZED,
                "trial {trial}: a token of a revoked family refreshed"
            );
        }
    }
}

#[tokio::test]
async fn a_token_written_into_a_family_after_its_revocation_does_not_refresh() {
    use sea_orm::{ActiveModelTrait, ColumnTrait, QueryFilter, Set};
    use servicelane::auth::tokens::{new_refresh_token, sha256_hex};
    use servicelane::entities::refresh_token;
    let app = spawn_app().await;
    app.staff("STAR", Role::ServiceAdvisor).await;
    let first = app.login_as("STAR", "service_advisor").await;
    let r1 = first["refresh_token"].as_str().unwrap();
    let app = &app;
    let refresh = |t: &str| {
        let body = json!({"refresh_token": t});
        async move { app.post("/api/v1/auth/refresh", None, &body).await }
    };
    assert_eq!(refresh(r1).await.status, StatusCode::OK);
    // reuse: the family is revoked
    assert_eq!(refresh(r1).await.status, StatusCode::UNAUTHORIZED);
    // what the winner of a race writes after the revoking UPDATE ran: a token
    // of the family that the UPDATE did not see
    let old = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(sha256_hex(r1)))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let late = new_refresh_token();
    refresh_token::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        token_hash: Set(sha256_hex(&late)),
        rotated_at: Set(None),
        revoked_at: Set(None),
        ..old.into()
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    assert_eq!(refresh(&late).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn invented_methods_and_random_paths_do_not_grow_the_metrics() {
    let app = spawn_app().await;
    let metrics = || async { app.text("/metrics").await };
    let odd = |i: usize| {
        let method = reqwest::Method::from_bytes(format!("M{i}X").as_bytes()).unwrap();
        app.http
            .request(method, app.url(&format!("/p{i}/{}", uuid::Uuid::now_v7())))
            .send()
    };
    // every kind of series once: an odd method, an odd path, /metrics itself
    odd(0).await.unwrap();
    app.http
        .get(app.url(&format!("/nowhere/{}", uuid::Uuid::now_v7())))
        .send()
        .await
        .unwrap();
    metrics().await;
    let before = metrics().await.len();
    for chunk in (1..=300).collect::<Vec<_>>().chunks(50) {
        for r in join_all(chunk.iter().map(|&i| odd(i))).await {
            assert_eq!(r.unwrap().status(), StatusCode::NOT_FOUND);
        }
    }
    let after = metrics().await;
    // only counts changed (a few more digits), no new series
    assert!(
        after.len() < before + 500,
        "{} bytes before, {} after:\n{after}",
        before,
        after.len()
    );
    assert!(
        after.contains(r#"method="other",route="unmatched""#),
        "{after}"
    );
}
