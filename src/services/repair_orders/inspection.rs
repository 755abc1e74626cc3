//! At the car: the walk-around (环车检查), recorded before any work starts.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::journal::{self, Write};
use super::load;
use crate::auth::Actor;
use crate::domain::repair_order::access::Act;
use crate::domain::repair_order::{EventKind, WalkStatus};
use crate::domain::{FieldErrors, validation};
use crate::entities::{repair_order, repair_order_photo};
use crate::error::{AppError, AppResult};
use crate::services::{from_stored, to_stored};
use crate::state::AppState;

/// A point on the car diagram, each coordinate 0 to 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Position {
    pub x: f64,
    pub y: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalkItem {
    /// A code of the dealer's walk-around checklist.
    pub code: String,
    pub status: WalkStatus,
    pub note: Option<String>,
    pub position: Option<Position>,
    #[serde(default)]
    pub photo_ids: Vec<Uuid>,
}

/// `PUT /repair-orders/{id}/walkaround`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalkaroundInput {
    pub items: Vec<WalkItem>,
    /// Percent, 0–100.
    #[schema(minimum = 0, maximum = 100)]
    pub fuel_level: Option<i32>,
    /// Valuables left in the car (free text; empty for none).
    pub valuables: Option<String>,
    /// The three-piece protection set (三件套) is fitted.
    pub protection_fitted: bool,
}

/// The walk-around as recorded.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Walkaround {
    pub items: Vec<WalkItem>,
    pub fuel_level: Option<i32>,
    pub valuables: Option<String>,
    pub protection_fitted: bool,
    pub recorded_by: Uuid,
    pub recorded_at: DateTime<Utc>,
}

/// Photo ids that are not photos of `order_id`.
pub async fn foreign_photos(
    db: &impl ConnectionTrait,
    order_id: Uuid,
    ids: &[Uuid],
) -> AppResult<Vec<Uuid>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let found: HashSet<Uuid> = repair_order_photo::Entity::find()
        .filter(repair_order_photo::Column::OrderId.eq(order_id))
        .filter(repair_order_photo::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    Ok(ids.iter().filter(|i| !found.contains(i)).copied().collect())
}

/// Records (or records again) the walk-around.
pub async fn put_walkaround(
    state: &AppState,
    actor: &Actor,
    order_id: Uuid,
    input: WalkaroundInput,
) -> AppResult<Walkaround> {
    let ws = super::settings::of_dealer(&state.db, actor.dealer_id).await?;
    let known: HashSet<&str> = ws
        .walkaround_checklist
        .iter()
        .map(|i| i.code.as_str())
        .collect();
    let mut e = FieldErrors::new();
    if input.items.len() > 200 {
        e.add("items", "must list at most 200");
    }
    let mut items = Vec::with_capacity(input.items.len());
    for (i, it) in input.items.into_iter().enumerate() {
        let code = match validation::code(&it.code) {
            Ok(c) if known.contains(c.as_str()) => Some(c),
            Ok(_) => {
                e.add(
                    format!("items[{i}].code"),
                    "is not on the dealer's walk-around checklist",
                );
                None
            }
            Err(m) => {
                e.add(format!("items[{i}].code"), m);
                None
            }
        };
        let note = e
            .check(
                &format!("items[{i}].note"),
                validation::optional_multiline(it.note.as_deref(), 500),
            )
            .flatten();
        if let Some(p) = it.position
            && !((0.0..=1.0).contains(&p.x) && (0.0..=1.0).contains(&p.y))
        {
            e.add(format!("items[{i}].position"), "x and y must be 0 to 1");
        }
        if it.photo_ids.len() > 20 {
            e.add(format!("items[{i}].photo_ids"), "must list at most 20");
        }
        if let Some(code) = code {
            items.push(WalkItem { code, note, ..it });
        }
    }
    if let Some(f) = input.fuel_level {
        e.check("fuel_level", super::open::fuel(f));
    }
    let valuables = e
        .check(
            "valuables",
            validation::optional_multiline(input.valuables.as_deref(), 500),
        )
        .flatten();
    e.into_result()?;
    let mut w = Write::begin(state, actor, order_id, Act::Walkaround).await?;
    if w.order.state.is_final() {
        return Err(AppError::Conflict(format!(
            "a repair order that is {} takes no walk-around",
            w.order.state
        )));
    }
    let photos: Vec<Uuid> = items.iter().flat_map(|i| i.photo_ids.clone()).collect();
    let foreign = foreign_photos(&w.txn, order_id, &photos).await?;
    if !foreign.is_empty() {
        let i = items
            .iter()
            .position(|it| it.photo_ids.iter().any(|p| foreign.contains(p)))
            .unwrap_or(0);
        return Err(AppError::field(
            format!("items[{i}].photo_ids"),
            "are not photos of this order",
        ));
    }
    let record = Walkaround {
        items,
        fuel_level: input.fuel_level,
        valuables,
        protection_fitted: input.protection_fitted,
        recorded_by: actor.id,
        recorded_at: w.now,
    };
    w.set(
        repair_order::Column::Walkaround,
        Expr::value(to_stored(&record, "walk-around")?),
    );
    if let Some(f) = input.fuel_level {
        w.set(repair_order::Column::FuelLevel, Expr::value(f));
    }
    let damage = record
        .items
        .iter()
        .filter(|i| i.status == WalkStatus::Damage)
        .count();
    w.event(
        EventKind::WalkaroundRecorded,
        serde_json::json!({"items": record.items.len(), "damage": damage, "protection_fitted": record.protection_fitted}),
    )
    .await?;
    w.commit(state).await?;
    Ok(record)
}

/// The walk-around of an order (404 while none is recorded).
pub async fn get_walkaround(
    db: &impl ConnectionTrait,
    actor: &Actor,
    order_id: Uuid,
) -> AppResult<Walkaround> {
    let m = load(db, actor, order_id).await?;
    journal::allow(actor, Act::Read)?;
    let w = m.walkaround.ok_or(AppError::NotFound)?;
    from_stored(&w, "walk-around")
}
