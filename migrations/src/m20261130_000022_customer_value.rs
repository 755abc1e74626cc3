//! Customer value (客户价值分析): a dealer's settings (window, score and
//! tier cut-offs, discount bands) as one JSON row; no row means the
//! defaults. The analysis reads customers by (dealer, id), their orders by
//! customer, payments by order and responses by order: indexed already.
use sea_orm_migration::prelude::*;

use crate::col::*;
use crate::m20261128_000001_dealers_and_users::Dealers;

#[derive(DeriveIden)]
enum CustomerValueSettings {
    Table,
    DealerId,
    Settings,
    UpdatedAt,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(CustomerValueSettings::Table)
                .col(uuid_pk(CustomerValueSettings::DealerId))
                .col(json(CustomerValueSettings::Settings))
                .col(ts(CustomerValueSettings::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            CustomerValueSettings::Table,
                            CustomerValueSettings::DealerId,
                        )
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(CustomerValueSettings::Table).to_owned())
            .await
    }
}
