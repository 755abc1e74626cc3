//! Customer value (客户价值分析, issue 11): `GET /api/v1/customer-value`
//! and its settings.
//!
//! Today is 2027-03-01 in Shanghai; with the default settings the window
//! starts on 2025-03-01. Orders are written by hand (delivered, paid) where
//! the history is long; one real order goes through the workshop.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};
use servicelane::domain::Role;
use servicelane::entities::{csi_response, payment, repair_order};
use uuid::Uuid;

use crate::appointments::{Shop, owner, shop};
use crate::care_planner::{d, set_local};
use crate::helpers::*;

/// Today, local.
const TODAY: (i32, u32, u32) = (2027, 3, 1);

/// A dealer's test bench: the shop, its id, a user to sign for orders and
/// payments, and a technician's token.
struct Bench {
    s: Shop,
    dealer: Uuid,
    user: Uuid,
    tech: String,
}

async fn bench(app: &TestApp, code: &str) -> Bench {
    set_local(
        app,
        chrono_tz::Asia::Shanghai,
        d(TODAY.0, TODAY.1, TODAY.2),
        10,
        0,
    );
    let s = shop(app, code, "Asia/Shanghai", 3, 3).await;
    let (dealer, tech) = app.staff(code, Role::Technician).await;
    let me = app.get("/api/v1/me", &s.manager).await;
    let user = me.body["id"].as_str().unwrap().parse().unwrap();
    Bench {
        s,
        dealer,
        user,
        tech,
    }
}

