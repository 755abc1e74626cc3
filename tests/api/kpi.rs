//! The daily board's figures (issue 11, KPIs): `GET /api/v1/kpi/daily`,
//! `GET /api/v1/kpi/range` and the technicians' rosters.
//!
//! One seeded day, Tuesday 2027-03-02 in Shanghai, with every figure worked
//! out by hand. Order A goes through the whole workshop by the API; the
//! history around it is written by hand (backdated deliveries, as the care
//! planner's tests do), since another test owns those steps:
//!
//! | order | vehicle | arrived (local) | delivered | what it shows |
//! |---|---|---|---|---|
//! | A0 | V1 | 2/20 09:00 | 2/20 10:00 | brakes: A repeats it (a comeback) |
//! | A | V1 | 3/2 08:00 | 3/2 08:40 | brakes 1.5 h × 300 + 2 × 68.50 = 587.00; clocked 40 min; promised 12:00 |
//! | B | V2 | 3/2 08:20, reception 08:40 | — | late reception; in work at close |
//! | B0 | V2 | 2026-02-15 | 2026-02-15 | customer 2 lapsing (12–24 months) |
//! | C0 | V5 | 2026-03-10 | 2026-03-10 | customer 5 visited in month N−12, not since |
//! | D0 | V6 | 2024-12-01 | 2024-12-01 | customer 6 lost (> 24 months) |
//!
//! Appointments on 3/2: one checked in, one no-show. A response to A at
//! 09:00 with CSI 90.0. The technician's roster: 7.5 h on weekdays, 1.5 h
//! off on 3/2, so 6 h available. Vehicles sold: V6 in 2024-06 (came), V7 in
//! 2026-08 (never came), V5 in 2027-01 (not due yet).

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use reqwest::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use servicelane::domain::Role;
use servicelane::entities::{appointment, csi_response, repair_order, vehicle};
use uuid::Uuid;

use crate::appointments::{Shop, book, owner};
use crate::care_planner::{d, set_local};
use crate::helpers::*;
use crate::repair_orders::{add_job, estimate_and_accept, walk_in, walkaround};
use crate::workshop::{Floor, day_app, dispatch, floor, pay, qc, work};

const BRAKES: &str = "更换前刹车片";

fn sh() -> Tz {
    "Asia/Shanghai".parse().unwrap()
}

