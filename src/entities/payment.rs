use crate::domain::repair_order::PaymentMethod;
use sea_orm::entity::prelude::*;

/// A payment taken at the cashier's desk.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub order_id: Uuid,
    pub method: PaymentMethod,
    pub amount_cents: i64,
    pub received_by: Uuid,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
