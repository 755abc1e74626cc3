//! Parts (配件管理, issue 12): stock per dealer, the ledger, no oversell
//! under concurrent issues, idempotent movements, holds on approval and
//! issue at clock-on with shortages on the board and the preparation
//! list, ABC classes on a hand-computed fixture, the reorder proposal.
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use servicelane::domain::Role;

use crate::appointments::{book, owner, shop};
use crate::care_planner::{d, set_local};
use crate::helpers::*;
use crate::repair_orders::{add_job, estimate_and_accept, walk_in, walkaround};
use crate::workshop::{clock_on, dispatch, floor};

fn dec(v: &Value) -> Decimal {
    v.as_str()
        .unwrap_or_else(|| panic!("not a decimal string: {v}"))
        .parse()
        .unwrap()
}

async fn new_part(app: &TestApp, token: &str, number: &str, cost: &str, extra: Value) -> Value {
    let mut body = json!({"number": number, "name": format!("件{number}"), "bin": "A-01-02",
                          "cost": cost, "price": "99.00"});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let r = app.post("/api/v1/parts", Some(token), &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

async fn movement(
    app: &TestApp,
    token: &str,
    number: &str,
    body: Value,
    key: Option<&str>,
) -> Answer {
    let mut req = app
        .http
        .post(app.url(&format!("/api/v1/parts/{number}/movements")))
        .bearer_auth(token)
        .json(&body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    app.send(req).await
}

async fn receive(app: &TestApp, token: &str, number: &str, qty: &str) {
    let r = movement(
        app,
        token,
        number,
        json!({"kind": "receipt", "quantity": qty, "reference": "DN-1"}),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

async fn part(app: &TestApp, token: &str, number: &str) -> Value {
    let r = app.get(&format!("/api/v1/parts/{number}"), token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

/// The sums of the part's ledger: (on hand, reserved).
async fn ledger_sums(app: &TestApp, token: &str, number: &str) -> (Decimal, Decimal) {
    let r = app
        .get(&format!("/api/v1/parts/{number}/movements"), token)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
        .as_array()
        .unwrap()
        .iter()
        .fold((Decimal::ZERO, Decimal::ZERO), |(h, res), m| {
            (
                h + dec(&m["on_hand_change"]),
                res + dec(&m["reserved_change"]),
            )
        })
}

#[tokio::test]
async fn twenty_concurrent_issues_of_the_last_five_units_five_succeed() {
    let app = spawn_app().await;
    app.dealer("PT1").await;
    let (_, desk) = app.staff("PT1", Role::Parts).await;
    new_part(&app, &desk, "bp-01", "40.00", json!({})).await;
    receive(&app, &desk, "BP-01", "5").await;

    let tries = (0..20).map(|i| {
        let app = &app;
        let desk = &desk;
        async move {
            movement(
                app,
                desk,
                "BP-01",
                json!({"kind": "issue", "quantity": "1", "reference": format!("RO-{i}")}),
                Some(&format!("issue-{i}")),
            )
            .await
        }
    });
    let answers = futures_util::future::join_all(tries).await;
    let ok = answers
        .iter()
        .filter(|a| a.status == StatusCode::CREATED)
        .count();
    assert_eq!(
        ok,
        5,
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    for a in answers.iter().filter(|a| a.status != StatusCode::CREATED) {
        assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
        let detail = a.body["detail"].as_str().unwrap();
        assert!(detail.contains("BP-01 is short"), "{detail}");
        assert!(detail.contains("0 available"), "{detail}");
    }
    let p = part(&app, &desk, "BP-01").await;
    assert_eq!(dec(&p["on_hand"]), Decimal::ZERO);
    assert_eq!(dec(&p["available"]), Decimal::ZERO);
    // the ledger is the stock: receipt 5, five issues of 1
    let (on_hand, reserved) = ledger_sums(&app, &desk, "BP-01").await;
    assert_eq!(on_hand, dec(&p["on_hand"]));
    assert_eq!(reserved, dec(&p["reserved"]));
    let rows = app.get("/api/v1/parts/BP-01/movements", &desk).await.body;
    assert_eq!(rows.as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn a_retried_movement_moves_stock_once_and_bad_input_is_named() {
    let app = spawn_app().await;
    app.dealer("PT2").await;
    let (_, desk) = app.staff("PT2", Role::Parts).await;
    new_part(&app, &desk, "OIL-5W30", "30.00", json!({"on_order": "10"})).await;
    let body =
        json!({"kind": "receipt", "quantity": "4.5", "unit_cost": "31.50", "reference": "DN-77"});
    let first = movement(&app, &desk, "OIL-5W30", body.clone(), Some("rcpt-77")).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let again = movement(&app, &desk, "OIL-5W30", body, Some("rcpt-77")).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    assert_eq!(again.headers["Idempotent-Replayed"], "true");
    assert_eq!(again.body["movement"]["id"], first.body["movement"]["id"]);
    let p = part(&app, &desk, "OIL-5W30").await;
    assert_eq!(dec(&p["on_hand"]), "4.5".parse::<Decimal>().unwrap());
    // what arrived is no longer on order
    assert_eq!(dec(&p["on_order"]), "5.5".parse::<Decimal>().unwrap());
    // the same key for another request is refused
    let other = movement(
        &app,
        &desk,
        "OIL-5W30",
        json!({"kind": "receipt", "quantity": "1"}),
        Some("rcpt-77"),
    )
    .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(other.problem_fields(), vec!["Idempotency-Key"]);

    // a counter sale takes what is available; an adjustment is signed
    let sale = movement(
        &app,
        &desk,
        "OIL-5W30",
        json!({"kind": "sale", "quantity": "0.5"}),
        None,
    )
    .await;
    assert_eq!(sale.status, StatusCode::CREATED, "{}", sale.body);
    assert_eq!(sale.body["movement"]["unit_price"], "99.00");
    let count = movement(
        &app,
        &desk,
        "OIL-5W30",
        json!({"kind": "adjustment", "quantity": "-1", "note": "盘点少1"}),
        None,
    )
    .await;
    assert_eq!(count.status, StatusCode::CREATED, "{}", count.body);
    let too_many = movement(
        &app,
        &desk,
        "OIL-5W30",
        json!({"kind": "adjustment", "quantity": "-3.001"}),
        None,
    )
    .await;
    assert_eq!(too_many.status, StatusCode::CONFLICT, "{}", too_many.body);
    let p = part(&app, &desk, "OIL-5W30").await;
    assert_eq!(dec(&p["on_hand"]), Decimal::from(3));
    assert_eq!(
        ledger_sums(&app, &desk, "OIL-5W30").await.0,
        Decimal::from(3)
    );

    for (body, field) in [
        (json!({"kind": "issue", "quantity": "0"}), "quantity"),
        (json!({"kind": "issue", "quantity": "0.0001"}), "quantity"),
        (json!({"kind": "issue", "quantity": "-1"}), "quantity"),
        (
            json!({"kind": "sale", "quantity": "79228162514264337593543950335"}),
            "quantity",
        ),
        (json!({"kind": "reserve", "quantity": "1"}), "kind"),
        (
            json!({"kind": "issue", "quantity": "1", "unit_cost": "1"}),
            "unit_cost",
        ),
        (
            json!({"kind": "receipt", "quantity": "1", "reference": "a\u{0}b"}),
            "reference",
        ),
    ] {
        let r = movement(&app, &desk, "OIL-5W30", body.clone(), None).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
        assert!(
            r.problem_fields().contains(&field.to_string()),
            "{body}: {}",
            r.body
        );
    }
    let r = movement(
        &app,
        &desk,
        "OIL-5W30",
        json!({"kind": "theft", "quantity": "1"}),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    // a duplicate number is a conflict, another dealer's part is not found
    let dup = app
        .post(
            "/api/v1/parts",
            Some(&desk),
            &json!({"number": "oil-5w30", "name": "x", "cost": "1", "price": "1"}),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT, "{}", dup.body);
    app.dealer("PT2B").await;
    let (_, other_desk) = app.staff("PT2B", Role::Parts).await;
    let r = app.get("/api/v1/parts/OIL-5W30", &other_desk).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn roles_read_and_write_what_they_need() {
    let app = spawn_app().await;
    app.dealer("PT3").await;
    let (_, desk) = app.staff("PT3", Role::Parts).await;
    let (_, tech) = app.staff("PT3", Role::Technician).await;
    let (_, advisor) = app.staff("PT3", Role::ServiceAdvisor).await;
    let (_, cashier) = app.staff("PT3", Role::Cashier).await;
    new_part(&app, &desk, "F-1", "12.30", json!({})).await;
    let t = part(&app, &tech, "F-1").await;
    assert_eq!(t["cost"], Value::Null, "a technician sees no cost");
    assert_eq!(part(&app, &desk, "F-1").await["cost"], "12.30");
    let r = movement(
        &app,
        &tech,
        "F-1",
        json!({"kind": "receipt", "quantity": "1"}),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/api/v1/parts/abc", &advisor).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get("/api/v1/parts", &cashier).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get("/api/v1/parts", &advisor).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn abc_classes_match_a_hand_computed_fixture() {
    let app = spawn_app().await;
    app.dealer("PT4").await;
    let (_, desk) = app.staff("PT4", Role::Parts).await;
    // at 10.00 each: issue values 500, 300, 100, 50, 30, 20 (total 1000)
    // and a part never issued. Shares before each: 0, 50, 80, 90, 95, 98 %.
    let sold = [
        ("P1", 50),
        ("P2", 30),
        ("P3", 10),
        ("P4", 5),
        ("P5", 3),
        ("P6", 2),
        ("P7", 0),
    ];
    for (n, qty) in sold {
        new_part(&app, &desk, n, "10.00", json!({})).await;
        receive(&app, &desk, n, "100").await;
        if qty > 0 {
            let kind = if qty % 2 == 0 { "sale" } else { "issue" };
            let r = movement(
                &app,
                &desk,
                n,
                json!({"kind": kind, "quantity": qty.to_string()}),
                None,
            )
            .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        }
    }
    let classes = |v: &Value| -> Vec<(String, String)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["number"].as_str().unwrap().to_string(),
                    l["class"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let r = app.get("/api/v1/parts/abc", &desk).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let want = |c: [&str; 7]| -> Vec<(String, String)> {
        ["P1", "P2", "P3", "P4", "P5", "P6", "P7"]
            .iter()
            .zip(c)
            .map(|(n, c)| (n.to_string(), c.to_string()))
            .collect()
    };
    assert_eq!(classes(&r.body), want(["a", "a", "b", "b", "c", "c", "c"]));
    assert_eq!(r.body[0]["issue_value"], "500.00");

    // cut-offs in the settings: A up to 85 % takes P3 (80 % before it)
    let s = app.get("/api/v1/parts/settings", &desk).await;
    assert_eq!(s.etag(), "\"0\"");
    let mut body = s.body.clone();
    body["a_cutoff_percent"] = json!("85");
    let put = app
        .send(
            app.http
                .put(app.url("/api/v1/parts/settings"))
                .bearer_auth(&desk)
                .header("If-Match", "\"0\"")
                .json(&body),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    let stale = app
        .send(
            app.http
                .put(app.url("/api/v1/parts/settings"))
                .bearer_auth(&desk)
                .header("If-Match", "\"0\"")
                .json(&body),
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    // the largest version there is: 412, not an overflow
    let largest = app
        .send(
            app.http
                .put(app.url("/api/v1/parts/settings"))
                .bearer_auth(&desk)
                .header("If-Match", "\"2147483647\"")
                .json(&body),
        )
        .await;
    assert_eq!(
        largest.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        largest.body
    );
    let r = app.get("/api/v1/parts/abc", &desk).await;
    assert_eq!(classes(&r.body), want(["a", "a", "a", "b", "c", "c", "c"]));
    // a B cut-off below A is named
    body["b_cutoff_percent"] = json!("80");
    let bad = app
        .send(
            app.http
                .put(app.url("/api/v1/parts/settings"))
                .bearer_auth(&desk)
                .header("If-Match", "\"1\"")
                .json(&body),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.problem_fields(), vec!["b_cutoff_percent"]);
}

#[tokio::test]
async fn the_reorder_proposal_weighs_demand_by_season_and_packs() {
    let app = spawn_app().await;
    let tz = chrono_tz::Asia::Shanghai;
    app.dealer_in("PT5", "Asia/Shanghai").await;
    set_local(&app, tz, d(2026, 11, 20), 9, 0);
    let (_, desk) = app.staff("PT5", Role::Parts).await;
    new_part(
        &app,
        &desk,
        "WB-1",
        "5.00",
        json!({"lead_time_days": 10, "pack_size": "4"}),
    )
    .await;
    receive(&app, &desk, "WB-1", "370").await;
    // 360 sold over the year: 30 a month, 1 a day at 100 %
    let r = movement(
        &app,
        &desk,
        "WB-1",
        json!({"kind": "sale", "quantity": "360"}),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let p = app.get("/api/v1/parts/reorder-proposal", &desk).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let line = &p.body[0];
    assert_eq!(line["number"], "WB-1");
    assert_eq!(line["average_monthly_demand"], "30");
    // 10 lead days (21–30 Nov) + 7 safety days = 17, less 10 available → 7 → 2 packs of 4
    assert_eq!(line["lead_time_demand"], "10");
    assert_eq!(line["safety_stock"], "7");
    assert_eq!(line["order_quantity"], "8");

    // December at 200 %: safety 1–7 Dec = 14 → 24 − 10 = 14 → 4 packs
    let mut s = app.get("/api/v1/parts/settings", &desk).await.body;
    s["season_percent"][11] = json!(200);
    let put = app
        .send(
            app.http
                .put(app.url("/api/v1/parts/settings"))
                .bearer_auth(&desk)
                .header("If-Match", "\"0\"")
                .json(&s),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    let p = app.get("/api/v1/parts/reorder-proposal", &desk).await;
    assert_eq!(p.body[0]["safety_stock"], "14");
    assert_eq!(p.body[0]["order_quantity"], "16");

    // a part with nothing to order is listed only with all=true
    new_part(&app, &desk, "ZZ-9", "1.00", json!({})).await;
    let p = app.get("/api/v1/parts/reorder-proposal", &desk).await;
    assert_eq!(p.body.as_array().unwrap().len(), 1);
    let p = app
        .get("/api/v1/parts/reorder-proposal?all=true", &desk)
        .await;
    assert_eq!(p.body.as_array().unwrap().len(), 2);
    assert_eq!(p.body[1]["order_quantity"], "0");

    // the parts desk's console page: what to order, not what needs nothing
    let b = crate::console::Browser::login(&app, "PT5", "parts").await;
    let page = b.get("/console/parts").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let number = p.body[0]["number"].as_str().unwrap();
    assert!(
        page.body.contains(&format!("data-part=\"{number}\"")),
        "{}",
        page.body
    );
    assert!(!page.body.contains("data-part=\"ZZ-9\""));
    assert!(page.body.contains("建议订货"));
}

#[tokio::test]
async fn approved_jobs_hold_parts_issue_them_at_clock_on_and_show_what_is_short() {
    let app = crate::workshop::day_app().await;
    let f = floor(&app, "PT6").await;
    let (_, desk) = app.staff("PT6", Role::Parts).await;
    new_part(&app, &desk, "BP-01", "40.00", json!({})).await;
    new_part(&app, &desk, "DISC-2", "200.00", json!({})).await;
    receive(&app, &desk, "BP-01", "5").await;
    receive(&app, &desk, "DISC-2", "1").await;

    let (_, v) = owner(&app, &f.s, 1).await;
    let o = walk_in(&app, &f.s, &v).await;
    let order = o["id"].as_str().unwrap().to_string();
    let job = add_job(
        &app,
        &f.s.advisor,
        &order,
        json!({"description": "更换前刹车片和刹车盘", "labour_hours": "2", "skill": "mechanical",
               "parts": [{"part_number": "bp-01", "name": "刹车片", "quantity": "2", "unit_price": "68.50"},
                         {"part_number": "DISC-2", "name": "刹车盘", "quantity": "2", "unit_price": "300"},
                         {"part_number": "CUST-OWN", "name": "客户自带", "quantity": "1", "unit_price": "0"}]}),
    )
    .await;
    let job_id = job["jobs"][0]["id"].as_str().unwrap().to_string();
    walkaround(&app, &f.s, &order).await;
    // before approval nothing is held
    assert_eq!(
        dec(&part(&app, &desk, "BP-01").await["reserved"]),
        Decimal::ZERO
    );
    estimate_and_accept(&app, &f.s, &order).await;

    // the brake pads are held; one disc for two wanted is not: a shortage
    let bp = part(&app, &desk, "BP-01").await;
    assert_eq!(dec(&bp["reserved"]), Decimal::from(2));
    assert_eq!(dec(&bp["available"]), Decimal::from(3));
    assert_eq!(
        dec(&part(&app, &desk, "DISC-2").await["reserved"]),
        Decimal::ZERO
    );
    let board = app.get("/api/v1/workshop/board", &f.foreman).await;
    assert_eq!(board.status, StatusCode::OK, "{}", board.body);
    let short = board.body["shortages"].as_array().unwrap();
    assert_eq!(short.len(), 1, "{}", board.body["shortages"]);
    assert_eq!(short[0]["part_number"], "DISC-2");
    assert_eq!(short[0]["job_id"], job_id.as_str());
    assert_eq!(dec(&short[0]["needed"]), Decimal::from(2));
    assert_eq!(dec(&short[0]["available"]), Decimal::from(1));
    // the held pads cannot be sold over the counter: 3 are free
    let sale = movement(
        &app,
        &desk,
        "BP-01",
        json!({"kind": "sale", "quantity": "4"}),
        None,
    )
    .await;
    assert_eq!(sale.status, StatusCode::CONFLICT, "{}", sale.body);

    // the disc arrives; the job starts: pads issued from the hold, discs from the shelf
    receive(&app, &desk, "DISC-2", "3").await;
    let d = dispatch(&app, &f.foreman, &order, &job_id, &f.tech_id, "normal").await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    let on = clock_on(&app, &f.tech, &order, &job_id).await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    let bp = part(&app, &desk, "BP-01").await;
    assert_eq!(dec(&bp["on_hand"]), Decimal::from(3));
    assert_eq!(dec(&bp["reserved"]), Decimal::ZERO);
    let disc = part(&app, &desk, "DISC-2").await;
    assert_eq!(dec(&disc["on_hand"]), Decimal::from(2));
    let board = app.get("/api/v1/workshop/board", &f.foreman).await;
    assert_eq!(board.body["shortages"], json!([]));
    for n in ["BP-01", "DISC-2"] {
        let p = part(&app, &desk, n).await;
        let (h, r) = ledger_sums(&app, &desk, n).await;
        assert_eq!((h, r), (dec(&p["on_hand"]), dec(&p["reserved"])), "{n}");
    }
    let rows = app.get("/api/v1/parts/BP-01/movements", &desk).await.body;
    let issue = &rows[0];
    assert_eq!(issue["kind"], "issue");
    assert_eq!(issue["order_id"], order.as_str());
    assert_eq!(issue["job_id"], job_id.as_str());
}

#[tokio::test]
async fn a_cancelled_order_gives_its_held_parts_back() {
    let app = crate::workshop::day_app().await;
    let f = floor(&app, "PT7").await;
    let (_, desk) = app.staff("PT7", Role::Parts).await;
    new_part(&app, &desk, "BP-01", "40.00", json!({})).await;
    receive(&app, &desk, "BP-01", "2").await;
    let (_, v) = owner(&app, &f.s, 1).await;
    let o = walk_in(&app, &f.s, &v).await;
    let order = o["id"].as_str().unwrap().to_string();
    add_job(
        &app,
        &f.s.advisor,
        &order,
        json!({"description": "更换刹车片", "labour_hours": "1", "skill": "mechanical",
               "parts": [{"part_number": "BP-01", "name": "刹车片", "quantity": "2", "unit_price": "68.50"}]}),
    )
    .await;
    estimate_and_accept(&app, &f.s, &order).await;
    assert_eq!(
        dec(&part(&app, &desk, "BP-01").await["available"]),
        Decimal::ZERO
    );
    let c = app
        .post(
            &format!("/api/v1/repair-orders/{order}/cancel"),
            Some(&f.s.advisor),
            &json!({"reason": "客户取消"}),
        )
        .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    let p = part(&app, &desk, "BP-01").await;
    assert_eq!(dec(&p["reserved"]), Decimal::ZERO);
    assert_eq!(dec(&p["available"]), Decimal::from(2));
    assert_eq!(
        ledger_sums(&app, &desk, "BP-01").await,
        (Decimal::from(2), Decimal::ZERO)
    );
}

#[tokio::test]
async fn the_preparation_list_names_stocked_parts_short_for_the_day() {
    let app = spawn_app().await;
    let s = shop(&app, "PT8", "Asia/Shanghai", 3, 3).await;
    let (_, desk) = app.staff("PT8", Role::Parts).await;
    // MAINT-10K needs one OF-1 and 4.5 OIL-5W30 per car; two cars booked
    new_part(&app, &desk, "OF-1", "20.00", json!({})).await;
    new_part(&app, &desk, "OIL-5W30", "30.00", json!({})).await;
    receive(&app, &desk, "OF-1", "10").await;
    receive(&app, &desk, "OIL-5W30", "8").await;
    for n in 1..=2 {
        let (_, v) = owner(&app, &s, n).await;
        let b = book(&app, &s, &v, &s.at(8 + n, 0)).await;
        assert_eq!(b.status, StatusCode::CREATED, "{}", b.body);
    }
    let p = app
        .get(
            &format!("/api/v1/appointments/preparation?date={}", s.date),
            &s.advisor,
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let short = p.body["shortages"].as_array().unwrap();
    assert_eq!(short.len(), 1, "{}", p.body["shortages"]);
    assert_eq!(short[0]["part_number"], "OIL-5W30");
    assert_eq!(dec(&short[0]["needed"]), Decimal::from(9));
    assert_eq!(dec(&short[0]["available"]), Decimal::from(8));
    // the morning of that day, the opening page names the same part
    crate::care_planner::set_local(&app, s.tz, s.date, 7, 0);
    let token = app.login_as(&s.code, "service_advisor").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let today = app.get("/api/v1/today", &token).await;
    assert_eq!(today.status, StatusCode::OK, "{}", today.body);
    assert_eq!(today.body["parts_missing"], p.body["shortages"]);
}

#[tokio::test]
async fn the_stock_demand_and_sales_reports_as_json_and_csv() {
    let app = spawn_app_with(&[("SERVICELANE__AUTH__ACCESS_TTL_SECS", "31536000")]).await;
    let tz = chrono_tz::Asia::Shanghai;
    app.dealer_in("PT9", "Asia/Shanghai").await;
    set_local(&app, tz, d(2026, 10, 15), 10, 0);
    let (_, desk) = app.staff("PT9", Role::Parts).await;
    let (_, advisor) = app.staff("PT9", Role::ServiceAdvisor).await;
    // a name that would be a formula in a spreadsheet
    let r = app
        .post(
            "/api/v1/parts",
            Some(&desk),
            &json!({"number": "OIL-5W30", "name": "=HYPERLINK(\"x\")",
               "bin": "B-2", "cost": "31.50", "price": "45.00"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    new_part(&app, &desk, "OF-1", "20.00", json!({})).await;
    receive(&app, &desk, "OIL-5W30", "20").await;
    receive(&app, &desk, "OF-1", "3").await;
    // October: 4.5 L issued at 45.00; November: 2 sold at 50.00, 0.5 returned
    let m = |body: Value| movement(&app, &desk, "OIL-5W30", body, None);
    assert_eq!(
        m(json!({"kind": "issue", "quantity": "4.5"})).await.status,
        StatusCode::CREATED
    );
    set_local(&app, tz, d(2026, 11, 2), 9, 0);
    assert_eq!(
        m(json!({"kind": "sale", "quantity": "2", "unit_price": "50.00"}))
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        m(json!({"kind": "return", "quantity": "0.5"})).await.status,
        StatusCode::CREATED
    );

    let stock = app.get("/api/v1/parts/reports/stock", &desk).await;
    assert_eq!(stock.status, StatusCode::OK, "{}", stock.body);
    // 14 L × 31.50 = 441.00; 3 × 20.00 = 60.00
    assert_eq!(stock.body["lines"][1]["number"], "OIL-5W30");
    assert_eq!(stock.body["lines"][1]["on_hand"], "14");
    assert_eq!(stock.body["lines"][1]["stock_value"], "441.00");
    assert_eq!(stock.body["total_value"], "501.00");
    let csv = app
        .http
        .get(app.url("/api/v1/parts/reports/stock?format=csv"))
        .bearer_auth(&desk)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let bytes = csv.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("配件号 Part number,"), "{}", lines[0]);
    assert_eq!(
        lines[2],
        "OIL-5W30,\"'=HYPERLINK(\"\"x\"\")\",B-2,14,0,14,0,31.50,441.00"
    );
    assert_eq!(lines[3], "合计 Total,,,,,,,,501.00");

    let sales = app
        .get(
            "/api/v1/parts/reports/sales?from=2026-10-01&to=2026-11-30",
            &desk,
        )
        .await;
    assert_eq!(sales.status, StatusCode::OK, "{}", sales.body);
    let l = &sales.body["lines"][0];
    assert_eq!(
        (
            l["issued"].as_str(),
            l["sold"].as_str(),
            l["returned"].as_str()
        ),
        (Some("4.5"), Some("2"), Some("0.5"))
    );
    // 4.5 × 45 + 2 × 50 = 302.50; cost 6.5 × 31.50 = 204.75
    assert_eq!(l["revenue"], "302.50");
    assert_eq!(l["cost"], "204.75");
    assert_eq!(sales.body["margin"], "97.75");
    // November only
    let nov = app
        .get(
            "/api/v1/parts/reports/sales?from=2026-11-01&to=2026-11-30",
            &desk,
        )
        .await;
    assert_eq!(nov.body["revenue"], "100.00");

    let demand = app
        .get(
            "/api/v1/parts/reports/monthly-demand?from=2026-09-01&to=2026-11-30&format=json",
            &desk,
        )
        .await;
    assert_eq!(demand.status, StatusCode::OK, "{}", demand.body);
    assert_eq!(
        demand.body["months"],
        json!(["2026-09", "2026-10", "2026-11"])
    );
    assert_eq!(
        demand.body["lines"][0]["quantities"],
        json!(["0", "4.5", "1.5"])
    );
    assert_eq!(demand.body["lines"][0]["total"], "6");
    let csv =
        app.http
            .get(app.url(
                "/api/v1/parts/reports/monthly-demand?from=2026-09-01&to=2026-11-30&format=csv",
            ))
            .bearer_auth(&desk)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    assert_eq!(
        text.lines().nth(1),
        Some("OIL-5W30,\"'=HYPERLINK(\"\"x\"\")\",0,4.5,1.5,6")
    );

    // bad periods are named; advisors do not read the reports
    let bad = app
        .get(
            "/api/v1/parts/reports/sales?from=2026-11-30&to=2026-11-01",
            &desk,
        )
        .await;
    assert_eq!(bad.problem_fields(), vec!["to"]);
    let far = app
        .get(
            "/api/v1/parts/reports/sales?from=-5000-01-01&to=2026-11-01",
            &desk,
        )
        .await;
    assert_eq!(far.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", far.body);
    assert_eq!(
        app.get("/api/v1/parts/reports/stock", &advisor)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_stock_take_adjusts_through_the_ledger_once_and_sums_the_variance() {
    let app = spawn_app().await;
    app.dealer("PT10").await;
    let (_, desk) = app.staff("PT10", Role::Parts).await;
    new_part(&app, &desk, "OF-1", "20.00", json!({"bin": "A-2"})).await;
    new_part(&app, &desk, "OIL-5W30", "31.50", json!({"bin": "A-1"})).await;
    new_part(&app, &desk, "WB-1", "5.00", json!({"bin": "C-9"})).await;
    receive(&app, &desk, "OF-1", "10").await;
    receive(&app, &desk, "OIL-5W30", "20").await;
    receive(&app, &desk, "WB-1", "4").await;

    let sheet = app.get("/api/v1/parts/stock-takes/sheet", &desk).await;
    assert_eq!(sheet.status, StatusCode::OK, "{}", sheet.body);
    let order: Vec<&str> = sheet
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["number"].as_str().unwrap())
        .collect();
    assert_eq!(order, vec!["OIL-5W30", "OF-1", "WB-1"], "by bin");
    let csv = app
        .http
        .get(app.url("/api/v1/parts/stock-takes/sheet?format=csv"))
        .bearer_auth(&desk)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    assert_eq!(text.lines().nth(1), Some("A-1,OIL-5W30,件OIL-5W30,20,"));

    // OF-1 one short, oil 0.5 L over, the wipers as booked
    let body = json!({"reference": "2026-11 月末盘点", "counts": [
        {"number": "of-1", "counted": "9"}, {"number": "OIL-5W30", "counted": "20.5"}, {"number": "WB-1", "counted": "4"}]});
    let post = |key: &'static str, body: Value| {
        let app = &app;
        let desk = &desk;
        async move {
            app.send(
                app.http
                    .post(app.url("/api/v1/parts/stock-takes"))
                    .bearer_auth(desk)
                    .header("Idempotency-Key", key)
                    .json(&body),
            )
            .await
        }
    };
    let first = post("count-1", body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.body["counted_parts"], 3);
    assert_eq!(first.body["differing_parts"], 2);
    // −1 × 20.00 + 0.5 × 31.50 = −4.25; |−20.00| + 15.75 = 35.75
    assert_eq!(first.body["net_value"], "-4.25");
    assert_eq!(first.body["absolute_value"], "35.75");
    assert_eq!(first.body["lines"][0]["number"], "OF-1");
    assert_eq!(first.body["lines"][0]["variance"], "-1");
    let again = post("count-1", body).await;
    assert_eq!(again.headers["Idempotent-Replayed"], "true");
    assert_eq!(again.body, first.body);
    assert_eq!(
        dec(&part(&app, &desk, "OF-1").await["on_hand"]),
        Decimal::from(9)
    );
    assert_eq!(part(&app, &desk, "OIL-5W30").await["on_hand"], "20.5");
    assert_eq!(ledger_sums(&app, &desk, "OF-1").await.0, Decimal::from(9));
    let rows = app.get("/api/v1/parts/OF-1/movements", &desk).await.body;
    assert_eq!(rows[0]["kind"], "adjustment");
    assert_eq!(rows[0]["reference"], "2026-11 月末盘点");
    assert_eq!(
        app.get("/api/v1/parts/WB-1/movements", &desk)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // unknown and twice-counted parts, negative counts are named; nothing written
    let bad = post(
        "count-2",
        json!({"reference": "x", "counts": [
        {"number": "NOPE", "counted": "1"}]}),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(bad.problem_fields(), vec!["counts[0].number"]);
    let bad = post("count-3", json!({"reference": "x", "counts": [
        {"number": "OF-1", "counted": "1"}, {"number": "of-1", "counted": "2"}, {"number": "WB-1", "counted": "-1"}]})).await;
    assert_eq!(
        bad.problem_fields(),
        vec!["counts[1].number", "counts[2].counted"]
    );
    assert_eq!(
        dec(&part(&app, &desk, "OF-1").await["on_hand"]),
        Decimal::from(9)
    );
}

#[tokio::test]
async fn the_receipt_feedback_names_short_and_damaged_lines() {
    let app = spawn_app_with(&[("SERVICELANE__AUTH__ACCESS_TTL_SECS", "31536000")]).await;
    let tz = chrono_tz::Asia::Shanghai;
    app.dealer_in("PT11", "Asia/Shanghai").await;
    set_local(&app, tz, d(2026, 11, 3), 10, 0);
    let (_, desk) = app.staff("PT11", Role::Parts).await;
    new_part(&app, &desk, "OF-1", "20.00", json!({"on_order": "12"})).await;
    new_part(&app, &desk, "-BAD", "1.00", json!({})).await;
    // 12 ordered: 9 on the shelf, 2 damaged, 1 short
    let r = movement(
        &app,
        &desk,
        "OF-1",
        json!({"kind": "receipt", "quantity": "9", "ordered": "12",
        "damaged": "2", "reference": "DN-9"}),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["movement"]["ordered"], "12");
    assert_eq!(r.body["part"]["on_hand"], "9");
    // what arrived (on the shelf) is no longer on order: 3 left
    assert_eq!(r.body["part"]["on_order"], "3");
    receive(&app, &desk, "-BAD", "5").await;
    let bad = movement(
        &app,
        &desk,
        "OF-1",
        json!({"kind": "sale", "quantity": "1", "damaged": "1"}),
        None,
    )
    .await;
    assert_eq!(bad.problem_fields(), vec!["damaged"]);

    let rep = app
        .get(
            "/api/v1/parts/reports/receipts?from=2026-11-01&to=2026-11-30",
            &desk,
        )
        .await;
    assert_eq!(rep.status, StatusCode::OK, "{}", rep.body);
    assert_eq!(rep.body["short_lines"], 1);
    assert_eq!(rep.body["damaged_lines"], 1);
    let l = &rep.body["lines"][0];
    assert_eq!(l["date"], "2026-11-03");
    assert_eq!(
        (
            l["ordered"].as_str(),
            l["received"].as_str(),
            l["damaged"].as_str(),
            l["short"].as_str()
        ),
        (Some("12"), Some("9"), Some("2"), Some("1"))
    );
    // a receipt without an order figure is taken as complete
    assert_eq!(rep.body["lines"][1]["short"], "0");
    let csv = app
        .http
        .get(app.url("/api/v1/parts/reports/receipts?from=2026-11-01&to=2026-11-30&format=csv"))
        .bearer_auth(&desk)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[1], "2026-11-03,DN-9,OF-1,件OF-1,12,9,2,1");
    assert_eq!(lines[2], "2026-11-03,DN-1,'-BAD,件-BAD,5,5,0,0");
}
