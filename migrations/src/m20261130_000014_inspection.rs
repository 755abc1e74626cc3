//! Photos of a repair order are content-addressed: the same bytes are one
//! photo per order, so a retried upload finds the photo it already made.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("ux_photos_order_sha256")
                .table(Alias::new("repair_order_photos"))
                .col(Alias::new("order_id"))
                .col(Alias::new("sha256"))
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ux_photos_order_sha256")
                .table(Alias::new("repair_order_photos"))
                .to_owned(),
        )
        .await
    }
}
