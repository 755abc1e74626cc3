//! Pure rules of the customer import: which columns are read, how dates and
//! numbers written by Excel or a DMS are understood, and the report's words in
//! zh-CN and English.

use chrono::{Datelike, NaiveDate};

use crate::domain::FieldError;
use crate::domain::customer::{Birthday, Calendar, Locale};

string_enum! {
    /// Where an import job stands.
    pub enum JobState { Queued = "queued", Running = "running", Done = "done", Failed = "failed" }
}

/// Column keys, their zh-CN label (the header the export writes), and every
/// header name read for them, English or as Chinese DMS exports name them.
pub const COLUMNS: &[(&str, &str, &[&str])] = &[
    ("name", "姓名", &["name", "姓名", "客户姓名"]),
    (
        "phone",
        "手机",
        &["phone", "mobile", "手机", "手机号", "联系电话"],
    ),
    ("email", "邮箱", &["email", "邮箱"]),
    ("birthday", "生日", &["birthday", "生日"]),
    ("vin", "车架号", &["vin", "车架号", "vin码"]),
    ("plate", "车牌", &["plate", "车牌", "车牌号"]),
    ("make", "品牌", &["make", "品牌"]),
    ("model", "车型", &["model", "车型"]),
    ("model_year", "年款", &["model_year", "年款"]),
    ("purchase_date", "购车日期", &["purchase_date", "购车日期"]),
    (
        "first_registration_date",
        "初登日期",
        &["first_registration_date", "初登日期"],
    ),
    (
        "inspection_due",
        "年检到期",
        &["inspection_due", "年检到期"],
    ),
    (
        "compulsory_insurance_expiry",
        "交强险到期",
        &["compulsory_insurance_expiry", "交强险到期"],
    ),
    (
        "commercial_insurance_expiry",
        "商业险到期",
        &["commercial_insurance_expiry", "商业险到期"],
    ),
    (
        "last_service_date",
        "上次保养日期",
        &["last_service_date", "上次保养日期"],
    ),
    (
        "last_service_km",
        "上次保养里程",
        &["last_service_km", "上次保养里程"],
    ),
];

/// The columns a file must have.
pub const REQUIRED: &[&str] = &["name", "phone", "vin", "make", "model"];

/// The vehicle's columns: a row with all of them empty is a customer alone.
pub const VEHICLE_COLUMNS: &[&str] = &[
    "vin",
    "plate",
    "make",
    "model",
    "model_year",
    "purchase_date",
    "first_registration_date",
    "inspection_due",
    "compulsory_insurance_expiry",
    "commercial_insurance_expiry",
    "last_service_date",
    "last_service_km",
];

/// The column key a header names, if any (case, spaces and a BOM ignored).
pub fn column_of(header: &str) -> Option<&'static str> {
    let h = header.trim_start_matches('\u{feff}').trim().to_lowercase();
    COLUMNS
        .iter()
        .find(|(_, _, names)| names.contains(&h.as_str()))
        .map(|(k, _, _)| *k)
}

/// A text cell for a CSV that Excel will open: a value starting with `=`, `+`,
/// `-` or `@` would be run as a formula (CSV injection), so it is written with
/// a leading `'`, which Excel shows as text and [`unescape_cell`] removes.
pub fn csv_safe(v: &str) -> std::borrow::Cow<'_, str> {
    if v.starts_with(['=', '+', '-', '@']) {
        format!("'{v}").into()
    } else {
        v.into()
    }
}

/// A cell as it was before [`csv_safe`].
pub fn unescape_cell(v: &str) -> &str {
    match v.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest,
        _ => v,
    }
}

/// The Excel serial date (1900 system) of a number, when it is one: the
/// integral part counts days from 1899-12-30 (serials below 61 sit before
/// Excel's phantom 29 February 1900 and are one day off, so they are refused).
pub fn excel_serial_date(serial: f64) -> Option<NaiveDate> {
    if !(61.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30)?;
    epoch.checked_add_days(chrono::Days::new(serial.trunc() as u64))
}

/// A date as people and programs write it: `2024-03-12`, `2024/3/12`,
/// `2024.03.12`, `2024年3月12日`, any of them followed by a time, or an Excel
/// serial number such as `45363`.
pub fn parse_date(v: &str) -> Option<NaiveDate> {
    let v = v.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.') && v.len() <= 12 {
        // 20240312 is a date written without separators, not a serial number
        if v.len() == 8
            && let Ok(d) = NaiveDate::parse_from_str(v, "%Y%m%d")
        {
            return Some(d);
        }
        if let Ok(n) = v.parse::<f64>()
            && v.len() <= 9
        {
            return excel_serial_date(n);
        }
    }
    let date_part = v.split([' ', 'T']).next().unwrap_or_default();
    let normalised: String = date_part
        .replace(['/', '.', '年', '月'], "-")
        .trim_end_matches('日')
        .to_string();
    let parts: Vec<&str> = normalised.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return None;
    };
    if y.len() != 4 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// A number cell as text: integral values lose the `.0` Excel stores, so a
