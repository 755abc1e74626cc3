//! Import jobs: a file uploaded through the API is read at once (so a file that
//! cannot be read is answered 422 on the spot), stored with its job, and
//! imported by a worker in the background while the caller polls for progress.
//!
//! Crash safety: every batch of rows is committed together with the job's
//! progress and counts and the batch's rejected rows, so the job row always
//! says exactly how far the import got. A worker renews the job's heartbeat
//! with each batch; a job still `running` whose heartbeat is older than the
//! lease (`imports.lease_secs`) is taken over by the next worker that looks —
//! at start-up and every few seconds after — and *resumed* at the first row
//! not yet committed. Resuming rather than failing is safe because rows are
//! matched by phone and VIN (a re-run adds nothing twice), and it is right on
//! PostgreSQL with several instances, where "running at my start-up" does not
//! mean "orphaned". A dry run writes no rows, so a resumed dry run starts
//! again from the top. A job taken over `MAX_ATTEMPTS` times is marked failed
//! rather than retried forever.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use actix_web::web;
use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, Set, TransactionTrait,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::customer::Locale;
use crate::domain::import::JobState;
use crate::domain::{FieldError, Role};
use crate::entities::{import_file, import_job, import_rejection};
use crate::error::{AppError, AppResult};
use crate::services::col_plus;
use crate::services::import::{self, BATCH, DryRun, ReadOptions, Rejected};
use crate::state::AppState;

/// Who may import (and read imports): the dealer's admin and service managers.
pub const IMPORTERS: &[Role] = &[Role::ServiceManager, Role::DealerAdmin];

/// Takeovers after which a job is given up.
pub const MAX_ATTEMPTS: i32 = 3;

