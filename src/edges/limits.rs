//! Rate limits of the endpoints anyone can call, by client address (the
//! trusted-proxy rule of `auth::client_addr` names the client behind a load
//! balancer): the survey and unsubscribe pages, the login codes (OTP, WeChat
//! login) and the providers' callbacks (delivery receipts, inbound SMS).
//!
//! The limits guard this instance against a flood; they are kept in memory,
//! per instance, so N instances let N times the rate through. What costs
//! money or guards an account is counted in the database besides (the login
//! codes' daily quotas per phone, the login failures per account and address).
//! The answer past a limit is a 429 `application/problem+json` with
//! `Retry-After`.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use actix_web::{
    Error, FromRequest, ResponseError,
    body::{EitherBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    middleware::Next,
    web,
};
use governor::{DefaultKeyedRateLimiter, Quota, clock::Clock};

use crate::auth::client_addr::ClientAddr;
use crate::config::{LimitSettings, RateSettings};
use crate::error::AppError;
use crate::state::AppState;

/// The kinds of public endpoint, each with its own rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// `/s/…`, `/u/…`, `/api/v1/surveys/…`: what a link in a message opens.
    Pages,
    /// `/api/v1/auth/otp`, `/otp/verify`, `/auth/wechat`: a login code asked
    /// for or tried.
    Codes,
    /// `/api/v1/care/receipts/…`, `/inbound/…`, `/reports/…`: the SMS and
    /// WeChat operators calling back, in bursts.
    Callbacks,
}

/// The class of a request path, if it is a limited one.
pub fn class_of(path: &str) -> Option<Class> {
    const PAGES: [&str; 3] = ["/s/", "/u/", "/api/v1/surveys/"];
    const CODES: [&str; 2] = ["/api/v1/auth/otp", "/api/v1/auth/wechat"];
    const CALLBACKS: [&str; 3] = [
        "/api/v1/care/receipts/",
        "/api/v1/care/inbound/",
        "/api/v1/care/reports/",
    ];
    let under = |p: &str| {
        path.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    if PAGES.iter().any(|p| path.starts_with(p)) {
        Some(Class::Pages)
    } else if CODES.iter().any(|p| under(p)) {
        Some(Class::Codes)
    } else if CALLBACKS.iter().any(|p| path.starts_with(p)) {
        Some(Class::Callbacks)
    } else {
        None
    }
}

/// Past this many addresses remembered, the ones back to a full allowance
/// are forgotten: the memory stays bounded by the addresses of the last
/// minute or so, whatever a flood of spoofed addresses does.
const FORGET_ABOVE: usize = 10_000;

type Limiter = DefaultKeyedRateLimiter<Option<IpAddr>>;

/// One limiter per class (`None`: the class is not limited).
pub struct PublicLimits {
    pages: Option<Limiter>,
    codes: Option<Limiter>,
    callbacks: Option<Limiter>,
}

impl PublicLimits {
    pub fn new(s: &LimitSettings) -> PublicLimits {
        PublicLimits {
            pages: limiter(&s.pages),
            codes: limiter(&s.codes),
            callbacks: limiter(&s.callbacks),
        }
    }

    /// Counts a request of `class` from `addr`; past the rate, how long to wait.
    pub fn check(&self, class: Class, addr: Option<IpAddr>) -> Result<(), Duration> {
        let limiter = match class {
            Class::Pages => &self.pages,
            Class::Codes => &self.codes,
            Class::Callbacks => &self.callbacks,
        };
        let Some(l) = limiter else {
            return Ok(());
        };
        if l.len() > FORGET_ABOVE {
            l.retain_recent();
            l.shrink_to_fit();
        }
        l.check_key(&addr).map_err(|not_until| {
            not_until.wait_time_from(governor::clock::DefaultClock::default().now())
        })
    }
}

fn limiter(r: &RateSettings) -> Option<Limiter> {
    let per_minute = NonZeroU32::new(r.per_minute)?;
    let burst = NonZeroU32::new(r.burst).unwrap_or(NonZeroU32::MIN);
    Some(Limiter::keyed(
        Quota::per_minute(per_minute).allow_burst(burst),
    ))
}

/// The middleware: a limited request past its rate is answered 429 and goes
/// no further.
pub async fn limit(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    // the path as the router reads it (`%6f` is `o`): the raw one would let
    // an encoded letter walk past the limit to the same handler
    let Some(class) = class_of(req.match_info().as_str()) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let addr = ClientAddr::from_request(req.request(), &mut Payload::None)
        .into_inner()
        .map(|a| a.0)
        .unwrap_or(None);
    match state.limits.check(class, addr) {
        Ok(()) => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body),
        Err(wait) => {
            let secs = wait.as_secs_f64().ceil().max(1.0) as i64;
            let res = AppError::TooManyRequests {
                retry_after_secs: secs,
            }
            .error_response();
            Ok(req.into_response(res).map_into_right_body())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_paths_fall_in_their_classes() {
        assert_eq!(class_of("/s/abc"), Some(Class::Pages));
        assert_eq!(class_of("/u/abc"), Some(Class::Pages));
        assert_eq!(class_of("/api/v1/surveys/tok"), Some(Class::Pages));
        assert_eq!(class_of("/api/v1/auth/otp"), Some(Class::Codes));
        assert_eq!(class_of("/api/v1/auth/otp/verify"), Some(Class::Codes));
        assert_eq!(class_of("/api/v1/auth/wechat"), Some(Class::Codes));
        assert_eq!(
            class_of("/api/v1/care/receipts/sms"),
            Some(Class::Callbacks)
        );
        assert_eq!(class_of("/api/v1/care/inbound/sms"), Some(Class::Callbacks));
        assert_eq!(
            class_of("/api/v1/care/reports/wechat"),
            Some(Class::Callbacks)
        );
        assert_eq!(class_of("/api/v1/auth/login"), None);
        assert_eq!(class_of("/api/v1/customers"), None);
        assert_eq!(class_of("/api/v1/auth/otpx"), None);
        assert_eq!(class_of("/console/login"), None);
    }

    #[test]
    fn an_address_past_its_burst_waits_and_others_do_not() {
        let limits = PublicLimits::new(&LimitSettings {
            pages: RateSettings {
                per_minute: 6,
                burst: 2,
            },
            codes: RateSettings {
                per_minute: 0,
                burst: 0,
            },
            callbacks: RateSettings {
                per_minute: 600,
                burst: 100,
            },
        });
        let a = Some("203.0.113.1".parse().unwrap());
        let b = Some("203.0.113.2".parse().unwrap());
        assert!(limits.check(Class::Pages, a).is_ok());
        assert!(limits.check(Class::Pages, a).is_ok());
        let wait = limits.check(Class::Pages, a).unwrap_err();
        // one more every 10 seconds at 6 a minute
        assert!(wait <= Duration::from_secs(10) && wait > Duration::ZERO);
        assert!(limits.check(Class::Pages, b).is_ok());
        // an unlimited class never refuses
        for _ in 0..100 {
            assert!(limits.check(Class::Codes, a).is_ok());
        }
    }
}
