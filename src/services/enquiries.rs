//! Enquiries and complaints (信息咨询、业务受理和投诉, issue 13 part 2): a
//! customer asks in the app, or staff record a call or a visit; the
//! customer centre claims, answers (the answer leaves through the outbox on
//! the customer's preferred contact) and closes. The first answer is due a
//! number of working minutes later (`domain::enquiry::due_at`). A complaint
//! opens one unhappy-customer case (`cases::open_for_enquiry`).
//!
//! Guarantees: the same question of the same customer while it is not closed
//! is one enquiry (`fingerprint`, unique per dealer, inserted with `ON
//! CONFLICT DO NOTHING`), whatever retries, taps or instances send it; an
//! enquiry opens at most one case (`cases.enquiry_id` unique); a claim is one
//! conditional UPDATE; an answer moves the state once under the row's lock,
//! and its message is written in the same transaction with an occurrence key
//! of the enquiry, so it reaches the outbox once.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::tokens::sha256_hex;
use crate::care::outbox::{self, EnquiryAnswerParams, NewMessage, Params};
use crate::care::route::Addresses;
use crate::domain::customer::{Channel, Locale};
use crate::domain::enquiry::{
    ANSWER_WITHIN_MINUTES, CLAIM_MINUTES, DEFAULT_ANSWER_WITHIN_MINUTES, EnquiryAction,
    EnquiryContact, EnquirySla, EnquirySource, EnquiryState, EnquiryTopic, MAX_TEXT, SEARCH_DAYS,
    complaint_case, due_at, next, sla,
};
use crate::domain::message::MessageKind;
use crate::domain::{FieldErrors, Role, validation};
use crate::entities::{closed_date, customer, enquiry, enquiry_setting, repair_order, vehicle};
use crate::error::{AppError, AppResult};
use crate::services::idempotency::{self, IdempotencyKey, Outcome, Reservation, Saved};
use crate::services::{capacity, cases, col_plus, dealers, deputies, lock_row, page_limit};
use crate::state::AppState;

/// Who works the queue and records enquiries: the customer centre, the
/// advisors, the managers (the unhappy-customer table's handlers).
pub const STAFF: &[Role] = cases::HANDLERS;

/// Who sets the dealer's answer time.
pub const SETTINGS_WRITERS: &[Role] = capacity::MANAGERS;

/// A new enquiry. From the app: the customer's own, `source` left out (or
/// `app`). From staff: `customer_id` and where it came in (`source`,
/// `phone` when left out).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEnquiry {
    pub topic: EnquiryTopic,
    /// What the customer asks or complains about (1–2,000 characters; line breaks allowed).
    #[schema(min_length = 1, max_length = 2000)]
    pub text: String,
    /// One of the customer's vehicles, if it is about one.
    pub vehicle_id: Option<Uuid>,
    /// One of the customer's repair orders, if it is about one.
    pub repair_order_id: Option<Uuid>,
    pub preferred_contact: EnquiryContact,
    /// Staff only: where it came in (`phone` when left out).
    pub source: Option<EnquirySource>,
    /// Staff only (required there): whose enquiry it is.
    pub customer_id: Option<Uuid>,
}

/// An enquiry (`ETag` = `version`). A customer sees their own, without
/// the staff's fields (`recorded_by`, `claimed_by`, `claimed_until`,
/// `answered_by`, `case_id` are null for them).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EnquiryView {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub vehicle_id: Option<Uuid>,
    pub repair_order_id: Option<Uuid>,
    pub topic: EnquiryTopic,
    pub text: String,
    pub preferred_contact: EnquiryContact,
    pub source: EnquirySource,
    pub recorded_by: Option<Uuid>,
    pub state: EnquiryState,
    /// The first answer is due by then: the dealer's answer time counted in
    /// its opening hours from `created_at`.
    pub due_at: DateTime<Utc>,
    /// Not answered and past `due_at` now.
    pub overdue: bool,
    /// The first answer against `due_at`.
    pub sla: EnquirySla,
    /// Who holds it, while the claim holds.
    pub claimed_by: Option<Uuid>,
    pub claimed_until: Option<DateTime<Utc>>,
    pub answer: Option<String>,
    pub answered_by: Option<Uuid>,
    pub answered_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The unhappy-customer case a complaint opened.
    pub case_id: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

