//! Insurance renewal handled by the dealer (代办保险业务, issue 13 part 3):
//! from the planner's reminder to the customer's "quote me", the leads, the
//! outcome (the vehicle's expiry moves), the conflicts, and the renewal
//! rate on the board.

use chrono_tz::Tz;
use reqwest::StatusCode;
use serde_json::{Value, json};
use servicelane::domain::Role;

use crate::appointments::shop;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::care_planner::{customer, d, run, set_local, vehicle};
use crate::helpers::*;

fn leads_of<'a>(body: &'a Value, vehicle: &str) -> Vec<&'a Value> {
    body["leads"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["vehicle_id"] == vehicle)
        .collect()
}

#[tokio::test]
async fn a_reminded_lead_is_quoted_renewed_with_us_and_leaves_the_list() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let sh: Tz = "Asia/Shanghai".parse().unwrap();
    set_local(&app, sh, d(2027, 3, 15), 10, 0);
    let s = shop(&app, "INSR", "Asia/Shanghai", 3, 3).await;
    let wang = customer(&app, &s, json!({"name": "王芳", "phone": "13900000201"})).await;
    let li = customer(&app, &s, json!({"name": "李雷", "phone": "13900000202"})).await;
    // compulsory 30 days ahead: the planner's reminder is due today;
    // commercial 66 days ahead: past the default 60 days
    let v1 = vehicle(
        &app,
        &s,
        &wang,
        1,
        json!({"compulsory_insurance_expiry": "2027-04-14", "commercial_insurance_expiry": "2027-05-20"}),
    )
    .await;
    let v2 = vehicle(
        &app,
        &s,
        &li,
        2,
        json!({"compulsory_insurance_expiry": "2027-06-30"}),
    )
    .await;
    let report = run(&app, &s).await;
    assert!(report["total"].as_u64().unwrap() > 0, "{report}");

    // the lead: reminded, no quote, no outcome
    let leads = app.get("/api/v1/insurance/leads", &s.advisor).await;
    assert_eq!(leads.status, StatusCode::OK, "{}", leads.body);
    assert_eq!(leads.body["from"], "2027-03-15");
    assert_eq!(leads.body["due_before"], "2027-05-14");
    assert_eq!(
        leads.body["leads"].as_array().unwrap().len(),
        1,
        "{}",
        leads.body
    );
    let l = leads_of(&leads.body, &v1)[0];
    assert_eq!(l["kind"], "compulsory");
    assert_eq!(l["expiry"], "2027-04-14");
    assert_eq!(l["days_left"], 30);
    assert_eq!(l["reminded"], true);
    assert_eq!(l["customer_name"], "王芳");
    assert!(l["quote_requested_at"].is_null() && l["outcome"].is_null());

    // the customer answers "quote me", twice (a retry): one request
    let me = app.customer_token("INSR", "13900000201").await;
    let ask = json!({"vehicle_id": v1, "kinds": ["compulsory", "commercial"], "note": "请报价"});
    let q = app
        .post("/api/v1/insurance/quote-requests", Some(&me), &ask)
        .await;
    assert_eq!(q.status, StatusCode::CREATED, "{}", q.body);
    assert_eq!(q.body["terms"].as_array().unwrap().len(), 2);
    let again = app
        .post("/api/v1/insurance/quote-requests", Some(&me), &ask)
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["terms"], q.body["terms"]);
    // not another's vehicle, not staff, not nonsense
    let theirs = app
        .post(
            "/api/v1/insurance/quote-requests",
            Some(&me),
            &json!({"vehicle_id": v2, "kinds": ["compulsory"]}),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{}", theirs.body);
    let staff = app
        .post("/api/v1/insurance/quote-requests", Some(&s.advisor), &ask)
        .await;
    assert_eq!(staff.status, StatusCode::FORBIDDEN);
    let none = app
        .post(
            "/api/v1/insurance/quote-requests",
            Some(&me),
            &json!({"vehicle_id": v1, "kinds": []}),
        )
        .await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(none.problem_fields(), vec!["kinds"]);
    let twice = app
        .post(
            "/api/v1/insurance/quote-requests",
            Some(&me),
            &json!({"vehicle_id": v1, "kinds": ["commercial", "commercial"]}),
        )
        .await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(twice.problem_fields(), vec!["kinds[1]"]);
    let nul = app
        .post(
            "/api/v1/insurance/quote-requests",
            Some(&me),
            &json!({"vehicle_id": v1, "kinds": ["commercial"], "note": "a\u{0}b"}),
        )
        .await;
    assert_eq!(nul.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(nul.problem_fields(), vec!["note"]);

    // staff see the quote asked; a wider window shows the commercial term
    let wide = app
        .get("/api/v1/insurance/leads?due_before=2027-05-31", &s.advisor)
        .await;
    assert_eq!(wide.status, StatusCode::OK, "{}", wide.body);
    let mine = leads_of(&wide.body, &v1);
    assert_eq!(mine.len(), 2, "{}", wide.body);
    assert!(
        mine.iter()
            .all(|l| l["quote_requested_at"].is_string() && l["quote_note"] == "请报价")
    );
    let far = app
        .get("/api/v1/insurance/leads?due_before=2030-01-01", &s.advisor)
        .await;
    assert_eq!(far.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(far.problem_fields(), vec!["due_before"]);
    let (_, cashier) = app.staff("INSR", Role::Cashier).await;
    let no = app.get("/api/v1/insurance/leads", &cashier).await;
    assert_eq!(no.status, StatusCode::FORBIDDEN);

    // bad outcomes name their field
    let bad = app
        .post(
            "/api/v1/insurance/outcomes",
            Some(&s.advisor),
            &json!({"vehicle_id": v1, "outcome": "renewed_with_us", "insurer": "中国人保",
                    "terms": [{"kind": "compulsory", "expiry": "2027-04-14", "premium": "0", "new_expiry": "+262142-01-01"}]}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(
        bad.problem_fields(),
        vec!["terms[0].premium", "terms[0].new_expiry"]
    );
    let before = app
        .post(
            "/api/v1/insurance/outcomes",
            Some(&s.advisor),
            &json!({"vehicle_id": v1, "outcome": "renewed_with_us",
                    "terms": [{"kind": "compulsory", "expiry": "2027-04-14", "premium": "99999999", "new_expiry": "2027-04-01"}]}),
        )
        .await;
    assert_eq!(before.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        before.problem_fields(),
        vec!["insurer", "terms[0].premium", "terms[0].new_expiry"]
    );

    // renewed with us: the vehicle's expiry moves in the same write
    let renewed = json!({"vehicle_id": v1, "outcome": "renewed_with_us", "insurer": "中国人保",
        "terms": [{"kind": "compulsory", "expiry": "2027-04-14", "premium": "950.00", "new_expiry": "2028-04-14"}]});
    let r = app
        .post("/api/v1/insurance/outcomes", Some(&s.advisor), &renewed)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body[0]["outcome"], "renewed_with_us");
    assert_eq!(r.body[0]["premium"], "950.00");
    assert_eq!(r.body[0]["new_expiry"], "2028-04-14");
    assert_eq!(
        r.body[0]["quote_requested_at"],
        q.body["terms"][0]["requested_at"]
    );
    // a retry answers the same and changes nothing
    let retry = app
        .post("/api/v1/insurance/outcomes", Some(&s.advisor), &renewed)
        .await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.body);
    assert_eq!(retry.body[0]["outcome_at"], r.body[0]["outcome_at"]);
    let car = app.get(&format!("/api/v1/vehicles/{v1}"), &s.advisor).await;
    assert_eq!(car.body["compulsory_insurance_expiry"], "2028-04-14");
    assert_eq!(car.body["commercial_insurance_expiry"], "2027-05-20");

    // a second member of staff with another outcome for the same term: 409
    let (_, care) = app.staff("INSR", Role::CustomerCare).await;
    let other = app
        .post(
            "/api/v1/insurance/outcomes",
            Some(&care),
            &json!({"vehicle_id": v1, "outcome": "not_interested",
                    "terms": [{"kind": "compulsory", "expiry": "2027-04-14"}]}),
        )
        .await;
    assert_eq!(other.status, StatusCode::CONFLICT, "{}", other.body);
    // a term that is not the running one: 409
    let stale = app
        .post(
            "/api/v1/insurance/outcomes",
            Some(&care),
            &json!({"vehicle_id": v1, "outcome": "not_interested",
                    "terms": [{"kind": "commercial", "expiry": "2027-05-21"}]}),
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);

    // the renewed term has left the list; the commercial one stays, quoted
    let after = app
        .get("/api/v1/insurance/leads?due_before=2027-05-31", &s.advisor)
        .await;
    let left = leads_of(&after.body, &v1);
    assert_eq!(left.len(), 1, "{}", after.body);
    assert_eq!(left[0]["kind"], "commercial");
    assert_eq!(left[0]["reminded"], false);
    assert!(left[0]["outcome"].is_null());
    let default = app.get("/api/v1/insurance/leads", &s.advisor).await;
    assert!(leads_of(&default.body, &v1).is_empty(), "{}", default.body);

    // the commercial term is not wanted: when its 30-day reminder falls
    // due, the planner sends none (the compulsory one of the other car goes)
    let no = app
        .post(
            "/api/v1/insurance/outcomes",
            Some(&care),
            &json!({"vehicle_id": v1, "outcome": "not_interested",
                    "terms": [{"kind": "commercial", "expiry": "2027-05-20"}]}),
        )
        .await;
    assert_eq!(no.status, StatusCode::CREATED, "{}", no.body);
    set_local(&app, sh, d(2027, 4, 20), 10, 0);
    run(&app, &s).await;
    set_local(&app, sh, d(2027, 5, 31), 10, 0);
    run(&app, &s).await;
    let keys: Vec<String> = servicelane::entities::outbox_message::Entity::find()
        .filter(
            servicelane::entities::outbox_message::Column::Kind
                .eq(servicelane::domain::message::MessageKind::InsuranceRenewal),
        )
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.occurrence_key)
        .collect();
    assert!(
        !keys
            .iter()
            .any(|k| k.contains(&format!("{v1}:commercial:2027-05-20"))),
        "{keys:?}"
    );
    assert!(
        keys.iter()
            .any(|k| k.contains(&format!("{v2}:compulsory:2027-06-30:30d"))),
        "{keys:?}"
    );
}

#[tokio::test]
async fn the_board_counts_the_renewal_rate_per_month() {
    let app = spawn_app().await;
    let sh: Tz = "Asia/Shanghai".parse().unwrap();
    set_local(&app, sh, d(2027, 3, 20), 10, 0);
    let s = shop(&app, "RATE", "Asia/Shanghai", 3, 3).await;
    let c = customer(&app, &s, json!({"name": "赵六", "phone": "13900000301"})).await;
    // April: v1 compulsory (renewed with us), v2 compulsory (not
    // interested), v3 commercial (nothing yet) → 1 of 3.
    // May: v1 commercial, elsewhere → 0 of 1. The renewed term's new
    // expiry (April 2028) is outside the range.
    let v1 = vehicle(&app, &s, &c, 11, json!({"compulsory_insurance_expiry": "2027-04-14", "commercial_insurance_expiry": "2027-05-20"})).await;
    let v2 = vehicle(
        &app,
        &s,
        &c,
        12,
        json!({"compulsory_insurance_expiry": "2027-04-20"}),
    )
    .await;
    vehicle(
        &app,
        &s,
        &c,
        13,
        json!({"commercial_insurance_expiry": "2027-04-30"}),
    )
    .await;
    // outside the range
    vehicle(
        &app,
        &s,
        &c,
        14,
        json!({"compulsory_insurance_expiry": "2027-06-01"}),
    )
    .await;
    let outcome = |v: &str, outcome: &str, kind: &str, expiry: &str, extra: Value| {
        let mut term = json!({"kind": kind, "expiry": expiry});
        for (k, x) in extra.as_object().unwrap() {
            term[k] = x.clone();
        }
        json!({"vehicle_id": v, "outcome": outcome, "insurer": "平安保险", "terms": [term]})
    };
    for body in [
        outcome(
            &v1,
            "renewed_with_us",
            "compulsory",
            "2027-04-14",
            json!({"premium": "950", "new_expiry": "2028-04-14"}),
        ),
        outcome(&v2, "not_interested", "compulsory", "2027-04-20", json!({})),
        outcome(
            &v1,
            "renewed_elsewhere",
            "commercial",
            "2027-05-20",
            json!({}),
        ),
    ] {
        let r = app
            .post("/api/v1/insurance/outcomes", Some(&s.advisor), &body)
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let k = app
        .get(
            "/api/v1/kpi/range?from=2027-04-01&to=2027-05-31&by=month",
            &s.manager,
        )
        .await;
    assert_eq!(k.status, StatusCode::OK, "{}", k.body);
    let april = &k.body["periods"][0]["insurance_renewal_rate"];
    assert_eq!(april["numerator"], "1");
    assert_eq!(april["denominator"], "3");
    assert_eq!(april["value"], "0.333");
    let may = &k.body["periods"][1]["insurance_renewal_rate"];
    assert_eq!(
        (may["numerator"].as_str(), may["denominator"].as_str()),
        (Some("0"), Some("1"))
    );
    let total = &k.body["total"]["insurance_renewal_rate"];
    assert_eq!(
        (total["numerator"].as_str(), total["denominator"].as_str()),
        (Some("1"), Some("4"))
    );
    // a month with no expiry: no rate, not an error
    let march = app
        .get(
            "/api/v1/kpi/range?from=2027-03-01&to=2027-03-31&by=month",
            &s.manager,
        )
        .await;
    assert!(
        march.body["total"]["insurance_renewal_rate"]["value"].is_null(),
        "{}",
        march.body
    );
}

#[tokio::test]
async fn two_staff_recording_at_once_leave_one_outcome_and_two_taps_one_request() {
    let app = spawn_app().await;
    let sh: Tz = "Asia/Shanghai".parse().unwrap();
    set_local(&app, sh, d(2027, 3, 20), 10, 0);
    let s = shop(&app, "RACE", "Asia/Shanghai", 3, 3).await;
    let c = customer(&app, &s, json!({"name": "孙七", "phone": "13900000501"})).await;
    let v = vehicle(
        &app,
        &s,
        &c,
        21,
        json!({"commercial_insurance_expiry": "2027-04-10"}),
    )
    .await;
    let me = app.customer_token("RACE", "13900000501").await;
    let ask = json!({"vehicle_id": v, "kinds": ["commercial"]});
    let (a, b) = tokio::join!(
        app.post("/api/v1/insurance/quote-requests", Some(&me), &ask),
        app.post("/api/v1/insurance/quote-requests", Some(&me), &ask),
    );
    let mut statuses = vec![a.status, b.status];
    statuses.sort();
    assert_eq!(
        statuses,
        vec![StatusCode::OK, StatusCode::CREATED],
        "{} {}",
        a.body,
        b.body
    );
    assert_eq!(a.body["terms"], b.body["terms"]);

    let (_, care) = app.staff("RACE", Role::CustomerCare).await;
    let with_us = json!({"vehicle_id": v, "outcome": "renewed_with_us", "insurer": "太平洋保险",
        "terms": [{"kind": "commercial", "expiry": "2027-04-10", "premium": "3200.50", "new_expiry": "2028-04-10"}]});
    let elsewhere = json!({"vehicle_id": v, "outcome": "renewed_elsewhere",
        "terms": [{"kind": "commercial", "expiry": "2027-04-10"}]});
    let (x, y) = tokio::join!(
        app.post("/api/v1/insurance/outcomes", Some(&s.advisor), &with_us),
        app.post("/api/v1/insurance/outcomes", Some(&care), &elsewhere),
    );
    let mut statuses = vec![x.status, y.status];
    statuses.sort();
    assert_eq!(
        statuses,
        vec![StatusCode::CREATED, StatusCode::CONFLICT],
        "{} {}",
        x.body,
        y.body
    );
    // the vehicle agrees with whichever won
    let car = app.get(&format!("/api/v1/vehicles/{v}"), &s.advisor).await;
    let expected = if x.status == StatusCode::CREATED {
        "2028-04-10"
    } else {
        "2027-04-10"
    };
    assert_eq!(car.body["commercial_insurance_expiry"], expected);
}
