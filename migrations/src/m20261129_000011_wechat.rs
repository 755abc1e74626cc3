//! WeChat mini-program: which openid is which customer (bound only once the
//! phone is proven), the one-time subscribe-message grants customers give,
//! and provider access tokens shared by every instance.
use sea_orm_migration::prelude::*;

use crate::col::*;
use crate::m20261128_000001_dealers_and_users::Dealers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WechatBindings {
    Table,
    DealerId,
    Openid,
    CustomerId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WechatGrants {
    Table,
    Id,
    DealerId,
    CustomerId,
    TemplateId,
    GrantedAt,
    MessageId,
    SpentAt,
}

#[derive(DeriveIden)]
enum ProviderTokens {
    Table,
    Name,
    Token,
    ExpiresAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(WechatBindings::Table)
                .col(uuid(WechatBindings::DealerId))
                .col(string(WechatBindings::Openid, 128))
                .col(uuid(WechatBindings::CustomerId))
                .col(ts(WechatBindings::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(WechatBindings::DealerId)
                        .col(WechatBindings::Openid),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(WechatBindings::Table, WechatBindings::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_wechat_bindings_customer")
                .table(WechatBindings::Table)
                .col(WechatBindings::CustomerId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(WechatGrants::Table)
                .col(uuid_pk(WechatGrants::Id))
                .col(uuid(WechatGrants::DealerId))
                .col(uuid(WechatGrants::CustomerId))
                .col(string(WechatGrants::TemplateId, 64))
                .col(ts(WechatGrants::GrantedAt))
                .col(uuid_null(WechatGrants::MessageId))
                .col(ts_null(WechatGrants::SpentAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_wechat_grants_open")
                .table(WechatGrants::Table)
                .col(WechatGrants::CustomerId)
                .col(WechatGrants::TemplateId)
                .col(WechatGrants::MessageId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ProviderTokens::Table)
                .col(
                    ColumnDef::new(ProviderTokens::Name)
                        .string_len(128)
                        .not_null()
                        .primary_key(),
                )
                .col(text_null(ProviderTokens::Token))
                .col(ts_null(ProviderTokens::ExpiresAt))
                .col(ts(ProviderTokens::UpdatedAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ProviderTokens::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(WechatGrants::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(WechatBindings::Table).to_owned())
            .await
    }
}
