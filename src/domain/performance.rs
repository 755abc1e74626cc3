//! Staff performance and rewards (绩效管理, 员工激励): "performance
//! management, not only appraisal; planned up front, not reviewed after
//! the fact". Each person gets targets for a month before it starts, from
//! the board's KPIs that fit their post; a scorecard holds them against
//! what the records say; a reward scheme, kept as data, turns the
//! scorecard into a bonus explained line by line. Pure rules here:
//! the metrics and whom they fit, the limits of a target and of a scheme,
//! achievement, and [`bonus`]. `services::performance` reads and writes.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{FieldErrors, Role};

string_enum! {
    /// A KPI a person is held to (the board's figures, `GET /api/v1/kpi/range`).
    pub enum KpiMetric {
        /// Revenue of the orders delivered (gross, CNY): the advisor's own orders.
        Revenue = "revenue",
        /// Orders opened from an appointment ÷ orders opened.
        AppointmentRate = "appointment_rate",
        /// The mean CSI of the responses received (0–100).
        Csi = "csi",
        /// Delivered orders followed up within 3 days ÷ orders delivered.
        FollowUpRate = "follow_up_rate",
        /// Delivered orders whose estimate was accepted before work began ÷
        /// delivered orders with clocked work (estimate discipline).
        EstimateBeforeWork = "estimate_before_work",
        /// Clocked hours ÷ hours available (the technician's roster).
        Productivity = "productivity",
        /// Flat-rate hours sold ÷ clocked hours.
        Efficiency = "efficiency",
        /// Comebacks ÷ orders delivered: lower is better.
        ComebackRate = "comeback_rate",
        /// Delivered orders fixed the first time ÷ orders delivered.
        FirstTimeFix = "first_time_fix",
        /// Orders delivered by the promised time ÷ those with a promise.
        OnTimeDelivery = "on_time_delivery",
        /// Orders delivered.
        VehiclesDelivered = "vehicles_delivered",
        /// Policy terms renewed with the dealer ÷ policy terms expiring (续保率).
        InsuranceRenewalRate = "insurance_renewal_rate",
    }
}

string_enum! {
    /// Whose records a figure is counted over.
    pub enum ScoreScope {
        /// The orders, appointments and responses of the advisor.
        Advisor = "advisor",
        /// The technician's hours and the orders they had a job on.
        Technician = "technician",
        /// The whole service department.
        Department = "department",
    }
}

/// How a metric's values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// CNY, 0–100,000,000 with 2 places.
    Amount,
    /// 0–1 with 3 places.
    Share,
    /// 0–100 with 1 place.
    Score,
    /// 0–10 with 3 places (efficiency passes 1 when jobs beat the flat rate).
    Ratio,
    /// A whole number 0–100,000.
    Count,
}

impl KpiMetric {
    pub fn unit(self) -> Unit {
        match self {
            KpiMetric::Revenue => Unit::Amount,
            KpiMetric::Csi => Unit::Score,
            KpiMetric::Efficiency | KpiMetric::Productivity => Unit::Ratio,
            KpiMetric::VehiclesDelivered => Unit::Count,
            _ => Unit::Share,
        }
    }

    /// Lower is better (only the comeback rate).
    pub fn lower_is_better(self) -> bool {
        self == KpiMetric::ComebackRate
    }

    /// The scope of the metric for a person's own work; None for the
    /// department's figures, which only department heads are held to.
    pub fn personal_scope(self) -> Option<ScoreScope> {
        match self {
            KpiMetric::Revenue
            | KpiMetric::AppointmentRate
            | KpiMetric::Csi
            | KpiMetric::FollowUpRate
            | KpiMetric::EstimateBeforeWork => Some(ScoreScope::Advisor),
            KpiMetric::Productivity | KpiMetric::Efficiency | KpiMetric::ComebackRate => {
                Some(ScoreScope::Technician)
            }
            KpiMetric::FirstTimeFix
            | KpiMetric::OnTimeDelivery
            | KpiMetric::VehiclesDelivered
            | KpiMetric::InsuranceRenewalRate => None,
        }
    }
}

/// Who sets targets and the reward scheme: the service manager and the
/// dealer's admin.
pub const MANAGERS: &[Role] = &[Role::ServiceManager, Role::DealerAdmin];

