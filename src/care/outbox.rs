//! The outbox: every message the product sends is a row here, written in the
//! transaction of the change it announces (so a message exists exactly when
//! its cause does), and delivered by `care::dispatcher`.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::Role;
use crate::domain::customer::{Channel, Locale};
use crate::domain::message::MessageKind;
use crate::domain::outbox::{AttemptOutcome, Event, MessageState, next};
use crate::domain::privacy::Sight;
use crate::entities::{customer, outbox_attempt, outbox_message};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// A login code's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtpParams {
    pub dealer_name: String,
    pub code: String,
    pub minutes: i64,
}

/// An appointment notice's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppointmentParams {
    pub dealer_name: String,
    /// The slot in the dealer's zone, `YYYY-MM-DD HH:MM`.
    pub when: String,
    pub vehicle: String,
    pub services: String,
}

/// A service reminder's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReminderParams {
    pub dealer_name: String,
    pub vehicle: String,
    /// When it falls due, a local date `YYYY-MM-DD`.
    pub due: String,
    /// Why: a mileage or a time since the last service.
    pub reason: String,
}

/// A greeting's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GreetingParams {
    pub dealer_name: String,
    pub customer_name: String,
    /// The holiday or occasion, in the customer's language.
    pub occasion: String,
}

/// Extra work awaiting the customer's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraWorkParams {
    pub dealer_name: String,
    pub vehicle: String,
    /// The repair order's number (`RO…`).
    pub order_number: String,
    /// The proposed lines' descriptions, joined.
    pub lines: String,
}

/// An inspection or insurance renewal's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenewalParams {
    pub dealer_name: String,
    pub vehicle: String,
    /// The expiry or due date, a local date `YYYY-MM-DD`.
    pub due: String,
    /// What falls due, in the customer's language (年检, 交强险, 商业险…).
    pub item: String,
}

/// The post-repair follow-up's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowupParams {
    pub dealer_name: String,
    pub vehicle: String,
    pub order_number: String,
    /// `{public_base_url}/s/{token}`: the signed, expiring survey link.
    pub survey_url: String,
}

/// The daily report's values (to staff): the headline figures, printed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DailyReportParams {
    pub dealer_name: String,
    /// The local day, `YYYY-MM-DD`.
    pub date: String,
    pub revenue: String,
    pub vehicles_in: String,
    pub vehicles_delivered: String,
    /// CSI, or a dash when no response came.
    pub csi: String,
    /// A percentage, or a dash when nothing was delivered.
    pub follow_up: String,
    /// The whole report (`GET /api/v1/reports/daily`).
    pub report_url: String,
}

/// The answer to a customer's enquiry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnquiryAnswerParams {
    pub dealer_name: String,
    pub customer_name: String,
    /// What the enquiry was about, in the customer's language (价格, Booking…).
    pub topic: String,
    /// The customer centre's answer, as written.
    pub answer: String,
}

/// An escalation's values (to staff), each in the message's language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationParams {
    pub dealer_name: String,
    pub customer_name: String,
    /// What the customer is unhappy about (价格, Price…).
    pub category: String,
    pub severity: String,
    /// The due time missed, in the dealer's zone, `YYYY-MM-DD HH:MM`.
    pub due: String,
    /// What is late: the first contact or the resolution.
    pub late: String,
}

/// A bulk-read alert's values (to staff).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyAlertParams {
    pub dealer_name: String,
    /// The member of staff's display name and username.
    pub user_name: String,
    /// How many distinct customers they read in the hour.
    pub customers: String,
    /// The hour's start, in the dealer's zone, `YYYY-MM-DD HH:MM`.
    pub since: String,
}

/// A rescue alert's values (to staff on duty and the service manager).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RescueAlertParams {
    pub dealer_name: String,
    pub customer_name: String,
    pub vehicle: String,
    /// What happened, in the message's language (抛锚, flat tyre…).
    pub problem: String,
    /// The address given, else `lat,lng`.
    pub location: String,
    pub contact_phone: String,
    /// When it was asked for, in the dealer's zone, `YYYY-MM-DD HH:MM`.
    pub requested: String,
    /// Why this alert: a new rescue, or nobody took it in time.
    pub reason: String,
}

