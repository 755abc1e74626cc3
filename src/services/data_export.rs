//! The customer's copy of their data (PIPL 查阅复制权, issue 14 §3):
//! everything held about one customer and their vehicles, as JSON
//! ([`collect`]), answered at once when small (`GET /me/export`) and built
//! as a ZIP with the photos by a background job otherwise
//! (`POST /me/exports`).
//!
//! Jobs: one pending job per customer (a unique index on `pending_for`,
//! which holds the customer's id while the job is queued or running), taken
//! by exactly one worker across instances with a conditional update on
//! `attempts` (the claim's version) that also sets a lease; a worker that
//! dies leaves its lease to run out and the next one takes the job over. A
//! finished ZIP is kept in the blob store for `privacy.export_days`, then
//! [`purge_expired`] (called by `care::sweeps`) marks the job expired and
//! deletes the bytes.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::Role;
use crate::domain::callback::{CallResult, CallbackReason, CallbackState};
use crate::domain::case::{CaseCategory, CaseSource, CaseState, Severity};
use crate::domain::customer::Channel;
use crate::domain::data_export::{ExportState, extension, too_large};
use crate::domain::enquiry::{EnquiryContact, EnquirySource, EnquiryState, EnquiryTopic};
use crate::domain::insurance::{PolicyKind, RenewalOutcome};
use crate::domain::message::MessageKind;
use crate::domain::outbox::MessageState;
use crate::domain::rescue::{RescueProblem, RescueState};
use crate::domain::vehicle::MileageSource;
use crate::entities::{
    appointment, callback, callback_call, case, csi_response, customer, data_export, enquiry,
    inbox_message, insurance_lead, mileage_reading, outbox_message, repair_order,
    repair_order_photo, rescue, vehicle, wechat_binding,
};
use crate::error::{AppError, AppResult};
use crate::services::appointments::Appointment;
use crate::services::consent_history::{self, ConsentChange};
use crate::services::csi::AnswerInput;
use crate::services::customers::Customer;
use crate::services::idempotency::{self, IdempotencyKey, Outcome, Reservation, Saved};
use crate::services::repair_orders::RepairOrder;
use crate::services::repair_orders::photos::{self, Photo};
use crate::services::vehicles::Vehicle;
use crate::services::{from_stored, page_limit, storage};
use crate::state::AppState;

/// Staff who may export a customer's data on their behalf (the service
/// manager and the dealer's admin; logged as an `export` look).
pub const STAFF_EXPORTERS: &[Role] = &[Role::ServiceManager, Role::DealerAdmin];

/// How long a worker holds a job before another may take it over.
pub const LEASE_SECS: i64 = 600;
/// Takeovers after which a job is given up (failed; the customer asks again).
pub const MAX_ATTEMPTS: i32 = 3;

/// A message sent (or to be sent) to the customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedMessage {
    pub id: Uuid,
    pub kind: MessageKind,
    pub channel: Channel,
    pub state: MessageState,
    /// The phone, address or account it went to (empty once redacted).
    pub recipient: String,
    pub subject: Option<String>,
    /// The text as sent; absent once removed under the retention rules
    /// (the record that it went stays) and for login codes.
    pub body: Option<String>,
    pub due_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub settled_at: Option<DateTime<Utc>>,
    /// When its text and recipient were removed.
    pub redacted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// The customer's answers to a satisfaction survey.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedSurveyAnswer {
    pub id: Uuid,
    pub repair_order_id: Uuid,
    /// `survey` (the link) or `sms` (a reply).
    pub source: String,
    pub answers: Vec<AnswerInput>,
    /// 0–10.
    pub recommend: Option<i32>,
    pub comment: Option<String>,
    /// An SMS reply's rating, 1–5.
    pub quick_rating: Option<i32>,
    pub created_at: DateTime<Utc>,
}

