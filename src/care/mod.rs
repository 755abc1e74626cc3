//! Customer care: message templates and the channels that carry messages.
//! The planner and dispatcher of the care engine grow here.

pub mod render;
pub mod sms;
