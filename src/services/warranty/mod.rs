//! Warranty claims (索赔管理): cases (the claim itself, its steps and
//! facts), the claimed-parts register, the export of the claims to file and
//! the brand's remittance. The rules are in `domain::warranty`.

pub mod cases;
pub mod export;
pub mod parts;
pub mod remittance;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseBackend, EntityTrait, Set, Statement};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::Money;
use crate::domain::warranty::{self as rules, ClaimAmount, ClaimPart, Terms, WarrantyState};
use crate::entities::warranty_case_event;
use crate::error::{AppError, AppResult};

/// A labour operation of the claim, with the brand's flat-rate hours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabourOp {
    /// The brand's operation code (1 to 20 characters).
    #[schema(example = "0113A")]
    pub code: String,
    pub description: String,
    /// Flat-rate hours (more than 0, at most 1000, 2 decimals).
    #[schema(value_type = String, format = "decimal", example = "1.20")]
    pub hours: Decimal,
}

/// A claimed part, at the brand's claim price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimedPart {
    pub part_number: String,
    pub name: String,
    #[schema(value_type = String, format = "decimal", example = "1")]
    pub quantity: Decimal,
    /// CNY per unit the brand pays.
    #[schema(value_type = String, format = "decimal", example = "350.00")]
    pub claim_price: Decimal,
}

/// Checks the labour operations, naming each bad field (`labour_ops[1].hours`).
pub(crate) fn check_ops(list: &[LabourOp], e: &mut crate::domain::FieldErrors) -> Vec<LabourOp> {
    use crate::domain::validation::text;
    if list.len() > 50 {
        e.add("labour_ops", "at most 50 operations");
    }
    let mut out = vec![];
    for (i, op) in list.iter().enumerate() {
        let f = |n: &str| format!("labour_ops[{i}].{n}");
        let code = e.check(&f("code"), text(&op.code, 20));
        let description = e.check(&f("description"), text(&op.description, 200));
        let hours = e.check(&f("hours"), rules::hours(op.hours));
        if let (Some(code), Some(description), Some(hours)) = (code, description, hours) {
            out.push(LabourOp {
                code,
                description,
                hours: hours.normalize(),
            });
        }
    }
    out
}

/// Checks the claimed parts, naming each bad field (`parts[0].claim_price`).
pub(crate) fn check_parts(
    list: &[ClaimedPart],
    e: &mut crate::domain::FieldErrors,
) -> Vec<ClaimedPart> {
    use crate::domain::validation::text;
    if list.len() > 50 {
        e.add("parts", "at most 50 parts");
    }
    let mut out = vec![];
    for (i, p) in list.iter().enumerate() {
        let f = |n: &str| format!("parts[{i}].{n}");
        let part_number = e.check(&f("part_number"), text(&p.part_number, 40));
        let name = e.check(&f("name"), text(&p.name, 100));
        let quantity = e.check(&f("quantity"), crate::domain::money::quantity(p.quantity));
        let price = e.check(&f("claim_price"), Money::parse(p.claim_price));
        if let (Some(part_number), Some(name), Some(quantity), Some(price)) =
            (part_number, name, quantity, price)
        {
            out.push(ClaimedPart {
                part_number,
                name,
                quantity: quantity.normalize(),
                claim_price: price.to_decimal(),
            });
        }
    }
    out
}

pub(crate) fn read_ops(s: &str) -> AppResult<Vec<LabourOp>> {
    serde_json::from_str(s)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored labour operations: {e}")))
}

pub(crate) fn read_parts(s: &str) -> AppResult<Vec<ClaimedPart>> {
    serde_json::from_str(s).map_err(|e| AppError::Internal(anyhow::anyhow!("stored parts: {e}")))
}

pub(crate) fn write_json<T: Serialize>(v: &T) -> AppResult<String> {
    serde_json::to_string(v).map_err(|e| AppError::Internal(e.into()))
}

/// The claim's amounts under `terms`.
pub(crate) fn amount(
    ops: &[LabourOp],
    parts: &[ClaimedPart],
    terms: Terms,
) -> AppResult<ClaimAmount> {
    let hours: Vec<Decimal> = ops.iter().map(|o| o.hours).collect();
    let parts: Vec<ClaimPart> = parts
        .iter()
        .map(|p| {
            Money::parse(p.claim_price).map(|claim_price| ClaimPart {
                quantity: p.quantity,
                claim_price,
            })
        })
        .collect::<Result<_, _>>()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored claim price: {e}")))?;
    rules::claim_amount(&hours, terms.labour_rate, &parts)
        .ok_or_else(|| AppError::field("parts", "the claim amount does not fit"))
}

/// The next claim number of the dealer (`WC000001`): one counter row per
/// dealer, upserted inside the caller's transaction and held until it
/// commits, so concurrent openings queue on it and a rolled-back one gives
/// its number back (no gaps, no duplicates; the unique index
/// `(dealer_id, claim_number)` stands behind it).
pub(crate) async fn next_claim_number(
    txn: &impl ConnectionTrait,
    dealer_id: Uuid,
) -> AppResult<String> {
    let backend = txn.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "INSERT INTO warranty_claim_counters (dealer_id, last) VALUES ($1, 1) \
             ON CONFLICT (dealer_id) DO UPDATE SET last = warranty_claim_counters.last + 1 \
             RETURNING last"
        }
        _ => {
            "INSERT INTO warranty_claim_counters (dealer_id, last) VALUES (?, 1) \
             ON CONFLICT (dealer_id) DO UPDATE SET last = warranty_claim_counters.last + 1 \
             RETURNING last"
        }
    };
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [dealer_id.into()],
        ))
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the claim counter returned no row")))?;
    let n: i32 = row.try_get("", "last")?;
    Ok(format!("WC{n:06}"))
}

/// Writes one audit row of a case.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn event(
    txn: &impl ConnectionTrait,
    dealer_id: Uuid,
    case_id: Uuid,
    action: &str,
    from: Option<WarrantyState>,
    to: WarrantyState,
    actor_id: Option<Uuid>,
    note: Option<String>,
    at: DateTime<Utc>,
) -> AppResult<()> {
    warranty_case_event::Entity::insert(warranty_case_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(dealer_id),
        case_id: Set(case_id),
        action: Set(action.into()),
        from_state: Set(from),
        to_state: Set(to),
        actor_id: Set(actor_id),
        note: Set(note),
        at: Set(at),
    })
    .exec_without_returning(txn)
    .await?;
    Ok(())
}
