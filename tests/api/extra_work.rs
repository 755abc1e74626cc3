//! Extra work (追加维修): proposed lines, the customer told, answers in the
//! app or on the phone; declined work on the invitation list; warranty cases.
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use servicelane::domain::Role;

use crate::appointments::{Shop, owner, shop};
use crate::helpers::*;
use crate::repair_orders::{add_job, estimate_and_accept, walk_in};

/// A walk-in order of customer `n` with one job of 300.00; (shop, order id,
/// vehicle id, customer id).
async fn order_with_a_job(app: &TestApp, code: &str, n: u32) -> (Shop, String, String, String) {
    let s = shop(app, code, "Asia/Shanghai", 3, 3).await;
    let (c, v) = owner(app, &s, n).await;
    let o = walk_in(app, &s, &v).await;
    let order = o["id"].as_str().unwrap().to_string();
    add_job(
        app,
        &s.advisor,
        &order,
        json!({"description": "检查底盘异响", "labour_hours": "1"}),
    )
    .await;
    (s, order, v, c)
}

fn two_lines() -> Value {
    json!({"lines": [
        {"description": "更换雨刮片", "labour_hours": "0.3",
         "parts": [{"part_number": "WB-1", "name": "雨刮片", "quantity": "2", "unit_price": "45.00"}]},
        {"description": "更换空调滤清器", "labour_hours": "0.5", "health_item_code": "CABIN_FILTER",
         "parts": [{"part_number": "CF-1", "name": "空调滤清器", "quantity": "1", "unit_price": "120.00"}]}
    ]})
}

/// Whether a recorded time is `now` (PostgreSQL keeps microseconds).
fn is_now(v: &Value, now: DateTime<Utc>) -> bool {
    let t = DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc);
    (t - now).num_microseconds().is_some_and(|d| d.abs() < 1)
}

