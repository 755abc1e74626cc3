//! Repair orders: reception, jobs, estimate and signature, the timeline.
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::appointments::{Shop, book, owner, shop};
use crate::helpers::{NowUtc, TestApp, spawn_app};
use servicelane::domain::Role;

/// A shop with a checked-in appointment: (shop, appointment id, vehicle id).
pub(crate) async fn checked_in(app: &TestApp, code: &str, n: u32) -> (Shop, String, String) {
    let s = shop(app, code, "Asia/Shanghai", 3, 3).await;
    let (_, v) = owner(app, &s, n).await;
    let a = book(app, &s, &v, &s.at(9, 0)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let id = a.body["id"].as_str().unwrap().to_string();
    let c = app
        .post(
            &format!("/api/v1/appointments/{id}/check-in"),
            Some(&s.advisor),
            &json!({}),
        )
        .await;
    assert_eq!(c.body["state"], "checked_in", "{}", c.body);
    (s, id, v)
}

/// Opens an order for a walk-in vehicle; answers the order.
pub(crate) async fn walk_in(app: &TestApp, s: &Shop, vehicle: &str) -> Value {
    let o = app
        .post(
            "/api/v1/repair-orders",
            Some(&s.advisor),
            &json!({"vehicle_id": vehicle, "concerns": ["异响"], "odometer_km": 12000}),
        )
        .await;
    assert_eq!(o.status, StatusCode::CREATED, "{}", o.body);
    o.body
}

/// Adds a described job; answers the order.
pub(crate) async fn add_job(app: &TestApp, token: &str, order: &str, body: Value) -> Value {
    let j = app
        .post(
            &format!("/api/v1/repair-orders/{order}/jobs"),
            Some(token),
            &body,
        )
        .await;
    assert_eq!(j.status, StatusCode::CREATED, "{}", j.body);
    j.body
}

/// Freezes and accepts the estimate on the tablet with a typed name.
#[allow(dead_code)] // used by the workshop tests
pub(crate) async fn estimate_and_accept(app: &TestApp, s: &Shop, order: &str) -> Value {
    let e = app
        .post(
            &format!("/api/v1/repair-orders/{order}/estimate"),
            Some(&s.advisor),
            &json!({}),
        )
        .await;
    assert_eq!(e.status, StatusCode::CREATED, "{}", e.body);
    let v = e.body["version"].clone();
    let a = app
        .post(
            &format!("/api/v1/repair-orders/{order}/estimate/accept"),
            Some(&s.advisor),
            &json!({"version": v, "signature": {"kind": "typed", "name": "王小明", "device": "iPad-3"}}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    a.body
}

#[tokio::test]
async fn an_appointment_becomes_an_order_with_its_services_as_jobs_and_is_signed() {
    let app = spawn_app().await;
    let (s, appt, v) = checked_in(&app, "RO1", 1).await;
    let o = app
        .post(
            "/api/v1/repair-orders",
            Some(&s.advisor),
            &json!({"appointment_id": appt, "odometer_km": 15000, "concerns": ["刹车异响", "空调不凉"]}),
        )
        .await;
    assert_eq!(o.status, StatusCode::CREATED, "{}", o.body);
    let order = o.body["id"].as_str().unwrap().to_string();
    let today = app
        .clock
        .now_utc()
        .with_timezone(&s.tz)
        .format("%Y%m%d")
        .to_string();
    assert_eq!(o.body["number"], format!("RO{today}0001"));
    assert_eq!(o.body["state"], "open");
    assert_eq!(o.body["vehicle"]["id"], v.as_str());
    assert_eq!(o.body["concerns"], json!(["刹车异响", "空调不凉"]));
    assert_eq!(o.body["received_within_5_minutes"], true);
    // the booked menu item is a job at its package price
    assert_eq!(o.body["jobs"][0]["menu_code"], "MAINT-10K");
    assert_eq!(o.body["jobs"][0]["total"], "480.00");
    assert_eq!(o.body["totals"]["total"]["gross"], "480.00");
    assert_eq!(o.etag(), "\"2\"");

    // the appointment is in service, linked to the order; the odometer is a reading
    let a = app
        .get(&format!("/api/v1/appointments/{appt}"), &s.advisor)
        .await;
    assert_eq!(a.body["state"], "in_service");
    assert_eq!(a.body["repair_order_id"], order.as_str());
    let km = app
        .get(&format!("/api/v1/vehicles/{v}/mileage"), &s.advisor)
        .await;
    assert_eq!(km.body[0]["mileage_km"], 15000, "{}", km.body);
    // a second order from the same appointment is refused
    let again = app
        .post(
            "/api/v1/repair-orders",
            Some(&s.advisor),
            &json!({"appointment_id": appt}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);

    // a described job at the dealer's rate: 1.5 h × 300 + 2 × 68.50
    let o = add_job(
        &app,
        &s.advisor,
        &order,
        json!({"description": "更换前刹车片", "labour_hours": "1.5", "skill": "mechanical",
               "parts": [{"part_number": "BP-01", "name": "刹车片", "quantity": "2", "unit_price": "68.50"}]}),
    )
    .await;
    assert_eq!(o["jobs"][1]["total"], "587.00");
    assert_eq!(o["totals"]["total"]["gross"], "1067.00");

    // nothing may be clocked or dispatched before acceptance; a technician may not add jobs
    let (_, tech) = app.staff(&s.code, Role::Technician).await;
    let refused = app
        .post(
            &format!("/api/v1/repair-orders/{order}/jobs"),
            Some(&tech),
            &json!({"description": "x", "labour_hours": "1"}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // estimate v1, then a change makes v2: accepting v1 is stale
    let e1 = app
        .post(
            &format!("/api/v1/repair-orders/{order}/estimate"),
            Some(&s.advisor),
            &json!({}),
        )
        .await;
    assert_eq!(e1.body["version"], 1);
    assert_eq!(e1.body["sha256"].as_str().unwrap().len(), 64);
    let job = &o["jobs"][1];
    let patched = app
        .patch(
            &format!(
                "/api/v1/repair-orders/{order}/jobs/{}",
                job["id"].as_str().unwrap()
            ),
            &s.advisor,
            Some(&format!("\"{}\"", job["version"])),
            &json!({"labour_hours": "2"}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["jobs"][1]["total"], "737.00");
    let e2 = app
        .post(
            &format!("/api/v1/repair-orders/{order}/estimate"),
            Some(&s.advisor),
            &json!({}),
        )
        .await;
    assert_eq!(e2.body["version"], 2);
    assert_ne!(e1.body["sha256"], e2.body["sha256"]);
    let stale = app
        .post(
            &format!("/api/v1/repair-orders/{order}/estimate/accept"),
            Some(&s.advisor),
            &json!({"version": 1, "signature": {"kind": "typed", "name": "王小明"}}),
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);

    // the customer accepts v2 in the app
    let customer = app.customer_token(&s.code, "13900000001").await;
    let mine = app
        .get(&format!("/api/v1/repair-orders/{order}"), &customer)
        .await;
    assert_eq!(mine.status, StatusCode::OK);
    let drawn_by_customer = app
        .post(
            &format!("/api/v1/repair-orders/{order}/estimate/accept"),
            Some(&customer),
            &json!({"version": 2, "signature": {"kind": "typed", "name": "x"}}),
        )
        .await;
    assert_eq!(drawn_by_customer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ok = app
        .post(
            &format!("/api/v1/repair-orders/{order}/estimate/accept"),
            Some(&customer),
            &json!({"version": 2, "signature": {"kind": "app", "device": "iPhone"}}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["sha256"], e2.body["sha256"]);
    assert!(ok.body["accepted_at"].is_string());
    let o = app
        .get(&format!("/api/v1/repair-orders/{order}"), &s.advisor)
        .await;
    assert_eq!(o.body["state"], "estimate_accepted");
    assert_eq!(o.body["accepted_estimate_version"], 2);

    // after acceptance, jobs change only through extra work
    let late = app
        .post(
            &format!("/api/v1/repair-orders/{order}/jobs"),
            Some(&s.advisor),
            &json!({"description": "洗车", "labour_hours": "0.5"}),
        )
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.body);

    // the timeline tells the story in order
    let t = app
        .get(
            &format!("/api/v1/repair-orders/{order}/timeline"),
            &customer,
        )
        .await;
    let kinds: Vec<&str> = t
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "opened",
            "job_added",
            "job_added",
            "estimate_created",
            "job_updated",
            "estimate_created",
            "estimate_accepted",
            "state_changed"
        ]
    );
    let seqs: Vec<i64> = t
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=8).collect::<Vec<_>>());

    // another customer sees nothing
    let (_, _) = owner(&app, &s, 2).await;
    let other = app.customer_token(&s.code, "13900000002").await;
    assert_eq!(
        app.get(&format!("/api/v1/repair-orders/{order}"), &other)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let list = app.get("/api/v1/repair-orders", &other).await;
    assert_eq!(list.body["items"], json!([]));
}

#[tokio::test]
async fn forty_tablets_opening_at_once_get_forty_consecutive_numbers() {
    let app = spawn_app().await;
    let s = shop(&app, "RO40", "Asia/Shanghai", 3, 3).await;
    let mut vehicles = Vec::new();
    for n in 0..40 {
        vehicles.push(owner(&app, &s, 100 + n).await.1);
    }
    let bodies: Vec<Value> = vehicles.iter().map(|v| json!({"vehicle_id": v})).collect();
    let opens = bodies
        .iter()
        .map(|b| app.post("/api/v1/repair-orders", Some(&s.advisor), b));
    let answers = futures_util::future::join_all(opens).await;
    let mut numbers: Vec<String> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
            a.body["number"].as_str().unwrap().to_string()
        })
        .collect();
    numbers.sort();
    let today = app
        .clock
        .now_utc()
        .with_timezone(&s.tz)
        .format("%Y%m%d")
        .to_string();
    let expected: Vec<String> = (1..=40).map(|n| format!("RO{today}{n:04}")).collect();
    assert_eq!(numbers, expected);
}

#[tokio::test]
async fn two_tablets_with_one_etag_one_wins_and_the_other_is_told() {
    let app = spawn_app().await;
    let s = shop(&app, "ROET", "Asia/Shanghai", 3, 3).await;
    let (_, v) = owner(&app, &s, 1).await;
    let o = walk_in(&app, &s, &v).await;
    let id = o["id"].as_str().unwrap();
    let etag = format!("\"{}\"", o["version"]);
    let path = format!("/api/v1/repair-orders/{id}");
    let (notes, fuel) = (
        json!({"notes": "客户在休息区等候"}),
        json!({"fuel_level": 40}),
    );
    let (a, b) = tokio::join!(
        app.patch(&path, &s.advisor, Some(&etag), &notes),
        app.patch(&path, &s.advisor, Some(&etag), &fuel)
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::PRECONDITION_FAILED],
        "{} {}",
        a.body,
        b.body
    );
    let now = app.get(&path, &s.advisor).await;
    // exactly one edit landed, and the loser was told rather than overwritten
    let notes_won = now.body["notes"] == "客户在休息区等候";
    let fuel_won = now.body["fuel_level"] == 40;
    assert!(notes_won ^ fuel_won, "{}", now.body);
    let missing = app
        .patch(&path, &s.advisor, None, &json!({"notes": "x"}))
        .await;
    assert_eq!(missing.status, StatusCode::PRECONDITION_REQUIRED);
}

#[tokio::test]
async fn bad_orders_and_jobs_are_422_naming_the_field_and_write_nothing() {
    let app = spawn_app().await;
    let s = shop(&app, "ROBAD", "Asia/Shanghai", 3, 3).await;
    let (_, v) = owner(&app, &s, 1).await;
    for (body, field) in [
        (json!({}), "vehicle_id"),
        (json!({"vehicle_id": v, "fuel_level": 101}), "fuel_level"),
        (json!({"vehicle_id": v, "odometer_km": -1}), "odometer_km"),
        (
            json!({"vehicle_id": v, "concerns": ["a\u{0000}b"]}),
            "concerns[0]",
        ),
        (
            json!({"vehicle_id": v, "promised_at": "+262142-01-01T00:00:00Z"}),
            "promised_at",
        ),
        (
            json!({"vehicle_id": v, "arrived_at": "2020-01-01T00:00:00+08:00"}),
            "arrived_at",
        ),
    ] {
        let a = app
            .post("/api/v1/repair-orders", Some(&s.advisor), &body)
            .await;
        assert!(
            a.status == StatusCode::UNPROCESSABLE_ENTITY || a.status == StatusCode::BAD_REQUEST,
            "{body}: {} {}",
            a.status,
            a.body
        );
        assert!(a.body.to_string().contains(field), "{body}: {}", a.body);
    }
    let list = app.get("/api/v1/repair-orders", &s.advisor).await;
    assert_eq!(list.body["items"], json!([]));

    let o = walk_in(&app, &s, &v).await;
    let id = o["id"].as_str().unwrap();
    for (body, field) in [
        (json!({"labour_hours": "1"}), "description"),
        (
            json!({"description": "x", "labour_hours": "0"}),
            "labour_hours",
        ),
        (
            json!({"description": "x", "labour_hours": "1.234"}),
            "labour_hours",
        ),
        (
            json!({"description": "x", "labour_hours": "1", "labour_rate": "79228162514264337593543950335"}),
            "labour_rate",
        ),
        (
            json!({"description": "x", "labour_hours": "1", "skill": "plumbing"}),
            "skill",
        ),
        (
            json!({"description": "x", "labour_hours": "1", "parts": [{"part_number": "P", "name": "p", "quantity": "1", "unit_price": "-1"}]}),
            "parts[0].unit_price",
        ),
        (json!({"menu_code": "NOPE"}), "menu_code"),
    ] {
        let a = app
            .post(
                &format!("/api/v1/repair-orders/{id}/jobs"),
                Some(&s.advisor),
                &body,
            )
            .await;
        assert!(
            a.status == StatusCode::UNPROCESSABLE_ENTITY || a.status == StatusCode::BAD_REQUEST,
            "{body}: {} {}",
            a.status,
            a.body
        );
        assert!(a.body.to_string().contains(field), "{body}: {}", a.body);
    }
    let after = app
        .get(&format!("/api/v1/repair-orders/{id}"), &s.advisor)
        .await;
    assert_eq!(after.body["jobs"], json!([]));
    // a lower odometer than the vehicle's last reading is refused
    let lower = app
        .post(
            "/api/v1/repair-orders",
            Some(&s.advisor),
            &json!({"vehicle_id": v, "odometer_km": 100}),
        )
        .await;
    assert_eq!(
        lower.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        lower.body
    );
    assert_eq!(lower.problem_fields(), ["odometer_km"]);
}

#[tokio::test]
async fn a_retried_open_with_the_same_key_answers_the_first_order() {
    let app = spawn_app().await;
    let s = shop(&app, "ROKEY", "Asia/Shanghai", 3, 3).await;
    let (_, v) = owner(&app, &s, 1).await;
    let send = || {
        app.send(
            app.http
                .post(app.url("/api/v1/repair-orders"))
                .bearer_auth(&s.advisor)
                .header("Idempotency-Key", "tablet-7-open-1")
                .json(&json!({"vehicle_id": v})),
        )
    };
    let (a, b) = tokio::join!(send(), send());
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(b.status, StatusCode::CREATED, "{}", b.body);
    assert_eq!(a.body["id"], b.body["id"]);
    let list = app.get("/api/v1/repair-orders", &s.advisor).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
}

/// Records a clean walk-around; answers it.
pub(crate) async fn walkaround(app: &TestApp, s: &Shop, order: &str) -> Value {
    let w = app
        .put(
            &format!("/api/v1/repair-orders/{order}/walkaround"),
            &s.advisor,
            &json!({"items": [{"code": "BODY_PANELS", "status": "damage", "note": "左后门划痕", "position": {"x": 0.2, "y": 0.7}},
                              {"code": "PROTECTION", "status": "ok"}],
                    "fuel_level": 50, "valuables": "行车记录仪", "protection_fitted": true}),
        )
        .await;
    assert_eq!(w.status, StatusCode::OK, "{}", w.body);
    w.body
}

#[tokio::test]
async fn the_walkaround_takes_only_checklist_items_and_is_on_the_timeline() {
    let app = spawn_app().await;
    let s = shop(&app, "ROWA", "Asia/Shanghai", 3, 3).await;
    let (_, v) = owner(&app, &s, 1).await;
    let o = walk_in(&app, &s, &v).await;
    let id = o["id"].as_str().unwrap();
    let path = format!("/api/v1/repair-orders/{id}/walkaround");
    assert_eq!(
        app.get(&path, &s.advisor).await.status,
        StatusCode::NOT_FOUND
    );
    for (body, field) in [
        (
            json!({"items": [{"code": "TELEPORTER", "status": "ok"}], "protection_fitted": true}),
            "items[0].code",
        ),
        (
            json!({"items": [{"code": "GLASS", "status": "ok", "position": {"x": 2.0, "y": 0.1}}], "protection_fitted": true}),
            "items[0].position",
        ),
        (
            json!({"items": [{"code": "GLASS", "status": "ok", "photo_ids": [o["id"]]}], "protection_fitted": true}),
            "items[0].photo_ids",
        ),
        (
            json!({"items": [], "fuel_level": 120, "protection_fitted": true}),
            "fuel_level",
        ),
    ] {
        let a = app.put(&path, &s.advisor, &body).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            a.body
        );
        assert_eq!(a.problem_fields(), [field], "{}", a.body);
    }
    let (_, tech) = app.staff(&s.code, Role::Technician).await;
    assert_eq!(
        app.put(
            &path,
            &tech,
            &json!({"items": [], "protection_fitted": true})
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let w = walkaround(&app, &s, id).await;
    assert_eq!(w["items"][0]["status"], "damage");
    let read = app.get(&path, &s.advisor).await;
    assert_eq!(read.body["valuables"], "行车记录仪");
    let order = app
        .get(&format!("/api/v1/repair-orders/{id}"), &s.advisor)
        .await;
    assert_eq!(order.body["walkaround_done"], true);
    assert_eq!(order.body["fuel_level"], 50);
    let t = app
        .get(&format!("/api/v1/repair-orders/{id}/timeline"), &s.advisor)
        .await;
    let last = t.body.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "walkaround_recorded");
    assert_eq!(last["data"]["damage"], 1);
}

/// Reads SSE frames from `resp` until `n` events have come (or 10 s pass);
/// answers (id, event, data) of each.
pub(crate) async fn sse_events(
    resp: &mut reqwest::Response,
    n: usize,
) -> Vec<(i64, String, Value)> {
    let mut buf = String::new();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while out.len() < n {
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .expect("the stream went quiet")
            .unwrap()
            .expect("the stream ended");
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let (mut id, mut event, mut data) = (None, String::new(), Value::Null);
            for line in frame.lines() {
                if let Some(v) = line.strip_prefix("id: ") {
                    id = Some(v.parse::<i64>().unwrap());
                } else if let Some(v) = line.strip_prefix("event: ") {
                    event = v.to_string();
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(v).unwrap();
                }
            }
            if let Some(id) = id {
                out.push((id, event, data));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_event_stream_carries_each_change_and_resumes_from_last_event_id() {
    let app = spawn_app().await;
    let s = shop(&app, "ROSSE", "Asia/Shanghai", 3, 3).await;
    let (_, v) = owner(&app, &s, 1).await;
    let o = walk_in(&app, &s, &v).await;
    let id = o["id"].as_str().unwrap();
    let url = app.url(&format!("/api/v1/repair-orders/{id}/events"));
    let customer = app.customer_token(&s.code, "13900000001").await;
    let mut live = app
        .http
        .get(&url)
        .bearer_auth(&customer)
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    assert!(
        live.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let first = sse_events(&mut live, 1).await;
    assert_eq!((first[0].0, first[0].1.as_str()), (1, "opened"));
    assert_eq!(first[0].2["kind"], "opened");

    // a change made after the stream opened arrives on it
    let etag = format!("\"{}\"", o["version"]);
    let p = app
        .patch(
            &format!("/api/v1/repair-orders/{id}"),
            &s.advisor,
            Some(&etag),
            &json!({"notes": "客户等候"}),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let next = sse_events(&mut live, 1).await;
    assert_eq!((next[0].0, next[0].1.as_str()), (2, "updated"));
    assert_eq!(next[0].2["data"]["notes"], "客户等候");
    drop(live);

    // more happens while the app is away; it resumes after the last id it had
    add_job(
        &app,
        &s.advisor,
        id,
        json!({"description": "检查异响", "labour_hours": "0.5"}),
    )
    .await;
    let mut resumed = app
        .http
        .get(&url)
        .bearer_auth(&customer)
        .header("Last-Event-ID", "2")
        .send()
        .await
        .unwrap();
    let got = sse_events(&mut resumed, 1).await;
    assert_eq!((got[0].0, got[0].1.as_str()), (3, "job_added"));

    let bad = app
        .send(
            app.http
                .get(&url)
                .bearer_auth(&customer)
                .header("Last-Event-ID", "yesterday"),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, _) = owner(&app, &s, 2).await;
    let other = app.customer_token(&s.code, "13900000002").await;
    let refused = app.send(app.http.get(&url).bearer_auth(&other)).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_stream_on_one_instance_hears_a_change_made_on_another() {
    let a = spawn_app().await;
    if !a.database_url.starts_with("postgres") {
        // one instance per SQLite file: the feed is local there
        return;
    }
    // the second instance polls only hourly: what reaches it comes by LISTEN/NOTIFY
    let b = crate::helpers::spawn_app_with(&[
        ("SERVICELANE__DATABASE__URL", a.database_url.as_str()),
        ("SERVICELANE__FEED__POLL_SECS", "3600"),
    ])
    .await;
    let s = shop(&a, "ROINST", "Asia/Shanghai", 3, 3).await;
    let (_, v) = owner(&a, &s, 1).await;
    let o = walk_in(&a, &s, &v).await;
    let id = o["id"].as_str().unwrap();
    let mut on_b = b
        .http
        .get(b.url(&format!("/api/v1/repair-orders/{id}/events")))
        .bearer_auth(&s.advisor)
        .send()
        .await
        .unwrap();
    assert_eq!(on_b.status(), StatusCode::OK);
    assert_eq!(sse_events(&mut on_b, 1).await[0].1, "opened");
    let etag = format!("\"{}\"", o["version"]);
    let p = a
        .patch(
            &format!("/api/v1/repair-orders/{id}"),
            &s.advisor,
            Some(&etag),
            &json!({"notes": "来自另一台实例"}),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let got = sse_events(&mut on_b, 1).await;
    assert_eq!((got[0].0, got[0].1.as_str()), (2, "updated"));
}

#[tokio::test]
async fn an_order_keeps_the_vat_rule_it_was_opened_with() {
    let app = spawn_app().await;
    let s = shop(&app, "ROVAT", "Asia/Shanghai", 3, 3).await;
    let (_, v) = owner(&app, &s, 1).await;
    let o = walk_in(&app, &s, &v).await;
    let id = o["id"].as_str().unwrap();
    let before = add_job(
        &app,
        &s.advisor,
        id,
        json!({"description": "检查", "labour_hours": "1"}),
    )
    .await;
    assert_eq!(before["totals"]["total"]["gross"], "300.00");
    assert_eq!(before["totals"]["total"]["vat"], "34.51");
    let mut settings = app.get("/api/v1/workshop/settings", &s.manager).await.body;
    settings["vat_percent"] = json!("6");
    settings["prices_include_vat"] = json!(false);
    let put = app
        .put("/api/v1/workshop/settings", &s.manager, &settings)
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    // the open order's money does not move with the settings …
    let after = app
        .get(&format!("/api/v1/repair-orders/{id}"), &s.advisor)
        .await;
    assert_eq!(after.body["totals"], before["totals"]);
    // … a new order takes the new rule
    let (_, v2) = owner(&app, &s, 2).await;
    let o2 = walk_in(&app, &s, &v2).await;
    let o2 = add_job(
        &app,
        &s.advisor,
        o2["id"].as_str().unwrap(),
        json!({"description": "检查", "labour_hours": "1"}),
    )
    .await;
    assert_eq!(o2["totals"]["total"]["vat"], "18.00");
    assert_eq!(o2["totals"]["total"]["gross"], "318.00");
}
