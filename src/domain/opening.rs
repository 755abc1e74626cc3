//! The opening routine (营业准备, DOMAIN.md step 0): the dealer's opening
//! checklist (uniforms, a clean workshop and lounge, tools in order…, ticked
//! by the supervisor each morning) and the daily targets yesterday's key
//! figures are held against at the morning meeting (晨会). Pure rules: the
//! settings as a manager writes them, whether a target was met, and who
//! may do what. `services::today` reads and writes.

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::kpi::Roster;
use super::{FieldErrors, Role, validation};

/// The most items a checklist holds.
pub const MAX_ITEMS: usize = 20;
/// The longest code of an item.
pub const MAX_CODE: usize = 32;
/// The longest zh-CN label, in characters.
pub const MAX_ZH: usize = 40;
/// The longest English label, in characters.
pub const MAX_EN: usize = 60;
/// The longest note on a tick, in characters.
pub const MAX_NOTE: usize = 500;
/// The highest daily revenue target, CNY.
pub const MAX_REVENUE: i64 = 100_000_000;
/// The highest daily vehicle target.
pub const MAX_VEHICLES: u32 = 10_000;

/// Who reads the opening page (`GET /api/v1/today`): every member of the
/// dealer's staff — the morning meeting is for everyone — and the brand
/// (its own dealer). Not customers.
pub const READERS: &[Role] = &[
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::ServiceAdvisor,
    Role::WorkshopForeman,
    Role::Technician,
    Role::QcInspector,
    Role::WarrantyClerk,
    Role::CustomerCare,
    Role::Parts,
    Role::Cashier,
    Role::ToolKeeper,
    Role::DealerAdmin,
    Role::NetworkAdmin,
];

/// Who ticks an item of today's checklist: the supervisor who runs the
/// opening, the manager, the workshop foreman (the workshop and the
/// tools are his), the dealer's admin.
pub const TICKERS: &[Role] = &[
    Role::ServiceSupervisor,
    Role::ServiceManager,
    Role::WorkshopForeman,
    Role::DealerAdmin,
];

/// Who takes a tick back (a tick made by mistake): the managers and the
/// supervisor, who answer for the opening.
pub const UNTICKERS: &[Role] = &[
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::DealerAdmin,
];

/// Who reads the opening settings: those who tick or write them, and the
/// brand (everyone else sees the items on the opening page).
pub const SETTINGS_READERS: &[Role] = &[
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::WorkshopForeman,
    Role::DealerAdmin,
    Role::NetworkAdmin,
];

/// Who writes the opening settings (the checklist and the targets).
pub const WRITERS: &[Role] = &[
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::DealerAdmin,
];

/// Whether a holder of `roles` may tick today's items.
pub fn may_tick(roles: &[Role]) -> bool {
    roles.iter().any(|r| TICKERS.contains(r))
}

/// Whether a holder of `roles` may take a tick back.
pub fn may_untick(roles: &[Role]) -> bool {
    roles.iter().any(|r| UNTICKERS.contains(r))
}

/// One item of the opening checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpeningItem {
    /// `[a-z0-9_]{1,32}`, unique in the checklist: the path of the tick.
    #[schema(pattern = "^[a-z0-9_]{1,32}$", min_length = 1, max_length = 32)]
    pub code: String,
    /// What staff read (1–40 characters, one line).
    #[schema(min_length = 1, max_length = 40)]
    pub zh_cn: String,
    /// The same in English (1–60 characters, one line).
    #[schema(min_length = 1, max_length = 60)]
    pub en: String,
}

/// The daily targets yesterday's figures are held against; each optional
/// (null or left out: no target).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpeningTargets {
    /// Revenue of the day (gross, VAT included), CNY, 0–100000000.00 with
    /// at most 2 decimals.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = "decimal")]
    pub revenue: Option<Decimal>,
    /// Vehicles in (orders opened), 0–10000.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10000)]
    pub vehicles_in: Option<u32>,
    /// Vehicles delivered, 0–10000.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10000)]
    pub vehicles_delivered: Option<u32>,
    /// A share 0–1 with at most 3 decimals.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = "decimal")]
    pub first_time_fix: Option<Decimal>,
    /// A share 0–1 with at most 3 decimals.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = "decimal")]
    pub show_rate: Option<Decimal>,
    /// A share 0–1 with at most 3 decimals.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = "decimal")]
    pub on_time_delivery: Option<Decimal>,
    /// A share 0–1 with at most 3 decimals.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = "decimal")]
    pub follow_up_within_3_days: Option<Decimal>,
    /// CSI 0–100 with at most 1 decimal.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = "decimal")]
    pub csi: Option<Decimal>,
}