/// Who reads everyone's targets and scorecards (others read their own).
pub const READERS: &[Role] = &[
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::DealerAdmin,
];

/// Posts held to the department's figures (every metric counts the whole
/// department for them).
pub const DEPARTMENT_HEADS: &[Role] = &[
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::WorkshopForeman,
];

/// Posts that get targets.
pub const SCORED: &[Role] = &[
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::WorkshopForeman,
    Role::ServiceAdvisor,
    Role::Technician,
];

/// Whose records `metric` is counted over for a holder of `roles`: the
/// department for its heads; an advisor's or a technician's own work for
/// the metrics of that post; None when the metric does not fit them.
pub fn scope_for(roles: &[Role], metric: KpiMetric) -> Option<ScoreScope> {
    if roles.iter().any(|r| DEPARTMENT_HEADS.contains(r)) {
        return Some(ScoreScope::Department);
    }
    match metric.personal_scope()? {
        ScoreScope::Advisor if roles.contains(&Role::ServiceAdvisor) => Some(ScoreScope::Advisor),
        ScoreScope::Technician if roles.contains(&Role::Technician) => Some(ScoreScope::Technician),
        _ => None,
    }
}

/// Checks a target's value for `metric`: within the unit's range and
/// places, and above zero when more is better (a target of nothing
/// measures nothing).
pub fn check_target(metric: KpiMetric, v: Decimal) -> Result<Decimal, String> {
    let (max, places, what) = match metric.unit() {
        Unit::Amount => (
            Decimal::from(100_000_000),
            2,
            "CNY 0–100000000 with at most 2 places",
        ),
        Unit::Share => (Decimal::ONE, 3, "a share 0–1 with at most 3 places"),
        Unit::Score => (Decimal::from(100), 1, "a score 0–100 with at most 1 place"),
        Unit::Ratio => (Decimal::from(10), 3, "a ratio 0–10 with at most 3 places"),
        Unit::Count => (Decimal::from(100_000), 0, "a whole number 0–100000"),
    };
    if v.is_sign_negative() || v > max || v.normalize().scale() > places {
        return Err(format!("must be {what}"));
    }
    if v.is_zero() && !metric.lower_is_better() {
        return Err("must be above 0".into());
    }
    Ok(v)
}

/// Whether `actual` meets `target`.
pub fn met(metric: KpiMetric, target: Decimal, actual: Decimal) -> bool {
    if metric.lower_is_better() {
        actual <= target
    } else {
        actual >= target
    }
}

/// How far `actual` went towards `target`, to 4 places: actual ÷ target,
/// or target ÷ actual when lower is better. None when it cannot be said:
/// a lower-is-better figure of 0 (nothing to divide by: the best there is)
/// or a target of 0.
pub fn achievement(metric: KpiMetric, target: Decimal, actual: Decimal) -> Option<Decimal> {
    let (num, den) = if metric.lower_is_better() {
        (target, actual)
    } else {
        (actual, target)
    };
    if den.is_zero() {
        return None;
    }
    num.checked_div(den)
        .map(|r| r.round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero))
}

/// One KPI of a post's scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SchemeLine {
    pub metric: KpiMetric,
    /// The share of the base bonus it pays at 100% (0–1, 3 places; a
    /// post's weights add up to at most 1).
    #[schema(value_type = String, format = "decimal")]
    pub weight: Decimal,
    /// Achievement below this pays nothing (0–2, 3 places; `0.8` = 80%).
    #[schema(value_type = String, format = "decimal")]
    pub threshold: Decimal,
    /// Achievement above this pays as this (threshold–3, 3 places; `1.2` = 120%).
    #[schema(value_type = String, format = "decimal")]
    pub cap: Decimal,
}

/// The bonus scheme of one post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostScheme {
    /// One of the scored posts, once in the scheme.
    pub role: Role,
    /// The month's bonus at 100% of every line, CNY (0–1000000, 2 places).
    #[schema(value_type = String, format = "decimal")]
    pub base_bonus: Decimal,
    /// The most the month's bonus pays, CNY (0–1000000, 2 places).
    #[schema(value_type = String, format = "decimal")]
    pub max_bonus: Decimal,
    /// 1–11 lines, each metric once and fitting the post.
    pub lines: Vec<SchemeLine>,
}

