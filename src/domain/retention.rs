//! Retention of personal data (个人信息保存期限): how long each kind is
//! kept, per dealer, within bounds; when a limit makes a record due; and
//! the local time of day the daily run starts. The run itself is
//! `services::retention`.

use chrono::{DateTime, Duration, Months, NaiveDateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use super::Role;
use super::validation::FieldErrors;

string_enum! {
    /// A kind of personal data the daily retention run removes (or clears)
    /// when its time is up.
    pub enum RetentionKind {
        /// One-time login codes (`otp_codes`), by the day they were sent, and
        /// the daily count of codes sent to each phone (`otp_quota`).
        OtpCodes = "otp_codes",
        /// Failed-login counters (`login_failures`), by the start of their
        /// window, and ended sessions (`refresh_tokens`), by their expiry.
        LoginFailures = "login_failures",
        /// The bodies, subjects, parameters and recipients of settled messages
        /// (`outbox_messages`); the record that a message went stays.
        MessageBodies = "message_bodies",
        /// Walk-around and health-check photos (`repair_order_photos` and their
        /// bytes), by the day their order closed.
        Photos = "photos",
        /// A finished rescue's coordinates and address (`rescues`) and the
        /// notes of its steps (`rescue_events`).
        RescueLocations = "rescue_locations",
        /// The personal-data access log (`personal_data_access`).
        AuditEntries = "audit_entries",
        /// The saved answers of idempotent writes (`idempotency_keys`), which
        /// repeat what the write answered, by the day of the request.
        IdempotentAnswers = "idempotent_answers"
    }
}

/// Who changes a dealer's limits: the service manager and the dealer's admin
/// (who also read the runs).
pub const SETTERS: &[Role] = &[Role::ServiceManager, Role::DealerAdmin];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Days,
    Months,
    Years,
}

impl Unit {
    /// The instant `n` units before `now` (months and years by the calendar).
    pub fn before(self, n: u32, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Unit::Days => now - Duration::days(i64::from(n)),
            Unit::Months => now
                .checked_sub_months(Months::new(n))
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
            Unit::Years => now
                .checked_sub_months(Months::new(n.saturating_mul(12)))
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
        }
    }
}

/// One limit as the settings name it: its field, unit and bounds.
pub struct Limit {
    pub kind: RetentionKind,
    pub field: &'static str,
    pub unit: Unit,
    pub min: u32,
    pub max: u32,
}

/// Every limit, one per kind. The bounds keep a slip of the keyboard from
/// erasing a year of data overnight (a minimum) or keeping it for ever.
pub const LIMITS: &[Limit] = &[
    Limit {
        kind: RetentionKind::OtpCodes,
        field: "otp_code_days",
        unit: Unit::Days,
        min: 1,
        max: 90,
    },
    Limit {
        kind: RetentionKind::LoginFailures,
        field: "login_failure_days",
        unit: Unit::Days,
        min: 1,
        max: 365,
    },
    Limit {
        kind: RetentionKind::MessageBodies,
        field: "message_body_months",
        unit: Unit::Months,
        min: 1,
        max: 120,
    },
    Limit {
        kind: RetentionKind::Photos,
        field: "photo_months",
        unit: Unit::Months,
        min: 1,
        max: 120,
    },
    Limit {
        kind: RetentionKind::RescueLocations,
        field: "rescue_location_months",
        unit: Unit::Months,
        min: 1,
        max: 120,
    },
    Limit {
        kind: RetentionKind::AuditEntries,
        field: "audit_years",
        unit: Unit::Years,
        min: 1,
        max: 30,
    },
    Limit {
        kind: RetentionKind::IdempotentAnswers,
        field: "idempotent_answer_days",
        unit: Unit::Days,
        min: 1,
        max: 90,
    },
];

pub fn limit_of(kind: RetentionKind) -> &'static Limit {
    LIMITS.iter().find(|l| l.kind == kind).unwrap_or(&LIMITS[0])
}

