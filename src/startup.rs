//! Builds the application from settings; used by `main` and by the tests.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use rand::RngCore;
use secrecy::ExposeSecret;
use utoipa_actix_web::AppExt;

use crate::auth::password::Passwords;
use crate::auth::tokens::Tokens;
use crate::care::email::EmailChannel;
use crate::care::render::Templates;
use crate::care::webhook::WebhookChannel;
use crate::clock::SharedClock;
use crate::config::{Profile, Settings};
use crate::services::feed::{Feed, Listener};
use crate::state::AppState;
use crate::telemetry::{self, Metrics};
use crate::{api, db};

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    /// The outbox dispatcher beside the server, stopped with it.
    care: Option<CareWorker>,
    /// PostgreSQL: the event feed's listener, stopped with the server.
    feed: Option<Listener>,
}

/// The running care engine (the outbox dispatcher and, when on, the
/// planner and the case escalations) and the switch that stops it.
pub struct CareWorker {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl CareWorker {
    pub fn start(state: web::Data<AppState>) -> anyhow::Result<Self> {
        let (stop, rx) = tokio::sync::watch::channel(false);
        let mut tasks = Vec::new();
        if state.settings.care.planner.enabled {
            let schedule =
                crate::care::planner::ticks::schedule(&state.settings.care.planner.cron)?;
            tasks.push(crate::care::planner::ticks::spawn(
                state.clone(),
                schedule,
                rx.clone(),
            ));
            // late cases escalated and daily reports sent, on the planner's poll
            tasks.push(crate::care::sweeps::spawn(state.clone(), rx.clone()));
        }
        if state.settings.privacy.retention.enabled {
            tasks.push(crate::services::retention::job::spawn(
                state.clone(),
                rx.clone(),
            ));
        }
        if state.settings.care.dispatcher {
            tasks.push(crate::care::dispatcher::spawn(state, rx));
        }
        Ok(Self { stop, tasks })
    }

