use sea_orm::entity::prelude::*;

/// One rejected row of an import job: its line, the values as read, every reason.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "import_rejections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub job_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub line: i64,
    /// `[[header, value], …]` in the file's column order.
    pub values: Json,
    /// `[{field, message}]`, the message in English (localised when shown).
    pub reasons: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
