//! Templated SMS through Aliyun and Tencent Cloud, each against a local
//! listener that checks the request as the operator would: the fields, and
//! the signature recomputed with the published algorithm (whose unit tests
//! pin it to the operators' published examples).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use servicelane::care::outbox::{self, NewMessage, Params, ReminderParams};
use servicelane::domain::Role;
use servicelane::domain::customer::{Channel, Locale};
use servicelane::domain::message::MessageKind;
use servicelane::domain::outbox::MessageState;
use servicelane::entities::outbox_message;
use uuid::Uuid;

use crate::helpers::*;

const REPORT_TOKEN: &str = "report-token-0123456789";

/// The operator's whole API is one path; its answer when nothing is scripted
/// is success.
fn aliyun_ok(_: &str) -> Value {
    json!({"Code": "OK", "Message": "OK", "BizId": "biz-1", "RequestId": "r"})
}

fn tencent_ok(_: &str) -> Value {
    json!({"Response": {"SendStatusSet": [{"SerialNo": "sn-1",
        "PhoneNumber": "+8613912345678", "Fee": 1, "Code": "Ok", "Message": "send success"}],
        "RequestId": "r"}})
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// Dealer STAR with a manager and a customer who has an email; answers
/// (dealer, manager token, customer id).
async fn star(app: &TestApp) -> (Uuid, String, Uuid) {
    let dealer = app.dealer_in("STAR", "Asia/Shanghai").await;
    let (_, advisor) = app.staff("STAR", Role::ServiceAdvisor).await;
    let (_, manager) = app.staff("STAR", Role::ServiceManager).await;
    let c = app
        .post(
            "/api/v1/customers",
            Some(&advisor),
            &json!({"name": "张伟", "phone": "13912345678", "email": "zhang@example.com"}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    (
        dealer,
        manager,
        c.body["id"].as_str().unwrap().parse().unwrap(),
    )
}

async fn remind(app: &TestApp, dealer: Uuid, customer: Uuid, key: &str) -> Uuid {
    let now = app.clock.now_utc();
    outbox::enqueue(
        &app.state.db,
        NewMessage {
            dealer_id: dealer,
            customer_id: Some(customer),
            about_customer_id: None,
            kind: MessageKind::MaintenanceDue,
            occurrence_key: key.into(),
            channel: Channel::Sms,
            recipient: "+8613912345678".into(),
            locale: Locale::ZhCn,
            params: Params::Reminder(ReminderParams {
                dealer_name: "星辉奔驰".into(),
                vehicle: "京A12345".into(),
                due: "2027-03-10".into(),
                reason: "5000 km".into(),
            }),
            subject: None,
            body: "【星辉奔驰】您的车辆 京A12345 预计于 2027-03-10 需要保养".into(),
            due_at: now,
            parent_id: None,
        },
        now,
    )
    .await
    .unwrap()
}

async fn row(app: &TestApp, id: Uuid) -> outbox_message::Model {
    outbox_message::Entity::find_by_id(id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn aliyun_sends_the_dealers_template_signed_retries_throttling_and_takes_reports() {
    let op = ProviderStub::start(aliyun_ok);
    let endpoint = format!("{}/", op.url);
    let app = spawn_app_with(&[
        NO_DISPATCHER,
        ("SERVICELANE__CARE__SMS_PROVIDER", "aliyun"),
        ("SERVICELANE__ALIYUN__ENDPOINT", endpoint.as_str()),
        ("SERVICELANE__ALIYUN__ACCESS_KEY_ID", "test-key-id"),
        ("SERVICELANE__ALIYUN__ACCESS_KEY_SECRET", "test-key-secret"),
        ("SERVICELANE__ALIYUN__REPORT_TOKEN", REPORT_TOKEN),
    ])
    .await;
    app.clock.set(at("2027-03-01T03:00:00Z"));
    let (dealer, manager, customer) = star(&app).await;

    // no template yet: failed on SMS with the fix named, and the email carries it
    let first = remind(&app, dealer, customer, "no-template").await;
    app.dispatch_pending().await;
    let r = row(&app, first).await;
    assert_eq!(r.state, MessageState::Failed);
    assert!(
        r.last_error
            .as_deref()
            .unwrap()
            .contains("/api/v1/care/provider-templates/sms/maintenance_due"),
        "{:?}",
        r.last_error
    );
    assert!(op.requests_to("/").is_empty());
    let children = servicelane::entities::outbox_message::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(
        children
            .iter()
            .any(|m| m.parent_id == Some(first) && m.channel == Channel::Email)
    );

    let path = "/api/v1/care/provider-templates/sms/maintenance_due";
    let bad = app
        .put(
            path,
            &manager,
            &json!({"template_code": "SMS_71390007", "sign_name": "星辉奔驰", "params": {"car": "plate"}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.problem_fields(), vec!["params.car"]);
    let unknown_kind = app
        .put(
            "/api/v1/care/provider-templates/sms/no_such_kind",
            &manager,
            &json!({"template_code": "SMS_1", "sign_name": "星辉奔驰", "params": {}}),
        )
        .await;
    assert_eq!(unknown_kind.status, StatusCode::NOT_FOUND);
    let put = app
        .put(
            path,
            &manager,
            &json!({"template_code": "SMS_71390007", "sign_name": "星辉奔驰",
                    "params": {"car": "vehicle", "date": "due"}}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    let listed = app.get("/api/v1/care/provider-templates", &manager).await;
    assert_eq!(listed.body[0]["template_code"], "SMS_71390007");

    // throttled once, then taken: one send recorded, two attempts
    op.answer(
        "/",
        json!({"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控"}),
    );
    let second = remind(&app, dealer, customer, "templated").await;
    app.dispatch_pending().await;
    assert_eq!(row(&app, second).await.state, MessageState::Queued);
    app.clock.advance(chrono::Duration::minutes(10));
    app.dispatch_pending().await;
    let r = row(&app, second).await;
    assert_eq!(r.state, MessageState::Sent);
    assert_eq!(r.attempts, 2);
    assert_eq!(r.provider_id.as_deref(), Some("biz-1"));

    let requests = op.requests_to("/");
    assert_eq!(requests.len(), 2);
    let form: BTreeMap<String, String> = form_urlencoded::parse(&requests[1].body)
        .into_owned()
        .collect();
    assert_eq!(form["Action"], "SendSms");
    assert_eq!(form["PhoneNumbers"], "13912345678");
    assert_eq!(form["SignName"], "星辉奔驰");
    assert_eq!(form["TemplateCode"], "SMS_71390007");
    assert_eq!(form["OutId"], second.to_string());
    assert_eq!(form["AccessKeyId"], "test-key-id");
    let vars: Value = serde_json::from_str(&form["TemplateParam"]).unwrap();
    assert_eq!(vars, json!({"car": "京A12345", "date": "2027-03-10"}));
    let mut unsigned = form.clone();
    let sig = unsigned.remove("Signature").unwrap();
    assert_eq!(
        servicelane::care::aliyun::signature("test-key-secret", "POST", &unsigned),
        sig,
        "the operator recomputes the signature"
    );

    // delivery reports: a wrong token is refused, the right one settles the message
    let report = json!([{"phone_number": "13912345678", "send_time": "2027-03-01 11:10:00",
        "report_time": "2027-03-01 11:10:00", "success": true, "err_code": "DELIVERED",
        "err_msg": "用户接收成功", "sms_size": "1", "biz_id": "biz-1", "out_id": second.to_string()},
        {"success": true, "out_id": "someone-elses"}]);
    let wrong = app
        .post("/api/v1/care/reports/aliyun/wrong-token", None, &report)
        .await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND);
    let ok = app
        .post(
            &format!("/api/v1/care/reports/aliyun/{REPORT_TOKEN}"),
            None,
            &report,
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["code"], 0);
    let r = row(&app, second).await;
    assert_eq!(r.state, MessageState::Delivered);
    assert_eq!(
        r.settled_at,
        Some(at("2027-03-01T03:10:00Z")),
        "Beijing time read as such"
    );
}

#[tokio::test]
async fn tencent_sends_positional_variables_signed_with_tc3_and_takes_status_callbacks() {
    let op = ProviderStub::start(tencent_ok);
    let endpoint = format!("{}/", op.url);
    let app = spawn_app_with(&[
        NO_DISPATCHER,
        ("SERVICELANE__CARE__SMS_PROVIDER", "tencent"),
        ("SERVICELANE__TENCENT__ENDPOINT", endpoint.as_str()),
        ("SERVICELANE__TENCENT__SECRET_ID", "AKIDtest"),
        ("SERVICELANE__TENCENT__SECRET_KEY", "tencent-secret-key"),
        ("SERVICELANE__TENCENT__SDK_APP_ID", "1400000000"),
        ("SERVICELANE__TENCENT__REPORT_TOKEN", REPORT_TOKEN),
    ])
    .await;
    app.clock.set(at("2027-03-01T03:00:00Z"));
    let (dealer, manager, customer) = star(&app).await;
    let put = app
        .put(
            "/api/v1/care/provider-templates/sms/maintenance_due",
            &manager,
            &json!({"template_code": "1234567", "sign_name": "星辉奔驰",
                    "params": {"2": "due", "1": "vehicle", "10": "reason"}}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);

    // a bad template is failed at once, with Tencent's reason
    op.answer("/", json!({"Response": {"SendStatusSet": [{"Code": "FailedOperation.TemplateIncorrectOrUnapproved",
        "Message": "template is not approved"}], "RequestId": "r"}}));
    let refused = remind(&app, dealer, customer, "refused").await;
    app.dispatch_pending().await;
    let r = row(&app, refused).await;
    assert_eq!(r.state, MessageState::Failed);
    assert!(
        r.last_error
            .unwrap()
            .contains("TemplateIncorrectOrUnapproved")
    );

    let sent = remind(&app, dealer, customer, "sent").await;
    app.dispatch_pending().await;
    let r = row(&app, sent).await;
    assert_eq!(r.state, MessageState::Sent);
    assert_eq!(r.provider_id.as_deref(), Some("sn-1"));

    let req = op.requests_to("/").pop().unwrap();
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(body["PhoneNumberSet"], json!(["+8613912345678"]));
    assert_eq!(body["SmsSdkAppId"], "1400000000");
    assert_eq!(body["TemplateId"], "1234567");
    assert_eq!(body["SignName"], "星辉奔驰");
    assert_eq!(
        body["TemplateParamSet"],
        json!(["京A12345", "2027-03-10", "5000 km"])
    );
    assert_eq!(body["SessionContext"], sent.to_string());
    assert_eq!(req.headers["x-tc-action"], "SendSms");
    let timestamp: i64 = req.headers["x-tc-timestamp"].parse().unwrap();
    assert_eq!(timestamp, app.clock.now_utc().timestamp());
    let host = req.headers["host"].clone();
    let (signed, sig) =
        servicelane::care::tencent::signature(&servicelane::care::tencent::Signing {
            secret_key: "tencent-secret-key",
            service: "sms",
            timestamp,
            headers: &[
                ("content-type", req.headers["content-type"].as_str()),
                ("host", host.as_str()),
                ("x-tc-action", "SendSms"),
            ],
            payload: std::str::from_utf8(&req.body).unwrap(),
        });
    assert_eq!(
        req.headers["authorization"],
        format!(
            "TC3-HMAC-SHA256 Credential=AKIDtest/2027-03-01/sms/tc3_request, SignedHeaders={signed}, Signature={sig}"
        )
    );

    let callback = json!([{"user_receive_time": "2027-03-01 11:00:30", "nationcode": "86",
        "mobile": "13912345678", "report_status": "SUCCESS", "errmsg": "DELIVRD",
        "description": "用户短信送达成功", "sid": "sn-1"}]);
    let a = app
        .post(
            &format!("/api/v1/care/reports/tencent/{REPORT_TOKEN}"),
            None,
            &callback,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["result"], 0);
    assert_eq!(row(&app, sent).await.state, MessageState::Delivered);
}
