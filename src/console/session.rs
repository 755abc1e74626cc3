//! Console sessions: logging in with the API's login (the same lockout and
//! throttling), the refresh token it issues kept in an HttpOnly cookie, and
//! the CSRF token every form carries.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{html, locale, see_other, texts};
use crate::auth::tokens::sha256_hex;
use crate::auth::{Actor, ClientAddr};
use crate::domain::Role;
use crate::domain::customer::Locale;
use crate::entities::dealer;
use crate::error::AppError;
use crate::services::auth;
use crate::state::AppState;
use sea_orm::{EntityTrait, QueryOrder};

/// The session cookie: the refresh token of the console's login.
pub const SESSION: &str = "sl_console";
/// The language chosen with `?lang=`.
pub const LANG: &str = "sl_lang";
/// The dealer whose board a network admin is looking at (its code).
pub const DEALER: &str = "sl_dealer";

/// A logged-in staff member.
pub struct Staff {
    pub actor: Actor,
    pub display_name: String,
    pub dealer_name: String,
    pub tz: chrono_tz::Tz,
    /// The token every form of this session carries.
    pub csrf: String,
    /// A network admin's: every dealer of the network, to pick whose board
    /// to look at; empty for everyone else.
    pub dealers: Vec<dealer::Model>,
    /// The dealer a network admin picked (none: their own).
    pub viewing: Option<dealer::Model>,
    /// The request came from the console's own origin (or named none).
    same_site: bool,
}

/// A cookie of the request.
pub fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn csrf_of(token: &str) -> String {
    sha256_hex(&format!("console-csrf:{token}"))
}

/// The staff member of the request's session; a redirect to the login page
/// when there is none (or it ended).
pub async fn staff(state: &AppState, req: &HttpRequest) -> Result<Staff, HttpResponse> {
    let to_login = || see_other("/console/login");
    let Some(token) = cookie(req, SESSION) else {
        return Err(to_login());
    };
    let found = auth::session_user(state, &token)
        .await
        .map_err(|e| actix_web::ResponseError::error_response(&e))?;
    let Some((actor, user)) = found else {
        return Err(to_login());
    };
    let d = dealer::Entity::find_by_id(actor.dealer_id)
        .one(&state.db)
        .await
        .map_err(|e| actix_web::ResponseError::error_response(&AppError::from(e)))?;
    let (dealer_name, tz) = d
        .map(|d| (d.name.clone(), crate::services::dealers::zone(&d)))
        .unwrap_or_else(|| (String::new(), chrono_tz::Asia::Shanghai));
    let (dealers, viewing) = if actor.has(Role::NetworkAdmin) {
        let all = dealer::Entity::find()
            .order_by_asc(dealer::Column::Code)
            .all(&state.db)
            .await
            .map_err(|e| actix_web::ResponseError::error_response(&AppError::from(e)))?;
        let picked = cookie(req, DEALER).and_then(|c| all.iter().find(|d| d.code == c).cloned());
        (all, picked)
    } else {
        (Vec::new(), None)
    };
    Ok(Staff {
        actor,
        display_name: user.display_name,
        dealer_name,
        tz,
        csrf: csrf_of(&token),
        dealers,
        viewing,
        same_site: same_origin(req),
    })
}

/// A handler that takes `Staff` runs only with a session: without one the
/// browser is sent to the login page.
impl actix_web::FromRequest for Staff {
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Staff, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("state missing")))?;
            staff(&state, &req).await.map_err(|to| {
                actix_web::error::InternalError::from_response("no session", to).into()
            })
        })
    }
}

/// Whether a form was posted from the console's own pages: a browser names
/// the page's origin in `Origin`, and a cross-site form (login CSRF among
/// others) names another. Without the header (an old client), the CSRF
/// token and the SameSite cookie still stand guard.
pub fn same_origin(req: &HttpRequest) -> bool {
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
    else {
        return true;
    };
    let host = req.connection_info().host().to_string();
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.trim_end_matches('/') == host)
}

/// Checks a form's CSRF token against the session's (403 otherwise).
pub fn check_csrf(staff: &Staff, sent: &str) -> Result<(), AppError> {
    staff.csrf_checked(sent)
}

impl Staff {
    /// Who reads the board and in which zone: the staff member, or for a
    /// network admin who picked a dealer, the same member seen in that
    /// dealer. Only reads go through it: writes keep the member's own
    /// dealer (`Actor::can_write_dealer`).
    pub fn reader(&self) -> (Actor, chrono_tz::Tz) {
        match &self.viewing {
            Some(d) => (
                Actor {
                    dealer_id: d.id,
                    ..self.actor.clone()
                },
                crate::services::dealers::zone(d),
            ),
            None => (self.actor.clone(), self.tz),
        }
    }

