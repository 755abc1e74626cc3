//! 24-hour roadside rescue (issue 13 part 1): a rescue from the customer's
//! tap to a towed car's repair order; the on-duty roster told at once and
//! down the line when nobody accepts; a double tap; bad input; two staff
//! accepting at once.

use chrono::Duration;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use servicelane::domain::Role;
use servicelane::domain::message::MessageKind;
use servicelane::entities::{outbox_message, rescue, user};
use uuid::Uuid;

use crate::appointments::{Shop, owner, shop};
use crate::care_planner::{d, set_local};
use crate::helpers::*;

const LONG_TOKENS: (&str, &str) = ("SERVICELANE__AUTH__ACCESS_TTL_SECS", "31536000");

const WEEK: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

async fn user_id(app: &TestApp, code: &str, username: &str) -> Uuid {
    let dealer = servicelane::entities::dealer::Entity::find()
        .filter(servicelane::entities::dealer::Column::Code.eq(code))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    user::Entity::find()
        .filter(user::Column::DealerId.eq(dealer))
        .filter(user::Column::Username.eq(username))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// A shop whose advisor (13900000101) and then technician (13900000102)
/// are on duty around the clock, with the service manager's SMS contact
/// (13912345678) in the case rules; the technician's token.
async fn on_duty_shop(app: &TestApp, code: &str) -> (Shop, String) {
    let s = shop(app, code, "Asia/Shanghai", 2, 2).await;
    let (_, tech) = app.staff(code, Role::Technician).await;
    let advisor = user_id(app, code, "service_advisor").await;
    let technician = user_id(app, code, "technician").await;
    let roster = json!({
        "escalate_after_minutes": 10,
        "shifts": [
            {"user_id": advisor, "phone": "13900000101", "days": WEEK, "start": "00:00", "end": "00:00", "order": 1},
            // two overnight shifts and a day shift: the technician around the clock too
            {"user_id": technician, "phone": "13900000102", "days": WEEK, "start": "20:00", "end": "08:00", "order": 2},
            {"user_id": technician, "phone": "13900000102", "days": WEEK, "start": "08:00", "end": "20:00", "order": 2},
        ],
    });
    let r = app.put("/api/v1/rescue/roster", &s.manager, &roster).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["gaps"], json!([]), "{}", r.body);
    let rules = json!({
        "section_floor": 60, "recommend_floor": 7, "lexicon": [],
        "contact_within_hours": 24, "resolve_within_days": 7,
        "escalate_to": [{"channel": "sms", "address": "13912345678", "name": "王经理"}],
    });
    let r = app.put("/api/v1/case-rules", &s.manager, &rules).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    (s, tech)
}

fn rescue_body(vehicle: &str) -> Value {
    json!({
        "vehicle_id": vehicle,
        "location": {"lat": 39.9087, "lng": 116.3975, "address": "北京市东城区长安街1号"},
        "problem": "breakdown",
        "note": "发动机故障灯亮，熄火后无法启动",
        "contact_phone": "139 0000 0001",
    })
}

async fn ask(app: &TestApp, token: &str, body: &Value, key: Option<&str>) -> Answer {
    let mut r = app
        .http
        .post(app.url("/api/v1/rescues"))
        .bearer_auth(token)
        .json(body);
    if let Some(k) = key {
        r = r.header("idempotency-key", k);
    }
    app.send(r).await
}

async fn step(app: &TestApp, token: &str, id: &str, action: &str, body: Value) -> Answer {
    app.post(
        &format!("/api/v1/rescues/{id}/{action}"),
        Some(token),
        &body,
    )
    .await
}

