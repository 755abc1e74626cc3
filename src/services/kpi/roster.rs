//! Each technician's roster (`GET/PUT /api/v1/technicians/{id}/roster`):
//! the shift hours per weekday and the days off, from which the daily board
//! counts the hours available. No roster: `domain::kpi::Roster::default`.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::{ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::Role;
use crate::domain::kpi::{Absence, Roster};
use crate::entities::{technician_roster, user};
use crate::error::{AppError, AppResult};
use crate::services::from_stored;

/// Who sets a roster: the service manager, the workshop foreman, the dealer's admin.
pub const WRITERS: &[Role] = &[
    Role::ServiceManager,
    Role::WorkshopForeman,
    Role::DealerAdmin,
];

/// Who reads any roster (a technician reads their own).
pub const READERS: &[Role] = &[
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::WorkshopForeman,
    Role::DealerAdmin,
];

/// Hours per weekday, each 0–24 with at most two places.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Weekly {
    #[schema(value_type = String, format = "decimal")]
    pub mon: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub tue: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub wed: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub thu: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub fri: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub sat: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub sun: Decimal,
}

impl Weekly {
    fn days(&self) -> [Decimal; 7] {
        [
            self.mon, self.tue, self.wed, self.thu, self.fri, self.sat, self.sun,
        ]
    }

    fn of(d: [Decimal; 7]) -> Self {
        Weekly {
            mon: d[0],
            tue: d[1],
            wed: d[2],
            thu: d[3],
            fri: d[4],
            sat: d[5],
            sun: d[6],
        }
    }
}

/// A day off: the whole shift (no `hours`), or `hours` of it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AbsenceInput {
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    #[schema(value_type = Option<String>, format = "decimal")]
    #[serde(default)]
    pub hours: Option<Decimal>,
}

/// A roster as a manager writes it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RosterInput {
    pub weekly: Weekly,
    /// At most 400 days, each date once.
    #[serde(default)]
    pub absences: Vec<AbsenceInput>,
}

/// A technician's roster.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RosterView {
    pub technician_id: Uuid,
    pub weekly: Weekly,
    /// By date.
    pub absences: Vec<AbsenceInput>,
    /// True when no roster was set: 8 hours Monday to Friday.
    pub default: bool,
    pub updated_at: Option<DateTime<Utc>>,
}

fn view(technician_id: Uuid, r: &Roster, updated_at: Option<DateTime<Utc>>) -> RosterView {
    RosterView {
        technician_id,
        weekly: Weekly::of(r.weekly),
        absences: r
            .absences
            .iter()
            .map(|a| AbsenceInput {
                date: a.date,
                hours: a.hours,
            })
            .collect(),
        default: updated_at.is_none(),
        updated_at,
    }
}

fn stored(m: &technician_roster::Model) -> AppResult<Roster> {
    let w: Weekly = from_stored(&m.weekly, "roster")?;
    let absences: Vec<Absence> = from_stored(&m.absences, "roster absences")?;
    Ok(Roster {
        weekly: w.days(),
        absences,
    })
}

/// The technician `id` of the actor's dealer (404 for anyone else).
async fn technician(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> AppResult<user::Model> {
    let u = user::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|u| u.dealer_id == actor.dealer_id)
        .ok_or(AppError::NotFound)?;
    if crate::services::auth::roles_of(&u)?.contains(&Role::Technician) {
        Ok(u)
    } else {
        Err(AppError::NotFound)
    }
}

pub async fn get(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> AppResult<RosterView> {
    if actor.id != id || actor.is_customer() {
        actor.require(READERS)?;
    }
    let u = technician(db, actor, id).await?;
    match technician_roster::Entity::find_by_id(u.id).one(db).await? {
        Some(m) => Ok(view(u.id, &stored(&m)?, Some(m.updated_at))),
        None => Ok(view(u.id, &Roster::default(), None)),
    }
}

/// Replaces the roster of technician `id`.
pub async fn put(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
    input: RosterInput,
    now: DateTime<Utc>,
) -> AppResult<RosterView> {
    actor.require(WRITERS)?;
    let u = technician(db, actor, id).await?;
    let roster = Roster::parse(
        input.weekly.days(),
        input
            .absences
            .into_iter()
            .map(|a| Absence {
                date: a.date,
                hours: a.hours,
            })
            .collect(),
    )?;
    let weekly = serde_json::to_value(Weekly::of(roster.weekly)).unwrap_or_default();
    let absences = serde_json::to_value(&roster.absences).unwrap_or_default();
    technician_roster::Entity::insert(technician_roster::ActiveModel {
        technician_id: Set(u.id),
        dealer_id: Set(u.dealer_id),
        weekly: Set(weekly),
        absences: Set(absences),
        version: Set(1),
        updated_by: Set(actor.id),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(technician_roster::Column::TechnicianId)
            .update_columns([
                technician_roster::Column::Weekly,
                technician_roster::Column::Absences,
                technician_roster::Column::UpdatedBy,
                technician_roster::Column::UpdatedAt,
            ])
            .value(
                technician_roster::Column::Version,
                sea_orm::sea_query::Expr::col((
                    technician_roster::Entity,
                    technician_roster::Column::Version,
                ))
                .add(1),
            )
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(view(u.id, &roster, Some(now)))
}

/// The rosters of a dealer's technicians that have one.
pub async fn rosters(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
) -> AppResult<HashMap<Uuid, Roster>> {
    let mut out = HashMap::new();
    for m in technician_roster::Entity::find()
        .filter(technician_roster::Column::DealerId.eq(dealer_id))
        .all(db)
        .await?
    {
        out.insert(m.technician_id, stored(&m)?);
    }
    Ok(out)
}
