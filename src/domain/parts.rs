//! Parts (配件管理): the stock of a dealer's parts desk, as pure rules.
//!
//! Quantities are decimals with at most [`QTY_PLACES`] places (litres of
//! oil) and are kept as whole thousandths ([`Qty`]) so that the database can
//! compare and subtract them exactly in a conditional UPDATE. Every change
//! of stock is a ledger row with two deltas, one on the quantity on hand
//! and one on the quantity reserved for repair-order jobs; the part row's
//! `on_hand` and `reserved` are the sums of those deltas.
//!
//! Available = on hand − reserved. Nothing that takes stock without a
//! reservation (an issue, a counter sale) may take more than is available;
//! an issue of reserved stock takes what was reserved. ABC classification
//! and the reorder proposal are pure functions here; `services::parts`
//! feeds them the ledger.

use chrono::{Datelike, Duration, NaiveDate};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::Role;

/// Who keeps the stock: receipts, issues, sales, adjustments, master data
/// and settings (the parts desk and the service manager).
pub const WRITERS: &[Role] = &[Role::Parts, Role::ServiceManager];

/// Who reads the stock of a part (on hand, reserved, bin): the parts desk,
/// managers, advisors (promising a date), the foreman (dispatching),
/// technicians (what is on the shelf), the warranty clerk and the admin.
pub const READERS: &[Role] = &[
    Role::Parts,
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::ServiceAdvisor,
    Role::WorkshopForeman,
    Role::Technician,
    Role::WarrantyClerk,
    Role::DealerAdmin,
];

/// Who sees cost prices, the ledger, the ABC classes, the reorder proposal
/// and the settings: the parts desk, managers and the admin.
pub const ANALYSTS: &[Role] = &[
    Role::Parts,
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::DealerAdmin,
];

string_enum! {
    /// One kind of stock movement (a ledger row).
    pub enum MovementKind {
        /// Goods received from the supplier (入库): on hand up.
        Receipt = "receipt",
        /// Issued to a repair order (领料出库): on hand down (and the reservation, if any).
        Issue = "issue",
        /// Returned from the workshop or a customer (退料): on hand up.
        Return = "return",
        /// Sold over the counter (柜台销售): on hand down.
        Sale = "sale",
        /// A stock-take correction (盘点调整): on hand up or down.
        Adjustment = "adjustment",
        /// Held for a repair-order job once its approval counts: reserved up.
        Reserve = "reserve",
        /// A hold given back (the order cancelled): reserved down.
        Release = "release",
    }
}

impl MovementKind {
    /// The kinds a member of the parts desk posts by hand; reserve and
    /// release are made only by repair orders.
    pub fn is_manual(self) -> bool {
        !matches!(self, MovementKind::Reserve | MovementKind::Release)
    }

    /// The sign of the on-hand change for a positive quantity (adjustments
    /// carry their own sign).
    pub fn takes_stock(self) -> bool {
        matches!(self, MovementKind::Issue | MovementKind::Sale)
    }
}

/// Decimal places a quantity may have.
pub const QTY_PLACES: u32 = 3;
/// Thousandths in one unit.
pub const QTY_SCALE: i64 = 1_000;
/// The most one movement may move: 1,000,000 units.
pub const MAX_MOVE: Qty = Qty(1_000_000 * QTY_SCALE);
/// The most a part may have on hand or on order: 1,000,000,000 units (the
/// conditional UPDATE refuses more, so no sum can overflow).
pub const MAX_STOCK: Qty = Qty(1_000_000_000 * QTY_SCALE);
/// The largest lead time, in days.
pub const MAX_LEAD_DAYS: i32 = 365;

/// A quantity in thousandths of a unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Qty(pub i64);

impl Qty {
    pub const ZERO: Qty = Qty(0);

    /// A quantity as a client writes it: more than 0 (or any sign when
    /// `signed`, but not 0), at most [`QTY_PLACES`] decimals, at most
    /// [`MAX_MOVE`] either way. Compared before any arithmetic.
    pub fn parse(d: Decimal, signed: bool) -> Result<Qty, String> {
        let max = Decimal::from(MAX_MOVE.0 / QTY_SCALE);
        if d.abs() > max {
            return Err(format!("must be at most {max} units"));
        }
        if d.is_zero() || (!signed && d.is_sign_negative()) {
            return Err(if signed {
                "must not be 0".into()
            } else {
                "must be more than 0".into()
            });
        }
        if d.normalize().scale() > QTY_PLACES {
            return Err(format!("must have at most {QTY_PLACES} decimals"));
        }
        (d * Decimal::from(QTY_SCALE))
            .to_i64()
            .map(Qty)
            .ok_or_else(|| "is out of range".into())
    }

