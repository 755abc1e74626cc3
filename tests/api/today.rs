//! The opening routine (营业准备): `GET /api/v1/today`, the opening
//! settings and the checklist's ticks.
//!
//! One seeded morning, Tuesday 2027-03-02 at 07:30 in Shanghai, every part
//! worked out by hand. Yesterday (Monday 3/1):
//!
//! | what | detail |
//! |---|---|
//! | A (V3) | opened 08:00, brakes 1.5 h × 300 + 2 × 68.50 = 587.00, delivered 08:40, no promise |
//! | B (V4) | opened 09:00, brakes accepted, not started; promised 3/2 08:30 |
//! | C (V5) | opened, brakes accepted; promised 3/2 16:00 |
//! | D (V6) | opened, promised 3/2 10:00, then cancelled |
//! | E (V10) | opened, promised 3/3 09:00 |
//! | appointments | V1 10:00 checked in, V2 11:00 no-show |
//! | cases | customer 1's opened 07:00 (contact due 3/2 07:00), customer 2's opened 12:00 (due 3/2 12:00) |
//!
//! Yesterday's figures: revenue 587.00; vehicles in 5 (A–E, the cancelled
//! one included); delivered 1; first-time fix 1/1; show rate 1/2; on-time
//! delivery none (A had no promise); followed up 0/1; CSI none.
//!
//! Today: bookings V7 08:00 (the advisor), V8 08:00 (nobody), V9 10:00
//! (the advisor), V1 11:00 cancelled. Technicians: `technician` 8 h less 2 h
//! off, `tech2` the whole day off, `tech3` without a roster (8 h, Tuesday).
//! At 07:30, B has 1.5 h left for an 08:30 promise (at risk); C has 1.5 h
//! for 16:00 (not).

use chrono::NaiveDate;
use chrono_tz::Tz;
use reqwest::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use servicelane::domain::Role;
use servicelane::entities::{appointment, opening_tick, repair_order};
use uuid::Uuid;

use crate::appointments::{Shop, book, owner};
use crate::care_planner::{d, set_local};
use crate::console::Browser;
use crate::helpers::*;
use crate::repair_orders::{add_job, estimate_and_accept, walk_in, walkaround};
use crate::workshop::{Floor, delivered_car, floor};

/// The app, its access tokens living through the seeded day and the next.
async fn day_app() -> TestApp {
    spawn_app_with(&[("SERVICELANE__AUTH__ACCESS_TTL_SECS", "864000")]).await
}

fn sh() -> Tz {
    "Asia/Shanghai".parse().unwrap()
}

fn today() -> NaiveDate {
    d(2027, 3, 2)
}

fn yesterday() -> NaiveDate {
    d(2027, 3, 1)
}

fn uuid(v: &Value) -> Uuid {
    Uuid::parse_str(v.as_str().unwrap()).unwrap()
}

async fn me(app: &TestApp, token: &str) -> Value {
    app.get("/api/v1/me", token).await.body
}

/// A user of `role` of the shop's dealer, logged in: (user id, token).
async fn member(app: &TestApp, s: &Shop, username: &str, role: Role) -> (String, String) {
    let dealer = uuid(&me(app, &s.advisor).await["dealer_id"]);
    app.user(dealer, username, role).await;
    let token = app.login_as(&s.code, username).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let id = me(app, &token).await["id"].as_str().unwrap().to_string();
    (id, token)
}

