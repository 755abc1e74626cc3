//! The care planner (issue 9): each kind planned on its day, once, whoever
//! plans it; catching up after downtime; clock changes; the settings, the
//! calendar and the preview. The clock is fixed; the planner runs when a
//! test asks (`POST /api/v1/care/runs`) unless a test turns it on.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use servicelane::domain::Role;
use servicelane::domain::message::MessageKind;
use servicelane::entities::outbox_message;
use uuid::Uuid;

use crate::appointments::{Shop, book, owner, shop};
use crate::helpers::*;

/// Sets the clock to local `hh:mm` of `date` in `tz`.
pub(crate) fn set_local(app: &TestApp, tz: Tz, date: NaiveDate, hh: u32, mm: u32) {
    let t = tz
        .from_local_datetime(&date.and_hms_opt(hh, mm, 0).unwrap())
        .earliest()
        .unwrap();
    app.clock.set(t.with_timezone(&Utc));
}

pub(crate) fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

async fn rows(app: &TestApp, kind: MessageKind) -> Vec<outbox_message::Model> {
    outbox_message::Entity::find()
        .filter(outbox_message::Column::Kind.eq(kind))
        .order_by_asc(outbox_message::Column::OccurrenceKey)
        .order_by_asc(outbox_message::Column::Channel)
        .all(&app.state.db)
        .await
        .unwrap()
}

pub(crate) async fn all_rows(app: &TestApp) -> Vec<outbox_message::Model> {
    outbox_message::Entity::find()
        .order_by_asc(outbox_message::Column::OccurrenceKey)
        .order_by_asc(outbox_message::Column::Channel)
        .all(&app.state.db)
        .await
        .unwrap()
}

