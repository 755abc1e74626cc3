//! The rules a message meets when it leaves, as pure functions: the dealer's
//! sending window (quiet hours), the marketing cap, and the fallback chain
//! of channels.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use serde::{Deserialize, Serialize};

use crate::domain::FieldErrors;
use crate::domain::customer::Channel;

/// Local times between which messages that are not transactional may leave:
/// `[start, end)` in the dealer's zone. `start > end` spans midnight;
/// `start == end` is open all day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendWindow {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl Default for SendWindow {
    fn default() -> Self {
        SendWindow {
            start: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
            end: NaiveTime::from_hms_opt(20, 0, 0).unwrap_or_default(),
        }
    }
}

impl SendWindow {
    /// Whether a local time of day falls inside the window.
    pub fn contains(&self, t: NaiveTime) -> bool {
        use std::cmp::Ordering::*;
        match self.start.cmp(&self.end) {
            Less => self.start <= t && t < self.end,
            Greater => t >= self.start || t < self.end,
            Equal => true,
        }
    }

    /// `None` when a message may leave at `at`; otherwise the next opening
    /// of the window (in UTC), which is never earlier than `at`.
    pub fn next_opening(&self, at: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let local = at.with_timezone(&tz);
        if self.contains(local.time()) {
            return None;
        }
        // outside the window the next start is today's, unless it has passed
        let mut day = local.date_naive();
        if local.time() >= self.start {
            day = day.succ_opt()?;
        }
        // a start that falls in a clock change's gap opens at the first
        // minute that exists after it
        (0..=180).find_map(|m| {
            let t = day.and_time(self.start) + Duration::minutes(m);
            tz.from_local_datetime(&t)
                .earliest()
                .map(|d| d.with_timezone(&Utc))
                .filter(|d| *d >= at)
        })
    }
}

/// Minutes after midnight, as stored.
pub fn minutes_of(t: NaiveTime) -> i32 {
    (t.hour() * 60 + t.minute()) as i32
}

/// The time of day `minutes` after midnight (0 ≤ minutes < 1440).
pub fn time_of(minutes: i32) -> Option<NaiveTime> {
    let m = u32::try_from(minutes).ok()?;
    NaiveTime::from_hms_opt(m / 60, m % 60, 0)
}

/// A dealer's rules for care messages (`GET/PUT /api/v1/care/settings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CareRules {
    /// Local time from which messages that are not transactional may leave.
    #[schema(value_type = String, example = "09:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    #[serde(with = "crate::domain::schedule::hhmm")]
    pub send_window_start: NaiveTime,
    /// Local time until which they may leave (before `start`: the window spans midnight).
    #[schema(value_type = String, example = "20:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    #[serde(with = "crate::domain::schedule::hhmm")]
    pub send_window_end: NaiveTime,
    /// Marketing messages one customer receives at most within `marketing_cap_days`.
    #[schema(minimum = 1, maximum = 50)]
    pub marketing_cap: u32,
    #[schema(minimum = 1, maximum = 90)]
    pub marketing_cap_days: u32,
}

impl Default for CareRules {
    fn default() -> Self {
        let w = SendWindow::default();
        CareRules {
            send_window_start: w.start,
            send_window_end: w.end,
            marketing_cap: 3,
            marketing_cap_days: 7,
        }
    }
}

pub const MAX_MARKETING_CAP: u32 = 50;
pub const MAX_CAP_DAYS: u32 = 90;

impl CareRules {
    pub fn window(&self) -> SendWindow {
        SendWindow {
            start: self.send_window_start,
            end: self.send_window_end,
        }
    }

    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::new();
        if !(1..=MAX_MARKETING_CAP).contains(&self.marketing_cap) {
            e.add("marketing_cap", format!("must be 1 to {MAX_MARKETING_CAP}"));
        }
        if !(1..=MAX_CAP_DAYS).contains(&self.marketing_cap_days) {
            e.add("marketing_cap_days", format!("must be 1 to {MAX_CAP_DAYS}"));
        }
        e.into_result()
    }
}

/// When a marketing message held by the cap may leave: once the oldest of
/// the messages counted against it is `days` old. `None` when the cap is
/// not reached. `recent` are the send times of the customer's marketing
/// messages in the last `days` (or in flight, as `now`).
pub fn cap_release(
    recent: &[DateTime<Utc>],
    cap: u32,
    days: u32,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if (recent.len() as u64) < u64::from(cap) {
        return None;
    }
    let mut sorted = recent.to_vec();
    sorted.sort();
    // the count drops below the cap when enough of the oldest have aged out
    let must_age = sorted.len() + 1 - cap as usize;
    let release = sorted[must_age - 1] + Duration::days(i64::from(days));
    Some(release.max(now + Duration::minutes(1)))
}

