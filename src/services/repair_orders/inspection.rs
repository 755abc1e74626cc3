//! At the car: the walk-around (环车检查), recorded before any work starts,
//! and the health check (健康车检), whose red and yellow items are proposed
//! to the advisor as extra work.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::journal::{self, Write};
use super::load;
use crate::auth::Actor;
use crate::domain::repair_order::access::Act;
use crate::domain::repair_order::{EventKind, Rating, WalkStatus};
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

/// Refuses (422 naming `items[i].photo_ids`) the first item that lists a
/// photo that is not one of the order's.
async fn photos_of_order<'a>(
    db: &impl ConnectionTrait,
    order_id: Uuid,
    per_item: impl Iterator<Item = &'a [Uuid]> + Clone,
) -> AppResult<()> {
    let all: Vec<Uuid> = per_item.clone().flatten().copied().collect();
    let foreign = foreign_photos(db, order_id, &all).await?;
    match per_item
        .enumerate()
        .find(|(_, ids)| ids.iter().any(|p| foreign.contains(p)))
    {
        Some((i, _)) => Err(AppError::field(
            format!("items[{i}].photo_ids"),
            "are not photos of this order",
        )),
        None => Ok(()),
    }
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
    photos_of_order(
        &w.txn,
        order_id,
        items.iter().map(|i| i.photo_ids.as_slice()),
    )
    .await?;
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

/// Whether the walk-around of `order` is recorded: no job may start before
/// (checked at clock-on).
pub fn walkaround_done(order: &repair_order::Model) -> bool {
    order.walkaround.is_some()
}

/// One item of the health check.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthItem {
    /// A code of the dealer's health checklist.
    pub code: String,
    pub rating: Rating,
    /// What was measured (brake pad mm, tread mm, battery V), 0 to 99999 with at most 3 decimals.
    #[schema(value_type = Option<String>, format = "decimal", example = "2.5")]
    pub measurement: Option<Decimal>,
    /// The unit of `measurement` (default: the checklist item's).
    pub unit: Option<String>,
    pub note: Option<String>,
    #[serde(default)]
    pub photo_ids: Vec<Uuid>,
}

/// `PUT /repair-orders/{id}/health-check`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckInput {
    pub items: Vec<HealthItem>,
}

/// A red or yellow item, offered to the advisor as a line of extra work
/// (`POST …/extra-work` takes its `health_item_code`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProposedLine {
    pub health_item_code: String,
    /// The item's Chinese name, and the note when there is one.
    #[schema(example = "前刹车片厚度：剩余2.5mm")]
    pub description: String,
    pub rating: Rating,
}

/// The health check as recorded.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HealthCheck {
    pub items: Vec<HealthItem>,
    /// The red items first, then the yellow, each in the order sent.
    pub proposed_lines: Vec<ProposedLine>,
    pub recorded_by: Uuid,
    pub recorded_at: DateTime<Utc>,
}

/// The lines to propose: red then yellow items, described by `name` (the
/// checklist's Chinese name of a code) and the note.
pub fn proposed_lines(items: &[HealthItem], name: impl Fn(&str) -> String) -> Vec<ProposedLine> {
    let mut out = Vec::new();
    for rating in [Rating::Red, Rating::Yellow] {
        for it in items.iter().filter(|i| i.rating == rating) {
            let mut description = name(&it.code);
            if let Some(n) = it.note.as_deref().filter(|n| !n.trim().is_empty()) {
                description.push('：');
                description.push_str(n);
            }
            out.push(ProposedLine {
                health_item_code: it.code.clone(),
                description,
                rating,
            });
        }
    }
    out
}

