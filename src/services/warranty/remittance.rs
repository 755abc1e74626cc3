//! The brand's remittance (索赔结算): a CSV file with a header line naming
//! `claim_number`, `approved_amount` and `rejection_reason` (any order,
//! other columns ignored, a UTF-8 BOM tolerated). Each line reconciles one
//! claim awaiting the brand (`submitted`, `resubmitted`, `approved`):
//! `paid`, `short_paid` (with the difference), `rejected` (with the reason),
//! else `unknown_claim` or `not_open`. A malformed line rejects the whole
//! file (422 naming `line N.column`), so a file is applied whole or not at
//! all. The same file again (same SHA-256) answers the first import's
//! results and changes nothing; a claim in two files is reconciled once
//! (the conditional update on its state and version).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::validation::{optional_multiline, text};
use crate::domain::warranty::{self as rules, REMITTANCE, RemittanceOutcome, WarrantyState};
use crate::domain::{FieldErrors, Money};
use crate::entities::{warranty_case, warranty_remittance, warranty_remittance_line};
use crate::error::{AppError, AppResult};
use crate::services::col_plus;
use crate::state::AppState;

/// The most lines one file may carry.
pub const MAX_LINES: usize = 5000;
/// The largest file taken, in bytes (5,000 lines with long rejection reasons).
pub const MAX_BYTES: usize = 4 * 1024 * 1024;

/// One reconciled line.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RemittanceLine {
    /// The file's line number (the header is line 1).
    pub line: i32,
    pub claim_number: String,
    pub case_id: Option<Uuid>,
    pub outcome: RemittanceOutcome,
    /// What the brand approved (paid / short-paid).
    #[schema(value_type = Option<String>, format = "decimal")]
    pub approved_amount: Option<Decimal>,
    /// Claimed minus approved (short-paid).
    #[schema(value_type = Option<String>, format = "decimal")]
    pub difference: Option<Decimal>,
    pub reason: Option<String>,
}

/// What an import did (or, `replayed`, what the first import of the same file did).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RemittanceResult {
    pub id: Uuid,
    /// The file was imported before: nothing changed now.
    pub replayed: bool,
    /// Hex SHA-256 of the file.
    pub sha256: String,
    pub imported_at: DateTime<Utc>,
    pub paid: usize,
    pub short_paid: usize,
    pub rejected: usize,
    pub unknown_claim: usize,
    pub not_open: usize,
    pub lines: Vec<RemittanceLine>,
}

struct Parsed {
    line: i32,
    claim_number: String,
    approved: Option<Money>,
    reason: Option<String>,
}

/// Reads the file; every bad line is named (`line 3.approved_amount`).
fn parse(bytes: &[u8]) -> AppResult<Vec<Parsed>> {
    let body = crate::services::import::lf_lines(
        bytes
            .strip_prefix(crate::services::import::UTF8_BOM)
            .unwrap_or(bytes),
    );
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(&*body);
    let header = r
        .headers()
        .map_err(|e| AppError::field("file", format!("the header cannot be read: {e}")))?
        .clone();
    let col = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(number_at), Some(amount_at), Some(reason_at)) = (
        col("claim_number"),
        col("approved_amount"),
        col("rejection_reason"),
    ) else {
        return Err(AppError::field(
            "file",
            "the header must name claim_number, approved_amount and rejection_reason",
        ));
    };
    let mut e = FieldErrors::new();
    let mut out = vec![];
    for rec in r.records() {
        let rec = match rec {
            Ok(rec) => rec,
            Err(err) => {
                let line = err.position().map_or(0, |p| p.line());
                e.add(format!("line {line}"), format!("cannot be read: {err}"));
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| p.line()) as i32;
        if rec.iter().all(str::is_empty) {
            continue;
        }
        if out.len() >= MAX_LINES {
            return Err(AppError::field(
                "file",
                format!("at most {MAX_LINES} lines"),
            ));
        }
        let f = |n: &str| format!("line {line}.{n}");
        let cell = |i: usize| rec.get(i).unwrap_or_default();
        let claim_number = e.check(&f("claim_number"), text(cell(number_at), 40));
        let approved = match cell(amount_at) {
            "" => Some(None),
            a => match a.parse::<Decimal>() {
                Ok(d) => e.check(&f("approved_amount"), Money::parse(d)).map(Some),
                Err(_) => {
                    e.add(
                        f("approved_amount"),
                        "must be a decimal amount such as 1234.50",
                    );
                    None
                }
            },
        };
        let reason = e
            .check(
                &f("rejection_reason"),
                optional_multiline(Some(cell(reason_at)), 500),
            )
            .flatten();
        if let (Some(claim_number), Some(approved)) = (claim_number, approved) {
            if matches!(approved, None | Some(Money::ZERO)) && reason.is_none() {
                e.add(
                    f("rejection_reason"),
                    "a line without an approved amount needs the rejection reason",
                );
                continue;
            }
            out.push(Parsed {
                line,
                claim_number,
                approved,
                reason,
            });
        }
    }
    e.into_result()?;
    if out.is_empty() {
        return Err(AppError::field("file", "no lines"));
    }
    Ok(out)
}

