//! The callback list (回访名单): who the customer centre calls, in what
//! order, and what a call's outcome does to the entry. Pure rules; the use
//! cases are in `services::callbacks`.
//!
//! Every delivered order gets a follow-up call, whether or not the survey
//! came back; every case needs a first contact. An entry is claimed by one
//! agent for [`CLAIM_MINUTES`]; a call that is not answered comes back later
//! the same day and on the next; after [`MAX_TRIES`] the customer is
//! unreachable by phone for follow-ups, and the follow-up message (SMS or the
//! customer's channel) is the only follow-up.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

use super::care_plan::local_instant;
use super::case::Severity;

string_enum! {
    /// Why a customer is on the list.
    pub enum CallbackReason {
        /// The follow-up call within 3 days of a delivery (维修后回访).
        FollowUp = "follow_up",
        /// The first contact a case of the unhappy-customer table needs.
        CaseContact = "case_contact",
    }
}

string_enum! {
    /// Where an entry is.
    pub enum CallbackState {
        /// To call (again): on the list from its `due_at`.
        Queued = "queued",
        /// Called with an end: reached, refused, a wrong number, or its case contacted otherwise.
        Done = "done",
        /// No answer after the last try: the follow-up goes by message only.
        Unreachable = "unreachable",
    }
}

string_enum! {
    /// How a call went (`POST /api/v1/callbacks/{id}/outcome`).
    pub enum CallResult {
        /// Spoke with the customer (answers may be recorded).
        Reached = "reached",
        NoAnswer = "no_answer",
        WrongNumber = "wrong_number",
        /// The customer asked to be called at `at`.
        CallBackAt = "call_back_at",
        /// The customer declined the call.
        Refused = "refused",
    }
}

/// How long a claim holds an entry for one agent.
pub const CLAIM_MINUTES: i64 = 15;

/// Unanswered calls before a customer is unreachable for follow-up calls.
pub const MAX_TRIES: i32 = 3;

/// How long after an unanswered call the same day's next try comes.
pub const RETRY_HOURS: i64 = 3;

/// The furthest ahead a customer can ask to be called back.
pub const CALL_BACK_DAYS: i64 = 30;

/// 1 first: cases by severity, then follow-ups.
pub fn priority(reason: CallbackReason, severity: Option<Severity>) -> i32 {
    match (reason, severity) {
        (CallbackReason::CaseContact, Some(Severity::High)) => 1,
        (CallbackReason::CaseContact, Some(Severity::Medium) | None) => 2,
        (CallbackReason::CaseContact, Some(Severity::Low)) => 3,
        (CallbackReason::FollowUp, _) => 4,
    }
}

/// The dealer's calling hours (the care sending window, local).
#[derive(Debug, Clone, Copy)]
pub struct CallHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub tz: Tz,
}

impl CallHours {
    /// The start of calling on local date `d`.
    pub fn opening(&self, d: NaiveDate) -> DateTime<Utc> {
        local_instant(d.and_time(self.start), self.tz)
    }

    /// Whether `t` is within the calling hours of its local day (a window
    /// that spans midnight has its end on the next day).
    pub fn within(&self, t: DateTime<Utc>) -> bool {
        let local = t.with_timezone(&self.tz).time();
        if self.start <= self.end {
            local >= self.start && local < self.end
        } else {
            local >= self.start || local < self.end
        }
    }

    fn today(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }
}

/// When a follow-up call for a car delivered at `delivered` is due: the
/// opening of the next local day (the follow-up is within 3 days).
pub fn follow_up_due(delivered: DateTime<Utc>, hours: &CallHours) -> DateTime<Utc> {
    hours.opening(hours.today(delivered) + Duration::days(1))
}

/// When a follow-up must have happened: 3 days after the delivery.
pub fn follow_up_deadline(delivered: DateTime<Utc>) -> DateTime<Utc> {
    delivered + Duration::days(3)
}

/// After the `tries`-th unanswered call at `now`: when to try again, or
/// `None` when the customer is now unreachable. The second try comes later
/// the same day (or at the next opening), the third on the next day.
pub fn retry_at(tries: i32, now: DateTime<Utc>, hours: &CallHours) -> Option<DateTime<Utc>> {
    if tries >= MAX_TRIES {
        return None;
    }
    let tomorrow = hours.opening(hours.today(now) + Duration::days(1));
    if tries <= 1 {
        let later = now + Duration::hours(RETRY_HOURS);
        if hours.within(later) && hours.today(later) == hours.today(now) {
            return Some(later);
        }
        // after the day's calling hours: the next opening, which may still be today
        let today = hours.opening(hours.today(now));
        return Some(if today > now { today } else { tomorrow });
    }
    Some(tomorrow)
}

/// What an outcome does to an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Next {
    pub state: CallbackState,
    /// Tries counted so far (unanswered calls).
    pub tries: i32,
    /// When it comes back to the list, for an entry still queued.
    pub due_at: Option<DateTime<Utc>>,
}

