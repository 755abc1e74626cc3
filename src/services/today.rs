//! The opening routine (营业准备): `GET /api/v1/today`, what the morning
//! meeting (晨会) goes through, for the caller's dealer in its time zone
//! (today is the dealer's local date of the injected clock): the day's
//! bookings by hour and advisor, the technicians on shift and absent and
//! who stands in for whom (deputies), the cars promised today still in the
//! workshop, yesterday's key figures against the dealer's targets, the
//! open and overdue unhappy-customer cases, the comebacks waiting for a
//! step, and the opening checklist with today's ticks. The opening
//! settings (`GET/PUT /api/v1/today/settings`) and the ticks
//! (`POST/DELETE /api/v1/today/checklist/{code}`) are here too.
//!
//! Every part is read through an index by dealer and time: appointments by
//! slot, orders by promised time (migration 000025), cases by dealer and
//! state, the ticks by (dealer, day, code). Yesterday's figures are
//! `services::kpi`'s own.
//!
//! Writes: a tick is one `INSERT … ON CONFLICT DO NOTHING` on the unique
//! (dealer, day, code), so a retried tick, two supervisors at once, or two
//! instances leave exactly one tick, the first; an untick is one `DELETE`.
//! The settings are one upsert of the dealer's row. None of them reads
//! before it writes, so none needs a lock.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::Role;
use crate::domain::appointment::AppointmentState;
use crate::domain::case::{CaseCategory, CaseState, Severity, WAITING_FOR_CONTACT};
use crate::domain::comeback::{ComebackKind, ComebackState};
use crate::domain::kpi::Roster;
use crate::domain::opening::{self, OpeningItem, OpeningSettings, OpeningTargets};
use crate::domain::repair_order::workshop::promise_at_risk;
use crate::domain::repair_order::{OrderState, RepairJobState};
use crate::domain::validation;
use crate::entities::{
    appointment, comeback, customer, opening_setting, opening_tick, repair_order, repair_order_job,
    user, vehicle,
};
use crate::error::{AppError, AppResult};
use crate::services::appointments::{day_bounds, dealer_zone};
use crate::services::deputies::{self, DeputyPeriod};
use crate::services::kpi::{self, Figure, KpiPeriod};
use crate::services::parts::StockShortfall;
use crate::services::{board, cases, from_stored, to_stored};

/// The most overdue cases the page lists (the counts are whole).
pub const OVERDUE_LISTED: u64 = 50;

/// Appointments that are not expected: moved or called off.
const NOT_EXPECTED: [AppointmentState; 2] =
    [AppointmentState::Cancelled, AppointmentState::Rescheduled];

/// Orders no longer in the dealer's hands.
const DONE: [OrderState; 3] = [
    OrderState::Delivered,
    OrderState::Closed,
    OrderState::Cancelled,
];

pub use crate::services::dealers::StaffRef;
use crate::services::dealers::staff_names;

/// The bookings of one local hour.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BookingsInHour {
    /// The local hour the slot starts in, 0–23.
    #[schema(minimum = 0, maximum = 23)]
    pub hour: u32,
    pub count: u64,
}

/// The bookings of one advisor (null: none assigned yet).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BookingsOfAdvisor {
    pub advisor: Option<StaffRef>,
    pub count: u64,
}

/// One booking of the day.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TodayBooking {
    pub appointment_id: Uuid,
    /// In the dealer's zone, with offset.
    #[schema(value_type = String, format = DateTime)]
    pub slot_start: DateTime<FixedOffset>,
    pub customer_id: Uuid,
    pub customer_name: String,
    pub vehicle_id: Uuid,
    pub plate: Option<String>,
    pub advisor: Option<StaffRef>,
    pub state: AppointmentState,
}

/// Today's appointments, cancelled and rescheduled ones left out.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TodayBookings {
    pub total: u64,
    /// The hours with bookings, in order.
    pub by_hour: Vec<BookingsInHour>,
    /// Each advisor with bookings by name, the unassigned ones last.
    pub by_advisor: Vec<BookingsOfAdvisor>,
    /// By slot.
    pub list: Vec<TodayBooking>,
}

/// A technician on shift today.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TechnicianOnShift {
    pub technician_id: Uuid,
    pub name: String,
    /// The roster's hours today less an absence (two places).
    #[schema(value_type = String, format = "decimal")]
    pub hours: Decimal,
}

