//! The CSI analysis (`GET /api/v1/csi`) reads a dealer's cases by the time
//! they were opened; responses (dealer, created) and deliveries (dealer,
//! delivered) have their indexes already.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("ix_cases_dealer_created")
                .table(Alias::new("cases"))
                .col(Alias::new("dealer_id"))
                .col(Alias::new("created_at"))
                .if_not_exists()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_cases_dealer_created")
                .table(Alias::new("cases"))
                .to_owned(),
        )
        .await
    }
}
