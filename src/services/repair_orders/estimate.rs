//! Estimate before work (估价): the jobs frozen as version N with their
//! totals and a SHA-256 of the content, and the customer's acceptance with
//! a signature. No job is dispatched before one is accepted; a customer-pay
//! total more than 10 % over the accepted one needs a new estimate accepted
//! before delivery.

use base64::Engine;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::journal::{self, Write};
use super::{TotalsView, counted, jobs, load, totals_of};
use crate::auth::Actor;
use crate::auth::tokens::sha256_hex;
use crate::domain::repair_order::access::Act;
use crate::domain::repair_order::{EventKind, OrderAction, OrderState, SignatureKind};
use crate::domain::validation;
use crate::entities::{repair_order, repair_order_estimate};
use crate::error::{AppError, AppResult};
use crate::services::{from_stored, to_stored};
use crate::state::AppState;

/// The largest drawn signature, as PNG bytes.
const MAX_SIGNATURE_BYTES: usize = 256 * 1024;

/// What was shown to the customer: the lines and the totals.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EstimateContent {
    pub order_number: String,
    pub lines: Vec<EstimateLine>,
    #[schema(value_type = Object)]
    pub totals: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EstimateLine {
    pub job_id: Uuid,
    pub description: String,
    pub pay_type: crate::domain::repair_order::PayType,
    #[schema(value_type = String, format = "decimal")]
    pub labour_hours: rust_decimal::Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub labour_amount: rust_decimal::Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub parts_amount: rust_decimal::Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub total: rust_decimal::Decimal,
    /// The job's parts as they were when the estimate was frozen.
    #[schema(value_type = Vec<crate::services::repair_orders::jobs::StoredPart>)]
    pub parts: serde_json::Value,
}

/// A signature as the tablet or the app sends it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    pub kind: SignatureKind,
    /// `drawn`: the signature as a PNG, base64.
    pub image_png_base64: Option<String>,
    /// `typed`: the name the customer typed; for any kind, who signed.
    pub name: Option<String>,
    /// The device it was given on (free text).
    pub device: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Acceptance {
    /// The version being accepted: must be the latest (409 otherwise).
    pub version: i32,
    pub signature: Signature,
}

/// A frozen estimate.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Estimate {
    pub order_id: Uuid,
    pub version: i32,
    pub content: EstimateContent,
    /// SHA-256 (hex) of the content as canonical JSON.
    pub sha256: String,
    pub created_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    /// The customer or the member of staff who recorded the acceptance.
    pub accepted_by: Option<Uuid>,
    /// The signature as given (a drawn one without its image).
    #[schema(value_type = Option<Object>)]
    pub signature: Option<serde_json::Value>,
}

fn view(m: repair_order_estimate::Model) -> AppResult<Estimate> {
    let mut signature = m.signature;
    if let Some(serde_json::Value::Object(o)) = &mut signature {
        o.remove("image_png_base64");
    }
    Ok(Estimate {
        order_id: m.order_id,
        version: m.version,
        content: from_stored(&m.content, "estimate")?,
        sha256: m.sha256,
        created_at: m.created_at,
        accepted_at: m.accepted_at,
        accepted_by: m.accepted_by,
        signature,
    })
}