/// A technician absent today, for the whole shift or part of it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TechnicianAbsent {
    pub technician_id: Uuid,
    pub name: String,
    /// The hours of today's shift taken off (two places).
    #[schema(value_type = String, format = "decimal")]
    pub hours_off: Decimal,
    /// The whole shift is off (else they are on shift as well, for the rest).
    pub whole_day: bool,
}

/// The workshop's technicians today, by their rosters.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Staffing {
    /// By name.
    pub on_shift: Vec<TechnicianOnShift>,
    /// By name.
    pub absent: Vec<TechnicianAbsent>,
    /// Σ of `on_shift` hours.
    #[schema(value_type = String, format = "decimal")]
    pub hours: Decimal,
    /// Who stands in for whom today (职务代理; any post, not only the
    /// workshop's), by the absent person's name.
    pub deputies: Vec<DeputyPeriod>,
}

/// A car promised today and still in the dealer's hands.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PromisedCar {
    pub order_id: Uuid,
    pub number: String,
    pub plate: Option<String>,
    pub state: OrderState,
    /// In the dealer's zone, with offset.
    #[schema(value_type = String, format = DateTime)]
    pub promised_at: DateTime<FixedOffset>,
    /// Sold hours of the jobs not done yet.
    #[schema(value_type = String, format = "decimal")]
    pub remaining_hours: Decimal,
    /// The dispatch board's rule: still in the workshop (not ready) and
    /// either past the promise or with more hours left than time until it.
    pub at_risk: bool,
}

/// A count held against its daily target.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CountVsTarget {
    pub value: u64,
    pub target: Option<u32>,
    /// `value ≥ target`; null without a target.
    pub met: Option<bool>,
}

/// An amount (CNY) held against its daily target.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AmountVsTarget {
    #[schema(value_type = String, format = "decimal")]
    pub value: Decimal,
    #[schema(value_type = Option<String>, format = "decimal")]
    pub target: Option<Decimal>,
    /// `value ≥ target`; null without a target.
    pub met: Option<bool>,
}

/// A ratio (as the KPIs answer it) held against its daily target.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RatioVsTarget {
    /// numerator ÷ denominator; null when the denominator is 0.
    #[schema(value_type = Option<String>, format = "decimal")]
    pub value: Option<Decimal>,
    #[schema(value_type = String, format = "decimal")]
    pub numerator: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub denominator: Decimal,
    #[schema(value_type = Option<String>, format = "decimal")]
    pub target: Option<Decimal>,
    /// `value ≥ target`; null without a target or without a value.
    pub met: Option<bool>,
}

/// Yesterday's key figures (`GET /api/v1/kpi/daily` of yesterday), each
/// against the dealer's target.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct YesterdayFigures {
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    /// Gross revenue of the orders delivered.
    pub revenue: AmountVsTarget,
    pub vehicles_in: CountVsTarget,
    pub vehicles_delivered: CountVsTarget,
    pub first_time_fix: RatioVsTarget,
    pub show_rate: RatioVsTarget,
    pub on_time_delivery: RatioVsTarget,
    pub follow_up_within_3_days: RatioVsTarget,
    pub csi: RatioVsTarget,
}

/// An overdue unhappy-customer case.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OverdueCase {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub customer_name: String,
    pub category: CaseCategory,
    pub severity: Severity,
    pub state: CaseState,
    /// The due time it missed (the first contact's of an open case, else
    /// the resolution's), in the dealer's zone.
    #[schema(value_type = String, format = DateTime)]
    pub due_at: DateTime<FixedOffset>,
}

/// The unhappy-customer table now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CasesNow {
    /// Cases still someone's work (open, contacted, action agreed, resolved).
    pub open: u64,
    /// Of those, past a due time.
    pub overdue: u64,
    /// The overdue ones, missed longest ago first (at most 50), for those
    /// who work the table; null for other roles.
    pub overdue_cases: Option<Vec<OverdueCase>>,
}

/// A comeback still waiting for a step.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WaitingComeback {
    pub id: Uuid,
    pub kind: ComebackKind,
    /// `open`: to analyse; `analysed`: the action to do; `action_done`: to close.
    pub state: ComebackState,
    /// The order the job is done again in.
    pub repair_order_id: Uuid,
    pub action_owner: Option<StaffRef>,
    /// When it was opened, in the dealer's zone.
    #[schema(value_type = String, format = DateTime)]
    pub opened_at: DateTime<FixedOffset>,
}

