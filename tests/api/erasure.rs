//! The right to erasure (issue 14, part 3): a customer's request, the
//! service manager's decision, and what an approval leaves of the person.

use chrono::Duration;
use chrono_tz::Tz;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, EntityTrait};
use serde_json::{Value, json};
use servicelane::domain::Role;
use servicelane::domain::message::MessageKind;
use servicelane::domain::outbox::MessageState;
use servicelane::entities::{blob_release, outbox_message};
use servicelane::services::storage::{self, sha256_hex};

use crate::appointments::{Shop, book, owner, shop};
use crate::care_planner::{customer, d, manager, marketing_yes, run, set_local};
use crate::helpers::*;
use crate::inspection::{jpeg, upload};
use crate::repair_orders::{add_job, walk_in};

/// Photos' bytes may go at once: no upload races these tests' deletes.
const NO_GRACE: (&str, &str) = ("SERVICELANE__PRIVACY__BLOB_GRACE_SECS", "0");

/// The E.164 form of `owner(n)`'s phone.
fn phone_of(n: u32) -> String {
    format!("+86139{:08}", n)
}

/// The customer of `owner(n)` asks in the app; answers (status, request).
async fn ask(app: &TestApp, token: &str) -> Answer {
    app.post("/api/v1/me/erasure-request", Some(token), &json!({}))
        .await
}

async fn approve(app: &TestApp, token: &str, id: &str) -> Answer {
    app.post(
        &format!("/api/v1/erasure-requests/{id}/approve"),
        Some(token),
        &json!({}),
    )
    .await
}

async fn refuse(app: &TestApp, token: &str, id: &str, body: Value) -> Answer {
    app.post(
        &format!("/api/v1/erasure-requests/{id}/refuse"),
        Some(token),
        &body,
    )
    .await
}

