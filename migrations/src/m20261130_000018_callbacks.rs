//! The callback list (issue 10): who the customer centre calls, each call
//! made (《维修跟踪记录表》), and customers no call reaches.
use sea_orm_migration::prelude::*;

use crate::col::*;
use crate::m20261128_000001_dealers_and_users::Dealers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Callbacks {
    Table,
    Id,
    DealerId,
    /// `follow_up:{order}` or `case:{case}`: one entry per reason to call.
    SourceKey,
    Reason,
    CustomerId,
    OrderId,
    CaseId,
    Priority,
    State,
    DueAt,
    DeadlineAt,
    Tries,
    ClaimedBy,
    ClaimedUntil,
    LastResult,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CallbackCalls {
    Table,
    Id,
    CallbackId,
    DealerId,
    CustomerId,
    OrderId,
    AgentId,
    CalledAt,
    Result,
    Note,
    CallBackAt,
    ResponseId,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    CallsUnreachableAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Callbacks::Table)
                .col(uuid_pk(Callbacks::Id))
                .col(uuid(Callbacks::DealerId))
                .col(string(Callbacks::SourceKey, 80))
                .col(string(Callbacks::Reason, 24))
                .col(uuid(Callbacks::CustomerId))
                .col(uuid_null(Callbacks::OrderId))
                .col(uuid_null(Callbacks::CaseId))
                .col(int(Callbacks::Priority))
                .col(string(Callbacks::State, 24))
                .col(ts(Callbacks::DueAt))
                .col(ts(Callbacks::DeadlineAt))
                .col(int(Callbacks::Tries))
                .col(uuid_null(Callbacks::ClaimedBy))
                .col(ts_null(Callbacks::ClaimedUntil))
                .col(string_null(Callbacks::LastResult, 24))
                .col(int(Callbacks::Version))
                .col(ts(Callbacks::CreatedAt))
                .col(ts(Callbacks::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Callbacks::Table, Callbacks::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await?;
        // a delivery retried, a case opened twice: one entry
        m.create_index(
            Index::create()
                .name("ux_callbacks_source")
                .table(Callbacks::Table)
                .col(Callbacks::DealerId)
                .col(Callbacks::SourceKey)
                .unique()
                .to_owned(),
        )
        .await?;
        // the day's list: queued entries of a dealer by due time
        m.create_index(
            Index::create()
                .name("ix_callbacks_queue")
                .table(Callbacks::Table)
                .col(Callbacks::DealerId)
                .col(Callbacks::State)
                .col(Callbacks::DueAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(CallbackCalls::Table)
                .col(uuid_pk(CallbackCalls::Id))
                .col(uuid(CallbackCalls::CallbackId))
                .col(uuid(CallbackCalls::DealerId))
                .col(uuid(CallbackCalls::CustomerId))
                .col(uuid_null(CallbackCalls::OrderId))
                .col(uuid(CallbackCalls::AgentId))
                .col(ts(CallbackCalls::CalledAt))
                .col(string(CallbackCalls::Result, 24))
                .col(text_null(CallbackCalls::Note))
                .col(ts_null(CallbackCalls::CallBackAt))
                .col(uuid_null(CallbackCalls::ResponseId))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_callback_calls_callback")
                .table(CallbackCalls::Table)
                .col(CallbackCalls::CallbackId)
                .col(CallbackCalls::CalledAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_callback_calls_dealer_time")
                .table(CallbackCalls::Table)
                .col(CallbackCalls::DealerId)
                .col(CallbackCalls::CalledAt)
                .to_owned(),
        )
        .await?;
        // the analysis: was an order's customer reached within 3 days
        m.create_index(
            Index::create()
                .name("ix_callback_calls_order")
                .table(CallbackCalls::Table)
                .col(CallbackCalls::OrderId)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Customers::Table)
                .add_column(ts_null(Customers::CallsUnreachableAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Customers::Table)
                .drop_column(Customers::CallsUnreachableAt)
                .to_owned(),
        )
        .await?;
        for t in ["callback_calls", "callbacks"] {
            m.drop_table(Table::drop().table(Alias::new(t)).to_owned())
                .await?;
        }
        Ok(())
    }
}