/// A case (complaint, unhappy customer) about the customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedCase {
    pub id: Uuid,
    pub vehicle_id: Option<Uuid>,
    pub repair_order_id: Option<Uuid>,
    pub source: CaseSource,
    pub category: CaseCategory,
    pub severity: Severity,
    pub state: CaseState,
    pub summary: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An enquiry or complaint the customer made, with its answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedEnquiry {
    pub id: Uuid,
    pub vehicle_id: Option<Uuid>,
    pub repair_order_id: Option<Uuid>,
    pub topic: EnquiryTopic,
    pub text: String,
    pub preferred_contact: EnquiryContact,
    pub source: EnquirySource,
    pub state: EnquiryState,
    pub answer: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A roadside rescue, with where the customer was.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedRescue {
    pub id: Uuid,
    pub vehicle_id: Uuid,
    pub problem: RescueProblem,
    pub note: Option<String>,
    /// Null once the location was removed (`location_removed_at`).
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub address: Option<String>,
    pub location_removed_at: Option<DateTime<Utc>>,
    pub contact_phone: String,
    pub state: RescueState,
    pub repair_order_id: Option<Uuid>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub on_site_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A call the customer-care desk was to make to the customer (a follow-up,
/// a complaint's callback), with every call made and what was said.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedCallback {
    pub id: Uuid,
    pub reason: CallbackReason,
    pub repair_order_id: Option<Uuid>,
    pub case_id: Option<Uuid>,
    pub state: CallbackState,
    pub due_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub calls: Vec<ExportedCall>,
}

/// One call of a callback.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedCall {
    pub called_at: DateTime<Utc>,
    pub result: CallResult,
    pub note: Option<String>,
}

/// A message in the app's inbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedInboxMessage {
    pub id: Uuid,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// A mileage reading of one of their vehicles (from a visit, the app, an import).
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedMileage {
    pub vehicle_id: Uuid,
    pub mileage_km: i64,
    pub read_on: NaiveDate,
    pub source: MileageSource,
    pub correction: bool,
}

/// A WeChat account bound to the customer (the openid WeChat gave us).
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedWechatBinding {
    pub openid: String,
    pub bound_at: DateTime<Utc>,
}

/// An insurance renewal lead, with the quote asked for and its outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedInsuranceLead {
    pub id: Uuid,
    pub vehicle_id: Uuid,
    pub policy: PolicyKind,
    pub expiry: NaiveDate,
    pub quote_requested_at: Option<DateTime<Utc>>,
    pub quote_note: Option<String>,
    pub outcome: Option<RenewalOutcome>,
    pub insurer: Option<String>,
    /// The premium in fen (1/100 CNY).
    pub premium_cents: Option<i64>,
    pub new_expiry: Option<NaiveDate>,
    pub outcome_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Everything held about one customer (`export.json` in the ZIP).
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerDataExport {
    pub generated_at: DateTime<Utc>,
    /// The archive record in full, with the current consents.
    pub customer: Customer,
    /// Every change of the consents, oldest first.
    pub consent_history: Vec<ConsentChange>,
    pub vehicles: Vec<Vehicle>,
    pub appointments: Vec<Appointment>,
    /// With their lines (`jobs`).
    pub repair_orders: Vec<RepairOrder>,
    /// The orders' photos; `url` downloads each (with the customer's token).
    pub photos: Vec<Photo>,
    pub messages: Vec<ExportedMessage>,
    pub survey_answers: Vec<ExportedSurveyAnswer>,
    pub cases: Vec<ExportedCase>,
    pub enquiries: Vec<ExportedEnquiry>,
    pub rescues: Vec<ExportedRescue>,
    pub insurance_leads: Vec<ExportedInsuranceLead>,
    pub callbacks: Vec<ExportedCallback>,
    pub inbox: Vec<ExportedInboxMessage>,
    pub mileage_readings: Vec<ExportedMileage>,
    pub wechat_bindings: Vec<ExportedWechatBinding>,
}

/// The calling customer's own id (403 for staff: they use `/customers/{id}/export`).
pub fn own(actor: &Actor) -> AppResult<Uuid> {
    actor.customer_id.ok_or(AppError::Forbidden(
        "the customer's own data; staff use /customers/{id}/export",
    ))
}

/// How many orders and photos the customer has: what decides between an
/// answer now and a job.
pub async fn size(db: &impl ConnectionTrait, customer_id: Uuid) -> AppResult<(u64, u64)> {
    let orders = repair_order::Entity::find()
        .filter(repair_order::Column::CustomerId.eq(customer_id))
        .count(db)
        .await?;
    let photos = repair_order_photo::Entity::find()
        .filter(repair_order_photo::Column::OrderId.in_subquery(orders_of(customer_id)))
        .count(db)
        .await?;
    Ok((orders, photos))
}

fn orders_of(customer_id: Uuid) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(repair_order::Column::Id)
        .from(repair_order::Entity)
        .and_where(repair_order::Column::CustomerId.eq(customer_id))
        .to_owned()
}

