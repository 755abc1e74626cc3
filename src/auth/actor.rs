//! The `Actor`: the caller as the use cases see it. Extracted from the bearer
//! token; tenancy and role checks are methods here so no caller forgets one.

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use futures_util::future::LocalBoxFuture;
use uuid::Uuid;

use crate::domain::Role;
use crate::error::AppError;
use crate::state::AppState;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user id for staff, the customer id for a customer.
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub roles: Vec<Role>,
    pub customer_id: Option<Uuid>,
}

impl Actor {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Refuses unless the actor holds one of `allowed` (403).
    pub fn require(&self, allowed: &[Role]) -> Result<(), AppError> {
        if self.roles.iter().any(|r| allowed.contains(r)) {
            Ok(())
        } else {
            Err(AppError::Forbidden("your role may not do this"))
        }
    }

    /// How the actor sees customers' personal data (`domain::privacy`).
    pub fn sight(&self) -> crate::domain::privacy::Sight {
        crate::domain::privacy::sight(&self.roles)
    }

    pub fn is_customer(&self) -> bool {
        self.customer_id.is_some()
    }

    /// Whether a row of `dealer_id` is visible at all. network_admin reads every dealer.
    pub fn sees_dealer(&self, dealer_id: Uuid) -> bool {
        self.dealer_id == dealer_id || self.has(Role::NetworkAdmin)
    }

    /// Whether the record of customer `customer_id` of `dealer_id` is visible:
    /// staff see their dealer's, a customer only their own. Otherwise 404.
    pub fn can_see_customer(&self, dealer_id: Uuid, customer_id: Uuid) -> Result<(), AppError> {
        let ok = match self.customer_id {
            Some(own) => own == customer_id && self.dealer_id == dealer_id,
            None => self.sees_dealer(dealer_id),
        };
        if ok { Ok(()) } else { Err(AppError::NotFound) }
    }

    /// Writes stay within the actor's own dealer, whatever they may read.
    pub fn can_write_dealer(&self, dealer_id: Uuid) -> Result<(), AppError> {
        if self.dealer_id == dealer_id {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }
}

impl FromRequest for Actor {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let actor = actor_of(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let actor = actor?;
            if let (Some(customer_id), Some(state)) = (actor.customer_id, state) {
                still_there(&state, customer_id).await?;
            }
            Ok(actor)
        })
    }
}

/// A customer's token works only while the customer is there and not
/// erased: an erasure stops the app at once, not when the token expires
/// (one lookup by primary key per customer request).
async fn still_there(state: &AppState, customer_id: uuid::Uuid) -> Result<(), AppError> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

    use crate::entities::customer;
    let found: Option<uuid::Uuid> = customer::Entity::find_by_id(customer_id)
        .filter(customer::Column::ErasedAt.is_null())
        .select_only()
        .column(customer::Column::Id)
        .into_tuple()
        .one(&state.db)
        .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(AppError::Unauthorized("the account is closed")),
    }
}

fn actor_of(req: &HttpRequest) -> Result<Actor, AppError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("state missing")))?;
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .ok_or(AppError::Unauthorized(
            "send Authorization: Bearer <access_token>",
        ))?;
    state.tokens.verify_access(token.trim(), state.clock.now())
}
