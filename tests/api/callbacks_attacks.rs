//! The callback list and the CSI analysis attacked from the outside: other
//! dealers and roles, agents racing each other, retried and malformed
//! outcomes, claims running out, and failures half-way through a call.

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, Set,
};
use serde_json::{Value, json};
use servicelane::domain::Role;
use servicelane::entities::{callback, case, csi_response, customer};
use uuid::Uuid;

use crate::callbacks::{agents, app, at_local, calls, claim, list, local_today, outcome};
use crate::csi::answers_all;
use crate::helpers::*;
use crate::workshop::{Floor, delivered, delivered_car, floor};

/// The entry of the order delivered for owner `n`, due tomorrow: the clock
/// set to 10:00 local tomorrow. (entry id)
async fn due_entry(app: &TestApp, f: &Floor, n: u32, token: &str) -> String {
    delivered(app, f, n).await;
    let tomorrow = local_today(app, f) + Duration::days(1);
    at_local(app, f, tomorrow, 10, 0);
    let due = list(app, token, tomorrow).await;
    due.iter()
        .find(|e| e["customer"]["phone"] == format!("+861390000{n:04}"))
        .expect("the delivery's follow-up is on the list")["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn row(app: &TestApp, id: &str) -> callback::Model {
    callback::Entity::find_by_id(id.parse::<Uuid>().unwrap())
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
}

async fn responses(app: &TestApp, source: &str) -> u64 {
    csi_response::Entity::find()
        .filter(csi_response::Column::Source.eq(source))
        .count(&app.state.db)
        .await
        .unwrap()
}

async fn cases(app: &TestApp) -> u64 {
    case::Entity::find().count(&app.state.db).await.unwrap()
}

async fn questionnaire(app: &TestApp, token: &str) -> Value {
    app.get("/api/v1/csi/questionnaire", token).await.body
}

/// `n` more customer-centre agents of the floor's dealer: their tokens.
async fn more_agents(app: &TestApp, f: &Floor, n: usize) -> Vec<String> {
    let dealer = app.get("/api/v1/me", &f.s.advisor).await.body["dealer_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut out = vec![];
    for i in 0..n {
        let name = format!("agent.{i}");
        app.user(dealer, &name, Role::CustomerCare).await;
        out.push(
            app.login_as(&f.s.code, &name).await["access_token"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    out
}

#[tokio::test]
async fn another_dealers_agent_and_staff_of_other_roles_can_neither_see_nor_touch_an_entry() {
    let app = app().await;
    let f = floor(&app, "FENCE").await;
    let [(li, _), _] = agents(&app, &f).await;
    let id = due_entry(&app, &f, 11, &li).await;
    let before = row(&app, &id).await;

    let (_, stranger) = app.staff("OTHER", Role::CustomerCare).await;
    let (_, other_manager) = app.staff("OTHER", Role::ServiceManager).await;
    for token in [&stranger, &other_manager] {
        let g = app.get(&format!("/api/v1/callbacks/{id}"), token).await;
        assert_eq!(g.status, StatusCode::NOT_FOUND, "{}", g.body);
        let c = claim(&app, token, &id).await;
        assert_eq!(c.status, StatusCode::NOT_FOUND, "{}", c.body);
        let o = outcome(&app, token, &id, json!({"result": "refused"})).await;
        assert_eq!(o.status, StatusCode::NOT_FOUND, "{}", o.body);
    }
    // an entry the agent holds is as unknown to the stranger
    assert_eq!(claim(&app, &li, &id).await.status, StatusCode::OK);
    let o = outcome(&app, &stranger, &id, json!({"result": "refused"})).await;
    assert_eq!(o.status, StatusCode::NOT_FOUND, "{}", o.body);

    let customer = app.customer_token(&f.s.code, "+8613900000011").await;
    for token in [&f.tech, &f.cashier, &f.qc, &customer] {
        let day = local_today(&app, &f);
        let l = app
            .get(&format!("/api/v1/callbacks?date={day}"), token)
            .await;
        assert_eq!(l.status, StatusCode::FORBIDDEN, "{}", l.body);
        let g = app.get(&format!("/api/v1/callbacks/{id}"), token).await;
        assert_eq!(g.status, StatusCode::FORBIDDEN, "{}", g.body);
        let c = claim(&app, token, &id).await;
        assert_eq!(c.status, StatusCode::FORBIDDEN, "{}", c.body);
        let o = outcome(&app, token, &id, json!({"result": "refused"})).await;
        assert_eq!(o.status, StatusCode::FORBIDDEN, "{}", o.body);
        let r = app
            .get(&format!("/api/v1/csi?from={day}&to={day}"), token)
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    }
    let after = row(&app, &id).await;
    assert_eq!(after.state, before.state);
    assert_eq!(after.tries, 0);
    assert_eq!(calls(&app).await, 0);
}

#[tokio::test]
async fn ten_agents_at_once_one_claim_holds_and_one_call_is_recorded() {
    let app = app().await;
    let f = floor(&app, "RACE").await;
    let [(li, _), _] = agents(&app, &f).await;
    let id = due_entry(&app, &f, 12, &li).await;
    let team = more_agents(&app, &f, 10).await;

    let claims = futures_util::future::join_all(team.iter().map(|t| claim(&app, t, &id))).await;
    let won: Vec<usize> = (0..claims.len())
        .filter(|&i| claims[i].status == StatusCode::OK)
        .collect();
    assert_eq!(
        won.len(),
        1,
        "{:?}",
        claims.iter().map(|c| c.status).collect::<Vec<_>>()
    );
    assert!(
        claims
            .iter()
            .all(|c| c.status == StatusCode::OK || c.status == StatusCode::CONFLICT)
    );
    let holder = &team[won[0]];

    // everyone records an outcome at once: only the holder's counts
    let outs = futures_util::future::join_all(
        team.iter()
            .map(|t| outcome(&app, t, &id, json!({"result": "no_answer"}))),
    )
    .await;
    let ok = outs.iter().filter(|o| o.status == StatusCode::OK).count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        outs.iter().map(|o| &o.body).collect::<Vec<_>>()
    );
    assert_eq!(calls(&app).await, 1);
    let r = row(&app, &id).await;
    assert_eq!((r.tries, r.claimed_by), (1, None));

    // the holder's own retried no_answer, ten at once: one try, one call
    assert_eq!(claim(&app, holder, &id).await.status, StatusCode::OK);
    let outs = futures_util::future::join_all(
        (0..10).map(|_| outcome(&app, holder, &id, json!({"result": "no_answer"}))),
    )
    .await;
    assert_eq!(
        outs.iter().filter(|o| o.status == StatusCode::OK).count(),
        1
    );
    assert!(
        outs.iter()
            .all(|o| o.status == StatusCode::OK || o.status == StatusCode::CONFLICT)
    );
    let r = row(&app, &id).await;
    assert_eq!(r.tries, 2, "no try lost, none counted twice");
    assert_eq!(calls(&app).await, 2);
    assert_eq!(
        r.state,
        servicelane::domain::callback::CallbackState::Queued
    );
}

#[tokio::test]
async fn a_retried_reached_outcome_records_one_call_one_response_and_one_case() {
    let app = app().await;
    let f = floor(&app, "RETRY").await;
    let [(li, _), _] = agents(&app, &f).await;
    let id = due_entry(&app, &f, 13, &li).await;
    let q = questionnaire(&app, &li).await;
    // all 2s: every section low, a case opens
    let body = json!({"result": "reached", "note": "客户很不满意",
                      "answers": {"answers": answers_all(&q, 2), "recommend": 1}});
    assert_eq!(claim(&app, &li, &id).await.status, StatusCode::OK);
    let outs =
        futures_util::future::join_all((0..10).map(|_| outcome(&app, &li, &id, body.clone())))
            .await;
    let statuses: Vec<StatusCode> = outs.iter().map(|o| o.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT)
    );
    // and once more, later
    let again = outcome(&app, &li, &id, body.clone()).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert_eq!(calls(&app).await, 1);
    assert_eq!(responses(&app, "call").await, 1);
    assert_eq!(cases(&app).await, 1);
    assert_eq!(row(&app, &id).await.state.as_str(), "done");
}

#[tokio::test]
async fn bad_outcomes_are_named_and_write_nothing() {
    let app = app().await;
    let f = floor(&app, "BADIN").await;
    let [(li, _), _] = agents(&app, &f).await;
    let id = due_entry(&app, &f, 14, &li).await;
    assert_eq!(claim(&app, &li, &id).await.status, StatusCode::OK);
    let before = row(&app, &id).await;
    let q = questionnaire(&app, &li).await;
    let code = q["sections"][0]["questions"][0]["code"].clone();
    let with_score = |s: Value| json!({"result": "reached", "answers": {"answers": [{"code": code, "score": s}]}});
    let long = "长".repeat(2001);
    let cases: Vec<(Value, &str)> = vec![
        (json!({"result": "reached", "note": "a\u{0}b"}), "note"),
        (
            json!({"result": "reached", "note": "x".repeat(100_000)}),
            "note",
        ),
        (json!({"result": "reached", "note": long}), "note"),
        (
            json!({"result": "call_back_at", "at": "-5000-01-01T00:00:00Z"}),
            "at",
        ),
        (
            json!({"result": "call_back_at", "at": "+262142-01-01T00:00:00Z"}),
            "at",
        ),
        (
            json!({"result": "call_back_at", "at": "tomorrow at nine"}),
            "at",
        ),
        (
            json!({"result": "call_back_at", "at": "2027-03-02 10:00"}),
            "at",
        ),
        (
            json!({"result": "no_answer", "at": Utc::now().to_rfc3339()}),
            "at",
        ),
        (json!({"result": "hung_up"}), "result"),
        (json!({"result": "reached", "mood": "angry"}), "mood"),
        (json!({"note": "forgot the result"}), "result"),
        (with_score(json!(0)), "answers.answers[0].score"),
        (with_score(json!(11)), "answers.answers[0].score"),
        (with_score(json!(255)), "answers.answers[0].score"),
        (with_score(json!(-1)), "answers.answers[0].score"),
        (with_score(json!(1e10)), "answers.answers[0].score"),
        (
            json!({"result": "reached", "answers": {"answers": [{"code": "no_such_question", "score": 5}]}}),
            "answers.answers[0].code",
        ),
        (
            json!({"result": "reached", "answers": {"answers": answers_all(&q, 8), "recommend": 11}}),
            "answers.recommend",
        ),
    ];
    for (body, field) in cases {
        let r = outcome(&app, &li, &id, body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
        assert_eq!(r.content_type(), "application/problem+json");
        assert_eq!(r.problem_fields(), vec![field], "{body}: {}", r.body);
    }
    let after = row(&app, &id).await;
    assert_eq!(after, before, "nothing written");
    assert_eq!(calls(&app).await, 0);
    assert_eq!(responses(&app, "call").await, 0);
    // still the agent's to record; a blank note or comment is none, as
    // everywhere else (the contract sets no minimum length)
    let ok = outcome(
        &app,
        &li,
        &id,
        json!({"result": "reached", "note": "  ",
               "answers": {"answers": answers_all(&q, 8), "comment": ""}}),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["calls"][0]["note"], Value::Null);
    let r = csi_response::Entity::find()
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.comment, None);
}

#[tokio::test]
async fn dates_out_of_range_on_the_list_and_the_report_are_named() {
    let app = app().await;
    let f = floor(&app, "DATES").await;
    let [(li, _), _] = agents(&app, &f).await;
    let manager = app.login_as(&f.s.code, "service_manager").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    for bad in [
        "0000-01-01",
        "-5000-01-01",
        "1899-12-31",
        "2201-01-01",
        "99999-01-01",
        "%2B99999-01-01",
        "%2B262142-12-31",
        "garbage",
        "2027-02-30",
        "",
    ] {
        let l = app.get(&format!("/api/v1/callbacks?date={bad}"), &li).await;
        assert_eq!(
            l.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "list {bad}: {}",
            l.body
        );
        assert_eq!(l.problem_fields(), vec!["date"], "list {bad}: {}", l.body);
        let r = app
            .get(&format!("/api/v1/csi?from={bad}&to=2027-01-01"), &manager)
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "from {bad}: {}",
            r.body
        );
        assert_eq!(r.problem_fields(), vec!["from"], "from {bad}: {}", r.body);
        let r = app
            .get(&format!("/api/v1/csi?from=2027-01-01&to={bad}"), &manager)
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "to {bad}: {}",
            r.body
        );
        assert_eq!(r.problem_fields(), vec!["to"], "to {bad}: {}", r.body);
    }
    for (query, field) in [
        ("from=2027-01-01&to=2027-01-31&by=dealer", "by"),
        ("from=2027-01-01&to=2027-01-31&by=", "by"),
        ("from=2027-01-01&to=2027-01-31&group=month", "group"),
        ("to=2027-01-31", "from"),
        ("from=2027-01-31&to=2027-01-01", "to"),
    ] {
        let r = app.get(&format!("/api/v1/csi?{query}"), &manager).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {}",
            r.body
        );
        assert_eq!(r.problem_fields(), vec![field], "{query}: {}", r.body);
    }
    // the bounds themselves are days like any other
    for good in ["1900-01-01", "2200-12-31"] {
        list(&app, &li, good.parse().unwrap()).await;
    }
}

