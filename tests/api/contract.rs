//! The OpenAPI document is the contract: committed, complete, and true to
//! what the server reads, answers and routes.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::StatusCode;
use serde::Serialize;
use serde_json::Value;
use servicelane::api::auth::OtpStatus;
use servicelane::api::customers::ExportFormat;
use servicelane::domain::Role;
use servicelane::domain::appointment::{AppointmentState, Source, StateAction, WarningKind};
use servicelane::domain::care::{InboundAction, TemplateChannel};
use servicelane::domain::customer::{Calendar, Channel, ConsentSource, Locale, Purpose};
use servicelane::domain::import::JobState;
use servicelane::domain::maintenance::DueReason;
use servicelane::domain::message::MessageKind;
use servicelane::domain::outbox::{AttemptOutcome, MessageState, ReceiptStatus};
use servicelane::domain::role::ActorKind;
use servicelane::domain::vehicle::MileageSource;

use crate::helpers::*;

const COMMITTED: &str = "openapi.json";

/// `UPDATE_OPENAPI=1 cargo test --test api contract` rewrites the file.
#[tokio::test]
async fn the_served_document_is_the_committed_openapi_json() {
    let app = spawn_app().await;
    let served = app.text("/openapi.json").await;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(COMMITTED);
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &served).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == served,
        "the served OpenAPI document differs from {COMMITTED}: review the change, then \
         rewrite it with `cargo run -- openapi > {COMMITTED}` \
         (or UPDATE_OPENAPI=1 cargo test --test api contract)"
    );
}

use servicelane::domain::repair_order as ro;

