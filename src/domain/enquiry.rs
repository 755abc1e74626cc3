//! Enquiries and complaints (信息咨询、业务受理和投诉): what a customer asks
//! or complains about, how an enquiry moves through the customer centre, and
//! when its first answer is due. Pure rules; the use cases are in
//! `services::enquiries`.
//!
//! An enquiry moves `open → claimed → answered → closed`; `closed` may also
//! come straight from `open` or `claimed` (a duplicate, a withdrawn
//! question). The first answer is due a number of *working* minutes after it
//! arrived, counted only inside the dealer's opening hours ([`due_at`]).

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::case::{CaseCategory, LexiconEntry, Severity, complaint};
use super::schedule::OpeningHours;

string_enum! {
    /// What the enquiry is about.
    pub enum EnquiryTopic {
        /// A price or a quote (价格咨询).
        Price = "price",
        /// Booking a visit (预约).
        Booking = "booking",
        Warranty = "warranty",
        Insurance = "insurance",
        /// A complaint (投诉): opens an unhappy-customer case.
        Complaint = "complaint",
        Other = "other",
    }
}

string_enum! {
    /// How the customer wants the answer: by SMS, in the app's inbox, or by
    /// a call (staff then record that they called and what they said).
    pub enum EnquiryContact { Call = "call", Sms = "sms", App = "app" }
}

string_enum! {
    /// Where the enquiry came in: the customer app, or recorded by staff
    /// from a phone call, a visit at the counter, WeChat or an email.
    pub enum EnquirySource {
        App = "app",
        Phone = "phone",
        WalkIn = "walk_in",
        Wechat = "wechat",
        Email = "email",
    }
}

string_enum! {
    /// Where an enquiry is: `open → claimed → answered → closed`, or
    /// `closed` from `open` or `claimed` without an answer.
    pub enum EnquiryState {
        Open = "open",
        /// An agent holds it while their claim lasts.
        Claimed = "claimed",
        Answered = "answered",
        Closed = "closed",
    }
}

string_enum! {
    /// What staff do to an enquiry (`POST /api/v1/enquiries/{id}/{action}`).
    pub enum EnquiryAction { Claim = "claim", Answer = "answer", Close = "close" }
}

string_enum! {
    /// The first answer against its due time: `pending` (not answered, not
    /// due yet), `overdue` (not answered, past due), `met` (answered by the
    /// due time), `late` (answered after it).
    pub enum EnquirySla { Pending = "pending", Overdue = "overdue", Met = "met", Late = "late" }
}

/// The longest enquiry and answer, in characters.
pub const MAX_TEXT: usize = 2000;
/// How long a claim holds an enquiry for one agent.
pub const CLAIM_MINUTES: i64 = 30;
/// The first answer's due time by default: 2 working hours.
pub const DEFAULT_ANSWER_WITHIN_MINUTES: u32 = 120;
/// The bounds of a dealer's answer time: 15 minutes to 5 working days of 8 hours.
pub const ANSWER_WITHIN_MINUTES: std::ops::RangeInclusive<u32> = 15..=2400;
/// How far ahead [`due_at`] looks for opening hours before it gives up and
/// counts calendar time (a dealer with no opening hours at all).
pub const SEARCH_DAYS: i64 = 400;

/// The state after `action` in `state`; `None` when the action is out of order.
/// A claim on a claimed enquiry renews or takes over the claim (whether the
/// caller may is the claim rule's business, not the state's).
pub fn next(state: EnquiryState, action: EnquiryAction) -> Option<EnquiryState> {
    use EnquiryAction as A;
    use EnquiryState as S;
    Some(match (state, action) {
        (S::Open | S::Claimed, A::Claim) => S::Claimed,
        (S::Open | S::Claimed, A::Answer) => S::Answered,
        (S::Open | S::Claimed | S::Answered, A::Close) => S::Closed,
        _ => return None,
    })
}

impl EnquiryState {
    /// Still waiting for its first answer.
    pub fn waiting(self) -> bool {
        matches!(self, EnquiryState::Open | EnquiryState::Claimed)
    }
}

/// The first answer against its due time.
pub fn sla(due: DateTime<Utc>, answered: Option<DateTime<Utc>>, now: DateTime<Utc>) -> EnquirySla {
    match answered {
        Some(a) if a <= due => EnquirySla::Met,
        Some(_) => EnquirySla::Late,
        None if now > due => EnquirySla::Overdue,
        None => EnquirySla::Pending,
    }
}

/// Whether an enquiry is a complaint, and what about: topic `complaint`, or
/// words of the case rules' complaint lexicon in any topic. The lexicon's
/// category wins when it matches; a complaint without such words is `other`.
pub fn complaint_case(
    topic: EnquiryTopic,
    text: &str,
    lexicon: &[LexiconEntry],
) -> Option<(CaseCategory, Severity)> {
    let words = complaint(text, lexicon).map(|e| e.category);
    match (topic, words) {
        (_, Some(c)) => Some((c, Severity::Medium)),
        (EnquiryTopic::Complaint, None) => Some((CaseCategory::Other, Severity::Medium)),
        _ => None,
    }
}

