//! Staff login, customer OTP login, refresh rotation with reuse detection,
//! logout, and the lock-out of repeated failures.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use sea_orm::sea_query::{Expr, OnConflict};

use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::tokens::{new_refresh_token, same_digest, sha256_hex};
use crate::care::sms::SmsMessage;
use crate::domain::customer::Locale;
use crate::domain::{Phone, Role};
use crate::entities::{customer, dealer, login_failure, otp_code, refresh_token, user};
use crate::error::{AppError, AppResult};
use crate::services::col_plus;
use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

const BAD_LOGIN: &str = "dealer code, username or password is wrong";
const BAD_REFRESH: &str = "the refresh token is not valid; log in again";
const BAD_CODE: &str = "the code is wrong or has expired; ask for a new one";

pub async fn dealer_by_code(state: &AppState, code: &str) -> AppResult<Option<dealer::Model>> {
    Ok(dealer::Entity::find()
        .filter(dealer::Column::Code.eq(code.trim().to_uppercase()))
        .one(&state.db)
        .await?)
}

pub fn roles_of(user: &user::Model) -> Vec<Role> {
    serde_json::from_value::<Vec<String>>(user.roles.clone())
        .unwrap_or_default()
        .iter()
        .filter_map(|r| Role::parse(r))
        .collect()
}

/// Staff login. The answer is the same whether the dealer, the user or the
/// password was wrong; repeated failures slow down, then lock for a while.
pub async fn login(
    state: &AppState,
    dealer_code: &str,
    username: &str,
    password: String,
    address: &str,
) -> AppResult<TokenPair> {
    let now = state.clock.now();
    let account_key = format!(
        "account:{}:{}",
        dealer_code.trim().to_uppercase(),
        username.trim().to_lowercase()
    );
    let address_key = format!("address:{address}");
    let a = &state.settings.auth;
    let account = Lockout {
        key: &account_key,
        threshold: a.lockout_threshold,
    };
    let addr = Lockout {
        key: &address_key,
        threshold: a.lockout_threshold * 4,
    };

    let mut worst = 0;
    for l in [&account, &addr] {
        worst = worst.max(l.check(state, now).await?);
    }
    if worst >= 3 && a.failure_delay_ms > 0 {
        let ms = (a.failure_delay_ms * (worst as u64 - 2)).min(3000);
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }

    let found = match dealer_by_code(state, dealer_code).await? {
        Some(d) => {
            user::Entity::find()
                .filter(user::Column::DealerId.eq(d.id))
                .filter(user::Column::Username.eq(username.trim().to_lowercase()))
                .filter(user::Column::Active.eq(true))
                .one(&state.db)
                .await?
        }
        None => None,
    };
    let ok = state
        .passwords
        .verify(password, found.as_ref().map(|u| u.password_hash.clone()))
        .await;
    let user = match (ok, found) {
        (true, Some(u)) => u,
        _ => {
            account.fail(state, now).await?;
            addr.fail(state, now).await?;
            return Err(AppError::Unauthorized(BAD_LOGIN));
        }
    };
    account.clear(state).await?;
    let actor = Actor {
        id: user.id,
        dealer_id: user.dealer_id,
        roles: roles_of(&user),
        customer_id: None,
    };
    issue(state, &actor, Uuid::now_v7(), now).await
}

/// Issues an access token and a refresh token of `family`.
async fn issue(
    state: &AppState,
    actor: &Actor,
    family: Uuid,
    now: DateTime<Utc>,
) -> AppResult<TokenPair> {
    let refresh = new_refresh_token();
    refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        family_id: Set(family),
        token_hash: Set(sha256_hex(&refresh)),
        dealer_id: Set(actor.dealer_id),
        user_id: Set((!actor.is_customer()).then_some(actor.id)),
        customer_id: Set(actor.customer_id),
        expires_at: Set(now + Duration::days(state.settings.auth.refresh_ttl_days)),
        rotated_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(now),
    }
    .insert(&state.db)
    .await?;
    Ok(TokenPair {
        access_token: state.tokens.issue_access(actor, now)?,
        refresh_token: refresh,
        token_type: "Bearer",
        expires_in: state.tokens.access_ttl_secs,
    })
}

