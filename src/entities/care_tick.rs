use sea_orm::entity::prelude::*;

/// The care planner's progress for a dealer: the latest cron tick claimed
/// (advanced only forward, so each tick is planned by one instance) and the
/// last local date whose daily pass completed (the catch-up starts after it).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "care_ticks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub dealer_id: Uuid,
    pub last_tick_at: DateTimeUtc,
    pub planned_through: Option<Date>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
