//! When a vehicle is due for maintenance: by time since its last service, or
//! by mileage projected from its odometer history (daily distance estimated
//! from the readings), whichever comes first.

use chrono::{Duration, Months, NaiveDate};

string_enum! {
    /// Why a vehicle is invited: a service falls due by mileage or time, its
    /// first service, or extra work the customer declined on a repair order.
    pub enum DueReason {
        ByMileage = "due_by_mileage",
        ByTime = "due_by_time",
        FirstService = "first_service",
        DeclinedWork = "declined_work",
    }
}

/// What is known of a vehicle's use.
#[derive(Debug, Clone, Default)]
pub struct UseHistory {
    pub purchase_date: Option<NaiveDate>,
    pub last_service: Option<(NaiveDate, Option<i64>)>,
    /// Earliest and latest odometer readings.
    pub first_reading: Option<(NaiveDate, i64)>,
    pub last_reading: Option<(NaiveDate, i64)>,
}

/// A menu item's interval.
#[derive(Debug, Clone, Copy)]
pub struct Interval {
    pub km: Option<i32>,
    pub months: Option<i32>,
    pub first_service: bool,
}

impl UseHistory {
    /// Kilometres a day, from the two furthest-apart known points (a purchase
    /// counts as 0 km) at least two weeks apart.
    pub fn daily_km(&self) -> Option<f64> {
        let mut points: Vec<(NaiveDate, i64)> = Vec::new();
        points.extend(self.purchase_date.map(|d| (d, 0)));
        if let Some((d, Some(km))) = self.last_service {
            points.push((d, km));
        }
        points.extend(self.first_reading);
        points.extend(self.last_reading);
        let first = points.iter().min_by_key(|p| p.0)?;
        let last = points.iter().max_by_key(|p| p.0)?;
        let days = (last.0 - first.0).num_days();
        if days < 14 || last.1 <= first.1 {
            return None;
        }
        Some(last.1.checked_sub(first.1)? as f64 / days as f64)
    }

    /// The latest known odometer point.
    fn latest(&self) -> Option<(NaiveDate, i64)> {
        let mut points: Vec<(NaiveDate, i64)> = self.last_reading.into_iter().collect();
        if let Some((d, Some(km))) = self.last_service {
            points.push((d, km));
        }
        points.into_iter().max_by_key(|p| p.0)
    }

    /// The odometer expected on `on`; None when it cannot be told (or would
    /// not fit: a reading dated in year 1 gives absurd figures, never a panic).
    pub fn projected_km(&self, on: NaiveDate) -> Option<i64> {
        let (d, km) = self.latest()?;
        let daily = self.daily_km().unwrap_or(0.0);
        let more = (daily * (on - d).num_days().max(0) as f64).round();
        if !more.is_finite() || more >= i64::MAX as f64 {
            return None;
        }
        km.checked_add(more as i64)
    }

    /// The next service of the maintenance rule (the care planner's reminder
    /// and the golden customers' target list): the earliest due date of the
    /// menu's intervals from the last service; None without a last service
    /// or an interval that applies.
    pub fn next_service(&self, intervals: &[Interval]) -> Option<(NaiveDate, DueReason)> {
        intervals
            .iter()
            .filter_map(|i| self.due(*i))
            .min_by_key(|x| x.0)
    }

    /// When `interval` falls due, and why; None when it does not apply.
    pub fn due(&self, interval: Interval) -> Option<(NaiveDate, DueReason)> {
        let (base_date, base_km) = match (interval.first_service, self.last_service) {
            (true, None) => (self.purchase_date?, Some(0)),
            (false, Some((d, km))) => (d, km),
            _ => return None,
        };
        let by_time = interval
            .months
            .and_then(|m| base_date.checked_add_months(Months::new(m.max(0) as u32)));
        let by_km = match (interval.km, base_km, self.daily_km(), self.latest()) {
            (Some(step), Some(base), Some(daily), Some((d, km))) if daily > 0.0 => {
                // checked throughout: an absurd history (a reading dated
                // 0001-01-01) gives a tiny daily distance and a due date past
                // the calendar's end, which is "not due", not a panic
                let left = base.checked_add(i64::from(step))?.checked_sub(km)?;
                let days = (left as f64 / daily).ceil().max(0.0);
                if days.is_finite() && days < i64::MAX as f64 {
                    Duration::try_days(days as i64).and_then(|n| d.checked_add_signed(n))
                } else {
                    None
                }
            }
            _ => None,
        };
        let reason_time = if interval.first_service {
            DueReason::FirstService
        } else {
            DueReason::ByTime
        };
        let reason_km = if interval.first_service {
            DueReason::FirstService
        } else {
            DueReason::ByMileage
        };
        match (by_time, by_km) {
            (Some(t), Some(k)) if k < t => Some((k, reason_km)),
            (Some(t), _) => Some((t, reason_time)),
            (None, Some(k)) => Some((k, reason_km)),
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    const TEN_K: Interval = Interval {
        km: Some(10_000),
        months: Some(12),
        first_service: false,
    };

    #[test]
    fn a_vehicle_driven_a_lot_is_due_by_mileage_before_the_year_is_out() {
        // 100 km a day since its last service at 20,000 km
        let h = UseHistory {
            last_service: Some((d(2026, 1, 1), Some(20_000))),
            last_reading: Some((d(2026, 2, 10), 24_000)),
            ..Default::default()
        };
        assert_eq!(h.daily_km(), Some(100.0));
        assert_eq!(h.due(TEN_K), Some((d(2026, 4, 11), DueReason::ByMileage)));
        assert_eq!(h.projected_km(d(2026, 4, 11)), Some(30_000));
    }

    #[test]
    fn a_vehicle_barely_driven_is_due_by_time() {
        let h = UseHistory {
            last_service: Some((d(2026, 1, 1), Some(20_000))),
            last_reading: Some((d(2026, 7, 1), 21_000)),
            ..Default::default()
        };
        assert_eq!(h.due(TEN_K), Some((d(2027, 1, 1), DueReason::ByTime)));
    }

    #[test]
    fn a_reading_dated_in_year_one_never_panics() {
        let h = UseHistory {
            last_service: Some((d(2026, 1, 1), Some(20_000))),
            first_reading: Some((d(1, 1, 1), 20_000)),
            last_reading: Some((d(2026, 2, 10), 20_001)),
            ..Default::default()
        };
        // the due date by mileage is past the calendar's end: due by time
        assert_eq!(h.due(TEN_K), Some((d(2027, 1, 1), DueReason::ByTime)));
        assert!(h.projected_km(d(2026, 6, 1)).is_some());
        let extreme = UseHistory {
            last_service: Some((NaiveDate::MIN, Some(0))),
            first_reading: Some((NaiveDate::MIN, 0)),
            last_reading: Some((NaiveDate::MAX, i64::MAX)),
            ..Default::default()
        };
        let _ = extreme.due(TEN_K);
        let _ = extreme.projected_km(NaiveDate::MAX);
    }

    #[test]
    fn a_new_car_is_due_its_first_service_and_nothing_else() {
        let h = UseHistory {
            purchase_date: Some(d(2026, 6, 1)),
            ..Default::default()
        };
        let first = Interval {
            km: Some(5_000),
            months: Some(6),
            first_service: true,
        };
        assert_eq!(
            h.due(first),
            Some((d(2026, 12, 1), DueReason::FirstService))
        );
        assert_eq!(h.due(TEN_K), None);
    }
}
