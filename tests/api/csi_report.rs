//! The analysis of follow-ups (issue 10, item 5): `GET /api/v1/csi`.
//!
//! One month of a dealer, built through the API where it can be (orders,
//! the planner's follow-ups, the dispatcher, surveys, an SMS reply, cases)
//! and by hand where another test owns the step (delivery, dispatching a
//! job to a technician, a technician's clock interval):
//!
//! | order | advisor | technicians | delivered (local) | follow-up | response |
//! |---|---|---|---|---|---|
//! | A | service_advisor | tech_a | 3/2 17:00 | SMS sent 3/3 19:59 | all 8s on 3/8 (77.8), SMS "4" on 3/8 |
//! | B | service_advisor | tech_b | 3/4 18:00 | not sent | staff 10s on 3/5 (100.0) |
//! | C | advisor2 | tech_a (job), tech_b (clocked) | 3/4 18:00 | not sent | 4s, cost 2s on 3/8 (31.1) |
//!
//! Another dealer (SURVEY) has one response of all 1s (0.0) and its case.

use chrono::{NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use reqwest::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use servicelane::domain::Role;
use servicelane::entities::{clock_interval, outbox_message, repair_order_job, user};
use uuid::Uuid;

use crate::appointments::{Shop, owner, shop};
use crate::care_planner::{deliver, run, set_local};
use crate::csi::{answers_all, surveyed};
use crate::helpers::*;
use crate::repair_orders::add_job;

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, m, d).unwrap()
}

