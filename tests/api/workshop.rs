//! The workshop and the handover: skills, dispatch, clocking, the board,
//! three-level QC with rework, wash, invoice, payments, delivery, cancel.
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::appointments::{Shop, owner, shop};
use crate::helpers::{Answer, NowUtc, TestApp, spawn_app_with};
use crate::repair_orders::{add_job, estimate_and_accept, walk_in, walkaround};
use servicelane::domain::Role;

const BRAKES: &str = r#"{"description": "更换前刹车片", "labour_hours": "1.5", "skill": "mechanical",
    "parts": [{"part_number": "BP-01", "name": "刹车片", "quantity": "2", "unit_price": "68.50"}]}"#;

/// The app, its access tokens living through a workshop day (the clock moves by hours).
pub(crate) async fn day_app() -> TestApp {
    spawn_app_with(&[("SERVICELANE__AUTH__ACCESS_TTL_SECS", "86400")]).await
}

fn brakes() -> Value {
    serde_json::from_str(BRAKES).unwrap()
}

/// A described job of `hours` needing `skill`, paid by `pay_type`.
fn job(description: &str, hours: &str, skill: &str, pay_type: &str) -> Value {
    json!({"description": description, "labour_hours": hours, "skill": skill, "pay_type": pay_type})
}

/// The people of a workshop floor, beside the shop's advisor and manager.
pub(crate) struct Floor {
    pub(crate) s: Shop,
    pub(crate) tech: String,
    pub(crate) tech_id: String,
    pub(crate) foreman: String,
    pub(crate) qc: String,
    pub(crate) cashier: String,
}

async fn me(app: &TestApp, token: &str) -> Value {
    app.get("/api/v1/me", token).await.body
}

pub(crate) async fn floor(app: &TestApp, code: &str) -> Floor {
    let s = shop(app, code, "Asia/Shanghai", 3, 3).await;
    let (_, tech) = app.staff(code, Role::Technician).await;
    let tech_id = me(app, &tech).await["id"].as_str().unwrap().to_string();
    let (_, foreman) = app.staff(code, Role::WorkshopForeman).await;
    let (_, qc) = app.staff(code, Role::QcInspector).await;
    let (_, cashier) = app.staff(code, Role::Cashier).await;
    skills(app, &s.manager, &tech_id, &["mechanical", "electrical"]).await;
    Floor {
        s,
        tech,
        tech_id,
        foreman,
        qc,
        cashier,
    }
}

pub(crate) async fn skills(app: &TestApp, token: &str, user: &str, skills: &[&str]) -> Answer {
    let a = app
        .put(
            &format!("/api/v1/users/{user}/skills"),
            token,
            &json!({ "skills": skills }),
        )
        .await;
    if a.status == StatusCode::OK {
        assert_eq!(a.body["id"], user);
    }
    a
}

/// A second technician of the shop: (user id, token).
async fn another_technician(app: &TestApp, s: &Shop, username: &str) -> (String, String) {
    let dealer =
        uuid::Uuid::parse_str(me(app, &s.advisor).await["dealer_id"].as_str().unwrap()).unwrap();
    app.user(dealer, username, Role::Technician).await;
    let token = app.login_as(&s.code, username).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let id = me(app, &token).await["id"].as_str().unwrap().to_string();
    (id, token)
}

/// A walk-in order with `jobs`, optionally walked around, its estimate
/// accepted: (order id, job ids in the order added).
pub(crate) async fn accepted(
    app: &TestApp,
    s: &Shop,
    n: u32,
    jobs: &[Value],
    walk: bool,
) -> (String, Vec<String>) {
    let (_, v) = owner(app, s, n).await;
    accepted_car(app, s, &v, jobs, walk).await
}

