//! The care planner's pure rules (issue 9, the first part): when in local
//! time a planned message is sent, spread over the sending window; which
//! day the post-repair follow-up falls on; the reminder days before a due
//! date; and the occurrence keys that make each message plannable exactly
//! once. The planner itself (ticks, streaming the archive, the outbox rows)
//! is built on these; nothing here reads a clock or a database.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use super::care::SendWindow;

/// The instant of local `t` in `tz`: a time that a clock change skips (the
/// spring gap) moves to the first instant after the gap; a time that occurs
/// twice (the autumn fold) is taken the first time.
pub fn local_instant(t: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    if let Some(first) = tz.from_local_datetime(&t).earliest() {
        return first.with_timezone(&Utc);
    }
    // in a gap: walk forward minute by minute to the first local time that
    // exists (gaps are at most a few hours, 3 h at the very most in history)
    (1..=240)
        .find_map(|m| {
            tz.from_local_datetime(&(t + Duration::minutes(m)))
                .earliest()
                .map(|d| d.with_timezone(&Utc))
        })
        .unwrap_or_else(|| t.and_utc())
}

/// A stable number 0..n for `id`, so a customer's messages go out at the
/// same point of the window every time and a day's messages spread evenly.
fn spread_of(id: Uuid, n: u64) -> u64 {
    // UUID v7's last 62 bits are random: an even spread without a hash
    let bits = u64::from_be_bytes(id.as_bytes()[8..16].try_into().unwrap_or([0; 8]));
    if n == 0 { 0 } else { bits % n }
}

/// When a message planned for local `day` is sent to `customer`: a point of
/// the sending window chosen by the customer's id, so a day's sends spread
/// over the window instead of all leaving at its first minute. A window that
/// spans midnight spreads to its end the next morning.
pub fn send_at(day: NaiveDate, window: &SendWindow, tz: Tz, customer: Uuid) -> DateTime<Utc> {
    let start = day.and_time(window.start);
    let mut end = day.and_time(window.end);
    if end <= start {
        end += Duration::days(1);
    }
    let minutes = (end - start).num_minutes().max(1) as u64;
    let offset = spread_of(customer, minutes) as i64;
    local_instant(start + Duration::minutes(offset), tz)
}

/// The day of the post-repair follow-up: the first working day after the
/// delivery, by the third day at the latest (the standard: follow up within
/// three days), whatever the working days are.
pub fn followup_day(delivered: NaiveDate, working: impl Fn(NaiveDate) -> bool) -> NaiveDate {
    (1..=3)
        .map(|d| delivered + Duration::days(d))
        .find(|d| working(*d))
        .unwrap_or(delivered + Duration::days(3))
}

/// The days a reminder goes `offsets` days before `due` (e.g. 30 and 7 days
/// before an insurance expiry), latest first dropped when before `from`:
/// a reminder whose day has passed is not sent late, except the last one.
pub fn reminder_days(due: NaiveDate, offsets: &[u32], from: NaiveDate) -> Vec<(u32, NaiveDate)> {
    let mut days: Vec<(u32, NaiveDate)> = offsets
        .iter()
        .map(|o| (*o, due - Duration::days(i64::from(*o))))
        .collect();
    days.sort_by_key(|(_, d)| *d);
    let last = days.last().copied();
    days.retain(|(_, d)| *d >= from);
    if days.is_empty()
        && let Some(l) = last
        && due >= from
    {
        // everything was missed but the due date is still ahead: one late reminder
        days.push((l.0, from));
    }
    days
}

/// The occurrence keys: one message per occurrence, whoever plans it.
pub mod key {
    use chrono::NaiveDate;
    use uuid::Uuid;