fn wire<T: Serialize>(all: &[T]) -> Vec<String> {
    all.iter()
        .map(|v| {
            serde_json::to_value(v)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// Every enum type the API speaks, with the strings serde writes for it.
fn enums() -> BTreeMap<&'static str, Vec<String>> {
    BTreeMap::from([
        ("AppointmentState", wire(AppointmentState::ALL)),
        ("Source", wire(Source::ALL)),
        ("StateAction", wire(StateAction::ALL)),
        ("WarningKind", wire(WarningKind::ALL)),
        ("Channel", wire(Channel::ALL)),
        ("Locale", wire(Locale::ALL)),
        ("Calendar", wire(Calendar::ALL)),
        ("Purpose", wire(Purpose::ALL)),
        ("ConsentSource", wire(ConsentSource::ALL)),
        ("DueReason", wire(DueReason::ALL)),
        ("MileageSource", wire(MileageSource::ALL)),
        ("MessageKind", wire(MessageKind::ALL)),
        ("ActorKind", wire(ActorKind::ALL)),
        ("Role", wire(&Role::ALL)),
        ("OtpStatus", wire(&[OtpStatus::SentIfKnown])),
        ("JobState", wire(JobState::ALL)),
        ("MessageState", wire(MessageState::ALL)),
        ("AttemptOutcome", wire(AttemptOutcome::ALL)),
        ("ReceiptStatus", wire(ReceiptStatus::ALL)),
        ("InboundAction", wire(InboundAction::ALL)),
        ("TemplateChannel", wire(TemplateChannel::ALL)),
        ("OrderState", wire(ro::OrderState::ALL)),
        ("RepairJobState", wire(ro::RepairJobState::ALL)),
        ("Skill", wire(ro::Skill::ALL)),
        ("PayType", wire(ro::PayType::ALL)),
        ("JobOrigin", wire(ro::JobOrigin::ALL)),
        ("Approval", wire(ro::Approval::ALL)),
        ("ApprovalChannel", wire(ro::ApprovalChannel::ALL)),
        ("Priority", wire(ro::Priority::ALL)),
        ("SignatureKind", wire(ro::SignatureKind::ALL)),
        ("EventKind", wire(ro::EventKind::ALL)),
        ("WalkStatus", wire(ro::WalkStatus::ALL)),
        ("ClockOff", wire(ro::ClockOff::ALL)),
        ("PaymentMethod", wire(ro::PaymentMethod::ALL)),
        ("QcLevel", wire(ro::QcLevel::ALL)),
        ("PhotoPurpose", wire(ro::PhotoPurpose::ALL)),
        ("Rating", wire(ro::Rating::ALL)),
        (
            "CareKind",
            wire(servicelane::domain::care_plan::CareKind::ALL),
        ),
        ("Holiday", wire(servicelane::domain::calendar::Holiday::ALL)),
        ("Section", wire(servicelane::domain::csi::Section::ALL)),
        (
            "CsiGrouping",
            wire(servicelane::domain::csi_report::CsiGrouping::ALL),
        ),
        (
            "KpiGrouping",
            wire(servicelane::domain::kpi::KpiGrouping::ALL),
        ),
        ("CaseState", wire(servicelane::domain::case::CaseState::ALL)),
        (
            "CaseAction",
            wire(servicelane::domain::case::CaseAction::ALL),
        ),
        (
            "CaseSource",
            wire(servicelane::domain::case::CaseSource::ALL),
        ),
        (
            "CaseCategory",
            wire(servicelane::domain::case::CaseCategory::ALL),
        ),
        ("Severity", wire(servicelane::domain::case::Severity::ALL)),
        (
            "ComebackKind",
            wire(servicelane::domain::comeback::ComebackKind::ALL),
        ),
        (
            "ComebackCause",
            wire(servicelane::domain::comeback::ComebackCause::ALL),
        ),
        (
            "WarrantyState",
            wire(servicelane::domain::warranty::WarrantyState::ALL),
        ),
        (
            "WarrantyAction",
            wire(servicelane::domain::warranty::WarrantyAction::ALL),
        ),
        (
            "WarrantyDecision",
            wire(servicelane::domain::warranty::WarrantyDecision::ALL),
        ),
        (
            "RemittanceOutcome",
            wire(servicelane::domain::warranty::RemittanceOutcome::ALL),
        ),
        (
            "WarrantyPartState",
            wire(servicelane::domain::warranty::WarrantyPartState::ALL),
        ),
        (
            "ComebackState",
            wire(servicelane::domain::comeback::ComebackState::ALL),
        ),
        (
            "ReportFormat",
            wire(servicelane::domain::kpi::ReportFormat::ALL),
        ),
        (
            "CallbackReason",
            wire(servicelane::domain::callback::CallbackReason::ALL),
        ),
        (
            "CallbackState",
            wire(servicelane::domain::callback::CallbackState::ALL),
        ),
        (
            "CallResult",
            wire(servicelane::domain::callback::CallResult::ALL),
        ),
        (
            "RescueProblem",
            wire(servicelane::domain::rescue::RescueProblem::ALL),
        ),
        (
            "RescueState",
            wire(servicelane::domain::rescue::RescueState::ALL),
        ),
        (
            "RescueAction",
            wire(servicelane::domain::rescue::RescueAction::ALL),
        ),
        (
            "RosterDay",
            wire(servicelane::domain::rescue::RosterDay::ALL),
        ),
        (
            "EscalationChannel",
            wire(servicelane::domain::case::EscalationChannel::ALL),
        ),
        (
            "ExportFormat",
            wire(&[ExportFormat::Csv, ExportFormat::Xlsx]),
        ),
        (
            "ValueTier",
            wire(servicelane::domain::customer_value::ValueTier::ALL),
        ),
        (
            "TargetList",
            wire(servicelane::domain::customer_value::TargetList::ALL),
        ),
        (
            "ValueFormat",
            wire(servicelane::domain::customer_value::ValueFormat::ALL),
        ),
        (
            "KpiMetric",
            wire(servicelane::domain::performance::KpiMetric::ALL),
        ),
        (
            "PolicyKind",
            wire(servicelane::domain::insurance::PolicyKind::ALL),
        ),
        (
            "RenewalOutcome",
            wire(servicelane::domain::insurance::RenewalOutcome::ALL),
        ),
        (
            "CareCardFormat",
            wire(servicelane::domain::care_card::CareCardFormat::ALL),
        ),
        (
            "ScoreScope",
            wire(servicelane::domain::performance::ScoreScope::ALL),
        ),
        ("ToolKind", wire(servicelane::domain::tools::ToolKind::ALL)),
        (
            "ToolState",
            wire(servicelane::domain::tools::ToolState::ALL),
        ),
        (
            "ReturnCondition",
            wire(servicelane::domain::tools::ReturnCondition::ALL),
        ),
        (
            "ToolIncidentKind",
            wire(servicelane::domain::tools::ToolIncidentKind::ALL),
        ),
        (
            "ToolRequestKind",
            wire(servicelane::domain::tools::ToolRequestKind::ALL),
        ),
        (
            "ToolRequestState",
            wire(servicelane::domain::tools::ToolRequestState::ALL),
        ),
        (
            "MovementKind",
            wire(servicelane::domain::parts::MovementKind::ALL),
        ),
        ("AbcClass", wire(servicelane::domain::parts::AbcClass::ALL)),
        (
            "PersonalField",
            wire(servicelane::domain::privacy::PersonalField::ALL),
        ),
        (
            "AccessAction",
            wire(servicelane::domain::privacy::AccessAction::ALL),
        ),
        (
            "EnquiryTopic",
            wire(servicelane::domain::enquiry::EnquiryTopic::ALL),
        ),
        (
            "EnquiryContact",
            wire(servicelane::domain::enquiry::EnquiryContact::ALL),
        ),
        (
            "EnquirySource",
            wire(servicelane::domain::enquiry::EnquirySource::ALL),
        ),
        (
            "EnquiryState",
            wire(servicelane::domain::enquiry::EnquiryState::ALL),
        ),
        (
            "EnquirySla",
            wire(servicelane::domain::enquiry::EnquirySla::ALL),
        ),
        (
            "ExportState",
            wire(servicelane::domain::data_export::ExportState::ALL),
        ),
        (
            "ErasureState",
            wire(servicelane::domain::erasure::ErasureState::ALL),
        ),
        (
            "RetentionKind",
            wire(servicelane::domain::retention::RetentionKind::ALL),
        ),
    ])
}

#[test]
fn every_enum_in_the_document_lists_exactly_the_wire_values() {
    let doc = servicelane::api::openapi();
    let known = enums();
    let mut seen = BTreeSet::new();
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        let Some(values) = schema["enum"].as_array() else {
            continue;
        };
        let documented: Vec<String> = values
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let expected = known.get(name.as_str()).unwrap_or_else(|| {
            panic!("enum {name} is in the document but not in this test's table")
        });
        assert_eq!(&documented, expected, "{name}: documented vs serialised");
        seen.insert(name.as_str());
    }
    let missing: Vec<_> = known.keys().filter(|k| !seen.contains(*k)).collect();
    assert!(missing.is_empty(), "not in the document: {missing:?}");
}

#[test]
fn every_documented_wire_value_is_read_back_by_serde() {
    let read = |v: &str| -> Value { Value::String(v.into()) };
    for v in wire(Locale::ALL) {
        assert!(serde_json::from_value::<Locale>(read(&v)).is_ok(), "{v}");
    }
    for v in wire(AppointmentState::ALL) {
        assert!(
            serde_json::from_value::<AppointmentState>(read(&v)).is_ok(),
            "{v}"
        );
    }
    for v in wire(StateAction::ALL) {
        assert!(
            serde_json::from_value::<StateAction>(read(&v)).is_ok(),
            "{v}"
        );
    }
    // and the Rust names are not accepted in their place
    assert!(serde_json::from_value::<Locale>(read("ZhCn")).is_err());
}

fn walk_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|x| walk_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| walk_refs(x, out)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves_and_operation_ids_are_unique() {
    let doc = servicelane::api::openapi();
    let mut refs = Vec::new();
    walk_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let pointer = r.trim_start_matches('#');
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_default();
            assert!(
                id.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && !id.contains('_'),
                "{method} {path}: operationId {id:?} is not camelCase"
            );
            assert!(ids.insert(id.to_string()), "operationId {id} twice");
        }
    }
}

