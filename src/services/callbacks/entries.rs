//! The callback list's entries, written where their reason is born, in its
//! transaction: a delivery writes the follow-up call (`on_delivered`), a case
//! its first contact (`on_case_opened`), and a case moving on ends or moves
//! its call. A `source_key` unique per dealer makes a retried delivery or a
//! case found twice one entry. This module stands below `cases` and the
//! repair orders, which call it; the queue itself is `callbacks`.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::care::settings;
use crate::domain::callback::{
    CallHours, CallbackReason, CallbackState, follow_up_deadline, follow_up_due, priority,
};
use crate::domain::case::{CaseState, Severity};
use crate::entities::{callback, case, customer, repair_order};
use crate::error::AppResult;
use crate::services::col_plus;

pub(super) fn follow_up_key(order: Uuid) -> String {
    format!("follow_up:{order}")
}

pub(super) fn case_key(case: Uuid) -> String {
    format!("case:{case}")
}

/// The dealer's calling hours: the care sending window, in its zone.
pub(super) async fn hours(db: &impl ConnectionTrait, dealer_id: Uuid) -> AppResult<CallHours> {
    let (rules, tz) = settings::rules(db, dealer_id).await?;
    Ok(CallHours {
        start: rules.send_window_start,
        end: rules.send_window_end,
        tz,
    })
}

async fn put(db: &impl ConnectionTrait, row: callback::ActiveModel) -> AppResult<()> {
    callback::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([callback::Column::DealerId, callback::Column::SourceKey])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn entry(
    dealer_id: Uuid,
    source_key: String,
    reason: CallbackReason,
    customer_id: Uuid,
    order_id: Option<Uuid>,
    case_id: Option<Uuid>,
    severity: Option<Severity>,
    due_at: DateTime<Utc>,
    deadline_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> callback::ActiveModel {
    callback::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(dealer_id),
        source_key: Set(source_key),
        reason: Set(reason),
        customer_id: Set(customer_id),
        order_id: Set(order_id),
        case_id: Set(case_id),
        priority: Set(priority(reason, severity)),
        state: Set(CallbackState::Queued),
        due_at: Set(due_at),
        deadline_at: Set(deadline_at),
        tries: Set(0),
        claimed_by: Set(None),
        claimed_until: Set(None),
        last_result: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// The follow-up call of a delivered order, due the next morning; none for
/// a customer no call reaches (the follow-up message is their follow-up).
pub async fn on_delivered(
    db: &impl ConnectionTrait,
    order: &repair_order::Model,
    delivered: DateTime<Utc>,
) -> AppResult<()> {
    let unreachable = customer::Entity::find_by_id(order.customer_id)
        .one(db)
        .await?
        .is_none_or(|c| c.calls_unreachable_at.is_some());
    if unreachable {
        return Ok(());
    }
    let h = hours(db, order.dealer_id).await?;
    put(
        db,
        entry(
            order.dealer_id,
            follow_up_key(order.id),
            CallbackReason::FollowUp,
            order.customer_id,
            Some(order.id),
            None,
            None,
            follow_up_due(delivered, &h),
            follow_up_deadline(delivered),
            delivered,
        ),
    )
    .await
}

/// The first contact a new case needs, due at once, by its contact time.
pub async fn on_case_opened(db: &impl ConnectionTrait, c: &case::Model) -> AppResult<()> {
    put(
        db,
        entry(
            c.dealer_id,
            case_key(c.id),
            CallbackReason::CaseContact,
            c.customer_id,
            c.order_id,
            Some(c.id),
            Some(c.severity),
            c.created_at,
            c.contact_due_at,
            c.created_at,
        ),
    )
    .await
}

/// A case moved on without the list (contacted at the counter, closed): its
/// queued entry is done.
pub async fn on_case_moved(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    case_id: Uuid,
    to: CaseState,
    now: DateTime<Utc>,
) -> AppResult<()> {
    if to == CaseState::Open {
        return Ok(());
    }
    queued_of_case(done(), dealer_id, case_id, now)
        .exec(db)
        .await?;
    Ok(())
}

/// The update that ends queued entries: done, the claim dropped.
fn done() -> sea_orm::UpdateMany<callback::Entity> {
    callback::Entity::update_many()
        .col_expr(callback::Column::State, Expr::value(CallbackState::Done))
        .col_expr(callback::Column::ClaimedBy, Expr::value(None::<Uuid>))
        .col_expr(
            callback::Column::ClaimedUntil,
            Expr::value(None::<DateTime<Utc>>),
        )
}

/// Every queued entry of the customer is done, in the caller's transaction
/// (an erasure: nobody is to call them), each as a new version.
pub async fn done_all_of(
    txn: &impl ConnectionTrait,
    customer_id: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    Ok(done()
        .col_expr(
            callback::Column::Version,
            col_plus(callback::Column::Version, 1),
        )
        .col_expr(callback::Column::UpdatedAt, Expr::value(now))
        .filter(callback::Column::CustomerId.eq(customer_id))
        .filter(callback::Column::State.eq(CallbackState::Queued))
        .exec(txn)
        .await?
        .rows_affected)
}

/// `u` on the case's entry still queued, as a new version.
fn queued_of_case(
    u: sea_orm::UpdateMany<callback::Entity>,
    dealer_id: Uuid,
    case_id: Uuid,
    now: DateTime<Utc>,
) -> sea_orm::UpdateMany<callback::Entity> {
    u.col_expr(
        callback::Column::Version,
        col_plus(callback::Column::Version, 1),
    )
    .col_expr(callback::Column::UpdatedAt, Expr::value(now))
    .filter(callback::Column::DealerId.eq(dealer_id))
    .filter(callback::Column::SourceKey.eq(case_key(case_id)))
    .filter(callback::Column::State.eq(CallbackState::Queued))
}

/// A case's severity changed: its queued first contact takes the new priority.
pub async fn on_case_severity(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    case_id: Uuid,
    severity: Severity,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let moved = callback::Entity::update_many().col_expr(
        callback::Column::Priority,
        Expr::value(priority(CallbackReason::CaseContact, Some(severity))),
    );
    queued_of_case(moved, dealer_id, case_id, now)
        .exec(db)
        .await?;
    Ok(())
}
