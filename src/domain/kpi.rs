//! The figures of the daily board (看板管理, issue 11): every KPI is defined
//! here once, as a pure function over what `services::kpi` counted. Nothing
//! here reads a database or a clock.
//!
//! A figure that divides is a [`Ratio`]: its numerator and denominator are
//! kept so that anyone can check it by hand, and its value is `None` when the
//! denominator is 0 (no division by zero is ever an error). Shares and
//! labour ratios are written to three places (0.875), hours to two, CSI to
//! one, all rounded half away from zero at the end.

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc, Weekday};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::FieldErrors;

string_enum! {
    /// How the daily report (维修日报表) is written.
    pub enum ReportFormat { Html = "html", Csv = "csv" }
}

string_enum! {
    /// How `GET /api/v1/kpi/range` cuts its range.
    pub enum KpiGrouping {
        /// One period a local day.
        Day = "day",
        /// ISO weeks (Monday to Sunday), the first and last cut to the range.
        Week = "week",
        /// Calendar months, the first and last cut to the range.
        Month = "month",
    }
}

/// The longest range one answer covers, in days.
pub const MAX_DAYS: i64 = 400;
/// A job done again on the same vehicle within this many days is a comeback (返修).
pub const COMEBACK_DAYS: i64 = 30;
/// The reception standard: the advisor greets the car within this many minutes.
pub const RECEPTION_MINUTES: i64 = 5;
/// A sold vehicle is due its first service this many months after the sale
/// when the dealer's first-service care kind names none.
pub const FIRST_SERVICE_MONTHS: u32 = 6;
/// A technician's shift when no roster says otherwise: Monday to Friday.
pub const DEFAULT_SHIFT_HOURS: i64 = 8;
/// The most hours a day of a roster can hold.
pub const MAX_DAY_HOURS: i64 = 24;

/// Rounded and written to exactly `places` (`0.500`, `8.00`).
pub fn round(d: Decimal, places: u32) -> Decimal {
    let mut r = d.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(places);
    r
}

/// A figure that divides: numerator, denominator, and the quotient written
/// to `places`, `None` when the denominator is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ratio {
    pub numerator: Decimal,
    pub denominator: Decimal,
    pub places: u32,
}

impl Ratio {
    pub fn new(numerator: Decimal, denominator: Decimal, places: u32) -> Self {
        Ratio {
            numerator,
            denominator,
            places,
        }
    }

    /// `part ÷ whole` of two counts, as a share 0–1 to three places.
    pub fn share(part: u64, whole: u64) -> Self {
        Ratio::new(Decimal::from(part), Decimal::from(whole), 3)
    }

    /// The quotient; `None` when the denominator is 0.
    pub fn value(&self) -> Option<Decimal> {
        if self.denominator.is_zero() {
            None
        } else {
            self.numerator
                .checked_div(self.denominator)
                .map(|q| round(q, self.places))
        }
    }
}

/// Hours from seconds, to two places (what the board shows).
pub fn hours_of_seconds(seconds: i64) -> Decimal {
    round(Decimal::from(seconds) / Decimal::from(3600), 2)
}

/// Hours from centihours (a job's sold hours × 100), to two places.
pub fn hours_of_centihours(centihours: i64) -> Decimal {
    round(Decimal::new(centihours, 2), 2)
}

/// **Productivity** (生产效率) = clocked hours ÷ hours available: how much of
/// the time a technician was there went on jobs.
pub fn productivity(clocked: Decimal, available: Decimal) -> Ratio {
    Ratio::new(clocked, available, 3)
}

/// **Efficiency** = sold (flat-rate) hours ÷ clocked hours: above 1 when the
/// work took less time than the flat rate sells.
pub fn efficiency(sold: Decimal, clocked: Decimal) -> Ratio {
    Ratio::new(sold, clocked, 3)
}

/// **Utilisation** (维修工时利用率, proficiency) = sold hours ÷ hours
/// available; productivity × efficiency when both exist.
pub fn utilisation(sold: Decimal, available: Decimal) -> Ratio {
    Ratio::new(sold, available, 3)
}

