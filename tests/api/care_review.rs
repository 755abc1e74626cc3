//! The outbox's public edges tried from outside: dates out of every range,
//! a receipt read by an instance whose clock is behind, and the same
//! receipt, SMS reply and unsubscribe POST sent 20 times at once.

use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use servicelane::care::outbox::{self, NewMessage, Params, ReminderParams};
use servicelane::care::unsubscribe;
use servicelane::domain::Role;
use servicelane::domain::customer::{Channel, Locale, Purpose};
use servicelane::domain::message::MessageKind;
use servicelane::entities::{outbox_message, suppression};
use uuid::Uuid;

use crate::helpers::*;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn id(v: &Value) -> Uuid {
    v["id"].as_str().unwrap().parse().unwrap()
}

/// Dealer STAR with a customer reachable by SMS and email; answers
/// (dealer, customer, advisor token).
async fn shop(app: &TestApp) -> (Uuid, Value, String) {
    let dealer = app.dealer_in("STAR", "Asia/Shanghai").await;
    let (_, advisor) = app.staff("STAR", Role::ServiceAdvisor).await;
    let a = app
        .post(
            "/api/v1/customers",
            Some(&advisor),
            &json!({"name": "张伟", "phone": "13912345678", "email": "zhang@example.com"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    (dealer, a.body, advisor)
}

async fn reminder(app: &TestApp, dealer: Uuid, c: &Value, key: &str) -> Uuid {
    let now = app.clock.now_utc();
    outbox::enqueue(
        &app.state.db,
        NewMessage {
            dealer_id: dealer,
            customer_id: Some(id(c)),
            about_customer_id: None,
            kind: MessageKind::MaintenanceDue,
            occurrence_key: key.into(),
            channel: Channel::Sms,
            recipient: c["phone"].as_str().unwrap().into(),
            locale: Locale::ZhCn,
            params: Params::Reminder(ReminderParams {
                dealer_name: "STAR".into(),
                vehicle: "京A12345".into(),
                due: "2027-03-10".into(),
                reason: "5000 km".into(),
            }),
            subject: None,
            body: format!("reminder {key}"),
            due_at: now,
            parent_id: None,
        },
        now,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn message_list_dates_out_of_range_are_refused_by_field() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let (_, manager) = app.staff("STAR", Role::ServiceManager).await;
    for (q, field) in [
        ("from=-262143-01-01T00:00:00Z", "from"),
        ("to=%2B262142-12-31T00:00:00Z", "to"),
        ("from=0001-01-01T00:00:00Z", "from"),
    ] {
        let a = app
            .get(&format!("/api/v1/care/messages?{q}"), &manager)
            .await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{q}: {}",
            a.body
        );
        assert_eq!(a.content_type(), "application/problem+json");
        assert_eq!(a.problem_fields(), vec![field], "{q}");
    }
    let ok = app
        .get(
            "/api/v1/care/messages?from=2026-01-01T00:00:00Z&to=2200-12-31T00:00:00Z",
            &manager,
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
}

#[tokio::test]
async fn a_receipt_is_applied_by_an_instance_whose_clock_is_behind_the_message() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    app.clock.set(at("2027-03-01T03:00:00Z"));
    let (dealer, c, _) = shop(&app).await;
    let m = reminder(&app, dealer, &c, "skew").await;
    app.dispatch_pending().await;
    // the receipt reaches an instance whose clock is two seconds behind the
    // one that wrote the message
    app.clock.set(at("2027-03-01T02:59:58Z"));
    let receipt = json!({"message_id": m, "status": "delivered", "at": "2027-03-01T02:59:58Z"});
    let a = app
        .post_signed("/api/v1/care/receipts/sms", &receipt, SMS_SECRET)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["state"], "delivered");
    let row = outbox_message::Entity::find_by_id(m)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.settled_at, Some(row.created_at));
}

#[tokio::test]
async fn twenty_copies_of_a_dead_number_receipt_at_once_make_one_suppression_and_one_fallback() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    app.clock.set(at("2027-03-01T03:00:00Z"));
    let (dealer, c, _) = shop(&app).await;
    let m = reminder(&app, dealer, &c, "dead").await;
    app.dispatch_pending().await;
    let receipt = json!({"message_id": m, "status": "failed", "at": app.clock.now_utc(),
                         "error": "UNDELIVERABLE", "permanent": true});
    let answers = join_all(
        (0..20).map(|_| app.post_signed("/api/v1/care/receipts/sms", &receipt, SMS_SECRET)),
    )
    .await;
    for a in &answers {
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert_eq!(a.body["state"], "failed");
    }
    let suppressions = suppression::Entity::find()
        .filter(suppression::Column::DealerId.eq(dealer))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(suppressions, 1);
    let children = outbox_message::Entity::find()
        .filter(outbox_message::Column::ParentId.eq(m))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(children.len(), 1, "{children:?}");
    assert_eq!(children[0].channel, Channel::Email);
}

