//! Every look at personal data is logged (issue 14 part 2), on every
//! endpoint that shows it: orders, bookings, rescues, enquiries, cases,
//! callbacks, renewal leads, the outbox list, the morning page, the value
//! analysis. Each staff read names exactly the customers its answer shows; a
//! customer reading their own writes nothing; a masked role cannot find a
//! customer by a name or phone it does not see.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};
use servicelane::domain::Role;

use crate::appointments::{Shop, book, owner, shop};
use crate::care_planner::{d, set_local};
use crate::helpers::*;

const LONG_TOKENS: (&str, &str) = ("SERVICELANE__AUTH__ACCESS_TTL_SECS", "31536000");

async fn user_id(app: &TestApp, token: &str) -> String {
    let me = app.get("/api/v1/me", token).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    me.body["id"].as_str().unwrap().to_string()
}

/// The access log (oldest first) filtered by `query`, read by the manager.
async fn log(app: &TestApp, manager: &str, query: &str) -> Vec<Value> {
    let mut path = "/api/v1/audit/personal-data?limit=200".to_string();
    if !query.is_empty() {
        path = format!("{path}&{query}");
    }
    let r = app.get(&path, manager).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body["next_cursor"].is_null(), "more than a page");
    r.body["items"].as_array().unwrap().clone()
}

fn ids<'a>(v: impl IntoIterator<Item = &'a Value>) -> BTreeSet<String> {
    v.into_iter()
        .filter_map(|x| x.as_str().map(String::from))
        .collect()
}

fn set<S: AsRef<str>>(v: &[S]) -> BTreeSet<String> {
    v.iter().map(|s| s.as_ref().to_string()).collect()
}

/// Whom `token` saw, as the answer to `GET path` shows them (`shown` picks
/// the customer ids out of the answer): the answer must show `expected`,
/// and the log must hold one entry per customer shown, as `action`, for
/// `endpoint`, by that user, and no other.
#[allow(clippy::too_many_arguments)]
async fn read_is_logged(
    app: &TestApp,
    manager: &str,
    token: &str,
    path: &str,
    endpoint: &str,
    action: &str,
    shown: impl Fn(&Value) -> BTreeSet<String>,
    expected: &BTreeSet<String>,
) {
    let r = app.get(path, token).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    assert_eq!(&shown(&r.body), expected, "{path}: {}", r.body);
    let user = user_id(app, token).await;
    let entries: Vec<Value> = log(app, manager, &format!("user_id={user}"))
        .await
        .into_iter()
        .filter(|e| e["endpoint"] == format!("GET {endpoint}"))
        .collect();
    assert!(
        entries.iter().all(|e| e["action"] == action),
        "{path}: {entries:?}"
    );
    assert_eq!(entries.len(), expected.len(), "{path}: {entries:?}");
    assert_eq!(
        &ids(entries.iter().map(|e| &e["customer_id"])),
        expected,
        "{path}: {entries:?}"
    );
}

fn one(pointer: &'static str) -> impl Fn(&Value) -> BTreeSet<String> {
    move |b: &Value| ids([b.pointer(pointer).unwrap_or(&Value::Null)])
}

fn each(list: &'static str, pointer: &'static str) -> impl Fn(&Value) -> BTreeSet<String> {
    move |b: &Value| {
        let items = if list.is_empty() {
            b
        } else {
            b.pointer(list).unwrap()
        };
        ids(items
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.pointer(pointer).unwrap_or(&Value::Null)))
    }
}

/// A shop on Monday 2027-03-01 10:00 (Shanghai) with three customers:
/// 1 has a walk-in order and a rescue, 2 a booking on the shop's date and
/// an enquiry, 3 a case (and so a callback); (shop, customer ids, vehicle ids).
struct Scene {
    s: Shop,
    c: [String; 3],
    v: [String; 3],
    order: String,
    booking: String,
    rescue: String,
    enquiry: String,
    case: String,
    agent: String,
}

