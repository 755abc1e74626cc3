use sea_orm::entity::prelude::*;

use crate::domain::parts::MovementKind;

/// One stock movement (a ledger row): its deltas on hand and reserved
/// (thousandths), the unit cost (and price of a sale or issue), the repair
/// order and job it was for, who and when.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "part_movements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub part_id: Uuid,
    pub kind: MovementKind,
    pub on_hand_delta: i64,
    pub reserved_delta: i64,
    pub unit_cost_cents: i64,
    pub unit_price_cents: Option<i64>,
    pub order_id: Option<Uuid>,
    pub job_id: Option<Uuid>,
    pub reference: Option<String>,
    /// A receipt: the quantity ordered from the supplier (thousandths).
    pub ordered_qty: Option<i64>,
    /// A receipt: the quantity that arrived damaged (not on the shelf).
    pub damaged_qty: Option<i64>,
    pub note: Option<String>,
    pub actor_id: Uuid,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
