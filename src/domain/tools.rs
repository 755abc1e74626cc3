//! Special tools and equipment (设施管理, "一表两册两单"): the special-tool
//! lending register (《专用工具借用登记册》), the personal tool lists
//! (《个人手/汽/电动工具清册》), equipment upkeep (《机具设备维护保养单》,
//! 《机具设备定期保养记录表》) and repair / scrap requests
//! (《设备(工具)器材修理、报废申请单》). Pure rules here: what a tool is,
//! which states it moves through and why, when a loan is due, when
//! equipment is due for upkeep. `services::tools` reads and writes.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

use super::Role;

string_enum! {
    /// What a tool is.
    pub enum ToolKind {
        /// A special tool (专用工具): kept in the tool room, lent against the register.
        Special = "special",
        /// A personal hand tool (个人手动工具), issued to a technician.
        Hand = "hand",
        /// A personal air tool (个人气动工具), issued to a technician.
        Air = "air",
        /// A personal electric tool (个人电动工具), issued to a technician.
        Electric = "electric",
        /// A piece of equipment (机具设备): lent like a special tool, upkept at an interval.
        Equipment = "equipment",
    }
}

string_enum! {
    /// Where a tool is in its life.
    pub enum ToolState {
        /// In the tool room (or with its holder, for a personal tool): may be lent.
        Available = "available",
        /// Out on loan against the register.
        Lent = "lent",
        /// Out of service: returned damaged, or a repair was approved.
        InRepair = "in_repair",
        /// Written off after an approved scrap request (final).
        Scrapped = "scrapped",
        /// Not returned: lost against the person who had it.
        Lost = "lost",
    }
}

string_enum! {
    /// How a lent tool comes back.
    pub enum ReturnCondition {
        /// Back in the tool room, available again.
        Good = "good",
        /// Back but damaged: out of service (in_repair), recorded against the borrower.
        Damaged = "damaged",
        /// Not coming back: lost, recorded against the borrower.
        Lost = "lost",
    }
}

string_enum! {
    /// A loss or a damage recorded against a person.
    pub enum ToolIncidentKind {
        Damaged = "damaged",
        Lost = "lost",
    }
}

string_enum! {
    /// What a request (《设备(工具)器材修理、报废申请单》) asks for.
    pub enum ToolRequestKind {
        Repair = "repair",
        Scrap = "scrap",
    }
}

string_enum! {
    /// Where a repair / scrap request is.
    pub enum ToolRequestState {
        /// Waiting for the service manager.
        Requested = "requested",
        /// The manager agreed; the repair or scrapping is to be done.
        Approved = "approved",
        /// The manager said no (final).
        Refused = "refused",
        /// Repaired (the tool is available again) or scrapped (final).
        Done = "done",
    }
}

/// Who keeps the register and the lists: lends, takes back, records upkeep,
/// adds and edits tools, marks requests done.
pub const KEEPERS: &[Role] = &[Role::ToolKeeper, Role::ServiceManager];

/// Who reads the register, the lists and the requests.
pub const READERS: &[Role] = &[
    Role::ToolKeeper,
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::WorkshopForeman,
    Role::DealerAdmin,
];

/// Who asks for a repair or a scrapping.
pub const REQUESTERS: &[Role] = &[
    Role::ToolKeeper,
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::WorkshopForeman,
    Role::Technician,
];

/// Who approves or refuses a request.
pub const APPROVERS: &[Role] = &[Role::ServiceManager];

/// The longest loan, in days.
pub const MAX_LOAN_DAYS: i64 = 30;
/// The longest upkeep interval, in days (five years).
pub const MAX_INTERVAL_DAYS: i32 = 1826;
/// The largest charge for a lost or damaged tool, CNY.
pub const MAX_CHARGE: i64 = 1_000_000;

impl ToolKind {
    /// A personal tool is issued to its holder for good, not lent.
    pub fn is_personal(self) -> bool {
        matches!(self, ToolKind::Hand | ToolKind::Air | ToolKind::Electric)
    }
}

