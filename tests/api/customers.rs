use reqwest::StatusCode;
use serde_json::json;
use servicelane::domain::Role;

use crate::helpers::*;

#[tokio::test]
async fn a_customer_is_created_with_a_normalised_phone_and_every_field() {
    let app = spawn_app().await;
    let (dealer, token) = app.staff("STAR", Role::ServiceAdvisor).await;
    let a = app
        .post(
            "/api/v1/customers",
            Some(&token),
            &json!({
                "name": " 王小明 ", "phone": "+86 138-0000-0001", "email": "Wang@Example.com",
                "preferred_channel": "app", "locale": "en",
                "birthday": {"calendar": "lunar", "month": 4, "day": 30, "leap": true},
                "consents": [{"channel": "sms", "purpose": "marketing", "granted": true, "source": "paper_form"}],
                "tags": ["VIP", "VIP", "fleet"], "notes": "prefers mornings"
            }),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let c = &a.body;
    assert_eq!(c["name"], "王小明");
    assert_eq!(c["phone"], "+8613800000001");
    assert_eq!(c["email"], "wang@example.com");
    assert_eq!(c["dealer_id"], dealer.to_string());
    assert_eq!(c["preferred_channel"], "app");
    assert_eq!(c["locale"], "en");
    assert_eq!(
        c["birthday"],
        json!({"calendar": "lunar", "month": 4, "day": 30, "leap": true})
    );
    assert_eq!(c["tags"], json!(["VIP", "fleet"]));
    assert_eq!(c["consents"][0]["granted"], true);
    assert!(c["consents"][0]["at"].is_string());
    assert_eq!(a.etag(), "\"1\"");

    let read = app
        .get(
            &format!("/api/v1/customers/{}", c["id"].as_str().unwrap()),
            &token,
        )
        .await;
    assert_eq!(read.body, a.body);

    // defaults
    let d = app.create_customer(&token, "李娜", "13900000001").await;
    assert_eq!(d["preferred_channel"], "sms");
    assert_eq!(d["locale"], "zh-CN");

    // an address the email channel could never send to is refused when
    // written, not found out when a message fails
    for email in ["li..na@example.com", "li,na@example.com"] {
        let bad = app
            .post(
                "/api/v1/customers",
                Some(&token),
                &json!({"name": "李娜", "phone": "13900000002", "email": email}),
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
        assert_eq!(bad.problem_fields(), ["email"], "{}", bad.body);
    }
}

#[tokio::test]
async fn a_second_customer_with_the_same_phone_is_409() {
    let app = spawn_app().await;
    let (_, token) = app.staff("STAR", Role::ServiceAdvisor).await;
    app.create_customer(&token, "王小明", "13800000001").await;
    let dup = app
        .post(
            "/api/v1/customers",
            Some(&token),
            &json!({"name": "王大明", "phone": "+8613800000001"}),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.content_type(), "application/problem+json");
    assert!(dup.body["detail"].as_str().unwrap().contains("phone"));
}

#[tokio::test]
async fn search_finds_customers_by_phone_plate_vin_and_name() {
    let app = spawn_app().await;
    let (_, token) = app.staff("STAR", Role::ServiceAdvisor).await;
    let wang = app.create_customer(&token, "王小明", "13800000001").await;
    let li = app.create_customer(&token, "李娜", "13900000002").await;
    app.create_vehicle(&token, wang["id"].as_str().unwrap(), &vin(10), "京A12345")
        .await;
    let v = vin(11);
    app.create_vehicle(&token, li["id"].as_str().unwrap(), &v, "沪AD12345")
        .await;

    let ids = |a: &Answer| {
        a.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].clone())
            .collect::<Vec<_>>()
    };
    for q in [
        "13800000001",
        "%2B8613800000001",
        "138%200000%200001",
        "%E4%BA%ACA12345",
        "%E4%BA%ACa%C2%B712345",
        "%E7%8E%8B",
    ] {
        let a = app.get(&format!("/api/v1/customers?q={q}"), &token).await;
        assert_eq!(ids(&a), vec![wang["id"].clone()], "q={q}");
    }
    let by_vin = app
        .get(&format!("/api/v1/customers?q={}", v.to_lowercase()), &token)
        .await;
    assert_eq!(ids(&by_vin), vec![li["id"].clone()]);
    let by_tail = app
        .get(&format!("/api/v1/customers?q={}", &v[11..]), &token)
        .await;
    assert_eq!(ids(&by_tail), vec![li["id"].clone()]);
    let none = app.get("/api/v1/customers?q=13700000000", &token).await;
    assert!(ids(&none).is_empty());
    let all = app.get("/api/v1/customers", &token).await;
    assert_eq!(ids(&all).len(), 2);
}

