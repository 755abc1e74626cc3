//! Customer value (客户价值分析): RFM per customer, value tiers, and the
//! contribution-based discount (对客户进行贡献度分析,分别给与差别折扣优惠).
//! Pure rules: the queries that gather what a customer did are
//! `services::customer_value`.
//!
//! The rules, every one of them:
//!
//! - **A visit** is a repair order of the dealer that was delivered (state
//!   `delivered` or `closed`, with a delivery time); its day is the local
//!   date of the delivery in the dealer's zone. Cancelled and open orders
//!   are no visits.
//! - **The window** is the local dates from `today − window_months`
//!   (calendar months, clamped to the month's end) to today, both included;
//!   default 24 months.
//! - **Recency (R)** is the days from the last visit ever (not only in the
//!   window) to today: 0 for a car delivered today; none without a visit.
//! - **Frequency (F)** is the visits in the window.
//! - **Monetary (M)** is what the customer paid (the payments taken at the
//!   cashier's desk, CNY) on the orders of those visits: the same orders as
//!   F, whenever the payment was taken.
//! - **Scores**, 1 to 5 each, from the dealer's four ascending cut-offs:
//!   R: 5 minus the number of `recency_days` cut-offs the recency exceeds
//!   (no visit at all: 1); F: 1 plus the number of `frequency` cut-offs F
//!   reaches (≥); M: 1 plus the number of `monetary` cut-offs M reaches (≥).
//!   The score is R + F + M (3 to 15).
//! - **Tier**, the first that applies: no visit ever → none (null: not a
//!   workshop customer yet); recency over `lost_after_days` → `lost`;
//!   recency over `at_risk_after_days` → `at_risk`; score at least
//!   `golden_min_score` → `golden` (黄金客户); else `regular`.
//! - **Discount**: the `discount_percent` of the band with the highest
//!   `min_spend` that M reaches; 0 when M reaches none. Bands ascend in both
//!   spend and discount: the more a customer contributes, the bigger the
//!   discount.
//! - **Lapsing** (the target list, as the churn figure counts it): the last
//!   visit on or before the same date 12 months ago and after the same date
//!   24 months ago, whatever the dealer's tier cut-offs.

use chrono::{Months, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::FieldErrors;
use super::money::Money;

string_enum! {
    /// A customer's value tier: golden (黄金客户), regular, at risk of
    /// leaving, or lost.
    pub enum ValueTier {
        Golden = "golden",
        Regular = "regular",
        AtRisk = "at_risk",
        Lost = "lost",
    }
}

string_enum! {
    /// A target list: golden customers with a vehicle due for maintenance
    /// within 30 days (to invite), lapsing customers (last visit 12–24
    /// months ago: to win back), customers delivered in the last 30 days
    /// without a CSI response (for a phone survey).
    pub enum TargetList {
        GoldenMaintenanceDue = "golden_maintenance_due",
        Lapsing = "lapsing",
        CsiSurvey = "csi_survey",
    }
}

string_enum! {
    /// How the analysis is answered: a JSON page or a CSV file for Excel.
    pub enum ValueFormat { Json = "json", Csv = "csv" }
}

/// The days ahead a golden customer's maintenance falls due to be listed.
pub const MAINTENANCE_DUE_DAYS: i64 = 30;
/// The days back a delivery is listed for the phone survey.
pub const SURVEY_DAYS: i64 = 30;
/// The most discount bands a dealer keeps.
pub const MAX_BANDS: usize = 10;
/// The highest discount, in percent.
pub const MAX_DISCOUNT_PERCENT: u32 = 50;

/// The four ascending cut-offs of each score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CutOffs {
    /// Days since the last visit; each exceeded takes a point off R's 5.
    /// Four, ascending, 1 to 3650.
    #[schema(min_items = 4, max_items = 4)]
    pub recency_days: Vec<u32>,
    /// Visits in the window; each reached adds a point to F's 1.
    /// Four, ascending, 1 to 1000.
    #[schema(min_items = 4, max_items = 4)]
    pub frequency: Vec<u32>,
    /// CNY paid in the window; each reached adds a point to M's 1.
    /// Four, ascending, over 0, at most 10000000.00, 2 decimals.
    #[schema(value_type = Vec<String>, min_items = 4, max_items = 4)]
    pub monetary: Vec<Decimal>,
}