/// A rescue's news to its customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RescueUpdateParams {
    pub dealer_name: String,
    pub vehicle: String,
    /// Where the rescue stands, in the customer's language.
    pub status: String,
    /// More about it (the rescue vehicle and its ETA), or empty.
    pub detail: String,
}

/// The refusal of a customer's request to be erased.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErasureRefusedParams {
    pub dealer_name: String,
    pub customer_name: String,
    /// The service manager's reason, as written.
    pub reason: String,
}

/// A message's template values, one shape per kind; stored as JSON and read
/// back strictly: a row whose params do not fit its kind is an error, never
/// a message with blanks.
#[derive(Debug, Clone, PartialEq)]
pub enum Params {
    Otp(OtpParams),
    Appointment(AppointmentParams),
    Reminder(ReminderParams),
    Greeting(GreetingParams),
    ExtraWork(ExtraWorkParams),
    Renewal(RenewalParams),
    Followup(FollowupParams),
    Escalation(EscalationParams),
    DailyReport(DailyReportParams),
    PrivacyAlert(PrivacyAlertParams),
    EnquiryAnswer(EnquiryAnswerParams),
    RescueAlert(RescueAlertParams),
    RescueUpdate(RescueUpdateParams),
    ErasureRefused(ErasureRefusedParams),
}

impl Params {
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Params::Otp(p) => serde_json::to_value(p),
            Params::Appointment(p) => serde_json::to_value(p),
            Params::Reminder(p) => serde_json::to_value(p),
            Params::Greeting(p) => serde_json::to_value(p),
            Params::ExtraWork(p) => serde_json::to_value(p),
            Params::Renewal(p) => serde_json::to_value(p),
            Params::Followup(p) => serde_json::to_value(p),
            Params::Escalation(p) => serde_json::to_value(p),
            Params::DailyReport(p) => serde_json::to_value(p),
            Params::PrivacyAlert(p) => serde_json::to_value(p),
            Params::EnquiryAnswer(p) => serde_json::to_value(p),
            Params::RescueAlert(p) => serde_json::to_value(p),
            Params::RescueUpdate(p) => serde_json::to_value(p),
            Params::ErasureRefused(p) => serde_json::to_value(p),
        }
        // plain structs of strings and numbers always serialise
        .unwrap_or_else(|_| unreachable!("params serialise"))
    }

    pub fn from_stored(kind: MessageKind, v: &serde_json::Value) -> anyhow::Result<Self> {
        let read = match kind {
            MessageKind::Otp => serde_json::from_value(v.clone()).map(Params::Otp),
            MessageKind::AppointmentBooked
            | MessageKind::AppointmentConfirmed
            | MessageKind::AppointmentRescheduled
            | MessageKind::AppointmentCancelled
            | MessageKind::AppointmentReminder => {
                serde_json::from_value(v.clone()).map(Params::Appointment)
            }
            MessageKind::MaintenanceDue | MessageKind::FirstService => {
                serde_json::from_value(v.clone()).map(Params::Reminder)
            }
            MessageKind::HolidayGreeting | MessageKind::Birthday => {
                serde_json::from_value(v.clone()).map(Params::Greeting)
            }
            MessageKind::AnnualInspection | MessageKind::InsuranceRenewal => {
                serde_json::from_value(v.clone()).map(Params::Renewal)
            }
            MessageKind::PostRepairFollowup => {
                serde_json::from_value(v.clone()).map(Params::Followup)
            }
            MessageKind::ExtraWorkApproval => {
                serde_json::from_value(v.clone()).map(Params::ExtraWork)
            }
            MessageKind::CaseEscalated => serde_json::from_value(v.clone()).map(Params::Escalation),
            MessageKind::DailyReport => serde_json::from_value(v.clone()).map(Params::DailyReport),
            MessageKind::PersonalDataAlert => {
                serde_json::from_value(v.clone()).map(Params::PrivacyAlert)
            }
            MessageKind::EnquiryAnswered => {
                serde_json::from_value(v.clone()).map(Params::EnquiryAnswer)
            }
            MessageKind::RescueAlert => serde_json::from_value(v.clone()).map(Params::RescueAlert),
            MessageKind::RescueUpdate => {
                serde_json::from_value(v.clone()).map(Params::RescueUpdate)
            }
            MessageKind::ErasureRefused => {
                serde_json::from_value(v.clone()).map(Params::ErasureRefused)
            }
        };
        read.map_err(|e| anyhow::anyhow!("stored params of a {kind} message do not fit: {e}"))
    }
}

