//! Typed settings: `config/default.toml`, then `config/<profile>.toml`, then
//! `SERVICELANE__SECTION__KEY` environment variables. Loaded once in `main`
//! and passed down; there is no global.

use std::path::{Path, PathBuf};

use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    Development,
    Test,
    Production,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Development => "development",
            Profile::Test => "test",
            Profile::Production => "production",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub profile: Profile,
    /// Where the embedded database, the development secret and the file outbox live.
    pub data_dir: PathBuf,
    /// Create the DEMO dealer on an empty database (development only).
    pub seed_demo: bool,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub sms: WebhookSettings,
    /// App push notifications, through the operator's push gateway.
    pub push: WebhookSettings,
    pub email: EmailSettings,
    /// Aliyun SMS, when `care.sms_provider` is `aliyun`.
    pub aliyun: AliyunSettings,
    /// Tencent Cloud SMS, when `care.sms_provider` is `tencent`.
    pub tencent: TencentSettings,
    /// The WeChat mini-program: login and subscribe messages.
    pub wechat: WechatSettings,
    pub imports: ImportSettings,
    pub care: CareSettings,
    pub feed: FeedSettings,
    pub storage: StorageSettings,
    pub warranty: WarrantySettings,
    pub limits: LimitSettings,
    pub privacy: PrivacySettings,
    pub log: LogSettings,
}

/// Personal data (`services::privacy`).
#[derive(Debug, Clone, Deserialize)]
pub struct PrivacySettings {
    /// Log every staff read of a customer's record. Only a benchmark turns it
    /// off, to measure what it costs; start-up warns when it is off.
    pub audit_reads: bool,
    /// Alert the escalation contacts when one member of staff reads more
    /// distinct customers than this in an hour; 0: no alert.
    pub bulk_read_alert_customers: u32,
    /// Blob bytes nothing refers to any more are deleted only when they were
    /// not stored (or put again) within this many seconds; the one grace of
    /// every delete (erasure, retention, expired exports).
    pub blob_grace_secs: u64,
    /// Days a customer's export ZIP can be downloaded before it is deleted.
    pub export_days: u32,
    /// Build customers' export jobs in this process.
    pub export_worker: bool,
    /// The service manager decides a customer's erasure request within this
    /// many days of the request (its `due_at`); 1–90.
    pub erasure_due_days: u32,
    /// The daily retention run (`services::retention`).
    pub retention: RetentionConfig,
}

/// `[privacy.retention]`: when the daily run starts, how it works, and the
/// limits a dealer starts with (`domain::retention::Policy`).
#[derive(Debug, Clone, Deserialize)]
pub struct RetentionConfig {
    /// Run beside the server (off in the tests: `run_retention` runs it).
    pub enabled: bool,
    /// `HH:MM`, the dealer's local time from which the day's run starts.
    pub at: String,
    pub poll_secs: u64,
    /// Rows per statement.
    pub batch: u64,
    /// A run not heard from for this long is taken over by another instance.
    pub lease_secs: u64,
    pub otp_code_days: u32,
    pub login_failure_days: u32,
    pub message_body_months: u32,
    pub photo_months: u32,
    pub rescue_location_months: u32,
    pub audit_years: u32,
    pub idempotent_answer_days: u32,
}

impl RetentionConfig {
    /// The limits a dealer has before it sets its own.
    pub fn defaults(&self) -> crate::domain::retention::Policy {
        crate::domain::retention::Policy {
            otp_code_days: self.otp_code_days,
            login_failure_days: self.login_failure_days,
            message_body_months: self.message_body_months,
            photo_months: self.photo_months,
            rescue_location_months: self.rescue_location_months,
            audit_years: self.audit_years,
            idempotent_answer_days: self.idempotent_answer_days,
        }
    }

