//! Special tools and equipment (设施管理, issue 12 part 3): the lending
//! register (two lends at once: one 200, one 409), overdue loans for the
//! tool keeper, a damaged return recorded against the borrower, personal
//! tool lists, upkeep due this week computed by hand, repair and scrap
//! requests approved by the service manager, and bad input.
//!
//! The shop is in Shanghai; "today" is Monday 1 March 2027 (ISO week
//! 2027-W09, 1–7 March), 09:00.

use reqwest::StatusCode;
use serde_json::{Value, json};
use servicelane::domain::Role;

use crate::appointments::owner;
use crate::care_planner::{d, set_local};
use crate::helpers::*;
use crate::repair_orders::{add_job, walk_in};
use crate::workshop::{Floor, floor};

fn sh() -> chrono_tz::Tz {
    chrono_tz::Asia::Shanghai
}

/// The tests move the clock a day or more: tokens that last a year.
async fn day_app() -> TestApp {
    spawn_app_with(&[("SERVICELANE__AUTH__ACCESS_TTL_SECS", "31536000")]).await
}

struct Room {
    f: Floor,
    keeper: String,
    /// A second technician: (id, token).
    tech2: (String, String),
}

async fn me(app: &TestApp, token: &str) -> Value {
    app.get("/api/v1/me", token).await.body
}

async fn room(app: &TestApp, code: &str) -> Room {
    set_local(app, sh(), d(2027, 3, 1), 9, 0);
    let f = floor(app, code).await;
    let (dealer, keeper) = app.staff(code, Role::ToolKeeper).await;
    app.user(dealer, "tech2", Role::Technician).await;
    let t2 = app.login_as(code, "tech2").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let id2 = me(app, &t2).await["id"].as_str().unwrap().to_string();
    Room {
        f,
        keeper,
        tech2: (id2, t2),
    }
}

async fn new_tool(app: &TestApp, token: &str, body: Value) -> Value {
    let t = app.post("/api/v1/tools", Some(token), &body).await;
    assert_eq!(t.status, StatusCode::CREATED, "{}", t.body);
    t.body
}

