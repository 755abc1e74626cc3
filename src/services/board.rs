//! The board (看板) the console shows: the workshop's orders by state and
//! the promises at risk, the customer centre's calls and cases of the day.
//! The KPI figures are `services::kpi`'s.

use chrono::{Datelike, Duration, NaiveDate};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;

use crate::auth::Actor;
use crate::domain::Role;
use crate::domain::kpi::KpiGrouping;
use crate::domain::repair_order::OrderState;
use crate::entities::{dealer, repair_order};
use crate::error::{AppError, AppResult};
use crate::services::kpi::{self, KpiPeriod};
use crate::services::repair_orders::workshop::{self, AtRisk};
use crate::services::{callbacks, cases, dealers};
use crate::state::AppState;

/// Who looks at the board: the managers, the desk and the workshop's leads.
pub const READERS: &[Role] = &[
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::DealerAdmin,
    Role::WorkshopForeman,
    Role::ServiceAdvisor,
    Role::CustomerCare,
    // the brand, dealer by dealer (the console's picker)
    Role::NetworkAdmin,
];

/// The order states a car is in the dealer's hands, in the order of the day.
const ON_SITE: [OrderState; 5] = [
    OrderState::Open,
    OrderState::EstimateAccepted,
    OrderState::InWork,
    OrderState::Qc,
    OrderState::Ready,
];

#[derive(Debug, Serialize)]
pub struct StateCount {
    pub state: OrderState,
    pub count: u64,
}

#[derive(Debug, Serialize)]
pub struct Board {
    /// The dealer's local date.
    pub date: NaiveDate,
    pub states: Vec<StateCount>,
    /// Orders whose promised time is at risk (the dispatch board's rule).
    pub at_risk: Vec<AtRisk>,
    pub callbacks_due: u64,
    pub open_cases: u64,
    pub overdue_cases: u64,
}

pub async fn board(state: &AppState, actor: &Actor) -> AppResult<Board> {
    actor.require(READERS)?;
    let db = &state.db;
    let now = state.clock.now();
    let d = dealer::Entity::find_by_id(actor.dealer_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let tz = dealers::zone(&d);
    let date = now.with_timezone(&tz).date_naive();
    let rows: Vec<(OrderState, i64)> = repair_order::Entity::find()
        .select_only()
        .column(repair_order::Column::State)
        .column_as(repair_order::Column::Id.count(), "n")
        .filter(repair_order::Column::DealerId.eq(actor.dealer_id))
        .filter(repair_order::Column::State.is_in(ON_SITE))
        .group_by(repair_order::Column::State)
        .into_tuple()
        .all(db)
        .await?;
    let states = ON_SITE
        .iter()
        .map(|s| StateCount {
            state: *s,
            count: rows
                .iter()
                .find(|(x, _)| x == s)
                .map(|(_, n)| u64::try_from(*n).unwrap_or(0))
                .unwrap_or(0),
        })
        .collect();
    // the promises at risk are the dispatch board's; a role that may not
    // dispatch sees the board without them
    let at_risk = match workshop::board(db, actor, now).await {
        Ok(b) => b.at_risk,
        Err(AppError::Forbidden(_)) => vec![],
        Err(e) => return Err(e),
    };
    let end = crate::domain::care_plan::local_instant(
        (date + Duration::days(1)).and_time(chrono::NaiveTime::MIN),
        tz,
    );
    let callbacks_due = callbacks::due_count(db, actor.dealer_id, end).await?;
    let (open_cases, overdue_cases) = cases::open_counts(db, actor.dealer_id, now).await?;
    Ok(Board {
        date,
        states,
        at_risk,
        callbacks_due,
        open_cases,
        overdue_cases,
    })
}

/// The KPI figures the board shows beside the workshop: today, yesterday
/// and the month so far.
#[derive(Debug)]
pub struct Figures {
    pub today: KpiPeriod,
    pub yesterday: KpiPeriod,
    pub month: KpiPeriod,
}

/// Whether the actor reads the KPIs (the board shows them to those only).
pub fn reads_kpis(actor: &Actor) -> bool {
    kpi::READERS.iter().any(|r| actor.has(*r))
}

/// Today's, yesterday's and the month's figures; `None` for a role that
/// does not read KPIs.
pub async fn figures(
    state: &AppState,
    actor: &Actor,
    date: NaiveDate,
) -> AppResult<Option<Figures>> {
    if !reads_kpis(actor) {
        return Ok(None);
    }
    let (db, now) = (&state.db, state.clock.now());
    let yesterday = date - Duration::days(1);
    let days = kpi::range(
        db,
        actor,
        yesterday,
        date,
        KpiGrouping::Day,
        kpi::Filter::default(),
        now,
    )
    .await?;
    let first = date.with_day(1).unwrap_or(date);
    let month = kpi::range(
        db,
        actor,
        first,
        date,
        KpiGrouping::Month,
        kpi::Filter::default(),
        now,
    )
    .await?;
    let mut periods = days.periods.into_iter();
    let (Some(y), Some(t)) = (periods.next(), periods.next()) else {
        return Ok(None);
    };
    Ok(Some(Figures {
        today: t,
        yesterday: y,
        month: month.total,
    }))
}

/// The last twelve weeks to `date`, a period a week (the trends page).
pub async fn weeks(state: &AppState, actor: &Actor, date: NaiveDate) -> AppResult<Vec<KpiPeriod>> {
    actor.require(kpi::READERS)?;
    let from = date - Duration::days(7 * 12 - 1);
    let r = kpi::range(
        &state.db,
        actor,
        from,
        date,
        KpiGrouping::Week,
        kpi::Filter::default(),
        state.clock.now(),
    )
    .await?;
    Ok(r.periods)
}
