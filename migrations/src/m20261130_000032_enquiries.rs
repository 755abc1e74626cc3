//! Enquiries and complaints (信息咨询、业务受理和投诉, issue 13 part 2): the
//! customer's questions and complaints, the customer centre's queue with a
//! first-answer due time, each dealer's answer time, and the link from a
//! complaint to the one unhappy-customer case it opened.
//!
//! `fingerprint` (the customer, topic, words and subject, hashed) is unique
//! per dealer while the enquiry is not closed, and NULL once it is: the same
//! question sent twice (a retry without a key, two taps, two instances) is
//! one enquiry, and may be asked again after the first is closed. A plain
//! unique index does it on both databases: NULLs never clash.
//! `cases.enquiry_id` is unique: one enquiry opens at most one case.
use sea_orm_migration::prelude::*;

use crate::col::*;
use crate::m20261128_000001_dealers_and_users::Dealers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Enquiries {
    Table,
    Id,
    DealerId,
    CustomerId,
    VehicleId,
    OrderId,
    Topic,
    Text,
    PreferredContact,
    Source,
    RecordedBy,
    Fingerprint,
    State,
    DueAt,
    ClaimedBy,
    ClaimedUntil,
    Answer,
    AnsweredBy,
    AnsweredAt,
    ClosedBy,
    ClosedAt,
    CaseId,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum EnquirySettings {
    Table,
    DealerId,
    AnswerWithinMinutes,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Cases {
    Table,
    EnquiryId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Enquiries::Table)
                .col(uuid_pk(Enquiries::Id))
                .col(uuid(Enquiries::DealerId))
                .col(uuid(Enquiries::CustomerId))
                .col(uuid_null(Enquiries::VehicleId))
                .col(uuid_null(Enquiries::OrderId))
                .col(string(Enquiries::Topic, 16))
                .col(ColumnDef::new(Enquiries::Text).text().not_null())
                .col(string(Enquiries::PreferredContact, 8))
                .col(string(Enquiries::Source, 16))
                .col(uuid_null(Enquiries::RecordedBy))
                .col(string_null(Enquiries::Fingerprint, 64))
                .col(string(Enquiries::State, 16))
                .col(ts(Enquiries::DueAt))
                .col(uuid_null(Enquiries::ClaimedBy))
                .col(ts_null(Enquiries::ClaimedUntil))
                .col(text_null(Enquiries::Answer))
                .col(uuid_null(Enquiries::AnsweredBy))
                .col(ts_null(Enquiries::AnsweredAt))
                .col(uuid_null(Enquiries::ClosedBy))
                .col(ts_null(Enquiries::ClosedAt))
                .col(uuid_null(Enquiries::CaseId))
                .col(int(Enquiries::Version))
                .col(ts(Enquiries::CreatedAt))
                .col(ts(Enquiries::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Enquiries::Table, Enquiries::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_enquiries_fingerprint")
                .table(Enquiries::Table)
                .col(Enquiries::DealerId)
                .col(Enquiries::Fingerprint)
                .unique()
                .to_owned(),
        )
        .await?;
        // the queue: by dealer and state, by due time
        m.create_index(
            Index::create()
                .name("ix_enquiries_dealer_state_due")
                .table(Enquiries::Table)
                .col(Enquiries::DealerId)
                .col(Enquiries::State)
                .col(Enquiries::DueAt)
                .to_owned(),
        )
        .await?;
        // the customer's own list
        m.create_index(
            Index::create()
                .name("ix_enquiries_customer")
                .table(Enquiries::Table)
                .col(Enquiries::CustomerId)
                .col(Enquiries::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(EnquirySettings::Table)
                .col(uuid_pk(EnquirySettings::DealerId))
                .col(int(EnquirySettings::AnswerWithinMinutes))
                .col(ts(EnquirySettings::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(EnquirySettings::Table, EnquirySettings::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Cases::Table)
                .add_column(uuid_null(Cases::EnquiryId))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_cases_enquiry")
                .table(Cases::Table)
                .col(Cases::EnquiryId)
                .unique()
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ux_cases_enquiry")
                .table(Cases::Table)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Cases::Table)
                .drop_column(Cases::EnquiryId)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(EnquirySettings::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Enquiries::Table).to_owned())
            .await
    }
}
