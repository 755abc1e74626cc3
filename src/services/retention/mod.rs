//! Retention of personal data (issue 14, part 4): each dealer's limits per
//! kind (`GET/PUT /api/v1/settings/retention`, defaults from
//! `[privacy.retention]`), the daily run that enforces them (`job`: once per
//! dealer and local day across instances) over one table of kinds
//! (`kinds`), and the runs' record (`GET /api/v1/retention/runs`).

pub mod job;
pub mod kinds;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Actor;
use crate::config::RetentionConfig;
use crate::domain::FieldErrors;
use crate::domain::retention::{self as rules, LIMITS, Policy, RetentionKind};
use crate::entities::{retention_run, retention_setting as setting};
use crate::error::{AppError, AppResult};
use crate::services::{Version, col_plus, decode_cursor, next_page, page_limit};

/// A dealer's retention limits (`ETag` = `version`; 0 while the dealer
/// keeps the defaults of the configuration).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RetentionSettings {
    /// One-time login codes are kept this many days (1–90).
    pub otp_code_days: u32,
    /// Failed-login counters are kept this many days after their window began (1–365).
    pub login_failure_days: u32,
    /// Message bodies, subjects and recipients are cleared this many months
    /// after the message was written (1–120); the record that it went stays.
    pub message_body_months: u32,
    /// Walk-around and health-check photos go this many months after their
    /// order closed (or was cancelled) (1–120).
    pub photo_months: u32,
    /// A finished rescue's coordinates and address are cleared this many months after it ended (1–120).
    pub rescue_location_months: u32,
    /// Entries of the personal-data access log are kept this many years (1–30).
    pub audit_years: u32,
    /// The saved answers of requests sent with an `Idempotency-Key` are kept
    /// this many days (1–90): a retry after that is a new request.
    pub idempotent_answer_days: u32,
    pub version: i32,
}

/// `PUT /api/v1/settings/retention`: every limit, replaced.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettingsInput {
    #[schema(minimum = 1, maximum = 90)]
    pub otp_code_days: i64,
    #[schema(minimum = 1, maximum = 365)]
    pub login_failure_days: i64,
    #[schema(minimum = 1, maximum = 120)]
    pub message_body_months: i64,
    #[schema(minimum = 1, maximum = 120)]
    pub photo_months: i64,
    #[schema(minimum = 1, maximum = 120)]
    pub rescue_location_months: i64,
    #[schema(minimum = 1, maximum = 30)]
    pub audit_years: i64,
    #[schema(minimum = 1, maximum = 90)]
    pub idempotent_answer_days: i64,
}

impl RetentionSettingsInput {
    /// The limits, each within its bounds (422 naming every one that is not).
    fn policy(&self) -> Result<Policy, FieldErrors> {
        let mut e = FieldErrors::new();
        let mut n = |field: &str, v: i64| -> u32 {
            let l = LIMITS.iter().find(|l| l.field == field);
            match (l, u32::try_from(v)) {
                (Some(l), Ok(v)) if (l.min..=l.max).contains(&v) => v,
                (Some(l), _) => {
                    e.add(field, format!("must be between {} and {}", l.min, l.max));
                    0
                }
                (None, _) => 0,
            }
        };
        let p = Policy {
            otp_code_days: n("otp_code_days", self.otp_code_days),
            login_failure_days: n("login_failure_days", self.login_failure_days),
            message_body_months: n("message_body_months", self.message_body_months),
            photo_months: n("photo_months", self.photo_months),
            rescue_location_months: n("rescue_location_months", self.rescue_location_months),
            audit_years: n("audit_years", self.audit_years),
            idempotent_answer_days: n("idempotent_answer_days", self.idempotent_answer_days),
        };
        e.into_result()?;
        p.check()?;
        Ok(p)
    }
}

