//! The repair order (维修委托书): its states and who may move it, its jobs'
//! states, the words the tablet and the app use, and the money of an estimate
//! (`totals`). Everything here is pure.

pub mod access;
pub mod totals;
pub mod workshop;

string_enum! {
    /// `open → estimate_accepted → in_work → qc → ready → delivered → closed`, or
    /// `cancelled` before any work.
    pub enum OrderState {
        Open = "open",
        EstimateAccepted = "estimate_accepted",
        InWork = "in_work",
        Qc = "qc",
        Ready = "ready",
        Delivered = "delivered",
        Closed = "closed",
        Cancelled = "cancelled",
    }
}

string_enum! {
    /// A job: `pending → dispatched → in_progress ⇄ paused → done`; a failed QC
    /// sends it to `rework` (dispatched again to its technician).
    pub enum RepairJobState {
        Pending = "pending",
        Dispatched = "dispatched",
        InProgress = "in_progress",
        Paused = "paused",
        Done = "done",
        Rework = "rework",
    }
}

string_enum! {
    /// The skill a job needs; a technician holds one or more.
    pub enum Skill { Mechanical = "mechanical", BodyPaint = "body_paint", Electrical = "electrical" }
}

string_enum! {
    /// Who pays for a job.
    pub enum PayType { Customer = "customer", Warranty = "warranty", Internal = "internal", Insurance = "insurance" }
}

string_enum! {
    /// Where a job came from: the estimate the customer signed, or extra work found later.
    pub enum JobOrigin { Estimate = "estimate", ExtraWork = "extra_work" }
}

string_enum! {
    /// Whether a job may be done: covered by the accepted estimate, or (extra
    /// work) awaiting, approved or declined by the customer line by line.
    pub enum Approval {
        Estimate = "estimate",
        Awaiting = "awaiting",
        Approved = "approved",
        Declined = "declined",
    }
}

impl Approval {
    /// Whether a line with this answer counts towards the totals (and the
    /// sold hours): all but declined extra work and extra work still
    /// awaiting an answer.
    pub fn counts(self) -> bool {
        matches!(self, Approval::Estimate | Approval::Approved)
    }
}

string_enum! {
    /// How a customer's answer came in.
    pub enum ApprovalChannel { App = "app", Tablet = "tablet", Phone = "phone" }
}

string_enum! {
    /// 优先派工: `high` for a waiting customer, a comeback, a promise at risk.
    pub enum Priority { Normal = "normal", High = "high" }
}

string_enum! {
    /// What a photo shows.
    pub enum PhotoPurpose { Walkaround = "walkaround", HealthCheck = "health_check", Qc = "qc", Damage = "damage" }
}

string_enum! {
    /// A walk-around item: fine, worth a note, or damaged.
    pub enum WalkStatus { Ok = "ok", Note = "note", Damage = "damage" }
}

string_enum! {
    /// A health-check item: green fine, yellow soon, red now.
    pub enum Rating { Green = "green", Yellow = "yellow", Red = "red" }
}

string_enum! {
    /// 车辆三级质检, in this order.
    pub enum QcLevel { SelfCheck = "self", Foreman = "foreman", Final = "final" }
}

string_enum! {
    pub enum PaymentMethod { Cash = "cash", Card = "card", Wechat = "wechat", Alipay = "alipay", Transfer = "transfer" }
}

string_enum! {
    /// How an estimate was signed: drawn on the tablet, a typed name, or accepted in the app.
    pub enum SignatureKind { Drawn = "drawn", Typed = "typed", App = "app" }
}

string_enum! {
    /// Why a technician clocks off.
    pub enum ClockOff { Pause = "pause", Done = "done" }
}

string_enum! {
    /// What happened to an order: one entry of its timeline.
    pub enum EventKind {
        Opened = "opened",
        Updated = "updated",
        JobAdded = "job_added",
        JobUpdated = "job_updated",
        JobRemoved = "job_removed",
        WalkaroundRecorded = "walkaround_recorded",
        PhotoAdded = "photo_added",
        EstimateCreated = "estimate_created",
        EstimateAccepted = "estimate_accepted",
        JobDispatched = "job_dispatched",
        ClockedOn = "clocked_on",
        ClockedOff = "clocked_off",
        HealthCheckRecorded = "health_check_recorded",
        ExtraWorkProposed = "extra_work_proposed",
        ExtraWorkApproved = "extra_work_approved",
        ExtraWorkDeclined = "extra_work_declined",
        QcRecorded = "qc_recorded",
        Washed = "washed",
        PaymentReceived = "payment_received",
        Delivered = "delivered",
        StateChanged = "state_changed",
    }
}

