//! 24-hour roadside rescue (24小时救援, issue 13 part 1): a customer in the
//! app, or staff taking the call, asks for help for a car at the roadside;
//! the dealer's on-duty roster is told at once (SMS through the outbox, at
//! any hour), and down the roster with the service manager when nobody takes
//! it in time (a sweep, once across instances); the rescue moves through
//! its states, each step audited, streamed to the customer's app and told to
//! the customer; a towed car opens its repair order once.
//!
//! Lock order: the rescue's row first (every write starts by taking or
//! inserting it), then what the write adds (events, outbox rows, the
//! idempotency answer); opening a repair order takes the rescue's row by its
//! claim before the order's own rows and the day's counter.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::{Expr, OnConflict, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Actor;
use crate::care::outbox::{self, NewMessage, Params, RescueAlertParams, RescueUpdateParams};
use crate::care::route::Addresses;
use crate::domain::customer::{Channel, Consent, Locale};
use crate::domain::message::MessageKind;
use crate::domain::rescue::{
    self, Durations, RescueAction, RescueProblem, RescueState, Roster, RosterGap, Shift,
};
use crate::domain::role::{RESCUE_CALL_TAKERS, RESCUE_HANDLERS, RESCUE_ROSTER_KEEPERS};
use crate::domain::{FieldErrors, Phone, validation};
use crate::entities::{
    customer, dealer, rescue as rescue_row, rescue_event, rescue_setting, vehicle,
};
use crate::error::{AppError, AppResult};
use crate::services::idempotency::{self, IdempotencyKey, Outcome, Reservation, Saved};
use crate::services::{Version, col_plus, dealers, deputies, feed};
use crate::state::AppState;

/// The most rescues one list answers.
pub const LIST_LIMIT: u64 = 200;
/// The most rescues one escalation sweep takes; the next sweep takes the rest.
pub const ESCALATION_BATCH: u64 = 200;
/// Events one fetch of the live stream answers.
const STREAM_PAGE: u64 = 100;
/// Escalation rounds of a rescue nobody takes: the first alert and five
/// more, a window apart (an hour at the default ten minutes).
const MAX_ALERT_LEVEL: i32 = 6;

// ---------------------------------------------------------------- the wire

/// Where the car is.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// Latitude, −90 to 90 (WGS-84 or GCJ-02, as the phone gives it).
    #[schema(minimum = -90.0, maximum = 90.0, example = 39.9087)]
    pub lat: f64,
    /// Longitude, −180 to 180.
    #[schema(minimum = -180.0, maximum = 180.0, example = 116.3975)]
    pub lng: f64,
    /// The address as the customer says it or the map shows it (≤ 200 characters).
    #[schema(max_length = 200)]
    pub address: Option<String>,
}

/// The body of `POST /rescues`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRescue {
    /// A customer's own vehicle; staff: any vehicle of the dealer (its owner is the customer).
    pub vehicle_id: Uuid,
    pub location: Location,
    pub problem: RescueProblem,
    /// What the customer says (≤ 400 characters).
    #[schema(max_length = 400)]
    pub note: Option<String>,
    /// The number the rescuer calls (a mobile number; stored in E.164).
    #[schema(max_length = 32, example = "13800000001")]
    pub contact_phone: String,
}

/// The rescue vehicle on its way.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DispatchView {
    pub driver: Option<String>,
    pub vehicle: Option<String>,
    pub eta: Option<DateTime<Utc>>,
}

/// One step of a rescue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RescueEventView {
    /// The event id of the live stream (the rescue's version after the step).
    pub seq: i64,
    /// `requested`, `escalated` (the sweep: nobody took it in time),
    /// `repair_order` (a towed car's order opened), or an action's name.
    pub action: String,
    pub from_state: Option<RescueState>,
    pub to_state: RescueState,
    pub note: Option<String>,
    /// The member of staff, or the customer (their customer id), who took
    /// the step; none for the sweep.
    pub actor_id: Option<Uuid>,
    /// The person the actor stood in for (a deputy, 职务代理).
    pub on_behalf_of: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// A rescue (`ETag` = `version`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RescueView {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub vehicle_id: Uuid,
    /// The plate, else the VIN.
    pub vehicle: String,
    pub problem: RescueProblem,
    pub note: Option<String>,
    /// Where the car was; null once the location was removed (by the
    /// retention limit for rescue locations, or an erasure).
    pub location: Option<Location>,
    /// When the location was removed.
    pub location_removed_at: Option<DateTime<Utc>>,
    pub contact_phone: String,
    pub state: RescueState,
    /// The member of staff who took the call; none when asked for in the app.
    pub requested_by: Option<Uuid>,
    pub accepted_by: Option<Uuid>,
    pub dispatch: Option<DispatchView>,
    /// The repair order the towed car opened.
    pub repair_order_id: Option<Uuid>,
    /// How many on the roster have been told (the first on duty is 1).
    pub alert_level: i32,
    /// When it escalates if nobody accepts it by then.
    pub next_alert_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub on_site_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Minutes from the request to its acceptance.
    pub minutes_to_accept: Option<f64>,
    /// Minutes from the request to the rescuer at the car.
    pub minutes_to_on_site: Option<f64>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Every step, oldest first (left out of lists).
    pub events: Vec<RescueEventView>,
}

/// The body of `POST /rescues/{id}/{action}`: a note, and for `dispatch`
/// who goes, in what, and when they will be there.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescueStep {
    /// ≤ 400 characters.
    #[schema(max_length = 400)]
    pub note: Option<String>,
    /// `dispatch`: the rescuer's name (≤ 100 characters).
    #[schema(max_length = 100)]
    pub driver: Option<String>,
    /// `dispatch`: the rescue vehicle (plate or description, ≤ 100 characters).
    #[schema(max_length = 100)]
    pub vehicle: Option<String>,
    /// `dispatch`: when they will be at the car, ISO 8601 with offset (from an hour ago to a day ahead).
    #[schema(value_type = Option<String>, format = DateTime, example = "2027-03-01T02:50:00+08:00")]
    pub eta: Option<DateTime<FixedOffset>>,
}

/// Filters of `GET /rescues`; `from` / `to` are local dates of the request (inclusive).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub state: Option<RescueState>,
    /// First local day (dealer's zone), `YYYY-MM-DD`.
    pub from: Option<NaiveDate>,
    /// Last local day, `YYYY-MM-DD`.
    pub to: Option<NaiveDate>,
}

