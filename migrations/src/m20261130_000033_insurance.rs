//! Insurance renewal handled by the dealer (代办保险业务) and the customer care
//! card (《客户关怀卡》).
//!
//! `insurance_leads`: one row per vehicle, policy kind and policy term (the
//! expiry being renewed), written when the customer asks for a quote or when
//! staff record the outcome. `(vehicle_id, policy, expiry)` is unique, so a
//! retried quote request or two staff recording at once make one row; the
//! outcome is written only where none is yet (`outcome IS NULL`).
//!
//! `care_card_settings`: the dealer's service hotline and 24-hour rescue
//! number printed on the card (no row: none printed).
use sea_orm_migration::prelude::*;

use crate::col::*;
use crate::m20261128_000001_dealers_and_users::Dealers;

#[derive(DeriveIden)]
enum Vehicles {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum InsuranceLeads {
    Table,
    Id,
    DealerId,
    VehicleId,
    CustomerId,
    /// compulsory | commercial
    Policy,
    /// The expiry of the term being renewed.
    Expiry,
    QuoteRequestedAt,
    QuoteNote,
    /// renewed_with_us | renewed_elsewhere | not_interested
    Outcome,
    Insurer,
    /// Fen (CNY cents).
    PremiumCents,
    NewExpiry,
    OutcomeNote,
    OutcomeBy,
    OutcomeAt,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CareCardSettings {
    Table,
    DealerId,
    ServiceHotline,
    RescueHotline,
    Version,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(InsuranceLeads::Table)
                .col(uuid_pk(InsuranceLeads::Id))
                .col(uuid(InsuranceLeads::DealerId))
                .col(uuid(InsuranceLeads::VehicleId))
                .col(uuid(InsuranceLeads::CustomerId))
                .col(string(InsuranceLeads::Policy, 16))
                .col(ColumnDef::new(InsuranceLeads::Expiry).date().not_null())
                .col(ts_null(InsuranceLeads::QuoteRequestedAt))
                .col(text_null(InsuranceLeads::QuoteNote))
                .col(string_null(InsuranceLeads::Outcome, 32))
                .col(string_null(InsuranceLeads::Insurer, 100))
                .col(big_null(InsuranceLeads::PremiumCents))
                .col(date_null(InsuranceLeads::NewExpiry))
                .col(text_null(InsuranceLeads::OutcomeNote))
                .col(uuid_null(InsuranceLeads::OutcomeBy))
                .col(ts_null(InsuranceLeads::OutcomeAt))
                .col(int(InsuranceLeads::Version))
                .col(ts(InsuranceLeads::CreatedAt))
                .col(ts(InsuranceLeads::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(InsuranceLeads::Table, InsuranceLeads::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(InsuranceLeads::Table, InsuranceLeads::VehicleId)
                        .to(Vehicles::Table, Vehicles::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_insurance_leads_term")
                .table(InsuranceLeads::Table)
                .col(InsuranceLeads::VehicleId)
                .col(InsuranceLeads::Policy)
                .col(InsuranceLeads::Expiry)
                .unique()
                .to_owned(),
        )
        .await?;
        // the leads list and the KPI read a dealer's terms by expiry
        m.create_index(
            Index::create()
                .name("ix_insurance_leads_dealer_expiry")
                .table(InsuranceLeads::Table)
                .col(InsuranceLeads::DealerId)
                .col(InsuranceLeads::Expiry)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(CareCardSettings::Table)
                .col(uuid_pk(CareCardSettings::DealerId))
                .col(string_null(CareCardSettings::ServiceHotline, 32))
                .col(string_null(CareCardSettings::RescueHotline, 32))
                .col(int(CareCardSettings::Version))
                .col(uuid_null(CareCardSettings::UpdatedBy))
                .col(ts(CareCardSettings::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(CareCardSettings::Table, CareCardSettings::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(CareCardSettings::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(InsuranceLeads::Table).to_owned())
            .await
    }
}
