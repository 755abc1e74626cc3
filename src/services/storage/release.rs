//! Releasing bytes: the code that removes the last rows pointing at a blob
//! writes a `blob_releases` row in the same transaction; [`sweep`] then
//! deletes the bytes, after the commit and again on every sweep until the
//! store has removed them or a row refers to them again. So neither a crash
//! between the commit and the delete, nor a store that fails, nor the grace
//! that keeps freshly stored bytes leaves bytes behind that nothing deletes.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::Removal;
use crate::domain::data_export::ExportState;
use crate::entities::{blob_release, data_export, repair_order_photo};
use crate::state::AppState;
use uuid::Uuid;

/// How many released blobs one sweep looks at.
const BATCH: u64 = 200;

/// Releases the bytes under `shas`, in the caller's transaction (the one
/// that removes the rows that pointed at them). A blob released again before
/// the sweep got to it stays one row, due at once.
pub async fn release(
    txn: &impl ConnectionTrait,
    shas: impl IntoIterator<Item = String>,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    release_from(txn, shas, now, now).await
}

/// [`release`], tried no sooner than `not_before`: bytes about to be
/// stored for a row not written yet (a ZIP its job will point at), so that
/// a worker that dies before writing the row leaves no bytes behind.
pub async fn release_from(
    txn: &impl ConnectionTrait,
    shas: impl IntoIterator<Item = String>,
    now: DateTime<Utc>,
    not_before: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    let rows: Vec<blob_release::ActiveModel> = shas
        .into_iter()
        .map(|sha| blob_release::ActiveModel {
            sha256: Set(sha),
            released_at: Set(now),
            not_before: Set(not_before),
            attempts: Set(0),
            generation: Set(Uuid::now_v7()),
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    blob_release::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(blob_release::Column::Sha256)
                .update_columns([
                    blob_release::Column::ReleasedAt,
                    blob_release::Column::NotBefore,
                    blob_release::Column::Generation,
                ])
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// Deletes the released bytes that are due: each is claimed first (so two
/// instances do not both try it), then dropped from the list if a row uses
/// the bytes again, deleted from the store, or left for the next sweep when
/// the store keeps them (put again within the grace) or fails. Answers the
/// blobs removed.
pub async fn sweep(state: &AppState) -> anyhow::Result<u64> {
    let db = &state.db;
    let now = state.clock.now();
    let grace_secs = state.settings.privacy.blob_grace_secs;
    let grace = StdDuration::from_secs(grace_secs);
    // a retry waits out the grace: between a minute and a day
    let wait = std::cmp::Ord::clamp(grace_secs, 60, 86_400);
    let retry_at = now + Duration::seconds(i64::try_from(wait).unwrap_or(86_400));
    let due = blob_release::Entity::find()
        .filter(blob_release::Column::NotBefore.lte(now))
        .order_by_asc(blob_release::Column::NotBefore)
        .limit(BATCH)
        .all(db)
        .await?;
    let mut removed = 0;
    for r in due {
        let claimed = blob_release::Entity::update_many()
            .col_expr(blob_release::Column::NotBefore, Expr::value(retry_at))
            .col_expr(
                blob_release::Column::Attempts,
                Expr::col(blob_release::Column::Attempts).add(1),
            )
            .filter(blob_release::Column::Sha256.eq(r.sha256.as_str()))
            .filter(blob_release::Column::NotBefore.eq(r.not_before))
            .filter(blob_release::Column::Attempts.eq(r.attempts))
            .exec(db)
            .await?
            .rows_affected
            == 1;
        if !claimed {
            continue; // another instance has it
        }
        let done = if in_use(db, &r.sha256).await? {
            true
        } else {
            match state.blobs.delete(&r.sha256, grace).await {
                Ok(Removal::Removed) => {
                    removed += 1;
                    true
                }
                Ok(Removal::Absent) => true,
                Ok(Removal::Fresh) => false,
                Err(e) => {
                    tracing::warn!(sha = %r.sha256, error = ?e, "released bytes not deleted; retried on the next sweep");
                    false
                }
            }
        };
        if done {
            // unless released again meanwhile: then the next sweep looks again
            blob_release::Entity::delete_many()
                .filter(blob_release::Column::Sha256.eq(r.sha256.as_str()))
                .filter(blob_release::Column::Generation.eq(r.generation))
                .exec(db)
                .await?;
        }
    }
    Ok(removed)
}

/// Whether a row refers to the bytes: a photo (of any dealer: the store is
/// shared and content-addressed) or a customer's copy not yet expired.
async fn in_use(db: &impl ConnectionTrait, sha: &str) -> Result<bool, sea_orm::DbErr> {
    let photos = repair_order_photo::Entity::find()
        .filter(repair_order_photo::Column::Sha256.eq(sha))
        .count(db)
        .await?;
    if photos > 0 {
        return Ok(true);
    }
    let exports = data_export::Entity::find()
        .filter(data_export::Column::Sha256.eq(sha))
        .filter(data_export::Column::State.ne(ExportState::Expired))
        .count(db)
        .await?;
    Ok(exports > 0)
}
