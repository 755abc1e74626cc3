//! Customer care: the outbox every message goes through, the dispatcher that
//! delivers it, message templates and the channels that carry messages.
//! The planner decides who gets which reminder or greeting, and when.

pub mod aliyun;
pub mod dispatcher;
pub mod email;
pub mod inbound;
pub mod outbox;
pub mod planner;
pub mod provider_templates;
pub mod receipts;
pub mod render;
pub mod route;
pub mod settings;
pub mod survey;
pub mod sweeps;
pub mod templated;
pub mod tencent;
pub mod unsubscribe;
pub mod webhook;
pub mod wechat;