#[tokio::test]
async fn a_claim_runs_out_at_exactly_fifteen_minutes_and_renewing_extends_it() {
    let app = app().await;
    let f = floor(&app, "EXPIRY").await;
    let [(li, li_id), (wang, _)] = agents(&app, &f).await;
    let id = due_entry(&app, &f, 15, &li).await;
    let t0 = app.clock.now_utc();
    let c = claim(&app, &li, &id).await;
    assert_eq!(c.status, StatusCode::OK);
    let until: chrono::DateTime<Utc> = c.body["claimed_until"].as_str().unwrap().parse().unwrap();
    assert_eq!(until, t0 + Duration::minutes(15));

    // a second before: still li's
    app.clock
        .set(t0 + Duration::minutes(15) - Duration::seconds(1));
    assert_eq!(claim(&app, &wang, &id).await.status, StatusCode::CONFLICT);
    let v = app.get(&format!("/api/v1/callbacks/{id}"), &li).await;
    assert_eq!(v.body["claimed_by"], li_id.as_str());

    // exactly at 15 minutes: run out; li's outcome is refused, nothing kept
    app.clock.set(t0 + Duration::minutes(15));
    let v = app.get(&format!("/api/v1/callbacks/{id}"), &li).await;
    assert_eq!(v.body["claimed_by"], Value::Null, "{}", v.body);
    let late = outcome(&app, &li, &id, json!({"result": "no_answer"})).await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.body);
    assert_eq!(calls(&app).await, 0);
    assert_eq!(row(&app, &id).await.tries, 0);
    // and wang may take it
    assert_eq!(claim(&app, &wang, &id).await.status, StatusCode::OK);

    // wang renews after 10 minutes: held until 25, li still shut out at 20
    app.clock.advance(Duration::minutes(10));
    let renewed = claim(&app, &wang, &id).await;
    assert_eq!(renewed.status, StatusCode::OK);
    let until: chrono::DateTime<Utc> = renewed.body["claimed_until"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(until, app.clock.now_utc() + Duration::minutes(15));
    app.clock.advance(Duration::minutes(10));
    assert_eq!(claim(&app, &li, &id).await.status, StatusCode::CONFLICT);
    let ok = outcome(&app, &wang, &id, json!({"result": "wrong_number"})).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(calls(&app).await, 1);
}