async fn scene(app: &TestApp, code: &str) -> Scene {
    set_local(app, chrono_tz::Asia::Shanghai, d(2027, 3, 1), 10, 0);
    let s = shop(app, code, "Asia/Shanghai", 2, 4).await;
    let (c1, v1) = owner(app, &s, 1).await;
    let (c2, v2) = owner(app, &s, 2).await;
    let (c3, v3) = owner(app, &s, 3).await;
    let (_, agent) = app.staff(code, Role::CustomerCare).await;
    let order = crate::repair_orders::walk_in(app, &s, &v1).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let booked = book(app, &s, &v2, &s.at(9, 0)).await;
    assert_eq!(booked.status, StatusCode::CREATED, "{}", booked.body);
    let rescue = app
        .post(
            "/api/v1/rescues",
            Some(&s.advisor),
            &json!({"vehicle_id": v1, "problem": "breakdown", "contact_phone": "13900000001",
                    "location": {"lat": 39.9087, "lng": 116.3975, "address": "北京市东城区长安街1号"}}),
        )
        .await;
    assert_eq!(rescue.status, StatusCode::CREATED, "{}", rescue.body);
    let enquiry = app
        .post(
            "/api/v1/enquiries",
            Some(&agent),
            &json!({"customer_id": c2, "topic": "price", "text": "小保养多少钱", "preferred_contact": "sms"}),
        )
        .await;
    assert_eq!(enquiry.status, StatusCode::CREATED, "{}", enquiry.body);
    let case = app
        .post(
            "/api/v1/cases",
            Some(&s.manager),
            &json!({"customer_id": c3, "category": "time", "severity": "high", "summary": "交车晚了两个小时"}),
        )
        .await;
    assert_eq!(case.status, StatusCode::CREATED, "{}", case.body);
    let id = |a: &Answer| a.body["id"].as_str().unwrap().to_string();
    Scene {
        order,
        booking: id(&booked),
        rescue: id(&rescue),
        enquiry: id(&enquiry),
        case: id(&case),
        s,
        c: [c1, c2, c3],
        v: [v1, v2, v3],
        agent,
    }
}

#[tokio::test]
async fn each_staff_read_of_orders_bookings_messages_and_the_morning_logs_exactly_the_customers_shown()
 {
    let app = spawn_app_with(&[LONG_TOKENS, NO_DISPATCHER]).await;
    let sc = scene(&app, "LOOKS").await;
    let (s, [c1, c2, c3], m) = (&sc.s, &sc.c, &sc.s.manager);
    let (_, technician) = app.staff("LOOKS", Role::Technician).await;
    let order = &sc.order;
    let booking = &sc.booking;
    let date = s.date;

    // the advisor, and a technician who sees the customer masked: both logged
    for token in [&s.advisor, &technician] {
        read_is_logged(
            &app,
            m,
            token,
            &format!("/api/v1/repair-orders/{order}"),
            "/api/v1/repair-orders/{id}",
            "read",
            one("/customer/id"),
            &set(&[c1]),
        )
        .await;
        read_is_logged(
            &app,
            m,
            token,
            "/api/v1/repair-orders",
            "/api/v1/repair-orders",
            "search",
            each("/items", "/customer/id"),
            &set(&[c1]),
        )
        .await;
    }
    // the printed order and QC report show the name and phone: a look each
    for (path, endpoint) in [
        ("document", "/api/v1/repair-orders/{id}/document"),
        ("qc-report", "/api/v1/repair-orders/{id}/qc-report"),
    ] {
        read_is_logged(
            &app,
            m,
            &s.advisor,
            &format!("/api/v1/repair-orders/{order}/{path}"),
            endpoint,
            "read",
            // a page, not JSON: the customer it prints is the order's
            |_: &Value| set(&[c1]),
            &set(&[c1]),
        )
        .await;
    }
    read_is_logged(
        &app,
        m,
        &s.advisor,
        &format!("/api/v1/appointments/{booking}"),
        "/api/v1/appointments/{id}",
        "read",
        one("/customer/id"),
        &set(&[c2]),
    )
    .await;
    read_is_logged(
        &app,
        m,
        &s.advisor,
        &format!("/api/v1/appointments?date={date}"),
        "/api/v1/appointments",
        "search",
        each("", "/customer/id"),
        &set(&[c2]),
    )
    .await;
    read_is_logged(
        &app,
        m,
        m,
        &format!("/api/v1/appointments/preparation?date={date}"),
        "/api/v1/appointments/preparation",
        "search",
        each("/appointments", "/customer/id"),
        &set(&[c2]),
    )
    .await;
    // the outbox list: the customers whose messages it shows (the booking's
    // confirmation at least), not the staff alerts (no customer)
    let sent = app.get("/api/v1/care/messages", m).await;
    let to_customers = each("", "/customer_id")(&sent.body);
    assert!(to_customers.contains(c2.as_str()), "{}", sent.body);
    read_is_logged(
        &app,
        m,
        &s.advisor,
        "/api/v1/care/messages",
        "/api/v1/care/messages",
        "search",
        each("", "/customer_id"),
        &to_customers,
    )
    .await;

    // the morning page of the booking's day names the booked customer, and
    // (for those who work cases) the customer of the case now overdue
    set_local(&app, s.tz, date, 7, 30);
    read_is_logged(
        &app,
        m,
        &s.advisor,
        "/api/v1/today",
        "/api/v1/today",
        "search",
        |b: &Value| {
            let mut shown = each("/bookings/list", "/customer_id")(b);
            shown.extend(each("/cases/overdue_cases", "/customer_id")(b));
            shown
        },
        &set(&[c2, c3]),
    )
    .await;
}

