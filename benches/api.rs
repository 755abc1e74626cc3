//! `cargo bench --bench api`: loads a dealer with 20,000 customers and
//! vehicles on PostgreSQL, serves the real application, and measures over HTTP
//! with concurrent clients: single-customer reads and searches by phone and by
//! plate (requests/s, p50, p99). Runs `pgbench -S -M prepared` on the same
//! server in the same run and prints the ratio. Not a test: nothing asserts.
//!
//! BENCH_DATABASE_URL   admin URL (default postgres://postgres@127.0.0.1:5432/postgres)
//! BENCH_SECONDS        per scenario (default 10)
//! BENCH_CLIENTS        concurrent clients (default 32)
//! BENCH_CUSTOMERS      (default 20000)

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::{ConnectionTrait, Database, EntityTrait, Set};
use servicelane::clock::SystemClock;
use servicelane::config::Settings;
use servicelane::domain::{Role, Vin};
use servicelane::entities::{customer, vehicle};
use servicelane::services::dealers;
use servicelane::startup::Application;
use uuid::Uuid;

fn env(key: &str, default: &str) -> String {
    std::env::var(key)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

fn with_database(url: &str, db: &str) -> String {
    let i = url.rfind('/').expect("a database URL");
    format!("{}/{db}", &url[..i])
}

struct Figures {
    rps: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
}

async fn load(
    client: &reqwest::Client,
    token: &str,
    urls: Arc<Vec<String>>,
    clients: usize,
    seconds: u64,
) -> Figures {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let client = client.clone();
        let token = format!("Bearer {token}");
        let urls = urls.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(100_000);
            let mut errors = 0;
            let mut i = c * 7919;
            while Instant::now() < deadline {
                let url = &urls[i % urls.len()];
                i += 1;
                let t = Instant::now();
                match client.get(url).header("authorization", &token).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        lat.push(t.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let started = Instant::now();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        all.extend(l);
        errors += e;
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
        errors,
    }
}

fn pgbench(admin_url: &str, clients: usize, seconds: u64) -> Option<f64> {
    let url = with_database(admin_url, "sl_bench_pgbench");
    let run = |args: &[&str]| {
        std::process::Command::new("pgbench")
            .args(args)
            .output()
            .ok()
    };
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let admin_url = env(
        "BENCH_DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    );
    let seconds: u64 = env("BENCH_SECONDS", "10").parse()?;
    let clients: usize = env("BENCH_CLIENTS", "32").parse()?;
    let n: usize = env("BENCH_CUSTOMERS", "20000").parse()?;

    let admin = Database::connect(&admin_url).await?;
    for db in ["sl_bench", "sl_bench_pgbench"] {
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
            .await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {db}"))
            .await?;
    }
    let dir = tempfile::tempdir()?;
    let db_url = with_database(&admin_url, "sl_bench");
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
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain(std::env::vars()),
    )?;
    servicelane::telemetry::init_logging(&settings.log.filter);
    let app = Application::build(settings, Arc::new(SystemClock)).await?;
    let port = app.port();
    let state = app.state();
    tokio::spawn(app.run_until_stopped());

    // the data: one dealer, n customers each with a vehicle
    let now = Utc::now();
    let started = Instant::now();
    let d = dealers::create_dealer(&state.db, "BENCH", "压测4S店", "Asia/Shanghai", now).await?;
    dealers::create_user(
        &state.db,
        &state.passwords,
        d.id,
        "advisor",
        &[Role::ServiceAdvisor],
        "benchmark-pass".into(),
        now,
    )
    .await?;
    let mut ids = Vec::with_capacity(n);
    let mut phones = Vec::with_capacity(n);
    let mut plates = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut cs = Vec::new();
        let mut vs = Vec::new();
        for &i in chunk {
            let id = Uuid::now_v7();
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
                dealer_id: Set(d.id),
                name: Set(format!("客户{i}")),
                phone: Set(phone.clone()),
                email: Set(None),
                preferred_channel: Set(servicelane::domain::customer::Channel::Sms),
                locale: Set(servicelane::domain::customer::Locale::ZhCn),
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
                id: Set(Uuid::now_v7()),
                dealer_id: Set(d.id),
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
            ids.push(id);
            phones.push(phone);
            plates.push(plate);
        }
        customer::Entity::insert_many(cs)
            .exec_without_returning(&state.db)
            .await?;
        vehicle::Entity::insert_many(vs)
            .exec_without_returning(&state.db)
            .await?;
    }
    state.db.execute_unprepared("ANALYZE").await?;
    println!(
        "loaded {n} customers and vehicles in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;
    let login: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"dealer_code": "BENCH", "username": "advisor", "password": "benchmark-pass"}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["access_token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("login failed: {login}"))?
        .to_string();

    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let scenarios: Vec<(&str, Vec<String>)> = vec![
        (
            "GET /customers/{id}",
            ids.iter()
                .map(|id| format!("{base}/api/v1/customers/{id}"))
                .collect(),
        ),
        (
            "search by phone",
            phones
                .iter()
                .map(|p| format!("{base}/api/v1/customers?q={}", enc(&p[3..])))
                .collect(),
        ),
        (
            "search by plate",
            plates
                .iter()
                .map(|p| format!("{base}/api/v1/customers?q={}", enc(p)))
                .collect(),
        ),
    ];

    // single client, idle machine: the latency a search has on its own
    println!(
        "\n{:<22} {:>10} {:>10} {:>10}",
        "one client", "req/s", "p50 ms", "p99 ms"
    );
    for (name, urls) in &scenarios {
        let f = load(&client, &token, Arc::new(urls.clone()), 1, seconds.min(5)).await;
        println!(
            "{name:<22} {:>10.0} {:>10.2} {:>10.2}",
            f.rps,
            ms(f.p50),
            ms(f.p99)
        );
    }

    println!(
        "\n{:<22} {:>10} {:>10} {:>10} {:>8}",
        format!("{clients} clients"),
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors"
    );
    let mut read_rps = 0.0;
    for (name, urls) in &scenarios {
        let f = load(&client, &token, Arc::new(urls.clone()), clients, seconds).await;
        if read_rps == 0.0 {
            read_rps = f.rps;
        }
        println!(
            "{name:<22} {:>10.0} {:>10.2} {:>10.2} {:>8}",
            f.rps,
            ms(f.p50),
            ms(f.p99),
            f.errors
        );
    }

    match pgbench(&admin_url, clients, seconds) {
        Some(tps) => println!(
            "\npgbench -S -M prepared -c {clients} -j 2 -T {seconds}: {tps:.0} tps; single-customer reads reach {:.3} of it",
            read_rps / tps
        ),
        None => println!("\npgbench not found or failed; install postgresql-client to compare"),
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
