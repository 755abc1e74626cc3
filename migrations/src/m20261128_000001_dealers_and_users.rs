use sea_orm_migration::prelude::*;

use crate::col::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Dealers {
    Table,
    Id,
    Code,
    Name,
    Timezone,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    DealerId,
    Username,
    DisplayName,
    PasswordHash,
    Roles,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Dealers::Table)
                .col(uuid_pk(Dealers::Id))
                .col(string(Dealers::Code, 32).unique_key())
                .col(string(Dealers::Name, 100))
                .col(string(Dealers::Timezone, 64))
                .col(ts(Dealers::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(uuid_pk(Users::Id))
                .col(uuid(Users::DealerId))
                .col(string(Users::Username, 64))
                .col(string(Users::DisplayName, 100))
                .col(string(Users::PasswordHash, 200))
                .col(json(Users::Roles))
                .col(boolean(Users::Active))
                .col(ts(Users::CreatedAt))
                .col(ts(Users::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Users::Table, Users::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_users_dealer_username")
                .table(Users::Table)
                .col(Users::DealerId)
                .col(Users::Username)
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Users::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Dealers::Table).to_owned())
            .await
    }
}