/// The dealer's reward scheme (激励方案): one entry per post. A person is
/// paid by the first entry whose post they hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RewardScheme {
    pub posts: Vec<PostScheme>,
}

fn in_range(v: Decimal, lo: Decimal, hi: Decimal, places: u32) -> bool {
    !(v < lo || v > hi || v.normalize().scale() > places)
}

impl RewardScheme {
    /// The scheme as a manager writes it, or every bad field named
    /// (`posts[0].lines[1].weight`).
    pub fn validated(self) -> Result<RewardScheme, FieldErrors> {
        let mut e = FieldErrors::default();
        let (zero, one) = (Decimal::ZERO, Decimal::ONE);
        let money_max = Decimal::from(1_000_000);
        if self.posts.len() > SCORED.len() {
            e.add("posts", format!("at most {} posts", SCORED.len()));
        }
        for (i, p) in self.posts.iter().enumerate() {
            let at = |f: &str| format!("posts[{i}].{f}");
            if !SCORED.contains(&p.role) {
                e.add(at("role"), "is not a post that gets targets");
            } else if self.posts[..i].iter().any(|q| q.role == p.role) {
                e.add(at("role"), "is in the scheme twice");
            }
            if !in_range(p.base_bonus, zero, money_max, 2) {
                e.add(
                    at("base_bonus"),
                    "must be CNY 0–1000000 with at most 2 places",
                );
            }
            if !in_range(p.max_bonus, zero, money_max, 2) {
                e.add(
                    at("max_bonus"),
                    "must be CNY 0–1000000 with at most 2 places",
                );
            }
            if p.lines.is_empty() || p.lines.len() > KpiMetric::ALL.len() {
                e.add(at("lines"), "1 to 11 lines");
            }
            let mut weights = Decimal::ZERO;
            for (j, l) in p.lines.iter().enumerate() {
                let at = |f: &str| format!("posts[{i}].lines[{j}].{f}");
                if p.lines[..j].iter().any(|m| m.metric == l.metric) {
                    e.add(at("metric"), "is in the post's lines twice");
                } else if scope_for(&[p.role], l.metric).is_none() {
                    e.add(at("metric"), format!("does not fit the post {}", p.role));
                }
                if !in_range(l.weight, zero, one, 3) || l.weight.is_zero() {
                    e.add(
                        at("weight"),
                        "must be above 0, at most 1, with at most 3 places",
                    );
                } else {
                    weights += l.weight;
                }
                if !in_range(l.threshold, zero, Decimal::TWO, 3) {
                    e.add(at("threshold"), "must be 0–2 with at most 3 places");
                }
                if !in_range(l.cap, l.threshold.max(zero), Decimal::from(3), 3) {
                    e.add(
                        at("cap"),
                        "must be from the threshold to 3, with at most 3 places",
                    );
                }
            }
            if weights > one {
                e.add(at("lines"), "the weights add up to more than 1");
            }
        }
        e.into_result()?;
        Ok(self)
    }

    /// The entry that pays a holder of `roles`.
    pub fn for_roles(&self, roles: &[Role]) -> Option<&PostScheme> {
        self.posts.iter().find(|p| roles.contains(&p.role))
    }
}

/// What one line of the scheme pays, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BonusLine {
    pub metric: KpiMetric,
    #[schema(value_type = String, format = "decimal")]
    pub weight: Decimal,
    #[schema(value_type = Option<String>, format = "decimal")]
    pub target: Option<Decimal>,
    #[schema(value_type = Option<String>, format = "decimal")]
    pub actual: Option<Decimal>,
    /// actual ÷ target (target ÷ actual when lower is better), 4 places;
    /// null without a target or a figure, or for a perfect lower-is-better 0.
    #[schema(value_type = Option<String>, format = "decimal")]
    pub achievement: Option<Decimal>,
    /// The achievement paid: 0 below the threshold, at most the cap.
    #[schema(value_type = String, format = "decimal")]
    pub paid_ratio: Decimal,
    /// base × weight × paid_ratio, CNY, 2 places (half away from zero).
    #[schema(value_type = String, format = "decimal")]
    pub amount: Decimal,
    pub why_zh_cn: String,
    pub why_en: String,
}

