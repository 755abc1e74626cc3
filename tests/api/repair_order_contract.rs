//! The repair-order document against what the server answers: each test
//! here is a place where a generated client or schemathesis found the
//! document and the answers apart.
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::appointments::{owner, shop};
use crate::helpers::spawn_app;
use crate::repair_orders::{add_job, walk_in};

fn doc() -> Value {
    servicelane::api::openapi()
}

/// The schema a `$ref` points at, or the schema itself.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        None => schema,
    }
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

fn required(schema: &Value) -> Vec<String> {
    let mut k: Vec<String> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    k.sort();
    k
}

/// schemathesis: `EstimateLine.parts` was documented as an object, and is a
/// list of the parts frozen with the estimate.
#[tokio::test]
async fn an_estimates_parts_are_a_documented_list() {
    let app = spawn_app().await;
    let s = shop(&app, "RC1", "Asia/Shanghai", 3, 3).await;
    let (_, v) = owner(&app, &s, 1).await;
    let o = walk_in(&app, &s, &v).await;
    let id = o["id"].as_str().unwrap();
    add_job(
        &app,
        &s.advisor,
        id,
        json!({"description": "更换机油滤清器", "labour_hours": "0.5",
               "parts": [{"part_number": "06L115562B", "name": "机油滤清器", "quantity": "1", "unit_price": "68.00"}]}),
    )
    .await;
    let e = app
        .post(
            &format!("/api/v1/repair-orders/{id}/estimate"),
            Some(&s.advisor),
            &json!({}),
        )
        .await;
    assert_eq!(e.status, StatusCode::CREATED, "{}", e.body);
    let got = app
        .get(&format!("/api/v1/repair-orders/{id}/estimate"), &s.advisor)
        .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    let parts = &got.body["content"]["lines"][0]["parts"];
    assert!(parts.is_array(), "{}", got.body);
    assert_eq!(parts[0]["unit_price_cents"], 6800, "{parts}");

    let doc = doc();
    let documented = &doc["components"]["schemas"]["EstimateLine"]["properties"]["parts"];
    assert_eq!(documented["type"], "array", "{documented}");
    let part = resolve(&doc, &documented["items"]);
    assert_eq!(required(part), keys(&parts[0]), "{part}");
    assert_eq!(keys(&part["properties"]), keys(&parts[0]));
    assert_eq!(part["properties"]["quantity"]["type"], "string");
    assert_eq!(part["properties"]["unit_price_cents"]["type"], "integer");
}

/// schemathesis: the event stream was documented as a plain string; each
/// frame an SSE client reads (`id`, `event`, `data`) is now documented too,
/// and the frames keep to it.
#[tokio::test]
async fn each_frame_of_the_event_stream_is_a_documented_event() {
    let app = spawn_app().await;
    let s = shop(&app, "RC2", "Asia/Shanghai", 3, 3).await;
    let (_, v) = owner(&app, &s, 1).await;
    let o = walk_in(&app, &s, &v).await;
    let id = o["id"].as_str().unwrap();
    // a cancelled order's stream ends after its last event
    let c = app
        .post(
            &format!("/api/v1/repair-orders/{id}/cancel"),
            Some(&s.advisor),
            &json!({"reason": "客户改期 the customer will come back"}),
        )
        .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    let res = app
        .http
        .get(app.url(&format!("/api/v1/repair-orders/{id}/events")))
        .bearer_auth(&s.advisor)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let text = res.text().await.unwrap();

    let doc = doc();
    let media = &doc["paths"]["/api/v1/repair-orders/{id}/events"]["get"]["responses"]["200"]["content"]
        ["text/event-stream"];
    let stream = resolve(&doc, &media["schema"]);
    let one_of = stream["oneOf"].as_array().expect("text or one event");
    assert!(one_of.iter().any(|s| s["type"] == "string"), "{stream}");
    let event = one_of
        .iter()
        .map(|s| resolve(&doc, s))
        .find(|s| s["type"] == "object")
        .expect("the event's schema");
    assert_eq!(required(event), ["data", "event", "id"]);
    let kinds = resolve(&doc, &event["properties"]["event"])["enum"]
        .as_array()
        .unwrap()
        .clone();

    let frames: Vec<&str> = text
        .split("\n\n")
        .filter(|f| !f.trim().is_empty())
        .collect();
    assert!(frames.len() >= 2, "opened and cancelled: {text}");
    for frame in frames {
        let mut fields = serde_json::Map::new();
        for line in frame.lines().filter(|l| !l.starts_with(':')) {
            let (k, v) = line.split_once(": ").unwrap_or((line, ""));
            fields.insert(k.to_string(), json!(v));
        }
        let frame_keys = keys(&Value::Object(fields.clone()));
        assert_eq!(frame_keys, ["data", "event", "id"], "{frame}");
        assert!(kinds.contains(&fields["event"]), "{frame}");
        let data: Value = serde_json::from_str(fields["data"].as_str().unwrap()).unwrap();
        assert_eq!(data["seq"].to_string(), fields["id"].as_str().unwrap());
        assert_eq!(data["kind"], fields["event"]);
    }
}

/// The generated client: the photo form's `purpose` was a free string, and
/// `item_code` nullable, which a client sends as the text "None": a form
/// part cannot be null.
#[test]
fn the_photo_form_names_its_purposes_and_has_no_null_parts() {
    let doc = doc();
    let form = &doc["components"]["schemas"]["PhotoUpload"];
    let purpose = resolve(&doc, &form["properties"]["purpose"]);
    assert_eq!(
        purpose["enum"],
        json!(["walkaround", "health_check", "qc", "damage"]),
        "{purpose}"
    );
    for (name, p) in form["properties"].as_object().unwrap() {
        let p = resolve(&doc, p);
        assert!(
            p["type"].is_string() || p["enum"].is_array(),
            "{name} must be one type, not null: {p}"
        );
    }
    assert_eq!(required(form), ["file", "purpose"]);
}
