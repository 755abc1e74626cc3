use sea_orm::entity::prelude::*;

use crate::domain::warranty::WarrantyState;

/// One step of a warranty case: who, when, from, to, note.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "warranty_case_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub case_id: Uuid,
    /// `opened`, `edited`, `remittance` or a `WarrantyAction`'s name.
    pub action: String,
    pub from_state: Option<WarrantyState>,
    pub to_state: WarrantyState,
    /// None when the job opened the case.
    pub actor_id: Option<Uuid>,
    pub note: Option<String>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