/// Where the tiers begin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierCutOffs {
    /// The least score (R + F + M) of a golden customer, 3 to 15.
    #[schema(minimum = 3, maximum = 15)]
    pub golden_min_score: u32,
    /// Recency over this is `at_risk`, 1 to 3650.
    #[schema(minimum = 1, maximum = 3650)]
    pub at_risk_after_days: u32,
    /// Recency over this is `lost`: over `at_risk_after_days`, at most 3650.
    #[schema(minimum = 2, maximum = 3650)]
    pub lost_after_days: u32,
}

/// A discount band: from `min_spend` paid in the window, this discount.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscountBand {
    /// CNY, 0 to 10000000.00, 2 decimals.
    #[schema(value_type = String, format = "decimal")]
    pub min_spend: Decimal,
    /// Percent off, over 0 and at most 50, one decimal.
    #[schema(value_type = String, format = "decimal")]
    pub discount_percent: Decimal,
}

/// A dealer's customer-value settings; the defaults until a manager saves some.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValueSettings {
    /// Months of visits F and M count, 1 to 120.
    #[schema(minimum = 1, maximum = 120)]
    pub window_months: u32,
    pub cut_offs: CutOffs,
    pub tiers: TierCutOffs,
    /// At most 10, ascending in `min_spend` and in `discount_percent`.
    #[schema(max_items = 10)]
    pub discounts: Vec<DiscountBand>,
}

fn yuan(n: i64) -> Decimal {
    Decimal::new(n * 100, 2)
}

impl Default for ValueSettings {
    fn default() -> Self {
        ValueSettings {
            window_months: 24,
            cut_offs: CutOffs {
                recency_days: vec![90, 180, 365, 730],
                frequency: vec![2, 3, 5, 8],
                monetary: vec![yuan(2_000), yuan(5_000), yuan(10_000), yuan(20_000)],
            },
            tiers: TierCutOffs {
                golden_min_score: 12,
                at_risk_after_days: 365,
                lost_after_days: 730,
            },
            discounts: vec![
                DiscountBand {
                    min_spend: yuan(5_000),
                    discount_percent: Decimal::new(3, 0),
                },
                DiscountBand {
                    min_spend: yuan(10_000),
                    discount_percent: Decimal::new(5, 0),
                },
                DiscountBand {
                    min_spend: yuan(20_000),
                    discount_percent: Decimal::new(8, 0),
                },
            ],
        }
    }
}

/// Four strictly ascending values each within `range`, or the problems by path.
fn ascending<T: PartialOrd + Copy>(
    e: &mut FieldErrors,
    path: &str,
    values: &[T],
    ok: impl Fn(T) -> Result<(), String>,
) {
    if values.len() != 4 {
        e.add(path, "must list exactly 4 cut-offs");
        return;
    }
    for (i, v) in values.iter().enumerate() {
        if let Err(m) = ok(*v) {
            e.add(format!("{path}[{i}]"), m);
        } else if i > 0 && values[i - 1] >= *v {
            e.add(
                format!("{path}[{i}]"),
                "must be greater than the one before",
            );
        }
    }
}

fn in_range(lo: u32, hi: u32) -> impl Fn(u32) -> Result<(), String> {
    move |v| {
        if (lo..=hi).contains(&v) {
            Ok(())
        } else {
            Err(format!("must be {lo} to {hi}"))
        }
    }
}

fn amount(v: Decimal) -> Result<(), String> {
    Money::parse(v).map(|_| ()).map_err(|e| e.to_string())
}