#[tokio::test]
async fn twenty_copies_of_an_sms_reply_and_of_an_unsubscribe_post_at_once_withdraw_once() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    app.clock.set(at("2027-03-01T03:00:00Z"));
    let (dealer, c, advisor) = shop(&app).await;
    let reply =
        json!({"from": "+8613912345678", "text": "退订", "received_at": "2027-03-01T02:59:00Z"});
    let token = unsubscribe::token(
        &app.state.tokens,
        &unsubscribe::Subject {
            dealer_id: dealer,
            customer_id: id(&c),
            channel: Channel::Email,
            purpose: Purpose::Marketing,
        },
    );
    let url = app.url(&format!("/u/{token}"));
    let replies = (0..20).map(|_| async {
        let a = app
            .post_signed("/api/v1/care/inbound/sms", &reply, SMS_SECRET)
            .await;
        (a.status, a.body.to_string())
    });
    let posts = (0..20).map(|_| async {
        let a = app
            .send(
                app.http
                    .post(url.clone())
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("List-Unsubscribe=One-Click"),
            )
            .await;
        (a.status, a.body.to_string())
    });
    let (replies, posts) = tokio::join!(join_all(replies), join_all(posts));
    for (status, body) in replies.iter().chain(posts.iter()) {
        assert_eq!(*status, StatusCode::OK, "{body}");
    }
    let record = app
        .get(&format!("/api/v1/customers/{}", id(&c)), &advisor)
        .await;
    // one change for the SMS reply, one for the link, however many copies
    assert_eq!(
        record.body["version"],
        c["version"].as_i64().unwrap() + 2,
        "{}",
        record.body
    );
    let refusals: Vec<&Value> = record.body["consents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["granted"] == false)
        .collect();
    assert_eq!(refusals.len(), 3, "{refusals:?}");
}

#[tokio::test]
async fn a_customer_reads_none_of_the_dealers_outbox_suppressions_settings_or_templates() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    app.clock.set(at("2027-03-01T03:00:00Z"));
    let (dealer, c, advisor) = shop(&app).await;
    // another customer's message and suppressed number at the same dealer
    let m = reminder(&app, dealer, &c, "other").await;
    app.dispatch_pending().await;
    let dead = json!({"message_id": m, "status": "failed", "at": app.clock.now_utc(),
                      "permanent": true});
    let a = app
        .post_signed("/api/v1/care/receipts/sms", &dead, SMS_SECRET)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let other = app
        .post(
            "/api/v1/customers",
            Some(&advisor),
            &json!({"name": "李娜", "phone": "13812345678"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.body);
    let customer = app.customer_token("STAR", "13812345678").await;
    for path in [
        "/api/v1/care/messages",
        "/api/v1/care/suppressions",
        "/api/v1/care/settings",
        "/api/v1/care/provider-templates",
    ] {
        let a = app.get(path, &customer).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}: {}", a.body);
        assert_eq!(a.content_type(), "application/problem+json");
        assert!(!a.body.to_string().contains("13912345678"), "{path}");
    }
    // staff still read them
    for path in ["/api/v1/care/messages", "/api/v1/care/suppressions"] {
        let a = app.get(path, &advisor).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.body);
        assert!(a.body.to_string().contains("+8613912345678"), "{path}");
    }
}

