//! Deputies (职务代理, `domain::deputy`): `PUT/GET/DELETE
//! /api/v1/users/{id}/deputy`, and what the rest of the house asks of
//! them: whom a user stands in for now ([`principals`], which widens the
//! `mine=true` lists of appointments, orders, cases and callbacks) and
//! whether an act on someone's record is a deputy's ([`acting_for`], which
//! the audit rows keep as `on_behalf_of`).
//!
//! Writes: naming a deputy is one transaction whose first statement
//! withdraws the user's live period unless it is the same one (so a retry
//! changes nothing and, on SQLite, the write lock is taken at once); then
//! the new period is inserted. The partial unique index on live periods
//! turns two managers naming at the same moment into one period and a 409.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    SqlErr, TransactionSession, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::dates::day_bounds;
use crate::domain::deputy;
use crate::entities::{deputy as row, user};
use crate::error::{AppError, AppResult};
use crate::services::dealers::{StaffRef, dealer_zone, staff_names};

/// `PUT /api/v1/users/{id}/deputy`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeputyInput {
    /// An active member of the same dealer's staff, not the user themself.
    pub deputy_id: Uuid,
    /// The first local day (the dealer's zone): today or later, within a year.
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    /// The last local day, inclusive: at most 90 days in all.
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
}

/// One period of standing in.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeputyPeriod {
    pub id: Uuid,
    /// The person who is away.
    pub user: StaffRef,
    /// Who stands in.
    pub deputy: StaffRef,
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    /// The period runs now.
    pub active: bool,
    pub set_by: StaffRef,
    pub set_at: DateTime<Utc>,
}

/// A user's deputy, and whom the user stands in for.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserDeputies {
    pub user_id: Uuid,
    /// The deputy named for the user's coming or running absence; null for none.
    pub deputy: Option<DeputyPeriod>,
    /// Those the user stands in for, now or later, by first day.
    pub standing_in_for: Vec<DeputyPeriod>,
}

/// A live period (not withdrawn) that has not ended by `now`.
fn live(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(row::Column::WithdrawnAt.is_null())
        .add(row::Column::EndsAt.gt(now))
}

/// A period running at `now`.
fn running(now: DateTime<Utc>) -> Condition {
    live(now).add(row::Column::StartsAt.lte(now))
}

