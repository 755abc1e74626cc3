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
    rows.into_iter()
        .map(|r| {
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
        })
        .collect()
}