/// An order for vehicle `v`, its jobs added and the estimate accepted.
async fn accepted_car(
    app: &TestApp,
    s: &Shop,
    v: &str,
    jobs: &[Value],
    walk: bool,
) -> (String, Vec<String>) {
    let o = walk_in(app, s, v).await;
    let id = o["id"].as_str().unwrap().to_string();
    for j in jobs {
        add_job(app, &s.advisor, &id, j.clone()).await;
    }
    if walk {
        walkaround(app, s, &id).await;
    }
    estimate_and_accept(app, s, &id).await;
    let o = order(app, &s.advisor, &id).await;
    let ids = o["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_string())
        .collect();
    (id, ids)
}

async fn order(app: &TestApp, token: &str, id: &str) -> Value {
    let o = app.get(&format!("/api/v1/repair-orders/{id}"), token).await;
    assert_eq!(o.status, StatusCode::OK, "{}", o.body);
    o.body
}

pub(crate) async fn dispatch(
    app: &TestApp,
    token: &str,
    order: &str,
    job: &str,
    tech: &str,
    priority: &str,
) -> Answer {
    app.post(
        &format!("/api/v1/repair-orders/{order}/jobs/{job}/dispatch"),
        Some(token),
        &json!({"technician_id": tech, "priority": priority}),
    )
    .await
}

pub(crate) async fn clock_on(app: &TestApp, token: &str, order: &str, job: &str) -> Answer {
    app.post(
        &format!("/api/v1/repair-orders/{order}/jobs/{job}/clock-on"),
        Some(token),
        &json!({}),
    )
    .await
}

pub(crate) async fn clock_off(
    app: &TestApp,
    token: &str,
    order: &str,
    job: &str,
    body: Value,
) -> Answer {
    app.post(
        &format!("/api/v1/repair-orders/{order}/jobs/{job}/clock-off"),
        Some(token),
        &body,
    )
    .await
}

pub(crate) async fn qc(
    app: &TestApp,
    token: &str,
    order: &str,
    level: &str,
    passed: bool,
    rework: &[&str],
) -> Answer {
    app.post(
        &format!("/api/v1/repair-orders/{order}/qc"),
        Some(token),
        &json!({"level": level, "passed": passed,
                "checklist": [{"code": "BRAKES", "ok": passed, "note": if passed { "" } else { "踏板偏软" }},
                              {"code": "ROAD_TEST", "ok": true}],
                "rework_job_ids": rework}),
    )
    .await
}

pub(crate) async fn pay(
    app: &TestApp,
    token: &str,
    order: &str,
    amount: &str,
    key: Option<&str>,
) -> Answer {
    let mut req = app
        .http
        .post(app.url(&format!("/api/v1/repair-orders/{order}/payments")))
        .bearer_auth(token)
        .json(&json!({"method": "wechat", "amount": amount}));
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    app.send(req).await
}

fn job_of<'a>(o: &'a Value, id: &str) -> &'a Value {
    o["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == id)
        .unwrap()
}

/// Works a job from clock-on to done in `minutes`, with a finding.
pub(crate) async fn work(
    app: &TestApp,
    f: &Floor,
    order: &str,
    job: &str,
    minutes: i64,
    note: &str,
) -> Value {
    let on = clock_on(app, &f.tech, order, job).await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    app.clock.advance(Duration::minutes(minutes));
    let off = clock_off(
        app,
        &f.tech,
        order,
        job,
        json!({"reason": "done", "note": note}),
    )
    .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    off.body
}

/// Owner `n`'s car through a whole visit, brakes done, paid and handed
/// over through the API as the shop's advisor: the order's id.
pub(crate) async fn delivered(app: &TestApp, f: &Floor, n: u32) -> String {
    let (_, v) = owner(app, &f.s, n).await;
    delivered_car(app, f, &v).await
}

/// Vehicle `v` through a whole visit, as [`delivered`]: the order's id.
pub(crate) async fn delivered_car(app: &TestApp, f: &Floor, v: &str) -> String {
    let s = &f.s;
    let (o, jobs) = accepted_car(app, s, v, &[brakes()], true).await;
    let d = dispatch(app, &f.foreman, &o, &jobs[0], &f.tech_id, "normal").await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    work(app, f, &o, &jobs[0], 40, "前刹车片已更换").await;
    for (token, level) in [(&f.tech, "self"), (&f.foreman, "foreman"), (&f.qc, "final")] {
        let r = qc(app, token, &o, level, true, &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{level}: {}", r.body);
    }
    let wash = app
        .post(
            &format!("/api/v1/repair-orders/{o}/wash-done"),
            Some(&s.advisor),
            &json!({}),
        )
        .await;
    assert_eq!(wash.status, StatusCode::OK, "{}", wash.body);
    let inv = app
        .get(&format!("/api/v1/repair-orders/{o}/invoice"), &s.advisor)
        .await;
    let balance = inv.body["balance"].as_str().unwrap().to_string();
    let p = pay(app, &f.cashier, &o, &balance, None).await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.body);
    let del = app
        .post(
            &format!("/api/v1/repair-orders/{o}/deliver"),
            Some(&s.advisor),
            &json!({"explained": true}),
        )
        .await;
    assert_eq!(del.status, StatusCode::OK, "{}", del.body);
    o
}