string_enum! {
    /// A channel whose operator sends only pre-approved templates.
    pub enum TemplateChannel { Sms = "sms", Wechat = "wechat" }
}

string_enum! {
    /// What an inbound SMS did.
    pub enum InboundAction {
        /// An opt-out keyword: the number gets no more SMS from the dealers it belongs to.
        OptedOut = "opted_out",
        /// A digit 1–5 (and maybe words) answering a follow-up: a quick rating.
        Rated = "rated",
        /// Other words answering a follow-up: a comment on it.
        Commented = "commented",
        /// Nothing this build acts on (kept for the customer centre's later use).
        Ignored = "ignored",
    }
}

/// A reply to a follow-up read as a quick rating: a digit 1–5 first
/// (half- or full-width), then maybe words (`2 太贵了`). `None` when it does
/// not start so.
pub fn quick_rating(text: &str) -> Option<(u8, String)> {
    let t = text.trim();
    let mut chars = t.chars();
    let first = chars.next()?;
    let digit = match first {
        '1'..='5' => first as u8 - b'0',
        '\u{FF11}'..='\u{FF15}' => (first as u32 - 0xFF10) as u8,
        _ => return None,
    };
    let rest: String = chars.collect();
    // "10" or "25" is not a rating of 1–5
    if rest.starts_with(|c: char| c.is_ascii_digit() || ('\u{FF10}'..='\u{FF19}').contains(&c)) {
        return None;
    }
    let rest = rest.trim_start_matches(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '分' | '星' | ',' | '，' | '.' | '。' | ':' | '：' | '\u{3000}'
            )
    });
    Some((digit, rest.trim().to_string()))
}

/// Whether an SMS reply asks for no more messages: `TD`, `退订`, `STOP` or
/// `UNSUBSCRIBE`, in any case, full- or half-width, with spaces or a
/// trailing punctuation mark around it.
pub fn is_opt_out(text: &str) -> bool {
    let word: String = text
        .chars()
        // full-width ASCII (ＴＤ) to half-width
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .filter(|c| !c.is_whitespace() && !matches!(c, '.' | '!' | '。' | '！' | '\u{3000}'))
        .collect::<String>()
        .to_uppercase();
    matches!(word.as_str(), "TD" | "退订" | "STOP" | "UNSUBSCRIBE")
}

/// The order in which channels are tried for a customer message: the
/// customer's preferred channel first, then WeChat, the app (push), SMS and
/// email.
pub fn fallback_chain(preferred: Channel) -> Vec<Channel> {
    let mut chain = vec![preferred];
    chain.extend(
        [Channel::Wechat, Channel::App, Channel::Sms, Channel::Email]
            .into_iter()
            .filter(|c| *c != preferred),
    );
    chain
}

/// The channel after `current` in `chain` that `usable` accepts (the
/// customer has an address there), if any.
pub fn next_channel(
    chain: &[Channel],
    current: Channel,
    usable: impl Fn(Channel) -> bool,
) -> Option<Channel> {
    let at = chain.iter().position(|c| *c == current)?;
    chain[at + 1..].iter().copied().find(|c| usable(*c))
}

