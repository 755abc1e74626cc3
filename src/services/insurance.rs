//! Insurance renewal handled by the dealer (代办保险业务, `domain::insurance`):
//! the customer's quote request, the staff's renewal leads, the outcome, and
//! the terms the KPI counts.
//!
//! A **lead** is one policy term of a vehicle: (vehicle, policy kind, the
//! expiry being renewed). The vehicle's `compulsory_insurance_expiry` and
//! `commercial_insurance_expiry` say which terms run now; a row of
//! `insurance_leads` keeps what happened to a term (quote asked, outcome),
//! and outlives the term once it is renewed (the KPI counts it).
//!
//! Writes: a quote request inserts its terms with `ON CONFLICT DO NOTHING`
//! and stamps the request only where none is yet, so a retry or a second
//! tap changes nothing (one open request per vehicle and term). An outcome
//! takes the vehicle's row first (`lock_row`: the one lock order is vehicle,
//! then its leads), then writes each term's outcome only where none is
//! (`outcome IS NULL`); the same outcome again is answered as it stands, a
//! different one is 409. `renewed_with_us` moves the vehicle's expiry in the
//! same transaction, so the care planner's next reminder follows the new
//! date and the lead leaves the list.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::insurance::{self, PolicyKind, RenewalOutcome, STAFF};
use crate::domain::message::MessageKind;
use crate::domain::{FieldErrors, Money, dates, validation};
use crate::entities::{customer, insurance_lead as lead, outbox_message, vehicle};
use crate::error::{AppError, AppResult};
use crate::services::dealers::{StaffRef, staff_names, today};
use crate::services::{col_plus, lock_row};

/// Rows read at once in an `IN (…)` list.
const CHUNK: usize = 500;
/// The most leads one list answers.
const MAX_LEADS: u64 = 2000;

/// `POST /api/v1/insurance/quote-requests`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteRequestInput {
    /// One of the customer's own vehicles.
    pub vehicle_id: Uuid,
    /// The policies to quote: at least one, none twice; each needs its
    /// expiry on record.
    pub kinds: Vec<PolicyKind>,
    /// Anything the customer wants the dealer to know (at most 500 characters).
    pub note: Option<String>,
}

/// One policy term of a quote request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuoteTerm {
    pub kind: PolicyKind,
    /// The expiry of the term to renew.
    #[schema(value_type = String, format = Date)]
    pub expiry: NaiveDate,
    /// When the quote was first asked for this term.
    pub requested_at: DateTime<Utc>,
    pub note: Option<String>,
}

/// The customer's quote request as it stands.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuoteRequestView {
    pub vehicle_id: Uuid,
    pub plate: Option<String>,
    pub terms: Vec<QuoteTerm>,
}

/// The customer asks the dealer to quote the renewal of the vehicle's
/// policies. Answers the request and whether anything new was asked (a
/// retry, or a term already asked, changes nothing).
pub async fn request_quote(
    db: &DatabaseConnection,
    actor: &Actor,
    input: QuoteRequestInput,
    now: DateTime<Utc>,
) -> AppResult<(QuoteRequestView, bool)> {
    let Some(own) = actor.customer_id else {
        return Err(AppError::Forbidden(
            "a quote is asked from the customer's app",
        ));
    };
    let mut e = match insurance::kinds(&input.kinds) {
        Ok(()) => FieldErrors::new(),
        Err(e) => e,
    };
    let note = e
        .check(
            "note",
            validation::optional_multiline(input.note.as_deref(), insurance::MAX_NOTE),
        )
        .flatten();
    let v = vehicle::Entity::find_by_id(input.vehicle_id)
        .one(db)
        .await?
        .filter(|v| v.dealer_id == actor.dealer_id && v.customer_id == own)
        .ok_or(AppError::NotFound)?;
    let mut terms = Vec::new();
    for (i, k) in input.kinds.iter().enumerate() {
        match expiry_of(&v, *k) {
            Some(x) => terms.push((*k, x)),
            None => e.add(
                format!("kinds[{i}]"),
                "no expiry of this policy is on record for the vehicle: tell the dealer",
            ),
        }
    }
    e.into_result()?;
    let txn = db.begin().await?;
    let mut created = false;
    for (k, expiry) in &terms {
        insert_term(&txn, &v, *k, *expiry, now).await?;
        let res = lead::Entity::update_many()
            .col_expr(lead::Column::QuoteRequestedAt, Expr::value(now))
            .col_expr(lead::Column::QuoteNote, Expr::value(note.clone()))
            .col_expr(lead::Column::Version, col_plus(lead::Column::Version, 1))
            .col_expr(lead::Column::UpdatedAt, Expr::value(now))
            .filter(term_of(v.id, *k, *expiry))
            .filter(lead::Column::QuoteRequestedAt.is_null())
            .exec(&txn)
            .await?;
        created |= res.rows_affected > 0;
    }
    let mut out = Vec::new();
    for (k, expiry) in &terms {
        let r = lead::Entity::find()
            .filter(term_of(v.id, *k, *expiry))
            .one(&txn)
            .await?
            .ok_or(AppError::NotFound)?;
        out.push(QuoteTerm {
            kind: *k,
            expiry: *expiry,
            requested_at: r.quote_requested_at.unwrap_or(now),
            note: r.quote_note,
        });
    }
    txn.commit().await?;
    Ok((
        QuoteRequestView {
            vehicle_id: v.id,
            plate: v.plate,
            terms: out,
        },
        created,
    ))
}

