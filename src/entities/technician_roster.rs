use sea_orm::entity::prelude::*;

/// A technician's working week and days off (`domain::kpi::Roster`): the
/// hours available of the daily board. No row: 8 hours Monday to Friday.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "technician_rosters")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub technician_id: Uuid,
    pub dealer_id: Uuid,
    /// `{"mon": "8.00", …, "sun": "0.00"}`
    pub weekly: Json,
    /// `[{"date": "2027-03-02", "hours": "4.00" | null}]`, by date.
    pub absences: Json,
    pub version: i32,
    pub updated_by: Uuid,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
