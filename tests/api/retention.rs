//! Retention of personal data: the daily run removes (or clears) what is
//! past each kind's limit and nothing else, once per dealer and day, with
//! two instances at it; the limits per dealer, bounded and versioned.
use chrono::{DateTime, Duration, Months, TimeZone, Utc};
use chrono_tz::Tz;
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::appointments::{Shop, owner, shop};
use crate::helpers::{Answer, NO_DISPATCHER, NowUtc, TestApp, spawn_app_with};
use crate::inspection::{jpeg, upload};
use crate::repair_orders::walk_in;
use servicelane::domain::Role;
use servicelane::domain::customer::{Channel, Locale};
use servicelane::domain::message::MessageKind;
use servicelane::domain::outbox::MessageState;
use servicelane::domain::privacy::AccessAction;
use servicelane::domain::repair_order::OrderState;
use servicelane::domain::rescue::{RescueProblem, RescueState};
use servicelane::entities::{
    idempotency_key, login_failure, otp_code, otp_quota, outbox_message, personal_data_access,
    refresh_token, repair_order, repair_order_photo, rescue, rescue_event, retention_run,
};

/// 04:00 in Shanghai on 15 June 2030: past the run's 03:30.
fn morning() -> DateTime<Utc> {
    let sh: Tz = "Asia/Shanghai".parse().unwrap();
    sh.with_ymd_and_hms(2030, 6, 15, 4, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

const MINUTE: Duration = Duration::minutes(1);

fn months(now: DateTime<Utc>, n: u32) -> DateTime<Utc> {
    now.checked_sub_months(Months::new(n)).unwrap()
}

async fn app_at(extra: &[(&str, &str)]) -> TestApp {
    let mut env = vec![
        NO_DISPATCHER,
        // the photos are uploaded seconds before the run: no grace for them
        ("SERVICELANE__PRIVACY__BLOB_GRACE_SECS", "0"),
    ];
    env.extend_from_slice(extra);
    let app = spawn_app_with(&env).await;
    app.clock.set(morning());
    app
}

async fn otp(app: &TestApp, dealer: Uuid, created: DateTime<Utc>) -> Uuid {
    let id = Uuid::now_v7();
    otp_code::ActiveModel {
        id: Set(id),
        dealer_id: Set(dealer),
        phone: Set("+8613900000001".into()),
        code_hash: Set("x".into()),
        attempts: Set(0),
        expires_at: Set(created + Duration::minutes(5)),
        consumed_at: Set(None),
        created_at: Set(created),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    id
}

async fn failure(app: &TestApp, key: &str, window_start: DateTime<Utc>) {
    login_failure::ActiveModel {
        key: Set(key.into()),
        failures: Set(3),
        window_start: Set(window_start),
        locked_until: Set(None),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
}

async fn message(app: &TestApp, dealer: Uuid, created: DateTime<Utc>, state: MessageState) -> Uuid {
    let id = Uuid::now_v7();
    outbox_message::ActiveModel {
        id: Set(id),
        dealer_id: Set(dealer),
        customer_id: Set(None),
        about_customer_id: Set(None),
        kind: Set(MessageKind::Birthday),
        occurrence_key: Set(id.to_string()),
        channel: Set(Channel::Sms),
        recipient: Set("+8613900000001".into()),
        locale: Set(Locale::ZhCn),
        params: Set(json!({"name": "王芳"})),
        subject: Set(None),
        body: Set("王芳，生日快乐".into()),
        due_at: Set(created),
        state: Set(state),
        attempts: Set(1),
        fence: Set(0),
        created_at: Set(created),
        updated_at: Set(created),
        sent_at: Set((state != MessageState::Queued).then_some(created)),
        settled_at: Set((state != MessageState::Queued).then_some(created)),
        ..Default::default()
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    id
}

/// A delivered alert to staff about rescue `id` (it names the place).
async fn rescue_alert(app: &TestApp, dealer: Uuid, id: Uuid) -> Uuid {
    let now = app.clock.now_utc();
    let m = message(app, dealer, now, MessageState::Delivered).await;
    outbox_message::ActiveModel {
        id: Set(m),
        kind: Set(MessageKind::RescueAlert),
        occurrence_key: Set(format!("rescue:{id}:alert:0:+8613900000009")),
        body: Set("王芳 抛锚 北京市东城区".into()),
        ..Default::default()
    }
    .update(&app.state.db)
    .await
    .unwrap();
    m
}

async fn rescue_row(
    app: &TestApp,
    dealer: Uuid,
    who: (Uuid, Uuid),
    closed: Option<DateTime<Utc>>,
) -> Uuid {
    let id = Uuid::now_v7();
    let created = closed.unwrap_or(months(app.clock.now_utc(), 30)) - Duration::hours(2);
    let row = rescue::Model {
        id,
        dealer_id: dealer,
        customer_id: who.0,
        vehicle_id: who.1,
        problem: RescueProblem::FlatTyre,
        note: None,
        lat: 39.9087,
        lng: 116.3975,
        address: Some("北京市东城区东长安街".into()),
        contact_phone: "+8613900000001".into(),
        state: if closed.is_some() {
            RescueState::FixedOnSite
        } else {
            RescueState::Requested
        },
        requested_by: None,
        accepted_by: None,
        dispatch_driver: None,
        dispatch_vehicle: None,
        eta_at: None,
        repair_order_id: None,
        alert_level: 1,
        next_alert_at: None,
        accepted_at: None,
        on_site_at: None,
        closed_at: closed,
        cancelled_at: None,
        version: 1,
        created_at: created,
        updated_at: closed.unwrap_or(created),
        location_removed_at: None,
    };
    rescue::ActiveModel::from(row)
        .insert(&app.state.db)
        .await
        .unwrap();
    id
}

/// A step of rescue `id` with the crew's note.
async fn rescue_step(app: &TestApp, dealer: Uuid, id: Uuid, seq: i64) -> Uuid {
    let step = Uuid::now_v7();
    rescue_event::ActiveModel {
        id: Set(step),
        rescue_id: Set(id),
        dealer_id: Set(dealer),
        seq: Set(seq),
        action: Set("note".into()),
        from_state: Set(None),
        to_state: Set(RescueState::Requested),
        note: Set(Some("车停在东长安街路边".into())),
        actor_id: Set(None),
        on_behalf_of: Set(None),
        at: Set(app.clock.now_utc()),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    step
}

/// The count of codes sent to a phone on `day`.
async fn quota(app: &TestApp, dealer: Uuid, phone: &str, day: chrono::NaiveDate) {
    otp_quota::ActiveModel {
        dealer_id: Set(dealer),
        phone: Set(phone.into()),
        day: Set(day),
        sends: Set(2),
        verifications: Set(1),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
}

/// A customer's sign-in that expires (or expired) at `expires`.
async fn session(app: &TestApp, dealer: Uuid, customer: Uuid, expires: DateTime<Utc>) -> Uuid {
    let id = Uuid::now_v7();
    refresh_token::ActiveModel {
        id: Set(id),
        family_id: Set(id),
        token_hash: Set(format!("{:064x}", id.as_u128())),
        dealer_id: Set(dealer),
        user_id: Set(None),
        customer_id: Set(Some(customer)),
        expires_at: Set(expires),
        rotated_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(expires - Duration::days(30)),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    id
}

async fn look(app: &TestApp, dealer: Uuid, who: Uuid, at: DateTime<Utc>) -> Uuid {
    let id = Uuid::now_v7();
    personal_data_access::ActiveModel {
        id: Set(id),
        dealer_id: Set(dealer),
        user_id: Set(Uuid::now_v7()),
        customer_id: Set(who),
        action: Set(AccessAction::Read),
        fields: Set(None),
        reason: Set(None),
        endpoint: Set("GET /api/v1/customers/{id}".into()),
        client_addr: Set(None),
        at: Set(at),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    id
}

async fn dealer_id(app: &TestApp, code: &str) -> Uuid {
    servicelane::entities::dealer::Entity::find()
        .filter(servicelane::entities::dealer::Column::Code.eq(code))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// A photo on `order`; answers its sha256.
async fn photo(app: &TestApp, s: &Shop, order: &str, n: u8, purpose: &str) -> String {
    let r = upload(
        app,
        &s.advisor,
        order,
        &jpeg(n),
        &[("purpose", purpose)],
        None,
    )
    .await;
    assert!(r.status.is_success(), "{}", r.body);
    r.body["sha256"].as_str().unwrap().to_string()
}

async fn close_order(app: &TestApp, order: &str, at: DateTime<Utc>) {
    let id: Uuid = order.parse().unwrap();
    let mut o: repair_order::ActiveModel = repair_order::Entity::find_by_id(id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .into();
    o.state = Set(OrderState::Closed);
    o.closed_at = Set(Some(at));
    o.update(&app.state.db).await.unwrap();
}

async fn blob(app: &TestApp, sha: &str) -> bool {
    app.state.blobs.get(sha).await.unwrap().is_some()
}

fn removed(run: &Value, kind: &str) -> u64 {
    run["removed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == kind)
        .unwrap()["removed"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn the_daily_run_removes_what_is_past_each_limit_and_nothing_else() {
    // two rows a statement: every kind's backlog takes several batches
    let app = app_at(&[("SERVICELANE__PRIVACY__RETENTION__BATCH", "2")]).await;
    let now = app.clock.now_utc();
    let s = shop(&app, "RET", "Asia/Shanghai", 3, 3).await;
    let dealer = dealer_id(&app, "RET").await;
    let (c, v) = owner(&app, &s, 1).await;
    let who: (Uuid, Uuid) = (c.parse().unwrap(), v.parse().unwrap());
    // another dealer keeps failed logins 60 days: its 31-day-old counter stays
    let other = shop(&app, "OTH", "Asia/Shanghai", 3, 3).await;
    let keep = app
        .put(
            "/api/v1/settings/retention",
            &other.manager,
            &json!({"otp_code_days": 1, "login_failure_days": 60, "message_body_months": 24,
                    "photo_months": 36, "rescue_location_months": 12, "audit_years": 5,
                    "idempotent_answer_days": 7}),
        )
        .await;
    assert_eq!(keep.status, StatusCode::OK, "{}", keep.body);

    // each kind: one just past its limit, one just inside it
    let otp_old = otp(&app, dealer, now - Duration::days(1) - MINUTE).await;
    let otp_new = otp(&app, dealer, now - Duration::days(1) + MINUTE).await;
    let past30 = now - Duration::days(30) - MINUTE;
    failure(&app, "account:RET:old", past30).await;
    failure(&app, "account:RET:new", now - Duration::days(30) + MINUTE).await;
    failure(&app, "account:OTH:old", past30).await;
    failure(&app, "address:10.0.0.9", past30).await;
    let sent_old = message(
        &app,
        dealer,
        months(now, 24) - MINUTE,
        MessageState::Delivered,
    )
    .await;
    let sent_new = message(
        &app,
        dealer,
        months(now, 24) + MINUTE,
        MessageState::Delivered,
    )
    .await;
    // still on its way: never stripped, however old
    let queued_old = message(&app, dealer, months(now, 30), MessageState::Queued).await;
    let rescue_old = rescue_row(&app, dealer, who, Some(months(now, 12) - MINUTE)).await;
    let rescue_new = rescue_row(&app, dealer, who, Some(months(now, 12) + MINUTE)).await;
    let rescue_open = rescue_row(&app, dealer, who, None).await;
    let step_old = rescue_step(&app, dealer, rescue_old, 2).await;
    let step_new = rescue_step(&app, dealer, rescue_new, 2).await;
    let alert_old = rescue_alert(&app, dealer, rescue_old).await;
    let alert_new = rescue_alert(&app, dealer, rescue_new).await;
    // the codes' daily counts: three days back goes, today stays
    let today = now.date_naive();
    quota(&app, dealer, "+8613900000001", today - Duration::days(3)).await;
    quota(&app, dealer, "+8613900000001", today).await;
    // sign-ins: one that ended 30 days and a minute ago goes
    let session_old = session(&app, dealer, who.0, past30).await;
    let session_new = session(&app, dealer, who.0, now - Duration::days(29)).await;
    // saved answers of idempotent writes: 7 days and a minute old goes
    for (key, at) in [
        ("older", now - Duration::days(40)),
        ("oldest", now - Duration::days(90)),
        ("old", now - Duration::days(7) - MINUTE),
        ("new", now - Duration::days(7) + MINUTE),
    ] {
        idempotency_key::ActiveModel {
            dealer_id: Set(dealer),
            actor_id: Set(who.0),
            key: Set(key.into()),
            request_hash: Set("h".into()),
            status: Set(201),
            response: Set(r#"{"name":"王芳"}"#.into()),
            created_at: Set(at),
        }
        .insert(&app.state.db)
        .await
        .unwrap();
    }
    let look_old = look(&app, dealer, who.0, months(now, 60) - MINUTE).await;
    let look_new = look(&app, dealer, who.0, months(now, 60) + MINUTE).await;

    // photos: an order closed 36 months and a minute ago, one a minute short of it
    let old_order = walk_in(&app, &s, &v).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let new_order = walk_in(&app, &s, &v).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let walk = photo(&app, &s, &old_order, 1, "walkaround").await;
    let health = photo(&app, &s, &old_order, 2, "health_check").await;
    let qc = photo(&app, &s, &old_order, 3, "qc").await;
    // the same bytes on both orders: the old order's row goes, the bytes stay
    let shared = photo(&app, &s, &old_order, 4, "walkaround").await;
    assert_eq!(photo(&app, &s, &new_order, 4, "walkaround").await, shared);
    let recent = photo(&app, &s, &new_order, 5, "health_check").await;
    close_order(&app, &old_order, months(now, 36) - MINUTE).await;
    close_order(&app, &new_order, months(now, 36) + MINUTE).await;

    let runs = app.run_retention().await;
    let mine: Vec<_> = runs
        .iter()
        .map(|r| serde_json::to_value(r).unwrap())
        .collect();
    assert_eq!(mine.len(), 2, "one run per dealer: {mine:?}");

    let db = &app.state.db;
    let otps: Vec<Uuid> = otp_code::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(otps, vec![otp_new]);
    assert!(!otps.contains(&otp_old));
    // (the logins of the test's staff have fresh counters of their own)
    let keys: Vec<String> = login_failure::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.key)
        .collect();
    for kept in ["account:OTH:old", "account:RET:new"] {
        assert!(keys.iter().any(|k| k == kept), "{kept}: {keys:?}");
    }
    for gone in ["account:RET:old", "address:10.0.0.9"] {
        assert!(!keys.iter().any(|k| k == gone), "{gone}: {keys:?}");
    }

    let msg = |id| async move {
        outbox_message::Entity::find_by_id(id)
            .one(db)
            .await
            .unwrap()
            .unwrap()
    };
    let stripped = msg(sent_old).await;
    assert_eq!(stripped.body, "");
    assert_eq!(stripped.recipient, "");
    assert_eq!(stripped.params, json!({}));
    assert!(stripped.redacted_at.is_some());
    // the record that it went stays
    assert_eq!(stripped.state, MessageState::Delivered);
    assert_eq!(stripped.kind, MessageKind::Birthday);
    assert!(stripped.sent_at.is_some());
    for id in [sent_new, queued_old] {
        let m = msg(id).await;
        assert_eq!(m.body, "王芳，生日快乐");
        assert!(m.redacted_at.is_none());
    }

    let r = |id| async move {
        rescue::Entity::find_by_id(id)
            .one(db)
            .await
            .unwrap()
            .unwrap()
    };
    let cleared = r(rescue_old).await;
    assert_eq!(
        (cleared.lat, cleared.lng, cleared.address),
        (0.0, 0.0, None)
    );
    assert_eq!(cleared.location_removed_at, Some(now));
    for id in [rescue_new, rescue_open] {
        let kept = r(id).await;
        assert_eq!(kept.lat, 39.9087);
        assert!(kept.address.is_some());
        assert_eq!(kept.location_removed_at, None);
    }

    // the crew's notes of the old rescue go with its location
    let note = |id| async move {
        rescue_event::Entity::find_by_id(id)
            .one(db)
            .await
            .unwrap()
            .unwrap()
            .note
    };
    assert_eq!(note(step_old).await, None);
    assert!(note(step_new).await.is_some());
    // so do the alerts to staff that named the place
    let alert = msg(alert_old).await;
    assert_eq!((alert.body.as_str(), alert.redacted_at), ("", Some(now)));
    assert!(msg(alert_new).await.body.contains("北京市"));
    // and the API says so, not "0,0"
    let shown = app
        .get(&format!("/api/v1/rescues/{rescue_old}"), &s.advisor)
        .await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    assert!(shown.body["location"].is_null(), "{}", shown.body);
    assert!(
        shown.body["location_removed_at"].is_string(),
        "{}",
        shown.body
    );
    let kept = app
        .get(&format!("/api/v1/rescues/{rescue_new}"), &s.advisor)
        .await;
    assert_eq!(kept.body["location"]["lat"], 39.9087, "{}", kept.body);

    let days: Vec<chrono::NaiveDate> = otp_quota::Entity::find()
        .filter(otp_quota::Column::DealerId.eq(dealer))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|q| q.day)
        .collect();
    assert_eq!(days, vec![today]);
    let sessions: Vec<Uuid> = refresh_token::Entity::find()
        .filter(refresh_token::Column::Id.is_in([session_old, session_new]))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(sessions, vec![session_new]);

    let answers: Vec<String> = idempotency_key::Entity::find()
        .filter(idempotency_key::Column::ActorId.eq(who.0))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.key)
        .collect();
    assert_eq!(answers, ["new"]);

    let looks: Vec<Uuid> = personal_data_access::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(looks, vec![look_new]);
    assert!(!looks.contains(&look_old));

    let mut photos: Vec<(String, String)> = repair_order_photo::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.order_id.to_string(), p.sha256))
        .collect();
    photos.sort();
    let mut expected = vec![
        (old_order.clone(), qc.clone()),
        (new_order.clone(), shared.clone()),
        (new_order.clone(), recent.clone()),
    ];
    expected.sort();
    assert_eq!(photos, expected);
    assert!(!blob(&app, &walk).await);
    assert!(!blob(&app, &health).await);
    for kept in [&qc, &shared, &recent] {
        assert!(blob(&app, kept).await, "{kept}");
    }

    // what the run recorded, as the manager sees it
    let page = app.get("/api/v1/retention/runs", &s.manager).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let items = page.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", page.body);
    let run = &items[0];
    assert_eq!(run["day"], "2030-06-15");
    assert!(run["finished_at"].is_string());
    assert_eq!(run["attempts"], 1);
    // a code and a day's count
    assert_eq!(removed(run, "otp_codes"), 2);
    assert_eq!(removed(run, "message_bodies"), 1);
    assert_eq!(removed(run, "photos"), 3);
    assert_eq!(removed(run, "rescue_locations"), 1);
    assert_eq!(removed(run, "audit_entries"), 1);
    assert_eq!(removed(run, "idempotent_answers"), 3);
    // this dealer's counter and ended sign-in, and the address counter in
    // whichever run came first
    let failures: u64 = mine.iter().map(|r| removed(r, "login_failures")).sum();
    assert_eq!(failures, 3);
    // only the dealer's managers read the runs
    let no = app.get("/api/v1/retention/runs", &s.advisor).await;
    assert_eq!(no.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_run_starts_at_its_local_time_once_a_day_and_the_next_day_again() {
    let app = app_at(&[]).await;
    let (dealer, _) = app.staff("DAY", Role::ServiceManager).await;
    let sh: Tz = "Asia/Shanghai".parse().unwrap();
    // 03:29 local: not yet
    app.clock.set(
        sh.with_ymd_and_hms(2030, 6, 15, 3, 29, 0)
            .unwrap()
            .with_timezone(&Utc),
    );
    let due = otp(&app, dealer, app.clock.now_utc() - Duration::days(3)).await;
    assert!(app.run_retention().await.is_empty());
    app.clock.set(morning());
    let first = app.run_retention().await;
    assert_eq!(first.len(), 1);
    assert!(
        otp_code::Entity::find_by_id(due)
            .one(&app.state.db)
            .await
            .unwrap()
            .is_none()
    );

    // due since the run, but the day's run is done: it waits for tomorrow
    let later = otp(&app, dealer, app.clock.now_utc() - Duration::days(2)).await;
    app.clock.set(morning() + Duration::hours(6));
    assert!(app.run_retention().await.is_empty());
    assert!(
        otp_code::Entity::find_by_id(later)
            .one(&app.state.db)
            .await
            .unwrap()
            .is_some()
    );
    app.clock.set(morning() + Duration::days(1));
    let next = app.run_retention().await;
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].day.to_string(), "2030-06-16");
    assert!(
        otp_code::Entity::find_by_id(later)
            .one(&app.state.db)
            .await
            .unwrap()
            .is_none()
    );
    // a day later: the morning's token has run out
    let manager = app.login_as("DAY", Role::ServiceManager.as_str()).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let page = app.get("/api/v1/retention/runs?limit=1", &manager).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.body["items"][0]["day"], "2030-06-16");
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let rest = app
        .get(
            &format!("/api/v1/retention/runs?limit=1&cursor={cursor}"),
            &manager,
        )
        .await;
    assert_eq!(rest.body["items"][0]["day"], "2030-06-15");
    assert!(rest.body["next_cursor"].is_null());
}

#[tokio::test]
async fn two_instances_running_at_once_run_each_dealers_day_once() {
    // small batches: the runs take many turns, so they overlap
    let a = app_at(&[("SERVICELANE__PRIVACY__RETENTION__BATCH", "7")]).await;
    let b = app_at(&[
        ("SERVICELANE__PRIVACY__RETENTION__BATCH", "7"),
        ("SERVICELANE__DATABASE__URL", a.database_url.as_str()),
    ])
    .await;
    let now = a.clock.now_utc();
    let mut dealers = Vec::new();
    for code in ["TWA", "TWB"] {
        let (dealer, _) = a.staff(code, Role::ServiceManager).await;
        for _ in 0..30 {
            otp(&a, dealer, now - Duration::days(2)).await;
            look(&a, dealer, Uuid::now_v7(), months(now, 61)).await;
        }
        dealers.push(dealer);
    }
    let (x, y) = tokio::join!(a.run_retention(), b.run_retention());
    let (again_a, again_b) = tokio::join!(a.run_retention(), b.run_retention());
    assert!(again_a.is_empty() && again_b.is_empty());
    let runs: Vec<_> = x.into_iter().chain(y).collect();
    assert_eq!(
        runs.len(),
        2,
        "one run per dealer, whichever instance: {runs:?}"
    );
    let rows = retention_run::Entity::find()
        .all(&a.state.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for r in &runs {
        let v = serde_json::to_value(r).unwrap();
        assert_eq!(removed(&v, "otp_codes"), 30, "{v}");
        assert_eq!(removed(&v, "audit_entries"), 30, "{v}");
        assert_eq!(v["attempts"], 1);
    }
    assert_eq!(
        otp_code::Entity::find()
            .all(&a.state.db)
            .await
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test]
async fn a_run_an_instance_left_unfinished_is_finished_once_its_lease_is_out() {
    let app = app_at(&[]).await;
    let now = app.clock.now_utc();
    let (dealer, _) = app.staff("CRS", Role::ServiceManager).await;
    let (held, _) = app.staff("HLD", Role::ServiceManager).await;
    for d in [dealer, held] {
        otp(&app, d, now - Duration::days(2)).await;
    }
    let day = morning()
        .with_timezone(&"Asia/Shanghai".parse::<Tz>().unwrap())
        .date_naive();
    // CRS: its instance died mid-run (lease ran out) after removing 4 codes;
    // HLD: another instance is at it now
    for (d, lease) in [(dealer, now - MINUTE), (held, now + Duration::minutes(5))] {
        retention_run::ActiveModel {
            id: Set(Uuid::now_v7()),
            dealer_id: Set(d),
            day: Set(day),
            lease_owner: Set(Some(Uuid::now_v7())),
            lease_until: Set(Some(lease)),
            attempts: Set(1),
            removed: Set(json!({"otp_codes": 4})),
            started_at: Set(now - Duration::minutes(20)),
            finished_at: Set(None),
        }
        .insert(&app.state.db)
        .await
        .unwrap();
    }
    let runs = app.run_retention().await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    let v = serde_json::to_value(&runs[0]).unwrap();
    assert_eq!(v["attempts"], 2);
    assert_eq!(removed(&v, "otp_codes"), 5);
    let left: Vec<Uuid> = otp_code::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.dealer_id)
        .collect();
    assert_eq!(left, vec![held]);
    let unfinished = retention_run::Entity::find()
        .filter(retention_run::Column::FinishedAt.is_null())
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(unfinished.len(), 1);
    assert_eq!(unfinished[0].dealer_id, held);
}

async fn put_with(app: &TestApp, token: &str, if_match: Option<&str>, body: &Value) -> Answer {
    let mut r = app
        .http
        .put(app.url("/api/v1/settings/retention"))
        .bearer_auth(token)
        .json(body);
    if let Some(v) = if_match {
        r = r.header("If-Match", v);
    }
    app.send(r).await
}

#[tokio::test]
async fn the_limits_are_the_dealers_own_bounded_and_versioned() {
    let app = app_at(&[]).await;
    let (_, manager) = app.staff("SET", Role::ServiceManager).await;
    let (_, admin) = app.staff("SET", Role::DealerAdmin).await;
    let (_, tech) = app.staff("SET", Role::Technician).await;
    let got = app.get("/api/v1/settings/retention", &tech).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert_eq!(
        got.body,
        json!({"otp_code_days": 1, "login_failure_days": 30, "message_body_months": 24,
               "photo_months": 36, "rescue_location_months": 12, "audit_years": 5,
               "idempotent_answer_days": 7, "version": 0})
    );
    assert_eq!(got.etag(), "\"0\"");
    let good = json!({"otp_code_days": 2, "login_failure_days": 14, "message_body_months": 12,
                      "photo_months": 24, "rescue_location_months": 6, "audit_years": 3,
                      "idempotent_answer_days": 2});

    let bad = put_with(
        &app,
        &manager,
        None,
        &json!({"otp_code_days": 0, "login_failure_days": 14, "message_body_months": 12,
                "photo_months": 24, "rescue_location_months": -1, "audit_years": 31,
                "idempotent_answer_days": 91}),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(bad.content_type(), "application/problem+json");
    assert_eq!(
        bad.problem_fields(),
        [
            "otp_code_days",
            "rescue_location_months",
            "audit_years",
            "idempotent_answer_days"
        ]
    );
    let no = put_with(&app, &tech, None, &good).await;
    assert_eq!(no.status, StatusCode::FORBIDDEN);

    // "0": none set yet; the first write makes version 1
    let first = put_with(&app, &manager, Some("\"0\""), &good).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["version"], 1);
    assert_eq!(first.etag(), "\"1\"");
    assert_eq!(first.body["photo_months"], 24);
    // a second tablet that read the defaults is refused
    let stale = put_with(&app, &admin, Some("\"0\""), &good).await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        stale.body
    );
    let second = put_with(
        &app,
        &admin,
        Some("\"1\""),
        &json!({"otp_code_days": 3, "login_failure_days": 14, "message_body_months": 12,
                "photo_months": 24, "rescue_location_months": 6, "audit_years": 3,
                "idempotent_answer_days": 2}),
    )
    .await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert_eq!(second.body["version"], 2);
    let stale = put_with(&app, &manager, Some("\"1\""), &good).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    // as the care card's numbers: without If-Match the write replaces what is there
    let blind = put_with(&app, &manager, None, &good).await;
    assert_eq!(blind.status, StatusCode::OK, "{}", blind.body);
    assert_eq!(blind.body["version"], 3);
    assert_eq!(blind.body["otp_code_days"], 2);
    let bad_tag = put_with(&app, &manager, Some("yesterday"), &good).await;
    assert_eq!(bad_tag.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_tag.problem_fields(), ["If-Match"]);
    let got = app.get("/api/v1/settings/retention", &tech).await;
    assert_eq!(got.body["otp_code_days"], 2);
    assert_eq!(got.etag(), "\"3\"");
}
