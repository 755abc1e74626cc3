//! Deputies (职务代理, issue 18): advisor Wang (the shop's advisor) is away
//! on 2 and 3 March 2027 and names advisor Li his deputy. Before the
//! period Li sees only his own records and his acts on Wang's are his
//! alone; during it Li's `mine=true` lists hold Wang's booking, order,
//! case and the case's call, Li takes over Wang's claim on the call, and
//! every act is audited "by Li for Wang"; after it, all is as before. A
//! technician named deputy keeps a technician's rights.

use reqwest::StatusCode;
use serde_json::{Value, json};
use servicelane::domain::Role;

use crate::appointments::{Shop, owner, shop};
use crate::care_planner::{d, set_local};
use crate::helpers::*;
use crate::repair_orders::walk_in;

fn sh() -> chrono_tz::Tz {
    chrono_tz::Asia::Shanghai
}

async fn me(app: &TestApp, token: &str) -> String {
    let m = app.get("/api/v1/me", token).await;
    assert_eq!(m.status, StatusCode::OK, "{}", m.body);
    m.body["id"].as_str().unwrap().to_string()
}

/// A second member of staff of the shop: (id, token).
async fn colleague(app: &TestApp, s: &Shop, username: &str, role: Role) -> (String, String) {
    let m = app.get("/api/v1/me", &s.manager).await;
    let dealer = m.body["dealer_id"].as_str().unwrap().parse().unwrap();
    app.user(dealer, username, role).await;
    let t = app.login_as(&s.code, username).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    (me(app, &t).await, t)
}

fn ids(list: &Value) -> Vec<String> {
    let items = list.get("items").unwrap_or(list);
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect()
}

async fn list(app: &TestApp, token: &str, path: &str) -> Vec<String> {
    let r = app.get(path, token).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    ids(&r.body)
}

/// The last entry of an order's timeline.
async fn last_order_event(app: &TestApp, token: &str, order: &str) -> Value {
    let t = app
        .get(&format!("/api/v1/repair-orders/{order}/timeline"), token)
        .await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.body);
    let items = t.body.get("items").unwrap_or(&t.body);
    items.as_array().unwrap().last().unwrap().clone()
}