fn at(tz: Tz, m: u32, d: u32, hh: u32, mm: u32) -> chrono::DateTime<Utc> {
    tz.with_ymd_and_hms(2027, m, d, hh, mm, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn id(v: &Value) -> Uuid {
    v["id"].as_str().unwrap().parse().unwrap()
}

async fn access(app: &TestApp, username: &str) -> String {
    app.login_as("CSIR", username).await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn user_id(app: &TestApp, dealer: Uuid, username: &str) -> Uuid {
    user::Entity::find()
        .filter(user::Column::DealerId.eq(dealer))
        .filter(user::Column::Username.eq(username))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// An order of `vehicle` opened by `advisor` with one job dispatched to
/// `tech` (dispatching is the workshop's to test).
async fn order_with_job(app: &TestApp, advisor: &str, vehicle: &str, tech: Uuid) -> (Uuid, Uuid) {
    let o = app
        .post(
            "/api/v1/repair-orders",
            Some(advisor),
            &json!({"vehicle_id": vehicle, "concerns": ["异响"], "odometer_km": 12000}),
        )
        .await;
    assert_eq!(o.status, StatusCode::CREATED, "{}", o.body);
    let order = id(&o.body);
    let with_job = add_job(
        app,
        advisor,
        &order.to_string(),
        json!({"description": "检查异响", "labour_hours": "1", "skill": "mechanical"}),
    )
    .await;
    let job = id(&with_job["jobs"][0]);
    repair_order_job::Entity::update_many()
        .col_expr(repair_order_job::Column::TechnicianId, Expr::value(tech))
        .filter(repair_order_job::Column::Id.eq(job))
        .exec(&app.state.db)
        .await
        .unwrap();
    (order, job)
}

/// The survey token of the order's planned follow-up.
async fn token_of(app: &TestApp, order: Uuid) -> String {
    let m = followup(app, order)
        .await
        .expect("the follow-up was planned");
    let url = m.params["survey_url"].as_str().unwrap();
    url.rsplit("/s/").next().unwrap().to_string()
}

async fn followup(app: &TestApp, order: Uuid) -> Option<outbox_message::Model> {
    outbox_message::Entity::find()
        .filter(outbox_message::Column::OccurrenceKey.eq(format!("post_repair_followup:{order}")))
        .one(&app.state.db)
        .await
        .unwrap()
}

async fn answer(app: &TestApp, token: &str, answers: Value) {
    let r = app
        .send(
            app.http
                .post(app.url(&format!("/api/v1/surveys/{token}")))
                .json(&json!({ "answers": answers })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

async fn questionnaire(app: &TestApp, token: &str) -> Value {
    let v = app
        .send(app.http.get(app.url(&format!("/api/v1/surveys/{token}"))))
        .await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.body);
    v.body["questionnaire"].clone()
}

/// Every question of the sections named, scored by `score(section)`.
fn answers(q: &Value, score: impl Fn(&str) -> Option<u8>) -> Value {
    let list: Vec<Value> = q["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            let v = score(s["section"].as_str().unwrap());
            s["questions"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(move |x| v.map(|v| json!({"code": x["code"], "score": v})))
                .collect::<Vec<_>>()
        })
        .collect();
    json!(list)
}

async fn case_step(app: &TestApp, s: &Shop, case: &str, action: &str) {
    let r = app
        .post(
            &format!("/api/v1/cases/{case}/{action}"),
            Some(&s.manager),
            &json!({"note": action}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// (key or label, csi, responses) of each group.
fn groups(r: &Value, field: &str) -> Vec<(String, Value, u64)> {
    r["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g[field].as_str().unwrap().to_string(),
                g["csi"].clone(),
                g["responses"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn g(key: &str, csi: Option<&str>, n: u64) -> (String, Value, u64) {
    (key.to_string(), json!(csi), n)
}

const MARCH: &str = "/api/v1/csi?from=2027-03-01&to=2027-03-31";

#[tokio::test]
async fn a_month_of_follow_ups_is_analysed_by_section_advisor_technician_and_month_for_the_dealer_alone()
 {
    let app = spawn_app_with(&[
        NO_DISPATCHER,
        ("SERVICELANE__AUTH__ACCESS_TTL_SECS", "2592000"),
    ])
    .await;
    let sh: Tz = "Asia/Shanghai".parse().unwrap();
    set_local(&app, sh, day(3, 1), 9, 0);
    let s = shop(&app, "CSIR", "Asia/Shanghai", 3, 3).await;
    let (dealer, care) = app.staff("CSIR", Role::CustomerCare).await;
    for (name, role) in [
        ("advisor2", Role::ServiceAdvisor),
        ("tech_a", Role::Technician),
        ("tech_b", Role::Technician),
        ("brand", Role::NetworkAdmin),
    ] {
        app.user(dealer, name, role).await;
    }
    let advisor2 = access(&app, "advisor2").await;
    let brand = access(&app, "brand").await;
    let (_, tech) = app.staff("CSIR", Role::Technician).await;
    let (advisor1_id, advisor2_id) = (
        user_id(&app, dealer, "service_advisor").await,
        user_id(&app, dealer, "advisor2").await,
    );
    let (tech_a, tech_b) = (
        user_id(&app, dealer, "tech_a").await,
        user_id(&app, dealer, "tech_b").await,
    );
    let (customer_a, va) = owner(&app, &s, 11).await;
    let (_, vb) = owner(&app, &s, 12).await;
    let (_, vc) = owner(&app, &s, 13).await;
    let (a, _) = order_with_job(&app, &s.advisor, &va, tech_a).await;
    let (b, _) = order_with_job(&app, &s.advisor, &vb, tech_b).await;
    let (c, c_job) = order_with_job(&app, &advisor2, &vc, tech_a).await;
    // tech_b worked on C's job before it went to tech_a (clocking is the workshop's to test)
    clock_interval::Entity::insert(clock_interval::ActiveModel {
        id: sea_orm::Set(Uuid::now_v7()),
        dealer_id: sea_orm::Set(dealer),
        order_id: sea_orm::Set(c),
        job_id: sea_orm::Set(c_job),
        technician_id: sea_orm::Set(tech_b),
        started_at: sea_orm::Set(at(sh, 3, 1, 10, 0)),
        ended_at: sea_orm::Set(Some(at(sh, 3, 1, 11, 0))),
        end_reason: sea_orm::Set(None),
        note: sea_orm::Set(None),
    })
    .exec_without_returning(&app.state.db)
    .await
    .unwrap();

    // A is delivered on 3/2; its follow-up SMS leaves on 3/3
    deliver(&app, a, at(sh, 3, 2, 17, 0)).await;
    // another dealer: delivered 3/2, answered all 1s on 3/3 (CSI 0, a case)
    let (_, other_token) = surveyed(&app).await;
    let q = questionnaire(&app, &other_token).await;
    answer(&app, &other_token, answers_all(&q, 1)).await;
    run(&app, &s).await;
    set_local(&app, sh, day(3, 3), 19, 59);
    assert!(app.dispatch_pending().await >= 1);
    let sent = followup(&app, a).await.unwrap();
    assert!(sent.sent_at.is_some(), "{:?}", sent.state);

    // B and C are delivered on 3/4; their follow-ups are planned, never sent
    deliver(&app, b, at(sh, 3, 4, 18, 0)).await;
    deliver(&app, c, at(sh, 3, 4, 18, 0)).await;
    set_local(&app, sh, day(3, 5), 8, 0);
    run(&app, &s).await;
    let (ta, tb, tc) = (
        token_of(&app, a).await,
        token_of(&app, b).await,
        token_of(&app, c).await,
    );
    assert!(followup(&app, b).await.unwrap().sent_at.is_none());
    let q = questionnaire(&app, &ta).await;
    // B within 3 days of delivery: staff contact all 10s → 100.0
    set_local(&app, sh, day(3, 5), 10, 0);
    answer(
        &app,
        &tb,
        answers(&q, |s| (s == "staff_contact").then_some(10)),
    )
    .await;
    // A and C after their 3 days: A all 8s → 77.8; C all 4s but cost 2s →
    // (90 × 33.33 + 10 × 11.11) / 100 = 31.1, a low score: a price case
    set_local(&app, sh, day(3, 8), 10, 0);
    answer(&app, &ta, answers_all(&q, 8)).await;
    answer(
        &app,
        &tc,
        answers(&q, |s| Some(if s == "cost" { 2 } else { 4 })),
    )
    .await;
    // A's customer replies "4" to the follow-up SMS: a quick rating, not CSI
    let r = app
        .post_signed(
            "/api/v1/care/inbound/sms",
            &json!({"from": sent.recipient, "text": "4", "received_at": "2027-03-08T02:05:00Z"}),
            SMS_SECRET,
        )
        .await;
    assert_eq!(r.body["action"], "rated", "{}", r.body);

    // C's case: opened 3/8 10:00, resolved 3/9 10:00 (24 hours), verified
    let list = app.get("/api/v1/cases", &s.manager).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let cases = list.body.as_array().unwrap();
    assert_eq!(cases.len(), 1, "{}", list.body);
    assert_eq!(cases[0]["category"], "price");
    let case = cases[0]["id"].as_str().unwrap().to_string();
    set_local(&app, sh, day(3, 8), 11, 0);
    case_step(&app, &s, &case, "contact").await;
    case_step(&app, &s, &case, "agree").await;
    set_local(&app, sh, day(3, 9), 10, 0);
    case_step(&app, &s, &case, "resolve").await;
    case_step(&app, &s, &case, "verify").await;
    // and one by hand about the wait, still open
    let m = app
        .post(
            "/api/v1/cases",
            Some(&s.manager),
            &json!({"customer_id": customer_a, "category": "time", "severity": "low", "summary": "等待时间太长"}),
        )
        .await;
    assert_eq!(m.status, StatusCode::CREATED, "{}", m.body);
    set_local(&app, sh, day(3, 10), 9, 0);

    // by section (the default), as the customer centre reads it
    let r = app.get(MARCH, &care).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = r.body;
    assert_eq!(r["by"], "section");
    // (77.8 + 100.0 + 31.1) / 3 = 69.63 → 69.6; SURVEY's 0.0 and the SMS rating are not in it
    assert_eq!(
        (r["csi"].clone(), r["responses"].clone()),
        (json!("69.6"), json!(3))
    );
    assert_eq!(
        groups(&r, "key"),
        vec![
            // (77.8 + 33.3) / 2 = 55.55 → 55.6; B did not answer it
            g("facilities", Some("55.6"), 2),
            // (77.8 + 100.0 + 33.3) / 3 = 70.37 → 70.4
            g("staff_contact", Some("70.4"), 3),
            g("work_done", Some("55.6"), 2),
            // (77.8 + 11.1) / 2 = 44.45 → 44.5
            g("cost", Some("44.5"), 2),
            g("follow_up", Some("55.6"), 2),
        ]
    );
    assert_eq!(r["sms_ratings"], json!({"count": 1, "mean": "4.00"}));
    // delivered A, B, C; A by its SMS, B by its response; C answered after 3 days, nothing sent
    assert_eq!(
        r["follow_up"],
        json!({"delivered": 3, "followed_up": 2, "rate": "0.667"})
    );
    let by_category: Vec<(String, u64, u64, u64, Value)> = r["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["category"].as_str().unwrap().to_string(),
                c["opened"].as_u64().unwrap(),
                c["resolved"].as_u64().unwrap(),
                c["open"].as_u64().unwrap(),
                c["mean_hours_to_resolve"].clone(),
            )
        })
        .collect();
    let none = Value::Null;
    assert_eq!(
        by_category,
        vec![
            ("quality".into(), 0, 0, 0, none.clone()),
            ("price".into(), 1, 1, 0, json!("24.0")),
            ("attitude".into(), 0, 0, 0, none.clone()),
            ("time".into(), 1, 0, 1, none.clone()),
            ("facilities".into(), 0, 0, 0, none.clone()),
            ("other".into(), 0, 0, 0, none.clone()),
        ]
    );
    assert_eq!(r["dealers"], json!([]));

    // by advisor: A and B (77.8, 100.0) → 88.9; C → 31.1; by name
    let r = app
        .get(&format!("{MARCH}&by=advisor"), &s.manager)
        .await
        .body;
    assert_eq!(
        groups(&r, "key"),
        vec![
            g(&advisor2_id.to_string(), Some("31.1"), 1),
            g(&advisor1_id.to_string(), Some("88.9"), 2),
        ]
    );
    assert_eq!(groups(&r, "label")[0].0, "advisor2");
    // by technician: C counts for both; tech_a (77.8 + 31.1) / 2 = 54.45 → 54.5,
    // tech_b (100.0 + 31.1) / 2 = 65.55 → 65.6
    let r = app
        .get(&format!("{MARCH}&by=technician"), &s.manager)
        .await
        .body;
    assert_eq!(
        groups(&r, "label"),
        vec![g("tech_a", Some("54.5"), 2), g("tech_b", Some("65.6"), 2)]
    );
    assert_eq!(r["groups"][0]["key"], tech_a.to_string());
    // by month: the dealer's months; February has nothing
    let r = app
        .get(
            "/api/v1/csi?from=2027-02-01&to=2027-03-31&by=month",
            &s.manager,
        )
        .await
        .body;
    assert_eq!(groups(&r, "key"), vec![g("2027-03", Some("69.6"), 3)]);
    let feb = app
        .get("/api/v1/csi?from=2027-02-01&to=2027-02-28", &s.manager)
        .await
        .body;
    assert_eq!(
        (feb["csi"].clone(), feb["responses"].clone()),
        (Value::Null, json!(0))
    );
    assert_eq!(
        feb["follow_up"],
        json!({"delivered": 0, "followed_up": 0, "rate": null})
    );

    // the brand: the same figures, and every dealer ranked by CSI
    let r = app.get(MARCH, &brand).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["csi"], "69.6");
    let dealers: Vec<(String, Value, u64, Value, u64, Value)> = r.body["dealers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_string(),
                d["csi"].clone(),
                d["responses"].as_u64().unwrap(),
                d["followed_up_rate"].clone(),
                d["open_cases"].as_u64().unwrap(),
                d["rank"].clone(),
            )
        })
        .collect();
    assert_eq!(
        dealers,
        vec![
            (
                "CSIR 4S店".into(),
                json!("69.6"),
                3,
                json!("0.667"),
                1,
                json!(1)
            ),
            (
                "SURVEY 4S店".into(),
                json!("0.0"),
                1,
                json!("1.000"),
                1,
                json!(2)
            ),
        ]
    );
    assert_eq!(r.body["dealers"][0]["dealer_id"], dealer.to_string());

    // a technician may not read it
    let t = app.get(MARCH, &tech).await;
    assert_eq!(t.status, StatusCode::FORBIDDEN, "{}", t.body);
}

#[tokio::test]
async fn a_range_backwards_too_long_or_missing_is_refused_naming_the_field() {
    let app = spawn_app().await;
    app.dealer("RANGE").await;
    let (_, manager) = app.staff("RANGE", Role::ServiceManager).await;
    for (query, field) in [
        ("from=2027-03-02&to=2027-03-01", "to"),
        ("from=2027-01-01&to=2028-01-02", "to"),
        ("from=1800-01-01&to=2027-01-01", "from"),
        ("to=2027-01-01", "from"),
        ("from=2027-01-01&to=2027-01-31&by=weekday", "by"),
    ] {
        let r = app.get(&format!("/api/v1/csi?{query}"), &manager).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {}",
            r.body
        );
        assert_eq!(r.problem_fields(), vec![field], "{query}");
    }
    // a leap year in full is one range
    let r = app
        .get(
            "/api/v1/csi?from=2028-01-01&to=2028-12-31&by=month",
            &manager,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["groups"], json!([]));
}
