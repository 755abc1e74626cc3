//! What the daily board counts of a delivered order (`order_outcomes`,
//! `order_revenue`): its invoice by pay type, whether it was a comeback,
//! QC-reworked, estimated before work and on time.
//!
//! A delivered order no longer changes (no job, estimate or clock time can
//! be added to it), so its outcome is final: [`record`] writes it in the
//! delivery's transaction, and a range of figures reads one narrow row per
//! order instead of every job, clock interval and estimate. One function,
//! [`compute`], says what an outcome is; it also fills in orders delivered
//! before the table existed ([`backfill`], started with the server), and
//! [`delivered_in`] computes any such order the backfill has not reached
//! yet, so a figure never depends on the backfill having run.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use crate::domain::Money;
use crate::domain::comeback::ComebackKind;
use crate::domain::kpi::{self, EarlierVisit};
use crate::domain::repair_order::PayType;
use crate::domain::repair_order::totals::Sums;
use crate::entities::{
    clock_interval, comeback, order_outcome, order_revenue, repair_order, repair_order_estimate,
    repair_order_job,
};
use crate::error::AppResult;
use crate::services::repair_orders::{counted, settings, totals_of, vat_of};

/// `IN` lists and multi-row inserts are cut to this many.
const CHUNK: usize = 500;

/// One delivered order's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub order_id: Uuid,
    pub dealer_id: Uuid,
    pub advisor_id: Option<Uuid>,
    pub arrived_at: DateTime<Utc>,
    pub delivered_at: DateTime<Utc>,
    pub comeback: bool,
    pub qc_reworked: bool,
    /// None: no work was clocked.
    pub estimate_before_work: Option<bool>,
    /// None: no time was promised.
    pub on_time: Option<bool>,
    /// The invoice of each pay type that has any, in the order of `PayType::ALL`.
    pub revenue: Vec<(PayType, InvoiceSums)>,
}

/// An invoice's money of one pay type, as the invoice totals it (each line
/// rounded to the fen, VAT by the order's own rule).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InvoiceSums {
    pub labour: Money,
    pub parts: Money,
    /// What is paid, VAT included.
    pub gross: Money,
}

impl InvoiceSums {
    /// The sum of two; None past the integer range.
    pub fn checked_add(self, o: InvoiceSums) -> Option<InvoiceSums> {
        Some(InvoiceSums {
            labour: self.labour.checked_add(o.labour)?,
            parts: self.parts.checked_add(o.parts)?,
            gross: self.gross.checked_add(o.gross)?,
        })
    }
}

impl From<Sums> for InvoiceSums {
    fn from(s: Sums) -> Self {
        InvoiceSums {
            labour: s.labour,
            parts: s.parts,
            gross: s.gross,
        }
    }
}

#[derive(Debug, FromQueryResult)]
struct FirstAt {
    order_id: Uuid,
    at: Option<DateTime<Utc>>,
}

