//! Personal data (issue 14 parts 1–2): masked by role, every look logged,
//! reveals with a reason, the bulk-read alert.

use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use servicelane::domain::Role;
use servicelane::domain::message::MessageKind;
use servicelane::entities::outbox_message;

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

const CODE: &str = "PRIV";

async fn customer(app: &TestApp, token: &str, name: &str, phone: &str) -> String {
    let r = app
        .post(
            "/api/v1/customers",
            Some(token),
            &json!({"name": name, "phone": phone, "email": "wang@example.cn",
                    "birthday": {"calendar": "solar", "month": 5, "day": 20},
                    "notes": "喜欢周六上午来"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

async fn log_of(app: &TestApp, manager: &str, query: &str) -> Vec<Value> {
    let r = app
        .get(&format!("/api/v1/audit/personal-data?{query}"), manager)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn each_role_sees_contact_details_as_the_table_says() {
    let app = spawn_app().await;
    let (_, advisor) = app.staff(CODE, Role::ServiceAdvisor).await;
    let id = customer(&app, &advisor, "王小明", "13800000001").await;
    for role in Role::ALL.into_iter().filter(|r| r.is_staff()) {
        let token = match role {
            Role::ServiceAdvisor => advisor.clone(),
            _ => app.staff(CODE, role).await.1,
        };
        let one = app.get(&format!("/api/v1/customers/{id}"), &token).await;
        // a masked role may not search by phone (privacy_looks.rs): the whole list
        let list = app.get("/api/v1/customers", &token).await;
        if !servicelane::services::customers::READERS.contains(&role) {
            assert_eq!(one.status, StatusCode::FORBIDDEN, "{role}");
            continue;
        }
        assert_eq!(one.status, StatusCode::OK, "{role}: {}", one.body);
        assert_eq!(list.status, StatusCode::OK, "{role}: {}", list.body);
        let listed = &list.body["items"][0];
        let masked = matches!(
            role,
            Role::Technician
                | Role::QcInspector
                | Role::Parts
                | Role::ToolKeeper
                | Role::Cashier
                | Role::WarrantyClerk
        );
        for c in [&one.body, listed] {
            if masked {
                assert_eq!(c["name"], "王*明", "{role}");
                assert_eq!(c["phone"], "138****0001", "{role}");
                assert_eq!(c["email"], "w***@…", "{role}");
                assert_eq!(c["birthday"], Value::Null, "{role}");
                assert_eq!(c["notes"], Value::Null, "{role}");
                assert_eq!(c["masked"], true, "{role}");
            } else {
                assert_eq!(c["name"], "王小明", "{role}");
                assert_eq!(c["phone"], "+8613800000001", "{role}");
                assert_eq!(c["email"], "wang@example.cn", "{role}");
                assert_eq!(c["birthday"]["month"], 5, "{role}");
                assert_eq!(c["notes"], "喜欢周六上午来", "{role}");
                assert_eq!(c["masked"], false, "{role}");
            }
        }
    }
}

#[tokio::test]
async fn a_reveal_is_allowed_by_role_and_logged_with_its_reason() {
    let app = spawn_app().await;
    let (_, advisor) = app.staff(CODE, Role::ServiceAdvisor).await;
    let (_, cashier) = app.staff(CODE, Role::Cashier).await;
    let (_, technician) = app.staff(CODE, Role::Technician).await;
    let (_, manager) = app.staff(CODE, Role::ServiceManager).await;
    let id = customer(&app, &advisor, "王小明", "13800000001").await;
    let path = format!("/api/v1/customers/{id}/reveal");

    let r = app
        .post(
            &path,
            Some(&cashier),
            &json!({"fields": ["phone"], "reason": "开具发票需联系客户"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["phone"], "+8613800000001");
    assert!(r.body.get("name").is_none() && r.body.get("email").is_none());
    // what the cashier's role may not reveal, nor a technician's anything
    let r = app
        .post(
            &path,
            Some(&cashier),
            &json!({"fields": ["email"], "reason": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = app
        .post(
            &path,
            Some(&technician),
            &json!({"fields": ["name"], "reason": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // bad input, each named
    for (body, field) in [
        (json!({"fields": [], "reason": "x"}), "fields"),
        (
            json!({"fields": ["phone", "phone"], "reason": "x"}),
            "fields[1]",
        ),
        (json!({"fields": ["phone"], "reason": "  "}), "reason"),
        (json!({"fields": ["phone"], "reason": "a\u{0}b"}), "reason"),
        (
            json!({"fields": ["phone"], "reason": "长".repeat(501)}),
            "reason",
        ),
        (json!({"fields": ["address"], "reason": "x"}), "fields[0]"),
    ] {
        let r = app.post(&path, Some(&cashier), &body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
        assert!(
            r.problem_fields().iter().any(|f| f == field),
            "{body}: {}",
            r.body
        );
    }
    // another dealer's customer is not there
    let (_, stranger) = app.staff("OTHER", Role::Cashier).await;
    let r = app
        .post(
            &path,
            Some(&stranger),
            &json!({"fields": ["phone"], "reason": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // the cashier's read and reveal are in the log, with who, what, why and where
    app.get(&format!("/api/v1/customers/{id}"), &cashier).await;
    let log = log_of(&app, &manager, &format!("customer_id={id}")).await;
    let reveals: Vec<&Value> = log.iter().filter(|e| e["action"] == "reveal").collect();
    assert_eq!(reveals.len(), 1, "{log:?}");
    assert_eq!(reveals[0]["fields"], json!(["phone"]));
    assert_eq!(reveals[0]["reason"], "开具发票需联系客户");
    assert_eq!(reveals[0]["endpoint"], "POST /api/v1/customers/{id}/reveal");
    assert_eq!(reveals[0]["client_addr"], "127.0.0.1");
    let reads: Vec<&Value> = log
        .iter()
        .filter(|e| e["action"] == "read" && e["endpoint"] == "GET /api/v1/customers/{id}")
        .collect();
    assert_eq!(reads.len(), 1, "{log:?}");
    // the advisor's creation is not a look; the search is
    app.get("/api/v1/customers?q=13800000001", &advisor).await;
    let log = log_of(&app, &manager, &format!("customer_id={id}&limit=200")).await;
    assert_eq!(log.iter().filter(|e| e["action"] == "search").count(), 1);
    // only the manager and the dealer's admin read the log
    let r = app.get("/api/v1/audit/personal-data", &advisor).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .get(
            "/api/v1/audit/personal-data?from=2027-01-02T00:00:00Z&to=2027-01-01T00:00:00Z",
            &manager,
        )
        .await;
    assert_eq!(r.problem_fields(), vec!["to"]);
    let r = app
        .get(
            "/api/v1/audit/personal-data?from=%2B262142-01-01T00:00:00Z",
            &manager,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.problem_fields(), vec!["from"]);
}

async fn alerts(app: &TestApp) -> usize {
    outbox_message::Entity::find()
        .filter(outbox_message::Column::Kind.eq(MessageKind::PersonalDataAlert))
        .all(&app.state.db)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn reading_more_customers_in_an_hour_than_the_setting_alerts_once() {
    let app = spawn_app_with(&[("SERVICELANE__PRIVACY__BULK_READ_ALERT_CUSTOMERS", "3")]).await;
    let (_, advisor) = app.staff(CODE, Role::ServiceAdvisor).await;
    let (_, manager) = app.staff(CODE, Role::ServiceManager).await;
    let mut rules = app.get("/api/v1/case-rules", &manager).await.body;
    rules["escalate_to"] = json!([{"channel": "sms", "address": "13900000009", "name": "王经理"}]);
    assert_eq!(
        app.put("/api/v1/case-rules", &manager, &rules).await.status,
        StatusCode::OK
    );
    let mut ids = Vec::new();
    for k in 0..5 {
        ids.push(
            customer(
                &app,
                &manager,
                &format!("客户{k}"),
                &format!("1380000010{k}"),
            )
            .await,
        );
    }
    // three customers, one of them twice: three distinct, no alert
    for id in [&ids[0], &ids[1], &ids[2], &ids[0]] {
        app.get(&format!("/api/v1/customers/{id}"), &advisor).await;
    }
    log_of(&app, &manager, "limit=1").await; // writes what is queued
    assert_eq!(alerts(&app).await, 0);
    // the fourth distinct customer: one alert to the escalation contact
    app.get(&format!("/api/v1/customers/{}", ids[3]), &advisor)
        .await;
    log_of(&app, &manager, "limit=1").await;
    assert_eq!(alerts(&app).await, 1);
    let alert = outbox_message::Entity::find()
        .filter(outbox_message::Column::Kind.eq(MessageKind::PersonalDataAlert))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alert.recipient, "+8613900000009");
    assert_eq!(alert.params["customers"], "4", "{}", alert.params);
    assert_eq!(
        alert.params["user_name"], "service_advisor",
        "{}",
        alert.params
    );
    // a fifth in the same hour: still the one alert
    app.get(&format!("/api/v1/customers/{}", ids[4]), &advisor)
        .await;
    log_of(&app, &manager, "limit=1").await;
    assert_eq!(alerts(&app).await, 1);
}

#[tokio::test]
async fn orders_and_bookings_mask_the_customer_for_the_workshop_and_parts() {
    use crate::appointments::{book, owner, shop};
    let app = spawn_app().await;
    let s = shop(&app, "MASK", "Asia/Shanghai", 2, 4).await;
    let (_, vehicle) = owner(&app, &s, 7).await;
    let order = crate::repair_orders::walk_in(&app, &s, &vehicle).await;
    let order_id = order["id"].as_str().unwrap();
    let booked = book(&app, &s, &vehicle, &s.at(9, 0)).await;
    assert_eq!(booked.status, StatusCode::CREATED, "{}", booked.body);
    let booking_id = booked.body["id"].as_str().unwrap();
    let (_, technician) = app.staff("MASK", Role::Technician).await;
    let (_, parts) = app.staff("MASK", Role::Parts).await;

    // the advisor sees the customer; the technician the car and a masked name
    let full = app
        .get(&format!("/api/v1/repair-orders/{order_id}"), &s.advisor)
        .await;
    assert_eq!(full.body["customer"]["name"], "客户7");
    assert_eq!(full.body["customer"]["phone"], "+8613900000007");
    let masked = app
        .get(&format!("/api/v1/repair-orders/{order_id}"), &technician)
        .await;
    assert_eq!(masked.status, StatusCode::OK, "{}", masked.body);
    assert_eq!(masked.body["customer"]["name"], "客*7");
    assert_eq!(masked.body["customer"]["phone"], "139****0007");
    assert_eq!(
        masked.body["vehicle"]["plate"],
        full.body["vehicle"]["plate"]
    );
    let list = app.get("/api/v1/repair-orders", &technician).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(
        list.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["customer"]["phone"] == "139****0007")
    );

    // the parts desk reads the register to prepare parts, not whom to call
    let register = app
        .get(&format!("/api/v1/appointments?date={}", s.date), &parts)
        .await;
    assert_eq!(register.status, StatusCode::OK, "{}", register.body);
    let line = &register.body.as_array().unwrap()[0];
    assert_eq!(line["id"], booking_id);
    assert_eq!(line["customer"]["name"], "客*7");
    assert_eq!(line["contact_phone"], "139****0007");
    let register = app
        .get(&format!("/api/v1/appointments?date={}", s.date), &s.advisor)
        .await;
    assert_eq!(register.body[0]["contact_phone"], "+8613900000007");

    // the outbox list: whom a message went to, masked for the workshop
    let sent = app.get("/api/v1/care/messages", &technician).await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    let sms: Vec<&Value> = sent
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["channel"] == "sms")
        .collect();
    assert!(!sms.is_empty(), "{}", sent.body);
    assert!(
        sms.iter().all(|m| m["recipient"] == "139****0007"),
        "{}",
        sent.body
    );
    let sent = app.get("/api/v1/care/messages", &s.advisor).await;
    assert!(
        sent.body
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["recipient"] == "+8613900000007")
    );
}
