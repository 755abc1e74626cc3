use sea_orm::entity::prelude::*;

/// An item of the opening checklist ticked on one local day (营业准备):
/// unique per (dealer, day, code), so a retried or concurrent tick is one
/// tick and the first ticker stays. The item's words are kept with it: a
/// tick outlives the item's removal from the settings.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "opening_ticks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    /// The dealer's local date.
    pub day: Date,
    pub code: String,
    pub label_zh: String,
    pub label_en: String,
    pub ticked_by: Uuid,
    pub ticked_at: DateTimeUtc,
    pub note: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
