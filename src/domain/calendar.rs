//! The Chinese calendar the care planner needs: the solar date of a lunar
//! birthday in a given year, and the dates of the holidays dealers greet on.
//!
//! Lunar dates come from the `tyme4rs` crate rather than tables of our own:
//! the lunar calendar is astronomical (new moons and solar terms decide the
//! months, their lengths and the leap month), and a maintained library that
//! computes it (and names the solar terms) is far less likely to be wrong
//! than a hand-copied table that ends in some year. Only this module talks to
//! it; the rest of the crate sees `chrono::NaiveDate`.
//!
//! Two rules for birthdays that do not exist every year, both common
//! practice:
//! - a lunar birthday in a leap month (闰月), in a lunar year without that
//!   leap month, falls in the ordinary month of that number;
//! - a lunar birthday on the 30th, in a year where that month has 29 days,
//!   falls on its last day (the 29th).
//!
//! Every function answers `None` for input it cannot place (a month 13, a
//! day 31 of a lunar month, a year outside [`FIRST_YEAR`]..=[`LAST_YEAR`])
//! rather than panicking.

use chrono::{Datelike, NaiveDate};
use tyme4rs::tyme::lunar::{LunarDay, LunarMonth, LunarYear};
use tyme4rs::tyme::solar::{SolarDay, SolarTerm};

use super::dates::{FIRST_YEAR, LAST_YEAR};

string_enum! {
    /// A holiday the dealer may send a greeting on.
    pub enum Holiday {
        /// 春节: lunar 1st month, 1st day.
        SpringFestival = "spring_festival",
        /// 元宵节: lunar 1st month, 15th day.
        Lantern = "lantern",
        /// 清明节: the day of the solar term 清明.
        Qingming = "qingming",
        /// 端午节: lunar 5th month, 5th day.
        DragonBoat = "dragon_boat",
        /// 中秋节: lunar 8th month, 15th day.
        MidAutumn = "mid_autumn",
        /// 国庆节: 1 October.
        NationalDay = "national_day",
        /// 元旦: 1 January.
        NewYear = "new_year",
    }
}

fn supported(year: i32) -> bool {
    (FIRST_YEAR..=LAST_YEAR).contains(&year)
}

fn to_naive(d: SolarDay) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(
        i32::try_from(d.get_year()).ok()?,
        u32::try_from(d.get_month()).ok()?,
        u32::try_from(d.get_day()).ok()?,
    )
}

/// The solar date of lunar `month`/`day` (a leap month if `leap`) in lunar
/// year `lunar_year`, with the two rules of the module applied. A lunar
/// birthday happens exactly once in each lunar year, so the care planner
/// names its occurrences by lunar year.
pub fn lunar_to_solar(lunar_year: i32, month: u8, day: u8, leap: bool) -> Option<NaiveDate> {
    if !(1..=12).contains(&month) || !(1..=30).contains(&day) {
        return None;
    }
    let y = isize::try_from(lunar_year).ok()?;
    let year = LunarYear::new(y).ok()?;
    let m = isize::from(month);
    // A leap month only where the year has that leap month; otherwise the
    // ordinary month of that number.
    let m = if leap && year.get_leap_month() == usize::from(month) {
        -m
    } else {
        m
    };
    let lunar_month = LunarMonth::new(y, m).ok()?;
    // The 30th of a 29-day month is its last day.
    let d = usize::from(day).min(lunar_month.get_day_count());
    to_naive(LunarDay::new(y, m, d).ok()?.get_solar_day())
}

/// The solar date, in Gregorian `year`, of a lunar birthday on `month`/`day`
/// (in a leap month if `leap`).
///
/// It is the occurrence whose solar date falls in `year`: a birthday late in
/// the lunar year (11th or 12th month) may fall in January or February of
/// the next Gregorian year, so the occurrences of lunar years `year - 1` and
/// `year` are both considered; if both fall in `year`, the earlier is taken.
/// A leap-month birthday in a lunar year without that leap month falls in the
/// ordinary month; the 30th of a 29-day month falls on the 29th.
///
/// `None` also when no occurrence falls in `year`, which happens: a lunar
/// year is shorter than a Gregorian one, so a birthday early in the 12th
/// month can fall on 31 December of one year and in January of the year
/// after next (lunar 12-1: 2024-12-31, then 2026-01-19, none in 2025); the
/// year after then has two, and the planner greets on the first.
pub fn lunar_birthday(year: i32, month: u8, day: u8, leap: bool) -> Option<NaiveDate> {
    if !supported(year) {
        return None;
    }
    [year - 1, year]
        .into_iter()
        .filter_map(|ly| lunar_to_solar(ly, month, day, leap))
        .filter(|d| d.year() == year)
        .min()
}

