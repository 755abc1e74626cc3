//! Issue 6: a booking horizon per dealer, an audit of removed mileage
//! readings, and Idempotency-Key values up to 255 characters.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

use crate::col::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DealerSchedules {
    Table,
    BookingHorizonDays,
}

#[derive(DeriveIden)]
enum MileageReadingRemovals {
    Table,
    Id,
    DealerId,
    VehicleId,
    ReadingId,
    MileageKm,
    ReadOn,
    Source,
    RecordedBy,
    RemovedBy,
    Reason,
    At,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Key,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(DealerSchedules::Table)
                .add_column(
                    ColumnDef::new(DealerSchedules::BookingHorizonDays)
                        .integer()
                        .not_null()
                        .default(365),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(MileageReadingRemovals::Table)
                .col(uuid_pk(MileageReadingRemovals::Id))
                .col(uuid(MileageReadingRemovals::DealerId))
                .col(uuid(MileageReadingRemovals::VehicleId))
                .col(uuid(MileageReadingRemovals::ReadingId))
                .col(
                    ColumnDef::new(MileageReadingRemovals::MileageKm)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(MileageReadingRemovals::ReadOn)
                        .date()
                        .not_null(),
                )
                .col(string(MileageReadingRemovals::Source, 16))
                .col(uuid_null(MileageReadingRemovals::RecordedBy))
                .col(uuid(MileageReadingRemovals::RemovedBy))
                .col(
                    ColumnDef::new(MileageReadingRemovals::Reason)
                        .text()
                        .not_null(),
                )
                .col(ts(MileageReadingRemovals::At))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_mileage_reading_removals_vehicle")
                .table(MileageReadingRemovals::Table)
                .col(MileageReadingRemovals::VehicleId)
                .to_owned(),
        )
        .await?;
        // SQLite does not enforce a VARCHAR length (and cannot alter one)
        if m.get_database_backend() == DatabaseBackend::Postgres {
            m.alter_table(
                Table::alter()
                    .table(IdempotencyKeys::Table)
                    .modify_column(
                        ColumnDef::new(IdempotencyKeys::Key)
                            .string_len(255)
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(MileageReadingRemovals::Table)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(DealerSchedules::Table)
                .drop_column(DealerSchedules::BookingHorizonDays)
                .to_owned(),
        )
        .await
    }
}