/// When the first answer to an enquiry that arrived at `created` is due:
/// `minutes` of working time later, counted only inside the dealer's
/// opening hours (`hours`, per weekday in the zone `tz`) on days that are
/// not closed. An enquiry that arrives after closing, on a closed day or at
/// a weekend starts counting at the next opening. Each local day's ranges
/// are turned into instants in the zone, so a DST change moves nothing. A
/// dealer with no opening hours at all (or none within [`SEARCH_DAYS`])
/// counts calendar time.
pub fn due_at(
    created: DateTime<Utc>,
    minutes: u32,
    hours: &[OpeningHours],
    closed: impl Fn(NaiveDate) -> bool,
    tz: Tz,
) -> DateTime<Utc> {
    let fallback = created + Duration::minutes(i64::from(minutes));
    let mut left = Duration::minutes(i64::from(minutes));
    if left <= Duration::zero() {
        return created;
    }
    let first = created.with_timezone(&tz).date_naive();
    let instant = |d: NaiveDate, t: chrono::NaiveTime| {
        tz.from_local_datetime(&d.and_time(t))
            .earliest()
            .map(|x| x.with_timezone(&Utc))
    };
    for offset in 0..SEARCH_DAYS {
        let Some(day) = first.checked_add_signed(Duration::days(offset)) else {
            break;
        };
        if closed(day) {
            continue;
        }
        let weekday = day.weekday().number_from_monday() as u8;
        let mut ranges: Vec<&OpeningHours> =
            hours.iter().filter(|h| h.weekday == weekday).collect();
        ranges.sort_by_key(|h| h.open);
        for h in ranges {
            let (Some(open), Some(close)) = (instant(day, h.open), instant(day, h.close)) else {
                continue;
            };
            let start = open.max(created);
            if start >= close {
                continue;
            }
            let available = close - start;
            if left <= available {
                return start + left;
            }
            left -= available;
        }
    }
    fallback
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveTime;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    /// Monday to Friday 08:30–12:00 and 13:00–17:30; Saturday 09:00–12:00.
    fn hours() -> Vec<OpeningHours> {
        let mut v: Vec<OpeningHours> = (1..=5)
            .flat_map(|weekday| {
                [
                    OpeningHours {
                        weekday,
                        open: t(8, 30),
                        close: t(12, 0),
                    },
                    OpeningHours {
                        weekday,
                        open: t(13, 0),
                        close: t(17, 30),
                    },
                ]
            })
            .collect();
        v.push(OpeningHours {
            weekday: 6,
            open: t(9, 0),
            close: t(12, 0),
        });
        v
    }

    fn sh() -> Tz {
        "Asia/Shanghai".parse().unwrap()
    }

    fn at(tz: Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        tz.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn open_every_day(_: NaiveDate) -> bool {
        false
    }

    #[test]
    fn inside_opening_hours_the_due_time_is_two_hours_later() {
        // Tuesday 2026-12-01 09:00 → 11:00
        let due = due_at(
            at(sh(), 2026, 12, 1, 9, 0),
            120,
            &hours(),
            open_every_day,
            sh(),
        );
        assert_eq!(due, at(sh(), 2026, 12, 1, 11, 0));
    }

    #[test]
    fn the_lunch_break_does_not_count() {
        // Tuesday 11:00: one hour before lunch, one after
        let due = due_at(
            at(sh(), 2026, 12, 1, 11, 0),
            120,
            &hours(),
            open_every_day,
            sh(),
        );
        assert_eq!(due, at(sh(), 2026, 12, 1, 14, 0));
    }

    #[test]
    fn an_enquiry_after_closing_counts_from_the_next_opening() {
        // Tuesday 20:00 → Wednesday 08:30 + 2 h
        let due = due_at(
            at(sh(), 2026, 12, 1, 20, 0),
            120,
            &hours(),
            open_every_day,
            sh(),
        );
        assert_eq!(due, at(sh(), 2026, 12, 2, 10, 30));
        // Tuesday 16:30: one hour left today, one tomorrow
        let due = due_at(
            at(sh(), 2026, 12, 1, 16, 30),
            120,
            &hours(),
            open_every_day,
            sh(),
        );
        assert_eq!(due, at(sh(), 2026, 12, 2, 9, 30));
        // before opening: from the opening
        let due = due_at(
            at(sh(), 2026, 12, 1, 6, 0),
            120,
            &hours(),
            open_every_day,
            sh(),
        );
        assert_eq!(due, at(sh(), 2026, 12, 1, 10, 30));
    }

    #[test]
    fn a_weekend_counts_only_its_opening_hours() {
        // Friday 2026-12-04 17:00: half an hour Friday, an hour and a half Saturday → due Saturday 10:30
        let due = due_at(
            at(sh(), 2026, 12, 4, 17, 0),
            120,
            &hours(),
            open_every_day,
            sh(),
        );
        assert_eq!(due, at(sh(), 2026, 12, 5, 10, 30));
        // Saturday 11:30: half an hour Saturday, Sunday closed, Monday 08:30 + 1.5 h
        let due = due_at(
            at(sh(), 2026, 12, 5, 11, 30),
            120,
            &hours(),
            open_every_day,
            sh(),
        );
        assert_eq!(due, at(sh(), 2026, 12, 7, 10, 0));
        // Sunday (no hours at all) → Monday 10:30
        let due = due_at(
            at(sh(), 2026, 12, 6, 10, 0),
            120,
            &hours(),
            open_every_day,
            sh(),
        );
        assert_eq!(due, at(sh(), 2026, 12, 7, 10, 30));
    }

    #[test]
    fn a_closed_day_is_skipped() {
        // Tuesday 20:00, Wednesday a holiday → Thursday 10:30
        let holiday = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let due = due_at(
            at(sh(), 2026, 12, 1, 20, 0),
            120,
            &hours(),
            |d| d == holiday,
            sh(),
        );
        assert_eq!(due, at(sh(), 2026, 12, 3, 10, 30));
    }

    #[test]
    fn a_long_answer_time_spans_several_days() {
        // 16 working hours from Monday 08:30: Monday 8 h, Tuesday 8 h → Tuesday 17:30
        let due = due_at(
            at(sh(), 2026, 11, 30, 8, 30),
            960,
            &hours(),
            open_every_day,
            sh(),
        );
        assert_eq!(due, at(sh(), 2026, 12, 1, 17, 30));
    }

    #[test]
    fn opening_hours_are_local_across_a_dst_change() {
        let ny: Tz = "America/New_York".parse().unwrap();
        // Saturday 2027-03-13 after closing; Sunday 14th DST starts, closed; Monday 08:30 EDT
        let due = due_at(at(ny, 2027, 3, 13, 18, 0), 60, &hours(), open_every_day, ny);
        assert_eq!(due, at(ny, 2027, 3, 15, 9, 30));
        assert_eq!(due.to_rfc3339(), "2027-03-15T13:30:00+00:00");
    }

    #[test]
    fn no_opening_hours_counts_calendar_time() {
        let c = at(sh(), 2026, 12, 1, 20, 0);
        assert_eq!(
            due_at(c, 120, &[], open_every_day, sh()),
            c + Duration::hours(2)
        );
        assert_eq!(
            due_at(c, 120, &hours(), |_| true, sh()),
            c + Duration::hours(2)
        );
    }

    #[test]
    fn the_states_move_in_order() {
        use EnquiryAction as A;
        use EnquiryState as S;
        assert_eq!(next(S::Open, A::Claim), Some(S::Claimed));
        assert_eq!(next(S::Claimed, A::Claim), Some(S::Claimed));
        assert_eq!(next(S::Claimed, A::Answer), Some(S::Answered));
        assert_eq!(next(S::Open, A::Answer), Some(S::Answered));
        assert_eq!(next(S::Answered, A::Close), Some(S::Closed));
        assert_eq!(next(S::Open, A::Close), Some(S::Closed));
        assert_eq!(next(S::Answered, A::Answer), None);
        assert_eq!(next(S::Answered, A::Claim), None);
        assert_eq!(next(S::Closed, A::Close), None);
        assert_eq!(next(S::Closed, A::Answer), None);
    }

    #[test]
    fn the_answer_is_met_or_late_against_its_due_time() {
        let due = at(sh(), 2026, 12, 1, 11, 0);
        let before = due - Duration::minutes(1);
        let after = due + Duration::minutes(1);
        assert_eq!(sla(due, Some(due), after), EnquirySla::Met);
        assert_eq!(sla(due, Some(after), after), EnquirySla::Late);
        assert_eq!(sla(due, None, before), EnquirySla::Pending);
        assert_eq!(sla(due, None, after), EnquirySla::Overdue);
    }

    #[test]
    fn complaints_by_topic_or_by_words() {
        let lex = crate::domain::case::CaseRules::default().lexicon;
        assert_eq!(
            complaint_case(EnquiryTopic::Complaint, "请回电", &lex),
            Some((CaseCategory::Other, Severity::Medium))
        );
        assert_eq!(
            complaint_case(EnquiryTopic::Price, "保养太贵了", &lex),
            Some((CaseCategory::Price, Severity::Medium))
        );
        assert_eq!(
            complaint_case(EnquiryTopic::Price, "小保养多少钱？", &lex),
            None
        );
    }
}