/// A month's bonus of one person under their post's scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Bonus {
    pub role: Role,
    #[schema(value_type = String, format = "decimal")]
    pub base_bonus: Decimal,
    pub lines: Vec<BonusLine>,
    /// Σ of the lines' amounts.
    #[schema(value_type = String, format = "decimal")]
    pub subtotal: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub max_bonus: Decimal,
    /// The subtotal, at most `max_bonus`.
    #[schema(value_type = String, format = "decimal")]
    pub total: Decimal,
}

fn pct(r: Decimal) -> String {
    format!("{}%", super::kpi::round(r * Decimal::ONE_HUNDRED, 1))
}

fn money(d: Decimal) -> Decimal {
    super::kpi::round(d, 2)
}

/// The bonus `scheme` pays for `figures` (each metric's target and actual
/// of the month; a metric of the scheme missing from them has neither).
/// Per line: no target or no figure pays nothing; achievement below the
/// threshold pays nothing; else base × weight × min(achievement, cap),
/// a lower-is-better 0 paying at the cap. The total is the sum, at most
/// `max_bonus`. Every line says why, in zh-CN and English.
pub fn bonus(
    scheme: &PostScheme,
    figures: &[(KpiMetric, Option<Decimal>, Option<Decimal>)],
) -> Bonus {
    let base = money(scheme.base_bonus);
    let lines: Vec<BonusLine> = scheme
        .lines
        .iter()
        .map(|l| {
            let (target, actual) = figures
                .iter()
                .find(|f| f.0 == l.metric)
                .map(|f| (f.1, f.2))
                .unwrap_or((None, None));
            let weight_pct = pct(l.weight);
            let (ach, paid, zh, en) = match (target, actual) {
                (None, _) => (
                    None,
                    Decimal::ZERO,
                    "未设目标：不计".to_string(),
                    "no target set: nothing paid".to_string(),
                ),
                (_, None) => (
                    None,
                    Decimal::ZERO,
                    "本月无数据：不计".to_string(),
                    "no figure this month: nothing paid".to_string(),
                ),
                (Some(t), Some(a)) => match achievement(l.metric, t, a) {
                    None if l.metric.lower_is_better() && a.is_zero() => (
                        None,
                        l.cap,
                        format!("实际为 0，按上限 {} 计", pct(l.cap)),
                        format!("actual 0: paid at the cap, {}", pct(l.cap)),
                    ),
                    None => (
                        None,
                        Decimal::ZERO,
                        "目标为 0：不计".to_string(),
                        "a target of 0: nothing paid".to_string(),
                    ),
                    Some(r) if r < l.threshold => (
                        Some(r),
                        Decimal::ZERO,
                        format!("达成率 {} 低于门槛 {}：不计", pct(r), pct(l.threshold)),
                        format!(
                            "achieved {}, below the {} threshold: nothing paid",
                            pct(r),
                            pct(l.threshold)
                        ),
                    ),
                    Some(r) if r > l.cap => (
                        Some(r),
                        l.cap,
                        format!("达成率 {}，按上限 {} 计", pct(r), pct(l.cap)),
                        format!("achieved {}, paid at the {} cap", pct(r), pct(l.cap)),
                    ),
                    Some(r) => (
                        Some(r),
                        r,
                        format!("达成率 {}", pct(r)),
                        format!("achieved {}", pct(r)),
                    ),
                },
            };
            let amount = money(base * l.weight * paid);
            let sum = format!("{base} × {weight_pct} × {} = {amount}", pct(paid));
            BonusLine {
                metric: l.metric,
                weight: l.weight,
                target,
                actual,
                achievement: ach,
                paid_ratio: paid,
                amount,
                why_zh_cn: format!("{zh}：{sum}"),
                why_en: format!("{en}: {sum}"),
            }
        })
        .collect();
    let subtotal = money(lines.iter().map(|l| l.amount).sum());
    let max_bonus = money(scheme.max_bonus);
    Bonus {
        role: scheme.role,
        base_bonus: base,
        subtotal,
        max_bonus,
        total: subtotal.min(max_bonus),
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A decimal written as in the figures (`dec!(0.5)`).
    macro_rules! dec {
        ($v:literal) => {
            stringify!($v).parse::<Decimal>().unwrap()
        };
    }

    fn line(metric: KpiMetric, weight: Decimal, threshold: Decimal, cap: Decimal) -> SchemeLine {
        SchemeLine {
            metric,
            weight,
            threshold,
            cap,
        }
    }

    fn advisor() -> PostScheme {
        PostScheme {
            role: Role::ServiceAdvisor,
            base_bonus: dec!(2000),
            max_bonus: dec!(2200),
            lines: vec![
                line(KpiMetric::Revenue, dec!(0.5), dec!(0.8), dec!(1.2)),
                line(KpiMetric::Csi, dec!(0.3), dec!(0.9), dec!(1.1)),
                line(KpiMetric::FollowUpRate, dec!(0.2), dec!(0.8), dec!(1)),
            ],
        }
    }

    #[test]
    fn metrics_fit_their_posts_and_heads_take_the_department() {
        assert_eq!(
            scope_for(&[Role::ServiceAdvisor], KpiMetric::Revenue),
            Some(ScoreScope::Advisor)
        );
        assert_eq!(
            scope_for(&[Role::ServiceAdvisor], KpiMetric::Efficiency),
            None
        );
        assert_eq!(
            scope_for(&[Role::Technician], KpiMetric::ComebackRate),
            Some(ScoreScope::Technician)
        );
        assert_eq!(
            scope_for(&[Role::Technician], KpiMetric::FirstTimeFix),
            None
        );
        assert_eq!(
            scope_for(&[Role::ServiceManager], KpiMetric::Revenue),
            Some(ScoreScope::Department)
        );
        assert_eq!(scope_for(&[Role::Cashier], KpiMetric::Revenue), None);
    }

    #[test]
    fn targets_keep_to_their_units() {
        assert!(check_target(KpiMetric::Revenue, dec!(150000.50)).is_ok());
        assert!(check_target(KpiMetric::Revenue, dec!(1.005)).is_err());
        assert!(
            check_target(KpiMetric::Revenue, dec!(0)).is_err(),
            "more is better: above 0"
        );
        assert!(
            check_target(KpiMetric::ComebackRate, dec!(0)).is_ok(),
            "a zero-comeback target"
        );
        assert!(check_target(KpiMetric::Csi, dec!(100.1)).is_err());
        assert!(check_target(KpiMetric::FollowUpRate, dec!(-0.1)).is_err());
        assert!(check_target(KpiMetric::VehiclesDelivered, dec!(12.5)).is_err());
        assert!(check_target(KpiMetric::Efficiency, dec!(1.25)).is_ok());
    }

    #[test]
    fn achievement_divides_the_right_way_round() {
        assert_eq!(
            achievement(KpiMetric::Revenue, dec!(800), dec!(587)),
            Some(dec!(0.7338))
        );
        // a comeback rate of 0.05 against a target of 0.04: 80%
        assert_eq!(
            achievement(KpiMetric::ComebackRate, dec!(0.04), dec!(0.05)),
            Some(dec!(0.8))
        );
        assert_eq!(
            achievement(KpiMetric::ComebackRate, dec!(0.04), dec!(0)),
            None
        );
        assert!(met(KpiMetric::ComebackRate, dec!(0.04), dec!(0.03)));
        assert!(!met(KpiMetric::Revenue, dec!(800), dec!(587)));
    }

    #[test]
    fn a_bonus_is_worked_out_line_by_line() {
        // revenue 9,000 of 10,000 (90%), CSI 95 of 90 (105.6%), follow-up
        // 0.7 of 0.95 (73.7%, below 80%)
        let b = bonus(
            &advisor(),
            &[
                (KpiMetric::Revenue, Some(dec!(10000)), Some(dec!(9000))),
                (KpiMetric::Csi, Some(dec!(90)), Some(dec!(95))),
                (KpiMetric::FollowUpRate, Some(dec!(0.95)), Some(dec!(0.7))),
            ],
        );
        let amounts: Vec<Decimal> = b.lines.iter().map(|l| l.amount).collect();
        // 2000 × 0.5 × 0.9 = 900; 2000 × 0.3 × 1.0556 = 633.36; 0
        assert_eq!(amounts, [dec!(900.00), dec!(633.36), dec!(0.00)]);
        assert_eq!(b.lines[1].achievement, Some(dec!(1.0556)));
        assert_eq!(b.lines[2].achievement, Some(dec!(0.7368)));
        assert_eq!((b.subtotal, b.total), (dec!(1533.36), dec!(1533.36)));
        assert_eq!(
            b.lines[0].why_en,
            "achieved 90.0%: 2000.00 × 50.0% × 90.0% = 900.00"
        );
        assert_eq!(
            b.lines[2].why_zh_cn,
            "达成率 73.7% 低于门槛 80.0%：不计：2000.00 × 20.0% × 0.0% = 0.00"
        );
    }

    #[test]
    fn caps_missing_figures_and_the_most_a_month_pays() {
        let mut s = advisor();
        s.max_bonus = dec!(1500);
        let b = bonus(
            &s,
            &[
                // 150% paid at the 120% cap: 2000 × 0.5 × 1.2 = 1200
                (KpiMetric::Revenue, Some(dec!(10000)), Some(dec!(15000))),
                // 110% of CSI at its cap: 2000 × 0.3 × 1.1 = 660
                (KpiMetric::Csi, Some(dec!(80)), Some(dec!(100))),
                // no follow-up figure this month
                (KpiMetric::FollowUpRate, Some(dec!(0.9)), None),
            ],
        );
        assert_eq!(b.lines[0].amount, dec!(1200.00));
        assert_eq!(b.lines[0].paid_ratio, dec!(1.2));
        assert_eq!(b.lines[1].amount, dec!(660.00));
        assert_eq!(b.lines[2].amount, dec!(0.00));
        assert_eq!(
            b.lines[2].why_en,
            "no figure this month: nothing paid: 2000.00 × 20.0% × 0.0% = 0.00"
        );
        assert_eq!((b.subtotal, b.total), (dec!(1860.00), dec!(1500.00)));
        // a technician with no comeback at all is paid at the cap
        let t = PostScheme {
            role: Role::Technician,
            base_bonus: dec!(1000),
            max_bonus: dec!(2000),
            lines: vec![line(
                KpiMetric::ComebackRate,
                dec!(0.4),
                dec!(0.8),
                dec!(1.5),
            )],
        };
        let b = bonus(
            &t,
            &[(KpiMetric::ComebackRate, Some(dec!(0.05)), Some(dec!(0)))],
        );
        assert_eq!(b.lines[0].amount, dec!(600.00));
        let b = bonus(&t, &[]);
        assert_eq!(
            b.lines[0].why_en,
            "no target set: nothing paid: 1000.00 × 40.0% × 0.0% = 0.00"
        );
    }

    #[test]
    fn a_scheme_names_each_bad_field() {
        let s = RewardScheme {
            posts: vec![
                PostScheme {
                    role: Role::Cashier,
                    base_bonus: dec!(-1),
                    max_bonus: dec!(100),
                    lines: vec![],
                },
                PostScheme {
                    role: Role::Technician,
                    base_bonus: dec!(1000),
                    max_bonus: dec!(1000.001),
                    lines: vec![
                        line(KpiMetric::Revenue, dec!(0.5), dec!(0.8), dec!(1.2)),
                        line(KpiMetric::Efficiency, dec!(0.7), dec!(0.8), dec!(0.7)),
                    ],
                },
            ],
        };
        let names: Vec<String> = s
            .validated()
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            names,
            [
                "posts[0].role",
                "posts[0].base_bonus",
                "posts[0].lines",
                "posts[1].max_bonus",
                "posts[1].lines[0].metric",
                "posts[1].lines[1].cap",
                "posts[1].lines",
            ]
        );
        let ok = RewardScheme {
            posts: vec![advisor()],
        };
        assert!(ok.clone().validated().is_ok());
        assert_eq!(
            ok.for_roles(&[Role::Technician, Role::ServiceAdvisor])
                .map(|p| p.role),
            Some(Role::ServiceAdvisor)
        );
    }
}