/// Comebacks not closed yet (返修车处理记录).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComebacksNow {
    pub open: u64,
    pub analysed: u64,
    pub action_done: u64,
    /// Oldest first (at most 50), for those who read comebacks; null for
    /// other roles.
    pub waiting: Option<Vec<WaitingComeback>>,
}

/// An item of today's checklist and its tick.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpeningChecklistEntry {
    pub code: String,
    pub zh_cn: String,
    pub en: String,
    pub ticked: bool,
    pub ticked_by: Option<StaffRef>,
    /// In the dealer's zone, with offset.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ticked_at: Option<DateTime<FixedOffset>>,
    pub note: Option<String>,
}

/// The opening page of the dealer's local day.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Today {
    pub dealer_id: Uuid,
    /// The dealer's local date.
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    /// When this was read, in the dealer's zone.
    #[schema(value_type = String, format = DateTime)]
    pub as_of: DateTime<FixedOffset>,
    pub bookings: TodayBookings,
    pub staff: Staffing,
    /// By promised time.
    pub promised_today: Vec<PromisedCar>,
    /// For those who read the KPIs (managers, supervisors, the dealer's
    /// admin, the brand); null for other roles.
    pub yesterday: Option<YesterdayFigures>,
    pub cases: CasesNow,
    pub comebacks: ComebacksNow,
    /// Stocked parts today's bookings (booked or confirmed, not yet
    /// received) need more of than is available now (on hand − held), by
    /// part number; parts the dealer does not stock are bought in and not
    /// listed. The same rule as the preparation list's `shortages`.
    pub parts_missing: Vec<StockShortfall>,
    /// The items of the dealer's checklist, in order.
    pub checklist: Vec<OpeningChecklistEntry>,
}

/// `POST /api/v1/today/checklist/{code}`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpeningTick {
    /// What was seen (at most 500 characters).
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

/// The dealer's opening settings (the defaults without a row).
pub async fn settings(db: &impl ConnectionTrait, dealer_id: Uuid) -> AppResult<OpeningSettings> {
    match opening_setting::Entity::find_by_id(dealer_id)
        .one(db)
        .await?
    {
        None => Ok(OpeningSettings::default()),
        Some(r) => from_stored(&r.settings, "opening settings"),
    }
}

