//! Parts (配件管理): a dealer's stocked parts and the ledger of every stock
//! movement. `parts.on_hand` and `parts.reserved` (thousandths of a unit)
//! are the sums of the ledger's deltas: they change only in the
//! transaction that writes the ledger row, through a conditional UPDATE
//! that keeps `on_hand - reserved >= 0` for whatever takes unreserved
//! stock. Part numbers are unique per dealer. `part_settings` holds the
//! ABC cut-offs, the safety days and the season factors per dealer (no row:
//! the defaults).
use sea_orm_migration::prelude::*;

use crate::col::*;
use crate::m20261128_000001_dealers_and_users::Dealers;

#[derive(DeriveIden)]
enum Parts {
    Table,
    Id,
    DealerId,
    Number,
    Name,
    Bin,
    CostCents,
    PriceCents,
    OnHand,
    Reserved,
    OnOrder,
    PackSize,
    LeadTimeDays,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PartMovements {
    Table,
    Id,
    DealerId,
    PartId,
    Kind,
    OnHandDelta,
    ReservedDelta,
    UnitCostCents,
    UnitPriceCents,
    OrderId,
    JobId,
    Reference,
    /// A receipt: what the supplier's order said (运输收货反馈).
    OrderedQty,
    /// A receipt: what arrived damaged (not put on the shelf).
    DamagedQty,
    Note,
    ActorId,
    At,
}

#[derive(DeriveIden)]
enum PartSettings {
    Table,
    DealerId,
    ACutoffBp,
    BCutoffBp,
    SafetyDays,
    SeasonPercent,
    Version,
    UpdatedAt,
}

fn big(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().to_owned()
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Parts::Table)
                .col(uuid_pk(Parts::Id))
                .col(uuid(Parts::DealerId))
                .col(string(Parts::Number, 40))
                .col(string(Parts::Name, 200))
                .col(string_null(Parts::Bin, 40))
                .col(big(Parts::CostCents))
                .col(big(Parts::PriceCents))
                .col(big(Parts::OnHand))
                .col(big(Parts::Reserved))
                .col(big(Parts::OnOrder))
                .col(big(Parts::PackSize))
                .col(int(Parts::LeadTimeDays))
                .col(int(Parts::Version))
                .col(ts(Parts::CreatedAt))
                .col(ts(Parts::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Parts::Table, Parts::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_parts_dealer_number")
                .table(Parts::Table)
                .col(Parts::DealerId)
                .col(Parts::Number)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(PartMovements::Table)
                .col(uuid_pk(PartMovements::Id))
                .col(uuid(PartMovements::DealerId))
                .col(uuid(PartMovements::PartId))
                .col(string(PartMovements::Kind, 16))
                .col(big(PartMovements::OnHandDelta))
                .col(big(PartMovements::ReservedDelta))
                .col(big(PartMovements::UnitCostCents))
                .col(big_null(PartMovements::UnitPriceCents))
                .col(uuid_null(PartMovements::OrderId))
                .col(uuid_null(PartMovements::JobId))
                .col(string_null(PartMovements::Reference, 100))
                .col(big_null(PartMovements::OrderedQty))
                .col(big_null(PartMovements::DamagedQty))
                .col(text_null(PartMovements::Note))
                .col(uuid(PartMovements::ActorId))
                .col(ts(PartMovements::At))
                .foreign_key(
                    ForeignKey::create()
                        .from(PartMovements::Table, PartMovements::PartId)
                        .to(Parts::Table, Parts::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_part_movements_part_at")
                .table(PartMovements::Table)
                .col(PartMovements::PartId)
                .col(PartMovements::At)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_part_movements_dealer_at")
                .table(PartMovements::Table)
                .col(PartMovements::DealerId)
                .col(PartMovements::At)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_part_movements_job")
                .table(PartMovements::Table)
                .col(PartMovements::JobId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(PartSettings::Table)
                .col(uuid_pk(PartSettings::DealerId))
                .col(int(PartSettings::ACutoffBp))
                .col(int(PartSettings::BCutoffBp))
                .col(int(PartSettings::SafetyDays))
                .col(json(PartSettings::SeasonPercent))
                .col(int(PartSettings::Version))
                .col(ts(PartSettings::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(PartSettings::Table, PartSettings::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(PartSettings::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(PartMovements::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Parts::Table).to_owned())
            .await
    }
}
