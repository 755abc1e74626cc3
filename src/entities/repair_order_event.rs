use crate::domain::repair_order::{EventKind, OrderState};
use sea_orm::entity::prelude::*;

/// One entry of an order's timeline; `seq` counts 1, 2, 3 … per order and is
/// the SSE event id.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "repair_order_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub order_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub dealer_id: Uuid,
    pub kind: EventKind,
    /// Staff user or customer; None for the system.
    pub actor_id: Option<Uuid>,
    /// The absent person the actor stood in for (a deputy's act).
    pub on_behalf_of: Option<Uuid>,
    pub from_state: Option<OrderState>,
    pub to_state: Option<OrderState>,
    pub data: Json,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
