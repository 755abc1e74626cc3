//! The daily board's figures (看板管理, issue 11): `GET /api/v1/kpi/daily`
//! and `GET /api/v1/kpi/range`. The queries and the counting; every formula
//! is `domain::kpi`.
//!
//! A range is read once, whatever its grouping, through indexes by dealer
//! and time: orders by arrival and by state (still in the workshop); the
//! delivered orders' outcomes (`outcomes`: revenue, comeback, estimate
//! before work, on time — recorded at delivery) by delivery; clock
//! intervals with their jobs by the time they ended (`ix_clock_dealer_ended`);
//! the follow-up contacts by time; appointments by slot; responses and cases
//! by creation. The rows are then put into their periods in the dealer's
//! time zone. A busy dealer's year is a few tens of thousands of narrow rows.

pub mod outcomes;
pub mod roster;

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use sea_orm::sea_query::{Condition, Expr, Func};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, JoinType, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::appointment::AppointmentState;
use crate::domain::case::CaseState;
use crate::domain::kpi::{self, KpiGrouping, Loyalty, Ratio, Roster};
use crate::domain::repair_order::{Approval, ClockOff, OrderState, PayType, RepairJobState};
use crate::domain::{FieldErrors, Role};
use crate::entities::{
    appointment, case, clock_interval, csi_response, dealer, repair_order, repair_order_job, user,
    vehicle,
};
use crate::error::{AppError, AppResult};
use crate::services::appointments::day_bounds;
use crate::services::csi_report::followed_up_orders;
use crate::services::dealers::zone;
use crate::services::repair_orders::money;
use outcomes::{InvoiceSums, Outcome};

/// Who reads the board: the managers, the dealer's admin, the brand (every
/// dealer side by side).
pub const READERS: &[Role] = &[
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::DealerAdmin,
    Role::NetworkAdmin,
];

/// Orders still in the workshop (not delivered, not cancelled).
const IN_SHOP: [OrderState; 5] = [
    OrderState::Open,
    OrderState::EstimateAccepted,
    OrderState::InWork,
    OrderState::Qc,
    OrderState::Ready,
];

/// A clock interval is read when it ended in the range or up to this long
/// after it (one that ends later and began inside is longer than a week:
/// a forgotten clock-off, counted from the week it ended).
fn interval_slack() -> Duration {
    Duration::days(7)
}

/// A figure that divides, on the wire: numerator and denominator, so it can
/// be checked by hand, and their quotient.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Figure {
    /// `numerator ÷ denominator` (shares 0–1 and labour ratios to three
    /// places, CSI to one); null when the denominator is 0.
    #[schema(value_type = Option<String>, format = "decimal")]
    pub value: Option<Decimal>,
    #[schema(value_type = String, format = "decimal")]
    pub numerator: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub denominator: Decimal,
}

impl Figure {
    /// The value as a percentage for people (`87.5%`), a dash when there is none.
    pub fn percent(&self) -> String {
        self.value
            .map(|v| format!("{}%", (v * Decimal::ONE_HUNDRED).round_dp(1).normalize()))
            .unwrap_or_else(|| "—".into())
    }

    /// The value as it is (CSI), a dash when there is none.
    pub fn plain(&self) -> String {
        self.value
            .map(|v| v.to_string())
            .unwrap_or_else(|| "—".into())
    }
}

impl From<Ratio> for Figure {
    fn from(r: Ratio) -> Self {
        Figure {
            value: r.value(),
            numerator: r.numerator,
            denominator: r.denominator,
        }
    }
}

/// Revenue of one pay type.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PayTypeRevenue {
    pub pay_type: PayType,
    #[schema(value_type = String, format = "decimal")]
    pub labour: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub parts: Decimal,
    /// What is invoiced (gross, VAT included).
    #[schema(value_type = String, format = "decimal")]
    pub total: Decimal,
}

/// The invoiced money of the orders delivered in the period, as their
/// invoices total it (`domain::repair_order::totals`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Revenue {
    /// Orders delivered in the period.
    pub orders: u64,
    /// Labour (工时费) as priced on the lines.
    #[schema(value_type = String, format = "decimal")]
    pub labour: Decimal,
    /// Parts (配件) as priced on the lines.
    #[schema(value_type = String, format = "decimal")]
    pub parts: Decimal,
    /// Gross, VAT included: what the invoices total.
    #[schema(value_type = String, format = "decimal")]
    pub total: Decimal,
    /// Every pay type, in order, zeros included.
    pub by_pay_type: Vec<PayTypeRevenue>,
}

/// Labour hours, of the workshop or one technician.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Hours {
    /// From the roster: shift hours less absences.
    #[schema(value_type = String, format = "decimal")]
    pub available: Decimal,
    /// Clock-on to clock-off, cut to the period.
    #[schema(value_type = String, format = "decimal")]
    pub clocked: Decimal,
    /// Flat-rate hours of the jobs finished (clocked off `done`) in the period.
    #[schema(value_type = String, format = "decimal")]
    pub sold: Decimal,
    /// clocked ÷ available.
    pub productivity: Figure,
    /// sold ÷ clocked.
    pub efficiency: Figure,
    /// sold ÷ available.
    pub utilisation: Figure,
}