/// Staff ask on behalf of `customer`; answers the request's id.
async fn ask_for(app: &TestApp, s: &Shop, customer: &str) -> String {
    let r = app
        .post(
            &format!("/api/v1/customers/{customer}/erasure-requests"),
            Some(&s.advisor),
            &json!({"note": "客户来电要求删除个人信息"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

fn outbox_of(rows: &[outbox_message::Model], customer: &str) -> Vec<outbox_message::Model> {
    rows.iter()
        .filter(|m| m.customer_id.map(|c| c.to_string()).as_deref() == Some(customer))
        .cloned()
        .collect()
}

async fn outbox_rows(app: &TestApp) -> Vec<outbox_message::Model> {
    outbox_message::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
}

/// The blobs released and not yet deleted.
async fn released(app: &TestApp) -> Vec<String> {
    blob_release::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.sha256)
        .collect()
}

#[tokio::test]
async fn photo_bytes_the_grace_kept_are_deleted_by_a_later_sweep() {
    // a one-second grace: the photo taken just now outlives the approval
    let app = spawn_app_with(&[("SERVICELANE__PRIVACY__BLOB_GRACE_SECS", "1")]).await;
    let s = shop(&app, "ERAG", "Asia/Shanghai", 3, 3).await;
    let (c, v) = owner(&app, &s, 1).await;
    let o = walk_in(&app, &s, &v).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let u = upload(
        &app,
        &s.advisor,
        &o,
        &jpeg(11),
        &[("purpose", "walkaround")],
        None,
    )
    .await;
    assert_eq!(u.status, StatusCode::CREATED, "{}", u.body);
    let sha = sha256_hex(&jpeg(11));
    let id = ask_for(&app, &s, &c).await;
    let done = approve(&app, &s.manager, &id).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    // the row is gone; the bytes, stored within the grace, wait on the list
    assert!(app.state.blobs.get(&sha).await.unwrap().is_some());
    assert_eq!(released(&app).await, vec![sha.clone()]);
    // past the grace but before the retry is due: nothing yet
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(storage::sweep(&app.state).await.unwrap(), 0);
    assert!(app.state.blobs.get(&sha).await.unwrap().is_some());
    // the retry: the bytes go and so does the entry
    app.clock.advance(Duration::minutes(2));
    assert_eq!(storage::sweep(&app.state).await.unwrap(), 1);
    assert_eq!(app.state.blobs.get(&sha).await.unwrap(), None);
    assert_eq!(released(&app).await, Vec::<String>::new());
}

#[tokio::test]
async fn released_bytes_a_photo_uses_again_are_kept_and_let_go() {
    let app = spawn_app_with(&[NO_GRACE]).await;
    let s = shop(&app, "ERAH", "Asia/Shanghai", 3, 3).await;
    let (_, v) = owner(&app, &s, 1).await;
    let o = walk_in(&app, &s, &v).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let u = upload(
        &app,
        &s.advisor,
        &o,
        &jpeg(12),
        &[("purpose", "walkaround")],
        None,
    )
    .await;
    assert_eq!(u.status, StatusCode::CREATED, "{}", u.body);
    let (used, loose) = (
        sha256_hex(&jpeg(12)),
        app.state.blobs.put(jpeg(13)).await.unwrap(),
    );
    // as a kill after a commit leaves it: released, never swept
    let now = app.clock.now_utc();
    storage::release(&app.state.db, [used.clone(), loose.clone()], now)
        .await
        .unwrap();
    assert_eq!(storage::sweep(&app.state).await.unwrap(), 1);
    assert!(app.state.blobs.get(&used).await.unwrap().is_some());
    assert_eq!(app.state.blobs.get(&loose).await.unwrap(), None);
    assert_eq!(released(&app).await, Vec::<String>::new());
}

#[tokio::test]
async fn an_approved_erasure_anonymises_the_customer_everywhere_and_keeps_the_invoice() {
    let app = spawn_app_with(&[NO_GRACE]).await;
    let s = shop(&app, "ERA1", "Asia/Shanghai", 3, 3).await;
    let (c, v) = owner(&app, &s, 1).await;
    let (other, other_v) = owner(&app, &s, 2).await;
    // a birthday, an email and notes to forget
    let cur = app.get(&format!("/api/v1/customers/{c}"), &s.advisor).await;
    let p = app
        .patch(
            &format!("/api/v1/customers/{c}"),
            &s.advisor,
            Some(cur.etag().as_str()),
            &json!({"email": "kehu1@example.cn", "notes": "喜欢周六上午来",
                    "birthday": {"calendar": "solar", "month": 5, "day": 20}}),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let customer_token = app.customer_token(&s.code, "13900000001").await;

    // an appointment (its SMS goes), an order with a job and photos: one
    // photo's bytes only theirs, one the same bytes as another customer's
    let a = book(&app, &s, &v, &s.at(9, 0)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let o = walk_in(&app, &s, &v).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    add_job(
        &app,
        &s.advisor,
        &o,
        json!({"description": "更换前刹车片", "labour_hours": "1.5", "skill": "mechanical",
               "parts": [{"part_number": "BP-01", "name": "刹车片", "quantity": "2", "unit_price": "68.50"}]}),
    )
    .await;
    let other_o = walk_in(&app, &s, &other_v).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (order, bytes) in [(&o, jpeg(1)), (&o, jpeg(3)), (&other_o, jpeg(3))] {
        let u = upload(
            &app,
            &s.advisor,
            order,
            &bytes,
            &[("purpose", "walkaround")],
            None,
        )
        .await;
        assert_eq!(u.status, StatusCode::CREATED, "{}", u.body);
    }
    let (own_sha, shared_sha) = (sha256_hex(&jpeg(1)), sha256_hex(&jpeg(3)));
    let invoice = app
        .get(&format!("/api/v1/repair-orders/{o}/invoice"), &s.advisor)
        .await;
    assert_eq!(invoice.status, StatusCode::OK, "{}", invoice.body);
    // the booking's SMS went and is on record with its text
    for _ in 0..100 {
        app.dispatch_pending().await;
        let rows = outbox_of(&outbox_rows(&app).await, &c);
        if rows
            .iter()
            .all(|m| !matches!(m.state, MessageState::Queued | MessageState::Submitting))
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let sent = outbox_of(&outbox_rows(&app).await, &c);
    assert!(
        sent.iter()
            .any(|m| m.kind == MessageKind::AppointmentBooked && m.recipient == phone_of(1)),
        "{sent:?}"
    );

    let id = ask_for(&app, &s, &c).await;
    // the manager reading the request before deciding saw the person
    let seen = app
        .get(&format!("/api/v1/erasure-requests/{id}"), &s.manager)
        .await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
    let done = approve(&app, &s.manager, &id).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body["state"], "approved");
    assert!(
        done.body["customer_name"]
            .as_str()
            .unwrap()
            .starts_with("已注销-")
    );
    assert_eq!(done.body["note"], Value::Null, "the note may name them");

    // the record: a pseudonym, nothing to reach or know them by
    let r = app.get(&format!("/api/v1/customers/{c}"), &s.advisor).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let name = r.body["name"].as_str().unwrap();
    assert!(
        name.starts_with("已注销-") && name.chars().count() == 12,
        "{name}"
    );
    assert_ne!(r.body["phone"], phone_of(1));
    assert!(!r.body["phone"].as_str().unwrap().contains("13900000001"));
    assert_eq!(r.body["email"], Value::Null);
    assert_eq!(r.body["birthday"], Value::Null);
    assert_eq!(r.body["notes"], Value::Null);
    assert!(r.body["erased_at"].is_string(), "{}", r.body);
    // and it cannot be written back
    let back = app
        .patch(
            &format!("/api/v1/customers/{c}"),
            &s.advisor,
            Some(r.etag().as_str()),
            &json!({"name": "客户1"}),
        )
        .await;
    assert_eq!(back.status, StatusCode::CONFLICT, "{}", back.body);

    // the searches by the old name and phone find nothing; the other customer is found
    for q in ["13900000001", "%2B8613900000001", "客户1"] {
        let found = app
            .get(&format!("/api/v1/customers?q={q}"), &s.advisor)
            .await;
        assert_eq!(found.status, StatusCode::OK, "{}", found.body);
        assert_eq!(found.body["items"], json!([]), "{q}: {}", found.body);
    }
    let found = app.get("/api/v1/customers?q=13900000002", &s.advisor).await;
    assert_eq!(found.body["items"][0]["id"], other.as_str());

    // the invoice's money stays as it was
    let after = app
        .get(&format!("/api/v1/repair-orders/{o}/invoice"), &s.advisor)
        .await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.body);
    assert_eq!(after.body["customer_gross"], invoice.body["customer_gross"]);
    assert_ne!(after.body["customer_gross"], Value::Null);

    // the appointment: no phone, no words of theirs
    let appt = app
        .get(
            &format!("/api/v1/appointments/{}", a.body["id"].as_str().unwrap()),
            &s.advisor,
        )
        .await;
    assert!(
        !appt.body.to_string().contains("13900000001"),
        "{}",
        appt.body
    );

    // the photos: their rows gone, the bytes only they had deleted, the shared bytes kept
    let photos = app
        .get(&format!("/api/v1/repair-orders/{o}/photos"), &s.advisor)
        .await;
    assert_eq!(
        photos.body.as_array().map(Vec::len),
        Some(0),
        "{}",
        photos.body
    );
    assert_eq!(app.state.blobs.get(&own_sha).await.unwrap(), None);
    assert!(app.state.blobs.get(&shared_sha).await.unwrap().is_some());
    // both were released; the sweep deleted one and let go of the one in use
    assert_eq!(released(&app).await, Vec::<String>::new());
    // what they said was wrong with the car goes; another customer's order keeps it
    let order = app
        .get(&format!("/api/v1/repair-orders/{o}"), &s.advisor)
        .await;
    assert_eq!(order.body["concerns"], json!([]), "{}", order.body);
    let kept = app
        .get(&format!("/api/v1/repair-orders/{other_o}"), &s.advisor)
        .await;
    assert_eq!(kept.body["concerns"], json!(["异响"]), "{}", kept.body);
    let theirs = app
        .get(
            &format!("/api/v1/repair-orders/{other_o}/photos"),
            &s.advisor,
        )
        .await;
    assert_eq!(
        theirs.body.as_array().map(Vec::len),
        Some(1),
        "{}",
        theirs.body
    );

    // the messages: the record that they went stays, their text and address do not
    let rows = outbox_of(&outbox_rows(&app).await, &c);
    assert!(!rows.is_empty());
    for m in &rows {
        assert_ne!(m.state, MessageState::Queued, "{m:?}");
        assert_eq!(m.recipient, "", "{m:?}");
        assert_eq!(m.body, "", "{m:?}");
    }

    // their app stops at once
    let me = app.get("/api/v1/me/erasure-request", &customer_token).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{}", me.body);

    // logged: an `erase` in the access log, and the request's steps
    let log = app
        .get(
            &format!("/api/v1/audit/personal-data?customer_id={c}"),
            &s.manager,
        )
        .await;
    assert!(
        log.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "erase"),
        "{}",
        log.body
    );
    assert!(
        log.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "read" && e["endpoint"] == "GET /api/v1/erasure-requests/{id}"),
        "{}",
        log.body
    );
    let steps: Vec<&str> = done.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to_state"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["requested", "approved"]);
    // how staff noted the request may name the person: gone from the steps too
    assert!(
        done.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["reason"].is_null()),
        "{}",
        done.body
    );

    // a retried approval answers the approval it made, and does nothing again;
    // a refusal now is too late
    let events = app
        .get(&format!("/api/v1/erasure-requests/{id}"), &s.manager)
        .await
        .body["events"]
        .clone();
    let again = approve(&app, &s.manager, &id).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["state"], "approved");
    assert_eq!(again.body["events"], events);
    let late = refuse(&app, &s.manager, &id, json!({"reason": "不予删除"})).await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.body);
    let anew = app
        .post(
            &format!("/api/v1/customers/{c}/erasure-requests"),
            Some(&s.advisor),
            &json!({"note": "再次"}),
        )
        .await;
    assert_eq!(anew.status, StatusCode::CONFLICT, "{}", anew.body);
}