/// The settings, for those who tick the checklist or write them.
pub async fn get_settings(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<OpeningSettings> {
    actor.require(opening::SETTINGS_READERS)?;
    settings(db, actor.dealer_id).await
}

/// Replaces the dealer's settings (managers): 422 naming each bad field.
/// Ticks of an item taken out stay (its words are kept with them).
pub async fn put_settings(
    db: &impl ConnectionTrait,
    actor: &Actor,
    body: OpeningSettings,
    now: DateTime<Utc>,
) -> AppResult<OpeningSettings> {
    actor.require(opening::WRITERS)?;
    let s = body.validated()?;
    opening_setting::Entity::insert(opening_setting::ActiveModel {
        dealer_id: Set(actor.dealer_id),
        settings: Set(to_stored(&s, "opening settings")?),
        updated_by: Set(actor.id),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(opening_setting::Column::DealerId)
            .update_columns([
                opening_setting::Column::Settings,
                opening_setting::Column::UpdatedBy,
                opening_setting::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(s)
}

/// The opening page of the caller's dealer, today.
pub async fn today(
    db: &impl ConnectionTrait,
    actor: &Actor,
    now: DateTime<Utc>,
) -> AppResult<Today> {
    actor.require(opening::READERS)?;
    let (d, tz) = dealer_zone(db, actor.dealer_id).await?;
    let date = now.with_timezone(&tz).date_naive();
    let s = settings(db, d.id).await?;
    let mut bookings = bookings(db, d.id, tz, date).await?;
    // the morning meeting is for everyone; names only for those who deal with people
    let sight = actor.sight();
    for b in &mut bookings.list {
        b.customer_name = sight.name(&b.customer_name);
    }
    let staff = staffing(db, d.id, date, now).await?;
    let promised_today = promised(db, d.id, tz, date, now).await?;
    let yesterday = if board::reads_kpis(actor) {
        let y = date - Duration::days(1);
        let p = kpi::one_period(db, actor, y, y, now).await?;
        Some(against(y, &p, &s.targets))
    } else {
        None
    };
    let (open, overdue) = cases::open_counts(db, d.id, now).await?;
    let overdue_cases = if cases::HANDLERS.iter().any(|r| actor.has(*r)) {
        Some(overdue_cases(db, d.id, tz, now).await?)
    } else {
        None
    };
    let comebacks = comebacks_now(db, actor, tz).await?;
    let parts_missing = parts_missing(db, d.id, tz, date).await?;
    let checklist = checklist(db, d.id, tz, date, &s.checklist).await?;
    Ok(Today {
        dealer_id: d.id,
        date,
        as_of: now.with_timezone(&tz).fixed_offset(),
        bookings,
        staff,
        promised_today,
        yesterday,
        cases: CasesNow {
            open,
            overdue,
            overdue_cases,
        },
        comebacks,
        parts_missing,
        checklist,
    })
}

/// Ticks today's item `code` (the supervisor, the manager, the foreman,
/// the dealer's admin). A tick that is there already stays as it is, with
/// its ticker, time and note: the answer is the item either way. An item
/// not in the checklist is 404.
pub async fn tick(
    db: &impl ConnectionTrait,
    actor: &Actor,
    code: &str,
    input: OpeningTick,
    now: DateTime<Utc>,
) -> AppResult<OpeningChecklistEntry> {
    actor.require(opening::TICKERS)?;
    let (d, tz) = dealer_zone(db, actor.dealer_id).await?;
    let day = now.with_timezone(&tz).date_naive();
    let s = settings(db, d.id).await?;
    let item = item_of(&s, code)?;
    let note = validation::optional_multiline(input.note.as_deref(), opening::MAX_NOTE)
        .map_err(|m| AppError::field("note", m))?;
    // one statement on the unique (dealer, day, code): of a retried or
    // concurrent tick, in this instance or another, the first row stays
    opening_tick::Entity::insert(opening_tick::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(d.id),
        day: Set(day),
        code: Set(item.code.clone()),
        label_zh: Set(item.zh_cn.clone()),
        label_en: Set(item.en.clone()),
        ticked_by: Set(actor.id),
        ticked_at: Set(now),
        note: Set(note),
    })
    .on_conflict(
        OnConflict::columns([
            opening_tick::Column::DealerId,
            opening_tick::Column::Day,
            opening_tick::Column::Code,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    entry_of(db, d.id, tz, day, item).await
}

/// Takes today's tick of `code` back (managers and the supervisor); the
/// item as it is then. Nothing to take back is no error.
pub async fn untick(
    db: &impl ConnectionTrait,
    actor: &Actor,
    code: &str,
    now: DateTime<Utc>,
) -> AppResult<OpeningChecklistEntry> {
    actor.require(opening::UNTICKERS)?;
    let (d, tz) = dealer_zone(db, actor.dealer_id).await?;
    let day = now.with_timezone(&tz).date_naive();
    let s = settings(db, d.id).await?;
    let item = item_of(&s, code)?;
    opening_tick::Entity::delete_many()
        .filter(opening_tick::Column::DealerId.eq(d.id))
        .filter(opening_tick::Column::Day.eq(day))
        .filter(opening_tick::Column::Code.eq(item.code.as_str()))
        .exec(db)
        .await?;
    entry_of(db, d.id, tz, day, item).await
}

/// The checklist's item of `code` (a code that could never be one is not
/// looked for): 404 otherwise.
fn item_of<'s>(s: &'s OpeningSettings, code: &str) -> AppResult<&'s OpeningItem> {
    opening::code(code)
        .ok()
        .and_then(|c| s.item(c))
        .ok_or(AppError::NotFound)
}

async fn entry_of(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    tz: Tz,
    day: NaiveDate,
    item: &OpeningItem,
) -> AppResult<OpeningChecklistEntry> {
    let mut e = checklist(db, dealer_id, tz, day, std::slice::from_ref(item)).await?;
    e.pop()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("an item without its entry")))
}

/// The items with their ticks of `day`.
async fn checklist(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    tz: Tz,
    day: NaiveDate,
    items: &[OpeningItem],
) -> AppResult<Vec<OpeningChecklistEntry>> {
    let ticks: HashMap<String, opening_tick::Model> = opening_tick::Entity::find()
        .filter(opening_tick::Column::DealerId.eq(dealer_id))
        .filter(opening_tick::Column::Day.eq(day))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.code.clone(), t))
        .collect();
    let names = staff_names(db, ticks.values().map(|t| t.ticked_by)).await?;
    Ok(items
        .iter()
        .map(|i| {
            let t = ticks.get(&i.code);
            OpeningChecklistEntry {
                code: i.code.clone(),
                zh_cn: i.zh_cn.clone(),
                en: i.en.clone(),
                ticked: t.is_some(),
                ticked_by: t.map(|t| StaffRef::of(&names, t.ticked_by)),
                ticked_at: t.map(|t| t.ticked_at.with_timezone(&tz).fixed_offset()),
                note: t.and_then(|t| t.note.clone()),
            }
        })
        .collect())
}

/// Today's appointments that are expected, by slot.
async fn bookings(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    tz: Tz,
    date: NaiveDate,
) -> AppResult<TodayBookings> {
    let (start, end) = day_bounds(tz, date, date);
    let rows = appointment::Entity::find()
        .filter(appointment::Column::DealerId.eq(dealer_id))
        .filter(appointment::Column::SlotStart.gte(start))
        .filter(appointment::Column::SlotStart.lt(end))
        .filter(appointment::Column::State.is_not_in(NOT_EXPECTED))
        .order_by_asc(appointment::Column::SlotStart)
        .order_by_asc(appointment::Column::Id)
        .all(db)
        .await?;
    let customers: HashMap<Uuid, String> = if rows.is_empty() {
        HashMap::new()
    } else {
        customer::Entity::find()
            .filter(customer::Column::Id.is_in(rows.iter().map(|r| r.customer_id)))
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect()
    };
    let plates = plates(db, rows.iter().map(|r| r.vehicle_id)).await?;
    let advisors = staff_names(db, rows.iter().filter_map(|r| r.advisor_id)).await?;
    let mut by_hour: BTreeMap<u32, u64> = BTreeMap::new();
    let mut by_advisor: HashMap<Option<Uuid>, u64> = HashMap::new();
    let mut list = Vec::with_capacity(rows.len());
    for r in &rows {
        let at = r.slot_start.with_timezone(&tz).fixed_offset();
        *by_hour.entry(at.hour()).or_default() += 1;
        *by_advisor.entry(r.advisor_id).or_default() += 1;
        list.push(TodayBooking {
            appointment_id: r.id,
            slot_start: at,
            customer_id: r.customer_id,
            customer_name: customers.get(&r.customer_id).cloned().unwrap_or_default(),
            vehicle_id: r.vehicle_id,
            plate: plates.get(&r.vehicle_id).cloned().flatten(),
            advisor: r.advisor_id.map(|a| StaffRef::of(&advisors, a)),
            state: r.state,
        });
    }
    let mut by_advisor: Vec<BookingsOfAdvisor> = by_advisor
        .into_iter()
        .map(|(a, count)| BookingsOfAdvisor {
            advisor: a.map(|a| StaffRef::of(&advisors, a)),
            count,
        })
        .collect();
    // by name, the unassigned last
    by_advisor.sort_by(|a, b| {
        let key = |c: &BookingsOfAdvisor| {
            c.advisor
                .as_ref()
                .map(|s| (false, s.name.clone(), s.id))
                .unwrap_or((true, String::new(), Uuid::nil()))
        };
        key(a).cmp(&key(b))
    });
    Ok(TodayBookings {
        total: rows.len() as u64,
        by_hour: by_hour
            .into_iter()
            .map(|(hour, count)| BookingsInHour { hour, count })
            .collect(),
        by_advisor,
        list,
    })
}

/// Plates of vehicles, by id.
async fn plates(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = Uuid>,
) -> AppResult<HashMap<Uuid, Option<String>>> {
    let mut ids: Vec<Uuid> = ids.into_iter().collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(vehicle::Entity::find()
        .filter(vehicle::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, v.plate))
        .collect())
}

