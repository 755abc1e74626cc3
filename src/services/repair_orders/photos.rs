//! Photos of an order (walk-around, health check, QC, damage): the type is
//! told from the bytes, the bytes go to the blob store under their SHA-256,
//! and the same bytes sent again for the same order answer the photo that
//! is already there (a retried upload on shaky Wi-Fi stores once).

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::journal::{self, Write};
use super::load;
use crate::auth::Actor;
use crate::domain::photo;
use crate::domain::repair_order::access::Act;
use crate::domain::repair_order::{EventKind, PhotoPurpose};
use crate::domain::validation;
use crate::entities::repair_order_photo;
use crate::error::{AppError, AppResult};
use crate::services::idempotency::{self, IdempotencyKey, Outcome, Reservation, Saved};
use crate::services::storage::sha256_hex;
use crate::state::AppState;

/// An upload as read from the form.
#[derive(Debug, Default)]
pub struct Upload {
    pub bytes: Vec<u8>,
    /// As sent: checked here.
    pub purpose: Option<String>,
    pub item_code: Option<String>,
}

/// A photo of an order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Photo {
    pub id: Uuid,
    /// Told from the bytes: `image/jpeg`, `image/png`, `image/webp` or `image/heic`.
    #[schema(example = "image/jpeg")]
    pub content_type: String,
    /// The size in bytes.
    pub bytes: i64,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// Where the bytes are served (`GET`, with the bearer token).
    #[schema(example = "/api/v1/repair-orders/0190b0a4-…/photos/0190b0a5-…")]
    pub url: String,
    pub purpose: PhotoPurpose,
    /// The checklist item it shows, if any.
    pub item_code: Option<String>,
    pub uploaded_by: Uuid,
    pub created_at: DateTime<Utc>,
}

pub fn view(m: repair_order_photo::Model) -> Photo {
    Photo {
        url: format!("/api/v1/repair-orders/{}/photos/{}", m.order_id, m.id),
        id: m.id,
        content_type: m.content_type,
        bytes: m.bytes,
        sha256: m.sha256,
        purpose: m.purpose,
        item_code: m.item_code,
        uploaded_by: m.uploaded_by,
        created_at: m.created_at,
    }
}

/// Refuses before the body is read: the order must be visible (404) and the
/// actor's role one that adds photos (403).
pub async fn authorize(db: &impl ConnectionTrait, actor: &Actor, order_id: Uuid) -> AppResult<()> {
    let m = load(db, actor, order_id).await?;
    journal::allow(actor, Act::Photo)?;
    actor.can_write_dealer(m.dealer_id)
}

/// A checked upload.
#[derive(Debug, Serialize)]
struct Checked {
    sha256: String,
    content_type: &'static str,
    purpose: PhotoPurpose,
    item_code: Option<String>,
}

fn check(u: &Upload) -> AppResult<Checked> {
    let purpose = match u.purpose.as_deref().map(str::trim) {
        None | Some("") => return Err(AppError::field("purpose", "is required")),
        Some(p) => p.parse::<PhotoPurpose>().map_err(|e| {
            AppError::field(
                "purpose",
                format!("must be one of {}", e.expected.join(", ")),
            )
        })?,
    };
    let item_code = match u.item_code.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => Some(validation::code(c).map_err(|m| AppError::field("item_code", m))?),
    };
    if u.bytes.is_empty() {
        return Err(AppError::field("file", "is empty"));
    }
    let kind = photo::sniff(&u.bytes).ok_or_else(|| AppError::UnsupportedMediaType {
        field: "file",
        message: "is not a JPEG, PNG, WebP or HEIC image (told from its bytes)".into(),
    })?;
    Ok(Checked {
        sha256: sha256_hex(&u.bytes),
        content_type: kind.content_type(),
        purpose,
        item_code,
    })
}

/// Adds a photo: (the photo, whether it is new). The same bytes already on
/// this order answer that photo and store nothing.
pub async fn add(
    state: &AppState,
    actor: &Actor,
    order_id: Uuid,
    upload: Upload,
    key: Option<&IdempotencyKey>,
) -> AppResult<Outcome<(Photo, bool)>> {
    let checked = check(&upload)?;
    let request = (order_id, &checked);
    let bytes = upload.bytes;
    idempotency::once(
        &state.db,
        actor,
        key,
        &request,
        state.clock.now(),
        async |r| add_now(state, actor, order_id, &checked, bytes, r).await,
    )
    .await
}

