//! Personal data (PIPL): masking by role is `domain::privacy`; this module
//! logs every look at a customer's record ([`looked`], [`audit`]), reveals
//! masked fields with a reason ([`reveal`]) and answers the access log
//! ([`access_log`]).

pub mod audit;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::Role;
use crate::domain::customer::Birthday;
use crate::domain::privacy::{AccessAction, PersonalField, may_reveal};
use crate::domain::validation;
use crate::entities::personal_data_access;
use crate::error::{AppError, AppResult};
use crate::services::{decode_cursor, page_limit};
use crate::state::AppState;

pub use audit::{Access, AuditLog};

/// Who reads the access log: the dealer's admin and the service manager.
pub const AUDIT_READERS: &[Role] = &[Role::ServiceManager, Role::DealerAdmin];

/// Where a look came in: the method and route, the client's address.
#[derive(Debug, Clone)]
pub struct Point {
    pub endpoint: String,
    pub client_addr: Option<String>,
}

/// A member of staff looking at personal data through one request: what
/// they see goes to the access log behind the request. A customer reading
/// their own record is not logged.
#[derive(Clone)]
pub struct Looker {
    audit: AuditLog,
    dealer_id: Uuid,
    /// `None`: a customer.
    user_id: Option<Uuid>,
    point: Point,
    at: DateTime<Utc>,
}

impl Looker {
    /// The actor of a request to this instance, now.
    pub fn of(state: &AppState, actor: &Actor, point: Point) -> Looker {
        Looker::new(&state.audit, actor, point, state.clock.now())
    }

    pub fn new(audit: &AuditLog, actor: &Actor, point: Point, at: DateTime<Utc>) -> Looker {
        Looker {
            audit: audit.clone(),
            dealer_id: actor.dealer_id,
            user_id: (!actor.is_customer()).then_some(actor.id),
            point,
            at,
        }
    }

    /// Logs that they saw `customers`' personal data.
    pub async fn saw(&self, action: AccessAction, customers: impl IntoIterator<Item = Uuid>) {
        let Some(user_id) = self.user_id else {
            return;
        };
        let entries = customers
            .into_iter()
            .map(|customer_id| Access {
                dealer_id: self.dealer_id,
                user_id,
                customer_id,
                action,
                fields: None,
                reason: None,
                endpoint: self.point.endpoint.clone(),
                client_addr: self.point.client_addr.clone(),
                at: self.at,
            })
            .collect();
        self.audit.record(entries).await;
    }
}

/// What to reveal, and why.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevealRequest {
    /// The fields to see in full (1–5, no repeats).
    #[schema(min_items = 1, max_items = 5)]
    pub fields: Vec<PersonalField>,
    /// Why (1–500 characters): kept in the access log.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// The revealed fields in full; the others are left out.
