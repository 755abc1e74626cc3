//! Every look at a customer's personal data (个人信息查阅记录): who, when,
//! which customer, what (a read, a search, a reveal, an export), through
//! which endpoint and from which address. Written in batches behind the
//! requests (`services::privacy::audit`); a reveal is written with its request.
use sea_orm_migration::prelude::*;

use crate::col::*;

#[derive(DeriveIden)]
enum PersonalDataAccess {
    Table,
    Id,
    DealerId,
    UserId,
    CustomerId,
    Action,
    /// Revealed fields, comma-separated.
    Fields,
    Reason,
    /// `GET /api/v1/customers/{id}`: the method and route pattern.
    Endpoint,
    ClientAddr,
    At,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(PersonalDataAccess::Table)
                .col(uuid_pk(PersonalDataAccess::Id))
                .col(uuid(PersonalDataAccess::DealerId))
                .col(uuid(PersonalDataAccess::UserId))
                .col(uuid(PersonalDataAccess::CustomerId))
                .col(string(PersonalDataAccess::Action, 16))
                .col(string_null(PersonalDataAccess::Fields, 100))
                .col(string_null(PersonalDataAccess::Reason, 500))
                .col(string(PersonalDataAccess::Endpoint, 200))
                .col(string_null(PersonalDataAccess::ClientAddr, 64))
                .col(ts(PersonalDataAccess::At))
                .to_owned(),
        )
        .await?;
        // who looked at a customer; what a user looked at (and the bulk-read count)
        for (name, col) in [
            (
                "ix_personal_data_access_customer",
                PersonalDataAccess::CustomerId,
            ),
            ("ix_personal_data_access_user", PersonalDataAccess::UserId),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(PersonalDataAccess::Table)
                    .col(PersonalDataAccess::DealerId)
                    .col(col)
                    .col(PersonalDataAccess::At)
                    .to_owned(),
            )
            .await?;
        }
        m.create_index(
            Index::create()
                .name("ix_personal_data_access_at")
                .table(PersonalDataAccess::Table)
                .col(PersonalDataAccess::DealerId)
                .col(PersonalDataAccess::At)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(PersonalDataAccess::Table).to_owned())
            .await
    }
}
