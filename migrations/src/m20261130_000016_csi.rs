//! CSI (issue 10): each dealer's questionnaire, kept by version so that a
//! response keeps the questions and weights it was answered with.
use sea_orm_migration::prelude::*;

use crate::col::*;
use crate::m20261128_000001_dealers_and_users::Dealers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CsiQuestionnaires {
    Table,
    DealerId,
    Version,
    Questionnaire,
    CreatedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(CsiQuestionnaires::Table)
                .col(uuid(CsiQuestionnaires::DealerId))
                .col(int(CsiQuestionnaires::Version))
                .col(json(CsiQuestionnaires::Questionnaire))
                .col(uuid(CsiQuestionnaires::CreatedBy))
                .col(ts(CsiQuestionnaires::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(CsiQuestionnaires::DealerId)
                        .col(CsiQuestionnaires::Version),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(CsiQuestionnaires::Table, CsiQuestionnaires::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(CsiQuestionnaires::Table).to_owned())
            .await
    }
}