/// The lunar year a solar date falls in (the year that began on the last
/// Spring Festival on or before it).
pub fn lunar_year_of(date: NaiveDate) -> Option<i32> {
    if !supported(date.year()) {
        return None;
    }
    let solar = SolarDay::new(
        isize::try_from(date.year()).ok()?,
        usize::try_from(date.month()).ok()?,
        usize::try_from(date.day()).ok()?,
    )
    .ok()?;
    i32::try_from(solar.get_lunar_day().get_lunar_month().get_year()).ok()
}

/// The date, in `year`, of a solar (Gregorian) birthday on `month`/`day`.
///
/// A 29 February birthday falls on 28 February in a year that is not a leap
/// year (the common practice). `None` for a day no year has (31 April).
pub fn solar_birthday(year: i32, month: u8, day: u8) -> Option<NaiveDate> {
    if !supported(year) {
        return None;
    }
    let (m, d) = (u32::from(month), u32::from(day));
    match NaiveDate::from_ymd_opt(year, m, d) {
        Some(date) => Some(date),
        None if m == 2 && d == 29 => NaiveDate::from_ymd_opt(year, 2, 28),
        None => None,
    }
}

/// The date of holiday `h` in Gregorian `year`. The lunar holidays are those
/// of the lunar year that begins in `year`; Qingming is the day of the solar
/// term 清明 (Beijing time) in `year`.
pub fn holiday_date(h: Holiday, year: i32) -> Option<NaiveDate> {
    if !supported(year) {
        return None;
    }
    match h {
        Holiday::SpringFestival => lunar_to_solar(year, 1, 1, false),
        Holiday::Lantern => lunar_to_solar(year, 1, 15, false),
        Holiday::DragonBoat => lunar_to_solar(year, 5, 5, false),
        Holiday::MidAutumn => lunar_to_solar(year, 8, 15, false),
        Holiday::Qingming => {
            let term = SolarTerm::new(isize::try_from(year).ok()?, "清明").ok()?;
            to_naive(term.get_solar_day()).filter(|d| d.year() == year)
        }
        Holiday::NationalDay => NaiveDate::from_ymd_opt(year, 10, 1),
        Holiday::NewYear => NaiveDate::from_ymd_opt(year, 1, 1),
    }
}

