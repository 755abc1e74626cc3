//! Staff performance and rewards (issue 12 part 4): targets planned before
//! the month, a scorecard and a bonus worked out by hand for one advisor
//! and one technician over the KPI tests' seeded day (Tuesday 2027-03-02,
//! see tests/api/kpi.rs), read that evening: March is counted 3/1–3/2.
//!
//! The advisor's March: revenue 587.00 (order A), CSI 90.0, follow-up 1/1.
//! Targets 800, 88, 0.9: achievement 0.7338, 1.0227, 1.1111. Scheme: base
//! 2000; revenue weight 0.5 (threshold 0.7, cap 1.2) → 733.80; CSI 0.3
//! (0.9, 1.1) → 613.62; follow-up 0.2 (0.8, cap 1.05) → 420.00 at the cap;
//! 1767.42 in all (at most 2500).
//!
//! The technician's March: 7.5 h on Monday + 6 h on Tuesday = 13.50
//! available, 0.67 clocked, 1.50 sold: productivity 0.67 ÷ 13.50 = 0.050,
//! efficiency 1.50 ÷ 0.67 = 2.239; order A a comeback: rate 1.000.
//! Targets 0.8, 1.1, 0.05: achievement 0.0625, 2.0355, 0.05. Scheme: base
//! 1000; productivity 0.3 (0.8, 1.2) → 0 below the threshold; efficiency
//! 0.4 (0.8, 1.2) → 480.00 at the cap; comeback rate 0.3 (0.5, 1.5) → 0.
//! 480.00 in all.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::care_planner::{d, set_local};
use crate::kpi::{seeded, user_id};
use crate::workshop::day_app;

fn sh() -> chrono_tz::Tz {
    chrono_tz::Asia::Shanghai
}

fn scheme() -> Value {
    json!({"posts": [
        {"role": "service_advisor", "base_bonus": "2000", "max_bonus": "2500", "lines": [
            {"metric": "revenue", "weight": "0.5", "threshold": "0.7", "cap": "1.2"},
            {"metric": "csi", "weight": "0.3", "threshold": "0.9", "cap": "1.1"},
            {"metric": "follow_up_rate", "weight": "0.2", "threshold": "0.8", "cap": "1.05"}]},
        {"role": "technician", "base_bonus": "1000", "max_bonus": "1500", "lines": [
            {"metric": "productivity", "weight": "0.3", "threshold": "0.8", "cap": "1.2"},
            {"metric": "efficiency", "weight": "0.4", "threshold": "0.8", "cap": "1.2"},
            {"metric": "comeback_rate", "weight": "0.3", "threshold": "0.5", "cap": "1.5"}]}
    ]})
}

/// (metric, target, actual, achievement, met) of a card's lines.
fn lines(card: &Value) -> Vec<(String, Value, Value, Value, Value)> {
    card["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["metric"].as_str().unwrap().to_string(),
                l["target"].clone(),
                l["actual"].clone(),
                l["achievement"].clone(),
                l["met"].clone(),
            )
        })
        .collect()
}