async fn add_now(
    state: &AppState,
    actor: &Actor,
    order_id: Uuid,
    c: &Checked,
    bytes: Vec<u8>,
    reservation: Option<&Reservation>,
) -> AppResult<(Photo, bool)> {
    // the blob before the row, and outside the order's lock: a row never
    // points at missing bytes; a blob whose row is not written is harmless
    // (content-addressed, the next try finds it)
    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    let sha = state.blobs.put(bytes).await?;
    if sha != c.sha256 {
        return Err(AppError::Internal(anyhow::anyhow!(
            "the blob store answered another hash"
        )));
    }
    let mut w = Write::begin(state, actor, order_id, Act::Photo).await?;
    if w.order.state.is_final() {
        return Err(AppError::Conflict(format!(
            "a repair order that is {} takes no photos",
            w.order.state
        )));
    }
    // under the order's lock: one of two equal uploads makes the photo
    let existing = repair_order_photo::Entity::find()
        .filter(repair_order_photo::Column::OrderId.eq(order_id))
        .filter(repair_order_photo::Column::Sha256.eq(c.sha256.as_str()))
        .one(&w.txn)
        .await?;
    if let Some(m) = existing {
        let p = view(m);
        if let Some(r) = reservation {
            save(&w.txn, r, 200, &p).await?;
        }
        w.txn.commit().await?;
        return Ok((p, false));
    }
    let m = repair_order_photo::Model {
        id: Uuid::now_v7(),
        dealer_id: w.order.dealer_id,
        order_id,
        sha256: c.sha256.clone(),
        content_type: c.content_type.to_string(),
        bytes: size,
        purpose: c.purpose,
        item_code: c.item_code.clone(),
        uploaded_by: actor.id,
        created_at: w.now,
    };
    repair_order_photo::Entity::insert(repair_order_photo::ActiveModel {
        id: Set(m.id),
        dealer_id: Set(m.dealer_id),
        order_id: Set(m.order_id),
        sha256: Set(m.sha256.clone()),
        content_type: Set(m.content_type.clone()),
        bytes: Set(m.bytes),
        purpose: Set(m.purpose),
        item_code: Set(m.item_code.clone()),
        uploaded_by: Set(m.uploaded_by),
        created_at: Set(m.created_at),
    })
    .exec_without_returning(&w.txn)
    .await?;
    w.event(
        EventKind::PhotoAdded,
        serde_json::json!({
            "photo_id": m.id,
            "purpose": m.purpose,
            "item_code": m.item_code,
            "content_type": m.content_type,
            "bytes": m.bytes,
            "sha256": m.sha256,
        }),
    )
    .await?;
    let p = view(m);
    if let Some(r) = reservation {
        save(&w.txn, r, 201, &p).await?;
    }
    w.commit(state).await?;
    Ok((p, true))
}

async fn save(
    txn: &impl ConnectionTrait,
    r: &Reservation,
    status: u16,
    p: &Photo,
) -> AppResult<()> {
    let answer = Saved {
        status,
        body: serde_json::to_string(p).map_err(anyhow::Error::from)?,
    };
    if idempotency::complete(txn, r, &answer).await? {
        Ok(())
    } else {
        Err(AppError::InProgress {
            retry_after_secs: 1,
        })
    }
}

/// A photo's content type and bytes, for anyone who may read the order
/// (the customer too); 404 for anyone else and for a photo of another order.
pub async fn bytes(
    state: &AppState,
    actor: &Actor,
    order_id: Uuid,
    photo_id: Uuid,
) -> AppResult<(String, Vec<u8>)> {
    load(&state.db, actor, order_id).await?;
    journal::allow(actor, Act::Read)?;
    let m = repair_order_photo::Entity::find_by_id(photo_id)
        .filter(repair_order_photo::Column::OrderId.eq(order_id))
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let b = state.blobs.get(&m.sha256).await?.ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!("the bytes of photo {} are missing", m.id))
    })?;
    Ok((m.content_type, b))
}

/// The photos of an order, oldest first.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    order_id: Uuid,
) -> AppResult<Vec<Photo>> {
    use sea_orm::QueryOrder;
    load(db, actor, order_id).await?;
    journal::allow(actor, Act::Read)?;
    Ok(repair_order_photo::Entity::find()
        .filter(repair_order_photo::Column::OrderId.eq(order_id))
        .order_by_asc(repair_order_photo::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(view)
        .collect())
}
