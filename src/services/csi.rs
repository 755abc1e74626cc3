//! CSI (issue 10): the dealer's questionnaire, by version, and the survey
//! a follow-up's link opens. Cases and callbacks grow here.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set, SqlErr,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::care::survey;
use crate::domain::FieldErrors;
use crate::domain::care::{InboundAction, quick_rating};
use crate::domain::case::Response;
use crate::domain::csi::{Questionnaire, SectionSpec, score};
use crate::domain::customer::{Channel, Locale};
use crate::domain::message::MessageKind;
use crate::entities::{
    csi_questionnaire, csi_response, customer, dealer, outbox_message, repair_order,
};
use crate::error::{AppError, AppResult};
use crate::services::cases;
use crate::services::dealers::zone;
use crate::state::AppState;

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

/// What a survey link shows: the dealer, the visit and the questions; of
/// the customer nothing but the first name.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyView {
    pub dealer_name: String,
    /// The given name of a Western name, the family name of a Chinese one.
    pub first_name: String,
    /// The local date of the delivery.
    #[schema(value_type = String, format = Date)]
    pub visit_date: NaiveDate,
    /// The customer's language, for the page.
    pub locale: Locale,
    /// Answered already: the survey takes no second answer.
    pub answered: bool,
    pub questionnaire: QuestionnaireView,
}

/// One answer: a score 1–10, or `null` for "not applicable".
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerInput {
    #[schema(max_length = 40)]
    pub code: String,
    #[schema(minimum = 1, maximum = 10)]
    pub score: Option<u8>,
}

/// A customer's answers.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyAnswer {
    #[schema(max_items = 100)]
    pub answers: Vec<AnswerInput>,
    /// "Would you recommend us to a friend?", 0–10.
    #[schema(minimum = 0, maximum = 10)]
    pub recommend: Option<u8>,
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
}

/// The answer was received.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyReceipt {
    pub received_at: DateTime<Utc>,
}

/// The source of a response through the survey link.
pub const SOURCE_SURVEY: &str = "survey";

/// The source of a response an agent recorded on a call.
pub const SOURCE_CALL: &str = "call";

/// The first name to greet with: the first word of a spaced name, the
/// first character (the family name) of a Chinese one.
fn first_name(name: &str) -> String {
    let name = name.trim();
    match name.split_once(char::is_whitespace) {
        Some((first, _)) => first.to_string(),
        None if name.is_ascii() => name.to_string(),
        None => name.chars().take(1).collect(),
    }
}