/// `GET /rescues/report`: local days, inclusive, at most 366.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// The response figures of the rescues asked for in a range of local days.
#[derive(Debug, Serialize, ToSchema)]
pub struct RescueReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Rescues asked for.
    pub requested: u64,
    pub cancelled: u64,
    pub towed: u64,
    pub fixed_on_site: u64,
    /// Request → accepted.
    pub to_accept: Durations,
    /// Request → rescuer at the car.
    pub to_on_site: Durations,
}

/// The roster as the dealer keeps it (`ETag` = `version`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RescueRosterView)]
pub struct RosterView {
    /// 0 while the dealer has none.
    pub version: i32,
    pub escalate_after_minutes: u32,
    pub shifts: Vec<Shift>,
    /// The hours of the week nobody is on duty (empty: around the clock).
    pub gaps: Vec<RosterGap>,
    /// Who is on duty now, in the order they are told.
    pub on_duty_now: Vec<Uuid>,
}

// ---------------------------------------------------------------- reading

fn minutes_between(a: DateTime<Utc>, b: Option<DateTime<Utc>>) -> Option<f64> {
    b.map(|b| ((b - a).num_seconds() as f64 / 60.0 * 10.0).round() / 10.0)
}

fn view(r: rescue_row::Model, vehicle: String, events: Vec<rescue_event::Model>) -> RescueView {
    let dispatch = (r.dispatch_driver.is_some() || r.eta_at.is_some()).then(|| DispatchView {
        driver: r.dispatch_driver.clone(),
        vehicle: r.dispatch_vehicle.clone(),
        eta: r.eta_at,
    });
    RescueView {
        minutes_to_accept: minutes_between(r.created_at, r.accepted_at),
        minutes_to_on_site: minutes_between(r.created_at, r.on_site_at),
        id: r.id,
        customer_id: r.customer_id,
        vehicle_id: r.vehicle_id,
        vehicle,
        problem: r.problem,
        note: r.note,
        location: r.location_removed_at.is_none().then_some(Location {
            lat: r.lat,
            lng: r.lng,
            address: r.address,
        }),
        location_removed_at: r.location_removed_at,
        contact_phone: r.contact_phone,
        state: r.state,
        requested_by: r.requested_by,
        accepted_by: r.accepted_by,
        dispatch,
        repair_order_id: r.repair_order_id,
        alert_level: r.alert_level,
        next_alert_at: r.next_alert_at,
        accepted_at: r.accepted_at,
        on_site_at: r.on_site_at,
        closed_at: r.closed_at,
        cancelled_at: r.cancelled_at,
        version: r.version,
        created_at: r.created_at,
        updated_at: r.updated_at,
        events: events
            .into_iter()
            .map(|e| RescueEventView {
                seq: e.seq,
                action: e.action,
                from_state: e.from_state,
                to_state: e.to_state,
                note: e.note,
                actor_id: e.actor_id,
                on_behalf_of: e.on_behalf_of,
                at: e.at,
            })
            .collect(),
    }
}

fn label_of(v: &vehicle::Model) -> String {
    v.plate.clone().unwrap_or_else(|| v.vin.clone())
}

async fn vehicle_label(db: &impl ConnectionTrait, id: Uuid) -> AppResult<String> {
    Ok(vehicle::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|v| label_of(&v))
        .unwrap_or_default())
}

async fn full_view(db: &impl ConnectionTrait, r: rescue_row::Model) -> AppResult<RescueView> {
    let events = rescue_event::Entity::find()
        .filter(rescue_event::Column::RescueId.eq(r.id))
        .order_by_asc(rescue_event::Column::Seq)
        .all(db)
        .await?;
    let label = vehicle_label(db, r.vehicle_id).await?;
    Ok(view(r, label, events))
}

/// May `actor` see rescues at all: a customer (their own) or a handler.
fn allow_read(actor: &Actor) -> AppResult<()> {
    if actor.is_customer() {
        Ok(())
    } else {
        actor.require(RESCUE_HANDLERS)
    }
}

/// The rescue as `actor` may see it: the dealer's, and a customer's own (404 otherwise).
async fn load(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> AppResult<rescue_row::Model> {
    allow_read(actor)?;
    rescue_row::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|r| r.dealer_id == actor.dealer_id)
        .filter(|r| actor.customer_id.is_none_or(|c| c == r.customer_id))
        .ok_or(AppError::NotFound)
}

/// One rescue with every step (a customer: their own; others' are 404).
pub async fn get(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> AppResult<RescueView> {
    let r = load(db, actor, id).await?;
    full_view(db, r).await
}

/// The dealer's rescues, newest first (a customer: their own), at most [`LIST_LIMIT`].
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    q: ListQuery,
) -> AppResult<Vec<RescueView>> {
    allow_read(actor)?;
    let mut e = FieldErrors::new();
    let from = q
        .from
        .and_then(|d| e.check("from", crate::domain::dates::in_range(d)));
    let to =
        q.to.and_then(|d| e.check("to", crate::domain::dates::in_range(d)));
    e.into_result()?;
    let (_, tz) = dealers::dealer_zone(db, actor.dealer_id).await?;
    let mut s = rescue_row::Entity::find().filter(rescue_row::Column::DealerId.eq(actor.dealer_id));
    if let Some(c) = actor.customer_id {
        s = s.filter(rescue_row::Column::CustomerId.eq(c));
    }
    if let Some(st) = q.state {
        s = s.filter(rescue_row::Column::State.eq(st));
    }
    if let Some(f) = from {
        s = s.filter(
            rescue_row::Column::CreatedAt.gte(crate::domain::dates::day_bounds(tz, f, f).0),
        );
    }
    if let Some(t) = to {
        s = s
            .filter(rescue_row::Column::CreatedAt.lt(crate::domain::dates::day_bounds(tz, t, t).1));
    }
    let rows = s
        .order_by_desc(rescue_row::Column::CreatedAt)
        .order_by_desc(rescue_row::Column::Id)
        .limit(LIST_LIMIT)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.vehicle_id).collect();
    let labels: std::collections::HashMap<Uuid, String> = vehicle::Entity::find()
        .filter(vehicle::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, label_of(&v)))
        .collect();
    Ok(rows
        .into_iter()
        .map(|r| {
            let l = labels.get(&r.vehicle_id).cloned().unwrap_or_default();
            view(r, l, vec![])
        })
        .collect())
}

// ---------------------------------------------------------------- the roster

