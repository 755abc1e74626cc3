//! 24-hour roadside rescue (24小时救援): the rescue's states and moves, the
//! input's bounds, the dealer's on-duty roster (who answers at an instant,
//! in order, and which hours of the week nobody does), and the response
//! figures a brand audits. Pure rules: no I/O.

use chrono::{Datelike, NaiveDateTime, NaiveTime, Timelike, Weekday};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::FieldErrors;
use crate::domain::customer::Locale;

string_enum! {
    /// What happened to the car.
    pub enum RescueProblem {
        /// 抛锚: it will not go.
        Breakdown = "breakdown",
        /// 事故.
        Accident = "accident",
        /// 爆胎 / 缺气.
        FlatTyre = "flat_tyre",
        /// 电瓶亏电.
        Battery = "battery",
        /// 车门锁闭 (keys inside).
        Lockout = "lockout",
        Other = "other",
    }
}

string_enum! {
    /// Where a rescue stands.
    pub enum RescueState {
        /// Asked for; nobody has taken it yet (the on-duty roster is being told).
        Requested = "requested",
        /// Someone on duty took it.
        Accepted = "accepted",
        /// A rescue vehicle is on its way (who, which vehicle, ETA).
        Dispatched = "dispatched",
        /// The rescuer is at the car.
        OnSite = "on_site",
        /// The car is towed to the workshop (a repair order may follow).
        Towed = "towed",
        /// Fixed at the roadside.
        FixedOnSite = "fixed_on_site",
        Closed = "closed",
        Cancelled = "cancelled",
    }
}

string_enum! {
    /// A move of a rescue (`POST /rescues/{id}/{action}`).
    pub enum RescueAction {
        /// requested → accepted
        Accept = "accept",
        /// accepted → dispatched (driver, vehicle and ETA required)
        Dispatch = "dispatch",
        /// dispatched → on_site
        Arrive = "arrive",
        /// on_site → towed
        Tow = "tow",
        /// on_site → fixed_on_site
        Fix = "fix",
        /// towed or fixed_on_site → closed
        Close = "close",
        /// any state before closed → cancelled (a customer: before on_site)
        Cancel = "cancel",
    }
}

string_enum! {
    /// A day of the on-duty roster's week.
    pub enum RosterDay {
        Mon = "mon",
        Tue = "tue",
        Wed = "wed",
        Thu = "thu",
        Fri = "fri",
        Sat = "sat",
        Sun = "sun",
    }
}

impl RescueState {
    /// No move leads out of it: the event stream ends there.
    pub fn is_final(self) -> bool {
        matches!(self, RescueState::Closed | RescueState::Cancelled)
    }
}

/// Where `action` takes a rescue that is `from`; `None` when out of order.
pub fn next(from: RescueState, action: RescueAction) -> Option<RescueState> {
    use RescueAction as A;
    use RescueState as S;
    match (from, action) {
        (S::Requested, A::Accept) => Some(S::Accepted),
        (S::Accepted, A::Dispatch) => Some(S::Dispatched),
        (S::Dispatched, A::Arrive) => Some(S::OnSite),
        (S::OnSite, A::Tow) => Some(S::Towed),
        (S::OnSite, A::Fix) => Some(S::FixedOnSite),
        (S::Towed | S::FixedOnSite, A::Close) => Some(S::Closed),
        (
            S::Requested | S::Accepted | S::Dispatched | S::OnSite | S::Towed | S::FixedOnSite,
            A::Cancel,
        ) => Some(S::Cancelled),
        _ => None,
    }
}

/// What a customer may do to their own rescue: cancel it until the rescuer
/// is at the car (after that the dealer has come out and staff close it).
pub fn customer_may(from: RescueState, action: RescueAction) -> bool {
    action == RescueAction::Cancel
        && matches!(
            from,
            RescueState::Requested | RescueState::Accepted | RescueState::Dispatched
        )
}

/// The longest note, address and dispatch texts.
pub const MAX_NOTE: usize = 400;
pub const MAX_ADDRESS: usize = 200;
pub const MAX_DISPATCH_TEXT: usize = 100;

/// A position on the earth: finite, latitude −90…90, longitude −180…180.
pub fn check_location(lat: f64, lng: f64, e: &mut FieldErrors) {
    if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
        e.add("location.lat", "must be a latitude from -90 to 90");
    }
    if !lng.is_finite() || !(-180.0..=180.0).contains(&lng) {
        e.add("location.lng", "must be a longitude from -180 to 180");
    }
}

