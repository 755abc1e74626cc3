use sea_orm::entity::prelude::*;

use crate::domain::rescue::RescueState;

/// One step of a rescue: who, when, from, to; `seq` is the rescue's version
/// after the step (unique per rescue), the event id of its live feed.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rescue_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub rescue_id: Uuid,
    pub dealer_id: Uuid,
    pub seq: i64,
    /// `requested`, `escalated`, `repair_order`, or a `RescueAction`'s name.
    pub action: String,
    pub from_state: Option<RescueState>,
    pub to_state: RescueState,
    pub note: Option<String>,
    /// None for the sweep's escalations and for a customer's own steps
    /// (then `note` says so).
    pub actor_id: Option<Uuid>,
    /// The absent person the actor stood in for (a deputy's act).
    pub on_behalf_of: Option<Uuid>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