/// One technician's hours.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TechnicianHours {
    pub technician_id: Uuid,
    pub name: String,
    pub hours: Hours,
}

/// Appointments whose slot falls in the period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppointmentFigures {
    /// Booked for the period and not cancelled or moved: the ones expected.
    pub due: u64,
    /// Of those, checked in (or become a repair order).
    pub shown: u64,
    /// Of those, marked no-show.
    pub no_shows: u64,
    /// shown ÷ due.
    pub show_rate: Figure,
}

/// The figures of one period (a day, a week, a month, or a whole range).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KpiPeriod {
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    pub revenue: Revenue,
    /// Orders opened (cars arrived) in the period.
    pub vehicles_in: u64,
    /// Orders delivered in the period.
    pub vehicles_delivered: u64,
    /// Orders in the workshop at the end of the period (or now, for today):
    /// arrived, not delivered, not cancelled.
    pub in_work_at_close: u64,
    /// The workshop's hours (the technician's, filtered by one).
    pub hours: Hours,
    /// Each technician: the active ones and whoever clocked time, by name.
    pub technicians: Vec<TechnicianHours>,
    /// Delivered orders that repeat a job of the same vehicle's order
    /// delivered within 30 days before they arrived.
    pub comebacks: u64,
    /// Delivered orders that failed a QC level at least once.
    pub qc_reworked: u64,
    /// Delivered orders neither a comeback nor QC-reworked ÷ orders delivered.
    pub first_time_fix: Figure,
    /// comebacks ÷ orders delivered.
    pub comeback_rate: Figure,
    pub appointments: AppointmentFigures,
    /// Orders opened from an appointment ÷ orders opened.
    pub appointment_rate: Figure,
    /// Orders opened whose reception began within 5 minutes of arrival ÷ orders opened.
    pub reception_within_5_minutes: Figure,
    /// Delivered orders with an estimate accepted before the first clock-on
    /// ÷ delivered orders with clocked work.
    pub estimate_before_work: Figure,
    /// Delivered orders delivered by the promised time ÷ delivered orders with a promise.
    pub on_time_delivery: Figure,
    /// Delivered orders followed up within 3 days (as `GET /api/v1/csi`
    /// counts it) ÷ orders delivered.
    pub follow_up_within_3_days: Figure,
    /// Sum of the CSIs of the responses received ÷ their number (0–100, one place).
    pub csi: Figure,
    /// Unhappy-customer cases opened in the period.
    pub cases_opened: u64,
    /// Of those, not resolved or closed yet.
    pub open_cases: u64,
    /// Insurance renewal rate (续保率): policy terms renewed with the dealer
    /// ÷ policy terms (compulsory and commercial, each its own) whose expiry
    /// fell in the period; dealer-wide, whatever the filters.
    pub insurance_renewal_rate: Figure,
}

/// Customers and vehicles slipping away, seen on one day (dealer-wide,
/// whatever the filters).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Churn {
    /// The day they are seen on.
    #[schema(value_type = String, format = Date)]
    pub on: NaiveDate,
    /// Customers whose last visit (a delivered order) was 12 to 24 months ago.
    pub lapsing: u64,
    /// Customers whose last visit was more than 24 months ago.
    pub lost: u64,
    /// Month N−12 (`YYYY-MM`) of the churn rate.
    pub churn_month: String,
    /// Customers who visited in month N−12 and not since ÷ all who visited then.
    pub churn_rate: Figure,
    /// The months after the sale a first service is due (the dealer's
    /// first-service care kind, or 6).
    pub first_service_months: u32,
    /// Vehicles sold at least that long ago that never came for a service
    /// (no delivered order, no imported service) ÷ vehicles sold at least that long ago.
    pub first_service_loss: Figure,
}

/// One dealer of the network, side by side (network admins).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DealerKpis {
    pub dealer_id: Uuid,
    pub name: String,
    pub figures: KpiPeriod,
    pub churn: Churn,
}

/// The board of one local day.
#[derive(Debug, Serialize, ToSchema)]
pub struct KpiDaily {
    pub dealer_id: Uuid,
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    pub figures: KpiPeriod,
    pub churn: Churn,
    /// For a network admin every dealer (unfiltered), by name; empty for others.
    pub dealers: Vec<DealerKpis>,
}

/// The figures of a range of local days, period by period and in all.
#[derive(Debug, Serialize, ToSchema)]
pub struct KpiRange {
    pub dealer_id: Uuid,
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    pub by: KpiGrouping,
    /// In order; the first and last cut to the range.
    pub periods: Vec<KpiPeriod>,
    /// The whole range as one period.
    pub total: KpiPeriod,
    /// Seen on `to`.
    pub churn: Churn,
    /// For a network admin every dealer's total (unfiltered), by name; empty for others.
    pub dealers: Vec<DealerKpis>,
}

