//! Deputies (职务代理): who stands in for whom, for which local days, and
//! who said so. A period runs from `starts_at` to `ends_at` (the dealer's
//! local midnights around `from_date`..=`to_date`, kept in UTC so that the
//! check on every act needs no zone) unless withdrawn first. At most one
//! period per user is live (not withdrawn): a partial unique index, so two
//! managers naming a deputy at once cannot leave two. The audit rows of
//! appointments, orders, cases and calls name the absent person an act was
//! done for (`on_behalf_of`).
use sea_orm_migration::prelude::*;

use crate::col::*;
use crate::m20261128_000001_dealers_and_users::Dealers;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Deputies {
    Table,
    Id,
    DealerId,
    /// The person who is away.
    UserId,
    /// Who stands in.
    DeputyId,
    FromDate,
    ToDate,
    StartsAt,
    EndsAt,
    SetBy,
    SetAt,
    WithdrawnBy,
    WithdrawnAt,
}

/// The audit tables that name the person an act was done for.
const AUDITED: [&str; 4] = [
    "appointment_events",
    "repair_order_events",
    "case_events",
    "callback_calls",
];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let user_fk = |col: Deputies| {
            ForeignKey::create()
                .from(Deputies::Table, col)
                .to(Users::Table, Users::Id)
                .to_owned()
        };
        m.create_table(
            Table::create()
                .table(Deputies::Table)
                .col(uuid_pk(Deputies::Id))
                .col(uuid(Deputies::DealerId))
                .col(uuid(Deputies::UserId))
                .col(uuid(Deputies::DeputyId))
                .col(ColumnDef::new(Deputies::FromDate).date().not_null())
                .col(ColumnDef::new(Deputies::ToDate).date().not_null())
                .col(ts(Deputies::StartsAt))
                .col(ts(Deputies::EndsAt))
                .col(uuid(Deputies::SetBy))
                .col(ts(Deputies::SetAt))
                .col(uuid_null(Deputies::WithdrawnBy))
                .col(ts_null(Deputies::WithdrawnAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Deputies::Table, Deputies::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .foreign_key(&mut user_fk(Deputies::UserId))
                .foreign_key(&mut user_fk(Deputies::DeputyId))
                .foreign_key(&mut user_fk(Deputies::SetBy))
                .to_owned(),
        )
        .await?;
        // the same statement on both databases: a partial unique index
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_deputies_live_user ON deputies (user_id) \
                 WHERE withdrawn_at IS NULL",
            )
            .await?;
        // whom a deputy stands in for now
        m.create_index(
            Index::create()
                .name("ix_deputies_deputy_ends")
                .table(Deputies::Table)
                .col(Deputies::DeputyId)
                .col(Deputies::EndsAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_deputies_dealer_ends")
                .table(Deputies::Table)
                .col(Deputies::DealerId)
                .col(Deputies::EndsAt)
                .to_owned(),
        )
        .await?;
        for t in AUDITED {
            m.alter_table(
                Table::alter()
                    .table(Alias::new(t))
                    .add_column(uuid_null(Alias::new("on_behalf_of")))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in AUDITED {
            m.alter_table(
                Table::alter()
                    .table(Alias::new(t))
                    .drop_column(Alias::new("on_behalf_of"))
                    .to_owned(),
            )
            .await?;
        }
        m.drop_table(Table::drop().table(Deputies::Table).to_owned())
            .await
    }
}
