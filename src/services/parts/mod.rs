//! Parts (配件管理): stock per dealer, the movement ledger, the holds and
//! issues of repair-order jobs, ABC classes and the reorder proposal.
//!
//! The stock rule: `parts.on_hand` and `parts.reserved` change only by one
//! conditional UPDATE in the transaction that inserts the ledger row of the
//! change ([`apply`]), so the ledger's sums are the part's figures. A
//! movement that lowers the quantity available (on hand − reserved: an
//! issue or sale without a hold, a new hold) is refused unless that much is
//! available *in the UPDATE's own WHERE*; of many concurrent issues of the
//! last units exactly as many succeed as there are units, on PostgreSQL
//! (the row lock, the WHERE read again) and SQLite (one writer) alike. A
//! stock-take adjustment records what is there and may leave less on hand
//! than is reserved (those jobs then show a shortage).

pub mod reports;
pub mod stock_take;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::money::Money;
use crate::domain::parts::{
    self as rules, ANALYSTS, AbcClass, MAX_LEAD_DAYS, MAX_STOCK, MovementKind, PartRules, Qty,
    READERS, ReorderInput, WRITERS,
};
use crate::domain::{FieldErrors, validation};
use crate::entities::{part, part_movement, part_setting, repair_order_job};
use crate::error::{AppError, AppResult};
use crate::services::idempotency::{self, IdempotencyKey, Outcome, Reservation, Saved};
use crate::services::{Version, from_stored, to_stored};
use crate::state::AppState;

/// A stocked part as the desk reads it. Quantities are decimals (units).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Part {
    pub id: Uuid,
    #[schema(example = "06L115562B")]
    pub number: String,
    #[schema(example = "机油滤清器")]
    pub name: String,
    /// The shelf (货位).
    pub bin: Option<String>,
    /// Cost price (CNY): shown to the parts desk and managers only.
    #[schema(value_type = Option<String>, format = "decimal")]
    pub cost: Option<Decimal>,
    /// Selling price (CNY).
    #[schema(value_type = String, format = "decimal")]
    pub price: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub on_hand: Decimal,
    /// Held for approved repair-order jobs not started yet.
    #[schema(value_type = String, format = "decimal")]
    pub reserved: Decimal,
    /// On hand − reserved (negative after a stock-take found less than is held).
    #[schema(value_type = String, format = "decimal")]
    pub available: Decimal,
    /// Ordered from the supplier, not yet received.
    #[schema(value_type = String, format = "decimal")]
    pub on_order: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub pack_size: Decimal,
    pub lead_time_days: i32,
    /// The ETag.
    pub version: i32,
}

/// `POST /parts`: a new stocked part, nothing on hand (receipts bring stock).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPart {
    /// 1 to 40 letters, digits, `-`, `_`, `.`; stored in upper case; unique per dealer.
    #[schema(example = "06L115562B")]
    pub number: String,
    pub name: String,
    pub bin: Option<String>,
    #[schema(value_type = String, format = "decimal", example = "42.50")]
    pub cost: Decimal,
    #[schema(value_type = String, format = "decimal", example = "68.00")]
    pub price: Decimal,
    /// Already ordered from the supplier (default 0).
    #[schema(value_type = Option<String>, format = "decimal")]
    pub on_order: Option<Decimal>,
    /// Ordered in whole packs of this many units (default 1).
    #[schema(value_type = Option<String>, format = "decimal")]
    pub pack_size: Option<Decimal>,
    /// Days from order to receipt (default 7, at most 365).
    pub lead_time_days: Option<i32>,
}

/// `POST /parts/{number}/movements`: a receipt, issue, return, sale or adjustment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMovement {
    /// `receipt`, `issue`, `return`, `sale` or `adjustment` (reservations are the repair orders').
    pub kind: MovementKind,
    /// More than 0, at most 3 decimals; an adjustment is signed (− for less found).
    #[schema(value_type = String, format = "decimal", example = "2")]
    pub quantity: Decimal,
    /// Unit cost of a receipt (default: the part's cost).
    #[schema(value_type = Option<String>, format = "decimal")]
    pub unit_cost: Option<Decimal>,
    /// Unit price of a sale or issue (default: the part's price).
    #[schema(value_type = Option<String>, format = "decimal")]
    pub unit_price: Option<Decimal>,
    /// The supplier's delivery note, the counter receipt, the order number.
    pub reference: Option<String>,
    pub note: Option<String>,
    /// A receipt: the quantity the supplier's order said (for the receipt feedback).
    #[schema(value_type = Option<String>, format = "decimal")]
    pub ordered: Option<Decimal>,
    /// A receipt: the quantity that arrived damaged, kept off the shelf
    /// (`quantity` is what went on the shelf).
    #[schema(value_type = Option<String>, format = "decimal")]
    pub damaged: Option<Decimal>,
}

/// One ledger row.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Movement {
    pub id: Uuid,
    pub kind: MovementKind,
    /// The change on hand (negative for what left).
    #[schema(value_type = String, format = "decimal")]
    pub on_hand_change: Decimal,
    /// The change of the quantity reserved.
    #[schema(value_type = String, format = "decimal")]
    pub reserved_change: Decimal,
    #[schema(value_type = Option<String>, format = "decimal")]
    pub unit_cost: Option<Decimal>,
    #[schema(value_type = Option<String>, format = "decimal")]
    pub unit_price: Option<Decimal>,
    pub order_id: Option<Uuid>,
    pub job_id: Option<Uuid>,
    pub reference: Option<String>,
    pub note: Option<String>,
    /// A receipt: what was ordered.
    #[schema(value_type = Option<String>, format = "decimal")]
    pub ordered: Option<Decimal>,
    /// A receipt: what arrived damaged.
    #[schema(value_type = Option<String>, format = "decimal")]
    pub damaged: Option<Decimal>,
    pub actor_id: Uuid,
    pub at: DateTime<Utc>,
}

