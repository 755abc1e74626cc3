use sea_orm::entity::prelude::*;

use crate::domain::data_export::ExportState;

/// A job building one customer's copy of their data as a ZIP in the blob store.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "data_exports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub customer_id: Uuid,
    pub state: ExportState,
    /// The customer's id while queued or running (unique: one pending job each).
    pub pending_for: Option<Uuid>,
    /// Staff who asked on the customer's behalf; `None`: the customer.
    pub requested_by: Option<Uuid>,
    /// Workers that took the job (the claim's version).
    pub attempts: i32,
    pub lease_until: Option<DateTimeUtc>,
    pub sha256: Option<String>,
    pub bytes: Option<i64>,
    pub error: Option<String>,
    pub created_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub expires_at: Option<DateTimeUtc>,
    pub purged_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
