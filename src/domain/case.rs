//! The unhappy-customer table (《不满意客户处理跟踪表》): when a response
//! opens a case, and how a case moves. Pure rules; the use cases are in
//! `services::cases`.
//!
//! A case opens by itself when a response is low (a section under the
//! dealer's floor, 60 by default, or "would you recommend us" under 7), when
//! its words match the complaint lexicon, or when an SMS rating is 1 or 2;
//! staff open one by hand. One response opens at most one case, whichever
//! rules match: the first in that order names its source.

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::csi::{Scores, Section};

string_enum! {
    /// Where a case state is: `open → contacted → action_agreed → resolved
    /// → verified`, or `closed_unresolved` from any state before `verified`.
    pub enum CaseState {
        Open = "open",
        Contacted = "contacted",
        ActionAgreed = "action_agreed",
        Resolved = "resolved",
        /// Checked with the customer at the end: the only good ending.
        Verified = "verified",
        ClosedUnresolved = "closed_unresolved",
    }
}

string_enum! {
    /// What staff do to a case (`POST /api/v1/cases/{id}/{action}`).
    pub enum CaseAction {
        /// A contact with the customer (a call, a visit, a message): logged, moves `open` on.
        Contact = "contact",
        /// An action agreed with the customer.
        Agree = "agree",
        Resolve = "resolve",
        /// The final check with the customer.
        Verify = "verify",
        /// Closed without a resolution.
        Close = "close",
    }
}

string_enum! {
    /// Why a case was opened.
    pub enum CaseSource {
        LowScore = "low_score",
        ComplaintWords = "complaint_words",
        SmsRating = "sms_rating",
        Manual = "manual",
    }
}

string_enum! {
    /// What the customer is unhappy about.
    pub enum CaseCategory {
        Quality = "quality",
        Price = "price",
        Attitude = "attitude",
        Time = "time",
        Facilities = "facilities",
        Other = "other",
    }
}

string_enum! {
    pub enum Severity { Low = "low", Medium = "medium", High = "high" }
}

/// The state after `action` in `state`; `None` when the action is out of order.
pub fn next(state: CaseState, action: CaseAction) -> Option<CaseState> {
    use CaseAction as A;
    use CaseState as S;
    Some(match (state, action) {
        (S::Open | S::Contacted, A::Contact) => S::Contacted,
        // further contacts are logged where the case is
        (S::ActionAgreed, A::Contact) => S::ActionAgreed,
        (S::Resolved, A::Contact) => S::Resolved,
        (S::Contacted, A::Agree) => S::ActionAgreed,
        (S::ActionAgreed, A::Resolve) => S::Resolved,
        (S::Resolved, A::Verify) => S::Verified,
        (S::Open | S::Contacted | S::ActionAgreed | S::Resolved, A::Close) => S::ClosedUnresolved,
        _ => return None,
    })
}

impl CaseState {
    /// Still someone's work.
    pub fn is_open(self) -> bool {
        !matches!(self, CaseState::Verified | CaseState::ClosedUnresolved)
    }
}

/// One entry of the complaint lexicon: words (matched case-insensitively,
/// anywhere in the text) and the category they point to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LexiconEntry {
    #[schema(max_length = 40)]
    pub words: String,
    pub category: CaseCategory,
}

/// When a response opens a case (dealer settings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseRules {
    /// A section scoring under this (0–100) opens a case.
    #[schema(minimum = 0, maximum = 100)]
    pub section_floor: u32,
    /// "Would you recommend us" under this (0–10) opens a case.
    #[schema(minimum = 0, maximum = 10)]
    pub recommend_floor: u32,
    /// Words that make a comment or SMS a complaint, zh-CN and en.
    #[schema(max_items = 200)]
    pub lexicon: Vec<LexiconEntry>,
    /// Hours to the first contact.
    #[schema(minimum = 1, maximum = 720)]
    pub contact_within_hours: u32,
    /// Days to the resolution.
    #[schema(minimum = 1, maximum = 90)]
    pub resolve_within_days: u32,
}

fn entry(words: &str, category: CaseCategory) -> LexiconEntry {
    LexiconEntry {
        words: words.into(),
        category,
    }
}