/// A movement done, with the part as it is after it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Moved {
    pub movement: Movement,
    pub part: Part,
}

/// A part a repair-order job needs and does not have: shown on the
/// preparation list and the workshop board.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Shortage {
    pub job_id: Uuid,
    pub part_number: String,
    /// What the job line asks for.
    #[schema(value_type = String, format = "decimal")]
    pub needed: Decimal,
    /// Held or issued for the job so far.
    #[schema(value_type = String, format = "decimal")]
    pub covered: Decimal,
    /// What is free on the shelf now (on hand − reserved).
    #[schema(value_type = String, format = "decimal")]
    pub available: Decimal,
}

/// The ABC class of one part.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AbcLine {
    pub number: String,
    pub name: String,
    pub class: AbcClass,
    /// Cost value issued and sold over the last 365 days (CNY).
    #[schema(value_type = String, format = "decimal")]
    pub issue_value: Decimal,
}

/// The reorder proposal of one part, with the figures behind it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReorderLine {
    pub number: String,
    pub name: String,
    #[schema(value_type = String, format = "decimal")]
    pub average_monthly_demand: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub lead_time_demand: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub safety_stock: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub available: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub on_order: Decimal,
    pub lead_time_days: i32,
    /// To order now (whole packs; 0: nothing).
    #[schema(value_type = String, format = "decimal")]
    pub order_quantity: Decimal,
}

/// `GET /parts/reorder-proposal`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReorderQuery {
    /// Also list parts with nothing to order (default false).
    #[serde(default)]
    pub all: bool,
}

/// The dealer's ABC cut-offs, safety days and season factors.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartSettings {
    /// Class A: the parts making the first this-many percent of issue value (default 80).
    #[schema(value_type = String, format = "decimal", example = "80")]
    pub a_cutoff_percent: Decimal,
    /// Class B: up to this cumulative percent (default 95); the rest is C.
    #[schema(value_type = String, format = "decimal", example = "95")]
    pub b_cutoff_percent: Decimal,
    /// Days of average demand kept as safety stock (default 7).
    pub safety_days: i32,
    /// Twelve percentages, January first: each month's demand against an average month (default 100 each).
    pub season_percent: Vec<i32>,
}

pub(crate) fn q(v: i64) -> Decimal {
    Qty(v).to_decimal()
}

pub(crate) fn money(cents: i64) -> Decimal {
    Money::from_cents(cents).to_decimal()
}

fn view(p: &part::Model, actor: &Actor) -> Part {
    Part {
        id: p.id,
        number: p.number.clone(),
        name: p.name.clone(),
        bin: p.bin.clone(),
        cost: actor
            .roles
            .iter()
            .any(|r| ANALYSTS.contains(r))
            .then(|| money(p.cost_cents)),
        price: money(p.price_cents),
        on_hand: q(p.on_hand),
        reserved: q(p.reserved),
        available: q(p.on_hand - p.reserved),
        on_order: q(p.on_order),
        pack_size: q(p.pack_size),
        lead_time_days: p.lead_time_days,
        version: p.version,
    }
}

fn movement_view(m: &part_movement::Model) -> Movement {
    Movement {
        id: m.id,
        kind: m.kind,
        on_hand_change: q(m.on_hand_delta),
        reserved_change: q(m.reserved_delta),
        unit_cost: (m.on_hand_delta != 0).then(|| money(m.unit_cost_cents)),
        unit_price: m.unit_price_cents.map(money),
        order_id: m.order_id,
        job_id: m.job_id,
        reference: m.reference.clone(),
        note: m.note.clone(),
        ordered: m.ordered_qty.map(q),
        damaged: m.damaged_qty.map(q),
        actor_id: m.actor_id,
        at: m.at,
    }
}

pub(crate) fn staff(actor: &Actor, roles: &[crate::domain::Role]) -> AppResult<()> {
    if actor.is_customer() {
        return Err(AppError::Forbidden("only the dealer's staff may do this"));
    }
    actor.require(roles)
}

