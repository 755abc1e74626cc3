//! Comebacks (返修, issue 18): the seed's 《返修车处理记录》 and
//! 《返修车月统计表》. A comeback is a car back for a job it had done within
//! the window, an advisor's judgement that it is one, or an internal one: a
//! job sent back by the final quality check. Each is a record that is
//! analysed (the cause and a corrective action with its owner), acted on and
//! closed by the service manager.

use chrono::{Months, NaiveDate};
use rust_decimal::Decimal;

use super::Role;

string_enum! {
    /// How the comeback was found.
    pub enum ComebackKind {
        /// The vehicle's new order repeats a job of an order delivered within the window.
        Repeat = "repeat",
        /// An advisor said so.
        Marked = "marked",
        /// The final quality check sent a job back (an internal comeback).
        QcRework = "qc_rework",
    }
}

string_enum! {
    /// Why the job had to be done again (返修原因).
    pub enum ComebackCause {
        /// The fault was not found (诊断错误).
        Diagnosis = "diagnosis",
        /// The work was not done right (维修工艺).
        Workmanship = "workmanship",
        /// The part failed (配件质量).
        PartQuality = "part_quality",
        /// The customer's use (客户使用).
        CustomerUse = "customer_use",
        Other = "other",
    }
}

string_enum! {
    pub enum ComebackState {
        Open = "open",
        Analysed = "analysed",
        ActionDone = "action_done",
        Closed = "closed",
    }
}

/// Who reads the records and the statistics.
pub const READERS: &[Role] = &[
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::WorkshopForeman,
    Role::QcInspector,
    Role::ServiceAdvisor,
    Role::DealerAdmin,
];

/// Who analyses a comeback and moves it on (the manager closes).
pub const ANALYSTS: &[Role] = &[
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::WorkshopForeman,
    Role::QcInspector,
];

/// Who marks an order as a comeback by hand.
pub const MARKERS: &[Role] = &[
    Role::ServiceAdvisor,
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::WorkshopForeman,
];

/// The default window: the same job again within 30 days of delivery.
pub const DEFAULT_WINDOW_DAYS: i64 = 30;

/// The most a redo may cost, in yuan (a typing error, not a real figure).
pub fn max_cost() -> Decimal {
    Decimal::from(10_000_000)
}

/// What a record holds once a change is applied: the fields a step needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Filled {
    pub cause: bool,
    pub analysis: bool,
    pub corrective_action: bool,
    pub action_owner: bool,
}

