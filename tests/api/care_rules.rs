//! The rules a message meets when it leaves: the sending window, the
//! marketing cap, consent withdrawn by an SMS reply, the suppression list,
//! and the fallback chain down the customer's channels. The app's own
//! dispatcher is off; the tests drain the outbox on demand.

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use servicelane::care::outbox::{self, GreetingParams, NewMessage, Params, ReminderParams};
use servicelane::domain::Role;
use servicelane::domain::customer::{Channel, Locale};
use servicelane::domain::message::MessageKind;
use servicelane::domain::outbox::MessageState;
use servicelane::entities::outbox_message;
use uuid::Uuid;

use crate::helpers::*;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

async fn rows(app: &TestApp, kind: MessageKind) -> Vec<outbox_message::Model> {
    outbox_message::Entity::find()
        .filter(outbox_message::Column::Kind.eq(kind))
        .order_by_asc(outbox_message::Column::CreatedAt)
        .order_by_asc(outbox_message::Column::Id)
        .all(&app.state.db)
        .await
        .unwrap()
}

/// Dealer STAR (Asia/Shanghai) with an advisor; answers (dealer, advisor token).
async fn star(app: &TestApp) -> (Uuid, String) {
    let dealer = app.dealer_in("STAR", "Asia/Shanghai").await;
    let (_, advisor) = app.staff("STAR", Role::ServiceAdvisor).await;
    (dealer, advisor)
}

