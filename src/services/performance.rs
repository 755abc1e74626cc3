//! Staff performance (绩效管理, `domain::performance`): each person's
//! targets for a month (`GET/PUT /api/v1/targets`), written before the
//! month starts; scorecards that hold them against the board's figures
//! counted over the person's own work (`GET /api/v1/scorecards`); and the
//! reward scheme (`GET/PUT /api/v1/reward-scheme`) whose bonus each
//! scorecard carries, explained line by line.
//!
//! The figures are `services::kpi`'s own (`period_for`): an advisor's over
//! their orders, appointments and responses, a technician's over their
//! hours and the orders they had a job on, a department head's over the
//! whole department. Writes are whole replacements (a person's month, the
//! dealer's scheme) by upsert, so a retry changes nothing.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionSession,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::comeback::{month_end, parse_month};
use crate::domain::performance::{
    self as rules, Bonus, KpiMetric, MANAGERS, READERS, RewardScheme, SCORED, ScoreScope,
};
use crate::domain::{FieldErrors, Role};
use crate::entities::{reward_scheme, staff_target, user};
use crate::error::{AppError, AppResult};
use crate::services::dealers::{StaffRef, staff_names};
use crate::services::kpi::{self, Filter, KpiPeriod};
use crate::services::{from_stored, to_stored};

/// The most people one `PUT /targets` names.
pub const MAX_PEOPLE: usize = 500;

/// One target as kept and sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub metric: KpiMetric,
    /// In the metric's unit: CNY with 2 places (`revenue`), a share 0–1
    /// with 3 (the rates), a score 0–100 with 1 (`csi`), a ratio 0–10 with
    /// 3 (`productivity`, `efficiency`), a whole number
    /// (`vehicles_delivered`); above 0 unless lower is better.
    #[schema(value_type = String, format = "decimal")]
    pub target: Decimal,
}

/// One person's targets for the month, as a manager writes them.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonTargetsInput {
    pub user_id: Uuid,
    /// Replaces the person's targets of the month (empty: none). Each
    /// metric once, fitting the person's post.
    pub targets: Vec<Target>,
}

/// `PUT /api/v1/targets?month=`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetsInput {
    /// At most 500 people, each once; people not named keep theirs.
    pub people: Vec<PersonTargetsInput>,
}

/// A target with the records it is counted over.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TargetLine {
    pub metric: KpiMetric,
    pub scope: ScoreScope,
    #[schema(value_type = String, format = "decimal")]
    pub target: Decimal,
}

/// One person's targets of the month.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonTargets {
    pub user: StaffRef,
    pub roles: Vec<Role>,
    /// In the order of the metrics.
    pub targets: Vec<TargetLine>,
    pub set_by: Option<StaffRef>,
    pub set_at: Option<DateTime<Utc>>,
}

/// The targets of a month.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TargetSheet {
    /// `YYYY-MM`.
    pub month: String,
    /// The month has not started in the dealer's zone: targets may still change.
    pub open: bool,
    /// By name.
    pub people: Vec<PersonTargets>,
}

/// One KPI of a scorecard.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScoreLine {
    pub metric: KpiMetric,
    pub scope: ScoreScope,
    #[schema(value_type = Option<String>, format = "decimal")]
    pub target: Option<Decimal>,
    /// The figure over the days counted; null when there is none (a rate of nothing).
    #[schema(value_type = Option<String>, format = "decimal")]
    pub actual: Option<Decimal>,
    /// The same figure over the whole month before.
    #[schema(value_type = Option<String>, format = "decimal")]
    pub last_month: Option<Decimal>,
    /// actual meets target (at most, when lower is better); null without both.
    pub met: Option<bool>,
    /// As the bonus counts it (`domain::performance::achievement`).
    #[schema(value_type = Option<String>, format = "decimal")]
    pub achievement: Option<Decimal>,
}

/// A person's month: targets against the records, and the bonus.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Scorecard {
    pub user: StaffRef,
    pub roles: Vec<Role>,
    /// `YYYY-MM`.
    pub month: String,
    /// The days counted: the month up to today (the dealer's zone); null
    /// when it has not started.
    #[schema(value_type = Option<String>, format = Date)]
    pub counted_from: Option<NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    pub counted_to: Option<NaiveDate>,
    /// The metrics with a target or in the post's scheme, in order.
    pub lines: Vec<ScoreLine>,
    /// What the reward scheme pays for the days counted; null when no
    /// entry of the scheme fits the person's post.
    pub bonus: Option<Bonus>,
}

