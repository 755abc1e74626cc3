//! The money of an order: each line's labour and parts, then the totals per
//! pay type with VAT. One function, so the estimate, the signed copy, the
//! invoice and the printed order can never disagree.
//!
//! Rounding: each line's labour (hours × rate) and each part line (quantity ×
//! unit price) is rounded to the fen, half away from zero, as a printed
//! invoice shows it; VAT is computed once per pay type on the sum, so the
//! lines add up to what is printed.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use super::PayType;
use crate::domain::Money;

/// How VAT applies: the rate in basis points (1300 = 13 %) and whether the
/// prices on the menu and the lines already include it (the usual way a
/// Chinese dealer quotes a customer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VatRule {
    pub basis_points: u32,
    pub prices_include_vat: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PricedPart {
    /// More than 0, at most 3 decimals (see `money::quantity`).
    pub quantity: Decimal,
    pub unit_price: Money,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PricedLine {
    pub pay_type: PayType,
    /// Hours × 100 (1.25 h = 125).
    pub labour_centihours: i32,
    /// Per hour.
    pub labour_rate: Money,
    /// A menu package's price: the labour is this, whatever hours × rate makes.
    pub package_price: Option<Money>,
    pub parts: Vec<PricedPart>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LineAmounts {
    pub labour: Money,
    pub parts: Money,
    pub total: Money,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sums {
    pub labour: Money,
    pub parts: Money,
    /// Before VAT.
    pub net: Money,
    pub vat: Money,
    /// What is paid.
    pub gross: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    /// One entry per pay type that has lines, in the order of `PayType::ALL`.
    pub by_pay_type: Vec<(PayType, Sums)>,
    pub all: Sums,
}

impl Totals {
    /// The sums of one pay type (zero when it has no lines).
    pub fn of(&self, pay_type: PayType) -> Sums {
        self.by_pay_type
            .iter()
            .find(|(p, _)| *p == pay_type)
            .map(|(_, s)| *s)
            .unwrap_or(Sums::ZERO)
    }
}

impl Sums {
    pub const ZERO: Sums = Sums {
        labour: Money::ZERO,
        parts: Money::ZERO,
        net: Money::ZERO,
        vat: Money::ZERO,
        gross: Money::ZERO,
    };
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the amounts are too large to add up")]
pub struct Overflow;

fn to_money(d: Decimal) -> Result<Money, Overflow> {
    d.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_i64()
        .map(Money::from_cents)
        .ok_or(Overflow)
}

fn add(a: Money, b: Money) -> Result<Money, Overflow> {
    a.checked_add(b).ok_or(Overflow)
}

/// One line's labour, parts and total.
pub fn line_amounts(line: &PricedLine) -> Result<LineAmounts, Overflow> {
    let labour = match line.package_price {
        Some(p) => Ok(p),
        None => Decimal::from(line.labour_centihours)
            .checked_mul(Decimal::from(line.labour_rate.cents()))
            .and_then(|d| d.checked_div(Decimal::ONE_HUNDRED))
            .ok_or(Overflow)
            .and_then(to_money),
    }?;
    let mut parts = Money::ZERO;
    for p in &line.parts {
        let amount = p
            .quantity
            .checked_mul(Decimal::from(p.unit_price.cents()))
            .ok_or(Overflow)
            .and_then(to_money)?;
        parts = add(parts, amount)?;
    }
    Ok(LineAmounts {
        labour,
        parts,
        total: add(labour, parts)?,
    })
}

/// VAT on a sum of prices, as the rule says.
fn with_vat(labour: Money, parts: Money, vat: VatRule) -> Result<Sums, Overflow> {
    let priced = add(labour, parts)?;
    let rate = Decimal::new(i64::from(vat.basis_points), 4);
    let (net, tax, gross) = if vat.prices_include_vat {
        // the price is gross: VAT is the part of it above the net
        let net = Decimal::from(priced.cents())
            .checked_div(Decimal::ONE + rate)
            .ok_or(Overflow)
            .and_then(to_money)?;
        let tax = Money::from_cents(priced.cents() - net.cents());
        (net, tax, priced)
    } else {
        let tax = Decimal::from(priced.cents())
            .checked_mul(rate)
            .ok_or(Overflow)
            .and_then(to_money)?;
        (priced, tax, add(priced, tax)?)
    };
    Ok(Sums {
        labour,
        parts,
        net,
        vat: tax,
        gross,
    })
}

/// The totals of `lines`: per pay type, and over all.
pub fn totals(lines: &[PricedLine], vat: VatRule) -> Result<Totals, Overflow> {
    let mut by_pay_type = Vec::new();
    for &pay_type in PayType::ALL {
        let mut labour = Money::ZERO;
        let mut parts = Money::ZERO;
        let mut any = false;
        for line in lines.iter().filter(|l| l.pay_type == pay_type) {
            let a = line_amounts(line)?;
            labour = add(labour, a.labour)?;
            parts = add(parts, a.parts)?;
            any = true;
        }
        if any {
            by_pay_type.push((pay_type, with_vat(labour, parts, vat)?));
        }
    }
    let mut all = Sums::ZERO;
    for (_, s) in &by_pay_type {
        all = Sums {
            labour: add(all.labour, s.labour)?,
            parts: add(all.parts, s.parts)?,
            net: add(all.net, s.net)?,
            vat: add(all.vat, s.vat)?,
            gross: add(all.gross, s.gross)?,
        };
    }
    Ok(Totals { by_pay_type, all })
}

/// Whether `final_total` is more than 10 % over `accepted` (the point where
/// the customer must approve again before delivery).
pub fn exceeds_estimate(accepted: Money, final_total: Money) -> bool {
    // final > accepted × 1.1, in whole fen without a float: 10 × final > 11 × accepted
    i128::from(final_total.cents()) * 10 > i128::from(accepted.cents()) * 11
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn m(s: &str) -> Money {
        Money::parse(Decimal::from_str(s).unwrap()).unwrap()
    }
    fn line(pay: PayType, hours_x100: i32, rate: &str, parts: &[(&str, &str)]) -> PricedLine {
        PricedLine {
            pay_type: pay,
            labour_centihours: hours_x100,
            labour_rate: m(rate),
            package_price: None,
            parts: parts
                .iter()
                .map(|(q, p)| PricedPart {
                    quantity: Decimal::from_str(q).unwrap(),
                    unit_price: m(p),
                })
                .collect(),
        }
    }
    const INCL: VatRule = VatRule {
        basis_points: 1300,
        prices_include_vat: true,
    };
    const EXCL: VatRule = VatRule {
        basis_points: 1300,
        prices_include_vat: false,
    };

    #[test]
    fn a_line_rounds_each_amount_to_the_fen() {
        // 1.25 h × 333.33 = 416.6625 → 416.66; 4.5 l × 68.88 = 309.96; 1 × 0.005? not a price
        let l = line(
            PayType::Customer,
            125,
            "333.33",
            &[("4.5", "68.88"), ("1", "120.00")],
        );
        let a = line_amounts(&l).unwrap();
        assert_eq!(a.labour, m("416.66"));
        assert_eq!(a.parts, m("429.96"));
        assert_eq!(a.total, m("846.62"));
        // half away from zero: 0.5 h × 0.01 = 0.005 → 0.01
        assert_eq!(
            line_amounts(&line(PayType::Customer, 50, "0.01", &[]))
                .unwrap()
                .labour,
            m("0.01")
        );
    }

    #[test]
    fn a_package_price_replaces_hours_times_rate() {
        let mut l = line(PayType::Customer, 150, "300.00", &[("1", "0")]);
        l.package_price = Some(m("480.00"));
        assert_eq!(line_amounts(&l).unwrap().total, m("480.00"));
    }

    #[test]
    fn totals_split_by_pay_type_with_vat_included_or_added() {
        let lines = [
            line(PayType::Customer, 100, "300.00", &[("1", "113.00")]),
            line(PayType::Warranty, 200, "250.00", &[]),
            line(PayType::Customer, 50, "300.00", &[]),
        ];
        let t = totals(&lines, INCL).unwrap();
        let c = t.of(PayType::Customer);
        assert_eq!(
            (c.labour, c.parts, c.gross),
            (m("450.00"), m("113.00"), m("563.00"))
        );
        // 563 / 1.13 = 498.230… → 498.23; VAT 64.77
        assert_eq!((c.net, c.vat), (m("498.23"), m("64.77")));
        let w = t.of(PayType::Warranty);
        assert_eq!(w.gross, m("500.00"));
        assert_eq!(t.of(PayType::Insurance), Sums::ZERO);
        assert_eq!(t.by_pay_type.len(), 2);
        assert_eq!(t.all.gross, m("1063.00"));
        assert_eq!(t.all.net.cents() + t.all.vat.cents(), t.all.gross.cents());

        let t = totals(&lines, EXCL).unwrap();
        let c = t.of(PayType::Customer);
        // 563 × 0.13 = 73.19
        assert_eq!(
            (c.net, c.vat, c.gross),
            (m("563.00"), m("73.19"), m("636.19"))
        );
    }

    #[test]
    fn no_lines_make_zero_and_huge_lines_do_not_wrap() {
        assert_eq!(totals(&[], INCL).unwrap().all, Sums::ZERO);
        let huge = line(
            PayType::Customer,
            i32::MAX,
            "10000000.00",
            &[("10000", "10000000.00")],
        );
        let many = vec![huge; 2_000];
        // 2,000 lines of ~2×10^17 fen each overflow i64: an error, never a wrap or a panic
        assert_eq!(totals(&many, EXCL), Err(Overflow));
    }

    #[test]
    fn ten_percent_over_the_estimate_is_the_line() {
        assert!(!exceeds_estimate(m("1000.00"), m("1100.00")));
        assert!(exceeds_estimate(m("1000.00"), m("1100.01")));
        assert!(exceeds_estimate(Money::ZERO, m("0.01")));
        assert!(!exceeds_estimate(Money::ZERO, Money::ZERO));
    }
}