/// A dealer's opening settings: the checklist and the daily targets; the
/// defaults until a manager saves some.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpeningSettings {
    /// 1–20 items, codes unique, in the order they are shown.
    #[schema(min_items = 1, max_items = 20)]
    pub checklist: Vec<OpeningItem>,
    /// Left out: no targets.
    #[serde(default)]
    pub targets: OpeningTargets,
}

fn item(code: &str, zh_cn: &str, en: &str) -> OpeningItem {
    OpeningItem {
        code: code.into(),
        zh_cn: zh_cn.into(),
        en: en.into(),
    }
}

impl Default for OpeningSettings {
    /// The seed's opening preparation (更换工作服, 清洁环境与整理工具, 晨会)
    /// with the lounge (its CSI question: 客户休息区的整洁舒适程度) and the
    /// advisors' tablets; no targets.
    fn default() -> Self {
        OpeningSettings {
            checklist: vec![
                item("uniforms", "着装整洁（已换工作服）", "Uniforms on"),
                item("workshop_clean", "车间环境清洁", "Workshop clean"),
                item("lounge_clean", "休息区清洁", "Lounge clean"),
                item("tools_in_order", "工具就位", "Tools in order"),
                item("tablets_charged", "平板已充电", "Tablets charged"),
                item("morning_meeting", "晨会已召开", "Morning meeting held"),
            ],
            targets: OpeningTargets::default(),
        }
    }
}

/// A code of an item: 1–32 of `a-z`, `0-9`, `_` (taken as sent: it is a
/// path segment).
pub fn code(value: &str) -> Result<&str, String> {
    let ok = !value.is_empty()
        && value.len() <= MAX_CODE
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(value)
    } else {
        Err(format!(
            "must be 1 to {MAX_CODE} lower-case letters, digits or _"
        ))
    }
}

/// `v` within `0..=max` with at most `places` decimals.
fn bounded(v: Decimal, max: Decimal, places: u32) -> Result<Decimal, String> {
    if (v.is_sign_negative() && !v.is_zero()) || v > max {
        Err(format!("must be between 0 and {max}"))
    } else if v.normalize().scale() > places {
        Err(format!("must have at most {places} decimals"))
    } else {
        // written with exactly its places, as the figures are ("0.950", "92.5")
        let mut x = v.abs();
        x.rescale(places);
        Ok(x)
    }
}

impl OpeningSettings {
    /// The settings as stored (labels trimmed, amounts to their places), or
    /// every problem by its path (`checklist[2].code`, `targets.csi`).
    pub fn validated(mut self) -> Result<OpeningSettings, FieldErrors> {
        let mut e = FieldErrors::new();
        if self.checklist.is_empty() || self.checklist.len() > MAX_ITEMS {
            e.add("checklist", format!("must list 1 to {MAX_ITEMS} items"));
        }
        let mut seen: Vec<String> = Vec::new();
        for (i, it) in self.checklist.iter_mut().enumerate() {
            let path = |f: &str| format!("checklist[{i}].{f}");
            if e.check(&path("code"), code(&it.code)).is_some() {
                if seen.contains(&it.code) {
                    e.add(path("code"), "appears twice");
                }
                seen.push(it.code.clone());
            }
            if let Some(t) = e.check(&path("zh_cn"), validation::text(&it.zh_cn, MAX_ZH)) {
                it.zh_cn = t;
            }
            if let Some(t) = e.check(&path("en"), validation::text(&it.en, MAX_EN)) {
                it.en = t;
            }
        }
        let t = &mut self.targets;
        let one = Decimal::ONE;
        let check = |e: &mut FieldErrors, f: &str, v: &mut Option<Decimal>, max, places| {
            if let Some(x) = *v {
                *v = e.check(&format!("targets.{f}"), bounded(x, max, places));
            }
        };
        check(
            &mut e,
            "revenue",
            &mut t.revenue,
            Decimal::from(MAX_REVENUE),
            2,
        );
        check(&mut e, "first_time_fix", &mut t.first_time_fix, one, 3);
        check(&mut e, "show_rate", &mut t.show_rate, one, 3);
        check(&mut e, "on_time_delivery", &mut t.on_time_delivery, one, 3);
        check(
            &mut e,
            "follow_up_within_3_days",
            &mut t.follow_up_within_3_days,
            one,
            3,
        );
        check(&mut e, "csi", &mut t.csi, Decimal::ONE_HUNDRED, 1);
        for (f, v) in [
            ("vehicles_in", t.vehicles_in),
            ("vehicles_delivered", t.vehicles_delivered),
        ] {
            if v.is_some_and(|n| n > MAX_VEHICLES) {
                e.add(
                    format!("targets.{f}"),
                    format!("must be between 0 and {MAX_VEHICLES}"),
                );
            }
        }
        e.into_result()?;
        Ok(self)
    }

