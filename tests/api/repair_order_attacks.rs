//! Repair orders attacked from the outside: other dealers' and customers'
//! ids, the wrong roles, garbage input, limits, repeats and races.
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::appointments::{Shop, owner, shop};
use crate::helpers::{Answer, TestApp, multipart, spawn_app_with};
use crate::repair_orders::{add_job, estimate_and_accept, walk_in, walkaround};
use servicelane::domain::Role;

async fn day_app() -> TestApp {
    spawn_app_with(&[("SERVICELANE__AUTH__ACCESS_TTL_SECS", "86400")]).await
}

fn brakes() -> Value {
    json!({"description": "更换前刹车片", "labour_hours": "1.5", "skill": "mechanical",
           "parts": [{"part_number": "BP-01", "name": "刹车片", "quantity": "2", "unit_price": "68.50"}]})
}

struct Floor {
    s: Shop,
    tech: String,
    tech_id: String,
    foreman: String,
    qc: String,
    cashier: String,
}

async fn me(app: &TestApp, token: &str) -> Value {
    app.get("/api/v1/me", token).await.body
}

async fn floor(app: &TestApp, code: &str) -> Floor {
    let s = shop(app, code, "Asia/Shanghai", 3, 3).await;
    let (_, tech) = app.staff(code, Role::Technician).await;
    let tech_id = me(app, &tech).await["id"].as_str().unwrap().to_string();
    let (_, foreman) = app.staff(code, Role::WorkshopForeman).await;
    let (_, qc) = app.staff(code, Role::QcInspector).await;
    let (_, cashier) = app.staff(code, Role::Cashier).await;
    let k = app
        .put(
            &format!("/api/v1/users/{tech_id}/skills"),
            &s.manager,
            &json!({"skills": ["mechanical", "electrical"]}),
        )
        .await;
    assert_eq!(k.status, StatusCode::OK, "{}", k.body);
    Floor {
        s,
        tech,
        tech_id,
        foreman,
        qc,
        cashier,
    }
}

