use sea_orm::entity::prelude::*;

/// A staff member of one dealer; `roles` is a JSON list of role names.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub roles: Json,
    /// The skills a technician holds (`["mechanical", …]`), for dispatch.
    pub skills: Json,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
