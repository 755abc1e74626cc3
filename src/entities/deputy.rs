use sea_orm::entity::prelude::*;

/// A deputy (职务代理): `deputy_id` stands in for `user_id` over the local
/// days `from_date..=to_date`, i.e. from `starts_at` until `ends_at`, unless
/// withdrawn first. At most one row per user is not withdrawn.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deputies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub user_id: Uuid,
    pub deputy_id: Uuid,
    pub from_date: Date,
    pub to_date: Date,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub set_by: Uuid,
    pub set_at: DateTimeUtc,
    pub withdrawn_by: Option<Uuid>,
    pub withdrawn_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
