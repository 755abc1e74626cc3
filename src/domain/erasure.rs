//! The right to erasure (删除权, PIPL art. 47): a customer's request to be
//! forgotten, decided by the service manager within a number of days, and
//! what an approval leaves of the person. Pure rules; the use cases are in
//! `services::erasure`.
//!
//! A request moves `requested → approved` or `requested → refused`, once:
//! nothing leaves `approved` (the erasure cannot be undone) and a refusal
//! stands (the customer may ask again, which is a new request).

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

string_enum! {
    /// Where an erasure request is.
    pub enum ErasureState {
        /// Waiting for the service manager's decision.
        Requested = "requested",
        /// Approved: the customer was anonymised.
        Approved = "approved",
        /// Refused, with a reason the customer was told.
        Refused = "refused",
    }
}

string_enum! {
    /// What the service manager does to a request.
    pub enum ErasureDecision { Approve = "approve", Refuse = "refuse" }
}

/// The state a decision leads to, if it may be taken in `state`.
pub fn next(state: ErasureState, decision: ErasureDecision) -> Option<ErasureState> {
    use ErasureDecision as D;
    use ErasureState as S;
    match (state, decision) {
        (S::Requested, D::Approve) => Some(S::Approved),
        (S::Requested, D::Refuse) => Some(S::Refused),
        _ => None,
    }
}

impl ErasureState {
    /// Still to be decided.
    pub fn is_open(self) -> bool {
        self == ErasureState::Requested
    }
}

/// The longest note or reason, in characters.
pub const MAX_TEXT: usize = 500;

/// When a request made at `at` must be decided by.
pub fn due_at(at: DateTime<Utc>, due_days: u32) -> DateTime<Utc> {
    at + Duration::days(i64::from(due_days))
}

/// The name an erased customer goes by: `已注销-` and 8 hex digits of the
/// customer's id (the id's random tail, so two erased customers differ).
pub fn pseudonym(customer_id: Uuid) -> String {
    format!("{PSEUDONYM_PREFIX}{}", &short(customer_id))
}

/// What every pseudonym starts with.
pub const PSEUDONYM_PREFIX: &str = "已注销-";

/// The value an erased customer's phone column holds: not a phone number
/// (no `+`, so no search or login by phone can match it), distinct per
/// customer so the dealer's unique phone index still holds. The column holds
/// 20 characters: `erased-` and the id's last 13 hex digits, 52 random bits
/// of a UUIDv7 (a clash, were it ever to come, is refused by the index and
/// the approval does nothing).
pub fn phone_placeholder(customer_id: Uuid) -> String {
    let hex = customer_id.simple().to_string();
    format!("erased-{}", &hex[hex.len() - 13..])
}

fn short(id: Uuid) -> String {
    let hex = id.simple().to_string();
    hex[hex.len() - 8..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ErasureDecision as D;
    use ErasureState as S;

    #[test]
    fn only_an_open_request_is_decided_and_only_once() {
        assert_eq!(next(S::Requested, D::Approve), Some(S::Approved));
        assert_eq!(next(S::Requested, D::Refuse), Some(S::Refused));
        for s in [S::Approved, S::Refused] {
            for d in ErasureDecision::ALL {
                assert_eq!(next(s, *d), None, "{s} {d}");
            }
        }
        assert!(S::Requested.is_open());
        assert!(!S::Approved.is_open());
    }

    #[test]
    fn pseudonyms_and_placeholders_differ_per_customer_and_are_no_phone() {
        let a = Uuid::now_v7();
        let b = Uuid::now_v7();
        assert!(pseudonym(a).starts_with("已注销-"));
        assert_eq!(pseudonym(a).chars().count(), 4 + 8);
        assert_ne!(pseudonym(a), pseudonym(b));
        assert_ne!(phone_placeholder(a), phone_placeholder(b));
        assert!(!phone_placeholder(a).starts_with('+'));
        // the phone column's width
        assert_eq!(phone_placeholder(a).len(), 20);
    }

    #[test]
    fn due_in_days() {
        let t = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(due_at(t, 15).to_rfc3339(), "2026-12-16T00:00:00+00:00");
    }
}
