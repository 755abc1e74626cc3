//! Staff login, customer OTP login, refresh rotation with reuse detection,
//! logout, and the lock-out of repeated failures.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use sea_orm::sea_query::{Expr, OnConflict};

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::tokens::{new_refresh_token, same_digest, sha256_hex};
use crate::auth::{Actor, ClientAddr};
use crate::care::outbox::{self, NewMessage, OtpParams, Params};
use crate::domain::customer::{Channel, Locale};
use crate::domain::message::MessageKind;
use crate::domain::{Phone, Role};
use crate::entities::{customer, dealer, login_failure, otp_code, otp_quota, refresh_token, user};
use crate::error::{AppError, AppResult};
use crate::services::{col_plus, dealers};
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

/// The user's stored roles. A list that does not parse, or a name this build
/// does not know, is our fault and fails loudly (a silent empty list would
/// lock the user out with nothing in the log).
pub fn roles_of(user: &user::Model) -> AppResult<Vec<Role>> {
    let names: Vec<String> = serde_json::from_value(user.roles.clone())
        .map_err(|e| anyhow::anyhow!("user {}: stored roles do not parse: {e}", user.id))?;
    names
        .iter()
        .map(|n| {
            Role::parse(n).ok_or_else(|| {
                anyhow::anyhow!("user {}: unknown stored role '{n}'", user.id).into()
            })
        })
        .collect()
}

/// Staff login. The answer is the same whether the dealer, the user or the
/// password was wrong.
///
/// Two rules guard it, both kept in the database so every instance shares them:
/// - per account: each attempt is counted *before* its password is checked,
///   by one conditional update that only succeeds while fewer than
///   `lockout_threshold` attempts are counted; so however many requests arrive
///   at once, at most that many passwords are checked, and the next ones wait
///   out the lock (429) without costing a hash. A success clears the count.
/// - per client address (see `ClientAddr`): failures only slow the next
///   attempts down. Many people share an address (a dealership's NAT), so an
///   address never refuses a right password of an account that is not locked.
pub async fn login(
    state: &AppState,
    dealer_code: &str,
    username: &str,
    password: String,
    address: ClientAddr,
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

    let earlier = account.reserve(state, now).await?;
    let outcome = check_password(state, dealer_code, username, password, earlier, &addr, now).await;
    let user = match outcome {
        Ok(Some(u)) => u,
        Ok(None) => {
            account.lock_if_used_up(state, now).await?;
            addr.count_failure(state, now).await?;
            return Err(AppError::Unauthorized(BAD_LOGIN));
        }
        Err(e) => {
            // not checked (no hashing slot, a database error): not a failure.
            // (A request dropped by its client mid-way keeps its count: going
            // away must not be a way around the limit.)
            account.release(state).await?;
            return Err(e);
        }
    };
    account.clear(state, now).await?;
    let actor = Actor {
        id: user.id,
        dealer_id: user.dealer_id,
        roles: roles_of(&user)?,
        customer_id: None,
    };
    issue(state, &actor, Uuid::now_v7(), now).await
}

/// Longest a login is held back before its password is checked.
const MAX_FAILURE_DELAY_MS: u64 = 3000;

/// How long a login waits before its password is checked. A few failures of
/// an account are typing; past that each attempt waits `step_ms` more. An
/// address waits from its threshold on, one step per failure past it. Never
/// more than [`MAX_FAILURE_DELAY_MS`].
fn failure_delay_ms(
    earlier_account_attempts: i32,
    address_failures: i32,
    address_threshold: i32,
    step_ms: u64,
) -> u64 {
    let by_account = (earlier_account_attempts - 2).max(0) as u64;
    let by_address = (address_failures - address_threshold + 1).max(0) as u64;
    (step_ms * by_account.max(by_address)).min(MAX_FAILURE_DELAY_MS)
}