/// An order of `vehicle` with the brakes job (1.5 h), its estimate
/// accepted, promised at `promised` when given: the order's id.
async fn promised_order(
    app: &TestApp,
    s: &Shop,
    vehicle: &str,
    promised: Option<String>,
) -> String {
    let o = walk_in(app, s, vehicle).await;
    let id = o["id"].as_str().unwrap().to_string();
    add_job(
        app,
        &s.advisor,
        &id,
        json!({"description": "更换前刹车片", "labour_hours": "1.5", "skill": "mechanical",
               "parts": [{"part_number": "BP-01", "name": "刹车片", "quantity": "2", "unit_price": "68.50"}]}),
    )
    .await;
    walkaround(app, s, &id).await;
    estimate_and_accept(app, s, &id).await;
    if let Some(at) = promised {
        let cur = app
            .get(&format!("/api/v1/repair-orders/{id}"), &s.advisor)
            .await;
        let r = app
            .patch(
                &format!("/api/v1/repair-orders/{id}"),
                &s.advisor,
                Some(&format!("\"{}\"", cur.body["version"])),
                &json!({"promised_at": at}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    id
}

async fn set_appointment(app: &TestApp, id: &Value, state: &str) {
    let r = appointment::Entity::update_many()
        .col_expr(appointment::Column::State, Expr::value(state))
        .filter(appointment::Column::Id.eq(uuid(id)))
        .exec(&app.state.db)
        .await
        .unwrap();
    assert_eq!(r.rows_affected, 1);
}

async fn book_with(
    app: &TestApp,
    s: &Shop,
    vehicle: &str,
    at: &str,
    advisor: Option<&str>,
) -> Value {
    let a = app
        .post(
            "/api/v1/appointments",
            Some(&s.advisor),
            &json!({"vehicle_id": vehicle, "slot_start": at, "services": ["MAINT-10K"], "advisor_id": advisor}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    a.body
}

async fn open_case(app: &TestApp, s: &Shop, customer: &str) -> String {
    let c = app
        .post(
            "/api/v1/cases",
            Some(&s.manager),
            &json!({"customer_id": customer, "category": "time", "severity": "high",
                    "summary": "交车晚了两个小时"}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    c.body["id"].as_str().unwrap().to_string()
}

async fn roster(app: &TestApp, s: &Shop, tech: &str, absences: Value) {
    let r = app
        .put(
            &format!("/api/v1/technicians/{tech}/roster"),
            &s.manager,
            &json!({"weekly": {"mon": "8", "tue": "8", "wed": "8", "thu": "8", "fri": "8", "sat": "0", "sun": "0"},
                    "absences": absences}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// The seeded morning (see the module's table).
struct Morning {
    f: Floor,
    supervisor: String,
    advisor_id: String,
    tech2: String,
    tech3: String,
    b: String,
    c: String,
    late_case: String,
}

async fn seeded(app: &TestApp, code: &str) -> Morning {
    set_local(app, sh(), yesterday(), 7, 0);
    let f = floor(app, code).await;
    let s = &f.s;
    let (_, supervisor) = member(app, s, "supervisor", Role::ServiceSupervisor).await;
    let advisor_id = me(app, &s.advisor).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut owners = Vec::new();
    for n in 1..=10 {
        owners.push(owner(app, s, n).await);
    }
    let v = |n: usize| owners[n - 1].1.clone();
    let c = |n: usize| owners[n - 1].0.clone();
    // yesterday's appointments: one shows, one does not
    let a1 = book(app, s, &v(1), &s.at_on(yesterday(), 10, 0)).await;
    assert_eq!(a1.status, StatusCode::CREATED, "{}", a1.body);
    let a2 = book(app, s, &v(2), &s.at_on(yesterday(), 11, 0)).await;
    assert_eq!(a2.status, StatusCode::CREATED, "{}", a2.body);
    set_appointment(app, &a1.body["id"], "checked_in").await;
    set_appointment(app, &a2.body["id"], "no_show").await;
    // 07:00: customer 1's complaint, first contact due by 3/2 07:00
    let late_case = open_case(app, s, &c(1)).await;
    // today's bookings, made yesterday
    book_with(app, s, &v(7), &s.at_on(today(), 8, 0), Some(&advisor_id)).await;
    book_with(app, s, &v(8), &s.at_on(today(), 8, 0), None).await;
    book_with(app, s, &v(9), &s.at_on(today(), 10, 0), Some(&advisor_id)).await;
    let gone = book_with(app, s, &v(1), &s.at_on(today(), 11, 0), Some(&advisor_id)).await;
    let cancel = app
        .post(
            &format!(
                "/api/v1/appointments/{}/cancel",
                gone["id"].as_str().unwrap()
            ),
            Some(&s.advisor),
            &json!({"reason": "客户改期"}),
        )
        .await;
    assert_eq!(cancel.status, StatusCode::OK, "{}", cancel.body);
    // 08:00: A through the whole visit
    set_local(app, sh(), yesterday(), 8, 0);
    delivered_car(app, &f, &v(3)).await;
    // 09:00: B, C, D, E
    set_local(app, sh(), yesterday(), 9, 0);
    let b = promised_order(app, s, &v(4), Some(s.at_on(today(), 8, 30))).await;
    let cc = promised_order(app, s, &v(5), Some(s.at_on(today(), 16, 0))).await;
    let dd = promised_order(app, s, &v(6), Some(s.at_on(today(), 10, 0))).await;
    repair_order::Entity::update_many()
        .col_expr(repair_order::Column::State, Expr::value("cancelled"))
        .filter(repair_order::Column::Id.eq(uuid(&json!(dd))))
        .exec(&app.state.db)
        .await
        .unwrap();
    promised_order(app, s, &v(10), Some(s.at_on(d(2027, 3, 3), 9, 0))).await;
    // 12:00: customer 2's complaint, due by 3/2 12:00
    set_local(app, sh(), yesterday(), 12, 0);
    open_case(app, s, &c(2)).await;
    // the technicians
    let (tech2, _) = member(app, s, "tech2", Role::Technician).await;
    let (tech3, _) = member(app, s, "tech3", Role::Technician).await;
    roster(
        app,
        s,
        &f.tech_id,
        json!([{"date": "2027-03-02", "hours": "2"}]),
    )
    .await;
    roster(app, s, &tech2, json!([{"date": "2027-03-02"}])).await;
    // the dealer's targets
    let t = app
        .put(
            "/api/v1/today/settings",
            &s.manager,
            &json!({"checklist": defaults(),
                    "targets": {"revenue": "500", "vehicles_in": 4, "vehicles_delivered": 2,
                                "first_time_fix": "0.9", "show_rate": "0.8",
                                "on_time_delivery": "0.95", "csi": "90"}}),
        )
        .await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.body);
    // the morning meeting
    set_local(app, sh(), today(), 7, 30);
    Morning {
        f,
        supervisor,
        advisor_id,
        tech2,
        tech3,
        b,
        c: cc,
        late_case,
    }
}

/// The default checklist, as the API answers it.
fn defaults() -> Value {
    json!([
        {"code": "uniforms", "zh_cn": "着装整洁（已换工作服）", "en": "Uniforms on"},
        {"code": "workshop_clean", "zh_cn": "车间环境清洁", "en": "Workshop clean"},
        {"code": "lounge_clean", "zh_cn": "休息区清洁", "en": "Lounge clean"},
        {"code": "tools_in_order", "zh_cn": "工具就位", "en": "Tools in order"},
        {"code": "tablets_charged", "zh_cn": "平板已充电", "en": "Tablets charged"},
        {"code": "morning_meeting", "zh_cn": "晨会已召开", "en": "Morning meeting held"},
    ])
}

fn vs(v: &Value, value: Value, target: Value, met: Value) {
    assert_eq!(
        (&v["value"], &v["target"], &v["met"]),
        (&value, &target, &met),
        "{v}"
    );
}

#[tokio::test]
async fn a_seeded_morning_answers_every_part_as_worked_out_by_hand() {
    let app = day_app().await;
    let m = seeded(&app, "OPEN1").await;
    let r = app.get("/api/v1/today", &m.supervisor).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let t = &r.body;
    assert_eq!(t["date"], "2027-03-02");
    assert_eq!(t["as_of"], "2027-03-02T07:30:00+08:00");

    // bookings: three expected, the cancelled one left out
    let b = &t["bookings"];
    assert_eq!(b["total"], 3, "{b}");
    assert_eq!(
        b["by_hour"],
        json!([{"hour": 8, "count": 2}, {"hour": 10, "count": 1}])
    );
    assert_eq!(
        b["by_advisor"],
        json!([{"advisor": {"id": m.advisor_id, "name": "service_advisor"}, "count": 2},
               {"advisor": null, "count": 1}])
    );
    let list: Vec<(String, String, String, Value, String)> = b["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["slot_start"].as_str().unwrap().to_string(),
                x["customer_name"].as_str().unwrap().to_string(),
                x["plate"].as_str().unwrap().to_string(),
                x["advisor"]["name"].clone(),
                x["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0].0, "2027-03-02T08:00:00+08:00");
    let mut eight: Vec<_> = list[..2]
        .iter()
        .map(|l| (l.1.clone(), l.3.clone()))
        .collect();
    eight.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        eight,
        [
            ("客户7".to_string(), json!("service_advisor")),
            ("客户8".to_string(), Value::Null)
        ]
    );
    assert_eq!(
        list[2],
        (
            "2027-03-02T10:00:00+08:00".to_string(),
            "客户9".to_string(),
            "京A10009".to_string(),
            json!("service_advisor"),
            "booked".to_string()
        )
    );

    // technicians: by name; the partial absence is on shift and absent
    let st = &t["staff"];
    assert_eq!(
        st["on_shift"],
        json!([{"technician_id": m.tech3, "name": "tech3", "hours": "8.00"},
               {"technician_id": m.f.tech_id, "name": "technician", "hours": "6.00"}])
    );
    assert_eq!(
        st["absent"],
        json!([{"technician_id": m.tech2, "name": "tech2", "hours_off": "8.00", "whole_day": true},
               {"technician_id": m.f.tech_id, "name": "technician", "hours_off": "2.00", "whole_day": false}])
    );
    assert_eq!(st["hours"], "14.00");

    // promised today: B at risk (1.5 h left, 1 h to go), C not; D
    // cancelled, E tomorrow, A delivered are not there
    let p = t["promised_today"].as_array().unwrap();
    let seen: Vec<(Value, Value, Value, Value, Value)> = p
        .iter()
        .map(|x| {
            (
                x["order_id"].clone(),
                x["promised_at"].clone(),
                x["state"].clone(),
                x["remaining_hours"].clone(),
                x["at_risk"].clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                json!(m.b),
                json!("2027-03-02T08:30:00+08:00"),
                json!("estimate_accepted"),
                json!("1.50"),
                json!(true)
            ),
            (
                json!(m.c),
                json!("2027-03-02T16:00:00+08:00"),
                json!("estimate_accepted"),
                json!("1.50"),
                json!(false)
            ),
        ]
    );
    assert_eq!(p[0]["plate"], "京A10004");
    assert!(p[0]["number"].as_str().unwrap().starts_with("RO"));

    // yesterday against the targets
    let y = &t["yesterday"];
    assert_eq!(y["date"], "2027-03-01");
    vs(&y["revenue"], json!("587.00"), json!("500.00"), json!(true));
    vs(&y["vehicles_in"], json!(5), json!(4), json!(true));
    vs(&y["vehicles_delivered"], json!(1), json!(2), json!(false));
    vs(
        &y["first_time_fix"],
        json!("1.000"),
        json!("0.900"),
        json!(true),
    );
    assert_eq!(
        (
            &y["first_time_fix"]["numerator"],
            &y["first_time_fix"]["denominator"]
        ),
        (&json!("1"), &json!("1"))
    );
    vs(
        &y["show_rate"],
        json!("0.500"),
        json!("0.800"),
        json!(false),
    );
    // no promise yesterday: no value, so nothing met or missed
    vs(
        &y["on_time_delivery"],
        Value::Null,
        json!("0.950"),
        Value::Null,
    );
    vs(
        &y["follow_up_within_3_days"],
        json!("0.000"),
        Value::Null,
        Value::Null,
    );
    vs(&y["csi"], Value::Null, json!("90.0"), Value::Null);

    // cases: two open, customer 1's past its contact time
    let c = &t["cases"];
    assert_eq!((&c["open"], &c["overdue"]), (&json!(2), &json!(1)));
    assert_eq!(
        c["overdue_cases"],
        json!([{"id": m.late_case, "customer_id": c["overdue_cases"][0]["customer_id"],
                "customer_name": "客户1", "category": "time", "severity": "high",
                "state": "open", "due_at": "2027-03-02T07:00:00+08:00"}])
    );

    // the checklist: the dealer's items, none ticked yet
    let items = t["checklist"].as_array().unwrap();
    assert_eq!(items.len(), 6);
    for (i, want) in items.iter().zip(defaults().as_array().unwrap()) {
        assert_eq!(
            (&i["code"], &i["zh_cn"], &i["en"]),
            (&want["code"], &want["zh_cn"], &want["en"])
        );
        assert_eq!(
            (&i["ticked"], &i["ticked_by"], &i["ticked_at"], &i["note"]),
            (&json!(false), &Value::Null, &Value::Null, &Value::Null)
        );
    }

    // the same page an hour later: B is late, C still not at risk
    app.clock.advance(chrono::Duration::hours(1));
    let r = app.get("/api/v1/today", &m.supervisor).await;
    assert_eq!(r.body["promised_today"][0]["at_risk"], true);
    assert_eq!(r.body["promised_today"][1]["at_risk"], false);
}

#[tokio::test]
async fn every_member_of_staff_reads_the_day_each_as_their_role_may() {
    let app = day_app().await;
    let m = seeded(&app, "OPEN2").await;
    let s = &m.f.s;
    // a technician: the day, without the KPIs and without the cases' names
    let r = app.get("/api/v1/today", &m.f.tech).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["yesterday"], Value::Null);
    assert_eq!(r.body["cases"]["overdue"], 1);
    assert_eq!(r.body["cases"]["overdue_cases"], Value::Null);
    assert_eq!(r.body["bookings"]["total"], 3);
    assert_eq!(r.body["checklist"].as_array().unwrap().len(), 6);
    // an advisor works the cases, does not read KPIs
    let r = app.get("/api/v1/today", &s.advisor).await;
    assert_eq!(r.body["yesterday"], Value::Null);
    assert_eq!(r.body["cases"]["overdue_cases"][0]["id"], m.late_case);
    // the cashier, the QC inspector, the foreman read it too
    for token in [&m.f.cashier, &m.f.qc, &m.f.foreman] {
        assert_eq!(app.get("/api/v1/today", token).await.status, StatusCode::OK);
    }
    // the manager reads the figures
    let r = app.get("/api/v1/today", &s.manager).await;
    assert_eq!(r.body["yesterday"]["revenue"]["value"], "587.00");
    // the brand reads its own dealer
    let dealer = uuid(&me(&app, &s.advisor).await["dealer_id"]);
    app.user(dealer, "brand", Role::NetworkAdmin).await;
    let brand = app.login_as(&s.code, "brand").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app.get("/api/v1/today", &brand).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["dealer_id"], dealer.to_string());
    assert_eq!(r.body["yesterday"]["vehicles_in"]["value"], 5);
    // a customer may not
    let customer = app.customer_token(&s.code, "13900000001").await;
    let r = app.get("/api/v1/today", &customer).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.content_type(), "application/problem+json");
    // another dealer sees its own empty day, nothing of this one
    let other = floor(&app, "OPEN9").await;
    let r = app.get("/api/v1/today", &other.s.manager).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["bookings"]["total"], 0);
    assert_eq!(r.body["promised_today"], json!([]));
    assert_eq!(r.body["cases"]["open"], 0);
    assert_eq!(r.body["yesterday"]["revenue"]["value"], "0.00");
    assert_eq!(r.body["yesterday"]["revenue"]["target"], Value::Null);
    assert_eq!(r.body["yesterday"]["revenue"]["met"], Value::Null);
}

async fn tick(app: &TestApp, token: &str, code: &str, body: Option<Value>) -> Answer {
    let mut req = app
        .http
        .post(app.url(&format!("/api/v1/today/checklist/{code}")))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    app.send(req).await
}

async fn untick(app: &TestApp, token: &str, code: &str) -> Answer {
    app.send(
        app.http
            .delete(app.url(&format!("/api/v1/today/checklist/{code}")))
            .bearer_auth(token),
    )
    .await
}

async fn ticks_of(app: &TestApp, day: NaiveDate) -> Vec<opening_tick::Model> {
    opening_tick::Entity::find()
        .filter(opening_tick::Column::Day.eq(day))
        .all(&app.state.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_supervisor_ticks_an_item_once_a_day_and_the_first_tick_stays() {
    let app = day_app().await;
    set_local(&app, sh(), today(), 7, 30);
    let f = floor(&app, "OPEN3").await;
    let s = &f.s;
    let (sup_id, sup) = member(&app, s, "supervisor", Role::ServiceSupervisor).await;
    let r = tick(
        &app,
        &sup,
        "uniforms",
        Some(json!({"note": "两人未戴工牌，已提醒"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"code": "uniforms", "zh_cn": "着装整洁（已换工作服）", "en": "Uniforms on",
               "ticked": true, "ticked_by": {"id": sup_id, "name": "supervisor"},
               "ticked_at": "2027-03-02T07:30:00+08:00", "note": "两人未戴工牌，已提醒"})
    );
    // the foreman ticks it again later: the first ticker, time and note stay
    app.clock.advance(chrono::Duration::minutes(5));
    let again = tick(&app, &f.foreman, "uniforms", Some(json!({"note": "ok"}))).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body, r.body);
    // without a body at all, the foreman ticks the tools
    let tools = tick(&app, &f.foreman, "tools_in_order", None).await;
    assert_eq!(tools.status, StatusCode::OK, "{}", tools.body);
    assert_eq!(tools.body["ticked_by"]["name"], "workshop_foreman");
    assert_eq!(tools.body["ticked_at"], "2027-03-02T07:35:00+08:00");
    assert_eq!(tools.body["note"], Value::Null);
    // twenty ticks at once, from two people: one row
    let mut all = Vec::new();
    for i in 0..20 {
        let token = if i % 2 == 0 {
            sup.clone()
        } else {
            f.foreman.clone()
        };
        let app = &app;
        all.push(async move { tick(app, &token, "lounge_clean", None).await });
    }
    let answers = futures_util::future::join_all(all).await;
    let firsts: std::collections::HashSet<String> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, StatusCode::OK, "{}", a.body);
            a.body["ticked_by"]["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(firsts.len(), 1, "every answer names the one ticker");
    let rows = ticks_of(&app, today()).await;
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows.iter().filter(|t| t.code == "lounge_clean").count(), 1);
    // the page shows the three ticks
    let page = app.get("/api/v1/today", &sup).await;
    let ticked: Vec<&str> = page.body["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["ticked"] == true)
        .map(|i| i["code"].as_str().unwrap())
        .collect();
    assert_eq!(ticked, ["uniforms", "lounge_clean", "tools_in_order"]);

    // who may not, and what is not an item
    let r = tick(&app, &f.tech, "workshop_clean", None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = tick(&app, &s.advisor, "workshop_clean", None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    for code in ["nothing", "UNIFORMS", "a%2Fb", &"x".repeat(300)] {
        let r = tick(&app, &sup, code, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{code}: {}", r.body);
        assert_eq!(r.content_type(), "application/problem+json");
    }
    // a bad note: 422 naming it, nothing ticked
    for note in [json!("坏\u{0}字"), json!("x".repeat(501)), json!(7)] {
        let r = tick(&app, &sup, "workshop_clean", Some(json!({"note": note}))).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.problem_fields(), ["note"], "{}", r.body);
    }
    let r = tick(&app, &sup, "workshop_clean", Some(json!({"nothing": 1}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = app
        .post_raw("/api/v1/today/checklist/workshop_clean", &sup, "{{{")
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(ticks_of(&app, today()).await.len(), 3);

    // a tick taken back: not by the foreman; by the supervisor; twice is fine
    let r = untick(&app, &f.foreman, "uniforms").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    for _ in 0..2 {
        let r = untick(&app, &sup, "uniforms").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(
            (&r.body["ticked"], &r.body["ticked_by"]),
            (&json!(false), &Value::Null)
        );
    }
    assert_eq!(
        untick(&app, &sup, "nothing").await.status,
        StatusCode::NOT_FOUND
    );
    // and ticked again, now by the foreman
    let r = tick(&app, &f.foreman, "uniforms", None).await;
    assert_eq!(r.body["ticked_by"]["name"], "workshop_foreman");
    assert_eq!(ticks_of(&app, today()).await.len(), 3);

    // the next morning starts unticked; yesterday's ticks are kept
    set_local(&app, sh(), d(2027, 3, 3), 7, 30);
    let page = app.get("/api/v1/today", &sup).await;
    assert_eq!(page.body["date"], "2027-03-03");
    assert!(
        page.body["checklist"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["ticked"] == false)
    );
    assert_eq!(ticks_of(&app, today()).await.len(), 3);
    // another dealer's supervisor ticks their own checklist only
    let other = floor(&app, "OPEN8").await;
    let (_, other_sup) = member(&app, &other.s, "supervisor", Role::ServiceSupervisor).await;
    let r = tick(&app, &other_sup, "uniforms", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let page = app.get("/api/v1/today", &sup).await;
    assert_eq!(page.body["checklist"][0]["ticked"], false);
}

#[tokio::test]
async fn the_settings_are_checked_field_by_field_and_an_item_taken_out_keeps_its_ticks() {
    let app = day_app().await;
    set_local(&app, sh(), today(), 7, 30);
    let f = floor(&app, "OPEN4").await;
    let s = &f.s;
    let (_, sup) = member(&app, s, "supervisor", Role::ServiceSupervisor).await;
    // the defaults
    let r = app.get("/api/v1/today/settings", &f.foreman).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["checklist"], defaults());
    assert_eq!(
        r.body["targets"],
        json!({"revenue": null, "vehicles_in": null, "vehicles_delivered": null,
               "first_time_fix": null, "show_rate": null, "on_time_delivery": null,
               "follow_up_within_3_days": null, "csi": null})
    );
    // read by those who tick or write them; written by the managers
    assert_eq!(
        app.get("/api/v1/today/settings", &f.tech).await.status,
        StatusCode::FORBIDDEN
    );
    let mine = json!({"checklist": [{"code": "uniforms", "zh_cn": "着装", "en": "Uniforms"}]});
    for token in [&f.foreman, &s.advisor, &f.tech] {
        let r = app.put("/api/v1/today/settings", token, &mine).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    }
    // every bad field named by its path
    let bad = json!({"checklist": [
            {"code": "uniforms", "zh_cn": "着装", "en": "Uniforms"},
            {"code": "uniforms", "zh_cn": "重复", "en": "Again"},
            {"code": "Bad-Code", "zh_cn": "坏", "en": "Bad"},
            {"code": "empty", "zh_cn": " ", "en": "x"},
            {"code": "two_lines", "zh_cn": "两\n行", "en": &"e".repeat(61)}],
        "targets": {"revenue": "-5", "show_rate": "1.5", "csi": "90.25", "vehicles_in": 10001}});
    let r = app.put("/api/v1/today/settings", &s.manager, &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        r.problem_fields(),
        [
            "checklist[1].code",
            "checklist[2].code",
            "checklist[3].zh_cn",
            "checklist[4].zh_cn",
            "checklist[4].en",
            "targets.revenue",
            "targets.show_rate",
            "targets.csi",
            "targets.vehicles_in",
        ]
    );
    for (body, field) in [
        (json!({"checklist": []}), "checklist"),
        (
            json!({"checklist": (0..21).map(|i| json!({"code": format!("i{i}"), "zh_cn": "项", "en": "Item"})).collect::<Vec<_>>()}),
            "checklist",
        ),
        (
            json!({"checklist": [{"code": "a", "zh_cn": "甲", "en": "A", "extra": 1}]}),
            "checklist[0].extra",
        ),
        (
            json!({"checklist": [{"code": "a", "zh_cn": "甲", "en": "A"}], "targets": {"show_rate": "lots"}}),
            "targets.show_rate",
        ),
        (
            json!({"checklist": [{"code": "a", "zh_cn": "甲", "en": "A"}], "targets": {"vehicles_delivered": -1}}),
            "targets.vehicles_delivered",
        ),
        (
            json!({"checklist": [{"code": "a", "zh_cn": "甲", "en": "A"}], "targets": {"revenue": "1e999"}}),
            "targets.revenue",
        ),
        (
            json!({"checklist": [{"code": "a", "zh_cn": "空\u{0}字", "en": "A"}]}),
            "checklist[0].zh_cn",
        ),
    ] {
        let r = app.put("/api/v1/today/settings", &s.manager, &body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
        assert!(
            r.problem_fields().iter().any(|x| x.starts_with(field)),
            "{field}: {}",
            r.body
        );
    }
    // nothing was saved by any of those
    assert_eq!(
        app.get("/api/v1/today/settings", &sup).await.body["checklist"],
        defaults()
    );
    // the lounge ticked today, then the manager's own list without it
    let r = tick(&app, &sup, "lounge_clean", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let own = json!({"checklist": [
            {"code": "uniforms", "zh_cn": " 着装整洁 ", "en": "Uniforms"},
            {"code": "signs_lit", "zh_cn": "标识灯箱已开启", "en": "Signs lit"}],
        "targets": {"revenue": "12000.5", "show_rate": "0.85", "csi": "92"}});
    let r = app.put("/api/v1/today/settings", &s.manager, &own).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["checklist"][0]["zh_cn"], "着装整洁");
    assert_eq!(
        (
            &r.body["targets"]["revenue"],
            &r.body["targets"]["show_rate"],
            &r.body["targets"]["csi"]
        ),
        (&json!("12000.50"), &json!("0.850"), &json!("92.0"))
    );
    assert_eq!(app.get("/api/v1/today/settings", &sup).await.body, r.body);
    // the page follows the new list; the lounge's tick is kept, and its item
    // can no longer be ticked
    let page = app.get("/api/v1/today", &sup).await;
    let codes: Vec<&str> = page.body["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["uniforms", "signs_lit"]);
    let kept = ticks_of(&app, today()).await;
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].code.as_str(), kept[0].label_zh.as_str()),
        ("lounge_clean", "休息区清洁")
    );
    assert_eq!(
        tick(&app, &sup, "lounge_clean", None).await.status,
        StatusCode::NOT_FOUND
    );
    let r = tick(&app, &sup, "signs_lit", None).await;
    assert_eq!(r.body["zh_cn"], "标识灯箱已开启");
    let count = opening_tick::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(count, 2);
}

/// The text of the console page's section `id`.
fn section<'p>(body: &'p str, id: &str) -> &'p str {
    let at = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no {id} on {body}"));
    let end = body[at..].find("</section>").map_or(body.len(), |e| at + e);
    &body[at..end]
}

#[tokio::test]
async fn the_console_shows_the_morning_and_the_supervisor_ticks_there() {
    let app = day_app().await;
    let m = seeded(&app, "OPEN5").await;
    let b = Browser::login(&app, "OPEN5", "supervisor").await;
    let page = b.get("/console/today").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("营业准备"), "{}", page.body);
    assert!(page.body.contains("href=\"/console/today\""));
    let bookings = section(&page.body, "bookings");
    for name in ["客户7", "客户8", "客户9", "京A10009"] {
        assert!(bookings.contains(name), "{name}: {bookings}");
    }
    assert!(!bookings.contains("客户1<"), "{bookings}");
    let staff = section(&page.body, "staff");
    assert!(
        staff.contains("tech3") && staff.contains("tech2"),
        "{staff}"
    );
    let promised = section(&page.body, "promised");
    assert!(promised.contains("class=\"risk\""), "{promised}");
    assert!(promised.contains("08:30"), "{promised}");
    let y = section(&page.body, "yesterday");
    assert!(y.contains("587.00") && y.contains("500.00"), "{y}");
    let cases = section(&page.body, "cases");
    assert!(cases.contains("客户1"), "{cases}");
    // every item has its tick form, with the page's CSRF token
    let list = section(&page.body, "checklist");
    assert_eq!(list.matches("class=\"tick\"").count(), 6, "{list}");
    let csrf = page.csrf();
    // a form without the token does nothing
    let r = b
        .post("/console/today/checklist/uniforms", &[("note", "x")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(ticks_of(&app, today()).await.is_empty());
    let r = b
        .post(
            "/console/today/checklist/uniforms",
            &[("csrf", &csrf), ("note", "全员已换装")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location, "/console/today");
    let page = b.get("/console/today").await;
    let list = section(&page.body, "checklist");
    assert!(
        list.contains("全员已换装") && list.contains("supervisor"),
        "{list}"
    );
    assert_eq!(list.matches("class=\"tick\"").count(), 5, "{list}");
    // the supervisor may take it back there
    assert!(
        list.contains("/console/today/checklist/uniforms/untick"),
        "{list}"
    );
    let r = b
        .post(
            "/console/today/checklist/uniforms/untick",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(ticks_of(&app, today()).await.is_empty());
    // an unknown item: the page again with the problem
    let r = b
        .post("/console/today/checklist/nothing", &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("id=\"checklist\""));
    // in English
    let en = b.get("/console/today?lang=en").await;
    assert!(
        en.body.contains("Opening") && en.body.contains("Uniforms on"),
        "{}",
        en.body
    );

    // a technician sees the day (the customer's name masked), no tick form, no figures
    let t = Browser::login(&app, "OPEN5", "technician").await;
    let page = t.get("/console/today").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(section(&page.body, "bookings").contains("客*7"));
    assert!(!section(&page.body, "bookings").contains("客户7"));
    assert!(!page.body.contains("class=\"tick\""));
    assert!(!page.body.contains("class=\"untick\""));
    assert!(!page.body.contains("id=\"yesterday\""));
    let r = t
        .post(
            "/console/today/checklist/uniforms",
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(ticks_of(&app, today()).await.is_empty());
    let _ = (&m.tech2, &m.tech3);
}

#[tokio::test]
async fn the_opening_page_fits_a_tv_and_a_tablet_and_ticks_in_a_real_browser() {
    use crate::console_browser::{browser, driver, screenshots, text_of};
    use fantoccini::Locator;
    let Some(drv) = driver().await else { return };
    let app = spawn_app_with(&[
        ("SERVICELANE__AUTH__ACCESS_TTL_SECS", "864000"),
        NO_DISPATCHER,
    ])
    .await;
    seeded(&app, "TVAM").await;
    // the cookie is Secure: Chromium keeps it for http on localhost only
    let base = app.url("").replace("127.0.0.1", "localhost");
    let c = browser(&drv).await;
    c.goto(&format!("{base}/console/login")).await.unwrap();
    for (id, value) in [
        ("dealer_code", "TVAM"),
        ("username", "supervisor"),
        ("password", PASSWORD),
    ] {
        c.find(Locator::Id(id))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    c.find(Locator::Id("login"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    text_of(&c, "#states").await;
    c.goto(&format!("{base}/console/today")).await.unwrap();
    let list = text_of(&c, "#checklist").await;
    assert!(list.contains("着装整洁（已换工作服）"), "{list}");
    let promised = text_of(&c, "#promised").await;
    assert!(promised.contains("08:30"), "{promised}");
    // tick the uniforms with a note, as the supervisor does at the meeting
    c.find(Locator::Css("[data-item='uniforms'] input[name=note]"))
        .await
        .unwrap()
        .send_keys("全员已换装")
        .await
        .unwrap();
    c.find(Locator::Css("[data-item='uniforms'] form.tick button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let mut row = String::new();
    // the page loads again after the post: read until it shows the tick
    for _ in 0..100 {
        if let Ok(e) = c.find(Locator::Css("[data-item='uniforms']")).await
            && let Ok(t) = e.text().await
        {
            row = t;
            if row.contains("全员已换装") {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        row.contains("全员已换装") && row.contains("supervisor"),
        "{row}"
    );
    assert_eq!(ticks_of(&app, today()).await.len(), 1);
    let dir = screenshots();
    c.set_window_size(1920, 1080).await.unwrap();
    std::fs::write(
        dir.join("today-tv-1920x1080.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    c.set_window_size(1024, 768).await.unwrap();
    std::fs::write(
        dir.join("today-tablet-1024x768.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    c.close().await.unwrap();
}