/// A message to write; `due_at` is when it may leave.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub dealer_id: Uuid,
    /// The customer it is to, if it is to one.
    pub customer_id: Option<Uuid>,
    /// The customer a message to staff is about (their name, phone or
    /// location is in it): an erasure strips it as it strips theirs.
    pub about_customer_id: Option<Uuid>,
    pub kind: MessageKind,
    /// What makes this occurrence one: the same key on the same channel is one row.
    pub occurrence_key: String,
    pub channel: Channel,
    pub recipient: String,
    pub locale: Locale,
    pub params: Params,
    pub subject: Option<String>,
    pub body: String,
    pub due_at: DateTime<Utc>,
    /// The message this one falls back from, if it does.
    pub parent_id: Option<Uuid>,
}

impl NewMessage {
    /// The message's row: queued, due at `due_at`, a new id.
    pub fn row(self, now: DateTime<Utc>) -> outbox_message::ActiveModel {
        outbox_message::ActiveModel {
            id: Set(Uuid::now_v7()),
            dealer_id: Set(self.dealer_id),
            customer_id: Set(self.customer_id),
            about_customer_id: Set(self.about_customer_id),
            kind: Set(self.kind),
            occurrence_key: Set(self.occurrence_key),
            channel: Set(self.channel),
            recipient: Set(self.recipient),
            locale: Set(self.locale),
            params: Set(self.params.to_json()),
            subject: Set(self.subject),
            body: Set(self.body),
            due_at: Set(self.due_at),
            state: Set(MessageState::Queued),
            attempts: Set(0),
            last_error: Set(None),
            lease_owner: Set(None),
            lease_until: Set(None),
            fence: Set(0),
            provider_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            sent_at: Set(None),
            settled_at: Set(None),
            parent_id: Set(self.parent_id),
            redacted_at: Set(None),
        }
    }
}