/// The month `YYYY-MM` (422 naming `month`): its first day and the first of the month before.
fn month(s: &str) -> AppResult<(NaiveDate, NaiveDate)> {
    parse_month(s).map_err(|m| AppError::field("month", m))
}

/// The dealer's local today.
async fn today(
    db: &impl ConnectionTrait,
    actor: &Actor,
    now: DateTime<Utc>,
) -> AppResult<NaiveDate> {
    crate::services::dealers::today(db, actor.dealer_id, now).await
}

/// The active staff of the dealer with a scored post, by name (or the one asked for).
async fn scored_people(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    only: Option<Uuid>,
) -> AppResult<Vec<(user::Model, Vec<Role>)>> {
    let mut q = user::Entity::find()
        .filter(user::Column::DealerId.eq(dealer_id))
        .filter(user::Column::Active.eq(true));
    if let Some(id) = only {
        q = q.filter(user::Column::Id.eq(id));
    }
    let mut people = Vec::new();
    for u in q
        .order_by_asc(user::Column::DisplayName)
        .order_by_asc(user::Column::Id)
        .all(db)
        .await?
    {
        let roles = crate::services::auth::roles_of(&u)?;
        if roles.iter().any(|r| SCORED.contains(r)) {
            people.push((u, roles));
        }
    }
    Ok(people)
}

/// Whose sheet or cards the actor reads: everyone's (readers), or their own.
fn whom(actor: &Actor, asked: Option<Uuid>) -> AppResult<Option<Uuid>> {
    if actor.is_customer() {
        return Err(AppError::Forbidden("customers have no targets"));
    }
    if actor.require(READERS).is_ok() {
        return Ok(asked);
    }
    match asked {
        Some(id) if id != actor.id => Err(AppError::Forbidden(
            "you read your own targets and scorecard",
        )),
        _ => Ok(Some(actor.id)),
    }
}

fn stored_targets(m: &staff_target::Model) -> AppResult<Vec<Target>> {
    from_stored(&m.targets, "staff targets")
}

/// The rows of the month, by person.
async fn rows_of(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    month: &str,
) -> AppResult<HashMap<Uuid, staff_target::Model>> {
    Ok(staff_target::Entity::find()
        .filter(staff_target::Column::DealerId.eq(dealer_id))
        .filter(staff_target::Column::Month.eq(month))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.user_id, r))
        .collect())
}

fn in_order(mut t: Vec<Target>) -> Vec<Target> {
    t.sort_by_key(|x| KpiMetric::ALL.iter().position(|m| *m == x.metric));
    t
}

