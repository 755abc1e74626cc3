//! Mobile phone numbers, stored in E.164. Mainland numbers may be typed with or
//! without +86 / 0086 and with spaces or dashes.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PhoneError {
    #[error(
        "is not a mainland mobile number (11 digits starting 13-19) or an international number starting with +"
    )]
    Invalid,
}

fn is_mainland_mobile(d: &str) -> bool {
    d.len() == 11
        && d.starts_with('1')
        && matches!(d.as_bytes()[1], b'3'..=b'9')
        && d.bytes().all(|b| b.is_ascii_digit())
}

impl Phone {
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let t = input.trim();
        let plus = t.starts_with('+');
        let digits: String = t
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '+'))
            .collect();
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PhoneError::Invalid);
        }
        let national = if let Some(rest) = digits.strip_prefix("0086") {
            Some(rest)
        } else if (plus || digits.len() == 13) && digits.starts_with("86") {
            Some(&digits[2..])
        } else if !plus {
            Some(digits.as_str())
        } else {
            None
        };
        if let Some(n) = national {
            return if is_mainland_mobile(n) {
                Ok(Self(format!("+86{n}")))
            } else {
                Err(PhoneError::Invalid)
            };
        }
        // another country: plain E.164, 8 to 15 digits, no leading zero
        if (8..=15).contains(&digits.len()) && !digits.starts_with('0') {
            Ok(Self(format!("+{digits}")))
        } else {
            Err(PhoneError::Invalid)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mainland_numbers_normalise_to_e164() {
        for typed in [
            "13800000001",
            "+8613800000001",
            "008613800000001",
            "8613800000001",
            "138-0000-0001",
            "+86 138 0000 0001",
        ] {
            assert_eq!(
                Phone::parse(typed).unwrap().as_str(),
                "+8613800000001",
                "{typed}"
            );
        }
    }

    #[test]
    fn landlines_and_garbage_are_refused_and_foreign_numbers_kept() {
        assert!(Phone::parse("12800000001").is_err());
        assert!(Phone::parse("010-12345678").is_err());
        assert!(Phone::parse("+86 10 1234 5678").is_err());
        assert!(Phone::parse("phone").is_err());
        assert_eq!(
            Phone::parse("+852 9123 4567").unwrap().as_str(),
            "+85291234567"
        );
    }
}