/// The entry after a call with `result` at `now`; `at` is the time a
/// customer asked to be called back (checked by the caller).
pub fn after_call(
    result: CallResult,
    tries: i32,
    now: DateTime<Utc>,
    at: Option<DateTime<Utc>>,
    hours: &CallHours,
) -> Next {
    match result {
        CallResult::Reached | CallResult::Refused | CallResult::WrongNumber => Next {
            state: CallbackState::Done,
            tries,
            due_at: None,
        },
        CallResult::CallBackAt => Next {
            state: CallbackState::Queued,
            tries,
            due_at: Some(at.unwrap_or(now)),
        },
        CallResult::NoAnswer => {
            let tries = tries.saturating_add(1);
            match retry_at(tries, now, hours) {
                Some(t) => Next {
                    state: CallbackState::Queued,
                    tries,
                    due_at: Some(t),
                },
                None => Next {
                    state: CallbackState::Unreachable,
                    tries,
                    due_at: None,
                },
            }
        }
    }
}

/// Whether a claim held until `until` still holds at `now`.
pub fn claim_holds(until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    until.is_some_and(|u| u > now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours() -> CallHours {
        CallHours {
            start: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(20, 0, 0).unwrap(),
            tz: chrono_tz::Asia::Shanghai,
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        // local Shanghai time, +08:00
        DateTime::parse_from_rfc3339(&format!("{s}+08:00"))
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_follow_up_call_is_due_the_next_morning_and_within_three_days() {
        let h = hours();
        let delivered = at("2027-03-01T17:30:00");
        assert_eq!(follow_up_due(delivered, &h), at("2027-03-02T09:00:00"));
        // delivered just after local midnight: still the next local day
        assert_eq!(
            follow_up_due(at("2027-03-01T00:10:00"), &h),
            at("2027-03-02T09:00:00")
        );
        assert_eq!(follow_up_deadline(delivered), at("2027-03-04T17:30:00"));
    }

    #[test]
    fn an_unanswered_call_comes_back_later_the_same_day_then_the_next_then_never() {
        let h = hours();
        let t = at("2027-03-02T10:00:00");
        assert_eq!(retry_at(1, t, &h), Some(at("2027-03-02T13:00:00")));
        // too late for a second call today: tomorrow's opening
        assert_eq!(
            retry_at(1, at("2027-03-02T18:30:00"), &h),
            Some(at("2027-03-03T09:00:00"))
        );
        // called before opening (an early shift): today's opening
        assert_eq!(
            retry_at(1, at("2027-03-02T05:00:00"), &h),
            Some(at("2027-03-02T09:00:00"))
        );
        assert_eq!(
            retry_at(2, at("2027-03-02T13:00:00"), &h),
            Some(at("2027-03-03T09:00:00"))
        );
        assert_eq!(retry_at(3, at("2027-03-03T09:00:00"), &h), None);
    }

    #[test]
    fn outcomes_end_queue_or_give_up_as_the_rules_say() {
        let h = hours();
        let t = at("2027-03-02T10:00:00");
        for r in [
            CallResult::Reached,
            CallResult::Refused,
            CallResult::WrongNumber,
        ] {
            let n = after_call(r, 1, t, None, &h);
            assert_eq!(n.state, CallbackState::Done);
            assert_eq!(n.tries, 1, "only unanswered calls count as tries");
        }
        let later = at("2027-03-05T15:00:00");
        let n = after_call(CallResult::CallBackAt, 2, t, Some(later), &h);
        assert_eq!(
            (n.state, n.tries, n.due_at),
            (CallbackState::Queued, 2, Some(later))
        );
        let mut tries = 0;
        let mut now = t;
        let mut states = vec![];
        for _ in 0..3 {
            let n = after_call(CallResult::NoAnswer, tries, now, None, &h);
            tries = n.tries;
            now = n.due_at.unwrap_or(now);
            states.push(n.state);
        }
        assert_eq!(
            states,
            [
                CallbackState::Queued,
                CallbackState::Queued,
                CallbackState::Unreachable
            ]
        );
        assert_eq!(tries, MAX_TRIES);
    }

    #[test]
    fn cases_come_before_follow_ups_and_severe_ones_first() {
        let high = priority(CallbackReason::CaseContact, Some(Severity::High));
        let low = priority(CallbackReason::CaseContact, Some(Severity::Low));
        let follow = priority(CallbackReason::FollowUp, None);
        assert!(high < low && low < follow);
    }

    #[test]
    fn a_claim_holds_until_its_time() {
        let t = at("2027-03-02T10:00:00");
        assert!(claim_holds(Some(t + Duration::minutes(1)), t));
        assert!(!claim_holds(Some(t), t));
        assert!(!claim_holds(None, t));
    }
}
