//! The callback list (issue 10): a follow-up call for every delivered
//! order, a first contact for every case, claimed by one agent at a time,
//! each call kept; and the whole follow-up loop end to end.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use servicelane::domain::Role;
use servicelane::domain::message::MessageKind;
use servicelane::entities::{callback_call, csi_response, customer, outbox_message};

use crate::csi::answers_all;
use crate::helpers::*;
use crate::workshop::{Floor, delivered, floor};

pub(crate) async fn app() -> TestApp {
    spawn_app_with(&[
        ("SERVICELANE__AUTH__ACCESS_TTL_SECS", "864000"),
        NO_DISPATCHER,
    ])
    .await
}

/// Two customer-centre agents of the floor's dealer: (token, user id) each.
pub(crate) async fn agents(app: &TestApp, f: &Floor) -> [(String, String); 2] {
    let dealer = app.get("/api/v1/me", &f.s.advisor).await.body["dealer_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut out = vec![];
    for name in ["agent.li", "agent.wang"] {
        app.user(dealer, name, Role::CustomerCare).await;
        let token = app.login_as(&f.s.code, name).await["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        let id = app.get("/api/v1/me", &token).await.body["id"]
            .as_str()
            .unwrap()
            .to_string();
        out.push((token, id));
    }
    [out.remove(0), out.remove(0)]
}

pub(crate) fn local_today(app: &TestApp, f: &Floor) -> NaiveDate {
    app.clock.now_utc().with_timezone(&f.s.tz).date_naive()
}

/// Sets the clock to `hh:mm` local on `day`.
pub(crate) fn at_local(app: &TestApp, f: &Floor, day: NaiveDate, hh: u32, mm: u32) {
    let t =
        f.s.tz
            .from_local_datetime(&day.and_hms_opt(hh, mm, 0).unwrap())
            .earliest()
            .unwrap()
            .with_timezone(&Utc);
    app.clock.set(t);
}

pub(crate) async fn list(app: &TestApp, token: &str, day: NaiveDate) -> Vec<Value> {
    let r = app
        .get(&format!("/api/v1/callbacks?date={day}"), token)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body.as_array().unwrap().clone()
}

pub(crate) async fn claim(app: &TestApp, token: &str, id: &str) -> Answer {
    app.post(
        &format!("/api/v1/callbacks/{id}/claim"),
        Some(token),
        &json!({}),
    )
    .await
}

pub(crate) async fn outcome(app: &TestApp, token: &str, id: &str, body: Value) -> Answer {
    app.post(
        &format!("/api/v1/callbacks/{id}/outcome"),
        Some(token),
        &body,
    )
    .await
}

pub(crate) async fn calls(app: &TestApp) -> u64 {
    callback_call::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_follow_up_loop_from_delivery_to_a_verified_case_worked_from_the_callback_list() {
    let app = app().await;
    let f = floor(&app, "LOOP").await;
    let [(li, _), (wang, _)] = agents(&app, &f).await;

    // 1. a delivered order: its follow-up call is due the next morning, not today
    let order = delivered(&app, &f, 1).await;
    let today = local_today(&app, &f);
    assert!(list(&app, &li, today).await.is_empty());
    let tomorrow = today + Duration::days(1);
    let due = list(&app, &li, tomorrow).await;
    assert_eq!(due.len(), 1, "{due:?}");
    let follow = &due[0];
    assert_eq!(follow["reason"], "follow_up");
    assert_eq!(follow["visit"]["repair_order_id"], order.as_str());
    assert_eq!(follow["visit"]["amount"], "587.00");
    assert_eq!(follow["visit"]["work"], json!(["更换前刹车片"]));
    assert_eq!(follow["customer"]["phone"], "+8613900000001");
    assert_eq!(follow["known"]["survey_answered"], false);
    // the script speaks of this visit, in the customer's language
    let script = follow["script"].as_str().unwrap();
    assert!(
        script.contains("更换前刹车片") && script.contains("587.00") && script.contains("京A10001"),
        "{script}"
    );

    // 2. the planner's follow-up carries the survey link
    at_local(&app, &f, tomorrow, 8, 0);
    let manager = app.login_as(&f.s.code, "service_manager").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let run = app
        .post("/api/v1/care/runs", Some(&manager), &json!({}))
        .await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.body);
    let msg = outbox_message::Entity::find()
        .filter(outbox_message::Column::Kind.eq(MessageKind::PostRepairFollowup))
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("the follow-up was planned");
    assert_eq!(msg.occurrence_key, format!("post_repair_followup:{order}"));
    let token = msg.params["survey_url"]
        .as_str()
        .unwrap()
        .rsplit("/s/")
        .next()
        .unwrap()
        .to_string();

    // 3. answered by token: 9 everywhere, cost 3 → CSI 0.9 × 88.9 + 0.1 × 22.2 = 82.2
    let path = format!("/api/v1/surveys/{token}");
    let q = app.send(app.http.get(app.url(&path))).await.body["questionnaire"].clone();
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
                .json(&json!({"answers": answers, "recommend": 8})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let again = app
        .send(
            app.http
                .post(app.url(&path))
                .json(&json!({"answers": answers, "recommend": 8})),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);

    // 4. the low cost section opened a price case: first on the list, before the follow-up
    let due = list(&app, &li, tomorrow).await;
    assert_eq!(due.len(), 2, "{due:?}");
    let case_entry = &due[0];
    assert_eq!(case_entry["reason"], "case_contact");
    assert_eq!(case_entry["priority"], 1);
    assert_eq!(case_entry["case"]["category"], "price");
    assert_eq!(case_entry["case"]["severity"], "high");
    assert_eq!(due[1]["reason"], "follow_up");
    assert_eq!(due[1]["known"]["survey_answered"], true);
    assert_eq!(due[1]["known"]["csi"], "82.2");
    assert_eq!(
        due[1]["known"]["open_case_id"],
        case_entry["case"]["id"].clone()
    );
    let entry = case_entry["id"].as_str().unwrap().to_string();
    let case_id = case_entry["case"]["id"].as_str().unwrap().to_string();

    // 5. two agents claim it at once: one gets it, the other is told who has it
    let (a, b) = tokio::join!(claim(&app, &li, &entry), claim(&app, &wang, &entry));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{} {}",
        a.body,
        b.body
    );
    let (holder, other) = if a.status == StatusCode::OK {
        (&li, &wang)
    } else {
        (&wang, &li)
    };
    // the one without the claim cannot record a call: nothing kept
    let stolen = outcome(
        &app,
        other,
        &entry,
        json!({"result": "reached", "note": "我来打"}),
    )
    .await;
    assert_eq!(stolen.status, StatusCode::CONFLICT, "{}", stolen.body);
    assert_eq!(calls(&app).await, 0);
    // a reached case contact needs a note
    let mute = outcome(&app, holder, &entry, json!({"result": "reached"})).await;
    assert_eq!(mute.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(mute.problem_fields(), vec!["note"]);

    // 6. the contact logged: the entry is done, the case contacted
    let done = outcome(
        &app,
        holder,
        &entry,
        json!({"result": "reached", "note": "客户认为刹车片价格偏高，已解释配件价格构成"}),
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body["state"], "done");
    assert_eq!(done.body["calls"].as_array().unwrap().len(), 1);
    assert_eq!(done.body["calls"][0]["result"], "reached");
    let c = app.get(&format!("/api/v1/cases/{case_id}"), holder).await;
    assert_eq!(c.body["state"], "contacted", "{}", c.body);
    assert_eq!(c.body["events"][1]["action"], "contact");
    // a retried outcome finds the claim gone: 409, still one call
    let retry = outcome(
        &app,
        holder,
        &entry,
        json!({"result": "reached", "note": "客户认为刹车片价格偏高，已解释配件价格构成"}),
    )
    .await;
    assert_eq!(retry.status, StatusCode::CONFLICT, "{}", retry.body);
    assert_eq!(calls(&app).await, 1);

    // 7. agreed, resolved, verified with the customer; the list keeps only the follow-up
    for (action, note) in [
        ("agree", "下次保养工时费八折"),
        ("resolve", "优惠券已发放"),
        ("verify", "回访确认客户满意"),
    ] {
        let r = app
            .post(
                &format!("/api/v1/cases/{case_id}/{action}"),
                Some(holder),
                &json!({"note": note}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{action}: {}", r.body);
    }
    let c = app.get(&format!("/api/v1/cases/{case_id}"), holder).await;
    assert_eq!(c.body["state"], "verified");
    let due = list(&app, &li, tomorrow).await;
    assert_eq!(due.len(), 1);
    assert_eq!(due[0]["reason"], "follow_up");
    assert_eq!(due[0]["known"]["open_case_id"], Value::Null);

    // another dealer sees none of it
    let (_, stranger) = app.staff("ELSEWHERE", Role::CustomerCare).await;
    assert!(list(&app, &stranger, tomorrow).await.is_empty());
    let peek = app
        .get(&format!("/api/v1/callbacks/{entry}"), &stranger)
        .await;
    assert_eq!(peek.status, StatusCode::NOT_FOUND);
    assert_eq!(
        claim(&app, &stranger, &entry).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_agent_records_the_answers_of_a_follow_up_call_as_a_scored_response() {
    let app = app().await;
    let f = floor(&app, "CALL").await;
    let [(li, li_id), _] = agents(&app, &f).await;
    let order = delivered(&app, &f, 2).await;
    let tomorrow = local_today(&app, &f) + Duration::days(1);
    at_local(&app, &f, tomorrow, 10, 0);
    let id = list(&app, &li, tomorrow).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // an outcome before a claim: 409, nothing kept
    let early = outcome(&app, &li, &id, json!({"result": "reached"})).await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    let c = claim(&app, &li, &id).await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    assert_eq!(c.body["claimed_by"], li_id.as_str());
    // answers out of range, answers with an unanswered call: named, nothing kept
    let q = app.get("/api/v1/csi/questionnaire", &li).await.body;
    let bad = outcome(
        &app,
        &li,
        &id,
        json!({"result": "reached", "answers": {"answers": [{"code": "greeting", "score": 11}]}}),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(
        bad.problem_fields(),
        vec!["answers.answers[0].score"],
        "{}",
        bad.body
    );
    let odd = outcome(
        &app,
        &li,
        &id,
        json!({"result": "no_answer", "answers": {"answers": answers_all(&q, 8)}}),
    )
    .await;
    assert_eq!(odd.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(odd.problem_fields(), vec!["answers"]);
    assert_eq!(calls(&app).await, 0);
    // every question 8, recommend 9: (8 − 1) / 9 = 77.8 in every section
    let r = outcome(
        &app,
        &li,
        &id,
        json!({"result": "reached", "note": "客户满意",
               "answers": {"answers": answers_all(&q, 8), "recommend": 9, "comment": "师傅很专业"}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["known"]["csi"], "77.8");
    let response_id = r.body["calls"][0]["response_id"].as_str().unwrap();
    let resp = csi_response::Entity::find_by_id(response_id.parse::<uuid::Uuid>().unwrap())
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            resp.source.as_str(),
            resp.order_id.to_string(),
            resp.csi_tenths
        ),
        ("call", order, Some(778))
    );
    // the record of the call (《维修跟踪记录表》): who, when, how, what was said
    let v = app.get(&format!("/api/v1/callbacks/{id}"), &li).await;
    assert_eq!(v.status, StatusCode::OK);
    assert_eq!(v.body["calls"][0]["agent_id"], li_id.as_str());
    assert_eq!(v.body["calls"][0]["note"], "客户满意");
    assert_eq!(
        v.body["calls"][0]["called_at"],
        r.body["calls"][0]["called_at"]
    );
    // a happy call opens no case
    let cases = app.get("/api/v1/cases", &li).await;
    assert_eq!(cases.body, json!([]));
}

#[tokio::test]
async fn an_unanswered_customer_is_tried_later_that_day_and_the_next_then_followed_up_by_message_only()
 {
    let app = app().await;
    let f = floor(&app, "RING").await;
    let [(li, _), (wang, _)] = agents(&app, &f).await;
    let first = delivered(&app, &f, 3).await;
    // the customer has the app: the planner's follow-up goes by SMS and app
    app.customer_token(&f.s.code, "13900000003").await;
    let day1 = local_today(&app, &f) + Duration::days(1);
    at_local(&app, &f, day1, 8, 0);
    assert_eq!(followup_channels(&app, &f, &first).await, ["app", "sms"]);
    at_local(&app, &f, day1, 10, 0);
    let id = list(&app, &li, day1).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // call back at: without a time, or in the past, is named; then honoured
    assert_eq!(claim(&app, &li, &id).await.status, StatusCode::OK);
    let no_time = outcome(&app, &li, &id, json!({"result": "call_back_at"})).await;
    assert_eq!(no_time.problem_fields(), vec!["at"]);
    let past = outcome(
        &app,
        &li,
        &id,
        json!({"result": "call_back_at", "at": "2000-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(past.problem_fields(), vec!["at"]);
    let at = app.clock.now_utc() + Duration::minutes(90);
    let later = outcome(
        &app,
        &li,
        &id,
        json!({"result": "call_back_at", "at": at.to_rfc3339(), "note": "客户在开会"}),
    )
    .await;
    assert_eq!(later.status, StatusCode::OK, "{}", later.body);
    assert_eq!(later.body["state"], "queued");
    assert_eq!(later.body["tries"], 0);
    assert_eq!(later.body["claimed_by"], Value::Null);

    // an unfinished claim returns to the queue after 15 minutes
    at_local(&app, &f, day1, 11, 30);
    assert_eq!(claim(&app, &li, &id).await.status, StatusCode::OK);
    assert_eq!(claim(&app, &wang, &id).await.status, StatusCode::CONFLICT);
    app.clock.advance(Duration::minutes(16));
    assert_eq!(claim(&app, &wang, &id).await.status, StatusCode::OK);

    // no answer at 11:46: back at 14:46 the same day
    let n1 = outcome(&app, &wang, &id, json!({"result": "no_answer"})).await;
    assert_eq!(n1.status, StatusCode::OK, "{}", n1.body);
    assert_eq!(n1.body["tries"], 1);
    let due: chrono::DateTime<Utc> = n1.body["due_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(due, app.clock.now_utc() + Duration::hours(3));
    // no answer again: tomorrow at opening, not on today's list
    app.clock.set(due);
    assert_eq!(claim(&app, &wang, &id).await.status, StatusCode::OK);
    let n2 = outcome(&app, &wang, &id, json!({"result": "no_answer"})).await;
    assert_eq!(n2.body["tries"], 2);
    assert!(list(&app, &wang, day1).await.is_empty());
    let day2 = day1 + Duration::days(1);
    assert_eq!(list(&app, &wang, day2).await.len(), 1);
    // the third: unreachable, off the list, and the customer is marked
    at_local(&app, &f, day2, 9, 30);
    assert_eq!(claim(&app, &wang, &id).await.status, StatusCode::OK);
    let n3 = outcome(&app, &wang, &id, json!({"result": "no_answer"})).await;
    assert_eq!(n3.status, StatusCode::OK, "{}", n3.body);
    assert_eq!(n3.body["state"], "unreachable");
    assert!(list(&app, &wang, day2 + Duration::days(7)).await.is_empty());
    assert_eq!(claim(&app, &wang, &id).await.status, StatusCode::CONFLICT);
    let unreachable = customer::Entity::find()
        .filter(customer::Column::Phone.eq("+8613900000003"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(unreachable.calls_unreachable_at.is_some());
    assert_eq!(calls(&app).await, 4);

    // the next visit: no call on the list, and the follow-up by SMS only
    let vehicle = app
        .get(&format!("/api/v1/repair-orders/{first}"), &f.s.advisor)
        .await
        .body["vehicle"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let second = crate::repair_orders::walk_in(&app, &f.s, &vehicle).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    crate::care_planner::deliver(&app, second.parse().unwrap(), app.clock.now_utc()).await;
    let day3 = day2 + Duration::days(1);
    at_local(&app, &f, day3, 8, 0);
    assert_eq!(followup_channels(&app, &f, &second).await, ["sms"]);
}

/// Runs the planner as the manager; the channels of the order's follow-up.
async fn followup_channels(app: &TestApp, f: &Floor, order: &str) -> Vec<String> {
    let manager = app.login_as(&f.s.code, "service_manager").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let run = app
        .post("/api/v1/care/runs", Some(&manager), &json!({}))
        .await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.body);
    let mut channels: Vec<String> = outbox_message::Entity::find()
        .filter(outbox_message::Column::OccurrenceKey.eq(format!("post_repair_followup:{order}")))
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.channel.as_str().to_string())
        .collect();
    channels.sort();
    channels
}

#[tokio::test]
async fn a_call_that_reaches_the_customer_counts_as_the_follow_up_in_the_analysis() {
    let app = app().await;
    let f = floor(&app, "REACH").await;
    let [(li, _), _] = agents(&app, &f).await;
    delivered(&app, &f, 4).await;
    let today = local_today(&app, &f);
    let tomorrow = today + Duration::days(1);
    let manager = app.login_as(&f.s.code, "service_manager").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let report = format!("/api/v1/csi?from={today}&to={tomorrow}");
    let before = app.get(&report, &manager).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.body);
    assert_eq!(before.body["follow_up"]["delivered"], 1);
    assert_eq!(before.body["follow_up"]["followed_up"], 0);
    // no message, no survey: only the call, the next morning
    at_local(&app, &f, tomorrow, 10, 0);
    let id = list(&app, &li, tomorrow).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(claim(&app, &li, &id).await.status, StatusCode::OK);
    let r = outcome(
        &app,
        &li,
        &id,
        json!({"result": "reached", "note": "车况良好"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let after = app.get(&report, &manager).await;
    assert_eq!(after.body["follow_up"]["followed_up"], 1, "{}", after.body);
}