/// Why a state change is refused (a 409).
pub type Refusal = &'static str;

/// A lend: only an available special tool or piece of equipment.
pub fn lend(kind: ToolKind, state: ToolState) -> Result<ToolState, Refusal> {
    if kind.is_personal() {
        return Err("a personal tool is issued to its holder, not lent");
    }
    match state {
        ToolState::Available => Ok(ToolState::Lent),
        ToolState::Lent => Err("the tool is lent to someone else; it must be returned first"),
        _ => Err("the tool is not available (in repair, scrapped or lost)"),
    }
}

/// What a return in `condition` makes of a lent tool, and the incident
/// it records against the borrower (none for a good return).
pub fn give_back(
    state: ToolState,
    condition: ReturnCondition,
) -> Result<(ToolState, Option<ToolIncidentKind>), Refusal> {
    if state != ToolState::Lent {
        return Err("the tool is not lent");
    }
    Ok(match condition {
        ReturnCondition::Good => (ToolState::Available, None),
        ReturnCondition::Damaged => (ToolState::InRepair, Some(ToolIncidentKind::Damaged)),
        ReturnCondition::Lost => (ToolState::Lost, Some(ToolIncidentKind::Lost)),
    })
}

/// Whether a request of `kind` may be made for a tool in `state`: a repair
/// for a tool in the room or out of service; a scrapping also for a lost
/// one (to write it off). Never while it is lent, scrapped, or (repair) lost.
pub fn may_request(kind: ToolRequestKind, state: ToolState) -> Result<(), Refusal> {
    match (kind, state) {
        (_, ToolState::Lent) => Err("the tool is lent; it must be returned first"),
        (_, ToolState::Scrapped) => Err("the tool is scrapped"),
        (ToolRequestKind::Repair, ToolState::Lost) => Err("a lost tool cannot be repaired"),
        _ => Ok(()),
    }
}

/// A request's step from `from` to `to`: the tool's state after it (None
/// for unchanged), or why not. Approving a repair takes the tool out of
/// service; doing it brings it back; doing a scrapping scraps it.
pub fn request_step(
    kind: ToolRequestKind,
    from: ToolRequestState,
    to: ToolRequestState,
    tool: ToolState,
) -> Result<Option<ToolState>, Refusal> {
    use ToolRequestState::*;
    match (from, to) {
        (Requested, Approved) => {
            may_request(kind, tool)?;
            Ok(
                (kind == ToolRequestKind::Repair && tool != ToolState::InRepair)
                    .then_some(ToolState::InRepair),
            )
        }
        (Requested, Refused) => Ok(None),
        (Approved, Done) => {
            may_request(kind, tool)?;
            Ok(Some(match kind {
                ToolRequestKind::Repair => ToolState::Available,
                ToolRequestKind::Scrap => ToolState::Scrapped,
            }))
        }
        (Requested, Done) => Err("the request has not been approved"),
        (Refused | Done, _) => Err("the request is closed"),
        _ => Err("the step is out of order for the request's state"),
    }
}

/// When a loan is due by default: the end of the dealer's local day it is
/// lent on (the tool room takes everything back before closing).
pub fn default_due(now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let next = now.with_timezone(&tz).date_naive() + Duration::days(1);
    tz.from_local_datetime(&next.and_time(chrono::NaiveTime::MIN))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| next.and_time(chrono::NaiveTime::MIN).and_utc())
}

/// A due time asked for: after `now`, at most [`MAX_LOAN_DAYS`] ahead.
pub fn due(asked: DateTime<Utc>, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if asked <= now {
        Err("must be after now".into())
    } else if asked > now + Duration::days(MAX_LOAN_DAYS) {
        Err(format!("must be within {MAX_LOAN_DAYS} days"))
    } else {
        Ok(asked)
    }
}

/// Whether a loan still out is overdue at `now`.
pub fn overdue(due_at: DateTime<Utc>, returned: bool, now: DateTime<Utc>) -> bool {
    !returned && due_at <= now
}