#[tokio::test]
async fn an_order_goes_from_acceptance_through_the_workshop_to_closed() {
    let app = day_app().await;
    let f = floor(&app, "WS1").await;
    let s = &f.s;
    let promised = (app.clock.now_utc() + Duration::hours(6)).to_rfc3339();
    let (o, jobs) = accepted(
        &app,
        s,
        1,
        &[brakes(), job("检查ABS线路", "1", "electrical", "warranty")],
        true,
    )
    .await;
    let promise = app
        .patch(
            &format!("/api/v1/repair-orders/{o}"),
            &s.advisor,
            Some(&format!(
                "\"{}\"",
                order(&app, &s.advisor, &o).await["version"]
            )),
            &json!({"promised_at": promised}),
        )
        .await;
    assert_eq!(promise.status, StatusCode::OK, "{}", promise.body);
    let (a, b) = (jobs[0].as_str(), jobs[1].as_str());

    // the technicians list shows the skills; the board shows both jobs waiting
    let t = app.get("/api/v1/technicians", &s.advisor).await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.body);
    assert_eq!(t.body[0]["id"], f.tech_id.as_str());
    assert_eq!(t.body[0]["skills"], json!(["mechanical", "electrical"]));
    let board = app.get("/api/v1/workshop/board", &f.foreman).await;
    assert_eq!(board.status, StatusCode::OK, "{}", board.body);
    assert_eq!(board.body["waiting"].as_array().unwrap().len(), 2);
    assert_eq!(board.body["in_work"], json!([]));

    // dispatch: the foreman the brakes (high), the advisor the wiring
    let d = dispatch(&app, &f.foreman, &o, a, &f.tech_id, "high").await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    assert_eq!(job_of(&d.body, a)["state"], "dispatched");
    assert_eq!(job_of(&d.body, a)["technician_id"], f.tech_id.as_str());
    assert_eq!(job_of(&d.body, a)["priority"], "high");
    let d = dispatch(&app, &s.advisor, &o, b, &f.tech_id, "normal").await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);

    // the technician's list: high priority first, with the plate and the promise
    let mine = app.get("/api/v1/me/jobs", &f.tech).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert_eq!(mine.body.as_array().unwrap().len(), 2);
    assert_eq!(mine.body[0]["job_id"], a);
    assert_eq!(mine.body[0]["plate"], "京A10001");
    assert!(mine.body[0]["promised_at"].is_string());
    assert_eq!(mine.body[0]["order_number"], d.body["number"]);

    // clock on: the order is in work; 30 min, a pause, 15 min more, done
    let on = clock_on(&app, &f.tech, &o, a).await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    assert_eq!(on.body["state"], "in_work");
    assert_eq!(job_of(&on.body, a)["state"], "in_progress");
    app.clock.advance(Duration::minutes(30));
    let board = app.get("/api/v1/workshop/board", &f.foreman).await;
    let line = &board.body["in_work"][0];
    assert_eq!(line["job_id"], a);
    assert_eq!(line["clocked_minutes"], 30, "the open interval counts");
    assert_eq!(board.body["technicians"][0]["current_job"]["job_id"], a);
    assert_eq!(board.body["technicians"][0]["open_load_hours"], "2.5");
    let off = clock_off(&app, &f.tech, &o, a, json!({"reason": "pause"})).await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    assert_eq!(job_of(&off.body, a)["state"], "paused");
    assert_eq!(job_of(&off.body, a)["clocked_minutes"], 30);
    let done = work(&app, &f, &o, a, 15, "前刹车片磨损至2mm").await;
    assert_eq!(job_of(&done, a)["state"], "done");
    assert_eq!(job_of(&done, a)["clocked_minutes"], 45);
    assert_eq!(job_of(&done, a)["diagnosis"], "前刹车片磨损至2mm");
    // QC cannot start while the wiring is not done
    let early = qc(&app, &f.tech, &o, "self", true, &[]).await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    work(&app, &f, &o, b, 60, "ABS传感器线束破损").await;
    // the warranty job's finding is the warranty case's diagnosis
    {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let case = servicelane::entities::warranty_case::Entity::find()
            .filter(
                servicelane::entities::warranty_case::Column::JobId
                    .eq(uuid::Uuid::parse_str(b).unwrap()),
            )
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(case.diagnosis.as_deref(), Some("ABS传感器线束破损"));
    }

    // QC: final before foreman is out of order; self → qc, foreman passes, final fails
    let before = order(&app, &s.advisor, &o).await;
    let round = before["qc_round"].as_i64().unwrap();
    let s1 = qc(&app, &f.tech, &o, "self", true, &[]).await;
    assert_eq!(s1.status, StatusCode::OK, "{}", s1.body);
    assert_eq!(s1.body["state"], "qc");
    let skip = qc(&app, &f.qc, &o, "final", true, &[]).await;
    assert_eq!(skip.status, StatusCode::CONFLICT, "{}", skip.body);
    assert!(
        skip.body["detail"].as_str().unwrap().contains("foreman"),
        "{}",
        skip.body
    );
    let fm = qc(&app, &f.foreman, &o, "foreman", true, &[]).await;
    assert_eq!(fm.status, StatusCode::OK, "{}", fm.body);
    let no_jobs = qc(&app, &f.qc, &o, "final", false, &[]).await;
    assert_eq!(
        no_jobs.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        no_jobs.body
    );
    assert_eq!(no_jobs.problem_fields(), ["rework_job_ids"]);
    let fail = qc(&app, &f.qc, &o, "final", false, &[a]).await;
    assert_eq!(fail.status, StatusCode::OK, "{}", fail.body);
    assert_eq!(fail.body["state"], "in_work");
    assert_eq!(fail.body["qc_reworks"], 1);
    assert_eq!(fail.body["qc_round"], round + 1);
    assert_eq!(job_of(&fail.body, a)["state"], "rework");
    assert_eq!(job_of(&fail.body, a)["technician_id"], f.tech_id.as_str());
    assert_eq!(job_of(&fail.body, b)["state"], "done");
    // the round starts again from the self-check
    let again = qc(&app, &f.foreman, &o, "foreman", true, &[]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);

    // the rework, then all three levels pass; the wash makes it ready
    work(&app, &f, &o, a, 20, "重新排空制动液").await;
    for (token, level) in [(&f.tech, "self"), (&f.foreman, "foreman"), (&f.qc, "final")] {
        let r = qc(&app, token, &o, level, true, &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{level}: {}", r.body);
    }
    let wash = app
        .post(
            &format!("/api/v1/repair-orders/{o}/wash-done"),
            Some(&s.advisor),
            &json!({}),
        )
        .await;
    assert_eq!(wash.status, StatusCode::OK, "{}", wash.body);
    assert_eq!(wash.body["state"], "ready");
    assert!(wash.body["washed_at"].is_string());

    // the invoice: estimate against final, the customer pays the brakes only
    let customer = app.customer_token(&s.code, "13900000001").await;
    let inv = app
        .get(&format!("/api/v1/repair-orders/{o}/invoice"), &customer)
        .await;
    assert_eq!(inv.status, StatusCode::OK, "{}", inv.body);
    assert_eq!(inv.body["lines"][0]["estimate_total"], "587.00");
    assert_eq!(inv.body["lines"][0]["final_total"], "587.00");
    assert_eq!(inv.body["lines"][1]["pay_type"], "warranty");
    assert_eq!(inv.body["lines"][1]["final_total"], "320.00");
    assert_eq!(inv.body["customer_gross"], "587.00");
    assert_eq!(inv.body["balance"], "587.00");
    assert_eq!(inv.body["needs_customer_approval"], false);

    // two partial payments around the delivery; the second closes the order
    let p1 = pay(&app, &f.cashier, &o, "200.00", Some("desk-1-a")).await;
    assert_eq!(p1.status, StatusCode::CREATED, "{}", p1.body);
    assert_eq!(p1.body["balance"], "387.00");
    let replay = pay(&app, &f.cashier, &o, "200.00", Some("desk-1-a")).await;
    assert_eq!(replay.status, StatusCode::CREATED, "{}", replay.body);
    assert_eq!(replay.body["payment"]["id"], p1.body["payment"]["id"]);
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    let unexplained = app
        .post(
            &format!("/api/v1/repair-orders/{o}/deliver"),
            Some(&s.advisor),
            &json!({"explained": false}),
        )
        .await;
    assert_eq!(unexplained.status, StatusCode::UNPROCESSABLE_ENTITY);
    let del = app
        .post(
            &format!("/api/v1/repair-orders/{o}/deliver"),
            Some(&s.advisor),
            &json!({"explained": true}),
        )
        .await;
    assert_eq!(del.status, StatusCode::OK, "{}", del.body);
    assert_eq!(del.body["state"], "delivered");
    assert!(del.body["delivered_at"].is_string());
    let p2 = pay(&app, &f.cashier, &o, "387.00", None).await;
    assert_eq!(p2.status, StatusCode::CREATED, "{}", p2.body);
    assert_eq!(p2.body["balance"], "0.00");
    assert_eq!(p2.body["order_state"], "closed");
    let closed = order(&app, &s.advisor, &o).await;
    assert_eq!(closed["state"], "closed");
    assert!(closed["closed_at"].is_string());
    let inv = app
        .get(&format!("/api/v1/repair-orders/{o}/invoice"), &s.advisor)
        .await;
    assert_eq!(inv.body["paid"], "587.00");
    assert_eq!(inv.body["payments"].as_array().unwrap().len(), 2);
    // nothing more to do for the technician
    assert_eq!(app.get("/api/v1/me/jobs", &f.tech).await.body, json!([]));

    // the timeline carries every step
    let t = app
        .get(&format!("/api/v1/repair-orders/{o}/timeline"), &customer)
        .await;
    let events = t.body.as_array().unwrap();
    let count = |k: &str| events.iter().filter(|e| e["kind"] == k).count();
    assert_eq!(count("job_dispatched"), 2);
    assert_eq!(count("clocked_on"), 4);
    assert_eq!(count("clocked_off"), 4);
    assert_eq!(count("qc_recorded"), 6);
    assert_eq!(count("washed"), 1);
    assert_eq!(count("payment_received"), 2);
    assert_eq!(count("delivered"), 1);
    let moves: Vec<&str> = events
        .iter()
        .filter(|e| e["kind"] == "state_changed")
        .map(|e| e["to_state"].as_str().unwrap())
        .collect();
    assert_eq!(
        moves,
        [
            "estimate_accepted",
            "in_work",
            "qc",
            "in_work",
            "qc",
            "ready",
            "delivered",
            "closed"
        ]
    );
    let delivered = events.iter().find(|e| e["kind"] == "delivered").unwrap();
    assert_eq!(delivered["data"]["on_time"], true, "{delivered}");
}