    /// A stock level as a client writes it (on order at creation): 0 up to
    /// [`MAX_STOCK`].
    pub fn parse_level(d: Decimal) -> Result<Qty, String> {
        if d.is_zero() {
            return Ok(Qty::ZERO);
        }
        if d.is_sign_negative() {
            return Err("must not be negative".into());
        }
        if d > Decimal::from(MAX_STOCK.0 / QTY_SCALE) {
            return Err(format!("must be at most {} units", MAX_STOCK.0 / QTY_SCALE));
        }
        if d.normalize().scale() > QTY_PLACES {
            return Err(format!("must have at most {QTY_PLACES} decimals"));
        }
        (d * Decimal::from(QTY_SCALE))
            .to_i64()
            .map(Qty)
            .ok_or_else(|| "is out of range".into())
    }

    /// A quantity on a repair-order job line (already checked there, at
    /// most 3 decimals): None if it does not fit.
    pub fn of_job_line(d: Decimal) -> Option<Qty> {
        if d <= Decimal::ZERO || d > Decimal::from(MAX_MOVE.0 / QTY_SCALE) {
            return None;
        }
        (d * Decimal::from(QTY_SCALE)).round().to_i64().map(Qty)
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, QTY_PLACES).normalize()
    }
}

/// A part number as the desk and the job lines write it: trimmed, upper
/// case, 1 to 40 letters, digits, `-`, `_` or `.` (no `/`: the number is a
/// path segment). Job lines whose part number is not in this form are
/// simply not stocked parts.
pub fn part_number(raw: &str) -> Result<String, String> {
    let n = raw.trim().to_uppercase();
    let ok = !n.is_empty()
        && n.len() <= 40
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(n)
    } else {
        Err("must be 1 to 40 letters, digits, -, _ or .".into())
    }
}

/// What a manual movement does to (on hand, reserved), or why it may not.
/// `quantity` is positive for all kinds but adjustments, which are signed.
pub fn manual_deltas(kind: MovementKind, quantity: Qty) -> Result<(Qty, Qty), String> {
    match kind {
        MovementKind::Receipt | MovementKind::Return => Ok((quantity, Qty::ZERO)),
        MovementKind::Issue | MovementKind::Sale => Ok((Qty(-quantity.0), Qty::ZERO)),
        MovementKind::Adjustment => Ok((quantity, Qty::ZERO)),
        MovementKind::Reserve | MovementKind::Release => {
            Err("reservations are made by repair orders only".into())
        }
    }
}

/// Settings of the ABC classification and the reorder proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartRules {
    /// Cumulative share of issue value that makes class A, in basis points (8000 = 80 %).
    pub a_cutoff_bp: i32,
    /// Cumulative share up to which class B runs (9500 = 95 %).
    pub b_cutoff_bp: i32,
    /// Days of average demand kept as safety stock.
    pub safety_days: i32,
    /// Demand of each calendar month (January first) in percent of an average month.
    pub season_percent: [i32; 12],
}

impl Default for PartRules {
    fn default() -> Self {
        PartRules {
            a_cutoff_bp: 8000,
            b_cutoff_bp: 9500,
            safety_days: 7,
            season_percent: [100; 12],
        }
    }
}

impl PartRules {
    /// Each bad field named: 0 < A < B < 100 %, safety 0..=365 days,
    /// season factors 0..=1000 %.
    pub fn check(&self) -> Result<(), super::FieldErrors> {
        let mut e = super::FieldErrors::default();
        if !(1..10_000).contains(&self.a_cutoff_bp) {
            e.add("a_cutoff_percent", "must be more than 0 and less than 100");
        }
        if !(1..=10_000).contains(&self.b_cutoff_bp) || self.b_cutoff_bp <= self.a_cutoff_bp {
            e.add(
                "b_cutoff_percent",
                "must be more than the A cut-off and at most 100",
            );
        }
        if !(0..=365).contains(&self.safety_days) {
            e.add("safety_days", "must be 0 to 365");
        }
        if self.season_percent.iter().any(|p| !(0..=1000).contains(p)) {
            e.add("season_percent", "each month must be 0 to 1000");
        }
        e.into_result()
    }
}

string_enum! {
    /// ABC class of a part by its issue value over the last 12 months.
    pub enum AbcClass { A = "a", B = "b", C = "c" }
}

