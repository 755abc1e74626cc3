//! A dealer's workshop settings: labour rate per skill, VAT, and the
//! checklists of the walk-around and the health check. A dealer that never
//! wrote them works with the defaults below.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::money::Money;
use crate::domain::repair_order::Skill;
use crate::domain::repair_order::totals::VatRule;
use crate::domain::{FieldErrors, Role, validation};
use crate::entities::workshop_setting;
use crate::error::{AppError, AppResult};
use crate::services::{from_stored, to_stored};

/// Who changes the settings.
pub const WRITERS: &[Role] = &[Role::ServiceManager, Role::DealerAdmin];

/// One item of a checklist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecklistItem {
    /// Letters, digits, `-` or `_` (stored upper case).
    #[schema(example = "TYRE_FL")]
    pub code: String,
    #[schema(example = "左前轮胎（花纹深度）")]
    pub name_zh: String,
    #[schema(example = "Front-left tyre (tread depth)")]
    pub name_en: String,
    /// The unit a measurement is taken in, if any (`mm`, `%`, `V`).
    #[serde(default)]
    pub unit: Option<String>,
}

/// Labour rates per skill, CNY per hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabourRates {
    #[schema(value_type = String, format = "decimal", example = "300.00")]
    pub mechanical: Decimal,
    #[schema(value_type = String, format = "decimal", example = "350.00")]
    pub body_paint: Decimal,
    #[schema(value_type = String, format = "decimal", example = "320.00")]
    pub electrical: Decimal,
}

/// The workshop settings of a dealer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkshopSettings {
    pub labour_rates: LabourRates,
    /// VAT in percent, 0 to 30, at most 2 decimals (13 for repair services in China).
    #[schema(value_type = String, format = "decimal", example = "13")]
    pub vat_percent: Decimal,
    /// Whether prices (menu, labour rates, parts) already include VAT.
    pub prices_include_vat: bool,
    /// The walk-around (环车检查) items.
    pub walkaround_checklist: Vec<ChecklistItem>,
    /// The health-check (健康车检) items.
    pub health_checklist: Vec<ChecklistItem>,
    /// A vehicle's new order that repeats a job of an order delivered at
    /// most this many days before it arrived is a comeback (返修); 1 to 365,
    /// 30 when left out.
    #[serde(default = "default_window")]
    #[schema(minimum = 1, maximum = 365, default = 30)]
    pub comeback_window_days: u16,
}

fn default_window() -> u16 {
    30
}

fn item(code: &str, zh: &str, en: &str, unit: Option<&str>) -> ChecklistItem {
    ChecklistItem {
        code: code.into(),
        name_zh: zh.into(),
        name_en: en.into(),
        unit: unit.map(Into::into),
    }
}

impl Default for WorkshopSettings {
    fn default() -> Self {
        WorkshopSettings {
            comeback_window_days: default_window(),
            labour_rates: LabourRates {
                mechanical: Decimal::new(30000, 2),
                body_paint: Decimal::new(35000, 2),
                electrical: Decimal::new(32000, 2),
            },
            vat_percent: Decimal::from(13),
            prices_include_vat: true,
            walkaround_checklist: vec![
                item(
                    "BODY_PANELS",
                    "车身漆面与钣金",
                    "Body panels and paint",
                    None,
                ),
                item("GLASS", "玻璃与后视镜", "Glass and mirrors", None),
                item("TYRE_FL", "左前轮胎", "Front-left tyre", Some("mm")),
                item("TYRE_FR", "右前轮胎", "Front-right tyre", Some("mm")),
                item("TYRE_RL", "左后轮胎", "Rear-left tyre", Some("mm")),
                item("TYRE_RR", "右后轮胎", "Rear-right tyre", Some("mm")),
                item("LIGHTS", "灯光", "Lights", None),
                item("INTERIOR", "内饰", "Interior", None),
                item("BOOT", "后备箱", "Boot", None),
                item(
                    "DASH_WARNINGS",
                    "仪表盘警告灯",
                    "Warning lights on the dash",
                    None,
                ),
                item("FUEL", "燃油量", "Fuel level", Some("%")),
                item("VALUABLES", "贵重物品", "Valuables", None),
                item(
                    "PROTECTION",
                    "三件套已安装",
                    "Protection set fitted (三件套)",
                    None,
                ),
            ],
            health_checklist: vec![
                item(
                    "BRAKE_PADS_FRONT",
                    "前刹车片厚度",
                    "Front brake pads",
                    Some("mm"),
                ),
                item(
                    "BRAKE_PADS_REAR",
                    "后刹车片厚度",
                    "Rear brake pads",
                    Some("mm"),
                ),
                item("TYRE_TREAD", "轮胎花纹深度", "Tyre tread", Some("mm")),
                item("BATTERY", "蓄电池", "Battery", Some("V")),
                item("WIPERS", "雨刮片", "Wipers", None),
                item("ENGINE_OIL", "机油", "Engine oil", None),
                item("COOLANT", "冷却液", "Coolant", None),
                item("BRAKE_FLUID", "制动液", "Brake fluid", None),
                item("AIR_FILTER", "空气滤清器", "Air filter", None),
                item("CABIN_FILTER", "空调滤清器", "Cabin filter", None),
            ],
        }
    }
}