#[tokio::test]
async fn no_job_is_dispatched_or_clocked_before_acceptance_and_the_walkaround() {
    let app = day_app().await;
    let f = floor(&app, "WS2").await;
    let s = &f.s;
    let (_, v) = owner(&app, s, 1).await;
    let o = walk_in(&app, s, &v).await;
    let id = o["id"].as_str().unwrap().to_string();
    let o = add_job(&app, &s.advisor, &id, brakes()).await;
    let job = o["jobs"][0]["id"].as_str().unwrap().to_string();
    let early = dispatch(&app, &f.foreman, &id, &job, &f.tech_id, "normal").await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    assert!(
        early.body["detail"]
            .as_str()
            .unwrap()
            .contains("an estimate must be accepted before work"),
        "{}",
        early.body
    );
    let on = clock_on(&app, &f.tech, &id, &job).await;
    assert_eq!(on.status, StatusCode::CONFLICT, "{}", on.body);
    assert!(
        on.body["detail"]
            .as_str()
            .unwrap()
            .contains("an estimate must be accepted")
    );

    estimate_and_accept(&app, s, &id).await;
    // the technician must hold the skill, be of this dealer and be a technician
    let (painter, painter_token) = another_technician(&app, s, "painter").await;
    skills(&app, &f.foreman, &painter, &["body_paint"]).await;
    let wrong = dispatch(&app, &f.foreman, &id, &job, &painter, "normal").await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.body
    );
    assert_eq!(wrong.problem_fields(), ["technician_id"]);
    let advisor_id = me(&app, &s.advisor).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let not_tech = dispatch(&app, &f.foreman, &id, &job, &advisor_id, "normal").await;
    assert_eq!(not_tech.status, StatusCode::UNPROCESSABLE_ENTITY);
    let other = floor(&app, "WS2B").await;
    let foreign = dispatch(&app, &f.foreman, &id, &job, &other.tech_id, "normal").await;
    assert_eq!(foreign.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad_priority = dispatch(&app, &f.foreman, &id, &job, &f.tech_id, "urgent").await;
    assert_eq!(
        bad_priority.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bad_priority.body
    );

    let d = dispatch(&app, &f.foreman, &id, &job, &f.tech_id, "normal").await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    // no walk-around yet: the rule is named
    let on = clock_on(&app, &f.tech, &id, &job).await;
    assert_eq!(on.status, StatusCode::CONFLICT, "{}", on.body);
    assert!(
        on.body["detail"]
            .as_str()
            .unwrap()
            .contains("the walk-around must be recorded before work starts"),
        "{}",
        on.body
    );
    walkaround(&app, s, &id).await;
    // only the dispatched technician clocks the job
    let stranger = clock_on(&app, &painter_token, &id, &job).await;
    assert_eq!(stranger.status, StatusCode::FORBIDDEN, "{}", stranger.body);
    let on = clock_on(&app, &f.tech, &id, &job).await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    assert_eq!(on.body["state"], "in_work");
    // a job in progress is not dispatched again, and work started cannot be cancelled
    let re = dispatch(&app, &f.foreman, &id, &job, &f.tech_id, "high").await;
    assert_eq!(re.status, StatusCode::CONFLICT, "{}", re.body);
    let cancel = app
        .post(
            &format!("/api/v1/repair-orders/{id}/cancel"),
            Some(&s.advisor),
            &json!({"reason": "客户改主意"}),
        )
        .await;
    assert_eq!(cancel.status, StatusCode::CONFLICT, "{}", cancel.body);
    assert!(cancel.body["detail"].as_str().unwrap().contains("in_work"));
}

