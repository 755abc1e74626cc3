//! The messages the product sends a customer, by kind. The kind names the
//! templates under `templates/messages/<locale>/<kind>.*` and is the SMS
//! webhook's `template`.

string_enum! {
    pub enum MessageKind {
        AppointmentBooked = "appointment_booked",
        AppointmentConfirmed = "appointment_confirmed",
        AppointmentRescheduled = "appointment_rescheduled",
        AppointmentCancelled = "appointment_cancelled",
    }
}