/// Rotates a refresh token. A token used twice means it was copied: the whole
/// family is revoked, so the thief and the owner both have to log in again.
pub async fn refresh(state: &AppState, token: &str) -> AppResult<TokenPair> {
    let now = state.clock.now();
    let Some(row) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(sha256_hex(token)))
        .one(&state.db)
        .await?
    else {
        return Err(AppError::Unauthorized(BAD_REFRESH));
    };
    if row.revoked_at.is_some() || row.expires_at <= now {
        return Err(AppError::Unauthorized(BAD_REFRESH));
    }
    // claim the rotation; if someone else already did, this is a reuse
    let claimed = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RotatedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(row.id))
        .filter(refresh_token::Column::RotatedAt.is_null())
        .exec(&state.db)
        .await?;
    if claimed.rows_affected == 0 {
        revoke_family(state, row.family_id, now).await?;
        tracing::warn!(family = %row.family_id, "refresh token reused: family revoked");
        return Err(AppError::Unauthorized(BAD_REFRESH));
    }
    let actor = match (row.user_id, row.customer_id) {
        (Some(uid), _) => {
            let u = user::Entity::find_by_id(uid)
                .one(&state.db)
                .await?
                .filter(|u| u.active);
            let Some(u) = u else {
                return Err(AppError::Unauthorized(BAD_REFRESH));
            };
            Actor {
                id: u.id,
                dealer_id: u.dealer_id,
                roles: roles_of(&u),
                customer_id: None,
            }
        }
        (None, Some(cid)) => {
            if customer::Entity::find_by_id(cid)
                .one(&state.db)
                .await?
                .is_none()
            {
                return Err(AppError::Unauthorized(BAD_REFRESH));
            }
            customer_actor(row.dealer_id, cid)
        }
        (None, None) => return Err(AppError::Unauthorized(BAD_REFRESH)),
    };
    issue(state, &actor, row.family_id, now).await
}

async fn revoke_family(state: &AppState, family: Uuid, now: DateTime<Utc>) -> AppResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .filter(refresh_token::Column::FamilyId.eq(family))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(&state.db)
        .await?;
    Ok(())
}

/// Ends the session the refresh token belongs to. Unknown tokens are ignored:
/// logging out twice is not an error.
pub async fn logout(state: &AppState, token: &str) -> AppResult<()> {
    if let Some(row) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(sha256_hex(token)))
        .one(&state.db)
        .await?
    {
        revoke_family(state, row.family_id, state.clock.now()).await?;
    }
    Ok(())
}

fn customer_actor(dealer_id: Uuid, customer_id: Uuid) -> Actor {
    Actor {
        id: customer_id,
        dealer_id,
        roles: vec![Role::Customer],
        customer_id: Some(customer_id),
    }
}

/// Sends a 6-digit code to a known customer's phone. The answer is the same
/// for an unknown phone, and the SMS goes out after the answer, so neither the
/// body nor the timing tells whether the phone is a customer's.
pub async fn request_otp(state: &AppState, dealer_code: &str, phone: &str) -> AppResult<()> {
    let phone = Phone::parse(phone).map_err(|e| AppError::field("phone", e.to_string()))?;
    let now = state.clock.now();
    let Some(dealer) = dealer_by_code(state, dealer_code).await? else {
        return Ok(());
    };
    let Some(cust) = customer::Entity::find()
        .filter(customer::Column::DealerId.eq(dealer.id))
        .filter(customer::Column::Phone.eq(phone.as_str()))
        .one(&state.db)
        .await?
    else {
        return Ok(());
    };
    let a = &state.settings.auth;
    let recent = otp_code::Entity::find()
        .filter(otp_code::Column::DealerId.eq(dealer.id))
        .filter(otp_code::Column::Phone.eq(phone.as_str()))
        .filter(otp_code::Column::ConsumedAt.is_null())
        .filter(otp_code::Column::CreatedAt.gt(now - Duration::seconds(a.otp_resend_secs)))
        .one(&state.db)
        .await?;
    if recent.is_some() {
        // an SMS costs money and annoys: one code a minute is enough
        return Ok(());
    }
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
    let id = Uuid::now_v7();
    otp_code::ActiveModel {
        id: Set(id),
        dealer_id: Set(dealer.id),
        phone: Set(phone.as_str().to_string()),
        code_hash: Set(state.tokens.keyed_hash(&[id.as_bytes(), code.as_bytes()])),
        attempts: Set(0),
        expires_at: Set(now + Duration::seconds(a.otp_ttl_secs)),
        consumed_at: Set(None),
        created_at: Set(now),
    }
    .insert(&state.db)
    .await?;
    let params = serde_json::json!({ "dealer_name": dealer.name, "code": code, "minutes": a.otp_ttl_secs / 60 });
    let locale: Locale = cust.locale;
    let text = state.templates.render(locale, "otp", "sms.txt", &params)?;
    let msg = SmsMessage {
        message_id: id,
        to: phone.as_str().to_string(),
        text,
        template: "otp".into(),
        params,
    };
    let sms = state.sms.clone();
    tokio::spawn(async move {
        if let Err(e) = sms.send(&msg).await {
            tracing::error!(error = %e, message_id = %msg.message_id, "OTP SMS not delivered");
        }
    });
    Ok(())
}

