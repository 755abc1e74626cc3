//! What the benchmarks share: a fresh PostgreSQL database, the real
//! application served in-process, bulk-loaded customers and vehicles, an HTTP
//! load loop with percentiles, and pgbench for comparison.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, Database, EntityTrait, Set};
use servicelane::clock::SystemClock;
use servicelane::config::Settings;
use servicelane::domain::Vin;
use servicelane::domain::customer::{Channel, Locale};
use servicelane::entities::{customer, vehicle};
use servicelane::startup::Application;
use servicelane::state::AppState;
use uuid::Uuid;

pub fn env(key: &str, default: &str) -> String {
    std::env::var(key)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

pub fn admin_url() -> String {
    env(
        "BENCH_DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    )
}

pub fn with_database(url: &str, db: &str) -> String {
    let i = url.rfind('/').expect("a database URL");
    format!("{}/{db}", &url[..i])
}

pub struct Served {
    pub base: String,
    pub state: web::Data<AppState>,
    _dir: tempfile::TempDir,
}

/// Creates database `name` afresh and serves the application on it (production profile).
pub async fn serve(name: &str) -> anyhow::Result<Served> {
    serve_with(name, &[]).await
}

/// [`serve`] with settings of the bench's own (`SERVICELANE__…` pairs); the
/// process environment still overrides them.
pub async fn serve_with(name: &str, extra: &[(&str, &str)]) -> anyhow::Result<Served> {
    let admin_url = admin_url();
    let admin = Database::connect(&admin_url).await?;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    let dir = tempfile::tempdir()?;
    let db_url = with_database(&admin_url, name);
    let vars = [
        ("SERVICELANE__PROFILE", "production"),
        ("SERVICELANE__SERVER__PORT", "0"),
        ("SERVICELANE__SERVER__HOST", "127.0.0.1"),
        ("SERVICELANE__DATABASE__URL", db_url.as_str()),
        ("SERVICELANE__DATA_DIR", dir.path().to_str().unwrap_or(".")),
        (
            "SERVICELANE__AUTH__JWT_SECRET",
            "bench-secret-bench-secret-bench-secret!",
        ),
        ("SERVICELANE__LOG__FILTER", "error"),
    ];
    let settings = Settings::load_from(
        &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config"),
        vars.iter()
            .chain(extra)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain(std::env::vars()),
    )?;
    servicelane::telemetry::init_logging(&settings.log.filter);
    let app = Application::build(settings, Arc::new(SystemClock)).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    tokio::spawn(app.run_until_stopped());
    Ok(Served {
        base,
        state,
        _dir: dir,
    })
}

/// What was loaded: per customer, its id, phone, and its vehicle's id and plate.
pub struct Loaded {
    pub customers: Vec<Uuid>,
    pub phones: Vec<String>,
    pub vehicles: Vec<Uuid>,
    pub plates: Vec<String>,
}

/// Inserts `n` customers with a vehicle each, 1000 rows a statement.
pub async fn load_customers(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    n: usize,
    now: DateTime<Utc>,
) -> anyhow::Result<Loaded> {
    let mut out = Loaded {
        customers: vec![],
        phones: vec![],
        vehicles: vec![],
        plates: vec![],
    };
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut cs = Vec::new();
        let mut vs = Vec::new();
        for &i in chunk {
            let id = Uuid::now_v7();
            let vid = Uuid::now_v7();
            let phone = format!("+86139{:08}", i);
            let plate = format!(
                "京{}{:05}",
                ["A", "B", "C", "E", "F"][i / 100_000 % 5],
                i % 100_000
            );
            let vin = Vin::with_check_digit(&format!("LSVAU2180N2{:06}", i))
                .expect("vin")
                .to_string();
            cs.push(customer::ActiveModel {
                id: Set(id),
                dealer_id: Set(dealer_id),
                name: Set(format!("客户{i}")),
                phone: Set(phone.clone()),
                email: Set(None),
                preferred_channel: Set(Channel::Sms),
                locale: Set(Locale::ZhCn),
                birthday_calendar: Set(None),
                birthday_month: Set(None),
                birthday_day: Set(None),
                birthday_leap: Set(None),
                birthday_year: Set(None),
                consents: Set(serde_json::json!([])),
                tags: Set(serde_json::json!([])),
                notes: Set(None),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            });
            vs.push(vehicle::ActiveModel {
                id: Set(vid),
                dealer_id: Set(dealer_id),
                customer_id: Set(id),
                vin: Set(vin),
                plate: Set(Some(plate.clone())),
                make: Set("大众".into()),
                model: Set("朗逸".into()),
                model_year: Set(Some(2021)),
                purchase_date: Set(None),
                first_registration_date: Set(None),
                inspection_due: Set(None),
                compulsory_insurance_expiry: Set(None),
                commercial_insurance_expiry: Set(None),
                last_service_date: Set(None),
                last_service_km: Set(None),
                odometer_km: Set(None),
                odometer_read_on: Set(None),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            });
            out.customers.push(id);
            out.phones.push(phone);
            out.vehicles.push(vid);
            out.plates.push(plate);
        }
        customer::Entity::insert_many(cs)
            .exec_without_returning(db)
            .await?;
        vehicle::Entity::insert_many(vs)
            .exec_without_returning(db)
            .await?;
    }
    Ok(out)
}

pub const PASSWORD: &str = "benchmark-pass";

/// A staff user of the bench dealer, password [`PASSWORD`].
pub async fn staff(
    state: &AppState,
    dealer_id: Uuid,
    username: &str,
    role: servicelane::domain::Role,
) -> anyhow::Result<servicelane::entities::user::Model> {
    let (db, passwords) = (&state.db, &state.passwords);
    Ok(servicelane::services::dealers::create_user(
        db,
        passwords,
        dealer_id,
        username,
        &[role],
        PASSWORD.into(),
        Utc::now(),
    )
    .await?)
}

pub async fn login(base: &str, dealer: &str, username: &str) -> anyhow::Result<String> {
    let v: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(
            &serde_json::json!({"dealer_code": dealer, "username": username, "password": PASSWORD}),
        )
        .send()
        .await?
        .json()
        .await?;
    Ok(v["access_token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("login failed: {v}"))?
        .to_string())
}

pub struct Figures {
    pub rps: f64,
    pub p50: Duration,
    pub p99: Duration,
    /// Answers by status code.
    pub statuses: std::collections::BTreeMap<u16, usize>,
}

pub type MakeRequest =
    Arc<dyn Fn(&reqwest::Client, usize) -> reqwest::RequestBuilder + Send + Sync>;

/// `clients` concurrent loops for `seconds`, request `i` made by `make(i)`.
/// Every answer counts (a 409 for a full slot is an answer); transport errors count as status 0.
pub async fn run(
    client: &reqwest::Client,
    make: MakeRequest,
    clients: usize,
    seconds: u64,
) -> Figures {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let client = client.clone();
        let make = make.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(100_000);
            let mut statuses = std::collections::BTreeMap::new();
            while Instant::now() < deadline {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let t = Instant::now();
                let status = match make(&client, i).send().await {
                    Ok(r) => {
                        let s = r.status().as_u16();
                        let _ = r.bytes().await;
                        s
                    }
                    Err(_) => 0,
                };
                lat.push(t.elapsed());
                *statuses.entry(status).or_insert(0) += 1;
            }
            (lat, statuses)
        }));
    }
    let started = Instant::now();
    let mut all = Vec::new();
    let mut statuses = std::collections::BTreeMap::new();
    for t in tasks {
        if let Ok((l, s)) = t.await {
            all.extend(l);
            for (k, v) in s {
                *statuses.entry(k).or_insert(0) += v;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64().max(seconds as f64);
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Figures {
        rps: all.len() as f64 / elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
        statuses,
    }
}

pub fn get(base: &str, token: &str, paths: Vec<String>) -> MakeRequest {
    let base = base.to_string();
    let auth = format!("Bearer {token}");
    Arc::new(move |c: &reqwest::Client, i: usize| {
        c.get(format!("{base}{}", paths[i % paths.len()]))
            .header("authorization", &auth)
    })
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn header(title: &str) {
    println!(
        "\n{title:<26} {:>9} {:>9} {:>9}  statuses",
        "req/s", "p50 ms", "p99 ms"
    );
}

pub fn row(name: &str, f: &Figures) {
    println!(
        "{name:<26} {:>9.0} {:>9.2} {:>9.2}  {:?}",
        f.rps,
        ms(f.p50),
        ms(f.p99),
        f.statuses
    );
}

/// pgbench -S -M prepared on a database of its own on the same server; tps.
pub fn pgbench(clients: usize, seconds: u64) -> Option<f64> {
    let url = with_database(&admin_url(), "sl_bench_pgbench");
    let run = |args: &[&str]| {
        std::process::Command::new("pgbench")
            .args(args)
            .output()
            .ok()
    };
    let admin = with_database(&admin_url(), "postgres");
    std::process::Command::new("psql")
        .args([
            &admin,
            "-qc",
            "DROP DATABASE IF EXISTS sl_bench_pgbench WITH (FORCE)",
        ])
        .output()
        .ok()?;
    std::process::Command::new("psql")
        .args([&admin, "-qc", "CREATE DATABASE sl_bench_pgbench"])
        .output()
        .ok()?;
    run(&["-i", "-q", "-s", "10", &url])?;
    let out = run(&[
        "-S",
        "-M",
        "prepared",
        "-c",
        &clients.to_string(),
        "-j",
        "2",
        "-T",
        &seconds.to_string(),
        &url,
    ])?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
        .and_then(|v| v.parse().ok())
}
