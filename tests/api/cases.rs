//! The unhappy-customer table (issue 10): cases opened by low scores,
//! complaints and SMS ratings, once per response, and worked to the end.

use chrono::Duration;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use servicelane::domain::Role;
use servicelane::domain::message::MessageKind;
use servicelane::entities::{case, outbox_message, user};
use uuid::Uuid;

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

/// A dealer TABLE with its customer-centre agent, its service manager and a
/// customer: the app, the agent's and the manager's tokens, the customer.
struct Table {
    app: TestApp,
    dealer: Uuid,
    agent: String,
    manager: String,
    customer: String,
}

async fn table(extra: &[(&str, &str)]) -> Table {
    let app = spawn_app_with(extra).await;
    let (dealer, agent) = app.staff("TABLE", Role::CustomerCare).await;
    let (_, manager) = app.staff("TABLE", Role::ServiceManager).await;
    let c = app.create_customer(&agent, "王伟", "13800000001").await;
    let customer = c["id"].as_str().unwrap().to_string();
    Table {
        app,
        dealer,
        agent,
        manager,
        customer,
    }
}

impl Table {
    /// A case opened by hand now: its body.
    async fn open(&self, summary: &str) -> Value {
        let r = self
            .app
            .post(
                "/api/v1/cases",
                Some(&self.agent),
                &json!({"customer_id": self.customer, "category": "time", "severity": "low", "summary": summary}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body
    }

    async fn case(&self, id: &str) -> Answer {
        self.app
            .get(&format!("/api/v1/cases/{id}"), &self.agent_now().await)
            .await
    }

    /// The agent's token now (the clock moves on: the first one expires).
    async fn agent_now(&self) -> String {
        self.app.login_as("TABLE", "customer_care").await["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

/// The id of the user `username` of the dealer `dealer_id`.
async fn user_id(app: &TestApp, dealer_id: Uuid, username: &str) -> Uuid {
    user::Entity::find()
        .filter(user::Column::DealerId.eq(dealer_id))
        .filter(user::Column::Username.eq(username))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .id
}

#[tokio::test]
async fn a_case_is_edited_only_at_the_version_read_and_each_edit_is_logged() {
    let t = table(&[NO_DISPATCHER]).await;
    let app = &t.app;
    let c = t.open("电话投诉：等待时间太长").await;
    let id = c["id"].as_str().unwrap();
    let path = format!("/api/v1/cases/{id}");
    let read = t.case(id).await;
    assert_eq!(read.etag(), "\"1\"");
    let dealer = t.dealer;
    let manager = user_id(app, dealer, "service_manager").await;
    let agent = user_id(app, dealer, "customer_care").await;
    let edit = json!({"owner_id": manager, "severity": "high"});
    // without If-Match: 428; with a stale one: 412; nothing changes
    let missing = app.patch(&path, &t.agent, None, &edit).await;
    assert_eq!(
        missing.status,
        StatusCode::PRECONDITION_REQUIRED,
        "{}",
        missing.body
    );
    let stale = app.patch(&path, &t.agent, Some("\"7\""), &edit).await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        stale.body
    );
    // an owner who does not work the table, or of another dealer: 422 naming owner_id
    let (_, _) = app.staff("TABLE", Role::Technician).await;
    let tech = user_id(app, dealer, "technician").await;
    let (else_id, other) = app.staff("ELSE", Role::CustomerCare).await;
    let elsewhere = user_id(app, else_id, "customer_care").await;
    for owner in [tech, elsewhere, Uuid::now_v7()] {
        let r = app
            .patch(&path, &t.agent, Some("\"1\""), &json!({"owner_id": owner}))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.problem_fields(), vec!["owner_id"]);
    }
    let unchanged = t.case(id).await;
    assert_eq!(unchanged.etag(), "\"1\"");
    assert_eq!(unchanged.body["severity"], "low");
    assert_eq!(unchanged.body["owner_id"], agent.to_string());
    assert_eq!(unchanged.body["events"].as_array().unwrap().len(), 1);
    // at the version read: the fields sent change, the rest stay
    let ok = app.patch(&path, &t.agent, Some("\"1\""), &edit).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.etag(), "\"2\"");
    assert_eq!(ok.body["owner_id"], manager.to_string());
    assert_eq!(ok.body["severity"], "high");
    assert_eq!(ok.body["category"], "time");
    assert_eq!(ok.body["state"], "open");
    let e = ok.body["events"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(e["action"], "edit");
    assert_eq!(e["actor_id"], agent.to_string());
    let note = e["note"].as_str().unwrap();
    assert!(
        note.contains("severity: low → high") && note.contains("owner:"),
        "{note}"
    );
    // the same values again: harmless, nothing logged
    let same = app
        .patch(&path, &t.agent, Some("\"2\""), &json!({"severity": "high"}))
        .await;
    assert_eq!(same.status, StatusCode::OK, "{}", same.body);
    assert_eq!(same.etag(), "\"2\"");
    assert_eq!(same.body["events"].as_array().unwrap().len(), 2);
    // unassigned with null
    let none = app
        .patch(
            &path,
            &t.agent,
            Some("\"2\""),
            &json!({"owner_id": null, "category": "price"}),
        )
        .await;
    assert_eq!(none.status, StatusCode::OK, "{}", none.body);
    assert!(none.body["owner_id"].is_null());
    assert_eq!(none.body["category"], "price");
    let actions: Vec<&str> = none.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["opened", "edit", "edit"]);
    // another dealer's agent: 404
    assert_eq!(
        app.patch(&path, &other, Some("\"3\""), &json!({"severity": "low"}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn case_rules_round_trip_and_a_bad_one_is_named_by_its_field() {
    let t = table(&[NO_DISPATCHER]).await;
    let app = &t.app;
    let defaults = app.get("/api/v1/case-rules", &t.agent).await;
    assert_eq!(defaults.status, StatusCode::OK, "{}", defaults.body);
    assert_eq!(defaults.body["section_floor"], 60);
    assert_eq!(defaults.body["escalate_to"], json!([]));
    // only managers change them
    let mut rules = defaults.body.clone();
    assert_eq!(
        app.put("/api/v1/case-rules", &t.agent, &rules).await.status,
        StatusCode::FORBIDDEN
    );
    // each bad field named by its path
    rules["section_floor"] = json!(101);
    rules["resolve_within_days"] = json!(0);
    rules["lexicon"][3]["words"] = json!(" ");
    rules["lexicon"][4]["words"] = json!("太贵".repeat(21));
    rules["escalate_to"] = json!([
        {"channel": "sms", "address": "12345"},
        {"channel": "email", "address": "boss at example.com", "name": "王经理"},
    ]);
    let bad = app.put("/api/v1/case-rules", &t.manager, &rules).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let mut fields = bad.problem_fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "escalate_to[0].address",
            "escalate_to[1].address",
            "lexicon[3].words",
            "lexicon[4].words",
            "resolve_within_days",
            "section_floor"
        ]
    );
    let mut too_many = defaults.body.clone();
    too_many["escalate_to"] = json!(
        (0..6)
            .map(|k| json!({"channel": "sms", "address": format!("1390000000{k}")}))
            .collect::<Vec<_>>()
    );
    let r = app.put("/api/v1/case-rules", &t.manager, &too_many).await;
    assert_eq!(r.problem_fields(), vec!["escalate_to"]);
    let mut long = defaults.body.clone();
    long["lexicon"] = json!(vec![json!({"words": "x", "category": "other"}); 201]);
    let r = app.put("/api/v1/case-rules", &t.manager, &long).await;
    assert_eq!(r.problem_fields(), vec!["lexicon"]);
    let mut control = defaults.body.clone();
    control["lexicon"][3]["words"] = json!("太\u{0007}贵");
    let r = app.put("/api/v1/case-rules", &t.manager, &control).await;
    assert_eq!(r.problem_fields(), vec!["lexicon[3].words"]);
    let mut fax = defaults.body.clone();
    fax["escalate_to"] = json!([{"channel": "fax", "address": "010-1234"}]);
    let r = app.put("/api/v1/case-rules", &t.manager, &fax).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    // nothing of it was kept
    assert_eq!(
        app.get("/api/v1/case-rules", &t.agent).await.body,
        defaults.body
    );
    // good ones are kept as read: phones in E.164, emails in lower case
    let mut good = defaults.body.clone();
    good["section_floor"] = json!(70);
    good["contact_within_hours"] = json!(4);
    good["lexicon"] = json!([{"words": " 太贵 ", "category": "price"}]);
    good["escalate_to"] = json!([
        {"channel": "sms", "address": "139 1234 5678", "name": "王经理"},
        {"channel": "email", "address": "Boss@Example.com"},
    ]);
    let saved = app.put("/api/v1/case-rules", &t.manager, &good).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.body["escalate_to"][0]["address"], "+8613912345678");
    assert_eq!(saved.body["escalate_to"][1]["address"], "boss@example.com");
    assert_eq!(saved.body["lexicon"][0]["words"], "太贵");
    let read = app.get("/api/v1/case-rules", &t.agent).await;
    assert_eq!(read.body, saved.body);
    // and apply: a case opened now is due for contact in 4 hours
    let c = t.open("投诉").await;
    let opened: chrono::DateTime<chrono::Utc> = c["created_at"].as_str().unwrap().parse().unwrap();
    let due: chrono::DateTime<chrono::Utc> = c["contact_due_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(due - opened, Duration::hours(4));
}

#[tokio::test]
async fn a_case_left_open_past_its_contact_time_escalates_once_to_the_managers_sms_and_email() {
    let smtp = SmtpSink::start().await;
    let t = table(&[NO_DISPATCHER, ("SERVICELANE__EMAIL__SMTP_URL", &smtp.url())]).await;
    let app = &t.app;
    let rules = json!({
        "section_floor": 60, "recommend_floor": 7, "lexicon": [],
        "contact_within_hours": 24, "resolve_within_days": 7,
        "escalate_to": [
            {"channel": "sms", "address": "13912345678", "name": "王经理"},
            {"channel": "email", "address": "boss@example.com"},
        ],
    });
    let r = app.put("/api/v1/case-rules", &t.manager, &rules).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // opened first, so that only the overdue rule lists the other before it
    let kept = t.open("价格疑问").await;
    let kept_id = kept["id"].as_str().unwrap();
    let late = t.open("电话投诉：等待时间太长").await;
    let late_id = late["id"].as_str().unwrap();
    // the second is contacted in time
    app.clock.advance(Duration::hours(2));
    let r = app
        .post(
            &format!("/api/v1/cases/{kept_id}/contact"),
            Some(&t.agent_now().await),
            &json!({"note": "已致电客户"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // not yet late: nothing
    app.clock.advance(Duration::hours(21));

    assert_eq!(app.escalate_due().await, 0);
    // past 24 hours: two sweeps at once escalate it once, a third finds nothing
    app.clock.advance(Duration::hours(2));
    let (a, b) = tokio::join!(app.escalate_due(), app.escalate_due());
    assert_eq!(a + b, 1);
    assert_eq!(app.escalate_due().await, 0);
    let rows = outbox_message::Entity::find()
        .filter(outbox_message::Column::Kind.eq(MessageKind::CaseEscalated))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "one message per contact");
    assert!(rows.iter().all(|m| m.customer_id.is_none()));
    // it is about the customer, so their erasure finds it; escalations
    // written before the column came get it from their case
    let about = t.customer.parse().ok();
    assert!(
        rows.iter().all(|m| m.about_customer_id == about),
        "{rows:?}"
    );
    t.app
        .state
        .db
        .execute_unprepared("UPDATE outbox_messages SET about_customer_id = NULL")
        .await
        .unwrap();
    migration::backfill_outbox_about(&t.app.state.db)
        .await
        .unwrap();
    let again = outbox_message::Entity::find()
        .filter(outbox_message::Column::Kind.eq(MessageKind::CaseEscalated))
        .all(&t.app.state.db)
        .await
        .unwrap();
    assert!(
        again.iter().all(|m| m.about_customer_id == about),
        "{again:?}"
    );
    // the manager's SMS and email arrive through the outbox
    assert_eq!(app.dispatch_pending().await, 2);
    let (sms, _, _) = app.sms.wait_for("+8613912345678").await;
    assert_eq!(sms["template"], "case_escalated");
    let text = sms["text"].as_str().unwrap_or_default().to_string();
    let params = sms["params"].to_string();
    assert!(
        (text + &params).contains("王伟"),
        "the customer is named: {sms}"
    );
    assert_eq!(sms["params"]["category"], "等待时间");
    assert_eq!(sms["params"]["late"], "首次联系");
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1);
    let mail = ReceivedEmail::parse(&mails[0]);
    assert!(mail.header("To").contains("boss@example.com"));
    assert!(mail.part("text/plain").contains("王伟"));
    // staff mail carries no customer's unsubscribe link
    assert!(mail.all("List-Unsubscribe").is_empty());
    // the case shows it, with an `escalated` step by nobody; the other does not
    let c = t.case(late_id).await.body;
    assert!(c["escalated_at"].is_string(), "{c}");
    assert_eq!(c["overdue"], true);
    let e = c["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(e["action"], "escalated");
    assert!(e["actor_id"].is_null());
    let escalations = c["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "escalated")
        .count();
    assert_eq!(escalations, 1);
    let k = t.case(kept_id).await.body;
    assert!(k["escalated_at"].is_null(), "{k}");
    assert_eq!(k["overdue"], false);
    // the overdue one is first in the list
    let list = app.get("/api/v1/cases", &t.agent_now().await).await.body;
    assert_eq!(list[0]["id"], late_id);
    // a week on, the contacted case is late for its resolution and escalates
    // too; the first does not escalate again
    app.clock.advance(Duration::days(7));
    assert_eq!(app.escalate_due().await, 1);
    assert_eq!(app.escalate_due().await, 0);
    let k = t.case(kept_id).await.body;
    assert!(k["escalated_at"].is_string(), "{k}");
    let rows = outbox_message::Entity::find()
        .filter(outbox_message::Column::Kind.eq(MessageKind::CaseEscalated))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 4);
    let escalated = case::Entity::find()
        .filter(case::Column::EscalatedAt.is_not_null())
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(escalated.len(), 2);
}
