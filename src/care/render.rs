//! Message templates from `templates/messages/<locale>/<kind>.<part>`, built into
//! the binary so a single file runs anywhere.

use minijinja::Environment;
use serde::Serialize;

use crate::domain::customer::Locale;

/// Every message template: (name, source). Adding a file here is adding a message.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "zh-CN/otp.sms.txt",
        include_str!("../../templates/messages/zh-CN/otp.sms.txt"),
    ),
    (
        "en/otp.sms.txt",
        include_str!("../../templates/messages/en/otp.sms.txt"),
    ),
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
        let ctx = minijinja::context! { dealer_name => "星辰4S店", code => "123456", minutes => 5 };
        for name in Templates::names() {
            let (locale, file) = name.split_once('/').unwrap();
            let mut parts = file.splitn(2, '.');
            let (kind, part) = (parts.next().unwrap(), parts.next().unwrap());
            let locale = locale.parse().unwrap();
            let text = t.render(locale, kind, part, &ctx).unwrap();
            assert!(text.contains("123456"), "{name}: {text}");
        }
        let zh = t.render(Locale::ZhCn, "otp", "sms.txt", &ctx).unwrap();
        assert!(zh.contains("验证码"));
    }
}