#[test]
fn problems_are_documented_as_problem_json_by_rule() {
    let doc = servicelane::api::openapi();
    let op = &doc["paths"]["/api/v1/customers/{id}"]["patch"];
    for status in [
        "400", "401", "403", "404", "409", "412", "413", "422", "428",
    ] {
        assert!(
            op["responses"].get(status).is_some(),
            "PATCH customer lacks {status}"
        );
    }
    let shared = &doc["components"]["responses"]["TooManyRequests"];
    assert!(shared["content"]["application/problem+json"].is_object());
    assert!(shared["headers"]["Retry-After"].is_object());
    // a secured read names no body problems; an unsecured one no 401
    let read = &doc["paths"]["/api/v1/customers/{id}"]["get"]["responses"];
    assert!(read.get("413").is_none() && read.get("401").is_some());
    let live = &doc["paths"]["/health/live"]["get"]["responses"];
    assert!(live.get("401").is_none());
    // formats
    let customer = &doc["components"]["schemas"]["Customer"]["properties"];
    assert_eq!(customer["id"]["format"], "uuid");
    assert_eq!(customer["created_at"]["format"], "date-time");
    let limit = doc["paths"]["/api/v1/customers"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap()
        .clone();
    assert_eq!(limit["schema"]["minimum"], 1);
    assert_eq!(limit["schema"]["maximum"], 200);
    assert_eq!(
        limit["schema"]["type"], "integer",
        "query params are not nullable"
    );
}

/// A value for a path parameter, so that the request reaches the handler.
fn fill(path: &str) -> String {
    path.replace("{id}", &uuid::Uuid::now_v7().to_string())
        .replace("{action}", "confirm")
        .replace("{date}", "2030-01-01")
        .replace("{code}", "OIL")
}

#[tokio::test]
async fn every_documented_operation_is_served_and_nothing_else_is() {
    let app = spawn_app().await;
    let doc = servicelane::api::openapi();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let res = app.send(app.http.request(m, app.url(&fill(path)))).await;
            assert_ne!(
                res.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is documented but not served"
            );
            assert!(
                !res.body["type"]
                    .as_str()
                    .unwrap_or_default()
                    .ends_with("/no-route"),
                "{method} {path} is documented but not served"
            );
        }
    }
    // and a path that is not documented is not served
    let res = app
        .send(app.http.get(app.url("/api/v1/nothing-here")))
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(res.body["type"].as_str().unwrap().ends_with("/no-route"));
    assert_eq!(res.content_type(), "application/problem+json");
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow() {
    let app = spawn_app().await;
    let res = app
        .send(app.http.delete(app.url("/api/v1/customers")))
        .await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.content_type(), "application/problem+json");
    let allow = res.headers["allow"].to_str().unwrap().to_string();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    let res = app
        .send(app.http.put(app.url(&fill("/api/v1/appointments/{id}"))))
        .await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.headers["allow"].to_str().unwrap(), "GET");
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_and_a_wrong_content_type_400() {
    let app = spawn_app().await;
    let (_, token) = app.staff("STAR", Role::ServiceAdvisor).await;
    let big = format!(
        r#"{{"name": "王", "phone": "13800000001", "notes": "{}"}}"#,
        "x".repeat(300_000)
    );
    let res = app.post_raw("/api/v1/customers", &token, &big).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(res.content_type(), "application/problem+json");
    let res = app
        .send(
            app.http
                .post(app.url("/api/v1/customers"))
                .bearer_auth(&token)
                .header("content-type", "text/plain")
                .body(r#"{"name": "王", "phone": "13800000001"}"#),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_docs_page_and_its_assets_are_served_from_the_binary() {
    let app = spawn_app().await;
    let page = app.http.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<html") || html.contains("<!DOCTYPE"),
        "{html}"
    );
    // every script and stylesheet it names is ours, and answers
    let mut assets = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            let url = part.split('"').next().unwrap();
            assert!(
                !url.starts_with("http:") && !url.starts_with("https:") && !url.starts_with("//"),
                "the docs page loads {url} from elsewhere"
            );
            assets.push(url.trim_start_matches("./").to_string());
        }
    }
    assert!(!assets.is_empty());
    for asset in assets {
        let res = app
            .http
            .get(app.url(&format!("/docs/{asset}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "/docs/{asset}");
        let text = res.text().await.unwrap();
        if asset.ends_with("initializer.js") {
            assert!(text.contains("/openapi.json"), "{text}");
        }
    }
    // /docs itself leads there
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/docs"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection());
}