/// The part of the actor's dealer with this number (404 otherwise).
async fn find(db: &impl ConnectionTrait, dealer_id: Uuid, number: &str) -> AppResult<part::Model> {
    let Ok(number) = rules::part_number(number) else {
        return Err(AppError::NotFound);
    };
    part::Entity::find()
        .filter(part::Column::DealerId.eq(dealer_id))
        .filter(part::Column::Number.eq(number))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// The version after `v`, as sent in `If-Match`: one past the largest
/// cannot be the current version (412), and must not overflow.
fn next_version(v: i32) -> AppResult<i32> {
    v.checked_add(1).ok_or(AppError::PreconditionFailed)
}

pub async fn list(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<Vec<Part>> {
    staff(actor, READERS)?;
    Ok(part::Entity::find()
        .filter(part::Column::DealerId.eq(actor.dealer_id))
        .order_by_asc(part::Column::Number)
        .all(db)
        .await?
        .iter()
        .map(|p| view(p, actor))
        .collect())
}

pub async fn read(db: &impl ConnectionTrait, actor: &Actor, number: &str) -> AppResult<Part> {
    staff(actor, READERS)?;
    Ok(view(&find(db, actor.dealer_id, number).await?, actor))
}

pub async fn create(
    db: &impl ConnectionTrait,
    actor: &Actor,
    input: NewPart,
    now: DateTime<Utc>,
) -> AppResult<Part> {
    staff(actor, WRITERS)?;
    let mut e = FieldErrors::default();
    let number = e.check("number", rules::part_number(&input.number));
    let name = e.check("name", validation::text(&input.name, 200));
    let bin = e.check("bin", validation::optional_text(input.bin.as_deref(), 40));
    let cost = e.check("cost", Money::parse(input.cost));
    let price = e.check("price", Money::parse(input.price));
    let on_order = e.check(
        "on_order",
        Qty::parse_level(input.on_order.unwrap_or_default()),
    );
    let pack = e.check(
        "pack_size",
        Qty::parse(input.pack_size.unwrap_or(Decimal::ONE), false),
    );
    let lead = input.lead_time_days.unwrap_or(7);
    if !(0..=MAX_LEAD_DAYS).contains(&lead) {
        e.add("lead_time_days", format!("must be 0 to {MAX_LEAD_DAYS}"));
    }
    e.into_result()?;
    let (Some(number), Some(name), Some(bin), Some(cost), Some(price), Some(on_order), Some(pack)) =
        (number, name, bin, cost, price, on_order, pack)
    else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "checked fields missing"
        )));
    };
    let m = part::Model {
        id: Uuid::now_v7(),
        dealer_id: actor.dealer_id,
        number,
        name,
        bin,
        cost_cents: cost.cents(),
        price_cents: price.cents(),
        on_hand: 0,
        reserved: 0,
        on_order: on_order.0,
        pack_size: pack.0,
        lead_time_days: lead,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    part::Entity::insert(part::ActiveModel::from(m.clone()))
        .exec_without_returning(db)
        .await
        .map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                AppError::Conflict(format!("part number {} is already stocked", m.number))
            }
            _ => e.into(),
        })?;
    Ok(view(&m, actor))
}

/// `PUT /parts/{number}` (`If-Match`: the part's ETag): its master data.
/// Stock figures are not here: they move only through the ledger.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartUpdate {
    pub name: String,
    /// Empty or left out: no bin.
    pub bin: Option<String>,
    #[schema(value_type = String, format = "decimal")]
    pub cost: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub price: Decimal,
    /// Ordered from the supplier, not yet received.
    #[schema(value_type = String, format = "decimal")]
    pub on_order: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub pack_size: Decimal,
    pub lead_time_days: i32,
}

/// Replaces a part's master data. The ETag moves with every stock movement
/// too, so a part that moved since it was read is 412: read it again.
pub async fn update(
    db: &impl ConnectionTrait,
    actor: &Actor,
    number: &str,
    input: PartUpdate,
    if_match: Option<Version>,
    now: DateTime<Utc>,
) -> AppResult<Part> {
    staff(actor, WRITERS)?;
    let expected = Version::required(if_match)?.0;
    let p = find(db, actor.dealer_id, number).await?;
    let mut e = FieldErrors::default();
    let name = e.check("name", validation::text(&input.name, 200));
    let bin = e.check("bin", validation::optional_text(input.bin.as_deref(), 40));
    let cost = e.check("cost", Money::parse(input.cost));
    let price = e.check("price", Money::parse(input.price));
    let on_order = e.check("on_order", Qty::parse_level(input.on_order));
    let pack = e.check("pack_size", Qty::parse(input.pack_size, false));
    if !(0..=MAX_LEAD_DAYS).contains(&input.lead_time_days) {
        e.add("lead_time_days", format!("must be 0 to {MAX_LEAD_DAYS}"));
    }
    e.into_result()?;
    let (Some(name), Some(bin), Some(cost), Some(price), Some(on_order), Some(pack)) =
        (name, bin, cost, price, on_order, pack)
    else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "checked fields missing"
        )));
    };
    let done = part::Entity::update_many()
        .col_expr(part::Column::Name, Expr::value(name))
        .col_expr(part::Column::Bin, Expr::value(bin))
        .col_expr(part::Column::CostCents, Expr::value(cost.cents()))
        .col_expr(part::Column::PriceCents, Expr::value(price.cents()))
        .col_expr(part::Column::OnOrder, Expr::value(on_order.0))
        .col_expr(part::Column::PackSize, Expr::value(pack.0))
        .col_expr(
            part::Column::LeadTimeDays,
            Expr::value(input.lead_time_days),
        )
        .col_expr(part::Column::Version, Expr::value(next_version(expected)?))
        .col_expr(part::Column::UpdatedAt, Expr::value(now))
        .filter(part::Column::Id.eq(p.id))
        .filter(part::Column::Version.eq(expected))
        .exec(db)
        .await?;
    if done.rows_affected != 1 {
        return Err(AppError::PreconditionFailed);
    }
    let after = part::Entity::find_by_id(p.id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(view(&after, actor))
}