impl ValueSettings {
    /// The settings as stored (amounts normalised to 2 decimals), or every
    /// problem by its path (`cut_offs.monetary[2]`, `discounts[1].min_spend`).
    pub fn validated(mut self) -> Result<ValueSettings, FieldErrors> {
        let mut e = FieldErrors::new();
        if !(1..=120).contains(&self.window_months) {
            e.add("window_months", "must be 1 to 120");
        }
        let c = &self.cut_offs;
        ascending(
            &mut e,
            "cut_offs.recency_days",
            &c.recency_days,
            in_range(1, 3650),
        );
        ascending(
            &mut e,
            "cut_offs.frequency",
            &c.frequency,
            in_range(1, 1000),
        );
        ascending(&mut e, "cut_offs.monetary", &c.monetary, |v| {
            amount(v)?;
            if v.is_zero() {
                return Err("must be over 0".into());
            }
            Ok(())
        });
        let t = &self.tiers;
        if !(3..=15).contains(&t.golden_min_score) {
            e.add("tiers.golden_min_score", "must be 3 to 15");
        }
        if !(1..=3650).contains(&t.at_risk_after_days) {
            e.add("tiers.at_risk_after_days", "must be 1 to 3650");
        }
        if !(1..=3650).contains(&t.lost_after_days) {
            e.add("tiers.lost_after_days", "must be 1 to 3650");
        } else if t.lost_after_days <= t.at_risk_after_days {
            e.add(
                "tiers.lost_after_days",
                "must be greater than at_risk_after_days",
            );
        }
        if self.discounts.len() > MAX_BANDS {
            e.add("discounts", format!("must list at most {MAX_BANDS} bands"));
        }
        let max = Decimal::from(MAX_DISCOUNT_PERCENT);
        for (i, b) in self.discounts.iter().enumerate() {
            let spend_ok = e
                .check(&format!("discounts[{i}].min_spend"), amount(b.min_spend))
                .is_some();
            let p = b.discount_percent;
            let percent_ok = if p <= Decimal::ZERO || p > max {
                e.add(
                    format!("discounts[{i}].discount_percent"),
                    format!("must be over 0 and at most {MAX_DISCOUNT_PERCENT}"),
                );
                false
            } else if p.normalize().scale() > 1 {
                e.add(
                    format!("discounts[{i}].discount_percent"),
                    "must have at most 1 decimal",
                );
                false
            } else {
                true
            };
            if i > 0 {
                let before = &self.discounts[i - 1];
                if spend_ok && before.min_spend >= b.min_spend {
                    e.add(
                        format!("discounts[{i}].min_spend"),
                        "must be greater than the band before's",
                    );
                }
                if percent_ok && before.discount_percent >= p {
                    e.add(
                        format!("discounts[{i}].discount_percent"),
                        "must be greater than the band before's: more spend, more discount",
                    );
                }
            }
        }
        e.into_result()?;
        for m in &mut self.cut_offs.monetary {
            *m = m.round_dp(2);
            m.rescale(2);
        }
        for b in &mut self.discounts {
            b.min_spend.rescale(2);
            b.discount_percent = b.discount_percent.normalize();
        }
        Ok(self)
    }

    /// The first local date of the window ending `today`.
    pub fn window_start(&self, today: NaiveDate) -> NaiveDate {
        today
            .checked_sub_months(Months::new(self.window_months))
            .unwrap_or(NaiveDate::MIN)
    }

    /// R: 5 minus the cut-offs the recency exceeds; 1 without a visit.
    pub fn r_score(&self, recency_days: Option<i64>) -> u8 {
        match recency_days {
            None => 1,
            Some(r) => {
                let over = self
                    .cut_offs
                    .recency_days
                    .iter()
                    .filter(|c| r > i64::from(**c))
                    .count();
                5 - over.min(4) as u8
            }
        }
    }

    /// F: 1 plus the cut-offs the visits reach.
    pub fn f_score(&self, visits: u64) -> u8 {
        1 + self
            .cut_offs
            .frequency
            .iter()
            .filter(|c| visits >= u64::from(**c))
            .count()
            .min(4) as u8
    }

    /// M: 1 plus the cut-offs the amount paid reaches.
    pub fn m_score(&self, paid: Decimal) -> u8 {
        1 + self
            .cut_offs
            .monetary
            .iter()
            .filter(|c| paid >= **c)
            .count()
            .min(4) as u8
    }

    /// The tier of a customer with this recency and score.
    pub fn tier(&self, recency_days: Option<i64>, score: u8) -> Option<ValueTier> {
        let r = recency_days?;
        let t = &self.tiers;
        Some(if r > i64::from(t.lost_after_days) {
            ValueTier::Lost
        } else if r > i64::from(t.at_risk_after_days) {
            ValueTier::AtRisk
        } else if u32::from(score) >= t.golden_min_score {
            ValueTier::Golden
        } else {
            ValueTier::Regular
        })
    }

    /// The discount (percent) of the highest band the amount paid reaches; 0 below them all.
    pub fn discount(&self, paid: Decimal) -> Decimal {
        self.discounts
            .iter()
            .filter(|b| paid >= b.min_spend)
            .map(|b| b.discount_percent)
            .max()
            .unwrap_or(Decimal::ZERO)
    }

