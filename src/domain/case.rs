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

use super::FieldErrors;
use super::csi::{Scores, Section};
use super::customer::{Channel, Locale, parse_email};
use super::phone::Phone;
use super::validation;

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
        /// A complaint sent as an enquiry (topic `complaint`, or the lexicon's words).
        Enquiry = "enquiry",
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
    /// 1–40 characters, one line.
    #[schema(min_length = 1, max_length = 40)]
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
    /// Who hears of a case past a due time (the service manager, or whoever
    /// the dealer names): each gets one message when the case escalates.
    #[serde(default)]
    #[schema(max_items = 5)]
    pub escalate_to: Vec<EscalationContact>,
}

/// The most lexicon entries a dealer keeps.
pub const MAX_LEXICON: usize = 200;
/// The longest lexicon entry, in characters.
pub const MAX_WORDS: usize = 40;
/// The most contacts an escalation goes to.
pub const MAX_ESCALATE_TO: usize = 5;
/// The longest contact name, in characters.
pub const MAX_CONTACT_NAME: usize = 50;

string_enum! {
    /// How an escalation reaches staff.
    pub enum EscalationChannel { Sms = "sms", Email = "email" }
}

impl EscalationChannel {
    pub fn channel(self) -> Channel {
        match self {
            EscalationChannel::Sms => Channel::Sms,
            EscalationChannel::Email => Channel::Email,
        }
    }
}

/// One of the service manager's contacts: an escalation goes to each, and
/// the daily report (维修日报表) to each that wants it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationContact {
    pub channel: EscalationChannel,
    /// A mobile number (stored in E.164) for `sms`, an email address for `email`.
    #[schema(max_length = 254)]
    pub address: String,
    /// Who it is (1–50 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 50)]
    pub name: Option<String>,
    /// The language of what they are sent; `zh-CN` when left out.
    #[serde(default = "zh_cn")]
    #[schema(default = "zh-CN")]
    pub locale: Locale,
    /// Whether they also get the daily report at closing time; true when left out.
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub daily_report: bool,
}

fn zh_cn() -> Locale {
    Locale::ZhCn
}

fn yes() -> bool {
    true
}

impl CaseRules {
    /// The rules as stored: every field in range, the lexicon's words
    /// trimmed, phone numbers in E.164, emails in lower case; or every
    /// problem by its path (`lexicon[3].words`, `escalate_to[0].address`).
    pub fn validated(mut self) -> Result<CaseRules, FieldErrors> {
        let mut e = FieldErrors::new();
        if self.section_floor > 100 {
            e.add("section_floor", "must be 0 to 100");
        }
        if self.recommend_floor > 10 {
            e.add("recommend_floor", "must be 0 to 10");
        }
        if !(1..=720).contains(&self.contact_within_hours) {
            e.add("contact_within_hours", "must be 1 to 720");
        }
        if !(1..=90).contains(&self.resolve_within_days) {
            e.add("resolve_within_days", "must be 1 to 90");
        }
        if self.lexicon.len() > MAX_LEXICON {
            e.add(
                "lexicon",
                format!("must list at most {MAX_LEXICON} entries"),
            );
        }
        for (i, entry) in self.lexicon.iter_mut().enumerate() {
            if let Some(w) = e.check(
                &format!("lexicon[{i}].words"),
                validation::text(&entry.words, MAX_WORDS),
            ) {
                entry.words = w;
            }
        }
        if self.escalate_to.len() > MAX_ESCALATE_TO {
            e.add(
                "escalate_to",
                format!("must list at most {MAX_ESCALATE_TO} contacts"),
            );
        }
        let mut seen = std::collections::HashSet::new();
        for (i, c) in self.escalate_to.iter_mut().enumerate() {
            let field = format!("escalate_to[{i}].address");
            let address = match c.channel {
                EscalationChannel::Sms => {
                    e.check(&field, Phone::parse(&c.address).map(|p| p.to_string()))
                }
                EscalationChannel::Email => e.check(&field, parse_email(&c.address)),
            };
            if let Some(a) = address {
                // one person, one message: the same address written two ways too
                if !seen.insert((c.channel, a.clone())) {
                    e.add(&field, "appears twice");
                }
                c.address = a;
            }
            if let Some(n) = &c.name {
                c.name = e.check(
                    &format!("escalate_to[{i}].name"),
                    validation::text(n, MAX_CONTACT_NAME),
                );
            }
        }
        e.into_result().map(|()| self)
    }
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
            escalate_to: vec![],
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
    late(state, contact_due, resolve_due, now).is_some()
}

