//! Message templates from `templates/messages/<locale>/<kind>.<part>`, built into
//! the binary so a single file runs anywhere.

use minijinja::Environment;
use serde::Serialize;

use crate::domain::customer::Locale;

/// (name, source) for each file named, read from `templates/<dir>/` at build time.
macro_rules! templates {
    ($dir:literal: $($name:literal),+ $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/", $dir, "/", $name)))),+]
    };
}

/// Every message template. Adding a file here is adding a message.
/// Email parts (`email.txt`, `email.html`) exist for every kind but `otp`:
/// login codes go by SMS only.
const TEMPLATES: &[(&str, &str)] = templates!["messages":
    "zh-CN/otp.sms.txt",
    "zh-CN/appointment_booked.title.txt",
    "zh-CN/appointment_booked.sms.txt",
    "zh-CN/appointment_confirmed.title.txt",
    "zh-CN/appointment_confirmed.sms.txt",
    "zh-CN/appointment_rescheduled.title.txt",
    "zh-CN/appointment_rescheduled.sms.txt",
    "zh-CN/appointment_cancelled.title.txt",
    "zh-CN/appointment_cancelled.sms.txt",
    "zh-CN/maintenance_due.title.txt",
    "zh-CN/maintenance_due.sms.txt",
    "zh-CN/holiday_greeting.title.txt",
    "zh-CN/holiday_greeting.sms.txt",
    "zh-CN/extra_work_approval.title.txt",
    "zh-CN/extra_work_approval.sms.txt",
    "zh-CN/layout.email.html",
    "zh-CN/appointment_booked.email.txt",
    "zh-CN/appointment_booked.email.html",
    "zh-CN/appointment_confirmed.email.txt",
    "zh-CN/appointment_confirmed.email.html",
    "zh-CN/appointment_rescheduled.email.txt",
    "zh-CN/appointment_rescheduled.email.html",
    "zh-CN/appointment_cancelled.email.txt",
    "zh-CN/appointment_cancelled.email.html",
    "zh-CN/maintenance_due.email.txt",
    "zh-CN/maintenance_due.email.html",
    "zh-CN/holiday_greeting.email.txt",
    "zh-CN/holiday_greeting.email.html",
    "zh-CN/extra_work_approval.email.txt",
    "zh-CN/extra_work_approval.email.html",
    "zh-CN/first_service.title.txt",
    "zh-CN/first_service.sms.txt",
    "zh-CN/first_service.email.txt",
    "zh-CN/first_service.email.html",
    "zh-CN/annual_inspection.title.txt",
    "zh-CN/annual_inspection.sms.txt",
    "zh-CN/annual_inspection.email.txt",
    "zh-CN/annual_inspection.email.html",
    "zh-CN/insurance_renewal.title.txt",
    "zh-CN/insurance_renewal.sms.txt",
    "zh-CN/insurance_renewal.email.txt",
    "zh-CN/insurance_renewal.email.html",
    "zh-CN/birthday.title.txt",
    "zh-CN/birthday.sms.txt",
    "zh-CN/birthday.email.txt",
    "zh-CN/birthday.email.html",
    "zh-CN/appointment_reminder.title.txt",
    "zh-CN/appointment_reminder.sms.txt",
    "zh-CN/appointment_reminder.email.txt",
    "zh-CN/appointment_reminder.email.html",
    "zh-CN/post_repair_followup.title.txt",
    "zh-CN/post_repair_followup.sms.txt",
    "zh-CN/post_repair_followup.email.txt",
    "zh-CN/post_repair_followup.email.html",
    "zh-CN/case_escalated.title.txt",
    "zh-CN/case_escalated.sms.txt",
    "zh-CN/case_escalated.email.txt",
    "zh-CN/case_escalated.email.html",
    "zh-CN/personal_data_alert.title.txt",
    "zh-CN/personal_data_alert.sms.txt",
    "zh-CN/personal_data_alert.email.txt",
    "zh-CN/personal_data_alert.email.html",
    "zh-CN/daily_report.title.txt",
    "zh-CN/daily_report.sms.txt",
    "zh-CN/daily_report.email.txt",
    "zh-CN/daily_report.email.html",
    "zh-CN/enquiry_answered.title.txt",
    "zh-CN/enquiry_answered.sms.txt",
    "zh-CN/enquiry_answered.email.txt",
    "zh-CN/enquiry_answered.email.html",
    "zh-CN/rescue_alert.title.txt",
    "zh-CN/rescue_alert.sms.txt",
    "zh-CN/rescue_alert.email.txt",
    "zh-CN/rescue_alert.email.html",
    "zh-CN/rescue_update.title.txt",
    "zh-CN/rescue_update.sms.txt",
    "zh-CN/rescue_update.email.txt",
    "zh-CN/rescue_update.email.html",
    "zh-CN/erasure_refused.title.txt",
    "zh-CN/erasure_refused.sms.txt",
    "zh-CN/erasure_refused.email.txt",
    "zh-CN/erasure_refused.email.html",
    "en/otp.sms.txt",
    "en/appointment_booked.title.txt",
    "en/appointment_booked.sms.txt",
    "en/appointment_confirmed.title.txt",
    "en/appointment_confirmed.sms.txt",
    "en/appointment_rescheduled.title.txt",
    "en/appointment_rescheduled.sms.txt",
    "en/appointment_cancelled.title.txt",
    "en/appointment_cancelled.sms.txt",
    "en/maintenance_due.title.txt",
    "en/maintenance_due.sms.txt",
    "en/holiday_greeting.title.txt",
    "en/holiday_greeting.sms.txt",
    "en/extra_work_approval.title.txt",
    "en/extra_work_approval.sms.txt",
    "en/layout.email.html",
    "en/appointment_booked.email.txt",
    "en/appointment_booked.email.html",
    "en/appointment_confirmed.email.txt",
    "en/appointment_confirmed.email.html",
    "en/appointment_rescheduled.email.txt",
    "en/appointment_rescheduled.email.html",
    "en/appointment_cancelled.email.txt",
    "en/appointment_cancelled.email.html",
    "en/maintenance_due.email.txt",
    "en/maintenance_due.email.html",
    "en/holiday_greeting.email.txt",
    "en/holiday_greeting.email.html",
    "en/extra_work_approval.email.txt",
    "en/extra_work_approval.email.html",
    "en/first_service.title.txt",
    "en/first_service.sms.txt",
    "en/first_service.email.txt",
    "en/first_service.email.html",
    "en/annual_inspection.title.txt",
    "en/annual_inspection.sms.txt",
    "en/annual_inspection.email.txt",
    "en/annual_inspection.email.html",
    "en/insurance_renewal.title.txt",
    "en/insurance_renewal.sms.txt",
    "en/insurance_renewal.email.txt",
    "en/insurance_renewal.email.html",
    "en/birthday.title.txt",
    "en/birthday.sms.txt",
    "en/birthday.email.txt",
    "en/birthday.email.html",
    "en/appointment_reminder.title.txt",
    "en/appointment_reminder.sms.txt",
    "en/appointment_reminder.email.txt",
    "en/appointment_reminder.email.html",
    "en/post_repair_followup.title.txt",
    "en/post_repair_followup.sms.txt",
    "en/post_repair_followup.email.txt",
    "en/post_repair_followup.email.html",
    "en/case_escalated.title.txt",
    "en/case_escalated.sms.txt",
    "en/case_escalated.email.txt",
    "en/case_escalated.email.html",
    "en/personal_data_alert.title.txt",
    "en/personal_data_alert.sms.txt",
    "en/personal_data_alert.email.txt",
    "en/personal_data_alert.email.html",
    "en/daily_report.title.txt",
    "en/daily_report.sms.txt",
    "en/daily_report.email.txt",
    "en/daily_report.email.html",
    "en/enquiry_answered.title.txt",
    "en/enquiry_answered.sms.txt",
    "en/enquiry_answered.email.txt",
    "en/enquiry_answered.email.html",
    "en/rescue_alert.title.txt",
    "en/rescue_alert.sms.txt",
    "en/rescue_alert.email.txt",
    "en/rescue_alert.email.html",
    "en/rescue_update.title.txt",
    "en/rescue_update.sms.txt",
    "en/rescue_update.email.txt",
    "en/rescue_update.email.html",
    "en/erasure_refused.title.txt",
    "en/erasure_refused.sms.txt",
    "en/erasure_refused.email.txt",
    "en/erasure_refused.email.html",
];