/// Settles the queued messages matching `which` as suppressed with `reason`,
/// so they never leave (an erasure). The fence is raised: a dispatcher that
/// claimed one of them finds its claim gone. Answers the rows settled.
pub async fn cancel_queued(
    db: &impl ConnectionTrait,
    which: sea_orm::Condition,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    let res = outbox_message::Entity::update_many()
        .col_expr(
            outbox_message::Column::State,
            Expr::value(MessageState::Suppressed.as_str()),
        )
        .col_expr(outbox_message::Column::LastError, Expr::value(reason))
        .col_expr(
            outbox_message::Column::Fence,
            crate::services::col_plus(outbox_message::Column::Fence, 1),
        )
        .col_expr(
            outbox_message::Column::LeaseOwner,
            Expr::value(Option::<Uuid>::None),
        )
        .col_expr(
            outbox_message::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(outbox_message::Column::UpdatedAt, Expr::value(now))
        .col_expr(outbox_message::Column::SettledAt, Expr::value(now))
        .filter(which)
        .filter(outbox_message::Column::State.eq(MessageState::Queued))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Removes the personal content (body, subject, values, recipient) of the
/// settled messages matching `which` that still have it: an erasure, or
/// retention after the months a body is kept. The record that a message
/// went (kind, channel, state, times) stays. A message queued or being
/// handed over keeps its content: it has not gone yet. Answers the rows
/// changed.
pub async fn strip_personal(
    db: &impl ConnectionTrait,
    which: sea_orm::Condition,
    now: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    stripping(now)
        .filter(which)
        .filter(
            outbox_message::Column::State
                .is_not_in([MessageState::Queued, MessageState::Submitting]),
        )
        .exec(db)
        .await
        .map(|r| r.rows_affected)
}

/// [`strip_personal`] for messages being handed to a provider now (an
/// erasure): the dispatcher sends from its own copy and settles by state,
/// so the row may go blank under it.
pub async fn strip_on_the_way(
    db: &impl ConnectionTrait,
    which: sea_orm::Condition,
    now: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    stripping(now)
        .filter(which)
        .filter(outbox_message::Column::State.eq(MessageState::Submitting))
        .exec(db)
        .await
        .map(|r| r.rows_affected)
}

/// The update that empties a message of the person (body, subject,
/// parameters and recipient), for messages that still have it.
fn stripping(now: DateTime<Utc>) -> sea_orm::UpdateMany<outbox_message::Entity> {
    outbox_message::Entity::update_many()
        .col_expr(outbox_message::Column::Body, Expr::value(""))
        .col_expr(
            outbox_message::Column::Subject,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            outbox_message::Column::Params,
            Expr::value(serde_json::json!({})),
        )
        .col_expr(outbox_message::Column::Recipient, Expr::value(""))
        .col_expr(outbox_message::Column::RedactedAt, Expr::value(now))
        .filter(outbox_message::Column::RedactedAt.is_null())
}

/// Strips a message just settled (sent, failed, suppressed) if its customer,
/// or the customer it is about, is erased: one a writer queued just as the
/// erasure committed (it read them before) escapes the erasure's own pass
/// over the outbox. Call in the transaction that settles it.
pub async fn forget_if_erased(
    txn: &impl ConnectionTrait,
    m: &outbox_message::Model,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    if any_erased(txn, [m.customer_id, m.about_customer_id]).await? {
        strip_personal(
            txn,
            sea_orm::Condition::all().add(outbox_message::Column::Id.eq(m.id)),
            now,
        )
        .await?;
    }
    Ok(())
}

/// Whether any of these customers (the one a message is to, the one it is
/// about) is erased; no query when there is none.
pub async fn any_erased(
    db: &impl ConnectionTrait,
    people: impl IntoIterator<Item = Option<Uuid>>,
) -> Result<bool, sea_orm::DbErr> {
    let people: Vec<Uuid> = people.into_iter().flatten().collect();
    if people.is_empty() {
        return Ok(false);
    }
    Ok(customer::Entity::find()
        .filter(customer::Column::Id.is_in(people))
        .filter(customer::Column::ErasedAt.is_not_null())
        .count(db)
        .await?
        > 0)
}

/// Writes the message inside the caller's transaction unless its occurrence
/// is already there; answers the row's id either way. Call [`wake`] after
/// the commit so the local dispatcher sends it at once.
pub async fn enqueue(
    txn: &impl ConnectionTrait,
    m: NewMessage,
    now: DateTime<Utc>,
) -> Result<Uuid, sea_orm::DbErr> {
    let (dealer_id, kind, key, channel) =
        (m.dealer_id, m.kind, m.occurrence_key.clone(), m.channel);
    outbox_message::Entity::insert(m.row(now))
        .on_conflict(
            OnConflict::columns([
                outbox_message::Column::DealerId,
                outbox_message::Column::Kind,
                outbox_message::Column::OccurrenceKey,
                outbox_message::Column::Channel,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    existing(txn, dealer_id, kind, &key, channel)
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound("outbox row just written".into()))
}

/// The id of an occurrence's row, if written. Also the lookup an unknown
/// phone's OTP request makes in place of [`enqueue`], so both do alike.
pub async fn existing(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    kind: MessageKind,
    occurrence_key: &str,
    channel: Channel,
) -> Result<Option<Uuid>, sea_orm::DbErr> {
    Ok(outbox_message::Entity::find()
        .filter(outbox_message::Column::DealerId.eq(dealer_id))
        .filter(outbox_message::Column::Kind.eq(kind))
        .filter(outbox_message::Column::OccurrenceKey.eq(occurrence_key))
        .filter(outbox_message::Column::Channel.eq(channel))
        .one(db)
        .await?
        .map(|m| m.id))
}

/// A message's address as `sight` shows it: phones and email addresses
/// masked for the roles that do not deal with people; app and WeChat ids
/// name nobody by themselves.
fn recipient_seen(sight: Sight, channel: Channel, recipient: String) -> String {
    match (sight, channel) {
        (Sight::Full, _) => recipient,
        (Sight::Masked, Channel::Sms) => sight.phone(&recipient),
        (Sight::Masked, Channel::Email) => sight.email(Some(&recipient)).unwrap_or_default(),
        (Sight::Masked, _) => recipient,
    }
}

/// Wakes the local dispatcher: something was committed to the outbox.
pub fn wake(state: &AppState) {
    state.care_wakeup.notify_one();
}

/// Who may see the dealer's messages, suppression list, care settings and
/// provider templates: its staff, as for the customer archive, but never a
/// customer (`customers::READERS` lets a customer read their own record;
/// these lists hold every customer's addresses).
pub const READERS: &[Role] = &[
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::ServiceAdvisor,
    Role::WorkshopForeman,
    Role::Technician,
    Role::QcInspector,
    Role::WarrantyClerk,
    Role::CustomerCare,
    Role::Parts,
    Role::Cashier,
    Role::DealerAdmin,
    Role::NetworkAdmin,
];

/// Who may send a dead, failed or unknown message again.
pub const RETRIERS: &[Role] = crate::services::capacity::MANAGERS;

/// The most messages one list answers.
pub const LIST_LIMIT: u64 = 200;

/// One hand-over to a provider, as staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    pub attempt: i32,
    pub outcome: AttemptOutcome,
    /// The provider's HTTP status, when it answered.
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// An outbox message, as staff see it (the text is left out: it may carry a code).
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    pub id: Uuid,
    pub customer_id: Option<Uuid>,
    pub kind: MessageKind,
    pub channel: Channel,
    pub recipient: String,
    pub state: MessageState,
    pub due_at: DateTime<Utc>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub settled_at: Option<DateTime<Utc>>,
    pub attempt_log: Vec<AttemptView>,
}

/// Filters of the message list; `from` / `to` bound the creation time.
#[derive(Debug, Default)]
pub struct Filter {
    pub customer_id: Option<Uuid>,
    pub kind: Option<MessageKind>,
    pub state: Option<MessageState>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// The dealer's messages, newest first (at most [`LIST_LIMIT`]), each with
/// every attempt.
pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    f: Filter,
) -> AppResult<Vec<MessageView>> {
    actor.require(READERS)?;
    // a year like -262143 is a typo or an attack, and outside PostgreSQL's
    // timestamp range (a 500 there)
    let mut e = crate::domain::FieldErrors::new();
    for (field, t) in [("from", f.from), ("to", f.to)] {
        if let Some(t) = t {
            e.check(field, crate::domain::dates::in_range(t.date_naive()));
        }
    }
    e.into_result()?;
    let mut q =
        outbox_message::Entity::find().filter(outbox_message::Column::DealerId.eq(actor.dealer_id));
    if let Some(c) = f.customer_id {
        q = q.filter(outbox_message::Column::CustomerId.eq(c));
    }
    if let Some(k) = f.kind {
        q = q.filter(outbox_message::Column::Kind.eq(k));
    }
    if let Some(s) = f.state {
        q = q.filter(outbox_message::Column::State.eq(s));
    }
    if let Some(t) = f.from {
        q = q.filter(outbox_message::Column::CreatedAt.gte(t));
    }
    if let Some(t) = f.to {
        q = q.filter(outbox_message::Column::CreatedAt.lt(t));
    }
    let rows = q
        .order_by_desc(outbox_message::Column::CreatedAt)
        .order_by_desc(outbox_message::Column::Id)
        .limit(LIST_LIMIT)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|m| m.id).collect();
    let mut attempts = outbox_attempt::Entity::find()
        .filter(outbox_attempt::Column::MessageId.is_in(ids))
        .order_by_asc(outbox_attempt::Column::StartedAt)
        .order_by_asc(outbox_attempt::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|m| {
            let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut attempts)
                .into_iter()
                .partition(|a| a.message_id == m.id);
            attempts = rest;
            MessageView {
                id: m.id,
                customer_id: m.customer_id,
                kind: m.kind,
                channel: m.channel,
                recipient: recipient_seen(actor.sight(), m.channel, m.recipient),
                state: m.state,
                due_at: m.due_at,
                attempts: m.attempts,
                last_error: m.last_error,
                created_at: m.created_at,
                sent_at: m.sent_at,
                settled_at: m.settled_at,
                attempt_log: mine
                    .into_iter()
                    .map(|a| AttemptView {
                        attempt: a.attempt,
                        outcome: a.outcome,
                        status_code: a.status_code,
                        error: a.error,
                        started_at: a.started_at,
                        finished_at: a.finished_at,
                    })
                    .collect(),
            }
        })
        .collect())
}