async fn outbox(app: &TestApp, kind: MessageKind) -> Vec<outbox_message::Model> {
    outbox_message::Entity::find()
        .filter(outbox_message::Column::Kind.eq(kind))
        .all(&app.state.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_customers_rescue_goes_from_request_to_a_towed_cars_repair_order() {
    let app = spawn_app_with(&[LONG_TOKENS]).await;
    set_local(&app, chrono_tz::Asia::Shanghai, d(2027, 3, 1), 10, 0);
    let (s, _) = on_duty_shop(&app, "RESCUE").await;
    let (_, vehicle) = owner(&app, &s, 1).await;
    let (_, other_vehicle) = owner(&app, &s, 2).await;
    let me = app.customer_token("RESCUE", "13900000001").await;
    let other = app.customer_token("RESCUE", "13900000002").await;

    let r = ask(&app, &me, &rescue_body(&vehicle), Some("tap-1")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.etag(), "\"1\"");
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["state"], "requested");
    assert_eq!(r.body["contact_phone"], "+8613900000001");
    assert_eq!(r.body["alert_level"], 1);
    assert!(r.body["requested_by"].is_null());
    // the customer sees their own rescue; another customer's is 404
    let mine = app.get(&format!("/api/v1/rescues/{id}"), &me).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    let theirs = app.get(&format!("/api/v1/rescues/{id}"), &other).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    let theirs = app
        .get(&format!("/api/v1/rescues/{id}/events"), &other)
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    // nor may they ask for help with another's car
    let r = ask(&app, &other, &rescue_body(&vehicle), None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.problem_fields(), vec!["vehicle_id"]);
    let _ = other_vehicle;

    // a customer may not accept; the advisor does, and a retry answers the same
    let r = step(&app, &me, &id, "accept", json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let a = step(&app, &s.advisor, &id, "accept", json!({})).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["state"], "accepted");
    assert!(a.body["next_alert_at"].is_null());
    let again = step(&app, &s.advisor, &id, "accept", json!({})).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["version"], a.body["version"]);
    // out of order: 409 naming the state
    let early = step(&app, &s.advisor, &id, "tow", json!({})).await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    // dispatch needs who and when
    let bad = step(&app, &s.advisor, &id, "dispatch", json!({})).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(bad.problem_fields(), vec!["driver", "eta"]);
    let eta = (app.clock.now_utc() + Duration::minutes(40)).to_rfc3339();
    let r = step(
        &app,
        &s.advisor,
        &id,
        "dispatch",
        json!({"driver": "李师傅", "vehicle": "京B99999 救援车", "eta": eta}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["dispatch"]["driver"], "李师傅");
    app.clock.advance(Duration::minutes(35));
    let r = step(&app, &s.advisor, &id, "arrive", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["minutes_to_on_site"], 35.0);
    // on site: the customer can no longer cancel in the app
    let r = step(&app, &me, &id, "cancel", json!({})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let r = step(&app, &s.advisor, &id, "tow", json!({"note": "拖回店内"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["state"], "towed");

    // the towed car opens its repair order, once
    let path = format!("/api/v1/rescues/{id}/repair-order");
    let o = app.post(&path, Some(&s.advisor), &json!({})).await;
    assert_eq!(o.status, StatusCode::CREATED, "{}", o.body);
    let order = o.body["id"].as_str().unwrap().to_string();
    assert_eq!(o.body["vehicle"]["id"], vehicle.as_str(), "{}", o.body);
    let concerns = o.body["concerns"].to_string();
    assert!(
        concerns.contains("抛锚") && concerns.contains("发动机故障灯亮"),
        "{concerns}"
    );
    let notes = o.body["notes"].as_str().unwrap_or_default();
    assert!(
        notes.contains("长安街1号") && notes.contains(&id),
        "{notes}"
    );
    let empty = json!({});
    let (a, b) = tokio::join!(
        app.post(&path, Some(&s.advisor), &empty),
        app.post(&path, Some(&s.advisor), &empty)
    );
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(b.status, StatusCode::OK, "{}", b.body);
    assert_eq!(a.body["id"], order.as_str());
    assert_eq!(b.body["id"], order.as_str());
    let orders = servicelane::entities::repair_order::Entity::find()
        .filter(
            servicelane::entities::repair_order::Column::VehicleId
                .eq(Uuid::parse_str(&vehicle).unwrap()),
        )
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(orders, 1);

    let r = step(&app, &s.advisor, &id, "close", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["repair_order_id"], order.as_str());
    let actions: Vec<&str> = r.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "requested",
            "accept",
            "dispatch",
            "arrive",
            "tow",
            "repair_order",
            "close"
        ]
    );
    let accepted = &r.body["events"][1];
    assert_eq!(accepted["from_state"], "requested");
    assert_eq!(accepted["to_state"], "accepted");
    assert!(accepted["actor_id"].is_string());

    // the app follows it: the stream of a closed rescue sends every step and ends
    let text = app
        .http
        .get(app.url(&format!("/api/v1/rescues/{id}/events")))
        .bearer_auth(&me)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for a in &actions {
        assert!(text.contains(&format!("event: {a}\n")), "{a}: {text}");
    }
    // resumed after the fifth step: only the last two
    let tail = app
        .http
        .get(app.url(&format!("/api/v1/rescues/{id}/events")))
        .bearer_auth(&me)
        .header("last-event-id", "5")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !tail.contains("event: tow\n") && tail.contains("event: close\n"),
        "{tail}"
    );

    // the customer was told of each step, in the app and by SMS
    let updates = outbox(&app, MessageKind::RescueUpdate).await;
    let states: Vec<String> = updates
        .iter()
        .map(|m| m.occurrence_key.rsplit(':').next().unwrap().to_string())
        .collect();
    for st in [
        "requested",
        "accepted",
        "dispatched",
        "on_site",
        "towed",
        "closed",
    ] {
        assert!(states.contains(&st.to_string()), "{st}: {states:?}");
    }
    let inbox = app.get("/api/v1/inbox", &me).await;
    assert_eq!(inbox.status, StatusCode::OK, "{}", inbox.body);
    let kinds = inbox.body.as_array().unwrap();
    assert!(
        kinds
            .iter()
            .filter(|m| m["kind"] == "rescue_update")
            .count()
            >= 6,
        "{}",
        inbox.body
    );

    // the figures a brand audits
    let today = app
        .clock
        .now_utc()
        .with_timezone(&s.tz)
        .date_naive()
        .to_string();
    let rep = app
        .get(
            &format!("/api/v1/rescues/report?from={today}&to={today}"),
            &s.manager,
        )
        .await;
    assert_eq!(rep.status, StatusCode::OK, "{}", rep.body);
    assert_eq!(rep.body["requested"], 1);
    assert_eq!(rep.body["towed"], 1);
    assert_eq!(rep.body["to_accept"]["count"], 1);
    assert_eq!(rep.body["to_on_site"]["median_minutes"], 35.0);
    assert_eq!(rep.body["to_on_site"]["p90_minutes"], 35.0);
    let list = app.get("/api/v1/rescues?state=closed", &s.advisor).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    let none = app.get("/api/v1/rescues?state=requested", &s.advisor).await;
    assert_eq!(none.body.as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_rescue_nobody_accepts_in_ten_minutes_goes_to_the_next_on_duty_and_the_manager_once() {
    let app = spawn_app_with(&[NO_DISPATCHER, LONG_TOKENS]).await;
    let (s, _) = on_duty_shop(&app, "NIGHT").await;
    let (_, vehicle) = owner(&app, &s, 3).await;
    // 02:10 at night, deep in the customers' quiet hours
    set_local(&app, s.tz, d(2027, 3, 2), 2, 10);
    let asked_at = app.clock.now_utc();
    let r = ask(&app, &s.advisor, &rescue_body(&vehicle), None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert!(r.body["requested_by"].is_string());
    let alerts = outbox(&app, MessageKind::RescueAlert).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].recipient, "+8613900000101");
    assert_eq!(alerts[0].due_at, asked_at, "leaves at once, at night too");
    assert!(alerts[0].customer_id.is_none());
    // but it is about them: their erasure strips it
    assert_eq!(
        alerts[0].about_customer_id,
        r.body["customer_id"].as_str().and_then(|c| c.parse().ok())
    );

    let sweep = || servicelane::services::rescues::escalate_due(&app.state, app.clock.now_utc());
    app.clock.advance(Duration::minutes(9));
    assert_eq!(sweep().await.unwrap(), 0);
    app.clock.advance(Duration::minutes(2));
    // two sweeps at once (two instances): one escalation
    let (a, b) = tokio::join!(sweep(), sweep());
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(sweep().await.unwrap(), 0);
    let alerts = outbox(&app, MessageKind::RescueAlert).await;
    let mut to: Vec<&str> = alerts.iter().map(|m| m.recipient.as_str()).collect();
    to.sort();
    assert_eq!(
        to,
        vec!["+8613900000101", "+8613900000102", "+8613912345678"]
    );
    // nobody left on the roster after the technician: the managers are told
    // again a window later while the rescue waits (a customer is stranded)
    app.clock.advance(Duration::minutes(30));
    assert_eq!(sweep().await.unwrap(), 1);
    assert_eq!(sweep().await.unwrap(), 0);
    let alerts = outbox(&app, MessageKind::RescueAlert).await;
    assert_eq!(alerts.len(), 4);
    assert_eq!(
        alerts
            .iter()
            .filter(|m| m.recipient == "+8613912345678")
            .count(),
        2
    );
    let r = app.get(&format!("/api/v1/rescues/{id}"), &s.advisor).await;
    assert_eq!(r.body["alert_level"], 3);
    assert!(r.body["next_alert_at"].is_string());
    let escalated: Vec<&Value> = r.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "escalated")
        .collect();
    assert_eq!(escalated.len(), 2);
    assert!(escalated[0]["actor_id"].is_null());
    // how many were told, never whom: the customer reads the steps too
    let note = escalated[0]["note"].as_str().unwrap();
    assert!(
        note.contains("已通知2人") && note.contains("2 told"),
        "{note}"
    );
    assert!(
        !note.contains("+86") && !note.contains("technician"),
        "{note}"
    );
    let mine = app.get(&format!("/api/v1/rescues/{id}"), &s.advisor).await;
    assert!(!mine.body.to_string().contains("13912345678"));

    // the alerts leave through the outbox in the night
    app.dispatch_pending().await;
    let (sms, _, _) = app.sms.wait_for("+8613900000102").await;
    assert_eq!(sms["template"], "rescue_alert");
    assert!(
        sms["params"]["reason"].as_str().unwrap().contains("10分钟"),
        "{sms}"
    );
    let (boss, _, _) = app.sms.wait_for("+8613912345678").await;
    assert_eq!(boss["params"]["problem"], "车辆抛锚");

    // accepted now: the sweep leaves it alone for good
    let a = step(&app, &s.advisor, &id, "accept", json!({})).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["minutes_to_accept"], 41.0);
    app.clock.advance(Duration::minutes(30));
    assert_eq!(sweep().await.unwrap(), 0);
    assert_eq!(outbox(&app, MessageKind::RescueAlert).await.len(), 4);
}