#[tokio::test]
async fn the_list_puts_cases_first_by_severity_then_due_time_and_stops_at_200() {
    let app = app().await;
    let f = floor(&app, "MANY").await;
    let [(li, _), _] = agents(&app, &f).await;
    let id = due_entry(&app, &f, 16, &li).await;
    let model = row(&app, &id).await;
    // 240 more entries of the same customer, due over the day, some of them cases
    let day_start = model.due_at;
    for i in 0..240u32 {
        let mut m = model.clone();
        m.id = Uuid::now_v7();
        m.source_key = format!("probe:{i}");
        m.priority = [4, 2, 1, 3][(i % 4) as usize];
        m.due_at = day_start + Duration::minutes(i64::from((i * 37) % 600));
        m.into_active_model()
            .reset_all()
            .insert(&app.state.db)
            .await
            .unwrap();
    }
    let day = local_today(&app, &f);
    let due = list(&app, &li, day).await;
    assert_eq!(due.len(), 200);
    let keys: Vec<(i64, String)> = due
        .iter()
        .map(|e| {
            (
                e["priority"].as_i64().unwrap(),
                e["due_at"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| {
        a.0.cmp(&b.0).then_with(|| {
            let x: chrono::DateTime<Utc> = a.1.parse().unwrap();
            let y: chrono::DateTime<Utc> = b.1.parse().unwrap();
            x.cmp(&y)
        })
    });
    assert_eq!(keys, sorted);
    // 60 of each priority were added: the 200 are all the cases and 20 follow-ups
    assert_eq!(keys.iter().filter(|k| k.0 == 4).count(), 20);
    assert_eq!(keys[0].0, 1);
}

#[tokio::test]
async fn a_case_closed_elsewhere_ends_its_entry_even_while_an_agent_holds_it() {
    let app = app().await;
    let f = floor(&app, "CLOSED").await;
    let [(li, _), _] = agents(&app, &f).await;
    let follow = due_entry(&app, &f, 17, &li).await;
    let customer_id = row(&app, &follow).await.customer_id;
    let manager = app.login_as(&f.s.code, "service_manager").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let c = app
        .post(
            "/api/v1/cases",
            Some(&manager),
            &json!({"customer_id": customer_id, "category": "attitude", "severity": "high",
                    "summary": "前台态度差"}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    let case_id = c.body["id"].as_str().unwrap().to_string();
    let day = local_today(&app, &f);
    let due = list(&app, &li, day).await;
    let entry = due
        .iter()
        .find(|e| e["case"]["id"] == case_id.as_str())
        .expect("the case's contact is on the list")["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        due[0]["id"],
        entry.as_str(),
        "a high-severity case comes first"
    );
    assert_eq!(claim(&app, &li, &entry).await.status, StatusCode::OK);

    // the manager closes it meanwhile
    let closed = app
        .post(
            &format!("/api/v1/cases/{case_id}/close"),
            Some(&manager),
            &json!({"note": "客户已到店当面解决"}),
        )
        .await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.body);
    let late = outcome(
        &app,
        &li,
        &entry,
        json!({"result": "reached", "note": "已联系客户"}),
    )
    .await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.body);
    assert_eq!(calls(&app).await, 0);
    let c = app.get(&format!("/api/v1/cases/{case_id}"), &li).await;
    assert_eq!(c.body["state"], "closed_unresolved");
    let due = list(&app, &li, day).await;
    assert!(due.iter().all(|e| e["id"] != entry.as_str()));
    assert_eq!(claim(&app, &li, &entry).await.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_call_whose_answers_fail_after_the_entry_moved_leaves_nothing_half_written() {
    let app = app().await;
    let f = floor(&app, "HALF").await;
    let [(li, li_id), _] = agents(&app, &f).await;
    let follow = due_entry(&app, &f, 18, &li).await;
    let q = questionnaire(&app, &li).await;
    // the follow-up call: low answers, kept as the order's call response; a case opens
    assert_eq!(claim(&app, &li, &follow).await.status, StatusCode::OK);
    let low = json!({"answers": answers_all(&q, 2), "recommend": 2});
    let r = outcome(
        &app,
        &li,
        &follow,
        json!({"result": "reached", "note": "不满意", "answers": low}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let customer_id = row(&app, &follow).await.customer_id;
    // mark the customer as unreachable by phone, as three missed calls would
    let mut c = customer::Entity::find_by_id(customer_id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    c.calls_unreachable_at = Set(Some(app.clock.now_utc()));
    c.update(&app.state.db).await.unwrap();

    let day = local_today(&app, &f);
    let entry = list(&app, &li, day).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(row(&app, &entry).await.reason.as_str(), "case_contact");
    assert_eq!(claim(&app, &li, &entry).await.status, StatusCode::OK);
    let before = row(&app, &entry).await;
    let (calls_before, cases_before) = (calls(&app).await, cases(&app).await);

    // the entry moves, the case is contacted… then the answers clash with the call's
    let clash = outcome(
        &app,
        &li,
        &entry,
        json!({"result": "reached", "note": "客户同意下次到店", "answers": low}),
    )
    .await;
    assert_eq!(clash.status, StatusCode::CONFLICT, "{}", clash.body);
    assert_eq!(row(&app, &entry).await, before, "the entry as it was");
    assert_eq!(calls(&app).await, calls_before);
    assert_eq!(cases(&app).await, cases_before);
    assert_eq!(responses(&app, "call").await, 1);
    let unreachable = customer::Entity::find_by_id(customer_id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(unreachable.calls_unreachable_at.is_some());
    let kase = app
        .get(&format!("/api/v1/callbacks/{entry}"), &li)
        .await
        .body["case"]["state"]
        .clone();
    assert_eq!(kase, "open", "the case was not contacted");
    assert_eq!(
        app.get(&format!("/api/v1/callbacks/{entry}"), &li)
            .await
            .body["claimed_by"],
        li_id.as_str(),
        "still the agent's"
    );
    // without the answers, the contact is logged
    let ok = outcome(
        &app,
        &li,
        &entry,
        json!({"result": "reached", "note": "客户同意下次到店"}),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["case"]["state"], "contacted");
}

#[tokio::test]
async fn a_customer_three_calls_missed_gets_no_call_for_their_next_visit() {
    let app = app().await;
    let f = floor(&app, "GONE").await;
    let [(li, _), _] = agents(&app, &f).await;
    let id = due_entry(&app, &f, 19, &li).await;
    let customer_id = row(&app, &id).await.customer_id;
    for _ in 0..3 {
        let due = row(&app, &id).await.due_at;
        app.clock.set(due.max(app.clock.now_utc()));
        assert_eq!(claim(&app, &li, &id).await.status, StatusCode::OK);
        let r = outcome(&app, &li, &id, json!({"result": "no_answer"})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    assert_eq!(row(&app, &id).await.state.as_str(), "unreachable");

    // the customer's second car, delivered: the follow-up goes by message only
    let v = app
        .create_vehicle(
            &f.s.advisor,
            &customer_id.to_string(),
            &vin(1919),
            "京B19190",
        )
        .await;
    let second = delivered_car(&app, &f, v["id"].as_str().unwrap()).await;
    let entries = callback::Entity::find()
        .filter(callback::Column::CustomerId.eq(customer_id))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(entries.len(), 1, "no entry for {second}");
    let week = local_today(&app, &f) + Duration::days(7);
    assert!(list(&app, &li, week).await.is_empty());
}

#[tokio::test]
async fn a_case_contact_recorded_while_the_case_is_closed_at_the_counter_is_one_or_the_other() {
    let app = app().await;
    let f = floor(&app, "CROSS").await;
    let [(li, _), _] = agents(&app, &f).await;
    let follow = due_entry(&app, &f, 20, &li).await;
    let customer_id = row(&app, &follow).await.customer_id;
    let manager = app.login_as(&f.s.code, "service_manager").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    for i in 0..12 {
        let c = app
            .post(
                "/api/v1/cases",
                Some(&manager),
                &json!({"customer_id": customer_id, "category": "time", "severity": "medium",
                        "summary": format!("等待时间太长 {i}")}),
            )
            .await;
        assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
        let case_id = c.body["id"].as_str().unwrap().to_string();
        let entry = callback::Entity::find()
            .filter(callback::Column::SourceKey.eq(format!("case:{case_id}")))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap()
            .id
            .to_string();
        assert_eq!(claim(&app, &li, &entry).await.status, StatusCode::OK);
        // the agent logs the call as the manager closes the case at the counter
        let (close_path, close_note) = (
            format!("/api/v1/cases/{case_id}/close"),
            json!({"note": "客户到店当面处理"}),
        );
        let (call, close) = tokio::join!(
            outcome(
                &app,
                &li,
                &entry,
                json!({"result": "reached", "note": "已致电客户致歉"}),
            ),
            app.post(&close_path, Some(&manager), &close_note)
        );
        assert!(
            [StatusCode::OK, StatusCode::CONFLICT].contains(&call.status),
            "call: {}",
            call.body
        );
        assert_eq!(close.status, StatusCode::OK, "close: {}", close.body);
        let kase = app.get(&format!("/api/v1/cases/{case_id}"), &li).await.body;
        assert_eq!(kase["state"], "closed_unresolved");
        let contacted = kase["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "contact");
        assert_eq!(contacted, call.status == StatusCode::OK, "{kase}");
        assert_eq!(row(&app, &entry).await.state.as_str(), "done");
    }
}
