//! The right to erasure (删除权): a customer's request, the service
//! manager's decision, and `customers.erased_at` once the person is
//! anonymised. `open_key` holds the customer's id while a request is
//! undecided and NULL once it is decided, so a customer has at most one open
//! request (unique per dealer) and repeating the request finds it.
use sea_orm_migration::prelude::*;

use crate::col::*;

#[derive(DeriveIden)]
enum ErasureRequests {
    Table,
    Id,
    DealerId,
    CustomerId,
    State,
    OpenKey,
    /// The member of staff who asked on the customer's behalf; NULL when the
    /// customer asked in the app.
    RequestedBy,
    Note,
    DueAt,
    DecidedBy,
    DecidedAt,
    Reason,
    /// The name the customer goes by after the erasure.
    Pseudonym,
    Version,
    CreatedAt,
    UpdatedAt,
}

/// The audit of a request: who asked, who decided, when and why.
#[derive(DeriveIden)]
enum ErasureRequestEvents {
    Table,
    Id,
    DealerId,
    RequestId,
    ActorId,
    OnBehalfOf,
    FromState,
    ToState,
    Reason,
    At,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    ErasedAt,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ErasureRequests::Table)
                .col(uuid_pk(ErasureRequests::Id))
                .col(uuid(ErasureRequests::DealerId))
                .col(uuid(ErasureRequests::CustomerId))
                .col(string(ErasureRequests::State, 16))
                .col(uuid_null(ErasureRequests::OpenKey))
                .col(uuid_null(ErasureRequests::RequestedBy))
                .col(string_null(ErasureRequests::Note, 500))
                .col(ts(ErasureRequests::DueAt))
                .col(uuid_null(ErasureRequests::DecidedBy))
                .col(ts_null(ErasureRequests::DecidedAt))
                .col(string_null(ErasureRequests::Reason, 500))
                .col(string_null(ErasureRequests::Pseudonym, 64))
                .col(int(ErasureRequests::Version))
                .col(ts(ErasureRequests::CreatedAt))
                .col(ts(ErasureRequests::UpdatedAt))
                .to_owned(),
        )
        .await?;
        // one open request a customer
        m.create_index(
            Index::create()
                .name("ux_erasure_requests_open")
                .table(ErasureRequests::Table)
                .col(ErasureRequests::DealerId)
                .col(ErasureRequests::OpenKey)
                .unique()
                .to_owned(),
        )
        .await?;
        // the manager's list by state; a customer's own requests
        m.create_index(
            Index::create()
                .name("ix_erasure_requests_state")
                .table(ErasureRequests::Table)
                .col(ErasureRequests::DealerId)
                .col(ErasureRequests::State)
                .col(ErasureRequests::Id)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_erasure_requests_customer")
                .table(ErasureRequests::Table)
                .col(ErasureRequests::CustomerId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ErasureRequestEvents::Table)
                .col(uuid_pk(ErasureRequestEvents::Id))
                .col(uuid(ErasureRequestEvents::DealerId))
                .col(uuid(ErasureRequestEvents::RequestId))
                .col(uuid(ErasureRequestEvents::ActorId))
                .col(uuid_null(ErasureRequestEvents::OnBehalfOf))
                .col(string_null(ErasureRequestEvents::FromState, 16))
                .col(string(ErasureRequestEvents::ToState, 16))
                .col(string_null(ErasureRequestEvents::Reason, 500))
                .col(ts(ErasureRequestEvents::At))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_erasure_request_events_request")
                .table(ErasureRequestEvents::Table)
                .col(ErasureRequestEvents::RequestId)
                .col(ErasureRequestEvents::At)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Customers::Table)
                .add_column(ts_null(Customers::ErasedAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Customers::Table)
                .drop_column(Customers::ErasedAt)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(ErasureRequestEvents::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(ErasureRequests::Table).to_owned())
            .await
    }
}
