//! The customer app's inbox: messages written by the use cases that tell the
//! customer something (appointments now, care messages later).

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::domain::message::MessageKind;
use crate::entities::inbox_message;
use crate::error::AppResult;

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct InboxMessage {
    pub id: Uuid,
    pub kind: MessageKind,
    pub title: String,
    pub body: String,
    pub subject_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// Puts a message in customer `customer_id`'s app inbox, about `subject_id`
/// (the booking, order, rescue or enquiry), inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub async fn post(
    txn: &impl ConnectionTrait,
    dealer_id: Uuid,
    customer_id: Uuid,
    kind: &str,
    title: &str,
    body: &str,
    subject_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    use sea_orm::{ActiveModelTrait, Set};
    inbox_message::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(dealer_id),
        customer_id: Set(customer_id),
        kind: Set(kind.to_string()),
        title: Set(title.to_string()),
        body: Set(body.to_string()),
        subject_id: Set(Some(subject_id)),
        created_at: Set(now),
        read_at: Set(None),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// The customer's app inbox, newest first (customers only).
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &crate::auth::Actor,
) -> AppResult<Vec<InboxMessage>> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    let Some(own) = actor.customer_id else {
        return Err(crate::error::AppError::Forbidden(
            "the inbox is the customer's",
        ));
    };
    let rows = inbox_message::Entity::find()
        .filter(inbox_message::Column::CustomerId.eq(own))
        .filter(inbox_message::Column::DealerId.eq(actor.dealer_id))
        .order_by_desc(inbox_message::Column::Id)
        .limit(100)
        .all(db)
        .await?;
    rows.into_iter().map(view).collect()
}

fn view(r: inbox_message::Model) -> AppResult<InboxMessage> {
    // a stored kind this build does not know is our fault, not an empty inbox
    let kind = r.kind.parse::<MessageKind>().map_err(anyhow::Error::new)?;
    Ok(InboxMessage {
        id: r.id,
        kind,
        title: r.title,
        body: r.body,
        subject_id: r.subject_id,
        created_at: r.created_at,
        read_at: r.read_at,
    })
}

/// Marks one of the customer's messages read (customers only). Idempotent:
/// the first read's time stays. 404 for a message that is not theirs.
pub async fn mark_read(
    db: &impl ConnectionTrait,
    actor: &crate::auth::Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<InboxMessage> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let Some(own) = actor.customer_id else {
        return Err(crate::error::AppError::Forbidden(
            "the inbox is the customer's",
        ));
    };
    let mine = || {
        inbox_message::Column::Id
            .eq(id)
            .and(inbox_message::Column::CustomerId.eq(own))
            .and(inbox_message::Column::DealerId.eq(actor.dealer_id))
    };
    inbox_message::Entity::update_many()
        .col_expr(inbox_message::Column::ReadAt, Expr::value(now))
        .filter(mine())
        .filter(inbox_message::Column::ReadAt.is_null())
        .exec(db)
        .await?;
    let row = inbox_message::Entity::find()
        .filter(mine())
        .one(db)
        .await?
        .ok_or(crate::error::AppError::NotFound)?;
    view(row)
}
