use sea_orm::entity::prelude::*;

/// A dealer's customer-value settings
/// (`domain::customer_value::ValueSettings` as JSON); no row means the defaults.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customer_value_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub dealer_id: Uuid,
    pub settings: Json,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