/// The targets of `month_s` (`YYYY-MM`): everyone's for managers and the
/// supervisor, one's own for the others.
pub async fn get_targets(
    db: &impl ConnectionTrait,
    actor: &Actor,
    month_s: &str,
    user_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> AppResult<TargetSheet> {
    let (first, _) = month(month_s)?;
    let only = whom(actor, user_id)?;
    sheet(
        db,
        actor.dealer_id,
        first,
        only,
        today(db, actor, now).await?,
    )
    .await
}

async fn sheet(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    first: NaiveDate,
    only: Option<Uuid>,
    today: NaiveDate,
) -> AppResult<TargetSheet> {
    let key = first.format("%Y-%m").to_string();
    let people = scored_people(db, dealer_id, only).await?;
    let rows = rows_of(db, dealer_id, &key).await?;
    let names = staff_names(db, rows.values().map(|r| r.set_by)).await?;
    let mut out = Vec::new();
    for (u, roles) in people {
        let row = rows.get(&u.id);
        let targets = match row {
            Some(r) => in_order(stored_targets(r)?)
                .into_iter()
                .filter_map(|t| {
                    rules::scope_for(&roles, t.metric).map(|scope| TargetLine {
                        metric: t.metric,
                        scope,
                        target: t.target,
                    })
                })
                .collect(),
            None => Vec::new(),
        };
        out.push(PersonTargets {
            user: StaffRef {
                id: u.id,
                name: u.display_name.clone(),
            },
            roles,
            targets,
            set_by: row.map(|r| StaffRef::of(&names, r.set_by)),
            set_at: row.map(|r| r.set_at),
        });
    }
    Ok(TargetSheet {
        month: key,
        open: first > today,
        people: out,
    })
}

/// Replaces the month's targets of each person named (managers), before
/// the month starts in the dealer's zone; every bad entry is named
/// (`people[1].targets[0].target`) and nothing is saved then.
pub async fn put_targets(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &Actor,
    month_s: &str,
    input: TargetsInput,
    now: DateTime<Utc>,
) -> AppResult<TargetSheet> {
    actor.require(MANAGERS)?;
    let (first, _) = month(month_s)?;
    let today = today(db, actor, now).await?;
    if first <= today {
        return Err(AppError::field(
            "month",
            format!("targets are planned before the month starts; {month_s} has begun"),
        ));
    }
    let mut e = FieldErrors::new();
    if input.people.len() > MAX_PEOPLE {
        e.add("people", format!("at most {MAX_PEOPLE} people at once"));
        return Err(e.into());
    }
    let staff: HashMap<Uuid, Vec<Role>> = scored_people(db, actor.dealer_id, None)
        .await?
        .into_iter()
        .map(|(u, r)| (u.id, r))
        .collect();
    for (i, p) in input.people.iter().enumerate() {
        let at = |f: &str| format!("people[{i}].{f}");
        let Some(roles) = staff.get(&p.user_id) else {
            e.add(
                at("user_id"),
                "is not an active member of this dealer's staff with a post that gets targets",
            );
            continue;
        };
        if input.people[..i].iter().any(|q| q.user_id == p.user_id) {
            e.add(at("user_id"), "is named twice");
        }
        for (j, t) in p.targets.iter().enumerate() {
            let at = |f: &str| format!("people[{i}].targets[{j}].{f}");
            if p.targets[..j].iter().any(|x| x.metric == t.metric) {
                e.add(at("metric"), "is given twice");
            } else if rules::scope_for(roles, t.metric).is_none() {
                e.add(at("metric"), "does not fit the person's post");
            }
            if let Err(m) = rules::check_target(t.metric, t.target) {
                e.add(at("target"), m);
            }
        }
    }
    e.into_result()?;
    let key = first.format("%Y-%m").to_string();
    let txn = db.begin().await?;
    for p in input.people {
        let targets = in_order(
            p.targets
                .into_iter()
                .map(|t| Target {
                    metric: t.metric,
                    target: t.target.normalize(),
                })
                .collect(),
        );
        staff_target::Entity::insert(staff_target::ActiveModel {
            dealer_id: Set(actor.dealer_id),
            user_id: Set(p.user_id),
            month: Set(key.clone()),
            targets: Set(to_stored(&targets, "staff targets")?),
            set_by: Set(actor.id),
            set_at: Set(now),
        })
        .on_conflict(
            OnConflict::columns([staff_target::Column::UserId, staff_target::Column::Month])
                .update_columns([
                    staff_target::Column::Targets,
                    staff_target::Column::SetBy,
                    staff_target::Column::SetAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    }
    txn.commit().await?;
    sheet(db, actor.dealer_id, first, None, today).await
}

/// The dealer's scheme (none: no posts).
pub async fn scheme(db: &impl ConnectionTrait, dealer_id: Uuid) -> AppResult<RewardScheme> {
    match reward_scheme::Entity::find_by_id(dealer_id).one(db).await? {
        Some(r) => from_stored(&r.scheme, "reward scheme"),
        None => Ok(RewardScheme::default()),
    }
}

/// The scheme, for all the dealer's staff: how the bonus is split is no secret.
pub async fn get_scheme(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<RewardScheme> {
    if actor.is_customer() {
        return Err(AppError::Forbidden("the reward scheme is for staff"));
    }
    scheme(db, actor.dealer_id).await
}

/// Replaces the dealer's scheme (managers); each bad field is named.
pub async fn put_scheme(
    db: &impl ConnectionTrait,
    actor: &Actor,
    input: RewardScheme,
    now: DateTime<Utc>,
) -> AppResult<RewardScheme> {
    actor.require(MANAGERS)?;
    let s = input.validated()?;
    reward_scheme::Entity::insert(reward_scheme::ActiveModel {
        dealer_id: Set(actor.dealer_id),
        scheme: Set(to_stored(&s, "reward scheme")?),
        updated_by: Set(actor.id),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(reward_scheme::Column::DealerId)
            .update_columns([
                reward_scheme::Column::Scheme,
                reward_scheme::Column::UpdatedBy,
                reward_scheme::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(s)
}

/// A metric's figure in a period of the board.
pub fn actual(metric: KpiMetric, k: &KpiPeriod) -> Option<Decimal> {
    match metric {
        KpiMetric::Revenue => Some(k.revenue.total),
        KpiMetric::AppointmentRate => k.appointment_rate.value,
        KpiMetric::Csi => k.csi.value,
        KpiMetric::FollowUpRate => k.follow_up_within_3_days.value,
        KpiMetric::EstimateBeforeWork => k.estimate_before_work.value,
        KpiMetric::Productivity => k.hours.productivity.value,
        KpiMetric::Efficiency => k.hours.efficiency.value,
        KpiMetric::ComebackRate => k.comeback_rate.value,
        KpiMetric::FirstTimeFix => k.first_time_fix.value,
        KpiMetric::OnTimeDelivery => k.on_time_delivery.value,
        KpiMetric::VehiclesDelivered => Some(Decimal::from(k.vehicles_delivered)),
        KpiMetric::InsuranceRenewalRate => k.insurance_renewal_rate.value,
    }
}

/// The days of the month from `first` counted by `today`: up to today, or none yet.
fn counted(first: NaiveDate, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    (first <= today).then(|| (first, month_end(first).min(today)))
}

/// The board's figures of one person's scope over some days, read once each.
struct Figures<'a, C> {
    db: &'a C,
    dealer_id: Uuid,
    now: DateTime<Utc>,
    read: HashMap<(Uuid, ScoreScope, NaiveDate), KpiPeriod>,
}

impl<C: ConnectionTrait> Figures<'_, C> {
    async fn of(
        &mut self,
        user: Uuid,
        scope: ScoreScope,
        days: Option<(NaiveDate, NaiveDate)>,
    ) -> AppResult<Option<&KpiPeriod>> {
        let Some((from, to)) = days else {
            return Ok(None);
        };
        // the department's figures are the same for every head
        let whose = if scope == ScoreScope::Department {
            Uuid::nil()
        } else {
            user
        };
        let key = (whose, scope, from);
        if !self.read.contains_key(&key) {
            let filter = match scope {
                ScoreScope::Advisor => Filter {
                    advisor_id: Some(user),
                    ..Filter::default()
                },
                ScoreScope::Technician => Filter {
                    technician_id: Some(user),
                    ..Filter::default()
                },
                ScoreScope::Department => Filter::default(),
            };
            let k = kpi::period_for(self.db, self.dealer_id, from, to, filter, self.now).await?;
            self.read.insert(key, k);
        }
        Ok(self.read.get(&key))
    }
}

/// The scorecards of `month_s`: everyone's with a scored post for
/// managers and the supervisor (or the one asked for), one's own for the
/// others. The month is counted up to today; the month before in whole.
pub async fn scorecards(
    db: &impl ConnectionTrait,
    actor: &Actor,
    month_s: &str,
    user_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> AppResult<Vec<Scorecard>> {
    let (first, before) = month(month_s)?;
    let only = whom(actor, user_id)?;
    let today = today(db, actor, now).await?;
    let key = first.format("%Y-%m").to_string();
    let rows = rows_of(db, actor.dealer_id, &key).await?;
    let scheme = scheme(db, actor.dealer_id).await?;
    let days = counted(first, today);
    let days_before = counted(before, today);
    let mut figures = Figures {
        db,
        dealer_id: actor.dealer_id,
        now,
        read: HashMap::new(),
    };
    let mut cards = Vec::new();
    for (u, roles) in scored_people(db, actor.dealer_id, only).await? {
        let targets = match rows.get(&u.id) {
            Some(r) => stored_targets(r)?,
            None => Vec::new(),
        };
        let post = scheme.for_roles(&roles);
        let mut lines = Vec::new();
        for &metric in KpiMetric::ALL {
            let target = targets
                .iter()
                .find(|t| t.metric == metric)
                .map(|t| t.target);
            let in_scheme = post.is_some_and(|p| p.lines.iter().any(|l| l.metric == metric));
            let Some(scope) = rules::scope_for(&roles, metric) else {
                continue;
            };
            if target.is_none() && !in_scheme {
                continue;
            }
            let now_fig = figures
                .of(u.id, scope, days)
                .await?
                .and_then(|k| actual(metric, k));
            let last = figures
                .of(u.id, scope, days_before)
                .await?
                .and_then(|k| actual(metric, k));
            let both = target.zip(now_fig);
            lines.push(ScoreLine {
                metric,
                scope,
                target,
                actual: now_fig,
                last_month: last,
                met: both.map(|(t, a)| rules::met(metric, t, a)),
                achievement: both.and_then(|(t, a)| rules::achievement(metric, t, a)),
            });
        }
        let bonus = post.map(|p| {
            let f: Vec<_> = lines
                .iter()
                .map(|l| (l.metric, l.target, l.actual))
                .collect();
            rules::bonus(p, &f)
        });
        cards.push(Scorecard {
            user: StaffRef {
                id: u.id,
                name: u.display_name.clone(),
            },
            roles,
            month: key.clone(),
            counted_from: days.map(|d| d.0),
            counted_to: days.map(|d| d.1),
            lines,
            bonus,
        });
    }
    Ok(cards)
}
