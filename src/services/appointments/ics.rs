//! The appointment as an iCalendar file (RFC 5545) a phone calendar imports,
//! in the dealer's time zone.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::{OffsetComponents, Tz};

use crate::entities::{appointment, dealer, vehicle};

/// Escapes TEXT values (RFC 5545 §3.3.11). A line break of any kind becomes
/// `\n` and other control characters are dropped: a raw CR would end the
/// content line and let stored text forge properties (rows written before
/// input refused control characters may still hold one).
fn text(s: &str) -> String {
    s.replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|c| *c == '\n' || !c.is_control())
        .collect::<String>()
        .replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

/// Folds lines longer than 75 octets (§3.1), never inside a UTF-8 character.
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut len = 0;
    for c in line.chars() {
        if len + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            len = 1;
        }
        out.push(c);
        len += c.len_utf8();
    }
    out
}

fn offset(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let s = secs.abs();
    format!("{sign}{:02}{:02}", s / 3600, (s % 3600) / 60)
}

pub fn render(
    a: &appointment::Model,
    d: &dealer::Model,
    tz: Tz,
    v: &vehicle::Model,
    summary: &str,
    now: DateTime<Utc>,
) -> String {
    let start = a.slot_start.with_timezone(&tz);
    let end = (a.slot_start + Duration::minutes(a.duration_minutes.into())).with_timezone(&tz);
    let std_offset = start.offset().base_utc_offset().num_seconds() as i32;
    let total = std_offset + start.offset().dst_offset().num_seconds() as i32;
    let local = |t: DateTime<Tz>| t.format("%Y%m%dT%H%M%S").to_string();
    let lines = [
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".into(),
        "PRODID:-//servicelane//appointments//ZH".into(),
        "CALSCALE:GREGORIAN".into(),
        "METHOD:PUBLISH".into(),
        "BEGIN:VTIMEZONE".into(),
        format!("TZID:{}", d.timezone),
        // the offset in force at the appointment, enough to place it exactly
        "BEGIN:STANDARD".into(),
        "DTSTART:19700101T000000".into(),
        format!("TZOFFSETFROM:{}", offset(total)),
        format!("TZOFFSETTO:{}", offset(total)),
        "END:STANDARD".into(),
        "END:VTIMEZONE".into(),
        "BEGIN:VEVENT".into(),
        format!("UID:{}@servicelane", a.id),
        format!("DTSTAMP:{}", now.format("%Y%m%dT%H%M%SZ")),
        format!("DTSTART;TZID={}:{}", d.timezone, local(start)),
        format!("DTEND;TZID={}:{}", d.timezone, local(end)),
        format!("SUMMARY:{}", text(summary)),
        format!("LOCATION:{}", text(&d.name)),
        format!(
            "DESCRIPTION:{}",
            text(&format!(
                "{} {} {}",
                v.plate.clone().unwrap_or_default(),
                v.make,
                v.model
            ))
        ),
        format!("SEQUENCE:{}", a.version),
        "STATUS:CONFIRMED".into(),
        "END:VEVENT".into(),
        "END:VCALENDAR".into(),
    ];
    lines
        .iter()
        .map(|l| fold(l))
        .collect::<Vec<_>>()
        .join("\r\n")
        + "\r\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_fold_between_characters_and_text_is_escaped() {
        let long = format!("SUMMARY:{}", "保养".repeat(40));
        let folded = fold(&long);
        assert!(folded.split("\r\n").all(|l| l.len() <= 75));
        assert_eq!(folded.replace("\r\n ", ""), long);
        assert_eq!(text("a,b;c\nd"), "a\\,b\\;c\\nd");
        assert_eq!(text("VW\r\nDTSTART:x\u{0}"), "VW\\nDTSTART:x");
        assert_eq!(offset(8 * 3600), "+0800");
        assert_eq!(offset(-(3 * 3600 + 1800)), "-0330");
    }
}
