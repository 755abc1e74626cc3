//! Deputies (职务代理): every post has someone who stands in while its
//! holder is away. A user (or a manager for them) names one deputy for a
//! period of the dealer's local days; while it runs, the deputy sees the
//! absent person's appointments, orders, cases and callbacks beside their
//! own and acts on them, each act recorded as "by the deputy for the
//! absent person". A deputy's roles stay their own: standing in for an
//! advisor does not give a technician an advisor's rights. Standing in is
//! not passed on: the deputy of a deputy does not act for the first
//! person. Pure rules here; `services::deputies` reads and writes.

use chrono::{Duration, NaiveDate};

use super::{FieldErrors, Role, dates};

/// The longest period, in days (both ends counted).
pub const MAX_DAYS: i64 = 90;
/// How far ahead a period may start, in days.
pub const MAX_LEAD_DAYS: i64 = 365;

/// Who names a deputy for someone else: the service manager and the
/// dealer's admin. Anyone on the staff names their own.
pub const MANAGERS: &[Role] = &[Role::ServiceManager, Role::DealerAdmin];

/// A period as asked for, checked against the dealer's `today`: `from`
/// not before today nor more than a year ahead, `to` not before `from`,
/// at most [`MAX_DAYS`] days in all. Each bad field is named.
pub fn period(
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), FieldErrors> {
    let mut e = FieldErrors::default();
    let from_ok = match dates::in_range(from) {
        Err(m) => Err(m),
        Ok(f) if f < today => Err(format!("must not be before today ({today})")),
        Ok(f) if f > today + Duration::days(MAX_LEAD_DAYS) => {
            Err(format!("must be within {MAX_LEAD_DAYS} days of today"))
        }
        Ok(f) => Ok(f),
    };
    if let Err(m) = &from_ok {
        e.add("from", m.clone());
    }
    match dates::in_range(to) {
        Err(m) => e.add("to", m),
        Ok(t) => {
            if let Ok(f) = from_ok {
                if t < f {
                    e.add("to", "must not be before from");
                } else if (t - f).num_days() + 1 > MAX_DAYS {
                    e.add("to", format!("a period is at most {MAX_DAYS} days"));
                }
            }
        }
    }
    e.into_result()?;
    Ok((from, to))
}

/// Whether `actor_id` holding `roles` may name or withdraw the deputy of
/// `user_id`: themself, or a manager.
pub fn may_name(actor_id: uuid::Uuid, roles: &[Role], user_id: uuid::Uuid) -> bool {
    actor_id == user_id || roles.iter().any(|r| MANAGERS.contains(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn fields(r: Result<(NaiveDate, NaiveDate), FieldErrors>) -> Vec<String> {
        r.unwrap_err().0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_period_from_today_up_to_ninety_days_is_taken() {
        let today = d("2026-12-01");
        assert_eq!(
            period(today, today, today).unwrap(),
            (today, today),
            "one day"
        );
        assert!(period(today, d("2027-02-28"), today).is_ok(), "90 days");
        assert_eq!(
            fields(period(today, d("2027-03-01"), today)),
            ["to"],
            "91 days"
        );
    }

    #[test]
    fn the_past_the_far_future_and_reversed_periods_are_refused() {
        let today = d("2026-12-01");
        assert_eq!(fields(period(d("2026-11-30"), today, today)), ["from"]);
        assert_eq!(
            fields(period(d("2027-12-02"), d("2027-12-03"), today)),
            ["from"]
        );
        assert!(period(d("2027-12-01"), d("2027-12-01"), today).is_ok());
        assert_eq!(
            fields(period(d("2026-12-05"), d("2026-12-04"), today)),
            ["to"]
        );
        let far = NaiveDate::from_ymd_opt(262_142, 1, 1).unwrap();
        let past = NaiveDate::from_ymd_opt(-5000, 1, 1).unwrap();
        assert_eq!(fields(period(past, far, today)), ["from", "to"]);
    }

    #[test]
    fn one_names_ones_own_deputy_and_managers_name_anyones() {
        let me = uuid::Uuid::now_v7();
        let other = uuid::Uuid::now_v7();
        assert!(may_name(me, &[Role::Technician], me));
        assert!(!may_name(me, &[Role::ServiceAdvisor], other));
        assert!(may_name(me, &[Role::ServiceManager], other));
        assert!(may_name(me, &[Role::DealerAdmin], other));
    }
}
