//! Vehicle identification number (ISO 3779), with the North-American check
//! digit in position 9 that Chinese VINs (GB 16735) carry as well.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Vin(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VinError {
    #[error("must be exactly 17 characters (got {0})")]
    Length(usize),
    #[error("character '{0}' is not allowed (letters I, O and Q are never used)")]
    Character(char),
    #[error("check digit in position 9 is '{found}', expected '{expected}'")]
    CheckDigit { found: char, expected: char },
}

const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

fn transliterate(c: char) -> Option<u32> {
    Some(match c {
        '0'..='9' => c as u32 - '0' as u32,
        'A' | 'J' => 1,
        'B' | 'K' | 'S' => 2,
        'C' | 'L' | 'T' => 3,
        'D' | 'M' | 'U' => 4,
        'E' | 'N' | 'V' => 5,
        'F' | 'W' => 6,
        'G' | 'P' | 'X' => 7,
        'H' | 'Y' => 8,
        'R' | 'Z' => 9,
        _ => return None,
    })
}

impl Vin {
    /// Accepts lower case and surrounding spaces; stores upper case.
    pub fn parse(input: &str) -> Result<Self, VinError> {
        let v: String = input.trim().to_ascii_uppercase();
        let n = v.chars().count();
        if n != 17 {
            return Err(VinError::Length(n));
        }
        let mut sum = 0;
        for (i, c) in v.chars().enumerate() {
            let value = transliterate(c).ok_or(VinError::Character(c))?;
            sum += value * WEIGHTS[i];
        }
        let expected = match sum % 11 {
            10 => 'X',
            d => char::from_digit(d, 10).unwrap_or('0'),
        };
        let found = v.as_bytes()[8] as char;
        if found != expected {
            return Err(VinError::CheckDigit { found, expected });
        }
        Ok(Self(v))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Computes the check digit a 17-character VIN would need; used by the demo seed.
    pub fn with_check_digit(body: &str) -> Option<Self> {
        let mut chars: Vec<char> = body.to_ascii_uppercase().chars().collect();
        if chars.len() != 17 {
            return None;
        }
        chars[8] = '0';
        let mut sum = 0;
        for (i, c) in chars.iter().enumerate() {
            sum += transliterate(*c)? * WEIGHTS[i];
        }
        chars[8] = match sum % 11 {
            10 => 'X',
            d => char::from_digit(d, 10)?,
        };
        Self::parse(&chars.into_iter().collect::<String>()).ok()
    }
}

impl fmt::Display for Vin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_textbook_vin_is_valid_and_a_wrong_check_digit_is_not() {
        assert_eq!(
            Vin::parse("1M8GDM9AXKP042788").unwrap().as_str(),
            "1M8GDM9AXKP042788"
        );
        assert_eq!(
            Vin::parse("1M8GDM9A1KP042788"),
            Err(VinError::CheckDigit {
                found: '1',
                expected: 'X'
            })
        );
    }

    #[test]
    fn lower_case_is_accepted_and_i_o_q_are_refused() {
        assert!(Vin::parse(" 1m8gdm9axkp042788 ").is_ok());
        assert_eq!(
            Vin::parse("1M8GDM9AXKP04278O"),
            Err(VinError::Character('O'))
        );
        assert_eq!(Vin::parse("1M8GDM9AX"), Err(VinError::Length(9)));
    }

    #[test]
    fn with_check_digit_builds_valid_vins() {
        let v = Vin::with_check_digit("LSVAU2180N2183294").unwrap();
        assert!(Vin::parse(v.as_str()).is_ok());
    }
}
