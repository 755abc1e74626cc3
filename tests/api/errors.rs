//! Every kind of bad input gets a problem naming the field, never a 500; a
//! write the database cannot take in time is a 503 to retry, never a 500.

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, TransactionTrait};
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

/// A write that cannot have its lock in time (another connection holds it:
/// here the test's own) answers 503 with `Retry-After`, writes nothing, and
/// the same request succeeds once the lock is gone. SQLite: the busy timeout;
/// PostgreSQL: `lock_timeout`, without which the insert would wait as long
/// as the lock is held.
#[tokio::test]
async fn a_write_that_waits_too_long_for_a_lock_is_503_and_writes_nothing() {
    let app = spawn_app_with(&[
        ("SERVICELANE__DATABASE__BUSY_TIMEOUT_MS", "300"),
        ("SERVICELANE__DATABASE__LOCK_TIMEOUT_MS", "300"),
        NO_DISPATCHER,
    ])
    .await;
    let (_, token) = app.staff("STAR", Role::ServiceAdvisor).await;
    let outside = Database::connect(&app.database_url).await.unwrap();
    let holding = outside.begin().await.unwrap();
    let lock = match outside.get_database_backend() {
        // a write takes the database's one writer lock, held until rollback
        sea_orm::DbBackend::Sqlite => "UPDATE dealers SET name = name",
        // inserts into customers wait behind a SHARE lock
        _ => "LOCK TABLE customers IN SHARE MODE",
    };
    holding.execute_unprepared(lock).await.unwrap();

    let body = json!({"name": "王小明", "phone": "13800000077"});
    let refused = tokio::time::timeout(
        std::time::Duration::from_secs(15),
        app.post("/api/v1/customers", Some(&token), &body),
    )
    .await
    .expect("the write waited for the lock without end");
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.body
    );
    assert_eq!(refused.content_type(), "application/problem+json");
    assert_eq!(
        refused
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    holding.rollback().await.unwrap();

    let none = app.get("/api/v1/customers?q=13800000077", &token).await;
    assert_eq!(none.status, StatusCode::OK);
    assert_eq!(
        none.body["items"],
        json!([]),
        "the refused write left a row"
    );
    let retried = app.post("/api/v1/customers", Some(&token), &body).await;
    assert_eq!(retried.status, StatusCode::CREATED, "{}", retried.body);
    outside.close().await.unwrap();
}