/// Every holiday of `year` with its date, sorted by date (empty for a year
/// outside the supported range).
pub fn holidays(year: i32) -> Vec<(Holiday, NaiveDate)> {
    let mut all: Vec<(Holiday, NaiveDate)> = Holiday::ALL
        .iter()
        .filter_map(|&h| holiday_date(h, year).map(|d| (h, d)))
        .collect();
    all.sort_by_key(|&(_, d)| d);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn check(h: Holiday, expected: &[(i32, u32, u32)]) {
        for &(y, m, day) in expected {
            assert_eq!(holiday_date(h, y), Some(d(y, m, day)), "{h} {y}");
        }
    }

    #[test]
    fn spring_festival_matches_published_dates() {
        check(
            Holiday::SpringFestival,
            &[(2027, 2, 6), (2028, 1, 26), (2029, 2, 13), (2030, 2, 3)],
        );
    }

    #[test]
    fn lantern_matches_published_dates() {
        check(Holiday::Lantern, &[(2027, 2, 20)]);
    }

    #[test]
    fn mid_autumn_matches_published_dates() {
        check(
            Holiday::MidAutumn,
            &[(2027, 9, 15), (2028, 10, 3), (2029, 9, 22), (2030, 9, 12)],
        );
    }

    #[test]
    fn dragon_boat_matches_published_dates() {
        check(
            Holiday::DragonBoat,
            &[(2027, 6, 9), (2028, 5, 28), (2029, 6, 16), (2030, 6, 5)],
        );
    }

    #[test]
    fn qingming_matches_published_dates() {
        check(
            Holiday::Qingming,
            &[(2027, 4, 5), (2028, 4, 4), (2029, 4, 4), (2030, 4, 5)],
        );
    }

    #[test]
    fn fixed_holidays_and_the_sorted_list() {
        check(Holiday::NationalDay, &[(2027, 10, 1)]);
        check(Holiday::NewYear, &[(2027, 1, 1)]);
        let list = holidays(2027);
        assert_eq!(
            list,
            vec![
                (Holiday::NewYear, d(2027, 1, 1)),
                (Holiday::SpringFestival, d(2027, 2, 6)),
                (Holiday::Lantern, d(2027, 2, 20)),
                (Holiday::Qingming, d(2027, 4, 5)),
                (Holiday::DragonBoat, d(2027, 6, 9)),
                (Holiday::MidAutumn, d(2027, 9, 15)),
                (Holiday::NationalDay, d(2027, 10, 1)),
            ]
        );
        assert!(holidays(1000).is_empty());
        assert_eq!(holiday_date(Holiday::NewYear, 99_999), None);
    }

    #[test]
    fn an_ordinary_lunar_birthday_moves_with_the_moon() {
        // 三月初十
        assert_eq!(lunar_birthday(2027, 3, 10, false), Some(d(2027, 4, 16)));
        assert_eq!(lunar_birthday(2028, 3, 10, false), Some(d(2028, 4, 4)));
        assert_eq!(lunar_birthday(2029, 3, 10, false), Some(d(2029, 4, 23)));
        assert_eq!(lunar_birthday(2030, 3, 10, false), Some(d(2030, 4, 12)));
    }

    #[test]
    fn a_leap_month_birthday_falls_in_the_ordinary_month_without_that_leap_month() {
        // 闰五月初十: 2028 has a leap 5th month, 2027 and 2029 do not.
        assert_eq!(lunar_birthday(2028, 5, 10, true), Some(d(2028, 7, 2)));
        assert_eq!(lunar_birthday(2027, 5, 10, true), Some(d(2027, 6, 14)));
        assert_eq!(lunar_birthday(2029, 5, 10, true), Some(d(2029, 6, 21)));
        // The ordinary 5th month of 2028 is a different day.
        assert_eq!(lunar_birthday(2028, 5, 10, false), Some(d(2028, 6, 2)));
        // 闰六月初一 in 2025, which has a leap 6th month.
        assert_eq!(lunar_birthday(2025, 6, 1, true), Some(d(2025, 7, 25)));
        assert_eq!(lunar_birthday(2025, 6, 1, false), Some(d(2025, 6, 25)));
    }

    #[test]
    fn the_30th_of_a_29_day_month_falls_on_the_29th() {
        // The 3rd month has 29 days in 2027 and 30 in 2028.
        assert_eq!(lunar_birthday(2027, 3, 30, false), Some(d(2027, 5, 5)));
        assert_eq!(lunar_birthday(2027, 3, 29, false), Some(d(2027, 5, 5)));
        assert_eq!(lunar_birthday(2028, 3, 30, false), Some(d(2028, 4, 24)));
        // Both rules at once: the leap 5th month of 2028 has 29 days.
        assert_eq!(lunar_birthday(2028, 5, 30, true), Some(d(2028, 7, 21)));
    }

    #[test]
    fn a_12th_month_birthday_is_the_occurrence_in_the_asked_year() {
        // 腊月二十 of lunar 2026 is in January 2027; that of lunar 2027 in
        // January 2028.
        assert_eq!(lunar_birthday(2027, 12, 20, false), Some(d(2027, 1, 27)));
        assert_eq!(lunar_birthday(2028, 12, 20, false), Some(d(2028, 1, 16)));
        // 腊月初一 falls twice in 2027 (January and December): the first.
        assert_eq!(lunar_birthday(2027, 12, 1, false), Some(d(2027, 1, 8)));
        // ... and not at all in 2025 (2024-12-31, then 2026-01-19).
        assert_eq!(lunar_birthday(2024, 12, 1, false), Some(d(2024, 1, 11)));
        assert_eq!(lunar_birthday(2025, 12, 1, false), None);
        assert_eq!(lunar_birthday(2026, 12, 1, false), Some(d(2026, 1, 19)));
        // 闰十一月二十: lunar 2033's leap 11th month runs into January 2034,
        // so 2033 has none and 2034 has two (the first is taken).
        assert_eq!(lunar_birthday(2033, 11, 20, true), None);
        assert_eq!(lunar_birthday(2034, 11, 20, true), Some(d(2034, 1, 10)));
    }

    #[test]
    fn impossible_lunar_birthdays_are_none_not_a_panic() {
        assert_eq!(lunar_birthday(2027, 13, 1, false), None);
        assert_eq!(lunar_birthday(2027, 0, 1, false), None);
        assert_eq!(lunar_birthday(2027, 1, 31, false), None);
        assert_eq!(lunar_birthday(2027, 1, 0, false), None);
        assert_eq!(lunar_birthday(i32::MIN, 1, 1, false), None);
        assert_eq!(lunar_birthday(i32::MAX, 1, 1, false), None);
    }

    #[test]
    fn a_29_february_solar_birthday_is_on_28_february_in_a_common_year() {
        assert_eq!(solar_birthday(2028, 2, 29), Some(d(2028, 2, 29)));
        assert_eq!(solar_birthday(2027, 2, 29), Some(d(2027, 2, 28)));
        assert_eq!(solar_birthday(2027, 7, 31), Some(d(2027, 7, 31)));
        assert_eq!(solar_birthday(2027, 4, 31), None);
        assert_eq!(solar_birthday(2027, 2, 30), None);
        assert_eq!(solar_birthday(i32::MAX, 2, 29), None);
    }

    #[test]
    fn holiday_wire_names() {
        assert_eq!(Holiday::DragonBoat.as_str(), "dragon_boat");
        assert_eq!("mid_autumn".parse::<Holiday>(), Ok(Holiday::MidAutumn));
        assert!("christmas".parse::<Holiday>().is_err());
    }
}
