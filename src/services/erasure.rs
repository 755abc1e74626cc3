//! The right to erasure (删除权): a customer asks to be forgotten (in the app,
//! or staff on their behalf), the service manager approves or refuses with a
//! reason, and an approval anonymises the person in one transaction while
//! keeping what law and accounting need (orders and their money, invoices,
//! warranty claims) under a pseudonym. The states are `domain::erasure`.
//!
//! Lock order of an approval: the request row first (so an approval and a
//! refusal at once meet there, and exactly one decides), then the customer's
//! row, then their outbox rows and the rest. The dispatcher takes the
//! customer's row (shared) before it writes an outbox row, so the two wait in
//! a line and never in a circle; once the customer is erased the dispatcher
//! refuses any message to them that was claimed before the erasure.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Actor;
use crate::care::outbox::{self, ErasureRefusedParams, NewMessage, Params};
use crate::care::route::Addresses;
use crate::domain::case::CaseState;
use crate::domain::data_export::ExportState;
use crate::domain::erasure::{
    ErasureDecision, ErasureState, MAX_TEXT, due_at, next, phone_placeholder, pseudonym,
};
use crate::domain::message::MessageKind;
use crate::domain::privacy::AccessAction;
use crate::domain::rescue::RescueState;
use crate::domain::{Role, validation};
use crate::entities::{
    appointment, callback_call, case, case_event, csi_response, customer, data_export, enquiry,
    erasure_request, erasure_request_event, idempotency_key, inbox_message, insurance_lead,
    otp_code, otp_quota, outbox_message, personal_data_access, refresh_token, repair_order,
    repair_order_job, repair_order_photo, rescue, rescue_event, warranty_case, wechat_binding,
    wechat_grant,
};
use crate::error::{AppError, AppResult};
use crate::services::lifecycle::{self, Lifecycle, Transition};
use crate::services::privacy::{Access, Point};
use crate::services::{customers, dealers, decode_cursor, next_page, page_limit, storage};
use crate::state::AppState;

/// Who decides a request (and reads the list): the service manager and the
/// dealer's admin.
pub const DECIDERS: &[Role] = &[Role::ServiceManager, Role::DealerAdmin];

/// Who may ask on a customer's behalf: staff who keep the customer archive
/// (all of them see customers in full; the masked roles may not).
pub const ASKERS: &[Role] = customers::WRITERS;

/// A rescue still under way needs its place and phone: an erasure waits for it.
const RESCUE_UNDER_WAY: &[RescueState] = &[
    RescueState::Requested,
    RescueState::Accepted,
    RescueState::Dispatched,
    RescueState::OnSite,
];

/// Erasure requests move through `ErasureState`, audited in `erasure_request_events`.
impl Lifecycle for erasure_request::Entity {
    type State = ErasureState;
    type Events = erasure_request_event::Entity;

    fn id_column() -> erasure_request::Column {
        erasure_request::Column::Id
    }
    fn state_column() -> erasure_request::Column {
        erasure_request::Column::State
    }
    fn version_column() -> erasure_request::Column {
        erasure_request::Column::Version
    }
    fn updated_at_column() -> erasure_request::Column {
        erasure_request::Column::UpdatedAt
    }
    fn event(t: &Transition<ErasureState>) -> erasure_request_event::ActiveModel {
        erasure_request_event::ActiveModel {
            id: Set(Uuid::now_v7()),
            dealer_id: Set(t.dealer_id),
            request_id: Set(t.subject_id),
            actor_id: Set(t.actor_id),
            on_behalf_of: Set(t.on_behalf_of),
            from_state: Set(t.from),
            to_state: Set(t.to),
            reason: Set(t.reason.clone()),
            at: Set(t.at),
        }
    }
}

/// Staff asking on the customer's behalf.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasureOnBehalf {
    /// How the customer asked (a call, a letter, at the counter), 1–500
    /// characters: kept with the request.
    #[schema(min_length = 1, max_length = 500)]
    pub note: String,
}

/// Why a request is refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasureRefusal {
    /// 1–500 characters; the customer is told it.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ErasureFilter {
    /// Only requests in this state.
    pub state: Option<ErasureState>,
    pub cursor: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<u64>,
}