/// The dealer's roster and its version (the default, version 0, without a row).
pub async fn roster_of(db: &impl ConnectionTrait, dealer_id: Uuid) -> AppResult<(Roster, i32)> {
    match rescue_setting::Entity::find_by_id(dealer_id)
        .one(db)
        .await?
    {
        None => Ok((Roster::default(), 0)),
        Some(s) => Ok((
            crate::services::from_stored(&s.roster, "rescue roster")?,
            s.version,
        )),
    }
}

fn roster_view(r: Roster, version: i32, tz: Tz, now: DateTime<Utc>) -> RosterView {
    let local = now.with_timezone(&tz).naive_local();
    RosterView {
        version,
        escalate_after_minutes: r.escalate_after_minutes,
        gaps: rescue::gaps(&r),
        on_duty_now: rescue::on_duty(&r, local)
            .iter()
            .map(|s| s.user_id)
            .collect(),
        shifts: r.shifts,
    }
}

/// The roster (those who work rescues).
pub async fn get_roster(
    db: &impl ConnectionTrait,
    actor: &Actor,
    now: DateTime<Utc>,
) -> AppResult<RosterView> {
    actor.require(RESCUE_HANDLERS)?;
    let (_, tz) = dealers::dealer_zone(db, actor.dealer_id).await?;
    let (r, v) = roster_of(db, actor.dealer_id).await?;
    Ok(roster_view(r, v, tz, now))
}

/// Replaces the roster (managers). With `If-Match`, only at that version
/// (412 otherwise); a roster equal to the stored one changes nothing (a
/// retry answers the same version). Each shift's person must be an active
/// member of the dealer's staff.
pub async fn put_roster(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    expected: Option<Version>,
    body: Roster,
    now: DateTime<Utc>,
) -> AppResult<RosterView> {
    actor.require(RESCUE_ROSTER_KEEPERS)?;
    let roster = body.validated()?;
    let mut e = FieldErrors::new();
    for (i, s) in roster.shifts.iter().enumerate() {
        if dealers::staff_member(db, actor.dealer_id, s.user_id)
            .await?
            .is_none()
        {
            e.add(
                format!("shifts[{i}].user_id"),
                "is not an active member of this dealer's staff",
            );
        }
    }
    e.into_result()?;
    let (_, tz) = dealers::dealer_zone(db, actor.dealer_id).await?;
    let stored = crate::services::to_stored(&roster, "rescue roster")?;
    let txn = db.begin().await?;
    let current = crate::services::lock_row::<rescue_setting::Entity>(
        &txn,
        rescue_setting::Column::DealerId,
        rescue_setting::Column::Version,
        actor.dealer_id,
    )
    .await?;
    let version = current.as_ref().map_or(0, |c| c.version);
    if let Some(x) = expected
        && x.0 != version
    {
        return Err(AppError::PreconditionFailed);
    }
    let saved = match current {
        Some(c) if c.roster == stored => c.version,
        Some(c) => {
            let res = rescue_setting::Entity::update_many()
                .col_expr(rescue_setting::Column::Roster, Expr::value(stored))
                .col_expr(
                    rescue_setting::Column::Version,
                    col_plus(rescue_setting::Column::Version, 1),
                )
                .col_expr(rescue_setting::Column::UpdatedAt, Expr::value(now))
                .filter(rescue_setting::Column::DealerId.eq(actor.dealer_id))
                .filter(rescue_setting::Column::Version.eq(c.version))
                .exec(&txn)
                .await?;
            if res.rows_affected == 0 {
                return Err(AppError::PreconditionFailed);
            }
            c.version + 1
        }
        None => {
            let n = rescue_setting::Entity::insert(rescue_setting::ActiveModel {
                dealer_id: Set(actor.dealer_id),
                roster: Set(stored),
                version: Set(1),
                updated_at: Set(now),
            })
            .on_conflict(
                OnConflict::column(rescue_setting::Column::DealerId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
            if n == 0 {
                return Err(AppError::ChangedMeanwhile(
                    "the roster was saved meanwhile; read it again".into(),
                ));
            }
            1
        }
    };
    txn.commit().await?;
    Ok(roster_view(roster, saved, tz, now))
}

// ---------------------------------------------------------------- messages

/// Who a staff alert goes to.
struct Recipient {
    channel: Channel,
    address: String,
    locale: Locale,
}

/// Why an alert goes out.
#[derive(Clone, Copy)]
enum Reason {
    New,
    NotAccepted(u32),
    NobodyOnDuty,
}

/// The words the messages use, in their language.
mod label {
    use super::Reason;
    use crate::domain::customer::Locale;
    use crate::domain::rescue::{RescueProblem, RescueState};

    pub fn problem(p: RescueProblem, l: Locale) -> &'static str {
        use RescueProblem::*;
        match (l, p) {
            (Locale::ZhCn, Breakdown) => "车辆抛锚",
            (Locale::ZhCn, Accident) => "交通事故",
            (Locale::ZhCn, FlatTyre) => "轮胎故障",
            (Locale::ZhCn, Battery) => "电瓶亏电",
            (Locale::ZhCn, Lockout) => "钥匙锁车内",
            (Locale::ZhCn, Other) => "其他故障",
            (Locale::En, Breakdown) => "breakdown",
            (Locale::En, Accident) => "accident",
            (Locale::En, FlatTyre) => "flat tyre",
            (Locale::En, Battery) => "flat battery",
            (Locale::En, Lockout) => "locked out",
            (Locale::En, Other) => "other trouble",
        }
    }

    pub fn state(s: RescueState, l: Locale) -> &'static str {
        use RescueState::*;
        match (l, s) {
            (Locale::ZhCn, Requested) => "已收到您的救援请求，正在安排值班人员",
            (Locale::ZhCn, Accepted) => "已受理，正在安排救援车",
            (Locale::ZhCn, Dispatched) => "救援车已出发",
            (Locale::ZhCn, OnSite) => "救援人员已到达现场",
            (Locale::ZhCn, Towed) => "车辆已拖回服务站",
            (Locale::ZhCn, FixedOnSite) => "已现场修复",
            (Locale::ZhCn, Closed) => "救援已完成",
            (Locale::ZhCn, Cancelled) => "救援已取消",
            (Locale::En, Requested) => "we have your request and are reaching the staff on duty",
            (Locale::En, Accepted) => "accepted; a rescue vehicle is being arranged",
            (Locale::En, Dispatched) => "the rescue vehicle is on its way",
            (Locale::En, OnSite) => "the rescuer is at your car",
            (Locale::En, Towed) => "your car is towed to our workshop",
            (Locale::En, FixedOnSite) => "fixed at the roadside",
            (Locale::En, Closed) => "the rescue is complete",
            (Locale::En, Cancelled) => "the rescue is cancelled",
        }
    }

    pub fn reason(r: Reason, l: Locale) -> String {
        match (l, r) {
            (Locale::ZhCn, Reason::New) => "新救援".into(),
            (Locale::ZhCn, Reason::NotAccepted(m)) => format!("{m}分钟无人受理，已升级"),
            (Locale::ZhCn, Reason::NobodyOnDuty) => "当前无人值班".into(),
            (Locale::En, Reason::New) => "new".into(),
            (Locale::En, Reason::NotAccepted(m)) => format!("not accepted in {m} minutes"),
            (Locale::En, Reason::NobodyOnDuty) => "nobody on duty".into(),
        }
    }
}