/// Checks a code: single use, 5 minutes, 5 tries.
pub async fn verify_otp(
    state: &AppState,
    dealer_code: &str,
    phone: &str,
    code: &str,
) -> AppResult<TokenPair> {
    let phone = Phone::parse(phone).map_err(|e| AppError::field("phone", e.to_string()))?;
    let now = state.clock.now();
    let Some(dealer) = dealer_by_code(state, dealer_code).await? else {
        return Err(AppError::Unauthorized(BAD_CODE));
    };
    let Some(otp) = otp_code::Entity::find()
        .filter(otp_code::Column::DealerId.eq(dealer.id))
        .filter(otp_code::Column::Phone.eq(phone.as_str()))
        .filter(otp_code::Column::ConsumedAt.is_null())
        .order_by_desc(otp_code::Column::CreatedAt)
        .one(&state.db)
        .await?
    else {
        return Err(AppError::Unauthorized(BAD_CODE));
    };
    let max = state.settings.auth.otp_max_attempts;
    if otp.expires_at <= now || otp.attempts >= max {
        return Err(AppError::Unauthorized(BAD_CODE));
    }
    // count the try first, atomically, so parallel guesses cannot exceed the limit
    let counted = otp_code::Entity::update_many()
        .col_expr(
            otp_code::Column::Attempts,
            col_plus(otp_code::Column::Attempts, 1),
        )
        .filter(otp_code::Column::Id.eq(otp.id))
        .filter(otp_code::Column::Attempts.lt(max))
        .filter(otp_code::Column::ConsumedAt.is_null())
        .exec(&state.db)
        .await?;
    let expected = state
        .tokens
        .keyed_hash(&[otp.id.as_bytes(), code.trim().as_bytes()]);
    if counted.rows_affected == 0 || !same_digest(&expected, &otp.code_hash) {
        return Err(AppError::Unauthorized(BAD_CODE));
    }
    let consumed = otp_code::Entity::update_many()
        .col_expr(otp_code::Column::ConsumedAt, Expr::value(now))
        .filter(otp_code::Column::Id.eq(otp.id))
        .filter(otp_code::Column::ConsumedAt.is_null())
        .exec(&state.db)
        .await?;
    if consumed.rows_affected == 0 {
        return Err(AppError::Unauthorized(BAD_CODE));
    }
    let Some(cust) = customer::Entity::find()
        .filter(customer::Column::DealerId.eq(dealer.id))
        .filter(customer::Column::Phone.eq(phone.as_str()))
        .one(&state.db)
        .await?
    else {
        return Err(AppError::Unauthorized(BAD_CODE));
    };
    issue(
        state,
        &customer_actor(dealer.id, cust.id),
        Uuid::now_v7(),
        now,
    )
    .await
}

/// Counts failures per key in the database, so every instance shares them.
struct Lockout<'a> {
    key: &'a str,
    threshold: i32,
}

impl Lockout<'_> {
    /// Refuses while locked; otherwise answers how many recent failures there were.
    async fn check(&self, state: &AppState, now: DateTime<Utc>) -> AppResult<i32> {
        let Some(row) = login_failure::Entity::find_by_id(self.key.to_string())
            .one(&state.db)
            .await?
        else {
            return Ok(0);
        };
        if let Some(until) = row.locked_until.filter(|u| *u > now) {
            return Err(AppError::TooManyRequests {
                retry_after_secs: (until - now).num_seconds().max(1),
            });
        }
        let window = Duration::seconds(state.settings.auth.lockout_window_secs);
        Ok(if now - row.window_start < window {
            row.failures
        } else {
            0
        })
    }

    async fn fail(&self, state: &AppState, now: DateTime<Utc>) -> AppResult<()> {
        let a = &state.settings.auth;
        let txn = state.db.begin().await?;
        login_failure::Entity::insert(login_failure::ActiveModel {
            key: Set(self.key.to_string()),
            failures: Set(0),
            window_start: Set(now),
            locked_until: Set(None),
        })
        .on_conflict(
            OnConflict::column(login_failure::Column::Key)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        // a window that has passed starts again
        login_failure::Entity::update_many()
            .col_expr(login_failure::Column::Failures, Expr::value(0))
            .col_expr(login_failure::Column::WindowStart, Expr::value(now))
            .filter(login_failure::Column::Key.eq(self.key))
            .filter(
                login_failure::Column::WindowStart
                    .lt(now - Duration::seconds(a.lockout_window_secs)),
            )
            .exec(&txn)
            .await?;
        login_failure::Entity::update_many()
            .col_expr(
                login_failure::Column::Failures,
                col_plus(login_failure::Column::Failures, 1),
            )
            .filter(login_failure::Column::Key.eq(self.key))
            .exec(&txn)
            .await?;
        login_failure::Entity::update_many()
            .col_expr(
                login_failure::Column::LockedUntil,
                Expr::value(now + Duration::seconds(a.lockout_secs)),
            )
            .col_expr(login_failure::Column::Failures, Expr::value(0))
            .col_expr(login_failure::Column::WindowStart, Expr::value(now))
            .filter(login_failure::Column::Key.eq(self.key))
            .filter(login_failure::Column::Failures.gte(self.threshold))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    async fn clear(&self, state: &AppState) -> AppResult<()> {
        login_failure::Entity::delete_by_id(self.key.to_string())
            .exec(&state.db)
            .await?;
        Ok(())
    }
}