async fn special(app: &TestApp, r: &Room, code: &str) -> String {
    new_tool(
        app,
        &r.keeper,
        json!({"code": code, "name": "正时专用工具", "kind": "special", "location": "工具室A1"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn lend(app: &TestApp, token: &str, tool: &str, body: Value) -> Answer {
    app.post(&format!("/api/v1/tools/{tool}/lend"), Some(token), &body)
        .await
}

async fn give_back(app: &TestApp, token: &str, tool: &str, body: Value) -> Answer {
    app.post(&format!("/api/v1/tools/{tool}/return"), Some(token), &body)
        .await
}

async fn list(app: &TestApp, token: &str, path: &str) -> Vec<Value> {
    let a = app.get(path, token).await;
    assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.body);
    a.body.as_array().unwrap().clone()
}

fn codes(items: &[Value], field: &str) -> Vec<String> {
    items
        .iter()
        .map(|x| x[field].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_tool_lent_twice_at_once_is_lent_once() {
    let app = day_app().await;
    let r = room(&app, "TOOLA").await;
    // several tools, each lent to two technicians at the same moment
    let mut tools = vec![];
    for n in 0..4 {
        tools.push(special(&app, &r, &format!("ST-00{n}")).await);
    }
    let to = [r.f.tech_id.clone(), r.tech2.0.clone()];
    let all: Vec<(&String, &String)> = tools
        .iter()
        .flat_map(|t| to.iter().map(move |u| (t, u)))
        .collect();
    let answers = futures_util::future::join_all(
        all.iter()
            .map(|(t, u)| lend(&app, &r.keeper, t, json!({ "to_user_id": u }))),
    )
    .await;
    for (n, tool) in tools.iter().enumerate() {
        let pair = &answers[2 * n..2 * n + 2];
        let mut statuses: Vec<u16> = pair.iter().map(|a| a.status.as_u16()).collect();
        statuses.sort();
        assert_eq!(
            statuses,
            [200, 409],
            "{:?}",
            pair.iter().map(|a| &a.body).collect::<Vec<_>>()
        );
        let won = pair.iter().find(|a| a.status == StatusCode::OK).unwrap();
        assert_eq!(won.body["state"], "lent");
        let lost = pair
            .iter()
            .find(|a| a.status == StatusCode::CONFLICT)
            .unwrap();
        assert_eq!(lost.content_type(), "application/problem+json");
        // one line in the register, to the winner
        let loans: Vec<Value> = list(&app, &r.keeper, "/api/v1/tools/loans")
            .await
            .into_iter()
            .filter(|l| l["tool_id"] == tool.as_str())
            .collect();
        assert_eq!(loans.len(), 1, "{loans:?}");
        assert_eq!(loans[0]["to_user"]["id"], won.body["loan"]["to_user"]["id"]);
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        let rows = servicelane::entities::tool_loan::Entity::find()
            .filter(
                servicelane::entities::tool_loan::Column::ToolId
                    .eq(uuid::Uuid::parse_str(tool).unwrap()),
            )
            .count(&app.state.db)
            .await
            .unwrap();
        assert_eq!(rows, 1);
    }
}

#[tokio::test]
async fn an_overdue_loan_is_listed_and_a_damaged_return_is_charged_to_the_borrower() {
    let app = day_app().await;
    let r = room(&app, "TOOLB").await;
    let (_, v) = owner(&app, &r.f.s, 1).await;
    let o = walk_in(&app, &r.f.s, &v).await;
    let job = add_job(
        &app,
        &r.f.s.advisor,
        o["id"].as_str().unwrap(),
        json!({"description": "更换正时皮带", "labour_hours": "2", "skill": "mechanical"}),
    )
    .await;
    // the answer is the order with its jobs
    let job_id = job["jobs"][0]["id"].as_str().unwrap();
    let timing = special(&app, &r, "ST-010").await;
    let scope = new_tool(
        &app,
        &r.keeper,
        json!({"code": "EQ-SCOPE", "name": "示波器", "kind": "equipment"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    // the timing tool for the job, due by the end of today; the scope for three days
    let a = lend(
        &app,
        &r.keeper,
        &timing,
        json!({"to_user_id": r.f.tech_id, "job_id": job_id}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["loan"]["due_at"], "2027-03-01T16:00:00Z");
    assert_eq!(a.body["loan"]["job_id"], job_id);
    assert_eq!(a.body["loan"]["overdue"], false);
    let b = lend(
        &app,
        &r.keeper,
        &scope,
        json!({"to_user_id": r.tech2.0, "due_at": "2027-03-04T09:00:00Z"}),
    )
    .await;
    assert_eq!(b.status, StatusCode::OK, "{}", b.body);
    assert!(
        list(&app, &r.keeper, "/api/v1/tools/loans?overdue=true")
            .await
            .is_empty()
    );
    // a lent tool is lent to one person at a time
    let again = lend(&app, &r.keeper, &timing, json!({"to_user_id": r.tech2.0})).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    // the next morning the timing tool is overdue; the scope is not
    set_local(&app, sh(), d(2027, 3, 2), 9, 0);
    let late = list(&app, &r.keeper, "/api/v1/tools/loans?overdue=true").await;
    assert_eq!(codes(&late, "tool_code"), ["ST-010"]);
    assert_eq!(late[0]["overdue"], true);
    assert_eq!(late[0]["to_user"]["id"], r.f.tech_id.as_str());
    // all loans out: the overdue one first
    let out = list(&app, &r.keeper, "/api/v1/tools/loans").await;
    assert_eq!(codes(&out, "tool_code"), ["ST-010", "EQ-SCOPE"]);
    // the tool keeper's console page: the overdue one first, marked
    let b = crate::console::Browser::login(&app, "TOOLB", "tool_keeper").await;
    let page = b.get("/console/tools").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let first = page.body.find("data-tool=\"ST-010\"").unwrap();
    assert!(first < page.body.find("data-tool=\"EQ-SCOPE\"").unwrap());
    assert!(page.body[first - 30..first].contains("class=\"overdue\""));
    assert!(page.body.contains("已逾期") && page.body.contains("本周应保养设备"));
    let en = b.get("/console/tools?lang=en").await;
    assert!(en.body.contains("Upkeep due this week"));
    let t = crate::console::Browser::login(&app, "TOOLB", "technician").await;
    assert_eq!(t.get("/console/tools").await.status, StatusCode::FORBIDDEN);
    // back damaged, with the charge the dealer's rule sets
    let back = give_back(
        &app,
        &r.keeper,
        &timing,
        json!({"condition": "damaged", "charge": "120.50", "note": "卡爪断裂"}),
    )
    .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    assert_eq!(back.body["state"], "in_repair");
    assert!(back.body["loan"].is_null());
    // a second return of the same tool does nothing twice
    let twice = give_back(&app, &r.keeper, &timing, json!({"condition": "good"})).await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.body);
    assert!(
        list(&app, &r.keeper, "/api/v1/tools/loans?overdue=true")
            .await
            .is_empty()
    );
    // the damage stands against the technician, who sees their own list
    let mine = app
        .get(&format!("/api/v1/users/{}/tools", r.f.tech_id), &r.f.tech)
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    let inc = mine.body["incidents"].as_array().unwrap();
    assert_eq!(inc.len(), 1, "{inc:?}");
    assert_eq!(inc[0]["kind"], "damaged");
    assert_eq!(inc[0]["tool_code"], "ST-010");
    assert_eq!(inc[0]["charge"], "120.50");
    assert!(mine.body["borrowed"].as_array().unwrap().is_empty());
    // tech2 still has the scope, and may not read tech1's list
    let theirs = app
        .get(&format!("/api/v1/users/{}/tools", r.tech2.0), &r.tech2.1)
        .await;
    assert_eq!(
        codes(theirs.body["borrowed"].as_array().unwrap(), "tool_code"),
        ["EQ-SCOPE"]
    );
    let nosy = app
        .get(&format!("/api/v1/users/{}/tools", r.f.tech_id), &r.tech2.1)
        .await;
    assert_eq!(nosy.status, StatusCode::FORBIDDEN);
    // a technician does not run the register
    let self_service = lend(&app, &r.f.tech, &scope, json!({"to_user_id": r.f.tech_id})).await;
    assert_eq!(self_service.status, StatusCode::FORBIDDEN);
    // a lost scope moves to lost, against tech2, no charge by default
    let gone = give_back(&app, &r.keeper, &scope, json!({"condition": "lost"})).await;
    assert_eq!(gone.body["state"], "lost");
    let theirs = app
        .get(&format!("/api/v1/users/{}/tools", r.tech2.0), &r.keeper)
        .await;
    let inc = theirs.body["incidents"].as_array().unwrap();
    assert_eq!(
        (&inc[0]["kind"], &inc[0]["charge"]),
        (&json!("lost"), &Value::Null)
    );
    // a damaged tool is not lent until repaired
    let no = lend(&app, &r.keeper, &timing, json!({"to_user_id": r.tech2.0})).await;
    assert_eq!(no.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn personal_tools_are_listed_per_technician_and_not_lent() {
    let app = day_app().await;
    let r = room(&app, "TOOLC").await;
    let wrench = new_tool(
        &app,
        &r.keeper,
        json!({"code": "h-101", "name": "扭力扳手", "kind": "hand", "holder_user_id": r.f.tech_id}),
    )
    .await;
    assert_eq!(wrench["code"], "H-101");
    assert_eq!(wrench["holder"]["id"], r.f.tech_id.as_str());
    new_tool(
        &app,
        &r.keeper,
        json!({"code": "A-201", "name": "气动扳手", "kind": "air", "holder_user_id": r.f.tech_id}),
    )
    .await;
    new_tool(
        &app,
        &r.keeper,
        json!({"code": "E-301", "name": "电钻", "kind": "electric", "holder_user_id": r.tech2.0}),
    )
    .await;
    let id = wrench["id"].as_str().unwrap();
    let mine = app
        .get(&format!("/api/v1/users/{}/tools", r.f.tech_id), &r.f.tech)
        .await;
    assert_eq!(
        codes(mine.body["held"].as_array().unwrap(), "code"),
        ["A-201", "H-101"]
    );
    let by_holder = list(
        &app,
        &r.keeper,
        &format!("/api/v1/tools?holder_id={}", r.tech2.0),
    )
    .await;
    assert_eq!(codes(&by_holder, "code"), ["E-301"]);
    let air = list(&app, &r.keeper, "/api/v1/tools?kind=air").await;
    assert_eq!(codes(&air, "code"), ["A-201"]);
    // a personal tool is issued, not lent; the code is unique at the dealer
    let l = lend(&app, &r.keeper, id, json!({"to_user_id": r.tech2.0})).await;
    assert_eq!(l.status, StatusCode::CONFLICT);
    let dup = app
        .post(
            "/api/v1/tools",
            Some(&r.keeper),
            &json!({"code": "H-101", "name": "另一把", "kind": "hand"}),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    // handed over to tech2, with the version read; a stale one is 412
    let read = app.get(&format!("/api/v1/tools/{id}"), &r.f.tech).await;
    assert_eq!(read.status, StatusCode::OK, "the holder reads their tool");
    let etag = read.etag();
    let moved = app
        .patch(
            &format!("/api/v1/tools/{id}"),
            &r.keeper,
            Some(&etag),
            &json!({"holder_user_id": r.tech2.0}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(moved.body["holder"]["id"], r.tech2.0.as_str());
    let stale = app
        .patch(
            &format!("/api/v1/tools/{id}"),
            &r.keeper,
            Some(&etag),
            &json!({"location": "2号工位"}),
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let none = app
        .patch(
            &format!("/api/v1/tools/{id}"),
            &r.keeper,
            None,
            &json!({"location": "2号工位"}),
        )
        .await;
    assert_eq!(none.status, StatusCode::PRECONDITION_REQUIRED);
    let theirs = app
        .get(&format!("/api/v1/users/{}/tools", r.tech2.0), &r.tech2.1)
        .await;
    assert_eq!(
        codes(theirs.body["held"].as_array().unwrap(), "code"),
        ["E-301", "H-101"]
    );
    // a special tool has no holder
    let bad = app
        .post(
            "/api/v1/tools",
            Some(&r.keeper),
            &json!({"code": "ST-9", "name": "专用", "kind": "special", "holder_user_id": r.f.tech_id}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.problem_fields(), ["holder_user_id"]);
    // the technician does not read the whole room
    assert_eq!(
        app.get("/api/v1/tools", &r.f.tech).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn upkeep_due_this_week_is_computed_from_the_last_upkeep_and_the_interval() {
    let app = day_app().await;
    let r = room(&app, "TOOLD").await;
    // today is Monday 2027-03-01, week 2027-W09 runs 1–7 March:
    // lift: every 30 days, last 1 Feb → next 3 Mar: due this week
    // washer: every 7 days, last 1 Mar → next 8 Mar: next week
    // balancer: every 90 days, never upkept → due (overdue)
    // compressor: every 10 days, last 10 Feb → next 20 Feb: overdue
    // a special tool with no interval is never due
    let tools = [
        json!({"code": "EQ-LIFT", "name": "举升机", "kind": "equipment", "upkeep_interval_days": 30, "last_upkeep_on": "2027-02-01"}),
        json!({"code": "EQ-WASH", "name": "清洗机", "kind": "equipment", "upkeep_interval_days": 7, "last_upkeep_on": "2027-03-01"}),
        json!({"code": "EQ-BAL", "name": "平衡机", "kind": "equipment", "upkeep_interval_days": 90}),
        json!({"code": "EQ-AIR", "name": "空压机", "kind": "equipment", "upkeep_interval_days": 10, "last_upkeep_on": "2027-02-10"}),
        json!({"code": "ST-1", "name": "专用工具", "kind": "special"}),
    ];
    let mut ids = std::collections::HashMap::new();
    for t in tools {
        let v = new_tool(&app, &r.keeper, t).await;
        ids.insert(
            v["code"].as_str().unwrap().to_string(),
            v["id"].as_str().unwrap().to_string(),
        );
    }
    let due = app.get("/api/v1/tools/upkeep-due", &r.keeper).await;
    assert_eq!(due.status, StatusCode::OK, "{}", due.body);
    assert_eq!(
        (&due.body["week"], &due.body["from"], &due.body["to"]),
        (
            &json!("2027-W09"),
            &json!("2027-03-01"),
            &json!("2027-03-07")
        )
    );
    let items = due.body["items"].as_array().unwrap();
    assert_eq!(codes(items, "code"), ["EQ-BAL", "EQ-AIR", "EQ-LIFT"]);
    assert_eq!(
        items
            .iter()
            .map(|i| i["overdue"].as_bool().unwrap())
            .collect::<Vec<_>>(),
        [true, true, false]
    );
    assert_eq!(items[2]["next_due_on"], "2027-03-03");
    assert!(items[0]["next_due_on"].is_null());
    // the lift is upkept today: next due 31 March, off this week's list;
    // recording it again is the same record
    let lift = &ids["EQ-LIFT"];
    let up = app
        .post(
            &format!("/api/v1/tools/{lift}/upkeep"),
            Some(&r.keeper),
            &json!({"work": "检查液压油、钢丝绳,润滑导轨"}),
        )
        .await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", up.body);
    assert_eq!(
        (&up.body["done_on"], &up.body["next_due_on"]),
        (&json!("2027-03-01"), &json!("2027-03-31"))
    );
    let again = app
        .post(
            &format!("/api/v1/tools/{lift}/upkeep"),
            Some(&r.keeper),
            &json!({"work": "检查液压油、钢丝绳,润滑导轨"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["id"], up.body["id"]);
    let t = app.get(&format!("/api/v1/tools/{lift}"), &r.keeper).await;
    assert_eq!(t.body["last_upkeep_on"], "2027-03-01");
    assert_eq!(t.body["next_upkeep_on"], "2027-03-31");
    let due = app.get("/api/v1/tools/upkeep-due", &r.keeper).await;
    assert_eq!(
        codes(due.body["items"].as_array().unwrap(), "code"),
        ["EQ-BAL", "EQ-AIR"]
    );
    // an older upkeep recorded late does not move the last one back
    let late = app
        .post(
            &format!("/api/v1/tools/{lift}/upkeep"),
            Some(&r.keeper),
            &json!({"work": "补记", "done_on": "2027-02-15"}),
        )
        .await;
    assert_eq!(late.status, StatusCode::CREATED, "{}", late.body);
    let t = app.get(&format!("/api/v1/tools/{lift}"), &r.keeper).await;
    assert_eq!(t.body["last_upkeep_on"], "2027-03-01");
    // week 2027-W13 (29 March – 4 April): the lift (31 Mar) and the washer
    // (8 Mar, overdue by then) are due too
    let later = app
        .get("/api/v1/tools/upkeep-due?week=2027-W13", &r.keeper)
        .await;
    assert_eq!(later.body["from"], "2027-03-29");
    assert_eq!(
        codes(later.body["items"].as_array().unwrap(), "code"),
        ["EQ-BAL", "EQ-AIR", "EQ-WASH", "EQ-LIFT"]
    );
    let bad = app
        .get("/api/v1/tools/upkeep-due?week=2027-W54", &r.keeper)
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.problem_fields(), ["week"]);
}

#[tokio::test]
async fn a_scrap_request_is_approved_by_the_manager_only_and_scraps_the_tool_when_done() {
    let app = day_app().await;
    let r = room(&app, "TOOLE").await;
    let tool = special(&app, &r, "ST-OLD").await;
    let body = json!({"tool_id": tool, "kind": "scrap", "reason": "卡口磨损,无法修复"});
    let q = app
        .post("/api/v1/tool-requests", Some(&r.f.tech), &body)
        .await;
    assert_eq!(q.status, StatusCode::CREATED, "{}", q.body);
    assert_eq!(q.body["state"], "requested");
    let id = q.body["id"].as_str().unwrap().to_string();
    // the same request again is the same request; another kind is 409
    let again = app
        .post("/api/v1/tool-requests", Some(&r.f.tech), &body)
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["id"], id.as_str());
    let other = app
        .post(
            "/api/v1/tool-requests",
            Some(&r.keeper),
            &json!({"tool_id": tool, "kind": "repair", "reason": "试修"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::CONFLICT, "{}", other.body);
    // a technician does not approve
    let tech = app
        .post(
            &format!("/api/v1/tool-requests/{id}/approve"),
            Some(&r.f.tech),
            &json!({}),
        )
        .await;
    assert_eq!(tech.status, StatusCode::FORBIDDEN);
    let keeper = app
        .post(
            &format!("/api/v1/tool-requests/{id}/approve"),
            Some(&r.keeper),
            &json!({}),
        )
        .await;
    assert_eq!(keeper.status, StatusCode::FORBIDDEN);
    // nor is it done before approval
    let early = app
        .post(
            &format!("/api/v1/tool-requests/{id}/done"),
            Some(&r.keeper),
            &json!({}),
        )
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    let ok = app
        .post(
            &format!("/api/v1/tool-requests/{id}/approve"),
            Some(&r.f.s.manager),
            &json!({"note": "同意报废"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["state"], "approved");
    assert_eq!(ok.body["decision_note"], "同意报废");
    // approving again changes nothing; the tool is scrapped only when done
    let twice = app
        .post(
            &format!("/api/v1/tool-requests/{id}/approve"),
            Some(&r.f.s.manager),
            &json!({}),
        )
        .await;
    assert_eq!(twice.status, StatusCode::OK);
    assert_eq!(twice.body["version"], ok.body["version"]);
    let t = app.get(&format!("/api/v1/tools/{tool}"), &r.keeper).await;
    assert_eq!(t.body["state"], "available");
    let done = app
        .post(
            &format!("/api/v1/tool-requests/{id}/done"),
            Some(&r.keeper),
            &json!({}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body["state"], "done");
    let t = app.get(&format!("/api/v1/tools/{tool}"), &r.keeper).await;
    assert_eq!(t.body["state"], "scrapped");
    let l = lend(&app, &r.keeper, &tool, json!({"to_user_id": r.f.tech_id})).await;
    assert_eq!(l.status, StatusCode::CONFLICT);
    // a repair: approved takes the tool out of service, done brings it back
    let wrench = special(&app, &r, "ST-REP").await;
    let rq = app
        .post(
            "/api/v1/tool-requests",
            Some(&r.f.foreman),
            &json!({"tool_id": wrench, "kind": "repair", "reason": "校准"}),
        )
        .await;
    assert_eq!(rq.status, StatusCode::CREATED, "{}", rq.body);
    let rid = rq.body["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/tool-requests/{rid}/approve"),
        Some(&r.f.s.manager),
        &json!({}),
    )
    .await;
    let t = app.get(&format!("/api/v1/tools/{wrench}"), &r.keeper).await;
    assert_eq!(t.body["state"], "in_repair");
    app.post(
        &format!("/api/v1/tool-requests/{rid}/done"),
        Some(&r.keeper),
        &json!({}),
    )
    .await;
    let t = app.get(&format!("/api/v1/tools/{wrench}"), &r.keeper).await;
    assert_eq!(t.body["state"], "available");
    // a refused request leaves the tool as it was and is closed
    let rq = app
        .post(
            "/api/v1/tool-requests",
            Some(&r.f.tech),
            &json!({"tool_id": wrench, "kind": "scrap", "reason": "不想要了"}),
        )
        .await;
    let rid = rq.body["id"].as_str().unwrap().to_string();
    let no = app
        .post(
            &format!("/api/v1/tool-requests/{rid}/refuse"),
            Some(&r.f.s.manager),
            &json!({}),
        )
        .await;
    assert_eq!(no.body["state"], "refused");
    let after = app
        .post(
            &format!("/api/v1/tool-requests/{rid}/done"),
            Some(&r.keeper),
            &json!({}),
        )
        .await;
    assert_eq!(after.status, StatusCode::CONFLICT);
    let t = app.get(&format!("/api/v1/tools/{wrench}"), &r.keeper).await;
    assert_eq!(t.body["state"], "available");
    // the technician sees their own requests; the manager all of them
    let theirs = list(&app, &r.f.tech, "/api/v1/tool-requests").await;
    assert_eq!(theirs.len(), 2);
    let all = list(&app, &r.f.s.manager, "/api/v1/tool-requests").await;
    assert_eq!(all.len(), 3);
    let open = list(&app, &r.f.s.manager, "/api/v1/tool-requests?state=refused").await;
    assert_eq!(open.len(), 1);
}

#[tokio::test]
async fn bad_input_is_422_naming_the_field() {
    let app = day_app().await;
    let r = room(&app, "TOOLF").await;
    let tool = special(&app, &r, "ST-X").await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({"code": "X1", "name": "x", "kind": "laser"}), "kind"),
        (
            json!({"code": "X1", "name": "扳\u{0}手", "kind": "hand"}),
            "name",
        ),
        (json!({"code": "X 1!", "name": "x", "kind": "hand"}), "code"),
        (
            json!({"code": "X1", "name": "x", "kind": "equipment", "last_upkeep_on": "-5000-01-01"}),
            "last_upkeep_on",
        ),
        (
            json!({"code": "X1", "name": "x", "kind": "equipment", "last_upkeep_on": "262142-01-01"}),
            "last_upkeep_on",
        ),
        (
            json!({"code": "X1", "name": "x", "kind": "equipment", "last_upkeep_on": "2027-03-02"}),
            "last_upkeep_on",
        ),
        (
            json!({"code": "X1", "name": "x", "kind": "equipment", "upkeep_interval_days": 2147483647}),
            "upkeep_interval_days",
        ),
        (
            json!({"code": "X1", "name": "x", "kind": "equipment", "upkeep_interval_days": 0}),
            "upkeep_interval_days",
        ),
    ];
    for (body, field) in cases {
        let a = app.post("/api/v1/tools", Some(&r.keeper), &body).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            a.body
        );
        assert_eq!(a.problem_fields(), [field], "{body}: {}", a.body);
    }
    let lends: Vec<(Value, &str)> = vec![
        (json!({"to_user_id": "not-a-uuid"}), "to_user_id"),
        (json!({"to_user_id": uuid::Uuid::now_v7()}), "to_user_id"),
        (
            json!({"to_user_id": r.f.tech_id, "job_id": uuid::Uuid::now_v7()}),
            "job_id",
        ),
        (
            json!({"to_user_id": r.f.tech_id, "due_at": "2027-03-01T00:00:00Z"}),
            "due_at",
        ),
        (
            json!({"to_user_id": r.f.tech_id, "due_at": "+262142-01-01T00:00:00Z"}),
            "due_at",
        ),
        (
            json!({"to_user_id": r.f.tech_id, "note": "a\u{0}b"}),
            "note",
        ),
    ];
    for (body, field) in lends {
        let a = lend(&app, &r.keeper, &tool, body.clone()).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            a.body
        );
        assert_eq!(a.problem_fields(), [field], "{body}: {}", a.body);
    }
    assert_eq!(
        lend(&app, &r.keeper, &tool, json!({"to_user_id": r.f.tech_id}))
            .await
            .status,
        StatusCode::OK
    );
    let returns: Vec<(Value, &str)> = vec![
        (json!({"condition": "broken"}), "condition"),
        (json!({"condition": "good", "charge": "10"}), "charge"),
        (
            json!({"condition": "lost", "charge": "99999999999999999999"}),
            "charge",
        ),
        (json!({"condition": "lost", "charge": "-1"}), "charge"),
        (json!({"condition": "lost", "charge": "1.234"}), "charge"),
    ];
    for (body, field) in returns {
        let a = give_back(&app, &r.keeper, &tool, body.clone()).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            a.body
        );
        assert_eq!(a.problem_fields(), [field], "{body}: {}", a.body);
    }
    let upkeeps: Vec<(Value, &str)> = vec![
        (json!({"work": "x", "done_on": "-5000-01-01"}), "done_on"),
        (json!({"work": "x", "done_on": "2027-03-02"}), "done_on"),
        (json!({"work": "\u{0}"}), "work"),
        (
            json!({"work": "x", "done_by": uuid::Uuid::now_v7()}),
            "done_by",
        ),
    ];
    for (body, field) in upkeeps {
        let a = app
            .post(
                &format!("/api/v1/tools/{tool}/upkeep"),
                Some(&r.keeper),
                &body,
            )
            .await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            a.body
        );
        assert_eq!(a.problem_fields(), [field], "{body}: {}", a.body);
    }
    let requests: Vec<(Value, &str)> = vec![
        (
            json!({"tool_id": tool, "kind": "melt", "reason": "x"}),
            "kind",
        ),
        (
            json!({"tool_id": tool, "kind": "repair", "reason": "\u{0}"}),
            "reason",
        ),
        (
            json!({"tool_id": uuid::Uuid::now_v7(), "kind": "repair", "reason": "x"}),
            "tool_id",
        ),
    ];
    for (body, field) in requests {
        let a = app
            .post("/api/v1/tool-requests", Some(&r.f.tech), &body)
            .await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            a.body
        );
        assert_eq!(a.problem_fields(), [field], "{body}: {}", a.body);
    }
    let q = app.get("/api/v1/tools?state=gone", &r.keeper).await;
    assert_eq!(q.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(q.problem_fields(), ["state"]);
    // another dealer's tool is not found
    let (_, other) = app.staff("TOOLG", Role::ToolKeeper).await;
    assert_eq!(
        app.get(&format!("/api/v1/tools/{tool}"), &other)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
