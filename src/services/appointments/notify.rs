//! Telling the customer, in the same transaction as the change it tells of:
//! an inbox row in the app and a message in the outbox on the customer's
//! preferred channel, which the dispatcher delivers once committed (consent
//! is checked again then, and a failure falls back down the chain).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::ConnectionTrait;

use crate::care::outbox::{self, AppointmentParams, NewMessage, Params};
use crate::care::route::Addresses;
use crate::domain::customer::Consent;
use crate::domain::message::MessageKind;
use crate::entities::{appointment, customer, dealer, vehicle};
use crate::error::AppResult;
use crate::services::appointments::services_of;
use crate::state::AppState;

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Booked,
    Confirmed,
    Rescheduled,
    Cancelled,
}

impl Kind {
    fn message_kind(self) -> MessageKind {
        match self {
            Kind::Booked => MessageKind::AppointmentBooked,
            Kind::Confirmed => MessageKind::AppointmentConfirmed,
            Kind::Rescheduled => MessageKind::AppointmentRescheduled,
            Kind::Cancelled => MessageKind::AppointmentCancelled,
        }
    }

    fn template(self) -> &'static str {
        self.message_kind().as_str()
    }
}

/// Who a message about an appointment concerns: the dealer (and its zone),
/// the customer and the vehicle.
pub struct Parties<'a> {
    pub dealer: &'a dealer::Model,
    pub tz: Tz,
    pub customer: &'a customer::Model,
    pub vehicle: &'a vehicle::Model,
}

/// Writes the inbox message and puts the SMS in the outbox; the caller
/// commits, then calls `outbox::wake`.
pub async fn record(
    txn: &impl ConnectionTrait,
    state: &AppState,
    to: &Parties<'_>,
    appt: &appointment::Model,
    kind: Kind,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let Parties {
        dealer,
        tz,
        customer,
        vehicle,
    } = *to;
    let names: Vec<String> = services_of(appt)?
        .into_iter()
        .map(|s| {
            if customer.locale == crate::domain::customer::Locale::En {
                s.name_en
            } else {
                s.name_zh
            }
        })
        .collect();
    let params = AppointmentParams {
        dealer_name: dealer.name.clone(),
        when: appt
            .slot_start
            .with_timezone(&tz)
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        vehicle: vehicle.plate.clone().unwrap_or_else(|| vehicle.vin.clone()),
        services: if names.is_empty() {
            appt.concern.clone().unwrap_or_default()
        } else {
            names.join("、")
        },
    };
    let title = state
        .templates
        .render(customer.locale, kind.template(), "title.txt", &params)?;
    let text = state
        .templates
        .render(customer.locale, kind.template(), "sms.txt", &params)?;
    crate::services::inbox::post(
        txn,
        appt.dealer_id,
        customer.id,
        kind.template(),
        &title,
        &text,
        appt.id,
        now,
    )
    .await?;
    // written whatever the consents say: the dispatcher checks them when it
    // sends, so a change of mind in between is honoured either way. They are
    // read strictly here too: unreadable consents fail the change loudly
    // instead of leaving a message nobody may decide on
    let _: Vec<Consent> = crate::services::from_stored(&customer.consents, "customer consents")?;
    // the customer's preferred channel, falling back down the chain; SMS goes
    // to the phone given for this booking
    let mut to = Addresses::of(txn, customer, now).await?;
    to.phone = appt.contact_phone.clone();
    let Some((channel, recipient)) = to.first() else {
        return Ok(());
    };
    outbox::enqueue(
        txn,
        NewMessage {
            dealer_id: appt.dealer_id,
            customer_id: Some(customer.id),
            about_customer_id: None,
            kind: kind.message_kind(),
            // an appointment row is booked, confirmed and cancelled once
            // (a reschedule makes a new row); the version keeps it exact
            occurrence_key: format!("{}:v{}", appt.id, appt.version),
            channel,
            recipient,
            locale: customer.locale,
            params: Params::Appointment(params),
            subject: Some(title),
            body: text,
            due_at: now,
            parent_id: None,
        },
        now,
    )
    .await?;
    Ok(())
}
