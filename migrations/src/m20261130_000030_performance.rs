//! Staff performance (绩效管理): each person's targets for a month, set
//! before it starts (one row per person and month: the metrics and their
//! targets as JSON, replaced whole), and the dealer's reward scheme (one
//! JSON row per dealer, no row meaning no scheme).
use sea_orm_migration::prelude::*;

use crate::col::*;
use crate::m20261128_000001_dealers_and_users::Dealers;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum StaffTargets {
    Table,
    DealerId,
    UserId,
    /// `YYYY-MM`.
    Month,
    /// `[{metric, target}]`.
    Targets,
    SetBy,
    SetAt,
}

#[derive(DeriveIden)]
enum RewardSchemes {
    Table,
    DealerId,
    /// `domain::performance::RewardScheme` as JSON.
    Scheme,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(StaffTargets::Table)
                .col(uuid(StaffTargets::DealerId))
                .col(uuid(StaffTargets::UserId))
                .col(string(StaffTargets::Month, 7))
                .col(json(StaffTargets::Targets))
                .col(uuid(StaffTargets::SetBy))
                .col(ts(StaffTargets::SetAt))
                .primary_key(
                    Index::create()
                        .col(StaffTargets::UserId)
                        .col(StaffTargets::Month),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(StaffTargets::Table, StaffTargets::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(StaffTargets::Table, StaffTargets::UserId)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_staff_targets_dealer_month")
                .table(StaffTargets::Table)
                .col(StaffTargets::DealerId)
                .col(StaffTargets::Month)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RewardSchemes::Table)
                .col(uuid_pk(RewardSchemes::DealerId))
                .col(json(RewardSchemes::Scheme))
                .col(uuid(RewardSchemes::UpdatedBy))
                .col(ts(RewardSchemes::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(RewardSchemes::Table, RewardSchemes::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(RewardSchemes::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(StaffTargets::Table).to_owned())
            .await
    }
}
