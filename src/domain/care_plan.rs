//! The care planner's pure rules (issue 9, the first part): when in local
//! time a planned message is sent, spread over the sending window; which
//! day the post-repair follow-up falls on; the reminder days before a due
//! date; and the occurrence keys that make each message plannable exactly
//! once. The planner itself (ticks, streaming the archive, the outbox rows)
//! is built on these; nothing here reads a clock or a database.

use chrono::{DateTime, Duration, Months, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::FieldErrors;
use super::calendar::Holiday;
use super::care::SendWindow;
use super::customer::Channel;
use super::message::MessageKind;

string_enum! {
    /// A kind of message the care planner sends by itself (the names are the
    /// message kinds, and the SMS webhook's `template`).
    pub enum CareKind {
        MaintenanceDue = "maintenance_due",
        FirstService = "first_service",
        AnnualInspection = "annual_inspection",
        InsuranceRenewal = "insurance_renewal",
        Birthday = "birthday",
        HolidayGreeting = "holiday_greeting",
        AppointmentReminder = "appointment_reminder",
        PostRepairFollowup = "post_repair_followup",
    }
}

impl CareKind {
    pub fn message_kind(self) -> MessageKind {
        match self {
            CareKind::MaintenanceDue => MessageKind::MaintenanceDue,
            CareKind::FirstService => MessageKind::FirstService,
            CareKind::AnnualInspection => MessageKind::AnnualInspection,
            CareKind::InsuranceRenewal => MessageKind::InsuranceRenewal,
            CareKind::Birthday => MessageKind::Birthday,
            CareKind::HolidayGreeting => MessageKind::HolidayGreeting,
            CareKind::AppointmentReminder => MessageKind::AppointmentReminder,
            CareKind::PostRepairFollowup => MessageKind::PostRepairFollowup,
        }
    }

    /// Whether the kind reminds ahead of a due date (`days_before` applies).
    pub fn reminds_ahead(self) -> bool {
        matches!(
            self,
            CareKind::MaintenanceDue
                | CareKind::FirstService
                | CareKind::AnnualInspection
                | CareKind::InsuranceRenewal
        )
    }
}

/// A template of the dealer's own for a kind's SMS and app text (minijinja,
/// with the kind's values, e.g. `{{ vehicle }}`); the built-in template of a
/// locale left out is used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Wording {
    #[serde(rename = "zh-CN", default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 500)]
    pub zh_cn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 500)]
    pub en: Option<String>,
}

/// How one kind of care message is planned for the dealer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KindSettings {
    /// Off: nothing of the kind is planned (`PUT /api/v1/care/kinds/{kind}` too).
    pub enabled: bool,
    /// The channels it goes on, each where the customer has an address and
    /// has not said no; when none of them reaches the customer, their own
    /// preferred channel and its fallbacks.
    #[schema(min_items = 1, max_items = 4)]
    pub channels: Vec<Channel>,
    /// Reminders only (maintenance, first service, inspection, insurance):
    /// the days before the due date a reminder goes, one message each. A
    /// maintenance reminder after the first goes only if the car is still
    /// not booked. Empty for the other kinds.
    #[serde(default)]
    #[schema(max_items = 5)]
    pub days_before: Vec<u32>,
    /// `first_service` only: months after the purchase by which the first
    /// service is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 36)]
    pub months: Option<u32>,
    /// `holiday_greeting` only: the holidays greeted.
    #[serde(default)]
    pub holidays: Vec<Holiday>,
    /// The dealer's own text, instead of the built-in template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wording: Option<Wording>,
}

impl KindSettings {
    /// The settings a dealer starts with.
    pub fn default_for(kind: CareKind) -> Self {
        use Channel::{App, Sms};
        let (channels, days_before, months, holidays) = match kind {
            CareKind::MaintenanceDue => (vec![Sms, App], vec![14, 3], None, vec![]),
            CareKind::FirstService => (vec![Sms, App], vec![14], Some(6), vec![]),
            CareKind::AnnualInspection => (vec![Sms], vec![30, 7], None, vec![]),
            CareKind::InsuranceRenewal => (vec![Sms, App], vec![30, 7], None, vec![]),
            CareKind::HolidayGreeting => (vec![App, Sms], vec![], None, Holiday::ALL.to_vec()),
            CareKind::Birthday | CareKind::AppointmentReminder | CareKind::PostRepairFollowup => {
                (vec![Sms, App], vec![], None, vec![])
            }
        };
        KindSettings {
            enabled: true,
            channels,
            days_before,
            months,
            holidays,
            wording: None,
        }
    }

