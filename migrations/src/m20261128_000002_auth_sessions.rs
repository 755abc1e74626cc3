use sea_orm_migration::prelude::*;

use crate::col::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    FamilyId,
    TokenHash,
    DealerId,
    UserId,
    CustomerId,
    ExpiresAt,
    RotatedAt,
    RevokedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    Key,
    Failures,
    WindowStart,
    LockedUntil,
}

#[derive(DeriveIden)]
enum OtpCodes {
    Table,
    Id,
    DealerId,
    Phone,
    CodeHash,
    Attempts,
    ExpiresAt,
    ConsumedAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(RefreshTokens::Table)
                .col(uuid_pk(RefreshTokens::Id))
                .col(uuid(RefreshTokens::FamilyId))
                .col(string(RefreshTokens::TokenHash, 64).unique_key())
                .col(uuid(RefreshTokens::DealerId))
                .col(uuid_null(RefreshTokens::UserId))
                .col(uuid_null(RefreshTokens::CustomerId))
                .col(ts(RefreshTokens::ExpiresAt))
                .col(ts_null(RefreshTokens::RotatedAt))
                .col(ts_null(RefreshTokens::RevokedAt))
                .col(ts(RefreshTokens::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_refresh_tokens_family")
                .table(RefreshTokens::Table)
                .col(RefreshTokens::FamilyId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(LoginFailures::Table)
                .col(string(LoginFailures::Key, 300).primary_key())
                .col(int(LoginFailures::Failures))
                .col(ts(LoginFailures::WindowStart))
                .col(ts_null(LoginFailures::LockedUntil))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(OtpCodes::Table)
                .col(uuid_pk(OtpCodes::Id))
                .col(uuid(OtpCodes::DealerId))
                .col(string(OtpCodes::Phone, 20))
                .col(string(OtpCodes::CodeHash, 64))
                .col(int(OtpCodes::Attempts))
                .col(ts(OtpCodes::ExpiresAt))
                .col(ts_null(OtpCodes::ConsumedAt))
                .col(ts(OtpCodes::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_otp_codes_dealer_phone")
                .table(OtpCodes::Table)
                .col(OtpCodes::DealerId)
                .col(OtpCodes::Phone)
                .col(OtpCodes::CreatedAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(OtpCodes::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(LoginFailures::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(RefreshTokens::Table).to_owned())
            .await
    }
}
