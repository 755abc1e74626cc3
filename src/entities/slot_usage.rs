use sea_orm::entity::prelude::*;

/// What is taken of one slot. Bookings raise it with a conditional update, so
/// the capacity check and the taking are one statement.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "slot_usage")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub dealer_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub slot_start: DateTimeUtc,
    pub reception_used: i32,
    pub bays_used: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
