use sea_orm::entity::prelude::*;

/// A dealer's capacity settings; `opening_hours` is a JSON list of {weekday, open, close}.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dealer_schedules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub dealer_id: Uuid,
    pub slot_minutes: i32,
    pub reception_per_slot: i32,
    pub workshop_bays: i32,
    pub opening_hours: Json,
    /// How many days ahead customers and staff may book.
    pub booking_horizon_days: i32,
    pub version: i32,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