/// A walked-around order of customer `n` with `jobs`, its estimate accepted.
async fn accepted(app: &TestApp, s: &Shop, n: u32, jobs: &[Value]) -> (String, Vec<String>) {
    let (_, v) = owner(app, s, n).await;
    let o = walk_in(app, s, &v).await;
    let id = o["id"].as_str().unwrap().to_string();
    for j in jobs {
        add_job(app, &s.advisor, &id, j.clone()).await;
    }
    walkaround(app, s, &id).await;
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

async fn pay(app: &TestApp, token: &str, order: &str, amount: &str, key: Option<&str>) -> Answer {
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

fn qc_body(level: &str, passed: bool, rework: &[&str]) -> Value {
    json!({"level": level, "passed": passed,
           "checklist": [{"code": "BRAKES", "ok": passed}],
           "rework_job_ids": rework})
}

async fn qc(app: &TestApp, token: &str, order: &str, level: &str, passed: bool) -> Answer {
    app.post(
        &format!("/api/v1/repair-orders/{order}/qc"),
        Some(token),
        &qc_body(level, passed, &[]),
    )
    .await
}

/// Dispatches and works the job to done.
async fn work(app: &TestApp, f: &Floor, order: &str, job: &str) {
    let path = format!("/api/v1/repair-orders/{order}/jobs/{job}");
    let d = app
        .post(
            &format!("{path}/dispatch"),
            Some(&f.foreman),
            &json!({"technician_id": f.tech_id, "priority": "normal"}),
        )
        .await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    let on = app
        .post(&format!("{path}/clock-on"), Some(&f.tech), &json!({}))
        .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    app.clock.advance(Duration::minutes(30));
    let off = app
        .post(
            &format!("{path}/clock-off"),
            Some(&f.tech),
            &json!({"reason": "done", "note": "已完成"}),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
}

/// An order through the self and foreman checks, waiting for the final one.
async fn at_final_qc(app: &TestApp, f: &Floor, n: u32) -> (String, Vec<String>) {
    let (o, jobs) = accepted(app, &f.s, n, &[brakes()]).await;
    work(app, f, &o, &jobs[0]).await;
    for (token, level) in [(&f.tech, "self"), (&f.foreman, "foreman")] {
        let a = qc(app, token, &o, level, true).await;
        assert_eq!(a.status, StatusCode::OK, "{level}: {}", a.body);
    }
    (o, jobs)
}

/// An order washed and ready for delivery.
async fn ready(app: &TestApp, f: &Floor, n: u32) -> String {
    let (o, _) = at_final_qc(app, f, n).await;
    let a = qc(app, &f.qc, &o, "final", true).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let w = app
        .post(
            &format!("/api/v1/repair-orders/{o}/wash-done"),
            Some(&f.s.advisor),
            &json!({}),
        )
        .await;
    assert_eq!(w.status, StatusCode::OK, "{}", w.body);
    assert_eq!(w.body["state"], "ready");
    o
}

fn problem_422(a: &Answer, field: &str, what: &str) {
    assert_eq!(
        a.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{what}: {}",
        a.body
    );
    assert!(
        a.content_type().starts_with("application/problem+json"),
        "{what}: {}",
        a.content_type()
    );
    assert!(
        a.problem_fields().iter().any(|f| f.contains(field)),
        "{what}: expected {field} in {}",
        a.body
    );
}

async fn call(app: &TestApp, token: &str, method: &str, path: &str, body: &Value) -> Answer {
    let url = app.url(path);
    let req = match method {
        "GET" => app.http.get(url),
        "POST" => app.http.post(url).json(body),
        "PUT" => app.http.put(url).json(body),
        "PATCH" => app.http.patch(url).json(body).header("if-match", "\"1\""),
        "DELETE" => app.http.delete(url).header("if-match", "\"1\""),
        _ => unreachable!(),
    };
    app.send(req.bearer_auth(token)).await
}

/// Everything an outsider could try on order `o` with job `j` and photo `p`.
/// The bodies are valid for a customer when `customer`, for staff otherwise.
fn endpoints(
    o: &str,
    j: &str,
    p: &str,
    tech: &str,
    customer: bool,
) -> Vec<(&'static str, String, Value)> {
    let ro = format!("/api/v1/repair-orders/{o}");
    let (answer, signature) = if customer {
        (json!({}), json!({"kind": "app"}))
    } else {
        (
            json!({"by": "phone", "note": "客户电话同意"}),
            json!({"kind": "typed", "name": "王", "device": "x"}),
        )
    };
    vec![
        ("GET", ro.clone(), json!(null)),
        ("PATCH", ro.clone(), json!({"notes": "x"})),
        ("GET", format!("{ro}/timeline"), json!(null)),
        ("GET", format!("{ro}/events"), json!(null)),
        ("POST", format!("{ro}/jobs"), brakes()),
        (
            "PATCH",
            format!("{ro}/jobs/{j}"),
            json!({"labour_hours": "2"}),
        ),
        ("DELETE", format!("{ro}/jobs/{j}"), json!(null)),
        ("POST", format!("{ro}/estimate"), json!({})),
        ("GET", format!("{ro}/estimate"), json!(null)),
        (
            "POST",
            format!("{ro}/estimate/accept"),
            json!({"version": 1, "signature": signature}),
        ),
        ("GET", format!("{ro}/walkaround"), json!(null)),
        (
            "PUT",
            format!("{ro}/walkaround"),
            json!({"items": [], "protection_fitted": true}),
        ),
        (
            "POST",
            format!("{ro}/jobs/{j}/dispatch"),
            json!({"technician_id": tech}),
        ),
        ("POST", format!("{ro}/jobs/{j}/clock-on"), json!({})),
        (
            "POST",
            format!("{ro}/jobs/{j}/clock-off"),
            json!({"reason": "pause"}),
        ),
        ("POST", format!("{ro}/qc"), qc_body("final", true, &[])),
        ("POST", format!("{ro}/wash-done"), json!({})),
        ("GET", format!("{ro}/invoice"), json!(null)),
        (
            "POST",
            format!("{ro}/payments"),
            json!({"method": "cash", "amount": "1.00"}),
        ),
        ("POST", format!("{ro}/deliver"), json!({"explained": true})),
        ("POST", format!("{ro}/cancel"), json!({"reason": "x"})),
        (
            "POST",
            format!("{ro}/extra-work"),
            json!({"lines": [{"description": "x", "labour_hours": "1"}]}),
        ),
        (
            "POST",
            format!("{ro}/extra-work/{j}/approve"),
            answer.clone(),
        ),
        ("POST", format!("{ro}/extra-work/{j}/decline"), answer),
        ("GET", format!("{ro}/photos"), json!(null)),
        ("GET", format!("{ro}/photos/{p}"), json!(null)),
        ("GET", format!("{ro}/health-check"), json!(null)),
        ("PUT", format!("{ro}/health-check"), json!({"items": []})),
        ("GET", format!("{ro}/document"), json!(null)),
        ("GET", format!("{ro}/qc-report"), json!(null)),
    ]
}

fn jpeg(n: u8) -> Vec<u8> {
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00,
    ];
    b.extend(std::iter::repeat_n(n, 64));
    b.extend([0xFF, 0xD9]);
    b
}

async fn upload(
    app: &TestApp,
    token: &str,
    order: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Answer {
    app.send(
        app.http
            .post(app.url(&format!("/api/v1/repair-orders/{order}/photos")))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body),
    )
    .await
}

async fn photo(app: &TestApp, token: &str, order: &str, n: u8) -> String {
    let f = jpeg(n);
    let (ct, body) = multipart(&[
        ("file", Some("a.jpg"), &f),
        ("purpose", None, b"walkaround"),
    ]);
    let a = upload(app, token, order, &ct, body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    a.body["id"].as_str().unwrap().to_string()
}

/// What an order looks like to whoever may read it, for "nothing written".
async fn snapshot(app: &TestApp, token: &str, o: &str) -> (Value, usize, Value) {
    let ord = order(app, token, o).await;
    let t = app
        .get(&format!("/api/v1/repair-orders/{o}/timeline"), token)
        .await;
    let inv = app
        .get(&format!("/api/v1/repair-orders/{o}/invoice"), token)
        .await;
    (ord, t.body.as_array().unwrap().len(), inv.body)
}

#[tokio::test]
async fn another_dealers_order_job_and_photo_ids_are_404_everywhere_and_write_nothing() {
    let app = day_app().await;
    let a = floor(&app, "AT1").await;
    let b = floor(&app, "AT1B").await;
    let (o, jobs) = accepted(&app, &a.s, 1, &[brakes()]).await;
    let p = photo(&app, &a.s.advisor, &o, 1).await;
    let before = snapshot(&app, &a.s.advisor, &o).await;
    // b's own order, to carry a's job and photo under its path
    let (ob, _) = accepted(&app, &b.s, 2, &[brakes()]).await;
    let b_before = snapshot(&app, &b.s.advisor, &ob).await;
    for token in [
        &b.s.manager,
        &b.s.advisor,
        &b.tech,
        &b.foreman,
        &b.qc,
        &b.cashier,
    ] {
        for (m, path, body) in endpoints(&o, &jobs[0], &p, &b.tech_id, false) {
            let r = call(&app, token, m, &path, &body).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{m} {path}: {}", r.body);
        }
        // a's job and photo under b's order
        for (m, path, body) in endpoints(&ob, &jobs[0], &p, &b.tech_id, false)
            .into_iter()
            .filter(|(_, path, _)| path.contains(&jobs[0]) || path.contains(&p))
        {
            let r = call(&app, token, m, &path, &body).await;
            assert!(
                r.status == StatusCode::NOT_FOUND || r.status == StatusCode::FORBIDDEN,
                "{m} {path}: {}",
                r.body
            );
            assert_ne!(r.status, StatusCode::OK, "{m} {path}: {}", r.body);
        }
    }
    // the advisor of a may not dispatch a's job to b's technician
    let foreign_tech = app
        .post(
            &format!("/api/v1/repair-orders/{o}/jobs/{}/dispatch", jobs[0]),
            Some(&a.foreman),
            &json!({"technician_id": b.tech_id}),
        )
        .await;
    assert!(
        foreign_tech.status == StatusCode::NOT_FOUND
            || foreign_tech.status == StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        foreign_tech.body
    );
    assert_eq!(snapshot(&app, &a.s.advisor, &o).await, before);
    assert_eq!(snapshot(&app, &b.s.advisor, &ob).await, b_before);
}

#[tokio::test]
async fn a_job_of_another_order_of_the_same_dealer_is_404_under_this_orders_path() {
    let app = day_app().await;
    let f = floor(&app, "AT2").await;
    let (o1, j1) = accepted(&app, &f.s, 1, &[brakes()]).await;
    let (o2, _) = accepted(&app, &f.s, 2, &[brakes()]).await;
    let p1 = photo(&app, &f.s.advisor, &o1, 1).await;
    let before = (
        snapshot(&app, &f.s.advisor, &o1).await,
        snapshot(&app, &f.s.advisor, &o2).await,
    );
    let path = format!("/api/v1/repair-orders/{o2}");
    for (token, m, p, body) in [
        (
            &f.s.advisor,
            "PATCH",
            format!("{path}/jobs/{}", j1[0]),
            json!({"labour_hours": "2"}),
        ),
        (
            &f.s.advisor,
            "DELETE",
            format!("{path}/jobs/{}", j1[0]),
            json!(null),
        ),
        (
            &f.foreman,
            "POST",
            format!("{path}/jobs/{}/dispatch", j1[0]),
            json!({"technician_id": f.tech_id}),
        ),
        (
            &f.tech,
            "POST",
            format!("{path}/jobs/{}/clock-on", j1[0]),
            json!({}),
        ),
        (
            &f.tech,
            "POST",
            format!("{path}/jobs/{}/clock-off", j1[0]),
            json!({"reason": "pause"}),
        ),
        (
            &f.s.advisor,
            "POST",
            format!("{path}/extra-work/{}/approve", j1[0]),
            json!({"by": "phone", "note": "同意"}),
        ),
        (
            &f.s.advisor,
            "POST",
            format!("{path}/extra-work/{}/decline", j1[0]),
            json!({"by": "phone", "note": "不修"}),
        ),
        (
            &f.s.advisor,
            "GET",
            format!("{path}/photos/{p1}"),
            json!(null),
        ),
    ] {
        let r = call(&app, token, m, &p, &body).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{m} {p}: {}", r.body);
    }
    // a failed QC naming another order's job sends nothing to rework
    let bad = app
        .post(
            &format!("{path}/qc"),
            Some(&f.qc),
            &qc_body("final", false, &[&j1[0]]),
        )
        .await;
    assert!(bad.status.is_client_error(), "{}", bad.body);
    assert_eq!(
        (
            snapshot(&app, &f.s.advisor, &o1).await,
            snapshot(&app, &f.s.advisor, &o2).await,
        ),
        before
    );
}

#[tokio::test]
async fn a_customer_reaches_only_their_own_order() {
    let app = day_app().await;
    let f = floor(&app, "AT3").await;
    let (o, jobs) = accepted(&app, &f.s, 1, &[brakes()]).await;
    let p = photo(&app, &f.s.advisor, &o, 1).await;
    let extra = app
        .post(
            &format!("/api/v1/repair-orders/{o}/extra-work"),
            Some(&f.s.advisor),
            &json!({"lines": [{"description": "更换雨刮片", "labour_hours": "0.3"}]}),
        )
        .await;
    assert_eq!(extra.status, StatusCode::CREATED, "{}", extra.body);
    let line = extra.body["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["approval"] == "awaiting")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    owner(&app, &f.s, 2).await;
    let stranger = app.customer_token(&f.s.code, "13900000002").await;
    let before = snapshot(&app, &f.s.advisor, &o).await;
    for (m, path, body) in endpoints(&o, &line, &p, &f.tech_id, true) {
        let r = call(&app, &stranger, m, &path, &body).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{m} {path}: {}", r.body);
    }
    assert_eq!(snapshot(&app, &f.s.advisor, &o).await, before);

    // the owner reads, but may not touch the staff's endpoints
    let mine = app.customer_token(&f.s.code, "13900000001").await;
    for (m, path, body) in endpoints(&o, &jobs[0], &p, &f.tech_id, true) {
        if m == "GET"
            || path.ends_with("/approve")
            || path.ends_with("/decline")
            || path.ends_with("/estimate/accept")
        {
            continue;
        }
        let r = call(&app, &mine, m, &path, &body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{m} {path}: {}", r.body);
    }
    for staff_only in [
        "/api/v1/workshop/board",
        "/api/v1/technicians",
        "/api/v1/warranty-cases",
    ] {
        let r = app.get(staff_only, &mine).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{staff_only}: {}", r.body);
    }
    assert_eq!(snapshot(&app, &f.s.advisor, &o).await, before);
}

#[tokio::test]
async fn a_technician_may_not_work_another_technicians_job() {
    let app = day_app().await;
    let f = floor(&app, "AT4").await;
    let (o, jobs) = accepted(&app, &f.s, 1, &[brakes()]).await;
    let dealer =
        uuid::Uuid::parse_str(me(&app, &f.s.advisor).await["dealer_id"].as_str().unwrap()).unwrap();
    app.user(dealer, "tech2", Role::Technician).await;
    let other = app.login_as(&f.s.code, "tech2").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/v1/repair-orders/{o}/jobs/{}", jobs[0]);
    let d = app
        .post(
            &format!("{path}/dispatch"),
            Some(&f.foreman),
            &json!({"technician_id": f.tech_id}),
        )
        .await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    let r = app
        .post(&format!("{path}/clock-on"), Some(&other), &json!({}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let on = app
        .post(&format!("{path}/clock-on"), Some(&f.tech), &json!({}))
        .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    let r = app
        .post(
            &format!("{path}/clock-off"),
            Some(&other),
            &json!({"reason": "done"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let o2 = order(&app, &f.s.advisor, &o).await;
    assert_eq!(o2["jobs"][0]["state"], "in_progress");
    // the other technician did not work on it: no self-check
    app.clock.advance(Duration::minutes(10));
    let off = app
        .post(
            &format!("{path}/clock-off"),
            Some(&f.tech),
            &json!({"reason": "done"}),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    let s = qc(&app, &other, &o, "self", true).await;
    assert_eq!(s.status, StatusCode::FORBIDDEN, "{}", s.body);
}

#[tokio::test]
async fn nul_and_control_characters_in_every_text_field_are_422_naming_it() {
    let app = day_app().await;
    let f = floor(&app, "AT5").await;
    let (_, v) = owner(&app, &f.s, 1).await;
    let open = walk_in(&app, &f.s, &v).await;
    let oo = open["id"].as_str().unwrap().to_string();
    let (o, jobs) = accepted(&app, &f.s, 2, &[brakes()]).await;
    let before = snapshot(&app, &f.s.advisor, &o).await;
    let open_before = snapshot(&app, &f.s.advisor, &oo).await;
    let ro = |id: &str| format!("/api/v1/repair-orders/{id}");
    for bad in ["a\u{0}b", "a\u{7}b", "a\u{1b}[31mb", "a\u{85}b"] {
        let part = |name: &str| json!([{"part_number": "P-1", "name": name, "quantity": "1", "unit_price": "1.00"}]);
        for (token, m, path, body, field) in [
            (
                &f.s.advisor,
                "POST",
                "/api/v1/repair-orders".to_string(),
                json!({"vehicle_id": v, "concerns": [bad]}),
                "concerns",
            ),
            (
                &f.s.advisor,
                "PATCH",
                ro(&oo),
                json!({"notes": bad}),
                "notes",
            ),
            (
                &f.s.advisor,
                "PATCH",
                ro(&oo),
                json!({"concerns": ["ok", bad]}),
                "concerns",
            ),
            (
                &f.s.advisor,
                "POST",
                format!("{}/jobs", ro(&oo)),
                json!({"description": bad, "labour_hours": "1"}),
                "description",
            ),
            (
                &f.s.advisor,
                "POST",
                format!("{}/jobs", ro(&oo)),
                json!({"description": "x", "labour_hours": "1", "parts": part(bad)}),
                "parts",
            ),
            (
                &f.s.advisor,
                "PUT",
                format!("{}/walkaround", ro(&oo)),
                json!({"items": [{"code": "FRONT_BUMPER", "status": "damaged", "note": bad}], "protection_fitted": true}),
                "items",
            ),
            (
                &f.s.advisor,
                "PUT",
                format!("{}/walkaround", ro(&oo)),
                json!({"items": [], "valuables": bad, "protection_fitted": true}),
                "valuables",
            ),
            (
                &f.s.advisor,
                "POST",
                format!("{}/estimate/accept", ro(&o)),
                json!({"version": 1, "signature": {"kind": "typed", "name": bad, "device": "iPad"}}),
                "signature",
            ),
            (
                &f.s.advisor,
                "POST",
                format!("{}/extra-work", ro(&o)),
                json!({"lines": [{"description": bad, "labour_hours": "1"}]}),
                "lines",
            ),
            (
                &f.tech,
                "POST",
                format!("{}/jobs/{}/clock-off", ro(&o), jobs[0]),
                json!({"reason": "done", "note": bad}),
                "note",
            ),
            (
                &f.qc,
                "POST",
                format!("{}/qc", ro(&o)),
                json!({"level": "final", "passed": true, "checklist": [{"code": "BRAKES", "ok": true, "note": bad}]}),
                "checklist",
            ),
            (
                &f.s.advisor,
                "POST",
                format!("{}/cancel", ro(&oo)),
                json!({"reason": bad}),
                "reason",
            ),
            (
                &f.s.advisor,
                "PUT",
                format!("{}/health-check", ro(&o)),
                json!({"items": [{"code": "BRAKE_PADS", "rating": "red", "note": bad}]}),
                "items",
            ),
        ] {
            let r = call(&app, token, m, &path, &body).await;
            problem_422(&r, field, &format!("{m} {path} {bad:?}"));
        }
    }
    assert_eq!(snapshot(&app, &f.s.advisor, &o).await, before);
    assert_eq!(snapshot(&app, &f.s.advisor, &oo).await, open_before);
}

#[tokio::test]
async fn amounts_at_the_limits_add_up_without_a_500_and_beyond_them_are_422() {
    let app = day_app().await;
    let f = floor(&app, "AT6").await;
    let (_, v) = owner(&app, &f.s, 1).await;
    let o = walk_in(&app, &f.s, &v).await;
    let o = o["id"].as_str().unwrap().to_string();
    let ro = format!("/api/v1/repair-orders/{o}");
    let parts: Vec<Value> = (0..50)
        .map(|i| json!({"part_number": format!("P-{i}"), "name": "金", "quantity": "10000", "unit_price": "10000000.00"}))
        .collect();
    for i in 0..20 {
        let j = app
            .post(
                &format!("{ro}/jobs"),
                Some(&f.s.advisor),
                &json!({"description": format!("大活{i}"), "labour_hours": "1000", "labour_rate": "10000000.00", "parts": parts}),
            )
            .await;
        assert_eq!(j.status, StatusCode::CREATED, "job {i}: {}", j.body);
    }
    let read = order(&app, &f.s.advisor, &o).await;
    assert_eq!(read["jobs"].as_array().unwrap().len(), 20);
    // 20 × (1000 h × 10,000,000 + 50 × 10,000 × 10,000,000)
    let net: rust_decimal::Decimal = "100200000000000.00".parse().unwrap();
    let shown: rust_decimal::Decimal = read["totals"]["total"]["gross"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", read["totals"]))
        .parse()
        .unwrap();
    assert!(shown >= net, "{shown}");
    for path in [
        format!("{ro}/invoice"),
        format!("{ro}/document"),
        format!("{ro}/timeline"),
    ] {
        let r = app.get(&path, &f.s.advisor).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    }
    let e = app
        .post(&format!("{ro}/estimate"), Some(&f.s.advisor), &json!({}))
        .await;
    assert_eq!(e.status, StatusCode::CREATED, "{}", e.body);
    // accepted, the estimate's lines (each over 10,000,000.00) are read back for the invoice
    let a = app
        .post(
            &format!("{ro}/estimate/accept"),
            Some(&f.s.advisor),
            &json!({"version": e.body["version"], "signature": {"kind": "typed", "name": "王小明", "device": "iPad-3"}}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.status);
    let inv = app.get(&format!("{ro}/invoice"), &f.s.advisor).await;
    assert_eq!(inv.status, StatusCode::OK, "{}", inv.body);
    assert_eq!(inv.body["estimate_customer_total"], "100200000000000.00");
    assert_eq!(inv.body["needs_customer_approval"], false);
    let p = pay(&app, &f.cashier, &o, "10000000.00", None).await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.body);
    let p = pay(&app, &f.cashier, &o, "10000000.01", None).await;
    problem_422(&p, "amount", "a payment over the largest amount");

    let before = snapshot(&app, &f.s.advisor, &o).await;
    for (body, field) in [
        (
            json!({"description": "x", "labour_hours": "1000.01"}),
            "labour_hours",
        ),
        (
            json!({"description": "x", "labour_hours": "-1"}),
            "labour_hours",
        ),
        (
            json!({"description": "x", "labour_hours": "0.001"}),
            "labour_hours",
        ),
        (
            json!({"description": "x", "labour_hours": "79228162514264337593543950335"}),
            "labour_hours",
        ),
        (
            json!({"description": "x", "labour_hours": "1", "labour_rate": "10000000.01"}),
            "labour_rate",
        ),
        (
            json!({"description": "x", "labour_hours": "1", "parts": [{"part_number": "P", "name": "n", "quantity": "10000.001", "unit_price": "1"}]}),
            "parts",
        ),
        (
            json!({"description": "x", "labour_hours": "1", "parts": [{"part_number": "P", "name": "n", "quantity": "1", "unit_price": "-0.01"}]}),
            "parts",
        ),
        (
            json!({"description": "x", "labour_hours": "1", "parts": [{"part_number": "P", "name": "n", "quantity": "1", "unit_price": "1e30"}]}),
            "parts",
        ),
        (
            json!({"description": "x", "labour_hours": "1", "parts": (0..51).map(|i| json!({"part_number": format!("P{i}"), "name": "n", "quantity": "1", "unit_price": "1"})).collect::<Vec<_>>()}),
            "parts",
        ),
        (
            json!({"description": "x", "labour_hours": "1", "skill": "plumbing"}),
            "skill",
        ),
        (
            json!({"description": "x", "labour_hours": "1", "pay_type": "free"}),
            "pay_type",
        ),
    ] {
        let r = app
            .post(&format!("{ro}/jobs"), Some(&f.s.advisor), &body)
            .await;
        problem_422(&r, field, &body.to_string());
    }
    assert_eq!(snapshot(&app, &f.s.advisor, &o).await, before);
}

#[tokio::test]
async fn payments_dates_enums_and_arrays_out_of_bounds_are_4xx_naming_the_field() {
    let app = day_app().await;
    let f = floor(&app, "AT7").await;
    let (o, jobs) = accepted(&app, &f.s, 1, &[brakes()]).await;
    let ro = format!("/api/v1/repair-orders/{o}");
    let before = snapshot(&app, &f.s.advisor, &o).await;
    for amount in [
        "-1.00",
        "0",
        "-0",
        "0.00",
        "1.001",
        "99999999999999999999999999999",
        "-99999999999999999999999999999",
        "1e3",
        "NaN",
        "",
        "10000000.01",
    ] {
        let r = pay(&app, &f.cashier, &o, amount, None).await;
        problem_422(&r, "amount", amount);
    }
    for body in [
        json!({"method": "bitcoin", "amount": "1.00"}),
        json!({"method": "cash"}),
        json!({"method": "cash", "amount": "1.00", "extra": true}),
    ] {
        let r = app
            .post(&format!("{ro}/payments"), Some(&f.cashier), &body)
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
    }
    let etag = format!("\"{}\"", before.0["version"]);
    for date in [
        "-5000-01-01T00:00:00+08:00",
        "262142-12-31T23:59:59+08:00",
        "+262142-12-31T23:59:59Z",
        "2026-02-30T10:00:00+08:00",
        "1900-01-01T00:00:00+08:00",
        "9999-12-31T23:59:59-23:59",
    ] {
        let r = app
            .patch(
                &ro,
                &f.s.advisor,
                Some(&etag),
                &json!({"promised_at": date}),
            )
            .await;
        problem_422(&r, "promised_at", date);
    }
    let (_, v) = owner(&app, &f.s, 2).await;
    for date in ["-5000-01-01T00:00:00Z", "+262142-01-01T00:00:00Z"] {
        let r = app
            .post(
                "/api/v1/repair-orders",
                Some(&f.s.advisor),
                &json!({"vehicle_id": v, "concerns": ["x"], "promised_at": date}),
            )
            .await;
        problem_422(&r, "promised_at", date);
    }
    // QC: unknown level, empty and huge checklists, huge and repeated rework lists
    let many: Vec<Value> = (0..101)
        .map(|i| json!({"code": format!("C{i}"), "ok": true}))
        .collect();
    let huge_rework: Vec<String> = (0..10_000)
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect();
    for (token, body, field) in [
        (
            &f.qc,
            json!({"level": "ultimate", "passed": true, "checklist": [{"code": "A", "ok": true}]}),
            "level",
        ),
        (
            &f.qc,
            json!({"level": "final", "passed": true, "checklist": []}),
            "checklist",
        ),
        (
            &f.qc,
            json!({"level": "final", "passed": true, "checklist": many}),
            "checklist",
        ),
        (
            &f.tech,
            json!({"level": "self", "passed": false, "checklist": [{"code": "A", "ok": false}], "rework_job_ids": huge_rework}),
            "rework_job_ids",
        ),
    ] {
        let r = app.post(&format!("{ro}/qc"), Some(token), &body).await;
        assert!(
            r.status == StatusCode::UNPROCESSABLE_ENTITY
                || r.status == StatusCode::CONFLICT
                || r.status == StatusCode::PAYLOAD_TOO_LARGE,
            "{field}: {}",
            r.body
        );
        if r.status == StatusCode::UNPROCESSABLE_ENTITY {
            problem_422(&r, field, field);
        }
    }
    // dispatch: unknown priority, a customer or nobody as technician
    for body in [
        json!({"technician_id": f.tech_id, "priority": "asap"}),
        json!({"technician_id": uuid::Uuid::now_v7()}),
        json!({"technician_id": "not-a-uuid"}),
    ] {
        let r = app
            .post(
                &format!("{ro}/jobs/{}/dispatch", jobs[0]),
                Some(&f.foreman),
                &body,
            )
            .await;
        assert!(
            r.status == StatusCode::UNPROCESSABLE_ENTITY || r.status == StatusCode::NOT_FOUND,
            "{body}: {}",
            r.body
        );
    }
    for (path, token, body) in [
        (
            format!("{ro}/jobs/{}/clock-off", jobs[0]),
            &f.tech,
            json!({"reason": "lunch"}),
        ),
        (
            format!("{ro}/extra-work"),
            &f.s.advisor,
            json!({"lines": []}),
        ),
        (
            format!("{ro}/extra-work"),
            &f.s.advisor,
            json!({"lines": (0..1000).map(|_| json!({"description": "x", "labour_hours": "1"})).collect::<Vec<_>>()}),
        ),
        (
            format!("{ro}/deliver"),
            &f.s.advisor,
            json!({"explained": "yes"}),
        ),
        (format!("{ro}/cancel"), &f.s.advisor, json!({"reason": ""})),
        (
            format!("{ro}/cancel"),
            &f.s.advisor,
            json!({"reason": "x".repeat(501)}),
        ),
    ] {
        let r = app.post(&path, Some(token), &body).await;
        assert!(
            r.status == StatusCode::UNPROCESSABLE_ENTITY || r.status == StatusCode::CONFLICT,
            "{path} {body}: {}",
            r.body
        );
    }
    let big_concerns: Vec<String> = (0..10_000).map(|i| format!("c{i}")).collect();
    let r = app
        .patch(
            &ro,
            &f.s.advisor,
            Some(&etag),
            &json!({"concerns": big_concerns}),
        )
        .await;
    problem_422(&r, "concerns", "10000 concerns");
    assert_eq!(snapshot(&app, &f.s.advisor, &o).await, before);
}

#[tokio::test]
async fn concurrent_payments_never_take_more_than_is_owed() {
    let app = day_app().await;
    let f = floor(&app, "AT8").await;
    let (o, _) = accepted(&app, &f.s, 1, &[brakes()]).await;
    let owed = app
        .get(&format!("/api/v1/repair-orders/{o}/invoice"), &f.s.advisor)
        .await
        .body["balance"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(owed, "587.00");
    // two cashiers (ten tablets) paying the whole balance at once, no key
    let runs = (0..10).map(|_| pay(&app, &f.cashier, &o, "587.00", None));
    let answers = futures_util::future::join_all(runs).await;
    let ok = answers
        .iter()
        .filter(|a| a.status == StatusCode::CREATED)
        .count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        answers
            .iter()
            .map(|a| (a.status, a.body.clone()))
            .collect::<Vec<_>>()
    );
    for a in answers.iter().filter(|a| a.status != StatusCode::CREATED) {
        assert!(a.status.is_client_error(), "{}: {}", a.status, a.body);
    }
    let inv = app
        .get(&format!("/api/v1/repair-orders/{o}/invoice"), &f.s.advisor)
        .await;
    assert_eq!(inv.body["paid"], "587.00");
    assert_eq!(inv.body["balance"], "0.00");
    assert_eq!(inv.body["payments"].as_array().unwrap().len(), 1);

    // the same payment retried at once with one key: one payment, one answer
    let (o2, _) = accepted(&app, &f.s, 2, &[brakes()]).await;
    let runs = (0..8).map(|_| pay(&app, &f.cashier, &o2, "100.00", Some("pay-once-1")));
    let answers = futures_util::future::join_all(runs).await;
    let created: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.status == StatusCode::CREATED)
        .collect();
    assert!(!created.is_empty());
    for a in &answers {
        assert!(
            a.status == StatusCode::CREATED || a.status == StatusCode::CONFLICT,
            "{}: {}",
            a.status,
            a.body
        );
        if a.status == StatusCode::CREATED {
            assert_eq!(a.body["payment"]["id"], created[0].body["payment"]["id"]);
        }
    }
    let inv = app
        .get(&format!("/api/v1/repair-orders/{o2}/invoice"), &f.s.advisor)
        .await;
    assert_eq!(inv.body["paid"], "100.00", "{}", inv.body);
    assert_eq!(inv.body["payments"].as_array().unwrap().len(), 1);
    // the key reused with another body
    let other = pay(&app, &f.cashier, &o2, "200.00", Some("pay-once-1")).await;
    assert_eq!(
        other.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        other.body
    );
    // ... and the remaining balance raced by two cashiers with different keys
    let (app_ref, cashier, o2_ref) = (&app, &f.cashier, &o2);
    let runs = (0..2).map(|i| {
        let key = format!("rest-{i}");
        async move { pay(app_ref, cashier, o2_ref, "487.00", Some(&key)).await }
    });
    let answers = futures_util::future::join_all(runs).await;
    assert_eq!(
        answers
            .iter()
            .filter(|a| a.status == StatusCode::CREATED)
            .count(),
        1,
        "{:?}",
        answers.iter().map(|a| a.body.clone()).collect::<Vec<_>>()
    );
    let inv = app
        .get(&format!("/api/v1/repair-orders/{o2}/invoice"), &f.s.advisor)
        .await;
    assert_eq!(inv.body["paid"], "587.00");
    assert_eq!(inv.body["balance"], "0.00");
}

#[tokio::test]
async fn two_final_checks_and_two_deliveries_at_once_happen_once() {
    let app = day_app().await;
    let f = floor(&app, "AT9").await;
    let (o, _) = at_final_qc(&app, &f, 1).await;
    let before = app
        .get(&format!("/api/v1/repair-orders/{o}/timeline"), &f.s.advisor)
        .await
        .body
        .as_array()
        .unwrap()
        .len();
    let (a, b) = tokio::join!(
        qc(&app, &f.qc, &o, "final", true),
        qc(&app, &f.qc, &o, "final", true)
    );
    let oks = [&a, &b]
        .iter()
        .filter(|x| x.status == StatusCode::OK)
        .count();
    assert_eq!(oks, 1, "{} {} / {} {}", a.status, a.body, b.status, b.body);
    for x in [&a, &b] {
        assert!(
            x.status == StatusCode::OK || x.status == StatusCode::CONFLICT,
            "{}",
            x.body
        );
    }
    let t = app
        .get(&format!("/api/v1/repair-orders/{o}/timeline"), &f.s.advisor)
        .await;
    let qcs = t.body.as_array().unwrap()[before..]
        .iter()
        .filter(|e| e["kind"] == "qc_recorded")
        .count();
    assert_eq!(qcs, 1, "{}", t.body);

    let o = ready(&app, &f, 2).await;
    let path = format!("/api/v1/repair-orders/{o}/deliver");
    let explained = json!({"explained": true});
    let (a, b) = tokio::join!(
        app.post(&path, Some(&f.s.advisor), &explained),
        app.post(&path, Some(&f.s.advisor), &explained)
    );
    let oks = [&a, &b]
        .iter()
        .filter(|x| x.status == StatusCode::OK)
        .count();
    assert_eq!(oks, 1, "{} {} / {} {}", a.status, a.body, b.status, b.body);
    let t = app
        .get(&format!("/api/v1/repair-orders/{o}/timeline"), &f.s.advisor)
        .await;
    let delivered = t
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "delivered")
        .count();
    assert_eq!(delivered, 1);
    // paid after delivery: closed; nothing more is taken
    let p = pay(&app, &f.cashier, &o, "587.00", None).await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.body);
    assert_eq!(p.body["order_state"], "closed");
    let more = pay(&app, &f.cashier, &o, "0.01", None).await;
    assert!(more.status.is_client_error(), "{}", more.body);
}

#[tokio::test]
async fn approve_and_decline_of_one_line_at_once_answer_it_once() {
    let app = day_app().await;
    let f = floor(&app, "AT10").await;
    let (o, _) = accepted(&app, &f.s, 1, &[brakes()]).await;
    let extra = app
        .post(
            &format!("/api/v1/repair-orders/{o}/extra-work"),
            Some(&f.s.advisor),
            &json!({"lines": [{"description": "更换雨刮片", "labour_hours": "0.3"}]}),
        )
        .await;
    assert_eq!(extra.status, StatusCode::CREATED, "{}", extra.body);
    let line = extra.body["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["approval"] == "awaiting")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let customer = app.customer_token(&f.s.code, "13900000001").await;
    let base = format!("/api/v1/repair-orders/{o}/extra-work/{line}");
    let (yes, no) = (json!({}), json!({"by": "phone", "note": "客户电话说不修"}));
    let (approve, decline) = (format!("{base}/approve"), format!("{base}/decline"));
    let (a, b) = tokio::join!(
        app.post(&approve, Some(&customer), &yes),
        app.post(&decline, Some(&f.s.advisor), &no)
    );
    let oks = [&a, &b]
        .iter()
        .filter(|x| x.status == StatusCode::OK)
        .count();
    assert_eq!(oks, 1, "{} {} / {} {}", a.status, a.body, b.status, b.body);
    let o2 = order(&app, &f.s.advisor, &o).await;
    let j = o2["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == line.as_str())
        .unwrap();
    let want = if a.status == StatusCode::OK {
        "approved"
    } else {
        "declined"
    };
    assert_eq!(j["approval"], want);
}

#[tokio::test]
async fn dispatch_racing_a_refrozen_estimate_leaves_a_consistent_order() {
    let app = day_app().await;
    let f = floor(&app, "AT11").await;
    let (o, jobs) = accepted(&app, &f.s, 1, &[brakes()]).await;
    let ro = format!("/api/v1/repair-orders/{o}");
    let (dp, ep) = (
        format!("{ro}/jobs/{}/dispatch", jobs[0]),
        format!("{ro}/estimate"),
    );
    let (db, eb) = (json!({"technician_id": f.tech_id}), json!({}));
    let (d, e) = tokio::join!(
        app.post(&dp, Some(&f.foreman), &db),
        app.post(&ep, Some(&f.s.advisor), &eb)
    );
    for x in [&d, &e] {
        assert!(
            x.status.is_success() || x.status == StatusCode::CONFLICT,
            "{}: {}",
            x.status,
            x.body
        );
    }
    let now = order(&app, &f.s.advisor, &o).await;
    if d.status.is_success() {
        assert_eq!(now["jobs"][0]["state"], "dispatched");
    }
    if e.status.is_success() && d.status.is_success() {
        // a new estimate while work is dispatched must not unsettle the acceptance
        assert_eq!(now["state"], "estimate_accepted", "{now}");
    }
}

#[tokio::test]
async fn photo_uploads_with_garbage_multipart_are_4xx_and_a_retry_is_stored_once() {
    let app = day_app().await;
    let f = floor(&app, "AT12").await;
    let (o, _) = accepted(&app, &f.s, 1, &[brakes()]).await;
    let file = jpeg(7);
    let (ct, no_file) = multipart(&[("purpose", None, b"walkaround")]);
    let a = upload(&app, &f.s.advisor, &o, &ct, no_file).await;
    problem_422(&a, "file", "no file part");
    let (ct, two) = multipart(&[
        ("file", Some("a.jpg"), &file),
        ("file", Some("b.jpg"), &file),
        ("purpose", None, b"walkaround"),
    ]);
    let a = upload(&app, &f.s.advisor, &o, &ct, two).await;
    problem_422(&a, "file", "two file parts");
    let (_, body) = multipart(&[
        ("file", Some("a.jpg"), &file),
        ("purpose", None, b"walkaround"),
    ]);
    let a = upload(
        &app,
        &f.s.advisor,
        &o,
        "multipart/form-data; boundary=nope",
        body.clone(),
    )
    .await;
    assert!(a.status.is_client_error(), "{}: {}", a.status, a.body);
    let a = upload(&app, &f.s.advisor, &o, "multipart/form-data", body.clone()).await;
    assert!(a.status.is_client_error(), "{}: {}", a.status, a.body);
    let a = upload(&app, &f.s.advisor, &o, "application/json", b"{}".to_vec()).await;
    assert!(a.status.is_client_error(), "{}: {}", a.status, a.body);
    let (ct, _) = multipart(&[]);
    let a = upload(&app, &f.s.advisor, &o, &ct, b"\x00\x01garbage".to_vec()).await;
    assert!(a.status.is_client_error(), "{}: {}", a.status, a.body);
    for (name, value) in [
        ("purpose", &b"walk\x00around"[..]),
        ("item_code", &b"A\x00B"[..]),
        ("purpose", &b"\xff\xfe"[..]),
    ] {
        let (ct, body) = if name == "purpose" {
            multipart(&[("file", Some("a.jpg"), &file), (name, None, value)])
        } else {
            multipart(&[
                ("file", Some("a.jpg"), &file),
                ("purpose", None, b"walkaround"),
                (name, None, value),
            ])
        };
        let a = upload(&app, &f.s.advisor, &o, &ct, body).await;
        problem_422(&a, name, &format!("{name} {value:?}"));
    }
    let list = app
        .get(&format!("/api/v1/repair-orders/{o}/photos"), &f.s.advisor)
        .await;
    assert_eq!(list.body, json!([]), "nothing stored");
    // a retried upload: the first answer again, one photo
    let send = |key: &'static str| {
        let (ct, body) = multipart(&[
            ("file", Some("a.jpg"), &file),
            ("purpose", None, b"walkaround"),
        ]);
        app.send(
            app.http
                .post(app.url(&format!("/api/v1/repair-orders/{o}/photos")))
                .bearer_auth(&f.s.advisor)
                .header("content-type", ct)
                .header("Idempotency-Key", key)
                .body(body),
        )
    };
    let (a, b) = tokio::join!(send("photo-1"), send("photo-1"));
    for x in [&a, &b] {
        assert!(
            x.status == StatusCode::CREATED || x.status == StatusCode::CONFLICT,
            "{}: {}",
            x.status,
            x.body
        );
    }
    let c = send("photo-1").await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    let list = app
        .get(&format!("/api/v1/repair-orders/{o}/photos"), &f.s.advisor)
        .await;
    assert_eq!(list.body.as_array().unwrap().len(), 1, "{}", list.body);
}

#[tokio::test]
async fn garbage_last_event_ids_are_422_and_a_cancelled_orders_stream_ends() {
    let app = day_app().await;
    let f = floor(&app, "AT13").await;
    let (_, v) = owner(&app, &f.s, 1).await;
    let o = walk_in(&app, &f.s, &v).await;
    let o = o["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/repair-orders/{o}/events");
    for bad in ["abc", "-1", "1.5", "99999999999999999999999", "0x10", "1 2"] {
        let r = app
            .send(
                app.http
                    .get(app.url(&path))
                    .bearer_auth(&f.s.advisor)
                    .header("Last-Event-ID", bad),
            )
            .await;
        problem_422(&r, "Last-Event-ID", bad);
    }
    let c = app
        .post(
            &format!("/api/v1/repair-orders/{o}/cancel"),
            Some(&f.s.advisor),
            &json!({"reason": "客户不修了"}),
        )
        .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    let body = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        app.http
            .get(app.url(&path))
            .bearer_auth(&f.s.advisor)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    })
    .await
    .expect("the stream of a cancelled order ends");
    assert!(body.contains("cancelled"), "{body}");
    // resumed after its last event, it ends at once
    let last = app
        .get(&format!("/api/v1/repair-orders/{o}/timeline"), &f.s.advisor)
        .await
        .body
        .as_array()
        .unwrap()
        .len();
    let body = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        app.http
            .get(app.url(&path))
            .bearer_auth(&f.s.advisor)
            .header("Last-Event-ID", last.to_string())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    })
    .await
    .expect("a resumed stream of a cancelled order ends");
    assert!(!body.contains("id:"), "{body}");
}

#[tokio::test]
async fn an_estimate_signed_after_its_jobs_changed_is_refused() {
    let app = day_app().await;
    let f = floor(&app, "AT14").await;
    let (_, v) = owner(&app, &f.s, 1).await;
    let o = walk_in(&app, &f.s, &v).await;
    let o = o["id"].as_str().unwrap().to_string();
    let ro = format!("/api/v1/repair-orders/{o}");
    add_job(&app, &f.s.advisor, &o, brakes()).await;
    let e = app
        .post(&format!("{ro}/estimate"), Some(&f.s.advisor), &json!({}))
        .await;
    assert_eq!(e.status, StatusCode::CREATED, "{}", e.body);
    // a small job slipped in after the freeze: under the 10% rule, never signed for
    let extra = add_job(
        &app,
        &f.s.advisor,
        &o,
        json!({"description": "加装脚垫", "labour_hours": "0.1"}),
    )
    .await;
    let accept = json!({"version": e.body["version"], "signature": {"kind": "typed", "name": "王小明", "device": "iPad-3"}});
    let a = app
        .post(
            &format!("{ro}/estimate/accept"),
            Some(&f.s.advisor),
            &accept,
        )
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    assert_eq!(order(&app, &f.s.advisor, &o).await["state"], "open");
    // changed back by editing a job: still not what was frozen
    let job = extra["jobs"][1]["id"].as_str().unwrap().to_string();
    let etag = format!("\"{}\"", extra["jobs"][1]["version"]);
    let r = app
        .send(
            app.http
                .delete(app.url(&format!("{ro}/jobs/{job}")))
                .bearer_auth(&f.s.advisor)
                .header("if-match", etag),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let brake = r.body["jobs"][0]["id"].as_str().unwrap().to_string();
    let etag = format!("\"{}\"", r.body["jobs"][0]["version"]);
    let r = app
        .patch(
            &format!("{ro}/jobs/{brake}"),
            &f.s.advisor,
            Some(&etag),
            &json!({"labour_hours": "1.6"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let a = app
        .post(
            &format!("{ro}/estimate/accept"),
            Some(&f.s.advisor),
            &accept,
        )
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    // frozen again, it is signed
    let e = app
        .post(&format!("{ro}/estimate"), Some(&f.s.advisor), &json!({}))
        .await;
    let accept = json!({"version": e.body["version"], "signature": {"kind": "typed", "name": "王小明", "device": "iPad-3"}});
    let a = app
        .post(
            &format!("{ro}/estimate/accept"),
            Some(&f.s.advisor),
            &accept,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        order(&app, &f.s.advisor, &o).await["state"],
        "estimate_accepted"
    );
}

#[tokio::test]
async fn photos_and_warranty_cases_of_others_are_404_and_a_customer_uploads_nothing() {
    let app = day_app().await;
    let a = floor(&app, "AT15").await;
    let b = floor(&app, "AT15B").await;
    let (o, _) = accepted(
        &app,
        &a.s,
        1,
        &[json!({"description": "检查ABS线路", "labour_hours": "1", "skill": "electrical", "pay_type": "warranty"})],
    )
    .await;
    let file = jpeg(9);
    let (ct, body) = multipart(&[
        ("file", Some("a.jpg"), &file),
        ("purpose", None, b"walkaround"),
    ]);
    for token in [&b.s.advisor, &b.tech, &b.qc] {
        let r = upload(&app, token, &o, &ct, body.clone()).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    }
    owner(&app, &a.s, 2).await;
    let stranger = app.customer_token(&a.s.code, "13900000002").await;
    let r = upload(&app, &stranger, &o, &ct, body.clone()).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let mine = app.customer_token(&a.s.code, "13900000001").await;
    let r = upload(&app, &mine, &o, &ct, body.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let list = app
        .get(&format!("/api/v1/repair-orders/{o}/photos"), &a.s.advisor)
        .await;
    assert_eq!(list.body, json!([]));

    let cases = app.get("/api/v1/warranty-cases", &a.s.manager).await;
    assert_eq!(cases.status, StatusCode::OK, "{}", cases.body);
    let case = cases.body["items"][0]["id"].as_str().unwrap().to_string();
    let r = app
        .get(&format!("/api/v1/warranty-cases/{case}"), &b.s.manager)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = app.get("/api/v1/warranty-cases", &b.s.manager).await;
    assert_eq!(r.body["items"], json!([]), "{}", r.body);
    for q in [
        "cursor=%00",
        "cursor=zzzz",
        "limit=0",
        "limit=100000",
        "limit=-1",
    ] {
        let r = app
            .get(&format!("/api/v1/warranty-cases?{q}"), &a.s.manager)
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{q}: {}",
            r.body
        );
    }
}

#[tokio::test]
async fn garbage_if_match_and_idempotency_key_headers_are_4xx_and_write_nothing() {
    let app = day_app().await;
    let f = floor(&app, "AT16").await;
    let (_, v) = owner(&app, &f.s, 1).await;
    let o = walk_in(&app, &f.s, &v).await;
    let o = o["id"].as_str().unwrap().to_string();
    let ro = format!("/api/v1/repair-orders/{o}");
    let before = snapshot(&app, &f.s.advisor, &o).await;
    for m in [
        "*",
        "\"abc\"",
        "W/\"1\"",
        "\"-1\"",
        "\"99999999999999999999\"",
        "1",
        "\"1\", \"2\"",
        "",
    ] {
        let r = app
            .patch(&ro, &f.s.advisor, Some(m), &json!({"notes": "x"}))
            .await;
        assert!(
            [
                StatusCode::PRECONDITION_FAILED,
                StatusCode::PRECONDITION_REQUIRED,
                StatusCode::UNPROCESSABLE_ENTITY,
                StatusCode::BAD_REQUEST
            ]
            .contains(&r.status),
            "{m:?}: {} {}",
            r.status,
            r.body
        );
    }
    let long = "k".repeat(300);
    for key in [long.as_str(), "", " ", "a\tb"] {
        let r = app
            .send(
                app.http
                    .post(app.url(&format!("{ro}/jobs")))
                    .bearer_auth(&f.s.advisor)
                    .header("Idempotency-Key", key)
                    .json(&brakes()),
            )
            .await;
        assert!(
            r.status == StatusCode::UNPROCESSABLE_ENTITY || r.status == StatusCode::BAD_REQUEST,
            "{key:?}: {} {}",
            r.status,
            r.body
        );
    }
    assert_eq!(snapshot(&app, &f.s.advisor, &o).await, before);
    // one key, two orders: the second is told, not given the first's answer
    let (_, v2) = owner(&app, &f.s, 2).await;
    let o2 = walk_in(&app, &f.s, &v2).await;
    let o2 = o2["id"].as_str().unwrap().to_string();
    let send = |order: &str| {
        app.send(
            app.http
                .post(app.url(&format!("/api/v1/repair-orders/{order}/jobs")))
                .bearer_auth(&f.s.advisor)
                .header("Idempotency-Key", "job-key-1")
                .json(&brakes()),
        )
    };
    let first = send(&o).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let again = send(&o).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    assert_eq!(again.body["jobs"].as_array().unwrap().len(), 1);
    let other = send(&o2).await;
    assert_eq!(
        other.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        other.body
    );
    assert_eq!(order(&app, &f.s.advisor, &o2).await["jobs"], json!([]));
}

#[tokio::test]
async fn list_and_document_queries_out_of_bounds_are_422_naming_the_parameter() {
    let app = day_app().await;
    let f = floor(&app, "AT17").await;
    let (_, v) = owner(&app, &f.s, 1).await;
    let o = walk_in(&app, &f.s, &v).await;
    let o = o["id"].as_str().unwrap().to_string();
    for (q, field) in [
        ("date=262142-12-31", "date"),
        ("date=%2B262142-12-31", "date"),
        ("date=-5000-01-01", "date"),
        ("date=2026-02-30", "date"),
        ("state=exploded", "state"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=18446744073709551616", "limit"),
        ("cursor=%00", "cursor"),
        ("cursor=not-a-cursor", "cursor"),
        ("vehicle_id=nope", "vehicle_id"),
        ("bogus=1", "bogus"),
    ] {
        let r = app
            .get(&format!("/api/v1/repair-orders?{q}"), &f.s.advisor)
            .await;
        problem_422(&r, field, q);
    }
    for path in ["document", "qc-report"] {
        let r = app
            .get(
                &format!("/api/v1/repair-orders/{o}/{path}?locale=klingon"),
                &f.s.advisor,
            )
            .await;
        problem_422(&r, "locale", path);
    }
}

#[tokio::test]
async fn extra_work_approved_during_qc_is_done_before_the_car_passes() {
    let app = day_app().await;
    let f = floor(&app, "AT18").await;
    let (o, _) = at_final_qc(&app, &f, 1).await;
    let ro = format!("/api/v1/repair-orders/{o}");
    let extra = app
        .post(
            &format!("{ro}/extra-work"),
            Some(&f.s.advisor),
            &json!({"lines": [{"description": "更换雨刮片", "labour_hours": "0.3"}]}),
        )
        .await;
    assert_eq!(extra.status, StatusCode::CREATED, "{}", extra.body);
    let line = extra.body["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["approval"] == "awaiting")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // awaiting the customer's answer, the car does not pass
    let early = qc(&app, &f.qc, &o, "final", true).await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    let customer = app.customer_token(&f.s.code, "13900000001").await;
    let yes = app
        .post(
            &format!("{ro}/extra-work/{line}/approve"),
            Some(&customer),
            &json!({}),
        )
        .await;
    assert_eq!(yes.status, StatusCode::OK, "{}", yes.body);
    // approved but not done: the final check cannot pass, so the car is not washed or delivered
    let pass = qc(&app, &f.qc, &o, "final", true).await;
    assert_eq!(pass.status, StatusCode::CONFLICT, "{}", pass.body);
    let wash = app
        .post(&format!("{ro}/wash-done"), Some(&f.s.advisor), &json!({}))
        .await;
    assert_eq!(wash.status, StatusCode::CONFLICT, "{}", wash.body);
    // the way on: the final check fails naming the new job, which is then worked
    let fail = app
        .post(
            &format!("{ro}/qc"),
            Some(&f.qc),
            // the same id twice is one job to rework
            &qc_body("final", false, &[&line, &line]),
        )
        .await;
    assert_eq!(fail.status, StatusCode::OK, "{}", fail.body);
    assert_eq!(fail.body["state"], "in_work");
    assert_eq!(fail.body["qc_reworks"], 1);
    let t = app.get(&format!("{ro}/timeline"), &f.s.advisor).await;
    let recorded = t
        .body
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["kind"] == "qc_recorded")
        .unwrap()
        .clone();
    assert_eq!(
        recorded["data"]["rework_job_ids"],
        json!([line]),
        "{recorded}"
    );
    work(&app, &f, &o, &line).await;
    for (token, level) in [(&f.tech, "self"), (&f.foreman, "foreman"), (&f.qc, "final")] {
        let a = qc(&app, token, &o, level, true).await;
        assert_eq!(a.status, StatusCode::OK, "{level}: {}", a.body);
    }
    // extra work after the final check passed: no wash until it is done
    let late = app
        .post(
            &format!("{ro}/extra-work"),
            Some(&f.s.advisor),
            &json!({"lines": [{"description": "补漆", "labour_hours": "0.5"}]}),
        )
        .await;
    assert_eq!(late.status, StatusCode::CREATED, "{}", late.body);
    let wash = app
        .post(&format!("{ro}/wash-done"), Some(&f.s.advisor), &json!({}))
        .await;
    assert_eq!(wash.status, StatusCode::CONFLICT, "{}", wash.body);
    let late = late.body["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["approval"] == "awaiting")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let no = app
        .post(
            &format!("{ro}/extra-work/{late}/decline"),
            Some(&customer),
            &json!({}),
        )
        .await;
    assert_eq!(no.status, StatusCode::OK, "{}", no.body);
    let wash = app
        .post(&format!("{ro}/wash-done"), Some(&f.s.advisor), &json!({}))
        .await;
    assert_eq!(wash.status, StatusCode::OK, "{}", wash.body);
    assert_eq!(wash.body["state"], "ready");
}

#[tokio::test]
async fn opening_an_order_on_another_dealers_vehicle_appointment_or_advisor_writes_nothing() {
    let app = day_app().await;
    let (a, appt, va) = crate::repair_orders::checked_in(&app, "AT19", 1).await;
    let b = shop(&app, "AT19B", "Asia/Shanghai", 3, 3).await;
    let (cb, vb) = owner(&app, &b, 2).await;
    let a_advisor = me(&app, &a.advisor).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, a_tech) = app.staff("AT19", Role::Technician).await;
    let a_tech = me(&app, &a_tech).await["id"].as_str().unwrap().to_string();
    for body in [
        json!({"vehicle_id": va, "concerns": ["x"]}),
        json!({"appointment_id": appt}),
        json!({"vehicle_id": vb, "customer_id": cb, "advisor_id": a_advisor, "concerns": ["x"]}),
    ] {
        let r = app
            .post("/api/v1/repair-orders", Some(&b.advisor), &body)
            .await;
        assert!(
            r.status == StatusCode::NOT_FOUND || r.status == StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {} {}",
            r.status,
            r.body
        );
    }
    // a's own: a technician is no advisor; odometer and concerns out of bounds
    for (body, field) in [
        (
            json!({"vehicle_id": va, "advisor_id": a_tech, "concerns": ["x"]}),
            "advisor_id",
        ),
        (
            json!({"vehicle_id": va, "odometer_km": -1, "concerns": ["x"]}),
            "odometer_km",
        ),
        (
            json!({"vehicle_id": va, "odometer_km": 9223372036854775807i64, "concerns": ["x"]}),
            "odometer_km",
        ),
        (
            json!({"vehicle_id": va, "odometer_km": 1e30, "concerns": ["x"]}),
            "odometer_km",
        ),
        (
            json!({"vehicle_id": va, "concerns": (0..10_000).map(|i| format!("c{i}")).collect::<Vec<_>>()}),
            "concerns",
        ),
        (
            json!({"vehicle_id": va, "concerns": ["x".repeat(10_000)]}),
            "concerns",
        ),
    ] {
        let r = app
            .post("/api/v1/repair-orders", Some(&a.advisor), &body)
            .await;
        assert!(
            r.status == StatusCode::UNPROCESSABLE_ENTITY
                || r.status == StatusCode::PAYLOAD_TOO_LARGE,
            "{field}: {} {}",
            r.status,
            r.body
        );
        if r.status == StatusCode::UNPROCESSABLE_ENTITY {
            problem_422(&r, field, field);
        }
    }
    for token in [&a.advisor, &b.advisor] {
        let l = app.get("/api/v1/repair-orders", token).await;
        assert_eq!(l.status, StatusCode::OK, "{}", l.body);
        assert_eq!(l.body["items"], json!([]), "{}", l.body);
    }
}
