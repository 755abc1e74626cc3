//! The outbox: every message is a row written with its cause, delivered by a
//! dispatcher that never sends twice on a guess. These tests run with no
//! dispatcher of the app's own and drain it on demand.

use chrono::Duration;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use servicelane::care::dispatcher::{self, Begun, Settled};
use servicelane::care::outbox::{self, AppointmentParams, NewMessage, Params};
use servicelane::domain::Role;
use servicelane::domain::customer::{Channel, Locale};
use servicelane::domain::message::MessageKind;
use servicelane::domain::outbox::{AttemptOutcome, MessageState};
use servicelane::entities::{outbox_attempt, outbox_message};
use uuid::Uuid;

use crate::appointments::{book, owner, shop};
use crate::helpers::*;

const PHONE: &str = "+8613912345678";

async fn messages(app: &TestApp) -> Vec<outbox_message::Model> {
    outbox_message::Entity::find()
        .order_by_asc(outbox_message::Column::CreatedAt)
        .order_by_asc(outbox_message::Column::Id)
        .all(&app.state.db)
        .await
        .unwrap()
}

async fn attempts(app: &TestApp, id: Uuid) -> Vec<outbox_attempt::Model> {
    outbox_attempt::Entity::find()
        .filter(outbox_attempt::Column::MessageId.eq(id))
        .order_by_asc(outbox_attempt::Column::Attempt)
        .order_by_asc(outbox_attempt::Column::StartedAt)
        .all(&app.state.db)
        .await
        .unwrap()
}