async fn note_order(app: &TestApp, token: &str, order: &str, notes: &str) {
    let o = app
        .get(&format!("/api/v1/repair-orders/{order}"), token)
        .await;
    let req = app
        .http
        .patch(app.url(&format!("/api/v1/repair-orders/{order}")))
        .bearer_auth(token)
        .header("If-Match", o.etag())
        .json(&json!({"notes": notes}));
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

struct Away {
    s: Shop,
    wang: String,
    li: String,
    li_token: String,
    appointment: String,
    order: String,
    case: String,
}

/// Wang's booking (4 March), his walk-in order and a case he owns, seen
/// on 1 March at 08:00.
async fn away(app: &TestApp) -> Away {
    set_local(app, sh(), d(2027, 3, 1), 8, 0);
    let s = shop(app, "DEP1", "Asia/Shanghai", 4, 4).await;
    let wang = me(app, &s.advisor).await;
    let (li, li_token) = colleague(app, &s, "li_advisor", Role::ServiceAdvisor).await;
    let (customer, vehicle) = owner(app, &s, 1).await;
    let a = app
        .post(
            "/api/v1/appointments",
            Some(&s.advisor),
            &json!({"vehicle_id": vehicle, "slot_start": s.at(10, 0), "services": ["MAINT-10K"],
                    "advisor_id": wang}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let (_, other_vehicle) = owner(app, &s, 2).await;
    let order = walk_in(app, &s, &other_vehicle).await;
    assert_eq!(order["advisor_id"], json!(wang), "{order}");
    let c = app
        .post(
            "/api/v1/cases",
            Some(&s.advisor),
            &json!({"customer_id": customer, "category": "time", "severity": "high",
                    "summary": "交车晚了"}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    assert_eq!(c.body["owner_id"], json!(wang));
    Away {
        s,
        wang,
        li,
        li_token,
        appointment: a.body["id"].as_str().unwrap().to_string(),
        order: order["id"].as_str().unwrap().to_string(),
        case: c.body["id"].as_str().unwrap().to_string(),
    }
}

#[tokio::test]
async fn a_deputy_acts_for_the_absent_advisor_during_the_period_only_audited_as_such() {
    let app = spawn_app_with(&[("SERVICELANE__AUTH__ACCESS_TTL_SECS", "31536000")]).await;
    let w = away(&app).await;
    let date = w.s.date;
    let appointments = format!("/api/v1/appointments?date={date}&mine=true");

    // Wang names Li for 2–3 March
    let p = app
        .put(
            &format!("/api/v1/users/{}/deputy", w.wang),
            &w.s.advisor,
            &json!({"deputy_id": w.li, "from": "2027-03-02", "to": "2027-03-03"}),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert_eq!(p.body["deputy"]["id"], json!(w.li));
    assert_eq!(p.body["user"]["id"], json!(w.wang));
    assert_eq!(p.body["active"], false, "not before 2 March");
    // the same again is a retry: the same period, nothing new
    let again = app
        .put(
            &format!("/api/v1/users/{}/deputy", w.wang),
            &w.s.advisor,
            &json!({"deputy_id": w.li, "from": "2027-03-02", "to": "2027-03-03"}),
        )
        .await;
    assert_eq!(again.body["id"], p.body["id"], "{}", again.body);
    let li_view = app
        .get(&format!("/api/v1/users/{}/deputy", w.li), &w.li_token)
        .await;
    assert_eq!(li_view.status, StatusCode::OK, "{}", li_view.body);
    assert_eq!(li_view.body["deputy"], Value::Null);
    assert_eq!(
        li_view.body["standing_in_for"][0]["user"]["id"],
        json!(w.wang)
    );

    // 1 March: Li's lists are his own, his note on Wang's order is his alone
    assert!(list(&app, &w.li_token, &appointments).await.is_empty());
    assert!(
        list(&app, &w.li_token, "/api/v1/repair-orders?mine=true")
            .await
            .is_empty()
    );
    assert!(
        list(&app, &w.li_token, "/api/v1/cases?mine=true")
            .await
            .is_empty()
    );
    note_order(&app, &w.li_token, &w.order, "李先看过").await;
    let e = last_order_event(&app, &w.li_token, &w.order).await;
    assert_eq!(e["actor_id"], json!(w.li));
    assert_eq!(e["on_behalf_of"], Value::Null, "{e}");

    // 2 March, 09:00: Wang is away
    set_local(&app, sh(), d(2027, 3, 2), 9, 0);
    assert_eq!(
        list(&app, &w.li_token, &appointments).await,
        vec![w.appointment.clone()]
    );
    assert_eq!(
        list(&app, &w.li_token, "/api/v1/repair-orders?mine=true").await,
        vec![w.order.clone()]
    );
    assert_eq!(
        list(&app, &w.li_token, "/api/v1/cases?mine=true").await,
        vec![w.case.clone()]
    );
    let calls = app.get("/api/v1/callbacks?mine=true", &w.li_token).await;
    let entry = calls.body.as_array().unwrap()[0].clone();
    assert_eq!(entry["case"]["id"], json!(w.case), "{}", calls.body);
    // a manager reading the list without mine sees everyone's; with both, 422
    let both = app
        .get(
            &format!("/api/v1/repair-orders?mine=true&advisor_id={}", w.wang),
            &w.li_token,
        )
        .await;
    assert_eq!(both.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(both.problem_fields(), ["mine"]);

    // the order: by Li for Wang
    note_order(&app, &w.li_token, &w.order, "李代王跟进").await;
    let e = last_order_event(&app, &w.li_token, &w.order).await;
    assert_eq!(e["actor_id"], json!(w.li));
    assert_eq!(e["on_behalf_of"], json!(w.wang), "{e}");
    // Wang's own act on his order is his own
    note_order(&app, &w.s.advisor, &w.order, "王在家处理").await;
    let e = last_order_event(&app, &w.s.advisor, &w.order).await;
    assert_eq!(e["on_behalf_of"], Value::Null, "{e}");

    // the booking: confirmed by Li for Wang
    let c = app
        .post(
            &format!("/api/v1/appointments/{}/confirm", w.appointment),
            Some(&w.li_token),
            &json!({}),
        )
        .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    let h = app
        .get(
            &format!("/api/v1/appointments/{}/history", w.appointment),
            &w.li_token,
        )
        .await;
    let last = h.body.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["to_state"], "confirmed");
    assert_eq!(last["actor_id"], json!(w.li));
    assert_eq!(last["on_behalf_of"], json!(w.wang), "{last}");

    // the case's call: Wang holds it; his deputy takes it over (another
    // advisor may not), calls, and the call and the case's contact are
    // both by Li for Wang
    let entry_id = entry["id"].as_str().unwrap();
    let claim = |token: String| {
        let app = &app;
        async move {
            app.post(
                &format!("/api/v1/callbacks/{entry_id}/claim"),
                Some(&token),
                &json!({}),
            )
            .await
        }
    };
    assert_eq!(claim(w.s.advisor.clone()).await.status, StatusCode::OK);
    let (_, zhao) = colleague(&app, &w.s, "zhao_advisor", Role::ServiceAdvisor).await;
    assert_eq!(claim(zhao).await.status, StatusCode::CONFLICT);
    let taken = claim(w.li_token.clone()).await;
    assert_eq!(taken.status, StatusCode::OK, "{}", taken.body);
    assert_eq!(taken.body["claimed_by"], json!(w.li));
    let call = app
        .post(
            &format!("/api/v1/callbacks/{entry_id}/outcome"),
            Some(&w.li_token),
            &json!({"result": "reached", "note": "李代王致歉，客户接受"}),
        )
        .await;
    assert_eq!(call.status, StatusCode::OK, "{}", call.body);
    assert_eq!(call.body["calls"][0]["agent_id"], json!(w.li));
    assert_eq!(call.body["calls"][0]["on_behalf_of"], json!(w.wang));
    let case = app
        .get(&format!("/api/v1/cases/{}", w.case), &w.li_token)
        .await;
    let contact = case.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "contact")
        .cloned()
        .unwrap();
    assert_eq!(contact["actor_id"], json!(w.li));
    assert_eq!(contact["on_behalf_of"], json!(w.wang), "{contact}");

    // the morning page shows who stands in for whom
    let today = app.get("/api/v1/today", &w.s.manager).await;
    assert_eq!(today.status, StatusCode::OK, "{}", today.body);
    let deputies = today.body["staff"]["deputies"].as_array().unwrap();
    assert_eq!(deputies.len(), 1, "{}", today.body["staff"]);
    assert_eq!(deputies[0]["user"]["id"], json!(w.wang));
    assert_eq!(deputies[0]["deputy"]["id"], json!(w.li));
    assert_eq!(deputies[0]["to"], "2027-03-03");

    // 3 March: Wang's tablet retries the naming; the first day is past,
    // but it is the same period, answered as it is
    set_local(&app, sh(), d(2027, 3, 3), 9, 0);
    let retry = app
        .put(
            &format!("/api/v1/users/{}/deputy", w.wang),
            &w.s.advisor,
            &json!({"deputy_id": w.li, "from": "2027-03-02", "to": "2027-03-03"}),
        )
        .await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.body);
    assert_eq!(retry.body["id"], p.body["id"]);

    // 4 March: the period is over
    set_local(&app, sh(), d(2027, 3, 4), 8, 0);
    assert!(list(&app, &w.li_token, &appointments).await.is_empty());
    assert!(
        list(&app, &w.li_token, "/api/v1/cases?mine=true")
            .await
            .is_empty()
    );
    note_order(&app, &w.li_token, &w.order, "李再看一次").await;
    let e = last_order_event(&app, &w.li_token, &w.order).await;
    assert_eq!(e["on_behalf_of"], Value::Null, "{e}");
    let today = app.get("/api/v1/today", &w.s.manager).await;
    assert_eq!(today.body["staff"]["deputies"], json!([]));
    // naming another period closes the one that ran out at its end, by
    // nobody: the record does not say anyone withdrew it
    let next = app
        .put(
            &format!("/api/v1/users/{}/deputy", w.wang),
            &w.s.advisor,
            &json!({"deputy_id": w.li, "from": "2027-03-10", "to": "2027-03-11"}),
        )
        .await;
    assert_eq!(next.status, StatusCode::OK, "{}", next.body);
    use sea_orm::EntityTrait;
    let first = servicelane::entities::deputy::Entity::find_by_id(
        p.body["id"]
            .as_str()
            .unwrap()
            .parse::<uuid::Uuid>()
            .unwrap(),
    )
    .one(&app.state.db)
    .await
    .unwrap()
    .unwrap();
    assert_eq!(first.withdrawn_by, None);
    assert_eq!(first.withdrawn_at, Some(first.ends_at));
}

#[tokio::test]
async fn who_names_a_deputy_for_how_long_and_a_technician_deputy_keeps_a_technicians_rights() {
    let app = spawn_app_with(&[("SERVICELANE__AUTH__ACCESS_TTL_SECS", "31536000")]).await;
    let w = away(&app).await;
    let path = format!("/api/v1/users/{}/deputy", w.wang);
    let put = |token: String, body: Value| {
        let (app, path) = (&app, &path);
        async move { app.put(path, &token, &body).await }
    };
    // another advisor may not name Wang's deputy; the manager may
    let by_li = put(
        w.li_token.clone(),
        json!({"deputy_id": w.li, "from": "2027-03-01", "to": "2027-03-01"}),
    )
    .await;
    assert_eq!(by_li.status, StatusCode::FORBIDDEN, "{}", by_li.body);
    // bad fields are named: himself, a past day, too long, another dealer's user
    let own = put(
        w.s.advisor.clone(),
        json!({"deputy_id": w.wang, "from": "2027-02-28", "to": "2027-06-30"}),
    )
    .await;
    assert_eq!(own.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(own.problem_fields(), ["from", "deputy_id"], "{}", own.body);
    let long = put(
        w.s.manager.clone(),
        json!({"deputy_id": w.li, "from": "2027-03-01", "to": "2027-05-30"}),
    )
    .await;
    assert_eq!(long.problem_fields(), ["to"], "{}", long.body);
    let (_, elsewhere) = app.staff("DEP2", Role::ServiceAdvisor).await;
    let stranger = me(&app, &elsewhere).await;
    let foreign = put(
        w.s.manager.clone(),
        json!({"deputy_id": stranger, "from": "2027-03-01", "to": "2027-03-01"}),
    )
    .await;
    assert_eq!(foreign.problem_fields(), ["deputy_id"], "{}", foreign.body);
    let year = put(
        w.s.manager.clone(),
        json!({"deputy_id": w.li, "from": "+262142-01-01", "to": "2027-03-01"}),
    )
    .await;
    assert_eq!(
        year.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        year.body
    );
    // another dealer's user is not there at all
    let other = app
        .get(&format!("/api/v1/users/{stranger}/deputy"), &w.s.manager)
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);

    // the manager names the technician for today: the technician reads
    // Wang's orders as a technician may, but still may not edit them
    let (tech, tech_token) = colleague(&app, &w.s, "tech_zhou", Role::Technician).await;
    let named = put(
        w.s.manager.clone(),
        json!({"deputy_id": tech, "from": "2027-03-01", "to": "2027-03-01"}),
    )
    .await;
    assert_eq!(named.status, StatusCode::OK, "{}", named.body);
    assert_eq!(named.body["active"], true);
    assert_eq!(
        named.body["set_by"]["id"],
        json!(me(&app, &w.s.manager).await)
    );
    let o = app
        .get(&format!("/api/v1/repair-orders/{}", w.order), &tech_token)
        .await;
    let req = app
        .http
        .patch(app.url(&format!("/api/v1/repair-orders/{}", w.order)))
        .bearer_auth(&tech_token)
        .header("If-Match", o.etag())
        .json(&json!({"notes": "技师代填"}));
    assert_eq!(app.send(req).await.status, StatusCode::FORBIDDEN);
    let cases = app.get("/api/v1/cases?mine=true", &tech_token).await;
    assert_eq!(cases.status, StatusCode::FORBIDDEN, "{}", cases.body);

    // naming Li replaces the technician; withdrawing leaves none
    let li = put(
        w.s.advisor.clone(),
        json!({"deputy_id": w.li, "from": "2027-03-05", "to": "2027-03-06"}),
    )
    .await;
    assert_eq!(li.status, StatusCode::OK, "{}", li.body);
    let now = app.get(&path, &w.s.advisor).await;
    assert_eq!(now.body["deputy"]["deputy"]["id"], json!(w.li));
    let gone = app.http.delete(app.url(&path)).bearer_auth(&w.s.advisor);
    let gone = app.send(gone).await;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.body);
    assert_eq!(gone.body["deputy"], Value::Null);
    // the record keeps both periods, withdrawn
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use servicelane::entities::deputy;
    let rows = deputy::Entity::find()
        .filter(deputy::Column::UserId.eq(w.wang.parse::<uuid::Uuid>().unwrap()))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "the technician's period, then Li's");
    assert!(rows.iter().all(|r| r.withdrawn_at.is_some()));
}

#[tokio::test]
async fn naming_at_the_same_moment_leaves_one_live_period() {
    let app = spawn_app_with(&[("SERVICELANE__AUTH__ACCESS_TTL_SECS", "31536000")]).await;
    let w = away(&app).await;
    let path = format!("/api/v1/users/{}/deputy", w.wang);
    // ten namings at once, each a different period: each is answered 200 or
    // 409, and exactly one period is live afterwards, the one GET shows
    let answers = futures_util::future::join_all((0..10).map(|i| {
        let (app, path, w) = (&app, &path, &w);
        async move {
            let body = json!({"deputy_id": w.li, "from": format!("2027-03-{:02}", 2 + i),
                              "to": format!("2027-03-{:02}", 12 + i)});
            app.put(path, &w.s.manager, &body).await
        }
    }))
    .await;
    for a in &answers {
        assert!(
            a.status == StatusCode::OK || a.status == StatusCode::CONFLICT,
            "{} {}",
            a.status,
            a.body
        );
    }
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use servicelane::entities::deputy;
    let live = deputy::Entity::find()
        .filter(deputy::Column::UserId.eq(w.wang.parse::<uuid::Uuid>().unwrap()))
        .filter(deputy::Column::WithdrawnAt.is_null())
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(live.len(), 1, "{live:?}");
    let shown = app.get(&path, &w.s.advisor).await;
    assert_eq!(shown.body["deputy"]["id"], json!(live[0].id));
    // the same naming ten times at once is one naming: all 200, one period
    let same = json!({"deputy_id": w.li, "from": "2027-03-20", "to": "2027-03-25"});
    let answers =
        futures_util::future::join_all((0..10).map(|_| app.put(&path, &w.s.manager, &same))).await;
    let ids: Vec<&Value> = answers.iter().map(|a| &a.body["id"]).collect();
    assert!(
        answers.iter().all(|a| a.status == StatusCode::OK),
        "{:?}",
        answers.iter().map(|a| &a.body).collect::<Vec<_>>()
    );
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
}
