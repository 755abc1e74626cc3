use sea_orm::entity::prelude::*;

use crate::domain::warranty::RemittanceOutcome;

/// How one line of a remittance file reconciled.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "warranty_remittance_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub remittance_id: Uuid,
    /// The file's line number (the header is line 1).
    pub line: i32,
    pub claim_number: String,
    pub case_id: Option<Uuid>,
    pub outcome: RemittanceOutcome,
    pub approved_cents: Option<i64>,
    pub difference_cents: Option<i64>,
    pub reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