/// The ledger of one part, newest first (at most 500 rows).
pub async fn movements(
    db: &impl ConnectionTrait,
    actor: &Actor,
    number: &str,
) -> AppResult<Vec<Movement>> {
    staff(actor, ANALYSTS)?;
    let p = find(db, actor.dealer_id, number).await?;
    Ok(part_movement::Entity::find()
        .filter(part_movement::Column::PartId.eq(p.id))
        .order_by_desc(part_movement::Column::At)
        .order_by_desc(part_movement::Column::Id)
        .paginate_limit(500)
        .all(db)
        .await?
        .iter()
        .map(movement_view)
        .collect())
}

trait Limit: Sized {
    fn paginate_limit(self, n: u64) -> Self;
}

impl<E: EntityTrait> Limit for sea_orm::Select<E> {
    fn paginate_limit(self, n: u64) -> Self {
        sea_orm::QuerySelect::limit(self, n)
    }
}

/// One change of stock, to be written with its ledger row.
#[derive(Debug, Clone)]
pub struct Change {
    pub kind: MovementKind,
    pub on_hand: i64,
    pub reserved: i64,
    pub unit_cost_cents: i64,
    pub unit_price_cents: Option<i64>,
    pub order_id: Option<Uuid>,
    pub job_id: Option<Uuid>,
    pub reference: Option<String>,
    pub note: Option<String>,
    /// A receipt: (ordered, damaged), for the receipt feedback.
    pub receipt: Option<(Option<i64>, i64)>,
}

/// The stock rule in one statement: applies `c` to part `part_id` if the
/// result keeps on hand in 0..=MAX, reserved ≥ 0 and, when the change
/// lowers what is available (other than a stock-take adjustment), on hand
/// ≥ reserved; then writes the ledger row. False (nothing written) when
/// the condition does not hold. Must run inside the caller's transaction.
pub async fn apply(
    txn: &impl ConnectionTrait,
    dealer_id: Uuid,
    part_id: Uuid,
    c: &Change,
    actor_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<Option<part_movement::Model>> {
    let new_on_hand = || Expr::col(part::Column::OnHand).add(c.on_hand);
    let new_reserved = || Expr::col(part::Column::Reserved).add(c.reserved);
    let mut upd = part::Entity::update_many()
        .col_expr(part::Column::OnHand, new_on_hand())
        .col_expr(part::Column::Reserved, new_reserved())
        .col_expr(
            part::Column::Version,
            Expr::col(part::Column::Version).add(1),
        )
        .col_expr(part::Column::UpdatedAt, Expr::value(now))
        .filter(part::Column::Id.eq(part_id))
        .filter(part::Column::DealerId.eq(dealer_id))
        .filter(new_on_hand().gte(0))
        .filter(new_on_hand().lte(MAX_STOCK.0))
        .filter(new_reserved().gte(0));
    if c.on_hand - c.reserved < 0 && c.kind != MovementKind::Adjustment {
        upd = upd.filter(new_on_hand().sub(new_reserved()).gte(0));
    }
    if c.kind == MovementKind::Receipt {
        // what arrives is no longer on order
        let arrived = c.on_hand;
        upd = upd.col_expr(
            part::Column::OnOrder,
            Expr::case(
                Expr::col(part::Column::OnOrder).gt(arrived),
                Expr::col(part::Column::OnOrder).sub(arrived),
            )
            .finally(0i64)
            .into(),
        );
    }
    if upd.exec(txn).await?.rows_affected != 1 {
        return Ok(None);
    }
    let row = part_movement::Model {
        id: Uuid::now_v7(),
        dealer_id,
        part_id,
        kind: c.kind,
        on_hand_delta: c.on_hand,
        reserved_delta: c.reserved,
        unit_cost_cents: c.unit_cost_cents,
        unit_price_cents: c.unit_price_cents,
        order_id: c.order_id,
        job_id: c.job_id,
        reference: c.reference.clone(),
        ordered_qty: c.receipt.and_then(|r| r.0),
        damaged_qty: c.receipt.map(|r| r.1),
        note: c.note.clone(),
        actor_id,
        at: now,
    };
    part_movement::Entity::insert(part_movement::ActiveModel::from(row.clone()))
        .exec_without_returning(txn)
        .await?;
    Ok(Some(row))
}

fn short(p: &part::Model, wanted: i64) -> AppError {
    AppError::Conflict(format!(
        "part {} is short: {} wanted, {} available ({} on hand, {} reserved)",
        p.number,
        q(wanted),
        q(p.on_hand - p.reserved),
        q(p.on_hand),
        q(p.reserved)
    ))
}

/// Posts a manual movement. With `Idempotency-Key` a retried POST answers
/// the first answer and moves nothing again.
pub async fn post_movement(
    state: &AppState,
    actor: &Actor,
    number: &str,
    input: NewMovement,
    key: Option<&IdempotencyKey>,
) -> AppResult<Outcome<Moved>> {
    staff(actor, WRITERS)?;
    let p = find(&state.db, actor.dealer_id, number).await?;
    let mut e = FieldErrors::default();
    if !input.kind.is_manual() {
        e.add("kind", "reservations are made by repair orders only");
    }
    let qty = e.check(
        "quantity",
        Qty::parse(input.quantity, input.kind == MovementKind::Adjustment),
    );
    let cost = match input.unit_cost {
        Some(_) if input.kind != MovementKind::Receipt => {
            e.add("unit_cost", "is given on a receipt only");
            None
        }
        Some(d) => e.check("unit_cost", Money::parse(d)),
        None => Some(Money::from_cents(p.cost_cents)),
    };
    let price = match input.unit_price {
        Some(_) if !input.kind.takes_stock() => {
            e.add("unit_price", "is given on a sale or issue only");
            None
        }
        Some(d) => e.check("unit_price", Money::parse(d)).map(Some),
        None => Some(
            input
                .kind
                .takes_stock()
                .then(|| Money::from_cents(p.price_cents)),
        ),
    };
    let reference = e.check(
        "reference",
        validation::optional_text(input.reference.as_deref(), 100),
    );
    let note = e.check(
        "note",
        validation::optional_multiline(input.note.as_deref(), 2000),
    );
    let receipt = if input.kind == MovementKind::Receipt {
        let ordered = input
            .ordered
            .map(|d| e.check("ordered", Qty::parse_level(d)).map(|q| q.0));
        let damaged = e.check(
            "damaged",
            Qty::parse_level(input.damaged.unwrap_or_default()),
        );
        Some((ordered.flatten(), damaged.map(|q| q.0).unwrap_or(0)))
    } else {
        for (field, v) in [("ordered", input.ordered), ("damaged", input.damaged)] {
            if v.is_some() {
                e.add(field, "is given on a receipt only");
            }
        }
        None
    };
    e.into_result()?;
    let (Some(qty), Some(cost), Some(price), Some(reference), Some(note)) =
        (qty, cost, price, reference, note)
    else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "checked fields missing"
        )));
    };
    let (on_hand, reserved) =
        rules::manual_deltas(input.kind, qty).map_err(|m| AppError::field("kind", m))?;
    let change = Change {
        kind: input.kind,
        on_hand: on_hand.0,
        reserved: reserved.0,
        unit_cost_cents: cost.cents(),
        unit_price_cents: price.map(Money::cents),
        order_id: None,
        job_id: None,
        reference,
        note,
        receipt,
    };
    let request = (&p.number, &input);
    idempotency::once(
        &state.db,
        actor,
        key,
        &request,
        state.clock.now(),
        async |r| move_now(state, actor, &p, &change, r).await,
    )
    .await
}

