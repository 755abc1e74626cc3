use sea_orm::entity::prelude::*;

use crate::domain::privacy::AccessAction;

/// One look at one customer's personal data by one member of staff.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "personal_data_access")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub user_id: Uuid,
    pub customer_id: Uuid,
    pub action: AccessAction,
    /// The revealed fields, comma-separated.
    pub fields: Option<String>,
    pub reason: Option<String>,
    /// The method and route: `GET /api/v1/customers/{id}`.
    pub endpoint: String,
    pub client_addr: Option<String>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