/// Waits as the earlier failures ask, then checks the password; `None` is a
/// wrong password or an unknown user (for which a dummy hash is checked).
async fn check_password(
    state: &AppState,
    dealer_code: &str,
    username: &str,
    password: String,
    earlier_account_attempts: i32,
    addr: &Lockout<'_>,
    now: DateTime<Utc>,
) -> AppResult<Option<user::Model>> {
    let address_failures = addr.recent_failures(state, now).await?;
    let ms = failure_delay_ms(
        earlier_account_attempts,
        address_failures,
        addr.threshold,
        state.settings.auth.failure_delay_ms,
    );
    if ms > 0 {
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
        .await?;
    Ok(found.filter(|_| ok))
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
    if row.revoked_at.is_some()
        || row.expires_at <= now
        || family_revoked(state, row.family_id).await?
    {
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
                roles: roles_of(&u)?,
                customer_id: None,
            }
        }
        (None, Some(cid)) => {
            // an erased customer's sessions are revoked with the erasure; this
            // holds even for one that slipped past it
            if customer::Entity::find_by_id(cid)
                .filter(customer::Column::ErasedAt.is_null())
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
    let pair = issue(state, &actor, row.family_id, now).await?;
    // A reuse racing with this rotation revokes the family with one UPDATE.
    // Either that UPDATE began after our insert committed, and revoked the new
    // token with the rest, or it began before and this check (after the
    // insert) sees it: in both cases the new token is dead and nothing is
    // handed out. (Every use checks the whole family as well.)
    if family_revoked(state, row.family_id).await? {
        revoke_family(state, row.family_id, now).await?;
        return Err(AppError::Unauthorized(BAD_REFRESH));
    }
    Ok(pair)
}

/// Whether any token of the family was revoked: revocation is for the whole
/// family, also for a token inserted after the revoking statement ran.
async fn family_revoked(state: &AppState, family: Uuid) -> AppResult<bool> {
    Ok(refresh_token::Entity::find()
        .filter(refresh_token::Column::FamilyId.eq(family))
        .filter(refresh_token::Column::RevokedAt.is_not_null())
        .one(&state.db)
        .await?
        .is_some())
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

/// The staff member a refresh token held by the console stands for: a
/// live token (not rotated, revoked or expired) of an active user. The
/// console keeps the token server-side in an HttpOnly cookie and never
/// rotates it; logging out revokes its family.
pub async fn session_user(
    state: &AppState,
    token: &str,
) -> AppResult<Option<(Actor, user::Model)>> {
    let now = state.clock.now();
    let Some(row) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(sha256_hex(token)))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .filter(refresh_token::Column::RotatedAt.is_null())
        .filter(refresh_token::Column::ExpiresAt.gt(now))
        .one(&state.db)
        .await?
    else {
        return Ok(None);
    };
    let Some(user_id) = row.user_id else {
        return Ok(None);
    };
    let Some(u) = user::Entity::find_by_id(user_id)
        .filter(user::Column::Active.eq(true))
        .one(&state.db)
        .await?
    else {
        return Ok(None);
    };
    let actor = Actor {
        id: u.id,
        dealer_id: u.dealer_id,
        roles: roles_of(&u)?,
        customer_id: None,
    };
    Ok(Some((actor, u)))
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
/// for an unknown phone, and so is the work: both look the phone up, check
/// the resend rule and the daily cap, store a code and render the message in
/// one transaction; only a known phone's message is put in the outbox (the
/// unknown one makes the same lookup instead). Neither the
/// body, the status nor the timing tells whether the phone is a customer's.
///
/// Over the daily cap (`otp_max_sends_per_day`) the answer is still 202 and
/// nothing is sent: a 429 there would come only for phones that got codes,
/// which is to say known ones, unless unknown phones were refused alike, and
/// then the status would say nothing a client can act on anyway.
pub async fn request_otp(state: &AppState, dealer_code: &str, phone: &str) -> AppResult<()> {
    let phone = Phone::parse(phone).map_err(|e| AppError::field("phone", e.to_string()))?;
    let now = state.clock.now();
    let Some(dealer) = dealer_by_code(state, dealer_code).await? else {
        return Ok(());
    };
    let cust = customer::Entity::find()
        .filter(customer::Column::DealerId.eq(dealer.id))
        .filter(customer::Column::Phone.eq(phone.as_str()))
        .one(&state.db)
        .await?;
    let a = &state.settings.auth;
    // the quota row is taken first, in the transaction that stores the code
    // and its message: its lock (SQLite's one writer) queues parallel requests
    // for one phone, so each sees the code the one before it stored (a burst
    // used to pass the one-a-minute check together)
    let txn = state.db.begin().await?;
    let quota = OtpQuota::new(&dealer, &phone, now);
    if !quota.take(state, &txn, OtpUse::Send).await? {
        tracing::info!(dealer = %dealer.code, "OTP not sent: daily cap reached for this phone");
        return Ok(());
    }
    let recent = otp_code::Entity::find()
        .filter(otp_code::Column::DealerId.eq(dealer.id))
        .filter(otp_code::Column::Phone.eq(phone.as_str()))
        .filter(otp_code::Column::ConsumedAt.is_null())
        .filter(otp_code::Column::CreatedAt.gt(now - Duration::seconds(a.otp_resend_secs)))
        .one(&txn)
        .await?;
    if recent.is_some() {
        // an SMS costs money and annoys: one code a minute is enough (and
        // the rollback gives the day's send back)
        return Ok(());
    }
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
    let id = Uuid::now_v7();
    let params = OtpParams {
        dealer_name: dealer.name.clone(),
        code: code.clone(),
        minutes: a.otp_ttl_secs / 60,
    };
    let locale: Locale = cust.as_ref().map(|c| c.locale).unwrap_or(Locale::ZhCn);
    let text = state.templates.render(locale, "otp", "sms.txt", &params)?;
    // the code and its message are one write: a code exists exactly when its
    // SMS is in the outbox. Stored for an unknown phone too (nobody receives
    // it): the same writes for both, and its checks count against the
    // phone's daily cap alike
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
    .insert(&txn)
    .await?;
    let key = id.to_string();
    match &cust {
        Some(c) => {
            outbox::enqueue(
                &txn,
                NewMessage {
                    dealer_id: dealer.id,
                    customer_id: Some(c.id),
                    about_customer_id: None,
                    kind: MessageKind::Otp,
                    occurrence_key: key,
                    channel: Channel::Sms,
                    recipient: phone.as_str().to_string(),
                    locale,
                    params: Params::Otp(params),
                    subject: None,
                    body: text,
                    due_at: now,
                    parent_id: None,
                },
                now,
            )
            .await?;
        }
        // the lookup that ends an enqueue, so an unknown phone costs the same
        // round trips; only the one small insert differs
        None => {
            outbox::existing(&txn, dealer.id, MessageKind::Otp, &key, Channel::Sms).await?;
        }
    }
    txn.commit().await?;
    outbox::wake(state);
    Ok(())
}

/// What a phone's daily OTP quota counts.
#[derive(Clone, Copy)]
enum OtpUse {
    Send,
    Verification,
}

/// Codes sent and checks made for one phone on one day of the dealer's zone.
struct OtpQuota {
    dealer_id: Uuid,
    phone: String,
    day: chrono::NaiveDate,
    /// Seconds until the dealer's next day begins.
    resets_in: i64,
}

impl OtpQuota {
    fn new(dealer: &dealer::Model, phone: &Phone, now: DateTime<Utc>) -> Self {
        let tz = dealers::zone(dealer);
        let day = now.with_timezone(&tz).date_naive();
        let resets_in = day
            .succ_opt()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .and_then(|t| t.and_local_timezone(tz).earliest())
            .map(|t| (t.with_timezone(&Utc) - now).num_seconds())
            .unwrap_or(86_400)
            .max(1);
        Self {
            dealer_id: dealer.id,
            phone: phone.as_str().to_string(),
            day,
            resets_in,
        }
    }

    /// Counts one use if the day's cap allows it; false when used up. The
    /// count and the check are one conditional UPDATE, so parallel requests
    /// cannot pass the cap together.
    async fn take(
        &self,
        state: &AppState,
        db: &impl ConnectionTrait,
        what: OtpUse,
    ) -> AppResult<bool> {
        let a = &state.settings.auth;
        let (col, cap) = match what {
            OtpUse::Send => (otp_quota::Column::Sends, a.otp_max_sends_per_day),
            OtpUse::Verification => (
                otp_quota::Column::Verifications,
                a.otp_max_verifications_per_day,
            ),
        };
        otp_quota::Entity::insert(otp_quota::ActiveModel {
            dealer_id: Set(self.dealer_id),
            phone: Set(self.phone.clone()),
            day: Set(self.day),
            sends: Set(0),
            verifications: Set(0),
        })
        .on_conflict(
            OnConflict::columns([
                otp_quota::Column::DealerId,
                otp_quota::Column::Phone,
                otp_quota::Column::Day,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        let taken = otp_quota::Entity::update_many()
            .col_expr(col, col_plus(col, 1))
            .filter(otp_quota::Column::DealerId.eq(self.dealer_id))
            .filter(otp_quota::Column::Phone.eq(self.phone.as_str()))
            .filter(otp_quota::Column::Day.eq(self.day))
            .filter(col.lt(cap))
            .exec(db)
            .await?;
        Ok(taken.rows_affected == 1)
    }
}

/// Checks a code: single use, 5 minutes, 5 tries; and at most
/// `otp_max_verifications_per_day` checks per phone a day, known or not (429).
pub async fn verify_otp(
    state: &AppState,
    dealer_code: &str,
    phone: &str,
    code: &str,
) -> AppResult<TokenPair> {
    let cust = otp_customer(state, dealer_code, phone, code).await?;
    issue_customer(state, &cust).await
}

/// Tokens for a customer whose identity was just proven.
pub(crate) async fn issue_customer(state: &AppState, c: &customer::Model) -> AppResult<TokenPair> {
    issue(
        state,
        &customer_actor(c.dealer_id, c.id),
        Uuid::now_v7(),
        state.clock.now(),
    )
    .await
}

/// The customer a code proves (consuming the code), under the same rules as
/// [`verify_otp`].
pub(crate) async fn otp_customer(
    state: &AppState,
    dealer_code: &str,
    phone: &str,
    code: &str,
) -> AppResult<customer::Model> {
    let phone = Phone::parse(phone).map_err(|e| AppError::field("phone", e.to_string()))?;
    let now = state.clock.now();
    let Some(dealer) = dealer_by_code(state, dealer_code).await? else {
        return Err(AppError::Unauthorized(BAD_CODE));
    };
    // counted before anything is looked up, for every phone alike, so the cap
    // says nothing about whether the phone is known
    let quota = OtpQuota::new(&dealer, &phone, now);
    if !quota.take(state, &state.db, OtpUse::Verification).await? {
        return Err(AppError::TooManyRequests {
            retry_after_secs: quota.resets_in,
        });
    }
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
    Ok(cust)
}

/// Counts attempts per key (`account:…` or `address:…`) in the database, so
/// every instance sees the same count.
struct Lockout<'a> {
    key: &'a str,
    threshold: i32,
}

impl Lockout<'_> {
    /// Makes sure the row exists and that a run-out lock or a passed window
    /// starts counting again.
    async fn refresh_window(&self, state: &AppState, now: DateTime<Utc>) -> AppResult<()> {
        let window = Duration::seconds(state.settings.auth.lockout_window_secs);
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
        .exec_without_returning(&state.db)
        .await?;
        login_failure::Entity::update_many()
            .col_expr(login_failure::Column::Failures, Expr::value(0))
            .col_expr(login_failure::Column::WindowStart, Expr::value(now))
            .col_expr(
                login_failure::Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(login_failure::Column::Key.eq(self.key))
            .filter(
                Condition::any()
                    .add(login_failure::Column::LockedUntil.lte(now))
                    .add(
                        Condition::all()
                            .add(login_failure::Column::LockedUntil.is_null())
                            .add(login_failure::Column::WindowStart.lt(now - window)),
                    ),
            )
            .exec(&state.db)
            .await?;
        Ok(())
    }

    /// Counts this attempt before its password is checked, or refuses (429)
    /// when the account is locked or its attempts are used up. Answers how
    /// many attempts came before this one in the window.
    async fn reserve(&self, state: &AppState, now: DateTime<Utc>) -> AppResult<i32> {
        self.refresh_window(state, now).await?;
        // One conditional UPDATE: on PostgreSQL concurrent ones queue on the
        // row lock and each re-checks `failures < threshold` on the row the
        // previous one left; SQLite has one writer. So a burst of any width
        // gets at most `threshold` attempts through.
        let taken = login_failure::Entity::update_many()
            .col_expr(
                login_failure::Column::Failures,
                col_plus(login_failure::Column::Failures, 1),
            )
            .filter(login_failure::Column::Key.eq(self.key))
            .filter(login_failure::Column::LockedUntil.is_null())
            .filter(login_failure::Column::Failures.lt(self.threshold))
            .exec(&state.db)
            .await?;
        if taken.rows_affected == 1 {
            let row = self.row(state).await?;
            return Ok(row.map(|r| r.failures - 1).unwrap_or(0).max(0));
        }
        // used up (by failures, or by attempts still being checked): lock now;
        // a success among those still being checked clears the lock again
        self.lock_if_used_up(state, now).await?;
        let until = self
            .row(state)
            .await?
            .and_then(|r| r.locked_until)
            .unwrap_or(now + Duration::seconds(state.settings.auth.lockout_secs));
        Err(AppError::TooManyRequests {
            retry_after_secs: (until - now).num_seconds().max(1),
        })
    }

    async fn row(&self, state: &AppState) -> AppResult<Option<login_failure::Model>> {
        Ok(login_failure::Entity::find_by_id(self.key.to_string())
            .one(&state.db)
            .await?)
    }

    /// After a failed check (already counted by `reserve`): the last allowed
    /// attempt failing starts the lock.
    async fn lock_if_used_up(&self, state: &AppState, now: DateTime<Utc>) -> AppResult<()> {
        login_failure::Entity::update_many()
            .col_expr(
                login_failure::Column::LockedUntil,
                Expr::value(now + Duration::seconds(state.settings.auth.lockout_secs)),
            )
            .filter(login_failure::Column::Key.eq(self.key))
            .filter(login_failure::Column::LockedUntil.is_null())
            .filter(login_failure::Column::Failures.gte(self.threshold))
            .exec(&state.db)
            .await?;
        Ok(())
    }

    /// Gives back an attempt that was counted but never checked.
    async fn release(&self, state: &AppState) -> AppResult<()> {
        login_failure::Entity::update_many()
            .col_expr(
                login_failure::Column::Failures,
                col_plus(login_failure::Column::Failures, -1),
            )
            .filter(login_failure::Column::Key.eq(self.key))
            .filter(login_failure::Column::LockedUntil.is_null())
            .filter(login_failure::Column::Failures.gt(0))
            .exec(&state.db)
            .await?;
        Ok(())
    }

    /// Failures in the current window (a rule that only slows down).
    async fn recent_failures(&self, state: &AppState, now: DateTime<Utc>) -> AppResult<i32> {
        let window = Duration::seconds(state.settings.auth.lockout_window_secs);
        Ok(self
            .row(state)
            .await?
            .filter(|r| now - r.window_start < window)
            .map(|r| r.failures)
            .unwrap_or(0))
    }

    /// Counts a failure after the fact (a rule that only slows down).
    async fn count_failure(&self, state: &AppState, now: DateTime<Utc>) -> AppResult<()> {
        self.refresh_window(state, now).await?;
        login_failure::Entity::update_many()
            .col_expr(
                login_failure::Column::Failures,
                col_plus(login_failure::Column::Failures, 1),
            )
            .filter(login_failure::Column::Key.eq(self.key))
            .exec(&state.db)
            .await?;
        Ok(())
    }

    /// After a success: the count starts again. The row stays (an UPDATE, not
    /// a DELETE), so an attempt that inserted nothing because the row was
    /// there a moment ago still finds it to count on.
    async fn clear(&self, state: &AppState, now: DateTime<Utc>) -> AppResult<()> {
        login_failure::Entity::update_many()
            .col_expr(login_failure::Column::Failures, Expr::value(0))
            .col_expr(login_failure::Column::WindowStart, Expr::value(now))
            .col_expr(
                login_failure::Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(login_failure::Column::Key.eq(self.key))
            .exec(&state.db)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_roles_that_do_not_parse_fail_loudly_not_as_no_roles() {
        let user = |roles: serde_json::Value| user::Model {
            id: Uuid::now_v7(),
            dealer_id: Uuid::now_v7(),
            username: "u".into(),
            display_name: "u".into(),
            password_hash: String::new(),
            roles,
            skills: serde_json::json!([]),
            active: true,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let ok = roles_of(&user(serde_json::json!(["service_advisor", "cashier"]))).unwrap();
        assert_eq!(ok, vec![Role::ServiceAdvisor, Role::Cashier]);
        assert!(roles_of(&user(serde_json::json!({"not": "a list"}))).is_err());
        assert!(roles_of(&user(serde_json::json!(["wizard"]))).is_err());
    }

    #[test]
    fn failures_slow_logins_down_step_by_step_up_to_a_cap() {
        // account: two earlier attempts are free, then 250 ms each
        assert_eq!(failure_delay_ms(0, 0, 20, 250), 0);
        assert_eq!(failure_delay_ms(2, 0, 20, 250), 0);
        assert_eq!(failure_delay_ms(4, 0, 20, 250), 500);
        // address: nothing below its threshold, then a step per failure
        assert_eq!(failure_delay_ms(0, 19, 20, 250), 0);
        assert_eq!(failure_delay_ms(0, 20, 20, 250), 250);
        assert_eq!(failure_delay_ms(0, 25, 20, 250), 1500);
        assert_eq!(failure_delay_ms(0, 500, 20, 250), MAX_FAILURE_DELAY_MS);
        // the worse of the two counts; none in the test profile
        assert_eq!(failure_delay_ms(4, 25, 20, 250), 1500);
        assert_eq!(failure_delay_ms(4, 25, 20, 0), 0);
    }
}
