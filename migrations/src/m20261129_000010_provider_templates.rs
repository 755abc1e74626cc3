//! Each dealer's approved provider templates: which template (and signature)
//! carries a kind of message on a templated channel (Aliyun or Tencent SMS,
//! later WeChat), and which of our values fills each of its variables.
use sea_orm_migration::prelude::*;

use crate::col::*;
use crate::m20261128_000001_dealers_and_users::Dealers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ProviderTemplates {
    Table,
    DealerId,
    Channel,
    Kind,
    TemplateCode,
    SignName,
    Params,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ProviderTemplates::Table)
                .col(uuid(ProviderTemplates::DealerId))
                .col(string(ProviderTemplates::Channel, 16))
                .col(string(ProviderTemplates::Kind, 40))
                .col(string(ProviderTemplates::TemplateCode, 64))
                .col(string_null(ProviderTemplates::SignName, 64))
                .col(json(ProviderTemplates::Params))
                .col(ts(ProviderTemplates::UpdatedAt))
                .primary_key(
                    Index::create()
                        .col(ProviderTemplates::DealerId)
                        .col(ProviderTemplates::Channel)
                        .col(ProviderTemplates::Kind),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(ProviderTemplates::Table, ProviderTemplates::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ProviderTemplates::Table).to_owned())
            .await
    }
}
