use sea_orm::entity::prelude::*;

use crate::domain::insurance::{PolicyKind, RenewalOutcome};

/// One policy term of a vehicle being renewed (代办保险): written when the
/// customer asks for a quote or staff record the outcome. One row per
/// (vehicle, policy, expiry); the outcome is written once.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "insurance_leads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub vehicle_id: Uuid,
    pub customer_id: Uuid,
    pub policy: PolicyKind,
    /// The expiry of the term being renewed.
    pub expiry: Date,
    pub quote_requested_at: Option<DateTimeUtc>,
    pub quote_note: Option<String>,
    pub outcome: Option<RenewalOutcome>,
    pub insurer: Option<String>,
    pub premium_cents: Option<i64>,
    pub new_expiry: Option<Date>,
    pub outcome_note: Option<String>,
    pub outcome_by: Option<Uuid>,
    pub outcome_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
