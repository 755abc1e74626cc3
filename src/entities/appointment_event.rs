use crate::domain::appointment::AppointmentState;
use sea_orm::entity::prelude::*;
/// The audit of an appointment: who moved it from what to what, when and why.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "appointment_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub appointment_id: Uuid,
    pub actor_id: Uuid,
    /// The absent person the actor stood in for (a deputy's act).
    pub on_behalf_of: Option<Uuid>,
    pub from_state: Option<AppointmentState>,
    pub to_state: AppointmentState,
    pub reason: Option<String>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