#[tokio::test]
async fn a_technician_is_on_one_job_at_a_time_even_when_two_tablets_race() {
    let app = day_app().await;
    let f = floor(&app, "WS3").await;
    let s = &f.s;
    let (o1, j1) = accepted(&app, s, 1, &[brakes()], true).await;
    let (o2, j2) = accepted(&app, s, 2, &[brakes()], true).await;
    for (o, j) in [(&o1, &j1[0]), (&o2, &j2[0])] {
        let d = dispatch(&app, &f.foreman, o, j, &f.tech_id, "normal").await;
        assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    }
    let on = clock_on(&app, &f.tech, &o1, &j1[0]).await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    let second = clock_on(&app, &f.tech, &o2, &j2[0]).await;
    assert_eq!(second.status, StatusCode::CONFLICT, "{}", second.body);
    assert!(
        second.body["detail"]
            .as_str()
            .unwrap()
            .contains("another job")
    );
    let off = clock_off(&app, &f.tech, &o1, &j1[0], json!({"reason": "pause"})).await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);

    // two tablets clock the same technician on two jobs at once: exactly one wins
    let (a, b) = tokio::join!(
        clock_on(&app, &f.tech, &o1, &j1[0]),
        clock_on(&app, &f.tech, &o2, &j2[0])
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{} / {}",
        a.body,
        b.body
    );
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let open = servicelane::entities::clock_interval::Entity::find()
        .filter(servicelane::entities::clock_interval::Column::EndedAt.is_null())
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(open, 1);
    let t = app.get("/api/v1/technicians", &f.foreman).await;
    assert!(t.body[0]["current_job"]["job_id"].is_string(), "{}", t.body);
}

