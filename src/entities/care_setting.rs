use sea_orm::entity::prelude::*;

/// A dealer's rules for sending care messages; no row means the defaults
/// (`domain::care::CareRules::default`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "care_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub dealer_id: Uuid,
    /// Minutes after local midnight from which non-transactional messages may leave.
    pub send_window_start: i32,
    /// Minutes after local midnight until which they may leave.
    pub send_window_end: i32,
    /// Marketing messages one customer receives at most in `marketing_cap_days`.
    pub marketing_cap: i32,
    pub marketing_cap_days: i32,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
