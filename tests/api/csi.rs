//! CSI (issue 10): the questionnaire, by version.

use reqwest::StatusCode;
use serde_json::json;
use servicelane::domain::Role;

use crate::helpers::*;

#[tokio::test]
async fn the_seeds_questionnaire_is_in_force_until_a_manager_puts_a_new_version() {
    let app = spawn_app().await;
    app.dealer("CSI").await;
    let (_, manager) = app.staff("CSI", Role::ServiceManager).await;
    let (_, tech) = app.staff("CSI", Role::Technician).await;
    let seed = app.get("/api/v1/csi/questionnaire", &tech).await;
    assert_eq!(seed.status, StatusCode::OK, "{}", seed.body);
    assert_eq!(seed.body["version"], 0);
    let weights: Vec<(String, u64)> = seed.body["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["section"].as_str().unwrap().to_string(),
                s["weight"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        weights,
        [
            ("facilities", 20),
            ("staff_contact", 33),
            ("work_done", 22),
            ("cost", 10),
            ("follow_up", 15)
        ]
        .map(|(s, w)| (s.to_string(), w))
    );
    let mut body = json!({"sections": seed.body["sections"].clone()});
    // weights that do not sum to 100, a NUL, a repeated code: refused by field, nothing kept
    let mut bad = body.clone();
    bad["sections"][0]["weight"] = json!(30);
    bad["sections"][1]["questions"][0]["text_zh"] = json!("  ");
    bad["sections"][2]["questions"][0]["code"] = json!("lounge");
    let r = app.put("/api/v1/csi/questionnaire", &manager, &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let mut fields = r.problem_fields();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "sections",
            "sections[1].questions[0].text_zh",
            "sections[2].questions[0].code"
        ]
    );
    // a NUL is refused where the body is read
    let mut nul = body.clone();
    nul["sections"][1]["questions"][0]["text_zh"] = json!("问\u{0}候");
    let r = app.put("/api/v1/csi/questionnaire", &manager, &nul).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.problem_fields(), vec!["sections[1].questions[0].text_zh"]);
    let huge = json!({"sections": [{"section": "cost", "weight": 4294967296u64, "questions": []}]});
    assert_eq!(
        app.put("/api/v1/csi/questionnaire", &manager, &huge)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.get("/api/v1/csi/questionnaire", &tech).await.body["version"],
        0
    );
    // a technician may read, not change
    assert_eq!(
        app.put("/api/v1/csi/questionnaire", &tech, &body)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // the seed's again: nothing new
    let same = app.put("/api/v1/csi/questionnaire", &manager, &body).await;
    assert_eq!(
        (same.status, same.body["version"].clone()),
        (StatusCode::OK, json!(0))
    );
    // cost weighs more, facilities less: version 1, and again is still 1
    body["sections"][0]["weight"] = json!(10);
    body["sections"][3]["weight"] = json!(20);
    body["sections"][3]["questions"][0]["text_en"] = json!("Prices were clear before the work");
    for _ in 0..2 {
        let r = app.put("/api/v1/csi/questionnaire", &manager, &body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["version"], 1);
    }
    let now = app.get("/api/v1/csi/questionnaire", &tech).await.body;
    assert_eq!(now["version"], 1);
    assert_eq!(now["sections"][3]["weight"], 20);
    assert_eq!(
        now["sections"][3]["questions"][0]["text_en"],
        "Prices were clear before the work"
    );
    // another dealer still asks the seed's
    app.dealer("OTHER").await;
    let (_, other) = app.staff("OTHER", Role::ServiceManager).await;
    assert_eq!(
        app.get("/api/v1/csi/questionnaire", &other).await.body["version"],
        0
    );
}