#[tokio::test]
async fn a_failure_receipt_racing_the_dispatchers_own_rejection_writes_one_fallback() {
    use servicelane::care::dispatcher::{self, Begun, Settled};
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    app.clock.set(at("2027-03-01T03:00:00Z"));
    let (dealer, c, _) = shop(&app).await;
    let m = reminder(&app, dealer, &c, "race").await;
    // the provider refuses the call for good (4xx), and its receipt saying
    // so overtakes our own record of the answer
    app.sms.answer(&[Answering {
        status: 400,
        retry_after: None,
    }]);
    let worker = Uuid::now_v7();
    let claimed = dispatcher::claim(&app.state, worker, 10).await.unwrap();
    let Begun::Submitting {
        message,
        attempt_id,
    } = dispatcher::begin(&app.state, worker, &claimed[0])
        .await
        .unwrap()
    else {
        panic!("not begun")
    };
    let outcome = dispatcher::call(&app.state, &message).await;
    let receipt = json!({"message_id": m, "status": "failed", "at": app.clock.now_utc(),
                         "error": "REJECTED"});
    let a = app
        .post_signed("/api/v1/care/receipts/sms", &receipt, SMS_SECRET)
        .await;
    assert_eq!(a.body["state"], "failed", "{}", a.body);
    let settled = dispatcher::settle(&app.state, worker, &message, attempt_id, &outcome)
        .await
        .unwrap();
    assert_eq!(settled, Settled::Fenced);
    // a second dispatcher finds nothing to resend
    app.dispatch_pending().await;
    let children = outbox_message::Entity::find()
        .filter(outbox_message::Column::ParentId.eq(m))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(children.len(), 1, "{children:?}");
    assert_eq!(children[0].channel, Channel::Email);
    assert_eq!(app.sms.calls.lock().unwrap().len(), 1, "the SMS left once");
}

/// The provider accepted the message, and the database refuses our record of
/// it for a while (a lock held past the wait): the record is written once the
/// lock goes, not given up and left for the sweep to call `unknown`.
#[tokio::test]
async fn an_answer_whose_record_meets_a_held_lock_is_written_once_the_lock_goes() {
    use sea_orm::{ConnectionTrait, Database, TransactionTrait};
    use servicelane::care::dispatcher::{self, Begun, Settled};
    use servicelane::domain::outbox::MessageState;
    let app = spawn_app_with(&[
        NO_DISPATCHER,
        ("SERVICELANE__DATABASE__BUSY_TIMEOUT_MS", "300"),
        ("SERVICELANE__DATABASE__LOCK_TIMEOUT_MS", "300"),
    ])
    .await;
    app.clock.set(at("2027-03-01T03:00:00Z"));
    let (dealer, c, _) = shop(&app).await;
    let m = reminder(&app, dealer, &c, "held").await;
    let worker = Uuid::now_v7();
    let claimed = dispatcher::claim(&app.state, worker, 10).await.unwrap();
    let Begun::Submitting {
        message,
        attempt_id,
    } = dispatcher::begin(&app.state, worker, &claimed[0])
        .await
        .unwrap()
    else {
        panic!("not begun")
    };
    let outcome = dispatcher::call(&app.state, &message).await;
    // another connection holds what the record needs, for longer than one wait
    let outside = Database::connect(&app.database_url).await.unwrap();
    let holding = outside.begin().await.unwrap();
    let lock = match outside.get_database_backend() {
        sea_orm::DbBackend::Sqlite => "UPDATE dealers SET name = name",
        _ => "LOCK TABLE outbox_messages IN SHARE MODE",
    };
    holding.execute_unprepared(lock).await.unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(900)).await;
        holding.rollback().await.unwrap();
    });
    let settled = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        dispatcher::settle(&app.state, worker, &message, attempt_id, &outcome),
    )
    .await
    .expect("the record waited without end")
    .expect("the record was given up");
    release.await.unwrap();
    assert_eq!(settled, Settled::Written(MessageState::Sent));
    let row = outbox_message::Entity::find_by_id(m)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.state, MessageState::Sent);
    assert!(row.sent_at.is_some());
    assert_eq!(app.sms.calls.lock().unwrap().len(), 1, "the SMS left once");
    outside.close().await.unwrap();
}