#[tokio::test]
async fn extra_work_is_approved_line_by_line_and_declined_work_is_offered_again() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let (s, order, vehicle, customer) = order_with_a_job(&app, "EW1", 1).await;
    let me = app.customer_token(&s.code, "13900000001").await;
    let phone = "+8613900000001";
    let path = format!("/api/v1/repair-orders/{order}/extra-work");

    // before the estimate is accepted there is no extra work, only jobs
    let early = app.post(&path, Some(&s.advisor), &two_lines()).await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    assert!(
        early.body["detail"].as_str().unwrap().contains("open"),
        "{}",
        early.body
    );
    estimate_and_accept(&app, &s, &order).await;

    // a technician may not propose
    let (_, tech) = app.staff(&s.code, Role::Technician).await;
    let refused = app.post(&path, Some(&tech), &two_lines()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);

    // the advisor proposes two lines; a retry with the same key answers the same
    let propose = || {
        app.send(
            app.http
                .post(app.url(&path))
                .bearer_auth(&s.advisor)
                .header("Idempotency-Key", "tablet-2-extra-1")
                .json(&two_lines()),
        )
    };
    let p = propose().await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.body);
    let again = propose().await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    assert_eq!(again.body, p.body);
    let jobs = p.body["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 3, "{}", p.body);
    for j in &jobs[1..] {
        assert_eq!(j["origin"], "extra_work");
        assert_eq!(j["approval"], "awaiting");
    }
    assert_eq!(jobs[1]["total"], "180.00");
    assert_eq!(jobs[2]["health_item_code"], "CABIN_FILTER");
    // lines awaiting an answer are not in the totals
    assert_eq!(p.body["totals"]["total"]["gross"], "300.00");
    let wipers = jobs[1]["id"].as_str().unwrap().to_string();
    let filter = jobs[2]["id"].as_str().unwrap().to_string();
    let read = app
        .get(&format!("/api/v1/repair-orders/{order}"), &s.advisor)
        .await;
    assert_eq!(read.body["jobs"].as_array().unwrap().len(), 3);

    // the customer is told once per proposal: in the app inbox and by SMS
    let inbox = app.get("/api/v1/inbox", &me).await;
    let told: Vec<&Value> = inbox
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "extra_work_approval")
        .collect();
    assert_eq!(told.len(), 1, "{}", inbox.body);
    assert_eq!(told[0]["subject_id"], order.as_str());
    app.dispatch_pending().await;
    let sms: Vec<Value> = app
        .sms
        .messages_to(phone)
        .into_iter()
        .map(|m| m.0)
        .filter(|m| m["template"] == "extra_work_approval")
        .collect();
    assert_eq!(sms.len(), 1, "{sms:?}");
    let text = sms[0]["text"].as_str().unwrap();
    let number = p.body["number"].as_str().unwrap();
    assert!(
        text.contains("更换雨刮片") && text.contains("更换空调滤清器") && text.contains(number),
        "{text}"
    );

    // the customer approves the wipers in the app
    let line = |id: &str, verb: &str| format!("{path}/{id}/{verb}");
    let yes = app
        .send(
            app.http
                .post(app.url(&line(&wipers, "approve")))
                .bearer_auth(&me),
        )
        .await;
    assert_eq!(yes.status, StatusCode::OK, "{}", yes.body);
    let j = &yes.body["jobs"][1];
    assert_eq!(j["approval"], "approved");
    assert_eq!(j["approval_channel"], "app");
    assert_eq!(j["approval_by"], customer.as_str());
    assert!(is_now(&j["approval_at"], app.clock.now_utc()), "{j}");

    // staff must say how the answer came, and a phone answer needs its note
    let no_note = app
        .post(
            &line(&filter, "decline"),
            Some(&s.advisor),
            &json!({"by": "phone"}),
        )
        .await;
    assert_eq!(
        no_note.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        no_note.body
    );
    assert_eq!(no_note.problem_fields(), ["note"]);
    let no_by = app
        .post(&line(&filter, "decline"), Some(&s.advisor), &json!({}))
        .await;
    assert_eq!(no_by.problem_fields(), ["by"]);

    // the advisor records the customer's phone decline of the filter, later
    app.clock.advance(Duration::minutes(3));
    let advisor = app.get("/api/v1/me", &s.advisor).await.body["id"].clone();
    let no = app
        .post(
            &line(&filter, "decline"),
            Some(&s.advisor),
            &json!({"by": "phone", "note": "客户电话回复：下次保养再换"}),
        )
        .await;
    assert_eq!(no.status, StatusCode::OK, "{}", no.body);
    let j = &no.body["jobs"][2];
    assert_eq!(j["approval"], "declined");
    assert_eq!(j["approval_channel"], "phone");
    assert_eq!(j["approval_note"], "客户电话回复：下次保养再换");
    assert_eq!(j["approval_by"], advisor);
    assert!(is_now(&j["approval_at"], app.clock.now_utc()), "{j}");

    // an answered line cannot be answered again, either way
    for (id, verb, token, body) in [
        (&wipers, "approve", &me, json!({})),
        (&wipers, "decline", &me, json!({})),
        (
            &filter,
            "approve",
            &s.advisor,
            json!({"by": "tablet", "note": "改主意了"}),
        ),
    ] {
        let twice = app.post(&line(id, verb), Some(token), &body).await;
        assert_eq!(twice.status, StatusCode::CONFLICT, "{verb}: {}", twice.body);
    }

    // only the approved line counts: 300.00 + 180.00
    let o = app
        .get(&format!("/api/v1/repair-orders/{order}"), &s.advisor)
        .await;
    assert_eq!(o.body["totals"]["total"]["gross"], "480.00", "{}", o.body);
    assert_eq!(o.body["jobs"][2]["approval"], "declined");

    // every answer is in the timeline
    let t = app
        .get(
            &format!("/api/v1/repair-orders/{order}/timeline"),
            &s.advisor,
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
        kinds
            .iter()
            .filter(|k| **k == "extra_work_proposed")
            .count(),
        2,
        "{kinds:?}"
    );
    let declined = t
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "extra_work_declined")
        .unwrap();
    assert_eq!(declined["data"]["note"], "客户电话回复：下次保养再换");
    assert_eq!(declined["actor_id"], advisor);
    assert!(kinds.contains(&"extra_work_approved"), "{kinds:?}");

    // the declined line is offered on the invitation list; the approved one is not
    let today = app.clock.now_utc().with_timezone(&s.tz).date_naive();
    let to = today + Duration::days(30);
    let list = app
        .get(
            &format!("/api/v1/appointments/invitations?from={today}&to={to}"),
            &s.advisor,
        )
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let inv = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["vehicle"]["id"] == vehicle.as_str())
        .unwrap_or_else(|| panic!("vehicle not invited: {}", list.body));
    let offered: Vec<&Value> = inv["suggested"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["reason"] == "declined_work")
        .collect();
    assert_eq!(offered.len(), 1, "{inv}");
    assert_eq!(offered[0]["name_zh"], "更换空调滤清器");
    assert_eq!(offered[0]["code"], "CABIN_FILTER");
    assert_eq!(offered[0]["job_id"], filter.as_str());
    assert_eq!(offered[0]["repair_order_id"], order.as_str());
    assert_eq!(offered[0]["due_on"], today.to_string());
    assert_eq!(inv["customer"]["id"], customer.as_str());
}

