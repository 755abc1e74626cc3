//! The WeChat mini-program against a loopback stand-in for WeChat's API:
//! login binds an openid only with proof of the phone, subscribe messages
//! spend one grant each and fall back when none is left, and the access
//! token is fetched once for many sends.

use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use servicelane::care::outbox::{self, NewMessage, Params, ReminderParams};
use servicelane::care::route::Addresses;
use servicelane::domain::Role;
use servicelane::domain::customer::{Channel, Locale};
use servicelane::domain::message::MessageKind;
use servicelane::domain::outbox::MessageState;
use servicelane::entities::{customer, outbox_message, wechat_binding};
use uuid::Uuid;

use crate::helpers::*;

/// WeChat's answers when nothing is scripted: every call succeeds.
fn default_answer(path: &str) -> Value {
    match path {
        "/sns/jscode2session" => json!({"openid": "o-1", "session_key": "k"}),
        "/cgi-bin/token" => json!({"access_token": "token-1", "expires_in": 7200}),
        "/cgi-bin/message/subscribe/send" => json!({"errcode": 0, "errmsg": "ok", "msgid": 123}),
        _ => json!({"errcode": 40001, "errmsg": "unexpected"}),
    }
}

const PUSH_TOKEN: &str = "wx-push-token";

/// The query WeChat signs a push with: sha1 of the sorted token, timestamp, nonce.
fn push_query(token: &str) -> String {
    use sha1::{Digest, Sha1};
    let (timestamp, nonce) = ("1772334000", "nonce-1");
    let mut parts = [token, timestamp, nonce];
    parts.sort_unstable();
    let signature = hex::encode(Sha1::digest(parts.concat().as_bytes()));
    format!("signature={signature}&timestamp={timestamp}&nonce={nonce}")
}

async fn wechat_app(stub: &ProviderStub, extra: &[(&str, &str)]) -> TestApp {
    let mut env = vec![
        NO_DISPATCHER,
        ("SERVICELANE__WECHAT__API_BASE", stub.url.as_str()),
        ("SERVICELANE__WECHAT__APP_ID", "wx-test-app"),
        ("SERVICELANE__WECHAT__APP_SECRET", "wx-test-secret"),
        ("SERVICELANE__WECHAT__PUSH_TOKEN", PUSH_TOKEN),
    ];
    env.extend_from_slice(extra);
    spawn_app_with(&env).await
}

