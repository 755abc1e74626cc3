//! A dealer's capacity: opening hours, the slot grid, and what a slot has left.
//! Reception limits how many customers arrive in one slot; workshop bays limit
//! how many jobs run at once, so a 3-hour job holds a bay for 3 hours of slots.
//! Everything is computed in the dealer's zone from local dates, never by
//! adding 24 hours, so a DST change moves nothing.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::FieldErrors;

/// Opening hours of one weekday (1 = Monday … 7 = Sunday); several ranges a
/// day are allowed (a lunch break).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OpeningHours {
    #[schema(minimum = 1, maximum = 7)]
    pub weekday: u8,
    #[schema(value_type = String, example = "08:30", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    #[serde(with = "hhmm")]
    pub open: NaiveTime,
    #[schema(value_type = String, example = "17:30", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    #[serde(with = "hhmm")]
    pub close: NaiveTime,
}

/// A time of day on the wire: `HH:MM`.
pub(crate) mod hhmm {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.format("%H:%M").to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
        let s = String::deserialize(d)?;
        NaiveTime::parse_from_str(&s, "%H:%M")
            .map_err(|_| serde::de::Error::custom(format!("'{s}' is not a time HH:MM")))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Schedule {
    /// Length of one slot, 10 to 240 minutes.
    #[schema(minimum = 10, maximum = 240)]
    pub slot_minutes: u32,
    /// Customers the advisors can receive in one slot.
    #[schema(minimum = 1, maximum = 100)]
    pub reception_per_slot: u32,
    /// Jobs the workshop can run at once; a slot offers bays × slot length workshop hours.
    #[schema(minimum = 1, maximum = 200)]
    pub workshop_bays: u32,
    pub opening_hours: Vec<OpeningHours>,
    /// How many days ahead a slot may be booked (default 365, at most 1095).
    #[serde(default = "default_horizon")]
    pub booking_horizon_days: u32,
}

fn default_horizon() -> u32 {
    super::dates::DEFAULT_BOOKING_HORIZON_DAYS
}

impl Default for Schedule {
    /// Monday to Saturday 08:30–17:30, 30-minute slots, 3 arrivals a slot, 6 bays.
    fn default() -> Self {
        Schedule {
            slot_minutes: 30,
            reception_per_slot: 3,
            workshop_bays: 6,
            opening_hours: (1..=6)
                .map(|weekday| OpeningHours {
                    weekday,
                    open: NaiveTime::from_hms_opt(8, 30, 0).unwrap_or_default(),
                    close: NaiveTime::from_hms_opt(17, 30, 0).unwrap_or_default(),
                })
                .collect(),
            booking_horizon_days: default_horizon(),
        }
    }
}

/// Bookings placed on a (new) schedule: the slots each holds, and the
/// counters of every slot from a point in time on.
#[derive(Debug, Clone, PartialEq)]
pub struct Rederived<K> {
    pub holds: Vec<(K, Vec<DateTime<Utc>>)>,
    pub usage: std::collections::BTreeMap<DateTime<Utc>, Usage>,
}

/// What is taken of one slot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub reception_used: u32,
    pub bays_used: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SlotView {
    /// ISO 8601 with the dealer's offset.
    #[schema(value_type = String, format = DateTime)]
    pub start: DateTime<chrono::FixedOffset>,
    #[schema(value_type = String, format = DateTime)]
    pub end: DateTime<chrono::FixedOffset>,
    pub available: bool,
    pub remaining_reception: u32,
    #[schema(value_type = String, format = "decimal")]
    pub remaining_workshop_hours: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlotProblem {
    #[error("is in the past")]
    InPast,
    #[error("the dealer is closed that day")]
    Closed,
    #[error("is outside opening hours")]
    OutsideHours,
    #[error("is not on the slot grid (slots start every {0} minutes from opening)")]
    OffGrid(u32),
    #[error("the job ({0} min) does not fit before closing")]
    TooLong(u32),
    #[error("is beyond the booking horizon ({0} days ahead)")]
    BeyondHorizon(u32),
}

impl Schedule {
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::new();
        if !(10..=240).contains(&self.slot_minutes) {
            e.add("slot_minutes", "must be between 10 and 240");
        }
        if !(1..=100).contains(&self.reception_per_slot) {
            e.add("reception_per_slot", "must be between 1 and 100");
        }
        if !(1..=200).contains(&self.workshop_bays) {
            e.add("workshop_bays", "must be between 1 and 200");
        }
        let max = super::dates::MAX_BOOKING_HORIZON_DAYS;
        if !(1..=max).contains(&self.booking_horizon_days) {
            e.add(
                "booking_horizon_days",
                format!("must be between 1 and {max}"),
            );
        }
        for (i, h) in self.opening_hours.iter().enumerate() {
            if !(1..=7).contains(&h.weekday) {
                e.add(
                    format!("opening_hours[{i}].weekday"),
                    "must be 1 (Monday) to 7 (Sunday)",
                );
            }
            if h.close <= h.open {
                e.add(format!("opening_hours[{i}].close"), "must be after open");
            }
        }
        // two ranges of one weekday that overlap would list their slots twice
        for (i, h) in self.opening_hours.iter().enumerate() {
            let clash = self.opening_hours.iter().enumerate().find(|(j, o)| {
                *j < i && o.weekday == h.weekday && h.open < o.close && o.open < h.close
            });
            if let Some((j, _)) = clash {
                e.add(
                    format!("opening_hours[{i}]"),
                    format!("overlaps opening_hours[{j}] on the same weekday"),
                );
            }
        }
        e.into_result()
    }

    /// Where each booking stands under this schedule, and the counters they
    /// add up to from `from` on: each keeps its start, and holds the slots of
    /// this grid its duration covers. A booking whose start is not a slot
    /// of this grid, or that no longer fits before closing, is returned as
    /// an error with the others like it (the change would strand it).
    pub fn rederive<K: Clone>(
        &self,
        tz: Tz,
        bookings: &[(K, DateTime<Utc>, u32)],
        from: DateTime<Utc>,
    ) -> Result<Rederived<K>, Vec<(K, SlotProblem)>> {
        let mut days: HashMap<NaiveDate, Vec<DateTime<Utc>>> = HashMap::new();
        let mut holds = Vec::new();
        let mut blocked = Vec::new();
        let mut usage: std::collections::BTreeMap<DateTime<Utc>, Usage> = Default::default();
        for (key, start, minutes) in bookings {
            let date = start.with_timezone(&tz).date_naive();
            let starts = days
                .entry(date)
                .or_insert_with(|| self.slot_starts(date, tz));
            match self.span(starts, *start, *minutes) {
                Ok(bays) => {
                    if *start >= from {
                        usage.entry(*start).or_default().reception_used += 1;
                    }
                    for b in bays.iter().filter(|b| **b >= from) {
                        usage.entry(*b).or_default().bays_used += 1;
                    }
                    holds.push((key.clone(), bays));
                }
                Err(p) => blocked.push((key.clone(), p)),
            }
        }
        if blocked.is_empty() {
            Ok(Rederived { holds, usage })
        } else {
            Err(blocked)
        }
    }

    fn slot(&self) -> Duration {
        Duration::minutes(self.slot_minutes.into())
    }

    /// How many consecutive slots a job of `minutes` holds a bay for.
    pub fn slots_needed(&self, minutes: u32) -> usize {
        minutes.max(1).div_ceil(self.slot_minutes) as usize
    }

    /// When the dealer closes on local `date` (the latest close of the
    /// day's ranges); `None` when closed all day.
    pub fn closing(&self, date: NaiveDate) -> Option<NaiveTime> {
        let weekday = date.weekday().number_from_monday() as u8;
        self.opening_hours
            .iter()
            .filter(|h| h.weekday == weekday)
            .map(|h| h.close)
            .max()
    }

    /// The slot starts of a local date, in order; empty when closed. Local
    /// times a DST change skips are left out.
    pub fn slot_starts(&self, date: NaiveDate, tz: Tz) -> Vec<DateTime<Utc>> {
        let weekday = date.weekday().number_from_monday() as u8;
        let mut ranges: Vec<&OpeningHours> = self
            .opening_hours
            .iter()
            .filter(|h| h.weekday == weekday)
            .collect();
        ranges.sort_by_key(|h| h.open);
        let mut out = Vec::new();
        for h in ranges {
            let mut t = date.and_time(h.open);
            let close = date.and_time(h.close);
            while t + self.slot() <= close {
                if let Some(utc) = tz.from_local_datetime(&t).earliest() {
                    out.push(utc.with_timezone(&Utc));
                }
                t += self.slot();
            }
        }
        out
    }

    /// The slots a job starting at `start` holds: `start` and the next ones
    /// until its duration is covered, all contiguous on the same day.
    pub fn span(
        &self,
        starts: &[DateTime<Utc>],
        start: DateTime<Utc>,
        minutes: u32,
    ) -> Result<Vec<DateTime<Utc>>, SlotProblem> {
        let i = starts
            .iter()
            .position(|s| *s == start)
            .ok_or(SlotProblem::OffGrid(self.slot_minutes))?;
        let n = self.slots_needed(minutes);
        let run: Vec<DateTime<Utc>> = starts.iter().skip(i).take(n).copied().collect();
        let contiguous = run.windows(2).all(|w| w[1] - w[0] == self.slot());
        if run.len() < n || !contiguous {
            return Err(SlotProblem::TooLong(minutes));
        }
        Ok(run)
    }

    /// A start may be booked only between now and the booking horizon. Checked
    /// before anything else looks at the date (a year like +262142 overflows
    /// the local-time arithmetic that follows).
    pub fn bookable(&self, start: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), SlotProblem> {
        if start <= now {
            return Err(SlotProblem::InPast);
        }
        let horizon = Duration::days(self.booking_horizon_days.into());
        if now
            .checked_add_signed(horizon)
            .is_none_or(|last| start > last)
        {
            return Err(SlotProblem::BeyondHorizon(self.booking_horizon_days));
        }
        Ok(())
    }

    /// Checks a requested start in the dealer's zone; answers the slots it holds.
    pub fn check(
        &self,
        tz: Tz,
        closed: bool,
        start: DateTime<Utc>,
        minutes: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, SlotProblem> {
        self.bookable(start, now)?;
        if closed {
            return Err(SlotProblem::Closed);
        }
        let date = start.with_timezone(&tz).date_naive();
        let starts = self.slot_starts(date, tz);
        if starts.is_empty() {
            return Err(SlotProblem::Closed);
        }
        let local = start.with_timezone(&tz).time();
        let weekday = date.weekday().number_from_monday() as u8;
        let inside = self
            .opening_hours
            .iter()
            .any(|h| h.weekday == weekday && local >= h.open && local < h.close);
        if !inside {
            return Err(SlotProblem::OutsideHours);
        }
        self.span(&starts, start, minutes)
    }

    /// Every slot of a day with what it has left for a job of `minutes`.
    pub fn day(
        &self,
        date: NaiveDate,
        tz: Tz,
        closed: bool,
        usage: &HashMap<DateTime<Utc>, Usage>,
        minutes: u32,
        now: DateTime<Utc>,
    ) -> Vec<SlotView> {
        if closed {
            return vec![];
        }
        let starts = self.slot_starts(date, tz);
        let used = |s: &DateTime<Utc>| usage.get(s).copied().unwrap_or_default();
        let slot_hours = Decimal::from(self.slot_minutes) / Decimal::from(60);
        starts
            .iter()
            .map(|s| {
                let u = used(s);
                let remaining_reception = self.reception_per_slot.saturating_sub(u.reception_used);
                let free_bays = self.workshop_bays.saturating_sub(u.bays_used);
                let bays_ok = self
                    .span(&starts, *s, minutes)
                    .map(|run| run.iter().all(|r| used(r).bays_used < self.workshop_bays))
                    .unwrap_or(false);
                let local = s.with_timezone(&tz).fixed_offset();
                SlotView {
                    start: local,
                    end: (*s + self.slot()).with_timezone(&tz).fixed_offset(),
                    available: *s > now && remaining_reception > 0 && bays_ok,
                    remaining_reception,
                    remaining_workshop_hours: (Decimal::from(free_bays) * slot_hours).normalize(),
                }
            })
            .collect()
    }

    /// Share of the day's capacity in use (the larger of reception and bays), 0..=1.
    pub fn load(&self, starts: &[DateTime<Utc>], usage: &HashMap<DateTime<Utc>, Usage>) -> f64 {
        if starts.is_empty() {
            return 0.0;
        }
        let (mut r, mut b) = (0u32, 0u32);
        for s in starts {
            let u = usage.get(s).copied().unwrap_or_default();
            r += u.reception_used;
            b += u.bays_used;
        }
        let n = starts.len() as f64;
        (f64::from(r) / (n * f64::from(self.reception_per_slot)))
            .max(f64::from(b) / (n * f64::from(self.workshop_bays)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_week(open: (u32, u32), close: (u32, u32)) -> Schedule {
        Schedule {
            slot_minutes: 60,
            reception_per_slot: 2,
            workshop_bays: 2,
            opening_hours: (1..=7)
                .map(|weekday| OpeningHours {
                    weekday,
                    open: NaiveTime::from_hms_opt(open.0, open.1, 0).unwrap(),
                    close: NaiveTime::from_hms_opt(close.0, close.1, 0).unwrap(),
                })
                .collect(),
            booking_horizon_days: 365,
        }
    }

    #[test]
    fn slots_keep_local_time_across_the_dst_change() {
        let s = all_week((8, 0), (12, 0));
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let before = s.slot_starts(NaiveDate::from_ymd_opt(2027, 3, 27).unwrap(), berlin);
        let after = s.slot_starts(NaiveDate::from_ymd_opt(2027, 3, 29).unwrap(), berlin);
        assert_eq!(before[0].to_rfc3339(), "2027-03-27T07:00:00+00:00");
        assert_eq!(after[0].to_rfc3339(), "2027-03-29T06:00:00+00:00");
        assert_eq!(before.len(), 4);
    }

    #[test]
    fn overlapping_ranges_of_one_weekday_are_refused() {
        let mut s = all_week((8, 0), (12, 0));
        s.opening_hours.push(OpeningHours {
            weekday: 3,
            open: NaiveTime::from_hms_opt(11, 0, 0).unwrap(),
            close: NaiveTime::from_hms_opt(14, 0, 0).unwrap(),
        });
        let e = s.validate().unwrap_err();
        assert_eq!(e.0[0].field, "opening_hours[7]");
        s.opening_hours[7].open = NaiveTime::from_hms_opt(12, 0, 0).unwrap();
        assert!(s.validate().is_ok());
    }

    #[test]
    fn bookings_are_placed_on_a_new_slot_length_or_named_when_they_cannot_be() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        let date = NaiveDate::from_ymd_opt(2027, 1, 4).unwrap();
        let mut s = all_week((8, 0), (12, 0));
        s.slot_minutes = 30;
        let half = s.slot_starts(date, tz);
        let from = half[0] - Duration::days(1);
        // 08:00 for 60 min, 09:00 for 30 min, 09:30 for 30 min
        let bookings = [(1, half[0], 60), (2, half[2], 30), (3, half[3], 30)];
        let mut hour = s.clone();
        hour.slot_minutes = 60;
        let blocked = hour.rederive(tz, &bookings, from).unwrap_err();
        assert_eq!(blocked, vec![(3, SlotProblem::OffGrid(60))]);
        let r = hour.rederive(tz, &bookings[..2], from).unwrap();
        assert_eq!(r.holds[0].1, vec![half[0]]);
        assert_eq!(r.usage[&half[0]].bays_used, 1);
        assert_eq!(r.usage[&half[2]].reception_used, 1);
        assert_eq!(r.usage.len(), 2);
    }

    #[test]
    fn a_skipped_local_hour_has_no_slot() {
        let s = all_week((1, 0), (5, 0));
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // 02:00–03:00 does not exist on 28 March 2027
        let starts = s.slot_starts(NaiveDate::from_ymd_opt(2027, 3, 28).unwrap(), berlin);
        assert_eq!(starts.len(), 3);
    }

    #[test]
    fn a_long_job_holds_bays_in_the_following_slots() {
        let s = all_week((8, 0), (12, 0));
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        let date = NaiveDate::from_ymd_opt(2027, 1, 4).unwrap();
        let starts = s.slot_starts(date, tz);
        let now = starts[0] - Duration::days(1);
        let mut usage = HashMap::new();
        usage.insert(
            starts[2],
            Usage {
                reception_used: 0,
                bays_used: 2,
            },
        );
        let day = s.day(date, tz, false, &usage, 150, now);
        // 150 minutes = 3 slots: from 08:00 it needs 10:00, whose bays are full
        assert!(!day[0].available);
        assert!(!day[1].available);
        assert_eq!(day[2].remaining_workshop_hours, Decimal::ZERO);
        assert_eq!(
            s.check(tz, false, starts[3], 150, now),
            Err(SlotProblem::TooLong(150))
        );
        assert_eq!(
            s.check(tz, false, starts[0] + Duration::minutes(15), 60, now),
            Err(SlotProblem::OffGrid(60))
        );
        assert_eq!(
            s.check(tz, false, starts[0] - Duration::hours(2), 60, now),
            Err(SlotProblem::OutsideHours)
        );
        assert_eq!(
            s.check(tz, true, starts[0], 60, now),
            Err(SlotProblem::Closed)
        );
        assert_eq!(
            s.check(tz, false, starts[0], 60, starts[1]),
            Err(SlotProblem::InPast)
        );
        assert_eq!(
            s.check(tz, false, starts[0], 60, now).unwrap(),
            vec![starts[0]]
        );
        assert_eq!(
            s.check(tz, false, starts[0], 60, starts[0] - Duration::days(366)),
            Err(SlotProblem::BeyondHorizon(365))
        );
    }
}