impl Default for CaseRules {
    fn default() -> Self {
        use CaseCategory::*;
        CaseRules {
            section_floor: 60,
            recommend_floor: 7,
            lexicon: vec![
                entry("不满意", Other),
                entry("投诉", Other),
                entry("太贵", Price),
                entry("乱收费", Price),
                entry("没修好", Quality),
                entry("返修", Quality),
                entry("又坏了", Quality),
                entry("态度差", Attitude),
                entry("态度不好", Attitude),
                entry("等太久", Time),
                entry("too expensive", Price),
                entry("overcharged", Price),
                entry("not fixed", Quality),
                entry("rude", Attitude),
                entry("waited too long", Time),
                entry("complain", Other),
                entry("unhappy", Other),
            ],
            contact_within_hours: 24,
            resolve_within_days: 7,
        }
    }
}

/// What a response says, for the rules.
#[derive(Debug, Default)]
pub struct Response<'a> {
    pub scores: Option<&'a Scores>,
    pub recommend: Option<u8>,
    pub words: Option<&'a str>,
    pub sms_rating: Option<u8>,
}

/// Why a response opens a case, and what about; `None` when it does not.
pub fn opens(r: &Response<'_>, rules: &CaseRules) -> Option<(CaseSource, CaseCategory, Severity)> {
    let floor = Decimal::from(rules.section_floor);
    let worst = r.scores.and_then(|s| {
        s.sections
            .iter()
            .filter_map(|x| x.score.map(|v| (x.section, v)))
            .min_by_key(|(_, v)| *v)
    });
    if let Some((section, score)) = worst
        && score < floor
    {
        let severity = if score < floor / Decimal::TWO {
            Severity::High
        } else {
            Severity::Medium
        };
        return Some((CaseSource::LowScore, category_of(section), severity));
    }
    if let Some(rec) = r.recommend
        && u32::from(rec) < rules.recommend_floor
    {
        let severity = if rec <= 3 {
            Severity::High
        } else {
            Severity::Medium
        };
        return Some((CaseSource::LowScore, CaseCategory::Other, severity));
    }
    if let Some(words) = r.words
        && let Some(e) = complaint(words, &rules.lexicon)
    {
        return Some((CaseSource::ComplaintWords, e.category, Severity::Medium));
    }
    match r.sms_rating {
        Some(1) => Some((CaseSource::SmsRating, CaseCategory::Other, Severity::High)),
        Some(2) => Some((CaseSource::SmsRating, CaseCategory::Other, Severity::Medium)),
        _ => None,
    }
}

/// The first lexicon entry found in `text`, case-insensitively.
pub fn complaint<'a>(text: &str, lexicon: &'a [LexiconEntry]) -> Option<&'a LexiconEntry> {
    let t = text.to_lowercase();
    lexicon
        .iter()
        .find(|e| !e.words.trim().is_empty() && t.contains(&e.words.trim().to_lowercase()))
}

/// What a low section is about.
pub fn category_of(s: Section) -> CaseCategory {
    match s {
        Section::Facilities => CaseCategory::Facilities,
        Section::StaffContact => CaseCategory::Attitude,
        Section::WorkDone => CaseCategory::Quality,
        Section::Cost => CaseCategory::Price,
        Section::FollowUp => CaseCategory::Other,
    }
}

/// When a case opened at `opened` must be first contacted and resolved.
pub fn due_times(opened: DateTime<Utc>, rules: &CaseRules) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        opened + Duration::hours(i64::from(rules.contact_within_hours)),
        opened + Duration::days(i64::from(rules.resolve_within_days)),
    )
}