    pub fn birthday(customer: Uuid, year: i32) -> String {
        format!("birthday:{customer}:{year}")
    }
    pub fn holiday(customer: Uuid, holiday: &str, year: i32) -> String {
        format!("holiday_greeting:{customer}:{holiday}:{year}")
    }
    pub fn insurance(vehicle: Uuid, kind: &str, expiry: NaiveDate, days_before: u32) -> String {
        format!("insurance_renewal:{vehicle}:{kind}:{expiry}:{days_before}d")
    }
    pub fn inspection(vehicle: Uuid, due: NaiveDate, days_before: u32) -> String {
        format!("annual_inspection:{vehicle}:{due}:{days_before}d")
    }
    pub fn maintenance(vehicle: Uuid, due: NaiveDate, round: u8) -> String {
        format!("maintenance_due:{vehicle}:{due}:{round}")
    }
    pub fn first_service(vehicle: Uuid) -> String {
        format!("first_service:{vehicle}")
    }
    pub fn appointment_reminder(appointment: Uuid) -> String {
        format!("appointment_reminder:{appointment}")
    }
    pub fn followup(order: Uuid) -> String {
        format!("post_repair_followup:{order}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveTime, Timelike, Weekday};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn at(y: i32, m: u32, day: u32, h: u32, min: u32) -> NaiveDateTime {
        d(y, m, day).and_hms_opt(h, min, 0).unwrap()
    }

    #[test]
    fn a_time_in_the_spring_gap_moves_past_it_and_a_fold_takes_the_first() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // 2027-03-28 02:30 does not exist in Berlin (02:00 → 03:00)
        let t = local_instant(at(2027, 3, 28, 2, 30), berlin);
        assert_eq!(
            t.with_timezone(&berlin).time(),
            NaiveTime::from_hms_opt(3, 0, 0).unwrap()
        );
        // 2027-10-31 02:30 happens twice: the first is still summer time (UTC+2)
        let t = local_instant(at(2027, 10, 31, 2, 30), berlin);
        assert_eq!(t, Utc.with_ymd_and_hms(2027, 10, 31, 0, 30, 0).unwrap());
        let ny: Tz = "America/New_York".parse().unwrap();
        let t = local_instant(at(2027, 3, 14, 2, 15), ny);
        assert_eq!(t.with_timezone(&ny).hour(), 3);
        let t = local_instant(at(2027, 11, 7, 1, 30), ny);
        assert_eq!(t, Utc.with_ymd_and_hms(2027, 11, 7, 5, 30, 0).unwrap());
        let sh: Tz = "Asia/Shanghai".parse().unwrap();
        assert_eq!(
            local_instant(at(2027, 3, 14, 2, 15), sh),
            Utc.with_ymd_and_hms(2027, 3, 13, 18, 15, 0).unwrap()
        );
    }

    #[test]
    fn sends_spread_over_the_window_and_stay_put_for_a_customer() {
        let sh: Tz = "Asia/Shanghai".parse().unwrap();
        let w = SendWindow::default();
        let day = d(2027, 5, 10);
        let mut minutes = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let c = Uuid::now_v7();
            let t = send_at(day, &w, sh, c).with_timezone(&sh);
            assert_eq!(t.date_naive(), day);
            assert!(w.contains(t.time()), "{t}");
            assert_eq!(send_at(day, &w, sh, c), send_at(day, &w, sh, c));
            minutes.insert(t.hour() * 60 + t.minute());
        }
        // 200 customers over an 11-hour window land on many different minutes
        assert!(minutes.len() > 100, "{}", minutes.len());
        // a window across midnight spreads into the next morning
        let night = SendWindow {
            start: NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(2, 0, 0).unwrap(),
        };
        let t = send_at(day, &night, sh, Uuid::now_v7()).with_timezone(&sh);
        assert!(night.contains(t.time()), "{t}");
    }

    #[test]
    fn the_followup_is_the_first_working_day_by_the_third_at_the_latest() {
        let weekdays = |day: NaiveDate| !matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        use chrono::Datelike;
        // delivered on Friday 2027-03-05: Monday the 8th, the third day
        assert_eq!(followup_day(d(2027, 3, 5), weekdays), d(2027, 3, 8));
        // delivered on Tuesday: Wednesday
        assert_eq!(followup_day(d(2027, 3, 2), weekdays), d(2027, 3, 3));
        // a shop open every day: the next day
        assert_eq!(followup_day(d(2027, 3, 5), |_| true), d(2027, 3, 6));
        // three closed days in a row (a holiday): still the third day
        assert_eq!(followup_day(d(2027, 10, 1), |_| false), d(2027, 10, 4));
    }

    #[test]
    fn reminders_go_before_the_due_date_and_a_missed_one_goes_once_late() {
        let due = d(2027, 3, 31);
        assert_eq!(
            reminder_days(due, &[30, 7], d(2027, 2, 1)),
            vec![(30, d(2027, 3, 1)), (7, d(2027, 3, 24))]
        );
        // the 30-day reminder has passed: only the 7-day one
        assert_eq!(
            reminder_days(due, &[30, 7], d(2027, 3, 10)),
            vec![(7, d(2027, 3, 24))]
        );
        // both passed, the due date still ahead: one reminder today
        assert_eq!(
            reminder_days(due, &[30, 7], d(2027, 3, 28)),
            vec![(7, d(2027, 3, 28))]
        );
        // after the due date: nothing
        assert_eq!(reminder_days(due, &[30, 7], d(2027, 4, 1)), vec![]);
    }

    #[test]
    fn occurrence_keys_name_one_message_each() {
        let c = Uuid::nil();
        assert_eq!(key::birthday(c, 2027), format!("birthday:{c}:2027"));
        assert_ne!(
            key::insurance(c, "compulsory", d(2027, 3, 1), 30),
            key::insurance(c, "compulsory", d(2027, 3, 1), 7)
        );
        assert_eq!(key::followup(c), format!("post_repair_followup:{c}"));
    }
}
