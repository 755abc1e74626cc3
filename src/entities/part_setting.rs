use sea_orm::entity::prelude::*;

/// A dealer's ABC cut-offs (basis points), safety days and season factors
/// (12 percentages, January first); no row means the defaults
/// (`domain::parts::PartRules::default`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "part_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub dealer_id: Uuid,
    pub a_cutoff_bp: i32,
    pub b_cutoff_bp: i32,
    pub safety_days: i32,
    pub season_percent: Json,
    pub version: i32,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