/// The upload as the handler received it.
#[derive(Debug, Default)]
pub struct Upload {
    pub bytes: Vec<u8>,
    pub file_name: Option<String>,
    pub dry_run: bool,
    pub encoding: Option<String>,
    pub sheet: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Progress {
    pub rows_done: i32,
    pub rows_total: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobCounts {
    pub customers_created: i32,
    pub customers_existing: i32,
    pub vehicles_created: i32,
    pub vehicles_existing: i32,
    pub rejected: i32,
}

/// An import job and how far it got.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportJob {
    pub id: Uuid,
    pub state: JobState,
    pub dry_run: bool,
    pub file_name: Option<String>,
    /// The encoding the file was read in (`UTF-8`, `UTF-8 (BOM)`, `GB18030`…) or `xlsx` / `xls`.
    pub encoding: String,
    pub sheet: Option<String>,
    pub progress: Progress,
    pub counts: JobCounts,
    /// Why a `failed` job stopped.
    pub error: Option<String>,
    /// Workers that took the job; more than 1 means it was resumed after a crash.
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<import_job::Model> for ImportJob {
    fn from(m: import_job::Model) -> Self {
        ImportJob {
            id: m.id,
            state: m.state,
            dry_run: m.dry_run,
            file_name: m.file_name,
            encoding: m.encoding,
            sheet: m.sheet,
            progress: Progress {
                rows_done: m.rows_done,
                rows_total: m.rows_total,
            },
            counts: JobCounts {
                customers_created: m.customers_created,
                customers_existing: m.customers_existing,
                vehicles_created: m.vehicles_created,
                vehicles_existing: m.vehicles_existing,
                rejected: m.rejected,
            },
            error: m.error,
            attempts: m.attempts,
            created_at: m.created_at,
            started_at: m.started_at,
            finished_at: m.finished_at,
        }
    }
}

/// One cell of a rejected row, as read.
#[derive(Debug, Serialize, ToSchema)]
pub struct Cell {
    pub column: String,
    pub value: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedRow {
    /// Line in the file (row in the sheet), the header being line 1.
    pub line: u64,
    pub values: Vec<Cell>,
    /// Every reason, the message in English.
    pub reasons: Vec<FieldError>,
    /// Every reason in one line, in the language asked for.
    pub description: String,
}

/// The job and every rejected row so far.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    #[serde(flatten)]
    pub job: ImportJob,
    pub rejected: Vec<RejectedRow>,
}

/// Refuses a caller who may not import (checked before the upload is read).
pub fn authorize(actor: &Actor) -> AppResult<()> {
    actor.require(IMPORTERS)
}

/// Reads the upload, and queues the job when the file can be read.
pub async fn submit(
    state: &AppState,
    actor: &Actor,
    upload: Upload,
    now: DateTime<Utc>,
) -> AppResult<ImportJob> {
    actor.require(IMPORTERS)?;
    let opts = ReadOptions {
        encoding: upload.encoding.clone(),
        sheet: upload.sheet.clone(),
    };
    let bytes = upload.bytes;
    // a large workbook is seconds of CPU: off the request's thread
    let (bytes, table) = tokio::task::spawn_blocking(move || {
        let t = import::read_file(&bytes, &opts);
        (bytes, t)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?;
    let table = table.map_err(|e| AppError::field(e.field(), e.to_string()))?;
    let job = import_job::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(actor.dealer_id),
        created_by: Set(actor.id),
        state: Set(JobState::Queued),
        dry_run: Set(upload.dry_run),
        file_name: Set(upload
            .file_name
            .map(|n| n.chars().filter(|c| !c.is_control()).take(255).collect())),
        encoding: Set(table.encoding.clone()),
        sheet: Set(upload.sheet),
        rows_total: Set(i32::try_from(table.rows.len()).unwrap_or(i32::MAX)),
        error: Set(None),
        attempts: Set(0),
        heartbeat_at: Set(None),
        created_at: Set(now),
        started_at: Set(None),
        finished_at: Set(None),
        ..nothing_done()
    };
    let txn = state.db.begin().await?;
    let job = job.insert(&txn).await?;
    import_file::ActiveModel {
        job_id: Set(job.id),
        data: Set(bytes),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    state.import_wakeup.notify_one();
    Ok(job.into())
}

/// Progress and counts at zero: a new job, or a dry run started again.
fn nothing_done() -> import_job::ActiveModel {
    import_job::ActiveModel {
        rows_done: Set(0),
        customers_created: Set(0),
        customers_existing: Set(0),
        vehicles_created: Set(0),
        vehicles_existing: Set(0),
        rejected: Set(0),
        ..Default::default()
    }
}

/// A job of the actor's dealer, or 404.
async fn load(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> AppResult<import_job::Model> {
    actor.require(IMPORTERS)?;
    let job = import_job::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    actor.can_write_dealer(job.dealer_id)?;
    Ok(job)
}

async fn rejected_rows(db: &impl ConnectionTrait, job_id: Uuid) -> AppResult<Vec<Rejected>> {
    let rows = import_rejection::Entity::find()
        .filter(import_rejection::Column::JobId.eq(job_id))
        .order_by_asc(import_rejection::Column::Line)
        .all(db)
        .await?;
    rows.into_iter()
        .map(|r| {
            Ok(Rejected {
                line: u64::try_from(r.line).unwrap_or_default(),
                values: serde_json::from_value(r.values)
                    .map_err(|e| AppError::Internal(anyhow::anyhow!("stored values: {e}")))?,
                reasons: serde_json::from_value(r.reasons)
                    .map_err(|e| AppError::Internal(anyhow::anyhow!("stored reasons: {e}")))?,
            })
        })
        .collect()
}

/// The job, its progress and the rejected rows so far.
pub async fn report(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    locale: Locale,
) -> AppResult<ImportReport> {
    let job = load(db, actor, id).await?;
    let rejected = rejected_rows(db, id)
        .await?
        .into_iter()
        .map(|r| RejectedRow {
            description: r.describe(locale),
            line: r.line,
            values: r
                .values
                .into_iter()
                .map(|(column, value)| Cell { column, value })
                .collect(),
            reasons: r.reasons,
        })
        .collect();
    Ok(ImportReport {
        job: job.into(),
        rejected,
    })
}

/// The rejected rows as CSV (see [`import::report_csv`]).
pub async fn report_csv(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    locale: Locale,
) -> AppResult<Vec<u8>> {
    load(db, actor, id).await?;
    Ok(import::report_csv(&rejected_rows(db, id).await?, locale))
}

/// Runs import jobs in the background, one at a time: at start-up (taking
/// over jobs a dead worker left), when woken by a new job, and every few
/// seconds (jobs of other instances whose heartbeat stopped).
pub fn spawn_worker(state: web::Data<AppState>) {
    const POLL: Duration = Duration::from_secs(5);
    tokio::spawn(async move {
        loop {
            match run_next(&state).await {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(e) => tracing::error!(error = ?e, "import worker"),
            }
            tokio::select! {
                _ = state.import_wakeup.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    });
}

/// Takes one job that is queued, or running with an expired lease, and runs
/// it to its end. `None` when there was nothing to do.
pub async fn run_next(state: &AppState) -> anyhow::Result<Option<Uuid>> {
    let db = &state.db;
    let now = state.clock.now();
    let stale = now - chrono::Duration::seconds(state.settings.imports.lease_secs);
    let Some(job) = import_job::Entity::find()
        .filter(
            Condition::any()
                .add(import_job::Column::State.eq(JobState::Queued))
                .add(
                    Condition::all()
                        .add(import_job::Column::State.eq(JobState::Running))
                        .add(import_job::Column::HeartbeatAt.lt(stale)),
                ),
        )
        .order_by_asc(import_job::Column::CreatedAt)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if job.attempts >= MAX_ATTEMPTS {
        let msg = format!(
            "stopped {} times without finishing; {} of {} rows were imported",
            job.attempts, job.rows_done, job.rows_total
        );
        finish(db, &job, job.attempts, JobState::Failed, Some(msg), now).await?;
        return Ok(Some(job.id));
    }
    // `attempts` is the job's version: of two workers that saw it, one wins
    let attempts = job.attempts + 1;
    let taken = import_job::Entity::update_many()
        .set(import_job::ActiveModel {
            state: Set(JobState::Running),
            attempts: Set(attempts),
            heartbeat_at: Set(Some(now)),
            started_at: Set(Some(job.started_at.unwrap_or(now))),
            ..Default::default()
        })
        .filter(import_job::Column::Id.eq(job.id))
        .filter(import_job::Column::Attempts.eq(job.attempts))
        .exec(db)
        .await?;
    if taken.rows_affected == 0 {
        return Ok(Some(job.id));
    }
    if job.state == JobState::Running {
        tracing::warn!(job = %job.id, rows_done = job.rows_done, "resuming an import job whose worker stopped");
    }
    // a panic would end the worker's task, and with it every later job (they
    // would wait as `queued` until a restart): it fails this job instead
    let outcome = match AssertUnwindSafe(run(state, &job, attempts))
        .catch_unwind()
        .await
    {
        Ok(outcome) => outcome,
        Err(payload) => Err(anyhow::anyhow!(
            "the import stopped on an internal error: {}",
            crate::panic_guard::panic_message(payload.as_ref())
        )),
    };
    if let Err(e) = outcome {
        tracing::error!(job = %job.id, error = ?e, "import job failed");
        finish(
            db,
            &job,
            attempts,
            JobState::Failed,
            Some(e.to_string()),
            state.clock.now(),
        )
        .await?;
    }
    Ok(Some(job.id))
}

async fn run(state: &AppState, job: &import_job::Model, attempts: i32) -> anyhow::Result<()> {
    let db = &state.db;
    let file = import_file::Entity::find_by_id(job.id)
        .one(db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the uploaded file is gone"))?;
    // the encoding found at upload time is the one to read with again
    let opts = ReadOptions {
        encoding: (!job.encoding.starts_with("xls"))
            .then(|| job.encoding.trim_end_matches(" (BOM)").to_string()),
        sheet: job.sheet.clone(),
    };
    let table = tokio::task::spawn_blocking(move || import::read_file(&file.data, &opts)).await??;
    let total = table.rows.len();
    let mut start = usize::try_from(job.rows_done).unwrap_or_default();
    if job.dry_run && start > 0 {
        // what the dry run remembered died with its worker: start again
        let txn = db.begin().await?;
        import_rejection::Entity::delete_many()
            .filter(import_rejection::Column::JobId.eq(job.id))
            .exec(&txn)
            .await?;
        import_job::Entity::update_many()
            .set(nothing_done())
            .filter(import_job::Column::Id.eq(job.id))
            .filter(import_job::Column::Attempts.eq(attempts))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        start = 0;
    }
    let mut dry = job.dry_run.then(DryRun::default);
    // what a resumed job already keeps (a restarted dry run starts from none)
    let mut reported = if start == 0 {
        0
    } else {
        usize::try_from(job.rejected).unwrap_or_default()
    };
    while start < total {
        let end = (start + BATCH).min(total);
        let now = state.clock.now();
        let txn = db.begin().await?;
        // SQLite: the batch reads before it writes; taking the write lock
        // first means a writer committing in between (the outbox dispatcher)
        // cannot make the first insert fail with "database is locked"
        if txn.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            crate::services::lock_row::<import_job::Entity>(
                &txn,
                import_job::Column::Id,
                import_job::Column::RowsDone,
                job.id,
            )
            .await?;
        }
        let batch =
            import::import_rows(&txn, job.dealer_id, &table, start..end, now, dry.as_mut()).await?;
        // the report keeps the first MAX_REPORTED rejected rows: a file of
        // 30 MB of bad rows must not become a report that cannot be loaded
        let keep = batch
            .rejected
            .len()
            .min(import::MAX_REPORTED.saturating_sub(reported));
        reported += keep;
        if keep > 0 {
            let rows = batch.rejected[..keep]
                .iter()
                .map(|r| {
                    Ok(import_rejection::ActiveModel {
                        job_id: Set(job.id),
                        line: Set(i64::try_from(r.line)?),
                        values: Set(storable(serde_json::to_value(&r.values)?)),
                        reasons: Set(storable(serde_json::to_value(&r.reasons)?)),
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            import_rejection::Entity::insert_many(rows)
                .exec(&txn)
                .await?;
        }
        let c = batch.counts;
        let n = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
        // progress, counts and the rows they count commit together
        let res = import_job::Entity::update_many()
            .col_expr(
                import_job::Column::RowsDone,
                sea_orm::sea_query::Expr::value(i32::try_from(end)?),
            )
            .col_expr(
                import_job::Column::CustomersCreated,
                col_plus(import_job::Column::CustomersCreated, n(c.customers_created)),
            )
            .col_expr(
                import_job::Column::CustomersExisting,
                col_plus(
                    import_job::Column::CustomersExisting,
                    n(c.customers_existing),
                ),
            )
            .col_expr(
                import_job::Column::VehiclesCreated,
                col_plus(import_job::Column::VehiclesCreated, n(c.vehicles_created)),
            )
            .col_expr(
                import_job::Column::VehiclesExisting,
                col_plus(import_job::Column::VehiclesExisting, n(c.vehicles_existing)),
            )
            .col_expr(
                import_job::Column::Rejected,
                col_plus(import_job::Column::Rejected, n(batch.rejected.len())),
            )
            .col_expr(
                import_job::Column::HeartbeatAt,
                sea_orm::sea_query::Expr::value(Some(now)),
            )
            .filter(import_job::Column::Id.eq(job.id))
            .filter(import_job::Column::Attempts.eq(attempts))
            .exec(&txn)
            .await?;
        if res.rows_affected == 0 {
            // another worker took the job over (our lease ran out): leave it to them
            txn.rollback().await?;
            return Ok(());
        }
        txn.commit().await?;
        import::refresh_statistics(db, start / BATCH + 1).await?;
        start = end;
    }
    finish(db, job, attempts, JobState::Done, None, state.clock.now()).await?;
    Ok(())
}

/// A rejected row as PostgreSQL's json can hold it: a NUL read from the file
/// (in a cell, or quoted by a reason) cannot be stored there and would fail
/// the whole job, so the report shows it as U+FFFD.
fn storable(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) if s.contains('\0') => Value::String(s.replace('\0', "\u{FFFD}")),
        Value::Array(a) => Value::Array(a.into_iter().map(storable).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, storable(v))).collect()),
        v => v,
    }
}

/// Ends a job and drops its file.
async fn finish(
    db: &DatabaseConnection,
    job: &import_job::Model,
    attempts: i32,
    to: JobState,
    error: Option<String>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let txn = db.begin().await?;
    import_job::Entity::update_many()
        .set(import_job::ActiveModel {
            state: Set(to),
            error: Set(error),
            finished_at: Set(Some(now)),
            ..Default::default()
        })
        .filter(import_job::Column::Id.eq(job.id))
        .filter(import_job::Column::Attempts.eq(attempts))
        .exec(&txn)
        .await?;
    import_file::Entity::delete_by_id(job.id).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}
