//! Comebacks (issue 18): the record (《返修车处理记录》) found from a repeated
//! job within the window, from a final-QC rework, or marked by an advisor;
//! its analysis through to closed; and the month's statistics
//! (《返修车月统计表》) on a hand-computed month.
//!
//! The month, March 2027 in Shanghai (the shop opens 08:00–12:00):
//!
//! | order | vehicle | when | what |
//! |---|---|---|---|
//! | A, B, C | V1, V2, V3 | 3/1 | brakes, delivered |
//! | D | V1 | 3/10 | brakes again: a comeback of A (tech, 9 days), delivered |
//! | E | V4 | 3/12 | oil change; the final check sends it back: internal |
//!
//! So 4 orders delivered, 1 comeback, 1 internal; comeback rate 1/4;
//! first-time fix 3/4 (D is a comeback); February had nothing.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::appointments::owner;
use crate::care_planner::{d, set_local};
use crate::helpers::*;
use crate::repair_orders::{add_job, estimate_and_accept, walk_in, walkaround};
use crate::workshop::{Floor, delivered_car, dispatch, floor, qc, work};

fn brakes() -> Value {
    json!({"description": "更换前刹车片", "labour_hours": "1.5", "skill": "mechanical",
           "parts": [{"part_number": "BP-01", "name": "刹车片", "quantity": "2", "unit_price": "68.50"}]})
}

fn oil() -> Value {
    json!({"description": "更换机油", "labour_hours": "0.5", "skill": "mechanical"})
}

/// The tests jump weeks ahead: tokens that last a year.
async fn day_app() -> TestApp {
    spawn_app_with(&[("SERVICELANE__AUTH__ACCESS_TTL_SECS", "31536000")]).await
}

fn sh() -> chrono_tz::Tz {
    chrono_tz::Asia::Shanghai
}

async fn comebacks(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/v1/comebacks{query}"), token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body.as_array().unwrap().clone()
}

async fn jobs_of(app: &TestApp, token: &str, order: &str) -> Vec<Value> {
    let o = app
        .get(&format!("/api/v1/repair-orders/{order}"), token)
        .await;
    o.body["jobs"].as_array().unwrap().clone()
}

async fn patch(app: &TestApp, token: &str, id: &str, version: &Value, body: Value) -> Answer {
    let req = app
        .http
        .patch(app.url(&format!("/api/v1/comebacks/{id}")))
        .bearer_auth(token)
        .header("If-Match", format!("\"{version}\""))
        .json(&body);
    app.send(req).await
}

/// Vehicle `v` in a new order with `job` added (not accepted): the order's id.
async fn back_with(app: &TestApp, f: &Floor, v: &str, job: Value) -> String {
    let o = walk_in(app, &f.s, v).await;
    let id = o["id"].as_str().unwrap().to_string();
    add_job(app, &f.s.advisor, &id, job).await;
    id
}

