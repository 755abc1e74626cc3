//! Warranty claims (索赔管理): the case's states and who may move it, the
//! eligibility rule (months and kilometres from the in-service date), the
//! claim amount and how a line of the brand's remittance reconciles.
//! Pure: no I/O.

use chrono::{Months, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};

use super::Role;
use super::money::Money;

string_enum! {
    /// A warranty case's state: `draft → decided → work_done → submitted →
    /// approved | rejected → reimbursed`; a rejected claim may be
    /// `resubmitted` (with a reason) and answered again.
    pub enum WarrantyState {
        Draft = "draft",
        Decided = "decided",
        WorkDone = "work_done",
        Submitted = "submitted",
        Approved = "approved",
        Rejected = "rejected",
        Resubmitted = "resubmitted",
        Reimbursed = "reimbursed",
    }
}

string_enum! {
    /// A step on a warranty case.
    pub enum WarrantyAction {
        /// The warranty clerk finds the car within its warranty terms.
        Decide = "decide",
        /// The service manager covers it as goodwill (善意索赔), terms or not.
        Goodwill = "goodwill",
        /// The warranty work is done; the claimed parts are tagged and stored.
        FinishWork = "finish_work",
        /// The claim is filed with the brand (its amount is fixed then).
        Submit = "submit",
        /// The brand approved the claim.
        Approve = "approve",
        /// The brand rejected the claim (a reason is required).
        Reject = "reject",
        /// Filed again after a rejection (a reason is required).
        Resubmit = "resubmit",
        /// The brand paid.
        Reimburse = "reimburse",
    }
}

string_enum! {
    /// Why the case is covered.
    pub enum WarrantyDecision {
        /// Within the make's warranty terms.
        Warranty = "warranty",
        /// Goodwill, by the service manager.
        Goodwill = "goodwill",
    }
}

string_enum! {
    /// How a line of the brand's remittance reconciled.
    pub enum RemittanceOutcome {
        /// Paid in full (or more).
        Paid = "paid",
        /// Paid less than claimed; the difference is recorded.
        ShortPaid = "short_paid",
        /// Rejected with the brand's reason.
        Rejected = "rejected",
        /// No claim of this dealer has the number.
        UnknownClaim = "unknown_claim",
        /// The claim is not awaiting the brand's answer (never submitted, or
        /// already reconciled by an earlier file): nothing changed.
        NotOpen = "not_open",
    }
}

string_enum! {
    /// A claimed part (索赔件) in the register.
    pub enum WarrantyPartState {
        /// Kept until the brand releases it or its keep-until date passes.
        Kept = "kept",
        Released = "released",
        Scrapped = "scrapped",
    }
}

/// Who reads warranty cases, the claimed-parts register and the export.
pub const READERS: &[Role] = &[Role::WarrantyClerk, Role::ServiceManager, Role::DealerAdmin];
/// Who opens cases by hand and edits the facts (VIN, mileage, in-service
/// date, failed part, labour operations, parts).
pub const FACT_EDITORS: &[Role] = &[Role::ServiceAdvisor, Role::WarrantyClerk];
/// Who writes the diagnosis and the causal part.
pub const DIAGNOSIS_EDITORS: &[Role] = &[Role::Technician, Role::WorkshopForeman];
/// Who imports the brand's remittance.
pub const REMITTANCE: &[Role] = &[Role::WarrantyClerk];

/// Who reads one case: the readers and those who edit its facts or diagnosis.
pub const CASE_READERS: &[Role] = &[
    Role::WarrantyClerk,
    Role::ServiceManager,
    Role::DealerAdmin,
    Role::ServiceAdvisor,
    Role::Technician,
    Role::WorkshopForeman,
];

/// The states whose facts and findings may still change: before the
/// claim goes to the brand, and after it comes back rejected.
pub const EDITABLE: [WarrantyState; 4] = [
    WarrantyState::Draft,
    WarrantyState::Decided,
    WarrantyState::WorkDone,
    WarrantyState::Rejected,
];

/// Whether a case in `s` may still be edited.
pub fn editable(s: WarrantyState) -> bool {
    EDITABLE.contains(&s)
}

/// Who may take each action (the table the service checks).
pub fn roles_for(action: WarrantyAction) -> &'static [Role] {
    use WarrantyAction::*;
    match action {
        Decide | Submit | Approve | Reject | Resubmit | Reimburse => &[Role::WarrantyClerk],
        Goodwill => &[Role::ServiceManager],
        FinishWork => &[Role::WorkshopForeman, Role::Technician, Role::WarrantyClerk],
    }
}

