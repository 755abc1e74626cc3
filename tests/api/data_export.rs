//! The customer's copy of their data and their consents' history (issue 14 §3).

use std::collections::HashSet;
use std::io::Read;

use chrono::{Duration, NaiveDate};
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};
use servicelane::care::unsubscribe;
use servicelane::domain::Role;
use servicelane::domain::callback::{CallResult, CallbackReason, CallbackState};
use servicelane::domain::case::{CaseCategory, CaseSource, CaseState, Severity};
use servicelane::domain::customer::{Channel, Locale, Purpose};
use servicelane::domain::data_export::ExportState;
use servicelane::domain::enquiry::{EnquiryContact, EnquirySource, EnquiryState, EnquiryTopic};
use servicelane::domain::insurance::PolicyKind;
use servicelane::domain::message::MessageKind;
use servicelane::domain::outbox::MessageState;
use servicelane::domain::repair_order::PhotoPurpose;
use servicelane::domain::rescue::{RescueProblem, RescueState};
use servicelane::domain::vehicle::MileageSource;
use servicelane::entities::{
    callback, callback_call, case, csi_response, data_export, enquiry, insurance_lead,
    mileage_reading, outbox_message, repair_order_photo, rescue, wechat_binding,
};
use servicelane::services::data_export::{Run, purge_expired, run_next, run_pending};
use uuid::Uuid;

use crate::appointments::{Shop, book, owner, shop};
use crate::helpers::{NowUtc, SMS_SECRET, TestApp, spawn_app_with};
use crate::inspection::{jpeg, upload};
use crate::repair_orders::{add_job, walk_in};

/// Tokens that last a year (the clock jumps a week); the export worker
/// left to the test, which drains it.
const SETTINGS: [(&str, &str); 3] = [
    ("SERVICELANE__AUTH__ACCESS_TTL_SECS", "31536000"),
    ("SERVICELANE__PRIVACY__EXPORT_WORKER", "false"),
    ("SERVICELANE__PRIVACY__BLOB_GRACE_SECS", "0"),
];

fn s(v: &Value) -> String {
    v.as_str().unwrap().to_string()
}

/// One customer of the shop with a record of every kind; answers the ids.
struct Seeded {
    customer: String,
    vehicle: String,
    token: String,
    /// The id of each record written for them.
    ids: Vec<String>,
}

