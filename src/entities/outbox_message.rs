use sea_orm::entity::prelude::*;

use crate::domain::customer::{Channel, Locale};
use crate::domain::message::MessageKind;
use crate::domain::outbox::MessageState;

/// One message to deliver on one channel, written in the transaction that
/// caused it. `(dealer_id, kind, occurrence_key, channel)` is unique: writing
/// the same occurrence twice makes one row. The id is the provider's
/// idempotency key.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    /// The customer it is to, if it is to one.
    pub customer_id: Option<Uuid>,
    /// The customer a message to staff is about (a rescue alert, a case
    /// escalation): it holds their name, phone or location.
    pub about_customer_id: Option<Uuid>,
    pub kind: MessageKind,
    pub occurrence_key: String,
    pub channel: Channel,
    /// E.164 for SMS.
    pub recipient: String,
    pub locale: Locale,
    /// The template's values, typed per kind (`care::outbox::Params`).
    pub params: Json,
    pub subject: Option<String>,
    pub body: String,
    pub due_at: DateTimeUtc,
    pub state: MessageState,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub lease_owner: Option<Uuid>,
    pub lease_until: Option<DateTimeUtc>,
    /// Raised on every claim and every forced settlement: a worker writes the
    /// row only while it still holds the value it claimed with.
    pub fence: i64,
    pub provider_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    pub settled_at: Option<DateTimeUtc>,
    /// The message this one falls back from (app → SMS → email): the same
    /// occurrence on the next channel.
    pub parent_id: Option<Uuid>,
    /// When the personal content (body, subject, values, recipient) was
    /// removed: by an erasure, or by retention.
    pub redacted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