/// phone typed as a number reads `13800000001`, not `13800000001.0`.
pub fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// `1985-03-12` (or any form [`parse_date`] reads) is solar; `农历03-15`,
/// `农历闰04-15`, `农历1985-03-15` or `lunar:03-15` are lunar; `03-12` is a
/// solar birthday without a year.
pub fn parse_birthday(v: &str) -> Result<Birthday, String> {
    let v = v.trim();
    let bad = || format!("'{v}' is not YYYY-MM-DD or 农历MM-DD");
    let (lunar, rest) = match v.strip_prefix("农历").or_else(|| v.strip_prefix("lunar:")) {
        Some(r) => (true, r),
        None => (false, v),
    };
    if !lunar && let Some(d) = parse_date(rest) {
        return Ok(Birthday {
            calendar: Calendar::Solar,
            month: d.month() as u8,
            day: d.day() as u8,
            leap: false,
            year: Some(d.year()),
        });
    }
    let (leap, rest) = match rest
        .strip_prefix('闰')
        .or_else(|| rest.strip_prefix("leap-"))
    {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let nums: Result<Vec<i32>, _> = rest.split(['-', '/']).map(str::parse::<i32>).collect();
    let nums = nums.map_err(|_| bad())?;
    let (year, month, day) = match nums.as_slice() {
        [y, m, d] => (Some(*y), *m, *d),
        [m, d] => (None, *m, *d),
        _ => return Err(bad()),
    };
    Ok(Birthday {
        calendar: if lunar {
            Calendar::Lunar
        } else {
            Calendar::Solar
        },
        month: u8::try_from(month).map_err(|_| bad())?,
        day: u8::try_from(day).map_err(|_| bad())?,
        leap,
        year,
    })
}

/// A birthday as the import reads it back ([`parse_birthday`]).
pub fn format_birthday(b: &Birthday) -> String {
    let year = b.year.map(|y| format!("{y:04}-")).unwrap_or_default();
    match b.calendar {
        Calendar::Solar => format!("{year}{:02}-{:02}", b.month, b.day),
        Calendar::Lunar => format!(
            "农历{}{year}{:02}-{:02}",
            if b.leap { "闰" } else { "" },
            b.month,
            b.day
        ),
    }
}

/// One reason a row was rejected, in the report's language: `phone: is not …`
/// in English, `手机：不是…` in Chinese.
pub fn describe(reason: &FieldError, locale: Locale) -> String {
    match locale {
        Locale::En => format!("{}: {}", reason.field, reason.message),
        Locale::ZhCn => {
            let key = reason.field.split(['.', '[']).next().unwrap_or_default();
            let label = COLUMNS
                .iter()
                .find(|(k, _, _)| *k == key)
                .map(|(_, l, _)| *l)
                .unwrap_or(key);
            let sub = &reason.field[key.len()..];
            let sub = match sub {
                ".year" => "（年）",
                ".month" => "（月）",
                ".day" => "（日）",
                ".leap" => "（闰月）",
                _ => sub,
            };
            format!("{label}{sub}：{}", zh(&reason.message))
        }
    }
}

/// English messages of the rules and their Chinese; `{}` stands for a value.
const ZH: &[(&str, &str)] = &[
    ("must not be empty", "不能为空"),
    (
        "must be at most {} characters (got {})",
        "最多 {} 个字符（实际 {} 个）",
    ),
    (
        "is not a mainland mobile number (11 digits starting 13-19) or an international number starting with +",
        "不是大陆手机号（13–19 开头的 11 位数字），也不是以 + 开头的国际号码",
    ),
    (
        "must be exactly 17 characters (got {})",
        "必须是 17 位（实际 {} 位）",
    ),
    (
        "character '{}' is not allowed (letters I, O and Q are never used)",
        "不允许字符“{}”（车架号不用字母 I、O、Q）",
    ),
    (
        "check digit in position 9 is '{}', expected '{}'",
        "第 9 位校验位是“{}”，应为“{}”",
    ),
    (
        "must start with a province abbreviation such as 京, 沪 or 粤",
        "必须以省份简称开头，如 京、沪、粤",
    ),
    (
        "second character must be the issuing-authority letter A-Z",
        "第二位必须是发牌机关代号 A–Z",
    ),
    (
        "must be 7 characters, or 8 for a new-energy plate (got {})",
        "必须是 7 位，新能源车牌 8 位（实际 {} 位）",
    ),
    ("is not a valid plate number", "不是有效的车牌号"),
    ("is not an email address", "不是有效的邮箱地址"),
    ("must be between {} and {}", "必须在 {} 到 {} 之间"),
    ("must not be in the future", "不能晚于今天"),
    ("must be 1 to 12", "必须是 1 到 12"),
    ("is not a day of that month", "不是该月的日期"),
    ("a lunar month has 29 or 30 days", "农历月只有 29 或 30 天"),
    (
        "only a lunar birthday has a leap month",
        "只有农历生日才有闰月",
    ),
    (
        "'{}' is not a date (YYYY-MM-DD)",
        "“{}”不是日期（年-月-日）",
    ),
    ("'{}' is not a number", "“{}”不是数字"),
    (
        "'{}' is not YYYY-MM-DD or 农历MM-DD",
        "“{}”不是 年-月-日 或 农历月-日",
    ),
    ("{} belongs to another customer", "{} 属于另一位客户"),
    ("{} is already on another vehicle", "{} 已在另一辆车上"),
    ("database: {}", "数据库错误：{}"),
    (
        "must not contain control characters (found {})",
        "不能包含控制字符（发现 {}）",
    ),
];

/// The Chinese of a rule's English message; a message not in the table is
/// left in English rather than guessed.
fn zh(message: &str) -> String {
    for (en, zh) in ZH {
        if let Some(values) = match_template(en, message) {
            let mut out = String::new();
            let mut values = values.into_iter();
            let mut pieces = zh.split("{}").peekable();
            while let Some(p) = pieces.next() {
                out.push_str(p);
                if pieces.peek().is_some() {
                    out.push_str(values.next().unwrap_or_default());
                }
            }
            return out;
        }
    }
    message.to_string()
}

/// The values standing for `{}` when `text` has the shape of `template`.
fn match_template<'a>(template: &str, text: &'a str) -> Option<Vec<&'a str>> {
    let pieces: Vec<&str> = template.split("{}").collect();
    let mut rest = text.strip_prefix(pieces[0])?;
    let mut values = Vec::new();
    for (i, piece) in pieces.iter().enumerate().skip(1) {
        let last = i == pieces.len() - 1;
        let at = if last {
            rest.strip_suffix(piece).map(|r| r.len())?
        } else if piece.is_empty() {
            return None;
        } else {
            rest.find(piece)?
        };
        values.push(&rest[..at]);
        rest = &rest[at + piece.len()..];
    }
    if pieces.len() == 1 && !rest.is_empty() {
        return None;
    }
    Some(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_read_as_excel_and_people_write_them() {
        let d = NaiveDate::from_ymd_opt(2024, 3, 12).unwrap();
        for v in [
            "2024-03-12",
            "2024/3/12",
            "2024.03.12",
            "2024年3月12日",
            "2024-03-12 00:00:00",
            "20240312",
            "45363",
            "45363.0",
        ] {
            assert_eq!(parse_date(v), Some(d), "{v}");
        }
        assert_eq!(parse_date("12/03/2024"), None);
        assert_eq!(parse_date("2024-02-30"), None);
        assert_eq!(parse_date("12"), None);
    }

    #[test]
    fn a_cell_excel_would_run_as_a_formula_is_written_as_text_and_read_back() {
        assert_eq!(csv_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_safe("+447700900123"), "'+447700900123");
        assert_eq!(csv_safe("王小明"), "王小明");
        for v in ["=1+1", "+447700900123", "-3", "@x", "'quoted", "王"] {
            assert_eq!(unescape_cell(&csv_safe(v)), v);
        }
    }

    #[test]
    fn a_phone_stored_as_a_number_reads_without_its_decimal() {
        assert_eq!(number_text(13800000001.0), "13800000001");
        assert_eq!(number_text(12.5), "12.5");
    }

    #[test]
    fn birthdays_in_dms_exports_are_read_in_either_calendar_and_written_back_alike() {
        let b = parse_birthday("1985-03-12").unwrap();
        assert_eq!(
            (b.calendar, b.month, b.day, b.year),
            (Calendar::Solar, 3, 12, Some(1985))
        );
        let b = parse_birthday("农历闰04-15").unwrap();
        assert_eq!(
            (b.calendar, b.month, b.day, b.leap),
            (Calendar::Lunar, 4, 15, true)
        );
        assert!(parse_birthday("March 3").is_err());
        for v in ["1985-03-12", "03-12", "农历03-15", "农历闰1985-04-15"] {
            assert_eq!(format_birthday(&parse_birthday(v).unwrap()), v);
        }
    }

    #[test]
    fn reasons_read_in_chinese_with_the_column_label() {
        let r = FieldError {
            field: "vin".into(),
            message: "check digit in position 9 is '1', expected 'X'".into(),
        };
        assert_eq!(
            describe(&r, Locale::ZhCn),
            "车架号：第 9 位校验位是“1”，应为“X”"
        );
        assert_eq!(
            describe(&r, Locale::En),
            "vin: check digit in position 9 is '1', expected 'X'"
        );
        let r = FieldError {
            field: "birthday.year".into(),
            message: "must be between 1900 and 2026".into(),
        };
        assert_eq!(
            describe(&r, Locale::ZhCn),
            "生日（年）：必须在 1900 到 2026 之间"
        );
        let r = FieldError {
            field: "name".into(),
            message: "something new".into(),
        };
        assert_eq!(describe(&r, Locale::ZhCn), "姓名：something new");
        let r = FieldError {
            field: "name".into(),
            message: crate::domain::validation::text("王\u{0}明", 50).unwrap_err(),
        };
        assert_eq!(
            describe(&r, Locale::ZhCn),
            "姓名：不能包含控制字符（发现 U+0000）"
        );
    }
}
