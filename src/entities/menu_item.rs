use sea_orm::entity::prelude::*;

/// 保养菜单: a service item. Labour in minutes and price in cents keep them exact on every database.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "menu_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub labour_minutes: i32,
    /// `[{part_number, name, quantity}]`
    pub parts: Json,
    pub price_cents: i64,
    pub interval_km: Option<i32>,
    pub interval_months: Option<i32>,
    pub first_service: bool,
    pub active: bool,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