#[tokio::test]
async fn another_dealers_manager_sees_and_changes_none_of_the_care_records() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    app.clock.set(at("2027-03-01T03:00:00Z"));
    let (dealer, c, _) = shop(&app).await;
    let (_, star) = app.staff("STAR", Role::ServiceManager).await;
    let m = reminder(&app, dealer, &c, "tenancy").await;
    app.dispatch_pending().await;
    let dead = json!({"message_id": m, "status": "failed", "at": app.clock.now_utc(),
                      "permanent": true});
    let a = app
        .post_signed("/api/v1/care/receipts/sms", &dead, SMS_SECRET)
        .await;
    assert_eq!(a.body["state"], "failed", "{}", a.body);
    let template = json!({"template_code": "SMS_1", "sign_name": "星辉奔驰",
                          "params": {"vehicle": "vehicle"}});
    let a = app
        .put(
            "/api/v1/care/provider-templates/sms/maintenance_due",
            &star,
            &template,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let sid = app.get("/api/v1/care/suppressions", &star).await.body[0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    app.dealer("MOON").await;
    let (_, moon) = app.staff("MOON", Role::ServiceManager).await;
    for path in [
        "/api/v1/care/messages",
        "/api/v1/care/suppressions",
        "/api/v1/care/provider-templates",
    ] {
        let a = app.get(path, &moon).await;
        assert_eq!(a.status, StatusCode::OK, "{path}");
        assert_eq!(a.body, json!([]), "{path}");
    }
    let retry = app
        .post(
            &format!("/api/v1/care/messages/{m}/retry"),
            Some(&moon),
            &json!({}),
        )
        .await;
    assert_eq!(retry.status, StatusCode::NOT_FOUND, "{}", retry.body);
    for path in [
        format!("/api/v1/care/suppressions/{sid}"),
        "/api/v1/care/provider-templates/sms/maintenance_due".to_string(),
    ] {
        let a = app
            .send(app.http.delete(app.url(&path)).bearer_auth(&moon))
            .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
    }
    let rules = json!({"send_window_start": "00:00", "send_window_end": "00:00",
                       "marketing_cap": 50, "marketing_cap_days": 1});
    assert_eq!(
        app.put("/api/v1/care/settings", &moon, &rules).await.status,
        StatusCode::OK
    );
    // STAR's records are as they were
    assert_eq!(
        app.get("/api/v1/care/suppressions", &star).await.body[0]["id"],
        sid.as_str()
    );
    let t = app.get("/api/v1/care/provider-templates", &star).await;
    assert_eq!(t.body.as_array().unwrap().len(), 1);
    let s = app.get("/api/v1/care/settings", &star).await;
    assert_eq!(s.body["send_window_start"], "09:00");
    assert_eq!(s.body["marketing_cap"], 3);
    let row = outbox_message::Entity::find_by_id(m)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.state.as_str(), "failed");
}

/// Sends `m` as a dispatcher would, but the provider's receipt that it was
/// delivered arrives before the dispatcher records the provider's answer
/// (a fast gateway): the receipt settles the row, the late settle is fenced.
async fn delivered_before_settled(app: &TestApp, m: Uuid) {
    use servicelane::care::dispatcher::{self, Begun, Settled};
    let worker = Uuid::now_v7();
    let claimed = dispatcher::claim(&app.state, worker, 10).await.unwrap();
    let mine = claimed.iter().find(|c| c.id == m).expect("claimed");
    let Begun::Submitting {
        message,
        attempt_id,
    } = dispatcher::begin(&app.state, worker, mine).await.unwrap()
    else {
        panic!("not begun")
    };
    let outcome = dispatcher::call(&app.state, &message).await;
    let receipt = json!({"message_id": m, "status": "delivered", "at": app.clock.now_utc()});
    let a = app
        .post_signed("/api/v1/care/receipts/sms", &receipt, SMS_SECRET)
        .await;
    assert_eq!(a.body["state"], "delivered", "{}", a.body);
    let settled = dispatcher::settle(&app.state, worker, &message, attempt_id, &outcome)
        .await
        .unwrap();
    assert_eq!(settled, Settled::Fenced);
}