#[tokio::test]
async fn an_erasure_stops_a_planned_birthday_greeting_and_the_planner_forgets_them() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let sh: Tz = "Asia/Shanghai".parse().unwrap();
    set_local(&app, sh, d(2027, 3, 1), 10, 0);
    let s = shop(&app, "ERA2", "Asia/Shanghai", 3, 3).await;
    let erased = customer(&app, &s, json!({"name": "王芳", "phone": "13900000101", "birthday": {"calendar": "solar", "month": 3, "day": 15}, "consents": marketing_yes()})).await;
    let later = customer(&app, &s, json!({"name": "李雷", "phone": "13900000102", "birthday": {"calendar": "solar", "month": 3, "day": 16}, "consents": marketing_yes()})).await;
    let kept = customer(&app, &s, json!({"name": "韩梅", "phone": "13900000103", "birthday": {"calendar": "solar", "month": 3, "day": 16}, "consents": marketing_yes()})).await;

    // planned at night for the morning's window
    set_local(&app, sh, d(2027, 3, 15), 0, 5);
    run(&app, &s).await;
    let planned = outbox_of(&outbox_rows(&app).await, &erased);
    assert_eq!(planned.len(), 1, "{planned:?}");
    assert_eq!(planned[0].kind, MessageKind::Birthday);
    assert_eq!(planned[0].state, MessageState::Queued);

    let boss = manager(&app, &s).await;
    let advisor = app.login_as(&s.code, "service_advisor").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let s = Shop { advisor, ..s };
    for c in [&erased, &later] {
        let id = ask_for(&app, &s, c).await;
        let ok = approve(&app, &boss, &id).await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    }
    // the greeting is cancelled, and nothing leaves in its window
    let row = &outbox_of(&outbox_rows(&app).await, &erased)[0];
    assert_eq!(row.state, MessageState::Suppressed, "{row:?}");
    set_local(&app, sh, d(2027, 3, 15), 10, 0);
    app.dispatch_pending().await;
    assert!(app.sms.messages_to("+8613900000101").is_empty());

    // the next day's birthdays: the one kept, not the one erased
    set_local(&app, sh, d(2027, 3, 16), 0, 5);
    run(&app, &s).await;
    let rows = outbox_rows(&app).await;
    assert!(outbox_of(&rows, &later).is_empty(), "{rows:?}");
    assert_eq!(outbox_of(&rows, &kept).len(), 1);
}