/// An upkeep interval: 1 to [`MAX_INTERVAL_DAYS`] days.
pub fn interval(days: i32) -> Result<i32, String> {
    if (1..=MAX_INTERVAL_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(format!("must be 1 to {MAX_INTERVAL_DAYS} days"))
    }
}

/// When the next upkeep is due: the last one plus the interval. Never
/// upkept: due at once (None here, "due" everywhere).
pub fn next_upkeep(last: Option<NaiveDate>, interval_days: i32) -> Option<NaiveDate> {
    last.and_then(|d| d.checked_add_signed(Duration::days(interval_days.into())))
}

/// The Monday of the ISO week (Monday first) that holds `d`.
pub fn week_start(d: NaiveDate) -> NaiveDate {
    d - Duration::days(d.weekday().num_days_from_monday().into())
}

/// An ISO week written `YYYY-Www` (`2027-W10`), years 1900–2200: its Monday.
pub fn parse_week(s: &str) -> Result<NaiveDate, String> {
    let bad = || "must be an ISO week as YYYY-Www (e.g. 2027-W10)".to_string();
    let (y, w) = s.split_once("-W").ok_or_else(bad)?;
    if y.len() != 4 || w.len() != 2 {
        return Err(bad());
    }
    let y: i32 = y.parse().map_err(|_| bad())?;
    let w: u32 = w.parse().map_err(|_| bad())?;
    if !(super::dates::FIRST_YEAR..=super::dates::LAST_YEAR).contains(&y) {
        return Err(bad());
    }
    NaiveDate::from_isoywd_opt(y, w, Weekday::Mon).ok_or_else(bad)
}