    /// Checks the settings of `kind`; field names are prefixed with `prefix`.
    pub fn validate(&self, kind: CareKind, prefix: &str, e: &mut FieldErrors) {
        let f = |name: &str| format!("{prefix}.{name}");
        if self.channels.is_empty() || self.channels.len() > 4 {
            e.add(f("channels"), "one to four channels");
        }
        let mut seen = self.channels.clone();
        seen.sort_by_key(|c| c.as_str());
        seen.dedup();
        if seen.len() != self.channels.len() {
            e.add(f("channels"), "each channel once");
        }
        if kind.reminds_ahead() {
            if self.days_before.is_empty() || self.days_before.len() > 5 {
                e.add(f("days_before"), "one to five reminders");
            }
            if self.days_before.iter().any(|d| *d > MAX_DAYS_BEFORE) {
                e.add(
                    f("days_before"),
                    format!("at most {MAX_DAYS_BEFORE} days before"),
                );
            }
            let mut d = self.days_before.clone();
            d.sort_unstable();
            d.dedup();
            if d.len() != self.days_before.len() {
                e.add(f("days_before"), "each number of days once");
            }
        } else if !self.days_before.is_empty() {
            e.add(f("days_before"), format!("{kind} has no reminders ahead"));
        }
        match (kind, self.months) {
            (CareKind::FirstService, Some(1..=36)) => {}
            (CareKind::FirstService, _) => e.add(f("months"), "1 to 36 months"),
            (_, Some(_)) => e.add(f("months"), "only for first_service"),
            _ => {}
        }
        if kind != CareKind::HolidayGreeting && !self.holidays.is_empty() {
            e.add(f("holidays"), "only for holiday_greeting");
        }
        let mut h: Vec<&str> = self.holidays.iter().map(|h| h.as_str()).collect();
        h.sort_unstable();
        h.dedup();
        if h.len() != self.holidays.len() {
            e.add(f("holidays"), "each holiday once");
        }
        if let Some(w) = &self.wording {
            for (name, text) in [("zh-CN", &w.zh_cn), ("en", &w.en)] {
                let Some(t) = text else { continue };
                if t.trim().is_empty() || t.chars().count() > 500 || t.contains('\0') {
                    e.add(f(&format!("wording.{name}")), "1 to 500 characters, no NUL");
                }
            }
        }
    }
}

/// The most days ahead a reminder may go.
pub const MAX_DAYS_BEFORE: u32 = 365;

/// Every planned kind's settings (`GET/PUT /api/v1/care/settings`, `kinds`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanSettings {
    pub maintenance_due: KindSettings,
    pub first_service: KindSettings,
    pub annual_inspection: KindSettings,
    pub insurance_renewal: KindSettings,
    pub birthday: KindSettings,
    pub holiday_greeting: KindSettings,
    pub appointment_reminder: KindSettings,
    pub post_repair_followup: KindSettings,
}

impl Default for PlanSettings {
    fn default() -> Self {
        let d = KindSettings::default_for;
        PlanSettings {
            maintenance_due: d(CareKind::MaintenanceDue),
            first_service: d(CareKind::FirstService),
            annual_inspection: d(CareKind::AnnualInspection),
            insurance_renewal: d(CareKind::InsuranceRenewal),
            birthday: d(CareKind::Birthday),
            holiday_greeting: d(CareKind::HolidayGreeting),
            appointment_reminder: d(CareKind::AppointmentReminder),
            post_repair_followup: d(CareKind::PostRepairFollowup),
        }
    }
}

impl PlanSettings {
    pub fn get(&self, kind: CareKind) -> &KindSettings {
        match kind {
            CareKind::MaintenanceDue => &self.maintenance_due,
            CareKind::FirstService => &self.first_service,
            CareKind::AnnualInspection => &self.annual_inspection,
            CareKind::InsuranceRenewal => &self.insurance_renewal,
            CareKind::Birthday => &self.birthday,
            CareKind::HolidayGreeting => &self.holiday_greeting,
            CareKind::AppointmentReminder => &self.appointment_reminder,
            CareKind::PostRepairFollowup => &self.post_repair_followup,
        }
    }

