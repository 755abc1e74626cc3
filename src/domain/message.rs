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
        /// The next service falls due (the care planner writes these).
        MaintenanceDue = "maintenance_due",
        /// A holiday greeting: marketing, so it needs a yes and counts against the cap.
        HolidayGreeting = "holiday_greeting",
        /// Extra work (追加维修) on a car in the workshop awaits the customer's answer.
        ExtraWorkApproval = "extra_work_approval",
        /// A new car's first service is not done yet (the care planner).
        FirstService = "first_service",
        /// The vehicle's annual inspection (年检) falls due (the care planner).
        AnnualInspection = "annual_inspection",
        /// A compulsory (交强险) or commercial insurance policy expires (the care planner).
        InsuranceRenewal = "insurance_renewal",
        /// A birthday greeting, solar or lunar: marketing (the care planner).
        Birthday = "birthday",
        /// The day before a booked or confirmed appointment (the care planner).
        AppointmentReminder = "appointment_reminder",
        /// The follow-up within 3 days of a delivery, with the survey link (the care planner).
        PostRepairFollowup = "post_repair_followup",
        /// A case of the unhappy-customer table is past a due time: to the
        /// dealer's staff named in the case rules, not to a customer.
        CaseEscalated = "case_escalated",
        /// The daily report (维修日报表) to the service manager at the closing time.
        DailyReport = "daily_report",
        /// One member of staff read more customers' records in an hour than
        /// the dealer expects (a list being copied): to the escalation contacts.
        PersonalDataAlert = "personal_data_alert",
        /// The customer centre's answer to a customer's enquiry (信息咨询): by SMS or the app.
        EnquiryAnswered = "enquiry_answered",
        /// A roadside rescue (24小时救援) waits for someone on duty to take
        /// it: to the first on the roster when asked for, to the next and the
        /// service manager when nobody took it in time. Staff, not a customer.
        RescueAlert = "rescue_alert",
        /// The customer's rescue moved on (taken, on its way, on site…).
        RescueUpdate = "rescue_update",
        /// The service manager refused the customer's request to be erased, with the reason.
        ErasureRefused = "erasure_refused",
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
            // staff, not a customer: no customer's consent governs it
            MessageKind::Otp
            | MessageKind::CaseEscalated
            | MessageKind::DailyReport
            | MessageKind::PersonalDataAlert
            | MessageKind::RescueAlert => None,
            // the customer asked: the answer is theirs, not "contact"
            MessageKind::EnquiryAnswered => None,
            // the customer asked for the rescue: news of it is not "contact"
            MessageKind::RescueUpdate => None,
            // the answer to the customer's own request
            MessageKind::ErasureRefused => None,
            MessageKind::HolidayGreeting | MessageKind::Birthday => Some(Purpose::Marketing),
            MessageKind::AppointmentBooked
            | MessageKind::AppointmentConfirmed
            | MessageKind::AppointmentRescheduled
            | MessageKind::AppointmentCancelled
            | MessageKind::MaintenanceDue
            | MessageKind::ExtraWorkApproval
            | MessageKind::FirstService
            | MessageKind::AnnualInspection
            | MessageKind::InsuranceRenewal
            | MessageKind::AppointmentReminder
            | MessageKind::PostRepairFollowup => Some(Purpose::Service),
        }
    }

    /// The names of the kind's template values (`care::outbox::Params`), which
    /// a provider template's variables are filled from.
    pub fn param_names(self) -> &'static [&'static str] {
        match self {
            MessageKind::Otp => &["dealer_name", "code", "minutes"],
            MessageKind::AppointmentBooked
            | MessageKind::AppointmentConfirmed
            | MessageKind::AppointmentRescheduled
            | MessageKind::AppointmentCancelled
            | MessageKind::AppointmentReminder => &["dealer_name", "when", "vehicle", "services"],
            MessageKind::MaintenanceDue | MessageKind::FirstService => {
                &["dealer_name", "vehicle", "due", "reason"]
            }
            MessageKind::AnnualInspection | MessageKind::InsuranceRenewal => {
                &["dealer_name", "vehicle", "due", "item"]
            }
            MessageKind::HolidayGreeting | MessageKind::Birthday => {
                &["dealer_name", "customer_name", "occasion"]
            }
            MessageKind::PostRepairFollowup => {
                &["dealer_name", "vehicle", "order_number", "survey_url"]
            }
            MessageKind::ExtraWorkApproval => &["dealer_name", "vehicle", "order_number", "lines"],
            MessageKind::DailyReport => &[
                "dealer_name",
                "date",
                "revenue",
                "vehicles_in",
                "vehicles_delivered",
                "csi",
                "follow_up",
                "report_url",
            ],
            MessageKind::PersonalDataAlert => &["dealer_name", "user_name", "customers", "since"],
            MessageKind::EnquiryAnswered => &["dealer_name", "customer_name", "topic", "answer"],
            MessageKind::RescueAlert => &[
                "dealer_name",
                "customer_name",
                "vehicle",
                "problem",
                "location",
                "contact_phone",
                "requested",
                "reason",
            ],
            MessageKind::RescueUpdate => &["dealer_name", "vehicle", "status", "detail"],
            MessageKind::ErasureRefused => &["dealer_name", "customer_name", "reason"],
            MessageKind::CaseEscalated => &[
                "dealer_name",
                "customer_name",
                "category",
                "severity",
                "due",
                "late",
            ],
        }
    }

    /// Whether the message answers something the customer is doing now (a
    /// login, a booking, their car in the workshop): it leaves at once, at any hour. The rest waits for
    /// the dealer's sending window.
    pub fn transactional(self) -> bool {
        match self {
            MessageKind::Otp
            | MessageKind::AppointmentBooked
            | MessageKind::AppointmentConfirmed
            | MessageKind::AppointmentRescheduled
            | MessageKind::AppointmentCancelled
            | MessageKind::ExtraWorkApproval
            // a late case cannot wait for the customers' sending window
            | MessageKind::CaseEscalated
            // staff's, sent at the closing time whatever the customers' window
            | MessageKind::DailyReport
            // a list being copied cannot wait for the morning
            | MessageKind::PersonalDataAlert
            // answers what the customer asked
            | MessageKind::EnquiryAnswered
            // a car stuck at the roadside, at any hour
            | MessageKind::RescueAlert
            | MessageKind::RescueUpdate
            // answers what the customer asked
            | MessageKind::ErasureRefused => true,
            MessageKind::MaintenanceDue
            | MessageKind::HolidayGreeting
            | MessageKind::FirstService
            | MessageKind::AnnualInspection
            | MessageKind::InsuranceRenewal
            | MessageKind::Birthday
            | MessageKind::AppointmentReminder
            | MessageKind::PostRepairFollowup => false,
        }
    }
}