#[tokio::test]
async fn only_the_orders_customer_answers_and_lines_are_checked() {
    let app = spawn_app().await;
    let (s, order, _, _) = order_with_a_job(&app, "EW2", 1).await;
    estimate_and_accept(&app, &s, &order).await;
    let path = format!("/api/v1/repair-orders/{order}/extra-work");

    // lines are checked: none, an unknown health item, hours and parts
    let none = app
        .post(&path, Some(&s.advisor), &json!({"lines": []}))
        .await;
    assert_eq!(none.problem_fields(), ["lines"], "{}", none.body);
    let bad = app
        .post(
            &path,
            Some(&s.advisor),
            &json!({"lines": [
                {"description": "更换雨刮片", "labour_hours": "0.3", "health_item_code": "NO_SUCH_ITEM"},
                {"description": "", "labour_hours": "0", "parts": [{"part_number": "X", "name": "x", "quantity": "1", "unit_price": "-1"}]}
            ]}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let mut fields = bad.problem_fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "lines[1].description",
            "lines[1].labour_hours",
            "lines[1].parts[0].unit_price"
        ],
        "{}",
        bad.body
    );
    let unknown = app
        .post(
            &path,
            Some(&s.advisor),
            &json!({"lines": [{"description": "更换雨刮片", "labour_hours": "0.3", "health_item_code": "NO_SUCH_ITEM"}]}),
        )
        .await;
    assert_eq!(unknown.problem_fields(), ["lines[0].health_item_code"]);

    // once a health check is recorded, the code must be one of its items
    // (the check is written by its own endpoint; here the stored shape is set)
    {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
        use servicelane::entities::repair_order;
        repair_order::Entity::update_many()
            .col_expr(
                repair_order::Column::HealthCheck,
                Expr::value(
                    json!({"items": [{"code": "BATTERY", "rating": "red", "photo_ids": []}]}),
                ),
            )
            .filter(repair_order::Column::Id.eq(order.parse::<uuid::Uuid>().unwrap()))
            .exec(&app.state.db)
            .await
            .unwrap();
    }
    let unchecked = app
        .post(
            &path,
            Some(&s.advisor),
            &json!({"lines": [{"description": "更换雨刮片", "labour_hours": "0.3", "health_item_code": "WIPERS"}]}),
        )
        .await;
    assert_eq!(unchecked.problem_fields(), ["lines[0].health_item_code"]);

    let p = app
        .post(
            &path,
            Some(&s.advisor),
            &json!({"lines": [{"description": "更换蓄电池", "labour_hours": "0.5", "skill": "electrical", "health_item_code": "BATTERY",
                    "parts": [{"part_number": "BAT-60", "name": "蓄电池", "quantity": "1", "unit_price": "680.00"}]}]}),
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.body);
    assert_eq!(p.body["jobs"][1]["health_item_code"], "BATTERY");
    // the electrical rate of the dealer: 0.5 × 320 + 680
    assert_eq!(p.body["jobs"][1]["total"], "840.00");
    let battery = p.body["jobs"][1]["id"].as_str().unwrap().to_string();
    let estimate_job = p.body["jobs"][0]["id"].as_str().unwrap().to_string();

    // another customer of the dealer does not see the order at all
    let (_, _) = owner(&app, &s, 2).await;
    let other = app.customer_token(&s.code, "13900000002").await;
    let stranger = app
        .post(
            &format!("{path}/{battery}/approve"),
            Some(&other),
            &json!({}),
        )
        .await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND, "{}", stranger.body);
    // the customer answers only as themselves, in the app
    let mine = app.customer_token(&s.code, "13900000001").await;
    let as_phone = app
        .post(
            &format!("{path}/{battery}/approve"),
            Some(&mine),
            &json!({"by": "phone", "note": "x"}),
        )
        .await;
    assert_eq!(as_phone.problem_fields(), ["by"]);
    // a job of the estimate is not a line of extra work
    let not_a_line = app
        .post(
            &format!("{path}/{estimate_job}/approve"),
            Some(&mine),
            &json!({}),
        )
        .await;
    assert_eq!(not_a_line.status, StatusCode::NOT_FOUND);
    // a technician may not answer for the customer
    let (_, tech) = app.staff(&s.code, Role::Technician).await;
    let by_tech = app
        .post(
            &format!("{path}/{battery}/approve"),
            Some(&tech),
            &json!({"by": "tablet"}),
        )
        .await;
    assert_eq!(by_tech.status, StatusCode::FORBIDDEN, "{}", by_tech.body);
    // the customer taps approve on the advisor's tablet
    let tapped = app
        .post(
            &format!("{path}/{battery}/approve"),
            Some(&s.advisor),
            &json!({"by": "tablet"}),
        )
        .await;
    assert_eq!(tapped.status, StatusCode::OK, "{}", tapped.body);
    assert_eq!(tapped.body["jobs"][1]["approval_channel"], "tablet");
    assert_eq!(tapped.body["totals"]["total"]["gross"], "1140.00");
}

