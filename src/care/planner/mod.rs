//! The care planner: decides who gets which reminder, renewal, greeting or
//! follow-up, and when, and writes each as outbox rows; delivery (consent,
//! quiet hours, caps, retries, fallback) is the dispatcher's, as for every
//! message.
//!
//! - `pass`: what one local day holds for a dealer, streamed in batches;
//! - `sink`: the outbox (or a preview list) the plans go to;
//! - `kinds`: the dealer's settings per kind, and the texts;
//! - `ticks`: the cron ticks, claimed in the database, without a leader.
//!
//! Exactly once: every plan carries an occurrence key
//! (`domain::care_plan::key`) and the outbox keeps one row per (dealer,
//! kind, key, channel), so a re-run, a second instance or an overlapping
//! tick finds its rows there and writes nothing.

pub mod kinds;
pub mod pass;
pub mod sink;
pub mod ticks;

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::care_plan::CareKind;
use crate::entities::{care_tick, closed_date, dealer};
use crate::error::{AppError, AppResult};
use crate::services::dealers::zone;
use crate::state::AppState;
use pass::{Day, Planned};
use sink::Sink;

/// How many of a kind a run wrote.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KindCount {
    pub kind: CareKind,
    /// Outbox rows new in this run (one per channel).
    pub messages: u64,
}

/// What a planning run did (`POST /api/v1/care/runs`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunReport {
    /// The local days planned: missed days first (after downtime), then today.
    #[schema(value_type = Vec<String>, format = Date)]
    pub days: Vec<NaiveDate>,
    /// Rows written per kind; a kind with nothing new is left out.
    pub planned: Vec<KindCount>,
    /// Rows written in all; 0 when another run had planned everything already.
    pub total: u64,
}

/// What every pass of a dealer shares.
struct Dealer {
    row: dealer::Model,
    tz: chrono_tz::Tz,
    window: crate::domain::care::SendWindow,
    kinds: crate::domain::care_plan::PlanSettings,
    /// Insurance terms whose renewal is settled (`services::insurance`):
    /// renewed elsewhere or not wanted are reminded no more.
    settled: HashSet<(Uuid, String, NaiveDate)>,
}

impl Dealer {
    async fn load(db: &impl ConnectionTrait, dealer_id: Uuid) -> AppResult<Self> {
        let row = dealer::Entity::find_by_id(dealer_id)
            .one(db)
            .await?
            .ok_or(AppError::NotFound)?;
        let (rules, _) = crate::care::settings::rules(db, dealer_id).await?;
        Ok(Dealer {
            tz: zone(&row),
            window: rules.window(),
            kinds: kinds::load(db, dealer_id).await?,
            settled: crate::services::insurance::settled_terms(db, dealer_id).await?,
            row,
        })
    }

    fn day<'a>(&'a self, state: &'a AppState, day: NaiveDate, now: DateTime<Utc>) -> Day<'a> {
        Day {
            dealer: &self.row,
            tz: self.tz,
            window: self.window,
            kinds: &self.kinds,
            day,
            now,
            cfg: &state.settings.care.planner,
            tokens: &state.tokens,
            public_base_url: &state.settings.server.public_base_url,
            settled: &self.settled,
        }
    }
}

/// The days the workshop works: open that weekday by the schedule, and
/// not a closed date.
struct WorkingDays {
    open: HashSet<u8>,
    closed: HashSet<NaiveDate>,
}

impl WorkingDays {
    fn works(&self, d: NaiveDate) -> bool {
        let weekday = d.weekday().number_from_monday() as u8;
        self.open.contains(&weekday) && !self.closed.contains(&d)
    }
}