/// A dealer's limits, one number per kind in that kind's unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub otp_code_days: u32,
    pub login_failure_days: u32,
    pub message_body_months: u32,
    pub photo_months: u32,
    pub rescue_location_months: u32,
    pub audit_years: u32,
    pub idempotent_answer_days: u32,
}

impl Policy {
    pub fn get(&self, kind: RetentionKind) -> u32 {
        match kind {
            RetentionKind::OtpCodes => self.otp_code_days,
            RetentionKind::LoginFailures => self.login_failure_days,
            RetentionKind::MessageBodies => self.message_body_months,
            RetentionKind::Photos => self.photo_months,
            RetentionKind::RescueLocations => self.rescue_location_months,
            RetentionKind::AuditEntries => self.audit_years,
            RetentionKind::IdempotentAnswers => self.idempotent_answer_days,
        }
    }

    /// Records of `kind` dated before this instant are due at `now`.
    pub fn cutoff(&self, kind: RetentionKind, now: DateTime<Utc>) -> DateTime<Utc> {
        limit_of(kind).unit.before(self.get(kind), now)
    }

    /// Every limit within its bounds, or each one that is not, named.
    pub fn check(&self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::new();
        for l in LIMITS {
            let v = self.get(l.kind);
            if !(l.min..=l.max).contains(&v) {
                e.add(l.field, format!("must be between {} and {}", l.min, l.max));
            }
        }
        e.into_result()
    }
}

/// `"03:30"`: the local time of day the run starts.
pub fn parse_at(s: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| format!("{s:?} is not HH:MM"))
}

/// Whether the day's run is due at local wall time `local`: from `at` on.
/// A zone's clock change only moves the start (a skipped 02:30 runs at the
/// first instant after the gap); the run is still once per local date.
pub fn due(local: NaiveDateTime, at: NaiveTime) -> bool {
    local.time() >= at
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn policy() -> Policy {
        Policy {
            otp_code_days: 1,
            login_failure_days: 30,
            message_body_months: 24,
            photo_months: 36,
            rescue_location_months: 12,
            audit_years: 5,
            idempotent_answer_days: 7,
        }
    }

    #[test]
    fn every_kind_has_one_limit() {
        for k in RetentionKind::ALL {
            assert_eq!(LIMITS.iter().filter(|l| l.kind == *k).count(), 1, "{k}");
        }
    }

    #[test]
    fn cutoffs_count_back_by_the_calendar() {
        let now = Utc.with_ymd_and_hms(2029, 3, 31, 4, 0, 0).unwrap();
        let p = policy();
        assert_eq!(
            p.cutoff(RetentionKind::OtpCodes, now),
            Utc.with_ymd_and_hms(2029, 3, 30, 4, 0, 0).unwrap()
        );
        // 24 months before 31 March is 31 March; 1 month before is the end of February
        assert_eq!(
            p.cutoff(RetentionKind::MessageBodies, now),
            Utc.with_ymd_and_hms(2027, 3, 31, 4, 0, 0).unwrap()
        );
        assert_eq!(
            Unit::Months.before(1, now),
            Utc.with_ymd_and_hms(2029, 2, 28, 4, 0, 0).unwrap()
        );
        assert_eq!(
            p.cutoff(RetentionKind::AuditEntries, now),
            Utc.with_ymd_and_hms(2024, 3, 31, 4, 0, 0).unwrap()
        );
    }

    #[test]
    fn limits_out_of_bounds_are_named() {
        let mut p = policy();
        assert!(p.check().is_ok());
        p.otp_code_days = 0;
        p.audit_years = 31;
        let e = p.check().unwrap_err();
        let fields: Vec<_> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["otp_code_days", "audit_years"]);
    }

    #[test]
    fn the_run_is_due_from_its_local_time_on() {
        let at = parse_at("03:30").unwrap();
        let d = chrono::NaiveDate::from_ymd_opt(2027, 1, 5).unwrap();
        assert!(!due(d.and_hms_opt(3, 29, 59).unwrap(), at));
        assert!(due(d.and_hms_opt(3, 30, 0).unwrap(), at));
        assert!(due(d.and_hms_opt(23, 0, 0).unwrap(), at));
        assert!(parse_at("3.30").is_err());
    }
}
