//! Customer satisfaction (CSI, 客户满意度): the seed's questionnaire of five
//! weighted sections, and the one formula that scores a response.
//!
//! Each answer is a score 1–10 or "not applicable". A section's score is the
//! mean of its answered questions on a 0–100 scale, `(mean − 1) / 9 × 100`
//! (1 is 0, 10 is 100: the whole scale used, so "all 1s" is not 10 points of
//! satisfaction). CSI is Σ weight × section score with the weights
//! re-normalised over the sections that have answers, so a customer who
//! skipped the lounge questions is scored on what they did answer. Scores
//! are decimals rounded to one place (half away from zero) at the end, never
//! floats: the same answers give the same figure on every machine.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::FieldErrors;

string_enum! {
    /// A section of the questionnaire (the seed's five).
    pub enum Section {
        /// 硬件设施: facilities.
        Facilities = "facilities",
        /// 人员接触: staff contact.
        StaffContact = "staff_contact",
        /// 维修保养实施: the work done.
        WorkDone = "work_done",
        /// 维修保养费用: cost.
        Cost = "cost",
        /// 交车后跟踪服务: follow-up after delivery.
        FollowUp = "follow_up",
    }
}

/// One question, in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// Stable within a questionnaire's versions, e.g. `staff_greeting`.
    #[schema(pattern = "^[a-z][a-z0-9_]{0,39}$")]
    pub code: String,
    #[schema(max_length = 200)]
    pub text_zh: String,
    #[schema(max_length = 200)]
    pub text_en: String,
}

/// A section with its weight (percent) and questions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SectionSpec {
    pub section: Section,
    /// Percent; the five sum to 100.
    #[schema(minimum = 0, maximum = 100)]
    pub weight: u32,
    #[schema(min_items = 1, max_items = 20)]
    pub questions: Vec<Question>,
}

/// The questions and weights a dealer asks (`GET/PUT /api/v1/csi/questionnaire`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Questionnaire {
    /// Every section once, in the order shown.
    #[schema(min_items = 5, max_items = 5)]
    pub sections: Vec<SectionSpec>,
}

fn q(code: &str, zh: &str, en: &str) -> Question {
    Question {
        code: code.into(),
        text_zh: zh.into(),
        text_en: en.into(),
    }
}

impl Default for Questionnaire {
    /// The seed's questionnaire (DOMAIN.md, "CSI").
    fn default() -> Self {
        use Section::*;
        let s = |section, weight, questions| SectionSpec {
            section,
            weight,
            questions,
        };
        Questionnaire {
            sections: vec![
                s(
                    Facilities,
                    20,
                    vec![
                        q(
                            "facilities_look",
                            "店内外设施（含外观、标识）",
                            "Inside and outside facilities, look and signs",
                        ),
                        q(
                            "lounge",
                            "休息区整洁舒适",
                            "The lounge was clean and comfortable",
                        ),
                        q("refreshments", "饮料和午餐", "Drinks and lunch"),
                        q("convenience", "服务便利性", "The service was convenient"),
                    ],
                ),
                s(
                    StaffContact,
                    33,
                    vec![
                        q(
                            "greeting",
                            "到店时的接待问候",
                            "You were greeted on arrival",
                        ),
                        q("appearance", "员工仪容仪表", "Staff appearance"),
                        q("attitude", "员工服务态度", "Staff attitude"),
                        q(
                            "listening",
                            "耐心倾听并确认您的需求",
                            "We listened patiently and confirmed your needs",
                        ),
                        q(
                            "explained_before",
                            "事先说明维修项目、费用和交车时间",
                            "Work, cost and delivery time were explained beforehand",
                        ),
                        q(
                            "explained_after",
                            "交车时说明故障原因和用车建议",
                            "The fault's cause and usage tips were explained at delivery",
                        ),
                        q("proactive_care", "主动关怀", "Proactive care"),
                    ],
                ),
                s(
                    WorkDone,
                    22,
                    vec![
                        q(
                            "problem_solved",
                            "诊断并解决了问题",
                            "The problem was diagnosed and solved",
                        ),
                        q("right_first_time", "一次修好", "Done right the first time"),
                        q(
                            "car_clean",
                            "交车时车辆整洁",
                            "The car was clean at delivery",
                        ),
                        q(
                            "on_time",
                            "按承诺时间交车",
                            "Delivered at the promised time",
                        ),
                        q(
                            "total_time",
                            "总用时符合预期",
                            "The total time met your expectations",
                        ),
                    ],
                ),
                s(
                    Cost,
                    10,
                    vec![
                        q("price_transparency", "价格透明", "Prices were transparent"),
                        q(
                            "matches_estimate",
                            "实付金额与估价一致",
                            "The amount paid matched the estimate",
                        ),
                        q("value", "物有所值", "Value for money"),
                    ],
                ),
                s(
                    FollowUp,
                    15,
                    vec![
                        q(
                            "timely_followup",
                            "回访及时",
                            "We followed up in time after your visit",
                        ),
                        q(
                            "followup_satisfaction",
                            "对回访本身满意",
                            "You were satisfied with the follow-up itself",
                        ),
                        q(
                            "responsibility",
                            "负责到底",
                            "We took responsibility to the end",
                        ),
                    ],
                ),
            ],
        }
    }
}