/// The first channel of `chain` that `usable` accepts.
pub fn first_channel(chain: &[Channel], usable: impl Fn(Channel) -> bool) -> Option<Channel> {
    chain.iter().copied().find(|c| usable(*c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_starting_with_1_to_5_is_a_quick_rating() {
        assert_eq!(quick_rating("2 太贵了"), Some((2, "太贵了".into())));
        assert_eq!(quick_rating("５"), Some((5, String::new())));
        assert_eq!(quick_rating(" 4分，很满意"), Some((4, "很满意".into())));
        assert_eq!(quick_rating("10"), None);
        assert_eq!(quick_rating("6"), None);
        assert_eq!(quick_rating("没修好"), None);
        assert_eq!(quick_rating(""), None);
    }

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_window_opens_at_nine_local_and_closes_at_eight() {
        let w = SendWindow::default();
        let sh: Tz = "Asia/Shanghai".parse().unwrap();
        // 23:00 in Shanghai is 15:00 UTC: the next opening is 09:00 local tomorrow
        assert_eq!(
            w.next_opening(utc("2027-03-01T15:00:00Z"), sh),
            Some(utc("2027-03-02T01:00:00Z"))
        );
        // 07:30 local: today at nine
        assert_eq!(
            w.next_opening(utc("2027-03-01T23:30:00Z"), sh),
            Some(utc("2027-03-02T01:00:00Z"))
        );
        // 09:00 sharp and 19:59 are inside; 20:00 is not
        assert_eq!(w.next_opening(utc("2027-03-02T01:00:00Z"), sh), None);
        assert_eq!(w.next_opening(utc("2027-03-02T11:59:00Z"), sh), None);
        assert!(w.next_opening(utc("2027-03-02T12:00:00Z"), sh).is_some());
    }

    #[test]
    fn a_window_across_midnight_and_an_all_day_one() {
        let night = SendWindow {
            start: hm(22, 0),
            end: hm(6, 0),
        };
        assert!(night.contains(hm(23, 0)) && night.contains(hm(5, 59)));
        assert!(!night.contains(hm(6, 0)) && !night.contains(hm(12, 0)));
        let utc_tz: Tz = "UTC".parse().unwrap();
        assert_eq!(
            night.next_opening(utc("2027-03-01T12:00:00Z"), utc_tz),
            Some(utc("2027-03-01T22:00:00Z"))
        );
        let all = SendWindow {
            start: hm(0, 0),
            end: hm(0, 0),
        };
        assert_eq!(all.next_opening(utc("2027-03-01T03:00:00Z"), utc_tz), None);
    }

    #[test]
    fn an_opening_inside_a_clock_change_gap_moves_to_the_first_real_minute() {
        // New York springs forward at 02:00 on 2027-03-14: 02:30 does not exist
        let ny: Tz = "America/New_York".parse().unwrap();
        let w = SendWindow {
            start: hm(2, 30),
            end: hm(20, 0),
        };
        let at = utc("2027-03-14T06:00:00Z"); // 01:00 EST
        let open = w.next_opening(at, ny).unwrap();
        assert_eq!(open, utc("2027-03-14T07:00:00Z")); // 03:00 EDT
    }

    #[test]
    fn the_cap_holds_the_fourth_until_the_oldest_ages_out() {
        let now = utc("2027-03-08T10:00:00Z");
        let sent = [
            utc("2027-03-02T10:00:00Z"),
            utc("2027-03-05T10:00:00Z"),
            utc("2027-03-07T10:00:00Z"),
        ];
        assert_eq!(cap_release(&sent[..2], 3, 7, now), None);
        assert_eq!(
            cap_release(&sent, 3, 7, now),
            Some(utc("2027-03-09T10:00:00Z"))
        );
        // over the cap (a lowered setting): the count must fall below it
        assert_eq!(
            cap_release(&sent, 2, 7, now),
            Some(utc("2027-03-12T10:00:00Z"))
        );
        // only messages in flight: try again a little later, never now
        assert_eq!(
            cap_release(&[now, now, now], 3, 7, now),
            Some(now + Duration::days(7))
        );
        let rules = CareRules {
            marketing_cap: 0,
            marketing_cap_days: 91,
            ..CareRules::default()
        };
        let e = rules.validate().unwrap_err();
        assert_eq!(e.0.len(), 2);
        assert!(CareRules::default().validate().is_ok());
    }

    #[test]
    fn opt_out_words_are_read_loosely_and_nothing_else_is() {
        for yes in [
            "TD",
            "td",
            " Td ",
            "ＴＤ",
            "退订",
            "退订。",
            "STOP",
            "stop!",
            "Unsubscribe",
        ] {
            assert!(is_opt_out(yes), "{yes}");
        }
        for no in ["", "10", "TDD", "不要退订了谢谢", "stop by tomorrow", "好"] {
            assert!(!is_opt_out(no), "{no}");
        }
    }

    #[test]
    fn the_chain_starts_at_the_preferred_channel_and_skips_unusable_ones() {
        use Channel::*;
        assert_eq!(fallback_chain(App), vec![App, Wechat, Sms, Email]);
        assert_eq!(fallback_chain(Email), vec![Email, Wechat, App, Sms]);
        let chain = fallback_chain(App);
        assert_eq!(next_channel(&chain, App, |c| c != Wechat), Some(Sms));
        assert_eq!(
            next_channel(&chain, App, |c| c != Sms && c != Wechat),
            Some(Email)
        );
        assert_eq!(next_channel(&chain, Email, |_| true), None);
        assert_eq!(
            first_channel(&chain, |c| c != App && c != Wechat),
            Some(Sms)
        );
        assert_eq!(time_of(minutes_of(hm(20, 0))), Some(hm(20, 0)));
        assert_eq!(time_of(1440), None);
        assert_eq!(time_of(-1), None);
    }
}
