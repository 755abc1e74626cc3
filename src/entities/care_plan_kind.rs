use sea_orm::entity::prelude::*;

/// A dealer's settings for one kind of planned care message; no row means
/// the kind's defaults (`domain::care_plan::KindSettings::default_for`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "care_plan_kinds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub dealer_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: crate::domain::care_plan::CareKind,
    /// Kept beside the settings so pausing a kind is one upsert of one column.
    pub enabled: bool,
    /// `KindSettings` but `enabled`, as JSON.
    pub settings: Json,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
