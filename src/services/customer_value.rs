//! Customer value (客户价值分析): the dealer's settings and
//! `GET /api/v1/customer-value`. The rules are `domain::customer_value`;
//! this is where the figures come from.
//!
//! The customers are read by (dealer, id) in batches of 500, in id order
//! (the keyset of the customer list); for each batch the database
//! aggregates per customer: the last delivery and the visits in the window
//! (`repair_orders` by customer), and what was paid on those visits
//! (`payments` joined by order, summed). No order is loaded to be counted
//! in memory: a batch brings back at most one row per customer from each
//! aggregate. The target lists read only what their candidates need:
//! vehicles, readings and deliveries of the golden customers of the batch;
//! recent deliveries and their responses of the customers seen lately.

use std::collections::{HashMap, HashSet};

use actix_web::web::Bytes;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use futures_util::Stream;
use rust_decimal::Decimal;
use sea_orm::sea_query::{Alias, Expr, Func, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, JoinType, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::Role;
use crate::domain::appointment::AppointmentState;
use crate::domain::customer_value::{
    Activity, MAINTENANCE_DUE_DAYS, SURVEY_DAYS, TargetList, ValueSettings, ValueTier, lapsing,
};
use crate::domain::import::csv_safe;
use crate::domain::maintenance::Interval;
use crate::domain::privacy::AccessAction;
use crate::domain::repair_order::OrderState;
use crate::entities::{
    appointment, csi_response, customer, customer_value_setting, dealer, payment, repair_order,
    vehicle,
};
use crate::error::{AppError, AppResult};
use crate::services::appointments::day_bounds;
use crate::services::dealers::zone;
use crate::services::export::phone_text;
use crate::services::import::UTF8_BOM;
use crate::services::privacy::Looker;
use crate::services::vehicles::{maintenance_intervals, reading_spans, use_history};

/// Who reads the analysis and its settings: the managers, the customer
/// centre (it calls the lists) and the dealer's admin.
pub const READERS: &[Role] = &[
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::CustomerCare,
    Role::DealerAdmin,
];

/// The most customers one JSON page answers (and the default).
pub const MAX_PAGE: u64 = 500;

/// Customers read from the database at a time.
const BATCH: u64 = 500;

/// An order as the maintenance rule reads it: vehicle, state, delivery, odometer.
type OrderRow = (Uuid, OrderState, Option<DateTime<Utc>>, Option<i64>);

/// The states of a delivered order (a visit).
const VISITED: [OrderState; 2] = [OrderState::Delivered, OrderState::Closed];

/// The dealer's settings (the defaults without a row).
pub async fn settings(db: &impl ConnectionTrait, dealer_id: Uuid) -> AppResult<ValueSettings> {
    match customer_value_setting::Entity::find_by_id(dealer_id)
        .one(db)
        .await?
    {
        None => Ok(ValueSettings::default()),
        Some(r) => crate::services::from_stored(&r.settings, "customer value settings"),
    }
}

/// The dealer's settings, for those who read the analysis.
pub async fn get_settings(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<ValueSettings> {
    actor.require(READERS)?;
    settings(db, actor.dealer_id).await
}

/// Replaces the dealer's settings (managers): 422 naming each bad field.
pub async fn put_settings(
    db: &impl ConnectionTrait,
    actor: &Actor,
    body: ValueSettings,
    now: DateTime<Utc>,
) -> AppResult<ValueSettings> {
    actor.require(crate::services::capacity::MANAGERS)?;
    let s = body.validated()?;
    customer_value_setting::Entity::insert(customer_value_setting::ActiveModel {
        dealer_id: Set(actor.dealer_id),
        settings: Set(crate::services::to_stored(&s, "customer value settings")?),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(customer_value_setting::Column::DealerId)
            .update_columns([
                customer_value_setting::Column::Settings,
                customer_value_setting::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(s)
}

/// One customer's value.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerValue {
    pub customer_id: Uuid,
    pub name: String,
    /// E.164.
    pub phone: String,
    pub tier: Option<ValueTier>,
    /// The local date of the last delivered order; null without one.
    #[schema(value_type = Option<String>, format = Date)]
    pub last_visit_on: Option<NaiveDate>,
    /// R: days since the last delivered order (0: today); null without one.
    pub recency_days: Option<i64>,
    /// F: delivered orders in the window.
    pub frequency: u64,
    /// M: CNY paid on those orders.
    #[schema(value_type = String, format = "decimal")]
    pub monetary: Decimal,
    pub r_score: u8,
    pub f_score: u8,
    pub m_score: u8,
    /// R + F + M, 3 to 15.
    pub score: u8,
    /// The discount band's percent; 0 below every band.
    #[schema(value_type = String, format = "decimal")]
    pub discount_percent: Decimal,
    /// `list=golden_maintenance_due`: the vehicle due first.
    pub due_vehicle_id: Option<Uuid>,
    /// `list=golden_maintenance_due`: its plate (or VIN without a plate).
    pub due_vehicle: Option<String>,
    /// `list=golden_maintenance_due`: when its service falls due (may be past: overdue).
    #[schema(value_type = Option<String>, format = Date)]
    pub maintenance_due_on: Option<NaiveDate>,
    /// `list=csi_survey`: the latest delivered order without a response.
    pub survey_order_id: Option<Uuid>,
    /// `list=csi_survey`: its number.
    pub survey_order_number: Option<String>,
    /// `list=csi_survey`: its local delivery date.
    #[schema(value_type = Option<String>, format = Date)]
    pub delivered_on: Option<NaiveDate>,
}

/// A page of the analysis.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValuePage {
    /// The dealer's local date the figures are of.
    #[schema(value_type = String, format = Date)]
    pub as_of: NaiveDate,
    /// The first local date of the window F and M count.
    #[schema(value_type = String, format = Date)]
    pub window_from: NaiveDate,
    /// Customers in id order (creation order).
    pub items: Vec<CustomerValue>,
    /// Where the next page starts (`cursor=`); null after the last.
    pub next_cursor: Option<String>,
}

/// What to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter {
    pub tier: Option<ValueTier>,
    pub list: Option<TargetList>,
}

/// Everything a batch needs, read once per request.
#[derive(Clone)]
pub struct Context {
    dealer_id: Uuid,
    tz: Tz,
    today: NaiveDate,
    settings: ValueSettings,
    /// The first instant of the window.
    window_start: DateTime<Utc>,
    /// The maintenance rule's intervals (only for the golden list).
    intervals: Vec<Interval>,
    filter: Filter,
}

impl Context {
    /// The actor's dealer's context at `now`; 403 for other roles.
    pub async fn of(
        db: &impl ConnectionTrait,
        actor: &Actor,
        filter: Filter,
        now: DateTime<Utc>,
    ) -> AppResult<Context> {
        actor.require(READERS)?;
        let d = dealer::Entity::find_by_id(actor.dealer_id)
            .one(db)
            .await?
            .ok_or(AppError::NotFound)?;
        let tz = zone(&d);
        let today = now.with_timezone(&tz).date_naive();
        let settings = settings(db, d.id).await?;
        let from = settings.window_start(today);
        let intervals = if filter.list == Some(TargetList::GoldenMaintenanceDue) {
            maintenance_intervals(db, d.id).await?
        } else {
            Vec::new()
        };
        Ok(Context {
            dealer_id: d.id,
            tz,
            today,
            window_start: day_bounds(tz, from, from).0,
            settings,
            intervals,
            filter,
        })
    }

    fn local(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// The first instant of the local date `days` before today.
    fn days_back(&self, days: i64) -> DateTime<Utc> {
        let d = self.today - Duration::days(days);
        day_bounds(self.tz, d, d).0
    }
}

/// A JSON page: up to `limit` customers after `after`.
pub async fn page(
    db: &impl ConnectionTrait,
    ctx: &Context,
    after: Option<Uuid>,
    limit: u64,
) -> AppResult<ValuePage> {
    let (items, next) = scan(db, ctx, after, limit as usize).await?;
    Ok(ValuePage {
        as_of: ctx.today,
        window_from: ctx.settings.window_start(ctx.today),
        items,
        next_cursor: next.map(crate::services::encode_cursor),
    })
}

/// Up to `want` customers after `after` that pass the filter, and the
/// cursor of the next (None when the archive is read to its end).
async fn scan(
    db: &impl ConnectionTrait,
    ctx: &Context,
    mut after: Option<Uuid>,
    want: usize,
) -> AppResult<(Vec<CustomerValue>, Option<Uuid>)> {
    let mut out = Vec::new();
    loop {
        let mut q = customer::Entity::find()
            .select_only()
            .column(customer::Column::Id)
            .column(customer::Column::Name)
            .column(customer::Column::Phone)
            .filter(customer::Column::DealerId.eq(ctx.dealer_id))
            .order_by_asc(customer::Column::Id)
            .limit(BATCH);
        if let Some(a) = after {
            q = q.filter(customer::Column::Id.gt(a));
        }
        let batch: Vec<(Uuid, String, String)> = q.into_tuple().all(db).await?;
        let Some(last) = batch.last().map(|c| c.0) else {
            return Ok((out, None));
        };
        for row in assess(db, ctx, &batch).await? {
            let id = row.customer_id;
            out.push(row);
            if out.len() >= want {
                return Ok((out, Some(id)));
            }
        }
        if (batch.len() as u64) < BATCH {
            return Ok((out, None));
        }
        after = Some(last);
    }
}

/// The customers of one batch that pass the filter, in the batch's order.
async fn assess(
    db: &impl ConnectionTrait,
    ctx: &Context,
    batch: &[(Uuid, String, String)],
) -> AppResult<Vec<CustomerValue>> {
    let ids: Vec<Uuid> = batch.iter().map(|c| c.0).collect();
    let activity = activity(db, ctx, &ids).await?;
    let none = Activity::default();
    let mut rows: Vec<CustomerValue> = batch
        .iter()
        .map(|(id, name, phone)| {
            let a = activity.get(id).unwrap_or(&none);
            let v = ctx.settings.assess(a, ctx.today);
            CustomerValue {
                customer_id: *id,
                name: name.clone(),
                phone: phone.clone(),
                tier: v.tier,
                last_visit_on: a.last_visit,
                recency_days: v.recency_days,
                frequency: v.frequency,
                monetary: v.monetary,
                r_score: v.r_score,
                f_score: v.f_score,
                m_score: v.m_score,
                score: v.score,
                discount_percent: v.discount_percent,
                due_vehicle_id: None,
                due_vehicle: None,
                maintenance_due_on: None,
                survey_order_id: None,
                survey_order_number: None,
                delivered_on: None,
            }
        })
        .filter(|r| ctx.filter.tier.is_none() || r.tier == ctx.filter.tier)
        .collect();
    match ctx.filter.list {
        None => {}
        Some(TargetList::Lapsing) => rows.retain(|r| lapsing(r.last_visit_on, ctx.today)),
        Some(TargetList::GoldenMaintenanceDue) => {
            rows.retain(|r| r.tier == Some(ValueTier::Golden));
            maintenance_due(db, ctx, &mut rows).await?;
        }
        Some(TargetList::CsiSurvey) => {
            let since = ctx.today - Duration::days(SURVEY_DAYS);
            rows.retain(|r| r.last_visit_on.is_some_and(|d| d >= since));
            unsurveyed(db, ctx, &mut rows).await?;
        }
    }
    Ok(rows)
}

/// The activity of the customers `ids`: two grouped queries, one row per
/// customer each.
async fn activity(
    db: &impl ConnectionTrait,
    ctx: &Context,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Activity>> {
    use repair_order::Column as O;
    let in_window: Expr = Expr::case(O::DeliveredAt.gte(ctx.window_start), Expr::val(1))
        .finally(Expr::val(0))
        .into();
    let visits: Vec<(Uuid, Option<DateTime<Utc>>, Option<i64>)> = repair_order::Entity::find()
        .select_only()
        .column(O::CustomerId)
        .column_as(Expr::from(Func::max(Expr::col(O::DeliveredAt))), "last_at")
        .column_as(
            Expr::from(Func::cast_as(Func::sum(in_window), Alias::new("BIGINT"))),
            "visits",
        )
        // the batch's customers are the dealer's, and so are their orders:
        // no dealer filter, which would tempt SQLite's planner to walk the
        // dealer's whole (dealer, delivered_at) index for every batch
        .filter(O::CustomerId.is_in(ids.iter().copied()))
        .filter(O::State.is_in(VISITED))
        .filter(O::DeliveredAt.is_not_null())
        .group_by(O::CustomerId)
        .into_tuple()
        .all(db)
        .await?;
    let mut out: HashMap<Uuid, Activity> = HashMap::new();
    for (c, last, n) in visits {
        out.insert(
            c,
            Activity {
                last_visit: last.map(|t| ctx.local(t)),
                visits: n.unwrap_or(0).max(0) as u64,
                paid_cents: 0,
            },
        );
    }
    if out.is_empty() {
        return Ok(out);
    }
    // what was paid on the visits in the window, whenever it was paid
    let paid: Vec<(Uuid, Option<i64>)> = payment::Entity::find()
        .select_only()
        .column(O::CustomerId)
        .column_as(
            Expr::from(Func::cast_as(
                Func::sum(Expr::col((payment::Entity, payment::Column::AmountCents))),
                Alias::new("BIGINT"),
            )),
            "paid",
        )
        .join(JoinType::InnerJoin, payment_order())
        .filter(O::CustomerId.is_in(out.keys().copied()))
        .filter(O::State.is_in(VISITED))
        .filter(O::DeliveredAt.gte(ctx.window_start))
        .group_by(O::CustomerId)
        .into_tuple()
        .all(db)
        .await?;
    for (c, cents) in paid {
        if let Some(a) = out.get_mut(&c) {
            a.paid_cents = cents.unwrap_or(0);
        }
    }
    Ok(out)
}

/// payments → repair_orders (the entities declare no relations).
fn payment_order() -> sea_orm::RelationDef {
    payment::Entity::belongs_to(repair_order::Entity)
        .from(payment::Column::OrderId)
        .to(repair_order::Column::Id)
        .into()
}

/// Keeps the golden customers with a vehicle whose next service (the
/// maintenance rule the care planner reminds by) falls due within 30 days
/// or is overdue, naming the vehicle due first. A vehicle in the workshop
/// or booked already (as the planner skips it) is not listed.
async fn maintenance_due(
    db: &impl ConnectionTrait,
    ctx: &Context,
    rows: &mut Vec<CustomerValue>,
) -> AppResult<()> {
    if rows.is_empty() || ctx.intervals.is_empty() {
        rows.clear();
        return Ok(());
    }
    let owners: Vec<Uuid> = rows.iter().map(|r| r.customer_id).collect();
    let vehicles = vehicle::Entity::find()
        .filter(vehicle::Column::DealerId.eq(ctx.dealer_id))
        .filter(vehicle::Column::CustomerId.is_in(owners))
        .all(db)
        .await?;
    let ids: Vec<Uuid> = vehicles.iter().map(|v| v.id).collect();
    if ids.is_empty() {
        rows.clear();
        return Ok(());
    }
    // the last delivery of each vehicle, with its odometer; and the ones in
    // the workshop now
    let orders: Vec<OrderRow> = repair_order::Entity::find()
        .select_only()
        .column(repair_order::Column::VehicleId)
        .column(repair_order::Column::State)
        .column(repair_order::Column::DeliveredAt)
        .column(repair_order::Column::OdometerKm)
        .filter(repair_order::Column::VehicleId.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    let mut last_delivered: HashMap<Uuid, (NaiveDate, Option<i64>)> = HashMap::new();
    let mut busy: HashSet<Uuid> = HashSet::new();
    for (v, state, delivered, km) in orders {
        match (state, delivered) {
            (OrderState::Delivered | OrderState::Closed, Some(at)) => {
                let d = ctx.local(at);
                let e = last_delivered.entry(v).or_insert((d, km));
                if d > e.0 {
                    *e = (d, km);
                }
            }
            (OrderState::Cancelled | OrderState::Delivered | OrderState::Closed, _) => {}
            _ => {
                busy.insert(v);
            }
        }
    }
    let booked: Vec<Uuid> = appointment::Entity::find()
        .select_only()
        .column(appointment::Column::VehicleId)
        .filter(appointment::Column::VehicleId.is_in(ids.iter().copied()))
        .filter(appointment::Column::State.is_in([
            AppointmentState::Booked,
            AppointmentState::Confirmed,
            AppointmentState::CheckedIn,
        ]))
        .filter(appointment::Column::SlotStart.gte(ctx.days_back(0)))
        .into_tuple()
        .all(db)
        .await?;
    busy.extend(booked);
    let spans = reading_spans(db, ctx.dealer_id, Some(&ids)).await?;
    let horizon = ctx.today + Duration::days(MAINTENANCE_DUE_DAYS);
    let mut due: HashMap<Uuid, (NaiveDate, Uuid, String)> = HashMap::new();
    for v in &vehicles {
        if busy.contains(&v.id) {
            continue;
        }
        let h = use_history(v, spans.get(&v.id), last_delivered.get(&v.id).copied());
        let Some((on, _)) = h.next_service(&ctx.intervals) else {
            continue;
        };
        if on > horizon {
            continue;
        }
        let name = v.plate.clone().unwrap_or_else(|| v.vin.clone());
        let e = due.entry(v.customer_id).or_insert((on, v.id, name.clone()));
        if (on, v.id) < (e.0, e.1) {
            *e = (on, v.id, name);
        }
    }
    rows.retain_mut(|r| match due.remove(&r.customer_id) {
        Some((on, id, name)) => {
            r.maintenance_due_on = Some(on);
            r.due_vehicle_id = Some(id);
            r.due_vehicle = Some(name);
            true
        }
        None => false,
    });
    Ok(())
}

/// Keeps the customers with an order delivered in the last 30 days that has
/// no CSI response (survey, SMS or call), naming the latest such order.
async fn unsurveyed(
    db: &impl ConnectionTrait,
    ctx: &Context,
    rows: &mut Vec<CustomerValue>,
) -> AppResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let owners: Vec<Uuid> = rows.iter().map(|r| r.customer_id).collect();
    let orders: Vec<(Uuid, Uuid, String, Option<DateTime<Utc>>)> = repair_order::Entity::find()
        .select_only()
        .column(repair_order::Column::Id)
        .column(repair_order::Column::CustomerId)
        .column(repair_order::Column::Number)
        .column(repair_order::Column::DeliveredAt)
        .filter(repair_order::Column::DealerId.eq(ctx.dealer_id))
        .filter(repair_order::Column::CustomerId.is_in(owners))
        .filter(repair_order::Column::State.is_in(VISITED))
        .filter(repair_order::Column::DeliveredAt.gte(ctx.days_back(SURVEY_DAYS)))
        .into_tuple()
        .all(db)
        .await?;
    let answered: HashSet<Uuid> = if orders.is_empty() {
        HashSet::new()
    } else {
        csi_response::Entity::find()
            .select_only()
            .column(csi_response::Column::OrderId)
            .filter(csi_response::Column::OrderId.is_in(orders.iter().map(|o| o.0)))
            .into_tuple::<Uuid>()
            .all(db)
            .await?
            .into_iter()
            .collect()
    };
    let mut latest: HashMap<Uuid, (DateTime<Utc>, Uuid, String)> = HashMap::new();
    for (id, c, number, at) in orders {
        let Some(at) = at else { continue };
        if answered.contains(&id) {
            continue;
        }
        let e = latest.entry(c).or_insert((at, id, number.clone()));
        if (at, id) > (e.0, e.1) {
            *e = (at, id, number);
        }
    }
    rows.retain_mut(|r| match latest.remove(&r.customer_id) {
        Some((at, id, number)) => {
            r.survey_order_id = Some(id);
            r.survey_order_number = Some(number);
            r.delivered_on = Some(ctx.local(at));
            true
        }
        None => false,
    });
    Ok(())
}

/// The CSV's header row (zh-CN: the file is for Excel at the dealer).
pub const CSV_HEADERS: [&str; 16] = [
    "客户",
    "手机",
    "客户等级",
    "最近到店",
    "距今天数(R)",
    "到店次数(F)",
    "消费金额(M)",
    "R分",
    "F分",
    "M分",
    "总分",
    "折扣(%)",
    "保养车辆",
    "保养到期日",
    "回访工单号",
    "交车日期",
];

/// A tier as the CSV names it.
pub fn tier_label(t: Option<ValueTier>) -> &'static str {
    match t {
        Some(ValueTier::Golden) => "黄金客户",
        Some(ValueTier::Regular) => "普通客户",
        Some(ValueTier::AtRisk) => "流失风险",
        Some(ValueTier::Lost) => "已流失",
        None => "未到店",
    }
}

fn csv_row(r: &CustomerValue) -> Vec<String> {
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    vec![
        csv_safe(&r.name).into_owned(),
        phone_text(&r.phone),
        tier_label(r.tier).to_string(),
        date(r.last_visit_on),
        r.recency_days.map(|d| d.to_string()).unwrap_or_default(),
        r.frequency.to_string(),
        r.monetary.to_string(),
        r.r_score.to_string(),
        r.f_score.to_string(),
        r.m_score.to_string(),
        r.score.to_string(),
        r.discount_percent.to_string(),
        csv_safe(r.due_vehicle.as_deref().unwrap_or_default()).into_owned(),
        date(r.maintenance_due_on),
        r.survey_order_number.clone().unwrap_or_default(),
        date(r.delivered_on),
    ]
}

fn write_csv(out: &mut Vec<u8>, rows: impl IntoIterator<Item = Vec<String>>) {
    let mut w = csv::Writer::from_writer(out);
    for r in rows {
        // writing to a Vec cannot fail
        let _ = w.write_record(&r);
    }
    let _ = w.flush();
}

enum Cursor {
    Start,
    After(Option<Uuid>),
    Done,
}

/// Every customer that passes the filter as CSV, produced 500 at a time as
/// the client reads it: UTF-8 with a BOM so that Excel opens the Chinese
/// intact. Build the [`Context`] first (it checks the role). Each batch of
/// rows is logged through `looker` as it is produced: what was sent was seen.
pub fn csv_stream(
    db: DatabaseConnection,
    ctx: Context,
    looker: Looker,
) -> impl Stream<Item = Result<Bytes, AppError>> + 'static {
    futures_util::stream::unfold(Cursor::Start, move |cursor| {
        let db = db.clone();
        let ctx = ctx.clone();
        let looker = looker.clone();
        async move {
            let after = match cursor {
                Cursor::Done => return None,
                Cursor::Start => {
                    let mut out = Vec::from(UTF8_BOM);
                    write_csv(
                        &mut out,
                        [CSV_HEADERS.iter().map(|h| h.to_string()).collect()],
                    );
                    return Some((Ok(Bytes::from(out)), Cursor::After(None)));
                }
                Cursor::After(after) => after,
            };
            match scan(&db, &ctx, after, MAX_PAGE as usize).await {
                Ok((rows, next)) => {
                    looker
                        .saw(AccessAction::Export, rows.iter().map(|r| r.customer_id))
                        .await;
                    let mut out = Vec::new();
                    write_csv(&mut out, rows.iter().map(csv_row));
                    let cursor = match next {
                        Some(id) => Cursor::After(Some(id)),
                        None => Cursor::Done,
                    };
                    Some((Ok(Bytes::from(out)), cursor))
                }
                Err(e) => Some((Err(e), Cursor::Done)),
            }
        }
    })
}