    /// The item of `code`, if the checklist has it.
    pub fn item(&self, code: &str) -> Option<&OpeningItem> {
        self.checklist.iter().find(|i| i.code == code)
    }
}

/// Whether a figure met its target: every figure of the opening is
/// "more is better", so met is `value ≥ target`; none without a target
/// or without a value (a share of nothing).
pub fn met<T: PartialOrd>(value: Option<T>, target: Option<T>) -> Option<bool> {
    Some(value? >= target?)
}

/// A technician's day by their roster (`domain::kpi::Roster`: the
/// weekday's shift less an absence; no roster, 8 hours Monday to Friday).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayShift {
    /// Hours on shift: the shift less the absence.
    pub hours: Decimal,
    /// Hours of the shift taken off by an absence.
    pub hours_off: Decimal,
}

impl DayShift {
    /// On shift: some hours left to work.
    pub fn on_shift(&self) -> bool {
        self.hours > Decimal::ZERO
    }

    /// Absent: an absence takes some of the shift (a day with no shift
    /// has nothing to be absent from).
    pub fn absent(&self) -> bool {
        self.hours_off > Decimal::ZERO
    }

    /// The absence takes the whole shift.
    pub fn whole_day_off(&self) -> bool {
        self.absent() && !self.on_shift()
    }
}