/// Imports a remittance file.
pub async fn import(state: &AppState, actor: &Actor, bytes: &[u8]) -> AppResult<RemittanceResult> {
    actor.require(REMITTANCE)?;
    let sha256 = hex::encode(Sha256::digest(bytes));
    if let Some(done) = stored(&state.db, actor.dealer_id, &sha256).await? {
        return Ok(done);
    }
    let lines = parse(bytes)?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let id = Uuid::now_v7();
    // the file's row first: it takes SQLite's write lock at once, and a
    // second import of the same file waits on (PostgreSQL) or fails the
    // unique index, then answers the first one's results
    let inserted = warranty_remittance::Entity::insert(warranty_remittance::ActiveModel {
        id: Set(id),
        dealer_id: Set(actor.dealer_id),
        sha256: Set(sha256.clone()),
        lines: Set(lines.len() as i32),
        imported_by: Set(actor.id),
        imported_at: Set(now),
    })
    .exec_without_returning(&txn)
    .await;
    if let Err(err) = inserted {
        if matches!(
            err.sql_err(),
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
        ) {
            drop(txn);
            return stored(&state.db, actor.dealer_id, &sha256)
                .await?
                .ok_or_else(|| {
                    AppError::ChangedMeanwhile("the same file is being imported".into())
                });
        }
        return Err(err.into());
    }
    for p in lines {
        let (outcome, case, approved, difference) = apply(&txn, actor, &p, now).await?;
        warranty_remittance_line::Entity::insert(warranty_remittance_line::ActiveModel {
            id: Set(Uuid::now_v7()),
            remittance_id: Set(id),
            line: Set(p.line),
            claim_number: Set(p.claim_number.clone()),
            case_id: Set(case),
            outcome: Set(outcome),
            approved_cents: Set(approved),
            difference_cents: Set(difference),
            reason: Set(p.reason.clone()),
        })
        .exec_without_returning(&txn)
        .await?;
    }
    txn.commit().await?;
    let mut r = stored(&state.db, actor.dealer_id, &sha256)
        .await?
        .ok_or(AppError::NotFound)?;
    r.replayed = false;
    Ok(r)
}

type Applied = (RemittanceOutcome, Option<Uuid>, Option<i64>, Option<i64>);

