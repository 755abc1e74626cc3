//! Customer care: the outbox every message goes through, the dispatcher that
//! delivers it, message templates and the channels that carry messages.
//! The planner of the care engine grows here.

pub mod dispatcher;
pub mod email;
pub mod outbox;
pub mod render;
pub mod sms;
pub mod unsubscribe;