async fn seed(app: &TestApp, sh: &Shop, n: u32) -> Seeded {
    let (customer, vehicle) = owner(app, sh, n).await;
    let token = app
        .customer_token(&sh.code, &format!("1390000{:04}", n))
        .await;
    let mut ids = vec![customer.clone(), vehicle.clone()];
    // a consent given in the app
    let rec = app
        .get(&format!("/api/v1/customers/{customer}"), &token)
        .await;
    let p = app
        .patch(
            &format!("/api/v1/customers/{customer}"),
            &token,
            Some(&rec.etag()),
            &json!({"consents": [{"channel": "sms", "purpose": "marketing", "granted": true, "source": "app"}]}),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let b = book(app, sh, &vehicle, &sh.at(8 + n % 3, 0)).await;
    assert_eq!(b.status, StatusCode::CREATED, "{}", b.body);
    ids.push(s(&b.body["id"]));
    let o = walk_in(app, sh, &vehicle).await;
    let order = s(&o["id"]);
    ids.push(order.clone());
    let o = add_job(
        app,
        &sh.advisor,
        &order,
        json!({"description": format!("更换机油{n}"), "labour_hours": "0.5", "skill": "mechanical"}),
    )
    .await;
    let line = o["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["description"] == format!("更换机油{n}"))
        .unwrap();
    ids.push(s(&line["id"]));
    let ph = upload(
        app,
        &sh.advisor,
        &order,
        &jpeg(n as u8),
        &[("purpose", "walkaround")],
        None,
    )
    .await;
    assert_eq!(ph.status, StatusCode::CREATED, "{}", ph.body);
    ids.push(s(&ph.body["id"]));

    // the records the customer's other dealings leave, written as those
    // services write them
    let db = &app.state.db;
    let dealer: Uuid = s(&rec.body["dealer_id"]).parse().unwrap();
    let cid: Uuid = customer.parse().unwrap();
    let vid: Uuid = vehicle.parse().unwrap();
    let oid: Uuid = order.parse().unwrap();
    let now = app.clock.now_utc();
    let m = outbox_message::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(dealer),
        customer_id: Set(Some(cid)),
        about_customer_id: Set(None),
        kind: Set(MessageKind::AppointmentBooked),
        occurrence_key: Set(format!("export-test-{n}")),
        channel: Set(Channel::Sms),
        recipient: Set(format!("+861390000{:04}", n)),
        locale: Set(Locale::ZhCn),
        params: Set(json!({})),
        subject: Set(None),
        body: Set(format!("您的预约已登记 {n}")),
        due_at: Set(now),
        state: Set(MessageState::Sent),
        attempts: Set(1),
        last_error: Set(None),
        lease_owner: Set(None),
        lease_until: Set(None),
        fence: Set(0),
        provider_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        sent_at: Set(Some(now)),
        settled_at: Set(Some(now)),
        parent_id: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    ids.push(m.id.to_string());
    let r = csi_response::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(dealer),
        order_id: Set(oid),
        customer_id: Set(cid),
        source: Set("survey".into()),
        questionnaire_version: Set(1),
        answers: Set(json!([{"code": "Q1", "score": 9}])),
        recommend: Set(Some(9)),
        comment: Set(Some(format!("很好{n}"))),
        quick_rating: Set(None),
        csi_tenths: Set(Some(900)),
        sections: Set(json!([])),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap();
    ids.push(r.id.to_string());
    let c = case::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(dealer),
        customer_id: Set(cid),
        vehicle_id: Set(Some(vid)),
        order_id: Set(Some(oid)),
        response_id: Set(None),
        enquiry_id: Set(None),
        source: Set(CaseSource::ALL[0]),
        category: Set(CaseCategory::ALL[0]),
        severity: Set(Severity::Medium),
        owner_id: Set(None),
        state: Set(CaseState::ALL[0]),
        summary: Set(Some(format!("等待时间太长{n}"))),
        contact_due_at: Set(now + Duration::hours(24)),
        resolve_due_at: Set(now + Duration::days(7)),
        escalated_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap();
    ids.push(c.id.to_string());
    let e = enquiry::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(dealer),
        customer_id: Set(cid),
        vehicle_id: Set(Some(vid)),
        order_id: Set(None),
        topic: Set(EnquiryTopic::ALL[0]),
        text: Set(format!("休息区有充电桩吗{n}")),
        preferred_contact: Set(EnquiryContact::App),
        source: Set(EnquirySource::ALL[0]),
        recorded_by: Set(None),
        fingerprint: Set(None),
        state: Set(EnquiryState::ALL[0]),
        due_at: Set(now + Duration::hours(4)),
        claimed_by: Set(None),
        claimed_until: Set(None),
        answer: Set(None),
        answered_by: Set(None),
        answered_at: Set(None),
        closed_by: Set(None),
        closed_at: Set(None),
        case_id: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap();
    ids.push(e.id.to_string());
    let r = rescue::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(dealer),
        customer_id: Set(cid),
        vehicle_id: Set(vid),
        problem: Set(RescueProblem::ALL[0]),
        note: Set(Some(format!("无法启动{n}"))),
        lat: Set(39.9087),
        lng: Set(116.3975),
        address: Set(Some("北京市东城区长安街1号".into())),
        contact_phone: Set(format!("+861390000{:04}", n)),
        state: Set(RescueState::ALL[0]),
        requested_by: Set(None),
        accepted_by: Set(None),
        dispatch_driver: Set(None),
        dispatch_vehicle: Set(None),
        eta_at: Set(None),
        repair_order_id: Set(None),
        alert_level: Set(0),
        next_alert_at: Set(None),
        accepted_at: Set(None),
        on_site_at: Set(None),
        closed_at: Set(None),
        location_removed_at: Set(None),
        cancelled_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap();
    ids.push(r.id.to_string());
    let l = insurance_lead::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(dealer),
        vehicle_id: Set(vid),
        customer_id: Set(cid),
        policy: Set(PolicyKind::Compulsory),
        expiry: Set(NaiveDate::from_ymd_opt(2027, 6, 1).unwrap()),
        quote_requested_at: Set(Some(now)),
        quote_note: Set(Some(format!("请报价{n}"))),
        outcome: Set(None),
        insurer: Set(None),
        premium_cents: Set(None),
        new_expiry: Set(None),
        outcome_note: Set(None),
        outcome_by: Set(None),
        outcome_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap();
    ids.push(l.id.to_string());
    // a follow-up call with what they said, an inbox message, a mileage
    // reading and a WeChat binding
    let agent = app.get("/api/v1/me", &sh.advisor).await.body["id"]
        .as_str()
        .unwrap()
        .parse::<Uuid>()
        .unwrap();
    let b = callback::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(dealer),
        source_key: Set(format!("follow_up:test{n}")),
        reason: Set(CallbackReason::ALL[0]),
        customer_id: Set(cid),
        order_id: Set(None),
        case_id: Set(None),
        priority: Set(1),
        state: Set(CallbackState::ALL[0]),
        due_at: Set(now),
        deadline_at: Set(now + Duration::days(3)),
        tries: Set(1),
        claimed_by: Set(None),
        claimed_until: Set(None),
        last_result: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap();
    ids.push(b.id.to_string());
    callback_call::ActiveModel {
        id: Set(Uuid::now_v7()),
        callback_id: Set(b.id),
        dealer_id: Set(dealer),
        customer_id: Set(cid),
        order_id: Set(None),
        agent_id: Set(agent),
        on_behalf_of: Set(None),
        called_at: Set(now),
        result: Set(CallResult::ALL[0]),
        note: Set(Some(format!("客户说明天再来{n}"))),
        call_back_at: Set(None),
        response_id: Set(None),
    }
    .insert(db)
    .await
    .unwrap();
    servicelane::services::inbox::post(
        db,
        dealer,
        cid,
        "test",
        "通知",
        &format!("收件箱{n}"),
        b.id,
        now,
    )
    .await
    .unwrap();
    mileage_reading::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(dealer),
        vehicle_id: Set(vid),
        mileage_km: Set(40_000 + i64::from(n)),
        read_on: Set(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()),
        source: Set(MileageSource::ALL[0]),
        correction: Set(false),
        recorded_by: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap();
    wechat_binding::ActiveModel {
        dealer_id: Set(dealer),
        openid: Set(format!("openid-of-customer-{n}")),
        customer_id: Set(cid),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap();
    Seeded {
        customer,
        vehicle,
        token,
        ids,
    }
}

/// Every id anywhere in a JSON document.
fn ids_in(v: &Value, out: &mut HashSet<String>) {
    match v {
        Value::String(s) if Uuid::parse_str(s).is_ok() => {
            out.insert(s.clone());
        }
        Value::Array(a) => a.iter().for_each(|x| ids_in(x, out)),
        Value::Object(o) => o.values().for_each(|x| ids_in(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn an_export_holds_every_kind_of_record_of_its_customer_and_nothing_of_another() {
    let app = spawn_app_with(&SETTINGS).await;
    let sh = shop(&app, "EXP1", "Asia/Shanghai", 3, 3).await;
    let a = seed(&app, &sh, 1).await;
    let b = seed(&app, &sh, 2).await;

    let r = app.get("/api/v1/me/export", &a.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let body = &r.body;
    assert_eq!(body["customer"]["id"], a.customer.as_str());
    for kind in [
        "consent_history",
        "vehicles",
        "appointments",
        "repair_orders",
        "photos",
        "messages",
        "survey_answers",
        "cases",
        "enquiries",
        "rescues",
        "insurance_leads",
        "callbacks",
        "inbox",
        "mileage_readings",
        "wechat_bindings",
    ] {
        assert!(
            !body[kind].as_array().unwrap().is_empty(),
            "{kind} is empty: {body}"
        );
    }
    assert_eq!(body["vehicles"][0]["id"], a.vehicle.as_str());
    assert!(
        !body["repair_orders"][0]["jobs"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let mut found = HashSet::new();
    ids_in(body, &mut found);
    for id in &a.ids {
        assert!(
            found.contains(id),
            "{id} of the customer is missing: {body}"
        );
    }
    for id in &b.ids {
        assert!(
            !found.contains(id),
            "{id} of another customer is in: {body}"
        );
    }
    // the text of the other's records is not there either
    let text = body.to_string();
    for other in [
        "很好2",
        "等待时间太长2",
        "休息区有充电桩吗2",
        "无法启动2",
        "请报价2",
        "您的预约已登记 2",
        "客户说明天再来2",
        "收件箱2",
        "openid-of-customer-2",
        "40002",
    ] {
        assert!(!text.contains(other), "{other}");
    }
    // what they said on the call, their inbox, their car's mileage, their WeChat
    assert_eq!(body["callbacks"][0]["calls"][0]["note"], "客户说明天再来1");
    let inbox = body["inbox"].as_array().unwrap();
    assert!(inbox.iter().any(|m| m["body"] == "收件箱1"), "{inbox:?}");
    assert_eq!(body["mileage_readings"][0]["mileage_km"], 40001);
    assert_eq!(body["wechat_bindings"][0]["openid"], "openid-of-customer-1");
    // photos are links the customer may fetch
    let url = s(&body["photos"][0]["url"]);
    let photo = app.get(&url, &a.token).await;
    assert_eq!(photo.status, StatusCode::OK);
    let theirs = app.get(&url, &b.token).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    // the consents and their history
    assert_eq!(body["customer"]["consents"][0]["channel"], "sms");
    assert_eq!(body["consent_history"][0]["source"], "app");
    // staff use their own path
    let staff = app.get("/api/v1/me/export", &sh.advisor).await;
    assert_eq!(staff.status, StatusCode::FORBIDDEN, "{}", staff.body);
}

#[tokio::test]
async fn a_staff_export_is_for_managers_and_logged_as_an_export() {
    let app = spawn_app_with(&SETTINGS).await;
    let sh = shop(&app, "EXP2", "Asia/Shanghai", 3, 3).await;
    let a = seed(&app, &sh, 3).await;
    let r = app
        .get(
            &format!("/api/v1/customers/{}/export", a.customer),
            &sh.manager,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["customer"]["id"], a.customer.as_str());
    assert_eq!(r.body["customer"]["masked"], false);
    let advisor = app
        .get(
            &format!("/api/v1/customers/{}/export", a.customer),
            &sh.advisor,
        )
        .await;
    assert_eq!(advisor.status, StatusCode::FORBIDDEN, "{}", advisor.body);
    let (_, elsewhere) = app.staff("EXP2B", Role::ServiceManager).await;
    let far = app
        .get(
            &format!("/api/v1/customers/{}/export", a.customer),
            &elsewhere,
        )
        .await;
    assert_eq!(far.status, StatusCode::NOT_FOUND, "{}", far.body);
    // the look is written behind the request: wait for it
    let mut exports = vec![];
    for _ in 0..100 {
        let log = app
            .get(
                &format!("/api/v1/audit/personal-data?customer_id={}", a.customer),
                &sh.manager,
            )
            .await;
        assert_eq!(log.status, StatusCode::OK, "{}", log.body);
        exports = log.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "export")
            .cloned()
            .collect();
        if !exports.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(exports.len(), 1, "{exports:?}");
    assert!(
        exports[0]["endpoint"]
            .as_str()
            .unwrap()
            .contains("/customers/{id}/export"),
        "{exports:?}"
    );
}

#[tokio::test]
async fn consent_changes_from_every_source_are_in_the_history_newest_first() {
    let app = spawn_app_with(&SETTINGS).await;
    let sh = shop(&app, "EXP3", "Asia/Shanghai", 3, 3).await;
    // created at reception with a signed paper form
    let c = app
        .post(
            "/api/v1/customers",
            Some(&sh.advisor),
            &json!({"name": "李四", "phone": "13900000031",
                    "consents": [{"channel": "email", "purpose": "marketing", "granted": true, "source": "paper_form"}]}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    let id = s(&c.body["id"]);
    let dealer: Uuid = s(&c.body["dealer_id"]).parse().unwrap();
    let token = app.customer_token(&sh.code, "13900000031").await;
    // in the app: marketing by SMS, yes (a claimed source is the app's all the same)
    let rec = app.get(&format!("/api/v1/customers/{id}"), &token).await;
    let p = app
        .patch(
            &format!("/api/v1/customers/{id}"),
            &token,
            Some(&rec.etag()),
            &json!({"consents": [{"channel": "sms", "purpose": "marketing", "granted": true, "source": "paper_form"}]}),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    // the email's unsubscribe link
    let t = unsubscribe::token(
        &app.state.tokens,
        &unsubscribe::Subject {
            dealer_id: dealer,
            customer_id: id.parse().unwrap(),
            channel: Channel::Email,
            purpose: Purpose::Marketing,
        },
    );
    let u = app
        .send(
            app.http
                .post(app.url(&format!("/u/{t}")))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("List-Unsubscribe=One-Click"),
        )
        .await;
    assert_eq!(u.status, StatusCode::OK, "{}", u.body);
    // an SMS reply: stop (service and marketing)
    let reply = json!({"from": "+8613900000031", "text": "退订", "received_at": app.clock.now_utc().to_rfc3339()});
    let r = app
        .post_signed("/api/v1/care/inbound/sms", &reply, SMS_SECRET)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // a staff edit on the phone: email service, no
    let rec = app
        .get(&format!("/api/v1/customers/{id}"), &sh.advisor)
        .await;
    let p = app
        .patch(
            &format!("/api/v1/customers/{id}"),
            &sh.advisor,
            Some(&rec.etag()),
            &json!({"consents": [{"channel": "email", "purpose": "service", "granted": false, "source": "phone_call"}]}),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);

    let h = app.get("/api/v1/me/consents/history", &token).await;
    assert_eq!(h.status, StatusCode::OK, "{}", h.body);
    let items = h.body["items"].as_array().unwrap();
    let seen: Vec<(String, String, String, bool)> = items
        .iter()
        .map(|i| {
            (
                s(&i["source"]),
                s(&i["channel"]),
                s(&i["purpose"]),
                i["granted"].as_bool().unwrap(),
            )
        })
        .collect();
    let want = |src: &str, ch: &str, p: &str, g: bool| (src.into(), ch.into(), p.into(), g);
    assert_eq!(
        seen,
        vec![
            want("phone_call", "email", "service", false),
            // the SMS reply withdrew both purposes at once (service written first)
            want("sms_reply", "sms", "marketing", false),
            want("sms_reply", "sms", "service", false),
            want("unsubscribe_link", "email", "marketing", false),
            want("app", "sms", "marketing", true),
            want("paper_form", "email", "marketing", true),
        ],
        "{}",
        h.body
    );
    // who recorded it: staff by id, the customer's own word by nobody
    assert!(items[0]["actor_id"].is_string());
    assert!(items[1]["actor_id"].is_null());
    assert!(items[4]["actor_id"].is_null());
    assert!(items[5]["actor_id"].is_string());
    // paged newest first
    let p1 = app.get("/api/v1/me/consents/history?limit=4", &token).await;
    assert_eq!(p1.body["items"].as_array().unwrap().len(), 4);
    let cursor = s(&p1.body["next_cursor"]);
    let p2 = app
        .get(
            &format!("/api/v1/me/consents/history?limit=4&cursor={cursor}"),
            &token,
        )
        .await;
    assert_eq!(p2.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(p2.body["items"][1]["source"], "paper_form");
    assert!(p2.body["next_cursor"].is_null());
    // staff who may read the customer see the same; another dealer's do not
    let st = app
        .get(
            &format!("/api/v1/customers/{id}/consent-history"),
            &sh.advisor,
        )
        .await;
    assert_eq!(st.status, StatusCode::OK, "{}", st.body);
    assert_eq!(st.body["items"], h.body["items"]);
    let (_, far) = app.staff("EXP3B", Role::ServiceAdvisor).await;
    let no = app
        .get(&format!("/api/v1/customers/{id}/consent-history"), &far)
        .await;
    assert_eq!(no.status, StatusCode::NOT_FOUND);
}

async fn export_job(app: &TestApp, id: &str, token: &str) -> Value {
    let r = app.get(&format!("/api/v1/me/exports/{id}"), token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

async fn request(app: &TestApp, token: &str, key: Option<&str>) -> (StatusCode, Value, bool) {
    let mut r = app
        .http
        .post(app.url("/api/v1/me/exports"))
        .bearer_auth(token);
    if let Some(k) = key {
        r = r.header("Idempotency-Key", k);
    }
    let a = app.send(r).await;
    let replayed = a.headers.get("idempotent-replayed").is_some();
    (a.status, a.body, replayed)
}

async fn download(app: &TestApp, id: &str, token: &str) -> (StatusCode, String, Vec<u8>) {
    let res = app
        .http
        .get(app.url(&format!("/api/v1/me/exports/{id}/download")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, ct, res.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn the_zip_is_built_once_by_two_racing_workers_and_only_for_its_customer() {
    let app = spawn_app_with(&SETTINGS).await;
    let sh = shop(&app, "EXP4", "Asia/Shanghai", 3, 3).await;
    let a = seed(&app, &sh, 4).await;
    let b = seed(&app, &sh, 5).await;

    let (st, job, _) = request(&app, &a.token, Some("exp-1")).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["state"], "queued");
    let id = s(&job["id"]);
    // the same key: the first answer replayed; no key: the pending job
    let (st, again, replayed) = request(&app, &a.token, Some("exp-1")).await;
    assert_eq!(st, StatusCode::ACCEPTED);
    assert!(replayed);
    assert_eq!(again["id"], id.as_str());
    let (st, same, _) = request(&app, &a.token, None).await;
    assert_eq!(st, StatusCode::ACCEPTED);
    assert_eq!(same["id"], id.as_str());
    // not ready yet
    let (st, _, _) = download(&app, &id, &a.token).await;
    assert_eq!(st, StatusCode::CONFLICT);
    // another customer sees no such job
    let r = app.get(&format!("/api/v1/me/exports/{id}"), &b.token).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let (st, _, _) = download(&app, &id, &b.token).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // two workers at once: one builds, the other loses the claim
    let (x, y) = tokio::join!(run_next(&app.state), run_next(&app.state));
    let runs = [x.unwrap(), y.unwrap()];
    let built = runs.iter().filter(|r| matches!(r, Run::Built(_))).count();
    assert_eq!(built, 1, "{runs:?}");
    assert_eq!(run_pending(&app.state).await.unwrap(), 0);
    let row = data_export::Entity::find_by_id(id.parse::<Uuid>().unwrap())
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.attempts, 1);
    assert_eq!(row.state, ExportState::Ready);
    let job = export_job(&app, &id, &a.token).await;
    assert_eq!(job["state"], "ready");
    let expires: chrono::DateTime<chrono::Utc> =
        job["expires_at"].as_str().unwrap().parse().unwrap();
    // seven days (PostgreSQL keeps microseconds)
    let off = expires - app.clock.now_utc() - Duration::days(7);
    assert!(off.num_milliseconds().abs() < 1000, "{off}");

    let (st, ct, bytes) = download(&app, &id, &a.token).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(ct, "application/zip");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let names: Vec<String> = zip.file_names().map(|n| n.unwrap().to_string()).collect();
    let photo = &a.ids[5];
    assert!(names.contains(&"export.json".to_string()), "{names:?}");
    assert!(names.contains(&format!("photos/{photo}.jpg")), "{names:?}");
    assert_eq!(names.len(), 2, "{names:?}");
    let mut json = String::new();
    zip.by_name("export.json")
        .unwrap()
        .read_to_string(&mut json)
        .unwrap();
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["customer"]["id"], a.customer.as_str());
    assert!(!json.contains(&b.customer));
    let mut jpg = Vec::new();
    zip.by_name(&format!("photos/{photo}.jpg"))
        .unwrap()
        .read_to_end(&mut jpg)
        .unwrap();
    assert_eq!(jpg, jpeg(4));
    // finished: a new request is a new job
    let (_, next, _) = request(&app, &a.token, None).await;
    assert_ne!(next["id"], id.as_str());
}

#[tokio::test]
async fn a_download_after_seven_days_is_gone_and_the_zip_is_deleted() {
    let app = spawn_app_with(&SETTINGS).await;
    let sh = shop(&app, "EXP5", "Asia/Shanghai", 3, 3).await;
    let a = seed(&app, &sh, 6).await;
    let (_, job, _) = request(&app, &a.token, None).await;
    let id = s(&job["id"]);
    assert_eq!(run_pending(&app.state).await.unwrap(), 1);
    let (st, _, _) = download(&app, &id, &a.token).await;
    assert_eq!(st, StatusCode::OK);
    let row = data_export::Entity::find_by_id(id.parse::<Uuid>().unwrap())
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let sha = row.sha256.unwrap();
    assert!(app.state.blobs.get(&sha).await.unwrap().is_some());

    // a minute before the seventh day ends: still there, and not purged
    app.clock.advance(Duration::days(7) - Duration::minutes(1));
    assert_eq!(purge_expired(&app.state).await.unwrap(), 0);
    let (st, _, _) = download(&app, &id, &a.token).await;
    assert_eq!(st, StatusCode::OK);
    app.clock.advance(Duration::minutes(2));
    let gone = app
        .get(&format!("/api/v1/me/exports/{id}/download"), &a.token)
        .await;
    assert_eq!(gone.status, StatusCode::GONE, "{}", gone.body);
    assert_eq!(gone.content_type(), "application/problem+json");
    assert_eq!(purge_expired(&app.state).await.unwrap(), 1);
    assert_eq!(purge_expired(&app.state).await.unwrap(), 0);
    assert!(app.state.blobs.get(&sha).await.unwrap().is_none());
    assert_eq!(export_job(&app, &id, &a.token).await["state"], "expired");
    let (st, _, _) = download(&app, &id, &a.token).await;
    assert_eq!(st, StatusCode::GONE);
    // the customer's photo, in the same store, stays
    let photo = app
        .get(
            &format!("/api/v1/repair-orders/{}/photos/{}", a.ids[3], a.ids[5]),
            &a.token,
        )
        .await;
    assert_eq!(photo.status, StatusCode::OK);
}

#[tokio::test]
async fn more_than_300_photos_are_answered_409_pointing_to_the_job() {
    let app = spawn_app_with(&SETTINGS).await;
    let sh = shop(&app, "EXP6", "Asia/Shanghai", 3, 3).await;
    let (customer, vehicle) = owner(&app, &sh, 7).await;
    let token = app.customer_token(&sh.code, "13900000007").await;
    let o = walk_in(&app, &sh, &vehicle).await;
    let order: Uuid = s(&o["id"]).parse().unwrap();
    let dealer: Uuid = s(&o["dealer_id"]).parse().unwrap();
    let now = app.clock.now_utc();
    let add = |n: usize| repair_order_photo::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(dealer),
        order_id: Set(order),
        sha256: Set(format!("{n:064x}")),
        content_type: Set("image/jpeg".into()),
        bytes: Set(10),
        purpose: Set(PhotoPurpose::ALL[0]),
        item_code: Set(None),
        uploaded_by: Set(Uuid::now_v7()),
        created_at: Set(now),
    };
    let rows: Vec<_> = (0..300).map(add).collect();
    repair_order_photo::Entity::insert_many(rows)
        .exec(&app.state.db)
        .await
        .unwrap();
    let ok = app.get("/api/v1/me/export", &token).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["photos"].as_array().unwrap().len(), 300);
    assert_eq!(ok.body["customer"]["id"], customer.as_str());
    add(300).insert(&app.state.db).await.unwrap();
    let big = app.get("/api/v1/me/export", &token).await;
    assert_eq!(big.status, StatusCode::CONFLICT, "{}", big.body);
    assert!(
        big.body["detail"]
            .as_str()
            .unwrap()
            .contains("/api/v1/me/exports"),
        "{}",
        big.body
    );
}

#[tokio::test]
async fn an_erasure_expires_the_customers_copy_and_deletes_its_zip() {
    let app = spawn_app_with(&SETTINGS).await;
    let sh = shop(&app, "EXP6", "Asia/Shanghai", 3, 3).await;
    let a = seed(&app, &sh, 7).await;
    let b = seed(&app, &sh, 8).await;
    let (_, job_a, _) = request(&app, &a.token, None).await;
    let (_, job_b, _) = request(&app, &b.token, None).await;
    assert_eq!(run_pending(&app.state).await.unwrap(), 2);
    let row = |id: String| {
        let db = app.state.db.clone();
        async move {
            data_export::Entity::find_by_id(id.parse::<Uuid>().unwrap())
                .one(&db)
                .await
                .unwrap()
                .unwrap()
        }
    };
    let sha_a = row(s(&job_a["id"])).await.sha256.unwrap();
    let sha_b = row(s(&job_b["id"])).await.sha256.unwrap();
    // the seeded rescue is over (an erasure waits for one under way)
    {
        use sea_orm::{ColumnTrait, QueryFilter, sea_query::Expr};
        rescue::Entity::update_many()
            .col_expr(
                rescue::Column::State,
                Expr::value(RescueState::Closed.as_str()),
            )
            .filter(rescue::Column::CustomerId.eq(a.customer.parse::<Uuid>().unwrap()))
            .exec(&app.state.db)
            .await
            .unwrap();
    }
    let asked = app
        .post(
            &format!("/api/v1/customers/{}/erasure-requests", a.customer),
            Some(&sh.advisor),
            &json!({"note": "客户要求删除"}),
        )
        .await;
    assert_eq!(asked.status, StatusCode::CREATED, "{}", asked.body);
    let approved = app
        .post(
            &format!("/api/v1/erasure-requests/{}/approve", s(&asked.body["id"])),
            Some(&sh.manager),
            &json!({}),
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    // the erased customer's copy is gone with its bytes; the other's stays
    assert_eq!(row(s(&job_a["id"])).await.state, ExportState::Expired);
    assert!(app.state.blobs.get(&sha_a).await.unwrap().is_none());
    assert_eq!(row(s(&job_b["id"])).await.state, ExportState::Ready);
    assert!(app.state.blobs.get(&sha_b).await.unwrap().is_some());
    let (st, _, _) = download(&app, &s(&job_b["id"]), &b.token).await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test]
async fn a_worker_that_renews_its_lease_keeps_the_job_and_one_that_lost_it_learns_so() {
    use servicelane::services::data_export::{LEASE_SECS, renew};
    let app = spawn_app_with(&SETTINGS).await;
    let sh = shop(&app, "EXP9", "Asia/Shanghai", 3, 3).await;
    let a = seed(&app, &sh, 9).await;
    let (st, job, _) = request(&app, &a.token, None).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{job}");
    let id: Uuid = s(&job["id"]).parse().unwrap();
    let row = || async {
        data_export::Entity::find_by_id(id)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap()
    };
    // a worker holds it (claimed as `run_next` claims), building for long
    let now = app.clock.now_utc();
    let mut held: data_export::ActiveModel = row().await.into();
    held.state = Set(ExportState::Running);
    held.attempts = Set(1);
    held.lease_until = Set(Some(now + Duration::seconds(LEASE_SECS)));
    held.started_at = Set(Some(now));
    held.update(&app.state.db).await.unwrap();
    let lease = Duration::seconds(LEASE_SECS);

    // near the lease's end it renews: past the first lease nobody takes it
    app.clock.advance(lease - Duration::minutes(1));
    assert!(renew(&app.state, id, 1).await.unwrap());
    app.clock.advance(Duration::minutes(5));
    assert!(matches!(run_next(&app.state).await.unwrap(), Run::Idle));
    assert_eq!(row().await.attempts, 1);
    // only the claim that holds it renews
    assert!(!renew(&app.state, id, 2).await.unwrap());

    // a worker that stopped renewing loses it to the next, and learns so
    app.clock.advance(lease);
    assert!(matches!(run_next(&app.state).await.unwrap(), Run::Built(_)));
    let done = row().await;
    assert_eq!((done.state, done.attempts), (ExportState::Ready, 2));
    assert!(!renew(&app.state, id, 1).await.unwrap());
}