/// Records (or records again) the health check.
pub async fn put_health_check(
    state: &AppState,
    actor: &Actor,
    order_id: Uuid,
    input: HealthCheckInput,
) -> AppResult<HealthCheck> {
    let ws = super::settings::of_dealer(&state.db, actor.dealer_id).await?;
    let known: std::collections::HashMap<&str, &super::settings::ChecklistItem> = ws
        .health_checklist
        .iter()
        .map(|i| (i.code.as_str(), i))
        .collect();
    let mut e = FieldErrors::new();
    if input.items.len() > 200 {
        e.add("items", "must list at most 200");
    }
    let mut seen = HashSet::new();
    let mut items = Vec::with_capacity(input.items.len());
    for (i, it) in input.items.into_iter().enumerate() {
        let entry = match validation::code(&it.code) {
            Ok(c) => match known.get(c.as_str()) {
                Some(entry) if seen.insert(c.clone()) => Some((c, *entry)),
                Some(_) => {
                    e.add(format!("items[{i}].code"), "appears twice");
                    None
                }
                None => {
                    e.add(
                        format!("items[{i}].code"),
                        "is not on the dealer's health checklist",
                    );
                    None
                }
            },
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
        let unit = e
            .check(
                &format!("items[{i}].unit"),
                validation::optional_text(it.unit.as_deref(), 10),
            )
            .flatten();
        if let Some(m) = it.measurement
            && (m < Decimal::ZERO || m >= Decimal::from(100_000) || m.normalize().scale() > 3)
        {
            e.add(
                format!("items[{i}].measurement"),
                "must be 0 to 99999 with at most 3 decimals",
            );
        }
        if it.photo_ids.len() > 20 {
            e.add(format!("items[{i}].photo_ids"), "must list at most 20");
        }
        if let Some((code, entry)) = entry {
            let unit = match (it.measurement, unit) {
                (Some(_), None) => entry.unit.clone(),
                (_, u) => u,
            };
            items.push(HealthItem {
                code,
                note,
                unit,
                measurement: it.measurement.map(|m| m.normalize()),
                ..it
            });
        }
    }
    e.into_result()?;
    let mut w = Write::begin(state, actor, order_id, Act::HealthCheck).await?;
    if w.order.state.is_final() {
        return Err(AppError::Conflict(format!(
            "a repair order that is {} takes no health check",
            w.order.state
        )));
    }
    photos_of_order(
        &w.txn,
        order_id,
        items.iter().map(|i| i.photo_ids.as_slice()),
    )
    .await?;
    let proposed = proposed_lines(&items, |code| {
        known
            .get(code)
            .map(|c| c.name_zh.clone())
            .unwrap_or_else(|| code.to_string())
    });
    let record = HealthCheck {
        items,
        proposed_lines: proposed,
        recorded_by: actor.id,
        recorded_at: w.now,
    };
    w.set(
        repair_order::Column::HealthCheck,
        Expr::value(to_stored(&record, "health check")?),
    );
    let count = |r: Rating| record.items.iter().filter(|i| i.rating == r).count();
    w.event(
        EventKind::HealthCheckRecorded,
        serde_json::json!({
            "items": record.items.len(),
            "red": count(Rating::Red),
            "yellow": count(Rating::Yellow),
            "proposed": record.proposed_lines.iter().map(|l| &l.health_item_code).collect::<Vec<_>>(),
        }),
    )
    .await?;
    w.commit(state).await?;
    Ok(record)
}

/// The health check of an order (404 while none is recorded).
pub async fn get_health_check(
    db: &impl ConnectionTrait,
    actor: &Actor,
    order_id: Uuid,
) -> AppResult<HealthCheck> {
    let m = load(db, actor, order_id).await?;
    journal::allow(actor, Act::Read)?;
    let h = m.health_check.ok_or(AppError::NotFound)?;
    from_stored(&h, "health check")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(code: &str, rating: Rating, note: Option<&str>) -> HealthItem {
        HealthItem {
            code: code.into(),
            rating,
            measurement: None,
            unit: None,
            note: note.map(Into::into),
            photo_ids: vec![],
        }
    }

    #[test]
    fn red_then_yellow_items_become_proposed_lines_and_green_ones_do_not() {
        let items = [
            item("WIPERS", Rating::Yellow, None),
            item("BATTERY", Rating::Green, None),
            item("BRAKE_PADS_FRONT", Rating::Red, Some("剩余2mm")),
        ];
        let lines = proposed_lines(&items, |c| format!("<{c}>"));
        assert_eq!(
            lines,
            [
                ProposedLine {
                    health_item_code: "BRAKE_PADS_FRONT".into(),
                    description: "<BRAKE_PADS_FRONT>：剩余2mm".into(),
                    rating: Rating::Red,
                },
                ProposedLine {
                    health_item_code: "WIPERS".into(),
                    description: "<WIPERS>".into(),
                    rating: Rating::Yellow,
                },
            ]
        );
    }
}