/// The outcomes of some delivered orders (one dealer or several), from
/// their jobs, first clock-on, first accepted estimate, the comebacks
/// recorded on them, and the vehicles' visits delivered in the dealer's
/// comeback window (30 days unless set) before each arrived. An order not
/// delivered is left out.
pub async fn compute(
    db: &impl ConnectionTrait,
    orders: &[repair_order::Model],
) -> AppResult<Vec<Outcome>> {
    let orders: Vec<&repair_order::Model> =
        orders.iter().filter(|o| o.delivered_at.is_some()).collect();
    if orders.is_empty() {
        return Ok(Vec::new());
    }
    // each dealer's comeback window (a workshop setting)
    let mut windows: HashMap<Uuid, Duration> = HashMap::new();
    for o in &orders {
        if let std::collections::hash_map::Entry::Vacant(e) = windows.entry(o.dealer_id) {
            let days = settings::of_dealer(db, o.dealer_id)
                .await?
                .comeback_window_days;
            e.insert(Duration::days(days.into()));
        }
    }
    let widest = windows.values().copied().max().unwrap_or_default();
    // the vehicles' earlier visits of the same dealer (ix_repair_orders_vehicle…)
    let mut earlier: Vec<(Uuid, Uuid, DateTime<Utc>)> = Vec::new();
    // and the comebacks recorded on the orders (repeated or marked)
    let mut recorded: HashSet<Uuid> = HashSet::new();
    for chunk in orders.chunks(CHUNK) {
        recorded.extend(
            comeback::Entity::find()
                .select_only()
                .column(comeback::Column::OrderId)
                .filter(comeback::Column::OrderId.is_in(chunk.iter().map(|o| o.id)))
                .filter(comeback::Column::Kind.is_in([ComebackKind::Repeat, ComebackKind::Marked]))
                .into_tuple::<Uuid>()
                .all(db)
                .await?,
        );
        let from = chunk.iter().map(|o| o.arrived_at).min().unwrap_or_default() - widest;
        let to = chunk.iter().map(|o| o.arrived_at).max().unwrap_or_default();
        let rows: Vec<(Uuid, Uuid, Option<DateTime<Utc>>)> = repair_order::Entity::find()
            .select_only()
            .column(repair_order::Column::Id)
            .column(repair_order::Column::VehicleId)
            .column(repair_order::Column::DeliveredAt)
            .filter(repair_order::Column::VehicleId.is_in(chunk.iter().map(|o| o.vehicle_id)))
            .filter(repair_order::Column::DealerId.is_in(chunk.iter().map(|o| o.dealer_id)))
            .filter(repair_order::Column::DeliveredAt.gte(from))
            .filter(repair_order::Column::DeliveredAt.lte(to))
            .into_tuple()
            .all(db)
            .await?;
        earlier.extend(
            rows.into_iter()
                .filter_map(|(id, v, at)| at.map(|at| (id, v, at))),
        );
    }
    let mut ids: Vec<Uuid> = orders.iter().map(|o| o.id).collect();
    let mine: HashSet<Uuid> = ids.iter().copied().collect();
    ids.extend(earlier.iter().map(|e| e.0).filter(|id| !mine.contains(id)));
    ids.sort_unstable();
    ids.dedup();
    let mut jobs_of: HashMap<Uuid, Vec<repair_order_job::Model>> = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        for j in repair_order_job::Entity::find()
            .filter(repair_order_job::Column::OrderId.is_in(chunk.iter().copied()))
            .order_by_asc(repair_order_job::Column::CreatedAt)
            .order_by_asc(repair_order_job::Column::Id)
            .all(db)
            .await?
        {
            jobs_of.entry(j.order_id).or_default().push(j);
        }
    }
    let keys_of: HashMap<Uuid, Vec<String>> = jobs_of
        .iter()
        .map(|(o, js)| {
            let keys = counted(js)
                .map(|j| kpi::job_key(j.menu_code.as_deref(), &j.description))
                .collect();
            (*o, keys)
        })
        .collect();
    let mut visits: HashMap<Uuid, Vec<(DateTime<Utc>, Uuid)>> = HashMap::new();
    for (id, vehicle, at) in &earlier {
        visits.entry(*vehicle).or_default().push((*at, *id));
    }
    let own: Vec<Uuid> = orders.iter().map(|o| o.id).collect();
    let first_clock = first_of(
        db,
        &own,
        clock_interval::Entity::find()
            .select_only()
            .column(clock_interval::Column::OrderId)
            .column_as(
                Expr::from(Func::min(Expr::col(clock_interval::Column::StartedAt))),
                "at",
            )
            .group_by(clock_interval::Column::OrderId),
        clock_interval::Column::OrderId,
    )
    .await?;
    let first_accepted = first_of(
        db,
        &own,
        repair_order_estimate::Entity::find()
            .select_only()
            .column(repair_order_estimate::Column::OrderId)
            .column_as(
                Expr::from(Func::min(Expr::col(
                    repair_order_estimate::Column::AcceptedAt,
                ))),
                "at",
            )
            .filter(repair_order_estimate::Column::AcceptedAt.is_not_null())
            .group_by(repair_order_estimate::Column::OrderId),
        repair_order_estimate::Column::OrderId,
    )
    .await?;

    let none = Vec::new();
    let mut out = Vec::with_capacity(orders.len());
    for o in orders {
        let Some(delivered_at) = o.delivered_at else {
            continue;
        };
        let jobs = jobs_of.get(&o.id).unwrap_or(&none);
        let totals = totals_of(jobs, vat_of(o))?;
        let keys = keys_of.get(&o.id).map(Vec::as_slice).unwrap_or_default();
        let before: Vec<EarlierVisit<'_>> = visits
            .get(&o.vehicle_id)
            .into_iter()
            .flatten()
            .filter(|(_, id)| *id != o.id)
            .filter_map(|(t, id)| {
                keys_of.get(id).map(|k| EarlierVisit {
                    delivered: *t,
                    keys: k,
                })
            })
            .collect();
        let estimate_before_work = first_clock
            .get(&o.id)
            .map(|c| kpi::estimate_before_work(first_accepted.get(&o.id).copied(), *c));
        out.push(Outcome {
            order_id: o.id,
            dealer_id: o.dealer_id,
            advisor_id: o.advisor_id,
            arrived_at: o.arrived_at,
            delivered_at,
            comeback: recorded.contains(&o.id)
                || kpi::is_comeback(
                    o.arrived_at,
                    keys,
                    &before,
                    windows.get(&o.dealer_id).copied().unwrap_or(widest),
                ),
            qc_reworked: o.qc_reworks > 0,
            estimate_before_work,
            on_time: o.promised_at.map(|p| kpi::on_time(delivered_at, p)),
            revenue: PayType::ALL
                .iter()
                .map(|p| (*p, totals.of(*p)))
                .filter(|(_, s)| *s != Sums::ZERO)
                .map(|(p, s)| (p, InvoiceSums::from(s)))
                .collect(),
        });
    }
    Ok(out)
}