/// The estimate the order's jobs make now, and its totals.
async fn current(
    db: &impl ConnectionTrait,
    order: &repair_order::Model,
) -> AppResult<(EstimateContent, crate::domain::repair_order::totals::Totals)> {
    let rows = super::jobs_of(db, order.id).await?;
    if counted(&rows).next().is_none() {
        return Err(AppError::Conflict(
            "an estimate needs at least one job".into(),
        ));
    }
    let totals = totals_of(&rows, super::vat_of(order))?;
    let lines = counted(&rows)
        .map(|j| {
            let v = jobs::view(j, 0)?;
            Ok(EstimateLine {
                job_id: v.id,
                description: v.description,
                pay_type: v.pay_type,
                labour_hours: v.labour_hours,
                labour_amount: v.labour_amount,
                parts_amount: v.parts_amount,
                total: v.total,
                parts: to_stored(&jobs::parts_of(j)?, "parts")?,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    let content = EstimateContent {
        order_number: order.number.clone(),
        lines,
        totals: to_stored(&TotalsView::from(&totals), "totals")?,
    };
    Ok((content, totals))
}

/// Freezes the current jobs as the next version.
pub async fn freeze(state: &AppState, actor: &Actor, order_id: Uuid) -> AppResult<Estimate> {
    let mut w = Write::begin(state, actor, order_id, Act::Edit).await?;
    if w.order.state.is_final() || matches!(w.order.state, OrderState::Delivered) {
        return Err(AppError::Conflict(format!(
            "a repair order that is {} takes no new estimate",
            w.order.state
        )));
    }
    let (content, totals) = current(&w.txn, &w.order).await?;
    let json = to_stored(&content, "estimate")?;
    // serde_json's maps are sorted: the text, and so the hash, is canonical
    let sha = sha256_hex(&json.to_string());
    let version = w.order.estimate_versions + 1;
    repair_order_estimate::Entity::insert(repair_order_estimate::ActiveModel {
        order_id: Set(w.order.id),
        version: Set(version),
        dealer_id: Set(w.order.dealer_id),
        content: Set(json),
        sha256: Set(sha.clone()),
        created_by: Set(actor.id),
        created_at: Set(w.now),
        accepted_at: Set(None),
        accepted_by: Set(None),
        signature: Set(None),
    })
    .exec_without_returning(&w.txn)
    .await?;
    w.set(repair_order::Column::EstimateVersions, Expr::value(version));
    w.event(
        EventKind::EstimateCreated,
        serde_json::json!({"version": version, "sha256": sha, "total": totals.all.gross.to_decimal()}),
    )
    .await?;
    let order_id = w.order.id;
    w.commit(state).await?;
    read(&state.db, order_id, Some(version)).await
}

async fn read(
    db: &impl ConnectionTrait,
    order_id: Uuid,
    version: Option<i32>,
) -> AppResult<Estimate> {
    let mut q = repair_order_estimate::Entity::find()
        .filter(repair_order_estimate::Column::OrderId.eq(order_id));
    if let Some(v) = version {
        q = q.filter(repair_order_estimate::Column::Version.eq(v));
    }
    let m = q
        .order_by_desc(repair_order_estimate::Column::Version)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    view(m)
}

/// The latest estimate (404 while there is none).
pub async fn latest(
    db: &impl ConnectionTrait,
    actor: &Actor,
    order_id: Uuid,
) -> AppResult<Estimate> {
    load(db, actor, order_id).await?;
    journal::allow(actor, Act::Read)?;
    read(db, order_id, None).await
}

fn check_signature(actor: &Actor, s: &Signature) -> AppResult<serde_json::Value> {
    let name = validation::optional_text(s.name.as_deref(), 100)
        .map_err(|m| AppError::field("signature.name", m))?;
    let device = validation::optional_text(s.device.as_deref(), 100)
        .map_err(|m| AppError::field("signature.device", m))?;
    match (actor.is_customer(), s.kind) {
        (true, SignatureKind::App) => {}
        (true, _) => {
            return Err(AppError::field(
                "signature.kind",
                "is `app` when the customer accepts in the app",
            ));
        }
        (false, SignatureKind::App) => {
            return Err(AppError::field(
                "signature.kind",
                "`app` is for the customer's own acceptance: on the tablet it is `drawn` or `typed`",
            ));
        }
        (false, SignatureKind::Typed) if name.is_none() => {
            return Err(AppError::field(
                "signature.name",
                "is required for a typed signature",
            ));
        }
        (false, SignatureKind::Drawn) => {
            let b64 = s.image_png_base64.as_deref().ok_or_else(|| {
                AppError::field(
                    "signature.image_png_base64",
                    "is required for a drawn signature",
                )
            })?;
            if b64.len() > MAX_SIGNATURE_BYTES * 4 / 3 + 4 {
                return Err(AppError::field(
                    "signature.image_png_base64",
                    "must be at most 256 KiB",
                ));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| AppError::field("signature.image_png_base64", "is not base64"))?;
            if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
                return Err(AppError::field(
                    "signature.image_png_base64",
                    "is not a PNG image",
                ));
            }
        }
        _ => {}
    }
    Ok(serde_json::json!({
        "kind": s.kind,
        "name": name,
        "device": device,
        "image_png_base64": s.image_png_base64,
        "by_customer": actor.is_customer(),
    }))
}

/// Records the acceptance of `version` (the latest) with its signature.
pub async fn accept(
    state: &AppState,
    actor: &Actor,
    order_id: Uuid,
    input: Acceptance,
) -> AppResult<Estimate> {
    let signature = check_signature(actor, &input.signature)?;
    let mut w = Write::begin(state, actor, order_id, Act::AcceptEstimate).await?;
    if w.order.state.is_final() {
        return Err(AppError::Conflict(format!(
            "a repair order that is {} takes no acceptance",
            w.order.state
        )));
    }
    if input.version != w.order.estimate_versions {
        return Err(AppError::Conflict(format!(
            "estimate version {} is not the latest (the latest is {}): read it again before signing",
            input.version, w.order.estimate_versions
        )));
    }
    if w.order.accepted_estimate == Some(input.version) {
        return Err(AppError::Conflict(format!(
            "estimate version {} is already accepted",
            input.version
        )));
    }
    let est = repair_order_estimate::Entity::find_by_id((w.order.id, input.version))
        .one(&w.txn)
        .await?
        .ok_or(AppError::NotFound)?;
    // the customer signs for the jobs as they are: none changed since the freeze
    let (now, _) = current(&w.txn, &w.order).await?;
    if sha256_hex(&to_stored(&now, "estimate")?.to_string()) != est.sha256 {
        return Err(AppError::Conflict(format!(
            "the jobs changed after estimate version {} was made: make a new estimate and sign that",
            input.version
        )));
    }
    repair_order_estimate::Entity::update_many()
        .col_expr(
            repair_order_estimate::Column::AcceptedAt,
            Expr::value(w.now),
        )
        .col_expr(
            repair_order_estimate::Column::AcceptedBy,
            Expr::value(actor.id),
        )
        .col_expr(
            repair_order_estimate::Column::Signature,
            Expr::value(signature),
        )
        .filter(repair_order_estimate::Column::OrderId.eq(w.order.id))
        .filter(repair_order_estimate::Column::Version.eq(input.version))
        .exec(&w.txn)
        .await?;
    w.set(
        repair_order::Column::AcceptedEstimate,
        Expr::value(input.version),
    );
    w.event(
        EventKind::EstimateAccepted,
        serde_json::json!({"version": input.version, "sha256": est.sha256, "by_customer": actor.is_customer(), "kind": input.signature.kind}),
    )
    .await?;
    // the jobs count now: hold their stocked parts (what is short shows
    // on the board); after the order row's lock, parts in number order
    let order_jobs = crate::entities::repair_order_job::Entity::find()
        .filter(crate::entities::repair_order_job::Column::OrderId.eq(w.order.id))
        .all(&w.txn)
        .await?;
    let counting: Vec<_> = counted(&order_jobs).collect();
    crate::services::parts::reserve_jobs(&w.txn, w.order.dealer_id, &counting, actor.id, w.now)
        .await?;
    if w.order.state == OrderState::Open {
        w.transition(
            OrderAction::AcceptEstimate,
            serde_json::json!({"version": input.version}),
        )
        .await?;
    }
    w.commit(state).await?;
    read(&state.db, order_id, Some(input.version)).await
}

/// The customer-pay total of the accepted estimate (None before acceptance).
pub async fn accepted_customer_total(
    db: &impl ConnectionTrait,
    order: &repair_order::Model,
) -> AppResult<Option<crate::domain::Money>> {
    let Some(v) = order.accepted_estimate else {
        return Ok(None);
    };
    let m = repair_order_estimate::Entity::find_by_id((order.id, v))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let content: EstimateContent = from_stored(&m.content, "estimate")?;
    let total = content
        .lines
        .iter()
        .filter(|l| l.pay_type == crate::domain::repair_order::PayType::Customer)
        .try_fold(crate::domain::Money::ZERO, |acc, l| {
            // a line's total is not a price: it may be over 10,000,000.00
            crate::domain::Money::from_written(l.total).and_then(|t| acc.checked_add(t))
        })
        .ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("stored estimate totals do not add up"))
        })?;
    Ok(Some(total))
}