    fn csrf_checked(&self, sent: &str) -> Result<(), AppError> {
        if !self.same_site {
            return Err(AppError::Forbidden("a form from another site"));
        }
        let a = self.csrf.as_bytes();
        let b = sent.as_bytes();
        let same =
            a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
        if same {
            Ok(())
        } else {
            Err(AppError::Forbidden("the form expired; load the page again"))
        }
    }
}

fn session_cookie(token: &str, max_age_secs: i64) -> String {
    format!(
        "{SESSION}={token}; Path=/console; HttpOnly; Secure; SameSite=Strict; Max-Age={max_age_secs}"
    )
}

pub fn lang_cookie(l: Locale) -> String {
    format!(
        "{LANG}={}; Path=/console; Secure; SameSite=Strict; Max-Age=31536000",
        l.as_str()
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub dealer_code: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
}

fn login_form(
    state: &AppState,
    req: &HttpRequest,
    f: &LoginForm,
    error: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let lang = locale(req);
    html(
        state,
        req,
        "console/login.html",
        status,
        &serde_json::json!({
            "lang": lang.as_str(), "t": texts::of(lang), "error": error,
            "dealer_code": f.dealer_code, "username": f.username,
        }),
    )
}

pub async fn login_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    if staff(&state, &req).await.is_ok() {
        return see_other("/console/board");
    }
    login_form(&state, &req, &LoginForm::default(), None, StatusCode::OK)
}

/// Logs in through the API's login (its lockout and throttling apply): the
/// refresh token becomes the session cookie.
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    addr: ClientAddr,
    form: web::Form<LoginForm>,
) -> HttpResponse {
    let f = form.into_inner();
    let words = texts::of(locale(&req));
    if !same_origin(&req) {
        return actix_web::ResponseError::error_response(&AppError::Forbidden(
            "a login from another site",
        ));
    }
    let clean = |s: &str, max: usize| s.len() <= max && !s.chars().any(char::is_control);
    if !clean(&f.dealer_code, 32) || !clean(&f.username, 64) || f.password.len() > 256 {
        return login_form(
            &state,
            &req,
            &LoginForm::default(),
            Some(words["bad_login"]),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    match auth::login(
        &state,
        &f.dealer_code,
        &f.username,
        f.password.clone(),
        addr,
    )
    .await
    {
        Ok(pair) => {
            let max_age = state.settings.auth.refresh_ttl_days * 86_400;
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/console/board"))
                .insert_header((
                    header::SET_COOKIE,
                    session_cookie(&pair.refresh_token, max_age),
                ))
                .finish()
        }
        Err(AppError::Unauthorized(_)) => login_form(
            &state,
            &req,
            &f,
            Some(words["bad_login"]),
            StatusCode::UNAUTHORIZED,
        ),
        Err(AppError::TooManyRequests { .. }) | Err(AppError::Busy { .. }) => login_form(
            &state,
            &req,
            &f,
            Some(words["too_many"]),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}

#[derive(Debug, Deserialize)]
pub struct DealerForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub dealer: String,
}

/// A network admin picks whose board to look at (remembered in a cookie;
/// their own dealer's code clears it).
pub async fn pick_dealer(s: Staff, form: web::Form<DealerForm>) -> HttpResponse {
    if let Err(e) = check_csrf(&s, &form.csrf) {
        return actix_web::ResponseError::error_response(&e);
    }
    if !s.actor.has(Role::NetworkAdmin) {
        return actix_web::ResponseError::error_response(&AppError::Forbidden(
            "only the brand's staff look at other dealers",
        ));
    }
    // only a known dealer's code reaches the cookie
    let Some(d) = s.dealers.iter().find(|d| d.code == form.dealer) else {
        return actix_web::ResponseError::error_response(&AppError::field(
            "dealer",
            "is not a dealer of the network",
        ));
    };
    let cookie = if d.id == s.actor.dealer_id {
        format!("{DEALER}=; Path=/console; HttpOnly; Secure; SameSite=Strict; Max-Age=0")
    } else {
        format!(
            "{DEALER}={}; Path=/console; HttpOnly; Secure; SameSite=Strict; Max-Age=31536000",
            d.code
        )
    };
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/console/board"))
        .insert_header((header::SET_COOKIE, cookie))
        .finish()
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// Ends the session: its token's family is revoked and the cookie cleared.
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    s: Staff,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    if let Err(e) = check_csrf(&s, &form.csrf) {
        return actix_web::ResponseError::error_response(&e);
    }
    if let Some(token) = cookie(&req, SESSION)
        && let Err(e) = auth::logout(&state, &token).await
    {
        return actix_web::ResponseError::error_response(&e);
    }
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/console/login"))
        .insert_header((header::SET_COOKIE, session_cookie("", 0)))
        .finish()
}