/// The part of `[started, ended)` that falls in `[from, to)`, never negative.
pub fn clipped(
    started: DateTime<Utc>,
    ended: DateTime<Utc>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Duration {
    let a = started.max(from);
    let b = ended.min(to);
    if b > a { b - a } else { Duration::zero() }
}

/// Reception within 5 minutes: the advisor started the reception at most
/// [`RECEPTION_MINUTES`] after the car arrived (the order records both;
/// a walk-in opened at once has them equal).
pub fn received_in_time(arrived: DateTime<Utc>, reception_started: DateTime<Utc>) -> bool {
    reception_started - arrived <= Duration::minutes(RECEPTION_MINUTES)
}

/// Estimate before work: an estimate was accepted at or before the first
/// clock-on of the order.
pub fn estimate_before_work(
    first_accepted: Option<DateTime<Utc>>,
    first_clock_on: DateTime<Utc>,
) -> bool {
    first_accepted.is_some_and(|a| a <= first_clock_on)
}

/// On-time delivery: delivered at or before the time promised.
pub fn on_time(delivered: DateTime<Utc>, promised: DateTime<Utc>) -> bool {
    delivered <= promised
}

/// What makes two jobs "the same job" for comebacks: the labour operation's
/// menu code, or, without one, the description (trimmed, case and inner
/// spaces ignored).
pub fn job_key(menu_code: Option<&str>, description: &str) -> String {
    match menu_code.map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) => format!("code:{}", code.to_uppercase()),
        None => format!(
            "text:{}",
            description
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase()
        ),
    }
}

/// An earlier visit of the same vehicle: when it was delivered and its jobs' keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarlierVisit<'a> {
    pub delivered: DateTime<Utc>,
    pub keys: &'a [String],
}

/// A comeback (返修): an order whose car arrived within `window` after an
/// earlier order of the same vehicle was delivered, with one of the same jobs.
pub fn is_comeback(
    arrived: DateTime<Utc>,
    keys: &[String],
    earlier: &[EarlierVisit<'_>],
    window: Duration,
) -> bool {
    earlier.iter().any(|e| {
        e.delivered <= arrived
            && arrived - e.delivered <= window
            && e.keys.iter().any(|k| keys.contains(k))
    })
}

/// First-time fix: delivered without a QC rework and not a comeback.
pub fn fixed_first_time(comeback: bool, qc_reworked: bool) -> bool {
    !comeback && !qc_reworked
}

/// Where a customer stands by their last visit, seen on `on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loyalty {
    /// Came within the last 12 months.
    Active,
    /// Last came 12 to 24 months ago (流失预警).
    Lapsing,
    /// Last came more than 24 months ago (流失).
    Lost,
}

/// `on` minus `months` calendar months (the 31st falls back to the month's last day).
pub fn months_before(on: NaiveDate, months: u32) -> NaiveDate {
    on.checked_sub_months(Months::new(months))
        .unwrap_or(NaiveDate::MIN)
}

/// Lapsing when the last visit is on or before `on` − 12 months and after
/// `on` − 24 months; lost when on or before `on` − 24 months.
pub fn loyalty(last_visit: NaiveDate, on: NaiveDate) -> Loyalty {
    if last_visit <= months_before(on, 24) {
        Loyalty::Lost
    } else if last_visit <= months_before(on, 12) {
        Loyalty::Lapsing
    } else {
        Loyalty::Active
    }
}

/// The first and last day of the month twelve months before the month of
/// `on` (month N−12 of the monthly churn rate).
pub fn churn_month(on: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first = months_before(on.with_day(1).unwrap_or(on), 12);
    let next = first
        .checked_add_months(Months::new(1))
        .unwrap_or(NaiveDate::MAX);
    (first, next - Duration::days(1))
}

/// **Monthly churn rate** (客户流失率) = customers who visited in month N−12
/// and not since ÷ all customers who visited in month N−12.
pub fn churn_rate(visited_and_not_since: u64, visited: u64) -> Ratio {
    Ratio::share(visited_and_not_since, visited)
}

/// A vehicle sold on or before this day should have come for its first
/// service by `on` (`months` after the sale).
pub fn first_service_cutoff(on: NaiveDate, months: u32) -> NaiveDate {
    months_before(on, months)
}

/// **First-service loss** (首保流失) = sold vehicles due their first service
/// that never came ÷ sold vehicles due it.
pub fn first_service_loss(never_came: u64, due: u64) -> Ratio {
    Ratio::share(never_came, due)
}