/// Classes by value (fen issued over the period), in the order given.
/// Sorted by value, largest first (ties by input order): a part is A while
/// the value of the parts before it is below the A cut-off of the total, so
/// the part that crosses the cut-off is still A ("the items making the
/// first 80 %"); B likewise up to the B cut-off; the rest C. A part with no
/// issues is C; with no issues at all every part is C.
pub fn abc(values: &[i64], rules: &PartRules) -> Vec<AbcClass> {
    let total: i128 = values.iter().map(|v| i128::from((*v).max(0))).sum();
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(values[i]));
    let mut out = vec![AbcClass::C; values.len()];
    if total == 0 {
        return out;
    }
    let mut before: i128 = 0;
    for i in order {
        let v = i128::from(values[i].max(0));
        if v == 0 {
            break;
        }
        out[i] = if before * 10_000 < i128::from(rules.a_cutoff_bp) * total {
            AbcClass::A
        } else if before * 10_000 < i128::from(rules.b_cutoff_bp) * total {
            AbcClass::B
        } else {
            AbcClass::C
        };
        before += v;
    }
    out
}

/// What a reorder proposal is computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReorderInput {
    /// Quantity issued and sold in each of the last 12 months.
    pub monthly_demand: Vec<Qty>,
    pub on_hand: Qty,
    pub reserved: Qty,
    pub on_order: Qty,
    pub lead_time_days: i32,
    /// The order quantity is a whole number of packs (1 unit when none).
    pub pack_size: Qty,
}

/// A proposal with its figures, for the planner to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reorder {
    /// Average monthly demand over the 12 months.
    pub average_monthly: Decimal,
    /// Expected demand over the lead time, season-weighted.
    pub lead_time_demand: Decimal,
    /// Expected demand over the safety days after it, season-weighted.
    pub safety_stock: Decimal,
    /// To order now: demand + safety − available − on order, up to whole packs, at least 0.
    pub quantity: Qty,
}