/// The copy answered in the request, unless it is too large (409 pointing to the job).
pub async fn direct(
    db: &impl ConnectionTrait,
    customer_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<CustomerDataExport> {
    let (orders, photos) = size(db, customer_id).await?;
    if too_large(orders, photos) {
        return Err(AppError::Conflict(format!(
            "{orders} repair orders and {photos} photos are too many to answer at once: \
             POST /api/v1/me/exports builds the copy as a ZIP and GET /api/v1/me/exports/{{id}} tells when it is ready"
        )));
    }
    collect(db, customer_id, now).await
}

/// Everything held about the customer: each kind of record read by the
/// customer's id only (or by their orders' ids), so nothing of another
/// customer can be in it.
pub async fn collect(
    db: &impl ConnectionTrait,
    customer_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<CustomerDataExport> {
    let c = customer::Entity::find_by_id(customer_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let (_, tz) = crate::services::dealers::dealer_zone(db, c.dealer_id).await?;
    let vehicles: Vec<Vehicle> = vehicle::Entity::find()
        .filter(vehicle::Column::CustomerId.eq(customer_id))
        .order_by_asc(vehicle::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Vehicle::from)
        .collect();
    let appointment_rows = appointment::Entity::find()
        .filter(appointment::Column::CustomerId.eq(customer_id))
        .order_by_asc(appointment::Column::Id)
        .all(db)
        .await?;
    let appointments = crate::services::appointments::views(db, tz, appointment_rows).await?;
    let mut repair_orders = Vec::new();
    for o in repair_order::Entity::find()
        .filter(repair_order::Column::CustomerId.eq(customer_id))
        .order_by_asc(repair_order::Column::Id)
        .all(db)
        .await?
    {
        repair_orders.push(crate::services::repair_orders::view(db, o).await?);
    }
    let photos = repair_order_photo::Entity::find()
        .filter(repair_order_photo::Column::OrderId.in_subquery(orders_of(customer_id)))
        .order_by_asc(repair_order_photo::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(photos::view)
        .collect();
    let messages = outbox_message::Entity::find()
        .filter(outbox_message::Column::CustomerId.eq(customer_id))
        .order_by_asc(outbox_message::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|m| ExportedMessage {
            id: m.id,
            kind: m.kind,
            channel: m.channel,
            state: m.state,
            recipient: m.recipient,
            subject: m.subject,
            // a body stripped under the retention rules is an empty string;
            // a login code is nobody's business once used
            body: (m.redacted_at.is_none() && !m.body.is_empty() && !m.kind.carries_secret())
                .then_some(m.body),
            due_at: m.due_at,
            sent_at: m.sent_at,
            settled_at: m.settled_at,
            redacted_at: m.redacted_at,
            created_at: m.created_at,
        })
        .collect();
    let survey_answers = csi_response::Entity::find()
        .filter(csi_response::Column::CustomerId.eq(customer_id))
        .order_by_asc(csi_response::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|r| {
            Ok(ExportedSurveyAnswer {
                answers: from_stored(&r.answers, "survey answers")?,
                id: r.id,
                repair_order_id: r.order_id,
                source: r.source,
                recommend: r.recommend,
                comment: r.comment,
                quick_rating: r.quick_rating,
                created_at: r.created_at,
            })
        })
        .collect::<AppResult<_>>()?;
    let cases = case::Entity::find()
        .filter(case::Column::CustomerId.eq(customer_id))
        .order_by_asc(case::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|c| ExportedCase {
            id: c.id,
            vehicle_id: c.vehicle_id,
            repair_order_id: c.order_id,
            source: c.source,
            category: c.category,
            severity: c.severity,
            state: c.state,
            summary: c.summary,
            created_at: c.created_at,
            updated_at: c.updated_at,
        })
        .collect();
    let enquiries = enquiry::Entity::find()
        .filter(enquiry::Column::CustomerId.eq(customer_id))
        .order_by_asc(enquiry::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|e| ExportedEnquiry {
            id: e.id,
            vehicle_id: e.vehicle_id,
            repair_order_id: e.order_id,
            topic: e.topic,
            text: e.text,
            preferred_contact: e.preferred_contact,
            source: e.source,
            state: e.state,
            answer: e.answer,
            answered_at: e.answered_at,
            closed_at: e.closed_at,
            created_at: e.created_at,
        })
        .collect();
    let rescues = rescue::Entity::find()
        .filter(rescue::Column::CustomerId.eq(customer_id))
        .order_by_asc(rescue::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|r| ExportedRescue {
            id: r.id,
            vehicle_id: r.vehicle_id,
            problem: r.problem,
            note: r.note,
            lat: r.location_removed_at.is_none().then_some(r.lat),
            lng: r.location_removed_at.is_none().then_some(r.lng),
            address: r.address,
            location_removed_at: r.location_removed_at,
            contact_phone: r.contact_phone,
            state: r.state,
            repair_order_id: r.repair_order_id,
            accepted_at: r.accepted_at,
            on_site_at: r.on_site_at,
            closed_at: r.closed_at,
            cancelled_at: r.cancelled_at,
            created_at: r.created_at,
        })
        .collect();
    let insurance_leads = insurance_lead::Entity::find()
        .filter(insurance_lead::Column::CustomerId.eq(customer_id))
        .order_by_asc(insurance_lead::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|l| ExportedInsuranceLead {
            id: l.id,
            vehicle_id: l.vehicle_id,
            policy: l.policy,
            expiry: l.expiry,
            quote_requested_at: l.quote_requested_at,
            quote_note: l.quote_note,
            outcome: l.outcome,
            insurer: l.insurer,
            premium_cents: l.premium_cents,
            new_expiry: l.new_expiry,
            outcome_at: l.outcome_at,
            created_at: l.created_at,
        })
        .collect();
    let mut calls: HashMap<Uuid, Vec<ExportedCall>> = HashMap::new();
    for c in callback_call::Entity::find()
        .filter(callback_call::Column::CustomerId.eq(customer_id))
        .order_by_asc(callback_call::Column::CalledAt)
        .order_by_asc(callback_call::Column::Id)
        .all(db)
        .await?
    {
        calls.entry(c.callback_id).or_default().push(ExportedCall {
            called_at: c.called_at,
            result: c.result,
            note: c.note,
        });
    }
    let callbacks = callback::Entity::find()
        .filter(callback::Column::CustomerId.eq(customer_id))
        .order_by_asc(callback::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|b| ExportedCallback {
            calls: calls.remove(&b.id).unwrap_or_default(),
            id: b.id,
            reason: b.reason,
            repair_order_id: b.order_id,
            case_id: b.case_id,
            state: b.state,
            due_at: b.due_at,
            created_at: b.created_at,
        })
        .collect();
    let inbox = inbox_message::Entity::find()
        .filter(inbox_message::Column::CustomerId.eq(customer_id))
        .order_by_asc(inbox_message::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|m| ExportedInboxMessage {
            id: m.id,
            kind: m.kind,
            title: m.title,
            body: m.body,
            created_at: m.created_at,
            read_at: m.read_at,
        })
        .collect();
    let mileage_readings = mileage_reading::Entity::find()
        .filter(
            mileage_reading::Column::VehicleId
                .is_in(vehicles.iter().map(|v| v.id).collect::<Vec<_>>()),
        )
        .order_by_asc(mileage_reading::Column::VehicleId)
        .order_by_asc(mileage_reading::Column::ReadOn)
        .order_by_asc(mileage_reading::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|r| ExportedMileage {
            vehicle_id: r.vehicle_id,
            mileage_km: r.mileage_km,
            read_on: r.read_on,
            source: r.source,
            correction: r.correction,
        })
        .collect();
    let wechat_bindings = wechat_binding::Entity::find()
        .filter(wechat_binding::Column::CustomerId.eq(customer_id))
        .all(db)
        .await?
        .into_iter()
        .map(|b| ExportedWechatBinding {
            openid: b.openid,
            bound_at: b.created_at,
        })
        .collect();
    Ok(CustomerDataExport {
        generated_at: now,
        consent_history: consent_history::all(db, customer_id).await?,
        customer: Customer::try_from(c)?,
        vehicles,
        appointments,
        repair_orders,
        photos,
        messages,
        survey_answers,
        cases,
        enquiries,
        rescues,
        insurance_leads,
        callbacks,
        inbox,
        mileage_readings,
        wechat_bindings,
    })
}

/// A staff export of a customer (the service manager, the dealer's admin):
/// the customer must be one they may see (404 otherwise). The caller logs it.
pub async fn for_staff(
    db: &impl ConnectionTrait,
    actor: &Actor,
    customer_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<CustomerDataExport> {
    if actor.is_customer() {
        return Err(AppError::Forbidden("customers read /me/export"));
    }
    actor.require(STAFF_EXPORTERS)?;
    let m = crate::services::customers::load(db, actor, customer_id).await?;
    collect(db, m.id, now).await
}

// ------------------------------------------------------------------ jobs

/// An export job as the customer sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DataExportJob {
    pub id: Uuid,
    pub state: ExportState,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Until when the ZIP can be downloaded (set when it is ready).
    pub expires_at: Option<DateTime<Utc>>,
    /// The ZIP's size in bytes, when ready.
    pub bytes: Option<i64>,
    /// Where to fetch the ZIP (`GET`, with the bearer token), when ready.
    pub download_url: Option<String>,
    /// Why a `failed` job stopped.
    pub error: Option<String>,
}

impl From<data_export::Model> for DataExportJob {
    fn from(m: data_export::Model) -> Self {
        DataExportJob {
            download_url: (m.state == ExportState::Ready)
                .then(|| format!("/api/v1/me/exports/{}/download", m.id)),
            id: m.id,
            state: m.state,
            created_at: m.created_at,
            finished_at: m.finished_at,
            expires_at: m.expires_at,
            bytes: m.bytes,
            error: m.error,
        }
    }
}

/// Asks for the copy as a ZIP: a new job, or the customer's job still
/// pending (one at a time). With `Idempotency-Key`, a retry answers the first answer.
pub async fn request(
    state: &AppState,
    actor: &Actor,
    key: Option<&IdempotencyKey>,
) -> AppResult<Outcome<DataExportJob>> {
    let customer_id = own(actor)?;
    let now = state.clock.now();
    idempotency::once(
        &state.db,
        actor,
        key,
        &("data-export", customer_id),
        now,
        async |r| request_now(&state.db, actor, customer_id, r, now).await,
    )
    .await
}

async fn request_now(
    db: &DatabaseConnection,
    actor: &Actor,
    customer_id: Uuid,
    r: Option<&Reservation>,
    now: DateTime<Utc>,
) -> AppResult<DataExportJob> {
    let txn = db.begin().await?;
    // the insert comes first (SQLite's write lock at once); of two requests
    // at once the unique `pending_for` lets one in, and both read that job
    let id = Uuid::now_v7();
    data_export::Entity::insert(data_export::ActiveModel {
        id: Set(id),
        dealer_id: Set(actor.dealer_id),
        customer_id: Set(customer_id),
        state: Set(ExportState::Queued),
        pending_for: Set(Some(customer_id)),
        requested_by: Set(None),
        attempts: Set(0),
        lease_until: Set(None),
        sha256: Set(None),
        bytes: Set(None),
        error: Set(None),
        created_at: Set(now),
        started_at: Set(None),
        finished_at: Set(None),
        expires_at: Set(None),
        purged_at: Set(None),
    })
    .on_conflict_do_nothing_on([data_export::Column::PendingFor])
    .exec(&txn)
    .await?;
    let job = data_export::Entity::find()
        .filter(data_export::Column::PendingFor.eq(customer_id))
        .one(&txn)
        .await?
        .ok_or_else(|| {
            AppError::ChangedMeanwhile("the export changed meanwhile; try again".into())
        })?;
    let view = DataExportJob::from(job);
    if let Some(r) = r {
        let answer = Saved {
            status: 202,
            body: serde_json::to_string(&view).map_err(anyhow::Error::from)?,
        };
        if !idempotency::complete(&txn, r, &answer).await? {
            return Err(AppError::InProgress {
                retry_after_secs: 1,
            });
        }
    }
    txn.commit().await?;
    Ok(view)
}

/// One of the customer's jobs, or 404 (another customer's job too).
pub async fn load(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> AppResult<data_export::Model> {
    let customer_id = own(actor)?;
    data_export::Entity::find_by_id(id)
        .filter(data_export::Column::CustomerId.eq(customer_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// The customer's jobs, newest first (at most `limit`, default 50).
pub async fn mine(
    db: &impl ConnectionTrait,
    actor: &Actor,
    limit: Option<u64>,
) -> AppResult<Vec<DataExportJob>> {
    let customer_id = own(actor)?;
    Ok(data_export::Entity::find()
        .filter(data_export::Column::CustomerId.eq(customer_id))
        .order_by_desc(data_export::Column::Id)
        .limit(page_limit(limit)?)
        .all(db)
        .await?
        .into_iter()
        .map(DataExportJob::from)
        .collect())
}

/// The ZIP of a ready job; 410 once expired, 409 while not ready.
pub async fn download(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<Vec<u8>> {
    let job = load(&state.db, actor, id).await?;
    let now = state.clock.now();
    let expired = job.state == ExportState::Expired
        || (job.state == ExportState::Ready && job.expires_at.is_none_or(|e| now >= e));
    if expired {
        return Err(AppError::Gone(format!(
            "the export was kept for {} days and has been deleted; ask for a new one with POST /api/v1/me/exports",
            state.settings.privacy.export_days
        )));
    }
    if job.state != ExportState::Ready {
        return Err(AppError::Conflict(format!(
            "the export is {}; download it when it is ready",
            job.state
        )));
    }
    let sha = job
        .sha256
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("ready export {id} without bytes")))?;
    state
        .blobs
        .get(&sha)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the ZIP of export {id} is missing")))
}

/// What one look for a job did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    /// Nothing to do.
    Idle,
    /// Another worker claimed the job first.
    Lost(Uuid),
    /// This worker built (or failed) the job.
    Built(Uuid),
}

/// Takes the oldest job that is queued, or running with a lease run out,
/// and builds it. Of several workers (in one instance or many) looking at
/// once, exactly one claims a job: the update is conditional on the
/// `attempts` it read.
pub async fn run_next(state: &AppState) -> anyhow::Result<Run> {
    let db = &state.db;
    let now = state.clock.now();
    let Some(job) = data_export::Entity::find()
        .filter(claimable(now))
        .order_by_asc(data_export::Column::CreatedAt)
        .one(db)
        .await?
    else {
        return Ok(Run::Idle);
    };
    let attempts = job.attempts + 1;
    let taken = data_export::Entity::update_many()
        .col_expr(
            data_export::Column::State,
            Expr::value(ExportState::Running),
        )
        .col_expr(data_export::Column::Attempts, Expr::value(attempts))
        .col_expr(
            data_export::Column::LeaseUntil,
            Expr::value(Some(now + Duration::seconds(LEASE_SECS))),
        )
        .col_expr(
            data_export::Column::StartedAt,
            Expr::value(Some(job.started_at.unwrap_or(now))),
        )
        .filter(data_export::Column::Id.eq(job.id))
        .filter(data_export::Column::Attempts.eq(job.attempts))
        .filter(claimable(now))
        .exec(db)
        .await?;
    if taken.rows_affected == 0 {
        return Ok(Run::Lost(job.id));
    }
    if attempts > MAX_ATTEMPTS {
        let msg = format!("stopped {} times without finishing", attempts - 1);
        finish(state, &job, attempts, Err(msg)).await?;
        return Ok(Run::Built(job.id));
    }
    let built = holding(state, job.id, attempts, build_zip(state, job.customer_id)).await;
    let outcome = match built {
        Ok(sha_len) => Ok(sha_len),
        Err(e) => {
            tracing::error!(job = %job.id, error = ?e, "data export failed");
            Err(e.to_string())
        }
    };
    finish(state, &job, attempts, outcome).await?;
    Ok(Run::Built(job.id))
}

/// Runs `work` while renewing the job's lease every third of it, so a build
/// longer than the lease is not taken over; stops the work when the job is
/// no longer this worker's (taken over, or failed by an erasure).
async fn holding<T>(
    state: &AppState,
    job: Uuid,
    attempts: i32,
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let mut work = std::pin::pin!(work);
    let period = StdDuration::from_secs((LEASE_SECS / 3).unsigned_abs());
    let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tokio::select! {
            done = &mut work => return done,
            _ = beat.tick() => match renew(state, job, attempts).await {
                Ok(true) => {}
                Ok(false) => anyhow::bail!("the job is no longer this worker's"),
                // the lease has two thirds left: the next beat tries again
                Err(e) => tracing::warn!(job = %job, error = ?e, "data export: lease not renewed"),
            },
        }
    }
}

/// Extends the lease of a job this worker holds (claimed with `attempts`)
/// to a full lease from now; answers whether it still holds it.
pub async fn renew(state: &AppState, job: Uuid, attempts: i32) -> anyhow::Result<bool> {
    let now = state.clock.now();
    let res = data_export::Entity::update_many()
        .col_expr(
            data_export::Column::LeaseUntil,
            Expr::value(Some(now + Duration::seconds(LEASE_SECS))),
        )
        .filter(data_export::Column::Id.eq(job))
        .filter(data_export::Column::Attempts.eq(attempts))
        .filter(data_export::Column::State.eq(ExportState::Running))
        .exec(&state.db)
        .await?;
    Ok(res.rows_affected == 1)
}

fn claimable(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(data_export::Column::State.eq(ExportState::Queued))
        .add(
            Condition::all()
                .add(data_export::Column::State.eq(ExportState::Running))
                .add(data_export::Column::LeaseUntil.lt(now)),
        )
}

/// Builds the ZIP (`export.json` and `photos/<id>.<ext>`) and stores it:
/// answers its SHA-256 and size.
async fn build_zip(state: &AppState, customer_id: Uuid) -> anyhow::Result<(String, i64)> {
    let now = state.clock.now();
    let data = collect(&state.db, customer_id, now)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let json = serde_json::to_vec_pretty(&data)?;
    let mut files: Vec<(String, Vec<u8>)> = Vec::with_capacity(data.photos.len());
    for p in &data.photos {
        let Some(bytes) = state.blobs.get(&p.sha256).await? else {
            anyhow::bail!("the bytes of photo {} are missing", p.id);
        };
        files.push((
            format!("photos/{}.{}", p.id, extension(&p.content_type)),
            bytes,
        ));
    }
    // compressing is CPU work: off the runtime's threads
    let zip = tokio::task::spawn_blocking(move || zip_of(&json, &files)).await??;
    let len = i64::try_from(zip.len())?;
    // released before it is stored, due once the lease is out: if this
    // worker dies before its job points at the ZIP, the sweep deletes it
    // (a job that does point at it keeps it)
    let sha = storage::sha256_hex(&zip);
    // (from now, not from the build's start: the lease was renewed meanwhile)
    let now = state.clock.now();
    storage::release_from(
        &state.db,
        [sha.clone()],
        now,
        now + Duration::seconds(LEASE_SECS),
    )
    .await?;
    state.blobs.put(zip).await?;
    Ok((sha, len))
}

/// The archive: the JSON deflated, the photos (already compressed) stored.
pub fn zip_of(json: &[u8], photos: &[(String, Vec<u8>)]) -> anyhow::Result<Vec<u8>> {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file(
        "export.json",
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated),
    )?;
    w.write_all(json)?;
    for (name, bytes) in photos {
        w.start_file(
            name.as_str(),
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored),
        )?;
        w.write_all(bytes)?;
    }
    Ok(w.finish()?.into_inner())
}

/// Ends a job: ready with its ZIP, or failed. Only while this worker still
/// holds it (`attempts`); the pending mark is cleared so the customer may ask again.
async fn finish(
    state: &AppState,
    job: &data_export::Model,
    attempts: i32,
    outcome: Result<(String, i64), String>,
) -> anyhow::Result<()> {
    let now = state.clock.now();
    let mut update = data_export::Entity::update_many()
        .col_expr(
            data_export::Column::PendingFor,
            Expr::value(Option::<Uuid>::None),
        )
        .col_expr(data_export::Column::FinishedAt, Expr::value(Some(now)))
        .col_expr(
            data_export::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        );
    let built = outcome.as_ref().ok().map(|(sha, _)| sha.clone());
    update = match outcome {
        Ok((sha, len)) => update
            .col_expr(data_export::Column::State, Expr::value(ExportState::Ready))
            .col_expr(data_export::Column::Sha256, Expr::value(Some(sha)))
            .col_expr(data_export::Column::Bytes, Expr::value(Some(len)))
            .col_expr(
                data_export::Column::ExpiresAt,
                Expr::value(Some(
                    now + Duration::days(i64::from(state.settings.privacy.export_days)),
                )),
            ),
        Err(msg) => update
            .col_expr(data_export::Column::State, Expr::value(ExportState::Failed))
            .col_expr(data_export::Column::Error, Expr::value(Some(msg))),
    };
    let res = update
        .filter(data_export::Column::Id.eq(job.id))
        .filter(data_export::Column::Attempts.eq(attempts))
        .filter(data_export::Column::State.eq(ExportState::Running))
        .exec(&state.db)
        .await?;
    if res.rows_affected == 0 {
        // our lease ran out and another worker has the job: its ZIP will do,
        // and ours goes (unless it is the same bytes)
        tracing::warn!(job = %job.id, "data export taken over before it finished");
        if built.is_some() {
            storage::release(&state.db, built, now).await?;
            storage::sweep(state).await?;
        }
    }
    Ok(())
}

/// Runs every job there is (the worker's loop; tests call it to drain).
pub async fn run_pending(state: &AppState) -> anyhow::Result<usize> {
    let mut built = 0;
    // bounded: a job that cannot be claimed is not looked at forever
    for _ in 0..100 {
        match run_next(state).await? {
            Run::Idle => break,
            Run::Lost(_) => continue,
            Run::Built(_) => built += 1,
        }
    }
    Ok(built)
}

/// Expires ready jobs past their time and deletes their ZIPs (called by
/// `care::sweeps`). Each job says `expired` and releases its ZIP in one
/// transaction, so no download serves the bytes any more and the bytes are
/// deleted (by `storage::sweep`, now and until they are gone) unless another
/// job or a photo still holds the same bytes. Answers the jobs expired.
pub async fn purge_expired(state: &AppState) -> anyhow::Result<u64> {
    let expired = expire_due(state).await?;
    if expired > 0 {
        storage::sweep(state).await?;
    }
    Ok(expired)
}

/// [`purge_expired`] without the sweep, for a caller that sweeps anyway
/// (an erasure, which releases photos too).
pub async fn expire_due(state: &AppState) -> anyhow::Result<u64> {
    let now = state.clock.now();
    let due = data_export::Entity::find()
        .filter(data_export::Column::State.eq(ExportState::Ready))
        .filter(data_export::Column::ExpiresAt.lte(now))
        .limit(500)
        .all(&state.db)
        .await?;
    let mut expired = 0;
    for job in due {
        let txn = state.db.begin().await?;
        let res = data_export::Entity::update_many()
            .col_expr(
                data_export::Column::State,
                Expr::value(ExportState::Expired),
            )
            .col_expr(data_export::Column::PurgedAt, Expr::value(Some(now)))
            .filter(data_export::Column::Id.eq(job.id))
            .filter(data_export::Column::State.eq(ExportState::Ready))
            .exec(&txn)
            .await?;
        if res.rows_affected == 0 {
            continue; // another instance has it
        }
        storage::release(&txn, job.sha256, now).await?;
        txn.commit().await?;
        expired += 1;
    }
    Ok(expired)
}

/// The export worker beside the server (`privacy.export_worker`): builds
/// queued jobs, and jobs whose worker died once their lease runs out,
/// looking every few seconds.
pub fn spawn_worker(state: actix_web::web::Data<AppState>) {
    const POLL: StdDuration = StdDuration::from_secs(5);
    tokio::spawn(async move {
        loop {
            if let Err(e) = run_pending(&state).await {
                tracing::error!(error = ?e, "data export worker");
            }
            tokio::time::sleep(POLL).await;
        }
    });
}
