//! Repair orders (维修委托书) and what hangs off them: jobs, estimates and
//! their signatures, the event journal that feeds the timeline and the live
//! stream, photos, clock intervals, QC checks, payments and warranty-case
//! stubs; the workshop settings of a dealer; technicians' skills; the link
//! from an appointment to the order it became.
use sea_orm_migration::prelude::*;

use crate::col::*;
use crate::m20261128_000001_dealers_and_users::Dealers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Skills,
}

#[derive(DeriveIden)]
enum Appointments {
    Table,
    RepairOrderId,
}

#[derive(DeriveIden)]
enum WorkshopSettings {
    Table,
    DealerId,
    LabourRates,
    VatBasisPoints,
    PricesIncludeVat,
    WalkaroundChecklist,
    HealthChecklist,
    Version,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RepairOrderCounters {
    Table,
    DealerId,
    Day,
    Last,
}

#[derive(DeriveIden)]
enum RepairOrders {
    Table,
    Id,
    DealerId,
    Number,
    CustomerId,
    VehicleId,
    AppointmentId,
    AdvisorId,
    State,
    OdometerKm,
    FuelLevel,
    Concerns,
    Notes,
    PromisedAt,
    ArrivedAt,
    ReceptionStartedAt,
    Walkaround,
    HealthCheck,
    AcceptedEstimate,
    EstimateVersions,
    QcRound,
    QcReworks,
    QcPassedLevel,
    VatBasisPoints,
    PricesIncludeVat,
    WashedAt,
    DeliveredAt,
    ClosedAt,
    EventSeq,
    Version,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RepairOrderJobs {
    Table,
    Id,
    DealerId,
    OrderId,
    MenuCode,
    Description,
    LabourCentihours,
    LabourRateCents,
    PackagePriceCents,
    Skill,
    PayType,
    Parts,
    Origin,
    Approval,
    ApprovalBy,
    ApprovalAt,
    ApprovalChannel,
    ApprovalNote,
    HealthItemCode,
    State,
    TechnicianId,
    Priority,
    DispatchedAt,
    Diagnosis,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RepairOrderEstimates {
    Table,
    OrderId,
    Version,
    DealerId,
    Content,
    Sha256,
    CreatedBy,
    CreatedAt,
    AcceptedAt,
    AcceptedBy,
    Signature,
}

#[derive(DeriveIden)]
enum RepairOrderEvents {
    Table,
    OrderId,
    Seq,
    DealerId,
    Kind,
    ActorId,
    FromState,
    ToState,
    Data,
    At,
}

#[derive(DeriveIden)]
enum RepairOrderPhotos {
    Table,
    Id,
    DealerId,
    OrderId,
    Sha256,
    ContentType,
    Bytes,
    Purpose,
    ItemCode,
    UploadedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ClockIntervals {
    Table,
    Id,
    DealerId,
    OrderId,
    JobId,
    TechnicianId,
    StartedAt,
    EndedAt,
    EndReason,
    Note,
}

#[derive(DeriveIden)]
enum QcChecks {
    Table,
    Id,
    DealerId,
    OrderId,
    Round,
    Level,
    Passed,
    Checklist,
    ReworkJobIds,
    CheckedBy,
    At,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
    DealerId,
    OrderId,
    Method,
    AmountCents,
    ReceivedBy,
    At,
}

#[derive(DeriveIden)]
enum WarrantyCases {
    Table,
    Id,
    DealerId,
    OrderId,
    JobId,
    Vin,
    MileageKm,
    FailedPart,
    Diagnosis,
    State,
    CreatedAt,
    UpdatedAt,
}

fn big(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().to_owned()
}

fn dealer_fk<T: IntoIden + 'static>(table: T, col: T) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(Dealers::Table, Dealers::Id)
        .to_owned()
}

fn index(name: &str, table: impl IntoIden, cols: &[&'static str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(Alias::new(*c));
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .add_column(
                    ColumnDef::new(Users::Skills)
                        .json_binary()
                        .not_null()
                        .default("[]"),
                )
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Appointments::Table)
                .add_column(uuid_null(Appointments::RepairOrderId))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(WorkshopSettings::Table)
                .col(uuid(WorkshopSettings::DealerId).primary_key())
                .col(json(WorkshopSettings::LabourRates))
                .col(int(WorkshopSettings::VatBasisPoints))
                .col(boolean(WorkshopSettings::PricesIncludeVat))
                .col(json(WorkshopSettings::WalkaroundChecklist))
                .col(json(WorkshopSettings::HealthChecklist))
                .col(int(WorkshopSettings::Version))
                .col(ts(WorkshopSettings::UpdatedAt))
                .foreign_key(&mut dealer_fk(
                    WorkshopSettings::Table,
                    WorkshopSettings::DealerId,
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RepairOrderCounters::Table)
                .col(uuid(RepairOrderCounters::DealerId))
                .col(ColumnDef::new(RepairOrderCounters::Day).date().not_null())
                .col(int(RepairOrderCounters::Last))
                .primary_key(
                    Index::create()
                        .col(RepairOrderCounters::DealerId)
                        .col(RepairOrderCounters::Day),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RepairOrders::Table)
                .col(uuid_pk(RepairOrders::Id))
                .col(uuid(RepairOrders::DealerId))
                .col(string(RepairOrders::Number, 20))
                .col(uuid(RepairOrders::CustomerId))
                .col(uuid(RepairOrders::VehicleId))
                .col(uuid_null(RepairOrders::AppointmentId))
                .col(uuid_null(RepairOrders::AdvisorId))
                .col(string(RepairOrders::State, 20))
                .col(big_null(RepairOrders::OdometerKm))
                .col(int_null(RepairOrders::FuelLevel))
                .col(json(RepairOrders::Concerns))
                .col(text_null(RepairOrders::Notes))
                .col(ts_null(RepairOrders::PromisedAt))
                .col(ts(RepairOrders::ArrivedAt))
                .col(ts(RepairOrders::ReceptionStartedAt))
                .col(
                    ColumnDef::new(RepairOrders::Walkaround)
                        .json_binary()
                        .null(),
                )
                .col(
                    ColumnDef::new(RepairOrders::HealthCheck)
                        .json_binary()
                        .null(),
                )
                .col(int_null(RepairOrders::AcceptedEstimate))
                .col(int(RepairOrders::EstimateVersions))
                .col(int(RepairOrders::QcRound))
                .col(int(RepairOrders::QcReworks))
                .col(string_null(RepairOrders::QcPassedLevel, 10))
                .col(int(RepairOrders::VatBasisPoints))
                .col(boolean(RepairOrders::PricesIncludeVat))
                .col(ts_null(RepairOrders::WashedAt))
                .col(ts_null(RepairOrders::DeliveredAt))
                .col(ts_null(RepairOrders::ClosedAt))
                .col(big(RepairOrders::EventSeq))
                .col(int(RepairOrders::Version))
                .col(uuid(RepairOrders::CreatedBy))
                .col(ts(RepairOrders::CreatedAt))
                .col(ts(RepairOrders::UpdatedAt))
                .foreign_key(&mut dealer_fk(RepairOrders::Table, RepairOrders::DealerId))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "ux_repair_orders_number",
                RepairOrders::Table,
                &["dealer_id", "number"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        // an appointment becomes at most one order (NULLs do not clash)
        m.create_index(
            index(
                "ux_repair_orders_appointment",
                RepairOrders::Table,
                &["appointment_id"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_repair_orders_arrived",
            RepairOrders::Table,
            &["dealer_id", "arrived_at"],
        ))
        .await?;
        m.create_index(index(
            "ix_repair_orders_vehicle",
            RepairOrders::Table,
            &["vehicle_id"],
        ))
        .await?;
        m.create_index(index(
            "ix_repair_orders_customer",
            RepairOrders::Table,
            &["customer_id"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(RepairOrderJobs::Table)
                .col(uuid_pk(RepairOrderJobs::Id))
                .col(uuid(RepairOrderJobs::DealerId))
                .col(uuid(RepairOrderJobs::OrderId))
                .col(string_null(RepairOrderJobs::MenuCode, 40))
                .col(string(RepairOrderJobs::Description, 500))
                .col(int(RepairOrderJobs::LabourCentihours))
                .col(big(RepairOrderJobs::LabourRateCents))
                .col(big_null(RepairOrderJobs::PackagePriceCents))
                .col(string(RepairOrderJobs::Skill, 20))
                .col(string(RepairOrderJobs::PayType, 20))
                .col(json(RepairOrderJobs::Parts))
                .col(string(RepairOrderJobs::Origin, 20))
                .col(string(RepairOrderJobs::Approval, 20))
                .col(uuid_null(RepairOrderJobs::ApprovalBy))
                .col(ts_null(RepairOrderJobs::ApprovalAt))
                .col(string_null(RepairOrderJobs::ApprovalChannel, 20))
                .col(text_null(RepairOrderJobs::ApprovalNote))
                .col(string_null(RepairOrderJobs::HealthItemCode, 40))
                .col(string(RepairOrderJobs::State, 20))
                .col(uuid_null(RepairOrderJobs::TechnicianId))
                .col(string(RepairOrderJobs::Priority, 10))
                .col(ts_null(RepairOrderJobs::DispatchedAt))
                .col(text_null(RepairOrderJobs::Diagnosis))
                .col(int(RepairOrderJobs::Version))
                .col(ts(RepairOrderJobs::CreatedAt))
                .col(ts(RepairOrderJobs::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(RepairOrderJobs::Table, RepairOrderJobs::OrderId)
                        .to(RepairOrders::Table, RepairOrders::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_jobs_order",
            RepairOrderJobs::Table,
            &["order_id"],
        ))
        .await?;
        m.create_index(index(
            "ix_jobs_dealer_state",
            RepairOrderJobs::Table,
            &["dealer_id", "state"],
        ))
        .await?;
        m.create_index(index(
            "ix_jobs_technician",
            RepairOrderJobs::Table,
            &["technician_id"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(RepairOrderEstimates::Table)
                .col(uuid(RepairOrderEstimates::OrderId))
                .col(int(RepairOrderEstimates::Version))
                .col(uuid(RepairOrderEstimates::DealerId))
                .col(json(RepairOrderEstimates::Content))
                .col(string(RepairOrderEstimates::Sha256, 64))
                .col(uuid(RepairOrderEstimates::CreatedBy))
                .col(ts(RepairOrderEstimates::CreatedAt))
                .col(ts_null(RepairOrderEstimates::AcceptedAt))
                .col(uuid_null(RepairOrderEstimates::AcceptedBy))
                .col(
                    ColumnDef::new(RepairOrderEstimates::Signature)
                        .json_binary()
                        .null(),
                )
                .primary_key(
                    Index::create()
                        .col(RepairOrderEstimates::OrderId)
                        .col(RepairOrderEstimates::Version),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(RepairOrderEstimates::Table, RepairOrderEstimates::OrderId)
                        .to(RepairOrders::Table, RepairOrders::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RepairOrderEvents::Table)
                .col(uuid(RepairOrderEvents::OrderId))
                .col(big(RepairOrderEvents::Seq))
                .col(uuid(RepairOrderEvents::DealerId))
                .col(string(RepairOrderEvents::Kind, 40))
                .col(uuid_null(RepairOrderEvents::ActorId))
                .col(string_null(RepairOrderEvents::FromState, 20))
                .col(string_null(RepairOrderEvents::ToState, 20))
                .col(json(RepairOrderEvents::Data))
                .col(ts(RepairOrderEvents::At))
                .primary_key(
                    Index::create()
                        .col(RepairOrderEvents::OrderId)
                        .col(RepairOrderEvents::Seq),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(RepairOrderEvents::Table, RepairOrderEvents::OrderId)
                        .to(RepairOrders::Table, RepairOrders::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RepairOrderPhotos::Table)
                .col(uuid_pk(RepairOrderPhotos::Id))
                .col(uuid(RepairOrderPhotos::DealerId))
                .col(uuid(RepairOrderPhotos::OrderId))
                .col(string(RepairOrderPhotos::Sha256, 64))
                .col(string(RepairOrderPhotos::ContentType, 40))
                .col(big(RepairOrderPhotos::Bytes))
                .col(string(RepairOrderPhotos::Purpose, 20))
                .col(string_null(RepairOrderPhotos::ItemCode, 40))
                .col(uuid(RepairOrderPhotos::UploadedBy))
                .col(ts(RepairOrderPhotos::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(RepairOrderPhotos::Table, RepairOrderPhotos::OrderId)
                        .to(RepairOrders::Table, RepairOrders::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_photos_order",
            RepairOrderPhotos::Table,
            &["order_id"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(ClockIntervals::Table)
                .col(uuid_pk(ClockIntervals::Id))
                .col(uuid(ClockIntervals::DealerId))
                .col(uuid(ClockIntervals::OrderId))
                .col(uuid(ClockIntervals::JobId))
                .col(uuid(ClockIntervals::TechnicianId))
                .col(ts(ClockIntervals::StartedAt))
                .col(ts_null(ClockIntervals::EndedAt))
                .col(string_null(ClockIntervals::EndReason, 10))
                .col(text_null(ClockIntervals::Note))
                .foreign_key(
                    ForeignKey::create()
                        .from(ClockIntervals::Table, ClockIntervals::JobId)
                        .to(RepairOrderJobs::Table, RepairOrderJobs::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_clock_job", ClockIntervals::Table, &["job_id"]))
            .await?;
        // a technician is on at most one job at a time: the database keeps it
        // even if two tablets clock the same technician on at once
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_clock_open ON clock_intervals (technician_id) \
                 WHERE ended_at IS NULL",
            )
            .await?;
        m.create_table(
            Table::create()
                .table(QcChecks::Table)
                .col(uuid_pk(QcChecks::Id))
                .col(uuid(QcChecks::DealerId))
                .col(uuid(QcChecks::OrderId))
                .col(int(QcChecks::Round))
                .col(string(QcChecks::Level, 10))
                .col(boolean(QcChecks::Passed))
                .col(json(QcChecks::Checklist))
                .col(json(QcChecks::ReworkJobIds))
                .col(uuid(QcChecks::CheckedBy))
                .col(ts(QcChecks::At))
                .foreign_key(
                    ForeignKey::create()
                        .from(QcChecks::Table, QcChecks::OrderId)
                        .to(RepairOrders::Table, RepairOrders::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_qc_order", QcChecks::Table, &["order_id"]))
            .await?;
        m.create_table(
            Table::create()
                .table(Payments::Table)
                .col(uuid_pk(Payments::Id))
                .col(uuid(Payments::DealerId))
                .col(uuid(Payments::OrderId))
                .col(string(Payments::Method, 20))
                .col(big(Payments::AmountCents))
                .col(uuid(Payments::ReceivedBy))
                .col(ts(Payments::At))
                .foreign_key(
                    ForeignKey::create()
                        .from(Payments::Table, Payments::OrderId)
                        .to(RepairOrders::Table, RepairOrders::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_payments_order", Payments::Table, &["order_id"]))
            .await?;
        m.create_table(
            Table::create()
                .table(WarrantyCases::Table)
                .col(uuid_pk(WarrantyCases::Id))
                .col(uuid(WarrantyCases::DealerId))
                .col(uuid(WarrantyCases::OrderId))
                .col(uuid(WarrantyCases::JobId))
                .col(string(WarrantyCases::Vin, 17))
                .col(int_null(WarrantyCases::MileageKm))
                .col(string_null(WarrantyCases::FailedPart, 200))
                .col(text_null(WarrantyCases::Diagnosis))
                .col(string(WarrantyCases::State, 20))
                .col(ts(WarrantyCases::CreatedAt))
                .col(ts(WarrantyCases::UpdatedAt))
                .foreign_key(&mut dealer_fk(
                    WarrantyCases::Table,
                    WarrantyCases::DealerId,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index("ux_warranty_cases_job", WarrantyCases::Table, &["job_id"])
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_warranty_cases_dealer",
            WarrantyCases::Table,
            &["dealer_id", "created_at"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "warranty_cases",
            "payments",
            "qc_checks",
            "clock_intervals",
            "repair_order_photos",
            "repair_order_events",
            "repair_order_estimates",
            "repair_order_jobs",
            "repair_orders",
            "repair_order_counters",
            "workshop_settings",
        ] {
            m.drop_table(Table::drop().table(Alias::new(t)).to_owned())
                .await?;
        }
        m.alter_table(
            Table::alter()
                .table(Appointments::Table)
                .drop_column(Appointments::RepairOrderId)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .drop_column(Users::Skills)
                .to_owned(),
        )
        .await
    }
}
