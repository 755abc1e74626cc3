//! `spawn_app()`: the real server on port 0 with a fresh database (a temp
//! SQLite file, or a new PostgreSQL database when TEST_DATABASE_URL is set,
//! each copied from one migrated once per test process), and a real HTTP
//! listener receiving SMS webhooks.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use chrono::Utc;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use servicelane::clock::ManualClock;
use servicelane::config::Settings;
use servicelane::domain::Role;
use servicelane::services::dealers;
use servicelane::startup::Application;
use servicelane::state::AppState;
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse battery";
pub const SMS_SECRET: &str = "sms-webhook-test-secret";

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub sms: SmsSink,
    pub state: web::Data<AppState>,
    pub data_dir: PathBuf,
    /// The database the app runs on, for commands run beside it.
    pub database_url: String,
    /// (admin URL, database) of a PostgreSQL test database, dropped with the app.
    pg: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.pg.take() {
            // its own thread and runtime: the test's runtime is going away
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async move {
                    let admin = Database::connect(&admin_url).await.ok()?;
                    admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await
                        .ok()?;
                    admin.close().await.ok()
                })
            })
            .join();
        }
    }
}

/// (signature header, raw body) of each webhook call received.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// How the sink answers one call: a status, and a `Retry-After` in seconds.
#[derive(Clone, Copy, Debug)]
pub struct Answering {
    pub status: u16,
    pub retry_after: Option<u64>,
}

/// One call the sink received: its `Idempotency-Key` and the status it answered.
#[derive(Clone, Debug)]
pub struct Call {
    pub key: String,
    pub status: u16,
}

/// What the SMS webhook listener received: the signature header and the JSON
/// body of each message it accepted (answered 2xx), and every call made.
#[derive(Clone, Default)]
pub struct SmsSink {
    pub received: Received,
    pub calls: Arc<Mutex<Vec<Call>>>,
    /// Answers for the next calls, in order; 200 once it is empty.
    pub script: Arc<Mutex<std::collections::VecDeque<Answering>>>,
    pub url: String,
    /// The app whose outbox `wait_for` drains while it waits.
    app: Arc<OnceLock<web::Data<AppState>>>,
}

