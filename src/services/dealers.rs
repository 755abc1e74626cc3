//! Dealers and their staff accounts (created from the CLI), and `me`.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::password::{Passwords, check_new_password};
use crate::domain::role::ActorKind;
use crate::domain::{Role, validation};
use crate::entities::{dealer, user};
use crate::error::{AppError, AppResult};

pub async fn create_dealer(
    db: &impl ConnectionTrait,
    code: &str,
    name: &str,
    timezone: &str,
    now: DateTime<Utc>,
) -> AppResult<dealer::Model> {
    let code = validation::code(code).map_err(|m| AppError::field("code", m))?;
    let name = validation::text(name, 100).map_err(|m| AppError::field("name", m))?;
    timezone.parse::<Tz>().map_err(|_| {
        AppError::field("timezone", "is not an IANA time zone such as Asia/Shanghai")
    })?;
    let m = dealer::ActiveModel {
        id: Set(Uuid::now_v7()),
        code: Set(code),
        name: Set(name),
        timezone: Set(timezone.to_string()),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(m)
}

pub async fn create_user(
    db: &impl ConnectionTrait,
    passwords: &Passwords,
    dealer_id: Uuid,
    username: &str,
    roles: &[Role],
    password: String,
    now: DateTime<Utc>,
) -> AppResult<user::Model> {
    let username = username.trim().to_lowercase();
    if username.is_empty()
        || username.len() > 64
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err(AppError::field(
            "username",
            "must be 1 to 64 letters, digits, '.', '_' or '-'",
        ));
    }
    if roles.is_empty() || roles.contains(&Role::Customer) {
        return Err(AppError::field(
            "role",
            "a staff user needs at least one staff role",
        ));
    }
    check_new_password(&password).map_err(|m| AppError::field("password", m))?;
    let hash = passwords.hash(password).await?;
    let m = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(dealer_id),
        username: Set(username.clone()),
        display_name: Set(username),
        password_hash: Set(hash),
        roles: Set(serde_json::to_value(roles).unwrap_or_default()),
        skills: Set(serde_json::json!([])),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(m)
}

/// The dealer's zone; Asia/Shanghai if the stored one cannot be read.
/// Staff members' display names by id, for tables that name people.
pub async fn staff_names(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = Uuid>,
) -> AppResult<std::collections::HashMap<Uuid, String>> {
    use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
    let ids: Vec<Uuid> = ids.into_iter().collect();
    let mut names = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(Uuid, String)> = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .column(user::Column::DisplayName)
            .filter(user::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        names.extend(rows);
    }
    Ok(names)
}

/// A member of staff, by id and display name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StaffRef {
    pub id: Uuid,
    pub name: String,
}

impl StaffRef {
    /// `id` with its name from `names` (empty when unknown).
    pub fn of(names: &std::collections::HashMap<Uuid, String>, id: Uuid) -> StaffRef {
        StaffRef {
            id,
            name: names.get(&id).cloned().unwrap_or_default(),
        }
    }
}

/// The dealer row and its zone.
pub async fn dealer_zone(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
) -> AppResult<(dealer::Model, Tz)> {
    let d = dealer::Entity::find_by_id(dealer_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let tz = zone(&d);
    Ok((d, tz))
}

/// An active member of the staff of `dealer_id` (None otherwise).
pub async fn staff_member(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    id: Uuid,
) -> AppResult<Option<user::Model>> {
    Ok(user::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|u| u.dealer_id == dealer_id && u.active))
}

pub fn zone(d: &dealer::Model) -> Tz {
    d.timezone.parse().unwrap_or(chrono_tz::Asia::Shanghai)
}

/// "Today" where the dealer is.
pub async fn today(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<NaiveDate> {
    let d = dealer::Entity::find_by_id(dealer_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(now.with_timezone(&zone(&d)).date_naive())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The user id, or the customer id for a customer.
    pub id: Uuid,
    pub kind: ActorKind,
    pub dealer_id: Uuid,
    pub dealer_code: String,
    pub dealer_name: String,
    pub timezone: String,
    pub roles: Vec<Role>,
    pub customer_id: Option<Uuid>,
    pub username: Option<String>,
}

pub async fn me(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<Me> {
    let d = dealer::Entity::find_by_id(actor.dealer_id)
        .one(db)
        .await?
        .ok_or(AppError::Unauthorized("unknown dealer"))?;
    let username = match actor.customer_id {
        Some(_) => None,
        None => user::Entity::find_by_id(actor.id)
            .one(db)
            .await?
            .map(|u| u.username),
    };
    Ok(Me {
        id: actor.id,
        kind: if actor.is_customer() {
            ActorKind::Customer
        } else {
            ActorKind::Staff
        },
        dealer_id: d.id,
        dealer_code: d.code,
        dealer_name: d.name,
        timezone: d.timezone,
        roles: actor.roles.clone(),
        customer_id: actor.customer_id,
        username,
    })
}
