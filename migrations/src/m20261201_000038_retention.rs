//! Retention of personal data (个人信息保存期限): each dealer's limits per
//! kind, the daily runs that enforce them (one row per dealer and local day,
//! claimed by one instance under a lease), and the mark a rescue keeps when
//! its location is cleared.
use sea_orm_migration::prelude::*;

use crate::col::*;
use crate::m20261128_000001_dealers_and_users::Dealers;

#[derive(DeriveIden)]
enum RetentionSettings {
    Table,
    DealerId,
    OtpCodeDays,
    LoginFailureDays,
    MessageBodyMonths,
    PhotoMonths,
    RescueLocationMonths,
    AuditYears,
    Version,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RetentionRuns {
    Table,
    Id,
    DealerId,
    /// The dealer's local date the run is for: one run per dealer and day.
    Day,
    /// The instance working on it, until `lease_until`.
    LeaseOwner,
    LeaseUntil,
    /// How many times it was claimed (more than 1: a crashed run finished by another).
    Attempts,
    /// `{"otp_codes": 3, …}`: rows removed (or cleared) per kind so far.
    Removed,
    StartedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum Rescues {
    Table,
    LocationRemovedAt,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(RetentionSettings::Table)
                .col(uuid_pk(RetentionSettings::DealerId))
                .col(int(RetentionSettings::OtpCodeDays))
                .col(int(RetentionSettings::LoginFailureDays))
                .col(int(RetentionSettings::MessageBodyMonths))
                .col(int(RetentionSettings::PhotoMonths))
                .col(int(RetentionSettings::RescueLocationMonths))
                .col(int(RetentionSettings::AuditYears))
                .col(int(RetentionSettings::Version))
                .col(uuid_null(RetentionSettings::UpdatedBy))
                .col(ts(RetentionSettings::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(RetentionSettings::Table, RetentionSettings::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RetentionRuns::Table)
                .col(uuid_pk(RetentionRuns::Id))
                .col(uuid(RetentionRuns::DealerId))
                .col(ColumnDef::new(RetentionRuns::Day).date().not_null())
                .col(uuid_null(RetentionRuns::LeaseOwner))
                .col(ts_null(RetentionRuns::LeaseUntil))
                .col(int(RetentionRuns::Attempts))
                .col(json(RetentionRuns::Removed))
                .col(ts(RetentionRuns::StartedAt))
                .col(ts_null(RetentionRuns::FinishedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(RetentionRuns::Table, RetentionRuns::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await?;
        // the claim: one run per dealer and day, whichever instance inserts it
        m.create_index(
            Index::create()
                .name("ux_retention_runs_dealer_day")
                .table(RetentionRuns::Table)
                .col(RetentionRuns::DealerId)
                .col(RetentionRuns::Day)
                .unique()
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Rescues::Table)
                .add_column(ts_null(Rescues::LocationRemovedAt))
                .to_owned(),
        )
        .await?;
        // what the run looks for: a dealer's old codes; whether a photo's
        // bytes are still used by any order (of any dealer: the store is shared)
        m.create_index(
            Index::create()
                .name("ix_otp_codes_dealer_created")
                .table(Alias::new("otp_codes"))
                .col(Alias::new("dealer_id"))
                .col(Alias::new("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_repair_order_photos_sha256")
                .table(Alias::new("repair_order_photos"))
                .col(Alias::new("sha256"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            ("ix_repair_order_photos_sha256", "repair_order_photos"),
            ("ix_otp_codes_dealer_created", "otp_codes"),
        ] {
            m.drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        m.alter_table(
            Table::alter()
                .table(Rescues::Table)
                .drop_column(Rescues::LocationRemovedAt)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(RetentionRuns::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(RetentionSettings::Table).to_owned())
            .await
    }
}