impl Questionnaire {
    /// Every section once, weights summing to 100, one to twenty questions a
    /// section, codes well-formed and unique, texts present.
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::new();
        let mut sections: Vec<&str> = self.sections.iter().map(|s| s.section.as_str()).collect();
        sections.sort_unstable();
        sections.dedup();
        if self.sections.len() != Section::ALL.len() || sections.len() != Section::ALL.len() {
            e.add("sections", "each of the five sections once");
        }
        let total: u64 = self.sections.iter().map(|s| u64::from(s.weight)).sum();
        if total != 100 {
            e.add("sections", format!("weights must sum to 100, not {total}"));
        }
        let mut codes = std::collections::HashSet::new();
        for (i, s) in self.sections.iter().enumerate() {
            if s.questions.is_empty() || s.questions.len() > 20 {
                e.add(
                    format!("sections[{i}].questions"),
                    "one to twenty questions",
                );
            }
            for (j, q) in s.questions.iter().enumerate() {
                let at = format!("sections[{i}].questions[{j}]");
                let well_formed = !q.code.is_empty()
                    && q.code.len() <= 40
                    && q.code.starts_with(|c: char| c.is_ascii_lowercase())
                    && q.code
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if !well_formed {
                    e.add(
                        format!("{at}.code"),
                        "lower-case letters, digits and _, at most 40",
                    );
                } else if !codes.insert(q.code.as_str()) {
                    e.add(format!("{at}.code"), "each code once in the questionnaire");
                }
                for (field, text) in [("text_zh", &q.text_zh), ("text_en", &q.text_en)] {
                    if text.trim().is_empty() || text.chars().count() > 200 || text.contains('\0') {
                        e.add(format!("{at}.{field}"), "1 to 200 characters, no NUL");
                    }
                }
            }
        }
        e.into_result()
    }

    /// The section a question code belongs to.
    pub fn section_of(&self, code: &str) -> Option<Section> {
        self.sections
            .iter()
            .find(|s| s.questions.iter().any(|q| q.code == code))
            .map(|s| s.section)
    }
}

/// One section's score in a response: `None` when none of its questions
/// was answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SectionScore {
    pub section: Section,
    /// 0–100, one decimal.
    #[schema(value_type = Option<String>, format = "decimal")]
    pub score: Option<Decimal>,
    /// The questions answered (not "not applicable").
    pub answered: u32,
}

/// A response's scores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Scores {
    pub sections: Vec<SectionScore>,
    /// 0–100, one decimal; `None` when nothing was answered.
    #[schema(value_type = Option<String>, format = "decimal")]
    pub csi: Option<Decimal>,
}

fn one_place(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero)
}

