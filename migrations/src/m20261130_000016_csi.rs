//! CSI (issue 10): each dealer's questionnaire, kept by version so that a
//! response keeps the questions and weights it was answered with; and the
//! responses, one per order and source.
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

#[derive(DeriveIden)]
enum CsiResponses {
    Table,
    Id,
    DealerId,
    OrderId,
    CustomerId,
    Source,
    QuestionnaireVersion,
    Answers,
    Recommend,
    Comment,
    QuickRating,
    CsiTenths,
    Sections,
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
        .await?;
        m.create_table(
            Table::create()
                .table(CsiResponses::Table)
                .col(uuid_pk(CsiResponses::Id))
                .col(uuid(CsiResponses::DealerId))
                .col(uuid(CsiResponses::OrderId))
                .col(uuid(CsiResponses::CustomerId))
                .col(string(CsiResponses::Source, 16))
                .col(int(CsiResponses::QuestionnaireVersion))
                .col(json(CsiResponses::Answers))
                .col(int_null(CsiResponses::Recommend))
                .col(text_null(CsiResponses::Comment))
                .col(int_null(CsiResponses::QuickRating))
                .col(int_null(CsiResponses::CsiTenths))
                .col(json(CsiResponses::Sections))
                .col(ts(CsiResponses::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(CsiResponses::Table, CsiResponses::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await?;
        // one survey answer per order: a second submit finds the first
        m.create_index(
            Index::create()
                .name("ux_csi_responses_order_source")
                .table(CsiResponses::Table)
                .col(CsiResponses::OrderId)
                .col(CsiResponses::Source)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_csi_responses_dealer_created")
                .table(CsiResponses::Table)
                .col(CsiResponses::DealerId)
                .col(CsiResponses::CreatedAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(CsiResponses::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(CsiQuestionnaires::Table).to_owned())
            .await
    }
}
