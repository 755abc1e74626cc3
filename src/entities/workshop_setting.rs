use sea_orm::entity::prelude::*;

/// A dealer's workshop settings; a dealer without a row uses the defaults.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "workshop_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub dealer_id: Uuid,
    /// `{"mechanical": fen per hour, …}`
    pub labour_rates: Json,
    pub vat_basis_points: i32,
    pub prices_include_vat: bool,
    pub walkaround_checklist: Json,
    pub health_checklist: Json,
    /// A job done again within this many days of delivery is a comeback.
    pub comeback_window_days: i32,
    pub version: i32,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