/// The user `id` of the actor's dealer whose deputy the actor may name
/// (403 for anyone else's unless a manager, 404 outside the dealer).
async fn principal_user(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> AppResult<user::Model> {
    if actor.is_customer() || !deputy::may_name(actor.id, &actor.roles, id) {
        return Err(AppError::Forbidden(
            "only the user themself or a manager names a deputy",
        ));
    }
    crate::services::dealers::staff_member(db, actor.dealer_id, id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn views(
    db: &impl ConnectionTrait,
    rows: Vec<row::Model>,
    now: DateTime<Utc>,
) -> AppResult<Vec<DeputyPeriod>> {
    let names = staff_names(
        db,
        rows.iter().flat_map(|r| [r.user_id, r.deputy_id, r.set_by]),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| DeputyPeriod {
            id: r.id,
            user: StaffRef::of(&names, r.user_id),
            deputy: StaffRef::of(&names, r.deputy_id),
            from: r.from_date,
            to: r.to_date,
            active: r.withdrawn_at.is_none() && r.starts_at <= now && now < r.ends_at,
            set_by: StaffRef::of(&names, r.set_by),
            set_at: r.set_at,
        })
        .collect())
}

/// The user's deputy and whom they stand in for (the user themself and
/// managers).
pub async fn get(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<UserDeputies> {
    let u = principal_user(db, actor, id).await?;
    let mine = row::Entity::find()
        .filter(row::Column::UserId.eq(u.id))
        .filter(live(now))
        .one(db)
        .await?;
    let standing = row::Entity::find()
        .filter(row::Column::DeputyId.eq(u.id))
        .filter(live(now))
        .order_by_asc(row::Column::FromDate)
        .order_by_asc(row::Column::Id)
        .all(db)
        .await?;
    let deputy = views(db, mine.into_iter().collect(), now).await?.pop();
    Ok(UserDeputies {
        user_id: u.id,
        deputy,
        standing_in_for: views(db, standing, now).await?,
    })
}

/// Names the user's deputy for a period, replacing any period not yet
/// over; the same period again changes nothing (a retry).
pub async fn put(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &Actor,
    id: Uuid,
    input: DeputyInput,
    now: DateTime<Utc>,
) -> AppResult<DeputyPeriod> {
    let u = principal_user(db, actor, id).await?;
    let same = Condition::all()
        .add(row::Column::DeputyId.eq(input.deputy_id))
        .add(row::Column::FromDate.eq(input.from))
        .add(row::Column::ToDate.eq(input.to));
    // a retry of a naming already made (even once its first day is past)
    if let Some(r) = row::Entity::find()
        .filter(row::Column::UserId.eq(u.id))
        .filter(live(now))
        .filter(same.clone())
        .one(db)
        .await?
    {
        return views(db, vec![r], now)
            .await?
            .pop()
            .ok_or(AppError::NotFound);
    }
    let (_, tz) = dealer_zone(db, u.dealer_id).await?;
    let today = now.with_timezone(&tz).date_naive();
    let mut errors = deputy::period(input.from, input.to, today)
        .err()
        .unwrap_or_default();
    if input.deputy_id == u.id {
        errors.add("deputy_id", "is the user themself");
    } else if crate::services::dealers::staff_member(db, u.dealer_id, input.deputy_id)
        .await?
        .is_none()
    {
        errors.add(
            "deputy_id",
            "is not an active member of this dealer's staff",
        );
    }
    errors.into_result()?;
    let (starts_at, ends_at) = day_bounds(tz, input.from, input.to);
    let txn = db.begin().await?;
    close(&txn, actor, u.id, Some(same.clone()), now).await?;
    let kept = row::Entity::find()
        .filter(row::Column::UserId.eq(u.id))
        .filter(row::Column::WithdrawnAt.is_null())
        .one(&txn)
        .await?;
    let r = match kept {
        Some(r) => r,
        None => {
            let r = row::Model {
                id: Uuid::now_v7(),
                dealer_id: u.dealer_id,
                user_id: u.id,
                deputy_id: input.deputy_id,
                from_date: input.from,
                to_date: input.to,
                starts_at,
                ends_at,
                set_by: actor.id,
                set_at: now,
                withdrawn_by: None,
                withdrawn_at: None,
            };
            let am: row::ActiveModel = r.clone().into();
            match row::Entity::insert(am).exec_without_returning(&txn).await {
                Ok(_) => r,
                Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                    drop(txn);
                    // the same naming sent twice at once: the other one's
                    // period is this one, and the answer is the same
                    let other = row::Entity::find()
                        .filter(row::Column::UserId.eq(u.id))
                        .filter(row::Column::WithdrawnAt.is_null())
                        .filter(same)
                        .one(db)
                        .await?;
                    return match other {
                        Some(r) => views(db, vec![r], now)
                            .await?
                            .pop()
                            .ok_or(AppError::NotFound),
                        None => Err(AppError::ChangedMeanwhile(
                            "this user's deputy was changed at the same moment; read it again"
                                .into(),
                        )),
                    };
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    let v = views(&txn, vec![r], now)
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    txn.commit().await?;
    Ok(v)
}

/// Withdraws the user's deputy (a period not yet over ends now, one that
/// ran out is closed at its end); nothing to withdraw is not an error.
pub async fn withdraw(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let u = principal_user(db, actor, id).await?;
    close(db, actor, u.id, None, now).await
}

/// Ends the user's live periods but `keep`: one that ran out is closed
/// at its own end by nobody (the record does not say anyone withdrew it);
/// one not over yet is withdrawn now by `actor`. The first statement is a
/// write, so on SQLite the transaction holds the write lock from the start.
async fn close(
    db: &impl ConnectionTrait,
    actor: &Actor,
    user_id: Uuid,
    keep: Option<Condition>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    row::Entity::update_many()
        .col_expr(row::Column::WithdrawnAt, Expr::col(row::Column::EndsAt))
        .filter(row::Column::UserId.eq(user_id))
        .filter(row::Column::WithdrawnAt.is_null())
        .filter(row::Column::EndsAt.lte(now))
        .exec(db)
        .await?;
    let mut q = row::Entity::update_many()
        .col_expr(row::Column::WithdrawnAt, Expr::value(now))
        .col_expr(row::Column::WithdrawnBy, Expr::value(actor.id))
        .filter(row::Column::UserId.eq(user_id))
        .filter(row::Column::WithdrawnAt.is_null());
    if let Some(k) = keep {
        q = q.filter(k.not());
    }
    q.exec(db).await?;
    Ok(())
}

/// Those `actor` stands in for at `now` (not passed on: a deputy's own
/// principals only).
pub async fn principals(
    db: &impl ConnectionTrait,
    actor: &Actor,
    now: DateTime<Utc>,
) -> AppResult<Vec<Uuid>> {
    if actor.is_customer() {
        return Ok(vec![]);
    }
    Ok(row::Entity::find()
        .select_only()
        .column(row::Column::UserId)
        .filter(row::Column::DeputyId.eq(actor.id))
        .filter(row::Column::DealerId.eq(actor.dealer_id))
        .filter(running(now))
        .into_tuple()
        .all(db)
        .await?)
}

/// The actor and those they stand in for now: whose records a `mine=true`
/// list shows.
pub async fn mine(
    db: &impl ConnectionTrait,
    actor: &Actor,
    now: DateTime<Utc>,
) -> AppResult<Vec<Uuid>> {
    let mut ids = principals(db, actor, now).await?;
    ids.push(actor.id);
    Ok(ids)
}

/// Whose records a list shows, from its `mine` flag and its explicit
/// `field` (`advisor_id`, `owner_id`): `mine=true` is the actor and those
/// they stand in for now, the field one person; None for everyone's. The
/// two together are refused (422 naming `mine`).
pub async fn whose(
    db: &impl ConnectionTrait,
    actor: &Actor,
    mine_flag: Option<bool>,
    (field, one): (&str, Option<Uuid>),
    now: DateTime<Utc>,
) -> AppResult<Option<Vec<Uuid>>> {
    match (mine_flag, one) {
        (Some(true), Some(_)) => Err(AppError::field("mine", format!("not with {field}"))),
        (Some(true), None) => Ok(Some(mine(db, actor, now).await?)),
        (_, Some(id)) => Ok(Some(vec![id])),
        (_, None) => Ok(None),
    }
}

/// When `actor` acts on a record that is `assignee`'s (an order's or a
/// booking's advisor, a case's owner) while standing in for them: the
/// assignee, for the audit's "by X for Y". None for one's own record, an
/// unassigned one, or someone the actor does not stand in for now.
pub async fn acting_for(
    db: &impl ConnectionTrait,
    actor: &Actor,
    assignee: Option<Uuid>,
    now: DateTime<Utc>,
) -> AppResult<Option<Uuid>> {
    let Some(a) = assignee.filter(|a| *a != actor.id && !actor.is_customer()) else {
        return Ok(None);
    };
    let found = row::Entity::find()
        .select_only()
        .column(row::Column::Id)
        .filter(row::Column::UserId.eq(a))
        .filter(row::Column::DeputyId.eq(actor.id))
        .filter(running(now))
        .into_tuple::<Uuid>()
        .one(db)
        .await?;
    Ok(found.map(|_| a))
}

/// The periods running at `now` at the dealer, by the absent person's
/// name (the opening page's "absent, with deputies").
pub async fn running_at(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<Vec<DeputyPeriod>> {
    let rows = row::Entity::find()
        .filter(row::Column::DealerId.eq(dealer_id))
        .filter(running(now))
        .all(db)
        .await?;
    let mut v = views(db, rows, now).await?;
    v.sort_by(|a, b| a.user.name.cmp(&b.user.name).then(a.id.cmp(&b.id)));
    Ok(v)
}
