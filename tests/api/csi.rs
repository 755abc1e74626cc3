//! CSI (issue 10): the questionnaire, by version; the survey a follow-up's
//! link opens.

use chrono::{TimeZone, Utc};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use servicelane::domain::Role;
use servicelane::domain::message::MessageKind;
use servicelane::entities::{csi_response, outbox_message};
use uuid::Uuid;

use crate::helpers::*;

#[tokio::test]
async fn the_seeds_questionnaire_is_in_force_until_a_manager_puts_a_new_version() {
    let app = spawn_app().await;
    app.dealer("CSI").await;
    let (_, manager) = app.staff("CSI", Role::ServiceManager).await;
    let (_, tech) = app.staff("CSI", Role::Technician).await;
    let seed = app.get("/api/v1/csi/questionnaire", &tech).await;
    assert_eq!(seed.status, StatusCode::OK, "{}", seed.body);
    assert_eq!(seed.body["version"], 0);
    let weights: Vec<(String, u64)> = seed.body["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["section"].as_str().unwrap().to_string(),
                s["weight"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        weights,
        [
            ("facilities", 20),
            ("staff_contact", 33),
            ("work_done", 22),
            ("cost", 10),
            ("follow_up", 15)
        ]
        .map(|(s, w)| (s.to_string(), w))
    );
    let mut body = json!({"sections": seed.body["sections"].clone()});
    // weights that do not sum to 100, a NUL, a repeated code: refused by field, nothing kept
    let mut bad = body.clone();
    bad["sections"][0]["weight"] = json!(30);
    bad["sections"][1]["questions"][0]["text_zh"] = json!("  ");
    bad["sections"][2]["questions"][0]["code"] = json!("lounge");
    let r = app.put("/api/v1/csi/questionnaire", &manager, &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let mut fields = r.problem_fields();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "sections",
            "sections[1].questions[0].text_zh",
            "sections[2].questions[0].code"
        ]
    );
    // a NUL is refused where the body is read
    let mut nul = body.clone();
    nul["sections"][1]["questions"][0]["text_zh"] = json!("问\u{0}候");
    let r = app.put("/api/v1/csi/questionnaire", &manager, &nul).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.problem_fields(), vec!["sections[1].questions[0].text_zh"]);
    let huge = json!({"sections": [{"section": "cost", "weight": 4294967296u64, "questions": []}]});
    assert_eq!(
        app.put("/api/v1/csi/questionnaire", &manager, &huge)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.get("/api/v1/csi/questionnaire", &tech).await.body["version"],
        0
    );
    // a technician may read, not change
    assert_eq!(
        app.put("/api/v1/csi/questionnaire", &tech, &body)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // the seed's again: nothing new
    let same = app.put("/api/v1/csi/questionnaire", &manager, &body).await;
    assert_eq!(
        (same.status, same.body["version"].clone()),
        (StatusCode::OK, json!(0))
    );
    // cost weighs more, facilities less: version 1, and again is still 1
    body["sections"][0]["weight"] = json!(10);
    body["sections"][3]["weight"] = json!(20);
    body["sections"][3]["questions"][0]["text_en"] = json!("Prices were clear before the work");
    for _ in 0..2 {
        let r = app.put("/api/v1/csi/questionnaire", &manager, &body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["version"], 1);
    }
    let now = app.get("/api/v1/csi/questionnaire", &tech).await.body;
    assert_eq!(now["version"], 1);
    assert_eq!(now["sections"][3]["weight"], 20);
    assert_eq!(
        now["sections"][3]["questions"][0]["text_en"],
        "Prices were clear before the work"
    );
    // another dealer still asks the seed's
    app.dealer("OTHER").await;
    let (_, other) = app.staff("OTHER", Role::ServiceManager).await;
    assert_eq!(
        app.get("/api/v1/csi/questionnaire", &other).await.body["version"],
        0
    );
}