#[derive(Debug, Serialize, ToSchema)]
pub struct Revealed {
    pub customer_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birthday: Option<Birthday>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// Shows the asked fields of a customer in full, if the actor's roles may
/// reveal each (403 naming none otherwise); the log entry is written before
/// anything is shown: no reveal goes unlogged.
pub async fn reveal(
    db: &impl ConnectionTrait,
    actor: &Actor,
    customer_id: Uuid,
    req: RevealRequest,
    point: &Point,
    now: DateTime<Utc>,
) -> AppResult<Revealed> {
    if actor.is_customer() {
        return Err(AppError::Forbidden(
            "customers read their own record in full",
        ));
    }
    let mut problems = crate::domain::FieldErrors::new();
    if req.fields.is_empty() || req.fields.len() > PersonalField::ALL.len() {
        problems.add("fields", "name 1 to 5 fields");
    }
    for (i, f) in req.fields.iter().enumerate() {
        if req.fields[..i].contains(f) {
            problems.add(format!("fields[{i}]"), "is named twice");
        }
    }
    let reason = problems.check("reason", validation::multiline(&req.reason, 500));
    problems.into_result()?;
    let reason = reason.unwrap_or_default();
    let m = crate::services::customers::load(db, actor, customer_id).await?;
    if let Some(f) = req.fields.iter().find(|f| !may_reveal(&actor.roles, **f)) {
        return Err(AppError::Forbidden(match f {
            PersonalField::Name => "your role may not reveal a customer's name",
            PersonalField::Phone => "your role may not reveal a customer's phone",
            PersonalField::Email => "your role may not reveal a customer's email",
            PersonalField::Birthday => "your role may not reveal a customer's birthday",
            PersonalField::Notes => "your role may not reveal notes on a customer",
        }));
    }
    let fields: Vec<&str> = req.fields.iter().map(|f| f.as_str()).collect();
    personal_data_access::Entity::insert(
        Access {
            dealer_id: m.dealer_id,
            user_id: actor.id,
            customer_id,
            action: AccessAction::Reveal,
            fields: Some(fields.join(",")),
            reason: Some(reason),
            endpoint: point.endpoint.clone(),
            client_addr: point.client_addr.clone(),
            at: now,
        }
        .row(),
    )
    .exec_without_returning(db)
    .await?;
    let has = |f: PersonalField| req.fields.contains(&f);
    Ok(Revealed {
        customer_id,
        name: has(PersonalField::Name).then(|| m.name.clone()),
        phone: has(PersonalField::Phone).then(|| m.phone.clone()),
        email: if has(PersonalField::Email) {
            m.email.clone()
        } else {
            None
        },
        birthday: if has(PersonalField::Birthday) {
            crate::services::customers::birthday_of(&m)
        } else {
            None
        },
        notes: if has(PersonalField::Notes) {
            m.notes.clone()
        } else {
            None
        },
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccessFilter {
    pub customer_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    /// From this instant (inclusive), RFC 3339.
    pub from: Option<DateTime<Utc>>,
    /// Until this instant (exclusive), RFC 3339.
    pub to: Option<DateTime<Utc>>,
    pub cursor: Option<String>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

/// One entry of the access log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessEntry {
    pub id: Uuid,
    pub user_id: Uuid,
    pub customer_id: Uuid,
    pub action: AccessAction,
    /// The revealed fields.
    pub fields: Vec<PersonalField>,
    pub reason: Option<String>,
    /// `GET /api/v1/customers/{id}`.
    pub endpoint: String,
    pub client_addr: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccessPage {
    /// Oldest first.
    pub items: Vec<AccessEntry>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The dealer's access log, oldest first, filtered. What this instance has
/// queued is written first, so a look just taken is in it.
pub async fn access_log(state: &AppState, actor: &Actor, f: AccessFilter) -> AppResult<AccessPage> {
    actor.require(AUDIT_READERS)?;
    let limit = page_limit(f.limit)?;
    let mut e = crate::domain::FieldErrors::new();
    for (field, t) in [("from", f.from), ("to", f.to)] {
        if let Some(t) = t {
            e.check(field, crate::domain::dates::in_range(t.date_naive()));
        }
    }
    e.into_result()?;
    if let (Some(from), Some(to)) = (f.from, f.to)
        && from > to
    {
        return Err(AppError::field("to", "must not be before `from`"));
    }
    state.audit.flush().await;
    let mut q = personal_data_access::Entity::find()
        .filter(personal_data_access::Column::DealerId.eq(actor.dealer_id));
    if let Some(c) = f.customer_id {
        q = q.filter(personal_data_access::Column::CustomerId.eq(c));
    }
    if let Some(u) = f.user_id {
        q = q.filter(personal_data_access::Column::UserId.eq(u));
    }
    if let Some(from) = f.from {
        q = q.filter(personal_data_access::Column::At.gte(from));
    }
    if let Some(to) = f.to {
        q = q.filter(personal_data_access::Column::At.lt(to));
    }
    if let Some(c) = f.cursor.as_deref() {
        q = q.filter(personal_data_access::Column::Id.gt(decode_cursor(c)?));
    }
    // ids are UUIDv7: in the order written
    let mut rows = q
        .order_by_asc(personal_data_access::Column::Id)
        .limit(limit + 1)
        .all(&state.db)
        .await?;
    let next_cursor = crate::services::next_page(&mut rows, limit, |r| r.id);
    Ok(AccessPage {
        items: rows
            .into_iter()
            .map(|r| AccessEntry {
                id: r.id,
                user_id: r.user_id,
                customer_id: r.customer_id,
                action: r.action,
                fields: r
                    .fields
                    .as_deref()
                    .unwrap_or_default()
                    .split(',')
                    .filter_map(PersonalField::parse)
                    .collect(),
                reason: r.reason,
                endpoint: r.endpoint,
                client_addr: r.client_addr,
                at: r.at,
            })
            .collect(),
        next_cursor,
    })
}