/// What every message about one rescue shares.
struct About<'a> {
    dealer: &'a dealer::Model,
    tz: Tz,
    rescue: &'a rescue_row::Model,
    customer_name: String,
    vehicle: String,
}

/// Writes one staff alert to the outbox (once per `key` and channel).
async fn alert(
    txn: &impl ConnectionTrait,
    state: &AppState,
    a: &About<'_>,
    to: Recipient,
    reason: Reason,
    key: String,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let r = a.rescue;
    let l = to.locale;
    let params = RescueAlertParams {
        dealer_name: a.dealer.name.clone(),
        customer_name: a.customer_name.clone(),
        vehicle: a.vehicle.clone(),
        problem: label::problem(r.problem, l).into(),
        location: r
            .address
            .clone()
            .unwrap_or_else(|| format!("{:.5},{:.5}", r.lat, r.lng)),
        contact_phone: r.contact_phone.clone(),
        requested: r
            .created_at
            .with_timezone(&a.tz)
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        reason: label::reason(reason, l),
    };
    let kind = MessageKind::RescueAlert;
    let title = state
        .templates
        .render(l, kind.as_str(), "title.txt", &params)?;
    let text = state
        .templates
        .render(l, kind.as_str(), "sms.txt", &params)?;
    outbox::enqueue(
        txn,
        NewMessage {
            dealer_id: r.dealer_id,
            customer_id: None,
            about_customer_id: Some(r.customer_id),
            kind,
            occurrence_key: key,
            channel: to.channel,
            recipient: to.address,
            locale: l,
            params: Params::RescueAlert(params),
            subject: Some(title),
            body: text,
            due_at: now,
            parent_id: None,
        },
        now,
    )
    .await?;
    Ok(())
}

/// The service manager's contacts: those the dealer's case rules escalate to.
async fn managers(txn: &impl ConnectionTrait, dealer_id: Uuid) -> AppResult<Vec<Recipient>> {
    Ok(crate::services::cases::rules(txn, dealer_id)
        .await?
        .escalate_to
        .into_iter()
        .map(|c| Recipient {
            channel: c.channel.channel(),
            address: c.address,
            locale: c.locale,
        })
        .collect())
}

fn on_shift(s: &Shift) -> Recipient {
    Recipient {
        channel: Channel::Sms,
        address: s.phone.clone(),
        locale: s.locale,
    }
}

/// Tells the customer where their rescue stands: an inbox row in the app
/// and their preferred channel through the outbox (once per state reached).
async fn tell_customer(
    txn: &impl ConnectionTrait,
    state: &AppState,
    a: &About<'_>,
    to_state: RescueState,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let r = a.rescue;
    let c = customer::Entity::find_by_id(r.customer_id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let l = c.locale;
    let detail = match (to_state, r.eta_at) {
        (RescueState::Dispatched, Some(eta)) => {
            let at = eta.with_timezone(&a.tz).format("%H:%M").to_string();
            let who = [r.dispatch_driver.clone(), r.dispatch_vehicle.clone()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            match l {
                Locale::ZhCn => format!("{who} 预计 {at} 到达。"),
                Locale::En => format!("{who}, expected at {at}."),
            }
        }
        _ => String::new(),
    };
    let params = RescueUpdateParams {
        dealer_name: a.dealer.name.clone(),
        vehicle: a.vehicle.clone(),
        status: label::state(to_state, l).into(),
        detail,
    };
    let kind = MessageKind::RescueUpdate;
    let title = state
        .templates
        .render(l, kind.as_str(), "title.txt", &params)?;
    let text = state
        .templates
        .render(l, kind.as_str(), "sms.txt", &params)?;
    crate::services::inbox::post(
        txn,
        r.dealer_id,
        c.id,
        kind.as_str(),
        &title,
        &text,
        r.id,
        now,
    )
    .await?;
    // read strictly, as appointments do: unreadable consents fail loudly
    let _: Vec<Consent> = crate::services::from_stored(&c.consents, "customer consents")?;
    let mut to = Addresses::of(txn, &c, now).await?;
    // SMS to the number the rescue gave: the customer is by the car with it
    to.phone = r.contact_phone.clone();
    let Some((channel, recipient)) = to.first() else {
        return Ok(());
    };
    outbox::enqueue(
        txn,
        NewMessage {
            dealer_id: r.dealer_id,
            customer_id: Some(c.id),
            about_customer_id: None,
            kind,
            occurrence_key: format!("rescue:{}:{}", r.id, to_state),
            channel,
            recipient,
            locale: l,
            params: Params::RescueUpdate(params),
            subject: Some(title),
            body: text,
            due_at: now,
            parent_id: None,
        },
        now,
    )
    .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn event(
    txn: &impl ConnectionTrait,
    r: &rescue_row::Model,
    seq: i32,
    action: &str,
    from: Option<RescueState>,
    to: RescueState,
    note: Option<String>,
    actor_id: Option<Uuid>,
    on_behalf_of: Option<Uuid>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    rescue_event::Entity::insert(rescue_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        rescue_id: Set(r.id),
        dealer_id: Set(r.dealer_id),
        seq: Set(i64::from(seq)),
        action: Set(action.into()),
        from_state: Set(from),
        to_state: Set(to),
        note: Set(note),
        actor_id: Set(actor_id),
        on_behalf_of: Set(on_behalf_of),
        at: Set(now),
    })
    .exec_without_returning(txn)
    .await?;
    // every instance's streams of this rescue fetch again at commit
    feed::announce(txn, r.id).await?;
    Ok(())
}

async fn customer_name(db: &impl ConnectionTrait, id: Uuid) -> AppResult<String> {
    Ok(customer::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|c| c.name)
        .unwrap_or_default())
}

// ---------------------------------------------------------------- opening

fn check(input: &NewRescue) -> AppResult<(Option<String>, Option<String>, String)> {
    let mut e = FieldErrors::new();
    rescue::check_location(input.location.lat, input.location.lng, &mut e);
    let address = e
        .check(
            "location.address",
            validation::optional_text(input.location.address.as_deref(), rescue::MAX_ADDRESS),
        )
        .flatten();
    let note = e
        .check(
            "note",
            validation::optional_multiline(input.note.as_deref(), rescue::MAX_NOTE),
        )
        .flatten();
    let phone = if input.contact_phone.chars().count() > 32 {
        e.add("contact_phone", "must be at most 32 characters");
        None
    } else {
        e.check("contact_phone", Phone::parse(&input.contact_phone))
    };
    e.into_result()?;
    Ok((
        address,
        note,
        phone.map(|p| p.as_str().to_string()).unwrap_or_default(),
    ))
}

/// Opens a rescue: a customer for their own vehicle, or staff taking the
/// call. The first on duty is told at once (the service manager when nobody
/// is); the customer hears it is received. With `Idempotency-Key` a second
/// tap answers the first rescue.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    input: NewRescue,
    key: Option<&IdempotencyKey>,
) -> AppResult<Outcome<Box<RescueView>>> {
    if !actor.is_customer() {
        actor.require(RESCUE_CALL_TAKERS)?;
    }
    let now = state.clock.now();
    idempotency::once(&state.db, actor, key, &input, now, async |r| {
        create_now(state, actor, &input, r, now).await
    })
    .await
}

