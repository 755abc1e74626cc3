//! The care planner: each dealer's settings per kind of planned message, and
//! the planner's tick per dealer, claimed in the database so that any number
//! of instances plan each tick once; plus the indexes its passes read by
//! (vehicles in id order, recent deliveries, readings, app sessions).
use sea_orm_migration::prelude::*;

use crate::col::*;
use crate::m20261128_000001_dealers_and_users::Dealers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CarePlanKinds {
    Table,
    DealerId,
    Kind,
    Enabled,
    Settings,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CareTicks {
    Table,
    DealerId,
    /// The latest cron time claimed.
    LastTickAt,
    /// The last local date whose daily pass completed.
    PlannedThrough,
    UpdatedAt,
}

fn index(name: &str, table: &str, cols: &[&str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(Alias::new(table)).if_not_exists();
    for c in cols {
        i.col(Alias::new(*c));
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(CarePlanKinds::Table)
                .col(uuid(CarePlanKinds::DealerId))
                .col(string(CarePlanKinds::Kind, 32))
                .col(boolean(CarePlanKinds::Enabled))
                .col(json(CarePlanKinds::Settings))
                .col(ts(CarePlanKinds::UpdatedAt))
                .primary_key(
                    Index::create()
                        .col(CarePlanKinds::DealerId)
                        .col(CarePlanKinds::Kind),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(CarePlanKinds::Table, CarePlanKinds::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(CareTicks::Table)
                .col(uuid_pk(CareTicks::DealerId))
                .col(ts(CareTicks::LastTickAt))
                .col(date_null(CareTicks::PlannedThrough))
                .col(ts(CareTicks::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(CareTicks::Table, CareTicks::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await?;
        // the passes stream each dealer's vehicles in id order and find the
        // orders delivered in the last days
        m.create_index(index(
            "ix_vehicles_dealer_id",
            "vehicles",
            &["dealer_id", "id"],
        ))
        .await?;
        m.create_index(index(
            "ix_repair_orders_delivered",
            "repair_orders",
            &["dealer_id", "delivered_at"],
        ))
        .await?;
        m.create_index(index(
            "ix_mileage_readings_vehicle",
            "mileage_readings",
            &["vehicle_id", "read_on"],
        ))
        .await?;
        // who has the app: a batch's customers' sessions
        m.create_index(index(
            "ix_refresh_tokens_customer",
            "refresh_tokens",
            &["customer_id"],
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            ("ix_vehicles_dealer_id", "vehicles"),
            ("ix_repair_orders_delivered", "repair_orders"),
            ("ix_mileage_readings_vehicle", "mileage_readings"),
            ("ix_refresh_tokens_customer", "refresh_tokens"),
        ] {
            m.drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        m.drop_table(Table::drop().table(CareTicks::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(CarePlanKinds::Table).to_owned())
            .await
    }
}
