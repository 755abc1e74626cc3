//! Bounds on the dates the API takes. Anything outside them is a typo or an
//! attack: years like -5000 or +262142 overflow date arithmetic (a panic) or
//! the database's date type (a 500 on PostgreSQL).

use chrono::{Datelike, NaiveDate};

/// The first and last year a recorded date (a purchase, a birthday, a
/// reading, a closed day, a query) may fall in.
pub const FIRST_YEAR: i32 = 1900;
pub const LAST_YEAR: i32 = 2200;

/// A date of the vehicle's or customer's history, or one asked about.
pub fn in_range(d: NaiveDate) -> Result<NaiveDate, String> {
    if (FIRST_YEAR..=LAST_YEAR).contains(&d.year()) {
        Ok(d)
    } else {
        Err(format!(
            "must be between {FIRST_YEAR}-01-01 and {LAST_YEAR}-12-31"
        ))
    }
}

/// A date that has happened: in range and not after `today`.
pub fn not_future(d: NaiveDate, today: NaiveDate) -> Result<NaiveDate, String> {
    in_range(d)?;
    if d > today {
        return Err("must not be in the future".into());
    }
    Ok(d)
}

/// The dealer's booking horizon when none is set: bookings up to a year ahead.
pub const DEFAULT_BOOKING_HORIZON_DAYS: u32 = 365;
/// The longest horizon a dealer may set.
pub const MAX_BOOKING_HORIZON_DAYS: u32 = 1095;

/// UTC bounds of local days `from..=to` in `tz`.
pub fn day_bounds(
    tz: chrono_tz::Tz,
    from: NaiveDate,
    to: NaiveDate,
) -> (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) {
    use chrono::TimeZone;
    let start = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_else(|| d.and_time(chrono::NaiveTime::MIN).and_utc())
    };
    (start(from), start(to + chrono::Duration::days(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_outside_1900_to_2200_are_refused() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert!(in_range(d(-5000, 1, 1)).is_err());
        assert!(in_range(d(262_142, 12, 31)).is_err());
        assert!(in_range(d(1899, 12, 31)).is_err());
        assert!(in_range(d(1900, 1, 1)).is_ok());
        assert!(in_range(d(2200, 12, 31)).is_ok());
        assert!(not_future(d(2027, 1, 2), d(2027, 1, 1)).is_err());
        assert!(not_future(d(1, 1, 1), d(2027, 1, 1)).is_err());
    }
}
