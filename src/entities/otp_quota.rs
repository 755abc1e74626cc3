use sea_orm::entity::prelude::*;

/// Codes sent and code checks for one phone of one dealer on one day (the
/// dealer's local date), counted for known and unknown phones alike.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "otp_quota")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub dealer_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub phone: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: Date,
    pub sends: i32,
    pub verifications: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