/// Why a step cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The step is out of order (409).
    OutOfOrder(String),
    /// A field the step needs is empty (422 naming it).
    Missing(&'static str),
    /// The caller may not take it (403).
    NotAllowed(&'static str),
}

/// Whether a record in `from` may move to `to`, by someone holding `roles`
/// who is (`is_owner`) or is not the corrective action's owner, with the
/// record `filled` as it will be:
/// - `open → analysed` needs the cause, the analysis, the corrective action
///   and its owner;
/// - `analysed → action_done` by the action's owner or an analyst;
/// - `action_done → closed` by the service manager only;
/// - staying where it is is always allowed (a field edit); nothing goes
///   back, and a closed record no longer changes.
pub fn step(
    from: ComebackState,
    to: ComebackState,
    filled: Filled,
    roles: &[Role],
    is_owner: bool,
) -> Result<(), Refusal> {
    use ComebackState as S;
    if from == S::Closed {
        return Err(Refusal::OutOfOrder("the comeback is closed".into()));
    }
    let analyst = roles.iter().any(|r| ANALYSTS.contains(r));
    match (from, to) {
        (a, b) if a == b => {}
        (S::Open, S::Analysed) => {}
        (S::Analysed, S::ActionDone) if is_owner || analyst => {}
        (S::Analysed, S::ActionDone) => {
            return Err(Refusal::NotAllowed(
                "only the action's owner or the workshop's leads mark it done",
            ));
        }
        (S::ActionDone, S::Closed) if roles.contains(&Role::ServiceManager) => {}
        (S::ActionDone, S::Closed) => {
            return Err(Refusal::NotAllowed(
                "only the service manager closes a comeback",
            ));
        }
        (a, b) => {
            return Err(Refusal::OutOfOrder(format!(
                "a comeback that is {a} cannot become {b}"
            )));
        }
    }
    if to != S::Open {
        for (ok, field) in [
            (filled.cause, "cause"),
            (filled.analysis, "analysis"),
            (filled.corrective_action, "corrective_action"),
            (filled.action_owner, "action_owner_id"),
        ] {
            if !ok {
                return Err(Refusal::Missing(field));
            }
        }
    }
    Ok(())
}

/// The first day of month `YYYY-MM` (years 1900–2200), and of the month before.
pub fn parse_month(s: &str) -> Result<(NaiveDate, NaiveDate), String> {
    let bad = || "must be a month as YYYY-MM, years 1900 to 2200".to_string();
    let (y, m) = s.split_once('-').ok_or_else(bad)?;
    if y.len() != 4 || m.len() != 2 {
        return Err(bad());
    }
    let (y, m): (i32, u32) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(1900..=2200).contains(&y) {
        return Err(bad());
    }
    let first = NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(bad)?;
    let before = first.checked_sub_months(Months::new(1)).ok_or_else(bad)?;
    Ok((first, before))
}

/// The last day of the month that begins on `first`.
pub fn month_end(first: NaiveDate) -> NaiveDate {
    first
        .checked_add_months(Months::new(1))
        .and_then(|n| n.pred_opt())
        .unwrap_or(first)
}

/// `part / whole` to three places; `None` when `whole` is 0.
pub fn rate(part: u64, whole: u64) -> Option<Decimal> {
    super::csi_report::rate(part, whole)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComebackState as S;

    const ALL: Filled = Filled {
        cause: true,
        analysis: true,
        corrective_action: true,
        action_owner: true,
    };

    #[test]
    fn a_record_is_analysed_acted_on_and_closed_in_order() {
        let lead = [Role::WorkshopForeman];
        assert_eq!(step(S::Open, S::Analysed, ALL, &lead, false), Ok(()));
        assert_eq!(step(S::Analysed, S::ActionDone, ALL, &lead, false), Ok(()));
        // the owner of the action, whatever their role
        assert_eq!(
            step(S::Analysed, S::ActionDone, ALL, &[Role::Technician], true),
            Ok(())
        );
        assert!(matches!(
            step(S::Analysed, S::ActionDone, ALL, &[Role::Technician], false),
            Err(Refusal::NotAllowed(_))
        ));
        // only the manager closes
        assert!(matches!(
            step(S::ActionDone, S::Closed, ALL, &lead, true),
            Err(Refusal::NotAllowed(_))
        ));
        assert_eq!(
            step(
                S::ActionDone,
                S::Closed,
                ALL,
                &[Role::ServiceManager],
                false
            ),
            Ok(())
        );
    }

    #[test]
    fn nothing_is_skipped_nothing_goes_back_and_a_closed_record_stays() {
        let m = [Role::ServiceManager];
        assert!(matches!(
            step(S::Open, S::Closed, ALL, &m, false),
            Err(Refusal::OutOfOrder(_))
        ));
        assert!(matches!(
            step(S::ActionDone, S::Analysed, ALL, &m, false),
            Err(Refusal::OutOfOrder(_))
        ));
        assert!(matches!(
            step(S::Closed, S::Closed, ALL, &m, false),
            Err(Refusal::OutOfOrder(_))
        ));
        // an edit in place is fine while it is open
        let none = Filled {
            cause: false,
            analysis: false,
            corrective_action: false,
            action_owner: false,
        };
        assert_eq!(step(S::Open, S::Open, none, &m, false), Ok(()));
    }

    #[test]
    fn an_analysis_names_its_cause_action_and_owner() {
        let m = [Role::ServiceManager];
        for (filled, field) in [
            (
                Filled {
                    cause: false,
                    ..ALL
                },
                "cause",
            ),
            (
                Filled {
                    analysis: false,
                    ..ALL
                },
                "analysis",
            ),
            (
                Filled {
                    corrective_action: false,
                    ..ALL
                },
                "corrective_action",
            ),
            (
                Filled {
                    action_owner: false,
                    ..ALL
                },
                "action_owner_id",
            ),
        ] {
            assert_eq!(
                step(S::Open, S::Analysed, filled, &m, false),
                Err(Refusal::Missing(field))
            );
        }
    }

    #[test]
    fn a_month_is_read_as_yyyy_mm_within_the_years_we_keep() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(parse_month("2027-03"), Ok((d(2027, 3, 1), d(2027, 2, 1))));
        assert_eq!(parse_month("2027-01"), Ok((d(2027, 1, 1), d(2026, 12, 1))));
        for bad in [
            "2027-13",
            "2027-3",
            "27-03",
            "1899-12",
            "2201-01",
            "",
            "2027-03-01",
            "２０２７-03",
        ] {
            assert!(parse_month(bad).is_err(), "{bad}");
        }
        assert_eq!(month_end(d(2028, 2, 1)), d(2028, 2, 29));
        assert_eq!(month_end(d(2027, 12, 1)), d(2027, 12, 31));
    }

    #[test]
    fn rates_are_null_without_a_denominator() {
        assert_eq!(rate(1, 0), None);
        assert_eq!(rate(1, 8), Some("0.125".parse().unwrap()));
    }
}
