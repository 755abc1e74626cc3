//! Stock-take (盘点): the count sheet, the counted quantities posted in one
//! go, an adjustment ledger row for every difference and the variance
//! summary. The count replaces what the system holds at the moment it is
//! posted: each adjustment is written by a conditional UPDATE guarded by
//! the on-hand quantity the summary was computed from, so a movement in
//! between makes the whole posting 409 "changed meanwhile" (nothing
//! written; post again) instead of a count applied to a figure it never saw.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{money, q, staff};
use crate::auth::Actor;
use crate::domain::parts::{self as rules, ANALYSTS, MAX_STOCK, MovementKind, Qty, WRITERS};
use crate::domain::{FieldErrors, validation};
use crate::entities::{part, part_movement};
use crate::error::{AppError, AppResult};
use crate::services::idempotency::{self, IdempotencyKey, Outcome, Reservation, Saved};
use crate::state::AppState;

/// The most lines one posting may carry.
pub const MAX_LINES: usize = 2_000;

/// A line of the count sheet.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SheetLine {
    pub bin: Option<String>,
    pub number: String,
    pub name: String,
    /// What the system holds now.
    #[schema(value_type = String, format = "decimal")]
    pub on_hand: Decimal,
}

/// The count sheet (盘点表): every part by bin then number.
pub async fn sheet(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<Vec<SheetLine>> {
    staff(actor, ANALYSTS)?;
    let mut lines: Vec<SheetLine> = part::Entity::find()
        .filter(part::Column::DealerId.eq(actor.dealer_id))
        .order_by_asc(part::Column::Number)
        .all(db)
        .await?
        .into_iter()
        .map(|p| SheetLine {
            bin: p.bin,
            number: p.number,
            name: p.name,
            on_hand: q(p.on_hand),
        })
        .collect();
    lines.sort_by(|a, b| a.bin.cmp(&b.bin).then_with(|| a.number.cmp(&b.number)));
    Ok(lines)
}

/// The count sheet as CSV (UTF-8 with a BOM) with an empty column to count into.
pub fn sheet_csv(lines: &[SheetLine]) -> Vec<u8> {
    let safe = |v: &str| crate::domain::import::csv_safe(v).into_owned();
    let mut rows = vec![
        [
            "货位 Bin",
            "配件号 Part number",
            "名称 Name",
            "账面 On hand",
            "实盘 Counted",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for l in lines {
        rows.push(vec![
            safe(l.bin.as_deref().unwrap_or_default()),
            safe(&l.number),
            safe(&l.name),
            l.on_hand.to_string(),
            String::new(),
        ]);
    }
    super::reports::write(rows)
}

/// One counted part.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Count {
    pub number: String,
    /// What is on the shelf: 0 or more, at most 3 decimals.
    #[schema(value_type = String, format = "decimal")]
    pub counted: Decimal,
}

/// `POST /parts/stock-takes`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockTakeInput {
    /// The count's name, kept on every adjustment (e.g. `2026-11 月末盘点`).
    pub reference: String,
    /// 1 to 2000 parts, each once.
    pub counts: Vec<Count>,
}

/// A counted part and its variance.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VarianceLine {
    pub number: String,
    pub name: String,
    #[schema(value_type = String, format = "decimal")]
    pub on_hand: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub counted: Decimal,
    /// Counted − on hand (the adjustment).
    #[schema(value_type = String, format = "decimal")]
    pub variance: Decimal,
    /// The variance at unit cost (CNY).
    #[schema(value_type = String, format = "decimal")]
    pub variance_value: Decimal,
    /// The adjustment written (none when the count agrees).
    pub movement_id: Option<Uuid>,
}

/// The variance summary (盘点差异) of a posted count.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StockTake {
    pub reference: String,
    pub at: DateTime<Utc>,
    pub lines: Vec<VarianceLine>,
    /// Parts counted.
    pub counted_parts: usize,
    /// Parts whose count differed.
    pub differing_parts: usize,
    /// Sum of the variance values (gain − loss).
    #[schema(value_type = String, format = "decimal")]
    pub net_value: Decimal,
    /// Sum of the absolute variance values.
    #[schema(value_type = String, format = "decimal")]
    pub absolute_value: Decimal,
}

