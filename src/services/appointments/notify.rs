//! Telling the customer: an inbox row written in the same transaction as the
//! change it tells of, and an SMS sent after the commit with the inbox row's
//! id as the provider's idempotency key (a retry is recognised, never doubled).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use uuid::Uuid;

use crate::care::sms::SmsMessage;
use crate::domain::customer::{Channel, Consent, Purpose, may_contact};
use crate::domain::message::MessageKind;
use crate::entities::{appointment, customer, dealer, inbox_message, vehicle};
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
    fn template(self) -> &'static str {
        match self {
            Kind::Booked => MessageKind::AppointmentBooked,
            Kind::Confirmed => MessageKind::AppointmentConfirmed,
            Kind::Rescheduled => MessageKind::AppointmentRescheduled,
            Kind::Cancelled => MessageKind::AppointmentCancelled,
        }
        .as_str()
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

/// Writes the inbox message and answers the SMS to send once committed
/// (none when the customer refused service SMS).
pub async fn record(
    txn: &impl ConnectionTrait,
    state: &AppState,
    to: &Parties<'_>,
    appt: &appointment::Model,
    kind: Kind,
    now: DateTime<Utc>,
) -> AppResult<Option<SmsMessage>> {
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
    let params = serde_json::json!({
        "dealer_name": dealer.name,
        "when": appt.slot_start.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
        "vehicle": vehicle.plate.clone().unwrap_or_else(|| vehicle.vin.clone()),
        "services": if names.is_empty() { appt.concern.clone().unwrap_or_default() } else { names.join("、") },
    });
    let title = state
        .templates
        .render(customer.locale, kind.template(), "title.txt", &params)?;
    let text = state
        .templates
        .render(customer.locale, kind.template(), "sms.txt", &params)?;
    let id = Uuid::now_v7();
    inbox_message::ActiveModel {
        id: Set(id),
        dealer_id: Set(appt.dealer_id),
        customer_id: Set(customer.id),
        kind: Set(kind.template().to_string()),
        title: Set(title),
        body: Set(text.clone()),
        subject_id: Set(Some(appt.id)),
        created_at: Set(now),
        read_at: Set(None),
    }
    .insert(txn)
    .await?;
    let consents: Vec<Consent> =
        crate::services::from_stored(&customer.consents, "customer consents")?;
    if !may_contact(&consents, Channel::Sms, Purpose::Service) {
        return Ok(None);
    }
    Ok(Some(SmsMessage {
        message_id: id,
        to: appt.contact_phone.clone(),
        text,
        template: kind.template().into(),
        params,
    }))
}

/// Sends committed messages without holding up the answer.
pub fn send_after_commit(state: &AppState, messages: Vec<SmsMessage>) {
    for msg in messages {
        let sms = state.sms.clone();
        tokio::spawn(async move {
            if let Err(e) = sms.send(&msg).await {
                tracing::error!(error = %e, message_id = %msg.message_id, "appointment SMS not delivered");
            }
        });
    }
}