fn expiry_of(v: &vehicle::Model, k: PolicyKind) -> Option<NaiveDate> {
    match k {
        PolicyKind::Compulsory => v.compulsory_insurance_expiry,
        PolicyKind::Commercial => v.commercial_insurance_expiry,
    }
}

fn term_of(vehicle_id: Uuid, k: PolicyKind, expiry: NaiveDate) -> Condition {
    Condition::all()
        .add(lead::Column::VehicleId.eq(vehicle_id))
        .add(lead::Column::Policy.eq(k))
        .add(lead::Column::Expiry.eq(expiry))
}

/// The term's row, made if missing (a concurrent writer's row is kept).
async fn insert_term(
    txn: &impl ConnectionTrait,
    v: &vehicle::Model,
    k: PolicyKind,
    expiry: NaiveDate,
    now: DateTime<Utc>,
) -> AppResult<()> {
    lead::Entity::insert(lead::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(v.dealer_id),
        vehicle_id: Set(v.id),
        customer_id: Set(v.customer_id),
        policy: Set(k),
        expiry: Set(expiry),
        quote_requested_at: Set(None),
        quote_note: Set(None),
        outcome: Set(None),
        insurer: Set(None),
        premium_cents: Set(None),
        new_expiry: Set(None),
        outcome_note: Set(None),
        outcome_by: Set(None),
        outcome_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([
            lead::Column::VehicleId,
            lead::Column::Policy,
            lead::Column::Expiry,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// One renewal lead: a policy term of a vehicle expiring soon.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LeadView {
    pub vehicle_id: Uuid,
    pub plate: Option<String>,
    pub vin: String,
    pub make: String,
    pub model: String,
    pub customer_id: Uuid,
    pub customer_name: String,
    pub customer_phone: String,
    pub kind: PolicyKind,
    /// The expiry of the term (the vehicle's, or the renewed term's).
    #[schema(value_type = String, format = Date)]
    pub expiry: NaiveDate,
    /// Days from today (the dealer's zone) to the expiry.
    pub days_left: i64,
    /// The care planner planned an `insurance_renewal` reminder for this term.
    pub reminded: bool,
    /// When the first of them was sent; null while none has left.
    pub reminder_sent_at: Option<DateTime<Utc>>,
    /// When the customer asked for a quote (the app's "quote me").
    pub quote_requested_at: Option<DateTime<Utc>>,
    pub quote_note: Option<String>,
    pub outcome: Option<RenewalOutcome>,
    pub insurer: Option<String>,
    /// The premium (CNY), for `renewed_with_us`.
    #[schema(value_type = Option<String>, format = "decimal")]
    pub premium: Option<Decimal>,
    #[schema(value_type = Option<String>, format = Date)]
    pub new_expiry: Option<NaiveDate>,
    pub outcome_note: Option<String>,
    pub outcome_by: Option<StaffRef>,
    pub outcome_at: Option<DateTime<Utc>>,
}

/// `GET /api/v1/insurance/leads`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Leads {
    /// Today in the dealer's zone: terms expiring from it…
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    /// …up to this day, inclusive.
    #[schema(value_type = String, format = Date)]
    pub due_before: NaiveDate,
    /// By expiry, then plate.
    pub leads: Vec<LeadView>,
    /// More vehicles than one answer holds (2000) matched: narrow `due_before`.
    pub truncated: bool,
}

/// The renewal leads: every policy term of the dealer's vehicles that
/// expires from today to `due_before` (default today + 60 days), with
/// whether a reminder went, whether a quote was asked, and the outcome.
pub async fn leads(
    db: &impl ConnectionTrait,
    actor: &Actor,
    due_before: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> AppResult<Leads> {
    actor.require(STAFF)?;
    let from = today(db, actor.dealer_id, now).await?;
    let due_before = match due_before {
        Some(d) => insurance::due_before(d, from).map_err(|m| AppError::field("due_before", m))?,
        None => from + Duration::days(insurance::LEAD_DAYS),
    };
    let window = |c: vehicle::Column| c.between(from, due_before);
    let vehicles = vehicle::Entity::find()
        .filter(vehicle::Column::DealerId.eq(actor.dealer_id))
        .filter(
            Condition::any()
                .add(window(vehicle::Column::CompulsoryInsuranceExpiry))
                .add(window(vehicle::Column::CommercialInsuranceExpiry)),
        )
        // a cut list keeps the same vehicles from one call to the next
        .order_by_asc(vehicle::Column::CompulsoryInsuranceExpiry)
        .order_by_asc(vehicle::Column::CommercialInsuranceExpiry)
        .order_by_asc(vehicle::Column::Id)
        .limit(MAX_LEADS + 1)
        .all(db)
        .await?;
    let truncated = vehicles.len() as u64 > MAX_LEADS;
    let vehicles: Vec<vehicle::Model> = vehicles.into_iter().take(MAX_LEADS as usize).collect();
    let terms: Vec<(&vehicle::Model, PolicyKind, NaiveDate)> = vehicles
        .iter()
        .flat_map(|v| {
            PolicyKind::ALL
                .iter()
                .filter_map(move |k| expiry_of(v, *k).map(|x| (v, *k, x)))
        })
        .filter(|(_, _, x)| (from..=due_before).contains(x))
        .collect();
    let mut out = views(db, actor.dealer_id, &terms, from).await?;
    out.sort_by(|a, b| {
        (a.expiry, &a.plate, a.kind.as_str()).cmp(&(b.expiry, &b.plate, b.kind.as_str()))
    });
    Ok(Leads {
        from,
        due_before,
        leads: out,
        truncated,
    })
}

/// The views of `terms`, with their rows, owners and reminders.
async fn views(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    terms: &[(&vehicle::Model, PolicyKind, NaiveDate)],
    today: NaiveDate,
) -> AppResult<Vec<LeadView>> {
    let ids: Vec<Uuid> = terms
        .iter()
        .map(|t| t.0.id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let owners: Vec<Uuid> = terms
        .iter()
        .map(|t| t.0.customer_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut rows: HashMap<(Uuid, PolicyKind, NaiveDate), lead::Model> = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        for r in lead::Entity::find()
            .filter(lead::Column::DealerId.eq(dealer_id))
            .filter(lead::Column::VehicleId.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            rows.insert((r.vehicle_id, r.policy, r.expiry), r);
        }
    }
    let mut customers: HashMap<Uuid, customer::Model> = HashMap::new();
    // the planner's reminders, by the term their occurrence key names
    let mut reminders: HashMap<String, Option<DateTime<Utc>>> = HashMap::new();
    for chunk in owners.chunks(CHUNK) {
        for c in customer::Entity::find()
            .filter(customer::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            customers.insert(c.id, c);
        }
        let sent: Vec<(String, Option<DateTime<Utc>>)> = outbox_message::Entity::find()
            .select_only()
            .column(outbox_message::Column::OccurrenceKey)
            .column(outbox_message::Column::SentAt)
            .filter(outbox_message::Column::DealerId.eq(dealer_id))
            .filter(outbox_message::Column::Kind.eq(MessageKind::InsuranceRenewal))
            .filter(outbox_message::Column::CustomerId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        for (key, at) in sent {
            // insurance_renewal:<vehicle>:<kind>:<expiry>:<n>d
            let Some((term, _)) = key.rsplit_once(':') else {
                continue;
            };
            let e = reminders.entry(term.to_string()).or_insert(None);
            *e = match (*e, at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }
    let names = staff_names(db, rows.values().filter_map(|r| r.outcome_by)).await?;
    Ok(terms
        .iter()
        .map(|(v, k, expiry)| {
            let r = rows.get(&(v.id, *k, *expiry));
            let c = customers.get(&v.customer_id);
            let key = format!("insurance_renewal:{}:{}:{}", v.id, k.as_str(), expiry);
            let reminder = reminders.get(&key);
            LeadView {
                vehicle_id: v.id,
                plate: v.plate.clone(),
                vin: v.vin.clone(),
                make: v.make.clone(),
                model: v.model.clone(),
                customer_id: v.customer_id,
                customer_name: c.map(|c| c.name.clone()).unwrap_or_default(),
                customer_phone: c.map(|c| c.phone.clone()).unwrap_or_default(),
                kind: *k,
                expiry: *expiry,
                days_left: (*expiry - today).num_days(),
                reminded: reminder.is_some(),
                reminder_sent_at: reminder.copied().flatten(),
                quote_requested_at: r.and_then(|r| r.quote_requested_at),
                quote_note: r.and_then(|r| r.quote_note.clone()),
                outcome: r.and_then(|r| r.outcome),
                insurer: r.and_then(|r| r.insurer.clone()),
                premium: r
                    .and_then(|r| r.premium_cents)
                    .map(|c| Money::from_cents(c).to_decimal()),
                new_expiry: r.and_then(|r| r.new_expiry),
                outcome_note: r.and_then(|r| r.outcome_note.clone()),
                outcome_by: r
                    .and_then(|r| r.outcome_by)
                    .map(|id| StaffRef::of(&names, id)),
                outcome_at: r.and_then(|r| r.outcome_at),
            }
        })
        .collect())
}

/// One term of an outcome.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeTerm {
    pub kind: PolicyKind,
    /// The expiry of the term, as the leads list shows it.
    #[schema(value_type = String, format = Date)]
    pub expiry: NaiveDate,
    /// `renewed_with_us` only: the premium (CNY, more than 0, at most 1000000.00).
    #[schema(value_type = Option<String>, format = "decimal")]
    pub premium: Option<Decimal>,
    /// `renewed_with_us` only: the renewed policy's expiry, after `expiry`
    /// and at most two years after the later of `expiry` and today.
    #[schema(value_type = Option<String>, format = Date)]
    pub new_expiry: Option<NaiveDate>,
}

/// `POST /api/v1/insurance/outcomes`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeInput {
    pub vehicle_id: Uuid,
    pub outcome: RenewalOutcome,
    /// The insurer: required for `renewed_with_us` (at most 100 characters).
    pub insurer: Option<String>,
    /// At most 500 characters.
    pub note: Option<String>,
    /// The terms the outcome is for: at least one, each kind once.
    pub terms: Vec<OutcomeTerm>,
}

/// A term's validated outcome.
struct Checked {
    kind: PolicyKind,
    expiry: NaiveDate,
    premium: Option<Money>,
    new_expiry: Option<NaiveDate>,
}

/// An outcome's validated fields.
struct CheckedOutcome {
    insurer: Option<String>,
    note: Option<String>,
    terms: Vec<Checked>,
}

fn check_outcome(input: &OutcomeInput, today: NaiveDate) -> Result<CheckedOutcome, FieldErrors> {
    let mut e = FieldErrors::new();
    let with_us = input.outcome == RenewalOutcome::RenewedWithUs;
    let insurer = e
        .check(
            "insurer",
            validation::optional_text(input.insurer.as_deref(), insurance::MAX_INSURER),
        )
        .flatten();
    if with_us && insurer.is_none() && input.insurer.as_deref().is_none_or(|s| s.trim().is_empty())
    {
        e.add("insurer", "is required for renewed_with_us");
    }
    let note = e
        .check(
            "note",
            validation::optional_multiline(input.note.as_deref(), insurance::MAX_NOTE),
        )
        .flatten();
    if input.terms.is_empty() {
        e.add("terms", "must name at least one term");
    }
    let mut out = Vec::new();
    for (i, t) in input.terms.iter().enumerate() {
        let at = |f: &str| format!("terms[{i}].{f}");
        if input.terms[..i].iter().any(|o| o.kind == t.kind) {
            e.add(at("kind"), "is named twice");
        }
        let expiry = e.check(&at("expiry"), dates::in_range(t.expiry));
        let (mut premium, mut new_expiry) = (None, None);
        if with_us {
            match t.premium {
                Some(p) => premium = e.check(&at("premium"), insurance::premium(p)),
                None => e.add(at("premium"), "is required for renewed_with_us"),
            }
            match (t.new_expiry, expiry) {
                (Some(n), Some(old)) => {
                    new_expiry = e.check(&at("new_expiry"), insurance::new_expiry(old, n, today))
                }
                (Some(n), None) => {
                    e.check(&at("new_expiry"), dates::in_range(n));
                }
                (None, _) => e.add(at("new_expiry"), "is required for renewed_with_us"),
            }
        } else {
            if t.premium.is_some() {
                e.add(at("premium"), "only with renewed_with_us");
            }
            if t.new_expiry.is_some() {
                e.add(at("new_expiry"), "only with renewed_with_us");
            }
        }
        if let Some(expiry) = expiry {
            out.push(Checked {
                kind: t.kind,
                expiry,
                premium,
                new_expiry,
            });
        }
    }
    e.into_result()?;
    Ok(CheckedOutcome {
        insurer,
        note,
        terms: out,
    })
}

/// Records how the renewal of the vehicle's `terms` ended. Answers the
/// terms' leads as they stand, and whether anything changed (the same
/// outcome again changes nothing). A different outcome already recorded for
/// a term, or a term that is not the vehicle's running one any more, is 409.
pub async fn record_outcome(
    db: &DatabaseConnection,
    actor: &Actor,
    input: OutcomeInput,
    now: DateTime<Utc>,
) -> AppResult<(Vec<LeadView>, bool)> {
    actor.require(STAFF)?;
    let today = today(db, actor.dealer_id, now).await?;
    let CheckedOutcome {
        insurer,
        note,
        terms,
    } = check_outcome(&input, today)?;
    let known = vehicle::Entity::find_by_id(input.vehicle_id)
        .one(db)
        .await?
        .is_some_and(|v| v.dealer_id == actor.dealer_id);
    if !known {
        return Err(AppError::field(
            "vehicle_id",
            "is not a vehicle of this dealer",
        ));
    }
    let txn = db.begin().await?;
    // the vehicle first: two staff recording at once take turns here
    let v = lock_row::<vehicle::Entity>(
        &txn,
        vehicle::Column::Id,
        vehicle::Column::Version,
        input.vehicle_id,
    )
    .await?
    .ok_or(AppError::NotFound)?;
    let mut changed = false;
    for t in &terms {
        let row = lead::Entity::find()
            .filter(term_of(v.id, t.kind, t.expiry))
            .one(&txn)
            .await?;
        if let Some(o) = row.as_ref().and_then(|r| r.outcome) {
            let r = row.as_ref().ok_or(AppError::NotFound)?;
            let same = o == input.outcome
                && r.insurer == insurer
                && r.premium_cents == t.premium.map(Money::cents)
                && r.new_expiry == t.new_expiry;
            if same {
                continue;
            }
            return Err(AppError::Conflict(format!(
                "the {} term expiring {} has its outcome already: {}",
                t.kind, t.expiry, o
            )));
        }
        if expiry_of(&v, t.kind) != Some(t.expiry) {
            return Err(AppError::Conflict(format!(
                "the vehicle's {} policy does not expire on {} (it is {}): read the leads again",
                t.kind,
                t.expiry,
                expiry_of(&v, t.kind).map_or("not on record".to_string(), |d| d.to_string())
            )));
        }
        insert_term(&txn, &v, t.kind, t.expiry, now).await?;
        let res = lead::Entity::update_many()
            .col_expr(lead::Column::Outcome, Expr::value(input.outcome))
            .col_expr(lead::Column::Insurer, Expr::value(insurer.clone()))
            .col_expr(
                lead::Column::PremiumCents,
                Expr::value(t.premium.map(Money::cents)),
            )
            .col_expr(lead::Column::NewExpiry, Expr::value(t.new_expiry))
            .col_expr(lead::Column::OutcomeNote, Expr::value(note.clone()))
            .col_expr(lead::Column::OutcomeBy, Expr::value(actor.id))
            .col_expr(lead::Column::OutcomeAt, Expr::value(now))
            .col_expr(lead::Column::Version, col_plus(lead::Column::Version, 1))
            .col_expr(lead::Column::UpdatedAt, Expr::value(now))
            .filter(term_of(v.id, t.kind, t.expiry))
            .filter(lead::Column::Outcome.is_null())
            .exec(&txn)
            .await?;
        if res.rows_affected != 1 {
            return Err(AppError::ChangedMeanwhile(
                "the outcome was recorded at the same moment; read the leads again".into(),
            ));
        }
        if let Some(new) = t.new_expiry {
            let column = match t.kind {
                PolicyKind::Compulsory => vehicle::Column::CompulsoryInsuranceExpiry,
                PolicyKind::Commercial => vehicle::Column::CommercialInsuranceExpiry,
            };
            vehicle::Entity::update_many()
                .col_expr(column, Expr::value(new))
                .col_expr(
                    vehicle::Column::Version,
                    col_plus(vehicle::Column::Version, 1),
                )
                .col_expr(vehicle::Column::UpdatedAt, Expr::value(now))
                .filter(vehicle::Column::Id.eq(v.id))
                .exec(&txn)
                .await?;
        }
        changed = true;
    }
    let list: Vec<(&vehicle::Model, PolicyKind, NaiveDate)> =
        terms.iter().map(|t| (&v, t.kind, t.expiry)).collect();
    let out = views(&txn, v.dealer_id, &list, today).await?;
    txn.commit().await?;
    Ok((out, changed))
}

/// The policy terms of the dealer whose expiry falls on local days
/// `from..=to`, each with whether it was renewed with the dealer: the
/// recorded terms (renewed ones keep their old expiry here) and the
/// vehicles' running terms, each (vehicle, kind, expiry) once. For the KPI.
pub async fn expiring_terms(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(NaiveDate, bool)>, sea_orm::DbErr> {
    let recorded: Vec<(Uuid, PolicyKind, NaiveDate, Option<RenewalOutcome>)> = lead::Entity::find()
        .select_only()
        .column(lead::Column::VehicleId)
        .column(lead::Column::Policy)
        .column(lead::Column::Expiry)
        .column(lead::Column::Outcome)
        .filter(lead::Column::DealerId.eq(dealer_id))
        .filter(lead::Column::Expiry.between(from, to))
        .into_tuple()
        .all(db)
        .await?;
    let mut terms: HashMap<(Uuid, PolicyKind, NaiveDate), bool> = recorded
        .into_iter()
        .map(|(v, k, x, o)| ((v, k, x), o == Some(RenewalOutcome::RenewedWithUs)))
        .collect();
    for (kind, column) in [
        (
            PolicyKind::Compulsory,
            vehicle::Column::CompulsoryInsuranceExpiry,
        ),
        (
            PolicyKind::Commercial,
            vehicle::Column::CommercialInsuranceExpiry,
        ),
    ] {
        let running: Vec<(Uuid, NaiveDate)> = vehicle::Entity::find()
            .select_only()
            .column(vehicle::Column::Id)
            .column(column)
            .filter(vehicle::Column::DealerId.eq(dealer_id))
            .filter(column.between(from, to))
            .into_tuple()
            .all(db)
            .await?;
        for (v, x) in running {
            terms.entry((v, kind, x)).or_insert(false);
        }
    }
    Ok(terms.into_iter().map(|((_, _, x), r)| (x, r)).collect())
}

/// The terms of a dealer's vehicles whose renewal has an outcome: (vehicle,
/// policy, expiry). The care planner reminds of them no more (renewed with
/// us, the vehicle's expiry has moved on anyway).
pub async fn settled_terms(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
) -> AppResult<HashSet<(Uuid, String, NaiveDate)>> {
    let rows: Vec<(Uuid, PolicyKind, NaiveDate)> = lead::Entity::find()
        .select_only()
        .column(lead::Column::VehicleId)
        .column(lead::Column::Policy)
        .column(lead::Column::Expiry)
        .filter(lead::Column::DealerId.eq(dealer_id))
        .filter(lead::Column::Outcome.is_not_null())
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(v, p, e)| (v, p.as_str().to_string(), e))
        .collect())
}
