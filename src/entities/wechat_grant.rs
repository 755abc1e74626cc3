use sea_orm::entity::prelude::*;

/// One subscribe-message grant (一次性订阅): the customer allowed one message
/// of `template_id`; spent by the message that carries it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "wechat_grants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub customer_id: Uuid,
    pub template_id: String,
    pub granted_at: DateTimeUtc,
    /// The outbox message that spent it.
    pub message_id: Option<Uuid>,
    pub spent_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