/// The CSI of some responses (each CSI × 10 as stored): the mean to one
/// place, with the sum of CSIs and the count as numerator and denominator.
pub fn csi(sum_tenths: i64, responses: u64) -> Ratio {
    Ratio::new(Decimal::new(sum_tenths, 1), Decimal::from(responses), 1)
}

/// A technician's working week (hours per weekday, Monday first) and the
/// days off; no roster means [`Roster::default`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roster {
    pub weekly: [Decimal; 7],
    pub absences: Vec<Absence>,
}

/// A day off: the whole shift, or `hours` of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Absence {
    pub date: NaiveDate,
    pub hours: Option<Decimal>,
}

impl Default for Roster {
    /// 8 hours Monday to Friday, none at the weekend, no absences.
    fn default() -> Self {
        let h = Decimal::from(DEFAULT_SHIFT_HOURS);
        Roster {
            weekly: [h, h, h, h, h, Decimal::ZERO, Decimal::ZERO],
            absences: Vec::new(),
        }
    }
}

/// The roster's weekdays as on the wire, Monday first.
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Hours: 0 to 24 with at most two places.
fn day_hours(h: Decimal) -> Result<Decimal, String> {
    if h.is_sign_negative() || h > Decimal::from(MAX_DAY_HOURS) {
        Err(format!("must be between 0 and {MAX_DAY_HOURS} hours"))
    } else if h.normalize().scale() > 2 {
        Err("at most two decimal places".into())
    } else {
        Ok(round(h, 2))
    }
}

impl Roster {
    /// Checks a roster as a manager writes it: each weekday's hours, at most
    /// 400 absences on distinct dates in range, each absence's hours within
    /// its weekday's. Field names as on the wire (`weekly.mon`, `absences[2].hours`).
    pub fn parse(weekly: [Decimal; 7], absences: Vec<Absence>) -> Result<Roster, FieldErrors> {
        let mut e = FieldErrors::new();
        let mut w = [Decimal::ZERO; 7];
        for (i, h) in weekly.iter().enumerate() {
            if let Some(h) = e.check(&format!("weekly.{}", WEEKDAYS[i]), day_hours(*h)) {
                w[i] = h;
            }
        }
        if absences.len() > MAX_DAYS as usize {
            e.add("absences", format!("at most {MAX_DAYS} days"));
        }
        let mut out: Vec<Absence> = Vec::with_capacity(absences.len());
        for (i, a) in absences.into_iter().enumerate() {
            let f = |n: &str| format!("absences[{i}].{n}");
            e.check(&f("date"), super::dates::in_range(a.date));
            if out.iter().any(|b| b.date == a.date) {
                e.add(f("date"), "appears twice");
            }
            let hours = a.hours.and_then(|h| e.check(&f("hours"), day_hours(h)));
            out.push(Absence {
                date: a.date,
                hours,
            });
        }
        e.into_result()?;
        out.sort_by_key(|a| a.date);
        Ok(Roster {
            weekly: w,
            absences: out,
        })
    }

    /// Hours available on `day`: the weekday's shift less the absence (the
    /// whole shift when the absence names no hours), never below 0.
    pub fn available(&self, day: NaiveDate) -> Decimal {
        let shift = self.weekly[day.weekday().num_days_from_monday() as usize];
        match self.absences.iter().find(|a| a.date == day) {
            None => shift,
            Some(Absence { hours: None, .. }) => Decimal::ZERO,
            Some(Absence { hours: Some(h), .. }) => (shift - *h).max(Decimal::ZERO),
        }
    }
}

/// `from ..= to` is a range of at most [`MAX_DAYS`] local days between 1900
/// and 2200; each problem names its field.
pub fn check_range(from: NaiveDate, to: NaiveDate) -> Result<(), FieldErrors> {
    let mut e = FieldErrors::new();
    let a = e.check("from", super::dates::in_range(from));
    let b = e.check("to", super::dates::in_range(to));
    if let (Some(from), Some(to)) = (a, b) {
        if to < from {
            e.add("to", "must not be before from");
        } else if (to - from).num_days() + 1 > MAX_DAYS {
            e.add("to", format!("at most {MAX_DAYS} days from from"));
        }
    }
    e.into_result()
}