impl SmsSink {
    pub async fn start() -> SmsSink {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://127.0.0.1:{}/sms",
            listener.local_addr().unwrap().port()
        );
        let sink = SmsSink {
            url,
            ..Default::default()
        };
        sink.serve(listener);
        sink
    }

    /// A sink on a port picked now but only listened on later (by
    /// [`SmsSink::start_at`]): until then, calls to it are refused.
    pub fn down() -> (SmsSink, u16) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let sink = SmsSink {
            url: format!("http://127.0.0.1:{port}/sms"),
            ..Default::default()
        };
        (sink, port)
    }

    /// Starts listening on `port` (see [`SmsSink::down`]).
    pub fn start_at(&self, port: u16) {
        self.serve(std::net::TcpListener::bind(("127.0.0.1", port)).unwrap());
    }

    fn serve(&self, listener: std::net::TcpListener) {
        let s = self.clone();
        let server = HttpServer::new(move || {
            let s = s.clone();
            App::new().route(
                "/sms",
                web::post().to(move |req: HttpRequest, body: web::Bytes| {
                    let s = s.clone();
                    async move {
                        let header = |name: &str| {
                            req.headers()
                                .get(name)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_string()
                        };
                        let answer = s.script.lock().unwrap().pop_front().unwrap_or(Answering {
                            status: 200,
                            retry_after: None,
                        });
                        s.calls.lock().unwrap().push(Call {
                            key: header("idempotency-key"),
                            status: answer.status,
                        });
                        let status = actix_web::http::StatusCode::from_u16(answer.status).unwrap();
                        if status.is_success() {
                            s.received
                                .lock()
                                .unwrap()
                                .push((header("x-servicelane-signature"), body.to_vec()));
                        }
                        let mut res = HttpResponse::build(status);
                        if let Some(r) = answer.retry_after {
                            res.insert_header(("Retry-After", r.to_string()));
                        }
                        res.finish()
                    }
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
    }

    /// Queues answers for the next calls.
    pub fn answer(&self, answers: &[Answering]) {
        self.script.lock().unwrap().extend(answers.iter().copied());
    }

    /// Calls accepted (2xx) per idempotency key.
    pub fn accepted_by_key(&self) -> std::collections::HashMap<String, usize> {
        let mut m = std::collections::HashMap::new();
        for c in self.calls.lock().unwrap().iter() {
            if (200..300).contains(&c.status) {
                *m.entry(c.key.clone()).or_default() += 1;
            }
        }
        m
    }

    /// Waits (up to 10 s) for a message to `to`, draining the app's outbox
    /// meanwhile; returns its body and signature.
    pub async fn wait_for(&self, to: &str) -> (Value, String, Vec<u8>) {
        for _ in 0..200 {
            if let Some(app) = self.app.get() {
                servicelane::care::dispatcher::drain(app, Uuid::now_v7())
                    .await
                    .unwrap();
            }
            if let Some(found) = self.messages_to(to).into_iter().next() {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no SMS to {to} arrived");
    }

    pub fn messages_to(&self, to: &str) -> Vec<(Value, String, Vec<u8>)> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|(sig, body)| {
                (
                    serde_json::from_slice::<Value>(body).unwrap(),
                    sig.clone(),
                    body.clone(),
                )
            })
            .filter(|(v, _, _)| v["to"] == to)
            .collect()
    }
}

/// One migrated PostgreSQL template per test process; each test copies it.
fn pg_template(admin_url: &str) -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let admin_url = admin_url.to_string();
        on_own_runtime(async move {
            let name = format!("sl_tpl_{}", std::process::id());
            let admin = Database::connect(&admin_url)
                .await
                .expect("TEST_DATABASE_URL must be reachable");
            // databases left by earlier runs of this suite
            let stale = admin
                .query_all_raw(sea_orm::Statement::from_string(
                    admin.get_database_backend(),
                    "SELECT datname FROM pg_database WHERE datname LIKE 'sl_t%'",
                ))
                .await
                .unwrap();
            for row in stale {
                let db: String = row.try_get("", "datname").unwrap();
                if !abandoned(&db) {
                    // another run of the suite on this machine is using it
                    continue;
                }
                let _ = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
                    .await;
            }
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .unwrap();
            let tpl = Database::connect(&with_database(&admin_url, &name))
                .await
                .unwrap();
            servicelane::db::migrate(&tpl).await.unwrap();
            tpl.close().await.unwrap();
            admin.close().await.unwrap();
            name
        })
    })
}

/// Runs `f` to its end on a runtime of its own, on a thread of its own: a
/// template is made once, from inside whichever test's runtime asks first.
fn on_own_runtime<T: Send + 'static>(f: impl Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    })
    .join()
    .unwrap()
}

/// One migrated SQLite file per test process (in `target/tmp`); each test
/// copies it, as each PostgreSQL test copies [`pg_template`]: the
/// migrations run once, not once a test. Built under a temporary name and
/// renamed into place; files over three hours old (no test process lives
/// that long) are removed, whoever left them.
fn sqlite_template() -> &'static std::path::Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let stale = std::time::Duration::from_secs(3 * 3600);
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let ours = entry.file_name().to_string_lossy().starts_with("sl_tpl_");
            let old = || {
                entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > stale)
            };
            if ours && old() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        let name = format!("sl_tpl_{}_{}", std::process::id(), Uuid::now_v7().simple());
        let building = dir.join(format!("{name}.building"));
        let path = dir.join(format!("{name}.db"));
        let url = format!("sqlite://{}?mode=rwc", building.display());
        on_own_runtime(async move {
            // the default rollback journal: one file, whole once closed
            let tpl = Database::connect(&url).await.unwrap();
            servicelane::db::migrate(&tpl).await.unwrap();
            tpl.close().await.unwrap();
        });
        std::fs::rename(&building, &path).unwrap();
        path
    })
}

fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let root = match base.rfind('/') {
        Some(i) if i > base.find("://").map(|p| p + 2).unwrap_or(0) => &base[..i],
        _ => base,
    };
    format!("{root}/{db}{query}")
}