    /// Everything the rules say of one customer's activity on `today`.
    pub fn assess(&self, a: &Activity, today: NaiveDate) -> Assessment {
        let recency_days = a.last_visit.map(|d| (today - d).num_days().max(0));
        let monetary = Money::from_cents(a.paid_cents).to_decimal();
        let r = self.r_score(recency_days);
        let f = self.f_score(a.visits);
        let m = self.m_score(monetary);
        let score = r + f + m;
        Assessment {
            recency_days,
            frequency: a.visits,
            monetary,
            r_score: r,
            f_score: f,
            m_score: m,
            score,
            tier: self.tier(recency_days, score),
            discount_percent: self.discount(monetary),
        }
    }
}

/// What one customer did, as the queries found it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Activity {
    /// The local date of the last visit ever.
    pub last_visit: Option<NaiveDate>,
    /// Visits in the window.
    pub visits: u64,
    /// Paid on those visits' orders, in fen.
    pub paid_cents: i64,
}

/// RFM, tier and discount of one customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub recency_days: Option<i64>,
    pub frequency: u64,
    pub monetary: Decimal,
    pub r_score: u8,
    pub f_score: u8,
    pub m_score: u8,
    pub score: u8,
    pub tier: Option<ValueTier>,
    pub discount_percent: Decimal,
}