#[tokio::test]
async fn each_transition_refuses_the_wrong_role() {
    let app = day_app().await;
    let f = floor(&app, "WS4").await;
    let s = &f.s;
    let (o, jobs) = accepted(&app, s, 1, &[brakes()], true).await;
    let j = jobs[0].as_str();
    let forbidden = |a: &Answer, what: &str| {
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{what}: {}", a.body);
    };
    // skills: the advisor may not set them; another dealer's user is not found
    forbidden(
        &skills(&app, &s.advisor, &f.tech_id, &["mechanical"]).await,
        "advisor sets skills",
    );
    let other = floor(&app, "WS4B").await;
    let foreign = skills(&app, &s.manager, &other.tech_id, &["mechanical"]).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    forbidden(
        &dispatch(&app, &f.tech, &o, j, &f.tech_id, "normal").await,
        "technician dispatches",
    );
    forbidden(
        &dispatch(&app, &f.cashier, &o, j, &f.tech_id, "normal").await,
        "cashier dispatches",
    );
    assert_eq!(
        dispatch(&app, &f.foreman, &o, j, &f.tech_id, "normal")
            .await
            .status,
        StatusCode::OK
    );
    forbidden(
        &clock_on(&app, &s.advisor, &o, j).await,
        "advisor clocks on",
    );
    forbidden(
        &clock_on(&app, &f.foreman, &o, j).await,
        "foreman clocks on",
    );
    forbidden(
        &app.get("/api/v1/me/jobs", &s.advisor).await,
        "advisor's jobs",
    );
    let customer = app.customer_token(&s.code, "13900000001").await;
    forbidden(
        &app.get("/api/v1/workshop/board", &customer).await,
        "customer board",
    );
    forbidden(
        &app.get("/api/v1/workshop/board", &f.tech).await,
        "technician board",
    );
    forbidden(
        &app.get("/api/v1/technicians", &customer).await,
        "customer technicians",
    );
    work(&app, &f, &o, j, 30, "完成").await;
    forbidden(
        &qc(&app, &f.foreman, &o, "self", true, &[]).await,
        "foreman self-checks",
    );
    let (_, idle) = another_technician(&app, s, "idle").await;
    forbidden(
        &qc(&app, &idle, &o, "self", true, &[]).await,
        "a technician who did not work on it",
    );
    assert_eq!(
        qc(&app, &f.tech, &o, "self", true, &[]).await.status,
        StatusCode::OK
    );
    forbidden(
        &qc(&app, &f.tech, &o, "foreman", true, &[]).await,
        "technician foreman-checks",
    );
    assert_eq!(
        qc(&app, &f.foreman, &o, "foreman", true, &[]).await.status,
        StatusCode::OK
    );
    forbidden(
        &qc(&app, &s.advisor, &o, "final", true, &[]).await,
        "advisor final",
    );
    forbidden(
        &qc(&app, &f.foreman, &o, "final", true, &[]).await,
        "foreman final",
    );
    let early_wash = app
        .post(
            &format!("/api/v1/repair-orders/{o}/wash-done"),
            Some(&s.advisor),
            &json!({}),
        )
        .await;
    assert_eq!(
        early_wash.status,
        StatusCode::CONFLICT,
        "{}",
        early_wash.body
    );
    assert_eq!(
        qc(&app, &f.qc, &o, "final", true, &[]).await.status,
        StatusCode::OK
    );
    forbidden(
        &app.post(
            &format!("/api/v1/repair-orders/{o}/wash-done"),
            Some(&f.tech),
            &json!({}),
        )
        .await,
        "technician washes",
    );
    let wash = app
        .post(
            &format!("/api/v1/repair-orders/{o}/wash-done"),
            Some(&f.foreman),
            &json!({}),
        )
        .await;
    assert_eq!(wash.status, StatusCode::OK, "{}", wash.body);
    forbidden(
        &pay(&app, &f.tech, &o, "1.00", None).await,
        "technician pays",
    );
    forbidden(
        &pay(&app, &s.advisor, &o, "1.00", None).await,
        "advisor pays",
    );
    let deliver = |token: String| {
        let app = &app;
        let o = o.clone();
        async move {
            app.post(
                &format!("/api/v1/repair-orders/{o}/deliver"),
                Some(&token),
                &json!({"explained": true}),
            )
            .await
        }
    };
    forbidden(&deliver(f.tech.clone()).await, "technician delivers");
    forbidden(&deliver(f.cashier.clone()).await, "cashier delivers");
    forbidden(
        &app.post(
            &format!("/api/v1/repair-orders/{o}/cancel"),
            Some(&f.foreman),
            &json!({"reason": "x"}),
        )
        .await,
        "foreman cancels",
    );
    // paid in full before the handover: the delivery closes the order at once
    assert_eq!(
        pay(&app, &f.cashier, &o, "587.00", None).await.status,
        StatusCode::CREATED
    );
    let d = deliver(s.advisor.clone()).await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    assert_eq!(d.body["state"], "closed");
    assert!(d.body["delivered_at"].is_string() && d.body["closed_at"].is_string());
}