    pub fn get_mut(&mut self, kind: CareKind) -> &mut KindSettings {
        match kind {
            CareKind::MaintenanceDue => &mut self.maintenance_due,
            CareKind::FirstService => &mut self.first_service,
            CareKind::AnnualInspection => &mut self.annual_inspection,
            CareKind::InsuranceRenewal => &mut self.insurance_renewal,
            CareKind::Birthday => &mut self.birthday,
            CareKind::HolidayGreeting => &mut self.holiday_greeting,
            CareKind::AppointmentReminder => &mut self.appointment_reminder,
            CareKind::PostRepairFollowup => &mut self.post_repair_followup,
        }
    }

    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::new();
        for k in CareKind::ALL {
            self.get(*k).validate(*k, &format!("kinds.{k}"), &mut e);
        }
        e.into_result()
    }

    /// Whether `kind` is planned at all.
    pub fn on(&self, kind: CareKind) -> bool {
        self.get(kind).enabled
    }
}

/// When vehicles are inspected (年检), counted in years from the first
/// registration: data from config, since the rules change (as they did in
/// 2022). An inspection is due at each age in `at_years`, and from each
/// period's `from_years` every `every_years` until the next period starts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InspectionRules {
    #[serde(default)]
    pub at_years: Vec<u32>,
    #[serde(default)]
    pub periods: Vec<InspectionPeriod>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct InspectionPeriod {
    pub from_years: u32,
    pub every_years: u32,
}

impl InspectionRules {
    fn due_at_age(&self, age: u32) -> bool {
        if self.at_years.contains(&age) {
            return true;
        }
        let mut periods = self.periods.clone();
        periods.sort_by_key(|p| p.from_years);
        periods.iter().enumerate().any(|(i, p)| {
            let until = periods.get(i + 1).map_or(u32::MAX, |n| n.from_years);
            p.every_years > 0
                && age >= p.from_years
                && age < until
                && (age - p.from_years).is_multiple_of(p.every_years)
        })
    }

    /// The first inspection due on or after `from` of a vehicle first
    /// registered on `registered` (ages up to 60 years).
    pub fn next_due(&self, registered: NaiveDate, from: NaiveDate) -> Option<NaiveDate> {
        (1..=60u32)
            .filter(|a| self.due_at_age(*a))
            .filter_map(|a| registered.checked_add_months(Months::new(a * 12)))
            .find(|d| *d >= from)
    }
}

/// The reminders of a due date that go on `day`: each offset whose day it
/// is, and the nearest one late (once: its occurrence key is its own) when
/// the due date is still ahead and every reminder day has passed, e.g. for a
/// date imported a few days before it falls due.
pub fn reminders_on(due: NaiveDate, offsets: &[u32], day: NaiveDate) -> Vec<u32> {
    let mut out: Vec<u32> = offsets
        .iter()
        .copied()
        .filter(|o| due - Duration::days(i64::from(*o)) == day)
        .collect();
    if let Some(nearest) = offsets.iter().copied().min()
        && out.is_empty()
        && day > due - Duration::days(i64::from(nearest))
        && day <= due
    {
        out.push(nearest);
    }
    out
}

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

/// How many days after a service fell due a car that was never reminded
/// (it came into the archive late) still gets one reminder; customers
/// lapsed longer are the churn list's, not a reminder's.
pub const OVERDUE_DAYS: i64 = 30;

/// Whether `day` is in the month after `due` in which one late reminder may go.
pub fn overdue_once(due: NaiveDate, day: NaiveDate) -> bool {
    day > due && day <= due + Duration::days(OVERDUE_DAYS)
}

/// The occurrence keys: one message per occurrence, whoever plans it.
pub mod key {
    use chrono::NaiveDate;
    use uuid::Uuid;