/// Whether the case is past a due time at `now` (not contacted by the
/// contact time, or not resolved by the resolution time).
pub fn overdue(
    state: CaseState,
    contact_due: DateTime<Utc>,
    resolve_due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    match state {
        CaseState::Open => now > contact_due,
        CaseState::Contacted | CaseState::ActionAgreed => now > resolve_due,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::csi::{Questionnaire, score};

    #[test]
    fn a_case_moves_only_in_order_and_closes_from_any_open_state() {
        use CaseAction as A;
        use CaseState as S;
        assert_eq!(next(S::Open, A::Contact), Some(S::Contacted));
        assert_eq!(next(S::Open, A::Agree), None);
        assert_eq!(next(S::Open, A::Resolve), None);
        assert_eq!(next(S::Contacted, A::Agree), Some(S::ActionAgreed));
        assert_eq!(next(S::ActionAgreed, A::Resolve), Some(S::Resolved));
        assert_eq!(next(S::Resolved, A::Verify), Some(S::Verified));
        assert_eq!(next(S::ActionAgreed, A::Verify), None);
        for s in [S::Open, S::Contacted, S::ActionAgreed, S::Resolved] {
            assert_eq!(next(s, A::Close), Some(S::ClosedUnresolved));
        }
        for a in CaseAction::ALL {
            assert_eq!(next(S::Verified, *a), None);
            assert_eq!(next(S::ClosedUnresolved, *a), None);
        }
    }

    #[test]
    fn a_response_opens_a_case_by_the_first_rule_that_matches() {
        let q = Questionnaire::default();
        let rules = CaseRules::default();
        // cost all 3s: (3 − 1) / 9 = 22.2, under half the floor: high, about price
        let answers: Vec<(String, Option<u8>)> = q
            .sections
            .iter()
            .flat_map(|s| {
                let v = if s.section == Section::Cost { 3 } else { 9 };
                s.questions.iter().map(move |x| (x.code.clone(), Some(v)))
            })
            .collect();
        let scores = score(&q, &answers);
        let low = Response {
            scores: Some(&scores),
            recommend: Some(9),
            words: Some("太贵了"),
            sms_rating: None,
        };
        assert_eq!(
            opens(&low, &rules),
            Some((CaseSource::LowScore, CaseCategory::Price, Severity::High))
        );
        // good scores, but would not recommend
        let good = score(&q, &[("greeting".into(), Some(10))]);
        let rec = Response {
            scores: Some(&good),
            recommend: Some(5),
            ..Default::default()
        };
        assert_eq!(
            opens(&rec, &rules),
            Some((CaseSource::LowScore, CaseCategory::Other, Severity::Medium))
        );
        // words only
        let words = Response {
            words: Some("师傅态度差，车也没修好"),
            ..Default::default()
        };
        let (src, cat, _) = opens(&words, &rules).unwrap();
        assert_eq!(src, CaseSource::ComplaintWords);
        assert!(matches!(
            cat,
            CaseCategory::Attitude | CaseCategory::Quality
        ));
        assert_eq!(
            opens(
                &Response {
                    words: Some("Way TOO EXPENSIVE"),
                    ..Default::default()
                },
                &rules
            )
            .map(|x| x.1),
            Some(CaseCategory::Price)
        );
        // SMS ratings: 1 and 2 open, 3 does not
        assert_eq!(
            opens(
                &Response {
                    sms_rating: Some(1),
                    ..Default::default()
                },
                &rules
            )
            .map(|x| x.2),
            Some(Severity::High)
        );
        assert!(
            opens(
                &Response {
                    sms_rating: Some(2),
                    ..Default::default()
                },
                &rules
            )
            .is_some()
        );
        assert!(
            opens(
                &Response {
                    sms_rating: Some(3),
                    ..Default::default()
                },
                &rules
            )
            .is_none()
        );
        // a happy customer opens nothing
        let fine = Response {
            scores: Some(&good),
            recommend: Some(9),
            words: Some("很好，谢谢"),
            sms_rating: Some(5),
        };
        assert!(opens(&fine, &rules).is_none());
    }

    #[test]
    fn a_case_is_overdue_by_its_state() {
        let rules = CaseRules::default();
        let t0: DateTime<Utc> = "2027-03-01T02:00:00Z".parse().unwrap();
        let (contact, resolve) = due_times(t0, &rules);
        assert_eq!(contact, t0 + Duration::hours(24));
        assert_eq!(resolve, t0 + Duration::days(7));
        let later = t0 + Duration::hours(25);
        assert!(overdue(CaseState::Open, contact, resolve, later));
        assert!(!overdue(CaseState::Contacted, contact, resolve, later));
        assert!(overdue(
            CaseState::Contacted,
            contact,
            resolve,
            t0 + Duration::days(8)
        ));
        assert!(!overdue(
            CaseState::Resolved,
            contact,
            resolve,
            t0 + Duration::days(30)
        ));
    }
}