async fn move_now(
    state: &AppState,
    actor: &Actor,
    p: &part::Model,
    change: &Change,
    r: Option<&Reservation>,
) -> AppResult<Moved> {
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    // the conditional UPDATE is the transaction's first statement: on
    // SQLite it takes the write lock at once
    let Some(row) = apply(&txn, actor.dealer_id, p.id, change, actor.id, now).await? else {
        let now_part = part::Entity::find_by_id(p.id)
            .one(&txn)
            .await?
            .ok_or(AppError::NotFound)?;
        txn.rollback().await?;
        if change.on_hand > 0 {
            return Err(AppError::field(
                "quantity",
                format!("would bring more than {} on hand", q(MAX_STOCK.0)),
            ));
        }
        if change.kind == MovementKind::Adjustment {
            return Err(AppError::Conflict(format!(
                "part {} has only {} on hand: an adjustment of {} would go below zero",
                now_part.number,
                q(now_part.on_hand),
                q(change.on_hand)
            )));
        }
        return Err(short(&now_part, -change.on_hand));
    };
    let after = part::Entity::find_by_id(p.id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let moved = Moved {
        movement: movement_view(&row),
        part: view(&after, actor),
    };
    if let Some(r) = r {
        let saved = Saved {
            status: 201,
            body: serde_json::to_string(&moved).map_err(anyhow::Error::from)?,
        };
        if !idempotency::complete(&txn, r, &saved).await? {
            txn.rollback().await?;
            return Err(AppError::InProgress {
                retry_after_secs: 1,
            });
        }
    }
    txn.commit().await?;
    Ok(moved)
}

// ---------------------------------------------------------------- repair orders

/// A job's need of one stocked part.
struct Need {
    job: Uuid,
    order: Uuid,
    part: part::Model,
    wanted: i64,
}

/// The stocked parts the job lines ask for, summed per (job, part) and
/// sorted by part number then job (the lock order). Lines whose part
/// number is not stocked at this dealer are left out: they are not the
/// parts desk's (bought in, supplied by the customer).
async fn needs(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    jobs: &[&repair_order_job::Model],
) -> AppResult<Vec<Need>> {
    let mut wanted: BTreeMap<(String, Uuid), (Uuid, i64)> = BTreeMap::new();
    for j in jobs {
        for line in crate::services::repair_orders::jobs::parts_of(j)? {
            let (Ok(number), Some(qty)) = (
                rules::part_number(&line.part_number),
                Qty::of_job_line(line.quantity),
            ) else {
                continue;
            };
            let e = wanted.entry((number, j.id)).or_insert((j.order_id, 0));
            e.1 = e.1.saturating_add(qty.0);
        }
    }
    if wanted.is_empty() {
        return Ok(vec![]);
    }
    let numbers: Vec<String> = wanted.keys().map(|(n, _)| n.clone()).collect();
    let stocked: HashMap<String, part::Model> = part::Entity::find()
        .filter(part::Column::DealerId.eq(dealer_id))
        .filter(part::Column::Number.is_in(numbers))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.number.clone(), p))
        .collect();
    Ok(wanted
        .into_iter()
        .filter_map(|((number, job), (order, w))| {
            stocked.get(&number).map(|p| Need {
                job,
                order,
                part: p.clone(),
                wanted: w,
            })
        })
        .collect())
}