    fn check(&self) -> anyhow::Result<()> {
        crate::domain::retention::parse_at(&self.at)
            .map_err(|e| anyhow::anyhow!("privacy.retention.at: {e}"))?;
        if self.batch == 0 || self.lease_secs == 0 {
            anyhow::bail!("privacy.retention: batch and lease_secs must be above 0");
        }
        self.defaults()
            .check()
            .map_err(|e| anyhow::anyhow!("privacy.retention: {e}"))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Peers (CIDRs) whose `X-Forwarded-For` is believed: a load balancer or
    /// reverse proxy. Empty: the TCP peer is the client.
    #[serde(deserialize_with = "cidr_list")]
    pub trusted_proxies: Vec<IpNet>,
    /// Where customers reach this server from outside (links in emails:
    /// unsubscribe, later surveys), without a trailing slash.
    pub public_base_url: String,
    /// `Strict-Transport-Security: max-age=…` on every answer; 0: not sent
    /// (production sets a year: there the server is only reached over HTTPS).
    pub hsts_max_age_secs: u64,
    /// Origins (`https://host[:port]`) whose pages may call the API from a
    /// browser: the customer web app. Empty: none (`edges::cors`).
    #[serde(deserialize_with = "text_list")]
    pub cors_allowed_origins: Vec<String>,
}

/// The public endpoints' rates per client address (`edges::limits`).
#[derive(Debug, Clone, Deserialize)]
pub struct LimitSettings {
    /// The survey and unsubscribe pages and the survey API.
    pub pages: RateSettings,
    /// Login codes asked for and tried, WeChat logins.
    pub codes: RateSettings,
    /// The SMS and WeChat operators' receipts and inbound messages.
    pub callbacks: RateSettings,
}

/// A steady rate with a burst above it.
#[derive(Debug, Clone, Deserialize)]
pub struct RateSettings {
    /// Requests a minute, refilled evenly; 0: not limited.
    pub per_minute: u32,
    /// Requests at once from a client that has been quiet.
    pub burst: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    /// `postgres://…` or `sqlite://…`; empty means `<data_dir>/servicelane.db`.
    pub url: Option<String>,
    pub max_connections: u32,
    pub min_connections: u32,
    pub acquire_timeout_secs: u64,
    /// SQLite only: how long a writer waits for the database's lock before
    /// the request answers 503.
    pub busy_timeout_ms: u64,
    /// PostgreSQL only: every connection's `lock_timeout`, how long a
    /// statement waits for a lock before it fails (the request answers 503);
    /// 0 waits without end. Above the longest lock the server holds on
    /// purpose (a WeChat token fetch holds its row up to
    /// `wechat.timeout_secs`).
    pub lock_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    /// HMAC key for access tokens; required in production.
    pub jwt_secret: Option<SecretString>,
    pub access_ttl_secs: i64,
    pub refresh_ttl_days: i64,
    /// argon2id cost; lowered only in the test profile.
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    /// Failed logins within the window before an account or address is locked.
    pub lockout_threshold: i32,
    pub lockout_window_secs: i64,
    pub lockout_secs: i64,
    /// Extra delay per failed attempt once a few have failed, capped.
    pub failure_delay_ms: u64,
    pub otp_ttl_secs: i64,
    pub otp_max_attempts: i32,
    /// A new code is not sent while an earlier one younger than this is still open.
    pub otp_resend_secs: i64,
    /// Codes sent to one phone per (UTC) day; past it nothing is sent.
    pub otp_max_sends_per_day: i32,
    /// Code checks for one phone per (UTC) day; past it 429.
    pub otp_max_verifications_per_day: i32,
    /// Password hashes computed at once (argon2id takes its memory cost each);
    /// 0 means one per core.
    pub hash_concurrency: usize,
    /// How long a login waits for a hashing slot before answering 503.
    pub hash_wait_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
/// A webhook channel (SMS, push): where it posts, the key it signs with
/// (also the key its receipts and inbound messages are signed with).
pub struct WebhookSettings {
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<SecretString>,
    pub timeout_secs: u64,
}

/// Which operator carries SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsProviderKind {
    /// The signed JSON webhook (`sms.webhook_url`), or files when unset.
    Webhook,
    Aliyun,
    Tencent,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AliyunSettings {
    pub endpoint: String,
    pub region: String,
    pub access_key_id: Option<String>,
    pub access_key_secret: Option<SecretString>,
    /// The secret part of the delivery-report URL given to Aliyun
    /// (`/api/v1/care/reports/aliyun/{token}`); unset: reports are refused.
    pub report_token: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TencentSettings {
    pub endpoint: String,
    pub region: String,
    pub secret_id: Option<String>,
    pub secret_key: Option<SecretString>,
    pub sdk_app_id: Option<String>,
    /// The secret part of the status-callback URL given to Tencent
    /// (`/api/v1/care/reports/tencent/{token}`); unset: callbacks are refused.
    pub report_token: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WechatSettings {
    /// `https://api.weixin.qq.com` (a private relay or a test listener elsewhere).
    pub api_base: String,
    /// Unset: WeChat login and messages are off.
    pub app_id: Option<String>,
    pub app_secret: Option<SecretString>,
    /// The mini-program page a subscribe message opens.
    pub page: String,
    /// The token of WeChat's message push (消息推送) configuration, which signs
    /// the delivery events sent to `/api/v1/care/reports/wechat`.
    pub push_token: Option<SecretString>,
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EmailSettings {
    /// May carry the relay's password (`smtp://user:pass@host`).
    /// Unset: messages are written as `.eml` files under `<data_dir>/outbox/`.
    pub smtp_url: Option<SecretString>,
    pub from: String,
    /// The whole SMTP conversation, connection included; a send cut by it
    /// after the message went over the wire is `unknown`, never resent.
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ImportSettings {
    /// Largest file `POST /imports/customers` accepts (413 above it).
    pub max_upload_bytes: usize,
    /// Run import jobs in this process (false on an API-only instance).
    pub worker: bool,
    /// A running job whose heartbeat is older than this is taken over (resumed).
    pub lease_secs: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CareSettings {
    /// Run the outbox dispatcher in this process (`serve --no-care` turns it off).
    pub dispatcher: bool,
    /// Which operator carries SMS: `webhook`, `aliyun` or `tencent`.
    pub sms_provider: SmsProviderKind,
    /// How often the dispatcher looks for due messages when not woken.
    pub poll_ms: u64,
    /// Messages claimed at once.
    pub batch: u64,
    /// Messages a dispatcher has in hand at once (begun, at the provider, or
    /// being settled). SQLite takes one database step at a time whatever this says.
    pub concurrency: usize,
    /// How long a claim holds; a message still `submitting` after it is `unknown`.
    pub lease_secs: i64,
    /// Attempts before a message is `dead`.
    pub max_attempts: i32,
    pub backoff_base_secs: u64,
    pub backoff_max_secs: u64,
    /// The care planner (`care::planner`).
    pub planner: PlannerSettings,
}

/// The care planner: when it ticks, how far it catches up, how it streams.
#[derive(Debug, Clone, Deserialize)]
pub struct PlannerSettings {
    /// Plan in this process (`serve --no-care` turns it off with the dispatcher).
    pub enabled: bool,
    /// When each dealer is planned, in the dealer's zone (the `cron` crate's
    /// syntax, with seconds: `0 */5 * * * *` is every 5 minutes).
    pub cron: String,
    /// How often this process looks whether a dealer's tick is due.
    pub poll_secs: u64,
    /// Missed days planned after downtime, at most (older ones are skipped, logged).
    pub catch_up_days: u32,
    /// Vehicles and customers read per batch of a pass.
    pub batch: u64,
    /// How long a follow-up's survey link works, in days.
    pub survey_days: i64,
    /// Deliveries this many days back are still followed up (late, once).
    pub followup_lookback_days: i64,
    /// When vehicles are inspected, by age (data: the rules change).
    pub inspection: crate::domain::care_plan::InspectionRules,
}

/// The event feed behind the live streams (`services::feed`).
#[derive(Debug, Clone, Deserialize)]
pub struct FeedSettings {
    /// How often a stream fetches again when nothing woke it: the longest
    /// an event waits when its notification was lost.
    pub poll_secs: u64,
}

/// Where photos (and later other files) are kept (`services::storage`).
#[derive(Debug, Clone, Deserialize)]
pub struct StorageSettings {
    /// The blob folder; unset: `<data_dir>/blobs`.
    pub dir: Option<PathBuf>,
    /// Largest photo `POST /repair-orders/{id}/photos` accepts (413 above it).
    pub max_photo_bytes: usize,
}

impl Settings {
    /// The blob folder in force.
    pub fn blob_dir(&self) -> PathBuf {
        self.storage
            .dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("blobs"))
    }
}

/// Warranty claims (`services::warranty`): each make's terms, counted from
/// the in-service date, and the brand's labour rate.
#[derive(Debug, Clone, Deserialize)]
pub struct WarrantySettings {
    /// Claimed parts are kept this many days after the work before they may
    /// be scrapped (unless the brand releases them earlier).
    pub parts_keep_days: u32,
    /// For a make not listed in `makes`.
    pub default: WarrantyTermsSetting,
    /// Per make (matched without regard to case), e.g.
    /// `[warranty.makes.byd] months = 72, km = 150000, labour_rate = "110.00"`.
    #[serde(default)]
    pub makes: std::collections::BTreeMap<String, WarrantyTermsSetting>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WarrantyTermsSetting {
    pub months: u32,
    pub km: i64,
    /// CNY per flat-rate hour, a decimal string.
    pub labour_rate: rust_decimal::Decimal,
}

impl WarrantyTermsSetting {
    fn terms(&self) -> Result<crate::domain::warranty::Terms, String> {
        let labour_rate = crate::domain::Money::parse(self.labour_rate)
            .map_err(|e| format!("labour_rate {e}"))?;
        if !(1..=600).contains(&self.months) || !(1..=10_000_000).contains(&self.km) {
            return Err("months must be 1 to 600 and km 1 to 10000000".into());
        }
        Ok(crate::domain::warranty::Terms {
            months: self.months,
            km: self.km,
            labour_rate,
        })
    }
}

impl WarrantySettings {
    /// The terms of `make` (or the default).
    pub fn terms(&self, make: &str) -> crate::domain::warranty::Terms {
        let make = make.trim().to_lowercase();
        self.makes
            .iter()
            .find(|(k, _)| k.trim().to_lowercase() == make)
            .map(|(_, t)| t)
            .unwrap_or(&self.default)
            .terms()
            .unwrap_or(crate::domain::warranty::Terms {
                months: 0,
                km: 0,
                labour_rate: crate::domain::Money::ZERO,
            })
    }

    fn check(&self) -> anyhow::Result<()> {
        for (name, t) in std::iter::once(("default", &self.default))
            .chain(self.makes.iter().map(|(k, v)| (k.as_str(), v)))
        {
            t.terms()
                .map_err(|e| anyhow::anyhow!("warranty terms of {name}: {e}"))?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    /// tracing filter, e.g. `info,sqlx=warn`; `RUST_LOG` wins when set.
    pub filter: String,
}

impl Settings {
    /// Reads files from `config_dir` and the process environment.
    pub fn load(config_dir: &Path) -> anyhow::Result<Settings> {
        Self::load_from(config_dir, std::env::vars())
    }

    /// Same as [`Settings::load`] with the environment given; used by tests.
    pub fn load_from(
        config_dir: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Settings> {
        let env: std::collections::HashMap<String, String> = env
            .into_iter()
            .filter(|(k, v)| k.starts_with("SERVICELANE__") && !v.trim().is_empty())
            .collect();
        let profile = env
            .get("SERVICELANE__PROFILE")
            .cloned()
            .unwrap_or_else(|| "development".into());
        let profile = profile.as_str();
        if !["development", "test", "production"].contains(&profile) {
            anyhow::bail!(
                "SERVICELANE__PROFILE: unknown profile '{profile}', expected development, test or production"
            );
        }
        let cfg = config::Config::builder()
            .add_source(config::File::from(config_dir.join("default.toml")))
            .add_source(
                config::File::from(config_dir.join(format!("{profile}.toml"))).required(false),
            )
            .add_source(
                config::Environment::with_prefix("SERVICELANE")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    .source(Some(env.into_iter().collect())),
            )
            .set_override("profile", profile)?
            .build()
            .map_err(|e| anyhow::anyhow!("configuration: {}", key_hint(&e.to_string())))?;
        let settings: Settings = cfg
            .try_deserialize()
            .map_err(|e| anyhow::anyhow!("configuration: {}", key_hint(&e.to_string())))?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> anyhow::Result<()> {
        self.warranty.check()?;
        self.privacy.retention.check()?;
        if self.profile == Profile::Production {
            match &self.auth.jwt_secret {
                None => anyhow::bail!("SERVICELANE__AUTH__JWT_SECRET is required in production"),
                Some(s) if s.expose_secret().len() < 32 => {
                    anyhow::bail!("SERVICELANE__AUTH__JWT_SECRET must be at least 32 characters")
                }
                _ => {}
            }
        }
        if let Some(url) = &self.database.url
            && !(url.starts_with("postgres://")
                || url.starts_with("postgresql://")
                || url.starts_with("sqlite:"))
        {
            anyhow::bail!("SERVICELANE__DATABASE__URL must start with postgres:// or sqlite:");
        }
        if self.database.lock_timeout_ms > i32::MAX as u64 {
            anyhow::bail!(
                "SERVICELANE__DATABASE__LOCK_TIMEOUT_MS must be at most {}",
                i32::MAX
            );
        }
        for (key, url) in [
            ("SERVICELANE__SMS__WEBHOOK_URL", &self.sms.webhook_url),
            ("SERVICELANE__PUSH__WEBHOOK_URL", &self.push.webhook_url),
        ] {
            if let Some(u) = url
                && reqwest::Url::parse(u)
                    .map(|u| !matches!(u.scheme(), "http" | "https"))
                    .unwrap_or(true)
            {
                anyhow::bail!("{key} must be an http(s) URL");
            }
        }
        if let Some(u) = &self.email.smtp_url
            && !(u.expose_secret().starts_with("smtp://")
                || u.expose_secret().starts_with("smtps://"))
        {
            anyhow::bail!("SERVICELANE__EMAIL__SMTP_URL must start with smtp:// or smtps://");
        }
        if self.email.timeout_secs == 0 {
            anyhow::bail!("SERVICELANE__EMAIL__TIMEOUT_SECS must be positive");
        }
        // links are written into HTML unescaped: only characters that need no escaping
        let base = &self.server.public_base_url;
        if reqwest::Url::parse(base)
            .map(|u| !matches!(u.scheme(), "http" | "https") || u.query().is_some())
            .unwrap_or(true)
            || !base
                .chars()
                .all(|c| c.is_ascii_graphic() && !"\"'<>&`\\".contains(c))
        {
            anyhow::bail!(
                "SERVICELANE__SERVER__PUBLIC_BASE_URL must be an http(s) URL without a query, quotes, <, > or &"
            );
        }
        if self.auth.otp_max_sends_per_day < 1 || self.auth.otp_max_verifications_per_day < 1 {
            anyhow::bail!(
                "SERVICELANE__AUTH__OTP_MAX_SENDS_PER_DAY and OTP_MAX_VERIFICATIONS_PER_DAY must be at least 1"
            );
        }
        if self.imports.lease_secs <= 0 || self.imports.max_upload_bytes == 0 {
            anyhow::bail!("SERVICELANE__IMPORTS__LEASE_SECS and MAX_UPLOAD_BYTES must be positive");
        }
        if let Some(o) = self
            .server
            .cors_allowed_origins
            .iter()
            .find(|o| !crate::edges::cors::is_origin(o))
        {
            anyhow::bail!(
                "SERVICELANE__SERVER__CORS_ALLOWED_ORIGINS: '{o}' is not an origin such as https://app.example.cn"
            );
        }
        if self.storage.max_photo_bytes == 0 {
            anyhow::bail!("SERVICELANE__STORAGE__MAX_PHOTO_BYTES must be positive");
        }
        if self.feed.poll_secs == 0 {
            anyhow::bail!("SERVICELANE__FEED__POLL_SECS must be positive");
        }
        if self.auth.access_ttl_secs <= 0 || self.auth.refresh_ttl_days <= 0 {
            anyhow::bail!(
                "SERVICELANE__AUTH__ACCESS_TTL_SECS and REFRESH_TTL_DAYS must be positive"
            );
        }
        Ok(())
    }

    /// The database URL in force: the configured one, or the embedded file.
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(u) => u.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("servicelane.db").display()
            ),
        }
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url().starts_with("sqlite:")
    }
}

/// `server.trusted_proxies`: a list in the files, a comma-separated string in
/// the environment (`SERVICELANE__SERVER__TRUSTED_PROXIES=10.0.0.0/8,127.0.0.1`).
/// A bare address means that one host.
fn cidr_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
    text_list(d)?
        .iter()
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    serde::de::Error::custom(format!(
                        "'{s}' is not a CIDR such as 10.0.0.0/8 (server.trusted_proxies)"
                    ))
                })
        })
        .collect()
}

/// A list in a file, or comma-separated text in an environment variable;
/// blanks trimmed, empty items dropped.
fn text_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    let items = match Raw::deserialize(d)? {
        Raw::List(l) => l,
        Raw::Text(t) => t.split(',').map(str::to_string).collect(),
    };
    Ok(items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect())
}

/// The config crate names keys in dotted form (`server.port`); people set them
/// as environment variables, so name both.
fn key_hint(msg: &str) -> String {
    if let Some(start) = msg.find("for key `") {
        let rest = &msg[start + 9..];
        if let Some(end) = rest.find('`') {
            let key = &rest[..end];
            let env = format!("SERVICELANE__{}", key.replace('.', "__").to_uppercase());
            return format!("{msg} (set by {env} or the config files)");
        }
    }
    msg.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config")
    }

