//! Special tools and equipment (设施管理): the tools and equipment of a
//! dealer, the lending register, the upkeep records, the repair / scrap
//! requests and the losses and damages recorded against a person.
//! A tool is out on at most one open loan (`returned_at IS NULL`): a partial
//! unique index, so two lends at the same moment leave one loan. A tool has
//! at most one open request (requested or approved), so a retried request
//! is never a second one. An upkeep is recorded once per tool and day.
use sea_orm_migration::prelude::*;

use crate::col::*;
use crate::m20261128_000001_dealers_and_users::Dealers;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Tools {
    Table,
    Id,
    DealerId,
    Code,
    Name,
    Kind,
    Location,
    State,
    HolderUserId,
    UpkeepIntervalDays,
    LastUpkeepOn,
    Note,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum ToolLoans {
    Table,
    Id,
    DealerId,
    ToolId,
    ToUserId,
    JobId,
    LentBy,
    LentAt,
    DueAt,
    ReturnedAt,
    ReturnedTo,
    Condition,
    Note,
}

#[derive(DeriveIden)]
enum EquipmentUpkeep {
    Table,
    Id,
    DealerId,
    ToolId,
    DoneOn,
    DoneBy,
    Work,
    NextDueOn,
    RecordedBy,
    RecordedAt,
}

#[derive(DeriveIden)]
enum ToolRequests {
    Table,
    Id,
    DealerId,
    ToolId,
    Kind,
    Reason,
    State,
    RequestedBy,
    RequestedAt,
    DecidedBy,
    DecidedAt,
    DecisionNote,
    DoneBy,
    DoneAt,
    Version,
}

#[derive(DeriveIden)]
enum ToolIncidents {
    Table,
    Id,
    DealerId,
    ToolId,
    LoanId,
    UserId,
    Kind,
    ChargeCents,
    Note,
    RecordedBy,
    RecordedAt,
}

fn dealer_fk(t: impl IntoIden, c: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(t, c)
        .to(Dealers::Table, Dealers::Id)
        .to_owned()
}

fn user_fk(t: impl IntoIden, c: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(t, c)
        .to(Users::Table, Users::Id)
        .to_owned()
}

fn tool_fk(t: impl IntoIden, c: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(t, c)
        .to(Tools::Table, Tools::Id)
        .to_owned()
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Tools::Table)
                .col(uuid_pk(Tools::Id))
                .col(uuid(Tools::DealerId))
                .col(string(Tools::Code, 32))
                .col(string(Tools::Name, 100))
                .col(string(Tools::Kind, 16))
                .col(string_null(Tools::Location, 100))
                .col(string(Tools::State, 16))
                .col(uuid_null(Tools::HolderUserId))
                .col(int_null(Tools::UpkeepIntervalDays))
                .col(date_null(Tools::LastUpkeepOn))
                .col(text_null(Tools::Note))
                .col(ts(Tools::CreatedAt))
                .col(ts(Tools::UpdatedAt))
                .col(int(Tools::Version))
                .foreign_key(&mut dealer_fk(Tools::Table, Tools::DealerId))
                .foreign_key(&mut user_fk(Tools::Table, Tools::HolderUserId))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_tools_dealer_code")
                .table(Tools::Table)
                .col(Tools::DealerId)
                .col(Tools::Code)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_tools_holder")
                .table(Tools::Table)
                .col(Tools::HolderUserId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ToolLoans::Table)
                .col(uuid_pk(ToolLoans::Id))
                .col(uuid(ToolLoans::DealerId))
                .col(uuid(ToolLoans::ToolId))
                .col(uuid(ToolLoans::ToUserId))
                .col(uuid_null(ToolLoans::JobId))
                .col(uuid(ToolLoans::LentBy))
                .col(ts(ToolLoans::LentAt))
                .col(ts(ToolLoans::DueAt))
                .col(ts_null(ToolLoans::ReturnedAt))
                .col(uuid_null(ToolLoans::ReturnedTo))
                .col(string_null(ToolLoans::Condition, 16))
                .col(text_null(ToolLoans::Note))
                .foreign_key(&mut dealer_fk(ToolLoans::Table, ToolLoans::DealerId))
                .foreign_key(&mut tool_fk(ToolLoans::Table, ToolLoans::ToolId))
                .foreign_key(&mut user_fk(ToolLoans::Table, ToolLoans::ToUserId))
                .foreign_key(&mut user_fk(ToolLoans::Table, ToolLoans::LentBy))
                .to_owned(),
        )
        .await?;
        // the same statement on both databases: one open loan per tool
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_tool_loans_open ON tool_loans (tool_id) \
                 WHERE returned_at IS NULL",
            )
            .await?;
        m.create_index(
            Index::create()
                .name("ix_tool_loans_dealer_due")
                .table(ToolLoans::Table)
                .col(ToolLoans::DealerId)
                .col(ToolLoans::DueAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_tool_loans_to_user")
                .table(ToolLoans::Table)
                .col(ToolLoans::ToUserId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(EquipmentUpkeep::Table)
                .col(uuid_pk(EquipmentUpkeep::Id))
                .col(uuid(EquipmentUpkeep::DealerId))
                .col(uuid(EquipmentUpkeep::ToolId))
                .col(ColumnDef::new(EquipmentUpkeep::DoneOn).date().not_null())
                .col(uuid(EquipmentUpkeep::DoneBy))
                .col(ColumnDef::new(EquipmentUpkeep::Work).text().not_null())
                .col(date_null(EquipmentUpkeep::NextDueOn))
                .col(uuid(EquipmentUpkeep::RecordedBy))
                .col(ts(EquipmentUpkeep::RecordedAt))
                .foreign_key(&mut dealer_fk(
                    EquipmentUpkeep::Table,
                    EquipmentUpkeep::DealerId,
                ))
                .foreign_key(&mut tool_fk(
                    EquipmentUpkeep::Table,
                    EquipmentUpkeep::ToolId,
                ))
                .foreign_key(&mut user_fk(
                    EquipmentUpkeep::Table,
                    EquipmentUpkeep::DoneBy,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_equipment_upkeep_tool_day")
                .table(EquipmentUpkeep::Table)
                .col(EquipmentUpkeep::ToolId)
                .col(EquipmentUpkeep::DoneOn)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ToolRequests::Table)
                .col(uuid_pk(ToolRequests::Id))
                .col(uuid(ToolRequests::DealerId))
                .col(uuid(ToolRequests::ToolId))
                .col(string(ToolRequests::Kind, 16))
                .col(ColumnDef::new(ToolRequests::Reason).text().not_null())
                .col(string(ToolRequests::State, 16))
                .col(uuid(ToolRequests::RequestedBy))
                .col(ts(ToolRequests::RequestedAt))
                .col(uuid_null(ToolRequests::DecidedBy))
                .col(ts_null(ToolRequests::DecidedAt))
                .col(text_null(ToolRequests::DecisionNote))
                .col(uuid_null(ToolRequests::DoneBy))
                .col(ts_null(ToolRequests::DoneAt))
                .col(int(ToolRequests::Version))
                .foreign_key(&mut dealer_fk(ToolRequests::Table, ToolRequests::DealerId))
                .foreign_key(&mut tool_fk(ToolRequests::Table, ToolRequests::ToolId))
                .foreign_key(&mut user_fk(ToolRequests::Table, ToolRequests::RequestedBy))
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_tool_requests_open ON tool_requests (tool_id) \
                 WHERE state IN ('requested', 'approved')",
            )
            .await?;
        m.create_index(
            Index::create()
                .name("ix_tool_requests_dealer_state")
                .table(ToolRequests::Table)
                .col(ToolRequests::DealerId)
                .col(ToolRequests::State)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ToolIncidents::Table)
                .col(uuid_pk(ToolIncidents::Id))
                .col(uuid(ToolIncidents::DealerId))
                .col(uuid(ToolIncidents::ToolId))
                .col(uuid_null(ToolIncidents::LoanId))
                .col(uuid(ToolIncidents::UserId))
                .col(string(ToolIncidents::Kind, 16))
                .col(big_null(ToolIncidents::ChargeCents))
                .col(text_null(ToolIncidents::Note))
                .col(uuid(ToolIncidents::RecordedBy))
                .col(ts(ToolIncidents::RecordedAt))
                .foreign_key(&mut dealer_fk(
                    ToolIncidents::Table,
                    ToolIncidents::DealerId,
                ))
                .foreign_key(&mut tool_fk(ToolIncidents::Table, ToolIncidents::ToolId))
                .foreign_key(&mut user_fk(ToolIncidents::Table, ToolIncidents::UserId))
                .to_owned(),
        )
        .await?;
        // one incident per loan
        m.create_index(
            Index::create()
                .name("ux_tool_incidents_loan")
                .table(ToolIncidents::Table)
                .col(ToolIncidents::LoanId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_tool_incidents_user")
                .table(ToolIncidents::Table)
                .col(ToolIncidents::UserId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "tool_incidents",
            "tool_requests",
            "equipment_upkeep",
            "tool_loans",
            "tools",
        ] {
            m.drop_table(Table::drop().table(Alias::new(t)).to_owned())
                .await?;
        }
        Ok(())
    }
}
