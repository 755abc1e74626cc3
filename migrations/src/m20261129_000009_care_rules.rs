//! The rules applied when a message leaves: each dealer's sending window and
//! marketing cap, the suppression list of addresses that never work, and the
//! fallback chain's link from a child message to the one it replaces.
use sea_orm_migration::prelude::*;

use crate::col::*;
use crate::m20261128_000001_dealers_and_users::Dealers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CareSettings {
    Table,
    DealerId,
    SendWindowStart,
    SendWindowEnd,
    MarketingCap,
    MarketingCapDays,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Suppressions {
    Table,
    Id,
    DealerId,
    Channel,
    Address,
    Reason,
    MessageId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OutboxMessages {
    Table,
    ParentId,
    CustomerId,
    SentAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // one row per dealer that changed the defaults; minutes after local midnight
        m.create_table(
            Table::create()
                .table(CareSettings::Table)
                .col(uuid_pk(CareSettings::DealerId))
                .col(int(CareSettings::SendWindowStart))
                .col(int(CareSettings::SendWindowEnd))
                .col(int(CareSettings::MarketingCap))
                .col(int(CareSettings::MarketingCapDays))
                .col(ts(CareSettings::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(CareSettings::Table, CareSettings::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Suppressions::Table)
                .col(uuid_pk(Suppressions::Id))
                .col(uuid(Suppressions::DealerId))
                .col(string(Suppressions::Channel, 16))
                .col(string(Suppressions::Address, 255))
                .col(text_null(Suppressions::Reason))
                .col(uuid_null(Suppressions::MessageId))
                .col(ts(Suppressions::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Suppressions::Table, Suppressions::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_suppressions_address")
                .table(Suppressions::Table)
                .col(Suppressions::DealerId)
                .col(Suppressions::Channel)
                .col(Suppressions::Address)
                .unique()
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(OutboxMessages::Table)
                .add_column(uuid_null(OutboxMessages::ParentId))
                .to_owned(),
        )
        .await?;
        // the frequency cap counts a customer's recent messages
        m.create_index(
            Index::create()
                .name("ix_outbox_customer_sent")
                .table(OutboxMessages::Table)
                .col(OutboxMessages::CustomerId)
                .col(OutboxMessages::SentAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_outbox_customer_sent")
                .table(OutboxMessages::Table)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(OutboxMessages::Table)
                .drop_column(OutboxMessages::ParentId)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(Suppressions::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(CareSettings::Table).to_owned())
            .await
    }
}
