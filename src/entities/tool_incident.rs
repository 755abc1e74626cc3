use crate::domain::tools::ToolIncidentKind;
use sea_orm::entity::prelude::*;

/// A tool lost or damaged, recorded against the person who had it, with
/// the charge the tool keeper set under the dealer's rule (none by default).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tool_incidents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub tool_id: Uuid,
    pub loan_id: Option<Uuid>,
    pub user_id: Uuid,
    pub kind: ToolIncidentKind,
    pub charge_cents: Option<i64>,
    pub note: Option<String>,
    pub recorded_by: Uuid,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
