//! At the car and on paper: photos, the health check, the checklists, the
//! printable documents.
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::appointments::{Shop, owner, shop};
use crate::helpers::{Answer, NowUtc, TestApp, multipart, spawn_app, spawn_app_with};
use crate::repair_orders::{add_job, estimate_and_accept, walk_in};
use servicelane::domain::Role;

/// The start of a real JPEG (SOI, APP0 JFIF) and some bytes, different per `n`.
pub(crate) fn jpeg(n: u8) -> Vec<u8> {
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00,
    ];
    b.extend(std::iter::repeat_n(n, 64));
    b.extend([0xFF, 0xD9]);
    b
}

pub(crate) async fn upload(
    app: &TestApp,
    token: &str,
    order: &str,
    file: &[u8],
    fields: &[(&str, &str)],
    key: Option<&str>,
) -> Answer {
    let mut parts: Vec<(&str, Option<&str>, &[u8])> = vec![("file", Some("photo.jpg"), file)];
    parts.extend(fields.iter().map(|(k, v)| (*k, None, v.as_bytes())));
    let (content_type, body) = multipart(&parts);
    let mut r = app
        .http
        .post(app.url(&format!("/api/v1/repair-orders/{order}/photos")))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body);
    if let Some(k) = key {
        r = r.header("Idempotency-Key", k);
    }
    app.send(r).await
}

/// (status, content type, bytes) of a GET.
async fn raw(app: &TestApp, path: &str, token: &str) -> (StatusCode, String, Vec<u8>) {
    let res = app
        .http
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, ct, res.bytes().await.unwrap().to_vec())
}

fn files_under(dir: &std::path::Path) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.map(|e| e.unwrap().path())
        .map(|p| if p.is_dir() { files_under(&p) } else { 1 })
        .sum()
}

async fn order_of(app: &TestApp, code: &str) -> (Shop, String, String) {
    let s = shop(app, code, "Asia/Shanghai", 3, 3).await;
    let (_, v) = owner(app, &s, 1).await;
    let o = walk_in(app, &s, &v).await;
    (s, o["id"].as_str().unwrap().to_string(), v)
}

#[tokio::test]
async fn a_photo_is_told_from_its_bytes_stored_once_and_served_to_the_owner_only() {
    let app = spawn_app().await;
    let (s, id, _) = order_of(&app, "PH1").await;
    let blobs = app.data_dir.join("blobs");

    let a = upload(
        &app,
        &s.advisor,
        &id,
        &jpeg(1),
        &[("purpose", "walkaround"), ("item_code", "body_panels")],
        Some("photo-1"),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let sha = a.body["sha256"].as_str().unwrap().to_string();
    assert_eq!(sha.len(), 64);
    assert_eq!(a.body["content_type"], "image/jpeg");
    assert_eq!(a.body["bytes"], jpeg(1).len());
    assert_eq!(a.body["purpose"], "walkaround");
    assert_eq!(a.body["item_code"], "BODY_PANELS");
    let photo = a.body["id"].as_str().unwrap().to_string();
    let url = a.body["url"].as_str().unwrap().to_string();
    assert_eq!(url, format!("/api/v1/repair-orders/{id}/photos/{photo}"));
    assert_eq!(files_under(&blobs), 1);

    // the same key again: the first answer, replayed
    let again = upload(
        &app,
        &s.advisor,
        &id,
        &jpeg(1),
        &[("purpose", "walkaround"), ("item_code", "body_panels")],
        Some("photo-1"),
    )
    .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body["id"], photo.as_str());
    // the same bytes without a key: the photo already there, nothing stored anew
    let same = upload(
        &app,
        &s.advisor,
        &id,
        &jpeg(1),
        &[("purpose", "damage")],
        None,
    )
    .await;
    assert_eq!(same.status, StatusCode::OK, "{}", same.body);
    assert_eq!(same.body["id"], photo.as_str());
    assert_eq!(files_under(&blobs), 1);
    let list = app
        .get(&format!("/api/v1/repair-orders/{id}/photos"), &s.advisor)
        .await;
    assert_eq!(list.body.as_array().unwrap().len(), 1, "{}", list.body);

    // served with its type, the same bytes, to staff and to the customer
    let (status, ct, bytes) = raw(&app, &url, &s.advisor).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, "image/jpeg");
    assert_eq!(bytes, jpeg(1));
    let customer = app.customer_token(&s.code, "13900000001").await;
    let (status, _, bytes) = raw(&app, &url, &customer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, jpeg(1));
    // another customer of the same dealer sees nothing
    owner(&app, &s, 2).await;
    let stranger = app.customer_token(&s.code, "13900000002").await;
    let (status, _, _) = raw(&app, &url, &stranger).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // nor is the photo found under another order
    let (_, v3) = owner(&app, &s, 3).await;
    let other = walk_in(&app, &s, &v3).await;
    let (status, _, _) = raw(
        &app,
        &format!(
            "/api/v1/repair-orders/{}/photos/{photo}",
            other["id"].as_str().unwrap()
        ),
        &s.advisor,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // the customer may look but not upload
    let refused = upload(
        &app,
        &customer,
        &id,
        &jpeg(2),
        &[("purpose", "damage")],
        None,
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);

    // on the timeline
    let t = app
        .get(&format!("/api/v1/repair-orders/{id}/timeline"), &s.advisor)
        .await;
    let added: Vec<&Value> = t
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "photo_added")
        .collect();
    assert_eq!(added.len(), 1, "{}", t.body);
    assert_eq!(added[0]["data"]["photo_id"], photo.as_str());
}

