//! What every request can reach, built once in `startup`.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::password::Passwords;
use crate::auth::tokens::Tokens;
use crate::care::email::EmailChannel;
use crate::care::render::Templates;
use crate::care::webhook::WebhookChannel;
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::telemetry::Metrics;

pub struct AppState {
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
    pub clock: SharedClock,
    pub tokens: Tokens,
    pub passwords: Passwords,
    pub sms: WebhookChannel,
    pub push: WebhookChannel,
    /// The templated SMS operator, when SMS does not go by the webhook.
    pub sms_provider: Option<crate::care::templated::SmsProvider>,
    pub email: EmailChannel,
    /// The WeChat mini-program, when configured.
    pub wechat: Option<crate::care::wechat::Wechat>,
    pub templates: Templates,
    pub metrics: Metrics,
    /// Wakes the import worker when a job is queued.
    pub import_wakeup: Arc<tokio::sync::Notify>,
    /// Wakes the outbox dispatcher when a message is committed.
    pub care_wakeup: Arc<tokio::sync::Notify>,
    /// Wakes the live event streams of a topic (across instances on PostgreSQL).
    pub feed: crate::services::feed::Feed,
    /// The care planner's runs asked for by managers, one at a time per
    /// dealer in this instance (`care::planner::run_now`).
    pub planner_runs: crate::care::planner::Runs,
    /// Photos and other files, by their SHA-256.
    pub blobs: Arc<dyn crate::services::storage::BlobStore>,
    /// The public endpoints' rate limits in this instance.
    pub limits: Arc<crate::edges::limits::PublicLimits>,
    /// The personal-data access log's writer in this instance.
    pub audit: crate::services::privacy::AuditLog,
}