/// A fresh database: (URL, the PostgreSQL admin URL and name to drop afterwards).
async fn database_url(dir: &std::path::Path) -> (String, Option<(String, String)>) {
    match std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        Some(admin_url) => {
            let template = pg_template(&admin_url);
            let name = format!("sl_test_{}", Uuid::now_v7().simple());
            let admin = Database::connect(&admin_url).await.unwrap();
            admin
                .execute_unprepared(&format!(
                    "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""
                ))
                .await
                .unwrap();
            admin.close().await.unwrap();
            (with_database(&admin_url, &name), Some((admin_url, name)))
        }
        None => {
            let file = dir.join("test.db");
            std::fs::copy(sqlite_template(), &file).unwrap();
            (format!("sqlite://{}?mode=rwc", file.display()), None)
        }
    }
}

/// Whether a test database was left by a run that is over: a template whose
/// process is gone, or a test database older than three hours (its name is
/// a UUID v7, which carries its creation time).
fn abandoned(db: &str) -> bool {
    if let Some(pid) = db.strip_prefix("sl_tpl_") {
        return !std::path::Path::new(&format!("/proc/{pid}")).exists();
    }
    let created = db
        .strip_prefix("sl_test_")
        .and_then(|u| Uuid::parse_str(u).ok())
        .and_then(|u| u.get_timestamp())
        .map(|t| t.to_unix().0);
    match created {
        Some(secs) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            now.saturating_sub(secs) > 3 * 3600
        }
        None => true,
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    spawn_app_with_sink(SmsSink::start().await, extra).await
}

/// Settings that leave the outbox to the test: no dispatcher runs on its
/// own, `dispatch_pending` drains it.
pub const NO_DISPATCHER: (&str, &str) = ("SERVICELANE__CARE__DISPATCHER", "false");

/// Settings that run the care planner in the background, looking every second.
pub const PLANNER_ON: [(&str, &str); 2] = [
    ("SERVICELANE__CARE__PLANNER__ENABLED", "true"),
    ("SERVICELANE__CARE__PLANNER__POLL_SECS", "1"),
];