/// Scores `answers` (question code → 1–10, `None` for "not applicable")
/// against `q`. Answers to codes the questionnaire does not have, and
/// scores outside 1–10, are the caller's to refuse first; here they are left
/// out.
pub fn score(q: &Questionnaire, answers: &[(String, Option<u8>)]) -> Scores {
    let nine = Decimal::from(9);
    let hundred = Decimal::ONE_HUNDRED;
    let mut sections = Vec::new();
    let (mut weighted, mut weights) = (Decimal::ZERO, Decimal::ZERO);
    for s in &q.sections {
        let given: Vec<u8> = answers
            .iter()
            .filter(|(code, _)| s.questions.iter().any(|x| &x.code == code))
            .filter_map(|(_, v)| *v)
            .filter(|v| (1..=10).contains(v))
            .collect();
        let score = (!given.is_empty()).then(|| {
            let sum: Decimal = given.iter().map(|v| Decimal::from(*v)).sum();
            let mean = sum / Decimal::from(given.len());
            (mean - Decimal::ONE) / nine * hundred
        });
        if let Some(sc) = score {
            weighted += sc * Decimal::from(s.weight);
            weights += Decimal::from(s.weight);
        }
        sections.push(SectionScore {
            section: s.section,
            score: score.map(one_place),
            answered: u32::try_from(given.len()).unwrap_or(u32::MAX),
        });
    }
    let csi = (!weights.is_zero()).then(|| one_place(weighted / weights));
    Scores { sections, csi }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(q: &Questionnaire, v: u8) -> Vec<(String, Option<u8>)> {
        q.sections
            .iter()
            .flat_map(|s| s.questions.iter().map(|x| (x.code.clone(), Some(v))))
            .collect()
    }

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn the_seeds_questionnaire_is_valid_and_weighs_as_the_seed_says() {
        let q = Questionnaire::default();
        assert!(q.validate().is_ok());
        let w: Vec<(Section, u32)> = q.sections.iter().map(|s| (s.section, s.weight)).collect();
        assert_eq!(
            w,
            vec![
                (Section::Facilities, 20),
                (Section::StaffContact, 33),
                (Section::WorkDone, 22),
                (Section::Cost, 10),
                (Section::FollowUp, 15)
            ]
        );
    }

    #[test]
    fn all_tens_is_100_and_all_ones_is_0() {
        let q = Questionnaire::default();
        assert_eq!(score(&q, &all(&q, 10)).csi, Some(d("100")));
        assert_eq!(score(&q, &all(&q, 1)).csi, Some(d("0")));
        assert_eq!(score(&q, &[]).csi, None);
    }

    #[test]
    fn a_hand_computed_response() {
        let q = Questionnaire::default();
        // facilities 10,10,10,10 → 100; staff all 8 → 77.78; work done
        // 10,10,10,10,1 → mean 8.2 → 80; cost 5,5,5 → 44.44; follow-up 7 → 66.67
        // CSI = (20·100 + 33·77.777… + 22·80 + 10·44.444… + 15·66.666…) / 100
        //     = (2000 + 2566.666… + 1760 + 444.444… + 1000) / 100 = 77.711… → 77.7
        let mut a: Vec<(String, Option<u8>)> = vec![];
        for s in &q.sections {
            for (i, x) in s.questions.iter().enumerate() {
                let v = match s.section {
                    Section::Facilities => 10,
                    Section::StaffContact => 8,
                    Section::WorkDone => {
                        if i == 4 {
                            1
                        } else {
                            10
                        }
                    }
                    Section::Cost => 5,
                    Section::FollowUp => 7,
                };
                a.push((x.code.clone(), Some(v)));
            }
        }
        let s = score(&q, &a);
        let by: Vec<Option<Decimal>> = s.sections.iter().map(|x| x.score).collect();
        assert_eq!(
            by,
            vec![
                Some(d("100")),
                Some(d("77.8")),
                Some(d("80")),
                Some(d("44.4")),
                Some(d("66.7"))
            ]
        );
        assert_eq!(s.csi, Some(d("77.7")));
    }

    #[test]
    fn missing_sections_leave_the_weights_renormalised() {
        let q = Questionnaire::default();
        // only staff contact (all 10) and cost (all 1): (33·100 + 10·0) / 43 = 76.744… → 76.7
        let mut a: Vec<(String, Option<u8>)> = vec![];
        for s in &q.sections {
            for x in &s.questions {
                let v = match s.section {
                    Section::StaffContact => Some(10),
                    Section::Cost => Some(1),
                    _ => None, // not applicable
                };
                a.push((x.code.clone(), v));
            }
        }
        let s = score(&q, &a);
        assert_eq!(s.csi, Some(d("76.7")));
        assert_eq!(s.sections[0].score, None);
        assert_eq!(s.sections[0].answered, 0);
        assert_eq!(s.sections[1].answered, 7);
        // one answer in one section is that section's score
        let one = score(&q, &[("lounge".into(), Some(4))]);
        assert_eq!(one.csi, Some(d("33.3")));
        // unknown codes and out-of-range scores are left out
        let junk = score(
            &q,
            &[("nope".into(), Some(10)), ("lounge".into(), Some(11))],
        );
        assert_eq!(junk.csi, None);
    }

    #[test]
    fn a_questionnaire_that_does_not_add_up_is_refused_by_field() {
        let mut q = Questionnaire::default();
        q.sections[0].weight = 25;
        q.sections[1].questions[0].code = "lounge".into();
        q.sections[2].questions.clear();
        q.sections[3].questions[0].text_en = " ".into();
        q.sections[4].questions[0].code = "Bad-Code".into();
        let fields: Vec<String> = q
            .validate()
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        for f in [
            "sections",
            "sections[1].questions[0].code",
            "sections[2].questions",
            "sections[3].questions[0].text_en",
            "sections[4].questions[0].code",
        ] {
            assert!(fields.iter().any(|x| x == f), "{f} in {fields:?}");
        }
        let mut twice = Questionnaire::default();
        twice.sections[4].section = Section::Cost;
        assert!(twice.validate().is_err());
    }
}