async fn create_now(
    state: &AppState,
    actor: &Actor,
    input: &NewRescue,
    reservation: Option<&Reservation>,
    now: DateTime<Utc>,
) -> AppResult<Box<RescueView>> {
    let (address, note, phone) = check(input)?;
    let db = &state.db;
    let v = vehicle::Entity::find_by_id(input.vehicle_id)
        .one(db)
        .await?
        .filter(|v| v.dealer_id == actor.dealer_id)
        .filter(|v| actor.customer_id.is_none_or(|c| c == v.customer_id))
        .ok_or_else(|| AppError::field("vehicle_id", "no such vehicle"))?;
    let (d, tz) = dealers::dealer_zone(db, actor.dealer_id).await?;
    let (roster, _) = roster_of(db, actor.dealer_id).await?;
    let local = now.with_timezone(&tz).naive_local();
    let first = rescue::on_duty(&roster, local)
        .first()
        .map(|s| (*s).clone());
    let window = Duration::minutes(i64::from(roster.escalate_after_minutes));
    let id = Uuid::now_v7();
    let row = rescue_row::Model {
        id,
        dealer_id: actor.dealer_id,
        customer_id: v.customer_id,
        vehicle_id: v.id,
        problem: input.problem,
        note,
        lat: input.location.lat,
        lng: input.location.lng,
        address,
        contact_phone: phone,
        state: RescueState::Requested,
        requested_by: (!actor.is_customer()).then_some(actor.id),
        accepted_by: None,
        dispatch_driver: None,
        dispatch_vehicle: None,
        eta_at: None,
        repair_order_id: None,
        alert_level: i32::from(first.is_some()),
        // escalated a window later whether or not anyone was on duty now
        next_alert_at: Some(now + window),
        accepted_at: None,
        on_site_at: None,
        closed_at: None,
        cancelled_at: None,
        version: 1,
        created_at: now,
        updated_at: now,
        location_removed_at: None,
    };
    let txn = db.begin().await?;
    // the insert first: SQLite's write lock is taken at once
    rescue_row::Entity::insert(rescue_row::ActiveModel::from(row.clone()))
        .exec_without_returning(&txn)
        .await
        .map_err(|e| match AppError::from(e) {
            // ux_rescues_vehicle_under_way: a second tap without a key
            AppError::Conflict(_) => AppError::Conflict(
                "this vehicle already has a rescue under way (GET /api/v1/rescues shows it)".into(),
            ),
            other => other,
        })?;
    let by_customer = actor.is_customer().then(|| "asked in the app".to_string());
    event(
        &txn,
        &row,
        1,
        "requested",
        None,
        RescueState::Requested,
        by_customer,
        Some(actor.id),
        None,
        now,
    )
    .await?;
    let about = About {
        dealer: &d,
        tz,
        rescue: &row,
        customer_name: customer_name(&txn, v.customer_id).await?,
        vehicle: label_of(&v),
    };
    match &first {
        Some(s) => {
            let key = format!("rescue:{id}:alert:0:{}", s.phone);
            alert(&txn, state, &about, on_shift(s), Reason::New, key, now).await?;
        }
        None => {
            // nobody on duty now: the service manager hears of it at once
            for m in managers(&txn, d.id).await? {
                let key = format!("rescue:{id}:alert:0:{}", m.address);
                alert(&txn, state, &about, m, Reason::NobodyOnDuty, key, now).await?;
            }
        }
    }
    tell_customer(&txn, state, &about, RescueState::Requested, now).await?;
    let view = full_view(&txn, row).await?;
    if let Some(r) = reservation {
        let answer = Saved {
            status: 201,
            body: serde_json::to_string(&view).map_err(anyhow::Error::from)?,
        };
        // the answer is kept exactly when the rescue is
        if !idempotency::complete(&txn, r, &answer).await? {
            txn.rollback().await?;
            return Err(AppError::InProgress {
                retry_after_secs: 1,
            });
        }
    }
    txn.commit().await?;
    outbox::wake(state);
    state.feed.committed(id);
    Ok(Box::new(view))
}

// ---------------------------------------------------------------- moving

/// The columns a step sets beside its state.
type Sets = Vec<(rescue_row::Column, SimpleExpr)>;

