use sea_orm::entity::prelude::*;

/// A customer's answers to the CSI questionnaire about one repair order,
/// scored when received with the version it was answered with; one per
/// order and source (`survey` for the link, `sms` for replies to the
/// follow-up SMS).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "csi_responses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub order_id: Uuid,
    pub customer_id: Uuid,
    pub source: String,
    pub questionnaire_version: i32,
    /// `[{code, score}]`, score 1–10 or null for "not applicable".
    pub answers: Json,
    /// "Would you recommend us", 0–10.
    pub recommend: Option<i32>,
    pub comment: Option<String>,
    /// An SMS reply's rating, 1–5 (source `sms`).
    pub quick_rating: Option<i32>,
    /// CSI × 10 (one decimal as an integer); null when nothing was scored.
    pub csi_tenths: Option<i32>,
    /// The section scores (`domain::csi::SectionScore`) as JSON.
    pub sections: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
