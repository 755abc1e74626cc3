use sea_orm_migration::prelude::*;

use crate::col::*;
use crate::m20261128_000001_dealers_and_users::Dealers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DealerSchedules {
    Table,
    DealerId,
    SlotMinutes,
    ReceptionPerSlot,
    WorkshopBays,
    OpeningHours,
    Version,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ClosedDates {
    Table,
    DealerId,
    Date,
    Reason,
}

#[derive(DeriveIden)]
enum MenuItems {
    Table,
    Id,
    DealerId,
    Code,
    NameZh,
    NameEn,
    LabourMinutes,
    Parts,
    PriceCents,
    IntervalKm,
    IntervalMonths,
    FirstService,
    Active,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SlotUsage {
    Table,
    DealerId,
    SlotStart,
    ReceptionUsed,
    BaysUsed,
}

#[derive(DeriveIden)]
enum Appointments {
    Table,
    Id,
    DealerId,
    CustomerId,
    VehicleId,
    SlotStart,
    DurationMinutes,
    HeldSlots,
    Services,
    Concern,
    ContactPhone,
    Source,
    State,
    AdvisorId,
    RescheduledFrom,
    RescheduledTo,
    CreatedBy,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AppointmentEvents {
    Table,
    Id,
    DealerId,
    AppointmentId,
    ActorId,
    FromState,
    ToState,
    Reason,
    At,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    DealerId,
    ActorId,
    Key,
    RequestHash,
    Status,
    Response,
    CreatedAt,
}

#[derive(DeriveIden)]
enum InboxMessages {
    Table,
    Id,
    DealerId,
    CustomerId,
    Kind,
    Title,
    Body,
    SubjectId,
    CreatedAt,
    ReadAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(DealerSchedules::Table)
                .col(uuid(DealerSchedules::DealerId).primary_key())
                .col(int(DealerSchedules::SlotMinutes))
                .col(int(DealerSchedules::ReceptionPerSlot))
                .col(int(DealerSchedules::WorkshopBays))
                .col(json(DealerSchedules::OpeningHours))
                .col(int(DealerSchedules::Version))
                .col(ts(DealerSchedules::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(DealerSchedules::Table, DealerSchedules::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ClosedDates::Table)
                .col(uuid(ClosedDates::DealerId))
                .col(ColumnDef::new(ClosedDates::Date).date().not_null())
                .col(string(ClosedDates::Reason, 100))
                .primary_key(
                    Index::create()
                        .col(ClosedDates::DealerId)
                        .col(ClosedDates::Date),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(MenuItems::Table)
                .col(uuid_pk(MenuItems::Id))
                .col(uuid(MenuItems::DealerId))
                .col(string(MenuItems::Code, 32))
                .col(string(MenuItems::NameZh, 100))
                .col(string(MenuItems::NameEn, 100))
                .col(int(MenuItems::LabourMinutes))
                .col(json(MenuItems::Parts))
                .col(
                    ColumnDef::new(MenuItems::PriceCents)
                        .big_integer()
                        .not_null(),
                )
                .col(int_null(MenuItems::IntervalKm))
                .col(int_null(MenuItems::IntervalMonths))
                .col(boolean(MenuItems::FirstService))
                .col(boolean(MenuItems::Active))
                .col(ts(MenuItems::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_menu_items_dealer_code")
                .table(MenuItems::Table)
                .col(MenuItems::DealerId)
                .col(MenuItems::Code)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SlotUsage::Table)
                .col(uuid(SlotUsage::DealerId))
                .col(ts(SlotUsage::SlotStart))
                .col(int(SlotUsage::ReceptionUsed))
                .col(int(SlotUsage::BaysUsed))
                .primary_key(
                    Index::create()
                        .col(SlotUsage::DealerId)
                        .col(SlotUsage::SlotStart),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Appointments::Table)
                .col(uuid_pk(Appointments::Id))
                .col(uuid(Appointments::DealerId))
                .col(uuid(Appointments::CustomerId))
                .col(uuid(Appointments::VehicleId))
                .col(ts(Appointments::SlotStart))
                .col(int(Appointments::DurationMinutes))
                .col(json(Appointments::HeldSlots))
                .col(json(Appointments::Services))
                .col(text_null(Appointments::Concern))
                .col(string(Appointments::ContactPhone, 20))
                .col(string(Appointments::Source, 16))
                .col(string(Appointments::State, 16))
                .col(uuid_null(Appointments::AdvisorId))
                .col(uuid_null(Appointments::RescheduledFrom))
                .col(uuid_null(Appointments::RescheduledTo))
                .col(uuid(Appointments::CreatedBy))
                .col(int(Appointments::Version))
                .col(ts(Appointments::CreatedAt))
                .col(ts(Appointments::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Appointments::Table, Appointments::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_appointments_dealer_slot")
                .table(Appointments::Table)
                .col(Appointments::DealerId)
                .col(Appointments::SlotStart)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_appointments_vehicle")
                .table(Appointments::Table)
                .col(Appointments::VehicleId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(AppointmentEvents::Table)
                .col(uuid_pk(AppointmentEvents::Id))
                .col(uuid(AppointmentEvents::DealerId))
                .col(uuid(AppointmentEvents::AppointmentId))
                .col(uuid(AppointmentEvents::ActorId))
                .col(string_null(AppointmentEvents::FromState, 16))
                .col(string(AppointmentEvents::ToState, 16))
                .col(text_null(AppointmentEvents::Reason))
                .col(ts(AppointmentEvents::At))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_appointment_events_appointment")
                .table(AppointmentEvents::Table)
                .col(AppointmentEvents::AppointmentId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(IdempotencyKeys::Table)
                .col(uuid(IdempotencyKeys::DealerId))
                .col(uuid(IdempotencyKeys::ActorId))
                .col(string(IdempotencyKeys::Key, 200))
                .col(string(IdempotencyKeys::RequestHash, 64))
                .col(int(IdempotencyKeys::Status))
                .col(ColumnDef::new(IdempotencyKeys::Response).text().not_null())
                .col(ts(IdempotencyKeys::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(IdempotencyKeys::DealerId)
                        .col(IdempotencyKeys::ActorId)
                        .col(IdempotencyKeys::Key),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(InboxMessages::Table)
                .col(uuid_pk(InboxMessages::Id))
                .col(uuid(InboxMessages::DealerId))
                .col(uuid(InboxMessages::CustomerId))
                .col(string(InboxMessages::Kind, 40))
                .col(string(InboxMessages::Title, 200))
                .col(ColumnDef::new(InboxMessages::Body).text().not_null())
                .col(uuid_null(InboxMessages::SubjectId))
                .col(ts(InboxMessages::CreatedAt))
                .col(ts_null(InboxMessages::ReadAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_inbox_customer")
                .table(InboxMessages::Table)
                .col(InboxMessages::CustomerId)
                .col(InboxMessages::CreatedAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            InboxMessages::Table.into_iden(),
            IdempotencyKeys::Table.into_iden(),
            AppointmentEvents::Table.into_iden(),
            Appointments::Table.into_iden(),
            SlotUsage::Table.into_iden(),
            MenuItems::Table.into_iden(),
            ClosedDates::Table.into_iden(),
            DealerSchedules::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