/// An action out of order for the state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {state} warranty case cannot take `{action}`")]
pub struct Refusal {
    pub state: WarrantyState,
    pub action: WarrantyAction,
}

/// The state after `action`, or why not.
pub fn step(state: WarrantyState, action: WarrantyAction) -> Result<WarrantyState, Refusal> {
    use WarrantyAction as A;
    use WarrantyState as S;
    match (state, action) {
        (S::Draft, A::Decide | A::Goodwill) => Ok(S::Decided),
        (S::Decided, A::FinishWork) => Ok(S::WorkDone),
        (S::WorkDone, A::Submit) => Ok(S::Submitted),
        (S::Submitted | S::Resubmitted, A::Approve) => Ok(S::Approved),
        (S::Submitted | S::Resubmitted, A::Reject) => Ok(S::Rejected),
        (S::Rejected, A::Resubmit) => Ok(S::Resubmitted),
        (S::Submitted | S::Resubmitted | S::Approved, A::Reimburse) => Ok(S::Reimbursed),
        _ => Err(Refusal { state, action }),
    }
}

/// A make's warranty terms: covered for `months` from the in-service date
/// and up to `km` on the odometer; the brand pays `labour_rate` per
/// flat-rate hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    pub months: u32,
    pub km: i64,
    pub labour_rate: Money,
}

/// Why a car is not within its warranty terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ineligible {
    #[error("no in-service date: the warranty period cannot be counted")]
    NoInServiceDate,
    #[error("no mileage: the kilometre limit cannot be checked")]
    NoMileage,
    #[error("the in-service date {0} is after the repair")]
    InServiceAfterRepair(NaiveDate),
    #[error("expired by time: covered until {covered_until} (exclusive)")]
    ExpiredByTime { covered_until: NaiveDate },
    #[error("expired by kilometres: {mileage_km} km is over the {limit_km} km limit")]
    ExpiredByKm { mileage_km: i64, limit_km: i64 },
}

/// Within the terms: the day the time cover ends (exclusive), or why not.
/// Covered on the days before `in_service + months` (a car in service on
/// 2024-03-15 with 36 months is covered through 2027-03-14) and while the
/// odometer reads at most `km`. Time is checked before kilometres.
pub fn eligibility(
    in_service: Option<NaiveDate>,
    mileage_km: Option<i64>,
    repair_date: NaiveDate,
    terms: Terms,
) -> Result<NaiveDate, Ineligible> {
    let start = in_service.ok_or(Ineligible::NoInServiceDate)?;
    if start > repair_date {
        return Err(Ineligible::InServiceAfterRepair(start));
    }
    let covered_until = start
        .checked_add_months(Months::new(terms.months))
        .unwrap_or(NaiveDate::MAX);
    if repair_date >= covered_until {
        return Err(Ineligible::ExpiredByTime { covered_until });
    }
    let mileage_km = mileage_km.ok_or(Ineligible::NoMileage)?;
    if mileage_km > terms.km {
        return Err(Ineligible::ExpiredByKm {
            mileage_km,
            limit_km: terms.km,
        });
    }
    Ok(covered_until)
}

/// The largest flat-rate hours on one labour operation.
pub const MAX_HOURS: i64 = 1000;

/// Flat-rate hours: more than 0, at most [`MAX_HOURS`], at most 2 decimals.
pub fn hours(h: Decimal) -> Result<Decimal, String> {
    if h <= Decimal::ZERO || h > Decimal::from(MAX_HOURS) {
        return Err(format!("must be more than 0 and at most {MAX_HOURS}"));
    }
    if h.normalize().scale() > 2 {
        return Err("must have at most 2 decimals".into());
    }
    Ok(h)
}

/// A claimed part: quantity × the brand's claim price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimPart {
    pub quantity: Decimal,
    pub claim_price: Money,
}

/// A claim's amounts, in fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimAmount {
    pub labour: Money,
    pub parts: Money,
    pub total: Money,
}

