use sea_orm::entity::prelude::*;

use crate::domain::case::{CaseCategory, CaseSource, CaseState, Severity};

/// A case of the unhappy-customer table (《不满意客户处理跟踪表》).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub customer_id: Uuid,
    pub vehicle_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    /// The response that opened it (unique: one case a response).
    pub response_id: Option<Uuid>,
    /// The enquiry that opened it (unique: one case an enquiry).
    pub enquiry_id: Option<Uuid>,
    pub source: CaseSource,
    pub category: CaseCategory,
    pub severity: Severity,
    pub owner_id: Option<Uuid>,
    pub state: CaseState,
    /// What the customer said, or why staff opened it.
    pub summary: Option<String>,
    pub contact_due_at: DateTimeUtc,
    pub resolve_due_at: DateTimeUtc,
    pub escalated_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
