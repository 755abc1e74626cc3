use sea_orm::entity::prelude::*;

use crate::domain::rescue::{RescueProblem, RescueState};

/// A roadside rescue (24小时救援): where the car is, what happened, and how
/// far help has come.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "rescues")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub customer_id: Uuid,
    pub vehicle_id: Uuid,
    pub problem: RescueProblem,
    pub note: Option<String>,
    pub lat: f64,
    pub lng: f64,
    pub address: Option<String>,
    /// E.164.
    pub contact_phone: String,
    pub state: RescueState,
    /// The member of staff who took the call; None when the customer asked in the app.
    pub requested_by: Option<Uuid>,
    pub accepted_by: Option<Uuid>,
    pub dispatch_driver: Option<String>,
    pub dispatch_vehicle: Option<String>,
    pub eta_at: Option<DateTimeUtc>,
    /// The repair order a towed car opened (once).
    pub repair_order_id: Option<Uuid>,
    /// How many alerts went out down the roster (the first on duty is 1).
    pub alert_level: i32,
    /// When the next escalation is due if nobody accepts; None once accepted
    /// or when the roster has nobody left to tell.
    pub next_alert_at: Option<DateTimeUtc>,
    pub accepted_at: Option<DateTimeUtc>,
    pub on_site_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// When retention cleared the location (coordinates 0, address none).
    pub location_removed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
