//! The daily board's KPIs (issue 11): each technician's roster (the hours
//! available), and the indexes a year of figures is read through: clock
//! intervals by the time they ended and by order, orders by state (the ones
//! still in the workshop), and each customer's visits (churn).
use sea_orm_migration::prelude::*;

use crate::col::*;
use crate::m20261128_000001_dealers_and_users::Dealers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum TechnicianRosters {
    Table,
    TechnicianId,
    DealerId,
    /// `{"mon": "8.00", …}`: hours per weekday.
    Weekly,
    /// `[{"date": "2027-03-02", "hours": "4.00" | null}]`, by date.
    Absences,
    Version,
    UpdatedBy,
    UpdatedAt,
}

/// (name, table, columns)
const INDEXES: [(&str, &str, &[&str]); 4] = [
    // clocked hours of a range: intervals that ended in it
    (
        "ix_clock_dealer_ended",
        "clock_intervals",
        &["dealer_id", "ended_at"],
    ),
    // estimate before work: an order's first clock-on
    ("ix_clock_order", "clock_intervals", &["order_id"]),
    // orders in work at close, opened before a range
    (
        "ix_repair_orders_dealer_state",
        "repair_orders",
        &["dealer_id", "state"],
    ),
    // churn: each customer's last visit
    (
        "ix_repair_orders_customer_delivered",
        "repair_orders",
        &["dealer_id", "customer_id", "delivered_at"],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(TechnicianRosters::Table)
                .col(uuid_pk(TechnicianRosters::TechnicianId))
                .col(uuid(TechnicianRosters::DealerId))
                .col(json(TechnicianRosters::Weekly))
                .col(json(TechnicianRosters::Absences))
                .col(int(TechnicianRosters::Version))
                .col(uuid(TechnicianRosters::UpdatedBy))
                .col(ts(TechnicianRosters::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(TechnicianRosters::Table, TechnicianRosters::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(TechnicianRosters::Table, TechnicianRosters::TechnicianId)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_technician_rosters_dealer")
                .table(TechnicianRosters::Table)
                .col(TechnicianRosters::DealerId)
                .to_owned(),
        )
        .await?;
        for (name, table, cols) in INDEXES {
            let mut i = Index::create();
            i.name(name).table(Alias::new(table)).if_not_exists();
            for c in cols {
                i.col(Alias::new(*c));
            }
            m.create_index(i.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, _) in INDEXES {
            m.drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        m.drop_table(Table::drop().table(TechnicianRosters::Table).to_owned())
            .await
    }
}