/// A delivered order and its survey token, as the follow-up carries it.
pub(crate) async fn surveyed(app: &TestApp) -> (Uuid, String) {
    let sh: chrono_tz::Tz = "Asia/Shanghai".parse().unwrap();
    app.clock.set(
        sh.with_ymd_and_hms(2027, 3, 1, 9, 0, 0)
            .unwrap()
            .with_timezone(&Utc),
    );
    let s = crate::appointments::shop(app, "SURVEY", "Asia/Shanghai", 3, 3).await;
    let (_, v) = crate::appointments::owner(app, &s, 1).await;
    let o = crate::repair_orders::walk_in(app, &s, &v).await;
    let order: Uuid = o["id"].as_str().unwrap().parse().unwrap();
    let at = sh
        .with_ymd_and_hms(2027, 3, 2, 17, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    crate::care_planner::deliver(app, order, at).await;
    app.clock.set(
        sh.with_ymd_and_hms(2027, 3, 3, 8, 0, 0)
            .unwrap()
            .with_timezone(&Utc),
    );
    let manager = app.login_as("SURVEY", "service_manager").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .post("/api/v1/care/runs", Some(&manager), &json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let row = outbox_message::Entity::find()
        .filter(outbox_message::Column::Kind.eq(MessageKind::PostRepairFollowup))
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("the follow-up was planned");
    let url = row.params["survey_url"].as_str().unwrap();
    (order, url.rsplit("/s/").next().unwrap().to_string())
}

pub(crate) fn answers_all(q: &Value, score: u8) -> Value {
    let list: Vec<Value> = q["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["questions"].as_array().unwrap().clone())
        .map(|x| json!({"code": x["code"], "score": score}))
        .collect();
    json!(list)
}

#[tokio::test]
async fn the_follow_up_link_opens_the_survey_which_answers_once_and_is_scored() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let (order, token) = surveyed(&app).await;
    let path = format!("/api/v1/surveys/{token}");
    let view = app.send(app.http.get(app.url(&path))).await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.body);
    assert_eq!(view.body["dealer_name"], "SURVEY 4S店");
    // of the customer only the first name (客户1 → 客), nothing else
    assert_eq!(view.body["first_name"], "客");
    assert!(!view.body.to_string().contains("1390000"), "{}", view.body);
    assert_eq!(view.body["visit_date"], "2027-03-02");
    assert_eq!(view.body["answered"], false);
    assert_eq!(view.body["questionnaire"]["version"], 0);
    // out of range, unknown, twice: each named, nothing kept
    let q = view.body["questionnaire"].clone();
    let bad = json!({"answers": [{"code": "lounge", "score": 11}, {"code": "nope", "score": 5},
                                 {"code": "greeting", "score": 3}, {"code": "greeting", "score": 4}],
                     "recommend": 11});
    let r = app.send(app.http.post(app.url(&path)).json(&bad)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let mut fields = r.problem_fields();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "answers[0].score",
            "answers[1].code",
            "answers[3].code",
            "recommend"
        ]
    );
    // all 8s, recommend 9: every section (8 − 1) / 9 → 77.8, CSI 77.8; two at once: one wins
    let body = json!({"answers": answers_all(&q, 8), "recommend": 9, "comment": "师傅很专业"});
    let (a, b) = tokio::join!(
        app.send(app.http.post(app.url(&path)).json(&body)),
        app.send(app.http.post(app.url(&path)).json(&body)),
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{} / {}", a.body, b.body);
    let stored = csi_response::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].order_id, order);
    assert_eq!(stored[0].csi_tenths, Some(778));
    assert_eq!(stored[0].recommend, Some(9));
    assert_eq!(stored[0].comment.as_deref(), Some("师傅很专业"));
    assert_eq!(stored[0].questionnaire_version, 0);
    // reused: 409; the view says answered
    let again = app.send(app.http.post(app.url(&path)).json(&body)).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert_eq!(
        app.send(app.http.get(app.url(&path))).await.body["answered"],
        true
    );
    // forged: 404; expired (14 days): 422 naming the token
    let forged = format!("{}x", &token[..token.len() - 1]);
    let f = app
        .send(app.http.get(app.url(&format!("/api/v1/surveys/{forged}"))))
        .await;
    assert_eq!(f.status, StatusCode::NOT_FOUND, "{}", f.body);
    app.clock.advance(chrono::Duration::days(15));
    let old = app.send(app.http.get(app.url(&path))).await;
    assert_eq!(old.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", old.body);
    assert_eq!(old.problem_fields(), vec!["token"]);
}

