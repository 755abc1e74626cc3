//! Comebacks (返修, issue 18): the comeback record (《返修车处理记录》), one
//! per (dealer, source) so a retried job or a second QC failure of the same
//! round writes it once; and the window a repeated job counts in, a
//! workshop setting (30 days unless set).
use sea_orm_migration::prelude::*;

use crate::col::*;
use crate::m20261128_000001_dealers_and_users::Dealers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RepairOrders {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum WorkshopSettings {
    Table,
    ComebackWindowDays,
}

#[derive(DeriveIden, Clone, Copy)]
enum Comebacks {
    Table,
    Id,
    DealerId,
    Kind,
    /// `order:<order>` (found by a job or marked: one per order), `qc:<order>:<round>`.
    SourceKey,
    OrderId,
    FirstOrderId,
    VehicleId,
    CustomerId,
    FirstTechnicianId,
    FirstAdvisorId,
    /// The repeated job's key (`domain::kpi::job_key`) and description.
    JobKey,
    JobDescription,
    Note,
    Cause,
    Analysis,
    CorrectiveAction,
    ActionOwnerId,
    RedoCostCents,
    State,
    AnalysedBy,
    AnalysedAt,
    ActionDoneBy,
    ActionDoneAt,
    ClosedBy,
    ClosedAt,
    Version,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(WorkshopSettings::Table)
                .add_column(
                    ColumnDef::new(WorkshopSettings::ComebackWindowDays)
                        .integer()
                        .not_null()
                        .default(30),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Comebacks::Table)
                .col(uuid_pk(Comebacks::Id))
                .col(uuid(Comebacks::DealerId))
                .col(string(Comebacks::Kind, 16))
                .col(string(Comebacks::SourceKey, 120))
                .col(uuid(Comebacks::OrderId))
                .col(uuid_null(Comebacks::FirstOrderId))
                .col(uuid(Comebacks::VehicleId))
                .col(uuid(Comebacks::CustomerId))
                .col(uuid_null(Comebacks::FirstTechnicianId))
                .col(uuid_null(Comebacks::FirstAdvisorId))
                .col(string_null(Comebacks::JobKey, 520))
                .col(text_null(Comebacks::JobDescription))
                .col(text_null(Comebacks::Note))
                .col(string_null(Comebacks::Cause, 16))
                .col(text_null(Comebacks::Analysis))
                .col(text_null(Comebacks::CorrectiveAction))
                .col(uuid_null(Comebacks::ActionOwnerId))
                .col(big_null(Comebacks::RedoCostCents))
                .col(string(Comebacks::State, 16))
                .col(uuid_null(Comebacks::AnalysedBy))
                .col(ts_null(Comebacks::AnalysedAt))
                .col(uuid_null(Comebacks::ActionDoneBy))
                .col(ts_null(Comebacks::ActionDoneAt))
                .col(uuid_null(Comebacks::ClosedBy))
                .col(ts_null(Comebacks::ClosedAt))
                .col(int(Comebacks::Version))
                .col(uuid_null(Comebacks::CreatedBy))
                .col(ts(Comebacks::CreatedAt))
                .col(ts(Comebacks::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Comebacks::Table, Comebacks::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Comebacks::Table, Comebacks::OrderId)
                        .to(RepairOrders::Table, RepairOrders::Id),
                )
                .to_owned(),
        )
        .await?;
        for (name, cols, unique) in [
            (
                "ux_comebacks_source",
                &[Comebacks::DealerId, Comebacks::SourceKey][..],
                true,
            ),
            // the month's records, the list by state
            (
                "ix_comebacks_dealer_created",
                &[Comebacks::DealerId, Comebacks::CreatedAt][..],
                false,
            ),
            (
                "ix_comebacks_dealer_state",
                &[Comebacks::DealerId, Comebacks::State][..],
                false,
            ),
            ("ix_comebacks_order", &[Comebacks::OrderId][..], false),
        ] {
            let mut i = Index::create();
            i.name(name).table(Comebacks::Table);
            for c in cols {
                i.col(*c);
            }
            if unique {
                i.unique();
            }
            m.create_index(i.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Comebacks::Table).to_owned())
            .await?;
        m.alter_table(
            Table::alter()
                .table(WorkshopSettings::Table)
                .drop_column(WorkshopSettings::ComebackWindowDays)
                .to_owned(),
        )
        .await
    }
}
