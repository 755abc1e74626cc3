//! Money (CNY): a whole number of fen (cents) with checked arithmetic, so an
//! amount a client sends can never panic a multiplication or wrap a sum.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// An amount in fen. Built from a client's decimal only through [`Money::parse`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Money(i64);

/// The largest price one line may carry: 10,000,000.00 CNY.
pub const MAX_PRICE: Money = Money(1_000_000_000);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("must not be negative")]
    Negative,
    #[error("must have at most 2 decimals")]
    TooPrecise,
    #[error("must be at most 10000000.00")]
    TooLarge,
}

impl Money {
    pub const ZERO: Money = Money(0);

    /// A price as a client writes it: 0 to 10,000,000.00, at most 2 decimals.
    pub fn parse(d: Decimal) -> Result<Money, MoneyError> {
        if d.is_sign_negative() && !d.is_zero() {
            return Err(MoneyError::Negative);
        }
        // compared before any arithmetic: 79228162514264337593543950335 × 100 panics
        if d > Decimal::new(MAX_PRICE.0, 2) {
            return Err(MoneyError::TooLarge);
        }
        if d.normalize().scale() > 2 {
            return Err(MoneyError::TooPrecise);
        }
        d.checked_mul(Decimal::ONE_HUNDRED)
            .and_then(|c| c.round().to_i64())
            .map(Money)
            .ok_or(MoneyError::TooLarge)
    }

    /// An amount this server wrote itself as a decimal (a line's or an
    /// order's total, which may be far over [`MAX_PRICE`]): whole fen that
    /// fit, else None.
    pub fn from_written(d: Decimal) -> Option<Money> {
        if d.normalize().scale() > 2 {
            return None;
        }
        d.checked_mul(Decimal::ONE_HUNDRED)?.to_i64().map(Money)
    }

    /// An amount as stored (fen).
    pub fn from_cents(cents: i64) -> Money {
        Money(cents)
    }

    pub fn cents(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// The sum, or None if it does not fit.
    pub fn sum(items: impl IntoIterator<Item = Money>) -> Option<Money> {
        items
            .into_iter()
            .try_fold(Money::ZERO, |acc, m| acc.checked_add(m))
    }

    /// As a decimal with 2 places, for the wire.
    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }
}

/// The largest quantity of one part on one menu line.
pub const MAX_QUANTITY: u32 = 10_000;

/// A part quantity: more than 0, at most [`MAX_QUANTITY`], at most 3 decimals
/// (litres of oil).
pub fn quantity(q: Decimal) -> Result<Decimal, String> {
    if q <= Decimal::ZERO || q > Decimal::from(MAX_QUANTITY) {
        return Err(format!("must be more than 0 and at most {MAX_QUANTITY}"));
    }
    if q.normalize().scale() > 3 {
        return Err("must have at most 3 decimals".into());
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn prices_are_bounded_before_any_arithmetic() {
        let d = |s: &str| Decimal::from_str(s).unwrap();
        assert_eq!(Money::parse(d("480.00")).unwrap().cents(), 48_000);
        assert_eq!(Money::parse(d("480.000")).unwrap().cents(), 48_000);
        assert_eq!(
            Money::parse(d("79228162514264337593543950335")),
            Err(MoneyError::TooLarge)
        );
        assert_eq!(Money::parse(d("10000000.01")), Err(MoneyError::TooLarge));
        assert_eq!(Money::parse(d("1.005")), Err(MoneyError::TooPrecise));
        assert_eq!(Money::parse(d("-1")), Err(MoneyError::Negative));
        assert_eq!(Money::parse(d("10000000.00")), Ok(MAX_PRICE));
    }

    #[test]
    fn a_written_total_may_be_over_the_largest_price() {
        let d = |s: &str| Decimal::from_str(s).unwrap();
        assert_eq!(
            Money::from_written(d("100200000000000.00")),
            Some(Money(10_020_000_000_000_000))
        );
        assert_eq!(Money::from_written(d("1.005")), None);
        assert_eq!(
            Money::from_written(d("79228162514264337593543950335")),
            None
        );
    }

    #[test]
    fn sums_never_wrap() {
        let big = Money::from_cents(i64::MAX - 1);
        assert_eq!(Money::sum([big, Money::from_cents(5)]), None);
        assert_eq!(
            Money::sum([Money::from_cents(1), Money::from_cents(2)]),
            Some(Money::from_cents(3))
        );
        assert!(quantity(Decimal::from(10_001)).is_err());
        assert!(quantity(Decimal::new(45, 1)).is_ok());
    }
}
