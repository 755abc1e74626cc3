//! What the daily board needs of a delivered order, written once in the
//! delivery's transaction (issue 11): its revenue by pay type, whether it was
//! a comeback, QC-reworked, estimated before work, on time. A delivered
//! order no longer changes, so these are final; a year of figures reads
//! them instead of every job and clock interval of 20,000 orders. And the
//! follow-up messages sent by (dealer, kind, time), so the follow-up share
//! of a range is read by time, not order by order.
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
enum OrderOutcomes {
    Table,
    OrderId,
    DealerId,
    AdvisorId,
    ArrivedAt,
    DeliveredAt,
    Comeback,
    QcReworked,
    /// Null: no work was clocked.
    EstimateBeforeWork,
    /// Null: no time was promised.
    OnTime,
    RecordedAt,
}

#[derive(DeriveIden)]
enum OrderRevenue {
    Table,
    OrderId,
    PayType,
    DealerId,
    DeliveredAt,
    LabourCents,
    PartsCents,
    GrossCents,
}

fn big(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().to_owned()
}

fn bool_null(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).boolean().null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(OrderOutcomes::Table)
                .col(uuid_pk(OrderOutcomes::OrderId))
                .col(uuid(OrderOutcomes::DealerId))
                .col(uuid_null(OrderOutcomes::AdvisorId))
                .col(ts(OrderOutcomes::ArrivedAt))
                .col(ts(OrderOutcomes::DeliveredAt))
                .col(boolean(OrderOutcomes::Comeback))
                .col(boolean(OrderOutcomes::QcReworked))
                .col(bool_null(OrderOutcomes::EstimateBeforeWork))
                .col(bool_null(OrderOutcomes::OnTime))
                .col(ts(OrderOutcomes::RecordedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(OrderOutcomes::Table, OrderOutcomes::OrderId)
                        .to(RepairOrders::Table, RepairOrders::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(OrderOutcomes::Table, OrderOutcomes::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_order_outcomes_dealer_delivered")
                .table(OrderOutcomes::Table)
                .col(OrderOutcomes::DealerId)
                .col(OrderOutcomes::DeliveredAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(OrderRevenue::Table)
                .col(uuid(OrderRevenue::OrderId))
                .col(string(OrderRevenue::PayType, 16))
                .col(uuid(OrderRevenue::DealerId))
                .col(ts(OrderRevenue::DeliveredAt))
                .col(big(OrderRevenue::LabourCents))
                .col(big(OrderRevenue::PartsCents))
                .col(big(OrderRevenue::GrossCents))
                .primary_key(
                    Index::create()
                        .col(OrderRevenue::OrderId)
                        .col(OrderRevenue::PayType),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(OrderRevenue::Table, OrderRevenue::OrderId)
                        .to(OrderOutcomes::Table, OrderOutcomes::OrderId),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_order_revenue_dealer_delivered")
                .table(OrderRevenue::Table)
                .col(OrderRevenue::DealerId)
                .col(OrderRevenue::DeliveredAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_outbox_dealer_kind_sent")
                .table(Alias::new("outbox_messages"))
                .col(Alias::new("dealer_id"))
                .col(Alias::new("kind"))
                .col(Alias::new("sent_at"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_outbox_dealer_kind_sent")
                .table(Alias::new("outbox_messages"))
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(OrderRevenue::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(OrderOutcomes::Table).to_owned())
            .await
    }
}