    /// Lets the messages in hand and a run under way finish, then ends the tasks.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

impl Application {
    /// Connects and migrates the database, seeds the demo in development,
    /// and binds the listener (port 0 picks a free one).
    pub async fn build(settings: Settings, clock: SharedClock) -> anyhow::Result<Self> {
        let state = build_state(settings, clock).await?;
        let s = &state.settings;
        let listener = TcpListener::bind((s.server.host.as_str(), s.server.port)).map_err(|e| {
            anyhow::anyhow!("cannot listen on {}:{}: {e}", s.server.host, s.server.port)
        })?;
        let port = listener.local_addr()?.port();
        let workers = match s.server.workers {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            n => n,
        };
        let data = state.clone();
        let metrics = web::Data::new(state.metrics.clone());
        let contract = web::Data::new(api::Contract::new());
        let cors_origins = s.server.cors_allowed_origins.clone();
        let server = HttpServer::new(move || {
            // the panic guard sits inside the request log, so a caught panic is
            // counted and logged as the 500 it answers
            App::new()
                .wrap(from_fn(crate::panic_guard::catch_panic))
                .wrap(from_fn(crate::edges::limits::limit))
                .wrap(crate::edges::cors::layer(&cors_origins))
                .wrap(from_fn(crate::edges::headers::secure))
                .wrap(from_fn(telemetry::observe))
                .app_data(data.clone())
                .app_data(metrics.clone())
                .into_utoipa_app()
                .configure(api::routes)
                .into_app()
                .configure(api::extras(contract.clone()))
        })
        .workers(workers)
        .shutdown_timeout(10)
        .listen(listener)?
        .run();
        if state.settings.imports.worker {
            crate::services::import_jobs::spawn_worker(state.clone());
        }
        if state.settings.privacy.export_worker {
            crate::services::data_export::spawn_worker(state.clone());
        }
        spawn_outcomes_backfill(state.clone());
        let care_on = state.settings.care.dispatcher
            || state.settings.care.planner.enabled
            || state.settings.privacy.retention.enabled;
        let care = if care_on {
            Some(CareWorker::start(state.clone())?)
        } else {
            None
        };
        // other instances' events reach this one's streams (SQLite: one instance)
        let feed = (!state.settings.is_sqlite())
            .then(|| state.feed.listen(&state.settings.database_url()));
        Ok(Self {
            port,
            server,
            state,
            care,
            feed,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        drop(self.feed);
        if let Some(care) = self.care {
            care.stop().await;
        }
        served
    }
}

/// Fills in the daily board's outcomes of orders delivered before it kept
/// them (`services::kpi::outcomes`), behind the server; until it is done the
/// board computes the missing ones itself, so nothing waits for it.
fn spawn_outcomes_backfill(state: web::Data<AppState>) {
    tokio::spawn(async move {
        match crate::services::kpi::outcomes::backfill(&state.db, state.clock.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                orders = n,
                "daily-board outcomes of earlier orders filled in"
            ),
            Err(e) => tracing::warn!(
                error = %e,
                "filling in the daily-board outcomes of earlier orders failed; the board computes them meanwhile"
            ),
        }
    });
}

/// Everything a request needs; also used by CLI commands that do not serve.
pub async fn build_state(
    settings: Settings,
    clock: SharedClock,
) -> anyhow::Result<web::Data<AppState>> {
    let db = db::connect(&settings).await?;
    db::migrate(&db).await?;
    let secret = jwt_secret(&settings)?;
    let metrics = Metrics::new()?;
    let passwords = Passwords::new(
        settings.auth.argon2_memory_kib,
        settings.auth.argon2_iterations,
        settings.auth.hash_concurrency,
        Duration::from_millis(settings.auth.hash_wait_ms),
        metrics.password_hash_busy.clone(),
    )?;
    if settings.profile == Profile::Development
        && settings.seed_demo
        && crate::services::seed::seed_demo(&db, &passwords, clock.now()).await?
    {
        tracing::info!(
            "demo data created: dealer DEMO, users advisor, manager, … with password 'servicelane'"
        );
    }
    let webhook = |name, w: &crate::config::WebhookSettings| {
        WebhookChannel::new(
            name,
            w.webhook_url.as_deref(),
            w.webhook_secret.as_ref().map(|s| s.expose_secret()),
            Duration::from_secs(w.timeout_secs),
            settings.data_dir.clone(),
        )
    };
    let sms = webhook("sms", &settings.sms)?;
    let push = webhook("push", &settings.push)?;
    let sms_provider = crate::care::templated::SmsProvider::from_settings(&settings)?;
    if settings.profile == Profile::Production
        && reqwest::Url::parse(&settings.server.public_base_url)
            .ok()
            .and_then(|u| {
                u.host_str()
                    .map(|h| h == "localhost" || h.starts_with("127."))
            })
            .unwrap_or(false)
    {
        tracing::warn!(
            url = %settings.server.public_base_url,
            "SERVICELANE__SERVER__PUBLIC_BASE_URL is a loopback address: links in emails (unsubscribe) will not reach customers"
        );
    }
    let email = EmailChannel::new(
        settings.email.smtp_url.as_ref().map(|s| s.expose_secret()),
        &settings.email.from,
        Duration::from_secs(settings.email.timeout_secs),
        settings.data_dir.clone(),
    )?;
    if !settings.privacy.audit_reads {
        tracing::warn!(
            "SERVICELANE__PRIVACY__AUDIT_READS is false: staff reads of customer records are NOT logged (for measuring the log's cost only)"
        );
    }
    let care_wakeup: Arc<tokio::sync::Notify> = Arc::default();
    let audit = crate::services::privacy::AuditLog::start(
        db.clone(),
        settings.privacy.audit_reads,
        settings.privacy.bulk_read_alert_customers,
        care_wakeup.clone(),
    );
    Ok(web::Data::new(AppState {
        db,
        tokens: Tokens::new(&secret, settings.auth.access_ttl_secs)?,
        passwords,
        sms,
        push,
        sms_provider,
        wechat: crate::care::wechat::Wechat::new(&settings.wechat)?,
        email,
        templates: Templates::new()?,
        metrics,
        import_wakeup: Arc::default(),
        care_wakeup,
        planner_runs: Default::default(),
        feed: Feed::new(Duration::from_secs(settings.feed.poll_secs)),
        blobs: Arc::new(crate::services::storage::LocalStore::new(
            settings.blob_dir(),
        )),
        limits: Arc::new(crate::edges::limits::PublicLimits::new(&settings.limits)),
        audit,
        settings: Arc::new(settings),
        clock,
    }))
}

/// The configured secret; in development and test, one generated once and kept
/// under the data folder so tokens survive a restart.
fn jwt_secret(settings: &Settings) -> anyhow::Result<Vec<u8>> {
    if let Some(s) = &settings.auth.jwt_secret {
        return Ok(s.expose_secret().as_bytes().to_vec());
    }
    anyhow::ensure!(
        settings.profile != Profile::Production,
        "SERVICELANE__AUTH__JWT_SECRET is required in production"
    );
    let path = settings.data_dir.join("jwt_secret");
    if let Ok(s) = std::fs::read_to_string(&path)
        && s.trim().len() >= 32
    {
        return Ok(s.trim().as_bytes().to_vec());
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let s = hex::encode(bytes);
    std::fs::create_dir_all(&settings.data_dir)?;
    std::fs::write(&path, &s)?;
    Ok(s.into_bytes())
}