/// A step's note, and the columns `dispatch` sets.
fn check_step(
    action: RescueAction,
    step: &RescueStep,
    now: DateTime<Utc>,
) -> AppResult<(Option<String>, Sets)> {
    let mut e = FieldErrors::new();
    let note = e
        .check(
            "note",
            validation::optional_multiline(step.note.as_deref(), rescue::MAX_NOTE),
        )
        .flatten();
    let mut extra: Sets = Vec::new();
    if action == RescueAction::Dispatch {
        let driver = e
            .check(
                "driver",
                validation::optional_text(step.driver.as_deref(), rescue::MAX_DISPATCH_TEXT),
            )
            .flatten();
        let vehicle = e
            .check(
                "vehicle",
                validation::optional_text(step.vehicle.as_deref(), rescue::MAX_DISPATCH_TEXT),
            )
            .flatten();
        if driver.is_none() && !e.0.iter().any(|x| x.field == "driver") {
            e.add("driver", "say who goes out");
        }
        let eta = match step.eta {
            None => {
                e.add("eta", "say when they will be at the car");
                None
            }
            Some(t) => {
                let t = t.with_timezone(&Utc);
                if t < now - Duration::hours(1) || t > now + Duration::days(1) {
                    e.add("eta", "must be from an hour ago to a day ahead");
                    None
                } else {
                    Some(t)
                }
            }
        };
        extra.push((rescue_row::Column::DispatchDriver, Expr::value(driver)));
        extra.push((rescue_row::Column::DispatchVehicle, Expr::value(vehicle)));
        extra.push((rescue_row::Column::EtaAt, Expr::value(eta)));
    } else if step.driver.is_some() || step.vehicle.is_some() || step.eta.is_some() {
        let f = if step.driver.is_some() {
            "driver"
        } else if step.vehicle.is_some() {
            "vehicle"
        } else {
            "eta"
        };
        e.add(f, "goes with dispatch only");
    }
    e.into_result()?;
    Ok((note, extra))
}

/// Moves a rescue by `action`: 409 naming its state when out of order. The
/// same move sent again by whom made it answers the rescue as it is (a
/// retry); two people accepting at once: one wins, the other gets 409.
/// A customer may only cancel their own, before the rescuer is at the car.
pub async fn act(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    action: RescueAction,
    step: RescueStep,
) -> AppResult<RescueView> {
    allow_read(actor)?;
    if actor.is_customer() && action != RescueAction::Cancel {
        return Err(AppError::Forbidden("a customer may only cancel a rescue"));
    }
    let now = state.clock.now();
    let (note, mut extra) = check_step(action, &step, now)?;
    let db = &state.db;
    let txn = db.begin().await?;
    let r = crate::services::lock_row::<rescue_row::Entity>(
        &txn,
        rescue_row::Column::Id,
        rescue_row::Column::Version,
        id,
    )
    .await?
    .filter(|r| r.dealer_id == actor.dealer_id)
    .filter(|r| actor.customer_id.is_none_or(|c| c == r.customer_id))
    .ok_or(AppError::NotFound)?;
    let Some(to) = rescue::next(r.state, action) else {
        // a retry of the step that brought it here, by the same person
        let last = rescue_event::Entity::find()
            .filter(rescue_event::Column::RescueId.eq(r.id))
            .order_by_desc(rescue_event::Column::Seq)
            .one(&txn)
            .await?;
        if last.is_some_and(|e| e.action == action.as_str() && e.actor_id == Some(actor.id)) {
            let v = full_view(&txn, r).await?;
            txn.commit().await?;
            return Ok(v);
        }
        return Err(AppError::Conflict(format!(
            "a rescue that is {} cannot take {action}",
            r.state
        )));
    };
    if actor.is_customer() && !rescue::customer_may(r.state, action) {
        return Err(AppError::Conflict(format!(
            "a rescue that is {} is no longer cancelled in the app: call the dealer",
            r.state
        )));
    }
    match action {
        RescueAction::Accept => {
            extra.push((rescue_row::Column::AcceptedBy, Expr::value(actor.id)));
            extra.push((rescue_row::Column::AcceptedAt, Expr::value(now)));
            extra.push((
                rescue_row::Column::NextAlertAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            ));
        }
        RescueAction::Arrive => {
            extra.push((rescue_row::Column::OnSiteAt, Expr::value(now)));
        }
        RescueAction::Close => {
            extra.push((rescue_row::Column::ClosedAt, Expr::value(now)));
        }
        RescueAction::Cancel => {
            extra.push((rescue_row::Column::CancelledAt, Expr::value(now)));
            extra.push((
                rescue_row::Column::NextAlertAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            ));
        }
        RescueAction::Dispatch | RescueAction::Tow | RescueAction::Fix => {}
    }
    let mut u = rescue_row::Entity::update_many()
        .col_expr(rescue_row::Column::State, Expr::value(to))
        .col_expr(
            rescue_row::Column::Version,
            col_plus(rescue_row::Column::Version, 1),
        )
        .col_expr(rescue_row::Column::UpdatedAt, Expr::value(now));
    for (c, v) in extra {
        u = u.col_expr(c, v);
    }
    let res = u
        .filter(rescue_row::Column::Id.eq(r.id))
        .filter(rescue_row::Column::State.eq(r.state))
        .filter(rescue_row::Column::Version.eq(r.version))
        .exec(&txn)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::ChangedMeanwhile(
            "the rescue changed meanwhile; read it again".into(),
        ));
    }
    let on_behalf_of = deputies::acting_for(&txn, actor, r.accepted_by, now).await?;
    let note = match (note, actor.is_customer()) {
        (None, true) => Some("by the customer in the app".into()),
        (n, _) => n,
    };
    event(
        &txn,
        &r,
        r.version + 1,
        action.as_str(),
        Some(r.state),
        to,
        note,
        Some(actor.id),
        on_behalf_of,
        now,
    )
    .await?;
    let moved = rescue_row::Entity::find_by_id(r.id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let (d, tz) = dealers::dealer_zone(&txn, moved.dealer_id).await?;
    let about = About {
        dealer: &d,
        tz,
        rescue: &moved,
        customer_name: String::new(),
        vehicle: vehicle_label(&txn, moved.vehicle_id).await?,
    };
    tell_customer(&txn, state, &about, to, now).await?;
    let v = full_view(&txn, moved).await?;
    txn.commit().await?;
    outbox::wake(state);
    state.feed.committed(id);
    Ok(v)
}

// ---------------------------------------------------------------- escalation

/// Escalates every rescue nobody accepted within the dealer's window: the
/// next on duty (in roster order, at the sweep's time) and the service
/// manager's contacts (the case rules' `escalate_to`) are told, and the
/// next escalation is set a window later while someone on duty is left.
/// Each step is claimed by one conditional update (still requested, at the
/// level read, due), so two sweeps, in one instance or two, escalate a
/// rescue once per level; each message's occurrence key names the rescue,
/// the level and the address, so none is ever written twice. Answers how
/// many rescues escalated; call `outbox::wake` after.
pub async fn escalate_due(state: &AppState, now: DateTime<Utc>) -> AppResult<usize> {
    let due = rescue_row::Entity::find()
        .filter(rescue_row::Column::State.eq(RescueState::Requested))
        .filter(rescue_row::Column::NextAlertAt.lte(now))
        .order_by_asc(rescue_row::Column::NextAlertAt)
        .order_by_asc(rescue_row::Column::Id)
        .limit(ESCALATION_BATCH)
        .all(&state.db)
        .await?;
    let mut escalated = 0;
    for r in due {
        match escalate(state, &r, now).await {
            Ok(true) => escalated += 1,
            Ok(false) => {} // another sweep had it, or it was accepted meanwhile
            Err(e) => tracing::error!(rescue = %r.id, error = ?e, "rescue escalation"),
        }
    }
    Ok(escalated)
}