/// Server-rendered pages (`templates/web/`), named `web/<file>`.
const PAGES: &[(&str, &str)] = templates!["web":
    "unsubscribe.html",
    "survey.html",
    "care_card.html",
    "console/layout.html",
    "console/login.html",
    "console/board.html",
    "console/trends.html",
    "console/comebacks.html",
    "console/scorecards.html",
    "console/parts.html",
    "console/warranty.html",
    "console/callbacks.html",
    "console/callback.html",
    "console/cases.html",
    "console/case.html",
    "console/today.html",
    "console/tools.html",
    "reports/daily.html",
];

/// The customer centre's call scripts (回访话术), `templates/scripts/<locale>/<reason>.txt`.
const SCRIPTS: &[(&str, &str)] = templates!["scripts":
    "zh-CN/follow_up.txt",
    "zh-CN/case_contact.txt",
    "en/follow_up.txt",
    "en/case_contact.txt",
];

/// The instructions one render may execute: thousands of times what the
/// longest built-in template takes.
const FUEL: u64 = 100_000;

#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    pub fn new() -> anyhow::Result<Self> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        // a dealer's own wording is a template too: a loop over loops must
        // end in an error, not hold a worker for ever
        env.set_fuel(Some(FUEL));
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        // `.html` names are HTML-escaped (minijinja's default by extension)
        for (name, source) in PAGES {
            env.add_template_owned(format!("web/{name}"), *source)?;
        }
        for (name, source) in SCRIPTS {
            env.add_template_owned(format!("scripts/{name}"), *source)?;
        }
        Ok(Self { env })
    }

    pub fn names() -> impl Iterator<Item = &'static str> {
        TEMPLATES.iter().map(|(n, _)| *n)
    }

    /// Renders `kind.part` in `locale`, falling back to zh-CN when the locale lacks it.
    pub fn render(
        &self,
        locale: Locale,
        kind: &str,
        part: &str,
        ctx: impl Serialize,
    ) -> anyhow::Result<String> {
        let name = format!("{}/{kind}.{part}", locale.as_str());
        let tpl = match self.env.get_template(&name) {
            Ok(t) => t,
            Err(_) => self.env.get_template(&format!("zh-CN/{kind}.{part}"))?,
        };
        Ok(tpl.render(ctx)?.trim_end().to_string())
    }

    /// Renders a template of the dealer's own (strict: an unknown value is
    /// an error, never a blank in a customer's message).
    pub fn render_str(&self, source: &str, ctx: impl Serialize) -> anyhow::Result<String> {
        Ok(self.env.render_str(source, ctx)?.trim_end().to_string())
    }

    /// Renders the call script `templates/scripts/<locale>/<name>.txt`.
    pub fn script(
        &self,
        locale: Locale,
        name: &str,
        ctx: impl Serialize,
    ) -> anyhow::Result<String> {
        let tpl = self
            .env
            .get_template(&format!("scripts/{}/{name}.txt", locale.as_str()))?;
        Ok(tpl.render(ctx)?.trim().to_string())
    }

    /// Renders the page `templates/web/<name>`.
    pub fn page(&self, name: &str, ctx: impl Serialize) -> anyhow::Result<String> {
        Ok(self.env.get_template(&format!("web/{name}"))?.render(ctx)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_renders_with_sample_data_in_both_locales() {
        let t = Templates::new().unwrap();
        let ctx = minijinja::context! {
            dealer_name => "星辰4S店", code => "123456", minutes => 5,
            when => "2027-01-04 09:00", vehicle => "京A12345", services => "小保养",
            due => "2027-03-01", reason => "5000 km", customer_name => "王先生", occasion => "春节",
            order_number => "RO202703010007", lines => "更换雨刮片、更换空调滤清器",
            item => "交强险", survey_url => "https://dealer.example/s/tok",
            unsubscribe_url => "https://dealer.example/u/abc",
            category => "价格", severity => "高", late => "首次联系",
            date => "2027-03-01", revenue => "12860.50", vehicles_in => 41,
            vehicles_delivered => 38, csi => "91.2", follow_up => "97.4%",
            report_url => "https://dealer.example/console/reports/daily?date=2027-03-01",
            user_name => "李技师 (tech01)", customers => 201, since => "2027-03-01 14:00",
            topic => "价格", answer => "小保养含工时费共480元",
            problem => "抛锚", location => "北京市朝阳区建国路88号", contact_phone => "+8613912345678",
            requested => "2027-03-01 02:10", status => "救援车已出发", detail => "预计 02:50 到达"
        };
        for name in Templates::names() {
            let (locale, file) = name.split_once('/').unwrap();
            let mut parts = file.splitn(2, '.');
            let (kind, part) = (parts.next().unwrap(), parts.next().unwrap());
            let locale = locale.parse().unwrap();
            let text = t.render(locale, kind, part, &ctx).unwrap();
            assert!(!text.is_empty() && !text.contains("{{"), "{name}: {text}");
        }
        let zh = t.render(Locale::ZhCn, "otp", "sms.txt", &ctx).unwrap();
        assert!(zh.contains("验证码") && zh.contains("123456"));
        let booked = t
            .render(Locale::En, "appointment_booked", "sms.txt", &ctx)
            .unwrap();
        assert!(booked.contains("京A12345") && booked.contains("2027-01-04 09:00"));
        let extra = t
            .render(Locale::ZhCn, "extra_work_approval", "sms.txt", &ctx)
            .unwrap();
        assert!(extra.contains("RO202703010007") && extra.contains("更换雨刮片"));
        // the planner's kinds carry what they are about
        let followup = t
            .render(Locale::En, "post_repair_followup", "sms.txt", &ctx)
            .unwrap();
        assert!(
            followup.contains("https://dealer.example/s/tok")
                && followup.contains("RO202703010007")
        );
        let escalated = t
            .render(Locale::ZhCn, "case_escalated", "sms.txt", &ctx)
            .unwrap();
        assert!(
            escalated.contains("王先生")
                && escalated.contains("价格")
                && escalated.contains("首次联系")
                && escalated.contains("2027-03-01")
        );
        let report = t
            .render(Locale::ZhCn, "daily_report", "email.txt", &ctx)
            .unwrap();
        assert!(
            report.contains("12860.50")
                && report.contains("97.4%")
                && report.contains("/console/reports/daily")
        );
        let alert = t
            .render(Locale::ZhCn, "rescue_alert", "sms.txt", &ctx)
            .unwrap();
        assert!(
            alert.contains("抛锚")
                && alert.contains("建国路88号")
                && alert.contains("+8613912345678")
        );
        let update = t
            .render(Locale::En, "rescue_update", "sms.txt", &ctx)
            .unwrap();
        assert!(update.contains("京A12345") && update.contains("02:50"));
        let renewal = t
            .render(Locale::ZhCn, "insurance_renewal", "sms.txt", &ctx)
            .unwrap();
        assert!(renewal.contains("交强险") && renewal.contains("2027-03-01"));
        let answered = t
            .render(Locale::ZhCn, "enquiry_answered", "sms.txt", &ctx)
            .unwrap();
        assert!(answered.contains("价格") && answered.contains("480元"));
        let refused = t
            .render(Locale::ZhCn, "erasure_refused", "sms.txt", &ctx)
            .unwrap();
        assert!(refused.contains("王先生") && refused.contains("5000 km"));
        // every kind a customer can be emailed has both parts, each with the unsubscribe link
        let kinds: Vec<&str> = Templates::names()
            .filter_map(|n| n.strip_suffix(".sms.txt"))
            .filter_map(|n| n.strip_prefix("zh-CN/"))
            .filter(|k| *k != "otp")
            .collect();
        assert_eq!(kinds.len(), 20);
        for locale in [Locale::ZhCn, Locale::En] {
            for kind in &kinds {
                for part in ["email.txt", "email.html"] {
                    let name = format!("{}/{kind}.{part}", locale.as_str());
                    assert!(Templates::names().any(|n| n == name), "{name} missing");
                    let text = t.render(locale, kind, part, &ctx).unwrap();
                    assert!(text.contains("https://dealer.example/u/abc"), "{name}");
                }
            }
        }
        // HTML parts escape what a customer or staff typed; the text part keeps it
        let odd = minijinja::context! {
            dealer_name => "<b>&</b>", customer_name => "<script>", occasion => "春节",
            unsubscribe_url => ()
        };
        let html = t
            .render(Locale::En, "holiday_greeting", "email.html", &odd)
            .unwrap();
        assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"));
        assert!(!html.contains("/u/"), "no link without a token");
        let txt = t
            .render(Locale::En, "holiday_greeting", "email.txt", &odd)
            .unwrap();
        assert!(txt.contains("<script>"));
        let page = t
            .page(
                "unsubscribe.html",
                minijinja::context! { done => false, purpose_zh => "服务消息", purpose_en => "service messages", channel_zh => "邮件", channel_en => "email" },
            )
            .unwrap();
        assert!(page.contains("<form method=\"post\"") && page.contains("服务消息"));
    }
}