/// One shift of the on-duty roster: a person, the days it starts on, and
/// its local start and end (`HH:MM`, the dealer's zone). An end at or before
/// the start crosses midnight into the next day (22:00–08:00); an end equal
/// to the start is a whole day from the start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Shift {
    /// A staff user of the dealer.
    pub user_id: Uuid,
    /// The mobile number the rescue alert goes to (stored in E.164).
    #[schema(max_length = 32, example = "13912345678")]
    pub phone: String,
    /// The language of their alerts; `zh-CN` when left out.
    #[serde(default = "zh_cn")]
    #[schema(default = "zh-CN")]
    pub locale: Locale,
    /// The days the shift starts on.
    #[schema(min_items = 1, max_items = 7)]
    pub days: Vec<RosterDay>,
    /// Local start, `HH:MM`.
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "08:00")]
    pub start: String,
    /// Local end, `HH:MM`; at or before `start`: the next day.
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "20:00")]
    pub end: String,
    /// Who is told first among those on duty at once: the lowest first.
    #[schema(minimum = 1, maximum = 99)]
    pub order: u32,
}

fn zh_cn() -> Locale {
    Locale::ZhCn
}

/// The dealer's roster: its shifts and how long a rescue may wait unaccepted
/// before the next on duty and the service manager are told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Roster {
    /// Minutes a rescue may stay unaccepted before it escalates (1–120, default 10).
    #[serde(default = "ten")]
    #[schema(minimum = 1, maximum = 120, default = 10)]
    pub escalate_after_minutes: u32,
    #[schema(max_items = 100)]
    pub shifts: Vec<Shift>,
}

fn ten() -> u32 {
    10
}

impl Default for Roster {
    fn default() -> Self {
        Roster {
            escalate_after_minutes: 10,
            shifts: vec![],
        }
    }
}

/// The most shifts a roster holds.
pub const MAX_SHIFTS: usize = 100;

/// `HH:MM` as minutes of the day.
pub fn minutes_of(hhmm: &str) -> Result<u32, String> {
    let bad = || "must be a local time HH:MM (00:00 to 23:59)".to_string();
    if hhmm.len() != 5 || hhmm.as_bytes()[2] != b':' {
        return Err(bad());
    }
    let t = NaiveTime::parse_from_str(hhmm, "%H:%M").map_err(|_| bad())?;
    Ok(t.hour() * 60 + t.minute())
}

impl Roster {
    /// The roster as stored (phones in E.164, days without repeats), or
    /// every problem by its path (`shifts[2].end`).
    pub fn validated(mut self) -> Result<Roster, FieldErrors> {
        let mut e = FieldErrors::new();
        if !(1..=120).contains(&self.escalate_after_minutes) {
            e.add("escalate_after_minutes", "must be 1 to 120");
        }
        if self.shifts.len() > MAX_SHIFTS {
            e.add("shifts", format!("must list at most {MAX_SHIFTS}"));
            return Err(e);
        }
        for (i, s) in self.shifts.iter_mut().enumerate() {
            let f = |n: &str| format!("shifts[{i}].{n}");
            match crate::domain::Phone::parse(&s.phone) {
                Ok(p) if s.phone.len() <= 32 => s.phone = p.as_str().to_string(),
                _ => e.add(
                    f("phone"),
                    "is not a mobile number (11 digits starting 13-19, or +country…)",
                ),
            }
            if s.days.is_empty() {
                e.add(f("days"), "must name at least one day");
            }
            let mut seen = Vec::new();
            s.days.retain(|d| {
                let new = !seen.contains(d);
                seen.push(*d);
                new
            });
            e.check(&f("start"), minutes_of(&s.start));
            e.check(&f("end"), minutes_of(&s.end));
            if !(1..=99).contains(&s.order) {
                e.add(f("order"), "must be 1 to 99");
            }
        }
        e.into_result()?;
        Ok(self)
    }
}

fn day_of(w: Weekday) -> RosterDay {
    match w {
        Weekday::Mon => RosterDay::Mon,
        Weekday::Tue => RosterDay::Tue,
        Weekday::Wed => RosterDay::Wed,
        Weekday::Thu => RosterDay::Thu,
        Weekday::Fri => RosterDay::Fri,
        Weekday::Sat => RosterDay::Sat,
        Weekday::Sun => RosterDay::Sun,
    }
}

