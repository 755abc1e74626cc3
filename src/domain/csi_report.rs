//! The periodic analysis of follow-ups (周期性的对回访进行分析): the
//! arithmetic of `GET /api/v1/csi`. Pure: means, shares and ranks over what
//! `services::csi_report` counted.
//!
//! Every figure is a decimal rounded half away from zero at the end (CSI and
//! hours to one place, shares to three, SMS ratings to two), and `None`
//! where its denominator is 0: no figure is ever a division by zero.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::{Decimal, RoundingStrategy};

use super::FieldErrors;

string_enum! {
    /// How the analysis groups the responses.
    pub enum CsiGrouping {
        /// By questionnaire section: the mean of each section's score.
        Section = "section",
        /// By the order's service advisor.
        Advisor = "advisor",
        /// By each technician who worked on the order.
        Technician = "technician",
        /// By the dealer-local month of the response.
        Month = "month",
    }
}

/// The longest range one report covers, in days (a leap year).
pub const MAX_DAYS: i64 = 366;

/// A delivered order counts as followed up when a contact came within this
/// of its delivery.
pub fn follow_up_window() -> Duration {
    Duration::hours(72)
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

/// Rounded and written to exactly `places` (`100.0`, `4.00`, `0.500`).
fn round(d: Decimal, places: u32) -> Decimal {
    let mut r = d.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(places);
    r
}

/// The CSI of some responses: counted as stored, CSI × 10 as an integer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub count: u64,
    pub tenths: i64,
}

impl Tally {
    pub fn add(&mut self, tenths: i32) {
        self.count += 1;
        self.tenths += i64::from(tenths);
    }

    /// The mean CSI (0–100), one place; `None` for no responses.
    pub fn csi(&self) -> Option<Decimal> {
        (self.count > 0).then(|| {
            round(
                Decimal::from(self.tenths) / Decimal::from(self.count) / Decimal::TEN,
                1,
            )
        })
    }
}

/// A mean of decimals (section scores, ratings) and how many went in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mean {
    pub count: u64,
    pub sum: Decimal,
}

impl Mean {
    pub fn add(&mut self, v: Decimal) {
        self.count += 1;
        self.sum += v;
    }

    /// The mean to `places`; `None` when nothing went in.
    pub fn value(&self, places: u32) -> Option<Decimal> {
        (self.count > 0).then(|| round(self.sum / Decimal::from(self.count), places))
    }
}

/// `part / whole` as a share 0–1 to three places; `None` when `whole` is 0.
pub fn rate(part: u64, whole: u64) -> Option<Decimal> {
    (whole > 0).then(|| round(Decimal::from(part) / Decimal::from(whole), 3))
}

/// Whether an order delivered at `delivered` was followed up: one of the
/// `contacts` (a follow-up message sent, a response received, …) at or after
/// delivery and within [`follow_up_window`] of it.
pub fn followed_up(
    delivered: DateTime<Utc>,
    contacts: impl IntoIterator<Item = DateTime<Utc>>,
) -> bool {
    let by = delivered + follow_up_window();
    contacts.into_iter().any(|t| t >= delivered && t <= by)
}

/// The spans of time to read to see whether orders delivered at
/// `delivered` were followed up: each delivery's window, merged where two
/// lie less than `gap` apart (one read of a little more beats many reads),
/// in order.
pub fn contact_spans(
    delivered: impl IntoIterator<Item = DateTime<Utc>>,
    gap: Duration,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut times: Vec<DateTime<Utc>> = delivered.into_iter().collect();
    times.sort_unstable();
    let mut spans: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for t in times {
        let end = t + follow_up_window();
        match spans.last_mut() {
            Some(last) if t - last.1 < gap => last.1 = last.1.max(end),
            _ => spans.push((t, end)),
        }
    }
    spans
}

/// The mean of some durations in hours, one place; `None` for none.
pub fn mean_hours(durations: &[Duration]) -> Option<Decimal> {
    let mut m = Mean::default();
    for d in durations {
        m.add(Decimal::from(d.num_seconds()) / Decimal::from(3600));
    }
    m.value(1)
}