impl WorkshopSettings {
    pub fn rate(&self, skill: Skill) -> Money {
        let d = match skill {
            Skill::Mechanical => self.labour_rates.mechanical,
            Skill::BodyPaint => self.labour_rates.body_paint,
            Skill::Electrical => self.labour_rates.electrical,
        };
        Money::parse(d).unwrap_or(Money::ZERO)
    }

    pub fn vat(&self) -> VatRule {
        let bp = (self.vat_percent * Decimal::ONE_HUNDRED).trunc();
        VatRule {
            basis_points: u32::try_from(i64::try_from(bp).unwrap_or(0)).unwrap_or(0),
            prices_include_vat: self.prices_include_vat,
        }
    }

    fn validate(mut self) -> AppResult<WorkshopSettings> {
        let mut errors = FieldErrors::new();
        for (name, d) in [
            ("labour_rates.mechanical", self.labour_rates.mechanical),
            ("labour_rates.body_paint", self.labour_rates.body_paint),
            ("labour_rates.electrical", self.labour_rates.electrical),
        ] {
            errors.check(name, Money::parse(d));
        }
        if self.vat_percent < Decimal::ZERO
            || self.vat_percent > Decimal::from(30)
            || self.vat_percent.normalize().scale() > 2
        {
            errors.add("vat_percent", "must be 0 to 30 with at most 2 decimals");
        }
        check_list(
            &mut errors,
            "walkaround_checklist",
            &mut self.walkaround_checklist,
        );
        check_list(&mut errors, "health_checklist", &mut self.health_checklist);
        if !(1..=365).contains(&self.comeback_window_days) {
            errors.add("comeback_window_days", "must be 1 to 365");
        }
        errors.into_result()?;
        Ok(self)
    }
}

/// Checks a checklist and normalises its codes (upper case); problems are
/// named `<field>[i].code` and so on.
fn check_list(errors: &mut FieldErrors, field: &str, list: &mut [ChecklistItem]) {
    if list.is_empty() || list.len() > 100 {
        errors.add(field, "must list 1 to 100 items");
    }
    let mut seen = std::collections::HashSet::new();
    for (i, it) in list.iter_mut().enumerate() {
        if let Some(c) = errors.check(&format!("{field}[{i}].code"), validation::code(&it.code)) {
            if !seen.insert(c.clone()) {
                errors.add(format!("{field}[{i}].code"), "appears twice");
            }
            it.code = c;
        }
        if let Some(t) = errors.check(
            &format!("{field}[{i}].name_zh"),
            validation::text(&it.name_zh, 100),
        ) {
            it.name_zh = t;
        }
        if let Some(t) = errors.check(
            &format!("{field}[{i}].name_en"),
            validation::text(&it.name_en, 100),
        ) {
            it.name_en = t;
        }
        if let Some(u) = errors.check(
            &format!("{field}[{i}].unit"),
            validation::optional_text(it.unit.as_deref(), 10),
        ) {
            it.unit = u;
        }
    }
}

/// One of the two checklists kept in the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checklist {
    Walkaround,
    Health,
}

/// A checklist on its own (`GET/PUT /walkaround-checklist`, `/health-checklist`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecklistBody {
    /// 1 to 100 items, codes unique.
    pub items: Vec<ChecklistItem>,
}

/// Staff of the dealer read one checklist.
pub async fn get_checklist(
    db: &impl ConnectionTrait,
    actor: &Actor,
    which: Checklist,
) -> AppResult<ChecklistBody> {
    let s = get(db, actor).await?;
    Ok(ChecklistBody {
        items: match which {
            Checklist::Walkaround => s.walkaround_checklist,
            Checklist::Health => s.health_checklist,
        },
    })
}