#[tokio::test]
async fn warranty_jobs_are_listed_for_the_warranty_clerk_only() {
    use sea_orm::{ActiveModelTrait, Set};
    let app = spawn_app().await;
    let (s, order, _, _) = order_with_a_job(&app, "EW3", 1).await;
    let o = add_job(
        &app,
        &s.advisor,
        &order,
        json!({"description": "节温器漏水，保修更换", "labour_hours": "1.2", "pay_type": "warranty",
               "parts": [{"part_number": "TH-77", "name": "节温器", "quantity": "1", "unit_price": "260.00"}]}),
    )
    .await;
    let job = o["jobs"][1]["id"].as_str().unwrap().to_string();
    add_job(
        &app,
        &s.advisor,
        &order,
        json!({"description": "水泵异响，保修更换", "labour_hours": "2", "pay_type": "warranty"}),
    )
    .await;
    // a photo of the order (photos are uploaded elsewhere; the row is what counts here)
    let advisor_id: uuid::Uuid = app.get("/api/v1/me", &s.advisor).await.body["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let photo = uuid::Uuid::now_v7();
    servicelane::entities::repair_order_photo::ActiveModel {
        id: Set(photo),
        dealer_id: Set(o["dealer_id"].as_str().unwrap().parse().unwrap()),
        order_id: Set(order.parse().unwrap()),
        sha256: Set("ab".repeat(32)),
        content_type: Set("image/jpeg".into()),
        bytes: Set(1234),
        purpose: Set(servicelane::domain::repair_order::PhotoPurpose::Damage),
        item_code: Set(None),
        uploaded_by: Set(advisor_id),
        created_at: Set(app.clock.now_utc()),
    }
    .insert(&app.state.db)
    .await
    .unwrap();

    let (_, clerk) = app.staff(&s.code, Role::WarrantyClerk).await;
    let page = app.get("/api/v1/warranty-cases?limit=1", &clerk).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let c = &page.body["items"][0];
    assert_eq!(c["vin"], o["vehicle"]["vin"]);
    assert_eq!(c["mileage_km"], 12000);
    assert_eq!(c["order_number"], o["number"]);
    assert_eq!(c["job_id"], job.as_str());
    assert_eq!(c["failed_part"], "TH-77 节温器");
    assert_eq!(c["job_description"], "节温器漏水，保修更换");
    assert_eq!(c["state"], "draft");
    assert_eq!(
        c["photo_urls"],
        json!([format!("/api/v1/repair-orders/{order}/photos/{photo}")])
    );
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let rest = app
        .get(&format!("/api/v1/warranty-cases?cursor={cursor}"), &clerk)
        .await;
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        rest.body["items"][0]["job_description"],
        "水泵异响，保修更换"
    );
    assert!(rest.body["next_cursor"].is_null());
    let id = c["id"].as_str().unwrap();
    let one = app
        .get(&format!("/api/v1/warranty-cases/{id}"), &s.manager)
        .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.body);
    assert_eq!(one.body["job_id"], job.as_str());

    // not for the customer, nor a technician; another dealer's clerk sees none of it
    let me = app.customer_token(&s.code, "13900000001").await;
    for path in [
        "/api/v1/warranty-cases".to_string(),
        format!("/api/v1/warranty-cases/{id}"),
    ] {
        let a = app.get(&path, &me).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}: {}", a.body);
    }
    let (_, tech) = app.staff(&s.code, Role::Technician).await;
    assert_eq!(
        app.get("/api/v1/warranty-cases", &tech).await.status,
        StatusCode::FORBIDDEN
    );
    shop(&app, "EW3B", "Asia/Shanghai", 3, 3).await;
    let (_, elsewhere) = app.staff("EW3B", Role::WarrantyClerk).await;
    let none = app.get("/api/v1/warranty-cases", &elsewhere).await;
    assert_eq!(none.body["items"], json!([]));
    let hidden = app
        .get(&format!("/api/v1/warranty-cases/{id}"), &elsewhere)
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);

    // a warranty line of extra work that the customer declines leaves no case behind
    estimate_and_accept(&app, &s, &order).await;
    let p = app
        .post(
            &format!("/api/v1/repair-orders/{order}/extra-work"),
            Some(&s.advisor),
            &json!({"lines": [{"description": "散热器渗漏", "labour_hours": "1", "pay_type": "warranty"}]}),
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.body);
    let line = p.body["jobs"][3]["id"].as_str().unwrap().to_string();
    let all = app.get("/api/v1/warranty-cases", &clerk).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 3);
    let d = app
        .post(
            &format!("/api/v1/repair-orders/{order}/extra-work/{line}/decline"),
            Some(&me),
            &json!({"note": "不修了"}),
        )
        .await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    let all = app.get("/api/v1/warranty-cases", &clerk).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 2);
}
