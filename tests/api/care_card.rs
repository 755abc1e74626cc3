//! The customer care card (《客户关怀卡》, issue 13 part 4): the figures of a
//! seeded vehicle worked out by hand, only the customer's own vehicles, the
//! printable page, and the dealer's numbers.

use chrono_tz::Tz;
use reqwest::StatusCode;
use serde_json::json;

use crate::appointments::{book, shop};
use crate::care_planner::{customer, d, set_local, vehicle};
use crate::helpers::*;

#[tokio::test]
async fn the_card_shows_the_vehicle_figures_worked_out_by_hand() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let sh: Tz = "Asia/Shanghai".parse().unwrap();
    set_local(&app, sh, d(2027, 3, 1), 10, 0);
    let s = shop(&app, "CARD", "Asia/Shanghai", 3, 3).await;

    // the dealer's numbers: the manager sets them, nonsense is 422
    let bad = app
        .put(
            "/api/v1/care-card/settings",
            &s.manager,
            &json!({"service_hotline": "call us", "rescue_hotline": "400-800-0000"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.problem_fields(), vec!["service_hotline"]);
    let no = app
        .put(
            "/api/v1/care-card/settings",
            &s.advisor,
            &json!({"service_hotline": "400-800-1234"}),
        )
        .await;
    assert_eq!(no.status, StatusCode::FORBIDDEN);
    let set = app
        .put(
            "/api/v1/care-card/settings",
            &s.manager,
            &json!({"service_hotline": "400-800-1234", "rescue_hotline": "400-800-9999"}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(set.body["version"], 1);
    let got = app.get("/api/v1/care-card/settings", &s.advisor).await;
    assert_eq!(got.body["rescue_hotline"], "400-800-9999");

    let wang = customer(&app, &s, json!({"name": "王芳", "phone": "13900000401"})).await;
    let li = customer(&app, &s, json!({"name": "李雷", "phone": "13900000402"})).await;
    let v = vehicle(
        &app,
        &s,
        &wang,
        41,
        json!({"purchase_date": "2025-06-10", "last_service_date": "2026-09-01", "last_service_km": 15000,
               "inspection_due": "2027-05-20", "compulsory_insurance_expiry": "2027-04-14",
               "commercial_insurance_expiry": "2027-08-01"}),
    )
    .await;
    let theirs = vehicle(&app, &s, &li, 42, json!({"purchase_date": "2026-01-05"})).await;
    let at = s.at(9, 0);
    let booked = book(&app, &s, &v, &at).await;
    assert_eq!(booked.status, StatusCode::CREATED, "{}", booked.body);

    let me = app.customer_token("CARD", "13900000401").await;
    let card = app.get("/api/v1/me/care-card", &me).await;
    assert_eq!(card.status, StatusCode::OK, "{}", card.body);
    let b = &card.body;
    assert_eq!(b["service_hotline"], "400-800-1234");
    assert_eq!(b["rescue_hotline"], "400-800-9999");
    assert_eq!(b["customer_name"], "王芳");
    assert_eq!(b["on"], "2027-03-01");
    // another customer's vehicle is not on the card
    let cards = b["cards"].as_array().unwrap();
    assert_eq!(cards.len(), 1, "{b}");
    let c = &cards[0];
    assert_eq!(c["vehicle_id"], v.as_str());
    assert_eq!(c["plate"], "沪B20041");
    // the menu's 10,000 km / 12 months from the last service (2026-09-01,
    // 15,000 km): 15,000 km in the 448 days since purchase (2025-06-10) is
    // 33.48 km a day, so 10,000 km more take ⌈298.67⌉ = 299 days:
    // 2027-06-27, before the 12 months (2027-09-01); due at 25,000 km
    assert_eq!(c["next_service"]["date"], "2027-06-27");
    assert_eq!(c["next_service"]["km"], 25000);
    assert_eq!(c["next_service"]["reason"], "due_by_mileage");
    assert_eq!(c["inspection_due"], "2027-05-20");
    assert_eq!(c["compulsory_insurance_expiry"], "2027-04-14");
    assert_eq!(c["commercial_insurance_expiry"], "2027-08-01");
    // 大众 (config/test.toml): 36 months, 60,000 km from the purchase
    assert_eq!(c["warranty"]["until"], "2028-06-09");
    assert_eq!(c["warranty"]["km"], 60000);
    let open = c["open_appointments"].as_array().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["id"], booked.body["id"]);
    assert_eq!(open[0]["local"], format!("{} 09:00", s.date));
    assert!(c["open_repair_orders"].as_array().unwrap().is_empty());

    // staff read one vehicle's card; the customer cannot read another's
    let staff = app
        .get(&format!("/api/v1/vehicles/{v}/care-card"), &s.advisor)
        .await;
    assert_eq!(staff.status, StatusCode::OK, "{}", staff.body);
    assert_eq!(staff.body["cards"][0]["next_service"], c["next_service"]);
    let other = app
        .get(&format!("/api/v1/vehicles/{theirs}/care-card"), &me)
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let mine_as_staff = app.get("/api/v1/me/care-card", &s.advisor).await;
    assert_eq!(mine_as_staff.status, StatusCode::FORBIDDEN);

    // the printable card: zh-CN by default and by Accept-Language, en on request
    let (status, kind, html) = page(
        &app,
        &format!("/api/v1/vehicles/{v}/care-card?format=html"),
        &s.advisor,
        Some("zh-CN,zh;q=0.9,en;q=0.5"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(
        html.contains("客户关怀卡") && html.contains("服务热线"),
        "{html}"
    );
    assert!(html.contains("400-800-1234") && html.contains("400-800-9999"));
    assert!(html.contains("沪B20041") && html.contains("2027-06-27"));
    let (status, _, en) = page(
        &app,
        "/api/v1/me/care-card?format=html&locale=en",
        &me,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        en.contains("Service hotline") && en.contains("沪B20041"),
        "{en}"
    );
    let (_, _, by_header) = page(
        &app,
        "/api/v1/me/care-card?format=html",
        &me,
        Some("en-GB,en;q=0.8"),
    )
    .await;
    assert!(by_header.contains("Customer care card"));
    let nonsense = app.get("/api/v1/me/care-card?format=pdf", &me).await;
    assert_eq!(nonsense.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(nonsense.problem_fields(), vec!["format"]);
}

/// A page as text: (status, content type, body).
async fn page(
    app: &TestApp,
    path: &str,
    token: &str,
    lang: Option<&str>,
) -> (StatusCode, String, String) {
    let mut req = reqwest::Client::new().get(app.url(path)).bearer_auth(token);
    if let Some(l) = lang {
        req = req.header("Accept-Language", l);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let kind = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if kind.starts_with("text/html") {
        // the printed card's inline styles are allowed, nothing else
        let csp = res
            .headers()
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            csp.contains("style-src 'unsafe-inline'") && csp.contains("default-src 'none'"),
            "{csp}"
        );
    }
    (status, kind, res.text().await.unwrap())
}
