//! Enquiries and complaints (issue 13 part 2): the first answer due in
//! working hours and met or late; a complaint opens exactly one case; claims;
//! the answer reaching the outbox once; customers see only their own; bad input.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use servicelane::domain::Role;
use servicelane::domain::message::MessageKind;
use servicelane::entities::{case, outbox_message};
use uuid::Uuid;

use crate::appointments::{Shop, owner};
use crate::care_planner::set_local;
use crate::helpers::*;

const TZ: &str = "Asia/Shanghai";

fn tz() -> Tz {
    TZ.parse().unwrap()
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn local(date: NaiveDate, hh: u32, mm: u32) -> DateTime<Utc> {
    tz().from_local_datetime(&date.and_hms_opt(hh, mm, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

fn instant(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// A dealer open Monday to Friday 08:30–12:00 and 13:00–17:30 and
/// Saturday 09:00–12:00 (Sunday closed), with a manager, an advisor and two
/// customer-centre agents; the clock on Tuesday 2026-12-01 09:00.
struct Centre {
    s: Shop,
    care: String,
    care2: String,
}

async fn centre(app: &TestApp, code: &str) -> Centre {
    set_local(app, tz(), d(2026, 12, 1), 9, 0);
    let dealer = app.dealer_in(code, TZ).await;
    let (_, manager) = app.staff(code, Role::ServiceManager).await;
    let (_, advisor) = app.staff(code, Role::ServiceAdvisor).await;
    let (_, care) = app.staff(code, Role::CustomerCare).await;
    app.user(dealer, "care2", Role::CustomerCare).await;
    let care2 = app.login_as(code, "care2").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut hours: Vec<Value> = (1..=5)
        .flat_map(|w| {
            [
                json!({"weekday": w, "open": "08:30", "close": "12:00"}),
                json!({"weekday": w, "open": "13:00", "close": "17:30"}),
            ]
        })
        .collect();
    hours.push(json!({"weekday": 6, "open": "09:00", "close": "12:00"}));
    let put = app
        .put(
            "/api/v1/capacity",
            &manager,
            &json!({"slot_minutes": 30, "reception_per_slot": 3, "workshop_bays": 4, "opening_hours": hours}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    Centre {
        s: Shop {
            code: code.into(),
            tz: tz(),
            manager,
            advisor,
            date: d(2026, 12, 1),
        },
        care,
        care2,
    }
}

async fn ask(app: &TestApp, token: &str, body: &Value, key: Option<&str>) -> Answer {
    let mut r = app
        .http
        .post(app.url("/api/v1/enquiries"))
        .bearer_auth(token)
        .json(body);
    if let Some(k) = key {
        r = r.header("idempotency-key", k);
    }
    app.send(r).await
}

async fn act(app: &TestApp, token: &str, id: &str, action: &str, body: &Value) -> Answer {
    app.post(
        &format!("/api/v1/enquiries/{id}/{action}"),
        Some(token),
        body,
    )
    .await
}

async fn answered_messages(app: &TestApp, id: &str) -> Vec<outbox_message::Model> {
    outbox_message::Entity::find()
        .filter(outbox_message::Column::Kind.eq(MessageKind::EnquiryAnswered))
        .filter(outbox_message::Column::OccurrenceKey.eq(format!("enquiry:{id}")))
        .all(&app.state.db)
        .await
        .unwrap()
}

async fn cases_of(app: &TestApp, enquiry: &str) -> u64 {
    case::Entity::find()
        .filter(case::Column::EnquiryId.eq(Uuid::parse_str(enquiry).unwrap()))
        .count(&app.state.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_enquiry_answered_in_working_time_is_met_and_one_past_its_due_time_is_late() {
    let app = spawn_app_with(&[("SERVICELANE__AUTH__ACCESS_TTL_SECS", "31536000")]).await;
    let c = centre(&app, "ENQSLA").await;
    let (_, _) = owner(&app, &c.s, 1).await;
    let me = app.customer_token(&c.s.code, "13900000001").await;

    // Tuesday 20:00, after closing: due Wednesday 08:30 + 2 working hours
    set_local(&app, tz(), d(2026, 12, 1), 20, 0);
    let a = ask(
        &app,
        &me,
        &json!({"topic": "price", "text": "小保养多少钱？", "preferred_contact": "sms"}),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let first = a.body["id"].as_str().unwrap().to_string();
    assert_eq!(instant(&a.body["due_at"]), local(d(2026, 12, 2), 10, 30));
    assert_eq!(a.body["sla"], "pending");
    assert_eq!(a.body["source"], "app");
    assert!(a.body["case_id"].is_null());

    // Wednesday 10:00: claimed and answered before the due time
    set_local(&app, tz(), d(2026, 12, 2), 10, 0);
    let queue = app.get("/api/v1/enquiries", &c.care).await;
    assert_eq!(queue.status, StatusCode::OK, "{}", queue.body);
    assert_eq!(queue.body[0]["id"], first.as_str());
    assert_eq!(queue.body[0]["overdue"], false);
    let claim = act(&app, &c.care, &first, "claim", &json!({})).await;
    assert_eq!(claim.status, StatusCode::OK, "{}", claim.body);
    assert_eq!(claim.body["state"], "claimed");
    let ans = act(
        &app,
        &c.care,
        &first,
        "answer",
        &json!({"text": "小保养含工时费共480元。"}),
    )
    .await;
    assert_eq!(ans.status, StatusCode::OK, "{}", ans.body);
    assert_eq!(ans.body["state"], "answered");
    assert_eq!(ans.body["sla"], "met");
    // a second answer is refused and sends nothing more
    let again = act(
        &app,
        &c.care,
        &first,
        "answer",
        &json!({"text": "再答一次"}),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    let rows = answered_messages(&app, &first).await;
    assert_eq!(rows.len(), 1, "one answer, one message");
    assert_eq!(rows[0].channel.as_str(), "sms");
    assert!(rows[0].body.contains("480元"), "{}", rows[0].body);
    app.dispatch_pending().await;
    app.dispatch_pending().await;
    // the app's own dispatcher may have it in flight: wait for the sink
    app.sms.wait_for("+8613900000001").await;
    let answers = || {
        app.sms
            .messages_to("+8613900000001")
            .into_iter()
            .filter(|m| m.0["template"] == "enquiry_answered")
            .count()
    };
    for _ in 0..100 {
        if answers() > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.dispatch_pending().await;
    assert_eq!(answers(), 1, "the answer reached the customer once");

    // the customer reads the answer
    let mine = app.get("/api/v1/enquiries/mine", &me).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert_eq!(mine.body[0]["answer"], "小保养含工时费共480元。");
    assert!(
        mine.body[0]["answered_by"].is_null(),
        "staff's fields stay hidden"
    );

    // Friday 17:00: half an hour Friday, Sunday closed → due Saturday 10:30
    set_local(&app, tz(), d(2026, 12, 4), 17, 0);
    let b = ask(
        &app,
        &me,
        &json!({"topic": "booking", "text": "周一上午能做保养吗？", "preferred_contact": "app"}),
        None,
    )
    .await;
    assert_eq!(b.status, StatusCode::CREATED, "{}", b.body);
    let second = b.body["id"].as_str().unwrap().to_string();
    assert_eq!(instant(&b.body["due_at"]), local(d(2026, 12, 5), 10, 30));
    set_local(&app, tz(), d(2026, 12, 5), 11, 0);
    let overdue = app.get("/api/v1/enquiries?overdue=true", &c.care).await;
    assert_eq!(overdue.status, StatusCode::OK, "{}", overdue.body);
    assert_eq!(overdue.body.as_array().unwrap().len(), 1);
    assert_eq!(overdue.body[0]["id"], second.as_str());
    assert_eq!(overdue.body[0]["overdue"], true);
    assert_eq!(overdue.body[0]["sla"], "overdue");
    let late = act(
        &app,
        &c.care2,
        &second,
        "answer",
        &json!({"text": "周一上午9点有空位，已为您预留。"}),
    )
    .await;
    assert_eq!(late.status, StatusCode::OK, "{}", late.body);
    assert_eq!(late.body["sla"], "late");
    assert_eq!(late.body["overdue"], false);
    // `app`: the answer is in the customer's inbox
    let inbox = app.get("/api/v1/inbox", &me).await;
    assert_eq!(inbox.status, StatusCode::OK, "{}", inbox.body);
    let answers: Vec<&Value> = inbox
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "enquiry_answered")
        .collect();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0]["subject_id"], second.as_str());
    assert!(answers[0]["body"].as_str().unwrap().contains("9点"));

    // closed: off the queue; the same question may be asked anew
    let closed = act(&app, &c.care, &first, "close", &json!({})).await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.body);
    assert_eq!(closed.body["state"], "closed");
    let anew = ask(
        &app,
        &me,
        &json!({"topic": "price", "text": "小保养多少钱？", "preferred_contact": "sms"}),
        None,
    )
    .await;
    assert_eq!(anew.status, StatusCode::CREATED, "{}", anew.body);
    assert_ne!(anew.body["id"], first.as_str());
}

#[tokio::test]
async fn the_answer_time_is_a_setting_of_the_dealer() {
    let app = spawn_app_with(&[("SERVICELANE__AUTH__ACCESS_TTL_SECS", "31536000")]).await;
    let c = centre(&app, "ENQSET").await;
    let (customer, _) = owner(&app, &c.s, 2).await;
    let get = app.get("/api/v1/enquiries/settings", &c.care).await;
    assert_eq!(get.status, StatusCode::OK, "{}", get.body);
    assert_eq!(get.body["answer_within_minutes"], 120);
    let refused = app
        .put(
            "/api/v1/enquiries/settings",
            &c.care,
            &json!({"answer_within_minutes": 60}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let bad = app
        .put(
            "/api/v1/enquiries/settings",
            &c.s.manager,
            &json!({"answer_within_minutes": 5}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(bad.problem_fields(), vec!["answer_within_minutes"]);
    let put = app
        .put(
            "/api/v1/enquiries/settings",
            &c.s.manager,
            &json!({"answer_within_minutes": 240}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    // Tuesday 11:00: an hour before lunch, three after → 16:00; recorded from a call
    set_local(&app, tz(), d(2026, 12, 1), 11, 0);
    let a = ask(
        &app,
        &c.care,
        &json!({"topic": "warranty", "text": "电瓶还在保修期吗", "preferred_contact": "call", "customer_id": customer, "source": "phone"}),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(instant(&a.body["due_at"]), local(d(2026, 12, 1), 16, 0));
    assert_eq!(a.body["source"], "phone");
    // `call`: staff record that they called; nothing is sent
    let id = a.body["id"].as_str().unwrap();
    let ans = act(
        &app,
        &c.care,
        id,
        "answer",
        &json!({"text": "已致电：在保修期内"}),
    )
    .await;
    assert_eq!(ans.status, StatusCode::OK, "{}", ans.body);
    assert!(answered_messages(&app, id).await.is_empty());
}

#[tokio::test]
async fn a_complaint_opens_exactly_one_case_however_often_it_is_sent() {
    let app = spawn_app_with(&[("SERVICELANE__AUTH__ACCESS_TTL_SECS", "31536000")]).await;
    let c = centre(&app, "ENQCASE").await;
    let (_, vehicle) = owner(&app, &c.s, 3).await;
    let me = app.customer_token(&c.s.code, "13900000003").await;
    let complaint = json!({"topic": "complaint", "text": "上次保养后发动机还是有异响", "preferred_contact": "call", "vehicle_id": vehicle});

    // with one Idempotency-Key: the retry replays the first answer
    let a = ask(&app, &me, &complaint, Some("app-7-0001")).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let id = a.body["id"].as_str().unwrap().to_string();
    let b = ask(&app, &me, &complaint, Some("app-7-0001")).await;
    assert_eq!(b.status, StatusCode::CREATED, "{}", b.body);
    assert_eq!(
        b.headers
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(b.body["id"], id.as_str());
    // without a key, and with another key: the same open question
    let c2 = ask(&app, &me, &complaint, None).await;
    assert_eq!(c2.status, StatusCode::OK, "{}", c2.body);
    assert_eq!(c2.body["id"], id.as_str());
    let c3 = ask(&app, &me, &complaint, Some("app-7-0002")).await;
    assert_eq!(c3.body["id"], id.as_str());
    // at once
    let burst =
        futures_util::future::join_all((0..4).map(|_| ask(&app, &me, &complaint, None))).await;
    for r in &burst {
        assert!(r.status.is_success(), "{} {}", r.status, r.body);
        assert_eq!(r.body["id"], id.as_str());
    }
    assert_eq!(cases_of(&app, &id).await, 1);
    let cases = app.get("/api/v1/cases", &c.care).await;
    assert_eq!(cases.status, StatusCode::OK, "{}", cases.body);
    let opened: Vec<&Value> = cases
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["enquiry_id"] == id.as_str())
        .collect();
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0]["source"], "enquiry");
    assert_eq!(opened[0]["vehicle_id"], vehicle.as_str());
    let staff_view = app.get(&format!("/api/v1/enquiries/{id}"), &c.care).await;
    assert_eq!(staff_view.body["case_id"], opened[0]["id"]);

    // the lexicon's words in another topic open a case of their category, once
    let words = json!({"topic": "price", "text": "这次保养太贵了", "preferred_contact": "sms"});
    let p = ask(&app, &me, &words, None).await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.body);
    let pid = p.body["id"].as_str().unwrap().to_string();
    let p2 = ask(&app, &me, &words, None).await;
    assert_eq!(p2.body["id"], pid.as_str());
    assert_eq!(cases_of(&app, &pid).await, 1);
    let k = case::Entity::find()
        .filter(case::Column::EnquiryId.eq(Uuid::parse_str(&pid).unwrap()))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(k.category.as_str(), "price");
    // a plain question opens none
    let q = ask(
        &app,
        &me,
        &json!({"topic": "price", "text": "换机油多少钱", "preferred_contact": "sms"}),
        None,
    )
    .await;
    assert_eq!(q.status, StatusCode::CREATED, "{}", q.body);
    assert_eq!(cases_of(&app, q.body["id"].as_str().unwrap()).await, 0);
    assert_eq!(case::Entity::find().count(&app.state.db).await.unwrap(), 2);
}

#[tokio::test]
async fn a_second_agent_cannot_claim_or_answer_an_enquiry_another_holds() {
    let app = spawn_app_with(&[("SERVICELANE__AUTH__ACCESS_TTL_SECS", "31536000")]).await;
    let c = centre(&app, "ENQCLAIM").await;
    let (customer, _) = owner(&app, &c.s, 4).await;
    let a = ask(
        &app,
        &c.s.advisor,
        &json!({"topic": "insurance", "text": "续保有什么优惠", "preferred_contact": "sms", "customer_id": customer, "source": "walk_in"}),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let id = a.body["id"].as_str().unwrap().to_string();
    let first = act(&app, &c.care, &id, "claim", &json!({})).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let second = act(&app, &c.care2, &id, "claim", &json!({})).await;
    assert_eq!(second.status, StatusCode::CONFLICT, "{}", second.body);
    assert!(
        second.body["detail"]
            .as_str()
            .unwrap()
            .contains("holds this enquiry")
    );
    let answer = act(&app, &c.care2, &id, "answer", &json!({"text": "有优惠"})).await;
    assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.body);
    let close = act(&app, &c.care2, &id, "close", &json!({})).await;
    assert_eq!(close.status, StatusCode::CONFLICT, "{}", close.body);
    assert!(answered_messages(&app, &id).await.is_empty());
    // claiming one's own again renews it
    let renew = act(&app, &c.care, &id, "claim", &json!({})).await;
    assert_eq!(renew.status, StatusCode::OK, "{}", renew.body);
    // a claim that ran out is anyone's
    app.clock
        .set(app.clock.now_utc() + chrono::Duration::minutes(31));
    let takeover = act(&app, &c.care2, &id, "claim", &json!({})).await;
    assert_eq!(takeover.status, StatusCode::OK, "{}", takeover.body);
    let ans = act(
        &app,
        &c.care2,
        &id,
        "answer",
        &json!({"text": "本月续保送保养一次"}),
    )
    .await;
    assert_eq!(ans.status, StatusCode::OK, "{}", ans.body);
    assert_eq!(answered_messages(&app, &id).await.len(), 1);
    let late_claim = act(&app, &c.care, &id, "claim", &json!({})).await;
    assert_eq!(
        late_claim.status,
        StatusCode::CONFLICT,
        "{}",
        late_claim.body
    );
}

#[tokio::test]
async fn a_customer_sees_only_their_own_enquiries() {
    let app = spawn_app_with(&[("SERVICELANE__AUTH__ACCESS_TTL_SECS", "31536000")]).await;
    let c = centre(&app, "ENQOWN").await;
    let (_, _) = owner(&app, &c.s, 5).await;
    let (_, other_vehicle) = owner(&app, &c.s, 6).await;
    let me = app.customer_token(&c.s.code, "13900000005").await;
    let other = app.customer_token(&c.s.code, "13900000006").await;
    let a = ask(
        &app,
        &me,
        &json!({"topic": "other", "text": "休息区有充电桩吗", "preferred_contact": "app"}),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let id = a.body["id"].as_str().unwrap();
    let mine = app.get(&format!("/api/v1/enquiries/{id}"), &me).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    let theirs = app.get(&format!("/api/v1/enquiries/{id}"), &other).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{}", theirs.body);
    let list = app.get("/api/v1/enquiries/mine", &other).await;
    assert_eq!(list.body, json!([]));
    // the queue is staff's
    let queue = app.get("/api/v1/enquiries", &me).await;
    assert_eq!(queue.status, StatusCode::FORBIDDEN);
    let claim = act(&app, &me, id, "claim", &json!({})).await;
    assert_eq!(claim.status, StatusCode::FORBIDDEN);
    // another's vehicle is named as the bad field
    let v = ask(
        &app,
        &me,
        &json!({"topic": "other", "text": "这台车呢", "preferred_contact": "app", "vehicle_id": other_vehicle}),
        None,
    )
    .await;
    assert_eq!(v.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", v.body);
    assert_eq!(v.problem_fields(), vec!["vehicle_id"]);
    let o = ask(
        &app,
        &me,
        &json!({"topic": "other", "text": "工单呢", "preferred_contact": "app", "repair_order_id": Uuid::now_v7()}),
        None,
    )
    .await;
    assert_eq!(o.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", o.body);
    assert_eq!(o.problem_fields(), vec!["repair_order_id"]);
    // staff of another dealer: 404
    let (_, stranger) = app.staff("ENQELSE", Role::CustomerCare).await;
    let far = app.get(&format!("/api/v1/enquiries/{id}"), &stranger).await;
    assert_eq!(far.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_input_is_a_422_naming_the_field() {
    let app = spawn_app_with(&[("SERVICELANE__AUTH__ACCESS_TTL_SECS", "31536000")]).await;
    let c = centre(&app, "ENQBAD").await;
    let (_, _) = owner(&app, &c.s, 7).await;
    let me = app.customer_token(&c.s.code, "13900000007").await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"topic": "gossip", "text": "你好", "preferred_contact": "app"}),
            "topic",
        ),
        (
            json!({"topic": "price", "text": "多少\u{0}钱", "preferred_contact": "app"}),
            "text",
        ),
        (
            json!({"topic": "price", "text": "", "preferred_contact": "app"}),
            "text",
        ),
        (
            json!({"topic": "price", "text": "   ", "preferred_contact": "app"}),
            "text",
        ),
        (
            json!({"topic": "price", "text": "长".repeat(2001), "preferred_contact": "app"}),
            "text",
        ),
        (
            json!({"topic": "price", "text": "多少钱", "preferred_contact": "fax"}),
            "preferred_contact",
        ),
        (
            json!({"topic": "price", "text": "多少钱", "preferred_contact": "app", "source": "phone"}),
            "source",
        ),
        (
            json!({"topic": "price", "text": "多少钱", "preferred_contact": "app", "vehicle_id": "not-a-uuid"}),
            "vehicle_id",
        ),
    ];
    for (body, field) in cases {
        let a = ask(&app, &me, &body, None).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body} {}",
            a.body
        );
        assert_eq!(a.content_type(), "application/problem+json");
        assert_eq!(a.problem_fields(), vec![field.to_string()], "{body}");
    }
    // staff must say whose enquiry it is
    let staff = ask(
        &app,
        &c.care,
        &json!({"topic": "price", "text": "多少钱", "preferred_contact": "call"}),
        None,
    )
    .await;
    assert_eq!(
        staff.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        staff.body
    );
    assert_eq!(staff.problem_fields(), vec!["customer_id"]);
    let queue = app
        .get("/api/v1/enquiries?topic=gossip&limit=500", &c.care)
        .await;
    assert_eq!(
        queue.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        queue.body
    );
    // an answer with a NUL byte, or empty
    let ok = ask(
        &app,
        &me,
        &json!({"topic": "price", "text": "多少钱", "preferred_contact": "app"}),
        None,
    )
    .await;
    let id = ok.body["id"].as_str().unwrap();
    for text in ["", "答\u{0}复"] {
        let a = act(&app, &c.care, id, "answer", &json!({ "text": text })).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
        assert_eq!(a.problem_fields(), vec!["text"]);
    }
    assert!(answered_messages(&app, id).await.is_empty());
    let missing = app
        .get(&format!("/api/v1/enquiries/{}", Uuid::now_v7()), &c.care)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}
