use sea_orm::entity::prelude::*;

/// The last order number given out per dealer and local day.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "repair_order_counters")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub dealer_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: Date,
    pub last: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