/// A dealer STAR with an advisor, and a customer whose OTP is asked for:
/// one SMS in the outbox. Answers the advisor's token.
async fn otp_queued(app: &TestApp) -> String {
    let (_, advisor) = app.staff("STAR", Role::ServiceAdvisor).await;
    app.create_customer(&advisor, "张伟", "13912345678").await;
    let a = app
        .post(
            "/api/v1/auth/otp",
            None,
            &json!({"dealer_code": "STAR", "phone": "13912345678"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    advisor
}

fn answering(status: u16, retry_after: Option<u64>) -> Answering {
    Answering {
        status,
        retry_after,
    }
}

async fn post_receipt(app: &TestApp, body: &serde_json::Value, secret: &str) -> Answer {
    app.post_signed("/api/v1/care/receipts/sms", body, secret)
        .await
}

#[tokio::test]
async fn a_webhook_answering_500_then_429_then_200_delivers_once_with_every_attempt_recorded() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    otp_queued(&app).await;
    app.sms
        .answer(&[answering(500, None), answering(429, Some(1))]);

    assert_eq!(app.dispatch_pending().await, 1);
    let m = &messages(&app).await[0];
    assert_eq!(m.state, MessageState::Queued);
    assert_eq!(m.attempts, 1);
    assert!(m.due_at > app.clock.now_utc(), "backs off before retrying");
    // not due yet: nothing is taken however often the dispatcher looks
    assert_eq!(app.dispatch_pending().await, 0);
    assert_eq!(app.sms.calls.lock().unwrap().len(), 1);

    app.clock.advance(Duration::hours(1));
    app.dispatch_pending().await;
    let m = &messages(&app).await[0];
    assert_eq!(m.state, MessageState::Queued);
    assert!(
        m.due_at >= app.clock.now_utc() + Duration::seconds(1),
        "Retry-After honoured"
    );

    app.clock.advance(Duration::hours(1));
    app.dispatch_pending().await;
    let m = &messages(&app).await[0];
    assert_eq!(m.state, MessageState::Sent);
    assert_eq!(m.attempts, 3);
    let calls = app.sms.calls.lock().unwrap().clone();
    assert_eq!(
        calls.iter().map(|c| c.status).collect::<Vec<_>>(),
        [500, 429, 200]
    );
    // every call carried the same idempotency key: the message id
    assert!(calls.iter().all(|c| c.key == m.id.to_string()));
    let sent = app.sms.messages_to(PHONE);
    assert_eq!(sent.len(), 1);
    // the code left; it is not kept in the clear
    let code = sent[0].0["params"]["code"].as_str().unwrap();
    assert_eq!(code.len(), 6);
    assert!(!m.body.contains(code) && m.params["code"] == "");
    let log = attempts(&app, m.id).await;
    assert_eq!(
        log.iter()
            .map(|a| (a.outcome, a.status_code))
            .collect::<Vec<_>>(),
        [
            (AttemptOutcome::Retry, Some(500)),
            (AttemptOutcome::Retry, Some(429)),
            (AttemptOutcome::Sent, Some(200)),
        ]
    );
}

#[tokio::test]
async fn an_appointment_booked_while_the_sms_provider_is_down_is_told_once_it_is_back() {
    let (sink, port) = SmsSink::down();
    let app = spawn_app_with_sink(sink, &[NO_DISPATCHER]).await;
    let s = shop(&app, "STAR", "Asia/Shanghai", 3, 3).await;
    let (_, vehicle) = owner(&app, &s, 7).await;

    let a = book(&app, &s, &vehicle, &s.at(9, 0)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    app.dispatch_pending().await;
    let m = &messages(&app).await[0];
    assert_eq!(m.kind, MessageKind::AppointmentBooked);
    assert_eq!(
        m.state,
        MessageState::Queued,
        "connection refused is retried"
    );
    assert!(
        m.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("unreachable")
    );

    app.sms.start_at(port);
    app.clock.advance(Duration::hours(1));
    app.dispatch_pending().await;
    app.clock.advance(Duration::hours(1));
    app.dispatch_pending().await;
    let told = app.sms.messages_to("+8613900000007");
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].0["template"], "appointment_booked");
    assert_eq!(told[0].0["message_id"], m.id.to_string());
    assert_eq!(messages(&app).await[0].state, MessageState::Sent);
}

#[tokio::test]
async fn two_dispatchers_draining_300_messages_deliver_each_exactly_once() {
    let app = spawn_app_with(&[NO_DISPATCHER, ("SERVICELANE__CARE__BATCH", "20")]).await;
    let dealer = app.dealer("STAR").await;
    let now = app.clock.now_utc();
    for n in 0..300 {
        outbox::enqueue(
            &app.state.db,
            NewMessage {
                dealer_id: dealer,
                customer_id: None,
                about_customer_id: None,
                kind: MessageKind::AppointmentBooked,
                occurrence_key: format!("bulk-{n}"),
                channel: Channel::Sms,
                recipient: format!("+86139{:08}", n),
                locale: Locale::ZhCn,
                params: Params::Appointment(AppointmentParams {
                    dealer_name: "STAR".into(),
                    when: "2027-01-04 09:00".into(),
                    vehicle: "京A12345".into(),
                    services: "小保养".into(),
                }),
                subject: None,
                body: format!("message {n}"),
                due_at: now,
                parent_id: None,
            },
            now,
        )
        .await
        .unwrap();
    }
    let (a, b) = tokio::join!(
        dispatcher::drain(&app.state, Uuid::now_v7()),
        dispatcher::drain(&app.state, Uuid::now_v7())
    );
    assert_eq!(a.unwrap() + b.unwrap(), 300);
    let delivered = app.sms.accepted_by_key();
    assert_eq!(delivered.len(), 300);
    assert!(delivered.values().all(|&n| n == 1), "each exactly once");
    assert!(
        messages(&app)
            .await
            .iter()
            .all(|m| m.state == MessageState::Sent && m.attempts == 1)
    );
}

#[tokio::test]
async fn a_dispatcher_stopped_mid_call_leaves_the_message_unknown_until_a_receipt_settles_it() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    otp_queued(&app).await;
    let worker = Uuid::now_v7();
    let claimed = dispatcher::claim(&app.state, worker, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let Begun::Submitting { .. } = dispatcher::begin(&app.state, worker, &claimed[0])
        .await
        .unwrap()
    else {
        panic!("not begun")
    };
    // the worker stops here, before the provider call

    assert_eq!(
        app.dispatch_pending().await,
        0,
        "a submitting row is not resent"
    );
    app.clock.advance(Duration::seconds(61));
    app.dispatch_pending().await;
    let m = &messages(&app).await[0];
    assert_eq!(m.state, MessageState::Unknown);
    // never sent again, so the login code's text is gone at once
    assert_eq!(m.body, servicelane::care::outbox::REDACTED);
    assert_eq!(m.params["code"], "");
    app.clock.advance(Duration::hours(1));
    app.dispatch_pending().await;
    assert!(
        app.sms.calls.lock().unwrap().is_empty(),
        "never resent blindly"
    );

    let receipt = json!({"message_id": m.id, "status": "delivered", "at": app.clock.now_utc()});
    let forged = post_receipt(&app, &receipt, "not-the-secret").await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    assert_eq!(forged.content_type(), "application/problem+json");
    let a = post_receipt(&app, &receipt, SMS_SECRET).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["state"], "delivered");
    // idempotent, and states only move forward
    let again = post_receipt(&app, &receipt, SMS_SECRET).await;
    assert_eq!(again.body["state"], "delivered");
    let late_failure = post_receipt(
        &app,
        &json!({"message_id": m.id, "status": "failed", "at": app.clock.now_utc(), "error": "late"}),
        SMS_SECRET,
    )
    .await;
    assert_eq!(late_failure.body["state"], "delivered");
    assert_eq!(messages(&app).await[0].state, MessageState::Delivered);
    let unknown_id = post_receipt(
        &app,
        &json!({"message_id": Uuid::now_v7(), "status": "delivered", "at": app.clock.now_utc()}),
        SMS_SECRET,
    )
    .await;
    assert_eq!(unknown_id.status, StatusCode::NOT_FOUND);
    let bad = post_receipt(
        &app,
        &json!({"message_id": m.id, "status": "read", "at": app.clock.now_utc()}),
        SMS_SECRET,
    )
    .await;
    assert_eq!(bad.problem_fields(), ["status"], "{}", bad.body);
}

