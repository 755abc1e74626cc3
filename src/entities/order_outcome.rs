use sea_orm::entity::prelude::*;

/// What the daily board counts of a delivered order, written in the
/// delivery's transaction (`services::kpi::outcomes`); final, as a delivered
/// order no longer changes.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_outcomes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub order_id: Uuid,
    pub dealer_id: Uuid,
    pub advisor_id: Option<Uuid>,
    pub arrived_at: DateTimeUtc,
    pub delivered_at: DateTimeUtc,
    /// It repeats a job of the vehicle's visit delivered at most 30 days before it arrived.
    pub comeback: bool,
    /// A QC level failed at least once.
    pub qc_reworked: bool,
    /// An estimate accepted at or before the first clock-on; null: no work clocked.
    pub estimate_before_work: Option<bool>,
    /// Delivered by the promised time; null: no time promised.
    pub on_time: Option<bool>,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
