//! Insurance renewal handled by the dealer (代办保险业务): which policy
//! terms are leads, what an outcome may say, and the renewal rate. Pure
//! rules; `services::insurance` does the database work.

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;

use super::kpi::Ratio;
use super::{FieldErrors, Money, Role};

string_enum! {
    /// The two policies a Chinese car carries: 交强险 (compulsory traffic
    /// insurance) and 商业险 (commercial cover).
    pub enum PolicyKind { Compulsory = "compulsory", Commercial = "commercial" }
}

string_enum! {
    /// How a renewal lead ended.
    pub enum RenewalOutcome {
        /// Renewed through the dealer: insurer, premium and new expiry recorded.
        RenewedWithUs = "renewed_with_us",
        /// The customer renewed with another agent or insurer.
        RenewedElsewhere = "renewed_elsewhere",
        /// The customer did not want the dealer's offer.
        NotInterested = "not_interested",
    }
}

impl PolicyKind {
    pub fn zh(self) -> &'static str {
        match self {
            PolicyKind::Compulsory => "交强险",
            PolicyKind::Commercial => "商业险",
        }
    }
}

/// A term is a lead when its expiry falls within this many days from today.
pub const LEAD_DAYS: i64 = 60;
/// The furthest `due_before` may reach.
pub const MAX_LEAD_DAYS: i64 = 366;
/// The largest premium one policy may carry: 1,000,000.00 CNY.
pub const MAX_PREMIUM_CENTS: i64 = 100_000_000;
/// A new expiry at most this many days after the later of the old expiry
/// and today (policies run a year; two allow a late entry).
pub const MAX_TERM_DAYS: i64 = 731;
/// Notes and the insurer's name.
pub const MAX_NOTE: usize = 500;
pub const MAX_INSURER: usize = 100;

/// Who sees the leads and records outcomes: the advisors, the customer
/// centre and the department's managers (no insurance desk role exists).
pub const STAFF: &[Role] = &[
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::ServiceAdvisor,
    Role::CustomerCare,
    Role::DealerAdmin,
];

/// The kinds of a quote request: at least one, none twice.
pub fn kinds(kinds: &[PolicyKind]) -> Result<(), FieldErrors> {
    let mut e = FieldErrors::new();
    if kinds.is_empty() {
        e.add("kinds", "must name at least one policy");
    }
    for (i, k) in kinds.iter().enumerate() {
        if kinds[..i].contains(k) {
            e.add(format!("kinds[{i}]"), "is named twice");
        }
    }
    e.into_result()
}

/// A premium: more than 0, at most 1,000,000.00 CNY, whole fen.
pub fn premium(d: Decimal) -> Result<Money, String> {
    if d <= Decimal::ZERO {
        return Err("must be more than 0".into());
    }
    let m = Money::parse(d).map_err(|e| e.to_string())?;
    if m.cents() > MAX_PREMIUM_CENTS {
        return Err("must be at most 1000000.00".into());
    }
    Ok(m)
}

/// A renewed policy's new expiry: after the old one, and at most
/// [`MAX_TERM_DAYS`] after the later of the old one and today.
pub fn new_expiry(old: NaiveDate, new: NaiveDate, today: NaiveDate) -> Result<NaiveDate, String> {
    super::dates::in_range(new)?;
    if new <= old {
        return Err(format!("must be after the old expiry {old}"));
    }
    let latest = old.max(today) + Duration::days(MAX_TERM_DAYS);
    if new > latest {
        return Err(format!("must be at most {latest}"));
    }
    Ok(new)
}

/// `due_before` of the leads list: today or later, within a year.
pub fn due_before(d: NaiveDate, today: NaiveDate) -> Result<NaiveDate, String> {
    super::dates::in_range(d)?;
    if d < today || d > today + Duration::days(MAX_LEAD_DAYS) {
        return Err(format!(
            "must be between today and {MAX_LEAD_DAYS} days ahead"
        ));
    }
    Ok(d)
}

/// **Insurance renewal rate** (续保率): policy terms renewed with the
/// dealer ÷ policy terms whose expiry fell in the period.
pub fn renewal_rate(renewed_with_us: u64, expiring: u64) -> Ratio {
    Ratio::share(renewed_with_us, expiring)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn kinds_must_be_named_once_each() {
        assert!(kinds(&[]).is_err());
        assert!(kinds(&[PolicyKind::Compulsory, PolicyKind::Commercial]).is_ok());
        let e = kinds(&[PolicyKind::Commercial, PolicyKind::Commercial]).unwrap_err();
        assert_eq!(e.0[0].field, "kinds[1]");
    }

    #[test]
    fn a_premium_is_positive_bounded_and_in_fen() {
        assert_eq!(premium(Decimal::new(95000, 2)).unwrap().cents(), 95000);
        assert!(premium(Decimal::ZERO).is_err());
        assert!(premium(Decimal::new(-1, 0)).is_err());
        assert!(premium(Decimal::new(1_000_001, 0)).is_err());
        assert!(premium(Decimal::new(1001, 3)).is_err());
        assert!(premium(Decimal::MAX).is_err());
    }

    #[test]
    fn a_new_expiry_follows_the_old_and_is_not_absurd() {
        let old = d(2027, 3, 14);
        let today = d(2027, 2, 1);
        assert_eq!(new_expiry(old, d(2028, 3, 14), today), Ok(d(2028, 3, 14)));
        assert!(new_expiry(old, old, today).is_err());
        assert!(new_expiry(old, d(2030, 3, 14), today).is_err());
        assert!(new_expiry(old, NaiveDate::MAX, today).is_err());
    }

    #[test]
    fn the_renewal_rate_is_renewed_over_expiring() {
        let r = renewal_rate(2, 3);
        assert_eq!(r.value(), Some(Decimal::new(667, 3)));
        assert_eq!(renewal_rate(0, 0).value(), None);
    }
}
