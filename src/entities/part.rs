use sea_orm::entity::prelude::*;

/// A stocked part of a dealer. Quantities in thousandths of a unit, money
/// in fen. `on_hand` and `reserved` are the sums of the part's ledger
/// (`part_movements`) and change only with a ledger row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "parts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub number: String,
    pub name: String,
    pub bin: Option<String>,
    pub cost_cents: i64,
    pub price_cents: i64,
    pub on_hand: i64,
    pub reserved: i64,
    pub on_order: i64,
    pub pack_size: i64,
    pub lead_time_days: i32,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
