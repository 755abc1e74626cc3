use crate::domain::erasure::ErasureState;
use sea_orm::entity::prelude::*;

/// A customer's request to be erased and its decision. `open_key` is the
/// customer's id while undecided, NULL after: unique per dealer, so a
/// customer has one open request.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "erasure_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub customer_id: Uuid,
    pub state: ErasureState,
    pub open_key: Option<Uuid>,
    /// Staff who asked on the customer's behalf; None: the customer asked.
    pub requested_by: Option<Uuid>,
    pub note: Option<String>,
    pub due_at: DateTimeUtc,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTimeUtc>,
    /// Why it was refused.
    pub reason: Option<String>,
    /// The name the customer goes by once erased.
    pub pseudonym: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
