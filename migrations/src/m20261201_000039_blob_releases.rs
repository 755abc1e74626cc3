//! Blob bytes waiting to be deleted (待删除的文件): written in the same
//! transaction that removes the last rows pointing at them (a photo erased
//! or past its retention, a customer's copy expired, a ZIP a worker built
//! too late), so that a crash after the commit, a store that fails, or the
//! grace that keeps freshly stored bytes cannot leave bytes behind that
//! nothing will ever delete. A sweep retries each until the store removes
//! the bytes or a row refers to them again.
use sea_orm_migration::prelude::*;

use crate::col::*;

#[derive(DeriveIden)]
enum BlobReleases {
    Table,
    /// The bytes' SHA-256: one row per blob, however often released.
    Sha256,
    ReleasedAt,
    /// Not tried before this (a retry waits out the store's grace).
    NotBefore,
    Attempts,
    /// New on every release: the sweep deletes the entry only if it was not
    /// released again while it looked (two releases may share a timestamp).
    Generation,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(BlobReleases::Table)
                .col(
                    ColumnDef::new(BlobReleases::Sha256)
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(ts(BlobReleases::ReleasedAt))
                .col(ts(BlobReleases::NotBefore))
                .col(int(BlobReleases::Attempts))
                .col(uuid(BlobReleases::Generation))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_blob_releases_not_before")
                .table(BlobReleases::Table)
                .col(BlobReleases::NotBefore)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(BlobReleases::Table).to_owned())
            .await
    }
}
