use sea_orm::entity::prelude::*;

use crate::domain::customer::Channel;

/// An address a dealer no longer sends to on a channel: a hard bounce or a
/// dead number, reported by a receipt. `(dealer_id, channel, address)` is unique.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "suppressions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub channel: Channel,
    pub address: String,
    pub reason: Option<String>,
    /// The message whose receipt reported it.
    pub message_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
