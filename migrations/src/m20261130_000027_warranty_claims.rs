//! Warranty claims (索赔管理): the warranty-case stubs grow into claims. The
//! cases get the facts of a claim (in-service date, causal part, labour
//! operations with flat-rate hours, parts at claim price), the decision, the
//! amounts in fen, the brand's answer, a claim number unique per dealer
//! (from `warranty_claim_counters`, one row per dealer upserted inside the
//! opening transaction, like the repair-order numbers) and a version for
//! `If-Match`. Existing rows stay valid: state `draft`, version 1, no lists.
//! `warranty_case_events` is the audit (who, when, from, to, note);
//! `warranty_parts` the claimed-parts register (索赔件); `warranty_remittances`
//! the brand's remittance files, unique per (dealer, SHA-256 of the file) so
//! a re-import is recognised, with `warranty_remittance_lines` their
//! per-line results.
use sea_orm_migration::prelude::*;

use crate::col::*;
use crate::m20261128_000001_dealers_and_users::Dealers;

#[derive(DeriveIden)]
enum WarrantyCases {
    Table,
}

#[derive(DeriveIden)]
enum WarrantyClaimCounters {
    Table,
    DealerId,
    Last,
}

#[derive(DeriveIden)]
enum WarrantyCaseEvents {
    Table,
    Id,
    DealerId,
    CaseId,
    Action,
    FromState,
    ToState,
    ActorId,
    Note,
    At,
}