fn view(e: enquiry::Model, for_customer: bool, now: DateTime<Utc>) -> EnquiryView {
    let holds = e.state == EnquiryState::Claimed && e.claimed_until.is_some_and(|u| u > now);
    let staff = |v: Option<Uuid>| v.filter(|_| !for_customer);
    EnquiryView {
        overdue: e.state.waiting() && now > e.due_at,
        sla: sla(e.due_at, e.answered_at, now),
        id: e.id,
        customer_id: e.customer_id,
        vehicle_id: e.vehicle_id,
        repair_order_id: e.order_id,
        topic: e.topic,
        text: e.text,
        preferred_contact: e.preferred_contact,
        source: e.source,
        recorded_by: staff(e.recorded_by),
        state: e.state,
        due_at: e.due_at,
        claimed_by: staff(e.claimed_by.filter(|_| holds)),
        claimed_until: e.claimed_until.filter(|_| holds && !for_customer),
        answer: e.answer,
        answered_by: staff(e.answered_by),
        answered_at: e.answered_at,
        closed_at: e.closed_at,
        case_id: staff(e.case_id),
        version: e.version,
        created_at: e.created_at,
    }
}

/// The dealer's settings: the answer time in working minutes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnquirySettings {
    /// Working minutes (inside the opening hours) to the first answer, 15–2,400; 120 by default.
    #[schema(minimum = 15, maximum = 2400, default = 120)]
    pub answer_within_minutes: u32,
}

async fn answer_within(db: &impl ConnectionTrait, dealer_id: Uuid) -> AppResult<u32> {
    Ok(enquiry_setting::Entity::find_by_id(dealer_id)
        .one(db)
        .await?
        .map(|r| r.answer_within_minutes.max(1) as u32)
        .unwrap_or(DEFAULT_ANSWER_WITHIN_MINUTES))
}