/// The working days between `from` and `to` (the closed dates read).
async fn working_days(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<WorkingDays> {
    let (schedule, _) = crate::services::capacity::schedule(db, dealer_id).await?;
    let open: HashSet<u8> = schedule.opening_hours.iter().map(|h| h.weekday).collect();
    let closed: HashSet<NaiveDate> = closed_date::Entity::find()
        .filter(closed_date::Column::DealerId.eq(dealer_id))
        .filter(closed_date::Column::Date.gte(from))
        .filter(closed_date::Column::Date.lte(to))
        .all(db)
        .await?
        .into_iter()
        .map(|c| c.date)
        .collect();
    Ok(WorkingDays { open, closed })
}

/// The dealer's tick row, made on first use.
async fn tick_row(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<care_tick::Model> {
    care_tick::Entity::insert(care_tick::ActiveModel {
        dealer_id: Set(dealer_id),
        last_tick_at: Set(DateTime::<Utc>::UNIX_EPOCH),
        planned_through: Set(None),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(care_tick::Column::DealerId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    care_tick::Entity::find_by_id(dealer_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("care tick row just written")))
}

/// The days a run plans: the ones missed since the last completed day (at
/// most `catch_up_days`), and today; only today on a dealer's first run.
pub fn days_to_plan(
    planned_through: Option<NaiveDate>,
    today: NaiveDate,
    catch_up: u32,
) -> Vec<NaiveDate> {
    let earliest = today - Duration::days(i64::from(catch_up));
    let first = match planned_through {
        None => today,
        Some(p) => (p + Duration::days(1)).max(earliest),
    };
    first.iter_days().take_while(|d| *d <= today).collect()
}

/// Plans the dealer now: each day not planned yet (missed days first), or,
/// when today is planned, today's events (and, with `again`, today's daily
/// pass once more: a manager's run after changing the settings). Safe to
/// run any number of times at once: what is planned already is not written
/// again.
pub async fn run(state: &AppState, dealer_id: Uuid, again: bool) -> AppResult<RunReport> {
    let started = Instant::now();
    let db = &state.db;
    let now = state.clock.now();
    let d = Dealer::load(db, dealer_id).await?;
    let today = now.with_timezone(&d.tz).date_naive();
    let tick = tick_row(db, dealer_id, now).await?;
    let cfg = &state.settings.care.planner;
    let mut days = days_to_plan(tick.planned_through, today, cfg.catch_up_days);
    if let Some(p) = tick.planned_through
        && p + Duration::days(1) < today - Duration::days(i64::from(cfg.catch_up_days))
    {
        tracing::warn!(dealer = %d.row.code, planned_through = %p, "care planner: days older than catch_up_days are not planned");
    }
    let daily = !days.is_empty() || again;
    if days.is_empty() {
        days.push(today);
    }
    let working = working_days(
        db,
        dealer_id,
        today - Duration::days(cfg.followup_lookback_days.max(1) + 7),
        today + Duration::days(1),
    )
    .await?;
    let mut sink = Sink::outbox(&state.templates);
    for day in &days {
        let plan = d.day(state, *day, now);
        let go = async {
            if daily {
                pass::vehicles(db, &plan, &mut sink).await?;
                pass::customers(db, &plan, &mut sink).await?;
            }
            pass::events(db, &plan, &|d| working.works(d), &mut sink).await
        };
        go.await.map_err(AppError::Internal)?;
        if daily {
            // advanced only forward: a slower run never moves it back
            care_tick::Entity::update_many()
                .col_expr(care_tick::Column::PlannedThrough, Expr::value(*day))
                .col_expr(care_tick::Column::UpdatedAt, Expr::value(now))
                .filter(care_tick::Column::DealerId.eq(dealer_id))
                .filter(
                    Condition::any()
                        .add(care_tick::Column::PlannedThrough.is_null())
                        .add(care_tick::Column::PlannedThrough.lt(*day)),
                )
                .exec(db)
                .await?;
        }
    }
    let written: HashMap<CareKind, u64> = match sink {
        Sink::Outbox { written, .. } => written,
        Sink::Collect(_) => HashMap::new(),
    };
    let m = &state.metrics;
    for (kind, n) in &written {
        m.care_planned
            .with_label_values(&[kind.as_str()])
            .inc_by(*n);
    }
    m.care_planning_seconds
        .observe(started.elapsed().as_secs_f64());
    let total = written.values().sum();
    if total > 0 {
        crate::care::outbox::wake(state);
    }
    Ok(RunReport {
        days,
        planned: CareKind::ALL
            .iter()
            .filter_map(|k| {
                written.get(k).map(|n| KindCount {
                    kind: *k,
                    messages: *n,
                })
            })
            .collect(),
        total,
    })
}

/// What the planner would write for the dealer's local `date`, writing
/// nothing: the daily pass and the events of that day, less what the
/// outbox holds already.
pub async fn preview(
    state: &AppState,
    dealer_code: &str,
    date: NaiveDate,
) -> anyhow::Result<Vec<Planned>> {
    // a year like +262142 overflows the date arithmetic below (a panic)
    crate::domain::dates::in_range(date).map_err(|e| anyhow::anyhow!("--date {date}: {e}"))?;
    let db = &state.db;
    let row = dealer::Entity::find()
        .filter(dealer::Column::Code.eq(dealer_code))
        .one(db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no dealer with code {dealer_code}"))?;
    let d = Dealer::load(db, row.id).await?;
    let now = state.clock.now();
    let working = working_days(
        db,
        row.id,
        date - Duration::days(30),
        date + Duration::days(1),
    )
    .await?;
    let plan = d.day(state, date, now);
    let mut sink = Sink::Collect(Vec::new());
    pass::vehicles(db, &plan, &mut sink).await?;
    pass::customers(db, &plan, &mut sink).await?;
    pass::events(db, &plan, &|d| working.works(d), &mut sink).await?;
    let Sink::Collect(mut all) = sink else {
        unreachable!("a preview collects")
    };
    all.sort_by(|a, b| (a.send_at, &a.occurrence_key).cmp(&(b.send_at, &b.occurrence_key)));
    Ok(all)
}

/// A holiday of the year and whether the dealer greets on it.
#[derive(Debug, Serialize, ToSchema)]
pub struct HolidayDay {
    pub holiday: crate::domain::calendar::Holiday,
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    pub name_zh: String,
    pub name_en: String,
    /// The dealer sends its holiday greeting on it (the kind on and the holiday in its list).
    pub greeted: bool,
}

/// The holidays of a year (`GET /api/v1/care/calendar`).
#[derive(Debug, Serialize, ToSchema)]
pub struct CareCalendar {
    pub year: i32,
    pub holidays: Vec<HolidayDay>,
    /// The dealer's own greeting text, if it has one (else the built-in template).
    pub wording: Option<crate::domain::care_plan::Wording>,
}

/// The holiday dates of `year` and the dealer's greetings (staff).
pub async fn calendar(
    db: &impl ConnectionTrait,
    actor: &crate::auth::Actor,
    year: i32,
) -> AppResult<CareCalendar> {
    actor.require(crate::care::outbox::READERS)?;
    use crate::domain::dates::{FIRST_YEAR, LAST_YEAR};
    if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
        return Err(AppError::field(
            "year",
            format!("must be {FIRST_YEAR} to {LAST_YEAR}"),
        ));
    }
    let kinds = kinds::load(db, actor.dealer_id).await?;
    let k = &kinds.holiday_greeting;
    Ok(CareCalendar {
        year,
        holidays: crate::domain::calendar::holidays(year)
            .into_iter()
            .map(|(h, date)| {
                let (zh, en) = pass::holiday_names(h);
                HolidayDay {
                    holiday: h,
                    date,
                    name_zh: zh.into(),
                    name_en: en.into(),
                    greeted: k.enabled && k.holidays.contains(&h),
                }
            })
            .collect(),
        wording: k.wording.clone(),
    })
}

/// The last run asked for per dealer, behind a lock that lets one run at a
/// time: when it was started, and what it wrote.
pub type Runs = std::sync::Arc<std::sync::Mutex<HashMap<Uuid, RunSlot>>>;
type RunSlot = std::sync::Arc<tokio::sync::Mutex<Option<(Instant, RunReport)>>>;

/// Plans the caller's dealer now (managers): `run` with today's daily pass
/// done again. Callers at once share runs instead of each making a pass
/// over the whole archive: one run at a time per dealer in this instance,
/// and a caller who waited for one is answered by a run that started after
/// it asked (the next one, shared by everyone who waited), so what it
/// changed before asking is planned.
pub async fn run_now(state: &AppState, actor: &crate::auth::Actor) -> AppResult<RunReport> {
    actor.require(crate::services::capacity::MANAGERS)?;
    let asked = Instant::now();
    let slot: RunSlot = state
        .planner_runs
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .entry(actor.dealer_id)
        .or_default()
        .clone();
    let mut last = slot.lock().await;
    if let Some((started, report)) = &*last
        && *started >= asked
    {
        return Ok(report.clone());
    }
    let started = Instant::now();
    let report = run(state, actor.dealer_id, true).await?;
    *last = Some((started, report.clone()));
    Ok(report)
}
