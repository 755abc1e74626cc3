use sea_orm::entity::prelude::*;

use crate::domain::warranty::{WarrantyDecision, WarrantyState};

/// A warranty claim (索赔): opened by a job with `pay_type: warranty`, or by
/// hand for a job of an order.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "warranty_cases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub order_id: Uuid,
    pub job_id: Uuid,
    pub vin: String,
    pub mileage_km: Option<i32>,
    pub failed_part: Option<String>,
    pub diagnosis: Option<String>,
    pub state: WarrantyState,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Unique per dealer (`WC` and six digits); None on stubs opened before
    /// claims existed, until they are submitted.
    pub claim_number: Option<String>,
    pub in_service_date: Option<Date>,
    pub causal_part: Option<String>,
    /// JSON: `[{code, description, hours}]`.
    pub labour_ops: String,
    /// JSON: `[{part_number, name, quantity, claim_price}]`.
    pub parts: String,
    pub decision: Option<WarrantyDecision>,
    pub covered_until: Option<Date>,
    pub decision_note: Option<String>,
    /// Fixed at submission, with the amount.
    pub labour_rate_cents: Option<i64>,
    pub claim_cents: Option<i64>,
    pub approved_cents: Option<i64>,
    pub short_paid_cents: Option<i64>,
    pub rejection_reason: Option<String>,
    pub work_done_at: Option<DateTimeUtc>,
    pub submitted_at: Option<DateTimeUtc>,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