/// Queues a dead, failed or unknown message again, due now, with its
/// retries renewed (its attempts stay in the log). 409 from any other state,
/// and for a login code.
pub async fn retry(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<MessageState> {
    actor.require(RETRIERS)?;
    let now = state.clock.now();
    let m = outbox_message::Entity::find_by_id(id)
        .filter(outbox_message::Column::DealerId.eq(actor.dealer_id))
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    if m.kind.carries_secret() {
        // its text is gone once settled, and a code is short-lived anyway
        return Err(AppError::Conflict(
            "a login code is not sent again; the customer asks for a new one".into(),
        ));
    }
    let to = next(m.state, Event::StaffRetry)
        .ok_or_else(|| AppError::Conflict(format!("a {} message is not sent again", m.state)))?;
    let res = outbox_message::Entity::update_many()
        .col_expr(outbox_message::Column::State, Expr::value(to.as_str()))
        .col_expr(outbox_message::Column::Attempts, Expr::value(0))
        .col_expr(outbox_message::Column::DueAt, Expr::value(now))
        .col_expr(
            outbox_message::Column::LeaseOwner,
            Expr::value(Option::<Uuid>::None),
        )
        .col_expr(
            outbox_message::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(outbox_message::Column::Fence, Expr::value(m.fence + 1))
        .col_expr(
            outbox_message::Column::SettledAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(outbox_message::Column::UpdatedAt, Expr::value(now))
        .filter(outbox_message::Column::Id.eq(m.id))
        .filter(outbox_message::Column::State.eq(m.state))
        .filter(outbox_message::Column::Fence.eq(m.fence))
        .exec(&state.db)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::ChangedMeanwhile(
            "the message changed meanwhile; read it again".into(),
        ));
    }
    wake(state);
    Ok(to)
}

/// What a settled login code's text becomes.
pub const REDACTED: &str = "(removed once settled: it held a login code)";

/// Removes a login code's text from the update's row (a no-op for other
/// kinds): the code is kept only hashed (`otp_codes`), and its text goes as
/// soon as the message is settled one way or another.
pub fn redact(
    u: sea_orm::UpdateMany<outbox_message::Entity>,
    m: &outbox_message::Model,
) -> sea_orm::UpdateMany<outbox_message::Entity> {
    if !m.kind.carries_secret() {
        return u;
    }
    let mut params = m.params.clone();
    if let Some(code) = params.get_mut("code") {
        *code = serde_json::Value::String(String::new());
    }
    u.col_expr(outbox_message::Column::Body, Expr::value(REDACTED))
        .col_expr(outbox_message::Column::Params, Expr::value(params))
}