/// The day `day` of roster `r`.
pub fn day_shift(r: &Roster, day: NaiveDate) -> DayShift {
    let shift = r.weekly[day.weekday().num_days_from_monday() as usize];
    let hours = r.available(day);
    DayShift {
        hours,
        hours_off: (shift - hours).max(Decimal::ZERO),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn fields(e: FieldErrors) -> Vec<String> {
        e.0.into_iter().map(|f| f.field).collect()
    }

    #[test]
    fn the_defaults_are_valid_and_name_the_seeds_opening_preparation() {
        let d = OpeningSettings::default();
        assert_eq!(d.clone().validated().unwrap(), d);
        let codes: Vec<&str> = d.checklist.iter().map(|i| i.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "uniforms",
                "workshop_clean",
                "lounge_clean",
                "tools_in_order",
                "tablets_charged",
                "morning_meeting"
            ]
        );
        assert_eq!(d.item("lounge_clean").unwrap().zh_cn, "休息区清洁");
        assert!(d.item("nothing").is_none());
        assert_eq!(d.targets, OpeningTargets::default());
    }

    #[test]
    fn each_bad_item_is_named_by_its_path() {
        let s = OpeningSettings {
            checklist: vec![
                item("uniforms", "着装", "Uniforms"),
                item("Uniforms", "着装", "Uniforms"),
                item("uniforms", "  ", "Uniforms"),
                item("ok_1", &"长".repeat(41), &"x".repeat(61)),
                item("a/b", "行\n二", "line\u{0}"),
            ],
            targets: OpeningTargets::default(),
        };
        assert_eq!(
            fields(s.validated().unwrap_err()),
            [
                "checklist[1].code",
                "checklist[2].code",
                "checklist[2].zh_cn",
                "checklist[3].zh_cn",
                "checklist[3].en",
                "checklist[4].code",
                "checklist[4].zh_cn",
                "checklist[4].en",
            ]
        );
        let none = OpeningSettings {
            checklist: vec![],
            targets: OpeningTargets::default(),
        };
        assert_eq!(fields(none.validated().unwrap_err()), ["checklist"]);
        let many = OpeningSettings {
            checklist: (0..21)
                .map(|i| item(&format!("i{i}"), "项", "Item"))
                .collect(),
            targets: OpeningTargets::default(),
        };
        assert_eq!(fields(many.validated().unwrap_err()), ["checklist"]);
        // 32 characters is the longest code
        assert!(code(&"a".repeat(32)).is_ok());
        assert!(code(&"a".repeat(33)).is_err());
        assert!(code("").is_err());
    }

    #[test]
    fn labels_are_trimmed_and_targets_kept_to_their_places() {
        let s = OpeningSettings {
            checklist: vec![item("uniforms", " 着装整洁 ", " Uniforms ")],
            targets: OpeningTargets {
                revenue: Some(dec("12000.5")),
                vehicles_in: Some(0),
                vehicles_delivered: Some(10_000),
                first_time_fix: Some(dec("0.95")),
                show_rate: Some(dec("1")),
                on_time_delivery: Some(dec("0")),
                follow_up_within_3_days: Some(dec("0.900")),
                csi: Some(dec("92.5")),
            },
        }
        .validated()
        .unwrap();
        assert_eq!(
            (s.checklist[0].zh_cn.as_str(), s.checklist[0].en.as_str()),
            ("着装整洁", "Uniforms")
        );
        let t = &s.targets;
        assert_eq!(t.revenue.unwrap().to_string(), "12000.50");
        assert_eq!(t.first_time_fix.unwrap().to_string(), "0.950");
        assert_eq!(t.on_time_delivery.unwrap().to_string(), "0.000");
        assert_eq!(t.csi.unwrap().to_string(), "92.5");
    }

    #[test]
    fn targets_out_of_range_or_too_precise_are_named() {
        let s = OpeningSettings {
            checklist: vec![item("uniforms", "着装", "Uniforms")],
            targets: OpeningTargets {
                revenue: Some(dec("-1")),
                vehicles_in: Some(10_001),
                vehicles_delivered: Some(3),
                first_time_fix: Some(dec("1.001")),
                show_rate: Some(dec("0.8765")),
                on_time_delivery: Some(dec("-0.1")),
                follow_up_within_3_days: Some(dec("0.5")),
                csi: Some(dec("90.25")),
            },
        };
        assert_eq!(
            fields(s.validated().unwrap_err()),
            [
                "targets.revenue",
                "targets.first_time_fix",
                "targets.show_rate",
                "targets.on_time_delivery",
                "targets.csi",
                "targets.vehicles_in",
            ]
        );
        let big = OpeningSettings {
            checklist: vec![item("uniforms", "着装", "Uniforms")],
            targets: OpeningTargets {
                revenue: Some(dec("100000000.01")),
                csi: Some(dec("100.1")),
                ..OpeningTargets::default()
            },
        };
        assert_eq!(
            fields(big.validated().unwrap_err()),
            ["targets.revenue", "targets.csi"]
        );
    }

    #[test]
    fn a_target_is_met_at_or_above_it_and_unknown_without_either_side() {
        assert_eq!(met(Some(dec("587.00")), Some(dec("500"))), Some(true));
        assert_eq!(met(Some(dec("0.875")), Some(dec("0.875"))), Some(true));
        assert_eq!(met(Some(dec("0.5")), Some(dec("0.8"))), Some(false));
        assert_eq!(met(Some(1u64), Some(2u64)), Some(false));
        assert_eq!(met(None, Some(dec("0.9"))), None);
        assert_eq!(met(Some(dec("90")), None), None);
    }

    #[test]
    fn a_partial_absence_is_on_shift_and_absent_a_whole_one_only_absent() {
        use super::super::kpi::Absence;
        let d = |day| NaiveDate::from_ymd_opt(2027, 3, day).unwrap();
        let r = Roster::parse(
            [
                dec("8"),
                dec("8"),
                dec("8"),
                dec("8"),
                dec("8"),
                dec("4"),
                dec("0"),
            ],
            vec![
                Absence {
                    date: d(2),
                    hours: Some(dec("2")),
                },
                Absence {
                    date: d(3),
                    hours: None,
                },
                Absence {
                    date: d(7),
                    hours: None,
                },
            ],
        )
        .unwrap();
        // Monday: the whole shift
        let mon = day_shift(&r, d(1));
        assert_eq!((mon.hours, mon.hours_off), (dec("8"), dec("0")));
        assert!(mon.on_shift() && !mon.absent());
        // Tuesday: 2 hours off
        let tue = day_shift(&r, d(2));
        assert_eq!((tue.hours, tue.hours_off), (dec("6"), dec("2")));
        assert!(tue.on_shift() && tue.absent() && !tue.whole_day_off());
        // Wednesday: the whole day off
        let wed = day_shift(&r, d(3));
        assert_eq!((wed.hours, wed.hours_off), (dec("0"), dec("8")));
        assert!(!wed.on_shift() && wed.whole_day_off());
        // Sunday: no shift, so an absence takes nothing
        let sun = day_shift(&r, d(7));
        assert!(!sun.on_shift() && !sun.absent());
        // no roster: 8 hours on a Tuesday
        assert_eq!(day_shift(&Roster::default(), d(2)).hours, dec("8"));
    }

    #[test]
    fn the_supervisor_the_manager_and_the_foreman_tick_and_only_managers_untick() {
        assert!(may_tick(&[Role::ServiceSupervisor]));
        assert!(may_tick(&[Role::WorkshopForeman]));
        assert!(may_tick(&[Role::ServiceManager]));
        assert!(may_tick(&[Role::DealerAdmin]));
        assert!(!may_tick(&[Role::Technician]));
        assert!(!may_tick(&[Role::ServiceAdvisor]));
        assert!(!may_tick(&[Role::NetworkAdmin]));
        assert!(may_untick(&[Role::ServiceSupervisor]));
        assert!(!may_untick(&[Role::WorkshopForeman]));
        assert!(!READERS.contains(&Role::Customer));
        assert_eq!(READERS.len(), Role::ALL.len() - 1);
    }
}