#[tokio::test]
async fn each_staff_read_of_rescues_enquiries_cases_callbacks_leads_and_values_logs_the_customers_shown()
 {
    let app = spawn_app_with(&[LONG_TOKENS, NO_DISPATCHER]).await;
    let sc = scene(&app, "LOOKS2").await;
    let (s, [c1, c2, c3], m, agent) = (&sc.s, &sc.c, &sc.s.manager, &sc.agent);
    let (rescue, enquiry, case) = (&sc.rescue, &sc.enquiry, &sc.case);

    read_is_logged(
        &app,
        m,
        &s.advisor,
        &format!("/api/v1/rescues/{rescue}"),
        "/api/v1/rescues/{id}",
        "read",
        one("/customer_id"),
        &set(&[c1]),
    )
    .await;
    read_is_logged(
        &app,
        m,
        &s.advisor,
        "/api/v1/rescues",
        "/api/v1/rescues",
        "search",
        each("", "/customer_id"),
        &set(&[c1]),
    )
    .await;
    read_is_logged(
        &app,
        m,
        agent,
        &format!("/api/v1/enquiries/{enquiry}"),
        "/api/v1/enquiries/{id}",
        "read",
        one("/customer_id"),
        &set(&[c2]),
    )
    .await;
    read_is_logged(
        &app,
        m,
        agent,
        "/api/v1/enquiries",
        "/api/v1/enquiries",
        "search",
        each("", "/customer_id"),
        &set(&[c2]),
    )
    .await;
    read_is_logged(
        &app,
        m,
        agent,
        &format!("/api/v1/cases/{case}"),
        "/api/v1/cases/{id}",
        "read",
        one("/customer_id"),
        &set(&[c3]),
    )
    .await;
    read_is_logged(
        &app,
        m,
        agent,
        "/api/v1/cases",
        "/api/v1/cases",
        "search",
        each("", "/customer_id"),
        &set(&[c3]),
    )
    .await;
    // the case's first contact is on the callback list
    read_is_logged(
        &app,
        m,
        agent,
        "/api/v1/callbacks",
        "/api/v1/callbacks",
        "search",
        each("", "/customer/id"),
        &set(&[c3]),
    )
    .await;
    let list = app.get("/api/v1/callbacks", agent).await;
    let callback = list.body[0]["id"].as_str().unwrap();
    read_is_logged(
        &app,
        m,
        agent,
        &format!("/api/v1/callbacks/{callback}"),
        "/api/v1/callbacks/{id}",
        "read",
        one("/customer/id"),
        &set(&[c3]),
    )
    .await;

    // a renewal lead names its owner
    let r = app
        .patch(
            &format!("/api/v1/vehicles/{}", sc.v[2]),
            &s.advisor,
            Some("\"1\""),
            &json!({"compulsory_insurance_expiry": "2027-03-31"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    read_is_logged(
        &app,
        m,
        &s.advisor,
        "/api/v1/insurance/leads",
        "/api/v1/insurance/leads",
        "search",
        each("/leads", "/customer_id"),
        &set(&[c3]),
    )
    .await;
    // the value analysis lists every customer, each by name and phone
    read_is_logged(
        &app,
        m,
        m,
        "/api/v1/customer-value",
        "/api/v1/customer-value",
        "search",
        each("/items", "/customer_id"),
        &set(&[c1, c2, c3]),
    )
    .await;
    // and so does the CSV, as it is streamed: every customer in it
    let csv = app
        .http
        .get(app.url("/api/v1/customer-value?format=csv"))
        .bearer_auth(agent)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    let text = csv.text().await.unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");
    app.state.audit.flush().await;
    let agent_id = user_id(&app, agent).await;
    let entries: Vec<Value> = log(&app, m, &format!("user_id={agent_id}"))
        .await
        .into_iter()
        .filter(|e| e["endpoint"] == "GET /api/v1/customer-value")
        .collect();
    assert!(
        // a file of them is an export, as the archive's export is
        entries.iter().all(|e| e["action"] == "export"),
        "{entries:?}"
    );
    assert_eq!(entries.len(), 3, "{entries:?}");
    assert_eq!(
        ids(entries.iter().map(|e| &e["customer_id"])),
        set(&[c1, c2, c3])
    );
}

#[tokio::test]
async fn a_customer_reading_their_own_order_booking_rescue_and_enquiry_writes_no_entry() {
    let app = spawn_app_with(&[LONG_TOKENS, NO_DISPATCHER]).await;
    let sc = scene(&app, "LOOKS3").await;
    let m = &sc.s.manager;
    let first = app.customer_token("LOOKS3", "13900000001").await;
    let second = app.customer_token("LOOKS3", "13900000002").await;
    let own = app
        .post(
            "/api/v1/enquiries",
            Some(&second),
            &json!({"topic": "other", "text": "休息区有充电桩吗", "preferred_contact": "app"}),
        )
        .await;
    assert_eq!(own.status, StatusCode::CREATED, "{}", own.body);
    let own = own.body["id"].as_str().unwrap();
    let before = log(&app, m, "").await.len();
    for (token, path) in [
        (&first, format!("/api/v1/repair-orders/{}", sc.order)),
        (&first, "/api/v1/repair-orders".to_string()),
        (&first, format!("/api/v1/rescues/{}", sc.rescue)),
        (&first, "/api/v1/rescues".to_string()),
        (&second, format!("/api/v1/appointments/{}", sc.booking)),
        (&second, format!("/api/v1/appointments?date={}", sc.s.date)),
        (&second, format!("/api/v1/enquiries/{own}")),
        (&second, format!("/api/v1/customers/{}", sc.c[1])),
    ] {
        let r = app.get(&path, token).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    }
    assert_eq!(log(&app, m, "").await.len(), before);
    // the same reads by the advisor are logged: the count above is not stuck
    app.get(&format!("/api/v1/rescues/{}", sc.rescue), &sc.s.advisor)
        .await;
    assert_eq!(log(&app, m, "").await.len(), before + 1);
}

/// `s` percent-encoded for a query string.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn a_masked_role_finds_a_customer_by_the_car_not_by_a_name_or_phone() {
    let app = spawn_app_with(&[LONG_TOKENS]).await;
    let s = shop(&app, "SEEK", "Asia/Shanghai", 2, 4).await;
    let (c1, _) = owner(&app, &s, 1).await;
    let vin = vin(1001);
    let masked = [
        Role::Technician,
        Role::QcInspector,
        Role::Parts,
        Role::Cashier,
        Role::WarrantyClerk,
    ];
    for role in masked {
        let (_, token) = app.staff("SEEK", role).await;
        for q in [
            "13900000001",
            "+8613900000001",
            "139 0000 0001",
            "客户1",
            "客",
        ] {
            let r = app
                .get(&format!("/api/v1/customers?q={}", enc(q)), &token)
                .await;
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{role} {q}: {}",
                r.body
            );
            assert_eq!(r.problem_fields(), vec!["q"], "{role} {q}");
        }
        // by the plate, the VIN or its tail: found, masked
        for q in ["京A10001", vin.as_str(), &vin[11..]] {
            let r = app
                .get(&format!("/api/v1/customers?q={}", enc(q)), &token)
                .await;
            assert_eq!(r.status, StatusCode::OK, "{role} {q}: {}", r.body);
            assert_eq!(r.body["items"][0]["id"], c1.as_str(), "{role} {q}");
            assert_eq!(r.body["items"][0]["phone"], "139****0001", "{role} {q}");
        }
    }
    // the tool keeper reads no customers at all
    let (_, keeper) = app.staff("SEEK", Role::ToolKeeper).await;
    let r = app.get("/api/v1/customers?q=13900000001", &keeper).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // those who deal with people search by name and phone as before
    for q in ["13900000001", "客户1"] {
        let r = app
            .get(&format!("/api/v1/customers?q={}", enc(q)), &s.advisor)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.body);
        assert_eq!(r.body["items"][0]["phone"], "+8613900000001");
    }
    let r = app
        .get("/api/v1/customers/export?q=13900000001", &s.manager)
        .await;
    assert_eq!(r.status, StatusCode::OK);
}
