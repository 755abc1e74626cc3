use reqwest::StatusCode;
use serde_json::json;
use servicelane::domain::Role;

use crate::helpers::*;

async fn advisor_with_customer(app: &TestApp) -> (String, String) {
    let (_, token) = app.staff("STAR", Role::ServiceAdvisor).await;
    let c = app.create_customer(&token, "王小明", "13800000001").await;
    (token, c["id"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn the_textbook_vin_is_accepted_and_a_wrong_check_digit_is_422_naming_vin() {
    let app = spawn_app().await;
    let (token, cid) = advisor_with_customer(&app).await;
    let good = app
        .create_vehicle(&token, &cid, "1m8gdm9axkp042788", "京a·12345")
        .await;
    assert_eq!(good["vin"], "1M8GDM9AXKP042788");
    assert_eq!(good["plate"], "京A12345");
    assert_eq!(good["customer_id"], cid);

    let bad = app
        .post("/api/v1/vehicles", Some(&token), &json!({"customer_id": cid, "vin": "1M8GDM9A1KP042788", "make": "大众", "model": "朗逸"}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.content_type(), "application/problem+json");
    assert_eq!(bad.problem_fields(), ["vin"]);
    assert!(
        bad.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("check digit")
    );

    for v in ["1M8GDM9AXKP04278", "1M8GDM9AXKP04278O"] {
        let a = app
            .post(
                "/api/v1/vehicles",
                Some(&token),
                &json!({"customer_id": cid, "vin": v, "make": "大众", "model": "朗逸"}),
            )
            .await;
        assert_eq!(a.problem_fields(), ["vin"], "{v}");
    }
}

#[tokio::test]
async fn plates_are_checked_and_new_energy_plates_accepted() {
    let app = spawn_app().await;
    let (token, cid) = advisor_with_customer(&app).await;
    let nev = app
        .create_vehicle(&token, &cid, &vin(20), "沪AD12345")
        .await;
    assert_eq!(nev["plate"], "沪AD12345");
    app.create_vehicle(&token, &cid, &vin(21), "粤B12345F")
        .await;
    for plate in ["XA12345", "京A1234", "京AI2345", "沪AX12345"] {
        let a = app
            .post("/api/v1/vehicles", Some(&token), &json!({"customer_id": cid, "vin": vin(22), "plate": plate, "make": "大众", "model": "朗逸"}))
            .await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{plate}");
        assert_eq!(a.problem_fields(), ["plate"], "{plate}");
    }
    // several problems at once are listed together
    let many = app
        .post("/api/v1/vehicles", Some(&token), &json!({"customer_id": cid, "vin": "x", "plate": "x", "make": "", "model": "朗逸", "model_year": 1800}))
        .await;
    assert_eq!(
        many.problem_fields(),
        ["vin", "plate", "make", "model_year"]
    );
}

#[tokio::test]
async fn the_same_vin_or_plate_twice_is_409() {
    let app = spawn_app().await;
    let (token, cid) = advisor_with_customer(&app).await;
    app.create_vehicle(&token, &cid, &vin(30), "京A12345").await;
    let same_vin = app
        .post(
            "/api/v1/vehicles",
            Some(&token),
            &json!({"customer_id": cid, "vin": vin(30), "make": "大众", "model": "朗逸"}),
        )
        .await;
    assert_eq!(same_vin.status, StatusCode::CONFLICT);
    let same_plate = app
        .post("/api/v1/vehicles", Some(&token), &json!({"customer_id": cid, "vin": vin(31), "plate": "京A12345", "make": "大众", "model": "朗逸"}))
        .await;
    assert_eq!(same_plate.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_lower_odometer_reading_is_refused_unless_it_is_a_correction() {
    let app = spawn_app().await;
    let (token, cid) = advisor_with_customer(&app).await;
    let v = app.create_vehicle(&token, &cid, &vin(40), "京A12345").await;
    let path = format!("/api/v1/vehicles/{}/mileage", v["id"].as_str().unwrap());

    let first = app
        .post(
            &path,
            Some(&token),
            &json!({"mileage_km": 12000, "source": "reception"}),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.body["mileage_km"], 12000);
    assert!(first.body["read_on"].is_string());

    let back = app
        .post(
            &path,
            Some(&token),
            &json!({"mileage_km": 11000, "source": "reception"}),
        )
        .await;
    assert_eq!(back.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(back.problem_fields(), ["mileage_km"]);
    assert!(
        back.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("12000")
    );

    let fixed = app
        .post(
            &path,
            Some(&token),
            &json!({"mileage_km": 11000, "source": "reception", "correction": true}),
        )
        .await;
    assert_eq!(fixed.status, StatusCode::CREATED);
    let vehicle = app
        .get(
            &format!("/api/v1/vehicles/{}", v["id"].as_str().unwrap()),
            &token,
        )
        .await;
    assert_eq!(vehicle.body["odometer_km"], 11000);

    let history = app.get(&path, &token).await;
    let kms: Vec<i64> = history
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["mileage_km"].as_i64().unwrap())
        .collect();
    assert_eq!(kms, [12000, 11000]);

    let future = app
        .post(
            &path,
            Some(&token),
            &json!({"mileage_km": 13000, "source": "reception", "read_on": "2999-01-01"}),
        )
        .await;
    assert_eq!(future.problem_fields(), ["read_on"]);
    let source = app
        .post(
            &path,
            Some(&token),
            &json!({"mileage_km": 13000, "source": "guess"}),
        )
        .await;
    assert_eq!(source.problem_fields(), ["source"]);
}

#[tokio::test]
async fn a_vehicle_patch_needs_the_current_etag() {
    let app = spawn_app().await;
    let (token, cid) = advisor_with_customer(&app).await;
    let v = app.create_vehicle(&token, &cid, &vin(50), "京A12345").await;
    let path = format!("/api/v1/vehicles/{}", v["id"].as_str().unwrap());
    let ok = app
        .patch(
            &path,
            &token,
            Some("\"1\""),
            &json!({"plate": "京A54321", "inspection_due": "2027-05-01"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["plate"], "京A54321");
    assert_eq!(ok.body["inspection_due"], "2027-05-01");
    let stale = app
        .patch(&path, &token, Some("\"1\""), &json!({"plate": "京A11111"}))
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let bad = app
        .patch(&path, &token, Some("\"2\""), &json!({"plate": "nope"}))
        .await;
    assert_eq!(bad.problem_fields(), ["plate"]);
    // sold to another customer of the dealer
    let buyer = app.create_customer(&token, "李娜", "13900000002").await;
    let sold = app
        .patch(
            &path,
            &token,
            Some("\"2\""),
            &json!({"customer_id": buyer["id"]}),
        )
        .await;
    assert_eq!(sold.status, StatusCode::OK, "{}", sold.body);
    assert_eq!(sold.body["customer_id"], buyer["id"]);
    let theirs = app
        .get(
            &format!(
                "/api/v1/customers/{}/vehicles",
                buyer["id"].as_str().unwrap()
            ),
            &token,
        )
        .await;
    assert_eq!(theirs.body.as_array().unwrap().len(), 1);
}
