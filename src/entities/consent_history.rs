use sea_orm::entity::prelude::*;

use crate::domain::customer::{Channel, ConsentSource, Purpose};

/// One change of a customer's consent for one channel and purpose.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consent_history")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub customer_id: Uuid,
    pub channel: Channel,
    pub purpose: Purpose,
    pub granted: bool,
    pub source: ConsentSource,
    /// The member of staff who recorded it; `None`: the customer's own word.
    pub actor_id: Option<Uuid>,
    /// When the customer gave it.
    pub stated_at: DateTimeUtc,
    /// When it was written.
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