#[derive(DeriveIden)]
enum WarrantyParts {
    Table,
    Id,
    DealerId,
    CaseId,
    Line,
    Tag,
    PartNumber,
    Name,
    Quantity,
    Location,
    KeepUntil,
    State,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WarrantyRemittances {
    Table,
    Id,
    DealerId,
    Sha256,
    Lines,
    ImportedBy,
    ImportedAt,
}

#[derive(DeriveIden)]
enum WarrantyRemittanceLines {
    Table,
    Id,
    RemittanceId,
    Line,
    ClaimNumber,
    CaseId,
    Outcome,
    ApprovedCents,
    DifferenceCents,
    Reason,
}

/// The columns the claim adds to `warranty_cases`, one ALTER each (SQLite
/// adds one column per statement).
fn case_columns() -> Vec<ColumnDef> {
    let a = Alias::new;
    vec![
        string_null(a("claim_number"), 20),
        ColumnDef::new(a("in_service_date"))
            .date()
            .null()
            .to_owned(),
        string_null(a("causal_part"), 200),
        ColumnDef::new(a("labour_ops"))
            .text()
            .not_null()
            .default("[]")
            .to_owned(),
        ColumnDef::new(a("parts"))
            .text()
            .not_null()
            .default("[]")
            .to_owned(),
        string_null(a("decision"), 20),
        ColumnDef::new(a("covered_until")).date().null().to_owned(),
        text_null(a("decision_note")),
        big_null(a("labour_rate_cents")),
        big_null(a("claim_cents")),
        big_null(a("approved_cents")),
        big_null(a("short_paid_cents")),
        text_null(a("rejection_reason")),
        ts_null(a("work_done_at")),
        ts_null(a("submitted_at")),
        ColumnDef::new(a("version"))
            .integer()
            .not_null()
            .default(1)
            .to_owned(),
    ]
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for mut c in case_columns() {
            m.alter_table(
                Table::alter()
                    .table(WarrantyCases::Table)
                    .add_column(&mut c)
                    .to_owned(),
            )
            .await?;
        }
        m.create_index(
            Index::create()
                .name("ux_warranty_cases_claim_number")
                .table(WarrantyCases::Table)
                .col(Alias::new("dealer_id"))
                .col(Alias::new("claim_number"))
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(WarrantyClaimCounters::Table)
                .col(uuid_pk(WarrantyClaimCounters::DealerId))
                .col(int(WarrantyClaimCounters::Last))
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            WarrantyClaimCounters::Table,
                            WarrantyClaimCounters::DealerId,
                        )
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await?;
        // no foreign key to the case: a stub whose job is removed before
        // the estimate is accepted goes, its audit stays
        m.create_table(
            Table::create()
                .table(WarrantyCaseEvents::Table)
                .col(uuid_pk(WarrantyCaseEvents::Id))
                .col(uuid(WarrantyCaseEvents::DealerId))
                .col(uuid(WarrantyCaseEvents::CaseId))
                .col(string(WarrantyCaseEvents::Action, 30))
                .col(string_null(WarrantyCaseEvents::FromState, 20))
                .col(string(WarrantyCaseEvents::ToState, 20))
                .col(uuid_null(WarrantyCaseEvents::ActorId))
                .col(text_null(WarrantyCaseEvents::Note))
                .col(ts(WarrantyCaseEvents::At))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_warranty_case_events_case")
                .table(WarrantyCaseEvents::Table)
                .col(WarrantyCaseEvents::CaseId)
                .col(WarrantyCaseEvents::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(WarrantyParts::Table)
                .col(uuid_pk(WarrantyParts::Id))
                .col(uuid(WarrantyParts::DealerId))
                .col(uuid(WarrantyParts::CaseId))
                .col(int(WarrantyParts::Line))
                .col(string(WarrantyParts::Tag, 40))
                .col(string(WarrantyParts::PartNumber, 40))
                .col(string(WarrantyParts::Name, 100))
                .col(string(WarrantyParts::Quantity, 20))
                .col(string(WarrantyParts::Location, 100))
                .col(ColumnDef::new(WarrantyParts::KeepUntil).date().not_null())
                .col(string(WarrantyParts::State, 20))
                .col(ts(WarrantyParts::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(WarrantyParts::Table, WarrantyParts::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            ("ux_warranty_parts_tag", vec!["dealer_id", "tag"]),
            ("ux_warranty_parts_case_line", vec!["case_id", "line"]),
        ] {
            let mut i = Index::create();
            i.name(name).table(WarrantyParts::Table).unique();
            for c in cols {
                i.col(Alias::new(c));
            }
            m.create_index(i.to_owned()).await?;
        }
        m.create_table(
            Table::create()
                .table(WarrantyRemittances::Table)
                .col(uuid_pk(WarrantyRemittances::Id))
                .col(uuid(WarrantyRemittances::DealerId))
                .col(string(WarrantyRemittances::Sha256, 64))
                .col(int(WarrantyRemittances::Lines))
                .col(uuid(WarrantyRemittances::ImportedBy))
                .col(ts(WarrantyRemittances::ImportedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(WarrantyRemittances::Table, WarrantyRemittances::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_warranty_remittances_file")
                .table(WarrantyRemittances::Table)
                .col(WarrantyRemittances::DealerId)
                .col(WarrantyRemittances::Sha256)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(WarrantyRemittanceLines::Table)
                .col(uuid_pk(WarrantyRemittanceLines::Id))
                .col(uuid(WarrantyRemittanceLines::RemittanceId))
                .col(int(WarrantyRemittanceLines::Line))
                .col(string(WarrantyRemittanceLines::ClaimNumber, 40))
                .col(uuid_null(WarrantyRemittanceLines::CaseId))
                .col(string(WarrantyRemittanceLines::Outcome, 20))
                .col(big_null(WarrantyRemittanceLines::ApprovedCents))
                .col(big_null(WarrantyRemittanceLines::DifferenceCents))
                .col(text_null(WarrantyRemittanceLines::Reason))
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            WarrantyRemittanceLines::Table,
                            WarrantyRemittanceLines::RemittanceId,
                        )
                        .to(WarrantyRemittances::Table, WarrantyRemittances::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_warranty_remittance_lines_line")
                .table(WarrantyRemittanceLines::Table)
                .col(WarrantyRemittanceLines::RemittanceId)
                .col(WarrantyRemittanceLines::Line)
                .unique()
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            WarrantyRemittanceLines::Table.into_iden(),
            WarrantyRemittances::Table.into_iden(),
            WarrantyParts::Table.into_iden(),
            WarrantyCaseEvents::Table.into_iden(),
            WarrantyClaimCounters::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        m.drop_index(
            Index::drop()
                .name("ux_warranty_cases_claim_number")
                .table(WarrantyCases::Table)
                .to_owned(),
        )
        .await?;
        for c in case_columns() {
            m.alter_table(
                Table::alter()
                    .table(WarrantyCases::Table)
                    .drop_column(Alias::new(c.get_column_name()))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