string_enum! {
    /// A state change of an order.
    pub enum OrderAction {
        AcceptEstimate = "accept_estimate",
        StartWork = "start_work",
        BeginQc = "begin_qc",
        Rework = "rework",
        Wash = "wash",
        Deliver = "deliver",
        Close = "close",
        Cancel = "cancel",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a repair order that is {from} cannot {action}")]
pub struct TransitionError {
    pub from: OrderState,
    pub action: &'static str,
}

impl OrderAction {
    fn phrase(self) -> &'static str {
        match self {
            OrderAction::AcceptEstimate => "have its estimate accepted",
            OrderAction::StartWork => "start work",
            OrderAction::BeginQc => "go to quality control",
            OrderAction::Rework => "go back to work",
            OrderAction::Wash => "be washed and made ready",
            OrderAction::Deliver => "be delivered",
            OrderAction::Close => "be closed",
            OrderAction::Cancel => "be cancelled",
        }
    }
}

impl OrderState {
    /// The state after `action`, or why not.
    pub fn apply(self, action: OrderAction) -> Result<OrderState, TransitionError> {
        use OrderAction as A;
        use OrderState::*;
        let next = match (self, action) {
            (Open, A::AcceptEstimate) => EstimateAccepted,
            (EstimateAccepted, A::StartWork) => InWork,
            (InWork, A::BeginQc) => Qc,
            (Qc, A::Rework) => InWork,
            (Qc, A::Wash) => Ready,
            (Ready, A::Deliver) => Delivered,
            (Delivered, A::Close) => Closed,
            (Open | EstimateAccepted, A::Cancel) => Cancelled,
            _ => {
                return Err(TransitionError {
                    from: self,
                    action: action.phrase(),
                });
            }
        };
        Ok(next)
    }

    /// Closed and cancelled orders are history: nothing more happens to them.
    pub fn is_final(self) -> bool {
        matches!(self, OrderState::Closed | OrderState::Cancelled)
    }

    /// Whether the jobs may still be changed freely (no estimate accepted yet).
    pub fn is_estimating(self) -> bool {
        self == OrderState::Open
    }

    /// Whether workshop work (dispatch, clocking, extra work) may happen.
    pub fn is_in_workshop(self) -> bool {
        matches!(
            self,
            OrderState::EstimateAccepted | OrderState::InWork | OrderState::Qc
        )
    }
}

impl RepairJobState {
    /// Whether the job still has work to do before QC.
    pub fn is_open(self) -> bool {
        !matches!(self, RepairJobState::Done)
    }

    /// Whether the dispatched technician may clock on.
    pub fn can_clock_on(self) -> bool {
        matches!(
            self,
            RepairJobState::Dispatched | RepairJobState::Paused | RepairJobState::Rework
        )
    }
}

impl QcLevel {
    /// The level that must have passed before this one in the current round.
    pub fn previous(self) -> Option<QcLevel> {
        match self {
            QcLevel::SelfCheck => None,
            QcLevel::Foreman => Some(QcLevel::SelfCheck),
            QcLevel::Final => Some(QcLevel::Foreman),
        }
    }
}

/// The daily order number: `RO` + local date + a 4-digit sequence
/// (`RO202703010007`); from the 10,000th order of a day the sequence simply
/// grows a digit, still unique and still sorting within the day.
pub fn order_number(day: chrono::NaiveDate, seq: i32) -> String {
    format!("RO{}{:04}", day.format("%Y%m%d"), seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_allows_exactly_its_moves() {
        use OrderAction as A;
        use OrderState::*;
        let legal = [
            (Open, A::AcceptEstimate, EstimateAccepted),
            (EstimateAccepted, A::StartWork, InWork),
            (InWork, A::BeginQc, Qc),
            (Qc, A::Rework, InWork),
            (Qc, A::Wash, Ready),
            (Ready, A::Deliver, Delivered),
            (Delivered, A::Close, Closed),
            (Open, A::Cancel, Cancelled),
            (EstimateAccepted, A::Cancel, Cancelled),
        ];
        for &from in OrderState::ALL {
            for &action in OrderAction::ALL {
                let expected = legal
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|(_, _, to)| *to);
                match expected {
                    Some(to) => assert_eq!(from.apply(action), Ok(to), "{from} {action}"),
                    None => {
                        let e = from.apply(action).unwrap_err();
                        assert_eq!(e.from, from);
                        assert!(e.to_string().contains(from.as_str()), "{e}");
                    }
                }
            }
        }
        assert_eq!(
            InWork.apply(A::Cancel).unwrap_err().to_string(),
            "a repair order that is in_work cannot be cancelled"
        );
    }

    #[test]
    fn final_states_take_nothing() {
        for s in [OrderState::Closed, OrderState::Cancelled] {
            assert!(s.is_final());
            assert!(OrderAction::ALL.iter().all(|a| s.apply(*a).is_err()));
        }
    }

    #[test]
    fn numbers_carry_the_local_day_and_four_digits() {
        let d = chrono::NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
        assert_eq!(order_number(d, 7), "RO202703010007");
        assert_eq!(order_number(d, 10_000), "RO2027030110000");
    }

    #[test]
    fn qc_levels_follow_each_other() {
        assert_eq!(QcLevel::SelfCheck.previous(), None);
        assert_eq!(QcLevel::Final.previous(), Some(QcLevel::Foreman));
        assert_eq!(
            serde_json::to_string(&QcLevel::SelfCheck).unwrap(),
            "\"self\""
        );
    }
}