/// The delivered order a token opens (404 for anything forged, or an order
/// not delivered; 422 naming `token` when it has expired).
async fn order_of(
    state: &AppState,
    token: &str,
) -> AppResult<(repair_order::Model, customer::Model, dealer::Model)> {
    let now = state.clock.now();
    let order_id = match survey::verify(&state.tokens, token, now) {
        Ok(id) => id,
        Err(survey::Invalid::Forged) => return Err(AppError::NotFound),
        Err(survey::Invalid::Expired) => {
            return Err(AppError::field(
                "token",
                "the survey link has expired / 问卷链接已过期",
            ));
        }
    };
    let order = repair_order::Entity::find_by_id(order_id)
        .one(&state.db)
        .await?
        .filter(|o| o.delivered_at.is_some())
        .ok_or(AppError::NotFound)?;
    let c = customer::Entity::find_by_id(order.customer_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let d = dealer::Entity::find_by_id(order.dealer_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((order, c, d))
}

async fn answered(db: &impl ConnectionTrait, order_id: Uuid) -> AppResult<bool> {
    Ok(csi_response::Entity::find()
        .filter(csi_response::Column::OrderId.eq(order_id))
        .filter(csi_response::Column::Source.eq(SOURCE_SURVEY))
        .one(db)
        .await?
        .is_some())
}

/// The survey a link opens (no login: the link is the key).
pub async fn survey(state: &AppState, token: &str) -> AppResult<SurveyView> {
    let (order, c, d) = order_of(state, token).await?;
    let (version, q) = current(&state.db, order.dealer_id).await?;
    let delivered = order.delivered_at.unwrap_or(order.arrived_at);
    Ok(SurveyView {
        dealer_name: d.name.clone(),
        first_name: first_name(&c.name),
        visit_date: delivered.with_timezone(&zone(&d)).date_naive(),
        locale: c.locale,
        answered: answered(&state.db, order.id).await?,
        questionnaire: QuestionnaireView::of(version, q),
    })
}

/// Checks the answers against the questionnaire: known codes, each once,
/// scores 1–10, recommend 0–10, a comment of at most 2,000 characters.
fn check(q: &Questionnaire, a: &SurveyAnswer) -> Result<Option<String>, FieldErrors> {
    let mut e = FieldErrors::new();
    let mut seen = std::collections::HashSet::new();
    for (i, x) in a.answers.iter().enumerate() {
        if q.section_of(&x.code).is_none() {
            e.add(
                format!("answers[{i}].code"),
                "not a question of this survey",
            );
        } else if !seen.insert(x.code.as_str()) {
            e.add(format!("answers[{i}].code"), "each question once");
        }
        if let Some(s) = x.score
            && !(1..=10).contains(&s)
        {
            e.add(
                format!("answers[{i}].score"),
                "1 to 10, or null for not applicable",
            );
        }
    }
    if a.answers.len() > 100 {
        e.add("answers", "at most 100 answers");
    }
    if a.answers.iter().all(|x| x.score.is_none()) && a.recommend.is_none() {
        e.add("answers", "answer at least one question");
    }
    if let Some(r) = a.recommend
        && r > 10
    {
        e.add("recommend", "0 to 10");
    }
    let comment = e
        .check(
            "comment",
            crate::domain::validation::optional_multiline(a.comment.as_deref(), 2000),
        )
        .flatten();
    e.into_result().map(|_| comment)
}

/// Records the customer's answers, scored with the questionnaire in force;
/// a second answer through the same link is 409, also when two arrive at once.
pub async fn answer(state: &AppState, token: &str, a: SurveyAnswer) -> AppResult<SurveyReceipt> {
    let (order, _, _) = order_of(state, token).await?;
    if answered(&state.db, order.id).await? {
        // the answers are checked first, so a bad second answer names its field
        let (_, q) = current(&state.db, order.dealer_id).await?;
        check(&q, &a)?;
        return Err(AppError::Conflict(ALREADY.into()));
    }
    let now = state.clock.now();
    record(&state.db, &order, &a, SOURCE_SURVEY, now).await?;
    Ok(SurveyReceipt { received_at: now })
}

/// Scores `a` with the questionnaire in force and keeps it as the order's
/// response from `source` (one per order and source: a second is 409, also
/// when two arrive at once); a low score or a complaint opens a case, once.
pub async fn record(
    db: &impl ConnectionTrait,
    order: &repair_order::Model,
    a: &SurveyAnswer,
    source: &str,
    now: DateTime<Utc>,
) -> AppResult<csi_response::Model> {
    let (version, q) = current(db, order.dealer_id).await?;
    let comment = check(&q, a)?;
    let pairs: Vec<(String, Option<u8>)> = a
        .answers
        .iter()
        .map(|x| (x.code.clone(), x.score))
        .collect();
    let scores = score(&q, &pairs);
    let r = csi_response::Model {
        id: Uuid::now_v7(),
        dealer_id: order.dealer_id,
        order_id: order.id,
        customer_id: order.customer_id,
        source: source.into(),
        questionnaire_version: version,
        // plain data of strings and numbers always serialises
        answers: serde_json::to_value(&a.answers).unwrap_or_default(),
        recommend: a.recommend.map(i32::from),
        comment,
        quick_rating: None,
        csi_tenths: scores.csi.and_then(|c| (c * Decimal::TEN).round().to_i32()),
        sections: serde_json::to_value(&scores.sections).unwrap_or_default(),
        created_at: now,
    };
    let written = csi_response::Entity::insert(r.clone().into_active_model())
        .exec_without_returning(db)
        .await;
    match written {
        Ok(_) => {
            let what = Response {
                scores: Some(&scores),
                recommend: a.recommend,
                words: r.comment.as_deref(),
                sms_rating: None,
            };
            cases::open_for(db, &r, &what, now).await?;
            Ok(r)
        }
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            Err(AppError::Conflict(ALREADY.into()))
        }
        Err(e) => Err(e.into()),
    }
}

const ALREADY: &str = "this survey has been answered; thank you / 此问卷已提交，谢谢";

/// The source of responses that came as SMS replies.
const SOURCE_SMS: &str = "sms";

/// An SMS reply from `phone` (E.164) to the latest follow-up SMS sent to it
/// in the last `days`: a quick rating 1–5 (with words, `2 太贵了`) or a
/// comment, kept as the order's `sms` response. The first reply makes it;
/// a later one adds its words (the same words twice, a retried webhook,
/// add nothing). `None` when the number had no recent follow-up.
pub async fn sms_reply(
    db: &DatabaseConnection,
    phone: &str,
    text: &str,
    now: DateTime<Utc>,
    days: i64,
) -> AppResult<Option<InboundAction>> {
    let Some(m) = outbox_message::Entity::find()
        .filter(outbox_message::Column::Kind.eq(MessageKind::PostRepairFollowup))
        .filter(outbox_message::Column::Channel.eq(Channel::Sms))
        .filter(outbox_message::Column::Recipient.eq(phone))
        .filter(outbox_message::Column::SentAt.is_not_null())
        .filter(outbox_message::Column::SentAt.gte(now - chrono::Duration::days(days)))
        .order_by_desc(outbox_message::Column::SentAt)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let Some(order_id) = crate::domain::care_plan::key::followup_order(&m.occurrence_key) else {
        return Ok(None);
    };
    let Some(order) = repair_order::Entity::find_by_id(order_id)
        .filter(repair_order::Column::DealerId.eq(m.dealer_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let (rating, words) = match quick_rating(text) {
        Some((r, rest)) => (Some(i32::from(r)), rest),
        None => (None, text.trim().to_string()),
    };
    let words = crate::domain::validation::multiline(&words, 2000).unwrap_or_default();
    let action = if rating.is_some() {
        InboundAction::Rated
    } else {
        InboundAction::Commented
    };
    // twice at most: a reply racing another for the first row finds it the second time
    for _ in 0..2 {
        let existing = csi_response::Entity::find()
            .filter(csi_response::Column::OrderId.eq(order.id))
            .filter(csi_response::Column::Source.eq(SOURCE_SMS))
            .one(db)
            .await?;
        match existing {
            Some(r) => {
                let comment = match (&r.comment, words.is_empty()) {
                    (_, true) => r.comment.clone(),
                    (Some(c), false) if c.split('\n').any(|l| l == words) => r.comment.clone(),
                    (Some(c), false) => Some(format!("{c}\n{words}")),
                    (None, false) => Some(words.clone()),
                };
                csi_response::Entity::update_many()
                    .col_expr(csi_response::Column::Comment, Expr::value(comment))
                    .col_expr(
                        csi_response::Column::QuickRating,
                        Expr::value(r.quick_rating.or(rating)),
                    )
                    .filter(csi_response::Column::Id.eq(r.id))
                    .exec(db)
                    .await?;
                open_case(db, order.id, now).await?;
                return Ok(Some(action));
            }
            None => {
                let (version, _) = current(db, order.dealer_id).await?;
                let written = csi_response::Entity::insert(csi_response::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    dealer_id: Set(order.dealer_id),
                    order_id: Set(order.id),
                    customer_id: Set(order.customer_id),
                    source: Set(SOURCE_SMS.into()),
                    questionnaire_version: Set(version),
                    answers: Set(serde_json::json!([])),
                    recommend: Set(None),
                    comment: Set((!words.is_empty()).then(|| words.clone())),
                    quick_rating: Set(rating),
                    csi_tenths: Set(None),
                    sections: Set(serde_json::json!([])),
                    created_at: Set(now),
                })
                .exec_without_returning(db)
                .await;
                match written {
                    Ok(_) => {
                        open_case(db, order.id, now).await?;
                        return Ok(Some(action));
                    }
                    Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    Err(AppError::ChangedMeanwhile(
        "the reply raced another; send it again".into(),
    ))
}

/// Opens the case the order's SMS response calls for (a rating of 1 or 2,
/// or words of the complaint lexicon), once.
async fn open_case(db: &DatabaseConnection, order_id: Uuid, now: DateTime<Utc>) -> AppResult<()> {
    let Some(r) = csi_response::Entity::find()
        .filter(csi_response::Column::OrderId.eq(order_id))
        .filter(csi_response::Column::Source.eq(SOURCE_SMS))
        .one(db)
        .await?
    else {
        return Ok(());
    };
    let rating = r.quick_rating.and_then(|v| u8::try_from(v).ok());
    let what = Response {
        scores: None,
        recommend: None,
        words: r.comment.as_deref(),
        sms_rating: rating,
    };
    cases::open_for(db, &r, &what, now).await?;
    Ok(())
}
