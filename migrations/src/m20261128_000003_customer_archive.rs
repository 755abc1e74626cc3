use sea_orm_migration::prelude::*;

use crate::col::*;
use crate::m20261128_000001_dealers_and_users::Dealers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
    DealerId,
    Name,
    Phone,
    Email,
    PreferredChannel,
    Locale,
    BirthdayCalendar,
    BirthdayMonth,
    BirthdayDay,
    BirthdayLeap,
    BirthdayYear,
    Consents,
    Tags,
    Notes,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Vehicles {
    Table,
    Id,
    DealerId,
    CustomerId,
    Vin,
    Plate,
    Make,
    Model,
    ModelYear,
    PurchaseDate,
    FirstRegistrationDate,
    InspectionDue,
    CompulsoryInsuranceExpiry,
    CommercialInsuranceExpiry,
    LastServiceDate,
    LastServiceKm,
    OdometerKm,
    OdometerReadOn,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum MileageReadings {
    Table,
    Id,
    DealerId,
    VehicleId,
    MileageKm,
    ReadOn,
    Source,
    Correction,
    RecordedBy,
    CreatedAt,
}

fn index(name: &str, table: impl IntoIden, cols: &[&str], unique: bool) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(Alias::new(*c));
    }
    if unique {
        i.unique();
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Customers::Table)
                .col(uuid_pk(Customers::Id))
                .col(uuid(Customers::DealerId))
                .col(string(Customers::Name, 100))
                .col(string(Customers::Phone, 20))
                .col(string_null(Customers::Email, 254))
                .col(string(Customers::PreferredChannel, 16))
                .col(string(Customers::Locale, 8))
                .col(string_null(Customers::BirthdayCalendar, 8))
                .col(int_null(Customers::BirthdayMonth))
                .col(int_null(Customers::BirthdayDay))
                .col(ColumnDef::new(Customers::BirthdayLeap).boolean().null())
                .col(int_null(Customers::BirthdayYear))
                .col(json(Customers::Consents))
                .col(json(Customers::Tags))
                .col(text_null(Customers::Notes))
                .col(int(Customers::Version))
                .col(ts(Customers::CreatedAt))
                .col(ts(Customers::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Customers::Table, Customers::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ux_customers_dealer_phone",
            Customers::Table,
            &["dealer_id", "phone"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ix_customers_dealer_name",
            Customers::Table,
            &["dealer_id", "name"],
            false,
        ))
        .await?;
        m.create_index(index(
            "ix_customers_dealer_id",
            Customers::Table,
            &["dealer_id", "id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Vehicles::Table)
                .col(uuid_pk(Vehicles::Id))
                .col(uuid(Vehicles::DealerId))
                .col(uuid(Vehicles::CustomerId))
                .col(string(Vehicles::Vin, 17))
                .col(string_null(Vehicles::Plate, 16))
                .col(string(Vehicles::Make, 50))
                .col(string(Vehicles::Model, 50))
                .col(int_null(Vehicles::ModelYear))
                .col(date_null(Vehicles::PurchaseDate))
                .col(date_null(Vehicles::FirstRegistrationDate))
                .col(date_null(Vehicles::InspectionDue))
                .col(date_null(Vehicles::CompulsoryInsuranceExpiry))
                .col(date_null(Vehicles::CommercialInsuranceExpiry))
                .col(date_null(Vehicles::LastServiceDate))
                .col(big_null(Vehicles::LastServiceKm))
                .col(big_null(Vehicles::OdometerKm))
                .col(date_null(Vehicles::OdometerReadOn))
                .col(int(Vehicles::Version))
                .col(ts(Vehicles::CreatedAt))
                .col(ts(Vehicles::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Vehicles::Table, Vehicles::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Vehicles::Table, Vehicles::CustomerId)
                        .to(Customers::Table, Customers::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ux_vehicles_dealer_vin",
            Vehicles::Table,
            &["dealer_id", "vin"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ux_vehicles_dealer_plate",
            Vehicles::Table,
            &["dealer_id", "plate"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ix_vehicles_customer",
            Vehicles::Table,
            &["customer_id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(MileageReadings::Table)
                .col(uuid_pk(MileageReadings::Id))
                .col(uuid(MileageReadings::DealerId))
                .col(uuid(MileageReadings::VehicleId))
                .col(
                    ColumnDef::new(MileageReadings::MileageKm)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(MileageReadings::ReadOn).date().not_null())
                .col(string(MileageReadings::Source, 16))
                .col(boolean(MileageReadings::Correction))
                .col(uuid_null(MileageReadings::RecordedBy))
                .col(ts(MileageReadings::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(MileageReadings::Table, MileageReadings::VehicleId)
                        .to(Vehicles::Table, Vehicles::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_mileage_vehicle_read_on",
            MileageReadings::Table,
            &["vehicle_id", "read_on"],
            false,
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(MileageReadings::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Vehicles::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Customers::Table).to_owned())
            .await
    }
}