/// Whether a last visit on `last` is lapsing on `today`: on or before the
/// same date 12 months ago, after the same date 24 months ago.
pub fn lapsing(last: Option<NaiveDate>, today: NaiveDate) -> bool {
    let (Some(last), Some(twelve), Some(two_years)) = (
        last,
        today.checked_sub_months(Months::new(12)),
        today.checked_sub_months(Months::new(24)),
    ) else {
        return false;
    };
    last <= twelve && last > two_years
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    const TODAY: (i32, u32, u32) = (2027, 3, 1);

    fn today() -> NaiveDate {
        d(TODAY.0, TODAY.1, TODAY.2)
    }

    #[test]
    fn a_frequent_big_spender_seen_last_month_is_golden_with_the_top_discount_they_reach() {
        let s = ValueSettings::default();
        // 20 days ago, 6 visits, ¥12,345.67
        let a = Activity {
            last_visit: Some(d(2027, 2, 9)),
            visits: 6,
            paid_cents: 1_234_567,
        };
        let v = s.assess(&a, today());
        assert_eq!(v.recency_days, Some(20));
        // R: 20 ≤ 90 → 5; F: 6 reaches 2, 3, 5 → 4; M: 12,345.67 reaches 2k, 5k, 10k → 4
        assert_eq!((v.r_score, v.f_score, v.m_score, v.score), (5, 4, 4, 13));
        assert_eq!(v.tier, Some(ValueTier::Golden));
        assert_eq!(v.monetary, dec("12345.67"));
        // reaches the 5,000 and 10,000 bands: the 10,000 band's 5%
        assert_eq!(v.discount_percent, dec("5"));
    }

    #[test]
    fn one_cheap_visit_is_regular_without_a_discount() {
        let s = ValueSettings::default();
        let a = Activity {
            last_visit: Some(d(2026, 12, 1)),
            visits: 1,
            paid_cents: 48_000,
        };
        let v = s.assess(&a, today());
        // 90 days: not over the 90-day cut-off, R stays 5
        assert_eq!(v.recency_days, Some(90));
        assert_eq!((v.r_score, v.f_score, v.m_score, v.score), (5, 1, 1, 7));
        assert_eq!(v.tier, Some(ValueTier::Regular));
        assert_eq!(v.discount_percent, Decimal::ZERO);
    }

    #[test]
    fn the_tier_follows_the_recency_cut_offs_before_the_score() {
        let s = ValueSettings::default();
        // a big spender not seen for 366 days is at risk, not golden
        assert_eq!(s.tier(Some(366), 15), Some(ValueTier::AtRisk));
        assert_eq!(s.tier(Some(365), 15), Some(ValueTier::Golden));
        assert_eq!(s.tier(Some(365), 11), Some(ValueTier::Regular));
        assert_eq!(s.tier(Some(730), 3), Some(ValueTier::AtRisk));
        assert_eq!(s.tier(Some(731), 15), Some(ValueTier::Lost));
        // never delivered: no tier
        assert_eq!(s.tier(None, 3), None);
    }

    #[test]
    fn each_score_counts_the_cut_offs_passed() {
        let s = ValueSettings::default();
        let r: Vec<u8> = [0, 90, 91, 180, 181, 365, 366, 730, 731, 5000]
            .iter()
            .map(|x| s.r_score(Some(*x)))
            .collect();
        assert_eq!(r, vec![5, 5, 4, 4, 3, 3, 2, 2, 1, 1]);
        assert_eq!(s.r_score(None), 1);
        let f: Vec<u8> = [0, 1, 2, 3, 4, 5, 7, 8, 100]
            .iter()
            .map(|x| s.f_score(*x))
            .collect();
        assert_eq!(f, vec![1, 1, 2, 3, 3, 4, 4, 5, 5]);
        let m: Vec<u8> = [
            "0", "1999.99", "2000", "5000.00", "19999.99", "20000", "1000000",
        ]
        .iter()
        .map(|x| s.m_score(dec(x)))
        .collect();
        assert_eq!(m, vec![1, 1, 2, 3, 4, 5, 5]);
    }

    #[test]
    fn the_discount_is_the_highest_band_reached() {
        let s = ValueSettings::default();
        assert_eq!(s.discount(dec("4999.99")), Decimal::ZERO);
        assert_eq!(s.discount(dec("5000.00")), dec("3"));
        assert_eq!(s.discount(dec("19999.99")), dec("5"));
        assert_eq!(s.discount(dec("250000")), dec("8"));
        let none = ValueSettings {
            discounts: vec![],
            ..ValueSettings::default()
        };
        assert_eq!(none.discount(dec("250000")), Decimal::ZERO);
    }

    #[test]
    fn the_window_is_calendar_months_back_clamped_to_the_months_end() {
        let s = ValueSettings::default();
        assert_eq!(s.window_start(d(2027, 3, 1)), d(2025, 3, 1));
        let six = ValueSettings {
            window_months: 6,
            ..ValueSettings::default()
        };
        assert_eq!(six.window_start(d(2027, 8, 31)), d(2027, 2, 28));
    }

    #[test]
    fn lapsing_is_a_last_visit_twelve_to_twenty_four_months_ago() {
        let t = today();
        assert!(!lapsing(Some(d(2026, 3, 2)), t));
        assert!(lapsing(Some(d(2026, 3, 1)), t));
        assert!(lapsing(Some(d(2025, 3, 2)), t));
        assert!(!lapsing(Some(d(2025, 3, 1)), t));
        assert!(!lapsing(None, t));
    }

    #[test]
    fn the_defaults_are_valid_and_bad_settings_name_every_field() {
        assert_eq!(
            ValueSettings::default().validated(),
            Ok(ValueSettings::default())
        );
        let bad = ValueSettings {
            window_months: 0,
            cut_offs: CutOffs {
                recency_days: vec![90, 90, 365, 730],
                frequency: vec![1, 2, 3],
                monetary: vec![dec("0"), dec("5000"), dec("10000.001"), dec("20000")],
            },
            tiers: TierCutOffs {
                golden_min_score: 16,
                at_risk_after_days: 400,
                lost_after_days: 400,
            },
            discounts: vec![
                DiscountBand {
                    min_spend: dec("5000"),
                    discount_percent: dec("5"),
                },
                DiscountBand {
                    min_spend: dec("4000"),
                    discount_percent: dec("5"),
                },
                DiscountBand {
                    min_spend: dec("-1"),
                    discount_percent: dec("60"),
                },
            ],
        };
        let e = bad.validated().unwrap_err();
        let mut fields: Vec<String> = e.0.iter().map(|f| f.field.clone()).collect();
        fields.sort();
        assert_eq!(
            fields,
            vec![
                "cut_offs.frequency",
                "cut_offs.monetary[0]",
                "cut_offs.monetary[2]",
                "cut_offs.recency_days[1]",
                "discounts[1].discount_percent",
                "discounts[1].min_spend",
                "discounts[2].discount_percent",
                "discounts[2].min_spend",
                "tiers.golden_min_score",
                "tiers.lost_after_days",
                "window_months",
            ]
        );
    }

    #[test]
    fn saved_amounts_are_written_with_two_decimals() {
        let mut s = ValueSettings::default();
        s.cut_offs.monetary[0] = dec("2000");
        s.discounts[0].discount_percent = dec("3.50");
        let v = s.validated().unwrap();
        assert_eq!(v.cut_offs.monetary[0].to_string(), "2000.00");
        assert_eq!(v.discounts[0].min_spend.to_string(), "5000.00");
        assert_eq!(v.discounts[0].discount_percent.to_string(), "3.5");
    }
}