#[tokio::test]
async fn a_greeting_a_receipt_settled_before_the_dispatcher_still_counts_against_the_cap() {
    use servicelane::care::outbox::GreetingParams;
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    app.clock.set(at("2027-03-01T03:00:00Z")); // 11:00 local
    let dealer = app.dealer_in("STAR", "Asia/Shanghai").await;
    let (_, manager) = app.staff("STAR", Role::ServiceManager).await;
    let rules = json!({"send_window_start": "09:00", "send_window_end": "20:00",
                       "marketing_cap": 1, "marketing_cap_days": 7});
    assert_eq!(
        app.put("/api/v1/care/settings", &manager, &rules)
            .await
            .status,
        StatusCode::OK
    );
    let yes = json!([{"channel": "sms", "purpose": "marketing", "granted": true, "source": "paper_form"}]);
    let c = app
        .post(
            "/api/v1/customers",
            Some(&manager),
            &json!({"name": "张伟", "phone": "13912345678", "consents": yes}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    let greet = |key: &'static str| {
        let now = app.clock.now_utc();
        outbox::enqueue(
            &app.state.db,
            NewMessage {
                dealer_id: dealer,
                customer_id: Some(id(&c.body)),
                about_customer_id: None,
                kind: MessageKind::HolidayGreeting,
                occurrence_key: key.into(),
                channel: Channel::Sms,
                recipient: "+8613912345678".into(),
                locale: Locale::ZhCn,
                params: Params::Greeting(GreetingParams {
                    dealer_name: "STAR".into(),
                    customer_name: "张伟".into(),
                    occasion: "春节".into(),
                }),
                subject: None,
                body: format!("greeting {key}"),
                due_at: now,
                parent_id: None,
            },
            now,
        )
    };
    let first = greet("g1").await.unwrap();
    delivered_before_settled(&app, first).await;
    let row = outbox_message::Entity::find_by_id(first)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        row.sent_at.is_some(),
        "a delivered message was sent: {row:?}"
    );

    app.clock.advance(chrono::Duration::hours(1));
    let second = greet("g2").await.unwrap();
    app.dispatch_pending().await;
    let greetings = app
        .sms
        .messages_to("+8613912345678")
        .iter()
        .filter(|m| m.0["template"] == "holiday_greeting")
        .count();
    assert_eq!(greetings, 1, "one marketing message in 7 days");
    let held = outbox_message::Entity::find_by_id(second)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.state.as_str(), "queued");
    assert!(held.due_at > app.clock.now_utc());
}

#[tokio::test]
async fn a_login_code_settled_by_a_receipt_loses_its_text_too() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    app.clock.set(at("2027-03-01T03:00:00Z"));
    shop(&app).await;
    let a = app
        .post(
            "/api/v1/auth/otp",
            None,
            &json!({"dealer_code": "STAR", "phone": "13912345678"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
    let otp = outbox_message::Entity::find()
        .filter(outbox_message::Column::Kind.eq(MessageKind::Otp))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let code = otp.params["code"].as_str().unwrap().to_string();
    assert!(!code.is_empty());
    delivered_before_settled(&app, otp.id).await;
    let row = outbox_message::Entity::find_by_id(otp.id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.state.as_str(), "delivered");
    assert!(!row.body.contains(&code), "{}", row.body);
    assert_eq!(row.body, servicelane::care::outbox::REDACTED);
    assert_eq!(row.params["code"], "");
}
