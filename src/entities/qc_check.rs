use crate::domain::repair_order::QcLevel;
use sea_orm::entity::prelude::*;

/// One level of the three-level QC, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "qc_checks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub order_id: Uuid,
    pub round: i32,
    pub level: QcLevel,
    pub passed: bool,
    /// `[{code, ok, note}]`
    pub checklist: Json,
    /// `[job id, …]` sent back to rework.
    pub rework_job_ids: Json,
    pub checked_by: Uuid,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
