//! The customer archive (客户档案): contact preferences, birthday and consents.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::validation::{self, FieldErrors};

string_enum! {
    /// How a customer prefers to be reached.
    pub enum Channel { Sms = "sms", Email = "email", App = "app", Wechat = "wechat" }
}

string_enum! {
    /// The language customers read; zh-CN first.
    pub enum Locale { ZhCn = "zh-CN", En = "en" }
}

string_enum! {
    pub enum Calendar { Solar = "solar", Lunar = "lunar" }
}

string_enum! {
    /// How a consent was given or withdrawn: in the app, on a paper form, at
    /// reception, on a recorded phone call, carried over by an import, by an
    /// email's unsubscribe link, or by an SMS reply (`TD`, `退订`, `STOP`).
    pub enum ConsentSource {
        App = "app",
        PaperForm = "paper_form",
        Reception = "reception",
        PhoneCall = "phone_call",
        Import = "import",
        UnsubscribeLink = "unsubscribe_link",
        SmsReply = "sms_reply",
    }
}

string_enum! {
    /// What a consent covers: service messages (reminders, follow-ups) or marketing.
    pub enum Purpose { Service = "service", Marketing = "marketing" }
}

/// A birthday; a lunar one is month, day and leap-month flag (农历闰月).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Birthday {
    pub calendar: Calendar,
    #[schema(minimum = 1, maximum = 12)]
    pub month: u8,
    #[schema(minimum = 1, maximum = 31)]
    pub day: u8,
    #[serde(default)]
    pub leap: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
}

impl Birthday {
    /// Checks the date can exist in its calendar; records problems under `field.*`.
    pub fn validate(&self, field: &str, today: NaiveDate, errors: &mut FieldErrors) {
        let before = errors.0.len();
        if !(1..=12).contains(&self.month) {
            errors.add(format!("{field}.month"), "must be 1 to 12");
        }
        if let Some(y) = self.year
            && (y < 1900 || y > today.year())
        {
            errors.add(
                format!("{field}.year"),
                format!("must be between 1900 and {}", today.year()),
            );
        }
        if errors.0.len() > before {
            return;
        }
        match self.calendar {
            Calendar::Solar => {
                if self.leap {
                    errors.add(
                        format!("{field}.leap"),
                        "only a lunar birthday has a leap month",
                    );
                }
                // 2000 is a leap year, so 29 February is allowed when the year is unknown
                let y = self.year.unwrap_or(2000);
                if NaiveDate::from_ymd_opt(y, self.month.into(), self.day.into()).is_none() {
                    errors.add(format!("{field}.day"), "is not a day of that month");
                }
            }
            Calendar::Lunar => {
                if !(1..=30).contains(&self.day) {
                    errors.add(format!("{field}.day"), "a lunar month has 29 or 30 days");
                }
            }
        }
    }
}

/// A customer's consent to be contacted on one channel for one purpose, with
/// when and how it was given (PIPL asks for proof).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Consent {
    pub channel: Channel,
    pub purpose: Purpose,
    pub granted: bool,
    pub source: ConsentSource,
    /// When it was given; defaults to now.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

pub const MAX_NAME: usize = 50;
pub const MAX_EMAIL: usize = 254;
pub const MAX_NOTES: usize = 2000;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG: usize = 32;

/// An address the email channel can send to: checked by the same parser the
/// sender uses (`lettre`), so an address accepted here never fails later as
/// "not an email address" (`a..b@x.com` and `a,b@x.com` were once accepted
/// here and refused by the sender). The domain must have a dot.
pub fn parse_email(v: &str) -> Result<String, String> {
    let v = validation::text(v, MAX_EMAIL)?.to_lowercase();
    let bare = v
        .parse::<lettre::message::Mailbox>()
        .is_ok_and(|m| m.name.is_none() && m.email.to_string() == v);
    let dotted = v
        .rsplit_once('@')
        .is_some_and(|(_, domain)| domain.contains('.') && !domain.ends_with('.'));
    if bare && dotted {
        Ok(v)
    } else {
        Err("is not an email address".into())
    }
}

