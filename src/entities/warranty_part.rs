use sea_orm::entity::prelude::*;

use crate::domain::warranty::WarrantyPartState;

/// A claimed part (索赔件) in the register, kept until the brand releases it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "warranty_parts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub case_id: Uuid,
    /// The part's line on the case, from 1.
    pub line: i32,
    /// `<claim number>-<line>`, unique per dealer.
    pub tag: String,
    pub part_number: String,
    pub name: String,
    pub quantity: String,
    pub location: String,
    /// May be scrapped after this day unless the brand asks for it.
    pub keep_until: Date,
    pub state: WarrantyPartState,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