/// Per (job, part): (held now, issued so far), from the ledger.
async fn covered(
    db: &impl ConnectionTrait,
    job_ids: Vec<Uuid>,
) -> AppResult<HashMap<(Uuid, Uuid), (i64, i64)>> {
    let mut out: HashMap<(Uuid, Uuid), (i64, i64)> = HashMap::new();
    if job_ids.is_empty() {
        return Ok(out);
    }
    for m in part_movement::Entity::find()
        .filter(part_movement::Column::JobId.is_in(job_ids))
        .all(db)
        .await?
    {
        let Some(job) = m.job_id else { continue };
        let e = out.entry((job, m.part_id)).or_default();
        e.0 += m.reserved_delta;
        if m.kind == MovementKind::Issue {
            e.1 -= m.on_hand_delta;
        }
    }
    Ok(out)
}

/// Holds the stocked parts of `jobs` (whose approval now counts) as far as
/// each is available in full; a part short of stock is not held and shows
/// as a shortage. Runs in the order's transaction, after the order row's
/// lock, touching parts in part-number order. Holding again what is held
/// or issued already does nothing.
pub async fn reserve_jobs(
    txn: &impl ConnectionTrait,
    dealer_id: Uuid,
    jobs: &[&repair_order_job::Model],
    actor_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let needs = needs(txn, dealer_id, jobs).await?;
    let have = covered(txn, jobs.iter().map(|j| j.id).collect()).await?;
    for n in needs {
        let (held, issued) = have.get(&(n.job, n.part.id)).copied().unwrap_or_default();
        let missing = n.wanted - held - issued;
        if missing <= 0 {
            continue;
        }
        let change = Change {
            kind: MovementKind::Reserve,
            on_hand: 0,
            reserved: missing,
            unit_cost_cents: n.part.cost_cents,
            unit_price_cents: None,
            order_id: Some(n.order),
            job_id: Some(n.job),
            reference: None,
            note: None,
            receipt: None,
        };
        // not available in full: not held; the job shows the shortage
        apply(txn, dealer_id, n.part.id, &change, actor_id, now).await?;
    }
    Ok(())
}

/// Issues the stocked parts of a job that starts: what is held for it, and
/// what is still missing if that much is available now. What cannot be
/// issued stays a shortage; the technician may still start (diagnosis).
pub async fn issue_job(
    txn: &impl ConnectionTrait,
    dealer_id: Uuid,
    job: &repair_order_job::Model,
    actor_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let needs = needs(txn, dealer_id, &[job]).await?;
    let have = covered(txn, vec![job.id]).await?;
    for n in needs {
        let (held, issued) = have.get(&(n.job, n.part.id)).copied().unwrap_or_default();
        let base = Change {
            kind: MovementKind::Issue,
            on_hand: 0,
            reserved: 0,
            unit_cost_cents: n.part.cost_cents,
            unit_price_cents: Some(n.part.price_cents),
            order_id: Some(n.order),
            job_id: Some(n.job),
            reference: None,
            note: None,
            receipt: None,
        };
        if held > 0 {
            let c = Change {
                on_hand: -held,
                reserved: -held,
                ..base.clone()
            };
            if apply(txn, dealer_id, n.part.id, &c, actor_id, now)
                .await?
                .is_none()
            {
                // a stock-take left less on hand than was held: take what the rest allows below
                continue;
            }
        }
        let missing = n.wanted - held - issued;
        if missing > 0 {
            let c = Change {
                on_hand: -missing,
                ..base
            };
            apply(txn, dealer_id, n.part.id, &c, actor_id, now).await?;
        }
    }
    Ok(())
}

/// Gives back every hold of an order's jobs (the order cancelled).
pub async fn release_order(
    txn: &impl ConnectionTrait,
    dealer_id: Uuid,
    jobs: &[repair_order_job::Model],
    actor_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let have = covered(txn, jobs.iter().map(|j| j.id).collect()).await?;
    let mut held: Vec<((Uuid, Uuid), i64)> = have
        .into_iter()
        .filter(|(_, (h, _))| *h > 0)
        .map(|(k, (h, _))| (k, h))
        .collect();
    if held.is_empty() {
        return Ok(());
    }
    let numbers: HashMap<Uuid, part::Model> = part::Entity::find()
        .filter(part::Column::Id.is_in(held.iter().map(|((_, p), _)| *p).collect::<Vec<_>>()))
        .all(txn)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    held.sort_by_key(|((job, p), _)| (numbers.get(p).map(|m| m.number.clone()), *job));
    let orders: HashMap<Uuid, Uuid> = jobs.iter().map(|j| (j.id, j.order_id)).collect();
    for ((job, p), h) in held {
        let Some(m) = numbers.get(&p) else { continue };
        let c = Change {
            kind: MovementKind::Release,
            on_hand: 0,
            reserved: -h,
            unit_cost_cents: m.cost_cents,
            unit_price_cents: None,
            order_id: orders.get(&job).copied(),
            job_id: Some(job),
            reference: None,
            note: None,
            receipt: None,
        };
        apply(txn, dealer_id, p, &c, actor_id, now).await?;
    }
    Ok(())
}

/// The stocked parts `jobs` need and neither hold nor have been issued.
pub async fn shortages(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    jobs: &[&repair_order_job::Model],
) -> AppResult<Vec<Shortage>> {
    let needs = needs(db, dealer_id, jobs).await?;
    let have = covered(db, jobs.iter().map(|j| j.id).collect()).await?;
    Ok(needs
        .into_iter()
        .filter_map(|n| {
            let (held, issued) = have.get(&(n.job, n.part.id)).copied().unwrap_or_default();
            (held + issued < n.wanted).then(|| Shortage {
                job_id: n.job,
                part_number: n.part.number.clone(),
                needed: q(n.wanted),
                covered: q(held + issued),
                available: q(n.part.on_hand - n.part.reserved),
            })
        })
        .collect())
}

