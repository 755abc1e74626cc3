//! Customer care: the outbox every message goes through, the dispatcher that
//! delivers it, message templates and the channels that carry messages.
//! The planner of the care engine grows here.

pub mod aliyun;
pub mod dispatcher;
pub mod email;
pub mod inbound;
pub mod outbox;
pub mod provider_templates;
pub mod receipts;
pub mod render;
pub mod route;
pub mod settings;
pub mod templated;
pub mod tencent;
pub mod unsubscribe;
pub mod webhook;
pub mod wechat;