/// What is late about a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Late {
    /// Not contacted by `contact_due_at`.
    Contact,
    /// Not resolved by `resolve_due_at`.
    Resolution,
}

/// What is late at `now`, if anything: the first contact of an open case,
/// or the resolution of a contacted one or one with an agreed action.
pub fn late(
    state: CaseState,
    contact_due: DateTime<Utc>,
    resolve_due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<Late> {
    match state {
        CaseState::Open if now > contact_due => Some(Late::Contact),
        CaseState::Contacted | CaseState::ActionAgreed if now > resolve_due => {
            Some(Late::Resolution)
        }
        _ => None,
    }
}

/// The states in which each due time can be missed (the SQL of the list's
/// overdue filter and of the escalation sweep says the same as [`late`]).
pub const WAITING_FOR_CONTACT: &[CaseState] = &[CaseState::Open];
pub const WAITING_FOR_RESOLUTION: &[CaseState] = &[CaseState::Contacted, CaseState::ActionAgreed];

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
    fn rules_are_checked_field_by_field_and_addresses_normalised() {
        let mut r = CaseRules {
            escalate_to: vec![
                EscalationContact {
                    channel: EscalationChannel::Sms,
                    address: "139 1234 5678".into(),
                    name: Some(" 王经理 ".into()),
                    locale: Locale::ZhCn,
                    daily_report: true,
                },
                EscalationContact {
                    channel: EscalationChannel::Email,
                    address: "Wang@Example.com".into(),
                    name: None,
                    locale: Locale::En,
                    daily_report: false,
                },
            ],
            ..CaseRules::default()
        };
        r.lexicon[0].words = "  不满意 ".into();
        let ok = r.clone().validated().unwrap();
        assert_eq!(ok.escalate_to[0].address, "+8613912345678");
        assert_eq!(ok.escalate_to[0].name.as_deref(), Some("王经理"));
        assert_eq!(ok.escalate_to[1].address, "wang@example.com");
        assert_eq!(ok.lexicon[0].words, "不满意");
        // the same mobile written two ways is one person
        let mut twice = r.clone();
        twice.escalate_to[1] = EscalationContact {
            channel: EscalationChannel::Sms,
            address: "+86 139-1234-5678".into(),
            name: None,
            locale: Locale::En,
            daily_report: true,
        };
        let e = twice.validated().unwrap_err().0;
        assert_eq!(
            (e[0].field.as_str(), e[0].message.as_str()),
            ("escalate_to[1].address", "appears twice")
        );
        r.section_floor = 101;
        r.contact_within_hours = 0;
        r.lexicon[3].words = "a\u{7}b".into();
        r.lexicon[4].words = "x".repeat(41);
        r.escalate_to[0].address = "12345".into();
        r.escalate_to[1].channel = EscalationChannel::Sms;
        let fields: Vec<String> = r
            .validated()
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "section_floor",
                "contact_within_hours",
                "lexicon[3].words",
                "lexicon[4].words",
                "escalate_to[0].address",
                "escalate_to[1].address"
            ]
        );
        let many = CaseRules {
            lexicon: vec![entry("x", CaseCategory::Other); MAX_LEXICON + 1],
            ..CaseRules::default()
        };
        assert_eq!(many.validated().unwrap_err().0[0].field, "lexicon");
        // rules stored before `escalate_to` existed still read
        let mut old = serde_json::to_value(CaseRules::default()).unwrap();
        old.as_object_mut().unwrap().remove("escalate_to");
        let read: CaseRules = serde_json::from_value(old).unwrap();
        assert!(read.escalate_to.is_empty());
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
        assert_eq!(
            late(CaseState::Open, contact, resolve, later),
            Some(Late::Contact)
        );
        assert_eq!(
            late(
                CaseState::ActionAgreed,
                contact,
                resolve,
                t0 + Duration::days(8)
            ),
            Some(Late::Resolution)
        );
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
