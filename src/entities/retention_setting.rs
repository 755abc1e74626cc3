use sea_orm::entity::prelude::*;

/// A dealer's retention limits per kind of personal data
/// (`domain::retention`); no row: the `[privacy.retention]` defaults.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "retention_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub dealer_id: Uuid,
    pub otp_code_days: i32,
    pub login_failure_days: i32,
    pub message_body_months: i32,
    pub photo_months: i32,
    pub rescue_location_months: i32,
    pub audit_years: i32,
    pub idempotent_answer_days: i32,
    pub version: i32,
    pub updated_by: Option<Uuid>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