/// The app, its SMS webhook pointing at `sms` (which may be down).
pub async fn spawn_app_with_sink(sms: SmsSink, extra: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let (db_url, pg) = database_url(dir.path()).await;
    let mut env: Vec<(String, String)> = vec![
        ("SERVICELANE__PROFILE", "test"),
        ("SERVICELANE__SERVER__PORT", "0"),
        ("SERVICELANE__SERVER__WORKERS", "2"),
        ("SERVICELANE__DATABASE__URL", db_url.as_str()),
        ("SERVICELANE__DATABASE__MAX_CONNECTIONS", "5"),
        ("SERVICELANE__DATABASE__MIN_CONNECTIONS", "0"),
        ("SERVICELANE__DATA_DIR", dir.path().to_str().unwrap()),
        ("SERVICELANE__SMS__WEBHOOK_URL", sms.url.as_str()),
        ("SERVICELANE__SMS__WEBHOOK_SECRET", SMS_SECRET),
        ("SERVICELANE__SMS__TIMEOUT_SECS", "5"),
        // the dispatcher runs as in production; tests of the outbox itself
        // turn it off (NO_DISPATCHER) and drain on demand
        ("SERVICELANE__CARE__DISPATCHER", "true"),
        ("SERVICELANE__CARE__POLL_MS", "100"),
        // the care planner runs when a test asks (POST /care/runs, or
        // PLANNER_ON for the background ticks)
        ("SERVICELANE__CARE__PLANNER__ENABLED", "false"),
        // the daily retention run too (`run_retention` runs it now)
        ("SERVICELANE__PRIVACY__RETENTION__ENABLED", "false"),
        (
            "SERVICELANE__AUTH__JWT_SECRET",
            "test-secret-test-secret-test-secret-0123",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let config_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config");
    let settings = Settings::load_from(&config_dir, env).unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = Application::build(settings, clock.clone()).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    let _ = sms.app.set(state.clone());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        base,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        clock,
        sms,
        state,
        data_dir: dir.path().to_path_buf(),
        database_url: db_url.clone(),
        pg,
        _dir: dir,
    }
}

/// An answer: status, headers, and the body as JSON (Null when it is not JSON).
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The fields named in a problem's `errors`.
    pub fn problem_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["field"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn etag(&self) -> String {
        self.headers
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }
}

impl TestApp {
    /// Delivers every due outbox message now, as a dispatcher of its own;
    /// answers how many were taken.
    pub async fn dispatch_pending(&self) -> usize {
        servicelane::care::dispatcher::drain(&self.state, Uuid::now_v7())
            .await
            .unwrap()
    }

    /// The daily retention run, now, as the worker's look does: the runs this
    /// instance claimed and finished (none when today's are done).
    pub async fn run_retention(&self) -> Vec<servicelane::services::retention::RetentionRun> {
        servicelane::services::retention::job::tick(&self.state)
            .await
            .unwrap()
    }

    /// Sends the daily reports due now, as the sweep beside the planner does.
    pub async fn send_daily_reports(&self) -> usize {
        servicelane::services::reports::send_due(&self.state, self.clock.now_utc())
            .await
            .unwrap()
    }

    /// Escalates the late cases of the unhappy-customer table now, as the
    /// care worker's sweep does; answers how many escalated.
    pub async fn escalate_due(&self) -> usize {
        servicelane::services::cases::escalate_due(
            &self.state.db,
            &self.state.templates,
            self.clock.now_utc(),
        )
        .await
        .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let res = req.send().await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }

    /// The body of an unauthenticated GET as text (`/metrics`, `/openapi.json`).
    pub async fn text(&self, path: &str) -> String {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.send(self.http.get(self.url(path)).bearer_auth(token))
            .await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Answer {
        let mut r = self.http.post(self.url(path)).json(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        self.send(r).await
    }

    pub async fn post_raw(&self, path: &str, token: &str, body: &str) -> Answer {
        let r = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_string());
        self.send(r).await
    }

    pub async fn patch(
        &self,
        path: &str,
        token: &str,
        if_match: Option<&str>,
        body: &Value,
    ) -> Answer {
        let mut r = self
            .http
            .patch(self.url(path))
            .bearer_auth(token)
            .json(body);
        if let Some(m) = if_match {
            r = r.header("if-match", m);
        }
        self.send(r).await
    }

    /// Creates a dealer with the given code and zone; returns its id.
    pub async fn dealer(&self, code: &str) -> Uuid {
        self.dealer_in(code, "Asia/Shanghai").await
    }

    pub async fn dealer_in(&self, code: &str, tz: &str) -> Uuid {
        dealers::create_dealer(
            &self.state.db,
            code,
            &format!("{code} 4S店"),
            tz,
            self.clock.now_utc(),
        )
        .await
        .unwrap()
        .id
    }

    pub async fn put(&self, path: &str, token: &str, body: &Value) -> Answer {
        self.send(self.http.put(self.url(path)).bearer_auth(token).json(body))
            .await
    }

    /// Logs a customer in through the OTP the SMS listener receives.
    pub async fn customer_token(&self, dealer_code: &str, phone: &str) -> String {
        let e164 = servicelane::domain::Phone::parse(phone)
            .unwrap()
            .to_string();
        let codes = |app: &TestApp| -> Vec<String> {
            app.sms
                .messages_to(&e164)
                .into_iter()
                .filter(|m| m.0["template"] == "otp")
                .map(|m| m.0["params"]["code"].as_str().unwrap().to_string())
                .collect()
        };
        let before = codes(self).len();
        self.post(
            "/api/v1/auth/otp",
            None,
            &json!({"dealer_code": dealer_code, "phone": phone}),
        )
        .await;
        let mut code = None;
        for _ in 0..200 {
            self.dispatch_pending().await;
            let all = codes(self);
            if all.len() > before {
                code = all.last().cloned();
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let code = code.expect("no OTP arrived");
        let a = self
            .post(
                "/api/v1/auth/otp/verify",
                None,
                &json!({"dealer_code": dealer_code, "phone": phone, "code": code}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        a.body["access_token"].as_str().unwrap().to_string()
    }

    pub async fn user(&self, dealer_id: Uuid, username: &str, role: Role) {
        dealers::create_user(
            &self.state.db,
            &self.state.passwords,
            dealer_id,
            username,
            &[role],
            PASSWORD.into(),
            self.clock.now_utc(),
        )
        .await
        .unwrap();
    }

    pub async fn login_as(&self, dealer_code: &str, username: &str) -> Value {
        let a = self
            .post(
                "/api/v1/auth/login",
                None,
                &json!({"dealer_code": dealer_code, "username": username, "password": PASSWORD}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        a.body
    }

    /// A dealer with one user of `role`, logged in: (dealer id, access token).
    pub async fn staff(&self, dealer_code: &str, role: Role) -> (Uuid, String) {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let existing = servicelane::entities::dealer::Entity::find()
            .filter(servicelane::entities::dealer::Column::Code.eq(dealer_code))
            .one(&self.state.db)
            .await
            .unwrap();
        let id = match existing {
            Some(d) => d.id,
            None => self.dealer(dealer_code).await,
        };
        let username = role.as_str().to_string();
        self.user(id, &username, role).await;
        let tokens = self.login_as(dealer_code, &username).await;
        (id, tokens["access_token"].as_str().unwrap().to_string())
    }

    /// POSTs raw JSON signed like a provider's webhook (receipts, inbound SMS).
    pub async fn post_signed(&self, path: &str, body: &Value, secret: &str) -> Answer {
        let raw = serde_json::to_vec(body).unwrap();
        let sig = servicelane::care::webhook::signature(secret.as_bytes(), &raw);
        self.send(
            self.http
                .post(self.url(path))
                .header("content-type", "application/json")
                .header("x-servicelane-signature", sig)
                .body(raw),
        )
        .await
    }

    pub async fn create_customer(&self, token: &str, name: &str, phone: &str) -> Value {
        let a = self
            .post(
                "/api/v1/customers",
                Some(token),
                &json!({"name": name, "phone": phone}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        a.body
    }

    pub async fn create_vehicle(
        &self,
        token: &str,
        customer_id: &str,
        vin: &str,
        plate: &str,
    ) -> Value {
        let a = self
            .post(
                "/api/v1/vehicles",
                Some(token),
                &json!({"customer_id": customer_id, "vin": vin, "plate": plate, "make": "大众", "model": "朗逸", "model_year": 2021}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        a.body
    }
}

pub trait NowUtc {
    fn now_utc(&self) -> chrono::DateTime<Utc>;
}

impl NowUtc for ManualClock {
    fn now_utc(&self) -> chrono::DateTime<Utc> {
        servicelane::clock::Clock::now(self)
    }
}

/// Valid VINs for tests (check digit computed).
pub fn vin(n: u32) -> String {
    servicelane::domain::Vin::with_check_digit(&format!("LSVAU2180N2{:06}", n))
        .unwrap()
        .to_string()
}

/// A multipart/form-data body: (content type, bytes). Each part is
/// (name, file name, content).
pub fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = format!("----servicelane{}", Uuid::now_v7().simple());
    let mut body = Vec::new();
    for (name, file_name, content) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file_name {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

impl TestApp {
    /// Uploads a customer file to `POST /api/v1/imports/customers`.
    pub async fn upload_import(
        &self,
        token: &str,
        file_name: &str,
        file: &[u8],
        fields: &[(&str, &str)],
    ) -> Answer {
        let mut parts: Vec<(&str, Option<&str>, &[u8])> = vec![("file", Some(file_name), file)];
        parts.extend(fields.iter().map(|(k, v)| (*k, None, v.as_bytes())));
        let (content_type, body) = multipart(&parts);
        self.send(
            self.http
                .post(self.url("/api/v1/imports/customers"))
                .bearer_auth(token)
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }

    /// Polls an import job until it is done or failed; returns every answer seen.
    pub async fn wait_for_import(&self, token: &str, id: &str) -> Vec<Value> {
        let mut seen = Vec::new();
        for _ in 0..6000 {
            let a = self.get(&format!("/api/v1/imports/{id}"), token).await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.body);
            let state = a.body["state"].as_str().unwrap().to_string();
            seen.push(a.body);
            if state == "done" || state == "failed" {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("import {id} did not finish");
    }
}

/// A real SMTP listener on loopback: greets, answers EHLO/HELO, MAIL, RCPT,
/// DATA, RSET, NOOP and QUIT, and records the raw text of each message it
/// accepts. It can be told to refuse the next messages (4xx or 5xx at the
/// end of DATA, where a relay refuses a message it has read).
#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    /// Each accepted message's raw text (dot-stuffing undone).
    accepted: Arc<Mutex<Vec<String>>>,
    /// Codes for the next messages, in order; empty: 250.
    refusals: Arc<Mutex<std::collections::VecDeque<u16>>>,
    /// Messages whose DATA ended, accepted or refused.
    pub transactions: Arc<Mutex<usize>>,
}

impl SmtpSink {
    /// Not a code: the line is cut once the message is read, with no answer.
    pub const CUT: u16 = 0;

    pub async fn start() -> SmtpSink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sink = SmtpSink {
            port: listener.local_addr().unwrap().port(),
            accepted: Arc::default(),
            refusals: Arc::default(),
            transactions: Arc::default(),
        };
        let s = sink.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = s.session(socket).await;
                });
            }
        });
        sink
    }

    /// `SERVICELANE__EMAIL__SMTP_URL` for this listener (plain text).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    /// The next messages are answered with these codes (then 250 again);
    /// [`SmtpSink::CUT`] hangs up instead of answering.
    pub fn refuse_next(&self, codes: &[u16]) {
        self.refusals.lock().unwrap().extend(codes.iter().copied());
    }

    pub fn messages(&self) -> Vec<String> {
        self.accepted.lock().unwrap().clone()
    }

    async fn session(&self, socket: tokio::net::TcpStream) -> std::io::Result<()> {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let verb = line
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "EHLO" => b"250-sink.test\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n",
                "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 2.0.0 ok\r\n",
                "QUIT" => {
                    write.write_all(b"221 2.0.0 bye\r\n").await?;
                    return Ok(());
                }
                "DATA" => {
                    write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                    let mut raw = String::new();
                    loop {
                        line.clear();
                        if lines.read_line(&mut line).await? == 0 {
                            return Ok(());
                        }
                        if line == ".\r\n" {
                            break;
                        }
                        raw.push_str(line.strip_prefix('.').unwrap_or(&line));
                    }
                    *self.transactions.lock().unwrap() += 1;
                    let code = self.refusals.lock().unwrap().pop_front();
                    match code {
                        Some(Self::CUT) => return Ok(()),
                        Some(c) => {
                            let text = format!("{c} {}.0.0 refused by the test\r\n", c / 100);
                            write.write_all(text.as_bytes()).await?;
                            continue;
                        }
                        None => {
                            let n = {
                                let mut a = self.accepted.lock().unwrap();
                                a.push(raw);
                                a.len()
                            };
                            let text = format!("250 2.0.0 queued as Q{n}\r\n");
                            write.write_all(text.as_bytes()).await?;
                            continue;
                        }
                    }
                }
                _ => b"500 5.5.2 unknown command\r\n",
            };
            write.write_all(reply).await?;
        }
    }
}

/// A parsed email as the sink received it: unfolded headers, and the
/// decoded text of each leaf part by content type.
pub struct ReceivedEmail {
    pub headers: Vec<(String, String)>,
    pub parts: Vec<(String, String)>,
}

impl ReceivedEmail {
    pub fn parse(raw: &str) -> ReceivedEmail {
        let (head, body) = split_head(raw);
        let headers = header_list(head);
        let mut email = ReceivedEmail {
            headers,
            parts: vec![],
        };
        collect_parts(&email.headers.clone(), body, &mut email.parts);
        email
    }

    /// Every value of a header (case-insensitive name).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn header(&self, name: &str) -> String {
        let all = self.all(name);
        assert_eq!(all.len(), 1, "one {name} header expected: {all:?}");
        all[0].clone()
    }

    pub fn part(&self, content_type: &str) -> String {
        let found: Vec<&String> = self
            .parts
            .iter()
            .filter(|(t, _)| t.starts_with(content_type))
            .map(|(_, b)| b)
            .collect();
        assert_eq!(found.len(), 1, "one {content_type} part expected");
        found[0].clone()
    }
}

fn split_head(raw: &str) -> (&str, &str) {
    match raw.find("\r\n\r\n") {
        Some(i) => (&raw[..i], &raw[i + 4..]),
        None => (raw, ""),
    }
}

fn header_list(head: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((n, v)) = line.split_once(':') {
            out.push((n.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

fn get<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn collect_parts(headers: &[(String, String)], body: &str, out: &mut Vec<(String, String)>) {
    let ctype = get(headers, "content-type").unwrap_or("text/plain");
    if ctype.to_ascii_lowercase().starts_with("multipart/") {
        let boundary = ctype
            .split(';')
            .filter_map(|p| p.trim().strip_prefix("boundary="))
            .next()
            .unwrap()
            .trim_matches('"');
        let delim = format!("--{boundary}");
        for chunk in body.split(delim.as_str()).skip(1) {
            if chunk.starts_with("--") {
                break;
            }
            let chunk = chunk.strip_prefix("\r\n").unwrap_or(chunk);
            let (h, b) = split_head(chunk);
            let b = b.strip_suffix("\r\n").unwrap_or(b);
            collect_parts(&header_list(h), b, out);
        }
        return;
    }
    let text = match get(headers, "content-transfer-encoding")
        .unwrap_or("7bit")
        .to_ascii_lowercase()
        .as_str()
    {
        "base64" => {
            use base64::Engine;
            let joined: String = body.split_whitespace().collect();
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(joined)
                    .unwrap(),
            )
            .unwrap()
        }
        "quoted-printable" => quoted_printable(body),
        _ => body.to_string(),
    };
    out.push((ctype.to_string(), text));
}

fn quoted_printable(s: &str) -> String {
    let s = s.replace("=\r\n", "");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// One request a [`ProviderStub`] received.
#[derive(Clone, Debug)]
pub struct StubRequest {
    pub path: String,
    pub query: String,
    pub headers: std::collections::HashMap<String, String>,
    pub body: Vec<u8>,
}

impl StubRequest {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// A provider's HTTP API on loopback (an SMS operator, WeChat): records every
/// request and answers, per path, the scripted JSON bodies in order, then
/// what `default` says for the path.
#[derive(Clone)]
pub struct ProviderStub {
    pub url: String,
    requests: Arc<Mutex<Vec<StubRequest>>>,
    script: Arc<Mutex<std::collections::HashMap<String, std::collections::VecDeque<Value>>>>,
}

impl ProviderStub {
    pub fn start(default: fn(&str) -> Value) -> ProviderStub {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let stub = ProviderStub {
            url: format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port()),
            requests: Arc::default(),
            script: Arc::default(),
        };
        let s = stub.clone();
        let server = actix_web::HttpServer::new(move || {
            let s = s.clone();
            actix_web::App::new().default_service(web::to(
                move |req: actix_web::HttpRequest, body: web::Bytes| {
                    let s = s.clone();
                    async move {
                        let path = req.path().to_string();
                        s.requests.lock().unwrap().push(StubRequest {
                            path: path.clone(),
                            query: req.query_string().to_string(),
                            headers: req
                                .headers()
                                .iter()
                                .map(|(k, v)| {
                                    (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())
                                })
                                .collect(),
                            body: body.to_vec(),
                        });
                        let answer = s
                            .script
                            .lock()
                            .unwrap()
                            .get_mut(&path)
                            .and_then(|q| q.pop_front())
                            .unwrap_or_else(|| default(&path));
                        HttpResponse::Ok().json(answer)
                    }
                },
            ))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        stub
    }

    /// Queues an answer for the next request to `path`.
    pub fn answer(&self, path: &str, body: Value) {
        self.script
            .lock()
            .unwrap()
            .entry(path.into())
            .or_default()
            .push_back(body);
    }

    pub fn requests_to(&self, path: &str) -> Vec<StubRequest> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }
}
