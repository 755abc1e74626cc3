//! The planner's clock: ticks follow a cron expression, read in each
//! dealer's zone. There is no leader: every instance looks, and the one
//! whose conditional update moves the dealer's `last_tick_at` forward to the
//! tick plans it. After downtime the latest missed tick is claimed once and
//! its run plans every missed day (`run` catches up), so nothing is skipped
//! and nothing doubles.

use std::str::FromStr;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use cron::Schedule;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::entities::{care_tick, dealer};
use crate::services::dealers::zone;
use crate::state::AppState;

/// The configured schedule; an expression that does not parse stops the
/// start, it is never silently "never".
pub fn schedule(expr: &str) -> anyhow::Result<Schedule> {
    Schedule::from_str(expr)
        .map_err(|e| anyhow::anyhow!("care.planner.cron {expr:?} does not parse: {e}"))
}

/// The latest tick of `schedule` in zone `tz` after `after` and not after
/// `now`; `None` when there is none (the dealer is up to date).
pub fn latest_tick(
    schedule: &Schedule,
    tz: Tz,
    after: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    // no need to walk further back than a few days: the run catches up by date
    let from = after.max(now - Duration::days(8));
    let mut latest = None;
    for t in schedule.after(&from.with_timezone(&tz)).take(100_000) {
        let t = t.with_timezone(&Utc);
        if t > now {
            break;
        }
        latest = Some(t);
    }
    latest.filter(|t| *t > after)
}

/// Claims the dealer's tick `at`: true for exactly one caller, whichever
/// instance it runs in.
pub async fn claim(state: &AppState, dealer_id: Uuid, at: DateTime<Utc>) -> anyhow::Result<bool> {
    let res = care_tick::Entity::update_many()
        .col_expr(care_tick::Column::LastTickAt, Expr::value(at))
        .col_expr(care_tick::Column::UpdatedAt, Expr::value(state.clock.now()))
        .filter(care_tick::Column::DealerId.eq(dealer_id))
        .filter(care_tick::Column::LastTickAt.lt(at))
        .exec(&state.db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// One look at every dealer: claims each due tick and runs it. Answers how
/// many dealers this instance planned.
pub async fn tick(state: &AppState, schedule: &Schedule) -> anyhow::Result<usize> {
    let now = state.clock.now();
    let mut planned = 0;
    // one read of every dealer's tick; a row is written only for a new dealer
    let last: std::collections::HashMap<Uuid, DateTime<Utc>> = care_tick::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|t| (t.dealer_id, t.last_tick_at))
        .collect();
    for d in dealer::Entity::find().all(&state.db).await? {
        let tz = zone(&d);
        let last_tick = match last.get(&d.id) {
            Some(t) => *t,
            None => super::tick_row(&state.db, d.id, now).await?.last_tick_at,
        };
        let Some(at) = latest_tick(schedule, tz, last_tick, now) else {
            continue;
        };
        if !claim(state, d.id, at).await? {
            continue; // another instance has it
        }
        match super::run(state, d.id, false).await {
            Ok(report) => {
                planned += 1;
                state
                    .metrics
                    .care_last_tick
                    .with_label_values(&[d.code.as_str()])
                    .set(at.timestamp());
                tracing::info!(dealer = %d.code, tick = %at, days = ?report.days, written = report.total, "care planned");
            }
            // the days stay unplanned (planned_through did not move): the next tick plans them
            Err(e) => tracing::error!(dealer = %d.code, error = ?e, "care planner"),
        }
    }
    Ok(planned)
}

/// The planner beside the server (or in `care worker`), until `stop`.
pub fn spawn(
    state: actix_web::web::Data<AppState>,
    schedule: Schedule,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let poll = StdDuration::from_secs(state.settings.care.planner.poll_secs.max(1));
    tokio::spawn(async move {
        tracing::info!("care planner started");
        while !*stop.borrow() {
            if let Err(e) = tick(&state, &schedule).await {
                tracing::error!(error = ?e, "care planner");
            }
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = stop.changed() => {}
            }
        }
        tracing::info!("care planner stopped");
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_latest_tick_is_in_the_dealers_zone_and_only_forward() {
        let every5 = schedule("0 */5 * * * *").unwrap();
        let sh: Tz = "Asia/Shanghai".parse().unwrap();
        let now = Utc.with_ymd_and_hms(2027, 3, 1, 2, 7, 30).unwrap();
        let t = latest_tick(&every5, sh, DateTime::<Utc>::UNIX_EPOCH, now).unwrap();
        assert_eq!(t, Utc.with_ymd_and_hms(2027, 3, 1, 2, 5, 0).unwrap());
        // already claimed: nothing
        assert_eq!(latest_tick(&every5, sh, t, now), None);
        // a daily 06:00 local schedule: Shanghai's is 22:00 UTC the day before,
        // New York's moves with its clock change
        let daily = schedule("0 0 6 * * *").unwrap();
        let t = latest_tick(&daily, sh, DateTime::<Utc>::UNIX_EPOCH, now).unwrap();
        assert_eq!(t, Utc.with_ymd_and_hms(2027, 2, 28, 22, 0, 0).unwrap());
        let ny: Tz = "America/New_York".parse().unwrap();
        let after_dst = Utc.with_ymd_and_hms(2027, 3, 15, 12, 0, 0).unwrap();
        let t = latest_tick(&daily, ny, DateTime::<Utc>::UNIX_EPOCH, after_dst).unwrap();
        assert_eq!(t, Utc.with_ymd_and_hms(2027, 3, 15, 10, 0, 0).unwrap());
        let before_dst = Utc.with_ymd_and_hms(2027, 3, 10, 12, 0, 0).unwrap();
        let t = latest_tick(&daily, ny, DateTime::<Utc>::UNIX_EPOCH, before_dst).unwrap();
        assert_eq!(t, Utc.with_ymd_and_hms(2027, 3, 10, 11, 0, 0).unwrap());
        assert!(schedule("every five minutes").is_err());
    }

    #[test]
    fn a_run_plans_the_missed_days_up_to_a_limit_and_today() {
        let d = |m, day| chrono::NaiveDate::from_ymd_opt(2027, m, day).unwrap();
        assert_eq!(super::super::days_to_plan(None, d(3, 5), 7), vec![d(3, 5)]);
        assert_eq!(
            super::super::days_to_plan(Some(d(3, 5)), d(3, 5), 7),
            vec![]
        );
        assert_eq!(
            super::super::days_to_plan(Some(d(3, 2)), d(3, 5), 7),
            vec![d(3, 3), d(3, 4), d(3, 5)]
        );
        assert_eq!(
            super::super::days_to_plan(Some(d(1, 1)), d(3, 5), 2),
            vec![d(3, 3), d(3, 4), d(3, 5)]
        );
    }
}
