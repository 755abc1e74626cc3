use sea_orm_migration::prelude::*;

use crate::col::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Codes sent and code checks per phone and day, so that a fresh code every
/// minute does not give thousands of guesses a day.
#[derive(DeriveIden)]
enum OtpQuota {
    Table,
    DealerId,
    Phone,
    Day,
    Sends,
    Verifications,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(OtpQuota::Table)
                .col(uuid(OtpQuota::DealerId))
                .col(string(OtpQuota::Phone, 20))
                .col(ColumnDef::new(OtpQuota::Day).date().not_null())
                .col(int(OtpQuota::Sends))
                .col(int(OtpQuota::Verifications))
                .primary_key(
                    Index::create()
                        .col(OtpQuota::DealerId)
                        .col(OtpQuota::Phone)
                        .col(OtpQuota::Day),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(OtpQuota::Table).to_owned())
            .await
    }
}
