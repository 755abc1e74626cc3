//! Warranty claims (索赔管理): from the warranty job's case to the brand's
//! remittance, with a rejection, a resubmission and files imported again.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use servicelane::domain::Role;

use crate::helpers::{Answer, NowUtc, TestApp};
use crate::workshop::{Floor, accepted, day_app, dispatch, floor, work};

async fn case(app: &TestApp, token: &str, id: &str) -> Answer {
    let a = app
        .get(&format!("/api/v1/warranty-cases/{id}"), token)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    a
}

async fn act(
    app: &TestApp,
    token: &str,
    id: &str,
    action: &str,
    etag: &str,
    body: Value,
) -> Answer {
    let r = app
        .http
        .post(app.url(&format!("/api/v1/warranty-cases/{id}/{action}")))
        .bearer_auth(token)
        .header("if-match", etag)
        .json(&body);
    app.send(r).await
}

async fn remit(app: &TestApp, token: &str, file: &str) -> Answer {
    let r = app
        .http
        .post(app.url("/api/v1/warranty-claims/remittance"))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(file.to_string());
    app.send(r).await
}

fn actions(c: &Value) -> Vec<String> {
    c["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_warranty_claim_goes_from_the_job_to_reimbursement() {
    let app = day_app().await;
    let f: Floor = floor(&app, "WC1").await;
    let s = &f.s;
    let (_, clerk) = app.staff("WC1", Role::WarrantyClerk).await;
    let (order, jobs) = accepted(
        &app,
        s,
        1,
        &[
            json!({"description": "水泵漏水，保修更换", "labour_hours": "1.5",
                 "skill": "mechanical", "pay_type": "warranty"}),
        ],
        true,
    )
    .await;
    let job = jobs[0].clone();

    // the warranty job opened exactly one case, numbered, audited
    let list = app.get("/api/v1/warranty-cases", &clerk).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let c = &items[0];
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(c["job_id"], job.as_str());
    assert_eq!(c["state"], "draft");
    assert_eq!(c["claim_number"], "WC000001");
    assert_eq!(c["mileage_km"], 12000);
    assert_eq!(actions(c), ["opened"]);
    // a second case for the same job by hand: 409; a technician may not open one
    let again = app
        .post(
            "/api/v1/warranty-cases",
            Some(&s.advisor),
            &json!({"order_id": order, "job_id": job}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    let tech_open = app
        .post(
            "/api/v1/warranty-cases",
            Some(&f.tech),
            &json!({"order_id": order, "job_id": job}),
        )
        .await;
    assert_eq!(tech_open.status, StatusCode::FORBIDDEN);

    // no in-service date: the clerk cannot decide, and says why
    let v1 = case(&app, &clerk, &id).await.etag();
    let no_date = act(&app, &clerk, &id, "decide", &v1, json!({})).await;
    assert_eq!(no_date.status, StatusCode::CONFLICT, "{}", no_date.body);
    assert!(
        no_date.body["detail"]
            .as_str()
            .unwrap()
            .contains("no in-service date"),
        "{}",
        no_date.body
    );

    // the technician writes the finding, not the facts
    let t = app
        .patch(
            &format!("/api/v1/warranty-cases/{id}"),
            &f.tech,
            Some(&v1),
            &json!({"diagnosis": "水泵轴封失效，冷却液渗漏", "causal_part": "WP-100 水泵"}),
        )
        .await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.body);
    assert_eq!(t.body["causal_part"], "WP-100 水泵");
    let t_facts = app
        .patch(
            &format!("/api/v1/warranty-cases/{id}"),
            &f.tech,
            Some(&t.etag()),
            &json!({"mileage_km": 1}),
        )
        .await;
    assert_eq!(t_facts.status, StatusCode::FORBIDDEN);

    // the advisor edits the facts; a stale ETag is refused, bad lines are named
    let today = app
        .clock
        .now_utc()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let in_service = today - Duration::days(700);
    let facts = json!({
        "in_service_date": in_service,
        "failed_part": "WP-100 水泵",
        "labour_ops": [
            {"code": "0113A", "description": "更换水泵", "hours": "1.20"},
            {"code": "0113B", "description": "加注冷却液", "hours": "0.35"}
        ],
        "parts": [{"part_number": "WP-100", "name": "水泵", "quantity": "1", "claim_price": "350.00"}]
    });
    let stale = app
        .patch(
            &format!("/api/v1/warranty-cases/{id}"),
            &s.advisor,
            Some(&v1),
            &facts,
        )
        .await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        stale.body
    );
    let bad = app
        .patch(
            &format!("/api/v1/warranty-cases/{id}"),
            &s.advisor,
            Some(&t.etag()),
            &json!({"labour_ops": [{"code": "X", "description": "d", "hours": "0"}],
                    "parts": [{"part_number": "P", "name": "n", "quantity": "1", "claim_price": "99999999999"}]}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(
        bad.problem_fields(),
        ["labour_ops[0].hours", "parts[0].claim_price"]
    );
    let edited = app
        .patch(
            &format!("/api/v1/warranty-cases/{id}"),
            &s.advisor,
            Some(&t.etag()),
            &facts,
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    // 大众 in the test config: 120.00 per hour; 1.55 h = 186.00, parts 350.00
    assert_eq!(edited.body["labour_rate"], "120.00");
    assert_eq!(edited.body["labour_amount"], "186.00");
    assert_eq!(edited.body["parts_amount"], "350.00");
    assert_eq!(edited.body["claim_amount"], "536.00");

    // the decision is the clerk's: within 36 months and 60000 km
    let advisor_decides = act(&app, &s.advisor, &id, "decide", &edited.etag(), json!({})).await;
    assert_eq!(advisor_decides.status, StatusCode::FORBIDDEN);
    let decided = act(&app, &clerk, &id, "decide", &edited.etag(), json!({})).await;
    assert_eq!(decided.status, StatusCode::OK, "{}", decided.body);
    assert_eq!(decided.body["state"], "decided");
    assert_eq!(decided.body["decision"], "warranty");
    let until = in_service
        .checked_add_months(chrono::Months::new(36))
        .unwrap();
    assert_eq!(decided.body["covered_until"], until.to_string());
    // after the decision the mileage no longer changes
    let late_km = app
        .patch(
            &format!("/api/v1/warranty-cases/{id}"),
            &s.advisor,
            Some(&decided.etag()),
            &json!({"mileage_km": 13000}),
        )
        .await;
    assert_eq!(late_km.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(late_km.problem_fields(), ["mileage_km"]);

    // the work: not before the job is done; the parts need a place
    let early = act(
        &app,
        &f.foreman,
        &id,
        "finish_work",
        &decided.etag(),
        json!({"storage_location": "索赔件库 A-3"}),
    )
    .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    let d = dispatch(&app, &f.foreman, &order, &job, &f.tech_id, "normal").await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    work(&app, &f, &order, &job, 90, "水泵轴封失效，已更换").await;
    // the clock-off note became the case's diagnosis and moved its version
    let after_work = case(&app, &clerk, &id).await;
    assert_eq!(after_work.body["diagnosis"], "水泵轴封失效，已更换");
    let stale_work = act(
        &app,
        &f.foreman,
        &id,
        "finish_work",
        &decided.etag(),
        json!({"storage_location": "A-3"}),
    )
    .await;
    assert_eq!(stale_work.status, StatusCode::PRECONDITION_FAILED);
    let nowhere = act(
        &app,
        &f.foreman,
        &id,
        "finish_work",
        &after_work.etag(),
        json!({}),
    )
    .await;
    assert_eq!(nowhere.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(nowhere.problem_fields(), ["storage_location"]);
    let done = act(
        &app,
        &f.foreman,
        &id,
        "finish_work",
        &after_work.etag(),
        json!({"storage_location": "索赔件库 A-3"}),
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body["state"], "work_done");

    // the claimed part is in the register, tagged, kept 180 days
    let today = app
        .clock
        .now_utc()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let parts = app.get("/api/v1/warranty-parts?state=kept", &clerk).await;
    assert_eq!(parts.status, StatusCode::OK, "{}", parts.body);
    let p = &parts.body["items"][0];
    assert_eq!(p["tag"], "WC000001-1");
    assert_eq!(p["part_number"], "WP-100");
    assert_eq!(p["location"], "索赔件库 A-3");
    assert_eq!(p["keep_until"], (today + Duration::days(180)).to_string());
    assert_eq!(parts.body["items"].as_array().unwrap().len(), 1);
    let part = p["id"].as_str().unwrap().to_string();
    // kept for the brand: not scrapped before its day, nor by the advisor
    let scrap = |token: String| {
        let path = format!("/api/v1/warranty-parts/{part}/scrap");
        let app = &app;
        async move { app.post(&path, Some(&token), &json!({})).await }
    };
    let early_scrap = scrap(clerk.clone()).await;
    assert_eq!(
        early_scrap.status,
        StatusCode::CONFLICT,
        "{}",
        early_scrap.body
    );
    assert_eq!(scrap(s.advisor.clone()).await.status, StatusCode::FORBIDDEN);

    // the export: ready to submit, CSV with BOM and JSON; bad ranges named
    let from = (today - Duration::days(1)).to_string();
    let to = today.to_string();
    let csv = app
        .send(
            app.http
                .get(app.url(&format!(
                    "/api/v1/warranty-claims/export?from={from}&to={to}"
                )))
                .bearer_auth(&clerk),
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let raw = app
        .http
        .get(app.url(&format!(
            "/api/v1/warranty-claims/export?from={from}&to={to}"
        )))
        .bearer_auth(&clerk)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(raw.starts_with(b"\xEF\xBB\xBFclaim_number,"));
    let text = String::from_utf8(raw[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[1].starts_with("WC000001,work_done,warranty,"),
        "{text}"
    );
    assert!(
        lines[1].ends_with(",1.55,120.00,186.00,350.00,536.00,0"),
        "{text}"
    );
    let j = app
        .get(
            &format!("/api/v1/warranty-claims/export?from={from}&to={to}&format=json"),
            &clerk,
        )
        .await;
    assert_eq!(j.status, StatusCode::OK, "{}", j.body);
    assert_eq!(j.body[0]["claim_number"], "WC000001");
    assert_eq!(j.body[0]["causal_part"], "WP-100 水泵");
    assert_eq!(j.body[0]["claim_amount"], "536.00");
    let before = app
        .get(
            &format!("/api/v1/warranty-claims/export?from={to}&to={from}&format=json"),
            &clerk,
        )
        .await;
    assert_eq!(before.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(before.problem_fields(), ["to"]);
    let empty = app
        .get(
            "/api/v1/warranty-claims/export?from=2020-01-01&to=2020-12-31&format=json",
            &clerk,
        )
        .await;
    assert_eq!(empty.body, json!([]));

    // submitted: the amount is fixed
    let submitted = act(&app, &clerk, &id, "submit", &done.etag(), json!({})).await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
    assert_eq!(submitted.body["state"], "submitted");
    assert_eq!(submitted.body["claim_amount"], "536.00");
    let twice = act(&app, &clerk, &id, "submit", &submitted.etag(), json!({})).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    // the clerk's console desk: the claim is with the brand, none left to file
    let desk = crate::console::Browser::login(&app, "WC1", "warranty_clerk").await;
    let page = desk.get("/console/warranty").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let number = submitted.body["claim_number"].as_str().unwrap();
    let with_brand = page.body.find("id=\"with_brand\"").unwrap();
    let at = page.body.find(&format!("data-claim=\"{number}\"")).unwrap();
    assert!(at > with_brand, "listed with the brand");
    assert!(page.body.contains("索赔件库存"));

    // a malformed remittance changes nothing and names its line
    let bad_file = "claim_number,approved_amount,rejection_reason\nWC000001,abc,\nWC000001,,\n";
    let b = remit(&app, &clerk, bad_file).await;
    assert_eq!(b.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", b.body);
    assert_eq!(
        b.problem_fields(),
        ["line 2.approved_amount", "line 3.rejection_reason"]
    );
    assert_eq!(
        remit(&app, &s.advisor, bad_file).await.status,
        StatusCode::FORBIDDEN
    );

    // the brand rejects it (and knows no WC999999)
    let rejection =
        "claim_number,approved_amount,rejection_reason\nWC000001,,照片不清\nWC999999,10.00,\n";
    let r1 = remit(&app, &clerk, rejection).await;
    assert_eq!(r1.status, StatusCode::CREATED, "{}", r1.body);
    assert_eq!(r1.body["replayed"], false);
    assert_eq!(r1.body["rejected"], 1);
    assert_eq!(r1.body["unknown_claim"], 1);
    assert_eq!(r1.body["lines"][0]["outcome"], "rejected");
    assert_eq!(r1.body["lines"][1]["outcome"], "unknown_claim");
    let rejected = case(&app, &clerk, &id).await;
    assert_eq!(rejected.body["state"], "rejected");
    assert_eq!(rejected.body["rejection_reason"], "照片不清");
    // the same file again: the first answer, nothing changed
    let r1b = remit(&app, &clerk, rejection).await;
    assert_eq!(r1b.status, StatusCode::OK, "{}", r1b.body);
    assert_eq!(r1b.body["replayed"], true);
    assert_eq!(r1b.body["id"], r1.body["id"]);
    assert_eq!(r1b.body["lines"], r1.body["lines"]);
    assert_eq!(
        case(&app, &clerk, &id).await.body["version"],
        rejected.body["version"]
    );

    // resubmitted with a reason (required)
    let no_reason = act(&app, &clerk, &id, "resubmit", &rejected.etag(), json!({})).await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_reason.problem_fields(), ["note"]);
    let re = act(
        &app,
        &clerk,
        &id,
        "resubmit",
        &rejected.etag(),
        json!({"note": "补拍故障件照片"}),
    )
    .await;
    assert_eq!(re.status, StatusCode::OK, "{}", re.body);
    assert_eq!(re.body["state"], "resubmitted");
    assert!(re.body["rejection_reason"].is_null());

    // the brand pays less: short-paid by 56.00; the file (with a BOM, CRLF) imported three times
    let payment =
        "\u{feff}claim_number,approved_amount,rejection_reason\r\nWC000001,480.00,工时超标\r\n";
    // two tablets send it at once: one import, the other answers its outcomes
    let (a, b) = tokio::join!(remit(&app, &clerk, payment), remit(&app, &clerk, payment));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CREATED],
        "{} {}",
        a.body,
        b.body
    );
    let r2 = if a.status == StatusCode::CREATED {
        a
    } else {
        b
    };
    assert_eq!(r2.body["short_paid"], 1);
    assert_eq!(r2.body["lines"][0]["outcome"], "short_paid");
    assert_eq!(r2.body["lines"][0]["approved_amount"], "480.00");
    assert_eq!(r2.body["lines"][0]["difference"], "56.00");
    let paid = case(&app, &clerk, &id).await;
    assert_eq!(paid.body["state"], "reimbursed");
    assert_eq!(paid.body["approved_amount"], "480.00");
    assert_eq!(paid.body["short_paid"], "56.00");
    for _ in 0..2 {
        let again = remit(&app, &clerk, payment).await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.body);
        assert_eq!(again.body["replayed"], true);
        assert_eq!(again.body["lines"], r2.body["lines"]);
    }
    // another file naming the same claim: not open any more, nothing changes
    let other = remit(
        &app,
        &clerk,
        "claim_number,approved_amount,rejection_reason\nWC000001,536.00,\n",
    )
    .await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.body);
    assert_eq!(other.body["lines"][0]["outcome"], "not_open");
    let last = case(&app, &clerk, &id).await;
    assert_eq!(last.body["version"], paid.body["version"]);
    assert_eq!(last.body["approved_amount"], "480.00");
    assert_eq!(
        actions(&last.body),
        [
            "opened",
            "edited",
            "edited",
            "decide",
            "finish_work",
            "submit",
            "remittance",
            "resubmit",
            "remittance"
        ]
    );
    assert!(
        last.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| !e["at"].is_null())
    );
    // the brand releases the part; it is scrapped once, then 409
    let released = app
        .post(
            &format!("/api/v1/warranty-parts/{part}/release"),
            Some(&clerk),
            &json!({}),
        )
        .await;
    assert_eq!(released.status, StatusCode::OK, "{}", released.body);
    assert_eq!(released.body["state"], "released");
    let scrapped = scrap(clerk.clone()).await;
    assert_eq!(scrapped.status, StatusCode::OK, "{}", scrapped.body);
    assert_eq!(scrapped.body["state"], "scrapped");
    assert_eq!(scrap(clerk.clone()).await.status, StatusCode::CONFLICT);
    let audit = actions(&case(&app, &clerk, &id).await.body);
    assert_eq!(
        &audit[audit.len() - 2..],
        ["part_released", "part_scrapped"]
    );
    // the export no longer lists a reimbursed claim
    let gone = app
        .get(
            &format!("/api/v1/warranty-claims/export?from={from}&to={to}&format=json"),
            &clerk,
        )
        .await;
    assert_eq!(gone.body, json!([]));
}

#[tokio::test]
async fn a_case_out_of_terms_is_refused_with_the_reason_and_covered_as_goodwill() {
    let app = day_app().await;
    let f: Floor = floor(&app, "WC2").await;
    let s = &f.s;
    let (_, clerk) = app.staff("WC2", Role::WarrantyClerk).await;
    let (order, jobs) = accepted(
        &app,
        s,
        2,
        &[json!({"description": "更换刹车片", "labour_hours": "1", "skill": "mechanical", "pay_type": "customer"})],
        true,
    )
    .await;
    // no case for a customer-paid job; the advisor opens one by hand
    assert_eq!(
        app.get("/api/v1/warranty-cases", &clerk).await.body["items"],
        json!([])
    );
    let opened = app
        .post(
            "/api/v1/warranty-cases",
            Some(&s.advisor),
            &json!({"order_id": order, "job_id": jobs[0], "in_service_date": "2019-01-01",
                    "failed_part": "BP-1 刹车片"}),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.body);
    assert_eq!(opened.body["claim_number"], "WC000001");
    let id = opened.body["id"].as_str().unwrap().to_string();
    let expired = act(&app, &clerk, &id, "decide", &opened.etag(), json!({})).await;
    assert_eq!(expired.status, StatusCode::CONFLICT, "{}", expired.body);
    assert!(
        expired.body["detail"]
            .as_str()
            .unwrap()
            .contains("expired by time"),
        "{}",
        expired.body
    );
    // goodwill is the manager's, not the clerk's
    let clerk_gw = act(&app, &clerk, &id, "goodwill", &opened.etag(), json!({})).await;
    assert_eq!(clerk_gw.status, StatusCode::FORBIDDEN);
    let gw = act(
        &app,
        &s.manager,
        &id,
        "goodwill",
        &opened.etag(),
        json!({"note": "老客户，善意索赔"}),
    )
    .await;
    assert_eq!(gw.status, StatusCode::OK, "{}", gw.body);
    assert_eq!(gw.body["decision"], "goodwill");
    assert_eq!(gw.body["decision_note"], "老客户，善意索赔");
    // another dealer sees none of it
    crate::appointments::shop(&app, "WC2X", "Asia/Shanghai", 3, 3).await;
    let (_, other) = app.staff("WC2X", Role::WarrantyClerk).await;
    let hidden = app
        .get(&format!("/api/v1/warranty-cases/{id}"), &other)
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_decided_case_keeps_its_job_and_a_draft_one_goes_with_it() {
    let app = day_app().await;
    let f: Floor = floor(&app, "WC3").await;
    let s = &f.s;
    let (_, clerk) = app.staff("WC3", Role::WarrantyClerk).await;
    let (_, v) = crate::appointments::owner(&app, s, 3).await;
    let o = crate::repair_orders::walk_in(&app, s, &v).await;
    let order = o["id"].as_str().unwrap().to_string();
    for d in ["节温器漏水", "水泵异响"] {
        crate::repair_orders::add_job(
            &app,
            &s.advisor,
            &order,
            json!({"description": d, "labour_hours": "1", "pay_type": "warranty"}),
        )
        .await;
    }
    let cases = app.get("/api/v1/warranty-cases", &clerk).await.body["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(cases.len(), 2);
    let id = cases[0]["id"].as_str().unwrap().to_string();
    let today = app.clock.now_utc().date_naive();
    let dated = app
        .patch(
            &format!("/api/v1/warranty-cases/{id}"),
            &clerk,
            Some(&format!("\"{}\"", cases[0]["version"])),
            &json!({"in_service_date": today - Duration::days(30)}),
        )
        .await;
    assert_eq!(dated.status, StatusCode::OK, "{}", dated.body);
    let decided = act(&app, &clerk, &id, "decide", &dated.etag(), json!({})).await;
    assert_eq!(decided.status, StatusCode::OK, "{}", decided.body);

    let remove = |job: &str| {
        let job = job.to_string();
        let order = order.clone();
        let app = &app;
        let token = s.advisor.clone();
        async move {
            let o = app
                .get(&format!("/api/v1/repair-orders/{order}"), &token)
                .await
                .body;
            let version = o["jobs"]
                .as_array()
                .unwrap()
                .iter()
                .find(|j| j["id"] == job.as_str())
                .unwrap()["version"]
                .clone();
            app.send(
                app.http
                    .delete(app.url(&format!("/api/v1/repair-orders/{order}/jobs/{job}")))
                    .bearer_auth(&token)
                    .header("if-match", format!("\"{version}\"")),
            )
            .await
        }
    };
    let kept = remove(cases[0]["job_id"].as_str().unwrap()).await;
    assert_eq!(kept.status, StatusCode::CONFLICT, "{}", kept.body);
    let gone = remove(cases[1]["job_id"].as_str().unwrap()).await;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.body);
    let left = app.get("/api/v1/warranty-cases", &clerk).await.body["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["id"], id.as_str());
    assert_eq!(left[0]["state"], "decided");
}

/// A draft case of a new warranty job on `order`, dated so it can be
/// decided: (case id, job id, the case's ETag, the job's version).
async fn decidable(
    app: &TestApp,
    f: &Floor,
    clerk: &str,
    order: &str,
    n: usize,
) -> (String, String, String, Value) {
    crate::repair_orders::add_job(
        app,
        &f.s.advisor,
        order,
        json!({"description": format!("保修 {n}"), "labour_hours": "1", "pay_type": "warranty"}),
    )
    .await;
    let cases = app
        .get("/api/v1/warranty-cases?state=draft", clerk)
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .clone();
    let c = cases.last().unwrap().clone();
    let (id, job) = (
        c["id"].as_str().unwrap().to_string(),
        c["job_id"].as_str().unwrap().to_string(),
    );
    let today = app.clock.now_utc().date_naive();
    let dated = app
        .patch(
            &format!("/api/v1/warranty-cases/{id}"),
            clerk,
            Some(&format!("\"{}\"", c["version"])),
            &json!({"in_service_date": today - Duration::days(30)}),
        )
        .await;
    assert_eq!(dated.status, StatusCode::OK, "{}", dated.body);
    let o = app
        .get(&format!("/api/v1/repair-orders/{order}"), &f.s.advisor)
        .await
        .body;
    let version = o["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == job.as_str())
        .unwrap()["version"]
        .clone();
    (id, job, dated.etag(), version)
}

#[tokio::test]
async fn a_job_removed_while_its_case_is_decided_never_takes_the_decided_case() {
    let app = day_app().await;
    let f: Floor = floor(&app, "WC4").await;
    let (_, clerk) = app.staff("WC4", Role::WarrantyClerk).await;
    let (_, v) = crate::appointments::owner(&app, &f.s, 4).await;
    let o = crate::repair_orders::walk_in(&app, &f.s, &v).await;
    let order = o["id"].as_str().unwrap().to_string();
    // both at once, eight times: never both; a decided case is always there
    for n in 0..8 {
        let (id, job, tag, version) = decidable(&app, &f, &clerk, &order, n).await;
        let del = app.send(
            app.http
                .delete(app.url(&format!("/api/v1/repair-orders/{order}/jobs/{job}")))
                .bearer_auth(&f.s.advisor)
                .header("if-match", format!("\"{version}\"")),
        );
        let (d, k) = tokio::join!(del, act(&app, &clerk, &id, "decide", &tag, json!({})));
        assert!(
            !(d.status == StatusCode::OK && k.status == StatusCode::OK),
            "round {n}: removed and decided at once"
        );
        let after = app
            .get(&format!("/api/v1/warranty-cases/{id}"), &clerk)
            .await;
        if k.status == StatusCode::OK {
            assert_eq!(after.body["state"], "decided", "round {n}");
        } else {
            assert_eq!(
                after.status,
                StatusCode::NOT_FOUND,
                "round {n}: {}",
                after.body
            );
        }
    }
}

#[tokio::test]
async fn a_remittance_names_the_lines_of_a_windows_file_and_refuses_a_large_one_as_problem_json() {
    let app = day_app().await;
    let _f: Floor = floor(&app, "WC5").await;
    let (_, clerk) = app.staff("WC5", Role::WarrantyClerk).await;
    // CRLF, as brand files made on Windows are: the bad cell is on line 3
    let bad = remit(
        &app,
        &clerk,
        "claim_number,approved_amount,rejection_reason\r\nWC000001,1.00,\r\nWC000002,bad,\r\n",
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(bad.problem_fields(), ["line 3.approved_amount"]);
    let good = remit(
        &app,
        &clerk,
        "claim_number,approved_amount,rejection_reason\r\nWC000001,1.00,\r\nWC000002,,理由\r\n",
    )
    .await;
    assert_eq!(good.status, StatusCode::CREATED, "{}", good.body);
    let lines: Vec<&Value> = good.body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["line"])
        .collect();
    assert_eq!(lines, [&json!(2), &json!(3)]);
    // 2,000 long rejections fit; over 4 MiB is a 413 problem naming the limit
    let mut file = String::from("claim_number,approved_amount,rejection_reason\n");
    for i in 0..2000 {
        file.push_str(&format!("WX{i:06},,{}\n", "配件非质量问题".repeat(8)));
    }
    assert!(file.len() > 262_144);
    let many = remit(&app, &clerk, &file).await;
    assert_eq!(many.status, StatusCode::CREATED, "{}", many.body);
    assert_eq!(many.body["unknown_claim"], 2000);
    let huge = remit(&app, &clerk, &"x".repeat(4 * 1024 * 1024 + 1)).await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(huge.content_type(), "application/problem+json");
    assert!(
        huge.body["detail"].as_str().unwrap().contains("4194304"),
        "{}",
        huge.body
    );
}
