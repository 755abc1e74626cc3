use crate::domain::erasure::ErasureState;
use sea_orm::entity::prelude::*;

/// The audit of an erasure request: who asked or decided, when, from what,
/// to what and why.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "erasure_request_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub request_id: Uuid,
    /// The member of staff, or the customer's id when they asked themselves.
    pub actor_id: Uuid,
    pub on_behalf_of: Option<Uuid>,
    pub from_state: Option<ErasureState>,
    pub to_state: ErasureState,
    pub reason: Option<String>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