/// 17:00 in Shanghai on `day`.
fn at(day: NaiveDate) -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .from_local_datetime(&day.and_hms_opt(17, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

fn id(s: &str) -> Uuid {
    s.parse().unwrap()
}

/// An order of `customer`'s `vehicle` in `state`, delivered on `day` (for
/// delivered and closed ones), with a payment of `paid_cents` (none for 0).
async fn order(
    app: &TestApp,
    b: &Bench,
    customer: &str,
    vehicle: &str,
    state: &str,
    day: NaiveDate,
    paid_cents: i64,
) -> (Uuid, String) {
    let oid = Uuid::now_v7();
    let number = format!("RO{}", &oid.simple().to_string()[20..]);
    let t = at(day);
    let delivered = matches!(state, "delivered" | "closed").then_some(t);
    repair_order::ActiveModel {
        id: Set(oid),
        dealer_id: Set(b.dealer),
        number: Set(number.clone()),
        customer_id: Set(id(customer)),
        vehicle_id: Set(id(vehicle)),
        appointment_id: Set(None),
        advisor_id: Set(None),
        state: Set(state.parse().unwrap()),
        odometer_km: Set(None),
        fuel_level: Set(None),
        concerns: Set(json!(["保养"])),
        notes: Set(None),
        promised_at: Set(None),
        arrived_at: Set(t - chrono::Duration::hours(8)),
        reception_started_at: Set(t - chrono::Duration::hours(8)),
        walkaround: Set(None),
        health_check: Set(None),
        accepted_estimate: Set(None),
        estimate_versions: Set(0),
        qc_round: Set(0),
        qc_reworks: Set(0),
        qc_passed_level: Set(None),
        vat_basis_points: Set(1300),
        prices_include_vat: Set(true),
        washed_at: Set(None),
        delivered_at: Set(delivered),
        closed_at: Set(None),
        event_seq: Set(0),
        version: Set(1),
        created_by: Set(b.user),
        created_at: Set(t - chrono::Duration::hours(8)),
        updated_at: Set(t),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    if paid_cents > 0 {
        payment::ActiveModel {
            id: Set(Uuid::now_v7()),
            dealer_id: Set(b.dealer),
            order_id: Set(oid),
            method: Set("wechat".parse().unwrap()),
            amount_cents: Set(paid_cents),
            received_by: Set(b.user),
            at: Set(t),
        }
        .insert(&app.state.db)
        .await
        .unwrap();
    }
    (oid, number)
}

/// Delivered visits of one vehicle: (day, paid in fen).
async fn visits(app: &TestApp, b: &Bench, customer: &str, vehicle: &str, v: &[(NaiveDate, i64)]) {
    for (day, cents) in v {
        order(app, b, customer, vehicle, "delivered", *day, *cents).await;
    }
}

/// A CSI response to an order.
async fn answered(app: &TestApp, b: &Bench, customer: &str, order: Uuid) {
    csi_response::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(b.dealer),
        order_id: Set(order),
        customer_id: Set(id(customer)),
        source: Set("sms".into()),
        questionnaire_version: Set(0),
        answers: Set(json!([])),
        recommend: Set(None),
        comment: Set(None),
        quick_rating: Set(Some(5)),
        csi_tenths: Set(None),
        sections: Set(json!([])),
        created_at: Set(app.clock.now_utc()),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
}

async fn analysis(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let r = app
        .get(&format!("/api/v1/customer-value{query}"), token)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

fn row<'a>(items: &'a [Value], customer: &str) -> &'a Value {
    items
        .iter()
        .find(|r| r["customer_id"] == customer)
        .unwrap_or_else(|| panic!("{customer} not in {items:?}"))
}

fn ids(items: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = items
        .iter()
        .map(|r| r["customer_id"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

fn sorted(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn each_customer_gets_recency_frequency_money_scores_tier_and_discount_by_the_rules() {
    let app = spawn_app().await;
    let b = bench(&app, "VALUE").await;
    // golden: 5 visits in the window, ¥12,000 on them; an older, bigger
    // visit outside the window, a cancelled order with money on it and an
    // order in the workshop count for nothing
    let (g, gv) = owner(&app, &b.s, 1).await;
    visits(
        &app,
        &b,
        &g,
        &gv,
        &[
            (d(2027, 2, 19), 300_000),
            (d(2026, 9, 1), 300_000),
            (d(2026, 3, 1), 200_000),
            (d(2025, 9, 1), 200_000),
            (d(2025, 3, 1), 200_000),
            (d(2025, 2, 28), 5_000_000),
        ],
    )
    .await;
    order(&app, &b, &g, &gv, "cancelled", d(2027, 2, 20), 900_000).await;
    order(&app, &b, &g, &gv, "in_work", d(2027, 2, 28), 0).await;
    // regular: one visit 100 days ago, ¥480, closed since
    let (r, rv) = owner(&app, &b.s, 2).await;
    order(&app, &b, &r, &rv, "closed", d(2026, 11, 21), 48_000).await;
    // at risk: two visits, the last 410 days ago, ¥6,000.50 in all
    let (a, av) = owner(&app, &b.s, 3).await;
    visits(
        &app,
        &b,
        &a,
        &av,
        &[(d(2025, 6, 1), 400_000), (d(2026, 1, 15), 200_050)],
    )
    .await;
    // lost: one visit 881 days ago
    let (l, lv) = owner(&app, &b.s, 4).await;
    visits(&app, &b, &l, &lv, &[(d(2024, 10, 1), 100_000)]).await;
    // never came
    let (n, _) = owner(&app, &b.s, 5).await;
    // another dealer's golden customer
    let other = bench(&app, "OTHER").await;
    let (o, ov) = owner(&app, &other.s, 6).await;
    visits(&app, &other, &o, &ov, &[(d(2027, 2, 27), 9_000_000)]).await;

    let page = app.get("/api/v1/customer-value", &b.s.manager).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.body["as_of"], "2027-03-01");
    assert_eq!(page.body["window_from"], "2025-03-01");
    assert_eq!(page.body["next_cursor"], Value::Null);
    let items = page.body["items"].as_array().unwrap().clone();
    assert_eq!(ids(&items), sorted(&[&g, &r, &a, &l, &n]), "OTHER's absent");

    // 10 days; F 5 → 4; ¥12,000 → M 4; 5 + 4 + 4 = 13 ≥ 12: golden; 5% (the ¥10,000 band)
    let x = row(&items, &g);
    assert_eq!(x["name"], "客户1");
    assert_eq!(x["last_visit_on"], "2027-02-19");
    assert_eq!(x["recency_days"], 10);
    assert_eq!(x["frequency"], 5);
    assert_eq!(x["monetary"], "12000.00");
    assert_eq!(
        (&x["r_score"], &x["f_score"], &x["m_score"], &x["score"]),
        (&json!(5), &json!(4), &json!(4), &json!(13))
    );
    assert_eq!(x["tier"], "golden");
    assert_eq!(x["discount_percent"], "5");
    // 100 days → R 4; F 1; M 1: 6, regular, no discount
    let x = row(&items, &r);
    assert_eq!(
        (&x["recency_days"], &x["frequency"], &x["monetary"]),
        (&json!(100), &json!(1), &json!("480.00"))
    );
    assert_eq!((&x["score"], &x["tier"]), (&json!(6), &json!("regular")));
    assert_eq!(x["discount_percent"], "0");
    // 410 days (over 365): at risk whatever the score; ¥6,000.50 earns 3%
    let x = row(&items, &a);
    assert_eq!(
        (&x["recency_days"], &x["frequency"], &x["monetary"]),
        (&json!(410), &json!(2), &json!("6000.50"))
    );
    // R 2 (over 365, not over 730), F 2, M 3
    assert_eq!(
        (&x["r_score"], &x["f_score"], &x["m_score"]),
        (&json!(2), &json!(2), &json!(3))
    );
    assert_eq!(x["tier"], "at_risk");
    assert_eq!(x["discount_percent"], "3");
    // 881 days: lost, nothing in the window
    let x = row(&items, &l);
    assert_eq!(
        (&x["recency_days"], &x["frequency"], &x["monetary"]),
        (&json!(881), &json!(0), &json!("0.00"))
    );
    assert_eq!((&x["score"], &x["tier"]), (&json!(3), &json!("lost")));
    // never delivered: no tier
    let x = row(&items, &n);
    assert_eq!(
        (&x["recency_days"], &x["last_visit_on"], &x["tier"]),
        (&Value::Null, &Value::Null, &Value::Null)
    );
    assert_eq!(
        (&x["frequency"], &x["monetary"]),
        (&json!(0), &json!("0.00"))
    );

    // by tier
    for (tier, who) in [
        ("golden", &g),
        ("regular", &r),
        ("at_risk", &a),
        ("lost", &l),
    ] {
        let only = analysis(&app, &b.s.manager, &format!("?tier={tier}")).await;
        assert_eq!(ids(&only), sorted(&[who]), "{tier}");
    }
    // pages of 2 with a cursor give the same customers once each
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let q = match &cursor {
            Some(c) => format!("/api/v1/customer-value?limit=2&cursor={c}"),
            None => "/api/v1/customer-value?limit=2".to_string(),
        };
        let p = app.get(&q, &b.s.manager).await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
        let items = p.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().cloned());
        match p.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    assert_eq!(ids(&seen), sorted(&[&g, &r, &a, &l, &n]));
    // the other dealer sees only its own
    let theirs = analysis(&app, &other.s.manager, "").await;
    assert_eq!(ids(&theirs), sorted(&[&o]));
}

#[tokio::test]
async fn the_settings_round_trip_change_the_tiers_and_bad_ones_are_named_in_a_422() {
    let app = spawn_app().await;
    let b = bench(&app, "VALSET").await;
    let (r, rv) = owner(&app, &b.s, 1).await;
    order(&app, &b, &r, &rv, "delivered", d(2026, 11, 21), 48_000).await;
    let defaults = app
        .get("/api/v1/customer-value/settings", &b.s.manager)
        .await;
    assert_eq!(defaults.status, StatusCode::OK, "{}", defaults.body);
    assert_eq!(defaults.body["window_months"], 24);
    assert_eq!(
        defaults.body["cut_offs"]["recency_days"],
        json!([90, 180, 365, 730])
    );
    assert_eq!(defaults.body["tiers"]["golden_min_score"], 12);
    assert_eq!(
        defaults.body["discounts"][0],
        json!({"min_spend": "5000.00", "discount_percent": "3"})
    );
    assert_eq!(
        row(&analysis(&app, &b.s.manager, "").await, &r)["tier"],
        "regular"
    );

    // a golden customer from a score of 6, a 5% discount from ¥400
    let mut s = defaults.body.clone();
    s["tiers"]["golden_min_score"] = json!(6);
    s["discounts"] = json!([{"min_spend": "400", "discount_percent": "5"}, {"min_spend": "1000", "discount_percent": "7.5"}]);
    let put = app
        .put("/api/v1/customer-value/settings", &b.s.manager, &s)
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(
        put.body["discounts"],
        json!([{"min_spend": "400.00", "discount_percent": "5"}, {"min_spend": "1000.00", "discount_percent": "7.5"}])
    );
    let got = app
        .get("/api/v1/customer-value/settings", &b.s.manager)
        .await;
    assert_eq!(got.body, put.body);
    let x = analysis(&app, &b.s.manager, "").await;
    assert_eq!(row(&x, &r)["tier"], "golden");
    assert_eq!(row(&x, &r)["discount_percent"], "5");
    // another dealer keeps the defaults
    let other = bench(&app, "VALOTHER").await;
    let theirs = app
        .get("/api/v1/customer-value/settings", &other.s.manager)
        .await;
    assert_eq!(theirs.body, defaults.body);

    // bad settings: every field named, nothing saved
    let mut bad = defaults.body.clone();
    bad["window_months"] = json!(0);
    bad["cut_offs"]["recency_days"] = json!([90, 80, 365, 730]);
    bad["cut_offs"]["monetary"] = json!(["2000", "5000", "10000"]);
    bad["tiers"]["lost_after_days"] = json!(300);
    bad["discounts"] = json!([{"min_spend": "5000", "discount_percent": "60"}, {"min_spend": "4000.001", "discount_percent": "70"}]);
    let r422 = app
        .put("/api/v1/customer-value/settings", &b.s.manager, &bad)
        .await;
    assert_eq!(
        r422.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        r422.body
    );
    let mut fields = r422.problem_fields();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "cut_offs.monetary",
            "cut_offs.recency_days[1]",
            "discounts[0].discount_percent",
            "discounts[1].discount_percent",
            "discounts[1].min_spend",
            "tiers.lost_after_days",
            "window_months",
        ]
    );
    // a value of the wrong type is named by the extractor
    let mut wrong = defaults.body.clone();
    wrong["tiers"]["golden_min_score"] = json!(-1);
    let r422 = app
        .put("/api/v1/customer-value/settings", &b.s.manager, &wrong)
        .await;
    assert_eq!(
        r422.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        r422.body
    );
    assert_eq!(r422.problem_fields(), vec!["tiers.golden_min_score"]);
    let still = app
        .get("/api/v1/customer-value/settings", &b.s.manager)
        .await;
    assert_eq!(still.body, put.body);

    // the customer centre reads but does not write; an advisor does neither
    let (_, care) = app.staff("VALSET", Role::CustomerCare).await;
    let read = app.get("/api/v1/customer-value/settings", &care).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    let w = app
        .put("/api/v1/customer-value/settings", &care, &defaults.body)
        .await;
    assert_eq!(w.status, StatusCode::FORBIDDEN, "{}", w.body);
    let adv = app
        .get("/api/v1/customer-value/settings", &b.s.advisor)
        .await;
    assert_eq!(adv.status, StatusCode::FORBIDDEN, "{}", adv.body);
}

#[tokio::test]
async fn each_target_list_holds_exactly_its_customers() {
    let app = spawn_app().await;
    let b = bench(&app, "LISTS").await;
    // five visits, the last 40 days ago (not for the survey), ¥12,000: golden
    let golden = [
        (d(2027, 1, 20), 300_000),
        (d(2026, 9, 1), 300_000),
        (d(2026, 6, 1), 200_000),
        (d(2025, 12, 1), 200_000),
        (d(2025, 9, 1), 200_000),
    ];
    // golden, a second car last serviced 2026-03-20: due 2027-03-20 (the
    // menu's 12 months), within 30 days
    let (g1, g1v) = owner(&app, &b.s, 1).await;
    visits(&app, &b, &g1, &g1v, &golden).await;
    let g1v2 = app
        .create_vehicle(&b.s.advisor, &g1, &vin(7001), "京B70001")
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    visits(&app, &b, &g1, &g1v2, &[(d(2026, 3, 20), 0)]).await;
    // golden, every car serviced lately: due next year
    let (g2, g2v) = owner(&app, &b.s, 2).await;
    visits(&app, &b, &g2, &g2v, &golden).await;
    // golden, a car due 2027-04-01 (31 days): not yet
    let (g3, g3v) = owner(&app, &b.s, 3).await;
    visits(&app, &b, &g3, &g3v, &golden).await;
    let g3v2 = app
        .create_vehicle(&b.s.advisor, &g3, &vin(7003), "京B70003")
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    visits(&app, &b, &g3, &g3v2, &[(d(2026, 4, 1), 0)]).await;
    // golden, a car overdue but in the workshop now: not to be invited
    let (g4, g4v) = owner(&app, &b.s, 4).await;
    visits(&app, &b, &g4, &g4v, &golden).await;
    let g4v2 = app
        .create_vehicle(&b.s.advisor, &g4, &vin(7004), "京B70004")
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    visits(&app, &b, &g4, &g4v2, &[(d(2025, 12, 1), 0)]).await;
    order(&app, &b, &g4, &g4v2, "in_work", d(2027, 3, 1), 0).await;
    // regular with a car due: not golden
    let (r1, r1v) = owner(&app, &b.s, 5).await;
    visits(&app, &b, &r1, &r1v, &[(d(2026, 3, 10), 48_000)]).await;

    // lapsing: the last visit on 2026-03-01 (in), 2026-03-02 (too recent),
    // 2025-03-01 (too old: lost)
    let (l_in, l_in_v) = owner(&app, &b.s, 6).await;
    visits(&app, &b, &l_in, &l_in_v, &[(d(2026, 3, 1), 100)]).await;
    let (l_new, l_new_v) = owner(&app, &b.s, 7).await;
    visits(&app, &b, &l_new, &l_new_v, &[(d(2026, 3, 2), 100)]).await;
    let (l_old, l_old_v) = owner(&app, &b.s, 8).await;
    visits(&app, &b, &l_old, &l_old_v, &[(d(2025, 3, 1), 100)]).await;

    // survey: delivered 02-20 unanswered (in); 02-25 answered (out); 45
    // days ago (out); two orders, the later answered (in, the earlier named)
    let (s1, s1v) = owner(&app, &b.s, 9).await;
    let (s1o, s1n) = order(&app, &b, &s1, &s1v, "delivered", d(2027, 2, 20), 100).await;
    let (s2, s2v) = owner(&app, &b.s, 10).await;
    let (s2o, _) = order(&app, &b, &s2, &s2v, "delivered", d(2027, 2, 25), 100).await;
    answered(&app, &b, &s2, s2o).await;
    let (s3, s3v) = owner(&app, &b.s, 11).await;
    order(&app, &b, &s3, &s3v, "delivered", d(2027, 1, 15), 100).await;
    let (s4, s4v) = owner(&app, &b.s, 12).await;
    let (s4a, s4an) = order(&app, &b, &s4, &s4v, "delivered", d(2027, 2, 10), 100).await;
    let (s4b, _) = order(&app, &b, &s4, &s4v, "closed", d(2027, 2, 26), 100).await;
    answered(&app, &b, &s4, s4b).await;

    let due = analysis(&app, &b.s.manager, "?list=golden_maintenance_due").await;
    assert_eq!(ids(&due), sorted(&[&g1]));
    let x = row(&due, &g1);
    assert_eq!(x["due_vehicle_id"], g1v2.as_str());
    assert_eq!(x["due_vehicle"], "京B70001");
    assert_eq!(x["maintenance_due_on"], "2027-03-20");
    assert_eq!(x["tier"], "golden");
    // the golden tier has the four
    let all_golden = analysis(&app, &b.s.manager, "?tier=golden").await;
    assert_eq!(ids(&all_golden), sorted(&[&g1, &g2, &g3, &g4]));
    let lapsing = analysis(&app, &b.s.manager, "?list=lapsing").await;
    assert_eq!(ids(&lapsing), sorted(&[&l_in]));
    // 365 days is not over the tier's 365: lapsing, still regular
    assert_eq!(row(&lapsing, &l_in)["recency_days"], 365);
    assert_eq!(row(&lapsing, &l_in)["tier"], "regular");

    let survey = analysis(&app, &b.s.manager, "?list=csi_survey").await;
    assert_eq!(ids(&survey), sorted(&[&s1, &s4]));
    let x = row(&survey, &s1);
    assert_eq!(x["survey_order_id"], s1o.to_string());
    assert_eq!(x["survey_order_number"], s1n.as_str());
    assert_eq!(x["delivered_on"], "2027-02-20");
    let x = row(&survey, &s4);
    assert_eq!(x["survey_order_id"], s4a.to_string());
    assert_eq!(x["survey_order_number"], s4an.as_str());
    // the customer centre calls these lists
    let (_, care) = app.staff("LISTS", Role::CustomerCare).await;
    assert_eq!(
        ids(&analysis(&app, &care, "?list=csi_survey").await),
        sorted(&[&s1, &s4])
    );
    let _ = (s3, l_new, l_old, r1);
}

#[tokio::test]
async fn the_csv_opens_in_excel_with_the_chinese_intact_and_strangers_are_refused() {
    let app = spawn_app().await;
    let b = bench(&app, "VALCSV").await;
    let c = app
        .create_customer(&b.s.advisor, "张黄金", "13900009999")
        .await;
    let cid = c["id"].as_str().unwrap().to_string();
    let v = app
        .create_vehicle(&b.s.advisor, &cid, &vin(8001), "粤B88888")
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    visits(
        &app,
        &b,
        &cid,
        &v,
        &[
            (d(2027, 2, 19), 300_000),
            (d(2026, 9, 1), 300_000),
            (d(2026, 6, 1), 200_000),
            (d(2025, 12, 1), 200_000),
            (d(2025, 9, 1), 200_000),
        ],
    )
    .await;
    let (other, _) = owner(&app, &b.s, 2).await;
    let res = app
        .http
        .get(app.url("/api/v1/customer-value?format=csv&tier=golden"))
        .bearer_auth(&b.s.manager)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    assert_eq!(
        res.headers()["content-disposition"].to_str().unwrap(),
        "attachment; filename=\"customer-value-all-20270301.csv\""
    );
    let bytes = res.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a BOM for Excel");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "客户,手机,客户等级,最近到店,距今天数(R),到店次数(F),消费金额(M),R分,F分,M分,总分,折扣(%),保养车辆,保养到期日,回访工单号,交车日期"
    );
    assert_eq!(
        lines[1..],
        ["张黄金,13900009999,黄金客户,2027-02-19,10,5,12000.00,5,4,4,13,5,,,,"]
    );
    // the whole archive, a list's name in the file's
    let all = app
        .http
        .get(app.url("/api/v1/customer-value?format=csv&list=lapsing"))
        .bearer_auth(&b.s.manager)
        .send()
        .await
        .unwrap();
    assert_eq!(
        all.headers()["content-disposition"].to_str().unwrap(),
        "attachment; filename=\"customer-value-lapsing-20270301.csv\""
    );
    assert_eq!(
        all.text().await.unwrap().lines().count(),
        1,
        "only the header"
    );
    let everyone = app
        .http
        .get(app.url("/api/v1/customer-value?format=csv"))
        .bearer_auth(&b.s.manager)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(everyone.lines().count(), 3);
    assert!(everyone.contains("客户2,13900000002,未到店"), "{everyone}");
    let _ = other;
    // a page's size and cursor are for JSON
    let r = app
        .get("/api/v1/customer-value?format=csv&limit=10", &b.s.manager)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.problem_fields(), vec!["limit"]);
    let r = app
        .get("/api/v1/customer-value?list=everyone", &b.s.manager)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.problem_fields(), vec!["list"]);

    // a technician sees neither the page nor the file
    for q in ["", "?format=csv"] {
        let r = app
            .get(&format!("/api/v1/customer-value{q}"), &b.tech)
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{q}: {}", r.body);
    }
    let r = app.get("/api/v1/customer-value", &b.s.advisor).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
}