/// The ISO week of `monday`, written `YYYY-Www`.
pub fn week_name(monday: NaiveDate) -> String {
    let w = monday.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

/// Whether upkeep due on `next` (None: never done) falls due by the end of
/// the week starting `monday`: due that week, or overdue already.
pub fn due_by_week(next: Option<NaiveDate>, monday: NaiveDate) -> bool {
    next.is_none_or(|n| n <= monday + Duration::days(6))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn only_an_available_special_tool_or_equipment_is_lent() {
        assert_eq!(
            lend(ToolKind::Special, ToolState::Available),
            Ok(ToolState::Lent)
        );
        assert_eq!(
            lend(ToolKind::Equipment, ToolState::Available),
            Ok(ToolState::Lent)
        );
        for s in [
            ToolState::Lent,
            ToolState::InRepair,
            ToolState::Scrapped,
            ToolState::Lost,
        ] {
            assert!(lend(ToolKind::Special, s).is_err(), "{s}");
        }
        for k in [ToolKind::Hand, ToolKind::Air, ToolKind::Electric] {
            assert!(lend(k, ToolState::Available).is_err(), "{k}");
        }
    }

    #[test]
    fn each_return_condition_does_its_own_thing() {
        assert_eq!(
            give_back(ToolState::Lent, ReturnCondition::Good),
            Ok((ToolState::Available, None))
        );
        assert_eq!(
            give_back(ToolState::Lent, ReturnCondition::Damaged),
            Ok((ToolState::InRepair, Some(ToolIncidentKind::Damaged)))
        );
        assert_eq!(
            give_back(ToolState::Lent, ReturnCondition::Lost),
            Ok((ToolState::Lost, Some(ToolIncidentKind::Lost)))
        );
        assert!(give_back(ToolState::Available, ReturnCondition::Good).is_err());
    }

    #[test]
    fn requests_move_the_tool_only_when_approved_or_done() {
        use ToolRequestState::*;
        let r = ToolRequestKind::Repair;
        let s = ToolRequestKind::Scrap;
        assert_eq!(
            request_step(r, Requested, Approved, ToolState::Available),
            Ok(Some(ToolState::InRepair))
        );
        assert_eq!(
            request_step(r, Requested, Approved, ToolState::InRepair),
            Ok(None)
        );
        assert_eq!(
            request_step(r, Approved, Done, ToolState::InRepair),
            Ok(Some(ToolState::Available))
        );
        assert_eq!(
            request_step(s, Requested, Approved, ToolState::Available),
            Ok(None)
        );
        assert_eq!(
            request_step(s, Approved, Done, ToolState::Lost),
            Ok(Some(ToolState::Scrapped))
        );
        assert!(request_step(s, Approved, Done, ToolState::Lent).is_err());
        assert!(request_step(s, Requested, Done, ToolState::Available).is_err());
        assert!(request_step(s, Refused, Approved, ToolState::Available).is_err());
        assert!(request_step(s, Done, Done, ToolState::Scrapped).is_err());
        assert!(request_step(r, Requested, Approved, ToolState::Lost).is_err());
        assert_eq!(
            request_step(s, Requested, Refused, ToolState::Available),
            Ok(None)
        );
    }

    #[test]
    fn a_loan_is_due_by_the_end_of_the_local_day() {
        let tz = chrono_tz::Asia::Shanghai;
        // 2027-03-01 23:30 in Shanghai is 15:30 UTC; due at 16:00 UTC
        let now = "2027-03-01T15:30:00Z".parse().unwrap();
        let due_at: DateTime<Utc> = "2027-03-01T16:00:00Z".parse().unwrap();
        assert_eq!(default_due(now, tz), due_at);
        // 2027-03-02 00:30 local is the next day: due at the end of 2 March
        let now2 = "2027-03-01T16:30:00Z".parse().unwrap();
        assert_eq!(default_due(now2, tz), due_at + Duration::days(1));
        assert!(!overdue(due_at, false, now));
        assert!(overdue(due_at, false, due_at));
        assert!(!overdue(due_at, true, due_at + Duration::days(3)));
    }

    #[test]
    fn an_asked_due_time_is_ahead_and_within_thirty_days() {
        let now: DateTime<Utc> = "2027-03-01T02:00:00Z".parse().unwrap();
        assert!(due(now, now).is_err());
        assert!(due(now + Duration::hours(4), now).is_ok());
        assert!(due(now + Duration::days(30), now).is_ok());
        assert!(due(now + Duration::days(31), now).is_err());
    }

    #[test]
    fn upkeep_falls_due_by_the_end_of_its_week() {
        assert_eq!(
            next_upkeep(Some(d("2027-02-01")), 30),
            Some(d("2027-03-03"))
        );
        assert_eq!(next_upkeep(None, 30), None);
        let monday = week_start(d("2027-03-03"));
        assert_eq!(monday, d("2027-03-01"));
        assert_eq!(week_start(d("2027-03-07")), d("2027-03-01"), "Sunday");
        assert_eq!(week_start(d("2027-03-08")), d("2027-03-08"));
        assert!(due_by_week(Some(d("2027-03-07")), monday), "Sunday");
        assert!(due_by_week(Some(d("2027-02-20")), monday), "overdue");
        assert!(!due_by_week(Some(d("2027-03-08")), monday), "next week");
        assert!(due_by_week(None, monday), "never upkept");
    }

    #[test]
    fn weeks_are_iso_weeks() {
        assert_eq!(parse_week("2027-W09"), Ok(d("2027-03-01")));
        assert_eq!(parse_week("2027-W01"), Ok(d("2027-01-04")));
        assert_eq!(parse_week("2026-W53"), Ok(d("2026-12-28")));
        assert_eq!(week_name(d("2027-03-01")), "2027-W09");
        assert_eq!(week_name(d("2026-12-28")), "2026-W53");
        for bad in [
            "2027-W54",
            "2027-W00",
            "2027-10",
            "-5000-W01",
            "262142-W01",
            "9999-W01",
            "2027-W1",
            "",
        ] {
            assert!(parse_week(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn intervals_are_bounded() {
        assert!(interval(0).is_err());
        assert!(interval(1).is_ok());
        assert!(interval(MAX_INTERVAL_DAYS).is_ok());
        assert!(interval(MAX_INTERVAL_DAYS + 1).is_err());
        assert!(interval(i32::MIN).is_err());
    }
}