#[tokio::test]
async fn a_repeated_job_within_the_window_is_a_comeback_and_outside_it_is_not() {
    let app = day_app().await;
    set_local(&app, sh(), d(2027, 3, 1), 8, 0);
    let f = floor(&app, "CB1").await;
    let (_, v1) = owner(&app, &f.s, 1).await;
    let (_, v2) = owner(&app, &f.s, 2).await;
    let a = delivered_car(&app, &f, &v1).await;
    let b = delivered_car(&app, &f, &v2).await;
    assert!(comebacks(&app, &f.s.manager, "").await.is_empty());

    // V1 back after 9 days for the same brakes: a comeback of A
    set_local(&app, sh(), d(2027, 3, 10), 8, 0);
    let back = back_with(&app, &f, &v1, brakes()).await;
    let list = comebacks(&app, &f.s.manager, "").await;
    assert_eq!(list.len(), 1, "{list:?}");
    let c = &list[0];
    assert_eq!(
        (
            &c["kind"],
            &c["state"],
            &c["order_id"],
            &c["first_order_id"]
        ),
        (&json!("repeat"), &json!("open"), &json!(back), &json!(a))
    );
    assert_eq!(c["first_technician_id"], f.tech_id.as_str());
    assert_eq!(c["job_description"], "更换前刹车片");
    assert!(c["plate"].as_str().unwrap().starts_with("京A"));
    // its jobs go first (优先派工), the ones added later too, and a repeat
    // of the same job adds no second record
    add_job(&app, &f.s.advisor, &back, oil()).await;
    add_job(&app, &f.s.advisor, &back, brakes()).await;
    let jobs = jobs_of(&app, &f.s.advisor, &back).await;
    assert_eq!(jobs.len(), 3);
    assert!(jobs.iter().all(|j| j["priority"] == "high"), "{jobs:?}");
    assert_eq!(comebacks(&app, &f.s.manager, "").await.len(), 1);
    // an advisor marking it as well finds the one it has: one comeback an order
    let m = app
        .post(
            "/api/v1/comebacks",
            Some(&f.s.advisor),
            &json!({"order_id": back, "note": "又来修刹车"}),
        )
        .await;
    assert_eq!(m.status, StatusCode::OK, "{}", m.body);
    assert_eq!(
        (&m.body["id"], &m.body["kind"]),
        (&c["id"], &json!("repeat"))
    );
    // dispatching without a priority keeps the comeback's
    walkaround(&app, &f.s, &back).await;
    estimate_and_accept(&app, &f.s, &back).await;
    let job = jobs[0]["id"].as_str().unwrap();
    let r = app
        .post(
            &format!("/api/v1/repair-orders/{back}/jobs/{job}/dispatch"),
            Some(&f.foreman),
            &json!({"technician_id": f.tech_id}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let jobs = jobs_of(&app, &f.s.advisor, &back).await;
    assert_eq!(jobs[0]["priority"], "high");

    // V2 back after 40 days: outside the 30-day window, nothing
    set_local(&app, sh(), d(2027, 4, 10), 8, 0);
    let late = back_with(&app, &f, &v2, brakes()).await;
    assert_eq!(comebacks(&app, &f.s.manager, "").await.len(), 1);
    assert_eq!(
        jobs_of(&app, &f.s.advisor, &late).await[0]["priority"],
        "normal"
    );
    // with a 60-day window the dealer sets, the same job is one
    let mut ws = app
        .get("/api/v1/workshop/settings", &f.s.manager)
        .await
        .body;
    assert_eq!(ws["comeback_window_days"], 30);
    ws["comeback_window_days"] = json!(60);
    let put = app
        .put("/api/v1/workshop/settings", &f.s.manager, &ws)
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    ws["comeback_window_days"] = json!(0);
    let bad = app
        .put("/api/v1/workshop/settings", &f.s.manager, &ws)
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["errors"][0]["field"], "comeback_window_days");
    let added = add_job(&app, &f.s.advisor, &late, brakes()).await;
    let list = comebacks(&app, &f.s.manager, &format!("?order_id={late}")).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["first_order_id"], json!(b));
    // while the estimate is made, both brakes jobs taken off: no comeback left
    let jobs = jobs_of(&app, &f.s.advisor, &late).await;
    assert_eq!(jobs.len(), 2, "{added}");
    for (k, j) in jobs.iter().enumerate() {
        let r = app
            .send(
                app.http
                    .delete(app.url(&format!(
                        "/api/v1/repair-orders/{late}/jobs/{}",
                        j["id"].as_str().unwrap()
                    )))
                    .bearer_auth(&f.s.advisor)
                    .header("If-Match", format!("\"{}\"", j["version"])),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let left = comebacks(&app, &f.s.manager, &format!("?order_id={late}")).await;
        assert_eq!(left.len(), 1 - k, "{left:?}");
    }
    add_job(&app, &f.s.advisor, &late, brakes()).await;
    assert_eq!(comebacks(&app, &f.s.manager, "?kind=repeat").await.len(), 2);
    assert!(
        comebacks(&app, &f.s.manager, "?kind=marked")
            .await
            .is_empty()
    );
    // a technician does not read the records
    let r = app.get("/api/v1/comebacks", &f.tech).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_comeback_is_analysed_acted_on_and_closed_by_the_manager() {
    let app = day_app().await;
    set_local(&app, sh(), d(2027, 3, 1), 8, 0);
    let f = floor(&app, "CB2").await;
    let (_, v1) = owner(&app, &f.s, 1).await;
    let first = delivered_car(&app, &f, &v1).await;
    // back after 45 days with a noise: not found, the advisor marks it
    set_local(&app, sh(), d(2027, 4, 15), 8, 0);
    let back = back_with(&app, &f, &v1, oil()).await;
    assert!(comebacks(&app, &f.s.manager, "").await.is_empty());
    let body = json!({"order_id": back, "first_order_id": first, "note": "刹车异响，上次刚修过"});
    let m = app
        .post("/api/v1/comebacks", Some(&f.s.advisor), &body)
        .await;
    assert_eq!(m.status, StatusCode::CREATED, "{}", m.body);
    let again = app
        .post("/api/v1/comebacks", Some(&f.s.advisor), &body)
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["id"], m.body["id"]);
    let c = m.body;
    assert_eq!(
        (&c["kind"], &c["state"]),
        (&json!("marked"), &json!("open"))
    );
    assert_eq!(c["first_technician_id"], f.tech_id.as_str());
    assert_eq!(
        jobs_of(&app, &f.s.advisor, &back).await[0]["priority"],
        "high"
    );
    // a first order that is not this car's earlier visit, a cancelled or
    // unknown order, a technician: refused
    let other = app
        .post(
            "/api/v1/comebacks",
            Some(&f.s.advisor),
            &json!({"order_id": back, "first_order_id": back, "note": "x"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(other.body["errors"][0]["field"], "first_order_id");
    let nul = app
        .post(
            "/api/v1/comebacks",
            Some(&f.s.advisor),
            &json!({"order_id": back, "note": "a\u{0}b"}),
        )
        .await;
    assert_eq!(nul.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(nul.body["errors"][0]["field"], "note");
    let tech = app.post("/api/v1/comebacks", Some(&f.tech), &body).await;
    assert_eq!(tech.status, StatusCode::FORBIDDEN);

    let id = c["id"].as_str().unwrap();
    let v = c["version"].clone();
    // If-Match is required
    let r = app
        .send(
            app.http
                .patch(app.url(&format!("/api/v1/comebacks/{id}")))
                .bearer_auth(&f.foreman)
                .json(&json!({"cause": "workmanship"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_REQUIRED);
    // analysed needs the cause, the analysis, the action and its owner
    let r = patch(&app, &f.foreman, id, &v, json!({"state": "analysed"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["errors"][0]["field"], "cause");
    for (bad, field) in [
        (json!({"redo_cost": "-1"}), "redo_cost"),
        (json!({"redo_cost": "1.005"}), "redo_cost"),
        (json!({"analysis": "a\u{0}"}), "analysis"),
        (
            json!({"action_owner_id": "00000000-0000-7000-8000-000000000000"}),
            "action_owner_id",
        ),
    ] {
        let r = patch(&app, &f.foreman, id, &v, bad.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            r.body
        );
        assert_eq!(r.body["errors"][0]["field"], field, "{bad}");
    }
    for bad in [
        json!({"cause": "bogus"}),
        json!({"cause": 5}),
        json!({"state": 7}),
    ] {
        let r = patch(&app, &f.foreman, id, &v, bad.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            r.body
        );
        let field = bad.as_object().unwrap().keys().next().unwrap().clone();
        assert_eq!(r.body["errors"][0]["field"], field.as_str(), "{bad}");
    }
    // nor does an empty change pass for someone who may not make one
    let r = patch(&app, &f.s.advisor, id, &v, json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // the advisor reads but does not analyse
    let r = patch(&app, &f.s.advisor, id, &v, json!({"cause": "workmanship"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let analysed = patch(
        &app,
        &f.foreman,
        id,
        &v,
        json!({"cause": "workmanship", "analysis": "刹车片安装未按力矩拧紧",
               "corrective_action": "班组培训力矩标准，复检所有本周刹车作业",
               "action_owner_id": f.tech_id, "redo_cost": "350.00", "state": "analysed"}),
    )
    .await;
    assert_eq!(analysed.status, StatusCode::OK, "{}", analysed.body);
    let a = analysed.body;
    assert_eq!(
        (&a["state"], &a["redo_cost"]),
        (&json!("analysed"), &json!("350.00"))
    );
    assert!(a["analysed_at"].is_string() && a["analysed_by"].is_string());
    // the old version is stale now; skipping to closed is out of order
    let stale = patch(&app, &f.foreman, id, &v, json!({"cause": "other"})).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let skip = patch(
        &app,
        &f.s.manager,
        id,
        &a["version"],
        json!({"state": "closed"}),
    )
    .await;
    assert_eq!(skip.status, StatusCode::CONFLICT, "{}", skip.body);
    // the owner of the action (a technician) marks it done
    let done = patch(
        &app,
        &f.tech,
        id,
        &a["version"],
        json!({"state": "action_done"}),
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let done = done.body;
    assert_eq!(done["action_done_by"], f.tech_id.as_str());
    // only the service manager closes
    let r = patch(
        &app,
        &f.foreman,
        id,
        &done["version"],
        json!({"state": "closed"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let closed = patch(
        &app,
        &f.s.manager,
        id,
        &done["version"],
        json!({"state": "closed"}),
    )
    .await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.body);
    assert_eq!(closed.body["state"], "closed");
    let after = patch(
        &app,
        &f.s.manager,
        id,
        &closed.body["version"],
        json!({"analysis": "补充"}),
    )
    .await;
    assert_eq!(after.status, StatusCode::CONFLICT);
    let got = app
        .get(&format!("/api/v1/comebacks/{id}"), &f.s.advisor)
        .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(
        got.body["corrective_action"],
        "班组培训力矩标准，复检所有本周刹车作业"
    );
    // another dealer sees nothing of it
    let g = floor(&app, "CB2X").await;
    let r = app
        .get(&format!("/api/v1/comebacks/{id}"), &g.s.manager)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// E: V4's oil change, worked, passed by the technician and the foreman,
/// then sent back by the final check.
async fn reworked(app: &TestApp, f: &Floor, v: &str) -> String {
    let o = back_with(app, f, v, oil()).await;
    walkaround(app, &f.s, &o).await;
    estimate_and_accept(app, &f.s, &o).await;
    let job = jobs_of(app, &f.s.advisor, &o).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = dispatch(app, &f.foreman, &o, &job, &f.tech_id, "normal").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    work(app, f, &o, &job, 20, "机油已更换").await;
    for (token, level) in [(&f.tech, "self"), (&f.foreman, "foreman")] {
        let r = qc(app, token, &o, level, true, &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{level}: {}", r.body);
    }
    let r = qc(app, &f.qc, &o, "final", false, &[&job]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    o
}

#[tokio::test]
async fn a_months_statistics_add_up_as_worked_out_by_hand() {
    let app = day_app().await;
    set_local(&app, sh(), d(2027, 3, 1), 8, 0);
    let f = floor(&app, "CB3").await;
    let mut cars = Vec::new();
    for n in 1..=4 {
        cars.push(owner(&app, &f.s, n).await.1);
    }
    for v in &cars[..3] {
        delivered_car(&app, &f, v).await;
    }
    set_local(&app, sh(), d(2027, 3, 10), 8, 0);
    let dd = delivered_car(&app, &f, &cars[0]).await;
    set_local(&app, sh(), d(2027, 3, 12), 8, 0);
    let e = reworked(&app, &f, &cars[3]).await;
    let list = comebacks(&app, &f.s.manager, "").await;
    assert_eq!(list.len(), 2, "{list:?}");
    let internal = list.iter().find(|c| c["kind"] == "qc_rework").unwrap();
    assert_eq!(
        (&internal["order_id"], &internal["first_order_id"]),
        (&json!(e), &json!(e))
    );
    assert_eq!(internal["job_description"], "更换机油");
    // D's comeback analysed: workmanship
    let repeat = list.iter().find(|c| c["kind"] == "repeat").unwrap();
    assert_eq!(repeat["order_id"], json!(dd));
    let r = patch(
        &app,
        &f.foreman,
        repeat["id"].as_str().unwrap(),
        &repeat["version"],
        json!({"cause": "workmanship", "redo_cost": "120.50"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    app.clock.advance(Duration::days(1));
    let s = app
        .get("/api/v1/comebacks/stats?month=2027-03", &f.s.manager)
        .await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.body);
    let m = &s.body["month"];
    assert_eq!(
        (
            &m["month"],
            &m["orders_delivered"],
            &m["comebacks"],
            &m["internal"]
        ),
        (&json!("2027-03"), &json!(4), &json!(1), &json!(1))
    );
    assert_eq!(
        (&m["comeback_rate"], &m["first_time_fix"], &m["redo_cost"]),
        (&json!("0.250"), &json!("0.750"), &json!("120.50"))
    );
    let keys = |g: &Value| -> Vec<(String, u64, u64, Value, Value)> {
        g.as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["label"].as_str().unwrap().to_string(),
                    x["comebacks"].as_u64().unwrap(),
                    x["internal"].as_u64().unwrap(),
                    x["orders"].clone(),
                    x["rate"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(
        keys(&m["by_cause"]),
        [
            ("未分析".into(), 0, 1, Value::Null, Value::Null),
            ("维修工艺".into(), 1, 0, Value::Null, Value::Null)
        ]
    );
    // the technician worked the four delivered orders: 1 comeback in 4
    let tech = keys(&m["by_technician"]);
    assert_eq!(tech.len(), 1);
    assert_eq!(
        (tech[0].1, tech[0].2, &tech[0].3, &tech[0].4),
        (1, 1, &json!(4), &json!("0.250"))
    );
    assert_eq!(
        keys(&m["by_operation"]),
        [
            ("更换前刹车片".into(), 1, 0, json!(4), json!("0.250")),
            ("更换机油".into(), 0, 1, Value::Null, Value::Null)
        ]
    );
    let model = keys(&m["by_model"]);
    assert_eq!((model[0].1, model[0].2, &model[0].3), (1, 1, &json!(4)));
    // February had nothing: zeros and nulls, never an error
    let p = &s.body["previous"];
    assert_eq!(
        (
            &p["month"],
            &p["orders_delivered"],
            &p["comeback_rate"],
            &p["first_time_fix"]
        ),
        (&json!("2027-02"), &json!(0), &Value::Null, &Value::Null)
    );
    assert_eq!(p["by_cause"], json!([]));
    // no action is open (D's is not analysed yet)
    assert_eq!(s.body["open_actions"], json!([]));

    // the same as CSV, in Excel's UTF-8, the month before beside it
    let csv = app
        .http
        .get(app.url("/api/v1/comebacks/stats?month=2027-03&format=csv&lang=en"))
        .bearer_auth(&f.s.manager)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let bytes = csv.bytes().await.unwrap();
    assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]));
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("section,key,label,comebacks"),
        "{text}"
    );
    assert_eq!(lines[1], "total,all,,1,1,4,0.250,0,0,0,", "{text}");
    assert!(
        text.contains("operation,text:更换前刹车片,更换前刹车片,1,0,4,0.250,,,,"),
        "{text}"
    );

    // a month that is not one is named
    for bad in ["2027-13", "March", "2027-03-01", "0000-01"] {
        let r = app
            .get(
                &format!("/api/v1/comebacks/stats?month={bad}"),
                &f.s.manager,
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(r.body["errors"][0]["field"], "month", "{bad}");
    }
    // the board counts D as the comeback too
    let k = app
        .get(
            "/api/v1/kpi/range?from=2027-03-01&to=2027-03-31&by=month",
            &f.s.manager,
        )
        .await;
    assert_eq!(k.status, StatusCode::OK, "{}", k.body);
    assert_eq!(k.body["total"]["comebacks"], 1);
    assert_eq!(k.body["total"]["first_time_fix"]["value"], "0.750");

    // the console's page for the quality meeting shows the same, with its chart
    let b = crate::console::Browser::login(&app, "CB3", "service_manager").await;
    let page = b.get("/console/comebacks?month=2027-03").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<svg") && page.body.contains("返修原因"));
    let at = page.body.find("data-figure=\"comeback_rate\"").unwrap();
    assert!(
        page.body[at..at + 300].contains("0.250"),
        "{}",
        &page.body[at..at + 300]
    );
    assert!(page.body.contains("维修工艺") && page.body.contains("更换前刹车片"));
    let bad = b.get("/console/comebacks?month=2027-13").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    // a technician has no such page
    let t = crate::console::Browser::login(&app, "CB3", "technician").await;
    assert_eq!(
        t.get("/console/comebacks").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn twenty_tablets_adding_the_repeated_job_at_once_all_succeed_and_find_it_once() {
    let app = day_app().await;
    set_local(&app, sh(), d(2027, 3, 1), 8, 0);
    let f = floor(&app, "CB4").await;
    let (_, v) = owner(&app, &f.s, 1).await;
    delivered_car(&app, &f, &v).await;
    set_local(&app, sh(), d(2027, 3, 5), 8, 0);
    let o = walk_in(&app, &f.s, &v).await;
    let id = o["id"].as_str().unwrap().to_string();
    // more requests than the pool has connections, each holding the order's row
    let path = format!("/api/v1/repair-orders/{id}/jobs");
    let body = brakes();
    let adds = (0..20).map(|_| app.post(&path, Some(&f.s.advisor), &body));
    let answers = futures_util::future::join_all(adds).await;
    for a in &answers {
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    }
    assert_eq!(jobs_of(&app, &f.s.advisor, &id).await.len(), 20);
    let list = comebacks(&app, &f.s.manager, "").await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert!(
        jobs_of(&app, &f.s.advisor, &id)
            .await
            .iter()
            .all(|j| j["priority"] == "high")
    );
}