/// The dealer's active technicians today, by their rosters.
async fn staffing(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> AppResult<Staffing> {
    let rosters = kpi::roster::rosters(db, dealer_id).await?;
    let default = Roster::default();
    let mut on_shift = Vec::new();
    let mut absent = Vec::new();
    for u in user::Entity::find()
        .filter(user::Column::DealerId.eq(dealer_id))
        .filter(user::Column::Active.eq(true))
        .order_by_asc(user::Column::DisplayName)
        .order_by_asc(user::Column::Id)
        .all(db)
        .await?
    {
        if !crate::services::auth::roles_of(&u)?.contains(&Role::Technician) {
            continue;
        }
        let day = opening::day_shift(rosters.get(&u.id).unwrap_or(&default), date);
        if day.on_shift() {
            on_shift.push(TechnicianOnShift {
                technician_id: u.id,
                name: u.display_name.clone(),
                hours: two_places(day.hours),
            });
        }
        if day.absent() {
            absent.push(TechnicianAbsent {
                technician_id: u.id,
                name: u.display_name.clone(),
                hours_off: two_places(day.hours_off),
                whole_day: day.whole_day_off(),
            });
        }
    }
    let hours = two_places(on_shift.iter().map(|o| o.hours).sum());
    Ok(Staffing {
        on_shift,
        absent,
        hours,
        deputies: deputies::running_at(db, dealer_id, now).await?,
    })
}

/// The stocked parts the dealer's bookings of its local today need more
/// of than is available now (the parts desk's page).
pub async fn parts_missing_now(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<Vec<StockShortfall>> {
    let (_, tz) = dealer_zone(db, dealer_id).await?;
    parts_missing(db, dealer_id, tz, now.with_timezone(&tz).date_naive()).await
}

/// The stocked parts today's open bookings need more of than is available.
async fn parts_missing(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    tz: Tz,
    date: NaiveDate,
) -> AppResult<Vec<StockShortfall>> {
    let (start, end) = day_bounds(tz, date, date);
    let rows = appointment::Entity::find()
        .filter(appointment::Column::DealerId.eq(dealer_id))
        .filter(appointment::Column::SlotStart.gte(start))
        .filter(appointment::Column::SlotStart.lt(end))
        .filter(
            appointment::Column::State
                .is_in([AppointmentState::Booked, AppointmentState::Confirmed]),
        )
        .all(db)
        .await?;
    let mut wanted = Vec::new();
    for a in rows {
        let lines = crate::services::appointments::services_of(&a)?;
        wanted.extend(
            lines
                .into_iter()
                .flat_map(|l| l.parts)
                .map(|p| (p.part_number, p.quantity)),
        );
    }
    crate::services::parts::shortfalls(db, dealer_id, &wanted).await
}

/// The comebacks not closed: counts by state, and the oldest listed.
async fn comebacks_now(
    db: &impl ConnectionTrait,
    actor: &Actor,
    tz: Tz,
) -> AppResult<ComebacksNow> {
    let waiting_states = [
        ComebackState::Open,
        ComebackState::Analysed,
        ComebackState::ActionDone,
    ];
    let counts: Vec<(ComebackState, i64)> = comeback::Entity::find()
        .select_only()
        .column(comeback::Column::State)
        .column_as(comeback::Column::Id.count(), "n")
        .filter(comeback::Column::DealerId.eq(actor.dealer_id))
        .filter(comeback::Column::State.is_in(waiting_states))
        .group_by(comeback::Column::State)
        .into_tuple()
        .all(db)
        .await?;
    let count = |st: ComebackState| {
        counts
            .iter()
            .find(|(s, _)| *s == st)
            .map_or(0, |(_, n)| u64::try_from(*n).unwrap_or(0))
    };
    let waiting = if actor.require(crate::domain::comeback::READERS).is_ok() {
        let rows = comeback::Entity::find()
            .filter(comeback::Column::DealerId.eq(actor.dealer_id))
            .filter(comeback::Column::State.is_in(waiting_states))
            .order_by_asc(comeback::Column::CreatedAt)
            .order_by_asc(comeback::Column::Id)
            .limit(OVERDUE_LISTED)
            .all(db)
            .await?;
        let owners = staff_names(db, rows.iter().filter_map(|r| r.action_owner_id)).await?;
        Some(
            rows.into_iter()
                .map(|r| WaitingComeback {
                    id: r.id,
                    kind: r.kind,
                    state: r.state,
                    repair_order_id: r.order_id,
                    action_owner: r.action_owner_id.map(|o| StaffRef::of(&owners, o)),
                    opened_at: r.created_at.with_timezone(&tz).fixed_offset(),
                })
                .collect(),
        )
    } else {
        None
    };
    Ok(ComebacksNow {
        open: count(ComebackState::Open),
        analysed: count(ComebackState::Analysed),
        action_done: count(ComebackState::ActionDone),
        waiting,
    })
}

fn two_places(h: Decimal) -> Decimal {
    let mut h = h.round_dp(2);
    h.rescale(2);
    h
}

/// Orders promised for a local time today, not delivered or cancelled, by
/// promised time, with the dispatch board's risk.
async fn promised(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    tz: Tz,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> AppResult<Vec<PromisedCar>> {
    let (start, end) = day_bounds(tz, date, date);
    let orders = repair_order::Entity::find()
        .filter(repair_order::Column::DealerId.eq(dealer_id))
        .filter(repair_order::Column::PromisedAt.gte(start))
        .filter(repair_order::Column::PromisedAt.lt(end))
        .filter(repair_order::Column::State.is_not_in(DONE))
        .order_by_asc(repair_order::Column::PromisedAt)
        .order_by_asc(repair_order::Column::Number)
        .all(db)
        .await?;
    if orders.is_empty() {
        return Ok(vec![]);
    }
    let jobs = repair_order_job::Entity::find()
        .filter(repair_order_job::Column::OrderId.is_in(orders.iter().map(|o| o.id)))
        .all(db)
        .await?;
    // sold hours of the counted jobs not done, as the dispatch board counts them
    let mut left: HashMap<Uuid, i64> = HashMap::new();
    for j in crate::services::repair_orders::counted(&jobs) {
        if j.state != RepairJobState::Done {
            *left.entry(j.order_id).or_default() += i64::from(j.labour_centihours);
        }
    }
    let plates = plates(db, orders.iter().map(|o| o.vehicle_id)).await?;
    Ok(orders
        .into_iter()
        .filter_map(|o| {
            let promised = o.promised_at?;
            let centihours = left.get(&o.id).copied().unwrap_or(0);
            Some(PromisedCar {
                order_id: o.id,
                number: o.number.clone(),
                plate: plates.get(&o.vehicle_id).cloned().flatten(),
                state: o.state,
                promised_at: promised.with_timezone(&tz).fixed_offset(),
                remaining_hours: two_places(Decimal::new(centihours, 2)),
                at_risk: promise_at_risk(o.state, Some(promised), centihours, now),
            })
        })
        .collect())
}

/// The overdue cases with their customers' names.
async fn overdue_cases(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    tz: Tz,
    now: DateTime<Utc>,
) -> AppResult<Vec<OverdueCase>> {
    let rows = cases::overdue_cases(db, dealer_id, now, OVERDUE_LISTED).await?;
    let names: HashMap<Uuid, String> = if rows.is_empty() {
        HashMap::new()
    } else {
        customer::Entity::find()
            .filter(customer::Column::Id.is_in(rows.iter().map(|c| c.customer_id)))
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect()
    };
    Ok(rows
        .into_iter()
        .map(|c| {
            let due = if WAITING_FOR_CONTACT.contains(&c.state) {
                c.contact_due_at
            } else {
                c.resolve_due_at
            };
            OverdueCase {
                id: c.id,
                customer_id: c.customer_id,
                customer_name: names.get(&c.customer_id).cloned().unwrap_or_default(),
                category: c.category,
                severity: c.severity,
                state: c.state,
                due_at: due.with_timezone(&tz).fixed_offset(),
            }
        })
        .collect())
}

fn ratio(f: &Figure, target: Option<Decimal>) -> RatioVsTarget {
    RatioVsTarget {
        value: f.value,
        numerator: f.numerator,
        denominator: f.denominator,
        target,
        met: opening::met(f.value, target),
    }
}

fn count(value: u64, target: Option<u32>) -> CountVsTarget {
    CountVsTarget {
        value,
        target,
        met: opening::met(Some(value), target.map(u64::from)),
    }
}

/// Yesterday's figures against the targets.
fn against(date: NaiveDate, p: &KpiPeriod, t: &OpeningTargets) -> YesterdayFigures {
    YesterdayFigures {
        date,
        revenue: AmountVsTarget {
            value: p.revenue.total,
            target: t.revenue,
            met: opening::met(Some(p.revenue.total), t.revenue),
        },
        vehicles_in: count(p.vehicles_in, t.vehicles_in),
        vehicles_delivered: count(p.vehicles_delivered, t.vehicles_delivered),
        first_time_fix: ratio(&p.first_time_fix, t.first_time_fix),
        show_rate: ratio(&p.appointments.show_rate, t.show_rate),
        on_time_delivery: ratio(&p.on_time_delivery, t.on_time_delivery),
        follow_up_within_3_days: ratio(&p.follow_up_within_3_days, t.follow_up_within_3_days),
        csi: ratio(&p.csi, t.csi),
    }
}
