//! The claimed-parts register (索赔件): each part of a claim, tagged
//! `<claim number>-<line>` when the warranty work is done, with where it is
//! kept and the day after which it may be scrapped.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use sea_orm::TransactionTrait;
use sea_orm::sea_query::Expr;

use crate::auth::Actor;
use crate::domain::warranty::{PART_KEEPERS, READERS, WarrantyPartState, part_step};
use crate::entities::{warranty_case, warranty_part};
use crate::error::{AppError, AppResult};
use crate::services::{decode_cursor, page_limit};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PartsQuery {
    pub state: Option<WarrantyPartState>,
    /// Only the parts of this case.
    pub case_id: Option<Uuid>,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

/// A claimed part in the register.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WarrantyPart {
    pub id: Uuid,
    /// On the part's label: `<claim number>-<line>`.
    #[schema(example = "WC000042-1")]
    pub tag: String,
    pub case_id: Uuid,
    pub claim_number: Option<String>,
    pub part_number: String,
    pub name: String,
    #[schema(value_type = String, format = "decimal")]
    pub quantity: String,
    pub location: String,
    /// May be scrapped after this day unless the brand asks for it.
    pub keep_until: NaiveDate,
    pub state: WarrantyPartState,
    pub created_at: DateTime<Utc>,
}

/// A page of the register, in the order the parts were tagged.
#[derive(Debug, Serialize, ToSchema)]
pub struct WarrantyPartPage {
    pub items: Vec<WarrantyPart>,
    pub next_cursor: Option<String>,
}

/// Releases (`scrap: false`) or scraps a claimed part (warranty clerk):
/// one conditional update on its state, so a repeat or a race is 409; the
/// step is written on the case's audit (`part_released` / `part_scrapped`,
/// the tag as note).
pub async fn step(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    scrap: bool,
) -> AppResult<WarrantyPart> {
    actor.require(PART_KEEPERS)?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let p = crate::services::lock_row::<warranty_part::Entity>(
        &txn,
        warranty_part::Column::Id,
        warranty_part::Column::State,
        id,
    )
    .await?
    .filter(|p| p.dealer_id == actor.dealer_id)
    .ok_or(AppError::NotFound)?;
    let (_, tz) = crate::services::appointments::dealer_zone(&txn, p.dealer_id).await?;
    let today = now.with_timezone(&tz).date_naive();
    let to = part_step(p.state, scrap, today, p.keep_until).map_err(AppError::Conflict)?;
    let n = warranty_part::Entity::update_many()
        .col_expr(warranty_part::Column::State, Expr::value(to))
        .filter(warranty_part::Column::Id.eq(p.id))
        .filter(warranty_part::Column::State.eq(p.state))
        .exec(&txn)
        .await?
        .rows_affected;
    if n != 1 {
        return Err(AppError::Conflict("the part changed meanwhile".into()));
    }
    let case = warranty_case::Entity::find_by_id(p.case_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    super::event(
        &txn,
        p.dealer_id,
        p.case_id,
        if scrap {
            "part_scrapped"
        } else {
            "part_released"
        },
        Some(case.state),
        case.state,
        Some(actor.id),
        Some(p.tag.clone()),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(WarrantyPart {
        id: p.id,
        tag: p.tag,
        case_id: p.case_id,
        claim_number: case.claim_number,
        part_number: p.part_number,
        name: p.name,
        quantity: p.quantity,
        location: p.location,
        keep_until: p.keep_until,
        state: to,
        created_at: p.created_at,
    })
}

pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    q: PartsQuery,
) -> AppResult<WarrantyPartPage> {
    actor.require(READERS)?;
    let limit = page_limit(q.limit)?;
    let mut s =
        warranty_part::Entity::find().filter(warranty_part::Column::DealerId.eq(actor.dealer_id));
    if let Some(st) = q.state {
        s = s.filter(warranty_part::Column::State.eq(st));
    }
    if let Some(c) = q.case_id {
        s = s.filter(warranty_part::Column::CaseId.eq(c));
    }
    if let Some(c) = q.cursor.as_deref() {
        s = s.filter(warranty_part::Column::Id.gt(decode_cursor(c)?));
    }
    let mut rows = s
        .order_by_asc(warranty_part::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    let next_cursor = crate::services::next_page(&mut rows, limit, |r| r.id);
    let numbers: std::collections::HashMap<Uuid, Option<String>> = warranty_case::Entity::find()
        .filter(warranty_case::Column::Id.is_in(rows.iter().map(|r| r.case_id).collect::<Vec<_>>()))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.claim_number))
        .collect();
    Ok(WarrantyPartPage {
        items: rows
            .into_iter()
            .map(|p| WarrantyPart {
                id: p.id,
                tag: p.tag,
                case_id: p.case_id,
                claim_number: numbers.get(&p.case_id).cloned().flatten(),
                part_number: p.part_number,
                name: p.name,
                quantity: p.quantity,
                location: p.location,
                keep_until: p.keep_until,
                state: p.state,
                created_at: p.created_at,
            })
            .collect(),
        next_cursor,
    })
}