#[tokio::test]
async fn a_text_file_sent_as_jpeg_is_415_and_a_bad_purpose_422() {
    let app = spawn_app().await;
    let (s, id, _) = order_of(&app, "PH2").await;
    let a = upload(
        &app,
        &s.advisor,
        &id,
        b"just some text, not a photo",
        &[("purpose", "damage")],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", a.body);
    assert_eq!(a.content_type(), "application/problem+json");
    assert_eq!(a.problem_fields(), ["file"]);
    assert!(
        a.body["detail"]
            .as_str()
            .unwrap()
            .starts_with("file is not"),
        "{}",
        a.body
    );
    let b = upload(
        &app,
        &s.advisor,
        &id,
        &jpeg(3),
        &[("purpose", "selfie")],
        None,
    )
    .await;
    assert_eq!(b.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", b.body);
    assert_eq!(b.problem_fields(), ["purpose"]);
    assert_eq!(files_under(&app.data_dir.join("blobs")), 0);
}

#[tokio::test]
async fn a_photo_over_the_limit_is_413() {
    let app = spawn_app_with(&[("SERVICELANE__STORAGE__MAX_PHOTO_BYTES", "1000")]).await;
    let (s, id, _) = order_of(&app, "PH3").await;
    let mut big = jpeg(4);
    big.extend(vec![7u8; 2000]);
    let a = upload(&app, &s.advisor, &id, &big, &[("purpose", "damage")], None).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", a.body);
    assert_eq!(a.problem_fields(), ["file"]);
    // under the limit it is taken
    let ok = upload(
        &app,
        &s.advisor,
        &id,
        &jpeg(4),
        &[("purpose", "damage")],
        None,
    )
    .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
}

#[tokio::test]
async fn the_walkaround_takes_checklist_codes_and_photos_of_its_order() {
    let app = spawn_app().await;
    let (s, id, _) = order_of(&app, "PH4").await;
    let path = format!("/api/v1/repair-orders/{id}/walkaround");
    let bad = app
        .put(
            &path,
            &s.advisor,
            &json!({"items": [{"code": "GLASS", "status": "ok"}, {"code": "WINGS", "status": "damage"}], "protection_fitted": true}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(bad.problem_fields(), ["items[1].code"]);
    let p = upload(
        &app,
        &s.advisor,
        &id,
        &jpeg(5),
        &[("purpose", "walkaround")],
        None,
    )
    .await;
    let photo = p.body["id"].clone();
    let w = app
        .put(
            &path,
            &s.advisor,
            &json!({"items": [{"code": "BODY_PANELS", "status": "damage", "note": "右前门凹陷", "position": {"x": 0.8, "y": 0.4}, "photo_ids": [photo]}],
                    "fuel_level": 25, "valuables": null, "protection_fitted": true}),
        )
        .await;
    assert_eq!(w.status, StatusCode::OK, "{}", w.body);
    assert_eq!(w.body["items"][0]["photo_ids"][0], photo);
    let t = app
        .get(&format!("/api/v1/repair-orders/{id}/timeline"), &s.advisor)
        .await;
    let last = t.body.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "walkaround_recorded", "{}", t.body);
    assert_eq!(last["data"]["damage"], 1);
}

#[tokio::test]
async fn a_red_health_item_is_proposed_as_a_line_of_extra_work() {
    let app = spawn_app().await;
    let (s, id, _) = order_of(&app, "PH5").await;
    let path = format!("/api/v1/repair-orders/{id}/health-check");
    assert_eq!(
        app.get(&path, &s.advisor).await.status,
        StatusCode::NOT_FOUND
    );
    let bad = app
        .put(
            &path,
            &s.advisor,
            &json!({"items": [{"code": "FLUX_CAPACITOR", "rating": "red"}]}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(bad.problem_fields(), ["items[0].code"]);
    let (_, tech) = app.staff(&s.code, Role::Technician).await;
    let h = app
        .put(
            &path,
            &tech,
            &json!({"items": [
                {"code": "BRAKE_PADS_FRONT", "rating": "red", "measurement": "2.5", "note": "剩余2.5mm"},
                {"code": "BATTERY", "rating": "green", "measurement": "12.6"},
                {"code": "WIPERS", "rating": "yellow"}]}),
        )
        .await;
    assert_eq!(h.status, StatusCode::OK, "{}", h.body);
    assert_eq!(
        h.body["proposed_lines"],
        json!([
            {"health_item_code": "BRAKE_PADS_FRONT", "description": "前刹车片厚度：剩余2.5mm", "rating": "red"},
            {"health_item_code": "WIPERS", "description": "雨刮片", "rating": "yellow"}
        ])
    );
    // the unit comes from the checklist when a measurement is given without one
    assert_eq!(h.body["items"][1]["unit"], "V");
    assert_eq!(h.body["items"][0]["measurement"], "2.5");
    let read = app.get(&path, &s.advisor).await;
    assert_eq!(read.body["proposed_lines"], h.body["proposed_lines"]);
    let o = app
        .get(&format!("/api/v1/repair-orders/{id}"), &s.advisor)
        .await;
    assert_eq!(o.body["health_check_done"], true);
    let t = app
        .get(&format!("/api/v1/repair-orders/{id}/timeline"), &s.advisor)
        .await;
    let last = t.body.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "health_check_recorded");
    assert_eq!(last["data"]["red"], 1);
    // a cashier takes no health check
    let (_, cashier) = app.staff(&s.code, Role::Cashier).await;
    assert_eq!(
        app.put(&path, &cashier, &json!({"items": []})).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_checklists_are_read_by_staff_and_replaced_by_the_manager() {
    let app = spawn_app().await;
    let s = shop(&app, "PH6", "Asia/Shanghai", 3, 3).await;
    let r = app.get("/api/v1/health-checklist", &s.advisor).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["code"] == "BRAKE_PADS_FRONT")
    );
    let new =
        json!({"items": [{"code": "ac_gas", "name_zh": "空调冷媒", "name_en": "A/C refrigerant"}]});
    assert_eq!(
        app.put("/api/v1/health-checklist", &s.advisor, &new)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let dup = json!({"items": [{"code": "A", "name_zh": "甲", "name_en": "A"}, {"code": "a", "name_zh": "乙", "name_en": "B"}]});
    let d = app.put("/api/v1/health-checklist", &s.manager, &dup).await;
    assert_eq!(d.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", d.body);
    assert_eq!(d.problem_fields(), ["items[1].code"]);
    let p = app.put("/api/v1/health-checklist", &s.manager, &new).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert_eq!(p.body["items"][0]["code"], "AC_GAS");
    // only that list changed: the walk-around checklist is still the default
    let w = app.get("/api/v1/walkaround-checklist", &s.advisor).await;
    assert!(
        w.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["code"] == "PROTECTION")
    );
    let settings = app.get("/api/v1/workshop/settings", &s.advisor).await;
    assert_eq!(settings.body["health_checklist"][0]["code"], "AC_GAS");
    let wa = json!({"items": [{"code": "ROOF", "name_zh": "车顶", "name_en": "Roof"}]});
    let p = app
        .put("/api/v1/walkaround-checklist", &s.manager, &wa)
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let h = app.get("/api/v1/health-checklist", &s.advisor).await;
    assert_eq!(
        h.body["items"][0]["code"], "AC_GAS",
        "the other list is kept"
    );
    // the customer reads neither
    owner(&app, &s, 1).await;
    let customer = app.customer_token(&s.code, "13900000001").await;
    assert_eq!(
        app.get("/api/v1/walkaround-checklist", &customer)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_document_prints_the_order_escaped_in_either_language() {
    let app = spawn_app().await;
    let s = shop(&app, "PH7", "Asia/Shanghai", 3, 3).await;
    let (_, v) = owner(&app, &s, 1).await;
    let o = app
        .post(
            "/api/v1/repair-orders",
            Some(&s.advisor),
            &json!({"vehicle_id": v, "concerns": ["<script>alert(1)</script> 异响"], "odometer_km": 12000}),
        )
        .await;
    assert_eq!(o.status, StatusCode::CREATED, "{}", o.body);
    let id = o.body["id"].as_str().unwrap().to_string();
    let number = o.body["number"].as_str().unwrap().to_string();
    add_job(
        &app,
        &s.advisor,
        &id,
        json!({"description": "更换前刹车片", "labour_hours": "1.5", "skill": "mechanical",
               "parts": [{"part_number": "BP-01", "name": "刹车片", "quantity": "2", "unit_price": "68.50"}]}),
    )
    .await;
    crate::repair_orders::walkaround(&app, &s, &id).await;
    let accepted = estimate_and_accept(&app, &s, &id).await;
    let sha = accepted["sha256"].as_str().unwrap();

    let customer = app.customer_token(&s.code, "13900000001").await;
    let (status, ct, body) = raw(
        &app,
        &format!("/api/v1/repair-orders/{id}/document"),
        &customer,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/html"), "{ct}");
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains("维修委托书"));
    assert!(page.contains(&number));
    assert!(page.contains("客户1"), "the customer's name");
    assert!(page.contains("更换前刹车片") && page.contains("BP-01"));
    assert!(page.contains("587.00"), "the total");
    assert!(page.contains("左后门划痕"), "a walk-around mark");
    assert!(
        page.contains(sha) && page.contains("王小明"),
        "the signature"
    );
    assert!(!page.contains("<script>alert(1)</script>"));
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;"),
        "escaped, not dropped"
    );

    let (status, _, body) = raw(
        &app,
        &format!("/api/v1/repair-orders/{id}/document?locale=en"),
        &s.advisor,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains("Repair Order") && page.contains("Customer concerns"));
    assert!(page.contains("Totals (CNY)") && !page.contains("费用合计"));
    assert!(page.contains(&number) && page.contains("587.00"));

    // the QC report renders whatever levels exist (none yet)
    let (status, _, body) = raw(
        &app,
        &format!("/api/v1/repair-orders/{id}/qc-report"),
        &customer,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains("最终质量检查报告单") && page.contains(&number));
    // another customer gets nothing
    owner(&app, &s, 2).await;
    let stranger = app.customer_token(&s.code, "13900000002").await;
    let (status, _, _) = raw(
        &app,
        &format!("/api/v1/repair-orders/{id}/document"),
        &stranger,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // with QC levels recorded (by the QC endpoints, here written directly): who, when, items
    let dealer: uuid::Uuid = o.body["dealer_id"].as_str().unwrap().parse().unwrap();
    app.staff(&s.code, Role::QcInspector).await;
    let inspector = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        servicelane::entities::user::Entity::find()
            .filter(servicelane::entities::user::Column::DealerId.eq(dealer))
            .filter(servicelane::entities::user::Column::Username.eq("qc_inspector"))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap()
    };
    for (level, passed, note) in [
        (
            servicelane::domain::repair_order::QcLevel::Foreman,
            true,
            "ok",
        ),
        (
            servicelane::domain::repair_order::QcLevel::Final,
            false,
            "<b>刹车异响</b>",
        ),
    ] {
        use sea_orm::{EntityTrait, Set};
        servicelane::entities::qc_check::Entity::insert(
            servicelane::entities::qc_check::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                dealer_id: Set(dealer),
                order_id: Set(id.parse().unwrap()),
                round: Set(1),
                level: Set(level),
                passed: Set(passed),
                checklist: Set(json!([{"code": "BRAKES", "ok": passed, "note": note}])),
                rework_job_ids: Set(json!([])),
                checked_by: Set(inspector.id),
                at: Set(app.clock.now_utc()),
            },
        )
        .exec_without_returning(&app.state.db)
        .await
        .unwrap();
    }
    let (status, _, body) = raw(
        &app,
        &format!("/api/v1/repair-orders/{id}/qc-report"),
        &s.advisor,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let page = String::from_utf8(body).unwrap();
    assert!(
        page.contains("班组长互检") && page.contains("终检"),
        "{page}"
    );
    assert!(page.contains(&inspector.display_name), "who checked");
    assert!(page.contains("不合格") && page.contains("BRAKES"));
    assert!(page.contains("&lt;b&gt;刹车异响") && !page.contains("<b>刹车异响"));
    let (_, _, body) = raw(
        &app,
        &format!("/api/v1/repair-orders/{id}/qc-report?locale=en"),
        &s.advisor,
    )
    .await;
    let page = String::from_utf8(body).unwrap();
    assert!(
        page.contains("Final Quality Inspection Report")
            && page.contains("Final inspection: failed")
    );
}
