use chrono::{Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use reqwest::StatusCode;
use serde_json::{Value, json};
use servicelane::domain::Role;

use crate::helpers::*;

/// A dealer with a known schedule, a menu, an advisor and a manager.
pub(crate) struct Shop {
    pub(crate) code: String,
    pub(crate) tz: Tz,
    pub(crate) manager: String,
    pub(crate) advisor: String,
    /// A future weekday, far enough ahead to be bookable.
    pub(crate) date: NaiveDate,
}

impl Shop {
    /// `HH:MM` on the shop's date, as the API writes it.
    pub(crate) fn at(&self, hh: u32, mm: u32) -> String {
        self.at_on(self.date, hh, mm)
    }

    pub(crate) fn at_on(&self, date: NaiveDate, hh: u32, mm: u32) -> String {
        self.tz
            .from_local_datetime(&date.and_hms_opt(hh, mm, 0).unwrap())
            .unwrap()
            .fixed_offset()
            .to_rfc3339()
    }
}

pub(crate) async fn shop(app: &TestApp, code: &str, tz: &str, reception: u32, bays: u32) -> Shop {
    app.dealer_in(code, tz).await;
    let (_, manager) = app.staff(code, Role::ServiceManager).await;
    let (_, advisor) = app.staff(code, Role::ServiceAdvisor).await;
    let hours: Vec<Value> = (1..=7)
        .map(|d| json!({"weekday": d, "open": "08:00", "close": "12:00"}))
        .collect();
    let s = app
        .put("/api/v1/capacity", &manager, &json!({"slot_minutes": 60, "reception_per_slot": reception, "workshop_bays": bays, "opening_hours": hours}))
        .await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.body);
    let oil = app
        .put(
            "/api/v1/menu/MAINT-10K",
            &manager,
            &json!({"name_zh": "小保养", "name_en": "Minor service", "labour_hours": "1", "price_estimate": "480.00",
                    "interval_km": 10000, "interval_months": 12,
                    "parts": [{"part_number": "OF-1", "name": "机油滤清器", "quantity": "1"}, {"part_number": "OIL-5W30", "name": "机油", "quantity": "4.5"}]}),
        )
        .await;
    assert_eq!(oil.status, StatusCode::OK, "{}", oil.body);
    let brakes = app
        .put(
            "/api/v1/menu/BRAKE",
            &manager,
            &json!({"name_zh": "更换刹车片", "name_en": "Brake pads", "labour_hours": "2.5", "price_estimate": "1200", "parts": []}),
        )
        .await;
    assert_eq!(brakes.status, StatusCode::OK, "{}", brakes.body);
    let tz: Tz = tz.parse().unwrap();
    let date = app.clock.now_utc().with_timezone(&tz).date_naive() + Duration::days(3);
    Shop {
        code: code.into(),
        tz,
        manager,
        advisor,
        date,
    }
}

/// A customer with one vehicle; (customer id, vehicle id).
pub(crate) async fn owner(app: &TestApp, s: &Shop, n: u32) -> (String, String) {
    let c = app
        .create_customer(&s.advisor, &format!("客户{n}"), &format!("1390000{:04}", n))
        .await;
    let v = app
        .create_vehicle(
            &s.advisor,
            c["id"].as_str().unwrap(),
            &vin(1000 + n),
            &format!("京A{:05}", 10000 + n),
        )
        .await;
    (
        c["id"].as_str().unwrap().to_string(),
        v["id"].as_str().unwrap().to_string(),
    )
}

pub(crate) async fn book(app: &TestApp, s: &Shop, vehicle: &str, at: &str) -> Answer {
    app.post(
        "/api/v1/appointments",
        Some(&s.advisor),
        &json!({"vehicle_id": vehicle, "slot_start": at, "services": ["MAINT-10K"]}),
    )
    .await
}

