//! The maintenance menu (保养菜单): service items with labour, parts and price.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::money::{self, Money};
use crate::domain::{FieldErrors, validation};
use crate::entities::menu_item;
use crate::error::{AppError, AppResult};
use crate::services::capacity::MANAGERS;
use rust_decimal::prelude::ToPrimitive;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartLine {
    #[schema(example = "06L115562B")]
    pub part_number: String,
    #[schema(example = "机油滤清器")]
    pub name: String,
    #[schema(value_type = String, format = "decimal", example = "1")]
    pub quantity: Decimal,
}

/// A menu item as managers write it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MenuInput {
    #[schema(example = "小保养")]
    pub name_zh: String,
    #[schema(example = "Minor service")]
    pub name_en: String,
    #[schema(value_type = String, format = "decimal", example = "1.5")]
    pub labour_hours: Decimal,
    #[serde(default)]
    pub parts: Vec<PartLine>,
    /// CNY, 2 decimals.
    #[schema(value_type = String, format = "decimal", example = "480.00")]
    pub price_estimate: Decimal,
    /// Due every this many km since the last service.
    pub interval_km: Option<i32>,
    /// Due every this many months since the last service.
    pub interval_months: Option<i32>,
    /// The first service of a new car (首保).
    #[serde(default)]
    pub first_service: bool,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MenuItem {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    #[schema(value_type = String, format = "decimal")]
    pub labour_hours: Decimal,
    pub parts: Vec<PartLine>,
    #[schema(value_type = String, format = "decimal")]
    pub price_estimate: Decimal,
    pub interval_km: Option<i32>,
    pub interval_months: Option<i32>,
    pub first_service: bool,
    pub active: bool,
}

pub fn minutes_to_hours(m: i32) -> Decimal {
    (Decimal::from(m) / Decimal::from(60))
        .round_dp(2)
        .normalize()
}

pub fn cents_to_money(c: i64) -> Decimal {
    Money::from_cents(c).to_decimal()
}

/// Part lines one menu item may list.
pub const MAX_PARTS: usize = 50;

impl TryFrom<menu_item::Model> for MenuItem {
    type Error = AppError;

    fn try_from(m: menu_item::Model) -> Result<Self, AppError> {
        let parts = parts_of(&m)?;
        Ok(MenuItem {
            code: m.code,
            name_zh: m.name_zh,
            name_en: m.name_en,
            labour_hours: minutes_to_hours(m.labour_minutes),
            parts,
            price_estimate: cents_to_money(m.price_cents),
            interval_km: m.interval_km,
            interval_months: m.interval_months,
            first_service: m.first_service,
            active: m.active,
        })
    }
}

/// A menu item's parts list, as stored.
pub fn parts_of(m: &menu_item::Model) -> AppResult<Vec<PartLine>> {
    crate::services::from_stored(&m.parts, "menu parts")
}

/// Customers see the active items; staff see all.
pub async fn list(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<Vec<MenuItem>> {
    let mut q = menu_item::Entity::find().filter(menu_item::Column::DealerId.eq(actor.dealer_id));
    if actor.is_customer() {
        q = q.filter(menu_item::Column::Active.eq(true));
    }
    let rows = q.order_by_asc(menu_item::Column::Code).all(db).await?;
    rows.into_iter().map(TryInto::try_into).collect()
}

/// Active items of a dealer by code; `None` for a code that is not there.
pub async fn by_codes(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    codes: &[String],
) -> AppResult<Vec<Option<menu_item::Model>>> {
    let upper: Vec<String> = codes.iter().map(|c| c.trim().to_uppercase()).collect();
    let rows = menu_item::Entity::find()
        .filter(menu_item::Column::DealerId.eq(dealer_id))
        .filter(menu_item::Column::Code.is_in(upper.clone()))
        .filter(menu_item::Column::Active.eq(true))
        .all(db)
        .await?;
    Ok(upper
        .iter()
        .map(|c| rows.iter().find(|r| &r.code == c).cloned())
        .collect())
}

/// Creates or replaces the item with `code` (PUT: the same call twice is harmless).
pub async fn put(
    db: &impl ConnectionTrait,
    actor: &Actor,
    code: &str,
    m: MenuInput,
    now: DateTime<Utc>,
) -> AppResult<MenuItem> {
    actor.require(MANAGERS)?;
    let mut e = FieldErrors::new();
    let code = e.check("code", validation::code(code)).unwrap_or_default();
    let name_zh = e.check("name_zh", validation::text(&m.name_zh, 100));
    let name_en = e.check("name_en", validation::text(&m.name_en, 100));
    if m.labour_hours <= Decimal::ZERO || m.labour_hours > Decimal::from(100) {
        e.add("labour_hours", "must be more than 0 and at most 100");
    }
    let price = e.check("price_estimate", Money::parse(m.price_estimate));
    for (i, p) in m.parts.iter().enumerate() {
        e.check(
            &format!("parts[{i}].part_number"),
            validation::text(&p.part_number, 40),
        );
        e.check(&format!("parts[{i}].name"), validation::text(&p.name, 100));
        e.check(&format!("parts[{i}].quantity"), money::quantity(p.quantity));
    }
    if m.parts.len() > MAX_PARTS {
        e.add("parts", format!("at most {MAX_PARTS} lines"));
    }
    if m.interval_km.is_some_and(|k| !(500..=200_000).contains(&k)) {
        e.add("interval_km", "must be between 500 and 200000");
    }
    if m.interval_months.is_some_and(|k| !(1..=120).contains(&k)) {
        e.add("interval_months", "must be between 1 and 120");
    }
    e.clone().into_result()?;
    let (Some(name_zh), Some(name_en), Some(price)) = (name_zh, name_en, price) else {
        return Err(e.into());
    };
    // labour_hours is at most 100 here, so this cannot overflow
    let minutes = (m.labour_hours * Decimal::from(60)).round();
    let am = menu_item::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(actor.dealer_id),
        code: Set(code.clone()),
        name_zh: Set(name_zh),
        name_en: Set(name_en),
        labour_minutes: Set(minutes
            .to_i32()
            .ok_or_else(|| AppError::field("labour_hours", "too large"))?),
        parts: Set(serde_json::to_value(&m.parts).unwrap_or_default()),
        price_cents: Set(price.cents()),
        interval_km: Set(m.interval_km),
        interval_months: Set(m.interval_months),
        first_service: Set(m.first_service),
        active: Set(m.active),
        updated_at: Set(now),
    };
    menu_item::Entity::insert(am)
        .on_conflict(
            OnConflict::columns([menu_item::Column::DealerId, menu_item::Column::Code])
                .update_columns([
                    menu_item::Column::NameZh,
                    menu_item::Column::NameEn,
                    menu_item::Column::LabourMinutes,
                    menu_item::Column::Parts,
                    menu_item::Column::PriceCents,
                    menu_item::Column::IntervalKm,
                    menu_item::Column::IntervalMonths,
                    menu_item::Column::FirstService,
                    menu_item::Column::Active,
                    menu_item::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    let row = menu_item::Entity::find()
        .filter(menu_item::Column::DealerId.eq(actor.dealer_id))
        .filter(menu_item::Column::Code.eq(code))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    row.try_into()
}
