//! The workshop's pure rules: which QC level may be recorded next, whether a
//! promise is at risk, what is still owed and whether a payment fits.

use chrono::{DateTime, Duration, Utc};

use super::{OrderState, QcLevel};
use crate::domain::Money;

/// Whether `level` may be recorded when `passed` is the highest level passed
/// in the current round: self first, then foreman, then final, each once.
pub fn qc_next(passed: Option<QcLevel>, level: QcLevel) -> Result<(), String> {
    if level.previous() == passed {
        return Ok(());
    }
    Err(match passed {
        Some(QcLevel::Final) => "the final inspection has already passed".to_string(),
        Some(p) if rank(p) >= rank(level) => {
            format!("the {level} check has already passed in this round")
        }
        _ => format!(
            "the {} check must pass before the {level} check",
            level.previous().map(|l| l.as_str()).unwrap_or("self")
        ),
    })
}

fn rank(l: QcLevel) -> u8 {
    match l {
        QcLevel::SelfCheck => 1,
        QcLevel::Foreman => 2,
        QcLevel::Final => 3,
    }
}

/// An order whose promised time is at risk: promised, still in the shop, and
/// either past the promise or with more sold hours left than time until it.
pub fn promise_at_risk(
    state: OrderState,
    promised_at: Option<DateTime<Utc>>,
    remaining_centihours: i64,
    now: DateTime<Utc>,
) -> bool {
    let Some(promised) = promised_at else {
        return false;
    };
    if matches!(
        state,
        OrderState::Ready | OrderState::Delivered | OrderState::Closed | OrderState::Cancelled
    ) {
        return false;
    }
    // sold hours × 100 → minutes: × 60 / 100, rounded up
    let minutes = (remaining_centihours.max(0) * 60 + 99) / 100;
    now >= promised || now + Duration::minutes(minutes) > promised
}

/// What is still owed: the customer-pay gross less what was paid (never below 0).
pub fn balance(customer_gross: Money, paid: Money) -> Money {
    Money::from_cents((customer_gross.cents() - paid.cents()).max(0))
}

/// A payment must be more than 0 and at most the balance.
pub fn payment_fits(amount: Money, balance: Money) -> Result<(), String> {
    if amount.cents() <= 0 {
        return Err("must be more than 0".into());
    }
    if amount.cents() > balance.cents() {
        return Err(format!(
            "is more than the balance of {}",
            balance.to_decimal()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn qc_levels_come_in_order_each_once_per_round() {
        use QcLevel::*;
        assert!(qc_next(None, SelfCheck).is_ok());
        assert!(qc_next(Some(SelfCheck), Foreman).is_ok());
        assert!(qc_next(Some(Foreman), Final).is_ok());
        assert_eq!(
            qc_next(None, Final).unwrap_err(),
            "the foreman check must pass before the final check"
        );
        assert_eq!(
            qc_next(None, Foreman).unwrap_err(),
            "the self check must pass before the foreman check"
        );
        assert!(
            qc_next(Some(SelfCheck), SelfCheck)
                .unwrap_err()
                .contains("already")
        );
        assert!(
            qc_next(Some(Foreman), SelfCheck)
                .unwrap_err()
                .contains("already")
        );
        assert!(qc_next(Some(Final), Final).unwrap_err().contains("already"));
        assert!(qc_next(Some(SelfCheck), Final).is_err());
    }

    #[test]
    fn a_promise_is_at_risk_when_the_hours_left_do_not_fit() {
        let now = Utc.with_ymd_and_hms(2027, 3, 1, 8, 0, 0).unwrap();
        let at = |h| Some(now + Duration::hours(h));
        use OrderState::*;
        // 2 h left, 3 h to go: fine; 4 h left: at risk
        assert!(!promise_at_risk(InWork, at(3), 200, now));
        assert!(promise_at_risk(InWork, at(3), 400, now));
        // exactly fitting is not at risk
        assert!(!promise_at_risk(EstimateAccepted, at(3), 300, now));
        // past the promise: at risk even with nothing left
        assert!(promise_at_risk(Qc, at(-1), 0, now));
        assert!(promise_at_risk(Open, Some(now), 0, now));
        // no promise, or the car is ready or gone: never
        assert!(!promise_at_risk(InWork, None, 10_000, now));
        for s in [Ready, Delivered, Closed, Cancelled] {
            assert!(!promise_at_risk(s, at(-5), 500, now), "{s}");
        }
        // 0.01 h is a minute, not nothing
        assert!(promise_at_risk(
            InWork,
            Some(now + Duration::seconds(30)),
            1,
            now
        ));
    }

    #[test]
    fn payments_take_what_is_owed_and_no_more() {
        let m = Money::from_cents;
        assert_eq!(balance(m(10_000), m(2_500)), m(7_500));
        assert_eq!(balance(m(10_000), m(12_000)), m(0));
        assert!(payment_fits(m(7_500), m(7_500)).is_ok());
        assert!(payment_fits(m(1), m(7_500)).is_ok());
        assert_eq!(
            payment_fits(m(7_501), m(7_500)).unwrap_err(),
            "is more than the balance of 75.00"
        );
        assert!(payment_fits(m(0), m(7_500)).is_err());
    }
}
