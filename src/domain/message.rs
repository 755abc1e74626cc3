//! The messages the product sends a customer, by kind. The kind names the
//! templates under `templates/messages/<locale>/<kind>.*` and is the SMS
//! webhook's `template`.

use crate::domain::customer::Purpose;

string_enum! {
    pub enum MessageKind {
        Otp = "otp",
        AppointmentBooked = "appointment_booked",
        AppointmentConfirmed = "appointment_confirmed",
        AppointmentRescheduled = "appointment_rescheduled",
        AppointmentCancelled = "appointment_cancelled",
    }
}

impl MessageKind {
    /// Whether the text holds a secret that must not outlive its delivery.
    pub fn carries_secret(self) -> bool {
        self == MessageKind::Otp
    }

    /// Which consent governs the kind; `None` when the customer asked for the
    /// message themselves (a login code is not "contact").
    pub fn purpose(self) -> Option<Purpose> {
        match self {
            MessageKind::Otp => None,
            _ => Some(Purpose::Service),
        }
    }
}