    /// A solar birthday: once a Gregorian year.
    pub fn birthday(customer: Uuid, year: i32) -> String {
        format!("birthday:{customer}:{year}")
    }
    /// A lunar birthday: once a lunar year (a Gregorian year may hold none
    /// or two of them).
    pub fn lunar_birthday(customer: Uuid, lunar_year: i32) -> String {
        format!("birthday:{customer}:lunar-{lunar_year}")
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
    /// The service after the one on `last_service`: its due date moves as
    /// readings come in, the occurrence does not.
    pub fn maintenance(vehicle: Uuid, last_service: NaiveDate, days_before: u32) -> String {
        format!("maintenance_due:{vehicle}:{last_service}:{days_before}d")
    }
    /// The one late reminder of a car that came into the archive overdue.
    pub fn maintenance_overdue(vehicle: Uuid, last_service: NaiveDate) -> String {
        format!("maintenance_due:{vehicle}:{last_service}:overdue")
    }
    pub fn first_service(vehicle: Uuid, days_before: u32) -> String {
        format!("first_service:{vehicle}:{days_before}d")
    }
    pub fn appointment_reminder(appointment: Uuid) -> String {
        format!("appointment_reminder:{appointment}")
    }
    pub fn followup(order: Uuid) -> String {
        format!("post_repair_followup:{order}")
    }
    /// The order a follow-up's key names.
    pub fn followup_order(key: &str) -> Option<Uuid> {
        key.strip_prefix("post_repair_followup:")?.parse().ok()
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
        assert_eq!(reminders_on(due, &[30, 7], d(2027, 3, 1)), vec![30]);
        assert_eq!(reminders_on(due, &[30, 7], d(2027, 3, 24)), vec![7]);
        assert!(reminders_on(due, &[30, 7], d(2027, 3, 10)).is_empty());
        // after the last reminder's day, up to the due date: the nearest,
        // whose key is the same every day, so it goes once
        assert_eq!(reminders_on(due, &[30, 7], d(2027, 3, 28)), vec![7]);
        assert_eq!(reminders_on(due, &[30, 7], d(2027, 3, 31)), vec![7]);
        assert!(reminders_on(due, &[30, 7], d(2027, 4, 1)).is_empty());
        // two offsets on one day are both kept
        assert_eq!(reminders_on(due, &[0], due), vec![0]);
    }

    #[test]
    fn inspections_fall_due_by_the_configured_ages() {
        // the 2022 rules for private cars: years 6 and 10, every 2 years
        // from 10, every year from 15
        let rules = InspectionRules {
            at_years: vec![6, 10],
            periods: vec![
                InspectionPeriod {
                    from_years: 15,
                    every_years: 1,
                },
                InspectionPeriod {
                    from_years: 10,
                    every_years: 2,
                },
            ],
        };
        let reg = d(2020, 5, 20);
        assert_eq!(rules.next_due(reg, d(2021, 1, 1)), Some(d(2026, 5, 20)));
        assert_eq!(rules.next_due(reg, d(2026, 5, 21)), Some(d(2030, 5, 20)));
        assert_eq!(rules.next_due(reg, d(2030, 5, 21)), Some(d(2032, 5, 20)));
        assert_eq!(rules.next_due(reg, d(2034, 5, 21)), Some(d(2035, 5, 20)));
        assert_eq!(rules.next_due(reg, d(2035, 5, 21)), Some(d(2036, 5, 20)));
        // a leap-day registration falls due on 28 February
        assert_eq!(
            rules.next_due(d(2020, 2, 29), d(2021, 1, 1)),
            Some(d(2026, 2, 28))
        );
        let none = InspectionRules {
            at_years: vec![],
            periods: vec![],
        };
        assert_eq!(none.next_due(reg, d(2021, 1, 1)), None);
    }

    #[test]
    fn the_default_settings_are_valid_and_bad_ones_name_the_field() {
        let s = PlanSettings::default();
        assert!(s.validate().is_ok());
        let mut bad = s.clone();
        bad.birthday.days_before = vec![3];
        bad.insurance_renewal.days_before = vec![30, 30];
        bad.first_service.months = None;
        bad.annual_inspection.channels = vec![];
        bad.holiday_greeting.holidays = vec![Holiday::Lantern, Holiday::Lantern];
        bad.maintenance_due.wording = Some(Wording {
            zh_cn: Some("a\0b".into()),
            en: None,
        });
        let fields: Vec<String> = bad
            .validate()
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        for f in [
            "kinds.birthday.days_before",
            "kinds.insurance_renewal.days_before",
            "kinds.first_service.months",
            "kinds.annual_inspection.channels",
            "kinds.holiday_greeting.holidays",
            "kinds.maintenance_due.wording.zh-CN",
        ] {
            assert!(fields.iter().any(|x| x == f), "{f} in {fields:?}");
        }
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
        assert_eq!(key::followup_order(&key::followup(c)), Some(c));
        assert_eq!(key::followup_order(&key::appointment_reminder(c)), None);
    }
}