fn view(p: Policy, version: i32) -> RetentionSettings {
    RetentionSettings {
        otp_code_days: p.otp_code_days,
        login_failure_days: p.login_failure_days,
        message_body_months: p.message_body_months,
        photo_months: p.photo_months,
        rescue_location_months: p.rescue_location_months,
        audit_years: p.audit_years,
        idempotent_answer_days: p.idempotent_answer_days,
        version,
    }
}

fn to_u32(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

/// The dealer's limits and their version (0: the configured defaults).
pub async fn policy(
    db: &impl ConnectionTrait,
    cfg: &RetentionConfig,
    dealer_id: Uuid,
) -> AppResult<(Policy, i32)> {
    Ok(
        match setting::Entity::find_by_id(dealer_id).one(db).await? {
            Some(s) => (
                Policy {
                    otp_code_days: to_u32(s.otp_code_days),
                    login_failure_days: to_u32(s.login_failure_days),
                    message_body_months: to_u32(s.message_body_months),
                    photo_months: to_u32(s.photo_months),
                    rescue_location_months: to_u32(s.rescue_location_months),
                    audit_years: to_u32(s.audit_years),
                    idempotent_answer_days: to_u32(s.idempotent_answer_days),
                },
                s.version,
            ),
            None => (cfg.defaults(), 0),
        },
    )
}

fn staff_only(actor: &Actor) -> AppResult<()> {
    if actor.is_customer() {
        return Err(AppError::Forbidden("staff only"));
    }
    Ok(())
}

/// The dealer's limits (any member of the staff: what is kept how long is no secret).
pub async fn get_settings(
    db: &impl ConnectionTrait,
    cfg: &RetentionConfig,
    actor: &Actor,
) -> AppResult<RetentionSettings> {
    staff_only(actor)?;
    let (p, v) = policy(db, cfg, actor.dealer_id).await?;
    Ok(view(p, v))
}

fn i(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// Sets the dealer's limits (the service manager, the dealer's admin), as
/// the care card's numbers are saved: with `If-Match` the write is refused
/// (412) when someone changed them since (`"0"`: none set yet); without,
/// it replaces what is there.
pub async fn put_settings(
    db: &impl ConnectionTrait,
    cfg: &RetentionConfig,
    actor: &Actor,
    expected: Option<Version>,
    input: RetentionSettingsInput,
    now: DateTime<Utc>,
) -> AppResult<RetentionSettings> {
    staff_only(actor)?;
    actor.require(rules::SETTERS)?;
    let p = input.policy()?;
    match expected {
        // the first write makes version 1: If-Match "0" is "none yet"
        Some(Version(0)) | None => {
            let inserted = setting::Entity::insert(setting::ActiveModel {
                dealer_id: Set(actor.dealer_id),
                otp_code_days: Set(i(p.otp_code_days)),
                login_failure_days: Set(i(p.login_failure_days)),
                message_body_months: Set(i(p.message_body_months)),
                photo_months: Set(i(p.photo_months)),
                rescue_location_months: Set(i(p.rescue_location_months)),
                audit_years: Set(i(p.audit_years)),
                idempotent_answer_days: Set(i(p.idempotent_answer_days)),
                version: Set(1),
                updated_by: Set(Some(actor.id)),
                updated_at: Set(now),
            })
            .on_conflict(
                OnConflict::column(setting::Column::DealerId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
            if inserted == 0 {
                if expected.is_some() {
                    return Err(AppError::PreconditionFailed);
                }
                update(db, actor, None, p, now).await?;
            }
        }
        Some(v) => update(db, actor, Some(v), p, now).await?,
    }
    let (p, v) = policy(db, cfg, actor.dealer_id).await?;
    Ok(view(p, v))
}

async fn update(
    db: &impl ConnectionTrait,
    actor: &Actor,
    expected: Option<Version>,
    p: Policy,
    now: DateTime<Utc>,
) -> AppResult<()> {
    use setting::Column as C;
    let mut q = setting::Entity::update_many()
        .col_expr(C::OtpCodeDays, Expr::value(i(p.otp_code_days)))
        .col_expr(C::LoginFailureDays, Expr::value(i(p.login_failure_days)))
        .col_expr(C::MessageBodyMonths, Expr::value(i(p.message_body_months)))
        .col_expr(C::PhotoMonths, Expr::value(i(p.photo_months)))
        .col_expr(
            C::RescueLocationMonths,
            Expr::value(i(p.rescue_location_months)),
        )
        .col_expr(C::AuditYears, Expr::value(i(p.audit_years)))
        .col_expr(
            C::IdempotentAnswerDays,
            Expr::value(i(p.idempotent_answer_days)),
        )
        .col_expr(C::Version, col_plus(C::Version, 1))
        .col_expr(C::UpdatedBy, Expr::value(actor.id))
        .col_expr(C::UpdatedAt, Expr::value(now))
        .filter(C::DealerId.eq(actor.dealer_id));
    if let Some(v) = expected {
        q = q.filter(C::Version.eq(v.0));
    }
    if q.exec(db).await?.rows_affected == 0 {
        return Err(AppError::PreconditionFailed);
    }
    Ok(())
}

/// How many rows of a kind a run removed (or cleared).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RetentionCount {
    pub kind: RetentionKind,
    pub removed: u64,
}

/// One dealer's retention run for one local day.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RetentionRun {
    pub id: Uuid,
    /// The dealer's local date the run is for (one run per day).
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    pub started_at: DateTime<Utc>,
    /// Absent while it runs.
    pub finished_at: Option<DateTime<Utc>>,
    /// How many times it was started: above 1 when an instance stopped
    /// mid-run and another finished it.
    pub attempts: i32,
    /// Every kind, with what this run removed (0 when nothing was due).
    pub removed: Vec<RetentionCount>,
}

/// The stored counts: `{"otp_codes": 3, …}` (a kind unknown to this
/// version, or a count that is not a number, is left out).
pub(crate) fn counts(removed: &serde_json::Value) -> BTreeMap<&'static str, u64> {
    RetentionKind::ALL
        .iter()
        .filter_map(|k| {
            removed
                .get(k.as_str())
                .and_then(serde_json::Value::as_u64)
                .map(|n| (k.as_str(), n))
        })
        .collect()
}

pub(crate) fn run_view(r: retention_run::Model) -> RetentionRun {
    let c = counts(&r.removed);
    RetentionRun {
        id: r.id,
        day: r.day,
        started_at: r.started_at,
        finished_at: r.finished_at,
        attempts: r.attempts,
        removed: RetentionKind::ALL
            .iter()
            .map(|k| RetentionCount {
                kind: *k,
                removed: c.get(k.as_str()).copied().unwrap_or(0),
            })
            .collect(),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    pub cursor: Option<String>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

/// A page of runs, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetentionRunPage {
    pub items: Vec<RetentionRun>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The dealer's retention runs, newest first (the service manager, the dealer's admin).
pub async fn runs(
    db: &impl ConnectionTrait,
    actor: &Actor,
    q: RunsQuery,
) -> AppResult<RetentionRunPage> {
    staff_only(actor)?;
    actor.require(rules::SETTERS)?;
    let limit = page_limit(q.limit)?;
    let mut find =
        retention_run::Entity::find().filter(retention_run::Column::DealerId.eq(actor.dealer_id));
    if let Some(c) = q.cursor.as_deref() {
        find = find.filter(retention_run::Column::Id.lt(decode_cursor(c)?));
    }
    // ids are UUIDv7: newest first is the ids backwards
    let mut rows = find
        .order_by_desc(retention_run::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    let next_cursor = next_page(&mut rows, limit, |r| r.id);
    Ok(RetentionRunPage {
        items: rows.into_iter().map(run_view).collect(),
        next_cursor,
    })
}