/// Posts a count: one adjustment per differing part, all or none.
pub async fn post(
    state: &AppState,
    actor: &Actor,
    input: StockTakeInput,
    key: Option<&IdempotencyKey>,
) -> AppResult<Outcome<StockTake>> {
    staff(actor, WRITERS)?;
    let mut e = FieldErrors::default();
    let reference = e.check("reference", validation::text(&input.reference, 100));
    if input.counts.is_empty() || input.counts.len() > MAX_LINES {
        e.add("counts", format!("must list 1 to {MAX_LINES} parts"));
    }
    let mut counts: BTreeMap<String, Qty> = BTreeMap::new();
    for (i, c) in input.counts.iter().enumerate() {
        let number = e.check(
            &format!("counts[{i}].number"),
            rules::part_number(&c.number),
        );
        let counted = e.check(&format!("counts[{i}].counted"), Qty::parse_level(c.counted));
        if let (Some(n), Some(c)) = (number, counted)
            && counts.insert(n, c).is_some()
        {
            e.add(format!("counts[{i}].number"), "is counted twice");
        }
    }
    e.into_result()?;
    let reference = reference.unwrap_or_default();
    let parts: HashMap<String, part::Model> = part::Entity::find()
        .filter(part::Column::DealerId.eq(actor.dealer_id))
        .filter(part::Column::Number.is_in(counts.keys().cloned().collect::<Vec<_>>()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|p| (p.number.clone(), p))
        .collect();
    let mut unknown = FieldErrors::default();
    for (i, c) in input.counts.iter().enumerate() {
        if let Ok(n) = rules::part_number(&c.number)
            && !parts.contains_key(&n)
        {
            unknown.add(format!("counts[{i}].number"), "is not a stocked part");
        }
    }
    unknown.into_result()?;
    let request = &input;
    idempotency::once(
        &state.db,
        actor,
        key,
        request,
        state.clock.now(),
        async |r| post_now(state, actor, &reference, &counts, &parts, r).await,
    )
    .await
}

async fn post_now(
    state: &AppState,
    actor: &Actor,
    reference: &str,
    counts: &BTreeMap<String, Qty>,
    seen: &HashMap<String, part::Model>,
    r: Option<&Reservation>,
) -> AppResult<StockTake> {
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let mut lines = Vec::with_capacity(counts.len());
    let (mut net, mut abs) = (0i128, 0i128);
    // part-number order (the BTreeMap's), the lock order of every writer
    for (number, counted) in counts {
        let Some(p) = seen.get(number) else { continue };
        let delta = counted.0 - p.on_hand;
        let mut movement_id = None;
        if delta != 0 {
            let upd = part::Entity::update_many()
                .col_expr(part::Column::OnHand, Expr::value(counted.0))
                .col_expr(
                    part::Column::Version,
                    Expr::col(part::Column::Version).add(1),
                )
                .col_expr(part::Column::UpdatedAt, Expr::value(now))
                .filter(part::Column::Id.eq(p.id))
                .filter(part::Column::OnHand.eq(p.on_hand))
                .filter(Expr::value(counted.0).lte(MAX_STOCK.0))
                .exec(&txn)
                .await?;
            if upd.rows_affected != 1 {
                txn.rollback().await?;
                return Err(AppError::ChangedMeanwhile(format!(
                    "part {number} moved while the count was posted: post the count again"
                )));
            }
            let id = Uuid::now_v7();
            part_movement::Entity::insert(part_movement::ActiveModel::from(part_movement::Model {
                id,
                dealer_id: actor.dealer_id,
                part_id: p.id,
                kind: MovementKind::Adjustment,
                on_hand_delta: delta,
                reserved_delta: 0,
                unit_cost_cents: p.cost_cents,
                unit_price_cents: None,
                order_id: None,
                job_id: None,
                reference: Some(reference.to_string()),
                ordered_qty: None,
                damaged_qty: None,
                note: Some("盘点 stock-take".into()),
                actor_id: actor.id,
                at: now,
            }))
            .exec_without_returning(&txn)
            .await?;
            movement_id = Some(id);
        }
        let v = super::reports::value(delta, p.cost_cents);
        net += v;
        abs += v.abs();
        lines.push(VarianceLine {
            number: number.clone(),
            name: p.name.clone(),
            on_hand: q(p.on_hand),
            counted: counted.to_decimal(),
            variance: q(delta),
            variance_value: super::reports::fen(v),
            movement_id,
        });
    }
    let fen = |v: i128| money(i64::try_from(v).unwrap_or(i64::MAX));
    let summary = StockTake {
        reference: reference.to_string(),
        at: now,
        counted_parts: lines.len(),
        differing_parts: lines.iter().filter(|l| l.movement_id.is_some()).count(),
        lines,
        net_value: fen(net),
        absolute_value: fen(abs),
    };
    if let Some(r) = r {
        let saved = Saved {
            status: 201,
            body: serde_json::to_string(&summary).map_err(anyhow::Error::from)?,
        };
        if !idempotency::complete(&txn, r, &saved).await? {
            txn.rollback().await?;
            return Err(AppError::InProgress {
                retry_after_secs: 1,
            });
        }
    }
    txn.commit().await?;
    Ok(summary)
}
