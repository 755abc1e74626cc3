//! Vehicles and their odometer.

string_enum! {
    /// Where an odometer reading came from.
    pub enum MileageSource {
        Reception = "reception",
        Workshop = "workshop",
        Customer = "customer",
        Import = "import",
        Telematics = "telematics",
    }
}

pub const MAX_MILEAGE_KM: i64 = 2_000_000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MileageError {
    #[error("must be between 0 and {MAX_MILEAGE_KM} km")]
    OutOfRange,
    #[error(
        "is lower than the last reading ({last} km); send correction: true if the earlier reading was wrong"
    )]
    GoesBackwards { last: i64 },
}

/// An odometer only goes up; a lower reading is accepted only as a correction
/// of an earlier mistake.
pub fn check_reading(last: Option<i64>, new: i64, correction: bool) -> Result<(), MileageError> {
    if !(0..=MAX_MILEAGE_KM).contains(&new) {
        return Err(MileageError::OutOfRange);
    }
    match last {
        Some(last) if new < last && !correction => Err(MileageError::GoesBackwards { last }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lower_reading_is_refused_unless_it_is_a_correction() {
        assert_eq!(
            check_reading(Some(12_000), 11_000, false),
            Err(MileageError::GoesBackwards { last: 12_000 })
        );
        assert_eq!(check_reading(Some(12_000), 11_000, true), Ok(()));
        assert_eq!(check_reading(Some(12_000), 12_000, false), Ok(()));
        assert_eq!(
            check_reading(None, -1, false),
            Err(MileageError::OutOfRange)
        );
    }
}