/// The dealer's enquiry settings (staff who work the queue, managers).
pub async fn settings(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<EnquirySettings> {
    if !actor.roles.iter().any(|r| SETTINGS_WRITERS.contains(r)) {
        actor.require(STAFF)?;
    }
    Ok(EnquirySettings {
        answer_within_minutes: answer_within(db, actor.dealer_id).await?,
    })
}

/// Sets the answer time (managers). It applies to enquiries that arrive
/// from now on; those already queued keep their due time.
pub async fn put_settings(
    db: &impl ConnectionTrait,
    actor: &Actor,
    s: EnquirySettings,
    now: DateTime<Utc>,
) -> AppResult<EnquirySettings> {
    actor.require(SETTINGS_WRITERS)?;
    if !ANSWER_WITHIN_MINUTES.contains(&s.answer_within_minutes) {
        return Err(AppError::field(
            "answer_within_minutes",
            "must be 15 to 2400 (working minutes)",
        ));
    }
    enquiry_setting::Entity::insert(enquiry_setting::ActiveModel {
        dealer_id: Set(actor.dealer_id),
        answer_within_minutes: Set(s.answer_within_minutes as i32),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(enquiry_setting::Column::DealerId)
            .update_columns([
                enquiry_setting::Column::AnswerWithinMinutes,
                enquiry_setting::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(s)
}

/// When the first answer to an enquiry arriving at `now` is due at `dealer_id`.
async fn first_answer_due(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<DateTime<Utc>> {
    let (_, tz) = dealers::dealer_zone(db, dealer_id).await?;
    let (schedule, _) = capacity::schedule(db, dealer_id).await?;
    let minutes = answer_within(db, dealer_id).await?;
    let today = now.with_timezone(&tz).date_naive();
    let last = today + Duration::days(SEARCH_DAYS);
    let closed: HashSet<NaiveDate> = closed_date::Entity::find()
        .filter(closed_date::Column::DealerId.eq(dealer_id))
        .filter(closed_date::Column::Date.gte(today))
        .filter(closed_date::Column::Date.lte(last))
        .all(db)
        .await?
        .into_iter()
        .map(|c| c.date)
        .collect();
    Ok(due_at(
        now,
        minutes,
        &schedule.opening_hours,
        |d| closed.contains(&d),
        tz,
    ))
}

/// Whose enquiry, from where, checked: the customer, the source, who recorded it.
struct Who {
    customer_id: Uuid,
    source: EnquirySource,
    recorded_by: Option<Uuid>,
}

async fn who(db: &impl ConnectionTrait, actor: &Actor, input: &NewEnquiry) -> AppResult<Who> {
    if let Some(own) = actor.customer_id {
        actor.require(&[Role::Customer])?;
        let mut e = FieldErrors::new();
        if input.customer_id.is_some_and(|c| c != own) {
            e.add("customer_id", "is for staff: a customer asks for themself");
        }
        if input.source.is_some_and(|s| s != EnquirySource::App) {
            e.add("source", "is `app` (or left out) in the app");
        }
        e.into_result()?;
        return Ok(Who {
            customer_id: own,
            source: EnquirySource::App,
            recorded_by: None,
        });
    }
    actor.require(STAFF)?;
    let customer_id = input
        .customer_id
        .ok_or_else(|| AppError::field("customer_id", "whose enquiry it is"))?;
    customer::Entity::find_by_id(customer_id)
        .filter(customer::Column::DealerId.eq(actor.dealer_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::field("customer_id", "no such customer of this dealer"))?;
    Ok(Who {
        customer_id,
        source: input.source.unwrap_or(EnquirySource::Phone),
        recorded_by: Some(actor.id),
    })
}

/// Records an enquiry; answers whether it is new (201) or the same open
/// question found again (200). With `Idempotency-Key`, a retry answers what
/// the first request answered.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    input: NewEnquiry,
    key: Option<&IdempotencyKey>,
) -> AppResult<Outcome<(bool, EnquiryView)>> {
    let now = state.clock.now();
    idempotency::once(&state.db, actor, key, &input, now, async |r| {
        create_now(state, actor, &input, r, now).await
    })
    .await
}

async fn create_now(
    state: &AppState,
    actor: &Actor,
    input: &NewEnquiry,
    reservation: Option<&Reservation>,
    now: DateTime<Utc>,
) -> AppResult<(bool, EnquiryView)> {
    let db = &state.db;
    let text =
        validation::multiline(&input.text, MAX_TEXT).map_err(|m| AppError::field("text", m))?;
    let w = who(db, actor, input).await?;
    if let Some(v) = input.vehicle_id {
        vehicle::Entity::find_by_id(v)
            .filter(vehicle::Column::DealerId.eq(actor.dealer_id))
            .filter(vehicle::Column::CustomerId.eq(w.customer_id))
            .one(db)
            .await?
            .ok_or_else(|| AppError::field("vehicle_id", "no such vehicle of this customer"))?;
    }
    if let Some(o) = input.repair_order_id {
        repair_order::Entity::find_by_id(o)
            .filter(repair_order::Column::DealerId.eq(actor.dealer_id))
            .filter(repair_order::Column::CustomerId.eq(w.customer_id))
            .one(db)
            .await?
            .ok_or_else(|| AppError::field("repair_order_id", "no such order of this customer"))?;
    }
    let due = first_answer_due(db, actor.dealer_id, now).await?;
    let lexicon = cases::rules(db, actor.dealer_id).await?.lexicon;
    let opt = |v: Option<Uuid>| v.map(|v| v.to_string()).unwrap_or_default();
    let fingerprint = sha256_hex(&format!(
        "{}|{}|{}|{}|{}",
        w.customer_id,
        input.topic,
        text,
        opt(input.vehicle_id),
        opt(input.repair_order_id)
    ));
    let id = Uuid::now_v7();
    let txn = state.db.begin().await?;
    // the first statement writes: on SQLite it takes the write lock at once
    let inserted = enquiry::Entity::insert(enquiry::ActiveModel {
        id: Set(id),
        dealer_id: Set(actor.dealer_id),
        customer_id: Set(w.customer_id),
        vehicle_id: Set(input.vehicle_id),
        order_id: Set(input.repair_order_id),
        topic: Set(input.topic),
        text: Set(text.clone()),
        preferred_contact: Set(input.preferred_contact),
        source: Set(w.source),
        recorded_by: Set(w.recorded_by),
        fingerprint: Set(Some(fingerprint.clone())),
        state: Set(EnquiryState::Open),
        due_at: Set(due),
        claimed_by: Set(None),
        claimed_until: Set(None),
        answer: Set(None),
        answered_by: Set(None),
        answered_at: Set(None),
        closed_by: Set(None),
        closed_at: Set(None),
        case_id: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([enquiry::Column::DealerId, enquiry::Column::Fingerprint])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?
        == 1;
    let mut e = enquiry::Entity::find()
        .filter(enquiry::Column::DealerId.eq(actor.dealer_id))
        .filter(enquiry::Column::Fingerprint.eq(fingerprint))
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::ChangedMeanwhile("the same enquiry was just closed".into()))?;
    if e.case_id.is_none()
        && let Some((category, severity)) = complaint_case(e.topic, &e.text, &lexicon)
    {
        let case_id = cases::open_for_enquiry(&txn, &e, category, severity, now).await?;
        enquiry::Entity::update_many()
            .col_expr(enquiry::Column::CaseId, Expr::value(case_id))
            .filter(enquiry::Column::Id.eq(e.id))
            .exec(&txn)
            .await?;
        e.case_id = Some(case_id);
    }
    let v = view(e, actor.is_customer(), now);
    if let Some(r) = reservation {
        let answer = Saved {
            status: if inserted { 201 } else { 200 },
            body: serde_json::to_string(&v).map_err(anyhow::Error::from)?,
        };
        if !idempotency::complete(&txn, r, &answer).await? {
            return Err(AppError::InProgress {
                retry_after_secs: 1,
            });
        }
    }
    txn.commit().await?;
    Ok((inserted, v))
}

/// Filters of the queue.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    pub state: Option<EnquiryState>,
    pub topic: Option<EnquiryTopic>,
    /// Only enquiries past their due time and not answered (true), or the others (false).
    pub overdue: Option<bool>,
    /// 1–200, 50 by default.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

/// The customer centre's queue: the dealer's enquiries, the soonest due
/// first (by default those still waiting for an answer: open and claimed).
pub async fn queue(
    db: &impl ConnectionTrait,
    actor: &Actor,
    q: QueueQuery,
    now: DateTime<Utc>,
) -> AppResult<Vec<EnquiryView>> {
    actor.require(STAFF)?;
    let limit = page_limit(q.limit)?;
    let mut sel = enquiry::Entity::find().filter(enquiry::Column::DealerId.eq(actor.dealer_id));
    sel = match q.state {
        Some(s) => sel.filter(enquiry::Column::State.eq(s)),
        None => {
            sel.filter(enquiry::Column::State.is_in([EnquiryState::Open, EnquiryState::Claimed]))
        }
    };
    if let Some(t) = q.topic {
        sel = sel.filter(enquiry::Column::Topic.eq(t));
    }
    let overdue = Condition::all()
        .add(enquiry::Column::State.is_in([EnquiryState::Open, EnquiryState::Claimed]))
        .add(enquiry::Column::DueAt.lt(now));
    match q.overdue {
        Some(true) => sel = sel.filter(overdue),
        Some(false) => sel = sel.filter(overdue.not()),
        None => {}
    }
    Ok(sel
        .order_by_asc(enquiry::Column::DueAt)
        .order_by_asc(enquiry::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|e| view(e, false, now))
        .collect())
}

/// The customer's own enquiries, newest first (at most 100; customers only).
pub async fn mine(
    db: &impl ConnectionTrait,
    actor: &Actor,
    now: DateTime<Utc>,
) -> AppResult<Vec<EnquiryView>> {
    let Some(own) = actor.customer_id else {
        return Err(AppError::Forbidden(
            "the list of one's own enquiries is the customer's",
        ));
    };
    Ok(enquiry::Entity::find()
        .filter(enquiry::Column::DealerId.eq(actor.dealer_id))
        .filter(enquiry::Column::CustomerId.eq(own))
        .order_by_desc(enquiry::Column::Id)
        .limit(100)
        .all(db)
        .await?
        .into_iter()
        .map(|e| view(e, true, now))
        .collect())
}

/// One enquiry: a customer's own (404 for anyone else's), or any of the dealer's for staff.
pub async fn get(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<EnquiryView> {
    if !actor.is_customer() {
        actor.require(STAFF)?;
    }
    let e = find(db, actor, id).await?;
    Ok(view(e, actor.is_customer(), now))
}

async fn find(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> AppResult<enquiry::Model> {
    let mut q =
        enquiry::Entity::find_by_id(id).filter(enquiry::Column::DealerId.eq(actor.dealer_id));
    if let Some(own) = actor.customer_id {
        q = q.filter(enquiry::Column::CustomerId.eq(own));
    }
    q.one(db).await?.ok_or(AppError::NotFound)
}

/// Why an enquiry cannot be claimed or answered now.
fn refusal(e: &enquiry::Model, action: EnquiryAction, now: DateTime<Utc>) -> AppError {
    if next(e.state, action).is_none() {
        let what = match action {
            EnquiryAction::Claim => "claimed",
            EnquiryAction::Answer => "answered",
            EnquiryAction::Close => "closed",
        };
        return AppError::Conflict(format!("this enquiry is {}: it cannot be {what}", e.state));
    }
    match (e.claimed_by, e.claimed_until) {
        (Some(by), Some(until)) if e.state == EnquiryState::Claimed && until > now => {
            AppError::Conflict(format!(
                "another agent ({by}) holds this enquiry until {}",
                until.to_rfc3339()
            ))
        }
        _ => AppError::Conflict("the enquiry changed meanwhile: read it again".into()),
    }
}

/// Nobody else holds a live claim: unclaimed, run out, or held by the
/// caller or by one they stand in for now (a deputy, 职务代理).
fn free_for(holders: &[Uuid], now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(enquiry::Column::ClaimedUntil.is_null())
        .add(enquiry::Column::ClaimedUntil.lte(now))
        .add(enquiry::Column::ClaimedBy.is_in(holders.to_vec()))
}

/// Takes the enquiry for [`CLAIM_MINUTES`] with one conditional UPDATE: of
/// two agents at once one gets it and the other a 409 naming who holds it.
/// Claiming one's own again renews it; a deputy takes over the claim of the
/// one they stand in for; a claim that ran out is anyone's.
pub async fn claim(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<EnquiryView> {
    actor.require(STAFF)?;
    let db = &state.db;
    let now = state.clock.now();
    let holders = deputies::mine(db, actor, now).await?;
    let res = enquiry::Entity::update_many()
        .col_expr(enquiry::Column::State, Expr::value(EnquiryState::Claimed))
        .col_expr(enquiry::Column::ClaimedBy, Expr::value(actor.id))
        .col_expr(
            enquiry::Column::ClaimedUntil,
            Expr::value(now + Duration::minutes(CLAIM_MINUTES)),
        )
        .col_expr(
            enquiry::Column::Version,
            col_plus(enquiry::Column::Version, 1),
        )
        .col_expr(enquiry::Column::UpdatedAt, Expr::value(now))
        .filter(enquiry::Column::Id.eq(id))
        .filter(enquiry::Column::DealerId.eq(actor.dealer_id))
        .filter(enquiry::Column::State.is_in([EnquiryState::Open, EnquiryState::Claimed]))
        .filter(free_for(&holders, now))
        .exec(db)
        .await?;
    let e = find(db, actor, id).await?;
    if res.rows_affected == 0 {
        return Err(refusal(&e, EnquiryAction::Claim, now));
    }
    Ok(view(e, false, now))
}

/// The answer to an enquiry.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnquiryAnswer {
    /// The answer (1–2,000 characters). For a customer who asked to be
    /// called: what was said on the call.
    #[schema(min_length = 1, max_length = 2000)]
    pub text: String,
}

/// Answers an enquiry that is still waiting and that nobody else holds:
/// the answer kept with who and when (against the due time: met or late),
/// and sent on the customer's preferred contact in the same transaction —
/// `sms` an SMS, `app` the app's inbox (and a push when they are signed in),
/// `call` nothing (staff called; the answer records what was said). The
/// claim ends with it. A second answer is 409.
pub async fn answer(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    a: EnquiryAnswer,
) -> AppResult<EnquiryView> {
    actor.require(STAFF)?;
    let now = state.clock.now();
    let text = validation::multiline(&a.text, MAX_TEXT).map_err(|m| AppError::field("text", m))?;
    let db = &state.db;
    let holders = deputies::mine(db, actor, now).await?;
    let txn = db.begin().await?;
    let e = lock_row::<enquiry::Entity>(&txn, enquiry::Column::Id, enquiry::Column::Version, id)
        .await?
        .filter(|e| e.dealer_id == actor.dealer_id)
        .ok_or(AppError::NotFound)?;
    let held_by_other = e.state == EnquiryState::Claimed
        && e.claimed_until.is_some_and(|u| u > now)
        && !e.claimed_by.is_some_and(|b| holders.contains(&b));
    let Some(to) = next(e.state, EnquiryAction::Answer).filter(|_| !held_by_other) else {
        return Err(refusal(&e, EnquiryAction::Answer, now));
    };
    let res = enquiry::Entity::update_many()
        .col_expr(enquiry::Column::State, Expr::value(to))
        .col_expr(enquiry::Column::Answer, Expr::value(text.clone()))
        .col_expr(enquiry::Column::AnsweredBy, Expr::value(actor.id))
        .col_expr(enquiry::Column::AnsweredAt, Expr::value(now))
        .col_expr(enquiry::Column::ClaimedBy, Expr::value(None::<Uuid>))
        .col_expr(
            enquiry::Column::ClaimedUntil,
            Expr::value(None::<DateTime<Utc>>),
        )
        .col_expr(
            enquiry::Column::Version,
            col_plus(enquiry::Column::Version, 1),
        )
        .col_expr(enquiry::Column::UpdatedAt, Expr::value(now))
        .filter(enquiry::Column::Id.eq(e.id))
        .filter(enquiry::Column::Version.eq(e.version))
        .exec(&txn)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::ChangedMeanwhile(
            "the enquiry changed meanwhile".into(),
        ));
    }
    tell_customer(state, &txn, &e, &text, now).await?;
    let e = find(&txn, actor, id).await?;
    txn.commit().await?;
    outbox::wake(state);
    Ok(view(e, false, now))
}

fn topic_words(t: EnquiryTopic, l: Locale) -> &'static str {
    match (t, l) {
        (EnquiryTopic::Price, Locale::ZhCn) => "价格",
        (EnquiryTopic::Booking, Locale::ZhCn) => "预约",
        (EnquiryTopic::Warranty, Locale::ZhCn) => "保修",
        (EnquiryTopic::Insurance, Locale::ZhCn) => "保险",
        (EnquiryTopic::Complaint, Locale::ZhCn) => "投诉",
        (EnquiryTopic::Other, Locale::ZhCn) => "服务",
        (EnquiryTopic::Price, Locale::En) => "price",
        (EnquiryTopic::Booking, Locale::En) => "booking",
        (EnquiryTopic::Warranty, Locale::En) => "warranty",
        (EnquiryTopic::Insurance, Locale::En) => "insurance",
        (EnquiryTopic::Complaint, Locale::En) => "complaint",
        (EnquiryTopic::Other, Locale::En) => "service",
    }
}

/// The answer on the customer's preferred contact, in the answer's transaction.
async fn tell_customer(
    state: &AppState,
    txn: &impl ConnectionTrait,
    e: &enquiry::Model,
    answer: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    if e.preferred_contact == EnquiryContact::Call {
        return Ok(());
    }
    let (d, _) = dealers::dealer_zone(txn, e.dealer_id).await?;
    let c = customer::Entity::find_by_id(e.customer_id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let kind = MessageKind::EnquiryAnswered;
    let params = EnquiryAnswerParams {
        dealer_name: d.name.clone(),
        customer_name: c.name.clone(),
        topic: topic_words(e.topic, c.locale).into(),
        answer: answer.into(),
    };
    let title = state
        .templates
        .render(c.locale, kind.as_str(), "title.txt", &params)?;
    let body = state
        .templates
        .render(c.locale, kind.as_str(), "sms.txt", &params)?;
    let (channel, recipient) = match e.preferred_contact {
        EnquiryContact::Sms => (Channel::Sms, Some(c.phone.clone())),
        _ => {
            crate::services::inbox::post(
                txn,
                e.dealer_id,
                c.id,
                kind.as_str(),
                &title,
                &body,
                e.id,
                now,
            )
            .await?;
            // a push to a signed-in app; the inbox holds it either way
            (
                Channel::App,
                Addresses::of(txn, &c, now).await?.on(Channel::App),
            )
        }
    };
    let Some(recipient) = recipient else {
        return Ok(());
    };
    outbox::enqueue(
        txn,
        NewMessage {
            dealer_id: e.dealer_id,
            customer_id: Some(c.id),
            about_customer_id: None,
            kind,
            // one answer an enquiry
            occurrence_key: format!("enquiry:{}", e.id),
            channel,
            recipient,
            locale: c.locale,
            params: Params::EnquiryAnswer(params),
            subject: Some(title),
            body,
            due_at: now,
            parent_id: None,
        },
        now,
    )
    .await?;
    Ok(())
}

/// The update that closes enquiries: closed by `by` at `now`, the claim
/// and the fingerprint dropped (the same question may be asked anew), as a
/// new version. The caller says which.
fn closing(by: Uuid, now: DateTime<Utc>) -> sea_orm::UpdateMany<enquiry::Entity> {
    enquiry::Entity::update_many()
        .col_expr(enquiry::Column::State, Expr::value(EnquiryState::Closed))
        .col_expr(enquiry::Column::Fingerprint, Expr::value(None::<String>))
        .col_expr(enquiry::Column::ClosedBy, Expr::value(by))
        .col_expr(enquiry::Column::ClosedAt, Expr::value(now))
        .col_expr(enquiry::Column::ClaimedBy, Expr::value(None::<Uuid>))
        .col_expr(
            enquiry::Column::ClaimedUntil,
            Expr::value(None::<DateTime<Utc>>),
        )
        .col_expr(
            enquiry::Column::Version,
            col_plus(enquiry::Column::Version, 1),
        )
        .col_expr(enquiry::Column::UpdatedAt, Expr::value(now))
}

/// Closes every enquiry of the customer not closed yet, in the caller's
/// transaction, whoever holds a claim (an erasure: nobody is to answer them).
pub async fn close_all_of(
    txn: &impl ConnectionTrait,
    customer_id: Uuid,
    by: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    Ok(closing(by, now)
        .filter(enquiry::Column::CustomerId.eq(customer_id))
        .filter(enquiry::Column::State.ne(EnquiryState::Closed))
        .exec(txn)
        .await?
        .rows_affected)
}

/// Closes an enquiry (answered, or one that needs no answer: a duplicate, a
/// withdrawn question); a claim held by someone else is 409 while it lasts.
/// Its fingerprint is dropped, so the same question may be asked anew.
pub async fn close(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<EnquiryView> {
    actor.require(STAFF)?;
    let db = &state.db;
    let now = state.clock.now();
    let holders = deputies::mine(db, actor, now).await?;
    let res = closing(actor.id, now)
        .filter(enquiry::Column::Id.eq(id))
        .filter(enquiry::Column::DealerId.eq(actor.dealer_id))
        .filter(enquiry::Column::State.is_in([
            EnquiryState::Open,
            EnquiryState::Claimed,
            EnquiryState::Answered,
        ]))
        .filter(free_for(&holders, now))
        .exec(db)
        .await?;
    let e = find(db, actor, id).await?;
    if res.rows_affected == 0 {
        return Err(refusal(&e, EnquiryAction::Close, now));
    }
    Ok(view(e, false, now))
}