#[tokio::test]
async fn pages_follow_the_cursor_to_the_end() {
    let app = spawn_app().await;
    let (_, token) = app.staff("STAR", Role::ServiceAdvisor).await;
    for i in 0..5 {
        app.create_customer(&token, &format!("客户{i}"), &format!("1380000000{i}"))
            .await;
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/customers?limit=2".to_string();
    loop {
        let page = app.get(&path, &token).await;
        assert_eq!(page.status, StatusCode::OK);
        seen.extend(
            page.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_string()),
        );
        match page.body["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/customers?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["客户0", "客户1", "客户2", "客户3", "客户4"]);
    let bad = app.get("/api/v1/customers?cursor=nonsense", &token).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.problem_fields(), ["cursor"]);
    let big = app.get("/api/v1/customers?limit=1000", &token).await;
    assert_eq!(big.problem_fields(), ["limit"]);
}

#[tokio::test]
async fn two_tablets_editing_one_customer_never_overwrite_each_other() {
    let app = spawn_app().await;
    let (_, token) = app.staff("STAR", Role::ServiceAdvisor).await;
    let c = app.create_customer(&token, "王小明", "13800000001").await;
    let path = format!("/api/v1/customers/{}", c["id"].as_str().unwrap());

    let no_etag = app.patch(&path, &token, None, &json!({"notes": "a"})).await;
    assert_eq!(no_etag.status, StatusCode::PRECONDITION_REQUIRED);

    let first = app
        .patch(
            &path,
            &token,
            Some("\"1\""),
            &json!({"notes": "from tablet A", "tags": ["VIP"]}),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.etag(), "\"2\"");
    let stale = app
        .patch(
            &path,
            &token,
            Some("\"1\""),
            &json!({"notes": "from tablet B"}),
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);

    let now = app.get(&path, &token).await;
    assert_eq!(now.body["notes"], "from tablet A");
    assert_eq!(now.body["tags"], json!(["VIP"]));

    // null clears, absent keeps
    let cleared = app
        .patch(&path, &token, Some(&now.etag()), &json!({"notes": null}))
        .await;
    assert_eq!(cleared.status, StatusCode::OK);
    assert!(cleared.body["notes"].is_null());
    assert_eq!(cleared.body["tags"], json!(["VIP"]));
}

#[tokio::test]
async fn a_patch_that_would_take_another_customers_phone_is_409_and_changes_nothing() {
    let app = spawn_app().await;
    let (_, token) = app.staff("STAR", Role::ServiceAdvisor).await;
    app.create_customer(&token, "王小明", "13800000001").await;
    let li = app.create_customer(&token, "李娜", "13900000002").await;
    let path = format!("/api/v1/customers/{}", li["id"].as_str().unwrap());
    let clash = app
        .patch(
            &path,
            &token,
            Some("\"1\""),
            &json!({"phone": "13800000001", "name": "李娜娜"}),
        )
        .await;
    assert_eq!(clash.status, StatusCode::CONFLICT);
    let after = app.get(&path, &token).await;
    assert_eq!(after.body["name"], "李娜");
    assert_eq!(after.etag(), "\"1\"");
}

#[tokio::test]
async fn a_consent_patch_replaces_only_the_statements_it_names() {
    let app = spawn_app().await;
    let (_, token) = app.staff("STAR", Role::ServiceAdvisor).await;
    let c = app
        .post(
            "/api/v1/customers",
            Some(&token),
            &json!({"name": "王小明", "phone": "13800000001", "consents": [
                {"channel": "sms", "purpose": "marketing", "granted": true, "source": "paper_form", "at": "2026-01-01T00:00:00Z"},
                {"channel": "email", "purpose": "service", "granted": true, "source": "paper_form", "at": "2026-01-01T00:00:00Z"}
            ]}),
        )
        .await;
    let path = format!("/api/v1/customers/{}", c.body["id"].as_str().unwrap());
    let p = app
        .patch(&path, &token, Some(&c.etag()), &json!({"consents": [{"channel": "sms", "purpose": "marketing", "granted": false, "source": "phone_call"}]}))
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let consents = p.body["consents"].as_array().unwrap();
    assert_eq!(consents.len(), 2);
    let sms = consents.iter().find(|x| x["channel"] == "sms").unwrap();
    assert_eq!(
        (sms["granted"].clone(), sms["source"].clone()),
        (json!(false), json!("phone_call"))
    );
    assert_ne!(sms["at"], "2026-01-01T00:00:00Z");
    let email = consents.iter().find(|x| x["channel"] == "email").unwrap();
    assert_eq!(email["at"], "2026-01-01T00:00:00Z");
    let future = app
        .patch(&path, &token, Some(&p.etag()), &json!({"consents": [{"channel": "app", "purpose": "service", "granted": true, "source": "app", "at": "2999-01-01T00:00:00Z"}]}))
        .await;
    assert_eq!(future.problem_fields(), ["consents[0].at"]);
}