pub fn parse_tags(tags: &[String], errors: &mut FieldErrors) -> Vec<String> {
    if tags.len() > MAX_TAGS {
        errors.add("tags", format!("at most {MAX_TAGS} tags"));
        return vec![];
    }
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for (i, t) in tags.iter().enumerate() {
        if let Some(t) = errors.check(&format!("tags[{i}]"), validation::text(t, MAX_TAG))
            && !out.contains(&t)
        {
            out.push(t);
        }
    }
    out
}

/// Keeps the latest statement per (channel, purpose), stamping missing times with `now`.
pub fn parse_consents(
    consents: &[Consent],
    now: DateTime<Utc>,
    errors: &mut FieldErrors,
) -> Vec<Consent> {
    let mut out: Vec<Consent> = Vec::new();
    for (i, c) in consents.iter().enumerate() {
        if c.at.is_some_and(|at| at > now) {
            errors.add(format!("consents[{i}].at"), "must not be in the future");
            continue;
        }
        if c.at.is_some_and(|at| at.year() < super::dates::FIRST_YEAR) {
            errors.add(
                format!("consents[{i}].at"),
                format!("must not be before {}", super::dates::FIRST_YEAR),
            );
            continue;
        }
        let c = Consent {
            at: Some(c.at.unwrap_or(now)),
            ..c.clone()
        };
        out.retain(|o| !(o.channel == c.channel && o.purpose == c.purpose));
        out.push(c);
    }
    out
}

/// Whether the customer may be contacted on `channel` for `purpose`. Service
/// messages are allowed unless refused; marketing needs an explicit yes.
pub fn may_contact(consents: &[Consent], channel: Channel, purpose: Purpose) -> bool {
    match consents
        .iter()
        .find(|c| c.channel == channel && c.purpose == purpose)
    {
        Some(c) => c.granted,
        None => purpose == Purpose::Service,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
    }

    fn check(b: Birthday) -> Vec<String> {
        let mut e = FieldErrors::new();
        b.validate("birthday", today(), &mut e);
        e.0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn birthdays_are_checked_in_their_own_calendar() {
        let solar = |month, day, year| Birthday {
            calendar: Calendar::Solar,
            month,
            day,
            leap: false,
            year,
        };
        assert!(check(solar(2, 29, None)).is_empty());
        assert_eq!(check(solar(2, 29, Some(2001))), ["birthday.day"]);
        assert_eq!(check(solar(13, 1, None)), ["birthday.month"]);
        let lunar = Birthday {
            calendar: Calendar::Lunar,
            month: 4,
            day: 30,
            leap: true,
            year: None,
        };
        assert!(check(lunar).is_empty());
        assert_eq!(check(Birthday { day: 31, ..lunar }), ["birthday.day"]);
        assert_eq!(
            check(Birthday {
                leap: true,
                ..solar(5, 1, None)
            }),
            ["birthday.leap"]
        );
    }

    #[test]
    fn marketing_needs_a_yes_and_service_only_a_missing_no() {
        let now = Utc::now();
        let c = vec![Consent {
            channel: Channel::Sms,
            purpose: Purpose::Service,
            granted: false,
            source: ConsentSource::App,
            at: Some(now),
        }];
        assert!(!may_contact(&c, Channel::Sms, Purpose::Service));
        assert!(may_contact(&c, Channel::Email, Purpose::Service));
        assert!(!may_contact(&c, Channel::Email, Purpose::Marketing));
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            parse_email(" Li.Na@Example.COM ").unwrap(),
            "li.na@example.com"
        );
        assert!(parse_email("li.na@").is_err());
        assert!(parse_email("li na@example.com").is_err());
        // what the sender would refuse is refused here
        for bad in [
            "a..b@example.com",
            ".a@example.com",
            "a.@example.com",
            "first,last@example.com",
            "Li <li@example.com>",
            "li@example",
            "li@example.com.",
            "li@@example.com",
            "@example.com",
        ] {
            assert!(parse_email(bad).is_err(), "{bad}");
        }
        for good in [
            "a+tag@example.cn",
            "wang_xm-1@mail.example.com.cn",
            "王@例子.中国",
        ] {
            assert_eq!(parse_email(good).as_deref(), Ok(good), "{good}");
        }
    }
}