    fn load(vars: &[(&str, &str)]) -> anyhow::Result<Settings> {
        Settings::load_from(
            &dir(),
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn defaults_are_development_on_port_8080_with_sqlite() {
        let s = load(&[]).unwrap();
        assert_eq!(s.profile, Profile::Development);
        assert_eq!(s.server.port, 8080);
        assert!(s.is_sqlite());
        assert!(s.seed_demo);
    }

    #[test]
    fn environment_overrides_nested_keys() {
        let s = load(&[
            ("SERVICELANE__SERVER__PORT", "9090"),
            ("SERVICELANE__SMS__WEBHOOK_URL", "http://127.0.0.1:1/sms"),
        ])
        .unwrap();
        assert_eq!(s.server.port, 9090);
        assert_eq!(s.sms.webhook_url.as_deref(), Some("http://127.0.0.1:1/sms"));
    }

    #[test]
    fn trusted_proxies_come_from_a_comma_separated_variable() {
        assert!(load(&[]).unwrap().server.trusted_proxies.is_empty());
        let s = load(&[(
            "SERVICELANE__SERVER__TRUSTED_PROXIES",
            "127.0.0.1/32, 10.0.0.0/8,::1",
        )])
        .unwrap();
        let nets: Vec<String> = s
            .server
            .trusted_proxies
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(nets, ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]);
        let e = load(&[("SERVICELANE__SERVER__TRUSTED_PROXIES", "10.0.0.0/33")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("trusted_proxies"), "{e}");
    }

    #[test]
    fn debug_of_the_settings_never_prints_a_secret() {
        let s = load(&[
            (
                "SERVICELANE__AUTH__JWT_SECRET",
                "jwt-secret-0123456789-0123456789-xyz",
            ),
            (
                "SERVICELANE__SMS__WEBHOOK_SECRET",
                "sms-webhook-secret-4711",
            ),
            (
                "SERVICELANE__EMAIL__SMTP_URL",
                "smtp://mailer:smtp-password-0815@mail.example.com",
            ),
        ])
        .unwrap();
        let printed = format!("{s:?}");
        for secret in [
            "jwt-secret-0123456789",
            "sms-webhook-secret-4711",
            "smtp-password-0815",
        ] {
            assert!(!printed.contains(secret), "{secret} printed in {printed}");
        }
        // still there for whoever needs it
        assert_eq!(
            s.sms.webhook_secret.as_ref().map(|x| x.expose_secret()),
            Some("sms-webhook-secret-4711")
        );
    }

    #[test]
    fn a_wrong_value_names_its_key() {
        let e = load(&[("SERVICELANE__SERVER__PORT", "eighty")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("SERVICELANE__SERVER__PORT"), "{e}");
        let e = load(&[("SERVICELANE__PROFILE", "staging")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("SERVICELANE__PROFILE"), "{e}");
    }

    #[test]
    fn production_refuses_to_start_without_a_jwt_secret_and_never_seeds() {
        let e = load(&[("SERVICELANE__PROFILE", "production")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("SERVICELANE__AUTH__JWT_SECRET"), "{e}");
        let s = load(&[
            ("SERVICELANE__PROFILE", "production"),
            ("SERVICELANE__AUTH__JWT_SECRET", &"x".repeat(40)),
        ])
        .unwrap();
        assert!(!s.seed_demo);
    }
}