#[tokio::test]
async fn a_double_tap_with_one_key_answers_one_rescue_and_one_alert() {
    let app = spawn_app_with(&[LONG_TOKENS]).await;
    let (s, _) = on_duty_shop(&app, "TAPS").await;
    let (_, vehicle) = owner(&app, &s, 4).await;
    let me = app.customer_token("TAPS", "13900000004").await;
    let body = rescue_body(&vehicle);
    let first = ask(&app, &me, &body, Some("k-1")).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let second = ask(&app, &me, &body, Some("k-1")).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    assert_eq!(second.body["id"], first.body["id"]);
    assert_eq!(second.headers.get("idempotent-replayed").unwrap(), "true");
    // another key, or none, while it is under way (a second tap that lost
    // its key): refused, no second rescue, no second alert
    let (a, b) = tokio::join!(
        ask(&app, &me, &body, Some("k-2")),
        ask(&app, &me, &body, None)
    );
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    assert_eq!(b.status, StatusCode::CONFLICT, "{}", b.body);
    // two taps at once without a key for another car: one rescue
    let (_, car2) = owner(&app, &s, 6).await;
    let me2 = app.customer_token("TAPS", "13900000006").await;
    let body2 = rescue_body(&car2);
    let (a, b) = tokio::join!(ask(&app, &me2, &body2, None), ask(&app, &me2, &body2, None));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::CREATED, StatusCode::CONFLICT],
        "{} {}",
        a.body,
        b.body
    );
    let rows = rescue::Entity::find().count(&app.state.db).await.unwrap();
    assert_eq!(rows, 2);
    assert_eq!(outbox(&app, MessageKind::RescueAlert).await.len(), 2);
    // the key with another body is refused
    let mut other = body.clone();
    other["problem"] = json!("battery");
    let r = ask(&app, &me, &other, Some("k-1")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}

