//! Mainland China licence plates (GB 36581 / GA 36): the 7-character plates and
//! the 8-character new-energy plates.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Plate(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlateError {
    #[error("must start with a province abbreviation such as 京, 沪 or 粤")]
    Province,
    #[error("second character must be the issuing-authority letter A-Z")]
    Authority,
    #[error("must be 7 characters, or 8 for a new-energy plate (got {0})")]
    Length(usize),
    #[error("is not a valid plate number")]
    Serial,
}

const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";

/// Letters used on plates: never I or O (they read as 1 and 0).
fn plate_letter(c: char) -> bool {
    c.is_ascii_uppercase() && c != 'I' && c != 'O'
}

fn plate_alnum(c: char) -> bool {
    c.is_ascii_digit() || plate_letter(c)
}

impl Plate {
    /// Accepts lower case and the usual separators (`京A·12345`, `京A 12345`).
    pub fn parse(input: &str) -> Result<Self, PlateError> {
        let chars: Vec<char> = input
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '·' | '•' | '-' | '.'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if chars.len() < 2 || !PROVINCES.contains(chars[0]) {
            return Err(PlateError::Province);
        }
        if !chars[1].is_ascii_uppercase() {
            return Err(PlateError::Authority);
        }
        let serial = &chars[2..];
        let ok = match serial.len() {
            // 京A12345, 京A1234学 (learner), 粤Z1234港 (cross-border), 京A1234警
            5 => {
                serial[..4].iter().all(|c| plate_alnum(*c))
                    && (plate_alnum(serial[4]) || "挂学警港澳领使".contains(serial[4]))
            }
            // new energy: small cars D/F + alnum + 4 digits, large vehicles 5 digits + D/F
            6 => {
                let small = matches!(serial[0], 'D' | 'F')
                    && plate_alnum(serial[1])
                    && serial[2..].iter().all(char::is_ascii_digit);
                let large =
                    serial[..5].iter().all(char::is_ascii_digit) && matches!(serial[5], 'D' | 'F');
                small || large
            }
            n => return Err(PlateError::Length(n + 2)),
        };
        if !ok {
            return Err(PlateError::Serial);
        }
        Ok(Self(chars.into_iter().collect()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Plate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_and_new_energy_plates_parse() {
        assert_eq!(Plate::parse("京a·12345").unwrap().as_str(), "京A12345");
        assert_eq!(Plate::parse("沪AD12345").unwrap().as_str(), "沪AD12345");
        assert_eq!(Plate::parse("粤B12345F").unwrap().as_str(), "粤B12345F");
        assert!(Plate::parse("苏E1234学").is_ok());
    }

    #[test]
    fn bad_plates_are_refused_with_a_reason() {
        assert_eq!(Plate::parse("XA12345"), Err(PlateError::Province));
        assert_eq!(Plate::parse("京112345"), Err(PlateError::Authority));
        assert_eq!(Plate::parse("京A1234"), Err(PlateError::Length(6)));
        assert_eq!(Plate::parse("京AI2345"), Err(PlateError::Serial));
        assert_eq!(Plate::parse("沪AX12345"), Err(PlateError::Serial));
    }
}