#[tokio::test]
async fn a_late_writer_whose_lease_ended_is_fenced_off() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    otp_queued(&app).await;
    let slow = Uuid::now_v7();
    let claimed = dispatcher::claim(&app.state, slow, 10).await.unwrap();
    let Begun::Submitting {
        message,
        attempt_id,
    } = dispatcher::begin(&app.state, slow, &claimed[0])
        .await
        .unwrap()
    else {
        panic!("not begun")
    };
    let outcome = dispatcher::call(&app.state, &message).await;
    // the call outlived the lease; meanwhile another dispatcher looked
    app.clock.advance(Duration::seconds(61));
    app.dispatch_pending().await;
    assert_eq!(messages(&app).await[0].state, MessageState::Unknown);

    let settled = dispatcher::settle(&app.state, slow, &message, attempt_id, &outcome)
        .await
        .unwrap();
    assert_eq!(settled, Settled::Fenced);
    let m = &messages(&app).await[0];
    assert_eq!(m.state, MessageState::Unknown);
    // what the provider answered is still on record, against the attempt
    assert_eq!(attempts(&app, m.id).await[0].outcome, AttemptOutcome::Sent);
    app.clock.advance(Duration::hours(1));
    app.dispatch_pending().await;
    assert_eq!(app.sms.calls.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_opt_out_between_enqueue_and_send_sends_nothing() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let s = shop(&app, "STAR", "Asia/Shanghai", 3, 3).await;
    let (customer, vehicle) = owner(&app, &s, 8).await;
    let a = book(&app, &s, &vehicle, &s.at(9, 0)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);

    let c = app
        .get(&format!("/api/v1/customers/{customer}"), &s.advisor)
        .await;
    let p = app
        .patch(
            &format!("/api/v1/customers/{customer}"),
            &s.advisor,
            Some(&c.etag()),
            &json!({"consents": [{"channel": "sms", "purpose": "service", "granted": false, "source": "phone_call"}]}),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);

    app.dispatch_pending().await;
    assert!(app.sms.calls.lock().unwrap().is_empty());
    let m = &messages(&app).await[0];
    assert_eq!(m.state, MessageState::Suppressed);
    assert!(
        m.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("refused")
    );
}