/// `min(at)` per order of a grouped select, for the orders `ids`.
async fn first_of<E: EntityTrait>(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
    select: sea_orm::Select<E>,
    order_col: impl ColumnTrait,
) -> AppResult<HashMap<Uuid, DateTime<Utc>>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows = select
            .clone()
            .filter(order_col.is_in(chunk.iter().copied()))
            .into_model::<FirstAt>()
            .all(db)
            .await?;
        out.extend(
            rows.into_iter()
                .filter_map(|r| r.at.map(|a| (r.order_id, a))),
        );
    }
    Ok(out)
}

/// Writes outcomes; one already written stays as it is (a retried
/// delivery, two backfills at once).
pub async fn store(
    db: &impl ConnectionTrait,
    outcomes: &[Outcome],
    now: DateTime<Utc>,
) -> AppResult<()> {
    for chunk in outcomes.chunks(CHUNK) {
        let rows = chunk.iter().map(|o| order_outcome::ActiveModel {
            order_id: Set(o.order_id),
            dealer_id: Set(o.dealer_id),
            advisor_id: Set(o.advisor_id),
            arrived_at: Set(o.arrived_at),
            delivered_at: Set(o.delivered_at),
            comeback: Set(o.comeback),
            qc_reworked: Set(o.qc_reworked),
            estimate_before_work: Set(o.estimate_before_work),
            on_time: Set(o.on_time),
            recorded_at: Set(now),
        });
        order_outcome::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::column(order_outcome::Column::OrderId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        let revenue: Vec<order_revenue::ActiveModel> = chunk
            .iter()
            .flat_map(|o| {
                o.revenue.iter().map(|(p, s)| order_revenue::ActiveModel {
                    order_id: Set(o.order_id),
                    pay_type: Set(*p),
                    dealer_id: Set(o.dealer_id),
                    delivered_at: Set(o.delivered_at),
                    labour_cents: Set(s.labour.cents()),
                    parts_cents: Set(s.parts.cents()),
                    gross_cents: Set(s.gross.cents()),
                })
            })
            .collect();
        for part in revenue.chunks(CHUNK) {
            order_revenue::Entity::insert_many(part.to_vec())
                .on_conflict(
                    OnConflict::columns([
                        order_revenue::Column::OrderId,
                        order_revenue::Column::PayType,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_without_returning(db)
                .await?;
        }
    }
    Ok(())
}

/// Records a delivered order's outcome, in the delivery's transaction.
pub async fn record(
    db: &impl ConnectionTrait,
    order: &repair_order::Model,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let outcomes = compute(db, std::slice::from_ref(order)).await?;
    store(db, &outcomes, now).await
}

/// Delivered orders without an outcome, up to `limit` (oldest first).
async fn missing(
    db: &impl ConnectionTrait,
    dealer_id: Option<Uuid>,
    range: Option<(DateTime<Utc>, DateTime<Utc>)>,
    limit: Option<u64>,
) -> AppResult<Vec<repair_order::Model>> {
    let mut recorded = Query::select();
    recorded
        .expr(Expr::val(1))
        .from(order_outcome::Entity)
        .and_where(
            Expr::col((order_outcome::Entity, order_outcome::Column::OrderId))
                .equals((repair_order::Entity, repair_order::Column::Id)),
        );
    let mut q = repair_order::Entity::find()
        .filter(repair_order::Column::DeliveredAt.is_not_null())
        .filter(Expr::exists(recorded).not());
    if let Some(d) = dealer_id {
        q = q.filter(repair_order::Column::DealerId.eq(d));
    }
    if let Some((start, end)) = range {
        q = q
            .filter(repair_order::Column::DeliveredAt.gte(start))
            .filter(repair_order::Column::DeliveredAt.lt(end));
    }
    Ok(q.order_by_asc(repair_order::Column::DeliveredAt)
        .order_by_asc(repair_order::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Fills in the outcomes of orders delivered before `order_outcomes`
/// existed, in batches; returns how many it wrote. Safe beside a delivery or
/// another instance doing the same.
pub async fn backfill(db: &impl ConnectionTrait, now: DateTime<Utc>) -> AppResult<u64> {
    let mut written = 0;
    loop {
        let batch = missing(db, None, None, Some(CHUNK as u64)).await?;
        if batch.is_empty() {
            return Ok(written);
        }
        let outcomes = compute(db, &batch).await?;
        store(db, &outcomes, now).await?;
        written += outcomes.len() as u64;
    }
}

/// The outcomes of the dealer's orders delivered in `[start, end)`: the
/// stored ones, and any not stored yet computed here (nothing is written).
pub async fn delivered_in(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> AppResult<Vec<Outcome>> {
    let stored = order_outcome::Entity::find()
        .filter(order_outcome::Column::DealerId.eq(dealer_id))
        .filter(order_outcome::Column::DeliveredAt.gte(start))
        .filter(order_outcome::Column::DeliveredAt.lt(end))
        .all(db)
        .await?;
    let revenue: Vec<(Uuid, PayType, i64, i64, i64)> = order_revenue::Entity::find()
        .select_only()
        .columns([
            order_revenue::Column::OrderId,
            order_revenue::Column::PayType,
            order_revenue::Column::LabourCents,
            order_revenue::Column::PartsCents,
            order_revenue::Column::GrossCents,
        ])
        .filter(order_revenue::Column::DealerId.eq(dealer_id))
        .filter(order_revenue::Column::DeliveredAt.gte(start))
        .filter(order_revenue::Column::DeliveredAt.lt(end))
        .into_tuple()
        .all(db)
        .await?;
    let mut revenue_of: HashMap<Uuid, Vec<(PayType, InvoiceSums)>> = HashMap::new();
    for (order, pay_type, labour, parts, gross) in revenue {
        revenue_of.entry(order).or_default().push((
            pay_type,
            InvoiceSums {
                labour: Money::from_cents(labour),
                parts: Money::from_cents(parts),
                gross: Money::from_cents(gross),
            },
        ));
    }
    let mut out: Vec<Outcome> = stored
        .into_iter()
        .map(|r| {
            let mut revenue = revenue_of.remove(&r.order_id).unwrap_or_default();
            revenue.sort_by_key(|(p, _)| PayType::ALL.iter().position(|x| x == p));
            Outcome {
                order_id: r.order_id,
                dealer_id: r.dealer_id,
                advisor_id: r.advisor_id,
                arrived_at: r.arrived_at,
                delivered_at: r.delivered_at,
                comeback: r.comeback,
                qc_reworked: r.qc_reworked,
                estimate_before_work: r.estimate_before_work,
                on_time: r.on_time,
                revenue,
            }
        })
        .collect();
    // as many orders delivered as outcomes stored: none is missing (the
    // common case; an index count instead of an anti-join)
    let delivered = repair_order::Entity::find()
        .filter(repair_order::Column::DealerId.eq(dealer_id))
        .filter(repair_order::Column::DeliveredAt.gte(start))
        .filter(repair_order::Column::DeliveredAt.lt(end))
        .count(db)
        .await?;
    if delivered as usize != out.len() {
        let late = missing(db, Some(dealer_id), Some((start, end)), None).await?;
        out.extend(compute(db, &late).await?);
    }
    Ok(out)
}