// ---------------------------------------------------------------- analysis

fn rules_of(s: Option<part_setting::Model>) -> AppResult<(PartRules, i32)> {
    let Some(s) = s else {
        return Ok((PartRules::default(), 0));
    };
    let season: Vec<i32> = from_stored(&s.season_percent, "season factors")?;
    let season: [i32; 12] = season
        .try_into()
        .map_err(|_| AppError::Internal(anyhow::anyhow!("stored season factors are not 12")))?;
    Ok((
        PartRules {
            a_cutoff_bp: s.a_cutoff_bp,
            b_cutoff_bp: s.b_cutoff_bp,
            safety_days: s.safety_days,
            season_percent: season,
        },
        s.version,
    ))
}

async fn load_rules(db: &impl ConnectionTrait, dealer_id: Uuid) -> AppResult<(PartRules, i32)> {
    rules_of(part_setting::Entity::find_by_id(dealer_id).one(db).await?)
}

fn settings_view(r: &PartRules) -> PartSettings {
    PartSettings {
        a_cutoff_percent: Decimal::new(i64::from(r.a_cutoff_bp), 2).normalize(),
        b_cutoff_percent: Decimal::new(i64::from(r.b_cutoff_bp), 2).normalize(),
        safety_days: r.safety_days,
        season_percent: r.season_percent.to_vec(),
    }
}

pub async fn get_settings(
    db: &impl ConnectionTrait,
    actor: &Actor,
) -> AppResult<(PartSettings, i32)> {
    staff(actor, ANALYSTS)?;
    let (r, v) = load_rules(db, actor.dealer_id).await?;
    Ok((settings_view(&r), v))
}

fn bp(d: Decimal) -> Option<i32> {
    use rust_decimal::prelude::ToPrimitive;
    if d.abs() > Decimal::from(1000) || d.normalize().scale() > 2 {
        return None;
    }
    (d * Decimal::ONE_HUNDRED).to_i32()
}

