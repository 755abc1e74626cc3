use sea_orm::entity::prelude::*;

/// Bytes in the blob store that no row may need any more, waiting for the
/// sweep (`services::storage::sweep`) to delete them: written in the
/// transaction that removed the rows that pointed at them.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "blob_releases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub sha256: String,
    pub released_at: DateTimeUtc,
    /// Not tried before this: a retry waits out the store's grace.
    pub not_before: DateTimeUtc,
    pub attempts: i32,
    /// New on every release: the sweep removes the entry only if it is
    /// still the release it looked at.
    pub generation: Uuid,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