/// The periods of `from ..= to` cut `by` day, ISO week or month, each as
/// its first and last day, in order.
pub fn periods(from: NaiveDate, to: NaiveDate, by: KpiGrouping) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut start = from;
    while start <= to {
        let end = match by {
            KpiGrouping::Day => start,
            KpiGrouping::Week => {
                let to_sunday = 6 - i64::from(start.weekday().num_days_from_monday());
                start + Duration::days(to_sunday)
            }
            KpiGrouping::Month => {
                let first = start.with_day(1).unwrap_or(start);
                first
                    .checked_add_months(Months::new(1))
                    .map_or(NaiveDate::MAX, |n| n - Duration::days(1))
            }
        }
        .min(to);
        out.push((start, end));
        match end.succ_opt() {
            Some(n) => start = n,
            None => break,
        }
    }
    out
}

/// Whether `day` is a Saturday or Sunday (for readers of a roster).
pub fn is_weekend(day: NaiveDate) -> bool {
    matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }
    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn t(h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 3, 2, h, min, 0).unwrap()
    }

    #[test]
    fn labour_ratios_on_a_hand_computed_day() {
        // 8 h there, 6 h clocked, 7.5 h sold
        let (available, clocked, sold) = (dec("8.00"), dec("6.00"), dec("7.50"));
        let p = productivity(clocked, available);
        assert_eq!(p.value(), Some(dec("0.750")));
        assert_eq!((p.numerator, p.denominator), (clocked, available));
        assert_eq!(efficiency(sold, clocked).value(), Some(dec("1.250")));
        assert_eq!(utilisation(sold, available).value(), Some(dec("0.938")));
        // written to three places even when round
        assert_eq!(
            productivity(dec("8"), dec("8"))
                .value()
                .unwrap()
                .to_string(),
            "1.000"
        );
    }

    #[test]
    fn a_technician_with_no_clocked_time_has_no_efficiency() {
        let e = efficiency(Decimal::ZERO, Decimal::ZERO);
        assert_eq!(e.value(), None);
        assert_eq!(
            productivity(Decimal::ZERO, dec("8")).value(),
            Some(dec("0.000"))
        );
        // sold hours without clocked time (a job closed by someone else): still no division
        assert_eq!(efficiency(dec("1.5"), Decimal::ZERO).value(), None);
    }

    #[test]
    fn an_empty_day_divides_nothing() {
        assert_eq!(Ratio::share(0, 0).value(), None);
        assert_eq!(productivity(Decimal::ZERO, Decimal::ZERO).value(), None);
        assert_eq!(utilisation(Decimal::ZERO, Decimal::ZERO).value(), None);
        assert_eq!(churn_rate(0, 0).value(), None);
        assert_eq!(first_service_loss(0, 0).value(), None);
        assert_eq!(csi(0, 0).value(), None);
    }

    #[test]
    fn shares_round_half_away_from_zero_to_three_places() {
        assert_eq!(Ratio::share(2, 3).value(), Some(dec("0.667")));
        assert_eq!(Ratio::share(1, 8).value(), Some(dec("0.125")));
        assert_eq!(Ratio::share(1, 16).value(), Some(dec("0.063")));
        assert_eq!(Ratio::share(0, 4).value().unwrap().to_string(), "0.000");
    }

    #[test]
    fn csi_is_the_mean_to_one_place() {
        // 85.0 + 90.5 + 70.0 = 245.5 over 3 = 81.833 → 81.8
        let c = csi(850 + 905 + 700, 3);
        assert_eq!(c.numerator, dec("245.5"));
        assert_eq!(c.value(), Some(dec("81.8")));
    }

    #[test]
    fn hours_come_from_seconds_and_centihours() {
        assert_eq!(hours_of_seconds(5400), dec("1.50"));
        assert_eq!(hours_of_seconds(60), dec("0.02"));
        assert_eq!(hours_of_centihours(125), dec("1.25"));
        assert_eq!(hours_of_centihours(0).to_string(), "0.00");
    }

    #[test]
    fn clock_time_is_clipped_to_the_day() {
        // 22:00 to 02:00 next day: two hours in the first day
        let start = Utc.with_ymd_and_hms(2027, 3, 1, 22, 0, 0).unwrap();
        let end = Utc.with_ymd_and_hms(2027, 3, 2, 2, 0, 0).unwrap();
        let day = (
            Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2027, 3, 2, 0, 0, 0).unwrap(),
        );
        assert_eq!(clipped(start, end, day.0, day.1), Duration::hours(2));
        // wholly outside: nothing, never negative
        assert_eq!(
            clipped(end, end + Duration::hours(1), day.0, day.1),
            Duration::zero()
        );
    }

    #[test]
    fn reception_within_five_minutes_includes_the_fifth() {
        assert!(received_in_time(t(9, 0), t(9, 0)));
        assert!(received_in_time(t(9, 0), t(9, 5)));
        assert!(!received_in_time(t(9, 0), t(9, 6)));
    }

    #[test]
    fn an_estimate_counts_only_when_accepted_before_the_first_clock_on() {
        assert!(estimate_before_work(Some(t(9, 10)), t(9, 30)));
        assert!(estimate_before_work(Some(t(9, 30)), t(9, 30)));
        assert!(!estimate_before_work(Some(t(9, 31)), t(9, 30)));
        assert!(!estimate_before_work(None, t(9, 30)));
    }

    #[test]
    fn on_time_means_by_the_promise() {
        assert!(on_time(t(17, 0), t(17, 0)));
        assert!(!on_time(t(17, 1), t(17, 0)));
    }

    #[test]
    fn the_same_job_is_the_same_code_or_else_the_same_words() {
        assert_eq!(
            job_key(Some("m-10k"), "anything"),
            job_key(Some(" M-10K "), "else")
        );
        assert_eq!(
            job_key(None, "Replace  front pads"),
            job_key(Some(""), "replace front pads")
        );
        assert_ne!(job_key(Some("M10K"), "oil"), job_key(None, "oil"));
    }

    #[test]
    fn a_comeback_is_the_same_job_within_thirty_days() {
        let pads = vec![job_key(None, "front pads")];
        let oil = vec![job_key(Some("OIL"), "")];
        let delivered = Utc.with_ymd_and_hms(2027, 3, 1, 8, 0, 0).unwrap();
        let earlier = [EarlierVisit {
            delivered,
            keys: &pads,
        }];
        let w = Duration::days(COMEBACK_DAYS);
        assert!(is_comeback(
            delivered + Duration::days(30),
            &pads,
            &earlier,
            w
        ));
        assert!(!is_comeback(
            delivered + Duration::days(31),
            &pads,
            &earlier,
            w
        ));
        assert!(!is_comeback(
            delivered + Duration::days(3),
            &oil,
            &earlier,
            w
        ));
        assert!(!is_comeback(delivered + Duration::days(3), &pads, &[], w));
        // an "earlier" visit delivered after this arrival is not earlier
        assert!(!is_comeback(
            delivered - Duration::hours(1),
            &pads,
            &earlier,
            w
        ));
        assert!(fixed_first_time(false, false));
        assert!(!fixed_first_time(true, false));
        assert!(!fixed_first_time(false, true));
    }

    #[test]
    fn lapsing_is_twelve_to_twenty_four_months_and_lost_beyond() {
        let on = d(2027, 3, 15);
        assert_eq!(loyalty(d(2026, 3, 16), on), Loyalty::Active);
        assert_eq!(loyalty(d(2026, 3, 15), on), Loyalty::Lapsing);
        assert_eq!(loyalty(d(2025, 3, 16), on), Loyalty::Lapsing);
        assert_eq!(loyalty(d(2025, 3, 15), on), Loyalty::Lost);
        // the 29th of February a year on falls back to the 28th
        assert_eq!(months_before(d(2029, 2, 28), 12), d(2028, 2, 28));
        assert_eq!(months_before(d(2028, 2, 29), 12), d(2027, 2, 28));
    }

    #[test]
    fn the_churn_month_is_twelve_months_back() {
        assert_eq!(churn_month(d(2027, 3, 15)), (d(2026, 3, 1), d(2026, 3, 31)));
        assert_eq!(churn_month(d(2028, 2, 29)), (d(2027, 2, 1), d(2027, 2, 28)));
        // 3 of 12 visitors of March 2026 never came back
        assert_eq!(churn_rate(3, 12).value(), Some(dec("0.250")));
    }

    #[test]
    fn first_service_is_due_six_months_after_the_sale() {
        assert_eq!(
            first_service_cutoff(d(2027, 8, 31), FIRST_SERVICE_MONTHS),
            d(2027, 2, 28)
        );
        assert_eq!(first_service_loss(1, 4).value(), Some(dec("0.250")));
    }

    #[test]
    fn no_roster_means_eight_hours_monday_to_friday() {
        let r = Roster::default();
        assert_eq!(r.available(d(2027, 3, 1)), dec("8")); // Monday
        assert_eq!(r.available(d(2027, 3, 5)), dec("8")); // Friday
        assert_eq!(r.available(d(2027, 3, 6)), Decimal::ZERO);
        assert!(is_weekend(d(2027, 3, 7)));
    }

    #[test]
    fn absences_take_a_whole_day_or_some_hours() {
        let mut weekly = [dec("8"); 7];
        weekly[5] = dec("4.5");
        weekly[6] = Decimal::ZERO;
        let r = Roster::parse(
            weekly,
            vec![
                Absence {
                    date: d(2027, 3, 2),
                    hours: None,
                },
                Absence {
                    date: d(2027, 3, 3),
                    hours: Some(dec("2.5")),
                },
                Absence {
                    date: d(2027, 3, 6),
                    hours: Some(dec("6")),
                },
            ],
        )
        .unwrap();
        assert_eq!(r.available(d(2027, 3, 1)), dec("8.00"));
        assert_eq!(r.available(d(2027, 3, 2)), Decimal::ZERO);
        assert_eq!(r.available(d(2027, 3, 3)), dec("5.50"));
        assert_eq!(r.available(d(2027, 3, 6)), Decimal::ZERO); // never below 0
    }

    #[test]
    fn a_bad_roster_names_every_field() {
        let mut weekly = [dec("8"); 7];
        weekly[0] = dec("25");
        weekly[2] = dec("-1");
        weekly[4] = dec("7.125");
        let a = |y, m, day, h: Option<&str>| Absence {
            date: d(y, m, day),
            hours: h.map(dec),
        };
        let e = Roster::parse(
            weekly,
            vec![
                a(2027, 3, 2, None),
                a(2027, 3, 2, Some("1")),
                a(1800, 1, 1, Some("30")),
            ],
        )
        .unwrap_err()
        .to_string();
        for f in [
            "weekly.mon",
            "weekly.wed",
            "weekly.fri",
            "absences[1].date",
            "absences[2].date",
            "absences[2].hours",
        ] {
            assert!(e.contains(f), "{f} in {e}");
        }
        assert!(!e.contains("weekly.tue"), "{e}");
    }

    #[test]
    fn ranges_are_at_most_four_hundred_days() {
        assert!(check_range(d(2027, 1, 1), d(2028, 2, 4)).is_ok()); // 400 days
        let e = check_range(d(2027, 1, 1), d(2028, 2, 5))
            .unwrap_err()
            .to_string();
        assert!(e.contains("to"), "{e}");
        assert!(check_range(d(2027, 1, 2), d(2027, 1, 1)).is_err());
        assert!(
            check_range(d(1800, 1, 2), d(2027, 1, 1))
                .unwrap_err()
                .to_string()
                .contains("from")
        );
    }

    #[test]
    fn periods_cut_by_day_week_and_month() {
        let (from, to) = (d(2027, 1, 27), d(2027, 3, 2)); // a Wednesday to a Tuesday
        assert_eq!(periods(from, to, KpiGrouping::Day).len(), 35);
        let weeks = periods(from, to, KpiGrouping::Week);
        assert_eq!(weeks.first(), Some(&(d(2027, 1, 27), d(2027, 1, 31))));
        assert_eq!(weeks.get(1), Some(&(d(2027, 2, 1), d(2027, 2, 7))));
        assert_eq!(weeks.last(), Some(&(d(2027, 3, 1), d(2027, 3, 2))));
        assert_eq!(
            periods(from, to, KpiGrouping::Month),
            vec![
                (d(2027, 1, 27), d(2027, 1, 31)),
                (d(2027, 2, 1), d(2027, 2, 28)),
                (d(2027, 3, 1), d(2027, 3, 2)),
            ]
        );
        assert_eq!(periods(to, to, KpiGrouping::Month), vec![(to, to)]);
    }
}