/// One step of a request.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasureEventView {
    /// The member of staff, or the customer's id when they asked themselves.
    pub actor_id: Uuid,
    pub from_state: Option<ErasureState>,
    pub to_state: ErasureState,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// An erasure request, as staff and the customer see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasureRequestView {
    pub id: Uuid,
    pub customer_id: Uuid,
    /// The customer's name as your role sees it; the pseudonym
    /// (`已注销-…`) once erased.
    pub customer_name: String,
    pub state: ErasureState,
    /// Staff who asked on the customer's behalf; absent when the customer asked.
    pub requested_by: Option<Uuid>,
    pub note: Option<String>,
    /// Decided by then (`privacy.erasure_due_days` after the request).
    pub due_at: DateTime<Utc>,
    /// Undecided past `due_at`.
    pub overdue: bool,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Why it was refused.
    pub reason: Option<String>,
    /// Who asked, who decided, oldest first.
    pub events: Vec<ErasureEventView>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErasureRequestPage {
    pub items: Vec<ErasureRequestView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The customer asks to be erased. A request still open is answered again
/// (false: not new); otherwise a new one (true).
pub async fn request_mine(
    state: &AppState,
    actor: &Actor,
) -> AppResult<(bool, ErasureRequestView)> {
    let Some(customer_id) = actor.customer_id else {
        return Err(AppError::Forbidden(
            "staff ask on a customer's behalf: POST /customers/{id}/erasure-requests",
        ));
    };
    let c = customers::load(&state.db, actor, customer_id).await?;
    open(state, actor, &c, None).await
}

/// Staff ask on the customer's behalf, noting how the customer asked.
pub async fn request_for(
    state: &AppState,
    actor: &Actor,
    customer_id: Uuid,
    body: ErasureOnBehalf,
) -> AppResult<(bool, ErasureRequestView)> {
    actor.require(ASKERS)?;
    let note =
        validation::multiline(&body.note, MAX_TEXT).map_err(|m| AppError::field("note", m))?;
    let c = customers::load(&state.db, actor, customer_id).await?;
    actor.can_write_dealer(c.dealer_id)?;
    open(state, actor, &c, Some(note)).await
}

async fn open(
    state: &AppState,
    actor: &Actor,
    c: &customer::Model,
    note: Option<String>,
) -> AppResult<(bool, ErasureRequestView)> {
    if c.erased_at.is_some() {
        return Err(AppError::Conflict("the customer was erased already".into()));
    }
    let now = state.clock.now();
    let days = state.settings.privacy.erasure_due_days.clamp(1, 90);
    let id = Uuid::now_v7();
    let txn = state.db.begin().await?;
    // the customer's row first, as an approval takes it: a request asked
    // while an approval commits waits for it, then finds the customer erased
    // (instead of opening a request nobody can ever decide)
    let erased = crate::services::lock_row::<customer::Entity>(
        &txn,
        customer::Column::Id,
        customer::Column::Version,
        c.id,
    )
    .await?
    .is_none_or(|now| now.erased_at.is_some());
    if erased {
        return Err(AppError::Conflict("the customer was erased already".into()));
    }
    // one open request a customer: the second insert finds the first
    let inserted = erasure_request::Entity::insert(erasure_request::ActiveModel {
        id: Set(id),
        dealer_id: Set(c.dealer_id),
        customer_id: Set(c.id),
        state: Set(ErasureState::Requested),
        open_key: Set(Some(c.id)),
        requested_by: Set((!actor.is_customer()).then_some(actor.id)),
        note: Set(note.clone()),
        due_at: Set(due_at(now, days)),
        decided_by: Set(None),
        decided_at: Set(None),
        reason: Set(None),
        pseudonym: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([
            erasure_request::Column::DealerId,
            erasure_request::Column::OpenKey,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?
        > 0;
    if inserted {
        lifecycle::record::<erasure_request::Entity>(
            &txn,
            lifecycle::by(
                actor,
                c.dealer_id,
                id,
                None,
                ErasureState::Requested,
                note,
                now,
            ),
        )
        .await?;
    }
    let r = erasure_request::Entity::find()
        .filter(erasure_request::Column::DealerId.eq(c.dealer_id))
        .filter(erasure_request::Column::OpenKey.eq(c.id))
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("open erasure request vanished")))?;
    txn.commit().await?;
    if inserted {
        tracing::info!(request = %r.id, customer = %c.id, "erasure requested");
    }
    let v = views(&state.db, actor, vec![r], now).await?;
    Ok((inserted, one(v)?))
}

/// The customer's own requests' latest, or 404 when they never asked.
pub async fn mine(state: &AppState, actor: &Actor) -> AppResult<ErasureRequestView> {
    let Some(customer_id) = actor.customer_id else {
        return Err(AppError::NotFound);
    };
    let r = erasure_request::Entity::find()
        .filter(erasure_request::Column::DealerId.eq(actor.dealer_id))
        .filter(erasure_request::Column::CustomerId.eq(customer_id))
        .order_by_desc(erasure_request::Column::Id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    one(views(&state.db, actor, vec![r], state.clock.now()).await?)
}

/// One request: the deciders of its dealer, or the customer it is about.
pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<ErasureRequestView> {
    let r = visible(&state.db, actor, id).await?;
    one(views(&state.db, actor, vec![r], state.clock.now()).await?)
}

/// The dealer's requests, oldest first (by id), filtered by state.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    f: ErasureFilter,
) -> AppResult<ErasureRequestPage> {
    actor.require(DECIDERS)?;
    let limit = page_limit(f.limit)?;
    let mut q = erasure_request::Entity::find()
        .filter(erasure_request::Column::DealerId.eq(actor.dealer_id))
        .order_by_asc(erasure_request::Column::Id)
        .limit(limit + 1);
    if let Some(s) = f.state {
        q = q.filter(erasure_request::Column::State.eq(s));
    }
    if let Some(c) = &f.cursor {
        q = q.filter(erasure_request::Column::Id.gt(decode_cursor(c)?));
    }
    let mut rows = q.all(&state.db).await?;
    let next_cursor = next_page(&mut rows, limit, |r| r.id);
    Ok(ErasureRequestPage {
        items: views(&state.db, actor, rows, state.clock.now()).await?,
        next_cursor,
    })
}

/// Refuses a request with a reason the customer is told (in the app's inbox
/// and on their first reachable channel), in the refusal's transaction.
pub async fn refuse(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    body: ErasureRefusal,
) -> AppResult<ErasureRequestView> {
    actor.require(DECIDERS)?;
    let reason =
        validation::multiline(&body.reason, MAX_TEXT).map_err(|m| AppError::field("reason", m))?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let r = match decide(&txn, actor, id, ErasureDecision::Refuse).await? {
        Found::Open(r) => r,
        Found::Taken(r) if r.reason.as_deref() != Some(reason.as_str()) => {
            return Err(AppError::Conflict("the request was refused already".into()));
        }
        Found::Taken(r) => {
            txn.rollback().await?;
            return one(views(&state.db, actor, vec![r], now).await?);
        }
    };
    lifecycle::advance::<erasure_request::Entity>(
        &txn,
        r.id,
        r.state,
        r.version,
        ErasureState::Refused,
        now,
        vec![
            (erasure_request::Column::OpenKey, Expr::value(None::<Uuid>)),
            (erasure_request::Column::DecidedBy, Expr::value(actor.id)),
            (erasure_request::Column::DecidedAt, Expr::value(now)),
            (erasure_request::Column::Reason, Expr::value(reason.clone())),
        ],
    )
    .await?;
    lifecycle::record::<erasure_request::Entity>(
        &txn,
        lifecycle::by(
            actor,
            r.dealer_id,
            r.id,
            Some(r.state),
            ErasureState::Refused,
            Some(reason.clone()),
            now,
        ),
    )
    .await?;
    tell_refusal(state, &txn, &r, &reason, now).await?;
    let r = erasure_request::Entity::find_by_id(r.id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    txn.commit().await?;
    outbox::wake(state);
    tracing::info!(request = %r.id, customer = %r.customer_id, by = %actor.id, "erasure refused");
    one(views(&state.db, actor, vec![r], now).await?)
}

/// Approves a request: the customer is anonymised, in one transaction with
/// the decision, the audit event and the access-log entry. Afterwards the
/// bytes of their photos go from the blob store, unless another photo row
/// still holds the same bytes. Cannot be undone.
pub async fn approve(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    point: &Point,
) -> AppResult<ErasureRequestView> {
    actor.require(DECIDERS)?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let r = match decide(&txn, actor, id, ErasureDecision::Approve).await? {
        Found::Open(r) => r,
        Found::Taken(r) => {
            txn.rollback().await?;
            return one(views(&state.db, actor, vec![r], now).await?);
        }
    };
    let alias = pseudonym(r.customer_id);
    lifecycle::advance::<erasure_request::Entity>(
        &txn,
        r.id,
        r.state,
        r.version,
        ErasureState::Approved,
        now,
        vec![
            (erasure_request::Column::OpenKey, Expr::value(None::<Uuid>)),
            (erasure_request::Column::DecidedBy, Expr::value(actor.id)),
            (erasure_request::Column::DecidedAt, Expr::value(now)),
            (
                erasure_request::Column::Pseudonym,
                Expr::value(alias.clone()),
            ),
            // the note may name the person; the request itself stays
            (erasure_request::Column::Note, Expr::value(None::<String>)),
        ],
    )
    .await?;
    let shas = anonymise(&txn, actor, r.dealer_id, r.customer_id, &alias, now).await?;
    // their photos' bytes go after the commit (and until they are gone)
    storage::release(&txn, shas, now).await?;
    // how they asked (this time and any time before) may name them too
    let theirs = erasure_request::Entity::find()
        .select_only()
        .column(erasure_request::Column::Id)
        .filter(erasure_request::Column::DealerId.eq(r.dealer_id))
        .filter(erasure_request::Column::CustomerId.eq(r.customer_id))
        .into_tuple::<Uuid>()
        .all(&txn)
        .await?;
    erasure_request::Entity::update_many()
        .col_expr(erasure_request::Column::Note, Expr::value(None::<String>))
        .filter(erasure_request::Column::Id.is_in(theirs.clone()))
        .exec(&txn)
        .await?;
    erasure_request_event::Entity::update_many()
        .col_expr(
            erasure_request_event::Column::Reason,
            Expr::value(None::<String>),
        )
        .filter(erasure_request_event::Column::RequestId.is_in(theirs))
        .filter(erasure_request_event::Column::ToState.eq(ErasureState::Requested))
        .exec(&txn)
        .await?;
    lifecycle::record::<erasure_request::Entity>(
        &txn,
        lifecycle::by(
            actor,
            r.dealer_id,
            r.id,
            Some(r.state),
            ErasureState::Approved,
            None,
            now,
        ),
    )
    .await?;
    // written with the erasure, not behind it: no erasure goes unlogged
    personal_data_access::Entity::insert(
        Access {
            dealer_id: r.dealer_id,
            user_id: actor.id,
            customer_id: r.customer_id,
            action: AccessAction::Erase,
            fields: None,
            reason: Some(format!("erasure request {}", r.id)),
            endpoint: point.endpoint.clone(),
            client_addr: point.client_addr.clone(),
            at: now,
        }
        .row(),
    )
    .exec_without_returning(&txn)
    .await?;
    let r = erasure_request::Entity::find_by_id(r.id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    txn.commit().await?;
    tracing::info!(request = %r.id, customer = %r.customer_id, by = %actor.id, "customer erased");
    // their copy (expired above) goes, then the bytes of it and of their
    // photos; whatever fails here the periodic sweeps finish
    if let Err(e) = crate::services::data_export::expire_due(state).await {
        tracing::warn!(error = %e, "erasure: the customer's export not purged yet (the sweep retries)");
    }
    if let Err(e) = storage::sweep(state).await {
        tracing::warn!(error = %e, "erasure: bytes not deleted yet (the sweep retries)");
    }
    one(views(&state.db, actor, vec![r], now).await?)
}

/// What a decision finds when it takes the request.
enum Found {
    /// Still to be decided: the decision is taken.
    Open(erasure_request::Model),
    /// Decided this way already: a retry, answered with the request as it is.
    Taken(erasure_request::Model),
}

/// Takes the request for the rest of the transaction and checks that
/// `decision` may be taken: 404 for another dealer's, 409 once decided the
/// other way.
async fn decide(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
    decision: ErasureDecision,
) -> AppResult<Found> {
    let r = lifecycle::lock::<erasure_request::Entity>(txn, id).await?;
    actor.can_write_dealer(r.dealer_id)?;
    if next(r.state, decision).is_some() {
        return Ok(Found::Open(r));
    }
    if next(ErasureState::Requested, decision) == Some(r.state) {
        return Ok(Found::Taken(r));
    }
    Err(AppError::Conflict(format!(
        "the request was {} already",
        r.state
    )))
}

/// Everything the approval does to the person's data; answers the photo
/// bytes whose rows went.
async fn anonymise(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    dealer_id: Uuid,
    customer_id: Uuid,
    alias: &str,
    now: DateTime<Utc>,
) -> AppResult<Vec<String>> {
    let c = crate::services::lock_row::<customer::Entity>(
        txn,
        customer::Column::Id,
        customer::Column::Version,
        customer_id,
    )
    .await?
    .filter(|c| c.dealer_id == dealer_id)
    .ok_or(AppError::NotFound)?;
    if c.erased_at.is_some() {
        return Err(AppError::Conflict("the customer was erased already".into()));
    }
    let under_way = rescue::Entity::find()
        .filter(rescue::Column::CustomerId.eq(c.id))
        .filter(rescue::Column::State.is_in(RESCUE_UNDER_WAY.iter().copied()))
        .count(txn)
        .await?;
    if under_way > 0 {
        return Err(AppError::Conflict(
            "a rescue of the customer is under way: decide once it is over".into(),
        ));
    }
    let placeholder = phone_placeholder(c.id);

    // the person: a pseudonym, no contact, no birthday, no notes, no consents
    customer::Entity::update_many()
        .col_expr(customer::Column::Name, Expr::value(alias))
        .col_expr(customer::Column::Phone, Expr::value(placeholder.clone()))
        .col_expr(customer::Column::Email, Expr::value(None::<String>))
        .col_expr(
            customer::Column::BirthdayCalendar,
            Expr::value(None::<String>),
        )
        .col_expr(customer::Column::BirthdayMonth, Expr::value(None::<i32>))
        .col_expr(customer::Column::BirthdayDay, Expr::value(None::<i32>))
        .col_expr(customer::Column::BirthdayLeap, Expr::value(None::<bool>))
        .col_expr(customer::Column::BirthdayYear, Expr::value(None::<i32>))
        .col_expr(customer::Column::Notes, Expr::value(None::<String>))
        .col_expr(customer::Column::Tags, Expr::value(serde_json::json!([])))
        .col_expr(
            customer::Column::Consents,
            Expr::value(serde_json::json!([])),
        )
        .col_expr(customer::Column::ErasedAt, Expr::value(now))
        .col_expr(
            customer::Column::Version,
            crate::services::col_plus(customer::Column::Version, 1),
        )
        .col_expr(customer::Column::UpdatedAt, Expr::value(now))
        .filter(customer::Column::Id.eq(c.id))
        .exec(txn)
        .await?;

    // messages to them, and to staff about them (a rescue alert, an
    // escalation): nothing queued leaves, what went keeps only the record
    // that it went
    let theirs = Condition::all()
        .add(outbox_message::Column::DealerId.eq(dealer_id))
        .add(
            Condition::any()
                .add(outbox_message::Column::CustomerId.eq(c.id))
                .add(outbox_message::Column::AboutCustomerId.eq(c.id)),
        );
    outbox::cancel_queued(txn, theirs.clone(), "the customer was erased", now).await?;
    // one being handed over now goes from the dispatcher's own copy: the row
    // keeps nothing of them whatever becomes of the call (settled, fenced,
    // reaped). On its way first, then settled: one that settles between the
    // two statements is found by the second (the other order would miss it)
    outbox::strip_on_the_way(txn, theirs.clone(), now).await?;
    outbox::strip_personal(txn, theirs, now).await?;
    // a copy they asked for holds everything erased here: it expires now, and
    // the purge after the commit deletes its ZIP
    data_export::Entity::update_many()
        .col_expr(data_export::Column::ExpiresAt, Expr::value(Some(now)))
        .filter(data_export::Column::CustomerId.eq(c.id))
        .filter(data_export::Column::State.eq(ExportState::Ready))
        .exec(txn)
        .await?;
    // one still to be built would be built from what is left: it fails now,
    // and a worker building it finds it taken and lets its ZIP go
    data_export::Entity::update_many()
        .col_expr(data_export::Column::State, Expr::value(ExportState::Failed))
        .col_expr(
            data_export::Column::Error,
            Expr::value(Some("the customer was erased".to_string())),
        )
        .col_expr(data_export::Column::PendingFor, Expr::value(None::<Uuid>))
        .col_expr(
            data_export::Column::LeaseUntil,
            Expr::value(None::<DateTime<Utc>>),
        )
        .col_expr(data_export::Column::FinishedAt, Expr::value(Some(now)))
        .filter(data_export::Column::CustomerId.eq(c.id))
        .filter(data_export::Column::State.is_in([ExportState::Queued, ExportState::Running]))
        .exec(txn)
        .await?;
    inbox_message::Entity::delete_many()
        .filter(inbox_message::Column::CustomerId.eq(c.id))
        .exec(txn)
        .await?;

    // the app stops at once: sessions revoked, bindings and codes gone
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .filter(refresh_token::Column::CustomerId.eq(c.id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    wechat_binding::Entity::delete_many()
        .filter(wechat_binding::Column::CustomerId.eq(c.id))
        .exec(txn)
        .await?;
    wechat_grant::Entity::delete_many()
        .filter(wechat_grant::Column::CustomerId.eq(c.id))
        .exec(txn)
        .await?;
    otp_code::Entity::delete_many()
        .filter(otp_code::Column::DealerId.eq(dealer_id))
        .filter(otp_code::Column::Phone.eq(c.phone.clone()))
        .exec(txn)
        .await?;
    // the saved answers of their own app requests repeat their record
    idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::DealerId.eq(dealer_id))
        .filter(idempotency_key::Column::ActorId.eq(c.id))
        .exec(txn)
        .await?;
    otp_quota::Entity::delete_many()
        .filter(otp_quota::Column::DealerId.eq(dealer_id))
        .filter(otp_quota::Column::Phone.eq(c.phone.clone()))
        .exec(txn)
        .await?;

    // their words and where they were
    appointment::Entity::update_many()
        .col_expr(appointment::Column::Concern, Expr::value(None::<String>))
        .col_expr(
            appointment::Column::ContactPhone,
            Expr::value(placeholder.clone()),
        )
        .filter(appointment::Column::CustomerId.eq(c.id))
        .exec(txn)
        .await?;
    let rescues: Vec<Uuid> = rescue::Entity::find()
        .select_only()
        .column(rescue::Column::Id)
        .filter(rescue::Column::CustomerId.eq(c.id))
        .into_tuple()
        .all(txn)
        .await?;
    rescue::Entity::update_many()
        .col_expr(rescue::Column::Note, Expr::value(None::<String>))
        .col_expr(rescue::Column::Address, Expr::value(None::<String>))
        .col_expr(rescue::Column::Lat, Expr::value(0.0_f64))
        .col_expr(rescue::Column::Lng, Expr::value(0.0_f64))
        .col_expr(rescue::Column::LocationRemovedAt, Expr::value(Some(now)))
        .col_expr(
            rescue::Column::ContactPhone,
            Expr::value(placeholder.clone()),
        )
        .filter(rescue::Column::CustomerId.eq(c.id))
        .exec(txn)
        .await?;
    if !rescues.is_empty() {
        rescue_event::Entity::update_many()
            .col_expr(rescue_event::Column::Note, Expr::value(None::<String>))
            .filter(rescue_event::Column::RescueId.is_in(rescues))
            .exec(txn)
            .await?;
    }
    csi_response::Entity::update_many()
        .col_expr(csi_response::Column::Comment, Expr::value(None::<String>))
        .filter(csi_response::Column::CustomerId.eq(c.id))
        .exec(txn)
        .await?;
    insurance_lead::Entity::update_many()
        .col_expr(
            insurance_lead::Column::QuoteNote,
            Expr::value(None::<String>),
        )
        .col_expr(
            insurance_lead::Column::OutcomeNote,
            Expr::value(None::<String>),
        )
        .filter(insurance_lead::Column::CustomerId.eq(c.id))
        .exec(txn)
        .await?;

    // what was open about them is closed: nobody is to call or answer them
    crate::services::enquiries::close_all_of(txn, c.id, actor.id, now).await?;
    enquiry::Entity::update_many()
        .col_expr(enquiry::Column::Text, Expr::value(""))
        .col_expr(enquiry::Column::Answer, Expr::value(None::<String>))
        .filter(enquiry::Column::CustomerId.eq(c.id))
        .exec(txn)
        .await?;
    crate::services::callbacks::entries::done_all_of(txn, c.id, now).await?;
    callback_call::Entity::update_many()
        .col_expr(callback_call::Column::Note, Expr::value(None::<String>))
        .filter(callback_call::Column::CustomerId.eq(c.id))
        .exec(txn)
        .await?;
    close_cases(txn, actor, c.id, now).await?;

    // photos of their car: the rows go now, the bytes after the commit; a
    // warranty claim keeps its order's photos (the brand's evidence)
    let claimed: HashSet<Uuid> = warranty_case::Entity::find()
        .select_only()
        .column(warranty_case::Column::OrderId)
        .filter(warranty_case::Column::DealerId.eq(dealer_id))
        .filter(
            warranty_case::Column::OrderId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(repair_order::Column::Id)
                    .from(repair_order::Entity)
                    .and_where(repair_order::Column::CustomerId.eq(c.id))
                    .to_owned(),
            ),
        )
        .into_tuple::<Uuid>()
        .all(txn)
        .await?
        .into_iter()
        .collect();
    let orders: Vec<Uuid> = repair_order::Entity::find()
        .select_only()
        .column(repair_order::Column::Id)
        .filter(repair_order::Column::DealerId.eq(dealer_id))
        .filter(repair_order::Column::CustomerId.eq(c.id))
        .into_tuple::<Uuid>()
        .all(txn)
        .await?
        .into_iter()
        .filter(|o| !claimed.contains(o))
        .collect();
    // what was said on their orders: the advisor's notes and the answers
    // they gave to extra work on every order; what they said was wrong with
    // the car on the orders no warranty claim needs as evidence
    repair_order::Entity::update_many()
        .col_expr(repair_order::Column::Notes, Expr::value(None::<String>))
        .filter(repair_order::Column::DealerId.eq(dealer_id))
        .filter(repair_order::Column::CustomerId.eq(c.id))
        .exec(txn)
        .await?;
    repair_order_job::Entity::update_many()
        .col_expr(
            repair_order_job::Column::ApprovalNote,
            Expr::value(None::<String>),
        )
        .filter(
            repair_order_job::Column::OrderId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(repair_order::Column::Id)
                    .from(repair_order::Entity)
                    .and_where(repair_order::Column::CustomerId.eq(c.id))
                    .to_owned(),
            ),
        )
        .exec(txn)
        .await?;
    let mut shas = Vec::new();
    for chunk in orders.chunks(500) {
        repair_order::Entity::update_many()
            .col_expr(
                repair_order::Column::Concerns,
                Expr::value(serde_json::json!([])),
            )
            .filter(repair_order::Column::Id.is_in(chunk.iter().copied()))
            .exec(txn)
            .await?;
        let photos = repair_order_photo::Entity::find()
            .filter(repair_order_photo::Column::OrderId.is_in(chunk.iter().copied()))
            .all(txn)
            .await?;
        shas.extend(photos.into_iter().map(|p| p.sha256));
        repair_order_photo::Entity::delete_many()
            .filter(repair_order_photo::Column::OrderId.is_in(chunk.iter().copied()))
            .exec(txn)
            .await?;
    }
    shas.sort();
    shas.dedup();
    Ok(shas)
}

/// Their open cases end `closed_unresolved` (the nearest ending: nothing was
/// resolved with them), each with a step saying why; the steps' notes and the
/// cases' summaries, which are their words, go.
async fn close_cases(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    customer_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let cases = case::Entity::find()
        .filter(case::Column::CustomerId.eq(customer_id))
        .all(txn)
        .await?;
    if cases.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = cases.iter().map(|c| c.id).collect();
    case_event::Entity::update_many()
        .col_expr(case_event::Column::Note, Expr::value(None::<String>))
        .filter(case_event::Column::CaseId.is_in(ids.clone()))
        .exec(txn)
        .await?;
    let open: Vec<&case::Model> = cases.iter().filter(|c| c.state.is_open()).collect();
    for c in &open {
        case_event::Entity::insert(case_event::ActiveModel {
            id: Set(Uuid::now_v7()),
            case_id: Set(c.id),
            action: Set("close".into()),
            from_state: Set(Some(c.state)),
            to_state: Set(CaseState::ClosedUnresolved),
            note: Set(Some("erased".into())),
            actor_id: Set(Some(actor.id)),
            on_behalf_of: Set(None),
            at: Set(now),
        })
        .exec_without_returning(txn)
        .await?;
    }
    case::Entity::update_many()
        .col_expr(
            case::Column::State,
            Expr::value(CaseState::ClosedUnresolved),
        )
        .col_expr(
            case::Column::Version,
            crate::services::col_plus(case::Column::Version, 1),
        )
        .col_expr(case::Column::UpdatedAt, Expr::value(now))
        .filter(case::Column::Id.is_in(open.iter().map(|c| c.id)))
        .exec(txn)
        .await?;
    case::Entity::update_many()
        .col_expr(case::Column::Summary, Expr::value(None::<String>))
        .filter(case::Column::Id.is_in(ids))
        .exec(txn)
        .await?;
    Ok(())
}

/// The refusal, told: the app's inbox, and a message on the customer's first
/// reachable channel.
async fn tell_refusal(
    state: &AppState,
    txn: &impl ConnectionTrait,
    r: &erasure_request::Model,
    reason: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let (d, _) = dealers::dealer_zone(txn, r.dealer_id).await?;
    let c = customer::Entity::find_by_id(r.customer_id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let kind = MessageKind::ErasureRefused;
    let params = ErasureRefusedParams {
        dealer_name: d.name.clone(),
        customer_name: c.name.clone(),
        reason: reason.into(),
    };
    let title = state
        .templates
        .render(c.locale, kind.as_str(), "title.txt", &params)?;
    let body = state
        .templates
        .render(c.locale, kind.as_str(), "sms.txt", &params)?;
    crate::services::inbox::post(
        txn,
        r.dealer_id,
        c.id,
        kind.as_str(),
        &title,
        &body,
        r.id,
        now,
    )
    .await?;
    let Some((channel, recipient)) = Addresses::of(txn, &c, now).await?.first() else {
        return Ok(());
    };
    outbox::enqueue(
        txn,
        NewMessage {
            dealer_id: r.dealer_id,
            customer_id: Some(c.id),
            about_customer_id: None,
            kind,
            // one refusal a request
            occurrence_key: format!("erasure:{}", r.id),
            channel,
            recipient,
            locale: c.locale,
            params: Params::ErasureRefused(params),
            subject: Some(title),
            // the short text on every channel, as every message keeps: an
            // email's parts are rendered when it is sent (`care::email`)
            body,
            due_at: now,
            parent_id: None,
        },
        now,
    )
    .await?;
    Ok(())
}

/// A request the actor may see: the deciders of its dealer, or its customer.
async fn visible(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> AppResult<erasure_request::Model> {
    let r = erasure_request::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    match actor.customer_id {
        Some(own) if own == r.customer_id && actor.dealer_id == r.dealer_id => Ok(r),
        Some(_) => Err(AppError::NotFound),
        None => {
            // the deciders, and the member of staff who asked on the customer's behalf
            if r.requested_by != Some(actor.id) {
                actor.require(DECIDERS)?;
            }
            if actor.sees_dealer(r.dealer_id) {
                Ok(r)
            } else {
                Err(AppError::NotFound)
            }
        }
    }
}

fn one(mut v: Vec<ErasureRequestView>) -> AppResult<ErasureRequestView> {
    v.pop()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("erasure request view missing")))
}

/// The requests as `actor` sees them, with their customers' names and steps
/// (two queries for the lot).
async fn views(
    db: &impl ConnectionTrait,
    actor: &Actor,
    rows: Vec<erasure_request::Model>,
    now: DateTime<Utc>,
) -> AppResult<Vec<ErasureRequestView>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let names: HashMap<Uuid, (String, bool)> = customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .column(customer::Column::Name)
        .column(customer::Column::ErasedAt)
        .filter(customer::Column::Id.is_in(rows.iter().map(|r| r.customer_id)))
        .into_tuple::<(Uuid, String, Option<DateTime<Utc>>)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, name, erased)| (id, (name, erased.is_some())))
        .collect();
    let mut events: HashMap<Uuid, Vec<ErasureEventView>> = HashMap::new();
    for e in erasure_request_event::Entity::find()
        .filter(erasure_request_event::Column::RequestId.is_in(ids))
        .order_by_asc(erasure_request_event::Column::At)
        .order_by_asc(erasure_request_event::Column::Id)
        .all(db)
        .await?
    {
        events
            .entry(e.request_id)
            .or_default()
            .push(ErasureEventView {
                actor_id: e.actor_id,
                from_state: e.from_state,
                to_state: e.to_state,
                reason: e.reason,
                at: e.at,
            });
    }
    let sight = actor.sight();
    Ok(rows
        .into_iter()
        .map(|r| {
            let (name, erased) = names.get(&r.customer_id).cloned().unwrap_or_default();
            // a pseudonym names nobody: shown whole to every role
            let customer_name = if erased { name } else { sight.name(&name) };
            ErasureRequestView {
                id: r.id,
                customer_id: r.customer_id,
                customer_name,
                state: r.state,
                requested_by: r.requested_by,
                note: r.note,
                due_at: r.due_at,
                overdue: r.state.is_open() && r.due_at < now,
                decided_by: r.decided_by,
                decided_at: r.decided_at,
                reason: r.reason,
                events: events.remove(&r.id).unwrap_or_default(),
                version: r.version,
                created_at: r.created_at,
                updated_at: r.updated_at,
            }
        })
        .collect())
}
