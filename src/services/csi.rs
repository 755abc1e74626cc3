//! CSI (issue 10): the dealer's questionnaire, by version. Responses,
//! cases and callbacks grow here.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set, SqlErr};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::csi::{Questionnaire, SectionSpec};
use crate::entities::csi_questionnaire;
use crate::error::{AppError, AppResult};

/// A version of the questionnaire, as staff read it.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionnaireView {
    /// 0 is the seed's, never changed; each change is the next version.
    pub version: i32,
    pub sections: Vec<SectionSpec>,
}

impl QuestionnaireView {
    fn of(version: i32, q: Questionnaire) -> Self {
        QuestionnaireView {
            version,
            sections: q.sections,
        }
    }
}

/// The dealer's questionnaire in force and its version (the seed's, 0,
/// until a manager changes it).
pub async fn current(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
) -> AppResult<(i32, Questionnaire)> {
    let row = csi_questionnaire::Entity::find()
        .filter(csi_questionnaire::Column::DealerId.eq(dealer_id))
        .order_by_desc(csi_questionnaire::Column::Version)
        .one(db)
        .await?;
    Ok(match row {
        None => (0, Questionnaire::default()),
        Some(r) => (
            r.version,
            crate::services::from_stored(&r.questionnaire, "CSI questionnaire")?,
        ),
    })
}

/// The questionnaire in force (staff).
pub async fn get(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<QuestionnaireView> {
    actor.require(crate::care::outbox::READERS)?;
    let (v, q) = current(db, actor.dealer_id).await?;
    Ok(QuestionnaireView::of(v, q))
}

/// Makes `q` the questionnaire in force (managers), as the next version;
/// the same questionnaire again (a retried request) is the version it
/// already is. Two managers saving at once: one wins, the other is 409.
pub async fn put(
    db: &impl ConnectionTrait,
    actor: &Actor,
    q: Questionnaire,
    now: DateTime<Utc>,
) -> AppResult<QuestionnaireView> {
    actor.require(crate::services::capacity::MANAGERS)?;
    q.validate()?;
    let (v, in_force) = current(db, actor.dealer_id).await?;
    if in_force == q {
        return Ok(QuestionnaireView::of(v, q));
    }
    let next = v + 1;
    let written = csi_questionnaire::Entity::insert(csi_questionnaire::ActiveModel {
        dealer_id: Set(actor.dealer_id),
        version: Set(next),
        // plain data of strings, numbers and enums always serialises
        questionnaire: Set(serde_json::to_value(&q).unwrap_or_default()),
        created_by: Set(actor.id),
        created_at: Set(now),
    })
    .exec_without_returning(db)
    .await;
    match written {
        Ok(_) => Ok(QuestionnaireView::of(next, q)),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            Err(AppError::ChangedMeanwhile(
                "the questionnaire was changed meanwhile; read it again".into(),
            ))
        }
        Err(e) => Err(e.into()),
    }
}