fn local(date: NaiveDate, hh: u32, mm: u32) -> DateTime<Utc> {
    sh().from_local_datetime(&date.and_hms_opt(hh, mm, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

fn day() -> NaiveDate {
    d(2027, 3, 2)
}

fn brakes() -> Value {
    json!({"description": BRAKES, "labour_hours": "1.5", "skill": "mechanical",
           "parts": [{"part_number": "BP-01", "name": "刹车片", "quantity": "2", "unit_price": "68.50"}]})
}

fn uuid(v: &Value) -> Uuid {
    Uuid::parse_str(v.as_str().unwrap()).unwrap()
}

/// An order of `vehicle` with the brakes job, its estimate accepted: its id and the job's.
async fn accepted(app: &TestApp, s: &Shop, vehicle: &str) -> (String, String) {
    let o = walk_in(app, s, vehicle).await;
    let id = o["id"].as_str().unwrap().to_string();
    add_job(app, &s.advisor, &id, brakes()).await;
    walkaround(app, s, &id).await;
    estimate_and_accept(app, s, &id).await;
    let o = app
        .get(&format!("/api/v1/repair-orders/{id}"), &s.advisor)
        .await;
    let job = o.body["jobs"][0]["id"].as_str().unwrap().to_string();
    (id, job)
}

/// An order opened and delivered in the past, written by hand (the
/// delivery is the repair orders' to test).
async fn past_visit(
    app: &TestApp,
    s: &Shop,
    vehicle: &str,
    arrived: DateTime<Utc>,
    delivered: DateTime<Utc>,
) {
    let (id, _) = accepted(app, s, vehicle).await;
    let r = repair_order::Entity::update_many()
        .col_expr(repair_order::Column::State, Expr::value("delivered"))
        .col_expr(repair_order::Column::ArrivedAt, Expr::value(arrived))
        .col_expr(
            repair_order::Column::ReceptionStartedAt,
            Expr::value(arrived),
        )
        .col_expr(repair_order::Column::DeliveredAt, Expr::value(delivered))
        .filter(repair_order::Column::Id.eq(uuid(&json!(id))))
        .exec(&app.state.db)
        .await
        .unwrap();
    assert_eq!(r.rows_affected, 1);
}

async fn sold_on(app: &TestApp, vehicle: &str, on: NaiveDate) {
    vehicle::Entity::update_many()
        .col_expr(vehicle::Column::PurchaseDate, Expr::value(on))
        .filter(vehicle::Column::Id.eq(uuid(&json!(vehicle))))
        .exec(&app.state.db)
        .await
        .unwrap();
}

async fn set_appointment(app: &TestApp, id: &Value, state: &str) {
    appointment::Entity::update_many()
        .col_expr(appointment::Column::State, Expr::value(state))
        .filter(appointment::Column::Id.eq(uuid(id)))
        .exec(&app.state.db)
        .await
        .unwrap();
}

async fn dealer_id(app: &TestApp, code: &str) -> Uuid {
    servicelane::entities::dealer::Entity::find()
        .filter(servicelane::entities::dealer::Column::Code.eq(code))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .id
}

pub(crate) async fn user_id(app: &TestApp, token: &str) -> String {
    app.get("/api/v1/me", token).await.body["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Order A's whole visit through the API (clocked 08:00–08:40, promised 12:00).
async fn visit_a(app: &TestApp, f: &Floor, vehicle: &str) -> String {
    let s = &f.s;
    let (o, job) = accepted(app, s, vehicle).await;
    let cur = app
        .get(&format!("/api/v1/repair-orders/{o}"), &s.advisor)
        .await;
    let promise = app
        .patch(
            &format!("/api/v1/repair-orders/{o}"),
            &s.advisor,
            Some(&format!("\"{}\"", cur.body["version"])),
            &json!({"promised_at": s.at_on(day(), 12, 0)}),
        )
        .await;
    assert_eq!(promise.status, StatusCode::OK, "{}", promise.body);
    let r = dispatch(app, &f.foreman, &o, &job, &f.tech_id, "normal").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    work(app, f, &o, &job, 40, "前刹车片已更换").await;
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
    assert_eq!(inv.body["customer_gross"], "587.00", "{}", inv.body);
    let p = pay(app, &f.cashier, &o, "587.00", None).await;
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

/// The seeded day: the floor, order A's id, the app's clock at 18:00 on the day.
pub(crate) async fn seeded(app: &TestApp) -> (Floor, String) {
    set_local(app, sh(), day(), 7, 0);
    let f = floor(app, "KPI1").await;
    let s = &f.s;
    let (_, v1) = owner(app, s, 1).await;
    let (_, v2) = owner(app, s, 2).await;
    let (_, v3) = owner(app, s, 3).await;
    let (_, v4) = owner(app, s, 4).await;
    let (_, v5) = owner(app, s, 5).await;
    let (_, v6) = owner(app, s, 6).await;
    let (_, v7) = owner(app, s, 7).await;
    // the history, opened now and written back in time
    past_visit(
        app,
        s,
        &v1,
        local(d(2027, 2, 20), 9, 0),
        local(d(2027, 2, 20), 10, 0),
    )
    .await;
    past_visit(
        app,
        s,
        &v2,
        local(d(2026, 2, 15), 9, 0),
        local(d(2026, 2, 15), 11, 0),
    )
    .await;
    past_visit(
        app,
        s,
        &v5,
        local(d(2026, 3, 10), 9, 0),
        local(d(2026, 3, 10), 11, 0),
    )
    .await;
    past_visit(
        app,
        s,
        &v6,
        local(d(2024, 12, 1), 9, 0),
        local(d(2024, 12, 1), 11, 0),
    )
    .await;
    sold_on(app, &v6, d(2024, 6, 1)).await;
    sold_on(app, &v7, d(2026, 8, 1)).await;
    sold_on(app, &v5, d(2027, 1, 1)).await;
    // the technician's roster: 7.5 h on weekdays, 1.5 h off today
    let r = app
        .put(
            &format!("/api/v1/technicians/{}/roster", f.tech_id),
            &s.manager,
            &json!({"weekly": {"mon": "7.5", "tue": "7.5", "wed": "7.5", "thu": "7.5", "fri": "7.5", "sat": "0", "sun": "0"},
                    "absences": [{"date": "2027-03-02", "hours": "1.5"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // two appointments today
    let a3 = book(app, s, &v3, &s.at_on(day(), 10, 0)).await;
    assert_eq!(a3.status, StatusCode::CREATED, "{}", a3.body);
    let a4 = book(app, s, &v4, &s.at_on(day(), 11, 0)).await;
    assert_eq!(a4.status, StatusCode::CREATED, "{}", a4.body);
    set_appointment(app, &a3.body["id"], "checked_in").await;
    set_appointment(app, &a4.body["id"], "no_show").await;
    // 08:00: order A, through the whole workshop
    set_local(app, sh(), day(), 8, 0);
    let a = visit_a(app, &f, &v1).await;
    // 08:40: order B, its car there since 08:20
    let b = app
        .post(
            "/api/v1/repair-orders",
            Some(&s.advisor),
            &json!({"vehicle_id": v2, "concerns": ["异响"], "arrived_at": s.at_on(day(), 8, 20)}),
        )
        .await;
    assert_eq!(b.status, StatusCode::CREATED, "{}", b.body);
    // 09:00: the customer answers the survey, CSI 90.0
    let dealer = dealer_id(app, "KPI1").await;
    csi_response::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(dealer),
        order_id: Set(uuid(&json!(a))),
        customer_id: Set(Uuid::now_v7()),
        source: Set("survey".into()),
        questionnaire_version: Set(0),
        answers: Set(json!([])),
        recommend: Set(None),
        comment: Set(None),
        quick_rating: Set(None),
        csi_tenths: Set(Some(900)),
        sections: Set(json!([])),
        created_at: Set(local(day(), 9, 0)),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    set_local(app, sh(), day(), 18, 0);
    (f, a)
}

fn figure(v: &Value, value: Value, num: &str, den: &str) {
    assert_eq!(
        (
            &v["value"],
            v["numerator"].as_str(),
            v["denominator"].as_str()
        ),
        (&value, Some(num), Some(den)),
        "{v}"
    );
}

async fn daily(app: &TestApp, token: &str, query: &str) -> Answer {
    app.get(&format!("/api/v1/kpi/daily?date=2027-03-02{query}"), token)
        .await
}

#[tokio::test]
async fn a_seeded_day_answers_every_figure_as_worked_out_by_hand() {
    let app = day_app().await;
    let (f, _) = seeded(&app).await;
    let r = daily(&app, &f.s.manager, "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["date"], "2027-03-02");
    let k = &r.body["figures"];
    // revenue: A's invoice, customer-paid
    let rev = &k["revenue"];
    assert_eq!(
        (&rev["orders"], &rev["labour"], &rev["parts"], &rev["total"]),
        (
            &json!(1),
            &json!("450.00"),
            &json!("137.00"),
            &json!("587.00")
        ),
        "{rev}"
    );
    let by: Vec<(String, String)> = rev["by_pay_type"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["pay_type"].as_str().unwrap().into(),
                p["total"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        by,
        [
            ("customer", "587.00"),
            ("warranty", "0.00"),
            ("internal", "0.00"),
            ("insurance", "0.00")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(
        (
            &k["vehicles_in"],
            &k["vehicles_delivered"],
            &k["in_work_at_close"]
        ),
        (&json!(2), &json!(1), &json!(1))
    );
    // hours: 6 available, 40 minutes clocked (0.67), 1.5 sold
    let h = &k["hours"];
    assert_eq!(
        (&h["available"], &h["clocked"], &h["sold"]),
        (&json!("6.00"), &json!("0.67"), &json!("1.50")),
        "{h}"
    );
    figure(&h["productivity"], json!("0.112"), "0.67", "6.00");
    figure(&h["efficiency"], json!("2.239"), "1.50", "0.67");
    figure(&h["utilisation"], json!("0.250"), "1.50", "6.00");
    let techs = k["technicians"].as_array().unwrap();
    assert_eq!(techs.len(), 1, "{techs:?}");
    assert_eq!(techs[0]["technician_id"], f.tech_id.as_str());
    assert_eq!(techs[0]["hours"]["sold"], "1.50");
    // A repeats the brakes of 2/20: a comeback, so not fixed first time
    assert_eq!((&k["comebacks"], &k["qc_reworked"]), (&json!(1), &json!(0)));
    figure(&k["comeback_rate"], json!("1.000"), "1", "1");
    figure(&k["first_time_fix"], json!("0.000"), "0", "1");
    // appointments: 2 due, 1 shown, 1 no-show; no order came from one
    let ap = &k["appointments"];
    assert_eq!(
        (&ap["due"], &ap["shown"], &ap["no_shows"]),
        (&json!(2), &json!(1), &json!(1))
    );
    figure(&ap["show_rate"], json!("0.500"), "1", "2");
    figure(&k["appointment_rate"], json!("0.000"), "0", "2");
    // A received at once, B 20 minutes after arriving
    figure(&k["reception_within_5_minutes"], json!("0.500"), "1", "2");
    figure(&k["estimate_before_work"], json!("1.000"), "1", "1");
    figure(&k["on_time_delivery"], json!("1.000"), "1", "1");
    // the response at 09:00 came within 3 days of delivery
    figure(&k["follow_up_within_3_days"], json!("1.000"), "1", "1");
    figure(&k["csi"], json!("90.0"), "90.0", "1");
    assert_eq!(
        (&k["cases_opened"], &k["open_cases"]),
        (&json!(0), &json!(0))
    );
    // churn seen on 3/2: customer 2 lapsing, 6 lost; of March 2026's
    // visitors (customer 5) none came since; V7 never came of V6 and V7
    let c = &r.body["churn"];
    assert_eq!(
        (&c["lapsing"], &c["lost"], &c["churn_month"]),
        (&json!(1), &json!(1), &json!("2026-03")),
        "{c}"
    );
    figure(&c["churn_rate"], json!("1.000"), "1", "1");
    assert_eq!(c["first_service_months"], 6);
    figure(&c["first_service_loss"], json!("0.500"), "1", "2");
    assert_eq!(r.body["dealers"], json!([]));

    // the same day as a range of one, by week: the same figures
    let w = app
        .get(
            "/api/v1/kpi/range?from=2027-03-01&to=2027-03-07&by=day",
            &f.s.manager,
        )
        .await;
    assert_eq!(w.status, StatusCode::OK, "{}", w.body);
    let periods = w.body["periods"].as_array().unwrap();
    assert_eq!(periods.len(), 7);
    assert_eq!(periods[1]["from"], "2027-03-02");
    assert_eq!(periods[1]["revenue"], k["revenue"]);
    assert_eq!(periods[1]["hours"], k["hours"]);
    assert_eq!(periods[0]["vehicles_in"], 0);
    // the week: 7.5 on Monday and Wednesday to Friday, 6 on Tuesday
    assert_eq!(w.body["total"]["hours"]["available"], "36.00");
    assert_eq!(w.body["total"]["vehicles_in"], 2);
    // Saturday's close: B still there
    assert_eq!(periods[5]["in_work_at_close"], 1);
}

#[tokio::test]
async fn an_empty_day_is_all_zeros_and_nulls() {
    let app = day_app().await;
    set_local(&app, sh(), day(), 18, 0);
    let f = floor(&app, "KPI2").await;
    let r = daily(&app, &f.s.manager, "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let k = &r.body["figures"];
    assert_eq!(k["revenue"]["total"], "0.00");
    assert_eq!(
        (
            &k["vehicles_in"],
            &k["vehicles_delivered"],
            &k["in_work_at_close"]
        ),
        (&json!(0), &json!(0), &json!(0))
    );
    // the technician without a roster: 8 hours on a Tuesday, nothing clocked
    figure(&k["hours"]["productivity"], json!("0.000"), "0.00", "8.00");
    figure(&k["hours"]["efficiency"], Value::Null, "0.00", "0.00");
    for f in [
        "first_time_fix",
        "comeback_rate",
        "appointment_rate",
        "reception_within_5_minutes",
        "estimate_before_work",
        "on_time_delivery",
        "follow_up_within_3_days",
        "csi",
    ] {
        assert_eq!(k[f]["value"], Value::Null, "{f}: {}", k[f]);
        assert_eq!(k[f]["denominator"], "0", "{f}");
    }
    assert_eq!(k["appointments"]["show_rate"]["value"], Value::Null);
    let c = &r.body["churn"];
    assert_eq!((&c["lapsing"], &c["lost"]), (&json!(0), &json!(0)));
    assert_eq!(c["churn_rate"]["value"], Value::Null);
    assert_eq!(c["first_service_loss"]["value"], Value::Null);
}

#[tokio::test]
async fn a_technician_filter_keeps_their_hours_and_orders() {
    let app = day_app().await;
    let (f, _) = seeded(&app).await;
    let dealer = dealer_id(&app, "KPI1").await;
    app.user(dealer, "tech2", Role::Technician).await;
    let t2 = app.login_as("KPI1", "tech2").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let t2_id = user_id(&app, &t2).await;
    let r = daily(&app, &f.s.manager, &format!("&technician_id={}", f.tech_id)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let k = &r.body["figures"];
    // A only: B has no job of theirs
    assert_eq!(
        (
            &k["vehicles_in"],
            &k["vehicles_delivered"],
            &k["in_work_at_close"]
        ),
        (&json!(1), &json!(1), &json!(0))
    );
    assert_eq!(k["hours"]["sold"], "1.50");
    assert_eq!(k["technicians"].as_array().unwrap().len(), 1);
    // the second technician: 8 hours there, nothing clocked, no efficiency
    let r = daily(&app, &f.s.manager, &format!("&technician_id={t2_id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let k = &r.body["figures"];
    assert_eq!(
        (&k["vehicles_in"], &k["vehicles_delivered"]),
        (&json!(0), &json!(0))
    );
    assert_eq!(k["revenue"]["total"], "0.00");
    figure(&k["hours"]["productivity"], json!("0.000"), "0.00", "8.00");
    figure(&k["hours"]["efficiency"], Value::Null, "0.00", "0.00");
    // the whole workshop now has two technicians: 6 + 8 available
    let all = daily(&app, &f.s.manager, "").await;
    assert_eq!(all.body["figures"]["hours"]["available"], "14.00");
    // an advisor filter: the shop's advisor took both orders
    let adv = user_id(&app, &f.s.advisor).await;
    let r = daily(&app, &f.s.manager, &format!("&advisor_id={adv}")).await;
    assert_eq!(r.body["figures"]["vehicles_in"], 2);
    figure(&r.body["figures"]["csi"], json!("90.0"), "90.0", "1");
    // the manager took none
    let mgr = user_id(&app, &f.s.manager).await;
    let r = daily(&app, &f.s.manager, &format!("&advisor_id={mgr}")).await;
    assert_eq!(r.body["figures"]["vehicles_in"], 0);
    assert_eq!(r.body["figures"]["csi"]["value"], Value::Null);
}

#[tokio::test]
async fn another_dealers_data_is_absent_and_the_brand_sees_both() {
    let app = day_app().await;
    let (f, _) = seeded(&app).await;
    // a second dealer with an order of its own today
    let other = floor(&app, "KPI9").await;
    let (_, v) = owner(&app, &other.s, 1).await;
    walk_in(&app, &other.s, &v).await;
    let mine = daily(&app, &f.s.manager, "").await;
    assert_eq!(mine.body["figures"]["vehicles_in"], 2);
    let theirs = daily(&app, &other.s.manager, "").await;
    let k = &theirs.body["figures"];
    assert_eq!(
        (&k["vehicles_in"], &k["vehicles_delivered"]),
        (&json!(1), &json!(0))
    );
    assert_eq!(k["revenue"]["total"], "0.00");
    assert_eq!(k["csi"]["value"], Value::Null);
    assert_eq!(theirs.body["churn"]["lost"], 0);
    // their technician and advisor are not ours to filter by: 422 naming the field
    let r = daily(
        &app,
        &f.s.manager,
        &format!("&technician_id={}", other.tech_id),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.problem_fields(), ["technician_id"]);
    let adv = user_id(&app, &other.s.advisor).await;
    let r = daily(
        &app,
        &f.s.manager,
        &format!("&advisor_id={adv}&technician_id={}", Uuid::now_v7()),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.problem_fields(), ["advisor_id", "technician_id"]);
    // an advisor is no technician
    let own_adv = user_id(&app, &f.s.advisor).await;
    let r = daily(&app, &f.s.manager, &format!("&technician_id={own_adv}")).await;
    assert_eq!(r.problem_fields(), ["technician_id"]);
    // the brand: every dealer side by side, by name
    let dealer = dealer_id(&app, "KPI1").await;
    app.user(dealer, "brand", Role::NetworkAdmin).await;
    let brand = app.login_as("KPI1", "brand").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = daily(&app, &brand, "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let dealers = r.body["dealers"].as_array().unwrap();
    let ins: Vec<(i64, String)> = dealers
        .iter()
        .map(|d| {
            (
                d["figures"]["vehicles_in"].as_i64().unwrap(),
                d["figures"]["revenue"]["total"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(ins.len(), 2);
    assert!(ins.contains(&(2, "587.00".into())), "{ins:?}");
    assert!(ins.contains(&(1, "0.00".into())), "{ins:?}");
    let range = app
        .get(
            "/api/v1/kpi/range?from=2027-02-01&to=2027-03-31&by=month",
            &brand,
        )
        .await;
    assert_eq!(range.status, StatusCode::OK, "{}", range.body);
    assert_eq!(range.body["dealers"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn only_managers_read_the_board_and_ranges_are_checked() {
    let app = day_app().await;
    set_local(&app, sh(), day(), 18, 0);
    let f = floor(&app, "KPI3").await;
    for token in [&f.tech, &f.s.advisor, &f.cashier] {
        let r = daily(&app, token, "").await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        let r = app
            .get("/api/v1/kpi/range?from=2027-03-01&to=2027-03-02", token)
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    }
    let (_, sup) = app.staff("KPI3", Role::ServiceSupervisor).await;
    let (_, admin) = app.staff("KPI3", Role::DealerAdmin).await;
    for token in [&sup, &admin, &f.s.manager] {
        assert_eq!(daily(&app, token, "").await.status, StatusCode::OK);
    }
    for (q, field) in [
        ("from=2027-03-02&to=2027-03-01", "to"),
        ("from=2027-01-01&to=2028-02-05", "to"),
        ("from=1800-01-01&to=2027-03-01", "from"),
        ("from=2027-03-01&to=2027-03-02&by=year", "by"),
        ("to=2027-03-02", "from"),
    ] {
        let r = app
            .get(&format!("/api/v1/kpi/range?{q}"), &f.s.manager)
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{q}: {}",
            r.body
        );
        assert_eq!(r.problem_fields(), [field], "{q}");
    }
    // 400 days is the most
    let r = app
        .get(
            "/api/v1/kpi/range?from=2027-01-01&to=2028-02-04&by=month",
            &f.s.manager,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["periods"].as_array().unwrap().len(), 14);
    let r = app
        .get("/api/v1/kpi/daily?date=1800-01-01", &f.s.manager)
        .await;
    assert_eq!(r.problem_fields(), ["date"]);
}

#[tokio::test]
async fn a_roster_defaults_to_eight_hours_and_managers_replace_it() {
    let app = day_app().await;
    set_local(&app, sh(), day(), 9, 0);
    let f = floor(&app, "KPI4").await;
    let path = format!("/api/v1/technicians/{}/roster", f.tech_id);
    let r = app.get(&path, &f.tech).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["default"], true);
    assert_eq!(r.body["weekly"]["mon"], "8");
    assert_eq!(r.body["weekly"]["sun"], "0");
    // the technician reads their own, writes none
    let body = json!({"weekly": {"mon": "8", "tue": "8", "wed": "4", "thu": "8", "fri": "8", "sat": "4", "sun": "0"},
                      "absences": [{"date": "2027-03-03"}]});
    assert_eq!(
        app.put(&path, &f.tech, &body).await.status,
        StatusCode::FORBIDDEN
    );
    let w = app.put(&path, &f.s.manager, &body).await;
    assert_eq!(w.status, StatusCode::OK, "{}", w.body);
    let r = app.get(&path, &f.s.manager).await;
    assert_eq!(r.body["default"], false);
    assert_eq!(r.body["weekly"]["wed"], "4.00");
    assert_eq!(
        r.body["absences"],
        json!([{"date": "2027-03-03", "hours": null}])
    );
    // written again: the new one replaces it
    let again = json!({"weekly": {"mon": "8", "tue": "8", "wed": "6", "thu": "8", "fri": "8", "sat": "4", "sun": "0"},
                       "absences": [{"date": "2027-03-03"}]});
    assert_eq!(
        app.put(&path, &f.s.manager, &again).await.status,
        StatusCode::OK
    );
    let r = app.get(&path, &f.tech).await;
    assert_eq!(r.body["weekly"]["wed"], "6.00");
    // the board counts it: Wednesday 3/3 is a day off, Saturday 4 hours
    let k = app
        .get(
            "/api/v1/kpi/range?from=2027-03-01&to=2027-03-07&by=week",
            &f.s.manager,
        )
        .await;
    assert_eq!(k.body["total"]["hours"]["available"], "36.00", "{}", k.body);
    // every bad field named
    let bad = json!({"weekly": {"mon": "25", "tue": "-1", "wed": "4.125", "thu": "8", "fri": "8", "sat": "4", "sun": "0"},
                     "absences": [{"date": "2027-03-03"}, {"date": "2027-03-03", "hours": "30"}]});
    let r = app.put(&path, &f.s.manager, &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        r.problem_fields(),
        [
            "weekly.mon",
            "weekly.tue",
            "weekly.wed",
            "absences[1].date",
            "absences[1].hours"
        ]
    );
    // an advisor has no roster; another dealer's technician is not found
    let adv = user_id(&app, &f.s.advisor).await;
    let r = app
        .get(&format!("/api/v1/technicians/{adv}/roster"), &f.s.manager)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let other = floor(&app, "KPI5").await;
    let r = app
        .put(
            &format!("/api/v1/technicians/{}/roster", other.tech_id),
            &f.s.manager,
            &body,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn outcomes_recorded_at_delivery_computed_or_filled_in_give_the_same_figures() {
    use servicelane::entities::{order_outcome, order_revenue};
    use servicelane::services::kpi::outcomes;
    let app = day_app().await;
    let (f, a) = seeded(&app).await;
    let range = "/api/v1/kpi/range?from=2027-02-01&to=2027-03-07&by=week";
    let first = app.get(range, &f.s.manager).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    // A's delivery recorded its outcome; the hand-written history has none
    // unless the backfill spawned at start-up ran after it was written
    let stored = order_outcome::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    let a_id = uuid(&json!(a));
    let o = stored.iter().find(|o| o.order_id == a_id).unwrap();
    let filled_at_start = stored.len() as u64 - 1;
    assert_eq!(
        (o.comeback, o.qc_reworked, o.estimate_before_work, o.on_time),
        (true, false, Some(true), Some(true))
    );
    assert_eq!(o.delivered_at, local(day(), 8, 40));
    let revenue = order_revenue::Entity::find()
        .filter(order_revenue::Column::OrderId.eq(a_id))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(
        revenue
            .iter()
            .map(|r| (
                r.pay_type.as_str(),
                r.labour_cents,
                r.parts_cents,
                r.gross_cents
            ))
            .collect::<Vec<_>>(),
        [("customer", 45_000, 13_700, 58_700)]
    );
    // the four earlier visits are filled in, once
    let now = app.state.clock.now();
    assert_eq!(
        filled_at_start + outcomes::backfill(&app.state.db, now).await.unwrap(),
        4
    );
    assert_eq!(outcomes::backfill(&app.state.db, now).await.unwrap(), 0);
    let filled = app.get(range, &f.s.manager).await;
    assert_eq!(filled.body, first.body);
    // and with nothing stored at all, the board computes every one alike
    order_revenue::Entity::delete_many()
        .exec(&app.state.db)
        .await
        .unwrap();
    order_outcome::Entity::delete_many()
        .exec(&app.state.db)
        .await
        .unwrap();
    let computed = app.get(range, &f.s.manager).await;
    assert_eq!(computed.body, first.body);
    // the week of 3/1 holds A: 587.00, a comeback
    let week = &first.body["periods"][4];
    assert_eq!(week["from"], "2027-03-01");
    assert_eq!(week["revenue"]["total"], "587.00");
    assert_eq!(week["comebacks"], 1);
    assert_eq!(outcomes::backfill(&app.state.db, now).await.unwrap(), 5);
}
