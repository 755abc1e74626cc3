//! Bad input never reaches a 500 or a panic; concurrent writes stay
//! consistent (issue 6, sections 3 and 4). Each test reproduces a defect
//! that was seen, mostly on PostgreSQL.

use reqwest::StatusCode;
use serde_json::json;
use servicelane::domain::Role;

use crate::appointments::{book, owner, shop, slot};
use crate::helpers::*;

#[tokio::test]
async fn control_characters_in_text_fields_queries_and_login_are_422_naming_the_field() {
    let app = spawn_app().await;
    let (_, t) = app.staff("CTRL", Role::ServiceAdvisor).await;

    // unauthenticated: the login body
    let a = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"dealer_code": "CTRL\u{0}", "username": "x", "password": "y"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert_eq!(a.problem_fields(), vec!["dealer_code"]);
    assert_eq!(a.content_type(), "application/problem+json");

    let a = app
        .post(
            "/api/v1/customers",
            Some(&t),
            &json!({"name": "王\u{0}小明", "phone": "13912345678"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert_eq!(a.problem_fields(), vec!["name"]);

    let a = app
        .post(
            "/api/v1/customers",
            Some(&t),
            &json!({"name": "王小明", "phone": "13912345678", "tags": ["ok", "b\u{1b}[31m"]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert_eq!(a.problem_fields(), vec!["tags[1]"]);

    let a = app.get("/api/v1/customers?q=abc%00def", &t).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert_eq!(a.problem_fields(), vec!["q"]);

    // a single-line field refuses a line break (it would go raw into the .ics)
    let c = app.create_customer(&t, "王小明", "13912345678").await;
    let a = app
        .post(
            "/api/v1/vehicles",
            Some(&t),
            &json!({"customer_id": c["id"], "vin": vin(1), "make": "Volks\r\nwagen", "model": "Lavida"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert_eq!(a.problem_fields(), vec!["make"]);

    // free text keeps its line breaks
    let a = app
        .post(
            "/api/v1/customers",
            Some(&t),
            &json!({"name": "李四", "phone": "13912345679", "notes": "line one\nline two"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.body["notes"], "line one\nline two");
}

#[tokio::test]
async fn dates_amounts_and_quantities_out_of_bounds_are_422_never_a_500_or_a_panic() {
    let app = spawn_app().await;
    let s = shop(&app, "BOUND", "Asia/Shanghai", 3, 6).await;
    let (_, v) = owner(&app, &s, 1).await;

    for (path, field) in [
        ("/api/v1/appointment-slots?date=%2B262142-12-31", "date"),
        ("/api/v1/appointment-slots?date=-5000-01-01", "date"),
        ("/api/v1/appointments?date=%2B262142-12-31", "date"),
        (
            "/api/v1/appointments?from=-5000-01-01&to=2027-01-01",
            "from",
        ),
        (
            "/api/v1/appointments/preparation?date=%2B262142-12-31",
            "date",
        ),
        (
            "/api/v1/appointments/invitations?from=2027-01-01&to=%2B262142-12-31",
            "to",
        ),
        (
            "/api/v1/appointment-slots?date=2027-01-04&duration_hours=79228162514264337593543950335",
            "duration_hours",
        ),
    ] {
        let a = app.get(path, &s.advisor).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {}",
            a.body
        );
        assert_eq!(a.problem_fields(), vec![field], "{path}");
    }

    let a = app
        .patch(
            &format!("/api/v1/vehicles/{v}"),
            &s.advisor,
            Some("\"1\""),
            &json!({"purchase_date": "-5000-01-01", "inspection_due": "+262142-12-31"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert_eq!(a.problem_fields(), vec!["purchase_date", "inspection_due"]);

    let a = app
        .post(
            &format!("/api/v1/vehicles/{v}/mileage"),
            Some(&s.advisor),
            &json!({"mileage_km": 100, "read_on": "0001-01-01", "source": "reception"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert_eq!(a.problem_fields(), vec!["read_on"]);

    let a = app
        .put(
            "/api/v1/closed-dates",
            &s.manager,
            &json!({"date": "-5000-01-01", "reason": "x"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert_eq!(a.problem_fields(), vec!["date"]);

    // bookings: today … today + the dealer's horizon (365 days by default)
    let far = s.at_on(s.date + chrono::Duration::days(400), 9, 0);
    let a = book(&app, &s, &v, &far).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert_eq!(a.problem_fields(), vec!["slot_start"]);
    assert!(a.body["detail"].as_str().unwrap().contains("horizon"));

    // money and quantities: bounded before any arithmetic
    for (price, qty, labour, field) in [
        ("79228162514264337593543950335", "1", "1", "price_estimate"),
        ("92233720368547758.07", "1", "1", "price_estimate"),
        (
            "10",
            "79228162514264337593543950335",
            "1",
            "parts[0].quantity",
        ),
        ("10", "1", "79228162514264337593543950335", "labour_hours"),
    ] {
        let a = app
            .put(
                "/api/v1/menu/HUGE",
                &s.manager,
                &json!({"name_zh": "大", "name_en": "Huge", "labour_hours": labour, "price_estimate": price,
                        "parts": [{"part_number": "P-1", "name": "件", "quantity": qty}]}),
            )
            .await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            a.body
        );
        assert_eq!(a.problem_fields(), vec![field]);
    }
    // the largest price is accepted, and a booking of it is estimated exactly
    let a = app
        .put(
            "/api/v1/menu/DEAR",
            &s.manager,
            &json!({"name_zh": "贵", "name_en": "Dear", "labour_hours": "1", "price_estimate": "10000000.00",
                    "parts": [{"part_number": "P-1", "name": "件", "quantity": "10000"}]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = app
        .post(
            "/api/v1/appointments",
            Some(&s.advisor),
            &json!({"vehicle_id": v, "slot_start": s.at(9, 0), "services": ["DEAR", "DEAR", "MAINT-10K"]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.body["price_estimate"], "20000480.00");
    let p = app
        .get(
            &format!("/api/v1/appointments/preparation?date={}", s.date),
            &s.advisor,
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
}

#[tokio::test]
async fn a_reading_dated_year_one_breaks_nothing_and_staff_can_remove_it() {
    use sea_orm::{ActiveModelTrait, Set};
    use servicelane::entities::mileage_reading;

    let app = spawn_app().await;
    let s = shop(&app, "YEAR1", "Asia/Shanghai", 3, 6).await;
    let today = app.clock.now_utc().with_timezone(&s.tz).date_naive();
    let c = app.create_customer(&s.advisor, "张三", "13900001111").await;
    let v = app
        .post(
            "/api/v1/vehicles",
            Some(&s.advisor),
            &json!({"customer_id": c["id"], "vin": vin(7), "make": "大众", "model": "朗逸",
                    "last_service_date": (today - chrono::Duration::days(60)).to_string(), "last_service_km": 20000}),
        )
        .await;
    assert_eq!(v.status, StatusCode::CREATED, "{}", v.body);
    let vid = v.body["id"].as_str().unwrap().to_string();
    let version = v.body["version"].as_i64().unwrap();

    // a reading changes the vehicle's body, so its ETag moves too
    let r = app
        .post(
            &format!("/api/v1/vehicles/{vid}/mileage"),
            Some(&s.advisor),
            &json!({"mileage_km": 20001, "source": "reception"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let after = app
        .get(&format!("/api/v1/vehicles/{vid}"), &s.advisor)
        .await;
    assert_eq!(after.body["version"].as_i64().unwrap(), version + 1);
    assert_eq!(after.etag(), format!("\"{}\"", version + 1));

    // a reading dated 0001-01-01, as stored before dates were bounded
    let bad = mileage_reading::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        dealer_id: Set(v.body["dealer_id"].as_str().unwrap().parse().unwrap()),
        vehicle_id: Set(vid.parse().unwrap()),
        mileage_km: Set(20000),
        read_on: Set(chrono::NaiveDate::from_ymd_opt(1, 1, 1).unwrap()),
        source: Set(servicelane::domain::vehicle::MileageSource::Customer),
        correction: Set(false),
        recorded_by: Set(None),
        created_at: Set(app.clock.now_utc()),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    let range = format!(
        "/api/v1/appointments/invitations?from={today}&to={}",
        today + chrono::Duration::days(365)
    );
    let list = app.get(&range, &s.advisor).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);

    // staff remove it, with a reason; the customer may not
    let path = format!("/api/v1/vehicles/{vid}/mileage/{}", bad.id);
    let cust = app.customer_token(&s.code, "13900001111").await;
    let del = |token: &str, body: serde_json::Value| {
        app.send(
            app.http
                .delete(app.url(&path))
                .bearer_auth(token.to_string())
                .json(&body),
        )
    };
    let a = del(&cust, json!({"reason": "wrong"})).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    let a = del(&s.advisor, json!({})).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert_eq!(a.problem_fields(), vec!["reason"]);
    let a = del(&s.advisor, json!({"reason": "the date was typed wrong"})).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["odometer_km"], 20001);
    assert_eq!(a.body["version"].as_i64().unwrap(), version + 2);
    assert_eq!(a.etag(), format!("\"{}\"", version + 2));
    let a = del(&s.advisor, json!({"reason": "again"})).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);

    let history = app
        .get(&format!("/api/v1/vehicles/{vid}/mileage"), &s.advisor)
        .await;
    assert_eq!(history.body.as_array().unwrap().len(), 1);
    // the removal is audited: who, when, why, and what the reading was
    use sea_orm::EntityTrait;
    let audit = servicelane::entities::mileage_reading_removal::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].reading_id, bad.id);
    assert_eq!(audit[0].reason, "the date was typed wrong");
    assert_eq!(audit[0].mileage_km, 20000);

    // removing the last reading falls back to the last service's odometer
    let only = history.body[0]["id"].as_str().unwrap();
    let a = app
        .send(
            app.http
                .delete(app.url(&format!("/api/v1/vehicles/{vid}/mileage/{only}")))
                .bearer_auth(&s.advisor)
                .json(&json!({"reason": "test"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["odometer_km"], 20000);
}

#[tokio::test]
async fn forty_concurrent_cancel_and_reschedule_pairs_never_deadlock() {
    // enough connections for the pairs to really run at once
    let app = spawn_app_with(&[
        ("SERVICELANE__DATABASE__MAX_CONNECTIONS", "20"),
        ("SERVICELANE__SERVER__WORKERS", "4"),
    ])
    .await;
    let s = shop(&app, "LOCKS", "Asia/Shanghai", 10, 10).await;
    let mut ids = Vec::new();
    for n in 0..40u32 {
        let (_, v) = owner(&app, &s, n).await;
        let hour = 8 + n % 4;
        let a = book(&app, &s, &v, &s.at(hour, 0)).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        ids.push((a.body["id"].as_str().unwrap().to_string(), hour));
    }
    let next_day = s.date + chrono::Duration::days(1);
    let requests: Vec<(String, serde_json::Value)> = ids
        .iter()
        .flat_map(|(id, hour)| {
            [
                (
                    format!("/api/v1/appointments/{id}/cancel"),
                    json!({"reason": "客户取消"}),
                ),
                (
                    format!("/api/v1/appointments/{id}/reschedule"),
                    json!({"slot_start": s.at_on(next_day, *hour, 0)}),
                ),
            ]
        })
        .collect();
    let answers = futures_util::future::join_all(
        requests
            .iter()
            .map(|(path, body)| app.post(path, Some(&s.advisor), body)),
    )
    .await;
    for a in &answers {
        assert!(
            a.status == StatusCode::OK || a.status == StatusCode::CONFLICT,
            "{} {}",
            a.status,
            a.body
        );
    }
    // exactly one of each pair wins
    for pair in answers.chunks(2) {
        let ok = pair.iter().filter(|a| a.status == StatusCode::OK).count();
        assert_eq!(ok, 1, "{} / {}", pair[0].body, pair[1].body);
    }
    // and the counters tell the truth: what is open holds a place, nothing else
    let moved = answers
        .chunks(2)
        .filter(|p| p[1].status == StatusCode::OK)
        .count() as i64;
    let mut held_today = 0;
    let mut held_tomorrow = 0;
    for hour in 8..12 {
        held_today += 10
            - slot(&app, &s, &s.at(hour, 0)).await["remaining_reception"]
                .as_i64()
                .unwrap();
        held_tomorrow += 10
            - slot(&app, &s, &s.at_on(next_day, hour, 0)).await["remaining_reception"]
                .as_i64()
                .unwrap();
    }
    assert_eq!(held_today, 0);
    assert_eq!(held_tomorrow, moved);
}

async fn post_with_key(app: &TestApp, token: &str, key: &str, body: &serde_json::Value) -> Answer {
    app.send(
        app.http
            .post(app.url("/api/v1/appointments"))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(body),
    )
    .await
}

#[tokio::test]
async fn ten_identical_bookings_with_one_key_at_once_all_get_the_one_answer() {
    let app = spawn_app().await;
    let s = shop(&app, "IDEM", "Asia/Shanghai", 3, 5).await;
    let (_, v) = owner(&app, &s, 1).await;
    let body = json!({"vehicle_id": v, "slot_start": s.at(9, 0), "services": ["MAINT-10K"]});
    let answers = futures_util::future::join_all(
        (0..10).map(|_| post_with_key(&app, &s.advisor, "tablet-3-0042", &body)),
    )
    .await;
    for a in &answers {
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        assert_eq!(a.body["id"], answers[0].body["id"]);
    }
    let replayed = answers
        .iter()
        .filter(|a| a.headers.get("idempotent-replayed").is_some())
        .count();
    assert_eq!(replayed, 9);
    assert_eq!(slot(&app, &s, &s.at(9, 0)).await["remaining_reception"], 2);

    // an error the client caused is the answer too: a retry gets it again
    let (_, v2) = owner(&app, &s, 2).await;
    let past = json!({"vehicle_id": v2, "slot_start": s.at_on(s.date - chrono::Duration::days(10), 9, 0), "services": ["MAINT-10K"]});
    let first = post_with_key(&app, &s.advisor, "tablet-3-0043", &past).await;
    assert_eq!(
        first.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        first.body
    );
    let again = post_with_key(&app, &s.advisor, "tablet-3-0043", &past).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(again.body, first.body);
    assert_eq!(again.content_type(), "application/problem+json");
    assert_eq!(again.headers["idempotent-replayed"], "true");

    // the key itself is checked: 1 to 255 visible ASCII characters
    for key in ["k".repeat(256), "two words".to_string()] {
        let a = post_with_key(&app, &s.advisor, &key, &body).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
        assert_eq!(a.problem_fields(), ["Idempotency-Key"]);
    }
    let long = "k".repeat(255);
    let (_, v3) = owner(&app, &s, 3).await;
    let third = json!({"vehicle_id": v3, "slot_start": s.at(10, 0), "services": ["MAINT-10K"]});
    let a = post_with_key(&app, &s.advisor, &long, &third).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
}

#[tokio::test]
async fn a_reservation_left_by_a_crash_answers_in_progress_then_expires() {
    use sea_orm::{ActiveModelTrait, Set};
    use servicelane::entities::idempotency_key;
    use servicelane::services::appointments::book::NewAppointment;

    let app = spawn_app().await;
    let s = shop(&app, "CRASH", "Asia/Shanghai", 3, 5).await;
    let (_, v) = owner(&app, &s, 1).await;
    let body = json!({"vehicle_id": v, "slot_start": s.at(9, 0), "services": ["MAINT-10K"]});
    let me = app.get("/api/v1/me", &s.advisor).await;
    let input: NewAppointment = serde_json::from_value(body.clone()).unwrap();
    // what a request that died after reserving its key leaves behind
    idempotency_key::ActiveModel {
        dealer_id: Set(me.body["dealer_id"].as_str().unwrap().parse().unwrap()),
        actor_id: Set(me.body["id"].as_str().unwrap().parse().unwrap()),
        key: Set("tablet-9-0001".into()),
        request_hash: Set(servicelane::services::idempotency::fingerprint(&input).unwrap()),
        status: Set(0),
        response: Set("in-progress:crashed".into()),
        created_at: Set(app.clock.now_utc()),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    let a = post_with_key(&app, &s.advisor, "tablet-9-0001", &body).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    assert_eq!(a.headers["retry-after"], "1");
    assert_eq!(a.content_type(), "application/problem+json");
    // a minute later the reservation has expired and the retry books
    app.clock.advance(chrono::Duration::seconds(61));
    let a = post_with_key(&app, &s.advisor, "tablet-9-0001", &body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
}

#[tokio::test]
async fn a_no_show_gives_back_the_bays_of_the_slots_not_yet_started() {
    let app = spawn_app().await;
    let s = shop(&app, "NOSHOW", "Asia/Shanghai", 3, 1).await;
    let (_, v) = owner(&app, &s, 1).await;
    // a 2.5-hour brake job at 09:00 holds the 09:00, 10:00 and 11:00 bays
    let a = app
        .post(
            "/api/v1/appointments",
            Some(&s.advisor),
            &json!({"vehicle_id": v, "slot_start": s.at(9, 0), "services": ["BRAKE"]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let id = a.body["id"].as_str().unwrap();
    assert_eq!(slot(&app, &s, &s.at(10, 0)).await["available"], false);
    let nine_fifteen: chrono::DateTime<chrono::Utc> =
        chrono::DateTime::parse_from_rfc3339(&s.at(9, 15))
            .unwrap()
            .into();
    app.clock.set(nine_fifteen);
    let advisor = app.login_as(&s.code, "service_advisor").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let a = app
        .post(
            &format!("/api/v1/appointments/{id}/no-show"),
            Some(&advisor),
            &json!({}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["state"], "no_show");
    let s = crate::appointments::Shop { advisor, ..s };
    for hour in [10, 11] {
        let later = slot(&app, &s, &s.at(hour, 0)).await;
        assert_eq!(later["available"], true, "{hour}:00 {later}");
        assert_eq!(later["remaining_workshop_hours"], "1");
    }
    // the slot that had begun stays as it was
    assert_eq!(
        slot(&app, &s, &s.at(9, 0)).await["remaining_workshop_hours"],
        "0"
    );
}

#[tokio::test]
async fn a_capacity_change_re_derives_the_counters_or_names_the_bookings_in_its_way() {
    let app = spawn_app().await;
    let s = shop(&app, "GRID", "Asia/Shanghai", 1, 1).await;
    let (_, v1) = owner(&app, &s, 1).await;
    let (_, v2) = owner(&app, &s, 2).await;
    let hours = |minutes: u32| {
        let days: Vec<serde_json::Value> = (1..=7)
            .map(|d| json!({"weekday": d, "open": "08:00", "close": "12:00"}))
            .collect();
        json!({"slot_minutes": minutes, "reception_per_slot": 1, "workshop_bays": 1, "opening_hours": days})
    };
    // a one-hour job at 09:00 on 60-minute slots
    let first = book(&app, &s, &v1, &s.at(9, 0)).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);

    // 60 → 30 minutes: the job now holds the 09:30 bay too
    let a = app.put("/api/v1/capacity", &s.manager, &hours(30)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let half_past = slot(&app, &s, &s.at(9, 30)).await;
    assert_eq!(half_past["available"], false, "{half_past}");
    assert_eq!(half_past["remaining_workshop_hours"], "0");
    let a = book(&app, &s, &v2, &s.at(9, 30)).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);

    // a booking at 10:30 is not on a 60-minute grid: 30 → 60 is refused, naming it
    let second = book(&app, &s, &v2, &s.at(10, 30)).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    let a = app.put("/api/v1/capacity", &s.manager, &hours(60)).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    let second_id = second.body["id"].as_str().unwrap();
    assert!(
        a.body["detail"].as_str().unwrap().contains(second_id),
        "{}",
        a.body
    );
    assert_eq!(
        slot(&app, &s, &s.at(10, 30)).await["remaining_reception"],
        0
    );

    // overlapping ranges of one weekday are refused
    let mut overlapping = hours(60);
    overlapping["opening_hours"]
        .as_array_mut()
        .unwrap()
        .push(json!({"weekday": 1, "open": "11:00", "close": "13:00"}));
    let a = app.put("/api/v1/capacity", &s.manager, &overlapping).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert_eq!(a.problem_fields(), ["opening_hours[7]"]);

    // once it is moved out of the way, 30 → 60 goes through and the counters are true
    let a = app
        .post(
            &format!("/api/v1/appointments/{second_id}/cancel"),
            Some(&s.advisor),
            &json!({}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = app.put("/api/v1/capacity", &s.manager, &hours(60)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let nine = slot(&app, &s, &s.at(9, 0)).await;
    assert_eq!(nine["remaining_reception"], 0, "{nine}");
    assert_eq!(slot(&app, &s, &s.at(10, 0)).await["available"], true);
    // the booking's held slots were rewritten too: cancelling frees exactly them
    let id = first.body["id"].as_str().unwrap();
    let a = app
        .post(
            &format!("/api/v1/appointments/{id}/cancel"),
            Some(&s.advisor),
            &json!({}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let nine = slot(&app, &s, &s.at(9, 0)).await;
    assert_eq!(nine["remaining_reception"], 1, "{nine}");
    assert_eq!(nine["remaining_workshop_hours"], "1");
}

#[tokio::test]
async fn stored_json_that_does_not_parse_fails_loudly_instead_of_reading_as_empty() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use servicelane::entities::{appointment, customer, outbox_message};

    let app = spawn_app().await;
    let s = shop(&app, "JSON", "Asia/Shanghai", 3, 5).await;
    let (c, v) = owner(&app, &s, 1).await;
    let booked = book(&app, &s, &v, &s.at(9, 0)).await;
    assert_eq!(booked.status, StatusCode::CREATED, "{}", booked.body);
    let id = booked.body["id"].as_str().unwrap();

    // consents that do not parse must not read as "none" (= service SMS allowed)
    customer::Entity::update_many()
        .col_expr(
            customer::Column::Consents,
            sea_orm::sea_query::Expr::value(json!({"sms": "no"})),
        )
        .filter(customer::Column::Id.eq(c.parse::<uuid::Uuid>().unwrap()))
        .exec(&app.state.db)
        .await
        .unwrap();
    let a = app.get(&format!("/api/v1/customers/{c}"), &s.advisor).await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", a.body);
    assert_eq!(a.content_type(), "application/problem+json");
    let a = app
        .post(
            &format!("/api/v1/appointments/{id}/confirm"),
            Some(&s.advisor),
            &json!({}),
        )
        .await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", a.body);
    // the booking's own SMS may still be on its way; no confirmation may follow it
    app.dispatch_pending().await;
    let confirmed =
        |m: &(serde_json::Value, String, Vec<u8>)| m.0["template"] == "appointment_confirmed";
    assert!(!app.sms.messages_to("+8613900000001").iter().any(confirmed));
    assert_eq!(
        outbox_message::Entity::find()
            .filter(outbox_message::Column::Kind.eq("appointment_confirmed"))
            .all(&app.state.db)
            .await
            .unwrap()
            .len(),
        0,
        "the failed confirmation wrote no message"
    );

    // held slots that do not parse must not read as "holds nothing"
    appointment::Entity::update_many()
        .col_expr(
            appointment::Column::HeldSlots,
            sea_orm::sea_query::Expr::value(json!("garbage")),
        )
        .filter(appointment::Column::Id.eq(id.parse::<uuid::Uuid>().unwrap()))
        .exec(&app.state.db)
        .await
        .unwrap();
    let a = app
        .post(
            &format!("/api/v1/appointments/{id}/no-show"),
            Some(&s.advisor),
            &json!({}),
        )
        .await;
    // (no-show before the slot is a 409 whatever is stored; cancel reads the hold)
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    let a = app
        .post(
            &format!("/api/v1/appointments/{id}/cancel"),
            Some(&s.advisor),
            &json!({}),
        )
        .await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", a.body);
    assert_eq!(slot(&app, &s, &s.at(9, 0)).await["remaining_reception"], 2);
}

#[tokio::test]
async fn a_customer_setting_staff_fields_is_told_which_fields() {
    let app = spawn_app().await;
    let s = shop(&app, "FIELDS", "Asia/Shanghai", 3, 5).await;
    let (_, v) = owner(&app, &s, 1).await;
    let me = app.customer_token(&s.code, "13900000001").await;
    let a = app
        .post(
            "/api/v1/appointments",
            Some(&me),
            &json!({"vehicle_id": v, "slot_start": s.at(9, 0), "services": ["MAINT-10K"],
                    "source": "phone", "advisor_id": uuid::Uuid::now_v7()}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    let fields = a.problem_fields();
    assert!(fields.contains(&"source".to_string()), "{fields:?}");
    assert!(fields.contains(&"advisor_id".to_string()), "{fields:?}");
    assert!(
        !fields.contains(&"duration_hours".to_string()),
        "{fields:?}"
    );
}

#[tokio::test]
async fn bookings_racing_a_capacity_change_leave_counters_that_match_the_bookings() {
    let app = spawn_app_with(&[
        ("SERVICELANE__DATABASE__MAX_CONNECTIONS", "20"),
        ("SERVICELANE__SERVER__WORKERS", "4"),
    ])
    .await;
    let s = shop(&app, "RACE", "Asia/Shanghai", 20, 40).await;
    let mut vehicles = Vec::new();
    for n in 0..40u32 {
        vehicles.push(owner(&app, &s, n).await.1);
    }
    let days: Vec<serde_json::Value> = (1..=7)
        .map(|d| json!({"weekday": d, "open": "08:00", "close": "12:00"}))
        .collect();
    let thirty = json!({"slot_minutes": 30, "reception_per_slot": 20, "workshop_bays": 40, "opening_hours": days});
    let times: Vec<String> = (0..vehicles.len())
        .map(|i| s.at(9 + (i % 2) as u32, 0))
        .collect();
    let bookings = futures_util::future::join_all(
        vehicles
            .iter()
            .zip(&times)
            .map(|(v, at)| book(&app, &s, v, at)),
    );
    // the change is sent while the bookings are under way
    let change = async {
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        app.put("/api/v1/capacity", &s.manager, &thirty).await
    };
    let (answers, changed) = futures_util::future::join(bookings, change).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    for a in &answers {
        assert!(
            a.status == StatusCode::CREATED || a.status == StatusCode::CONFLICT,
            "{} {}",
            a.status,
            a.body
        );
    }
    // every 30-minute slot shows exactly what the bookings hold on the new grid
    let register = app
        .get(&format!("/api/v1/appointments?date={}", s.date), &s.advisor)
        .await;
    let starts: Vec<String> = register
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["state"] == "booked")
        .map(|a| a["slot_start"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        starts.len(),
        answers
            .iter()
            .filter(|a| a.status == StatusCode::CREATED)
            .count()
    );
    for (h, m) in [(9, 0), (9, 30), (10, 0), (10, 30)] {
        let at = s.at(h, m);
        let arriving = starts.iter().filter(|x| **x == at).count() as i64;
        // a one-hour job holds its own slot and the next one
        let before = s.at(if m == 0 { h - 1 } else { h }, if m == 0 { 30 } else { 0 });
        let working = arriving + starts.iter().filter(|x| **x == before).count() as i64;
        let v = slot(&app, &s, &at).await;
        assert_eq!(
            v["remaining_reception"].as_i64().unwrap(),
            20 - arriving,
            "{at} {v}"
        );
        let free: f64 = v["remaining_workshop_hours"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(free, (40 - working) as f64 * 0.5, "{at} {v}");
    }
}