#[tokio::test]
async fn the_survey_page_shows_the_questions_in_both_languages_and_takes_the_form_once() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let (_, token) = surveyed(&app).await;
    let page = format!("/s/{token}");
    let zh = app.send(app.http.get(app.url(&page))).await;
    assert_eq!(zh.status, StatusCode::OK);
    let html = app.text(&page).await;
    for text in [
        "服务满意度调查",
        "硬件设施",
        "到店时的接待问候",
        "不适用",
        "name=\"q.greeting\"",
        "客，您好",
    ] {
        assert!(html.contains(text), "{text} missing");
    }
    assert!(!html.contains("1390000"), "no phone on the page");
    let en = app.text(&format!("{page}?lang=en")).await;
    for text in [
        "How did we do?",
        "Our staff",
        "You were greeted on arrival",
        "not applicable",
    ] {
        assert!(en.contains(text), "{text} missing");
    }
    let bad_lang = app
        .send(app.http.get(app.url(&format!("{page}?lang=fr"))))
        .await;
    assert_eq!(bad_lang.status, StatusCode::UNPROCESSABLE_ENTITY);
    let form = |body: &str| {
        app.http
            .post(app.url(&page))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_string())
    };
    // a score out of range: the form again, saying what is wrong, nothing kept
    let r = app
        .http
        .execute(form("q.lounge=11&q.greeting=na").build().unwrap())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("answers[0].score"));
    assert!(
        csi_response::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap()
            .is_empty()
    );
    let body = "q.greeting=10&q.attitude=9&q.lounge=na&recommend=10&comment=%E5%BE%88%E5%A5%BD";
    let r = app.http.execute(form(body).build().unwrap()).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(r.text().await.unwrap().contains("感谢您的宝贵意见"));
    let stored = csi_response::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    // staff contact only: (9.5 − 1) / 9 = 94.4
    assert_eq!(stored[0].csi_tenths, Some(944));
    assert_eq!(stored[0].comment.as_deref(), Some("很好"));
    let again = app.http.execute(form(body).build().unwrap()).await.unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(again.text().await.unwrap().contains("此问卷已提交"));
}

#[tokio::test]
async fn an_sms_reply_to_the_follow_up_is_a_quick_rating_or_a_comment_kept_once() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let (order, _) = surveyed(&app).await;
    let path = "/api/v1/care/inbound/sms";
    let reply = |from: &str, text: &str| json!({"from": from, "text": text, "received_at": "2027-03-03T03:00:00Z"});
    // not sent yet: a reply to nothing is ignored
    let early = app
        .post_signed(path, &reply("+8613900000001", "2 太贵了"), SMS_SECRET)
        .await;
    assert_eq!(early.body["action"], "ignored", "{}", early.body);
    // the follow-up leaves (09:00 window: move the clock into it)
    let sh: chrono_tz::Tz = "Asia/Shanghai".parse().unwrap();
    app.clock.set(
        sh.with_ymd_and_hms(2027, 3, 3, 20, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
            - chrono::Duration::minutes(1),
    );
    assert!(app.dispatch_pending().await >= 1);
    let sent = outbox_message::Entity::find()
        .filter(outbox_message::Column::Kind.eq(MessageKind::PostRepairFollowup))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(sent.sent_at.is_some(), "{:?}", sent.state);
    let to = sent.recipient.clone();
    // "2 太贵了", delivered twice by the gateway: one rating, the words once
    for _ in 0..2 {
        let r = app
            .post_signed(path, &reply(&to, "2 太贵了"), SMS_SECRET)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["action"], "rated");
    }
    let c = app
        .post_signed(path, &reply(&to, "而且没修好"), SMS_SECRET)
        .await;
    assert_eq!(c.body["action"], "commented");
    let other = app
        .post_signed(path, &reply("+8613700000000", "5"), SMS_SECRET)
        .await;
    assert_eq!(other.body["action"], "ignored");
    let rows = csi_response::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].order_id, order);
    assert_eq!(rows[0].source, "sms");
    assert_eq!(rows[0].quick_rating, Some(2));
    assert_eq!(rows[0].comment.as_deref(), Some("太贵了\n而且没修好"));
    // an opt-out still opts out
    let td = app.post_signed(path, &reply(&to, "TD"), SMS_SECRET).await;
    assert_eq!(td.body["action"], "opted_out");
}