#[tokio::test]
async fn payments_take_no_more_than_is_owed_and_cancel_is_for_before_work() {
    let app = day_app().await;
    let f = floor(&app, "WS5").await;
    let s = &f.s;
    let (o, _) = accepted(&app, s, 1, &[brakes()], false).await;
    let over = pay(&app, &f.cashier, &o, "587.01", None).await;
    assert_eq!(
        over.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        over.body
    );
    assert_eq!(over.problem_fields(), ["amount"]);
    assert!(over.body.to_string().contains("587.00"), "{}", over.body);
    for bad in ["0", "-5.00", "1.005"] {
        let a = pay(&app, &f.cashier, &o, bad, None).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            a.body
        );
    }
    let ok = pay(&app, &f.cashier, &o, "87.00", None).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    assert_eq!(ok.body["balance"], "500.00");
    assert_eq!(ok.body["order_state"], "estimate_accepted");
    let over = pay(&app, &f.cashier, &o, "500.01", None).await;
    assert_eq!(
        over.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        over.body
    );

    // an open order takes no payment; cancelled before work, the appointment it came from stays
    let (_, v) = owner(&app, s, 2).await;
    let open = walk_in(&app, s, &v).await;
    let open_id = open["id"].as_str().unwrap();
    add_job(&app, &s.advisor, open_id, brakes()).await;
    let early = pay(&app, &f.cashier, open_id, "1.00", None).await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    let no_reason = app
        .post(
            &format!("/api/v1/repair-orders/{open_id}/cancel"),
            Some(&s.advisor),
            &json!({"reason": ""}),
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    let c = app
        .post(
            &format!("/api/v1/repair-orders/{open_id}/cancel"),
            Some(&s.advisor),
            &json!({"reason": "客户不修了"}),
        )
        .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    assert_eq!(c.body["state"], "cancelled");
    let again = app
        .post(
            &format!("/api/v1/repair-orders/{open_id}/cancel"),
            Some(&s.advisor),
            &json!({"reason": "再次"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    // an order with a payment is not cancelled: the money would have nowhere to go
    let paid = app
        .post(
            &format!("/api/v1/repair-orders/{o}/cancel"),
            Some(&s.advisor),
            &json!({"reason": "客户另约时间"}),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CONFLICT, "{}", paid.body);
    assert!(paid.body["detail"].as_str().unwrap().contains("refund"));
    // an accepted order without payments may still be cancelled before work
    let (o, _) = accepted(&app, s, 3, &[brakes()], false).await;
    let c = app
        .post(
            &format!("/api/v1/repair-orders/{o}/cancel"),
            Some(&s.advisor),
            &json!({"reason": "客户另约时间"}),
        )
        .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    assert_eq!(c.body["state"], "cancelled");
}

#[tokio::test]
async fn a_bill_more_than_ten_percent_over_the_estimate_holds_the_car_until_a_new_estimate_is_accepted()
 {
    let app = day_app().await;
    let f = floor(&app, "WS6").await;
    let s = &f.s;
    let (o, jobs) = accepted(&app, s, 1, &[brakes()], true).await;
    let j = jobs[0].as_str();
    dispatch(&app, &f.foreman, &o, j, &f.tech_id, "normal").await;
    work(&app, &f, &o, j, 30, "完成").await;
    // extra work the customer approves on the phone: 80.00 on 587.00 is 13.6 %
    let p = app
        .post(
            &format!("/api/v1/repair-orders/{o}/extra-work"),
            Some(&s.advisor),
            &json!({"lines": [{"description": "更换雨刮片", "labour_hours": "0.25", "labour_rate": "320.00", "parts": []}]}),
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.body);
    let extra = p.body["jobs"][1]["id"].as_str().unwrap().to_string();
    let yes = app
        .post(
            &format!("/api/v1/repair-orders/{o}/extra-work/{extra}/approve"),
            Some(&s.advisor),
            &json!({"by": "phone", "note": "客户电话同意"}),
        )
        .await;
    assert_eq!(yes.status, StatusCode::OK, "{}", yes.body);
    dispatch(&app, &f.foreman, &o, &extra, &f.tech_id, "normal").await;
    work(&app, &f, &o, &extra, 15, "完成").await;
    for (token, level) in [(&f.tech, "self"), (&f.foreman, "foreman"), (&f.qc, "final")] {
        assert_eq!(
            qc(&app, token, &o, level, true, &[]).await.status,
            StatusCode::OK
        );
    }
    app.post(
        &format!("/api/v1/repair-orders/{o}/wash-done"),
        Some(&s.advisor),
        &json!({}),
    )
    .await;
    let inv = app
        .get(&format!("/api/v1/repair-orders/{o}/invoice"), &s.advisor)
        .await;
    assert_eq!(inv.body["final_customer_total"], "667.00", "{}", inv.body);
    assert_eq!(inv.body["estimate_customer_total"], "587.00");
    assert_eq!(inv.body["needs_customer_approval"], true);
    assert_eq!(inv.body["lines"][1]["estimate_total"], Value::Null);
    let held = app
        .post(
            &format!("/api/v1/repair-orders/{o}/deliver"),
            Some(&s.advisor),
            &json!({"explained": true}),
        )
        .await;
    assert_eq!(held.status, StatusCode::CONFLICT, "{}", held.body);
    assert!(
        held.body["detail"].as_str().unwrap().contains("10%"),
        "{}",
        held.body
    );
    // the customer accepts a new estimate: the car may go
    estimate_and_accept(&app, s, &o).await;
    let inv = app
        .get(&format!("/api/v1/repair-orders/{o}/invoice"), &s.advisor)
        .await;
    assert_eq!(inv.body["needs_customer_approval"], false, "{}", inv.body);
    let d = app
        .post(
            &format!("/api/v1/repair-orders/{o}/deliver"),
            Some(&s.advisor),
            &json!({"explained": true}),
        )
        .await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    assert_eq!(d.body["state"], "delivered");
}

#[tokio::test]
async fn the_board_flags_promises_at_risk() {
    let app = day_app().await;
    let f = floor(&app, "WS7").await;
    let s = &f.s;
    let (o, _) = accepted(
        &app,
        s,
        1,
        &[job("发动机大修", "8", "mechanical", "customer")],
        true,
    )
    .await;
    let (o2, _) = accepted(&app, s, 2, &[brakes()], true).await;
    for (id, hours) in [(&o, 4), (&o2, 4)] {
        let v = order(&app, &s.advisor, id).await["version"].clone();
        let at = (app.clock.now_utc() + Duration::hours(hours)).to_rfc3339();
        let p = app
            .patch(
                &format!("/api/v1/repair-orders/{id}"),
                &s.advisor,
                Some(&format!("\"{v}\"")),
                &json!({"promised_at": at}),
            )
            .await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    }
    let board = app.get("/api/v1/workshop/board", &s.advisor).await;
    assert_eq!(board.status, StatusCode::OK, "{}", board.body);
    // 8 sold hours do not fit in 4; 1.5 do
    let risky: Vec<&str> = board.body["at_risk"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(risky, [o.as_str()]);
    assert_eq!(board.body["at_risk"][0]["remaining_hours"], "8");
    // five hours later both promises have passed
    app.clock.advance(Duration::hours(5));
    let board = app.get("/api/v1/workshop/board", &f.foreman).await;
    assert_eq!(board.body["at_risk"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_admin_command_gives_a_new_technician_skills() {
    let app = day_app().await;
    let (_, manager) = app.staff("SKL", Role::ServiceManager).await;
    let (ok, out) = crate::cli::servicelane(
        &app,
        "admin create-user --dealer SKL --username zhao --role technician --skill mechanical --skill electrical",
        "a long enough password\n",
    );
    assert!(ok, "{out}");
    let t = app.get("/api/v1/technicians", &manager).await;
    let zhao = t
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["username"] == "zhao")
        .unwrap();
    assert_eq!(zhao["skills"], json!(["mechanical", "electrical"]));
    let (ok, out) = crate::cli::servicelane(
        &app,
        "admin create-user --dealer SKL --username qian --role technician --skill plumbing",
        "a long enough password\n",
    );
    assert!(!ok && out.contains("unknown skill 'plumbing'"), "{out}");
}
