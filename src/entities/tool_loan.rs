use crate::domain::tools::ReturnCondition;
use sea_orm::entity::prelude::*;

/// A line of the lending register (《专用工具借用登记册》): at most one
/// open loan (`returned_at` null) per tool.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tool_loans")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub tool_id: Uuid,
    pub to_user_id: Uuid,
    pub job_id: Option<Uuid>,
    pub lent_by: Uuid,
    pub lent_at: DateTimeUtc,
    pub due_at: DateTimeUtc,
    pub returned_at: Option<DateTimeUtc>,
    pub returned_to: Option<Uuid>,
    pub condition: Option<ReturnCondition>,
    pub note: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