/// The amounts of a bonus's lines.
fn amounts(bonus: &Value) -> Vec<String> {
    bonus["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["amount"].as_str().unwrap().to_string())
        .collect()
}

fn row(m: &str, t: &str, a: &str, ach: &str, met: bool) -> (String, Value, Value, Value, Value) {
    (m.into(), json!(t), json!(a), json!(ach), json!(met))
}

#[tokio::test]
async fn a_scorecard_and_a_bonus_for_an_advisor_and_a_technician_as_worked_out_by_hand() {
    let app = day_app().await;
    let (f, _) = seeded(&app).await;
    let advisor = user_id(&app, &f.s.advisor).await;
    let tech = f.tech_id.clone();

    // 25 February: the manager plans March
    set_local(&app, sh(), d(2027, 2, 25), 10, 0);
    let manager = app.login_as(&f.s.code, "service_manager").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let put = app
        .put(
            "/api/v1/targets?month=2027-03",
            &manager,
            &json!({"people": [
                {"user_id": advisor, "targets": [
                    {"metric": "revenue", "target": "800"},
                    {"metric": "csi", "target": "88"},
                    {"metric": "follow_up_rate", "target": "0.9"}]},
                {"user_id": tech, "targets": [
                    {"metric": "productivity", "target": "0.8"},
                    {"metric": "efficiency", "target": "1.1"},
                    {"metric": "comeback_rate", "target": "0.05"}]}]}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(put.body["open"], true);
    let s = app.put("/api/v1/reward-scheme", &manager, &scheme()).await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.body);

    // 2 March, 18:00: the cards
    set_local(&app, sh(), d(2027, 3, 2), 18, 0);
    let r = app
        .get(
            &format!("/api/v1/scorecards?month=2027-03&user_id={advisor}"),
            &f.s.manager,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let card = &r.body[0];
    assert_eq!(
        (&card["counted_from"], &card["counted_to"]),
        (&json!("2027-03-01"), &json!("2027-03-02"))
    );
    assert_eq!(
        lines(card),
        [
            row("revenue", "800", "587.00", "0.7338", false),
            row("csi", "88", "90.0", "1.0227", true),
            row("follow_up_rate", "0.9", "1.000", "1.1111", true),
        ]
    );
    let b = &card["bonus"];
    assert_eq!(amounts(b), ["733.80", "613.62", "420.00"]);
    assert_eq!(
        (&b["subtotal"], &b["total"]),
        (&json!("1767.42"), &json!("1767.42"))
    );
    assert_eq!(
        b["lines"][2]["why_en"],
        "achieved 111.1%, paid at the 105.0% cap: 2000.00 × 20.0% × 105.0% = 420.00"
    );
    assert_eq!(
        b["lines"][0]["why_zh_cn"],
        "达成率 73.4%：2000.00 × 50.0% × 73.4% = 733.80"
    );
    // the month before, side by side, as the board counts February
    let feb = app
        .get(
            &format!(
                "/api/v1/kpi/range?from=2027-02-01&to=2027-02-28&by=month&advisor_id={advisor}"
            ),
            &f.s.manager,
        )
        .await;
    assert_eq!(
        card["lines"][0]["last_month"],
        feb.body["total"]["revenue"]["total"]
    );

    // the technician's, read by the technician themself
    let r = app.get("/api/v1/scorecards?month=2027-03", &f.tech).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let cards = r.body.as_array().unwrap();
    assert_eq!(cards.len(), 1, "only their own");
    let card = &cards[0];
    assert_eq!(card["user"]["id"], json!(tech));
    assert_eq!(
        lines(card),
        [
            row("productivity", "0.8", "0.050", "0.0625", false),
            row("efficiency", "1.1", "2.239", "2.0355", true),
            row("comeback_rate", "0.05", "1.000", "0.05", false),
        ]
    );
    // February: 20 weekdays of 7.5 h, nothing clocked
    assert_eq!(card["lines"][0]["last_month"], "0.000");
    assert_eq!(card["lines"][1]["last_month"], Value::Null);
    let b = &card["bonus"];
    assert_eq!(amounts(b), ["0.00", "480.00", "0.00"]);
    assert_eq!(b["total"], "480.00");

    // everyone's for the manager: the advisor, the technician, and the
    // heads (manager, foreman) without targets or a scheme of their own
    let all = app
        .get("/api/v1/scorecards?month=2027-03", &f.s.manager)
        .await;
    let ids: Vec<&str> = all
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["user"]["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&advisor.as_str()) && ids.contains(&tech.as_str()),
        "{ids:?}"
    );

    // the console: the advisor's own card, in Chinese, and nobody else's
    let b = crate::console::Browser::login(&app, &f.s.code, "service_advisor").await;
    let page = b.get("/console/scorecards?month=2027-03").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("data-bonus=\"1767.42\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("达成率 73.4%"));
    assert!(!page.body.contains(&format!("data-user=\"{tech}\"")));
    let bad = b.get("/console/scorecards?month=2027-13").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn targets_are_planned_before_the_month_by_managers_and_fit_the_post() {
    let app = day_app().await;
    let (f, _) = seeded(&app).await;
    let advisor = user_id(&app, &f.s.advisor).await;
    // March has begun on 3/2
    let late = app
        .put(
            "/api/v1/targets?month=2027-03",
            &f.s.manager,
            &json!({"people": [{"user_id": advisor, "targets": []}]}),
        )
        .await;
    assert_eq!(
        late.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        late.body
    );
    assert_eq!(late.problem_fields(), ["month"]);
    // April: an advisor is not held to efficiency; a share over 1; a
    // technician cannot plan anyone's
    let bad = app
        .put(
            "/api/v1/targets?month=2027-04",
            &f.s.manager,
            &json!({"people": [{"user_id": advisor, "targets": [
                {"metric": "efficiency", "target": "1.1"},
                {"metric": "follow_up_rate", "target": "1.5"},
                {"metric": "revenue", "target": "0"}]},
                {"user_id": f.tech_id, "targets": [{"metric": "warp_speed", "target": "1"}]}]}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let by_tech = app
        .put(
            "/api/v1/targets?month=2027-04",
            &f.tech,
            &json!({"people": []}),
        )
        .await;
    assert_eq!(by_tech.status, StatusCode::FORBIDDEN);
    let bad = app
        .put(
            "/api/v1/targets?month=2027-04",
            &f.s.manager,
            &json!({"people": [{"user_id": advisor, "targets": [
                {"metric": "efficiency", "target": "1.1"},
                {"metric": "follow_up_rate", "target": "1.5"},
                {"metric": "revenue", "target": "0"}]}]}),
        )
        .await;
    assert_eq!(
        bad.problem_fields(),
        [
            "people[0].targets[0].metric",
            "people[0].targets[1].target",
            "people[0].targets[2].target"
        ],
        "{}",
        bad.body
    );
    // a good plan, sent twice, is the same plan
    let plan = json!({"people": [{"user_id": advisor, "targets": [{"metric": "revenue", "target": "150000.00"}]}]});
    let first = app
        .put("/api/v1/targets?month=2027-04", &f.s.manager, &plan)
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let again = app
        .put("/api/v1/targets?month=2027-04", &f.s.manager, &plan)
        .await;
    let of = |b: &Value| {
        b["people"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["user"]["id"] == json!(advisor))
            .unwrap()["targets"]
            .clone()
    };
    assert_eq!(
        of(&again.body),
        json!([{"metric": "revenue", "scope": "advisor", "target": "150000"}])
    );
    assert_eq!(of(&first.body), of(&again.body));
    // the advisor reads their own sheet, not the technician's
    let own = app.get("/api/v1/targets?month=2027-04", &f.s.advisor).await;
    assert_eq!(own.body["people"].as_array().unwrap().len(), 1);
    let other = app
        .get(
            &format!("/api/v1/targets?month=2027-04&user_id={}", f.tech_id),
            &f.s.advisor,
        )
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    let month = app.get("/api/v1/targets?month=2027-13", &f.s.manager).await;
    assert_eq!(month.problem_fields(), ["month"]);
    // a scheme names each bad field
    let s = app
        .put(
            "/api/v1/reward-scheme",
            &f.s.manager,
            &json!({"posts": [{"role": "technician", "base_bonus": "1000", "max_bonus": "-1",
                "lines": [{"metric": "revenue", "weight": "1.5", "threshold": "0.8", "cap": "1.2"}]}]}),
        )
        .await;
    assert_eq!(
        s.problem_fields(),
        [
            "posts[0].max_bonus",
            "posts[0].lines[0].metric",
            "posts[0].lines[0].weight"
        ],
        "{}",
        s.body
    );
    let read = app.get("/api/v1/reward-scheme", &f.tech).await;
    assert_eq!(read.body, json!({"posts": []}));
}