/// A fresh manager's token (the tests move the clock past a token's life).
pub(crate) async fn manager(app: &TestApp, s: &Shop) -> String {
    app.login_as(&s.code, "service_manager").await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

pub(crate) async fn run(app: &TestApp, s: &Shop) -> Value {
    let token = manager(app, s).await;
    let r = app
        .post("/api/v1/care/runs", Some(&token), &json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

fn count(report: &Value, kind: &str) -> u64 {
    report["planned"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == kind)
        .map_or(0, |k| k["messages"].as_u64().unwrap())
}

pub(crate) async fn customer(app: &TestApp, s: &Shop, body: Value) -> String {
    let a = app.post("/api/v1/customers", Some(&s.advisor), &body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    a.body["id"].as_str().unwrap().to_string()
}

pub(crate) async fn vehicle(
    app: &TestApp,
    s: &Shop,
    customer: &str,
    n: u32,
    extra: Value,
) -> String {
    let mut body = json!({"customer_id": customer, "vin": vin(5000 + n), "plate": format!("沪B{:05}", 20000 + n), "make": "大众", "model": "帕萨特"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let a = app.post("/api/v1/vehicles", Some(&s.advisor), &body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    a.body["id"].as_str().unwrap().to_string()
}

pub(crate) fn marketing_yes() -> Value {
    json!([{"channel": "sms", "purpose": "marketing", "granted": true, "source": "paper_form"}])
}

/// The local time in `tz` a row is due.
fn local(r: &outbox_message::Model, tz: Tz) -> chrono::NaiveDateTime {
    r.due_at.with_timezone(&tz).naive_local()
}

#[tokio::test]
async fn every_kind_is_planned_on_its_day_once_on_its_channels_inside_the_window() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let sh: Tz = "Asia/Shanghai".parse().unwrap();
    set_local(&app, sh, d(2027, 3, 1), 10, 0);
    let s = shop(&app, "PLAN", "Asia/Shanghai", 3, 3).await;
    // a solar birthday on 15 March with a yes to marketing; a lunar one on
    // the lunar date of 15 March 2027 (lunar 2-8) with no yes: no greeting
    let happy = customer(&app, &s, json!({"name": "王芳", "phone": "13900000101", "birthday": {"calendar": "solar", "month": 3, "day": 15}, "consents": marketing_yes()})).await;
    let silent = customer(&app, &s, json!({"name": "李雷", "phone": "13900000102", "birthday": {"calendar": "lunar", "month": 2, "day": 8}})).await;
    // on 15 March: compulsory insurance 30 days ahead, commercial 7 days
    // ahead, inspection 30 days ahead, maintenance 14 days ahead (12 months
    // after the last service), first service 14 days ahead (6 months after purchase)
    let v1 = vehicle(
        &app,
        &s,
        &happy,
        1,
        json!({
        "compulsory_insurance_expiry": "2027-04-14", "commercial_insurance_expiry": "2027-03-22",
        "inspection_due": "2027-04-14", "last_service_date": "2026-03-29", "last_service_km": 20000,
        "purchase_date": "2024-01-10"}),
    )
    .await;
    let v2 = vehicle(&app, &s, &silent, 2, json!({"purchase_date": "2026-09-29"})).await;
    // a vehicle due nothing on the day
    let v3 = vehicle(
        &app,
        &s,
        &silent,
        3,
        json!({"compulsory_insurance_expiry": "2027-06-30"}),
    )
    .await;

    set_local(&app, sh, d(2027, 3, 15), 0, 5);
    let first = run(&app, &s).await;
    assert_eq!(first["days"], json!(["2027-03-15"]));
    // sms only: nobody has signed in to the app (no address there)
    assert_eq!(count(&first, "insurance_renewal"), 2, "{first}");
    assert_eq!(count(&first, "annual_inspection"), 1, "{first}");
    assert_eq!(count(&first, "maintenance_due"), 1, "{first}");
    assert_eq!(count(&first, "first_service"), 1, "{first}");
    assert_eq!(count(&first, "birthday"), 1, "{first}");
    assert_eq!(first["total"], 6);

    let ins = rows(&app, MessageKind::InsuranceRenewal).await;
    let keys: Vec<&str> = ins.iter().map(|r| r.occurrence_key.as_str()).collect();
    assert!(
        keys.contains(&format!("insurance_renewal:{v1}:commercial:2027-03-22:7d").as_str()),
        "{keys:?}"
    );
    assert!(
        keys.contains(&format!("insurance_renewal:{v1}:compulsory:2027-04-14:30d").as_str()),
        "{keys:?}"
    );
    assert!(
        ins.iter()
            .all(|r| r.recipient == "+8613900000101" && r.channel.as_str() == "sms")
    );
    assert!(
        ins.iter()
            .any(|r| r.body.contains("交强险") && r.body.contains("2027-04-14")),
        "{:?}",
        ins[0].body
    );
    let first_service = &rows(&app, MessageKind::FirstService).await[0];
    assert_eq!(
        first_service.occurrence_key,
        format!("first_service:{v2}:14d")
    );
    let maint = &rows(&app, MessageKind::MaintenanceDue).await[0];
    assert_eq!(
        maint.occurrence_key,
        format!("maintenance_due:{v1}:2026-03-29:14d")
    );
    assert!(maint.body.contains("2027-03-29"), "{}", maint.body);
    let bday = &rows(&app, MessageKind::Birthday).await[0];
    assert_eq!(bday.occurrence_key, format!("birthday:{happy}:2027"));
    assert!(
        bday.body.contains("王芳") && bday.body.contains("生日"),
        "{}",
        bday.body
    );
    assert!(
        !all_rows(&app)
            .await
            .iter()
            .any(|r| r.occurrence_key.contains(&v3))
    );
    // every send inside the 09:00–20:00 window of the day, in the dealer's zone
    for r in all_rows(&app).await {
        let t = local(&r, sh);
        assert_eq!(t.date(), d(2027, 3, 15), "{}", r.occurrence_key);
        assert!(
            t.time() >= chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            "{t}"
        );
        assert!(
            t.time() < chrono::NaiveTime::from_hms_opt(20, 0, 0).unwrap(),
            "{t}"
        );
    }
    // again, and again later the same day: nothing new
    let again = run(&app, &s).await;
    assert_eq!(again["total"], 0, "{again}");
    set_local(&app, sh, d(2027, 3, 15), 16, 0);
    assert_eq!(run(&app, &s).await["total"], 0);
    assert_eq!(all_rows(&app).await.len(), 6);
    // the next day: the late rule sends nothing more (each reminder went)
    set_local(&app, sh, d(2027, 3, 16), 0, 5);
    assert_eq!(run(&app, &s).await["total"], 0);
}

#[tokio::test]
async fn a_lunar_birthday_in_a_leap_month_falls_in_the_ordinary_month_without_one() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let sh: Tz = "Asia/Shanghai".parse().unwrap();
    set_local(&app, sh, d(2027, 1, 5), 10, 0);
    let s = shop(&app, "LUNAR", "Asia/Shanghai", 3, 3).await;
    // born in the leap 6th month (闰六月, as in 2025), on its 10th day;
    // lunar 2027 has no leap 6th month: the ordinary 6th month's 10th,
    // 2027-07-13 (published: 2027-07-13 is 六月初十)
    let c = customer(&app, &s, json!({"name": "闰月", "phone": "13900000201", "birthday": {"calendar": "lunar", "month": 6, "day": 10, "leap": true}, "consents": marketing_yes()})).await;
    set_local(&app, sh, d(2027, 7, 12), 8, 0);
    assert_eq!(count(&run(&app, &s).await, "birthday"), 0);
    set_local(&app, sh, d(2027, 7, 13), 8, 0);
    let r = run(&app, &s).await;
    assert_eq!(count(&r, "birthday"), 1, "{r}");
    let b = &rows(&app, MessageKind::Birthday).await[0];
    assert_eq!(b.occurrence_key, format!("birthday:{c}:lunar-2027"));
    assert_eq!(local(b, sh).date(), d(2027, 7, 13));
}

#[tokio::test]
async fn holidays_are_greeted_by_the_dealers_list_and_only_with_a_yes() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let sh: Tz = "Asia/Shanghai".parse().unwrap();
    set_local(&app, sh, d(2027, 9, 1), 10, 0);
    let s = shop(&app, "HOLI", "Asia/Shanghai", 3, 3).await;
    // 张伟 also said yes to greetings in the app, and has signed in to it
    let yes = customer(
        &app,
        &s,
        json!({"name": "张伟", "phone": "13900000301", "consents": [
            {"channel": "sms", "purpose": "marketing", "granted": true, "source": "paper_form"},
            {"channel": "app", "purpose": "marketing", "granted": true, "source": "app"}]}),
    )
    .await;
    let en = customer(&app, &s, json!({"name": "Anna", "phone": "13900000302", "locale": "en", "consents": marketing_yes()})).await;
    customer(
        &app,
        &s,
        json!({"name": "不要营销", "phone": "13900000303"}),
    )
    .await;
    // the dealer greets at the Spring Festival and Mid-Autumn only
    let mut settings = app.get("/api/v1/care/settings", &s.manager).await.body;
    settings["kinds"]["holiday_greeting"]["holidays"] = json!(["spring_festival", "mid_autumn"]);
    let put = app
        .put("/api/v1/care/settings", &s.manager, &settings)
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    // the calendar shows 2027's dates (published: 中秋 2027-09-15, 国庆 10-01)
    let cal = app.get("/api/v1/care/calendar?year=2027", &s.advisor).await;
    assert_eq!(cal.status, StatusCode::OK, "{}", cal.body);
    let day = |h: &str| {
        cal.body["holidays"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["holiday"] == h)
            .unwrap()
            .clone()
    };
    assert_eq!(day("mid_autumn")["date"], "2027-09-15");
    assert_eq!(day("mid_autumn")["greeted"], true);
    assert_eq!(day("spring_festival")["date"], "2027-02-06");
    assert_eq!(day("national_day")["greeted"], false);
    assert_eq!(day("qingming")["date"], "2027-04-05");
    // Mid-Autumn: the two who said yes, each in their language
    set_local(&app, sh, d(2027, 9, 15), 7, 0);
    app.customer_token("HOLI", "13900000301").await;
    let r = run(&app, &s).await;
    assert_eq!(count(&r, "holiday_greeting"), 3, "{r}");
    let g = rows(&app, MessageKind::HolidayGreeting).await;
    // the kind's channels are app + sms: both for 张伟, sms for Anna (no app)
    let mut zhang: Vec<&str> = g
        .iter()
        .filter(|r| r.customer_id.unwrap().to_string() == yes)
        .map(|r| r.channel.as_str())
        .collect();
    zhang.sort();
    assert_eq!(zhang, ["app", "sms"]);
    let of = |c: &str| {
        g.iter()
            .find(|r| r.customer_id.unwrap().to_string() == c && r.channel.as_str() == "sms")
            .unwrap()
    };
    assert!(of(&yes).body.contains("中秋节"), "{}", of(&yes).body);
    assert!(
        of(&en).body.contains("Mid-Autumn Festival"),
        "{}",
        of(&en).body
    );
    assert_eq!(
        of(&yes).occurrence_key,
        format!("holiday_greeting:{yes}:mid_autumn:2027")
    );
    // National Day is not on the dealer's list
    set_local(&app, sh, d(2027, 10, 1), 7, 0);
    assert_eq!(count(&run(&app, &s).await, "holiday_greeting"), 0);
    let bad = app
        .get(
            "/api/v1/care/calendar?year=262142",
            &manager(&app, &s).await,
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.to_string().contains("year"));
}

#[tokio::test]
async fn the_follow_up_of_a_friday_delivery_lands_on_monday_with_a_working_survey_link() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let sh: Tz = "Asia/Shanghai".parse().unwrap();
    set_local(&app, sh, d(2027, 3, 1), 9, 0);
    let s = shop(&app, "FOLLOW", "Asia/Shanghai", 3, 3).await;
    // the workshop works Monday to Friday
    let hours: Vec<Value> = (1..=5)
        .map(|d| json!({"weekday": d, "open": "08:00", "close": "18:00"}))
        .collect();
    let cap = app.put("/api/v1/capacity", &s.manager, &json!({"slot_minutes": 60, "reception_per_slot": 3, "workshop_bays": 3, "opening_hours": hours})).await;
    assert_eq!(cap.status, StatusCode::OK, "{}", cap.body);
    let (_, v) = owner(&app, &s, 1).await;
    let o = crate::repair_orders::walk_in(&app, &s, &v).await;
    let order: Uuid = o["id"].as_str().unwrap().parse().unwrap();
    // delivered on Friday 2027-03-05 at 17:00 (the order's own day is the
    // repair-order issue's; here only its delivery matters)
    let friday = sh
        .with_ymd_and_hms(2027, 3, 5, 17, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    deliver(&app, order, friday).await;
    for (day, expected) in [(d(2027, 3, 6), 0), (d(2027, 3, 7), 0), (d(2027, 3, 8), 1)] {
        set_local(&app, sh, day, 6, 0);
        let r = run(&app, &s).await;
        assert_eq!(count(&r, "post_repair_followup"), expected, "{day}: {r}");
    }
    let f = &rows(&app, MessageKind::PostRepairFollowup).await[0];
    assert_eq!(f.occurrence_key, format!("post_repair_followup:{order}"));
    assert_eq!(local(f, sh).date(), d(2027, 3, 8));
    let url = f.params["survey_url"].as_str().unwrap().to_string();
    assert!(f.body.contains(&url), "{}", f.body);
    let token = url.rsplit("/s/").next().unwrap();
    let now = app.clock.now_utc();
    assert_eq!(
        servicelane::care::survey::verify(&app.state.tokens, token, now),
        Ok(order)
    );
    // it expires after the configured 14 days
    assert!(
        servicelane::care::survey::verify(&app.state.tokens, token, now + Duration::days(15))
            .is_err()
    );
    // Tuesday: planned already, nothing more
    set_local(&app, sh, d(2027, 3, 9), 6, 0);
    assert_eq!(count(&run(&app, &s).await, "post_repair_followup"), 0);
}

/// Marks the order delivered at `at` (the delivery itself is the repair orders' to test).
pub(crate) async fn deliver(app: &TestApp, order: Uuid, at: DateTime<Utc>) {
    use sea_orm::sea_query::Expr;
    use servicelane::entities::repair_order;
    let r = repair_order::Entity::update_many()
        .col_expr(repair_order::Column::State, Expr::value("delivered"))
        .col_expr(repair_order::Column::DeliveredAt, Expr::value(at))
        .filter(repair_order::Column::Id.eq(order))
        .exec(&app.state.db)
        .await
        .unwrap();
    assert_eq!(r.rows_affected, 1);
}

#[tokio::test]
async fn the_day_before_an_appointment_the_customer_is_reminded_on_the_booking_phone() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let sh: Tz = "Asia/Shanghai".parse().unwrap();
    set_local(&app, sh, d(2027, 5, 3), 9, 0);
    let s = shop(&app, "REMIND", "Asia/Shanghai", 3, 3).await;
    let (_, v) = owner(&app, &s, 7).await;
    let b = book(&app, &s, &v, &s.at(10, 0)).await;
    assert_eq!(b.status, StatusCode::CREATED, "{}", b.body);
    let appt = b.body["id"].as_str().unwrap().to_string();
    // two days before: nothing; the day before: one reminder, in the window
    set_local(&app, sh, s.date - Duration::days(2), 8, 0);
    assert_eq!(count(&run(&app, &s).await, "appointment_reminder"), 0);
    set_local(&app, sh, s.date - Duration::days(1), 8, 0);
    assert_eq!(count(&run(&app, &s).await, "appointment_reminder"), 1);
    let r = &rows(&app, MessageKind::AppointmentReminder).await[0];
    assert_eq!(r.occurrence_key, format!("appointment_reminder:{appt}"));
    assert_eq!(r.recipient, b.body["contact_phone"].as_str().unwrap());
    assert!(
        r.body.contains("10:00") && r.body.contains("小保养"),
        "{}",
        r.body
    );
    assert_eq!(local(r, sh).date(), s.date - Duration::days(1));
}

#[tokio::test]
async fn a_planner_down_for_two_days_catches_up_once_and_late() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let sh: Tz = "Asia/Shanghai".parse().unwrap();
    set_local(&app, sh, d(2027, 6, 1), 10, 0);
    let s = shop(&app, "DOWN", "Asia/Shanghai", 3, 3).await;
    let c = customer(&app, &s, json!({"name": "赵敏", "phone": "13900000401", "birthday": {"calendar": "solar", "month": 6, "day": 2}, "consents": marketing_yes()})).await;
    assert_eq!(run(&app, &s).await["days"], json!(["2027-06-01"]));
    // down from the evening of 1 June to the morning of the 4th: the
    // birthday of the 2nd still goes, once, late (due now)
    set_local(&app, sh, d(2027, 6, 4), 8, 30);
    let r = run(&app, &s).await;
    assert_eq!(
        r["days"],
        json!(["2027-06-02", "2027-06-03", "2027-06-04"]),
        "{r}"
    );
    assert_eq!(count(&r, "birthday"), 1);
    let b = &rows(&app, MessageKind::Birthday).await[0];
    assert_eq!(b.occurrence_key, format!("birthday:{c}:2027"));
    assert_eq!(b.due_at, app.clock.now_utc());
    assert_eq!(run(&app, &s).await["total"], 0);
}

#[tokio::test]
async fn a_send_time_in_a_clock_change_gap_moves_past_it_and_in_a_fold_takes_the_first() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let berlin: Tz = "Europe/Berlin".parse().unwrap();
    set_local(&app, berlin, d(2027, 3, 1), 10, 0);
    let s = shop(&app, "BERLIN", "Europe/Berlin", 3, 3).await;
    // a one-minute window at 02:30: on 28 March 2027 that minute does not
    // exist (02:00 → 03:00), on 31 October it happens twice
    let put = app.put("/api/v1/care/settings", &s.manager, &json!({"send_window_start": "02:30", "send_window_end": "02:31", "marketing_cap": 3, "marketing_cap_days": 7})).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    customer(&app, &s, json!({"name": "Jonas", "phone": "13900000501", "birthday": {"calendar": "solar", "month": 3, "day": 28}, "consents": marketing_yes()})).await;
    customer(&app, &s, json!({"name": "Lena", "phone": "13900000502", "birthday": {"calendar": "solar", "month": 10, "day": 31}, "consents": marketing_yes()})).await;
    set_local(&app, berlin, d(2027, 3, 28), 0, 10);
    run(&app, &s).await;
    let spring = &rows(&app, MessageKind::Birthday).await[0];
    // the first instant after the gap: 03:00 CEST = 01:00 UTC
    assert_eq!(
        spring.due_at,
        Utc.with_ymd_and_hms(2027, 3, 28, 1, 0, 0).unwrap()
    );
    set_local(&app, berlin, d(2027, 10, 31), 0, 10);
    run(&app, &s).await;
    let autumn = rows(&app, MessageKind::Birthday).await;
    let autumn = autumn
        .iter()
        .find(|r| r.occurrence_key != spring.occurrence_key)
        .unwrap();
    // the first 02:30, still summer time: 00:30 UTC
    assert_eq!(
        autumn.due_at,
        Utc.with_ymd_and_hms(2027, 10, 31, 0, 30, 0).unwrap()
    );
}

#[tokio::test]
async fn two_instances_planning_at_once_for_many_rounds_write_each_message_once() {
    let a = spawn_app_with(&[NO_DISPATCHER]).await;
    let b = spawn_app_with(&[
        NO_DISPATCHER,
        ("SERVICELANE__DATABASE__URL", a.database_url.as_str()),
    ])
    .await;
    let sh: Tz = "Asia/Shanghai".parse().unwrap();
    set_local(&a, sh, d(2027, 4, 1), 10, 0);
    let s = shop(&a, "TWIN", "Asia/Shanghai", 3, 3).await;
    let dealer = servicelane::entities::dealer::Entity::find()
        .filter(servicelane::entities::dealer::Column::Code.eq("TWIN"))
        .one(&a.state.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    // 30 customers with birthdays spread over 4–8 April, each with a vehicle
    // whose insurance expires 7 days after the birthday
    for n in 0..30u32 {
        let day = 4 + n % 5;
        let c = customer(&a, &s, json!({"name": format!("客户{n}"), "phone": format!("1390000{:04}", 600 + n), "birthday": {"calendar": "solar", "month": 4, "day": day}, "consents": marketing_yes()})).await;
        vehicle(
            &a,
            &s,
            &c,
            100 + n,
            json!({"compulsory_insurance_expiry": format!("2027-04-{:02}", day + 7)}),
        )
        .await;
    }
    let schedule = servicelane::care::planner::ticks::schedule("0 */5 * * * *").unwrap();
    let mut claimed = 0;
    let mut ticks = 0;
    // from 3 April 23:40 to noon on 8 April, both instances tick at
    // once, and a manager's run comes in between now and then
    let mut t = sh
        .with_ymd_and_hms(2027, 4, 3, 23, 40, 0)
        .unwrap()
        .with_timezone(&Utc);
    let end = sh
        .with_ymd_and_hms(2027, 4, 8, 12, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    let mut round = 0;
    while t < end {
        a.clock.set(t);
        b.clock.set(t);
        let (x, y) = tokio::join!(
            servicelane::care::planner::ticks::tick(&a.state, &schedule),
            servicelane::care::planner::ticks::tick(&b.state, &schedule),
        );
        claimed += x.unwrap() + y.unwrap();
        ticks += 1;
        if round % 97 == 0 {
            let (p, q) = tokio::join!(
                servicelane::care::planner::run(&a.state, dealer, true),
                servicelane::care::planner::run(&b.state, dealer, true),
            );
            p.unwrap();
            q.unwrap();
        }
        round += 1;
        // jump through the night: the ticks that matter are around midnight
        t += if round % 3 == 0 {
            Duration::minutes(5)
        } else {
            Duration::hours(2)
        };
    }
    // each tick was claimed by exactly one of the two
    assert_eq!(claimed, ticks, "every tick planned once");
    let all = all_rows(&a).await;
    let birthdays = all
        .iter()
        .filter(|r| r.kind == MessageKind::Birthday)
        .count();
    let insurance = all
        .iter()
        .filter(|r| r.kind == MessageKind::InsuranceRenewal)
        .count();
    // birthdays of 4–8 April: all 30; insurance reminders 7 days ahead fall
    // 4–8 April too (the 30-day ones fell before the test began: not sent late)
    assert_eq!(birthdays, 30);
    assert_eq!(insurance, 30);
    let mut keys: Vec<(String, String)> = all
        .iter()
        .map(|r| (r.occurrence_key.clone(), r.channel.to_string()))
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), all.len());
}

#[tokio::test]
async fn the_planner_in_the_background_plans_on_its_ticks() {
    let app = spawn_app_with(&[NO_DISPATCHER, PLANNER_ON[0], PLANNER_ON[1]]).await;
    let sh: Tz = "Asia/Shanghai".parse().unwrap();
    set_local(&app, sh, d(2027, 8, 1), 10, 0);
    let s = shop(&app, "BACK", "Asia/Shanghai", 3, 3).await;
    let c = customer(&app, &s, json!({"name": "后台", "phone": "13900000701", "birthday": {"calendar": "solar", "month": 8, "day": 2}, "consents": marketing_yes()})).await;
    set_local(&app, sh, d(2027, 8, 2), 0, 3);
    let mut found = vec![];
    for _ in 0..100 {
        found = rows(&app, MessageKind::Birthday).await;
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        found.len(),
        1,
        "the background planner planned the birthday"
    );
    assert_eq!(found[0].occurrence_key, format!("birthday:{c}:2027"));
    // the run counts its rows after they are committed: wait for the count too
    let mut metrics = String::new();
    for _ in 0..100 {
        metrics = app.text("/metrics").await;
        if metrics.contains("servicelane_care_planned_total{kind=\"birthday\"} 1") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        metrics.contains("servicelane_care_planned_total{kind=\"birthday\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("servicelane_care_last_tick_seconds{dealer=\"BACK\"}"));
}

#[tokio::test]
async fn the_settings_are_checked_and_a_paused_kind_is_not_planned() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let sh: Tz = "Asia/Shanghai".parse().unwrap();
    set_local(&app, sh, d(2027, 5, 1), 10, 0);
    let s = shop(&app, "SETS", "Asia/Shanghai", 3, 3).await;
    let (_, tech) = app.staff("SETS", Role::Technician).await;
    let settings = app.get("/api/v1/care/settings", &s.manager).await.body;
    assert_eq!(
        settings["kinds"]["insurance_renewal"]["days_before"],
        json!([30, 7])
    );
    assert_eq!(
        settings["kinds"]["annual_inspection"]["channels"],
        json!(["sms"])
    );
    // wrong shapes, each named
    let mut bad = settings.clone();
    bad["kinds"]["birthday"]["days_before"] = json!([3]);
    bad["kinds"]["first_service"]["months"] = json!(0);
    bad["kinds"]["maintenance_due"]["wording"] = json!({"zh-CN": "{{ vehicel }} 该保养了"});
    let r = app.put("/api/v1/care/settings", &s.manager, &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let text = r.body.to_string();
    for f in [
        "kinds.birthday.days_before",
        "kinds.first_service.months",
        "kinds.maintenance_due.wording.zh-CN",
    ] {
        assert!(text.contains(f), "{f}: {text}");
    }
    let mut nul = settings.clone();
    nul["kinds"]["birthday"]["wording"] = json!({"en": "happy\u{0}"});
    assert_eq!(
        app.put("/api/v1/care/settings", &s.manager, &nul)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // nothing half-written: the settings are as they were
    assert_eq!(
        app.get("/api/v1/care/settings", &s.manager).await.body,
        settings
    );
    // only managers change them
    assert_eq!(
        app.put("/api/v1/care/settings", &tech, &settings)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.put(
            "/api/v1/care/kinds/birthday",
            &tech,
            &json!({"enabled": false})
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post("/api/v1/care/runs", Some(&tech), &json!({}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.put(
            "/api/v1/care/kinds/horoscope",
            &s.manager,
            &json!({"enabled": false})
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    // the dealer's own wording is used
    let mut own = settings.clone();
    own["kinds"]["birthday"]["wording"] =
        json!({"zh-CN": "【{{ dealer_name }}】{{ customer_name }}生日快乐！送您免费洗车一次。"});
    let r = app.put("/api/v1/care/settings", &s.manager, &own).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    customer(&app, &s, json!({"name": "钱多", "phone": "13900000801", "birthday": {"calendar": "solar", "month": 5, "day": 3}, "consents": marketing_yes()})).await;
    customer(&app, &s, json!({"name": "孙悦", "phone": "13900000802", "birthday": {"calendar": "solar", "month": 5, "day": 4}, "consents": marketing_yes()})).await;
    set_local(&app, sh, d(2027, 5, 3), 8, 0);
    assert_eq!(count(&run(&app, &s).await, "birthday"), 1);
    assert!(
        rows(&app, MessageKind::Birthday).await[0]
            .body
            .contains("送您免费洗车一次")
    );
    // paused: the birthday of the 4th is not planned; resumed: it is
    let m = manager(&app, &s).await;
    let p = app
        .put(
            "/api/v1/care/kinds/birthday",
            &m,
            &json!({"enabled": false}),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert_eq!(p.body["enabled"], false);
    // pausing kept the dealer's wording
    assert!(
        p.body["wording"]["zh-CN"]
            .as_str()
            .unwrap()
            .contains("洗车")
    );
    set_local(&app, sh, d(2027, 5, 4), 8, 0);
    assert_eq!(count(&run(&app, &s).await, "birthday"), 0);
    let m = manager(&app, &s).await;
    let resumed = app
        .put("/api/v1/care/kinds/birthday", &m, &json!({"enabled": true}))
        .await;
    assert_eq!(resumed.status, StatusCode::OK, "{}", resumed.body);
    assert_eq!(count(&run(&app, &s).await, "birthday"), 1);
}

#[tokio::test]
async fn the_preview_prints_what_a_run_would_write_and_writes_nothing() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let sh: Tz = "Asia/Shanghai".parse().unwrap();
    set_local(&app, sh, d(2089, 12, 1), 10, 0);
    let s = shop(&app, "PREV", "Asia/Shanghai", 3, 3).await;
    let c = customer(&app, &s, json!({"name": "预览", "phone": "13900000901", "birthday": {"calendar": "solar", "month": 12, "day": 24}, "consents": marketing_yes()})).await;
    let v = vehicle(
        &app,
        &s,
        &c,
        900,
        json!({"commercial_insurance_expiry": "2090-01-23"}),
    )
    .await;
    // the preview runs on the real clock: a date far ahead of it
    let (ok, out) =
        crate::cli::servicelane(&app, "care preview --dealer PREV --date 2089-12-24", "");
    assert!(ok, "{out}");
    let lines: Vec<Value> = out
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{out}");
    let kinds: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert!(
        kinds.contains(&"birthday") && kinds.contains(&"insurance_renewal"),
        "{kinds:?}"
    );
    let ins = lines
        .iter()
        .find(|l| l["kind"] == "insurance_renewal")
        .unwrap();
    assert_eq!(ins["vehicle_id"], v.as_str());
    assert_eq!(ins["customer_id"], c.as_str());
    assert_eq!(ins["channels"], json!(["sms"]));
    assert_eq!(
        ins["occurrence_key"],
        format!("insurance_renewal:{v}:commercial:2090-01-23:30d")
    );
    let at: DateTime<Utc> = ins["send_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(at.with_timezone(&sh).date_naive(), d(2089, 12, 24));
    assert!(all_rows(&app).await.is_empty(), "a preview writes nothing");
    // a bad date or dealer is a clear error
    let (ok, out) =
        crate::cli::servicelane(&app, "care preview --dealer NOPE --date 2089-12-24", "");
    assert!(!ok && out.contains("NOPE"), "{out}");
}

#[tokio::test]
async fn managers_running_the_planner_at_once_share_runs_and_write_each_message_once() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let sh: Tz = "Asia/Shanghai".parse().unwrap();
    set_local(&app, sh, d(2027, 2, 1), 10, 0);
    let s = shop(&app, "RUSH", "Asia/Shanghai", 3, 3).await;
    for n in 0..12u32 {
        customer(
            &app,
            &s,
            json!({"name": format!("客户{n}"), "phone": format!("1390000{:04}", 1100 + n),
                   "birthday": {"calendar": "solar", "month": 2, "day": 3}, "consents": marketing_yes()}),
        )
        .await;
    }
    set_local(&app, sh, d(2027, 2, 3), 7, 0);
    let token = manager(&app, &s).await;
    let empty = json!({});
    let answers = futures_util::future::join_all(
        (0..8).map(|_| app.post("/api/v1/care/runs", Some(&token), &empty)),
    )
    .await;
    // every caller is answered by a run that started after it asked: the
    // one that wrote the 12 messages, or the one after it that found them
    // written (shared by everyone who waited), never a third
    for a in &answers {
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert_eq!(a.body["days"], json!(["2027-02-03"]));
        let total = a.body["total"].as_u64().unwrap();
        assert!(total == 12 || total == 0, "{}", a.body);
    }
    assert!(answers.iter().any(|a| a.body["total"] == 12));
    assert_eq!(rows(&app, MessageKind::Birthday).await.len(), 12);
}

#[tokio::test]
async fn a_car_imported_overdue_is_reminded_once_and_one_reminded_in_time_is_not_again() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let sh: Tz = "Asia/Shanghai".parse().unwrap();
    // in the archive since January, due 20 February: its reminders were due
    // on 6 and 17 February (the planner's days), so no late one on 15 March
    set_local(&app, sh, d(2027, 1, 4), 10, 0);
    let s = shop(&app, "LATE", "Asia/Shanghai", 3, 3).await;
    let (c, _) = owner(&app, &s, 31).await;
    let known = vehicle(
        &app,
        &s,
        &c,
        31,
        json!({"last_service_date": "2026-02-20", "last_service_km": 30000}),
    )
    .await;
    // imported on 15 March, due 1 March: one late reminder, once
    set_local(&app, sh, d(2027, 3, 15), 8, 0);
    let s = Shop {
        advisor: app.login_as("LATE", "service_advisor").await["access_token"]
            .as_str()
            .unwrap()
            .to_string(),
        ..s
    };
    let imported = vehicle(
        &app,
        &s,
        &c,
        32,
        json!({"last_service_date": "2026-03-01", "last_service_km": 10000}),
    )
    .await;
    let r = run(&app, &s).await;
    assert_eq!(count(&r, "maintenance_due"), 1, "{r}");
    let m = &rows(&app, MessageKind::MaintenanceDue).await[0];
    assert_eq!(
        m.occurrence_key,
        format!("maintenance_due:{imported}:2026-03-01:overdue")
    );
    assert!(!m.occurrence_key.contains(&known));
    set_local(&app, sh, d(2027, 3, 16), 8, 0);
    assert_eq!(count(&run(&app, &s).await, "maintenance_due"), 0);
}
