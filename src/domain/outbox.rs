//! The life of an outbox message, as a pure transition table, and the
//! back-off between attempts.
//!
//! ```text
//! queued ──submit──> submitting ──accepted──> sent ──receipt──> delivered | failed
//!   │                    │ retry (attempts left) ──> queued
//!   │                    │ retry (none left) ─────> dead
//!   │                    │ rejected (4xx) ────────> failed
//!   │                    │ lost (timeout, crash) ─> unknown ──receipt──> delivered | failed
//!   └──suppress (consent withdrawn)──> suppressed
//! dead | failed | unknown ──staff retry──> queued
//! ```

use std::time::Duration;

string_enum! {
    /// Where an outbox message stands.
    pub enum MessageState {
        /// Waiting for its `due_at`.
        Queued = "queued",
        /// Handed to a dispatcher, which committed this before calling the provider.
        Submitting = "submitting",
        /// The provider accepted it.
        Sent = "sent",
        /// A receipt said it arrived.
        Delivered = "delivered",
        /// Refused for good (a 4xx, or a failed receipt).
        Failed = "failed",
        /// Every retry was used up.
        Dead = "dead",
        /// The provider may or may not have it (timeout, crash mid-call): never resent blindly.
        Unknown = "unknown",
        /// Not sent: the customer withdrew consent before it left.
        Suppressed = "suppressed",
    }
}

string_enum! {
    /// What a delivery receipt reports.
    pub enum ReceiptStatus { Delivered = "delivered", Failed = "failed" }
}

string_enum! {
    /// How one attempt to hand a message to a provider ended.
    pub enum AttemptOutcome {
        /// Still in flight, or its worker died mid-call.
        Pending = "pending",
        Sent = "sent",
        /// Connection refused, 5xx or 429: tried again later.
        Retry = "retry",
        Failed = "failed",
        Unknown = "unknown",
    }
}

/// What happens to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Submit,
    Accepted,
    /// A retryable failure; `exhausted` when it was the last attempt allowed.
    Retry {
        exhausted: bool,
    },
    Rejected,
    /// The call's fate is not known: a timeout, or the lease ended mid-call.
    Lost,
    Receipt(ReceiptStatus),
    Suppress,
    StaffRetry,
}

/// The state after `event`, or `None` when the event does not apply there.
pub fn next(from: MessageState, event: Event) -> Option<MessageState> {
    use MessageState as S;
    Some(match (from, event) {
        (S::Queued, Event::Submit) => S::Submitting,
        (S::Queued, Event::Suppress) => S::Suppressed,
        (S::Submitting, Event::Accepted) => S::Sent,
        (S::Submitting, Event::Retry { exhausted: false }) => S::Queued,
        (S::Submitting, Event::Retry { exhausted: true }) => S::Dead,
        (S::Submitting, Event::Rejected) => S::Failed,
        (S::Submitting, Event::Lost) => S::Unknown,
        // a receipt may overtake the dispatcher's own record of the call;
        // states only move forward, so a receipt never reopens a settled row
        (S::Submitting | S::Sent | S::Unknown, Event::Receipt(ReceiptStatus::Delivered)) => {
            S::Delivered
        }
        (S::Submitting | S::Sent | S::Unknown, Event::Receipt(ReceiptStatus::Failed)) => S::Failed,
        (S::Dead | S::Failed | S::Unknown, Event::StaffRetry) => S::Queued,
        _ => return None,
    })
}

/// The wait before attempt `attempt + 1`, after `attempt` attempts (1-based):
/// `base · 2^(attempt-1)` capped at `max`, of which a random half is taken
/// away (`jitter` in `[0, 1)`) so that a burst of failures does not come back
/// as one burst. A provider's `Retry-After` is a floor.
pub fn backoff(
    attempt: i32,
    base: Duration,
    max: Duration,
    jitter: f64,
    retry_after: Option<Duration>,
) -> Duration {
    let exp = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(0)
        .min(30);
    let full = base.saturating_mul(1u32 << exp).min(max);
    let jitter = jitter.clamp(0.0, 1.0);
    let wait = full.mul_f64(1.0 - jitter / 2.0);
    match retry_after {
        Some(r) => wait.max(r),
        None => wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MessageState as S;

    #[test]
    fn messages_move_only_forward() {
        assert_eq!(next(S::Queued, Event::Submit), Some(S::Submitting));
        assert_eq!(next(S::Submitting, Event::Accepted), Some(S::Sent));
        assert_eq!(
            next(S::Submitting, Event::Retry { exhausted: false }),
            Some(S::Queued)
        );
        assert_eq!(
            next(S::Submitting, Event::Retry { exhausted: true }),
            Some(S::Dead)
        );
        assert_eq!(next(S::Submitting, Event::Rejected), Some(S::Failed));
        assert_eq!(next(S::Submitting, Event::Lost), Some(S::Unknown));
        let delivered = Event::Receipt(ReceiptStatus::Delivered);
        assert_eq!(next(S::Sent, delivered), Some(S::Delivered));
        assert_eq!(next(S::Unknown, delivered), Some(S::Delivered));
        // a receipt never reopens or rewinds
        assert_eq!(next(S::Delivered, delivered), None);
        assert_eq!(
            next(S::Delivered, Event::Receipt(ReceiptStatus::Failed)),
            None
        );
        assert_eq!(next(S::Queued, delivered), None);
        // an unknown message is never sent again on its own
        assert_eq!(next(S::Unknown, Event::Submit), None);
        assert_eq!(next(S::Unknown, Event::StaffRetry), Some(S::Queued));
        assert_eq!(next(S::Sent, Event::StaffRetry), None);
        assert_eq!(next(S::Queued, Event::Suppress), Some(S::Suppressed));
        assert_eq!(next(S::Submitting, Event::Suppress), None);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_honours_retry_after() {
        let s = Duration::from_secs;
        assert_eq!(backoff(1, s(2), s(600), 0.0, None), s(2));
        assert_eq!(backoff(3, s(2), s(600), 0.0, None), s(8));
        assert_eq!(backoff(30, s(2), s(600), 0.0, None), s(600));
        assert_eq!(backoff(i32::MAX, s(2), s(600), 0.0, None), s(600));
        assert_eq!(
            backoff(3, s(2), s(600), 0.999, None),
            s(8).mul_f64(1.0 - 0.999 / 2.0)
        );
        assert_eq!(backoff(1, s(2), s(600), 0.0, Some(s(30))), s(30));
        assert_eq!(backoff(0, s(2), s(600), 0.0, None), s(2));
    }
}