#[tokio::test]
async fn a_refusal_needs_a_reason_and_tells_the_customer() {
    let app = spawn_app().await;
    let s = shop(&app, "ERA3", "Asia/Shanghai", 3, 3).await;
    let (c, _) = owner(&app, &s, 1).await;
    let token = app.customer_token(&s.code, "13900000001").await;
    let asked = ask(&app, &token).await;
    assert_eq!(asked.status, StatusCode::CREATED, "{}", asked.body);
    assert_eq!(asked.body["state"], "requested");
    assert_eq!(asked.body["requested_by"], Value::Null);
    let id = asked.body["id"].as_str().unwrap().to_string();
    // due in 15 days
    let due = chrono::DateTime::parse_from_rfc3339(asked.body["due_at"].as_str().unwrap()).unwrap();
    let at =
        chrono::DateTime::parse_from_rfc3339(asked.body["created_at"].as_str().unwrap()).unwrap();
    assert_eq!(due - at, Duration::days(15));

    for body in [
        json!({}),
        json!({"reason": "  "}),
        json!({"reason": "x".repeat(501)}),
    ] {
        let bad = refuse(&app, &s.manager, &id, body).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
        assert_eq!(bad.problem_fields(), ["reason"], "{}", bad.body);
    }
    let no = refuse(
        &app,
        &s.manager,
        &id,
        json!({"reason": "尚有未结清的维修款，结清后可再次申请"}),
    )
    .await;
    assert_eq!(no.status, StatusCode::OK, "{}", no.body);
    assert_eq!(no.body["state"], "refused");

    // told by SMS, with the reason
    let mut told = Vec::new();
    for _ in 0..100 {
        app.dispatch_pending().await;
        told = app
            .sms
            .messages_to(&phone_of(1))
            .into_iter()
            .filter(|m| m.0["template"] == "erasure_refused")
            .collect();
        if !told.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(told.len(), 1);
    assert_eq!(
        told[0].0["params"]["reason"],
        "尚有未结清的维修款，结清后可再次申请"
    );
    // the customer sees it, and may ask again (a new request)
    let mine = app.get("/api/v1/me/erasure-request", &token).await;
    assert_eq!(mine.body["state"], "refused", "{}", mine.body);
    assert_eq!(mine.body["reason"], "尚有未结清的维修款，结清后可再次申请");
    let again = ask(&app, &token).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    assert_ne!(again.body["id"], id.as_str());
    // a refused customer is not erased
    let r = app.get(&format!("/api/v1/customers/{c}"), &s.advisor).await;
    assert_eq!(r.body["name"], "客户1");
    // decided once: a retry answers the refusal made, another reason is 409
    let retried = refuse(
        &app,
        &s.manager,
        &id,
        json!({"reason": "尚有未结清的维修款，结清后可再次申请"}),
    )
    .await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.body);
    assert_eq!(retried.body["events"].as_array().map(Vec::len), Some(2));
    let twice = refuse(&app, &s.manager, &id, json!({"reason": "再说一次"})).await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.body);
}