async fn escalate(
    state: &AppState,
    seen: &rescue_row::Model,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let (d, tz) = dealers::dealer_zone(&state.db, seen.dealer_id).await?;
    let (roster, _) = roster_of(&state.db, seen.dealer_id).await?;
    let local = now.with_timezone(&tz).naive_local();
    let on_duty: Vec<Shift> = rescue::on_duty(&roster, local)
        .into_iter()
        .cloned()
        .collect();
    let level = seen.alert_level;
    let next_index = usize::try_from(level).unwrap_or(usize::MAX);
    let next = on_duty.get(next_index).cloned();
    // another escalation a window later while the rescue waits: the next on
    // duty, or the managers again, up to MAX_ALERT_LEVEL rounds
    let again = (level + 1 < MAX_ALERT_LEVEL)
        .then(|| now + Duration::minutes(i64::from(roster.escalate_after_minutes)));
    let txn = state.db.begin().await?;
    // the claim: first in the transaction, so SQLite takes its write lock at once
    let claimed = rescue_row::Entity::update_many()
        .col_expr(rescue_row::Column::AlertLevel, Expr::value(level + 1))
        .col_expr(rescue_row::Column::NextAlertAt, Expr::value(again))
        .col_expr(
            rescue_row::Column::Version,
            col_plus(rescue_row::Column::Version, 1),
        )
        .col_expr(rescue_row::Column::UpdatedAt, Expr::value(now))
        .filter(rescue_row::Column::Id.eq(seen.id))
        .filter(rescue_row::Column::State.eq(RescueState::Requested))
        .filter(rescue_row::Column::AlertLevel.eq(level))
        .filter(rescue_row::Column::NextAlertAt.lte(now))
        .exec(&txn)
        .await?;
    if claimed.rows_affected == 0 {
        return Ok(false);
    }
    let r = rescue_row::Entity::find_by_id(seen.id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let about = About {
        dealer: &d,
        tz,
        rescue: &r,
        customer_name: customer_name(&txn, r.customer_id).await?,
        vehicle: vehicle_label(&txn, r.vehicle_id).await?,
    };
    let reason = Reason::NotAccepted(roster.escalate_after_minutes);
    let mut told = 0;
    if let Some(s) = &next {
        let key = format!("rescue:{}:alert:{level}:{}", r.id, s.phone);
        alert(&txn, state, &about, on_shift(s), reason, key, now).await?;
        told += 1;
    }
    for m in managers(&txn, r.dealer_id).await? {
        let key = format!("rescue:{}:alert:{level}:{}", r.id, m.address);
        told += 1;
        alert(&txn, state, &about, m, reason, key, now).await?;
    }
    event(
        &txn,
        &r,
        r.version,
        "escalated",
        Some(r.state),
        r.state,
        // the customer reads the steps too: how many were told, never whom
        // (the messages themselves, with their recipients, are in the outbox)
        Some(format!(
            "{m}分钟内无人接单，已通知{n}人 / not accepted within {m} minutes; {n} told",
            m = roster.escalate_after_minutes,
            n = told
        )),
        None,
        None,
        now,
    )
    .await?;
    txn.commit().await?;
    state.feed.committed(r.id);
    Ok(true)
}

// ---------------------------------------------------------------- the repair order

/// Claims the towed rescue `rescue_id` for the new order `order_id`, first
/// in the order's transaction: false when it already has one or is not
/// towed. The rescue's row is written before the order's rows (the lock order).
/// A towed rescue, the thing its repair order is opened for.
struct Towed<'a> {
    actor: &'a Actor,
    rescue_id: Uuid,
}

impl crate::services::repair_orders::open::Claim for Towed<'_> {
    async fn claim(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        order_id: Uuid,
        now: DateTime<Utc>,
    ) -> AppResult<bool> {
        claim_order(txn, self.actor, self.rescue_id, order_id, now).await
    }
}

async fn claim_order(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    rescue_id: Uuid,
    order_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let res = rescue_row::Entity::update_many()
        .col_expr(rescue_row::Column::RepairOrderId, Expr::value(order_id))
        .col_expr(
            rescue_row::Column::Version,
            col_plus(rescue_row::Column::Version, 1),
        )
        .col_expr(rescue_row::Column::UpdatedAt, Expr::value(now))
        .filter(rescue_row::Column::Id.eq(rescue_id))
        .filter(rescue_row::Column::DealerId.eq(actor.dealer_id))
        .filter(rescue_row::Column::RepairOrderId.is_null())
        .filter(rescue_row::Column::State.is_in([RescueState::Towed, RescueState::Closed]))
        .exec(txn)
        .await?;
    if res.rows_affected == 0 {
        return Ok(false);
    }
    let r = rescue_row::Entity::find_by_id(rescue_id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)?;
    event(
        txn,
        &r,
        r.version,
        "repair_order",
        Some(r.state),
        r.state,
        Some(format!("repair order {order_id} opened")),
        Some(actor.id),
        None,
        now,
    )
    .await?;
    Ok(true)
}