/// The reorder proposal of one part, from `today` (the dealer's date).
///
/// Daily demand on a day = average monthly demand × the season percent of
/// that day's month / 100 / 30. The lead-time demand sums the days
/// `today+1 ..= today+lead`, the safety stock the next `safety_days`
/// days. The order is `lead-time demand + safety stock − (on hand −
/// reserved) − on order`, rounded up to a whole thousandth, then up to
/// whole packs; never negative.
pub fn reorder(input: &ReorderInput, rules: &PartRules, today: NaiveDate) -> Reorder {
    let scale = Decimal::from(QTY_SCALE);
    let months = Decimal::from(12);
    let sum = input
        .monthly_demand
        .iter()
        .fold(0i64, |a, q| a.saturating_add(q.0));
    let average = Decimal::from(sum) / scale / months;
    let per_day = |d: NaiveDate| {
        let pct = rules.season_percent[d.month0() as usize];
        average * Decimal::from(pct) / Decimal::ONE_HUNDRED / Decimal::from(30)
    };
    let lead = input.lead_time_days.clamp(0, MAX_LEAD_DAYS);
    let safety = rules.safety_days.clamp(0, 365);
    let mut lead_demand = Decimal::ZERO;
    let mut safety_stock = Decimal::ZERO;
    for i in 1..=i64::from(lead + safety) {
        let d = today + Duration::days(i);
        if i <= i64::from(lead) {
            lead_demand += per_day(d);
        } else {
            safety_stock += per_day(d);
        }
    }
    let available = input.on_hand.0 - input.reserved.0;
    let need = (lead_demand + safety_stock) * scale
        - Decimal::from(available)
        - Decimal::from(input.on_order.0);
    let need = need.ceil().to_i64().unwrap_or(i64::MAX).max(0);
    let pack = input.pack_size.0.max(1);
    let packs = need / pack + i64::from(need % pack != 0);
    Reorder {
        average_monthly: average.round_dp(3).normalize(),
        lead_time_demand: lead_demand.round_dp(3).normalize(),
        safety_stock: safety_stock.round_dp(3).normalize(),
        quantity: Qty(packs.saturating_mul(pack).min(MAX_STOCK.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn quantities_are_bounded_and_kept_in_thousandths() {
        assert_eq!(Qty::parse(d("4.5"), false), Ok(Qty(4_500)));
        assert_eq!(Qty::parse(d("0.001"), false), Ok(Qty(1)));
        assert!(Qty::parse(d("0.0001"), false).is_err());
        assert!(Qty::parse(d("0"), false).is_err());
        assert!(Qty::parse(d("0"), true).is_err());
        assert!(Qty::parse(d("-1"), false).is_err());
        assert_eq!(Qty::parse(d("-2"), true), Ok(Qty(-2_000)));
        assert!(Qty::parse(d("1000001"), false).is_err());
        assert!(Qty::parse(d("79228162514264337593543950335"), true).is_err());
        assert!(Qty::parse(d("-79228162514264337593543950335"), true).is_err());
        assert_eq!(Qty(4_500).to_decimal().to_string(), "4.5");
        assert_eq!(Qty::parse_level(d("0")), Ok(Qty::ZERO));
        assert!(Qty::parse_level(d("-0.5")).is_err());
    }

    #[test]
    fn part_numbers_are_upper_case_codes() {
        assert_eq!(part_number(" 06l115562b ").unwrap(), "06L115562B");
        assert_eq!(part_number("n-910.1_2").unwrap(), "N-910.1_2");
        assert!(part_number("N-910/2").is_err());
        assert!(part_number("").is_err());
        assert!(part_number("机油").is_err());
        assert!(part_number(&"A".repeat(41)).is_err());
    }

    #[test]
    fn manual_movements_sign_the_stock_and_reservations_are_not_manual() {
        assert_eq!(
            manual_deltas(MovementKind::Receipt, Qty(5)),
            Ok((Qty(5), Qty::ZERO))
        );
        assert_eq!(
            manual_deltas(MovementKind::Sale, Qty(5)),
            Ok((Qty(-5), Qty::ZERO))
        );
        assert_eq!(
            manual_deltas(MovementKind::Adjustment, Qty(-3)),
            Ok((Qty(-3), Qty::ZERO))
        );
        assert!(manual_deltas(MovementKind::Reserve, Qty(1)).is_err());
        assert!(!MovementKind::Release.is_manual());
    }

    #[test]
    fn abc_classes_on_a_hand_computed_fixture() {
        // total 1000: shares before each part 0 %, 50 %, 80 %, 90 %, 95 %, 98 %
        let values = [100, 500, 50, 300, 20, 30, 0];
        let r = PartRules::default();
        use AbcClass::*;
        assert_eq!(abc(&values, &r), vec![B, A, B, A, C, C, C]);
        // the A cut-off at 85 %: the part at 80 % before it is A too
        let r85 = PartRules {
            a_cutoff_bp: 8500,
            ..PartRules::default()
        };
        assert_eq!(abc(&values, &r85), vec![A, A, B, A, C, C, C]);
        assert_eq!(abc(&[0, 0], &r), vec![C, C]);
        assert_eq!(abc(&[i64::MAX, i64::MAX], &r), vec![A, A]);
    }

    #[test]
    fn rules_are_checked_field_by_field() {
        assert!(PartRules::default().check().is_ok());
        let bad = PartRules {
            a_cutoff_bp: 9600,
            b_cutoff_bp: 9500,
            safety_days: -1,
            season_percent: [100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 1001],
        };
        let e = bad.check().unwrap_err();
        let names: Vec<_> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            names,
            vec!["b_cutoff_percent", "safety_days", "season_percent"]
        );
    }

    #[test]
    fn reorder_proposal_by_hand() {
        // 360 units over 12 months: 30 a month, 1 a day at 100 %
        let input = ReorderInput {
            monthly_demand: vec![Qty(30_000); 12],
            on_hand: Qty(12_000),
            reserved: Qty(2_000),
            on_order: Qty(5_000),
            lead_time_days: 10,
            pack_size: Qty(4_000),
        };
        let today = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let r = reorder(&input, &PartRules::default(), today);
        assert_eq!(r.average_monthly, d("30"));
        // 10 days at 1 a day; then 7 safety days
        assert_eq!(r.lead_time_demand, d("10"));
        assert_eq!(r.safety_stock, d("7"));
        // 17 − (12 − 2) − 5 = 2 → one pack of 4
        assert_eq!(r.quantity, Qty(4_000));

        // December at 200 %: 21–30 Nov 10 days at 1 = 10; 1–7 Dec at 2 = 14
        let mut season = [100; 12];
        season[11] = 200;
        let rules = PartRules {
            season_percent: season,
            ..PartRules::default()
        };
        let r = reorder(&input, &rules, today);
        assert_eq!(r.lead_time_demand, d("10"));
        assert_eq!(r.safety_stock, d("14"));
        // 24 − 10 − 5 = 9 → 3 packs of 4 = 12
        assert_eq!(r.quantity, Qty(12_000));

        // enough in stock: nothing to order
        let full = ReorderInput {
            on_hand: Qty(100_000),
            ..input.clone()
        };
        assert_eq!(reorder(&full, &rules, today).quantity, Qty::ZERO);

        // a fraction of demand is rounded up to the thousandth, pack 1 unit
        let odd = ReorderInput {
            monthly_demand: vec![Qty(1_000); 12],
            on_hand: Qty::ZERO,
            reserved: Qty::ZERO,
            on_order: Qty::ZERO,
            lead_time_days: 1,
            pack_size: Qty(1_000),
        };
        let r = reorder(&odd, &PartRules::default(), today);
        // 1 a month: 8 days × 1/30 = 0.2667 → 0.267 → one unit
        assert_eq!(r.quantity, Qty(1_000));
    }
}