/// Dealer STAR with an advisor and the customer 张伟 (preferring WeChat);
/// answers the advisor's token and the customer's id.
async fn star(app: &TestApp) -> (String, Uuid) {
    app.dealer_in("STAR", "Asia/Shanghai").await;
    let (_, advisor) = app.staff("STAR", Role::ServiceAdvisor).await;
    let c = app
        .post(
            "/api/v1/customers",
            Some(&advisor),
            &json!({"name": "张伟", "phone": "13912345678", "preferred_channel": "wechat"}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    (advisor, c.body["id"].as_str().unwrap().parse().unwrap())
}

/// Logs in with a WeChat code, proving the phone by SMS code.
async fn login_with_sms_code(app: &TestApp) -> Answer {
    let before = app.sms.messages_to("+8613912345678").len();
    app.post(
        "/api/v1/auth/otp",
        None,
        &json!({"dealer_code": "STAR", "phone": "13912345678"}),
    )
    .await;
    app.dispatch_pending().await;
    let all = app.sms.messages_to("+8613912345678");
    assert_eq!(all.len(), before + 1);
    let code = all.last().unwrap().0["params"]["code"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(
        "/api/v1/auth/wechat",
        None,
        &json!({"dealer_code": "STAR", "code": "wx-code",
                "otp": {"phone": "13912345678", "code": code}}),
    )
    .await
}

async fn bindings(app: &TestApp) -> Vec<wechat_binding::Model> {
    wechat_binding::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_openid_is_bound_only_with_proof_of_the_phone_and_then_logs_in_alone() {
    let stub = ProviderStub::start(default_answer);
    let app = wechat_app(&stub, &[]).await;
    app.clock.set("2027-03-01T03:00:00Z".parse().unwrap());
    let (_, customer) = star(&app).await;
    let login = json!({"dealer_code": "STAR", "code": "wx-code"});

    stub.answer(
        "/sns/jscode2session",
        json!({"errcode": 40029, "errmsg": "invalid code"}),
    );
    let bad = app.post("/api/v1/auth/wechat", None, &login).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);

    let unproven = app.post("/api/v1/auth/wechat", None, &login).await;
    assert_eq!(unproven.status, StatusCode::FORBIDDEN, "{}", unproven.body);
    assert_eq!(unproven.content_type(), "application/problem+json");

    // WeChat confirms a phone nobody at this dealer has: nothing is bound
    stub.answer(
        "/wxa/business/getuserphonenumber",
        json!({"errcode": 0, "phone_info": {"phoneNumber": "+86 13800000000",
               "purePhoneNumber": "13800000000", "countryCode": "86"}}),
    );
    let stranger = app
        .post(
            "/api/v1/auth/wechat",
            None,
            &json!({"dealer_code": "STAR", "code": "wx-code", "phone_code": "pc-1"}),
        )
        .await;
    assert_eq!(stranger.status, StatusCode::FORBIDDEN, "{}", stranger.body);
    assert!(bindings(&app).await.is_empty());

    // a wrong SMS code binds nothing either
    let wrong = app
        .post(
            "/api/v1/auth/wechat",
            None,
            &json!({"dealer_code": "STAR", "code": "wx-code",
                    "otp": {"phone": "13912345678", "code": "000000"}}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(bindings(&app).await.is_empty());

    let proven = login_with_sms_code(&app).await;
    assert_eq!(proven.status, StatusCode::OK, "{}", proven.body);
    let b = bindings(&app).await;
    assert_eq!(b.len(), 1);
    assert_eq!((b[0].openid.as_str(), b[0].customer_id), ("o-1", customer));

    let again = app.post("/api/v1/auth/wechat", None, &login).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    let me = app
        .get("/api/v1/me", again.body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(me.body["customer_id"], customer.to_string(), "{}", me.body);
}

#[tokio::test]
async fn subscribe_messages_spend_one_grant_each_share_one_token_and_fall_back_when_none_is_left() {
    let stub = ProviderStub::start(default_answer);
    // the app's push gateway knows no device for a mini-program user
    let push = SmsSink::start().await;
    push.answer(&[Answering {
        status: 410,
        retry_after: None,
    }]);
    let push_url = push.url.clone();
    let app = wechat_app(
        &stub,
        &[
            ("SERVICELANE__PUSH__WEBHOOK_URL", push_url.as_str()),
            ("SERVICELANE__PUSH__WEBHOOK_SECRET", "push-secret"),
        ],
    )
    .await;
    app.clock.set("2027-03-01T03:00:00Z".parse().unwrap());
    let (_, customer_id) = star(&app).await;
    let (_, manager) = app.staff("STAR", Role::ServiceManager).await;
    let tokens = login_with_sms_code(&app).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    let token = tokens.body["access_token"].as_str().unwrap().to_string();

    let put = app
        .put(
            "/api/v1/care/provider-templates/wechat/maintenance_due",
            &manager,
            &json!({"template_code": "tmpl-1", "params": {"thing1": "vehicle", "time2": "due"}}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    let mut open = 0;
    for _ in 0..3 {
        let g = app
            .post(
                "/api/v1/me/wechat-subscriptions",
                Some(&token),
                &json!({"template_id": "tmpl-1", "granted": true}),
            )
            .await;
        assert_eq!(g.status, StatusCode::OK, "{}", g.body);
        open = g.body["open_grants"].as_u64().unwrap();
    }
    assert_eq!(open, 3);
    let staff = app
        .post(
            "/api/v1/me/wechat-subscriptions",
            Some(&manager),
            &json!({"template_id": "tmpl-1", "granted": true}),
        )
        .await;
    assert_eq!(staff.status, StatusCode::FORBIDDEN);

    let c = customer::Entity::find_by_id(customer_id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let (channel, openid) = Addresses::of(&app.state.db, &c, app.clock.now_utc())
        .await
        .unwrap()
        .first()
        .unwrap();
    assert_eq!((channel, openid.as_str()), (Channel::Wechat, "o-1"));
    let now = app.clock.now_utc();
    let mut ids = vec![];
    for n in 0..4 {
        ids.push(
            outbox::enqueue(
                &app.state.db,
                NewMessage {
                    dealer_id: c.dealer_id,
                    customer_id: Some(c.id),
                    about_customer_id: None,
                    kind: MessageKind::MaintenanceDue,
                    occurrence_key: format!("w{n}"),
                    channel,
                    recipient: openid.clone(),
                    locale: Locale::ZhCn,
                    params: Params::Reminder(ReminderParams {
                        dealer_name: "STAR".into(),
                        vehicle: "京A12345".into(),
                        due: "2027-03-10".into(),
                        reason: "5000 km".into(),
                    }),
                    subject: Some("保养提醒".into()),
                    body: format!("reminder {n}"),
                    due_at: now,
                    parent_id: None,
                },
                now,
            )
            .await
            .unwrap(),
        );
    }
    for msgid in [101, 102, 103] {
        stub.answer(
            "/cgi-bin/message/subscribe/send",
            json!({"errcode": 0, "errmsg": "ok", "msgid": msgid}),
        );
    }
    app.dispatch_pending().await;

    let sent = stub.requests_to("/cgi-bin/message/subscribe/send");
    assert_eq!(sent.len(), 3, "one message per grant");
    assert_eq!(
        stub.requests_to("/cgi-bin/token").len(),
        1,
        "one token for every send"
    );
    assert!(
        sent.iter()
            .all(|r| r.query.contains("access_token=token-1"))
    );
    assert_eq!(
        sent[0].json(),
        json!({"touser": "o-1", "template_id": "tmpl-1", "page": "pages/index/index",
               "data": {"thing1": {"value": "京A12345"}, "time2": {"value": "2027-03-10"}}})
    );
    let rows = outbox_message::Entity::find()
        .filter(outbox_message::Column::Kind.eq(MessageKind::MaintenanceDue))
        .all(&app.state.db)
        .await
        .unwrap();
    let wechat_states: Vec<_> = ids
        .iter()
        .map(|id| rows.iter().find(|r| r.id == *id).unwrap().state)
        .collect();
    assert_eq!(
        wechat_states
            .iter()
            .filter(|s| **s == MessageState::Sent)
            .count(),
        3
    );
    // whichever came last found no grant left (they are sent concurrently)
    let last: Vec<_> = rows
        .iter()
        .filter(|r| ids.contains(&r.id) && r.state == MessageState::Failed)
        .collect();
    assert_eq!(last.len(), 1);
    assert!(last[0].last_error.as_deref().unwrap().contains("grant"));
    let first_id = rows
        .iter()
        .find(|r| r.provider_id.as_deref() == Some("101"))
        .unwrap()
        .id;
    // no grant left: the app (no device: 410), then the SMS carries it, once
    let sms = app.sms.messages_to("+8613912345678");
    assert_eq!(
        sms.iter()
            .filter(|m| m.0["template"] == "maintenance_due")
            .count(),
        1
    );
    assert_eq!(rows.len(), 6, "4 WeChat rows, one app and one SMS child");
    // WeChat's delivery event settles the first message; a forged push is refused
    let check = app
        .send(app.http.get(app.url(&format!(
            "/api/v1/care/reports/wechat?{}&echostr=hello",
            push_query(PUSH_TOKEN)
        ))))
        .await;
    assert_eq!(check.status, StatusCode::OK);
    let event = json!({"ToUserName": "gh_1", "FromUserName": "o-1", "CreateTime": 1772334000,
        "MsgType": "event", "Event": "subscribe_msg_sent_event",
        "SubscribeMsgSentEvent": {"List": {"TemplateId": "tmpl-1", "MsgID": "101",
            "ErrorCode": "0", "ErrorStatus": "success"}}});
    let forged = app
        .post(
            &format!(
                "/api/v1/care/reports/wechat?{}",
                push_query("not-the-token")
            ),
            None,
            &event,
        )
        .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    let pushed = app
        .post(
            &format!("/api/v1/care/reports/wechat?{}", push_query(PUSH_TOKEN)),
            None,
            &event,
        )
        .await;
    assert_eq!(pushed.status, StatusCode::OK);
    let first = outbox_message::Entity::find_by_id(first_id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.state, MessageState::Delivered);

    let open = app
        .post(
            "/api/v1/me/wechat-subscriptions",
            Some(&token),
            &json!({"template_id": "tmpl-1", "granted": false}),
        )
        .await;
    assert_eq!(open.body["open_grants"], 0);
}
