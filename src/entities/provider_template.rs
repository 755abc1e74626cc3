use sea_orm::entity::prelude::*;

use crate::domain::care::TemplateChannel;
use crate::domain::message::MessageKind;

/// The provider template (approved by the operator, with its signature) that
/// carries one kind of message on one templated channel for one dealer.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "provider_templates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub dealer_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub channel: TemplateChannel,
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: MessageKind,
    pub template_code: String,
    /// The approved signature (签名), e.g. 星辉奔驰.
    pub sign_name: Option<String>,
    /// `{provider_variable: our_param}`
    pub params: Json,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