/// Whether the shift covers minute `m` of local day `day`.
fn covers(s: &Shift, day: Weekday, m: u32) -> bool {
    let (Ok(start), Ok(end)) = (minutes_of(&s.start), minutes_of(&s.end)) else {
        return false;
    };
    let on = |w: Weekday| s.days.contains(&day_of(w));
    if start < end {
        on(day) && (start..end).contains(&m)
    } else {
        // crosses midnight: the evening of a starting day, the morning after
        (on(day) && m >= start) || (on(day.pred()) && m < end)
    }
}

/// Who is on duty at local time `t`, in the order they are told: by `order`,
/// then as listed. A person on two overlapping shifts is listed once.
pub fn on_duty(roster: &Roster, t: NaiveDateTime) -> Vec<&Shift> {
    let m = t.hour() * 60 + t.minute();
    let mut on: Vec<(usize, &Shift)> = roster
        .shifts
        .iter()
        .enumerate()
        .filter(|(_, s)| covers(s, t.weekday(), m))
        .collect();
    on.sort_by_key(|(i, s)| (s.order, *i));
    let mut seen = Vec::new();
    on.into_iter()
        .filter(|(_, s)| {
            let new = !seen.contains(&s.user_id);
            seen.push(s.user_id);
            new
        })
        .map(|(_, s)| s)
        .collect()
}

/// An hour of the week nobody is on duty: local `from` to `to` (`HH:MM`,
/// `24:00` for the end of the day) of `day`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RosterGap {
    pub day: RosterDay,
    #[schema(example = "02:00")]
    pub from: String,
    #[schema(example = "06:00")]
    pub to: String,
}

fn hhmm(m: u32) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// The stretches of the week (minute by minute, each day) that no shift
/// covers; empty when the roster is around the clock.
pub fn gaps(roster: &Roster) -> Vec<RosterGap> {
    const WEEK: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];
    let mut out = Vec::new();
    for day in WEEK {
        let mut open: Option<u32> = None;
        for m in 0..=1440 {
            let covered = m == 1440 || roster.shifts.iter().any(|s| covers(s, day, m));
            match (covered, open) {
                (false, None) => open = Some(m),
                (true, Some(from)) => {
                    out.push(RosterGap {
                        day: day_of(day),
                        from: hhmm(from),
                        to: hhmm(m),
                    });
                    open = None;
                }
                _ => {}
            }
        }
    }
    out
}

/// The response figures of a set of rescues, in minutes (one decimal).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Durations {
    /// How many rescues reached the step.
    pub count: u64,
    pub median_minutes: Option<f64>,
    pub average_minutes: Option<f64>,
    /// The 90th percentile (nearest rank): nine in ten were quicker or as quick.
    pub p90_minutes: Option<f64>,
}