#[tokio::test]
async fn bad_rescues_are_422_naming_the_field_and_write_nothing() {
    let app = spawn_app_with(&[LONG_TOKENS]).await;
    let (s, _) = on_duty_shop(&app, "BADIN").await;
    let (_, vehicle) = owner(&app, &s, 5).await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"location": {"lat": 91.0, "lng": 116.4}}),
            "location.lat",
        ),
        (
            json!({"location": {"lat": 39.9, "lng": -180.5}}),
            "location.lng",
        ),
        (json!({"problem": "flood"}), "problem"),
        (json!({"note": "坏了\u{0}"}), "note"),
        (json!({"note": "很".repeat(401)}), "note"),
        (
            json!({"location": {"lat": 39.9, "lng": 116.4, "address": "路".repeat(201)}}),
            "location.address",
        ),
        (json!({"contact_phone": "12345"}), "contact_phone"),
        (json!({"vehicle_id": Uuid::now_v7()}), "vehicle_id"),
    ];
    for (patch, field) in cases {
        let mut body = rescue_body(&vehicle);
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = ask(&app, &s.advisor, &body, None).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            r.body
        );
        assert!(
            r.problem_fields().iter().any(|f| f == field),
            "{field}: {}",
            r.body
        );
    }
    // a latitude beyond f64 is refused too, never a 500
    let raw = format!(
        r#"{{"vehicle_id":"{vehicle}","location":{{"lat":1e999,"lng":1}},"problem":"other","contact_phone":"13900000005"}}"#
    );
    let r = app.post_raw("/api/v1/rescues", &s.advisor, &raw).await;
    assert!(r.status.is_client_error(), "{}: {}", r.status, r.body);
    assert_eq!(
        rescue::Entity::find().count(&app.state.db).await.unwrap(),
        0
    );
    // a roster naming a stranger, a bad time and no days is refused by field
    let r = app
        .put(
            "/api/v1/rescue/roster",
            &s.manager,
            &json!({"shifts": [{"user_id": Uuid::now_v7(), "phone": "13900000101", "days": [], "start": "24:00", "end": "08:00", "order": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let fields = r.problem_fields();
    for f in ["shifts[0].days", "shifts[0].start"] {
        assert!(fields.iter().any(|x| x == f), "{f}: {}", r.body);
    }
    // a stale If-Match is 412; an advisor may not change the roster
    let roster = app.get("/api/v1/rescue/roster", &s.advisor).await;
    assert_eq!(roster.status, StatusCode::OK, "{}", roster.body);
    let r = app
        .send(
            app.http
                .put(app.url("/api/v1/rescue/roster"))
                .bearer_auth(&s.manager)
                .header("if-match", "\"7\"")
                .json(&json!({"shifts": []})),
        )
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.body);
    let r = app
        .put("/api/v1/rescue/roster", &s.advisor, &json!({"shifts": []}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // a night shift alone leaves the days uncovered, and says so
    let advisor = user_id(&app, "BADIN", "service_advisor").await;
    let r = app
        .send(
            app.http
                .put(app.url("/api/v1/rescue/roster"))
                .bearer_auth(&s.manager)
                .header("if-match", roster.etag())
                .json(&json!({"shifts": [{"user_id": advisor, "phone": "13900000101", "days": ["mon"], "start": "22:00", "end": "06:00", "order": 1}]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["gaps"][0],
        json!({"day": "mon", "from": "00:00", "to": "22:00"})
    );
    assert_eq!(
        r.body["gaps"][1],
        json!({"day": "tue", "from": "06:00", "to": "24:00"})
    );
}

#[tokio::test]
async fn two_staff_accepting_at_once_one_wins_and_the_other_is_told() {
    let app = spawn_app_with(&[LONG_TOKENS]).await;
    let (s, tech) = on_duty_shop(&app, "RACE").await;
    let (_, vehicle) = owner(&app, &s, 6).await;
    let r = ask(&app, &s.advisor, &rescue_body(&vehicle), None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let (a, b) = tokio::join!(
        step(&app, &s.advisor, &id, "accept", json!({})),
        step(&app, &tech, &id, "accept", json!({}))
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
    let r = app.get(&format!("/api/v1/rescues/{id}"), &s.advisor).await;
    let accepts = r.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "accept")
        .count();
    assert_eq!(accepts, 1);
    // the customer heard of it once
    let told = outbox(&app, MessageKind::RescueUpdate)
        .await
        .into_iter()
        .filter(|m| m.occurrence_key.ends_with(":accepted"))
        .count();
    assert_eq!(told, 1);
}

#[tokio::test]
async fn a_customer_cancels_their_rescue_before_help_arrives_and_it_no_longer_escalates() {
    let app = spawn_app_with(&[LONG_TOKENS]).await;
    let (s, _) = on_duty_shop(&app, "CANCEL").await;
    let (_, vehicle) = owner(&app, &s, 7).await;
    let me = app.customer_token("CANCEL", "13900000007").await;
    let r = ask(&app, &me, &rescue_body(&vehicle), None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let c = step(
        &app,
        &me,
        &id,
        "cancel",
        json!({"note": "朋友帮忙搭电，车已启动"}),
    )
    .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    assert_eq!(c.body["state"], "cancelled");
    assert!(c.body["cancelled_at"].is_string());
    assert!(c.body["next_alert_at"].is_null());
    // the same tap again answers the rescue as it is
    let again = step(
        &app,
        &me,
        &id,
        "cancel",
        json!({"note": "朋友帮忙搭电，车已启动"}),
    )
    .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["version"], c.body["version"]);
    // staff cannot take a cancelled rescue
    let late = step(&app, &s.advisor, &id, "accept", json!({})).await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.body);
    // nobody is chased for it
    app.clock.advance(Duration::minutes(15));
    let n = servicelane::services::rescues::escalate_due(&app.state, app.clock.now_utc())
        .await
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(outbox(&app, MessageKind::RescueAlert).await.len(), 1);
    let told = outbox(&app, MessageKind::RescueUpdate)
        .await
        .into_iter()
        .filter(|m| m.occurrence_key.ends_with(":cancelled"))
        .count();
    assert_eq!(told, 1);
}
