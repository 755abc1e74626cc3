use sea_orm::entity::prelude::*;

/// A customer's vehicle. `odometer_km` is the highest accepted reading (or the
/// corrected one), kept here so that the check-and-set is one conditional update.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "vehicles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub customer_id: Uuid,
    pub vin: String,
    pub plate: Option<String>,
    pub make: String,
    pub model: String,
    pub model_year: Option<i32>,
    pub purchase_date: Option<Date>,
    pub first_registration_date: Option<Date>,
    pub inspection_due: Option<Date>,
    pub compulsory_insurance_expiry: Option<Date>,
    pub commercial_insurance_expiry: Option<Date>,
    pub last_service_date: Option<Date>,
    pub last_service_km: Option<i64>,
    pub odometer_km: Option<i64>,
    pub odometer_read_on: Option<Date>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
