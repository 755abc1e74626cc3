//! Message templates from `templates/messages/<locale>/<kind>.<part>`, built into
//! the binary so a single file runs anywhere.

use minijinja::Environment;
use serde::Serialize;

use crate::domain::customer::Locale;

/// (name, source) for each file named, read from templates/messages at build time.
macro_rules! templates {
    ($($name:literal),+ $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/messages/", $name)))),+]
    };
}

/// Every message template. Adding a file here is adding a message.
const TEMPLATES: &[(&str, &str)] = templates![
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
];

#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    pub fn new() -> anyhow::Result<Self> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
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
            due => "2027-03-01", reason => "5000 km", customer_name => "王先生", occasion => "春节"
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
    }
}
