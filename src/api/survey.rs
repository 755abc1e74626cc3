//! `/s/{token}`: the survey page a follow-up's link opens, server-rendered
//! for a phone (zh-CN or en, no login, no front-end build). The JSON twin for
//! the app is `/api/v1/surveys/{token}` (`api::csi`); both answer through
//! `services::csi`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::extract::Query;
use crate::domain::csi::Section;
use crate::domain::customer::Locale;
use crate::error::{AppError, AppResult, Problem};
use crate::services::csi::{self, AnswerInput, SurveyAnswer, SurveyView};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// The page's language; the customer's own when left out.
    pub lang: Option<Locale>,
}

/// The survey page: the questions with a 1–10 scale each (or "not
/// applicable"), "would you recommend us" 0–10 and a comment.
#[utoipa::path(operation_id = "showSurvey", tag = "csi", params(("token" = String, Path), PageParams),
    responses((status = 200, description = "a zh-CN or en page with the survey's form", content_type = "text/html", body = String)))]
#[get("/s/{token}")]
pub async fn show(
    state: web::Data<AppState>,
    token: web::Path<String>,
    q: Query<PageParams>,
) -> AppResult<HttpResponse> {
    let view = csi::survey(&state, &token).await?;
    page(
        &state,
        &view,
        q.0.lang,
        Outcome::Form(vec![]),
        StatusCode::OK,
    )
}

/// The page's form, posted: `q.<code>` = 1–10 or `na`, `recommend` = 0–10,
/// `comment`. Answers the thank-you page (201), the form again with what is
/// wrong (422), or "answered already" (409).
#[utoipa::path(operation_id = "submitSurvey", tag = "csi", params(("token" = String, Path), PageParams),
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 201, description = "thank you (page)", content_type = "text/html", body = String),
        (status = 409, description = "answered already (page)", content_type = "text/html", body = String),
        (status = 422, description = "the form again, with what is wrong (a page); an unknown `lang` (a problem)",
            content((String = "text/html"), (Problem = "application/problem+json")))))]
#[post("/s/{token}")]
pub async fn submit(
    state: web::Data<AppState>,
    token: web::Path<String>,
    q: Query<PageParams>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let view = csi::survey(&state, &token).await?;
    let answer = match read_form(&body) {
        Ok(a) => a,
        Err(problems) => {
            return page(
                &state,
                &view,
                q.0.lang,
                Outcome::Form(problems),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    match csi::answer(&state, &token, answer).await {
        Ok(_) => page(
            &state,
            &view,
            q.0.lang,
            Outcome::Thanks,
            StatusCode::CREATED,
        ),
        Err(AppError::Validation(e)) => {
            let problems =
                e.0.into_iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect();
            page(
                &state,
                &view,
                q.0.lang,
                Outcome::Form(problems),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(AppError::Conflict(_)) => page(
            &state,
            &view,
            q.0.lang,
            Outcome::Answered,
            StatusCode::CONFLICT,
        ),
        Err(e) => Err(e),
    }
}

/// The posted form as an answer; what cannot be read is named.
fn read_form(body: &[u8]) -> Result<SurveyAnswer, Vec<String>> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| vec!["the form could not be read".to_string()])?;
    let mut problems = Vec::new();
    let mut answers = Vec::new();
    let (mut recommend, mut comment) = (None, None);
    for (k, v) in pairs {
        if let Some(code) = k.strip_prefix("q.") {
            let score = match v.as_str() {
                "na" | "" => None,
                n => match n.parse::<u8>() {
                    Ok(n) => Some(n),
                    Err(_) => {
                        problems.push(format!("{code}: 1 to 10, or not applicable"));
                        continue;
                    }
                },
            };
            answers.push(AnswerInput {
                code: code.to_string(),
                score,
            });
        } else if k == "recommend" && !v.is_empty() {
            match v.parse::<u8>() {
                Ok(n) => recommend = Some(n),
                Err(_) => problems.push("recommend: 0 to 10".to_string()),
            }
        } else if k == "comment" && !v.trim().is_empty() {
            comment = Some(v);
        }
    }
    if problems.is_empty() {
        Ok(SurveyAnswer {
            answers,
            recommend,
            comment,
        })
    } else {
        Err(problems)
    }
}

enum Outcome {
    Form(Vec<String>),
    Thanks,
    Answered,
}

#[derive(Serialize)]
struct Texts {
    title: &'static str,
    hello: String,
    thanks: &'static str,
    answered: &'static str,
    na: &'static str,
    recommend: &'static str,
    comment: &'static str,
    submit: &'static str,
}

fn texts(lang: Locale, v: &SurveyView) -> Texts {
    match lang {
        Locale::ZhCn => Texts {
            title: "服务满意度调查",
            hello: format!(
                "{}，您好！感谢您 {} 光临{}。请花一分钟评价本次服务（1 分最低，10 分最高）。",
                v.first_name, v.visit_date, v.dealer_name
            ),
            thanks: "已收到您的评价，感谢您的宝贵意见！",
            answered: "此问卷已提交，感谢您的参与。",
            na: "不适用",
            recommend: "您有多大可能向亲友推荐我们？（0–10）",
            comment: "其他意见或建议",
            submit: "提交",
        },
        Locale::En => Texts {
            title: "How did we do?",
            hello: format!(
                "Hello {}, thank you for visiting {} on {}. Please rate our service (1 is the lowest, 10 the highest).",
                v.first_name, v.dealer_name, v.visit_date
            ),
            thanks: "Thank you: we have your answers.",
            answered: "This survey has been answered. Thank you.",
            na: "not applicable",
            recommend: "How likely are you to recommend us to a friend? (0–10)",
            comment: "Anything else you would like to tell us",
            submit: "Send",
        },
    }
}

fn section_title(s: Section, lang: Locale) -> &'static str {
    let (zh, en) = match s {
        Section::Facilities => ("硬件设施", "Facilities"),
        Section::StaffContact => ("人员接触", "Our staff"),
        Section::WorkDone => ("维修保养实施", "The work done"),
        Section::Cost => ("维修保养费用", "Cost"),
        Section::FollowUp => ("交车后跟踪服务", "After delivery"),
    };
    if lang == Locale::En { en } else { zh }
}

fn page(
    state: &AppState,
    v: &SurveyView,
    lang: Option<Locale>,
    outcome: Outcome,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let lang = lang.unwrap_or(v.locale);
    let sections: Vec<minijinja::Value> = v
        .questionnaire
        .sections
        .iter()
        .map(|s| {
            let questions: Vec<minijinja::Value> = s
                .questions
                .iter()
                .map(|q| {
                    let text = if lang == Locale::En {
                        &q.text_en
                    } else {
                        &q.text_zh
                    };
                    minijinja::context! { code => q.code, text => text }
                })
                .collect();
            minijinja::context! { title => section_title(s.section, lang), questions }
        })
        .collect();
    let (done, answered, problems) = match outcome {
        Outcome::Form(p) => (false, v.answered, p),
        Outcome::Thanks => (true, false, vec![]),
        Outcome::Answered => (false, true, vec![]),
    };
    let html = state
        .templates
        .page(
            "survey.html",
            minijinja::context! {
                lang => lang.as_str(), t => texts(lang, v), dealer_name => v.dealer_name,
                sections, done, answered, problems
            },
        )
        .map_err(AppError::Internal)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        // the token is in the URL: keep it out of caches, referrers and indexes
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("X-Robots-Tag", "noindex"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
        ))
        .body(html))
}
