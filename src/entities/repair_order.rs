use crate::domain::repair_order::OrderState;
use sea_orm::entity::prelude::*;

/// 维修委托书: one visit of one vehicle, from reception to delivery.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "repair_orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    /// `RO` + local date + daily sequence, unique per dealer.
    pub number: String,
    pub customer_id: Uuid,
    pub vehicle_id: Uuid,
    pub appointment_id: Option<Uuid>,
    pub advisor_id: Option<Uuid>,
    pub state: OrderState,
    pub odometer_km: Option<i64>,
    /// Percent, 0–100.
    pub fuel_level: Option<i32>,
    /// `["text", …]`
    pub concerns: Json,
    pub notes: Option<String>,
    pub promised_at: Option<DateTimeUtc>,
    pub arrived_at: DateTimeUtc,
    pub reception_started_at: DateTimeUtc,
    /// The walk-around as recorded (`services::repair_orders::inspection::Walkaround`).
    pub walkaround: Option<Json>,
    /// The health check as recorded.
    pub health_check: Option<Json>,
    /// The estimate version the customer accepted last.
    pub accepted_estimate: Option<i32>,
    /// How many estimate versions were frozen.
    pub estimate_versions: i32,
    /// The QC round (raised by every failed level).
    pub qc_round: i32,
    /// How many QC levels failed (QC reworks).
    pub qc_reworks: i32,
    /// The highest level passed in the current round.
    pub qc_passed_level: Option<String>,
    /// The dealer's VAT rule when the order was opened: its money never
    /// changes with a later change of the settings.
    pub vat_basis_points: i32,
    pub prices_include_vat: bool,
    pub washed_at: Option<DateTimeUtc>,
    pub delivered_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    /// The last event's sequence number.
    pub event_seq: i64,
    pub version: i32,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
