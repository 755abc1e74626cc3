//! The customer care card (《客户关怀卡》): what it prints, and the
//! dealer's numbers on it.

use super::Role;

string_enum! {
    /// How a care card is answered: JSON for the app, HTML to print.
    pub enum CareCardFormat { Json = "json", Html = "html" }
}

/// Who sets the dealer's numbers: the service manager and the dealer's admin.
pub const SETTERS: &[Role] = &[Role::ServiceManager, Role::DealerAdmin];

/// A hotline as printed: 3 to 32 characters of digits, spaces and `+-()`,
/// with at least three digits ("400-800-1234", "+86 10 8888 6666").
pub fn hotline(value: &str) -> Result<String, String> {
    let t = value.trim();
    let ok = (3..=32).contains(&t.chars().count())
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')'))
        && t.chars().filter(char::is_ascii_digit).count() >= 3;
    if ok {
        Ok(t.to_string())
    } else {
        Err("must be 3 to 32 digits, spaces, +, -, ( or )".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hotline_is_digits_and_separators() {
        assert_eq!(hotline(" 400-800-1234 "), Ok("400-800-1234".into()));
        assert!(hotline("+86 (10) 8888 6666").is_ok());
        assert!(hotline("call us").is_err());
        assert!(hotline("12").is_err());
        assert!(hotline("1\u{0}23").is_err());
        assert!(hotline(&"1".repeat(33)).is_err());
    }
}
