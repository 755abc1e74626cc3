use sea_orm::entity::prelude::*;

use crate::domain::vehicle::MileageSource;

/// A mileage reading staff removed: the reading as it was, who removed it, when and why.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mileage_reading_removals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub vehicle_id: Uuid,
    pub reading_id: Uuid,
    pub mileage_km: i64,
    pub read_on: Date,
    pub source: MileageSource,
    pub recorded_by: Option<Uuid>,
    pub removed_by: Uuid,
    pub reason: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
