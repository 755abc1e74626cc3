use crate::domain::comeback::{ComebackCause, ComebackKind, ComebackState};
use sea_orm::entity::prelude::*;

/// One comeback (返修车处理记录): a job done again, why, and what was done
/// about it. `(dealer_id, source_key)` is unique: each is written once.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "comebacks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub kind: ComebackKind,
    /// `order:<order>` (found by a job or marked: one per order), `qc:<order>:<round>`.
    pub source_key: String,
    /// The order the job is done again in.
    pub order_id: Uuid,
    /// The order that did it first (the same order for a QC rework).
    pub first_order_id: Option<Uuid>,
    pub vehicle_id: Uuid,
    pub customer_id: Uuid,
    pub first_technician_id: Option<Uuid>,
    pub first_advisor_id: Option<Uuid>,
    /// `domain::kpi::job_key` of the job done again.
    pub job_key: Option<String>,
    pub job_description: Option<String>,
    /// The advisor's words when they marked it.
    pub note: Option<String>,
    pub cause: Option<ComebackCause>,
    pub analysis: Option<String>,
    pub corrective_action: Option<String>,
    pub action_owner_id: Option<Uuid>,
    pub redo_cost_cents: Option<i64>,
    pub state: ComebackState,
    pub analysed_by: Option<Uuid>,
    pub analysed_at: Option<DateTimeUtc>,
    pub action_done_by: Option<Uuid>,
    pub action_done_at: Option<DateTimeUtc>,
    pub closed_by: Option<Uuid>,
    pub closed_at: Option<DateTimeUtc>,
    pub version: i32,
    /// None: found by the system.
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
