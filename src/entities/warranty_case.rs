use sea_orm::entity::prelude::*;

/// The stub of a warranty claim, opened by a job with `pay_type: warranty`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "warranty_cases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub order_id: Uuid,
    pub job_id: Uuid,
    pub vin: String,
    pub mileage_km: Option<i32>,
    pub failed_part: Option<String>,
    pub diagnosis: Option<String>,
    /// `draft` until the claim process (a later issue) moves it.
    pub state: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