/// Whose figures: all, one advisor's orders and appointments, or one
/// technician's orders and hours.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter {
    pub advisor_id: Option<Uuid>,
    pub technician_id: Option<Uuid>,
    /// Every dealer side by side as well (the API's answer to a network
    /// admin; the board and the report leave it out).
    pub network: bool,
}

/// The board of local day `date`.
pub async fn daily(
    db: &impl ConnectionTrait,
    actor: &Actor,
    date: NaiveDate,
    filter: Filter,
    now: DateTime<Utc>,
) -> AppResult<KpiDaily> {
    actor.require(READERS)?;
    kpi::check_range(date, date).map_err(|e| rename(e, "date"))?;
    let d = own_dealer(db, actor).await?;
    let orders = check_filter(db, d.id, filter).await?;
    let (_, total) = figures(db, &d, date, date, None, filter, orders.as_ref(), now).await?;
    let churn = churn(db, &d, date).await?;
    let dealers = if filter.network && actor.has(Role::NetworkAdmin) {
        network(db, date, date, now).await?
    } else {
        Vec::new()
    };
    Ok(KpiDaily {
        dealer_id: d.id,
        date,
        figures: total,
        churn,
        dealers,
    })
}

/// The figures of local days `from ..= to`, cut `by` day, week or month.
pub async fn range(
    db: &impl ConnectionTrait,
    actor: &Actor,
    from: NaiveDate,
    to: NaiveDate,
    by: KpiGrouping,
    filter: Filter,
    now: DateTime<Utc>,
) -> AppResult<KpiRange> {
    actor.require(READERS)?;
    kpi::check_range(from, to)?;
    let d = own_dealer(db, actor).await?;
    let orders = check_filter(db, d.id, filter).await?;
    let (periods, total) =
        figures(db, &d, from, to, Some(by), filter, orders.as_ref(), now).await?;
    let churn = churn(db, &d, to).await?;
    let dealers = if filter.network && actor.has(Role::NetworkAdmin) {
        network(db, from, to, now).await?
    } else {
        Vec::new()
    };
    Ok(KpiRange {
        dealer_id: d.id,
        from,
        to,
        by,
        periods,
        total,
        churn,
        dealers,
    })
}

