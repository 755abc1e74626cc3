//! The unhappy-customer table (issue 10): cases opened by low scores,
//! complaints and SMS ratings, once per response, and worked to the end.

use reqwest::StatusCode;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use servicelane::domain::Role;
use servicelane::entities::case;

use crate::csi::{answers_all, surveyed};
use crate::helpers::*;

async fn agent(app: &TestApp) -> String {
    app.staff("SURVEY", Role::CustomerCare).await.1
}

#[tokio::test]
async fn a_low_score_opens_a_case_that_the_customer_centre_works_to_verified() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let (order, token) = surveyed(&app).await;
    let path = format!("/api/v1/surveys/{token}");
    let q = app.send(app.http.get(app.url(&path))).await.body["questionnaire"].clone();
    // every question 9, but the cost section 3: (3 − 1) / 9 = 22.2 — a price case
    let mut answers = answers_all(&q, 9);
    for a in answers.as_array_mut().unwrap() {
        if ["price_transparency", "matches_estimate", "value"]
            .contains(&a["code"].as_str().unwrap())
        {
            a["score"] = json!(3);
        }
    }
    let r = app
        .send(
            app.http
                .post(app.url(&path))
                .json(&json!({"answers": answers, "recommend": 8, "comment": "太贵了"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let token = agent(&app).await;
    let list = app.get("/api/v1/cases?state=open", &token).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let cases = list.body.as_array().unwrap();
    assert_eq!(cases.len(), 1, "{}", list.body);
    let c = &cases[0];
    assert_eq!(c["source"], "low_score");
    assert_eq!(c["category"], "price");
    assert_eq!(c["severity"], "high");
    assert_eq!(c["repair_order_id"], order.to_string());
    assert_eq!(c["summary"], "太贵了");
    assert_eq!(c["overdue"], false);
    let id = c["id"].as_str().unwrap().to_string();
    // out of order: resolving an open case is 409 naming its state
    let early = app
        .post(
            &format!("/api/v1/cases/{id}/resolve"),
            Some(&token),
            &json!({"note": "已处理"}),
        )
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    assert!(early.body["detail"].as_str().unwrap().contains("open"));
    let empty = app
        .post(
            &format!("/api/v1/cases/{id}/contact"),
            Some(&token),
            &json!({"note": " "}),
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(empty.problem_fields(), vec!["note"]);
    let steps = [
        ("contact", "已致电客户，了解到对保养价格有疑问", "contacted"),
        ("agree", "赠送下次保养工时费八折", "action_agreed"),
        ("resolve", "优惠券已发放", "resolved"),
        ("verify", "客户确认满意", "verified"),
    ];
    for (action, note, state) in steps {
        let r = app
            .post(
                &format!("/api/v1/cases/{id}/{action}"),
                Some(&token),
                &json!({"note": note}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{action}: {}", r.body);
        assert_eq!(r.body["state"], state);
    }
    let done = app.get(&format!("/api/v1/cases/{id}"), &token).await.body;
    let actions: Vec<&str> = done["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["opened", "contact", "agree", "resolve", "verify"]);
    assert!(
        done["events"][0]["actor_id"].is_null(),
        "opened by the rules"
    );
    let closed = app
        .post(
            &format!("/api/v1/cases/{id}/close"),
            Some(&token),
            &json!({"note": "x"}),
        )
        .await;
    assert_eq!(closed.status, StatusCode::CONFLICT);
    // a technician does not work the table
    let (_, tech) = app.staff("SURVEY", Role::Technician).await;
    assert_eq!(
        app.get("/api/v1/cases", &tech).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn an_sms_reply_2_opens_exactly_one_case_also_when_delivered_twice() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let (_, _) = surveyed(&app).await;
    // the follow-up SMS leaves (its time is spread over the day's window,
    // which ends at 20:00)
    let sh: chrono_tz::Tz = "Asia/Shanghai".parse().unwrap();
    use chrono::TimeZone;
    app.clock.set(
        sh.with_ymd_and_hms(2027, 3, 3, 19, 59, 0)
            .unwrap()
            .with_timezone(&chrono::Utc),
    );
    app.dispatch_pending().await;
    let to = servicelane::entities::outbox_message::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.sent_at.is_some())
        .expect("the follow-up was sent")
        .recipient;
    let reply = json!({"from": to, "text": "2 太贵了", "received_at": "2027-03-03T11:00:00Z"});
    for _ in 0..2 {
        let r = app
            .post_signed("/api/v1/care/inbound/sms", &reply, SMS_SECRET)
            .await;
        assert_eq!(r.body["action"], "rated", "{}", r.body);
    }
    // and a later comment with complaint words: still the one case
    let more = json!({"from": to, "text": "而且态度差", "received_at": "2027-03-03T11:05:00Z"});
    app.post_signed("/api/v1/care/inbound/sms", &more, SMS_SECRET)
        .await;
    let all = case::Entity::find().all(&app.state.db).await.unwrap();
    assert_eq!(all.len(), 1);
    // the words name the first rule that matched: a complaint about price
    assert_eq!(all[0].source.as_str(), "complaint_words");
    assert_eq!(all[0].category.as_str(), "price");
    // past 24 hours without contact it is overdue, first in the list
    app.clock.advance(chrono::Duration::hours(25));
    let token = agent(&app).await;
    let overdue = app.get("/api/v1/cases?overdue=true", &token).await;
    assert_eq!(
        overdue.body.as_array().unwrap().len(),
        1,
        "{}",
        overdue.body
    );
    assert_eq!(overdue.body[0]["overdue"], true);
    let not = app.get("/api/v1/cases?overdue=false", &token).await;
    assert_eq!(not.body, json!([]));
}

#[tokio::test]
async fn staff_open_a_case_by_hand_for_their_own_dealers_customer_only() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let (_, _) = surveyed(&app).await;
    let token = agent(&app).await;
    let customer = servicelane::entities::customer::Entity::find()
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let body = |c: &str| json!({"customer_id": c, "category": "time", "severity": "low", "summary": "电话投诉：等待时间太长"});
    let r = app
        .post(
            "/api/v1/cases",
            Some(&token),
            &body(&customer.id.to_string()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["source"], "manual");
    assert_eq!(r.body["state"], "open");
    assert!(r.body["owner_id"].is_string());
    let unknown = app
        .post(
            "/api/v1/cases",
            Some(&token),
            &body(&uuid::Uuid::now_v7().to_string()),
        )
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.body
    );
    assert_eq!(unknown.problem_fields(), vec!["customer_id"]);
    let bad: Value = json!({"customer_id": customer.id, "category": "weather", "severity": "low", "summary": "x"});
    assert_eq!(
        app.post("/api/v1/cases", Some(&token), &bad).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // another dealer's agent sees none of it
    app.dealer("ELSE").await;
    let (_, other) = app.staff("ELSE", Role::CustomerCare).await;
    assert_eq!(app.get("/api/v1/cases", &other).await.body, json!([]));
    let id = r.body["id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/cases/{id}"), &other).await.status,
        StatusCode::NOT_FOUND
    );
}
