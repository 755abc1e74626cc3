//! The appointment's life: booked → confirmed → checked_in (→ a repair order
//! later), or cancelled, no_show, rescheduled (to a new appointment).

string_enum! {
    pub enum AppointmentState {
        Booked = "booked",
        Confirmed = "confirmed",
        CheckedIn = "checked_in",
        Cancelled = "cancelled",
        NoShow = "no_show",
        Rescheduled = "rescheduled",
        /// Checked in and become a repair order.
        InService = "in_service",
    }
}

string_enum! {
    /// How the booking came in: 被动预约 from the app or phone, 主动预约 by an advisor, or a walk-in.
    pub enum Source { App = "app", Phone = "phone", Advisor = "advisor", WalkIn = "walk_in" }
}

string_enum! {
    /// What can be done to an open appointment.
    pub enum Action {
        Confirm = "confirm",
        CheckIn = "check-in",
        Cancel = "cancel",
        NoShow = "no-show",
        Reschedule = "reschedule",
        /// The checked-in car's repair order is opened.
        StartService = "start-service",
    }
}

string_enum! {
    /// What the day's preparation list warns about.
    pub enum WarningKind {
        /// More than 90 % of the day's reception or bays are booked.
        Capacity = "capacity",
        /// A booked service has no parts list.
        PartsMissing = "parts_missing",
        /// An appointment has no advisor yet.
        NoAdvisor = "no_advisor",
    }
}

string_enum! {
    /// An action that only changes the state (reschedule, which takes a new
    /// slot, has its own route): the last segment of its path.
    pub enum StateAction {
        Confirm = "confirm",
        CheckIn = "check-in",
        Cancel = "cancel",
        NoShow = "no-show",
    }
}

impl From<StateAction> for Action {
    fn from(a: StateAction) -> Action {
        match a {
            StateAction::Confirm => Action::Confirm,
            StateAction::CheckIn => Action::CheckIn,
            StateAction::Cancel => Action::Cancel,
            StateAction::NoShow => Action::NoShow,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an appointment that is {from} cannot be {action}")]
pub struct TransitionError {
    pub from: AppointmentState,
    pub action: &'static str,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Confirm => "confirmed",
            Action::CheckIn => "checked in",
            Action::Cancel => "cancelled",
            Action::NoShow => "marked no-show",
            Action::Reschedule => "rescheduled",
            Action::StartService => "made a repair order",
        }
    }
}

impl AppointmentState {
    /// The state after `action`, or why it is refused. Only open appointments
    /// (booked, confirmed) move; the others are history.
    pub fn apply(self, action: Action) -> Result<AppointmentState, TransitionError> {
        use AppointmentState::*;
        let next = match (self, action) {
            (Booked, Action::Confirm) => Confirmed,
            (Booked | Confirmed, Action::CheckIn) => CheckedIn,
            (Booked | Confirmed, Action::Cancel) => Cancelled,
            (Booked | Confirmed, Action::NoShow) => NoShow,
            (Booked | Confirmed, Action::Reschedule) => Rescheduled,
            (CheckedIn, Action::StartService) => InService,
            _ => {
                return Err(TransitionError {
                    from: self,
                    action: action.verb(),
                });
            }
        };
        Ok(next)
    }

    /// Whether the appointment still holds its slot.
    pub fn is_open(self) -> bool {
        matches!(self, AppointmentState::Booked | AppointmentState::Confirmed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_open_appointments_move() {
        use AppointmentState::*;
        assert_eq!(Booked.apply(Action::Confirm), Ok(Confirmed));
        assert_eq!(Confirmed.apply(Action::CheckIn), Ok(CheckedIn));
        assert_eq!(Confirmed.apply(Action::Reschedule), Ok(Rescheduled));
        assert!(Confirmed.apply(Action::Confirm).is_err());
        assert_eq!(CheckedIn.apply(Action::StartService), Ok(InService));
        assert!(Booked.apply(Action::StartService).is_err());
        for closed in [CheckedIn, Cancelled, NoShow, Rescheduled, InService] {
            for a in [
                Action::Confirm,
                Action::CheckIn,
                Action::Cancel,
                Action::NoShow,
                Action::Reschedule,
            ] {
                assert!(closed.apply(a).is_err(), "{closed} {a:?}");
            }
            assert!(!closed.is_open());
        }
        assert_eq!(
            Cancelled.apply(Action::Cancel).unwrap_err().to_string(),
            "an appointment that is cancelled cannot be cancelled"
        );
    }
}
