use crate::domain::repair_order::PhotoPurpose;
use sea_orm::entity::prelude::*;

/// A photo of an order; the bytes live in the blob store under `sha256`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "repair_order_photos")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub order_id: Uuid,
    pub sha256: String,
    pub content_type: String,
    pub bytes: i64,
    pub purpose: PhotoPurpose,
    pub item_code: Option<String>,
    pub uploaded_by: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
