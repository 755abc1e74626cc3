//! The opening routine (营业准备): a dealer's opening settings (the
//! checklist and the daily targets) as one JSON row, no row meaning the
//! defaults; the checklist's ticks, one per dealer, local day and item
//! (the unique index is what makes a retried or concurrent tick one tick);
//! and orders by their promised time (the cars promised today).
use sea_orm_migration::prelude::*;

use crate::col::*;
use crate::m20261128_000001_dealers_and_users::Dealers;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum OpeningSettings {
    Table,
    DealerId,
    /// `domain::opening::OpeningSettings` as JSON.
    Settings,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OpeningTicks {
    Table,
    Id,
    DealerId,
    /// The dealer's local date the tick is of.
    Day,
    Code,
    /// The item's words when it was ticked: a tick outlives its item.
    LabelZh,
    LabelEn,
    TickedBy,
    TickedAt,
    Note,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(OpeningSettings::Table)
                .col(uuid_pk(OpeningSettings::DealerId))
                .col(json(OpeningSettings::Settings))
                .col(uuid(OpeningSettings::UpdatedBy))
                .col(ts(OpeningSettings::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(OpeningSettings::Table, OpeningSettings::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(OpeningTicks::Table)
                .col(uuid_pk(OpeningTicks::Id))
                .col(uuid(OpeningTicks::DealerId))
                .col(ColumnDef::new(OpeningTicks::Day).date().not_null())
                .col(string(OpeningTicks::Code, 32))
                .col(string(OpeningTicks::LabelZh, 40))
                .col(string(OpeningTicks::LabelEn, 60))
                .col(uuid(OpeningTicks::TickedBy))
                .col(ts(OpeningTicks::TickedAt))
                .col(text_null(OpeningTicks::Note))
                .foreign_key(
                    ForeignKey::create()
                        .from(OpeningTicks::Table, OpeningTicks::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(OpeningTicks::Table, OpeningTicks::TickedBy)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_opening_ticks_dealer_day_code")
                .table(OpeningTicks::Table)
                .col(OpeningTicks::DealerId)
                .col(OpeningTicks::Day)
                .col(OpeningTicks::Code)
                .unique()
                .to_owned(),
        )
        .await?;
        // the cars promised for a day
        m.create_index(
            Index::create()
                .name("ix_repair_orders_dealer_promised")
                .table(Alias::new("repair_orders"))
                .col(Alias::new("dealer_id"))
                .col(Alias::new("promised_at"))
                .if_not_exists()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_repair_orders_dealer_promised")
                .table(Alias::new("repair_orders"))
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(OpeningTicks::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(OpeningSettings::Table).to_owned())
            .await
    }
}