/// The dealer's figures of local days `from ..= to` as one period, without
/// churn or the network (the opening page's yesterday, `services::today`).
pub async fn one_period(
    db: &impl ConnectionTrait,
    actor: &Actor,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> AppResult<KpiPeriod> {
    actor.require(READERS)?;
    kpi::check_range(from, to)?;
    let d = own_dealer(db, actor).await?;
    let (_, total) = figures(db, &d, from, to, None, Filter::default(), None, now).await?;
    Ok(total)
}

/// The figures of `from..=to` at `dealer_id` for `filter`, with no role
/// check: for the use cases that make their own (the scorecards).
pub async fn period_for(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
    filter: Filter,
    now: DateTime<Utc>,
) -> AppResult<KpiPeriod> {
    kpi::check_range(from, to)?;
    let d = dealer::Entity::find_by_id(dealer_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let orders = check_filter(db, d.id, filter).await?;
    let (_, total) = figures(db, &d, from, to, None, filter, orders.as_ref(), now).await?;
    Ok(total)
}

/// The errors of `check_range(date, date)` under the one parameter's name.
fn rename(e: FieldErrors, field: &str) -> AppError {
    let msg = e.0.first().map(|e| e.message.clone()).unwrap_or_default();
    AppError::field(field, msg)
}

async fn own_dealer(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<dealer::Model> {
    dealer::Entity::find_by_id(actor.dealer_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Checks the filter's ids (a member of the dealer's staff; a technician
/// for `technician_id`) and answers, for a technician, the orders they have
/// a job on.
async fn check_filter(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    f: Filter,
) -> AppResult<Option<HashSet<Uuid>>> {
    let mut e = FieldErrors::new();
    for (field, id, role) in [
        ("advisor_id", f.advisor_id, None),
        ("technician_id", f.technician_id, Some(Role::Technician)),
    ] {
        let Some(id) = id else { continue };
        let u = user::Entity::find_by_id(id)
            .one(db)
            .await?
            .filter(|u| u.dealer_id == dealer_id);
        match u {
            None => e.add(field, "is not a member of this dealer's staff"),
            Some(u) => {
                if let Some(role) = role
                    && !crate::services::auth::roles_of(&u)?.contains(&role)
                {
                    e.add(field, "is not a technician");
                }
            }
        }
    }
    e.into_result()?;
    let Some(t) = f.technician_id else {
        return Ok(None);
    };
    let ids: Vec<Uuid> = repair_order_job::Entity::find()
        .select_only()
        .column(repair_order_job::Column::OrderId)
        .filter(repair_order_job::Column::TechnicianId.eq(t))
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    Ok(Some(ids.into_iter().collect()))
}

/// Whether an order is in the filter.
struct Scope<'a> {
    advisor: Option<Uuid>,
    orders: Option<&'a HashSet<Uuid>>,
}

impl Scope<'_> {
    fn order(&self, id: Uuid, advisor: Option<Uuid>) -> bool {
        self.advisor.is_none_or(|a| advisor == Some(a))
            && self.orders.is_none_or(|o| o.contains(&id))
    }
}

/// The periods of the range and their local bounds, and which one an
/// instant falls in.
struct Periods {
    days: Vec<(NaiveDate, NaiveDate)>,
    bounds: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Periods {
    fn new(tz: Tz, days: Vec<(NaiveDate, NaiveDate)>) -> Self {
        let bounds = days.iter().map(|(a, b)| day_bounds(tz, *a, *b)).collect();
        Periods { days, bounds }
    }

    fn of(&self, t: DateTime<Utc>) -> Option<usize> {
        let i = self.bounds.partition_point(|(start, _)| *start <= t);
        i.checked_sub(1).filter(|&i| t < self.bounds[i].1)
    }
}

/// Everything counted in one period.
#[derive(Default, Clone)]
struct Tally {
    orders: u64,
    by_pay: HashMap<PayType, InvoiceSums>,
    vehicles_in: u64,
    in_work: u64,
    comebacks: u64,
    qc_reworked: u64,
    first_time: u64,
    from_appointment: u64,
    received: u64,
    clocked_orders: u64,
    estimated_first: u64,
    promised: u64,
    on_time: u64,
    followed_up: u64,
    due: u64,
    shown: u64,
    no_shows: u64,
    csi_tenths: i64,
    responses: u64,
    cases: u64,
    open_cases: u64,
    insurance_expiring: u64,
    insurance_renewed: u64,
    /// Per technician: seconds clocked, centihours sold.
    clocked: HashMap<Uuid, i64>,
    sold: HashMap<Uuid, i64>,
}

/// An order that arrived in the range.
#[derive(Debug, FromQueryResult)]
struct OpenedRow {
    id: Uuid,
    advisor_id: Option<Uuid>,
    appointment_id: Option<Uuid>,
    arrived_at: DateTime<Utc>,
    reception_started_at: DateTime<Utc>,
}

#[derive(Debug, FromQueryResult)]
struct IntervalRow {
    job_id: Uuid,
    technician_id: Uuid,
    started_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
    end_reason: Option<String>,
    job_state: RepairJobState,
    approval: Approval,
    labour_centihours: i32,
}

/// The dealer's figures of local days `from ..= to`: per period of `by`
/// (none: no periods), and in all.
#[allow(clippy::too_many_arguments)]
async fn figures(
    db: &impl ConnectionTrait,
    d: &dealer::Model,
    from: NaiveDate,
    to: NaiveDate,
    by: Option<KpiGrouping>,
    filter: Filter,
    tech_orders: Option<&HashSet<Uuid>>,
    now: DateTime<Utc>,
) -> AppResult<(Vec<KpiPeriod>, KpiPeriod)> {
    let tz = zone(d);
    let (start, end) = day_bounds(tz, from, to);
    let periods = Periods::new(
        tz,
        by.map(|b| kpi::periods(from, to, b)).unwrap_or_default(),
    );
    let scope = Scope {
        advisor: filter.advisor_id,
        orders: tech_orders,
    };
    let n = periods.days.len();
    let mut tallies = vec![Tally::default(); n];
    let mut all = Tally::default();
    // each row counts in its period and in the whole range
    macro_rules! count {
        ($t:expr, |$x:ident| $body:expr) => {{
            if let Some(i) = periods.of($t) {
                let $x = &mut tallies[i];
                $body;
            }
            let $x = &mut all;
            $body;
        }};
    }

    // the range's rows, read at once (each on its own pooled connection)
    let (opened, delivered, in_shop, intervals, appts, responses, cases) = tokio::try_join!(
        opened_in(db, d.id, start, end),
        outcomes::delivered_in(db, d.id, start, end),
        in_shop_before(db, d.id, end),
        intervals_of(db, d.id, start, end),
        appointments_in(db, d.id, start, end),
        responses_in(db, d.id, start, end),
        cases_in(db, d.id, start, end),
    )?;

    // orders that arrived in the range
    for o in opened.iter().filter(|o| scope.order(o.id, o.advisor_id)) {
        let received = kpi::received_in_time(o.arrived_at, o.reception_started_at);
        let booked = o.appointment_id.is_some();
        count!(o.arrived_at, |t| {
            t.vehicles_in += 1;
            t.received += u64::from(received);
            t.from_appointment += u64::from(booked);
        });
    }

    // the orders delivered in the range, as their delivery recorded them
    let delivered: Vec<Outcome> = delivered
        .into_iter()
        .filter(|o| scope.order(o.order_id, o.advisor_id))
        .collect();
    // orders still in the workshop that arrived before the range ends
    // in work at each period's close (or now): arrived before it, not delivered by it
    let closes: Vec<DateTime<Utc>> = periods.bounds.iter().map(|b| b.1.min(now)).collect();
    let whole_close = end.min(now);
    let stays = delivered
        .iter()
        .map(|o| (o.arrived_at, Some(o.delivered_at)))
        .chain(
            in_shop
                .iter()
                .filter(|(id, advisor, _)| scope.order(*id, *advisor))
                .map(|(_, _, arrived)| (*arrived, None)),
        );
    for (arrived, left) in stays {
        let in_at = |close: DateTime<Utc>| arrived < close && left.is_none_or(|t| t > close);
        for (i, c) in closes.iter().enumerate() {
            tallies[i].in_work += u64::from(in_at(*c));
        }
        all.in_work += u64::from(in_at(whole_close));
    }

    let delivered_list: Vec<(Uuid, DateTime<Utc>)> = delivered
        .iter()
        .map(|o| (o.order_id, o.delivered_at))
        .collect();
    let followed = followed_up_orders(db, d.id, &delivered_list).await?;
    for o in &delivered {
        let first = kpi::fixed_first_time(o.comeback, o.qc_reworked);
        let followed = followed.contains(&o.order_id);
        let add = |t: &mut Tally| -> AppResult<()> {
            t.orders += 1;
            for (p, r) in &o.revenue {
                let cur = t.by_pay.entry(*p).or_default();
                *cur = cur.checked_add(*r).ok_or_else(|| {
                    AppError::Internal(anyhow::anyhow!("revenue does not add up"))
                })?;
            }
            t.comebacks += u64::from(o.comeback);
            t.qc_reworked += u64::from(o.qc_reworked);
            t.first_time += u64::from(first);
            if let Some(b) = o.estimate_before_work {
                t.clocked_orders += 1;
                t.estimated_first += u64::from(b);
            }
            if let Some(ok) = o.on_time {
                t.promised += 1;
                t.on_time += u64::from(ok);
            }
            t.followed_up += u64::from(followed);
            Ok(())
        };
        if let Some(i) = periods.of(o.delivered_at) {
            add(&mut tallies[i])?;
        }
        add(&mut all)?;
    }

    // labour: a job's sold hours count when it was last clocked off done
    let mut done_at: HashMap<Uuid, (DateTime<Utc>, Uuid, &IntervalRow)> = HashMap::new();
    for iv in &intervals {
        if iv.end_reason.as_deref() == Some(ClockOff::Done.as_str())
            && let Some(e) = iv.ended_at
        {
            let cur = done_at
                .entry(iv.job_id)
                .or_insert((e, iv.technician_id, iv));
            if e > cur.0 {
                *cur = (e, iv.technician_id, iv);
            }
        }
    }
    let tech_ok = |t: Uuid| filter.technician_id.is_none_or(|f| f == t);
    for iv in intervals.iter().filter(|iv| tech_ok(iv.technician_id)) {
        let ended = iv.ended_at.unwrap_or(now).min(now.max(iv.started_at));
        // the periods it overlaps, from the one it began in
        let first = periods
            .bounds
            .partition_point(|(a, _)| *a <= iv.started_at)
            .saturating_sub(1);
        for (i, (a, b)) in periods.bounds.iter().enumerate().skip(first) {
            if *a >= ended {
                break;
            }
            let secs = kpi::clipped(iv.started_at, ended, *a, *b).num_seconds();
            if secs > 0 {
                *tallies[i].clocked.entry(iv.technician_id).or_default() += secs;
            }
        }
        let secs = kpi::clipped(iv.started_at, ended, start, end).num_seconds();
        *all.clocked.entry(iv.technician_id).or_default() += secs;
    }
    for (at, tech, j) in done_at.values() {
        if *at < start
            || *at >= end
            || !tech_ok(*tech)
            || j.job_state != RepairJobState::Done
            || !j.approval.counts()
        {
            continue;
        }
        let ch = i64::from(j.labour_centihours);
        count!(*at, |t| *t.sold.entry(*tech).or_default() += ch);
    }

    // appointments by slot
    for (slot, state, advisor) in appts {
        if filter.advisor_id.is_some_and(|a| advisor != Some(a))
            || matches!(
                state,
                AppointmentState::Cancelled | AppointmentState::Rescheduled
            )
        {
            continue;
        }
        let shown = matches!(
            state,
            AppointmentState::CheckedIn | AppointmentState::InService
        );
        let no_show = state == AppointmentState::NoShow;
        count!(slot, |t| {
            t.due += 1;
            t.shown += u64::from(shown);
            t.no_shows += u64::from(no_show);
        });
    }

    // CSI of the responses received, and the cases opened
    let filtered = filter.advisor_id.is_some() || filter.technician_id.is_some();
    let advisors = if filter.advisor_id.is_some() {
        let ids: BTreeSet<Uuid> = responses
            .iter()
            .map(|r| r.0)
            .chain(cases.iter().filter_map(|c| c.0))
            .collect();
        advisors_of(db, &ids).await?
    } else {
        HashMap::new()
    };
    let in_scope = |o: Option<Uuid>| {
        !filtered || o.is_some_and(|o| scope.order(o, advisors.get(&o).copied().flatten()))
    };
    for (order, at, tenths) in responses {
        let Some(tenths) = tenths else { continue };
        if !in_scope(Some(order)) {
            continue;
        }
        count!(at, |t| {
            t.responses += 1;
            t.csi_tenths += i64::from(tenths);
        });
    }
    for (order, at, state) in cases {
        if !in_scope(order) {
            continue;
        }
        let open = state.is_open() && state != CaseState::Resolved;
        count!(at, |t| {
            t.cases += 1;
            t.open_cases += u64::from(open);
        });
    }

    // policy terms expiring in the range (dealer-wide, whatever the filters)
    for (expiry, renewed) in crate::services::insurance::expiring_terms(db, d.id, from, to).await? {
        let i = periods
            .days
            .iter()
            .position(|(a, b)| (*a..=*b).contains(&expiry));
        for t in i.map(|i| &mut tallies[i]).into_iter().chain([&mut all]) {
            t.insurance_expiring += 1;
            t.insurance_renewed += u64::from(renewed);
        }
    }

    // hours available
    let techs = technicians(db, d.id, filter.technician_id, &intervals).await?;
    let rosters = roster::rosters(db, d.id).await?;
    let default = Roster::default();
    let available = |t: Uuid, a: NaiveDate, b: NaiveDate| -> Decimal {
        let r = rosters.get(&t).unwrap_or(&default);
        a.iter_days()
            .take_while(|day| *day <= b)
            .map(|day| r.available(day))
            .sum()
    };
    let out: Vec<KpiPeriod> = periods
        .days
        .iter()
        .zip(&tallies)
        .map(|((a, b), t)| period(*a, *b, t, &techs, &available))
        .collect();
    let total = period(from, to, &all, &techs, &available);
    Ok((out, total))
}

/// The orders that arrived in `[start, end)`.
async fn opened_in(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> AppResult<Vec<OpenedRow>> {
    Ok(repair_order::Entity::find()
        .select_only()
        .columns([
            repair_order::Column::Id,
            repair_order::Column::AdvisorId,
            repair_order::Column::AppointmentId,
            repair_order::Column::ArrivedAt,
            repair_order::Column::ReceptionStartedAt,
        ])
        .filter(repair_order::Column::DealerId.eq(dealer_id))
        .filter(repair_order::Column::ArrivedAt.gte(start))
        .filter(repair_order::Column::ArrivedAt.lt(end))
        .into_model()
        .all(db)
        .await?)
}

/// The orders still in the workshop that arrived before `end`.
async fn in_shop_before(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    end: DateTime<Utc>,
) -> AppResult<Vec<(Uuid, Option<Uuid>, DateTime<Utc>)>> {
    Ok(repair_order::Entity::find()
        .select_only()
        .columns([
            repair_order::Column::Id,
            repair_order::Column::AdvisorId,
            repair_order::Column::ArrivedAt,
        ])
        .filter(repair_order::Column::DealerId.eq(dealer_id))
        .filter(repair_order::Column::State.is_in(IN_SHOP))
        .filter(repair_order::Column::ArrivedAt.lt(end))
        .into_tuple()
        .all(db)
        .await?)
}

/// The clock intervals that ended in `[start, end)` or a little after,
/// and the open ones, each with what its job sells.
async fn intervals_of(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> AppResult<Vec<IntervalRow>> {
    let job_of = clock_interval::Entity::belongs_to(repair_order_job::Entity)
        .from(clock_interval::Column::JobId)
        .to(repair_order_job::Column::Id)
        .into();
    Ok(clock_interval::Entity::find()
        .select_only()
        .columns([
            clock_interval::Column::JobId,
            clock_interval::Column::TechnicianId,
            clock_interval::Column::StartedAt,
            clock_interval::Column::EndedAt,
            clock_interval::Column::EndReason,
        ])
        .column_as(repair_order_job::Column::State, "job_state")
        .column_as(repair_order_job::Column::Approval, "approval")
        .column_as(
            repair_order_job::Column::LabourCentihours,
            "labour_centihours",
        )
        .join(JoinType::InnerJoin, job_of)
        .filter(clock_interval::Column::DealerId.eq(dealer_id))
        .filter(clock_interval::Column::StartedAt.lt(end))
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(clock_interval::Column::EndedAt.gt(start))
                        .add(clock_interval::Column::EndedAt.lt(end + interval_slack())),
                )
                .add(clock_interval::Column::EndedAt.is_null()),
        )
        .into_model()
        .all(db)
        .await?)
}

/// The appointments with a slot in `[start, end)`.
async fn appointments_in(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> AppResult<Vec<(DateTime<Utc>, AppointmentState, Option<Uuid>)>> {
    Ok(appointment::Entity::find()
        .select_only()
        .column(appointment::Column::SlotStart)
        .column(appointment::Column::State)
        .column(appointment::Column::AdvisorId)
        .filter(appointment::Column::DealerId.eq(dealer_id))
        .filter(appointment::Column::SlotStart.gte(start))
        .filter(appointment::Column::SlotStart.lt(end))
        .into_tuple()
        .all(db)
        .await?)
}

/// The scored responses received in `[start, end)`.
async fn responses_in(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> AppResult<Vec<(Uuid, DateTime<Utc>, Option<i32>)>> {
    Ok(csi_response::Entity::find()
        .select_only()
        .column(csi_response::Column::OrderId)
        .column(csi_response::Column::CreatedAt)
        .column(csi_response::Column::CsiTenths)
        .filter(csi_response::Column::DealerId.eq(dealer_id))
        .filter(csi_response::Column::CreatedAt.gte(start))
        .filter(csi_response::Column::CreatedAt.lt(end))
        .filter(csi_response::Column::CsiTenths.is_not_null())
        .into_tuple()
        .all(db)
        .await?)
}

/// The cases opened in `[start, end)`.
async fn cases_in(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> AppResult<Vec<(Option<Uuid>, DateTime<Utc>, CaseState)>> {
    Ok(case::Entity::find()
        .select_only()
        .column(case::Column::OrderId)
        .column(case::Column::CreatedAt)
        .column(case::Column::State)
        .filter(case::Column::DealerId.eq(dealer_id))
        .filter(case::Column::CreatedAt.gte(start))
        .filter(case::Column::CreatedAt.lt(end))
        .into_tuple()
        .all(db)
        .await?)
}

/// The orders' advisors.
async fn advisors_of(
    db: &impl ConnectionTrait,
    ids: &BTreeSet<Uuid>,
) -> AppResult<HashMap<Uuid, Option<Uuid>>> {
    let ids: Vec<Uuid> = ids.iter().copied().collect();
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(Uuid, Option<Uuid>)> = repair_order::Entity::find()
            .select_only()
            .column(repair_order::Column::Id)
            .column(repair_order::Column::AdvisorId)
            .filter(repair_order::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

/// The technicians of the board, by name: the active ones and whoever
/// clocked time in the range (or only `only`).
async fn technicians(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    only: Option<Uuid>,
    intervals: &[IntervalRow],
) -> AppResult<Vec<(Uuid, String)>> {
    let clocked: HashSet<Uuid> = intervals.iter().map(|i| i.technician_id).collect();
    let mut out = Vec::new();
    for u in user::Entity::find()
        .filter(user::Column::DealerId.eq(dealer_id))
        .order_by_asc(user::Column::DisplayName)
        .order_by_asc(user::Column::Id)
        .all(db)
        .await?
    {
        if only.is_some_and(|t| t != u.id) {
            continue;
        }
        let tech = u.active && crate::services::auth::roles_of(&u)?.contains(&Role::Technician);
        if tech || clocked.contains(&u.id) {
            out.push((u.id, u.display_name));
        }
    }
    Ok(out)
}

fn hours(available: Decimal, clocked_secs: i64, sold_centihours: i64) -> Hours {
    let clocked = kpi::hours_of_seconds(clocked_secs);
    let sold = kpi::hours_of_centihours(sold_centihours);
    let available = kpi::round(available, 2);
    Hours {
        available,
        clocked,
        sold,
        productivity: kpi::productivity(clocked, available).into(),
        efficiency: kpi::efficiency(sold, clocked).into(),
        utilisation: kpi::utilisation(sold, available).into(),
    }
}

fn period(
    from: NaiveDate,
    to: NaiveDate,
    t: &Tally,
    techs: &[(Uuid, String)],
    available: &impl Fn(Uuid, NaiveDate, NaiveDate) -> Decimal,
) -> KpiPeriod {
    let mut by_pay_type = Vec::new();
    let mut sum = InvoiceSums::default();
    for p in PayType::ALL.iter() {
        let s = t.by_pay.get(p).copied().unwrap_or_default();
        // the same money added once more: it fitted per pay type
        sum = sum.checked_add(s).unwrap_or(sum);
        by_pay_type.push(PayTypeRevenue {
            pay_type: *p,
            labour: money(s.labour),
            parts: money(s.parts),
            total: money(s.gross),
        });
    }
    let mut technicians = Vec::new();
    let (mut avail, mut secs, mut sold) = (Decimal::ZERO, 0i64, 0i64);
    for (id, name) in techs {
        let a = available(*id, from, to);
        let c = t.clocked.get(id).copied().unwrap_or(0);
        let s = t.sold.get(id).copied().unwrap_or(0);
        avail += a;
        secs += c;
        sold += s;
        technicians.push(TechnicianHours {
            technician_id: *id,
            name: name.clone(),
            hours: hours(a, c, s),
        });
    }
    KpiPeriod {
        from,
        to,
        revenue: Revenue {
            orders: t.orders,
            labour: money(sum.labour),
            parts: money(sum.parts),
            total: money(sum.gross),
            by_pay_type,
        },
        vehicles_in: t.vehicles_in,
        vehicles_delivered: t.orders,
        in_work_at_close: t.in_work,
        hours: hours(avail, secs, sold),
        technicians,
        comebacks: t.comebacks,
        qc_reworked: t.qc_reworked,
        first_time_fix: Ratio::share(t.first_time, t.orders).into(),
        comeback_rate: Ratio::share(t.comebacks, t.orders).into(),
        appointments: AppointmentFigures {
            due: t.due,
            shown: t.shown,
            no_shows: t.no_shows,
            show_rate: Ratio::share(t.shown, t.due).into(),
        },
        appointment_rate: Ratio::share(t.from_appointment, t.vehicles_in).into(),
        reception_within_5_minutes: Ratio::share(t.received, t.vehicles_in).into(),
        estimate_before_work: Ratio::share(t.estimated_first, t.clocked_orders).into(),
        on_time_delivery: Ratio::share(t.on_time, t.promised).into(),
        follow_up_within_3_days: Ratio::share(t.followed_up, t.orders).into(),
        csi: kpi::csi(t.csi_tenths, t.responses).into(),
        cases_opened: t.cases,
        open_cases: t.open_cases,
        insurance_renewal_rate: crate::domain::insurance::renewal_rate(
            t.insurance_renewed,
            t.insurance_expiring,
        )
        .into(),
    }
}

#[derive(Debug, FromQueryResult)]
struct LastVisit {
    last: Option<DateTime<Utc>>,
}

/// Churn and first-service loss seen on local day `on`.
async fn churn(db: &impl ConnectionTrait, d: &dealer::Model, on: NaiveDate) -> AppResult<Churn> {
    let tz = zone(d);
    let (_, end) = day_bounds(tz, on, on);
    // each customer's last visit up to the day (ix_repair_orders_customer_delivered)
    let last: Vec<LastVisit> = repair_order::Entity::find()
        .select_only()
        .column(repair_order::Column::CustomerId)
        .column_as(
            Expr::from(Func::max(Expr::col(repair_order::Column::DeliveredAt))),
            "last",
        )
        .filter(repair_order::Column::DealerId.eq(d.id))
        .filter(repair_order::Column::DeliveredAt.lt(end))
        .group_by(repair_order::Column::CustomerId)
        .into_model()
        .all(db)
        .await?;
    let (m_first, m_last) = kpi::churn_month(on);
    let (m_start, m_end) = day_bounds(tz, m_first, m_last);
    let (mut lapsing, mut lost, mut gone) = (0u64, 0u64, 0u64);
    for v in &last {
        let Some(t) = v.last else { continue };
        match kpi::loyalty(t.with_timezone(&tz).date_naive(), on) {
            Loyalty::Lapsing => lapsing += 1,
            Loyalty::Lost => lost += 1,
            Loyalty::Active => {}
        }
        // last came in month N−12: visited then and not since
        gone += u64::from(t >= m_start && t < m_end);
    }
    let visited: Vec<Uuid> = repair_order::Entity::find()
        .select_only()
        .column(repair_order::Column::CustomerId)
        .filter(repair_order::Column::DealerId.eq(d.id))
        .filter(repair_order::Column::DeliveredAt.gte(m_start))
        .filter(repair_order::Column::DeliveredAt.lt(m_end))
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    let months = crate::care::planner::kinds::load(db, d.id)
        .await?
        .first_service
        .months
        .unwrap_or(kpi::FIRST_SERVICE_MONTHS);
    let cutoff = kpi::first_service_cutoff(on, months);
    let sold: Vec<(Uuid, Option<NaiveDate>)> = vehicle::Entity::find()
        .select_only()
        .column(vehicle::Column::Id)
        .column(vehicle::Column::LastServiceDate)
        .filter(vehicle::Column::DealerId.eq(d.id))
        .filter(vehicle::Column::PurchaseDate.lte(cutoff))
        .into_tuple()
        .all(db)
        .await?;
    // vehicles that came: a delivered order by the day (ix_repair_orders_vehicle)
    let mut came: HashSet<Uuid> = HashSet::new();
    let candidates: Vec<Uuid> = sold
        .iter()
        .filter(|(_, imported)| imported.is_none())
        .map(|(v, _)| *v)
        .collect();
    for chunk in candidates.chunks(500) {
        let rows: Vec<Uuid> = repair_order::Entity::find()
            .select_only()
            .column(repair_order::Column::VehicleId)
            .filter(repair_order::Column::VehicleId.is_in(chunk.iter().copied()))
            .filter(repair_order::Column::DeliveredAt.lt(end))
            .distinct()
            .into_tuple()
            .all(db)
            .await?;
        came.extend(rows);
    }
    let never = candidates.iter().filter(|v| !came.contains(v)).count() as u64;
    Ok(Churn {
        on,
        lapsing,
        lost,
        churn_month: m_first.format("%Y-%m").to_string(),
        churn_rate: kpi::churn_rate(gone, visited.len() as u64).into(),
        first_service_months: months,
        first_service_loss: kpi::first_service_loss(never, sold.len() as u64).into(),
    })
}

/// Every dealer's figures for the same local days (each in its own zone), by name.
async fn network(
    db: &impl ConnectionTrait,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> AppResult<Vec<DealerKpis>> {
    let dealers = dealer::Entity::find()
        .order_by_asc(dealer::Column::Name)
        .order_by_asc(dealer::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(dealers.len());
    for d in dealers {
        let (_, figures) = figures(db, &d, from, to, None, Filter::default(), None, now).await?;
        let churn = churn(db, &d, to).await?;
        out.push(DealerKpis {
            dealer_id: d.id,
            name: d.name,
            figures,
            churn,
        });
    }
    Ok(out)
}