#[tokio::test]
async fn staff_see_every_attempt_and_managers_send_a_dead_message_again() {
    let app = spawn_app_with(&[NO_DISPATCHER, ("SERVICELANE__CARE__MAX_ATTEMPTS", "2")]).await;
    let s = shop(&app, "STAR", "Asia/Shanghai", 3, 3).await;
    let (customer, vehicle) = owner(&app, &s, 9).await;
    app.sms
        .answer(&[answering(503, None), answering(503, None)]);
    let a = book(&app, &s, &vehicle, &s.at(9, 0)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    app.dispatch_pending().await;
    app.clock.advance(Duration::minutes(10));
    app.dispatch_pending().await;
    let m = &messages(&app).await[0];
    assert_eq!(m.state, MessageState::Dead);

    let list = app
        .get(
            &format!(
                "/api/v1/care/messages?state=dead&kind=appointment_booked&customer_id={customer}"
            ),
            &s.advisor,
        )
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert_eq!(list.body[0]["attempt_log"].as_array().unwrap().len(), 2);
    assert_eq!(list.body[0]["attempt_log"][1]["status_code"], 503);
    let none = app
        .get("/api/v1/care/messages?state=sent", &s.advisor)
        .await;
    assert_eq!(none.body.as_array().unwrap().len(), 0);
    let bad = app
        .get("/api/v1/care/messages?state=lost", &s.advisor)
        .await;
    assert_eq!(bad.problem_fields(), ["state"], "{}", bad.body);

    let path = format!("/api/v1/care/messages/{}/retry", m.id);
    assert_eq!(
        app.post(&path, Some(&s.advisor), &json!({})).await.status,
        StatusCode::FORBIDDEN
    );
    let (_, other) = app.staff("MOON", Role::ServiceManager).await;
    assert_eq!(
        app.post(&path, Some(&other), &json!({})).await.status,
        StatusCode::NOT_FOUND
    );
    let a = app.post(&path, Some(&s.manager), &json!({})).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
    app.dispatch_pending().await;
    assert_eq!(messages(&app).await[0].state, MessageState::Sent);
    assert_eq!(app.sms.messages_to("+8613900000009").len(), 1);
    let again = app.post(&path, Some(&s.manager), &json!({})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn the_care_worker_command_delivers_what_an_api_only_instance_queued() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    otp_queued(&app).await;
    let mut worker = std::process::Command::new(env!("CARGO_BIN_EXE_servicelane"))
        .args(["care", "worker"])
        .env(
            "SERVICELANE_CONFIG_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config"),
        )
        .env("SERVICELANE__PROFILE", "test")
        .env("SERVICELANE__DATABASE__URL", &app.database_url)
        .env("SERVICELANE__DATA_DIR", &app.data_dir)
        .env("SERVICELANE__SMS__WEBHOOK_URL", &app.sms.url)
        .env("SERVICELANE__SMS__WEBHOOK_SECRET", SMS_SECRET)
        .env(
            "SERVICELANE__AUTH__JWT_SECRET",
            "test-secret-test-secret-test-secret-0123",
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // the worker is another process: wait for what it sends (bounded)
    for _ in 0..600 {
        if !app.sms.messages_to(PHONE).is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &worker.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    assert!(worker.wait().unwrap().success(), "stops cleanly on Ctrl-C");
    assert_eq!(app.sms.messages_to(PHONE).len(), 1);
    assert_eq!(messages(&app).await[0].state, MessageState::Sent);
}
