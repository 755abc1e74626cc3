use sea_orm::entity::prelude::*;

use crate::domain::callback::CallResult;

/// One call of the customer centre (《维修跟踪记录表》): who called whom,
/// when, how it went, and the answers recorded (a `call` response).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "callback_calls")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub callback_id: Uuid,
    pub dealer_id: Uuid,
    pub customer_id: Uuid,
    pub order_id: Option<Uuid>,
    pub agent_id: Uuid,
    /// The absent person the agent stood in for (a deputy's call).
    pub on_behalf_of: Option<Uuid>,
    pub called_at: DateTimeUtc,
    pub result: CallResult,
    pub note: Option<String>,
    /// When the customer asked to be called back.
    pub call_back_at: Option<DateTimeUtc>,
    /// The answers recorded on the call.
    pub response_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
