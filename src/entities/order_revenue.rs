use crate::domain::repair_order::PayType;
use sea_orm::entity::prelude::*;

/// A delivered order's invoice of one pay type (gross, VAT included), as
/// the invoice itself totals it; written with its `order_outcomes` row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_revenue")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub order_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub pay_type: PayType,
    pub dealer_id: Uuid,
    pub delivered_at: DateTimeUtc,
    pub labour_cents: i64,
    pub parts_cents: i64,
    pub gross_cents: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