/// Competition ranks ("1224") by CSI, highest first; a dealer without a CSI
/// has no rank. Answers the indexes of `csi` in ranked order (those without
/// a CSI last, in their given order) with each one's rank.
pub fn rank(csi: &[Option<Decimal>]) -> Vec<(usize, Option<u32>)> {
    let mut order: Vec<usize> = (0..csi.len()).collect();
    // stable: equal figures keep the given order (by name)
    order.sort_by(|&a, &b| match (csi[a], csi[b]) {
        (Some(x), Some(y)) => y.cmp(&x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    let mut out = Vec::with_capacity(order.len());
    let mut last: Option<(Decimal, u32)> = None;
    for (pos, i) in order.into_iter().enumerate() {
        let r = csi[i].map(|c| match last {
            Some((prev, r)) if prev == c => r,
            _ => u32::try_from(pos + 1).unwrap_or(u32::MAX),
        });
        if let (Some(c), Some(r)) = (csi[i], r) {
            last = Some((c, r));
        }
        out.push((i, r));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn contact_spans_cover_every_window_and_merge_near_ones() {
        let at = |d: u32, h: u32| Utc.with_ymd_and_hms(2027, 3, d, h, 0, 0).unwrap();
        let spans = contact_spans(
            [at(10, 9), at(1, 9), at(2, 18), at(30, 9)],
            Duration::days(7),
        );
        // 1st and 2nd overlap, the 10th is within a week of the 2nd's window
        // end (the 5th, 18:00), the 30th is not
        assert_eq!(
            spans,
            vec![
                (at(1, 9), at(13, 9)),
                (at(30, 9), at(30, 9) + follow_up_window())
            ]
        );
        assert!(contact_spans([], Duration::days(7)).is_empty());
        // with no gap allowed, only overlapping windows merge
        assert_eq!(
            contact_spans([at(1, 9), at(10, 9)], Duration::zero()).len(),
            2
        );
    }

    use super::*;
    use chrono::TimeZone;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn the_csi_of_a_group_is_the_mean_of_its_responses_to_one_place() {
        let mut t = Tally::default();
        assert_eq!(t.csi(), None);
        // 77.8, 100.0, 33.3 → 211.1 / 3 = 70.366… → 70.4
        for v in [778, 1000, 333] {
            t.add(v);
        }
        assert_eq!((t.count, t.csi()), (3, Some(d("70.4"))));
        // 77.8 and 33.3 → 55.55 → 55.6 (half away from zero, no float drift)
        let mut h = Tally::default();
        h.add(778);
        h.add(333);
        assert_eq!(h.csi(), Some(d("55.6")));
        let mut z = Tally::default();
        z.add(0);
        assert_eq!(z.csi().unwrap().to_string(), "0.0");
        assert_eq!(t.csi().unwrap().to_string(), "70.4");
    }

    #[test]
    fn means_and_shares_have_no_figure_for_nothing() {
        let mut m = Mean::default();
        assert_eq!(m.value(2), None);
        for v in ["4", "5", "2"] {
            m.add(d(v));
        }
        // 11 / 3 = 3.666… → 3.67
        assert_eq!(m.value(2), Some(d("3.67")));
        assert_eq!(rate(2, 3), Some(d("0.667")));
        assert_eq!(rate(1, 8), Some(d("0.125")));
        assert_eq!(rate(0, 5).unwrap().to_string(), "0.000");
        assert_eq!(rate(5, 5).unwrap().to_string(), "1.000");
        assert_eq!(rate(0, 0), None);
        assert_eq!(mean_hours(&[]), None);
        // 24 h and 10 h 30 min → 17.25 → 17.3
        assert_eq!(
            mean_hours(&[Duration::hours(24), Duration::minutes(630)]),
            Some(d("17.3"))
        );
    }

    #[test]
    fn a_follow_up_counts_within_72_hours_of_delivery() {
        let at = Utc.with_ymd_and_hms(2027, 3, 4, 10, 0, 0).unwrap();
        assert!(followed_up(at, [at + Duration::hours(72)]));
        assert!(followed_up(
            at,
            [at - Duration::hours(1), at + Duration::hours(3)]
        ));
        assert!(!followed_up(
            at,
            [at + Duration::hours(72) + Duration::seconds(1)]
        ));
        assert!(!followed_up(at, [at - Duration::hours(1)]));
        assert!(!followed_up(at, []));
    }

    #[test]
    fn dealers_rank_by_csi_sharing_a_rank_on_a_tie_without_a_csi_last() {
        let csi = [
            Some(d("80.0")),
            None,
            Some(d("91.2")),
            Some(d("80.0")),
            Some(d("70.1")),
        ];
        assert_eq!(
            rank(&csi),
            vec![
                (2, Some(1)),
                (0, Some(2)),
                (3, Some(2)),
                (4, Some(4)),
                (1, None)
            ]
        );
        assert!(rank(&[]).is_empty());
    }

    #[test]
    fn a_range_is_ordered_and_at_most_366_days_naming_the_field() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert!(check_range(day(2027, 3, 1), day(2027, 3, 1)).is_ok());
        // 2028 is a leap year: 1 Jan to 31 Dec is 366 days
        assert!(check_range(day(2028, 1, 1), day(2028, 12, 31)).is_ok());
        let fields = |r: Result<(), FieldErrors>| -> Vec<String> {
            r.unwrap_err().0.into_iter().map(|e| e.field).collect()
        };
        assert_eq!(
            fields(check_range(day(2027, 1, 1), day(2028, 1, 2))),
            ["to"]
        );
        assert_eq!(
            fields(check_range(day(2027, 3, 2), day(2027, 3, 1))),
            ["to"]
        );
        assert_eq!(
            fields(check_range(day(1800, 1, 1), day(2027, 3, 1))),
            ["from"]
        );
    }
}