pub(crate) async fn slot(app: &TestApp, s: &Shop, at: &str) -> Value {
    let date = &at[..10];
    let day = app
        .get(
            &format!("/api/v1/appointment-slots?date={date}"),
            &s.advisor,
        )
        .await;
    day.body
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["start"] == at)
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn fifty_concurrent_bookings_for_a_slot_with_room_for_three_book_exactly_three() {
    let app = spawn_app().await;
    let s = shop(&app, "STAR", "Asia/Shanghai", 3, 10).await;
    let mut vehicles = Vec::new();
    for n in 0..50 {
        vehicles.push(owner(&app, &s, n).await.1);
    }
    let at = s.at(9, 0);
    let answers =
        futures_util::future::join_all(vehicles.iter().map(|v| book(&app, &s, v, &at))).await;
    let created = answers
        .iter()
        .filter(|a| a.status == StatusCode::CREATED)
        .count();
    let full: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.status == StatusCode::CONFLICT)
        .collect();
    assert_eq!(
        created,
        3,
        "{:?}",
        answers
            .iter()
            .map(|a| (a.status, a.body.clone()))
            .collect::<Vec<_>>()
    );
    assert_eq!(full.len(), 47);
    let next = full[0].body["next_free_slots"].as_array().unwrap();
    assert!(!next.is_empty());
    assert_ne!(next[0]["start"], at);
    assert_eq!(next[0]["available"], true);

    let left = slot(&app, &s, &at).await;
    assert_eq!(left["remaining_reception"], 0);
    assert_eq!(left["available"], false);
    let register = app
        .get(&format!("/api/v1/appointments?date={}", s.date), &s.advisor)
        .await;
    assert_eq!(register.body.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_long_job_takes_workshop_hours_from_the_following_slots() {
    let app = spawn_app().await;
    let s = shop(&app, "STAR", "Asia/Shanghai", 5, 1).await;
    let (_, v1) = owner(&app, &s, 1).await;
    let (_, v2) = owner(&app, &s, 2).await;
    // brake job: 2.5 h holds the only bay 09:00–12:00
    let long = app
        .post(
            "/api/v1/appointments",
            Some(&s.advisor),
            &json!({"vehicle_id": v1, "slot_start": s.at(9, 0), "services": ["BRAKE"]}),
        )
        .await;
    assert_eq!(long.status, StatusCode::CREATED, "{}", long.body);
    assert_eq!(long.body["expected_hours"], "2.5");
    assert_eq!(
        slot(&app, &s, &s.at(10, 0)).await["remaining_workshop_hours"],
        "0"
    );
    assert_eq!(slot(&app, &s, &s.at(8, 0)).await["available"], true);
    assert_eq!(
        book(&app, &s, &v2, &s.at(10, 0)).await.status,
        StatusCode::CONFLICT
    );
    // a 2-hour job cannot start at 08:00 either: it would need the 09:00 bay
    let day = app
        .get(
            &format!("/api/v1/appointment-slots?date={}&duration_hours=2", s.date),
            &s.advisor,
        )
        .await;
    assert!(
        day.body
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["available"] == false),
        "{}",
        day.body
    );
}

