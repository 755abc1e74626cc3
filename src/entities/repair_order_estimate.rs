use sea_orm::entity::prelude::*;

/// A frozen estimate: the jobs and totals as shown to the customer, its hash,
/// and who accepted it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "repair_order_estimates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub order_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i32,
    pub dealer_id: Uuid,
    pub content: Json,
    /// SHA-256 (hex) of `content` as canonical JSON.
    pub sha256: String,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub accepted_at: Option<DateTimeUtc>,
    pub accepted_by: Option<Uuid>,
    pub signature: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
