use sea_orm::entity::prelude::*;

/// An upkeep done (《机具设备定期保养记录表》): one per tool and day.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "equipment_upkeep")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub tool_id: Uuid,
    pub done_on: Date,
    pub done_by: Uuid,
    pub work: String,
    pub next_due_on: Option<Date>,
    pub recorded_by: Uuid,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