#[tokio::test]
async fn a_real_order_delivered_and_paid_through_the_workshop_counts_as_a_visit() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let app = crate::workshop::day_app().await;
    let f = crate::workshop::floor(&app, "VALREAL").await;
    let o = crate::workshop::delivered(&app, &f, 1).await;
    let paid: i64 = payment::Entity::find()
        .filter(payment::Column::OrderId.eq(id(&o)))
        .all(&app.state.db)
        .await
        .unwrap()
        .iter()
        .map(|p| p.amount_cents)
        .sum();
    assert!(paid > 0);
    let ro = repair_order::Entity::find_by_id(id(&o))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let items = analysis(&app, &f.s.manager, "").await;
    assert_eq!(items.len(), 1);
    let x = &items[0];
    assert_eq!(x["customer_id"], ro.customer_id.to_string());
    assert_eq!(x["recency_days"], 0);
    assert_eq!(x["frequency"], 1);
    assert_eq!(
        x["monetary"],
        servicelane::domain::Money::from_cents(paid)
            .to_decimal()
            .to_string()
    );
    assert_eq!(x["tier"], "regular");
    // delivered today, unanswered: on the phone-survey list
    let survey = analysis(&app, &f.s.manager, "?list=csi_survey").await;
    assert_eq!(survey.len(), 1);
    assert_eq!(survey[0]["survey_order_id"], o.as_str());
}
