//! 24-hour roadside rescue (24小时救援, issue 13 part 1): the rescues, each
//! step of each (the audit and the customer's live feed), and each dealer's
//! on-duty roster.
use sea_orm_migration::prelude::*;

use crate::col::*;
use crate::m20261128_000001_dealers_and_users::Dealers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Rescues {
    Table,
    Id,
    DealerId,
    CustomerId,
    VehicleId,
    Problem,
    Note,
    Lat,
    Lng,
    Address,
    ContactPhone,
    State,
    RequestedBy,
    AcceptedBy,
    DispatchDriver,
    DispatchVehicle,
    EtaAt,
    RepairOrderId,
    AlertLevel,
    NextAlertAt,
    AcceptedAt,
    OnSiteAt,
    ClosedAt,
    CancelledAt,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RescueEvents {
    Table,
    Id,
    RescueId,
    DealerId,
    Seq,
    Action,
    FromState,
    ToState,
    Note,
    ActorId,
    OnBehalfOf,
    At,
}

#[derive(DeriveIden)]
enum RescueSettings {
    Table,
    DealerId,
    Roster,
    Version,
    UpdatedAt,
}

fn double(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).double().not_null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Rescues::Table)
                .col(uuid_pk(Rescues::Id))
                .col(uuid(Rescues::DealerId))
                .col(uuid(Rescues::CustomerId))
                .col(uuid(Rescues::VehicleId))
                .col(string(Rescues::Problem, 24))
                .col(text_null(Rescues::Note))
                .col(double(Rescues::Lat))
                .col(double(Rescues::Lng))
                .col(text_null(Rescues::Address))
                .col(string(Rescues::ContactPhone, 32))
                .col(string(Rescues::State, 24))
                .col(uuid_null(Rescues::RequestedBy))
                .col(uuid_null(Rescues::AcceptedBy))
                .col(text_null(Rescues::DispatchDriver))
                .col(text_null(Rescues::DispatchVehicle))
                .col(ts_null(Rescues::EtaAt))
                // set once, by the claim that opens the order (no foreign key:
                // the claim comes first in the order's own transaction)
                .col(uuid_null(Rescues::RepairOrderId))
                .col(int(Rescues::AlertLevel))
                .col(ts_null(Rescues::NextAlertAt))
                .col(ts_null(Rescues::AcceptedAt))
                .col(ts_null(Rescues::OnSiteAt))
                .col(ts_null(Rescues::ClosedAt))
                .col(ts_null(Rescues::CancelledAt))
                .col(int(Rescues::Version))
                .col(ts(Rescues::CreatedAt))
                .col(ts(Rescues::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Rescues::Table, Rescues::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_rescues_dealer_created")
                .table(Rescues::Table)
                .col(Rescues::DealerId)
                .col(Rescues::CreatedAt)
                .to_owned(),
        )
        .await?;
        // one rescue under way per vehicle: a second tap without an
        // Idempotency-Key is refused, never a second 2 a.m. alert
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_rescues_vehicle_under_way ON rescues (vehicle_id) \
                 WHERE state IN ('requested', 'accepted', 'dispatched', 'on_site')",
            )
            .await?;
        // the escalation sweep's question: unaccepted rescues whose next alert is due
        m.create_index(
            Index::create()
                .name("ix_rescues_state_next_alert")
                .table(Rescues::Table)
                .col(Rescues::State)
                .col(Rescues::NextAlertAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RescueEvents::Table)
                .col(uuid_pk(RescueEvents::Id))
                .col(uuid(RescueEvents::RescueId))
                .col(uuid(RescueEvents::DealerId))
                .col(ColumnDef::new(RescueEvents::Seq).big_integer().not_null())
                .col(string(RescueEvents::Action, 24))
                .col(string_null(RescueEvents::FromState, 24))
                .col(string(RescueEvents::ToState, 24))
                .col(text_null(RescueEvents::Note))
                .col(uuid_null(RescueEvents::ActorId))
                .col(uuid_null(RescueEvents::OnBehalfOf))
                .col(ts(RescueEvents::At))
                .to_owned(),
        )
        .await?;
        // one event per version of a rescue: a step is never written twice
        m.create_index(
            Index::create()
                .name("ux_rescue_events_seq")
                .table(RescueEvents::Table)
                .col(RescueEvents::RescueId)
                .col(RescueEvents::Seq)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RescueSettings::Table)
                .col(uuid_pk(RescueSettings::DealerId))
                .col(json(RescueSettings::Roster))
                .col(int(RescueSettings::Version))
                .col(ts(RescueSettings::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(RescueSettings::Table, RescueSettings::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["rescue_settings", "rescue_events", "rescues"] {
            m.drop_table(Table::drop().table(Alias::new(t)).to_owned())
                .await?;
        }
        Ok(())
    }
}