async fn customer(app: &TestApp, advisor: &str, body: Value) -> Value {
    let a = app.post("/api/v1/customers", Some(advisor), &body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    a.body
}

fn id(v: &Value) -> Uuid {
    v["id"].as_str().unwrap().parse().unwrap()
}

/// Writes a care message for the customer, as the planner will.
async fn enqueue(app: &TestApp, dealer: Uuid, c: &Value, kind: MessageKind, key: &str) -> Uuid {
    let params = match kind {
        MessageKind::MaintenanceDue => Params::Reminder(ReminderParams {
            dealer_name: "STAR".into(),
            vehicle: "京A12345".into(),
            due: "2027-03-10".into(),
            reason: "5000 km".into(),
        }),
        _ => Params::Greeting(GreetingParams {
            dealer_name: "STAR".into(),
            customer_name: "张伟".into(),
            occasion: "春节".into(),
        }),
    };
    let now = app.clock.now_utc();
    outbox::enqueue(
        &app.state.db,
        NewMessage {
            dealer_id: dealer,
            customer_id: Some(id(c)),
            about_customer_id: None,
            kind,
            occurrence_key: key.into(),
            channel: Channel::Sms,
            recipient: c["phone"].as_str().unwrap().into(),
            locale: Locale::ZhCn,
            params,
            subject: None,
            body: format!("{kind} {key}"),
            due_at: now,
            parent_id: None,
        },
        now,
    )
    .await
    .unwrap()
}

fn sent_of(app: &TestApp, to: &str, template: &str) -> usize {
    app.sms
        .messages_to(to)
        .iter()
        .filter(|m| m.0["template"] == template)
        .count()
}

#[tokio::test]
async fn quiet_hours_move_a_reminder_to_nine_local_and_let_a_login_code_through_at_23() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    // 23:00 in Shanghai
    app.clock.set(at("2027-03-01T15:00:00Z"));
    let (dealer, advisor) = star(&app).await;
    let c = customer(
        &app,
        &advisor,
        json!({"name": "张伟", "phone": "13912345678"}),
    )
    .await;
    let reminder = enqueue(&app, dealer, &c, MessageKind::MaintenanceDue, "r1").await;
    let otp = app
        .post(
            "/api/v1/auth/otp",
            None,
            &json!({"dealer_code": "STAR", "phone": "13912345678"}),
        )
        .await;
    assert_eq!(otp.status, StatusCode::ACCEPTED);
    app.dispatch_pending().await;

    let phone = "+8613912345678";
    assert_eq!(
        sent_of(&app, phone, "otp"),
        1,
        "a login code is transactional"
    );
    assert_eq!(sent_of(&app, phone, "maintenance_due"), 0);
    let r = &rows(&app, MessageKind::MaintenanceDue).await[0];
    assert_eq!(r.id, reminder);
    assert_eq!(r.state, MessageState::Queued, "moved, never dropped");
    assert_eq!(r.due_at, at("2027-03-02T01:00:00Z"), "09:00 local");

    app.clock.set(at("2027-03-02T00:59:00Z"));
    app.dispatch_pending().await;
    assert_eq!(sent_of(&app, phone, "maintenance_due"), 0);
    app.clock.set(at("2027-03-02T01:00:00Z"));
    app.dispatch_pending().await;
    assert_eq!(sent_of(&app, phone, "maintenance_due"), 1);

    // a dealer's own window is honoured: 21:00 local is inside 08:00–22:00
    let (_, manager) = app.staff("STAR", Role::ServiceManager).await;
    let put = app
        .put(
            "/api/v1/care/settings",
            &manager,
            &json!({"send_window_start": "08:00", "send_window_end": "22:00",
                    "marketing_cap": 3, "marketing_cap_days": 7}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    app.clock.set(at("2027-03-02T13:00:00Z"));
    enqueue(&app, dealer, &c, MessageKind::MaintenanceDue, "r2").await;
    app.dispatch_pending().await;
    assert_eq!(sent_of(&app, phone, "maintenance_due"), 2);
}

#[tokio::test]
async fn the_marketing_cap_holds_under_two_dispatchers_and_releases_the_rest_later() {
    let app = spawn_app_with(&[NO_DISPATCHER, ("SERVICELANE__CARE__BATCH", "1")]).await;
    app.clock.set(at("2027-03-01T03:00:00Z")); // 11:00 local
    let (dealer, advisor) = star(&app).await;
    let yes = json!([{"channel": "sms", "purpose": "marketing", "granted": true, "source": "paper_form"}]);
    let c = customer(
        &app,
        &advisor,
        json!({"name": "张伟", "phone": "13912345678", "consents": yes}),
    )
    .await;
    let silent = customer(
        &app,
        &advisor,
        json!({"name": "李娜", "phone": "13912345679"}),
    )
    .await;
    for n in 0..6 {
        enqueue(
            &app,
            dealer,
            &c,
            MessageKind::HolidayGreeting,
            &format!("g{n}"),
        )
        .await;
    }
    enqueue(
        &app,
        dealer,
        &silent,
        MessageKind::HolidayGreeting,
        "g-silent",
    )
    .await;

    let (a, b) = tokio::join!(
        servicelane::care::dispatcher::drain(&app.state, Uuid::now_v7()),
        servicelane::care::dispatcher::drain(&app.state, Uuid::now_v7())
    );
    a.unwrap();
    b.unwrap();
    let phone = "+8613912345678";
    assert_eq!(sent_of(&app, phone, "holiday_greeting"), 3, "3 in 7 days");
    let all = rows(&app, MessageKind::HolidayGreeting).await;
    let held: Vec<_> = all
        .iter()
        .filter(|m| m.customer_id == Some(id(&c)) && m.state == MessageState::Queued)
        .collect();
    assert_eq!(held.len(), 3);
    assert!(held.iter().all(|m| m.due_at > app.clock.now_utc()));
    // marketing needs a yes: the customer who gave none gets nothing
    let s = all
        .iter()
        .find(|m| m.customer_id == Some(id(&silent)))
        .unwrap();
    assert_eq!(s.state, MessageState::Suppressed);
    assert!(app.sms.messages_to("+8613912345679").is_empty());

    // a week later the first three have aged out: three more may go
    app.clock.advance(Duration::days(7) + Duration::minutes(1));
    app.dispatch_pending().await;
    assert_eq!(sent_of(&app, phone, "holiday_greeting"), 6);
}

#[tokio::test]
async fn an_app_customer_whose_push_fails_for_good_gets_the_sms_exactly_once() {
    let push = SmsSink::start().await;
    push.answer(&[Answering {
        status: 410,
        retry_after: None,
    }]);
    let push_url = push.url.clone();
    let app = spawn_app_with(&[
        NO_DISPATCHER,
        ("SERVICELANE__PUSH__WEBHOOK_URL", push_url.as_str()),
        ("SERVICELANE__PUSH__WEBHOOK_SECRET", "push-secret"),
    ])
    .await;
    app.clock.set(at("2027-03-01T03:00:00Z"));
    let (dealer, advisor) = star(&app).await;
    let c = customer(
        &app,
        &advisor,
        json!({"name": "张伟", "phone": "13912345678", "preferred_channel": "app"}),
    )
    .await;
    // the customer has the app: signed in once
    app.customer_token("STAR", "13912345678").await;
    let first = enqueue_on_first_channel(&app, dealer, &c, "app-1").await;
    assert_eq!(first.channel, Channel::App);
    app.dispatch_pending().await;

    let all = rows(&app, MessageKind::MaintenanceDue).await;
    assert_eq!(all.len(), 2, "{all:?}");
    let app_row = all.iter().find(|m| m.channel == Channel::App).unwrap();
    let sms_row = all.iter().find(|m| m.channel == Channel::Sms).unwrap();
    assert_eq!(app_row.state, MessageState::Failed);
    assert_eq!(sms_row.parent_id, Some(app_row.id));
    assert_eq!(sms_row.state, MessageState::Sent);
    assert_eq!(push.calls.lock().unwrap().len(), 1);
    assert_eq!(sent_of(&app, "+8613912345678", "maintenance_due"), 1);

    // the failure recorded again (a staff retry failing once more) writes no second SMS
    let (_, manager) = app.staff("STAR", Role::ServiceManager).await;
    push.answer(&[Answering {
        status: 410,
        retry_after: None,
    }]);
    let retry = app
        .post(
            &format!("/api/v1/care/messages/{}/retry", app_row.id),
            Some(&manager),
            &json!({}),
        )
        .await;
    assert_eq!(retry.status, StatusCode::ACCEPTED, "{}", retry.body);
    app.dispatch_pending().await;
    assert_eq!(rows(&app, MessageKind::MaintenanceDue).await.len(), 2);
    assert_eq!(sent_of(&app, "+8613912345678", "maintenance_due"), 1);
}

/// Writes a reminder on the customer's first channel, as the use cases do.
async fn enqueue_on_first_channel(
    app: &TestApp,
    dealer: Uuid,
    c: &Value,
    key: &str,
) -> outbox_message::Model {
    use servicelane::care::route::Addresses;
    let model = servicelane::entities::customer::Entity::find_by_id(id(c))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let (channel, recipient) = Addresses::of(&app.state.db, &model, app.clock.now_utc())
        .await
        .unwrap()
        .first()
        .unwrap();
    let now = app.clock.now_utc();
    let mid = outbox::enqueue(
        &app.state.db,
        NewMessage {
            dealer_id: dealer,
            customer_id: Some(id(c)),
            about_customer_id: None,
            kind: MessageKind::MaintenanceDue,
            occurrence_key: key.into(),
            channel,
            recipient,
            locale: Locale::ZhCn,
            params: Params::Reminder(ReminderParams {
                dealer_name: "STAR".into(),
                vehicle: "京A12345".into(),
                due: "2027-03-10".into(),
                reason: "5000 km".into(),
            }),
            subject: Some("保养提醒".into()),
            body: "reminder".into(),
            due_at: now,
            parent_id: None,
        },
        now,
    )
    .await
    .unwrap();
    outbox_message::Entity::find_by_id(mid)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn a_dead_number_goes_on_the_suppression_list_and_the_next_message_falls_back_to_email() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    app.clock.set(at("2027-03-01T03:00:00Z"));
    let (dealer, advisor) = star(&app).await;
    let c = customer(
        &app,
        &advisor,
        json!({"name": "张伟", "phone": "13912345678", "email": "zhang@example.com"}),
    )
    .await;
    let first = enqueue(&app, dealer, &c, MessageKind::MaintenanceDue, "m1").await;
    app.dispatch_pending().await;
    let receipt = json!({"message_id": first, "status": "failed", "at": app.clock.now_utc(),
                         "error": "UNDELIVERABLE: number does not exist", "permanent": true});
    let a = app
        .post_signed("/api/v1/care/receipts/sms", &receipt, SMS_SECRET)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["state"], "failed");
    // the failed SMS itself falls back to email at once
    let after_first = rows(&app, MessageKind::MaintenanceDue).await;
    let email = after_first
        .iter()
        .find(|m| m.channel == Channel::Email)
        .expect("an email child");
    assert_eq!(email.parent_id, Some(first));
    assert_eq!(email.recipient, "zhang@example.com");

    let (_, manager) = app.staff("STAR", Role::ServiceManager).await;
    let list = app.get("/api/v1/care/suppressions", &manager).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert_eq!(list.body[0]["address"], "+8613912345678");
    assert_eq!(list.body[0]["channel"], "sms");

    // the next message to the number is not sent on SMS, and falls back too
    let second = enqueue(&app, dealer, &c, MessageKind::MaintenanceDue, "m2").await;
    app.dispatch_pending().await;
    let all = rows(&app, MessageKind::MaintenanceDue).await;
    let s = all.iter().find(|m| m.id == second).unwrap();
    assert_eq!(s.state, MessageState::Suppressed);
    assert!(
        s.last_error
            .as_deref()
            .unwrap()
            .contains("suppression list")
    );
    assert!(
        all.iter()
            .any(|m| m.parent_id == Some(second) && m.channel == Channel::Email)
    );
    assert_eq!(sent_of(&app, "+8613912345678", "maintenance_due"), 1);

    // a working number again: taken off the list, the next message goes by SMS
    let sid = list.body[0]["id"].as_str().unwrap();
    let path = format!("/api/v1/care/suppressions/{sid}");
    let denied = app
        .send(app.http.delete(app.url(&path)).bearer_auth(&advisor))
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let gone = app
        .send(app.http.delete(app.url(&path)).bearer_auth(&manager))
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let again = app
        .send(app.http.delete(app.url(&path)).bearer_auth(&manager))
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    enqueue(&app, dealer, &c, MessageKind::MaintenanceDue, "m3").await;
    app.dispatch_pending().await;
    assert_eq!(sent_of(&app, "+8613912345678", "maintenance_due"), 2);
}

#[tokio::test]
async fn an_sms_reply_td_opts_the_number_out_and_login_codes_still_arrive() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    app.clock.set(at("2027-03-01T03:00:00Z"));
    let (dealer, advisor) = star(&app).await;
    let c = customer(
        &app,
        &advisor,
        json!({"name": "张伟", "phone": "13912345678"}),
    )
    .await;
    let path = "/api/v1/care/inbound/sms";
    let reply = |text: &str| json!({"from": "+8613912345678", "text": text, "received_at": "2027-03-01T02:59:00Z"});

    let forged = app.post_signed(path, &reply("退订"), "wrong").await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    let chat = app
        .post_signed(path, &reply("谢谢，周六见"), SMS_SECRET)
        .await;
    assert_eq!(chat.status, StatusCode::OK, "{}", chat.body);
    assert_eq!(chat.body["action"], "ignored");
    let bad = app
        .post_signed(
            path,
            &json!({"from": "not a phone", "text": "TD", "received_at": "2027-03-01T02:59:00Z"}),
            SMS_SECRET,
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.problem_fields(), vec!["from"]);

    let td = app.post_signed(path, &reply(" td "), SMS_SECRET).await;
    assert_eq!(td.status, StatusCode::OK, "{}", td.body);
    assert_eq!(td.body, json!({"action": "opted_out", "customers": 1}));
    // idempotent
    let again = app.post_signed(path, &reply("退订"), SMS_SECRET).await;
    assert_eq!(again.body["action"], "opted_out");

    let record = app
        .get(&format!("/api/v1/customers/{}", id(&c)), &advisor)
        .await;
    let consents = record.body["consents"].as_array().unwrap();
    for purpose in ["service", "marketing"] {
        assert!(
            consents.iter().any(|x| x["channel"] == "sms"
                && x["purpose"] == purpose
                && x["granted"] == false
                && x["source"] == "sms_reply"),
            "{consents:?}"
        );
    }
    assert_eq!(record.body["version"], c["version"].as_i64().unwrap() + 1);

    enqueue(&app, dealer, &c, MessageKind::MaintenanceDue, "after-td").await;
    app.post(
        "/api/v1/auth/otp",
        None,
        &json!({"dealer_code": "STAR", "phone": "13912345678"}),
    )
    .await;
    app.dispatch_pending().await;
    assert_eq!(sent_of(&app, "+8613912345678", "maintenance_due"), 0);
    assert_eq!(sent_of(&app, "+8613912345678", "otp"), 1);
    assert_eq!(
        rows(&app, MessageKind::MaintenanceDue).await[0].state,
        MessageState::Suppressed
    );
}