/// A customer who prefers email is told by email, in their language (the
/// refusal once rendered the email's text itself, without the footer's
/// values, and answered 500: found by the fuzzer).
#[tokio::test]
async fn a_refusal_reaches_a_customer_who_prefers_email_by_email() {
    let smtp = SmtpSink::start().await;
    let app = spawn_app_with(&[NO_DISPATCHER, ("SERVICELANE__EMAIL__SMTP_URL", &smtp.url())]).await;
    let s = shop(&app, "ERAE", "Asia/Shanghai", 3, 3).await;
    let c = customer(
        &app,
        &s,
        json!({"name": "Li Lei", "phone": "13900000077", "email": "lilei@example.com",
               "preferred_channel": "email", "locale": "en"}),
    )
    .await;
    let id = ask_for(&app, &s, &c).await;
    let reason = "An invoice is still open 维修款未结清 \u{F013E}";
    let no = refuse(&app, &s.manager, &id, json!({ "reason": reason })).await;
    assert_eq!(no.status, StatusCode::OK, "{}", no.body);
    assert_eq!(no.body["state"], "refused");
    app.dispatch_pending().await;
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = ReceivedEmail::parse(&mails[0]);
    assert!(mail.header("To").contains("lilei@example.com"));
    assert_eq!(
        mail.header("Subject"),
        "Your request to erase your personal data was refused"
    );
    let text = mail.part("text/plain");
    assert!(text.contains("Dear Li Lei"), "{text}");
    assert!(text.contains(reason), "{text}");
    // a service message: no unsubscribe link
    assert!(mail.all("List-Unsubscribe").is_empty());
    assert!(app.sms.messages_to(&phone_of(77)).is_empty());
}

#[tokio::test]
async fn an_approval_and_a_refusal_at_once_one_wins_and_the_other_is_409() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let s = shop(&app, "ERA4", "Asia/Shanghai", 3, 3).await;
    let (_, admin) = app.staff(&s.code, Role::DealerAdmin).await;
    for n in 1..=4 {
        let (c, _) = owner(&app, &s, n).await;
        let id = ask_for(&app, &s, &c).await;
        let (a, r) = tokio::join!(
            approve(&app, &s.manager, &id),
            refuse(&app, &admin, &id, json!({"reason": "合同纠纷未了结"}))
        );
        let mut statuses = [a.status, r.status];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::CONFLICT],
            "{} / {}",
            a.body,
            r.body
        );
        let won = if a.status == StatusCode::OK {
            "approved"
        } else {
            "refused"
        };
        let now = app
            .get(&format!("/api/v1/erasure-requests/{id}"), &s.manager)
            .await;
        assert_eq!(now.body["state"], won, "{}", now.body);
        let cust = app.get(&format!("/api/v1/customers/{c}"), &s.advisor).await;
        assert_eq!(
            cust.body["erased_at"].is_string(),
            won == "approved",
            "{}",
            cust.body
        );
        // a refusal tells the customer; an approval does not
        let refusals = outbox_of(&outbox_rows(&app).await, &c)
            .into_iter()
            .filter(|m| m.kind == MessageKind::ErasureRefused)
            .count();
        assert_eq!(refusals, usize::from(won == "refused"));
    }
}