/// Opens the repair order of a towed car, once: the rescue's problem, note
/// and location become the order's concern and notes. A second call (a
/// retry, a second tablet) answers the order already opened (`false`: not new).
pub async fn open_order(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
) -> AppResult<(crate::services::repair_orders::RepairOrder, bool)> {
    use crate::services::repair_orders::{self, open};
    actor.require(RESCUE_HANDLERS)?;
    let r = load(&state.db, actor, id).await?;
    if let Some(order) = r.repair_order_id {
        return Ok((repair_orders::get(&state.db, actor, order).await?, false));
    }
    // a towed car; a closed rescue may have been towed (its events say so)
    let towed = r.state == RescueState::Towed
        || (r.state == RescueState::Closed
            && rescue_event::Entity::find()
                .filter(rescue_event::Column::RescueId.eq(r.id))
                .filter(rescue_event::Column::ToState.eq(RescueState::Towed))
                .one(&state.db)
                .await?
                .is_some());
    if !towed {
        return Err(AppError::Conflict(format!(
            "a rescue that is {} brought no car in: only a towed car opens a repair order",
            r.state
        )));
    }
    let l = Locale::ZhCn;
    let mut concern = format!("24小时救援：{}", label::problem(r.problem, l));
    if let Some(n) = &r.note {
        concern.push_str("。客户描述：");
        concern.push_str(n);
    }
    let place = r.address.clone().map_or_else(
        || format!("{:.5},{:.5}", r.lat, r.lng),
        |a| format!("{a} ({:.5},{:.5})", r.lat, r.lng),
    );
    let notes = format!(
        "救援拖车入厂 / towed in by roadside rescue {}\n救援地点 / location: {place}\n联系电话 / phone: {}",
        r.id, r.contact_phone
    );
    let input = open::NewRepairOrder {
        appointment_id: None,
        vehicle_id: Some(r.vehicle_id),
        customer_id: Some(r.customer_id),
        advisor_id: None,
        odometer_km: None,
        promised_at: None,
        concerns: vec![concern],
        fuel_level: None,
        notes: Some(notes),
        arrived_at: None,
        reception_started_at: None,
    };
    match open::open_for(
        state,
        actor,
        &input,
        &Towed {
            actor,
            rescue_id: r.id,
        },
    )
    .await
    {
        Ok(order) => {
            state.feed.committed(r.id);
            Ok((*order, true))
        }
        Err(AppError::Conflict(m)) => {
            // lost to a concurrent open (or the rescue moved): answer its order
            let again = load(&state.db, actor, id).await?;
            match again.repair_order_id {
                Some(order) => Ok((repair_orders::get(&state.db, actor, order).await?, false)),
                None => Err(AppError::Conflict(m)),
            }
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- the stream

/// The rescue's steps as Server-Sent Events, from after `after`: each
/// `id:` the step's `seq`, `event:` its action, `data:` the step; it ends
/// once a closed or cancelled rescue has sent its last step.
pub async fn stream(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    after: i64,
) -> AppResult<
    impl futures_util::Stream<Item = Result<actix_web::web::Bytes, actix_web::Error>> + 'static,
> {
    load(&state.db, actor, id).await?;
    let db = state.db.clone();
    Ok(feed::sse_stream(
        state.feed.clone(),
        id,
        after,
        move |after| {
            let db = db.clone();
            async move {
                let events = rescue_event::Entity::find()
                    .filter(rescue_event::Column::RescueId.eq(id))
                    .filter(rescue_event::Column::Seq.gt(after))
                    .order_by_asc(rescue_event::Column::Seq)
                    .limit(STREAM_PAGE)
                    .all(&db)
                    .await?;
                let r = rescue_row::Entity::find_by_id(id)
                    .one(&db)
                    .await?
                    .ok_or(AppError::NotFound)?;
                let last_page = (events.len() as u64) < STREAM_PAGE;
                Ok(feed::Batch {
                    finished: r.state.is_final() && last_page,
                    events: events
                        .into_iter()
                        .map(|e| feed::SseEvent {
                            id: e.seq,
                            event: e.action.clone(),
                            data: serde_json::json!({
                                "seq": e.seq,
                                "action": e.action,
                                "from_state": e.from_state,
                                "to_state": e.to_state,
                                "note": e.note,
                                "actor_id": e.actor_id,
                                "on_behalf_of": e.on_behalf_of,
                                "at": e.at,
                            }),
                        })
                        .collect(),
                })
            }
        },
    ))
}

// ---------------------------------------------------------------- the report

/// Counts and response times (request → accepted, request → on site) of the
/// rescues asked for on the local days `from`..=`to` (those who keep the roster).
pub async fn report(
    db: &impl ConnectionTrait,
    actor: &Actor,
    q: ReportQuery,
) -> AppResult<RescueReport> {
    actor.require(RESCUE_ROSTER_KEEPERS)?;
    let mut e = FieldErrors::new();
    let from = e.check("from", crate::domain::dates::in_range(q.from));
    let to = e.check("to", crate::domain::dates::in_range(q.to));
    if let (Some(f), Some(t)) = (from, to) {
        if t < f {
            e.add("to", "must not be before from");
        } else if (t - f).num_days() >= 366 {
            e.add("to", "must make at most 366 days with from");
        }
    }
    e.into_result()?;
    let (from, to) = (q.from, q.to);
    let (_, tz) = dealers::dealer_zone(db, actor.dealer_id).await?;
    let (start, end) = crate::domain::dates::day_bounds(tz, from, to);
    let rows = rescue_row::Entity::find()
        .filter(rescue_row::Column::DealerId.eq(actor.dealer_id))
        .filter(rescue_row::Column::CreatedAt.gte(start))
        .filter(rescue_row::Column::CreatedAt.lt(end))
        .all(db)
        .await?;
    let count = |s: RescueState| rows.iter().filter(|r| r.state == s).count() as u64;
    let towed_ids: std::collections::HashSet<Uuid> = rescue_event::Entity::find()
        .filter(rescue_event::Column::DealerId.eq(actor.dealer_id))
        .filter(rescue_event::Column::ToState.eq(RescueState::Towed))
        .filter(rescue_event::Column::At.gte(start))
        .all(db)
        .await?
        .into_iter()
        .map(|e| e.rescue_id)
        .collect();
    let fixed_ids: std::collections::HashSet<Uuid> = rescue_event::Entity::find()
        .filter(rescue_event::Column::DealerId.eq(actor.dealer_id))
        .filter(rescue_event::Column::ToState.eq(RescueState::FixedOnSite))
        .filter(rescue_event::Column::At.gte(start))
        .all(db)
        .await?
        .into_iter()
        .map(|e| e.rescue_id)
        .collect();
    let mins = |pick: fn(&rescue_row::Model) -> Option<DateTime<Utc>>| {
        rows.iter()
            .filter_map(|r| minutes_between(r.created_at, pick(r)))
            .collect::<Vec<f64>>()
    };
    Ok(RescueReport {
        from,
        to,
        requested: rows.len() as u64,
        cancelled: count(RescueState::Cancelled),
        towed: rows.iter().filter(|r| towed_ids.contains(&r.id)).count() as u64,
        fixed_on_site: rows.iter().filter(|r| fixed_ids.contains(&r.id)).count() as u64,
        to_accept: rescue::durations(mins(|r| r.accepted_at)),
        to_on_site: rescue::durations(mins(|r| r.on_site_at)),
    })
}
