use crate::domain::tools::{ToolRequestKind, ToolRequestState};
use sea_orm::entity::prelude::*;

/// A repair or scrap request (《设备(工具)器材修理、报废申请单》): at most
/// one open (requested or approved) per tool.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tool_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub tool_id: Uuid,
    pub kind: ToolRequestKind,
    pub reason: String,
    pub state: ToolRequestState,
    pub requested_by: Uuid,
    pub requested_at: DateTimeUtc,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTimeUtc>,
    pub decision_note: Option<String>,
    pub done_by: Option<Uuid>,
    pub done_at: Option<DateTimeUtc>,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