/// Replaces one checklist and leaves the rest of the settings as they are
/// (a dealer without settings gets the defaults for the rest).
pub async fn put_checklist(
    db: &impl ConnectionTrait,
    actor: &Actor,
    which: Checklist,
    input: ChecklistBody,
    now: DateTime<Utc>,
) -> AppResult<ChecklistBody> {
    actor.require(WRITERS)?;
    let mut items = input.items;
    let mut errors = FieldErrors::new();
    check_list(&mut errors, "items", &mut items);
    errors.into_result()?;
    let mut s = WorkshopSettings::default();
    let column = match which {
        Checklist::Walkaround => {
            s.walkaround_checklist = items.clone();
            workshop_setting::Column::WalkaroundChecklist
        }
        Checklist::Health => {
            s.health_checklist = items.clone();
            workshop_setting::Column::HealthChecklist
        }
    };
    let bp = i32::try_from(s.vat().basis_points).unwrap_or(0);
    workshop_setting::Entity::insert(workshop_setting::ActiveModel {
        dealer_id: Set(actor.dealer_id),
        labour_rates: Set(to_stored(&s.labour_rates, "labour rates")?),
        vat_basis_points: Set(bp),
        prices_include_vat: Set(s.prices_include_vat),
        walkaround_checklist: Set(to_stored(&s.walkaround_checklist, "checklist")?),
        health_checklist: Set(to_stored(&s.health_checklist, "checklist")?),
        comeback_window_days: Set(i32::from(s.comeback_window_days)),
        version: Set(1),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(workshop_setting::Column::DealerId)
            .update_columns([column, workshop_setting::Column::UpdatedAt])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    get_checklist(db, actor, which).await
}

/// The settings of a dealer, or the defaults.
pub async fn of_dealer(db: &impl ConnectionTrait, dealer_id: Uuid) -> AppResult<WorkshopSettings> {
    let Some(row) = workshop_setting::Entity::find_by_id(dealer_id)
        .one(db)
        .await?
    else {
        return Ok(WorkshopSettings::default());
    };
    let rates: LabourRates = from_stored(&row.labour_rates, "labour rates")?;
    Ok(WorkshopSettings {
        labour_rates: rates,
        vat_percent: Decimal::new(i64::from(row.vat_basis_points), 2),
        prices_include_vat: row.prices_include_vat,
        walkaround_checklist: from_stored(&row.walkaround_checklist, "walk-around checklist")?,
        health_checklist: from_stored(&row.health_checklist, "health checklist")?,
        comeback_window_days: u16::try_from(row.comeback_window_days).unwrap_or(30),
    })
}

/// Staff of the dealer read the settings.
pub async fn get(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<WorkshopSettings> {
    if actor.is_customer() {
        return Err(AppError::Forbidden("only the dealer's staff may read this"));
    }
    of_dealer(db, actor.dealer_id).await
}

/// Replaces the settings (PUT: the same call twice is harmless).
pub async fn put(
    db: &impl ConnectionTrait,
    actor: &Actor,
    input: WorkshopSettings,
    now: DateTime<Utc>,
) -> AppResult<WorkshopSettings> {
    actor.require(WRITERS)?;
    let s = input.validate()?;
    let bp = i32::try_from(s.vat().basis_points).unwrap_or(0);
    workshop_setting::Entity::insert(workshop_setting::ActiveModel {
        dealer_id: Set(actor.dealer_id),
        labour_rates: Set(to_stored(&s.labour_rates, "labour rates")?),
        vat_basis_points: Set(bp),
        prices_include_vat: Set(s.prices_include_vat),
        walkaround_checklist: Set(to_stored(&s.walkaround_checklist, "checklist")?),
        health_checklist: Set(to_stored(&s.health_checklist, "checklist")?),
        comeback_window_days: Set(i32::from(s.comeback_window_days)),
        version: Set(1),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(workshop_setting::Column::DealerId)
            .update_columns([
                workshop_setting::Column::ComebackWindowDays,
                workshop_setting::Column::LabourRates,
                workshop_setting::Column::VatBasisPoints,
                workshop_setting::Column::PricesIncludeVat,
                workshop_setting::Column::WalkaroundChecklist,
                workshop_setting::Column::HealthChecklist,
                workshop_setting::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    of_dealer(db, actor.dealer_id).await
}