#[tokio::test]
async fn rescheduling_into_a_full_slot_leaves_the_booking_intact() {
    let app = spawn_app().await;
    let s = shop(&app, "STAR", "Asia/Shanghai", 1, 5).await;
    let (_, v1) = owner(&app, &s, 1).await;
    let (_, v2) = owner(&app, &s, 2).await;
    let a = book(&app, &s, &v1, &s.at(9, 0)).await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(
        book(&app, &s, &v2, &s.at(10, 0)).await.status,
        StatusCode::CREATED
    );
    let id = a.body["id"].as_str().unwrap();

    let into_full = app
        .post(
            &format!("/api/v1/appointments/{id}/reschedule"),
            Some(&s.advisor),
            &json!({"slot_start": s.at(10, 0)}),
        )
        .await;
    assert_eq!(into_full.status, StatusCode::CONFLICT);
    assert!(
        into_full.body["next_free_slots"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["start"] == s.at(11, 0))
    );
    let still = app
        .get(&format!("/api/v1/appointments/{id}"), &s.advisor)
        .await;
    assert_eq!(still.body["state"], "booked");
    assert_eq!(still.body["slot_start"], s.at(9, 0));
    assert_eq!(slot(&app, &s, &s.at(9, 0)).await["remaining_reception"], 0);

    let moved = app
        .post(
            &format!("/api/v1/appointments/{id}/reschedule"),
            Some(&s.advisor),
            &json!({"slot_start": s.at(11, 0), "reason": "客户要求"}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(moved.body["slot_start"], s.at(11, 0));
    assert_eq!(moved.body["rescheduled_from"], id);
    let old = app
        .get(&format!("/api/v1/appointments/{id}"), &s.advisor)
        .await;
    assert_eq!(old.body["state"], "rescheduled");
    assert_eq!(old.body["rescheduled_to"], moved.body["id"]);
    assert_eq!(slot(&app, &s, &s.at(9, 0)).await["remaining_reception"], 1);
    assert_eq!(slot(&app, &s, &s.at(11, 0)).await["remaining_reception"], 0);
    let history = app
        .get(&format!("/api/v1/appointments/{id}/history"), &s.advisor)
        .await;
    let states: Vec<&str> = history
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to_state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["booked", "rescheduled"]);
    assert_eq!(history.body[1]["reason"], "客户要求");
}

#[tokio::test]
async fn a_retried_booking_with_the_same_key_replays_the_first_answer() {
    let app = spawn_app().await;
    let s = shop(&app, "STAR", "Asia/Shanghai", 3, 5).await;
    let (_, v1) = owner(&app, &s, 1).await;
    let body = json!({"vehicle_id": v1, "slot_start": s.at(9, 0), "services": ["MAINT-10K"], "concern": "异响"});
    let send = |b: Value| {
        app.send(
            app.http
                .post(app.url("/api/v1/appointments"))
                .bearer_auth(&s.advisor)
                .header("idempotency-key", "tablet-7-0001")
                .json(&b),
        )
    };
    let first = send(body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let again = send(body.clone()).await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.body, first.body);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(slot(&app, &s, &s.at(9, 0)).await["remaining_reception"], 2);

    let mut other = body.clone();
    other["concern"] = json!("别的问题");
    let changed = send(other).await;
    assert_eq!(changed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(changed.problem_fields(), ["Idempotency-Key"]);
    let register = app
        .get(&format!("/api/v1/appointments?date={}", s.date), &s.advisor)
        .await;
    assert_eq!(register.body.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn slots_and_bookings_keep_local_time_across_the_dst_change() {
    let app = spawn_app().await;
    app.clock
        .set(Utc.with_ymd_and_hms(2027, 3, 20, 0, 0, 0).unwrap());
    let berlin = shop(&app, "BERLIN", "Europe/Berlin", 2, 2).await;
    let shanghai = shop(&app, "STAR", "Asia/Shanghai", 2, 2).await;
    let first = |a: &Answer| a.body[0]["start"].as_str().unwrap().to_string();
    let before = app
        .get("/api/v1/appointment-slots?date=2027-03-27", &berlin.advisor)
        .await;
    let after = app
        .get("/api/v1/appointment-slots?date=2027-03-29", &berlin.advisor)
        .await;
    assert_eq!(first(&before), "2027-03-27T08:00:00+01:00");
    assert_eq!(first(&after), "2027-03-29T08:00:00+02:00");
    assert_eq!(after.body.as_array().unwrap().len(), 4);
    assert_eq!(after.body[0]["end"], "2027-03-29T09:00:00+02:00");
    let sh = app
        .get(
            "/api/v1/appointment-slots?date=2027-03-29",
            &shanghai.advisor,
        )
        .await;
    assert_eq!(first(&sh), "2027-03-29T08:00:00+08:00");

    let (_, v) = owner(&app, &berlin, 1).await;
    // 07:00+01:00 is 08:00 summer time: the same instant as the first slot
    let same_instant = book(&app, &berlin, &v, "2027-03-29T07:00:00+01:00").await;
    assert_eq!(
        same_instant.status,
        StatusCode::CREATED,
        "{}",
        same_instant.body
    );
    assert_eq!(same_instant.body["slot_start"], "2027-03-29T08:00:00+02:00");
    let (_, v2) = owner(&app, &berlin, 2).await;
    let early = book(&app, &berlin, &v2, "2027-03-29T07:00:00+02:00").await;
    assert_eq!(early.problem_fields(), ["slot_start"]);
    assert!(
        early.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("opening hours")
    );
}

#[tokio::test]
async fn the_ics_file_parses_with_the_dealers_zone() {
    let app = spawn_app().await;
    let s = shop(&app, "STAR", "Europe/Berlin", 2, 2).await;
    let (_, v) = owner(&app, &s, 1).await;
    let a = book(&app, &s, &v, &s.at(10, 0)).await;
    let id = a.body["id"].as_str().unwrap();
    let res = app
        .http
        .get(app.url(&format!("/api/v1/appointments/{id}.ics")))
        .bearer_auth(&s.advisor)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    let text = res.text().await.unwrap();
    assert!(
        text.split("\r\n").all(|l| l.len() <= 75),
        "unfolded line in {text}"
    );
    let cal: icalendar::Calendar = text.parse().unwrap();
    let event = cal
        .components
        .iter()
        .find_map(|c| match c {
            icalendar::CalendarComponent::Event(e) => Some(e.clone()),
            _ => None,
        })
        .expect("a VEVENT");
    use icalendar::Component;
    match event.get_start() {
        Some(icalendar::DatePerhapsTime::DateTime(icalendar::CalendarDateTime::WithTimezone {
            date_time,
            tzid,
        })) => {
            assert_eq!(tzid, "Europe/Berlin");
            assert_eq!(date_time, s.date.and_hms_opt(10, 0, 0).unwrap());
        }
        other => panic!("DTSTART without zone: {other:?}"),
    }
    assert!(event.get_summary().unwrap().contains("小保养"));
    assert!(text.contains("BEGIN:VTIMEZONE") && text.contains("TZID:Europe/Berlin"));
}

#[tokio::test]
async fn bad_slots_and_inputs_are_422_naming_the_field_and_write_nothing() {
    let app = spawn_app().await;
    let s = shop(&app, "STAR", "Asia/Shanghai", 3, 3).await;
    let (_, v) = owner(&app, &s, 1).await;
    let (other_customer, other_vehicle) = owner(&app, &s, 2).await;
    let closed_day = s.date + Duration::days(1);
    let c = app
        .put(
            "/api/v1/closed-dates",
            &s.manager,
            &json!({"date": closed_day, "reason": "国庆节"}),
        )
        .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    let past = s.at_on(
        app.clock.now_utc().with_timezone(&s.tz).date_naive() - Duration::days(1),
        9,
        0,
    );
    let cases = [
        (
            json!({"vehicle_id": v, "slot_start": past, "services": ["MAINT-10K"]}),
            "slot_start",
            "past",
        ),
        (
            json!({"vehicle_id": v, "slot_start": s.at(13, 0), "services": ["MAINT-10K"]}),
            "slot_start",
            "opening hours",
        ),
        (
            json!({"vehicle_id": v, "slot_start": s.at(9, 30), "services": ["MAINT-10K"]}),
            "slot_start",
            "grid",
        ),
        (
            json!({"vehicle_id": v, "slot_start": s.at_on(closed_day, 9, 0), "services": ["MAINT-10K"]}),
            "slot_start",
            "closed",
        ),
        (
            json!({"vehicle_id": v, "slot_start": s.at(9, 0), "services": ["NOPE"]}),
            "services[0]",
            "menu",
        ),
        (
            json!({"vehicle_id": v, "slot_start": s.at(9, 0), "services": []}),
            "services",
            "concern",
        ),
        (
            json!({"vehicle_id": v, "slot_start": s.at(9, 0), "services": ["MAINT-10K"], "customer_id": other_customer}),
            "vehicle_id",
            "another customer",
        ),
        (
            json!({"vehicle_id": v, "slot_start": "tomorrow at nine", "services": ["MAINT-10K"]}),
            "slot_start",
            "",
        ),
        (
            json!({"vehicle_id": v, "slot_start": s.at(9, 0), "services": ["MAINT-10K"], "advisor_id": other_vehicle}),
            "advisor_id",
            "advisor",
        ),
    ];
    for (body, field, words) in cases {
        let a = app
            .post("/api/v1/appointments", Some(&s.advisor), &body)
            .await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            a.body
        );
        assert_eq!(a.problem_fields(), [field], "{body}: {}", a.body);
        assert!(
            a.body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(words),
            "{body}: {}",
            a.body
        );
    }
    // a customer booking someone else's car
    let token = app.customer_token(&s.code, "13900000001").await;
    let theirs = app.post("/api/v1/appointments", Some(&token), &json!({"vehicle_id": other_vehicle, "slot_start": s.at(9, 0), "services": ["MAINT-10K"]})).await;
    assert_eq!(theirs.problem_fields(), ["vehicle_id"]);
    let register = app
        .get(
            &format!("/api/v1/appointments?from={}&to={}", s.date, closed_day),
            &s.advisor,
        )
        .await;
    assert_eq!(register.body, json!([]));
    assert_eq!(slot(&app, &s, &s.at(9, 0)).await["remaining_reception"], 3);
}

#[tokio::test]
async fn a_customer_books_confirms_and_is_told_and_staff_check_in() {
    let app = spawn_app().await;
    let s = shop(&app, "STAR", "Asia/Shanghai", 3, 3).await;
    let (_, v) = owner(&app, &s, 1).await;
    let token = app.customer_token(&s.code, "13900000001").await;
    let menu = app.get("/api/v1/menu", &token).await;
    assert_eq!(menu.body.as_array().unwrap().len(), 2);
    let a = app
        .post("/api/v1/appointments", Some(&token), &json!({"vehicle_id": v, "slot_start": s.at(9, 0), "services": ["MAINT-10K"], "concern": "刹车有异响"}))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.body["source"], "app");
    assert_eq!(a.body["price_estimate"], "480.00");
    assert_eq!(a.body["contact_phone"], "+8613900000001");
    let id = a.body["id"].as_str().unwrap();

    // the booking message arrives by SMS and in the app inbox
    let mut booked_sms = None;
    for _ in 0..100 {
        booked_sms = app
            .sms
            .messages_to("+8613900000001")
            .into_iter()
            .find(|m| m.0["template"] == "appointment_booked");
        if booked_sms.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let sms = booked_sms.expect("no booking SMS").0;
    assert!(sms["text"].as_str().unwrap().contains("京A10001"), "{sms}");
    let inbox = app.get("/api/v1/inbox", &token).await;
    assert_eq!(inbox.body[0]["kind"], "appointment_booked");
    assert_eq!(inbox.body[0]["subject_id"], id);

    let confirmed = app
        .post(
            &format!("/api/v1/appointments/{id}/confirm"),
            Some(&token),
            &json!({}),
        )
        .await;
    assert_eq!(confirmed.body["state"], "confirmed");
    let self_check_in = app
        .post(
            &format!("/api/v1/appointments/{id}/check-in"),
            Some(&token),
            &json!({}),
        )
        .await;
    assert_eq!(self_check_in.status, StatusCode::FORBIDDEN);
    let early_no_show = app
        .post(
            &format!("/api/v1/appointments/{id}/no-show"),
            Some(&s.advisor),
            &json!({}),
        )
        .await;
    assert_eq!(early_no_show.status, StatusCode::CONFLICT);
    let teleport = app
        .post(
            &format!("/api/v1/appointments/{id}/teleport"),
            Some(&s.advisor),
            &json!({}),
        )
        .await;
    assert_eq!(teleport.status, StatusCode::NOT_FOUND);
    let arrived = app
        .post(
            &format!("/api/v1/appointments/{id}/check-in"),
            Some(&s.advisor),
            &json!({}),
        )
        .await;
    assert_eq!(arrived.body["state"], "checked_in");
    let late_cancel = app
        .post(
            &format!("/api/v1/appointments/{id}/cancel"),
            Some(&token),
            &json!({}),
        )
        .await;
    assert_eq!(late_cancel.status, StatusCode::CONFLICT);

    let history = app
        .get(&format!("/api/v1/appointments/{id}/history"), &s.advisor)
        .await;
    let trail: Vec<(Value, Value)> = history
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["from_state"].clone(), e["to_state"].clone()))
        .collect();
    assert_eq!(
        trail,
        [
            (Value::Null, json!("booked")),
            (json!("booked"), json!("confirmed")),
            (json!("confirmed"), json!("checked_in"))
        ]
    );
    let inbox = app.get("/api/v1/inbox", &token).await;
    assert_eq!(inbox.body[0]["kind"], "appointment_confirmed");

    // a second open booking of the same car is refused; other customers see nothing of it
    let (_, v2) = owner(&app, &s, 2).await;
    let other = app.customer_token(&s.code, "13900000002").await;
    assert_eq!(
        app.get(&format!("/api/v1/appointments/{id}"), &other)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let mine = app
        .get(&format!("/api/v1/appointments?date={}", s.date), &other)
        .await;
    assert_eq!(mine.body, json!([]));
    let b = app
        .post(
            "/api/v1/appointments",
            Some(&other),
            &json!({"vehicle_id": v2, "slot_start": s.at(10, 0), "services": ["MAINT-10K"]}),
        )
        .await;
    assert_eq!(b.status, StatusCode::CREATED);
    let twice = app
        .post(
            "/api/v1/appointments",
            Some(&other),
            &json!({"vehicle_id": v2, "slot_start": s.at(11, 0), "services": ["MAINT-10K"]}),
        )
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    // cancelling gives the slot back
    let bid = b.body["id"].as_str().unwrap();
    assert_eq!(slot(&app, &s, &s.at(10, 0)).await["remaining_reception"], 2);
    let cancelled = app
        .post(
            &format!("/api/v1/appointments/{bid}/cancel"),
            Some(&other),
            &json!({"reason": "出差"}),
        )
        .await;
    assert_eq!(cancelled.body["state"], "cancelled");
    assert_eq!(slot(&app, &s, &s.at(10, 0)).await["remaining_reception"], 3);
}

#[tokio::test]
async fn the_invitation_list_finds_cars_due_by_time_mileage_and_first_service() {
    let app = spawn_app().await;
    let s = shop(&app, "STAR", "Asia/Shanghai", 3, 3).await;
    let first = app
        .put("/api/v1/menu/FIRST", &s.manager, &json!({"name_zh": "首保", "name_en": "First service", "labour_hours": "1", "price_estimate": "0", "interval_months": 6, "interval_km": 5000, "first_service": true}))
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let today = app.clock.now_utc().with_timezone(&s.tz).date_naive();
    let add = |n: u32, extra: Value| {
        let app = &app;
        let s = &s;
        async move {
            let c = app
                .create_customer(&s.advisor, &format!("客户{n}"), &format!("1390000{:04}", n))
                .await;
            let mut body = json!({"customer_id": c["id"], "vin": vin(2000 + n), "plate": format!("京B{:05}", 10000 + n), "make": "大众", "model": "朗逸"});
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            let v = app.post("/api/v1/vehicles", Some(&s.advisor), &body).await;
            assert_eq!(v.status, StatusCode::CREATED, "{}", v.body);
            v.body["id"].as_str().unwrap().to_string()
        }
    };
    let by_time = add(
        1,
        json!({"last_service_date": today - Duration::days(350), "last_service_km": 20000}),
    )
    .await;
    let heavy = add(
        2,
        json!({"last_service_date": today - Duration::days(60), "last_service_km": 20000}),
    )
    .await;
    app.post(
        &format!("/api/v1/vehicles/{heavy}/mileage"),
        Some(&s.advisor),
        &json!({"mileage_km": 29000, "read_on": today - Duration::days(1), "source": "customer"}),
    )
    .await;
    let fresh = add(
        3,
        json!({"last_service_date": today - Duration::days(10), "last_service_km": 20000}),
    )
    .await;
    let new_car = add(4, json!({"purchase_date": today - Duration::days(170)})).await;
    let booked = add(
        5,
        json!({"last_service_date": today - Duration::days(350), "last_service_km": 20000}),
    )
    .await;
    assert_eq!(
        book(&app, &s, &booked, &s.at(9, 0)).await.status,
        StatusCode::CREATED
    );

    let to = today + Duration::days(30);
    let list = app
        .get(
            &format!("/api/v1/appointments/invitations?from={today}&to={to}"),
            &s.advisor,
        )
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let found: Vec<(String, String, String)> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["vehicle"]["id"].as_str().unwrap().to_string(),
                i["suggested"][0]["code"].as_str().unwrap().to_string(),
                i["suggested"][0]["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        found.contains(&(by_time.clone(), "MAINT-10K".into(), "due_by_time".into())),
        "{found:?}"
    );
    assert!(
        found.contains(&(heavy.clone(), "MAINT-10K".into(), "due_by_mileage".into())),
        "{found:?}"
    );
    assert!(
        found.contains(&(new_car.clone(), "FIRST".into(), "first_service".into())),
        "{found:?}"
    );
    assert!(
        !found.iter().any(|f| f.0 == fresh || f.0 == booked),
        "{found:?}"
    );
    let heavy_row = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["vehicle"]["id"] == heavy.as_str())
        .unwrap();
    assert_eq!(heavy_row["daily_km"], 153);
    assert!(
        heavy_row["customer"]["name"]
            .as_str()
            .unwrap()
            .starts_with("客户")
    );
}

#[tokio::test]
async fn the_preparation_list_sums_parts_and_warns() {
    let app = spawn_app().await;
    let s = shop(&app, "STAR", "Asia/Shanghai", 1, 4).await;
    let mut ids = Vec::new();
    for (n, hh) in [(1, 8), (2, 9), (3, 10)] {
        let (_, v) = owner(&app, &s, n).await;
        let a = book(&app, &s, &v, &s.at(hh, 0)).await;
        assert_eq!(a.status, StatusCode::CREATED);
        ids.push(a.body["id"].as_str().unwrap().to_string());
    }
    let (_, v4) = owner(&app, &s, 4).await;
    let concern_only = app
        .post(
            "/api/v1/appointments",
            Some(&s.advisor),
            &json!({"vehicle_id": v4, "slot_start": s.at(11, 0), "concern": "空调不制冷"}),
        )
        .await;
    assert_eq!(
        concern_only.status,
        StatusCode::CREATED,
        "{}",
        concern_only.body
    );

    let (_, parts_desk) = app.staff(&s.code, Role::Parts).await;
    let p = app
        .get(
            &format!("/api/v1/appointments/preparation?date={}", s.date),
            &parts_desk,
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert_eq!(p.body["appointments"].as_array().unwrap().len(), 4);
    assert_eq!(
        p.body["parts"],
        json!([
            {"part_number": "OF-1", "name": "机油滤清器", "quantity": "3"},
            {"part_number": "OIL-5W30", "name": "机油", "quantity": "13.5"}
        ])
    );
    assert_eq!(p.body["expected_workshop_hours"], "4");
    assert_eq!(p.body["capacity_used"], 1.0);
    let kinds: Vec<&str> = p.body["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds[0], "capacity");
    let missing: Vec<&Value> = p.body["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["kind"] == "parts_missing")
        .collect();
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0]["appointment_id"], concern_only.body["id"]);
    let (_, keeper) = app.staff(&s.code, Role::ToolKeeper).await;
    assert_eq!(
        app.get(
            &format!("/api/v1/appointments/preparation?date={}", s.date),
            &keeper
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn capacity_and_menu_are_set_by_managers_and_checked() {
    let app = spawn_app().await;
    let s = shop(&app, "STAR", "Asia/Shanghai", 3, 3).await;
    let hours = json!([{"weekday": 1, "open": "08:00", "close": "12:00"}]);
    let by_advisor = app
        .put("/api/v1/capacity", &s.advisor, &json!({"slot_minutes": 30, "reception_per_slot": 3, "workshop_bays": 3, "opening_hours": hours}))
        .await;
    assert_eq!(by_advisor.status, StatusCode::FORBIDDEN);
    let bad = app
        .put(
            "/api/v1/capacity",
            &s.manager,
            &json!({"slot_minutes": 5, "reception_per_slot": 0, "workshop_bays": 3,
                    "opening_hours": [{"weekday": 8, "open": "12:00", "close": "08:00"}]}),
        )
        .await;
    assert_eq!(
        bad.problem_fields(),
        [
            "slot_minutes",
            "reception_per_slot",
            "opening_hours[0].weekday",
            "opening_hours[0].close"
        ]
    );
    let bad_time = app
        .put("/api/v1/capacity", &s.manager, &json!({"slot_minutes": 30, "reception_per_slot": 3, "workshop_bays": 3, "opening_hours": [{"weekday": 1, "open": "8am", "close": "12:00"}]}))
        .await;
    assert_eq!(bad_time.problem_fields(), ["opening_hours[0].open"]);
    let current = app.get("/api/v1/capacity", &s.advisor).await;
    assert_eq!(current.body["slot_minutes"], 60);
    let stale = app
        .send(app.http.put(app.url("/api/v1/capacity")).bearer_auth(&s.manager).header("if-match", "\"0\"").json(&json!({"slot_minutes": 30, "reception_per_slot": 3, "workshop_bays": 3, "opening_hours": hours})))
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);

    let menu = app
        .put("/api/v1/menu/保养", &s.manager, &json!({"name_zh": "", "name_en": "x", "labour_hours": "0", "price_estimate": "1.234", "parts": [{"part_number": "P", "name": "p", "quantity": "0"}]}))
        .await;
    assert_eq!(
        menu.problem_fields(),
        [
            "code",
            "name_zh",
            "labour_hours",
            "price_estimate",
            "parts[0].quantity"
        ]
    );
    let by_advisor = app
        .put(
            "/api/v1/menu/X1",
            &s.advisor,
            &json!({"name_zh": "x", "name_en": "x", "labour_hours": "1", "price_estimate": "1"}),
        )
        .await;
    assert_eq!(by_advisor.status, StatusCode::FORBIDDEN);
    let slots = app
        .get(
            &format!(
                "/api/v1/appointment-slots?date={}&duration_hours=-1",
                s.date
            ),
            &s.advisor,
        )
        .await;
    assert_eq!(slots.problem_fields(), ["duration_hours"]);
    let range = app
        .get(
            &format!(
                "/api/v1/appointments?from={}&to={}",
                s.date,
                s.date - Duration::days(1)
            ),
            &s.advisor,
        )
        .await;
    assert_eq!(range.problem_fields(), ["to"]);
}

#[tokio::test]
async fn one_car_booked_from_several_tablets_at_once_gets_one_booking() {
    let app = spawn_app().await;
    let s = shop(&app, "STAR", "Asia/Shanghai", 3, 3).await;
    let (_, v) = owner(&app, &s, 1).await;
    let starts: Vec<String> = (0..8)
        .map(|i| s.at_on(s.date + Duration::days(i / 4), 8 + (i % 4) as u32, 0))
        .collect();
    let answers =
        futures_util::future::join_all(starts.iter().map(|at| book(&app, &s, &v, at))).await;
    let created = answers
        .iter()
        .filter(|a| a.status == StatusCode::CREATED)
        .count();
    let refused = answers
        .iter()
        .filter(|a| a.status == StatusCode::CONFLICT)
        .count();
    assert_eq!(
        (created, refused),
        (1, 7),
        "{:?}",
        answers.iter().map(|a| a.body.clone()).collect::<Vec<_>>()
    );
    let held: u64 = {
        let mut n = 0;
        for at in &starts {
            n += 3 - slot(&app, &s, at).await["remaining_reception"]
                .as_u64()
                .unwrap();
        }
        n
    };
    assert_eq!(held, 1, "a refused booking kept its slot");
}

#[tokio::test]
async fn the_register_filters_by_state_and_advisor_and_closed_days_have_no_slots() {
    let app = spawn_app().await;
    let s = shop(&app, "STAR", "Asia/Shanghai", 3, 3).await;
    let me = app.get("/api/v1/me", &s.advisor).await;
    let advisor_id = me.body["id"].as_str().unwrap().to_string();
    let (_, v1) = owner(&app, &s, 1).await;
    let (_, v2) = owner(&app, &s, 2).await;
    let mine = app
        .post(
            "/api/v1/appointments",
            Some(&s.advisor),
            &json!({"vehicle_id": v1, "slot_start": s.at(9, 0), "services": ["MAINT-10K"], "advisor_id": advisor_id}),
        )
        .await;
    assert_eq!(mine.status, StatusCode::CREATED, "{}", mine.body);
    let other = book(&app, &s, &v2, &s.at(10, 0)).await;
    let other_id = other.body["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/appointments/{other_id}/cancel"),
        Some(&s.advisor),
        &json!({}),
    )
    .await;

    let ids = |a: &Answer| {
        a.body
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].clone())
            .collect::<Vec<_>>()
    };
    let by_advisor = app
        .get(
            &format!(
                "/api/v1/appointments?date={}&advisor_id={advisor_id}",
                s.date
            ),
            &s.advisor,
        )
        .await;
    assert_eq!(ids(&by_advisor), [mine.body["id"].clone()]);
    let cancelled = app
        .get(
            &format!("/api/v1/appointments?date={}&state=cancelled", s.date),
            &s.advisor,
        )
        .await;
    assert_eq!(ids(&cancelled), [other.body["id"].clone()]);
    let bad_state = app
        .get(
            &format!("/api/v1/appointments?date={}&state=lost", s.date),
            &s.advisor,
        )
        .await;
    assert_eq!(bad_state.problem_fields(), ["state"]);

    let holiday = s.date + Duration::days(2);
    let path = format!("/api/v1/appointment-slots?date={holiday}");
    assert_eq!(
        app.get(&path, &s.advisor)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        4
    );
    app.put(
        "/api/v1/closed-dates",
        &s.manager,
        &json!({"date": holiday, "reason": "春节"}),
    )
    .await;
    assert_eq!(app.get(&path, &s.advisor).await.body, json!([]));
    let listed = app.get("/api/v1/closed-dates", &s.advisor).await;
    assert_eq!(listed.body, json!([{"date": holiday, "reason": "春节"}]));
    let reopened = app
        .send(
            app.http
                .delete(app.url(&format!("/api/v1/closed-dates/{holiday}")))
                .bearer_auth(&s.manager),
        )
        .await;
    assert_eq!(reopened.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&path, &s.advisor)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

#[tokio::test]
async fn a_customer_who_refused_service_sms_is_told_in_the_app_only() {
    let app = spawn_app().await;
    let s = shop(&app, "STAR", "Asia/Shanghai", 3, 3).await;
    let c = app
        .post(
            "/api/v1/customers",
            Some(&s.advisor),
            &json!({"name": "赵敏", "phone": "13900000009", "locale": "en",
                    "consents": [{"channel": "sms", "purpose": "service", "granted": false, "source": "reception"}]}),
        )
        .await;
    let v = app
        .create_vehicle(
            &s.advisor,
            c.body["id"].as_str().unwrap(),
            &vin(3009),
            "京A30009",
        )
        .await;
    let token = app.customer_token(&s.code, "13900000009").await;
    let a = book(&app, &s, v["id"].as_str().unwrap(), &s.at(9, 0)).await;
    assert_eq!(a.status, StatusCode::CREATED);
    let inbox = app.get("/api/v1/inbox", &token).await;
    assert_eq!(inbox.body[0]["kind"], "appointment_booked");
    assert_eq!(inbox.body[0]["title"], "Appointment booked");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let sms: Vec<_> = app
        .sms
        .messages_to("+8613900000009")
        .into_iter()
        .filter(|m| m.0["template"] != "otp")
        .collect();
    assert!(
        sms.is_empty(),
        "{:?}",
        sms.iter().map(|m| m.0.clone()).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_malformed_body_on_an_action_is_400_and_changes_nothing() {
    let app = spawn_app().await;
    let s = shop(&app, "STAR", "Asia/Shanghai", 3, 6).await;
    let (_, vehicle) = owner(&app, &s, 1).await;
    let booked = book(&app, &s, &vehicle, &s.at(9, 0)).await;
    assert_eq!(booked.status, StatusCode::CREATED, "{}", booked.body);
    let id = booked.body["id"].as_str().unwrap();

    let res = app
        .post_raw(
            &format!("/api/v1/appointments/{id}/confirm"),
            &s.advisor,
            "{{{",
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
    let res = app
        .post_raw(
            &format!("/api/v1/appointments/{id}/cancel"),
            &s.advisor,
            r#"{"reason": "x", "colour": "red"}"#,
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(res.problem_fields(), vec!["colour"]);
    let read = app
        .get(&format!("/api/v1/appointments/{id}"), &s.advisor)
        .await;
    assert_eq!(read.body["state"], "booked");

    // no body at all is fine: the reason is optional
    let res = app
        .send(
            app.http
                .post(app.url(&format!("/api/v1/appointments/{id}/confirm")))
                .bearer_auth(&s.advisor),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.body["state"], "confirmed");
    // an action that is not one is no route at all
    let res = app
        .send(
            app.http
                .post(app.url(&format!("/api/v1/appointments/{id}/teleport")))
                .bearer_auth(&s.advisor),
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}
