//! Whose personal data each answer shows ([`Shows`]): the customers a look
//! through that endpoint logs. An answer that names a customer, shows
//! their phone, their car's location or their own words shows them; one
//! that only counts or names cars does not.

use uuid::Uuid;

use super::Shows;
use crate::care::outbox::MessageView;
use crate::services::appointments::planning::{Invitation, Preparation};
use crate::services::appointments::{Appointment, CustomerRef};
use crate::services::callbacks::CallbackView;
use crate::services::care_card::CareCards;
use crate::services::cases::CaseView;
use crate::services::customer_value::{CustomerValue, ValuePage};
use crate::services::enquiries::EnquiryView;
use crate::services::erasure::{ErasureRequestPage, ErasureRequestView};
use crate::services::insurance::{LeadView, Leads};
use crate::services::repair_orders::{RepairOrder, RepairOrderPage, RepairOrderSummary};
use crate::services::rescues::RescueView;
use crate::services::today::Today;

impl Shows for CustomerRef {
    fn customers_shown(&self) -> Vec<Uuid> {
        vec![self.id]
    }
}

impl Shows for RepairOrder {
    fn customers_shown(&self) -> Vec<Uuid> {
        self.customer.customers_shown()
    }
}

impl Shows for RepairOrderSummary {
    fn customers_shown(&self) -> Vec<Uuid> {
        self.customer.customers_shown()
    }
}

impl Shows for RepairOrderPage {
    fn customers_shown(&self) -> Vec<Uuid> {
        self.items.customers_shown()
    }
}

impl Shows for Appointment {
    fn customers_shown(&self) -> Vec<Uuid> {
        self.customer.customers_shown()
    }
}

impl Shows for Preparation {
    fn customers_shown(&self) -> Vec<Uuid> {
        self.appointments.customers_shown()
    }
}

impl Shows for Invitation {
    fn customers_shown(&self) -> Vec<Uuid> {
        self.customer.customers_shown()
    }
}

/// The contact phone, the car's location, the customer's note.
/// Names the customer (and may hold staff's note of how they asked) until
/// the approval leaves only the pseudonym.
impl Shows for ErasureRequestView {
    fn customers_shown(&self) -> Vec<Uuid> {
        if self.state == crate::domain::erasure::ErasureState::Approved {
            vec![]
        } else {
            vec![self.customer_id]
        }
    }
}

impl Shows for ErasureRequestPage {
    fn customers_shown(&self) -> Vec<Uuid> {
        self.items.customers_shown()
    }
}

impl Shows for RescueView {
    fn customers_shown(&self) -> Vec<Uuid> {
        vec![self.customer_id]
    }
}

/// The customer's own words.
impl Shows for EnquiryView {
    fn customers_shown(&self) -> Vec<Uuid> {
        vec![self.customer_id]
    }
}

impl Shows for CallbackView {
    fn customers_shown(&self) -> Vec<Uuid> {
        vec![self.customer.id]
    }
}

impl Shows for LeadView {
    fn customers_shown(&self) -> Vec<Uuid> {
        vec![self.customer_id]
    }
}

impl Shows for Leads {
    fn customers_shown(&self) -> Vec<Uuid> {
        self.leads.customers_shown()
    }
}

/// The recipient's phone or address; a message to staff (no customer)
/// shows no customer.
impl Shows for MessageView {
    fn customers_shown(&self) -> Vec<Uuid> {
        self.customer_id.into_iter().collect()
    }
}

/// Today's bookings by name, and the overdue cases for those who work them.
impl Shows for Today {
    fn customers_shown(&self) -> Vec<Uuid> {
        let bookings = self.bookings.list.iter().map(|b| b.customer_id);
        let cases = self
            .cases
            .overdue_cases
            .iter()
            .flatten()
            .map(|c| c.customer_id);
        bookings.chain(cases).collect()
    }
}

/// The complaint, about the customer.
impl Shows for CaseView {
    fn customers_shown(&self) -> Vec<Uuid> {
        vec![self.customer_id]
    }
}

impl Shows for CustomerValue {
    fn customers_shown(&self) -> Vec<Uuid> {
        vec![self.customer_id]
    }
}

impl Shows for ValuePage {
    fn customers_shown(&self) -> Vec<Uuid> {
        self.items.customers_shown()
    }
}

/// The owner's name on the card.
impl Shows for CareCards {
    fn customers_shown(&self) -> Vec<Uuid> {
        vec![self.customer_id]
    }
}
