use sea_orm::entity::prelude::*;

use crate::domain::callback::{CallResult, CallbackReason, CallbackState};

/// An entry of the callback list (回访名单): one reason to call one customer.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "callbacks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    /// `follow_up:{order}` or `case:{case}`, unique per dealer.
    pub source_key: String,
    pub reason: CallbackReason,
    pub customer_id: Uuid,
    pub order_id: Option<Uuid>,
    pub case_id: Option<Uuid>,
    /// 1 first.
    pub priority: i32,
    pub state: CallbackState,
    /// On the list from then.
    pub due_at: DateTimeUtc,
    /// Called by then (3 days after the delivery; the case's contact time).
    pub deadline_at: DateTimeUtc,
    /// Unanswered calls.
    pub tries: i32,
    pub claimed_by: Option<Uuid>,
    pub claimed_until: Option<DateTimeUtc>,
    pub last_result: Option<CallResult>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