/// Labour (the sum of flat-rate hours × the rate) plus parts (each quantity ×
/// claim price), each product rounded half away from zero to the fen; None
/// if it does not fit (impossible with validated inputs, checked anyway).
pub fn claim_amount(
    hours: &[Decimal],
    labour_rate: Money,
    parts: &[ClaimPart],
) -> Option<ClaimAmount> {
    let fen = |d: Decimal| {
        Money::from_written(d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
    };
    let total_hours = hours
        .iter()
        .try_fold(Decimal::ZERO, |acc, h| acc.checked_add(*h))?;
    let labour = fen(total_hours.checked_mul(labour_rate.to_decimal())?)?;
    let parts = Money::sum(
        parts
            .iter()
            .map(|p| {
                p.quantity
                    .checked_mul(p.claim_price.to_decimal())
                    .and_then(fen)
            })
            .collect::<Option<Vec<_>>>()?,
    )?;
    Some(ClaimAmount {
        labour,
        parts,
        total: labour.checked_add(parts)?,
    })
}

/// How a remittance line answers a claim of `claimed`: `approved` None or 0
/// with a reason is a rejection; less than claimed is short-paid (with the
/// difference in fen); else paid. Err when the line says nothing usable.
pub fn reconcile(
    claimed: Money,
    approved: Option<Money>,
    reason: Option<&str>,
) -> Result<(RemittanceOutcome, Money), String> {
    match approved {
        None | Some(Money::ZERO) => match reason {
            Some(r) if !r.trim().is_empty() => Ok((RemittanceOutcome::Rejected, claimed)),
            _ => Err("no approved amount and no rejection reason".into()),
        },
        Some(a) if a < claimed => Ok((
            RemittanceOutcome::ShortPaid,
            Money::from_cents(claimed.cents() - a.cents()),
        )),
        Some(_) => Ok((RemittanceOutcome::Paid, Money::ZERO)),
    }
}

/// Who releases and scraps claimed parts.
pub const PART_KEEPERS: &[Role] = &[Role::WarrantyClerk];

/// A claimed part's next state: `release` when the brand no longer wants
/// it (from `kept`); `scrap` once released, or once its keep-until day has
/// passed (`today > keep_until`). Else why not.
pub fn part_step(
    state: WarrantyPartState,
    scrap: bool,
    today: NaiveDate,
    keep_until: NaiveDate,
) -> Result<WarrantyPartState, String> {
    use WarrantyPartState as P;
    match (state, scrap) {
        (P::Kept, false) => Ok(P::Released),
        (P::Released, true) => Ok(P::Scrapped),
        (P::Kept, true) if today > keep_until => Ok(P::Scrapped),
        (P::Kept, true) => Err(format!(
            "the part is kept for the brand until {keep_until}: it may be scrapped after that day, or once released"
        )),
        (s, _) => Err(format!("the part is {s}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }
    fn day(s: &str) -> NaiveDate {
        NaiveDate::from_str(s).unwrap()
    }
    const TERMS: Terms = Terms {
        months: 36,
        km: 100_000,
        labour_rate: Money::ZERO,
    };

    #[test]
    fn the_machine_goes_forward_and_back_only_after_a_rejection() {
        use WarrantyAction as A;
        use WarrantyState as S;
        let path = [
            (A::Decide, S::Decided),
            (A::FinishWork, S::WorkDone),
            (A::Submit, S::Submitted),
            (A::Reject, S::Rejected),
            (A::Resubmit, S::Resubmitted),
            (A::Approve, S::Approved),
            (A::Reimburse, S::Reimbursed),
        ];
        let mut s = S::Draft;
        for (a, to) in path {
            s = step(s, a).unwrap();
            assert_eq!(s, to);
        }
        assert_eq!(step(S::Draft, A::Goodwill), Ok(S::Decided));
        assert_eq!(step(S::Resubmitted, A::Reimburse), Ok(S::Reimbursed));
        for a in WarrantyAction::ALL {
            assert!(step(S::Reimbursed, *a).is_err(), "{a}");
        }
        assert_eq!(
            step(S::Draft, A::Submit),
            Err(Refusal {
                state: S::Draft,
                action: A::Submit
            })
        );
        assert!(step(S::Rejected, A::Reimburse).is_err());
        assert!(step(S::Decided, A::Decide).is_err());
    }

    #[test]
    fn roles_follow_the_seed() {
        assert_eq!(roles_for(WarrantyAction::Goodwill), &[Role::ServiceManager]);
        assert!(roles_for(WarrantyAction::Submit).contains(&Role::WarrantyClerk));
        assert!(!roles_for(WarrantyAction::Submit).contains(&Role::ServiceAdvisor));
        assert!(roles_for(WarrantyAction::FinishWork).contains(&Role::Technician));
    }

    #[test]
    fn eligibility_counts_months_then_kilometres() {
        let start = Some(day("2024-03-15"));
        assert_eq!(
            eligibility(start, Some(50_000), day("2027-03-14"), TERMS),
            Ok(day("2027-03-15"))
        );
        assert_eq!(
            eligibility(start, Some(50_000), day("2027-03-15"), TERMS),
            Err(Ineligible::ExpiredByTime {
                covered_until: day("2027-03-15")
            })
        );
        assert_eq!(
            eligibility(start, Some(100_000), day("2026-01-01"), TERMS),
            Ok(day("2027-03-15"))
        );
        assert_eq!(
            eligibility(start, Some(100_001), day("2026-01-01"), TERMS),
            Err(Ineligible::ExpiredByKm {
                mileage_km: 100_001,
                limit_km: 100_000
            })
        );
        assert_eq!(
            eligibility(None, Some(1), day("2026-01-01"), TERMS),
            Err(Ineligible::NoInServiceDate)
        );
        assert_eq!(
            eligibility(start, None, day("2026-01-01"), TERMS),
            Err(Ineligible::NoMileage)
        );
        assert_eq!(
            eligibility(Some(day("2026-02-01")), Some(1), day("2026-01-01"), TERMS),
            Err(Ineligible::InServiceAfterRepair(day("2026-02-01")))
        );
        // month ends: 2024-01-31 + 1 month is 2024-02-29
        let one = Terms { months: 1, ..TERMS };
        assert_eq!(
            eligibility(Some(day("2024-01-31")), Some(1), day("2024-02-28"), one),
            Ok(day("2024-02-29"))
        );
        // absurd terms do not panic
        let forever = Terms {
            months: u32::MAX,
            ..TERMS
        };
        assert!(eligibility(start, Some(1), day("2026-01-01"), forever).is_ok());
    }

    #[test]
    fn the_claim_amount_by_hand() {
        // 1.2 h + 0.35 h = 1.55 h × 120.00 = 186.00; 2 × 45.50 = 91.00,
        // 0.333 × 10.01 = 3.33333 → 3.33; total 280.33
        let rate = Money::parse(d("120.00")).unwrap();
        let parts = [
            ClaimPart {
                quantity: d("2"),
                claim_price: Money::parse(d("45.50")).unwrap(),
            },
            ClaimPart {
                quantity: d("0.333"),
                claim_price: Money::parse(d("10.01")).unwrap(),
            },
        ];
        let a = claim_amount(&[d("1.2"), d("0.35")], rate, &parts).unwrap();
        assert_eq!(a.labour.cents(), 18_600);
        assert_eq!(a.parts.cents(), 9_433);
        assert_eq!(a.total.cents(), 28_033);
        // half a fen rounds away from zero: 0.5 h × 0.01 = 0.005 → 0.01
        let tiny = claim_amount(&[d("0.5")], Money::from_cents(1), &[]).unwrap();
        assert_eq!(tiny.total.cents(), 1);
        assert_eq!(claim_amount(&[], rate, &[]).unwrap().total, Money::ZERO);
    }

    #[test]
    fn remittance_lines_reconcile() {
        let claimed = Money::from_cents(28_033);
        assert_eq!(
            reconcile(claimed, Some(Money::from_cents(28_033)), None),
            Ok((RemittanceOutcome::Paid, Money::ZERO))
        );
        assert_eq!(
            reconcile(claimed, Some(Money::from_cents(25_000)), Some("工时超标")),
            Ok((RemittanceOutcome::ShortPaid, Money::from_cents(3_033)))
        );
        assert_eq!(
            reconcile(claimed, None, Some("超出保修期")),
            Ok((RemittanceOutcome::Rejected, claimed))
        );
        assert_eq!(
            reconcile(claimed, Some(Money::ZERO), Some("照片不清")),
            Ok((RemittanceOutcome::Rejected, claimed))
        );
        assert!(reconcile(claimed, None, Some("  ")).is_err());
    }

    #[test]
    fn parts_are_scrapped_only_when_released_or_past_their_day() {
        use WarrantyPartState as P;
        let until = day("2027-06-01");
        assert_eq!(
            part_step(P::Kept, false, day("2027-01-01"), until),
            Ok(P::Released)
        );
        assert_eq!(
            part_step(P::Released, true, day("2027-01-01"), until),
            Ok(P::Scrapped)
        );
        assert!(part_step(P::Kept, true, day("2027-06-01"), until).is_err());
        assert_eq!(
            part_step(P::Kept, true, day("2027-06-02"), until),
            Ok(P::Scrapped)
        );
        assert!(part_step(P::Released, false, day("2027-01-01"), until).is_err());
        assert!(part_step(P::Scrapped, true, day("2028-01-01"), until).is_err());
    }

    #[test]
    fn hours_are_bounded() {
        assert!(hours(d("1.25")).is_ok());
        assert!(hours(d("0")).is_err());
        assert!(hours(d("1.255")).is_err());
        assert!(hours(d("1000.01")).is_err());
        assert!(hours(d("79228162514264337593543950335")).is_err());
    }
}
