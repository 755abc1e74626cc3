//! One order's whole day, end to end, as the tablet, the workshop, the
//! cashier and the customer's app see it; the live stream follows it all.
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::appointments::{book, owner};
use crate::helpers::{NowUtc, TestApp};
use crate::inspection::{jpeg, upload};
use crate::repair_orders::sse_events;
use crate::workshop::{Floor, clock_off, clock_on, day_app, dispatch, floor, pay, qc, work};

fn job_id(o: &Value, description: &str) -> String {
    o["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["description"] == description)
        .unwrap_or_else(|| panic!("no job {description}: {o}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn ok(a: crate::helpers::Answer, what: &str) -> Value {
    assert!(a.status.is_success(), "{what}: {} {}", a.status, a.body);
    a.body
}

async fn read(app: &TestApp, f: &Floor, id: &str) -> Value {
    app.get(&format!("/api/v1/repair-orders/{id}"), &f.s.advisor)
        .await
        .body
}

#[tokio::test]
async fn a_whole_day_of_one_order_from_check_in_to_closed() {
    let app = day_app().await;
    let f = floor(&app, "DAY").await;
    let s = &f.s;
    let (_, vehicle) = owner(&app, s, 1).await;
    let customer = app.customer_token(&s.code, "13900000001").await;

    // 1. the booked car arrives and is checked in; the advisor opens the order
    let a = book(&app, s, &vehicle, &s.at(9, 0)).await;
    let appt = a.body["id"].as_str().unwrap().to_string();
    ok(
        app.post(
            &format!("/api/v1/appointments/{appt}/check-in"),
            Some(&s.advisor),
            &json!({}),
        )
        .await,
        "check-in",
    )
    .await;
    let o = ok(
        app.post(
            "/api/v1/repair-orders",
            Some(&s.advisor),
            &json!({"appointment_id": appt, "odometer_km": 23800, "concerns": ["刹车有异响"],
                    "promised_at": (app.clock.now_utc() + Duration::hours(8)).to_rfc3339()}),
        )
        .await,
        "open",
    )
    .await;
    let id = o["id"].as_str().unwrap().to_string();
    let base = format!("/api/v1/repair-orders/{id}");

    // the customer's app follows the order live from here
    let mut live = app
        .http
        .get(app.url(&format!("{base}/events")))
        .bearer_auth(&customer)
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), StatusCode::OK);

    // 2. walk-around with a photo of a scratch
    let photo = ok(
        upload(
            &app,
            &s.advisor,
            &id,
            &jpeg(7),
            &[("purpose", "walkaround"), ("item_code", "BODY_PANELS")],
            None,
        )
        .await,
        "photo",
    )
    .await;
    let w = app
        .put(
            &format!("{base}/walkaround"),
            &s.advisor,
            &json!({"items": [{"code": "BODY_PANELS", "status": "damage", "note": "左后门划痕", "photo_ids": [photo["id"]]},
                              {"code": "PROTECTION", "status": "ok"}],
                    "fuel_level": 40, "protection_fitted": true}),
        )
        .await;
    ok(w, "walk-around").await;

    // 3. a job beside the booked service, the estimate, the customer signs in the app
    let o = ok(
        app.post(
            &format!("{base}/jobs"),
            Some(&s.advisor),
            &json!({"description": "更换前刹车片", "labour_hours": "1.5",
                    "parts": [{"part_number": "BP-01", "name": "刹车片", "quantity": "2", "unit_price": "68.50"}]}),
        )
        .await,
        "job",
    )
    .await;
    assert_eq!(o["totals"]["total"]["gross"], "1067.00");
    let e = ok(
        app.post(&format!("{base}/estimate"), Some(&s.advisor), &json!({}))
            .await,
        "estimate",
    )
    .await;
    ok(
        app.post(
            &format!("{base}/estimate/accept"),
            Some(&customer),
            &json!({"version": e["version"], "signature": {"kind": "app", "device": "iPhone 15"}}),
        )
        .await,
        "accept",
    )
    .await;
    let service = job_id(&o, "小保养");
    let brakes = job_id(&o, "更换前刹车片");

    // 4. dispatch, clock on and off
    for j in [&service, &brakes] {
        ok(
            dispatch(&app, &f.foreman, &id, j, &f.tech_id, "normal").await,
            "dispatch",
        )
        .await;
    }
    work(&app, &f, &id, &service, 50, "机油机滤已更换").await;
    let on = clock_on(&app, &f.tech, &id, &brakes).await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    assert_eq!(read(&app, &f, &id).await["state"], "in_work");

    // 5. the health check finds worn wipers (red) and a weak battery (yellow)
    let h = ok(
        app.put(
            &format!("{base}/health-check"),
            &f.tech,
            &json!({"items": [{"code": "WIPERS", "rating": "red", "note": "刮不干净"},
                              {"code": "BATTERY", "rating": "yellow", "measurement": "11.9"},
                              {"code": "ENGINE_OIL", "rating": "green"}]}),
        )
        .await,
        "health check",
    )
    .await;
    assert_eq!(h["proposed_lines"].as_array().unwrap().len(), 2);
    app.clock.advance(Duration::minutes(80));
    ok(
        clock_off(
            &app,
            &f.tech,
            &id,
            &brakes,
            json!({"reason": "done", "note": "前刹车片已换"}),
        )
        .await,
        "clock off",
    )
    .await;

    // 6. extra work: the customer approves the wipers, declines the battery on the phone
    let p = ok(
        app.post(
            &format!("{base}/extra-work"),
            Some(&s.advisor),
            &json!({"lines": [
                {"description": "更换雨刮片", "labour_hours": "0.25", "health_item_code": "WIPERS",
                 "parts": [{"part_number": "WB-22", "name": "雨刮片", "quantity": "1", "unit_price": "80.00"}]},
                {"description": "更换蓄电池", "labour_hours": "0.3", "health_item_code": "BATTERY",
                 "parts": [{"part_number": "BAT-60", "name": "蓄电池", "quantity": "1", "unit_price": "650.00"}]}]}),
        )
        .await,
        "extra work",
    )
    .await;
    let wipers = job_id(&p, "更换雨刮片");
    let battery = job_id(&p, "更换蓄电池");
    ok(
        app.post(
            &format!("{base}/extra-work/{wipers}/approve"),
            Some(&customer),
            &json!({}),
        )
        .await,
        "approve",
    )
    .await;
    ok(
        app.post(
            &format!("{base}/extra-work/{battery}/decline"),
            Some(&s.advisor),
            &json!({"by": "phone", "note": "下次再换"}),
        )
        .await,
        "decline",
    )
    .await;
    // a declined line never starts
    let refused = dispatch(&app, &f.foreman, &id, &battery, &f.tech_id, "normal").await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    ok(
        dispatch(&app, &f.foreman, &id, &wipers, &f.tech_id, "normal").await,
        "dispatch wipers",
    )
    .await;
    work(&app, &f, &id, &wipers, 15, "雨刮片已换").await;

    // 7. three-level QC: the final check fails the brakes once
    ok(
        qc(&app, &f.tech, &id, "self", true, &[]).await,
        "self check",
    )
    .await;
    ok(
        qc(&app, &f.foreman, &id, "foreman", true, &[]).await,
        "foreman check",
    )
    .await;
    let failed = ok(
        qc(&app, &f.qc, &id, "final", false, &[brakes.as_str()]).await,
        "final check",
    )
    .await;
    let _ = failed;
    let o = read(&app, &f, &id).await;
    assert_eq!(o["state"], "in_work");
    assert_eq!(o["qc_reworks"], 1);
    assert_eq!(
        o["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["id"] == brakes.as_str())
            .unwrap()["state"],
        "rework"
    );
    work(&app, &f, &id, &brakes, 20, "刹车分泵排气").await;
    ok(
        qc(&app, &f.tech, &id, "self", true, &[]).await,
        "self check 2",
    )
    .await;
    ok(
        qc(&app, &f.foreman, &id, "foreman", true, &[]).await,
        "foreman check 2",
    )
    .await;
    ok(
        qc(&app, &f.qc, &id, "final", true, &[]).await,
        "final check 2",
    )
    .await;
    let washed = ok(
        app.post(&format!("{base}/wash-done"), Some(&f.foreman), &json!({}))
            .await,
        "wash",
    )
    .await;
    let _ = washed;
    assert_eq!(read(&app, &f, &id).await["state"], "ready");

    // 8. the invoice: the approved extra work is 14.5 % over the signed estimate, so the
    //    customer signs the new total before the car may go
    let inv = app.get(&format!("{base}/invoice"), &customer).await;
    assert_eq!(inv.status, StatusCode::OK, "{}", inv.body);
    assert_eq!(inv.body["estimate_customer_total"], "1067.00");
    assert_eq!(inv.body["final_customer_total"], "1222.00", "{}", inv.body);
    assert_eq!(inv.body["needs_customer_approval"], true);
    let held = app
        .post(
            &format!("{base}/deliver"),
            Some(&s.advisor),
            &json!({"explained": true}),
        )
        .await;
    assert_eq!(held.status, StatusCode::CONFLICT, "{}", held.body);
    let e2 = ok(
        app.post(&format!("{base}/estimate"), Some(&s.advisor), &json!({}))
            .await,
        "estimate 2",
    )
    .await;
    ok(
        app.post(
            &format!("{base}/estimate/accept"),
            Some(&customer),
            &json!({"version": e2["version"], "signature": {"kind": "app"}}),
        )
        .await,
        "accept 2",
    )
    .await;

    // 9. two partial payments, the handover, closed
    let first = ok(
        pay(&app, &f.cashier, &id, "500.00", Some("till-1-a")).await,
        "payment 1",
    )
    .await;
    assert_eq!(first["balance"], "722.00", "{first}");
    let second = ok(
        pay(&app, &f.cashier, &id, "722.00", Some("till-1-b")).await,
        "payment 2",
    )
    .await;
    assert_eq!(second["balance"], "0.00");
    let d = ok(
        app.post(
            &format!("{base}/deliver"),
            Some(&s.advisor),
            &json!({"explained": true}),
        )
        .await,
        "deliver",
    )
    .await;
    assert_eq!(d["state"], "closed", "{d}");
    assert!(d["delivered_at"].is_string() && d["closed_at"].is_string());

    // 10. declined work is offered again on the invitation list
    let today = app.clock.now_utc().with_timezone(&s.tz).date_naive();
    let to = today + Duration::days(30);
    let list = app
        .get(
            &format!("/api/v1/appointments/invitations?from={today}&to={to}"),
            &s.advisor,
        )
        .await;
    let inv = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["vehicle"]["id"] == vehicle.as_str())
        .unwrap_or_else(|| panic!("not invited: {}", list.body))
        .clone();
    assert!(
        inv["suggested"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["reason"] == "declined_work"),
        "{inv}"
    );

    // 11. the timeline has every step, in order, and the live stream carried each one, then ended
    let t = app.get(&format!("{base}/timeline"), &customer).await.body;
    let timeline: Vec<(i64, String)> = t
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["seq"].as_i64().unwrap(),
                e["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let kinds: Vec<&str> = timeline.iter().map(|(_, k)| k.as_str()).collect();
    for k in [
        "opened",
        "job_added",
        "photo_added",
        "walkaround_recorded",
        "estimate_created",
        "estimate_accepted",
        "job_dispatched",
        "clocked_on",
        "clocked_off",
        "health_check_recorded",
        "extra_work_proposed",
        "extra_work_approved",
        "extra_work_declined",
        "qc_recorded",
        "washed",
        "payment_received",
        "delivered",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let states: Vec<&str> = t
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["to_state"].as_str())
        .collect();
    assert_eq!(
        states,
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
    let streamed = sse_events(&mut live, timeline.len()).await;
    let streamed: Vec<(i64, String)> = streamed.into_iter().map(|(i, k, _)| (i, k)).collect();
    assert_eq!(streamed, timeline);
    // the order is closed: the stream ends after its last event
    let rest = tokio::time::timeout(std::time::Duration::from_secs(10), live.chunk())
        .await
        .expect("the stream of a closed order ends")
        .unwrap();
    assert!(rest.is_none(), "{rest:?}");
}