#[tokio::test]
async fn a_failing_approval_leaves_nothing_done() {
    let app = spawn_app_with(&[NO_DISPATCHER, NO_GRACE]).await;
    let s = shop(&app, "ERA5", "Asia/Shanghai", 3, 3).await;
    let (c, v) = owner(&app, &s, 1).await;
    let token = app.customer_token(&s.code, "13900000001").await;
    let o = walk_in(&app, &s, &v).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let u = upload(
        &app,
        &s.advisor,
        &o,
        &jpeg(7),
        &[("purpose", "walkaround")],
        None,
    )
    .await;
    assert_eq!(u.status, StatusCode::CREATED, "{}", u.body);
    let a = book(&app, &s, &v, &s.at(10, 0)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let id = ask_for(&app, &s, &c).await;

    // the last write of the approval (its access-log entry) fails
    let db = &app.state.db;
    if app.database_url.starts_with("postgres") {
        db.execute_unprepared(
            "CREATE FUNCTION fail_erase() RETURNS trigger AS $$ BEGIN \
             IF NEW.action = 'erase' THEN RAISE EXCEPTION 'refused by the test'; END IF; \
             RETURN NEW; END $$ LANGUAGE plpgsql",
        )
        .await
        .unwrap();
        db.execute_unprepared(
            "CREATE TRIGGER fail_erase BEFORE INSERT ON personal_data_access \
             FOR EACH ROW EXECUTE FUNCTION fail_erase()",
        )
        .await
        .unwrap();
    } else {
        db.execute_unprepared(
            "CREATE TRIGGER fail_erase BEFORE INSERT ON personal_data_access \
             WHEN NEW.action = 'erase' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
        )
        .await
        .unwrap();
    }
    let failed = approve(&app, &s.manager, &id).await;
    assert_eq!(
        failed.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        failed.body
    );

    // nothing of it happened
    let r = app
        .get(&format!("/api/v1/erasure-requests/{id}"), &s.manager)
        .await;
    assert_eq!(r.body["state"], "requested", "{}", r.body);
    assert_eq!(r.body["events"].as_array().unwrap().len(), 1);
    let cust = app.get(&format!("/api/v1/customers/{c}"), &s.advisor).await;
    assert_eq!(cust.body["name"], "客户1");
    assert_eq!(cust.body["phone"], phone_of(1));
    assert_eq!(cust.body["erased_at"], Value::Null);
    let photos = app
        .get(&format!("/api/v1/repair-orders/{o}/photos"), &s.advisor)
        .await;
    assert_eq!(
        photos.body.as_array().map(Vec::len),
        Some(1),
        "{}",
        photos.body
    );
    assert!(
        app.state
            .blobs
            .get(&sha256_hex(&jpeg(7)))
            .await
            .unwrap()
            .is_some()
    );
    let booked: Vec<_> = outbox_of(&outbox_rows(&app).await, &c)
        .into_iter()
        .filter(|m| m.kind == MessageKind::AppointmentBooked)
        .collect();
    assert!(!booked.is_empty());
    assert!(
        booked
            .iter()
            .all(|m| m.state == MessageState::Queued && m.recipient == phone_of(1)),
        "{booked:?}"
    );
    let mine = app.get("/api/v1/me/erasure-request", &token).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    let found = app.get("/api/v1/customers?q=13900000001", &s.advisor).await;
    assert_eq!(found.body["items"][0]["id"], c.as_str());

    // once the fault is gone the same request is decided
    if app.database_url.starts_with("postgres") {
        db.execute_unprepared("DROP TRIGGER fail_erase ON personal_data_access")
            .await
            .unwrap();
    } else {
        db.execute_unprepared("DROP TRIGGER fail_erase")
            .await
            .unwrap();
    }
    let ok = approve(&app, &s.manager, &id).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let mine = app.get("/api/v1/me/erasure-request", &token).await;
    assert_eq!(mine.status, StatusCode::UNAUTHORIZED, "{}", mine.body);
}

#[tokio::test]
async fn repeated_requests_make_one_and_customers_see_only_their_own() {
    let app = spawn_app_with(&[NO_DISPATCHER]).await;
    let s = shop(&app, "ERA6", "Asia/Shanghai", 3, 3).await;
    let (c1, _) = owner(&app, &s, 1).await;
    let (c2, _) = owner(&app, &s, 2).await;
    let t1 = app.customer_token(&s.code, "13900000001").await;
    let t2 = app.customer_token(&s.code, "13900000002").await;

    let first = ask(&app, &t1).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let id = first.body["id"].as_str().unwrap().to_string();
    let (x, y) = tokio::join!(ask(&app, &t1), ask(&app, &t1));
    for again in [x, y] {
        assert_eq!(again.status, StatusCode::OK, "{}", again.body);
        assert_eq!(again.body["id"], id.as_str());
    }
    let on_behalf = app
        .post(
            &format!("/api/v1/customers/{c1}/erasure-requests"),
            Some(&s.advisor),
            &json!({"note": "柜台提出"}),
        )
        .await;
    assert_eq!(on_behalf.status, StatusCode::OK, "{}", on_behalf.body);
    assert_eq!(on_behalf.body["id"], id.as_str());
    // a note is required of staff
    let bare = app
        .post(
            &format!("/api/v1/customers/{c2}/erasure-requests"),
            Some(&s.advisor),
            &json!({"note": ""}),
        )
        .await;
    assert_eq!(
        bare.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bare.body
    );
    assert_eq!(bare.problem_fields(), ["note"]);

    // the other customer sees none of it
    let theirs = app
        .get(&format!("/api/v1/erasure-requests/{id}"), &t2)
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{}", theirs.body);
    let none = app.get("/api/v1/me/erasure-request", &t2).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND, "{}", none.body);
    let own = app
        .get(&format!("/api/v1/erasure-requests/{id}"), &t1)
        .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    let listed = app.get("/api/v1/erasure-requests", &t1).await;
    assert_eq!(listed.status, StatusCode::FORBIDDEN, "{}", listed.body);

    // masked roles and customers may not decide, nor ask for someone
    let (_, tech) = app.staff(&s.code, Role::Technician).await;
    let (_, cashier) = app.staff(&s.code, Role::Cashier).await;
    for token in [&tech, &cashier, &t1, &s.advisor] {
        let a = approve(&app, token, &id).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
        let r = refuse(&app, token, &id, json!({"reason": "不"})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    }
    for token in [&tech, &cashier] {
        let a = app
            .post(
                &format!("/api/v1/customers/{c2}/erasure-requests"),
                Some(token),
                &json!({"note": "代客户申请"}),
            )
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    }

    // the manager's list: paged, by state
    ask(&app, &t2).await;
    let page = app
        .get(
            "/api/v1/erasure-requests?state=requested&limit=1",
            &s.manager,
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(page.body["items"][0]["id"], id.as_str());
    assert_eq!(page.body["items"][0]["customer_name"], "客户1");
    assert_eq!(page.body["items"][0]["overdue"], false);
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let rest = app
        .get(
            &format!("/api/v1/erasure-requests?state=requested&limit=1&cursor={cursor}"),
            &s.manager,
        )
        .await;
    assert_eq!(rest.body["items"][0]["customer_id"], c2.as_str());
    assert_eq!(rest.body["next_cursor"], Value::Null);
    let refused = app
        .get("/api/v1/erasure-requests?state=refused", &s.manager)
        .await;
    assert_eq!(refused.body["items"], json!([]));
    // past its 15 days it is overdue
    app.clock.advance(Duration::days(16));
    let boss = app.login_as(&s.code, "service_manager").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let late = app
        .get(&format!("/api/v1/erasure-requests/{id}"), &boss)
        .await;
    assert_eq!(late.body["overdue"], true, "{}", late.body);
    // another dealer's manager does not see it
    app.dealer_in("ERA6B", "Asia/Shanghai").await;
    let (_, stranger) = app.staff("ERA6B", Role::ServiceManager).await;
    let hidden = app
        .get(&format!("/api/v1/erasure-requests/{id}"), &stranger)
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{}", hidden.body);
}

#[tokio::test]
async fn the_advisor_who_asked_follows_the_request_and_a_copy_not_yet_built_is_stopped() {
    let app = spawn_app_with(&[NO_GRACE, ("SERVICELANE__PRIVACY__EXPORT_WORKER", "false")]).await;
    let s = shop(&app, "ERAJ", "Asia/Shanghai", 3, 3).await;
    let (c, _) = owner(&app, &s, 1).await;
    let customer_token = app.customer_token(&s.code, "13900000001").await;
    // the customer asked for their copy; no worker has built it yet
    let job = app
        .post("/api/v1/me/exports", Some(&customer_token), &json!({}))
        .await;
    assert_eq!(job.status, StatusCode::ACCEPTED, "{}", job.body);
    let job_id: uuid::Uuid = job.body["id"].as_str().unwrap().parse().unwrap();

    // the advisor who asked on their behalf reads the request back; another may not
    let id = ask_for(&app, &s, &c).await;
    let path = format!("/api/v1/erasure-requests/{id}");
    let mine = app.get(&path, &s.advisor).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert_eq!(mine.body["state"], "requested");
    let (_, other) = app.staff(&s.code, Role::CustomerCare).await;
    let theirs = app.get(&path, &other).await;
    assert_eq!(theirs.status, StatusCode::FORBIDDEN, "{}", theirs.body);

    let done = approve(&app, &s.manager, &id).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let mine = app.get(&path, &s.advisor).await;
    assert_eq!(mine.body["state"], "approved", "{}", mine.body);
    // the copy is not built from what is left of them
    assert_eq!(
        servicelane::services::data_export::run_pending(&app.state)
            .await
            .unwrap(),
        0
    );
    let job = servicelane::entities::data_export::Entity::find_by_id(job_id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.state.as_str(), "failed");
    assert_eq!((job.pending_for, job.sha256), (None, None));
}

#[tokio::test]
async fn a_message_being_handed_over_at_the_approval_keeps_nothing_of_the_person() {
    use servicelane::care::dispatcher::{self, Begun, Settled};
    let app = spawn_app_with(&[NO_GRACE, NO_DISPATCHER]).await;
    let s = shop(&app, "ERAM", "Asia/Shanghai", 3, 3).await;
    let (c, v) = owner(&app, &s, 1).await;
    let customer_id: uuid::Uuid = c.parse().unwrap();
    // the booking's SMS is claimed and being handed to the provider
    let a = book(&app, &s, &v, &s.at(9, 0)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let worker = uuid::Uuid::now_v7();
    let claimed = dispatcher::claim(&app.state, worker, 10).await.unwrap();
    let theirs = claimed
        .iter()
        .find(|m| m.customer_id == Some(customer_id))
        .expect("the booking's message");
    let Begun::Submitting {
        message,
        attempt_id,
    } = dispatcher::begin(&app.state, worker, theirs).await.unwrap()
    else {
        panic!("not begun")
    };
    // the erasure is approved meanwhile: the row on its way goes blank at
    // once (the dispatcher sends from its own copy), whatever becomes of the call
    let id = ask_for(&app, &s, &c).await;
    let done = approve(&app, &s.manager, &id).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let row = outbox_message::Entity::find_by_id(message.id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.state, MessageState::Submitting);
    assert_eq!((row.body.as_str(), row.recipient.as_str()), ("", ""));
    assert!(!message.body.is_empty());
    // it settles as sent, and nothing of the person comes back
    let outcome = dispatcher::call(&app.state, &message).await;
    let settled = dispatcher::settle(&app.state, worker, &message, attempt_id, &outcome)
        .await
        .unwrap();
    assert_eq!(settled, Settled::Written(MessageState::Sent));
    let row = outbox_message::Entity::find_by_id(message.id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.state, MessageState::Sent);
    assert_eq!((row.body.as_str(), row.recipient.as_str()), ("", ""));
    assert!(row.redacted_at.is_some());
}

#[tokio::test]
async fn alerts_to_staff_about_the_customer_keep_nothing_of_them() {
    let app = spawn_app_with(&[NO_GRACE, NO_DISPATCHER]).await;
    let s = shop(&app, "ERAL", "Asia/Shanghai", 3, 3).await;
    // nobody on duty: a rescue's alert goes to the service manager's phone
    let rules = json!({
        "section_floor": 60, "recommend_floor": 7, "lexicon": [],
        "contact_within_hours": 24, "resolve_within_days": 7,
        "escalate_to": [{"channel": "sms", "address": "13912345678", "name": "王经理"}],
    });
    let r = app.put("/api/v1/case-rules", &s.manager, &rules).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // three customers call for help; the first alert has gone when the
    // erasures come, the others are still queued
    let mut people = Vec::new();
    for n in 1..=3 {
        let (c, v) = owner(&app, &s, n).await;
        // (signing in sends the code: every message queued goes with it)
        let token = app.customer_token(&s.code, &format!("1390000000{n}")).await;
        people.push((n, c, v, token));
    }
    let mut asked = Vec::new();
    for (n, c, v, token) in people {
        let body = json!({
            "vehicle_id": v,
            "location": {"lat": 39.9087, "lng": 116.3975, "address": "北京市东城区长安街1号"},
            "problem": "breakdown",
            "contact_phone": format!("1390000000{n}"),
        });
        let r = app.post("/api/v1/rescues", Some(&token), &body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        if n == 1 {
            // the alert, and the customer's own notice
            assert_eq!(app.dispatch_pending().await, 2);
        }
        if n < 3 {
            // help was not needed after all: an erasure waits for a rescue's end
            let id = r.body["id"].as_str().unwrap();
            let path = format!("/api/v1/rescues/{id}/cancel");
            let c = app.post(&path, Some(&token), &json!({})).await;
            assert_eq!(c.status, StatusCode::OK, "{}", c.body);
        }
        let about: uuid::Uuid = c.parse().unwrap();
        let alert = outbox_rows(&app)
            .await
            .into_iter()
            .find(|m| m.kind == MessageKind::RescueAlert && m.about_customer_id == Some(about))
            .expect("an alert about the customer");
        assert!(alert.body.contains("长安街"), "{}", alert.body);
        asked.push((c, alert.id));
    }
    // alerts written before the column came get it from their rescue
    app.state
        .db
        .execute_unprepared("UPDATE outbox_messages SET about_customer_id = NULL")
        .await
        .unwrap();
    migration::backfill_outbox_about(&app.state.db)
        .await
        .unwrap();
    for (c, alert) in &asked {
        let m = outbox_message::Entity::find_by_id(*alert)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.about_customer_id.map(|a| a.to_string()).as_ref(), Some(c));
    }
    for (c, _) in &asked[..2] {
        let id = ask_for(&app, &s, c).await;
        let done = approve(&app, &s.manager, &id).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    }
    let db = &app.state.db;
    let row = |id| async move {
        outbox_message::Entity::find_by_id(id)
            .one(db)
            .await
            .unwrap()
            .unwrap()
    };
    // the alert that went: the record stays, nothing of the person
    let went = row(asked[0].1).await;
    assert_ne!(went.state, MessageState::Queued);
    assert_ne!(went.state, MessageState::Suppressed);
    assert_eq!((went.body.as_str(), went.params.clone()), ("", json!({})));
    assert!(went.redacted_at.is_some());
    // the one still queued never leaves, and is blank too
    let stopped = row(asked[1].1).await;
    assert_eq!(stopped.state, MessageState::Suppressed);
    assert_eq!(
        (stopped.body.as_str(), stopped.recipient.as_str()),
        ("", "")
    );
    // another customer's alert is untouched
    let kept = row(asked[2].1).await;
    assert_eq!(kept.state, MessageState::Queued);
    assert!(kept.body.contains("长安街"), "{}", kept.body);

    // an escalation written after the erasure by a sweep that read the
    // customer just before it: refused at the hand-over, and blank
    use servicelane::care::outbox::{self, EscalationParams, NewMessage, Params};
    let now = app.clock.now_utc();
    let txn = sea_orm::TransactionTrait::begin(&app.state.db)
        .await
        .unwrap();
    let late = outbox::enqueue(
        &txn,
        NewMessage {
            dealer_id: row(asked[0].1).await.dealer_id,
            customer_id: None,
            about_customer_id: Some(asked[0].0.parse().unwrap()),
            kind: MessageKind::CaseEscalated,
            occurrence_key: "case_escalated:late".into(),
            channel: servicelane::domain::customer::Channel::Sms,
            recipient: "+8613912345678".into(),
            locale: servicelane::domain::customer::Locale::ZhCn,
            params: Params::Escalation(EscalationParams {
                dealer_name: "ERAL".into(),
                customer_name: "王芳".into(),
                category: "价格".into(),
                severity: "一般".into(),
                due: "2027-01-01 10:00".into(),
                late: "首次联系".into(),
            }),
            subject: None,
            body: "王芳 投诉未处理".into(),
            due_at: now,
            parent_id: None,
        },
        now,
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    app.dispatch_pending().await;
    let refused = row(late).await;
    assert_eq!(refused.state, MessageState::Suppressed);
    assert_eq!(refused.body, "");
    let received = app.sms.received.lock().unwrap().clone();
    assert!(
        received
            .iter()
            .all(|(_, b)| !String::from_utf8_lossy(b).contains("投诉未处理")),
        "the late escalation went"
    );
}