/// Reconciles one line against its claim: at most once, by a conditional
/// update on the claim's state and version.
async fn apply(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    p: &Parsed,
    now: DateTime<Utc>,
) -> AppResult<Applied> {
    let Some(c) = warranty_case::Entity::find()
        .filter(warranty_case::Column::DealerId.eq(actor.dealer_id))
        .filter(warranty_case::Column::ClaimNumber.eq(p.claim_number.clone()))
        .one(txn)
        .await?
    else {
        return Ok((RemittanceOutcome::UnknownClaim, None, None, None));
    };
    let open = matches!(
        c.state,
        WarrantyState::Submitted | WarrantyState::Resubmitted | WarrantyState::Approved
    );
    let claimed = c.claim_cents.map(Money::from_cents);
    let (Some(claimed), true) = (claimed, open) else {
        return Ok((RemittanceOutcome::NotOpen, Some(c.id), None, None));
    };
    let (outcome, diff) = rules::reconcile(claimed, p.approved, p.reason.as_deref())
        .map_err(|e| AppError::field(format!("line {}", p.line), e))?;
    let mut q = warranty_case::Entity::update_many();
    let (to, approved, difference) = match outcome {
        RemittanceOutcome::Rejected => {
            q = q.col_expr(
                warranty_case::Column::RejectionReason,
                Expr::value(p.reason.clone()),
            );
            (WarrantyState::Rejected, None, None)
        }
        _ => {
            let paid = p.approved.unwrap_or_default().cents();
            let short = (outcome == RemittanceOutcome::ShortPaid).then(|| diff.cents());
            q = q
                .col_expr(warranty_case::Column::ApprovedCents, Expr::value(paid))
                .col_expr(warranty_case::Column::ShortPaidCents, Expr::value(short));
            (WarrantyState::Reimbursed, Some(paid), short)
        }
    };
    if to == WarrantyState::Rejected && c.state == WarrantyState::Approved {
        // an approved claim the brand then refuses to pay is not a state
        // the machine has: the clerk answers it by hand
        return Ok((RemittanceOutcome::NotOpen, Some(c.id), None, None));
    }
    let n = q
        .col_expr(warranty_case::Column::State, Expr::value(to))
        .col_expr(
            warranty_case::Column::Version,
            col_plus(warranty_case::Column::Version, 1),
        )
        .col_expr(warranty_case::Column::UpdatedAt, Expr::value(now))
        .filter(warranty_case::Column::Id.eq(c.id))
        .filter(warranty_case::Column::State.eq(c.state))
        .filter(warranty_case::Column::Version.eq(c.version))
        .exec(txn)
        .await?
        .rows_affected;
    if n != 1 {
        return Ok((RemittanceOutcome::NotOpen, Some(c.id), None, None));
    }
    let note = match outcome {
        RemittanceOutcome::Rejected => p.reason.clone(),
        RemittanceOutcome::ShortPaid => Some(format!(
            "short-paid by {}{}",
            diff.to_decimal(),
            p.reason
                .as_ref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        )),
        _ => None,
    };
    super::event(
        txn,
        c.dealer_id,
        c.id,
        "remittance",
        Some(c.state),
        to,
        Some(actor.id),
        note,
        now,
    )
    .await?;
    Ok((outcome, Some(c.id), approved, difference))
}

/// The results of a file imported before, as a replay.
async fn stored(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    sha256: &str,
) -> AppResult<Option<RemittanceResult>> {
    let Some(r) = warranty_remittance::Entity::find()
        .filter(warranty_remittance::Column::DealerId.eq(dealer_id))
        .filter(warranty_remittance::Column::Sha256.eq(sha256))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let lines: Vec<RemittanceLine> = warranty_remittance_line::Entity::find()
        .filter(warranty_remittance_line::Column::RemittanceId.eq(r.id))
        .order_by_asc(warranty_remittance_line::Column::Line)
        .all(db)
        .await?
        .into_iter()
        .map(|l| RemittanceLine {
            line: l.line,
            claim_number: l.claim_number,
            case_id: l.case_id,
            outcome: l.outcome,
            approved_amount: l.approved_cents.map(|c| Money::from_cents(c).to_decimal()),
            difference: l
                .difference_cents
                .map(|c| Money::from_cents(c).to_decimal()),
            reason: l.reason,
        })
        .collect();
    let count = |o: RemittanceOutcome| lines.iter().filter(|l| l.outcome == o).count();
    Ok(Some(RemittanceResult {
        id: r.id,
        replayed: true,
        sha256: r.sha256,
        imported_at: r.imported_at,
        paid: count(RemittanceOutcome::Paid),
        short_paid: count(RemittanceOutcome::ShortPaid),
        rejected: count(RemittanceOutcome::Rejected),
        unknown_claim: count(RemittanceOutcome::UnknownClaim),
        not_open: count(RemittanceOutcome::NotOpen),
        lines,
    }))
}