fn one_decimal(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Median, average and p90 (nearest rank) of `minutes`.
pub fn durations(mut minutes: Vec<f64>) -> Durations {
    minutes.retain(|m| m.is_finite());
    minutes.sort_by(f64::total_cmp);
    let n = minutes.len();
    if n == 0 {
        return Durations {
            count: 0,
            median_minutes: None,
            average_minutes: None,
            p90_minutes: None,
        };
    }
    let median = if n % 2 == 1 {
        minutes[n / 2]
    } else {
        (minutes[n / 2 - 1] + minutes[n / 2]) / 2.0
    };
    let average = minutes.iter().sum::<f64>() / n as f64;
    // nearest rank: the ceil(0.9 n)-th smallest
    let rank = (n * 9).div_ceil(10).max(1);
    Durations {
        count: n as u64,
        median_minutes: Some(one_decimal(median)),
        average_minutes: Some(one_decimal(average)),
        p90_minutes: Some(one_decimal(minutes[rank - 1])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn shift(user: u128, days: &[RosterDay], start: &str, end: &str, order: u32) -> Shift {
        Shift {
            user_id: Uuid::from_u128(user),
            phone: "13912345678".into(),
            locale: Locale::ZhCn,
            days: days.to_vec(),
            start: start.into(),
            end: end.into(),
            order,
        }
    }

    fn at(d: u32, h: u32, m: u32) -> NaiveDateTime {
        // 2027-03-01 is a Monday
        NaiveDate::from_ymd_opt(2027, 3, d)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    #[test]
    fn the_moves_follow_the_rescue_and_a_customer_cancels_only_before_on_site() {
        use RescueAction as A;
        use RescueState as S;
        assert_eq!(next(S::Requested, A::Accept), Some(S::Accepted));
        assert_eq!(next(S::Accepted, A::Accept), None);
        assert_eq!(next(S::Requested, A::Dispatch), None);
        assert_eq!(next(S::OnSite, A::Tow), Some(S::Towed));
        assert_eq!(next(S::OnSite, A::Fix), Some(S::FixedOnSite));
        assert_eq!(next(S::Towed, A::Close), Some(S::Closed));
        assert_eq!(next(S::Closed, A::Cancel), None);
        assert_eq!(next(S::Towed, A::Cancel), Some(S::Cancelled));
        assert!(customer_may(S::Dispatched, A::Cancel));
        assert!(!customer_may(S::OnSite, A::Cancel));
        assert!(!customer_may(S::Requested, A::Accept));
    }

    #[test]
    fn an_overnight_shift_covers_the_morning_after_and_the_order_decides_who_is_first() {
        use RosterDay::*;
        let r = Roster {
            escalate_after_minutes: 10,
            shifts: vec![
                shift(1, &[Mon, Tue, Wed, Thu, Fri, Sat, Sun], "08:00", "20:00", 2),
                shift(2, &[Mon, Tue, Wed, Thu, Fri, Sat, Sun], "20:00", "08:00", 1),
                shift(3, &[Mon, Tue, Wed, Thu, Fri, Sat, Sun], "08:00", "08:00", 1),
            ],
        };
        assert!(gaps(&r).is_empty());
        // Tuesday 03:00: the Monday night shift, then the all-day one
        let ids: Vec<u128> = on_duty(&r, at(2, 3, 0))
            .iter()
            .map(|s| s.user_id.as_u128())
            .collect();
        assert_eq!(ids, vec![2, 3]);
        let ids: Vec<u128> = on_duty(&r, at(2, 9, 0))
            .iter()
            .map(|s| s.user_id.as_u128())
            .collect();
        assert_eq!(ids, vec![3, 1]);
    }

    #[test]
    fn the_hours_nobody_covers_are_reported_per_day() {
        use RosterDay::*;
        let r = Roster {
            escalate_after_minutes: 10,
            shifts: vec![shift(1, &[Mon], "22:00", "06:00", 1)],
        };
        let g = gaps(&r);
        assert_eq!(
            g[0],
            RosterGap {
                day: Mon,
                from: "00:00".into(),
                to: "22:00".into()
            }
        );
        assert_eq!(
            g[1],
            RosterGap {
                day: Tue,
                from: "06:00".into(),
                to: "24:00".into()
            }
        );
        assert_eq!(g.len(), 7);
        // Sunday night is not Monday's shift
        assert!(on_duty(&r, at(1, 3, 0)).is_empty());
        assert_eq!(on_duty(&r, at(2, 3, 0)).len(), 1);
    }

    #[test]
    fn a_bad_roster_names_each_field() {
        let r = Roster {
            escalate_after_minutes: 0,
            shifts: vec![shift(1, &[], "25:00", "8:00", 0)],
        };
        let e = r.validated().unwrap_err();
        let fields: Vec<String> = e.0.iter().map(|f| f.field.clone()).collect();
        for f in [
            "escalate_after_minutes",
            "shifts[0].days",
            "shifts[0].start",
            "shifts[0].end",
            "shifts[0].order",
        ] {
            assert!(fields.contains(&f.to_string()), "{f}: {fields:?}");
        }
    }

    #[test]
    fn median_average_and_p90_by_nearest_rank() {
        let d = durations((1..=10).map(f64::from).collect());
        assert_eq!(d.count, 10);
        assert_eq!(d.median_minutes, Some(5.5));
        assert_eq!(d.average_minutes, Some(5.5));
        assert_eq!(d.p90_minutes, Some(9.0));
        let one = durations(vec![7.25]);
        assert_eq!(one.p90_minutes, Some(7.3));
        assert_eq!(durations(vec![]).median_minutes, None);
    }

    #[test]
    fn a_position_off_the_earth_is_refused() {
        let mut e = FieldErrors::new();
        check_location(91.0, 0.0, &mut e);
        check_location(0.0, f64::NAN, &mut e);
        assert!(!e.is_empty());
        let mut ok = FieldErrors::new();
        check_location(39.9, 116.4, &mut ok);
        assert!(ok.is_empty());
    }
}
