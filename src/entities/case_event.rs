use sea_orm::entity::prelude::*;

use crate::domain::case::CaseState;

/// One step of a case: opened, each contact and action, who and when.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "case_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_id: Uuid,
    /// `opened`, or a `CaseAction`'s name.
    pub action: String,
    pub from_state: Option<CaseState>,
    pub to_state: CaseState,
    pub note: Option<String>,
    /// None for a case the rules opened.
    pub actor_id: Option<Uuid>,
    /// The absent person the actor stood in for (a deputy's act).
    pub on_behalf_of: Option<Uuid>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
