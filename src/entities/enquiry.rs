use sea_orm::entity::prelude::*;

use crate::domain::enquiry::{EnquiryContact, EnquirySource, EnquiryState, EnquiryTopic};

/// A customer's enquiry or complaint (信息咨询、业务受理和投诉).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "enquiries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub customer_id: Uuid,
    pub vehicle_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    pub topic: EnquiryTopic,
    #[sea_orm(column_type = "Text")]
    pub text: String,
    pub preferred_contact: EnquiryContact,
    pub source: EnquirySource,
    /// The staff member who recorded it (a phone or counter enquiry).
    pub recorded_by: Option<Uuid>,
    /// The same question of the same customer, hashed; unique per dealer
    /// while the enquiry is not closed, NULL once it is.
    pub fingerprint: Option<String>,
    pub state: EnquiryState,
    /// The first answer is due by then (working time in the opening hours).
    pub due_at: DateTimeUtc,
    pub claimed_by: Option<Uuid>,
    pub claimed_until: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub answer: Option<String>,
    pub answered_by: Option<Uuid>,
    pub answered_at: Option<DateTimeUtc>,
    pub closed_by: Option<Uuid>,
    pub closed_at: Option<DateTimeUtc>,
    /// The unhappy-customer case a complaint opened.
    pub case_id: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
