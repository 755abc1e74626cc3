use crate::domain::repair_order::{
    Approval, ApprovalChannel, JobOrigin, PayType, Priority, RepairJobState, Skill,
};
use sea_orm::entity::prelude::*;

/// One job of a repair order (a labour operation with its parts).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "repair_order_jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub order_id: Uuid,
    pub menu_code: Option<String>,
    pub description: String,
    /// Sold (flat-rate) hours × 100.
    pub labour_centihours: i32,
    pub labour_rate_cents: i64,
    /// A menu package's price (套餐价): the labour is charged at this, not hours × rate.
    pub package_price_cents: Option<i64>,
    pub skill: Skill,
    pub pay_type: PayType,
    /// `[{part_number, name, quantity, unit_price_cents}]`
    pub parts: Json,
    pub origin: JobOrigin,
    pub approval: Approval,
    pub approval_by: Option<Uuid>,
    pub approval_at: Option<DateTimeUtc>,
    pub approval_channel: Option<ApprovalChannel>,
    pub approval_note: Option<String>,
    pub health_item_code: Option<String>,
    pub state: RepairJobState,
    pub technician_id: Option<Uuid>,
    pub priority: Priority,
    pub dispatched_at: Option<DateTimeUtc>,
    /// The technician's finding, from the last clock-off note.
    pub diagnosis: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
