use crate::domain::tools::{ToolKind, ToolState};
use sea_orm::entity::prelude::*;

/// A special tool, a personal tool or a piece of equipment of a dealer.
/// `code` is unique per dealer; `holder_user_id` is whom a personal tool
/// is issued to; `upkeep_interval_days` makes it due for upkeep.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tools")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub code: String,
    pub name: String,
    pub kind: ToolKind,
    pub location: Option<String>,
    pub state: ToolState,
    pub holder_user_id: Option<Uuid>,
    pub upkeep_interval_days: Option<i32>,
    pub last_upkeep_on: Option<Date>,
    pub note: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