/// Replaces the settings (`If-Match`: the version read; 0 before any were saved).
pub async fn put_settings(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    input: PartSettings,
    if_match: Option<Version>,
    now: DateTime<Utc>,
) -> AppResult<(PartSettings, i32)> {
    staff(actor, WRITERS)?;
    let expected = Version::required(if_match)?.0;
    let mut e = FieldErrors::default();
    let a = bp(input.a_cutoff_percent);
    let b = bp(input.b_cutoff_percent);
    if a.is_none() {
        e.add(
            "a_cutoff_percent",
            "must be a percentage with at most 2 decimals",
        );
    }
    if b.is_none() {
        e.add(
            "b_cutoff_percent",
            "must be a percentage with at most 2 decimals",
        );
    }
    let season: Option<[i32; 12]> = input.season_percent.clone().try_into().ok();
    if season.is_none() {
        e.add("season_percent", "must list 12 months, January first");
    }
    e.into_result()?;
    let r = PartRules {
        a_cutoff_bp: a.unwrap_or_default(),
        b_cutoff_bp: b.unwrap_or_default(),
        safety_days: input.safety_days,
        season_percent: season.unwrap_or([100; 12]),
    };
    r.check()?;
    let season = to_stored(&r.season_percent.to_vec(), "season factors")?;
    let txn = db.begin().await?;
    let written = if expected == 0 {
        part_setting::Entity::insert(part_setting::ActiveModel {
            dealer_id: Set(actor.dealer_id),
            a_cutoff_bp: Set(r.a_cutoff_bp),
            b_cutoff_bp: Set(r.b_cutoff_bp),
            safety_days: Set(r.safety_days),
            season_percent: Set(season),
            version: Set(1),
            updated_at: Set(now),
        })
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(part_setting::Column::DealerId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?
    } else {
        part_setting::Entity::update_many()
            .col_expr(part_setting::Column::ACutoffBp, Expr::value(r.a_cutoff_bp))
            .col_expr(part_setting::Column::BCutoffBp, Expr::value(r.b_cutoff_bp))
            .col_expr(part_setting::Column::SafetyDays, Expr::value(r.safety_days))
            .col_expr(part_setting::Column::SeasonPercent, Expr::value(season))
            .col_expr(
                part_setting::Column::Version,
                Expr::value(next_version(expected)?),
            )
            .col_expr(part_setting::Column::UpdatedAt, Expr::value(now))
            .filter(part_setting::Column::DealerId.eq(actor.dealer_id))
            .filter(part_setting::Column::Version.eq(expected))
            .exec(&txn)
            .await?
            .rows_affected
    };
    if written != 1 {
        txn.rollback().await?;
        return Err(AppError::PreconditionFailed);
    }
    txn.commit().await?;
    Ok((settings_view(&r), next_version(expected)?))
}

/// Issues and sales of the dealer's parts since `since`: per part, (cost value in fen, quantity).
async fn demand_since(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    since: DateTime<Utc>,
) -> AppResult<HashMap<Uuid, (i128, i64)>> {
    let mut out: HashMap<Uuid, (i128, i64)> = HashMap::new();
    for m in part_movement::Entity::find()
        .filter(part_movement::Column::DealerId.eq(dealer_id))
        .filter(part_movement::Column::At.gte(since))
        .filter(part_movement::Column::Kind.is_in([MovementKind::Issue, MovementKind::Sale]))
        .all(db)
        .await?
    {
        let e = out.entry(m.part_id).or_default();
        let taken = -m.on_hand_delta;
        e.0 += i128::from(taken) * i128::from(m.unit_cost_cents) / i128::from(rules::QTY_SCALE);
        e.1 = e.1.saturating_add(taken);
    }
    Ok(out)
}

/// ABC classes over the last 365 days of issue (and sale) cost value.
pub async fn abc(
    db: &impl ConnectionTrait,
    actor: &Actor,
    now: DateTime<Utc>,
) -> AppResult<Vec<AbcLine>> {
    staff(actor, ANALYSTS)?;
    let (r, _) = load_rules(db, actor.dealer_id).await?;
    let parts = part::Entity::find()
        .filter(part::Column::DealerId.eq(actor.dealer_id))
        .order_by_asc(part::Column::Number)
        .all(db)
        .await?;
    let demand = demand_since(db, actor.dealer_id, now - Duration::days(365)).await?;
    let values: Vec<i64> = parts
        .iter()
        .map(|p| {
            let v = demand.get(&p.id).map(|d| d.0).unwrap_or(0);
            i64::try_from(v).unwrap_or(i64::MAX)
        })
        .collect();
    let classes = rules::abc(&values, &r);
    let mut lines: Vec<AbcLine> = parts
        .iter()
        .zip(classes)
        .zip(&values)
        .map(|((p, class), v)| AbcLine {
            number: p.number.clone(),
            name: p.name.clone(),
            class,
            issue_value: money(*v),
        })
        .collect();
    lines.sort_by(|a, b| {
        b.issue_value
            .cmp(&a.issue_value)
            .then_with(|| a.number.cmp(&b.number))
    });
    Ok(lines)
}

/// The reorder proposal of every part (or only those to order).
pub async fn reorder_proposal(
    db: &impl ConnectionTrait,
    actor: &Actor,
    query: ReorderQuery,
    now: DateTime<Utc>,
) -> AppResult<Vec<ReorderLine>> {
    staff(actor, ANALYSTS)?;
    let (r, _) = load_rules(db, actor.dealer_id).await?;
    let (_, tz) = crate::services::appointments::dealer_zone(db, actor.dealer_id).await?;
    let today = now.with_timezone(&tz).date_naive();
    let parts = part::Entity::find()
        .filter(part::Column::DealerId.eq(actor.dealer_id))
        .order_by_asc(part::Column::Number)
        .all(db)
        .await?;
    let demand = demand_since(db, actor.dealer_id, now - Duration::days(365)).await?;
    Ok(parts
        .iter()
        .filter_map(|p| {
            let taken = demand.get(&p.id).map(|d| d.1).unwrap_or(0);
            let proposal = rules::reorder(
                &ReorderInput {
                    monthly_demand: vec![Qty(taken)],
                    on_hand: Qty(p.on_hand),
                    reserved: Qty(p.reserved),
                    on_order: Qty(p.on_order),
                    lead_time_days: p.lead_time_days,
                    pack_size: Qty(p.pack_size),
                },
                &r,
                today,
            );
            (query.all || proposal.quantity > Qty::ZERO).then(|| ReorderLine {
                number: p.number.clone(),
                name: p.name.clone(),
                average_monthly_demand: proposal.average_monthly,
                lead_time_demand: proposal.lead_time_demand,
                safety_stock: proposal.safety_stock,
                available: q(p.on_hand - p.reserved),
                on_order: q(p.on_order),
                lead_time_days: p.lead_time_days,
                order_quantity: proposal.quantity.to_decimal(),
            })
        })
        .collect())
}

/// A stocked part a day's appointments need more of than is available.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StockShortfall {
    pub part_number: String,
    pub name: String,
    /// What the day's bookings ask for.
    #[schema(value_type = String, format = "decimal")]
    pub needed: Decimal,
    /// On hand − reserved now.
    #[schema(value_type = String, format = "decimal")]
    pub available: Decimal,
}

/// Of `wanted` (part number, quantity), the stocked parts with less
/// available than wanted, by part number. Part numbers the dealer does not
/// stock are not listed (they are bought in for the job).
pub async fn shortfalls(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    wanted: &[(String, Decimal)],
) -> AppResult<Vec<StockShortfall>> {
    let mut sums: BTreeMap<String, Decimal> = BTreeMap::new();
    for (n, qty) in wanted {
        let Ok(n) = rules::part_number(n) else {
            continue;
        };
        let e = sums.entry(n).or_default();
        *e = e.checked_add(*qty).unwrap_or(Decimal::MAX);
    }
    if sums.is_empty() {
        return Ok(vec![]);
    }
    let stocked: HashMap<String, part::Model> = part::Entity::find()
        .filter(part::Column::DealerId.eq(dealer_id))
        .filter(part::Column::Number.is_in(sums.keys().cloned().collect::<Vec<_>>()))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.number.clone(), p))
        .collect();
    Ok(sums
        .into_iter()
        .filter_map(|(n, needed)| {
            let p = stocked.get(&n)?;
            let available = q(p.on_hand - p.reserved);
            (needed > available).then(|| StockShortfall {
                part_number: n,
                name: p.name.clone(),
                needed: needed.normalize(),
                available,
            })
        })
        .collect())
}
