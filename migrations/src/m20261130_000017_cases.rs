//! The unhappy-customer table (issue 10): cases, each step of each case,
//! and each dealer's rules for opening them.
use sea_orm_migration::prelude::*;

use crate::col::*;
use crate::m20261128_000001_dealers_and_users::Dealers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
    DealerId,
    CustomerId,
    VehicleId,
    OrderId,
    ResponseId,
    Source,
    Category,
    Severity,
    OwnerId,
    State,
    Summary,
    ContactDueAt,
    ResolveDueAt,
    EscalatedAt,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CaseEvents {
    Table,
    Id,
    CaseId,
    Action,
    FromState,
    ToState,
    Note,
    ActorId,
    At,
}

#[derive(DeriveIden)]
enum CaseSettings {
    Table,
    DealerId,
    Rules,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Cases::Table)
                .col(uuid_pk(Cases::Id))
                .col(uuid(Cases::DealerId))
                .col(uuid(Cases::CustomerId))
                .col(uuid_null(Cases::VehicleId))
                .col(uuid_null(Cases::OrderId))
                .col(uuid_null(Cases::ResponseId))
                .col(string(Cases::Source, 24))
                .col(string(Cases::Category, 24))
                .col(string(Cases::Severity, 16))
                .col(uuid_null(Cases::OwnerId))
                .col(string(Cases::State, 24))
                .col(text_null(Cases::Summary))
                .col(ts(Cases::ContactDueAt))
                .col(ts(Cases::ResolveDueAt))
                .col(ts_null(Cases::EscalatedAt))
                .col(int(Cases::Version))
                .col(ts(Cases::CreatedAt))
                .col(ts(Cases::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Cases::Table, Cases::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await?;
        // a response opens at most one case, whichever rules match and however
        // often its webhook is delivered
        m.create_index(
            Index::create()
                .name("ux_cases_response")
                .table(Cases::Table)
                .col(Cases::ResponseId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_cases_dealer_state")
                .table(Cases::Table)
                .col(Cases::DealerId)
                .col(Cases::State)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(CaseEvents::Table)
                .col(uuid_pk(CaseEvents::Id))
                .col(uuid(CaseEvents::CaseId))
                .col(string(CaseEvents::Action, 24))
                .col(string_null(CaseEvents::FromState, 24))
                .col(string(CaseEvents::ToState, 24))
                .col(text_null(CaseEvents::Note))
                .col(uuid_null(CaseEvents::ActorId))
                .col(ts(CaseEvents::At))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_case_events_case")
                .table(CaseEvents::Table)
                .col(CaseEvents::CaseId)
                .col(CaseEvents::At)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(CaseSettings::Table)
                .col(uuid_pk(CaseSettings::DealerId))
                .col(json(CaseSettings::Rules))
                .col(ts(CaseSettings::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(CaseSettings::Table, CaseSettings::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["case_settings", "case_events", "cases"] {
            m.drop_table(Table::drop().table(Alias::new(t)).to_owned())
                .await?;
        }
        Ok(())
    }
}
