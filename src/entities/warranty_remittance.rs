use sea_orm::entity::prelude::*;

/// A remittance file of the brand, imported once per (dealer, content hash).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "warranty_remittances")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
    pub lines: i32,
    pub imported_by: Uuid,
    pub imported_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
