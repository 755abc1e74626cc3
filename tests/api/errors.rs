//! Every kind of bad input gets a problem naming the field, never a 500.

use reqwest::StatusCode;
use serde_json::json;
use servicelane::domain::Role;

use crate::helpers::*;

#[tokio::test]
async fn each_kind_of_bad_input_is_a_problem_naming_the_field() {
    let app = spawn_app().await;
    let (_, token) = app.staff("STAR", Role::ServiceAdvisor).await;
    let cases: Vec<(&str, &str, u16, &str)> = vec![
        ("malformed JSON", r#"{"name": "王","#, 400, ""),
        (
            "wrong type",
            r#"{"name": 5, "phone": "13800000001"}"#,
            422,
            "name",
        ),
        (
            "unknown enum value",
            r#"{"name": "王", "phone": "13800000001", "preferred_channel": "fax"}"#,
            422,
            "preferred_channel",
        ),
        ("missing field", r#"{"name": "王"}"#, 422, "phone"),
        (
            "nested wrong type",
            r#"{"name": "王", "phone": "13800000001", "birthday": {"calendar": "solar", "month": "May", "day": 1}}"#,
            422,
            "birthday.month",
        ),
        (
            "unknown field",
            r#"{"name": "王", "phone": "13800000001", "colour": "red"}"#,
            422,
            "colour",
        ),
        (
            "over-long string",
            &*Box::leak(
                format!(
                    r#"{{"name": "{}", "phone": "13800000001"}}"#,
                    "王".repeat(51)
                )
                .into_boxed_str(),
            ),
            422,
            "name",
        ),
        (
            "bad phone",
            r#"{"name": "王", "phone": "12345"}"#,
            422,
            "phone",
        ),
        (
            "impossible birthday",
            r#"{"name": "王", "phone": "13800000001", "birthday": {"calendar": "solar", "month": 2, "day": 30}}"#,
            422,
            "birthday.day",
        ),
    ];
    for (what, body, status, field) in cases {
        let a = app.post_raw("/api/v1/customers", &token, body).await;
        assert_eq!(a.status.as_u16(), status, "{what}: {}", a.body);
        assert_eq!(a.content_type(), "application/problem+json", "{what}");
        assert_eq!(a.body["status"], status, "{what}");
        assert!(
            a.body["type"].is_string()
                && a.body["title"].is_string()
                && a.body["detail"].is_string(),
            "{what}"
        );
        if !field.is_empty() {
            assert_eq!(a.problem_fields(), [field], "{what}: {}", a.body);
        }
    }
    // nothing half-written: none of those created a customer
    let list = app.get("/api/v1/customers", &token).await;
    assert_eq!(list.body["items"], json!([]));
}

#[tokio::test]
async fn a_body_that_is_not_json_and_an_unknown_route_are_problems_too() {
    let app = spawn_app().await;
    let (_, token) = app.staff("STAR", Role::ServiceAdvisor).await;
    let form = app
        .send(
            app.http
                .post(app.url("/api/v1/customers"))
                .bearer_auth(&token)
                .header("content-type", "text/plain")
                .body("name=王"),
        )
        .await;
    assert_eq!(form.status, StatusCode::BAD_REQUEST);
    assert_eq!(form.content_type(), "application/problem+json");
    let nowhere = app.get("/api/v1/nowhere", &token).await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    assert_eq!(nowhere.content_type(), "application/problem+json");
    let bad_id = app.get("/api/v1/customers/not-a-uuid", &token).await;
    assert_eq!(bad_id.status, StatusCode::NOT_FOUND);
    let bad_query = app.get("/api/v1/customers?limit=ten", &token).await;
    assert_eq!(bad_query.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_query.problem_fields(), ["limit"]);
}
