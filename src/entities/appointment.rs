use crate::domain::appointment::{AppointmentState, Source};
use sea_orm::entity::prelude::*;
/// 预约: one booking of one vehicle into one slot.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "appointments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub customer_id: Uuid,
    pub vehicle_id: Uuid,
    pub slot_start: DateTimeUtc,
    /// Expected workshop time.
    pub duration_minutes: i32,
    /// The slot starts whose bays this booking holds (UTC, RFC 3339), released as they were taken.
    pub held_slots: Json,
    /// Snapshot of the booked menu items: `[{code, name_zh, name_en, labour_minutes, price_cents, parts}]`
    pub services: Json,
    pub concern: Option<String>,
    pub contact_phone: String,
    pub source: Source,
    pub state: AppointmentState,
    pub advisor_id: Option<Uuid>,
    pub rescheduled_from: Option<Uuid>,
    pub rescheduled_to: Option<Uuid>,
    /// The repair order the visit became (state `in_service`).
    pub repair_order_id: Option<Uuid>,
    pub created_by: Uuid,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