#[tokio::test]
async fn inbox_messages_are_marked_read_once_and_only_by_their_customer() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let s = crate::appointments::shop(&app, "STAR", "Asia/Shanghai", 3, 6).await;
    let (_, vehicle) = crate::appointments::owner(&app, &s, 1).await;
    let token = app.customer_token("STAR", "13900000001").await;
    let b = crate::appointments::book(&app, &s, &vehicle, &s.at(9, 0)).await;
    assert_eq!(b.status, StatusCode::CREATED, "{}", b.body);
    let inbox = app.get("/api/v1/inbox", &token).await;
    let mid = inbox.body[0]["id"].as_str().unwrap().to_string();
    assert!(inbox.body[0]["read_at"].is_null());

    let path = format!("/api/v1/inbox/{mid}/read");
    let read = app.post(&path, Some(&token), &json!({})).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    let first = read.body["read_at"].as_str().unwrap().to_string();
    app.clock.advance(Duration::minutes(5));
    let again = app.post(&path, Some(&token), &json!({})).await;
    assert_eq!(
        again.body["read_at"],
        first.as_str(),
        "the first read stays"
    );
    assert_eq!(
        app.get("/api/v1/inbox", &token).await.body[0]["read_at"],
        first.as_str()
    );

    crate::appointments::owner(&app, &s, 2).await;
    let other = app.customer_token("STAR", "13900000002").await;
    let theirs = app.post(&path, Some(&other), &json!({})).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    let staff = app.post(&path, Some(&s.advisor), &json!({})).await;
    assert_eq!(staff.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn care_settings_are_validated_by_field_and_kept_per_dealer() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let (_, advisor) = star(&app).await;
    let (_, manager) = app.staff("STAR", Role::ServiceManager).await;
    let rules_of = |mut v: Value| {
        // the planner's kinds ride along (tests/api/care_planner.rs)
        let kinds = v.as_object_mut().unwrap().remove("kinds").unwrap();
        assert_eq!(kinds["birthday"]["enabled"], true);
        v
    };
    let got = app.get("/api/v1/care/settings", &advisor).await;
    assert_eq!(
        rules_of(got.body),
        json!({"send_window_start": "09:00", "send_window_end": "20:00",
               "marketing_cap": 3, "marketing_cap_days": 7})
    );
    let body = json!({"send_window_start": "08:30", "send_window_end": "21:00",
                      "marketing_cap": 2, "marketing_cap_days": 14});
    let denied = app.put("/api/v1/care/settings", &advisor, &body).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let bad = app
        .put(
            "/api/v1/care/settings",
            &manager,
            &json!({"send_window_start": "08:30", "send_window_end": "21:00",
                    "marketing_cap": 0, "marketing_cap_days": 4000000000u64}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let bad_time = app
        .put(
            "/api/v1/care/settings",
            &manager,
            &json!({"send_window_start": "25:00", "send_window_end": "21:00",
                    "marketing_cap": 3, "marketing_cap_days": 7}),
        )
        .await;
    assert_eq!(bad_time.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_time.problem_fields(), vec!["send_window_start"]);
    let ok = app.put("/api/v1/care/settings", &manager, &body).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(
        rules_of(app.get("/api/v1/care/settings", &advisor).await.body),
        body
    );
    // another dealer still has the defaults
    app.dealer("MOON").await;
    let (_, other) = app.staff("MOON", Role::ServiceAdvisor).await;
    assert_eq!(
        app.get("/api/v1/care/settings", &other).await.body["marketing_cap"],
        3
    );
}

#[tokio::test]
async fn a_receipt_from_the_future_is_refused_by_field() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let (dealer, advisor) = star(&app).await;
    let c = customer(
        &app,
        &advisor,
        json!({"name": "张伟", "phone": "13912345678"}),
    )
    .await;
    app.clock.set(at("2027-03-01T03:00:00Z"));
    let m = enqueue(&app, dealer, &c, MessageKind::MaintenanceDue, "f1").await;
    app.dispatch_pending().await;
    let receipt = json!({"message_id": m, "status": "delivered",
                         "at": app.clock.now_utc() + Duration::days(400)});
    let a = app
        .post_signed("/api/v1/care/receipts/sms", &receipt, SMS_SECRET)
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.problem_fields(), vec!["at"]);
    let ok = json!({"message_id": m, "status": "delivered", "at": app.clock.now_utc()});
    let a = app
        .post_signed("/api/v1/care/receipts/sms", &ok, SMS_SECRET)
        .await;
    assert_eq!(a.body["state"], "delivered");
}
