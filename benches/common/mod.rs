//! What the benchmarks share: a fresh PostgreSQL database, the real
//! application served in-process, bulk-loaded customers and vehicles, an HTTP
//! load loop with percentiles, and pgbench for comparison.

#![allow(dead_code)] // each bench uses a part of it

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, Database, EntityTrait, Set};
use servicelane::clock::{SharedClock, SystemClock};
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

/// `url` with its database replaced by `db`; parameters (`?sslmode=…`) kept.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, params) = url.split_once('?').map_or((url, ""), |(b, p)| (b, p));
    let i = base.rfind('/').expect("a database URL");
    let params = if params.is_empty() {
        String::new()
    } else {
        format!("?{params}")
    };
    format!("{}/{db}{params}", &base[..i])
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
    serve_at(name, extra, Arc::new(SystemClock)).await
}

/// [`serve_with`] on a clock of the bench's own (e.g. a `ManualClock` set to
/// the day a bench replays).
pub async fn serve_at(
    name: &str,
    extra: &[(&str, &str)],
    clock: SharedClock,
) -> anyhow::Result<Served> {
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
    serve_on(&db_url, dir, extra, clock).await
}

/// [`serve_at`] on a fresh SQLite database file in a temporary folder
/// (removed when the answer is dropped).
pub async fn serve_sqlite(extra: &[(&str, &str)], clock: SharedClock) -> anyhow::Result<Served> {
    let dir = tempfile::tempdir()?;
    let db_url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    serve_on(&db_url, dir, extra, clock).await
}

async fn serve_on(
    db_url: &str,
    dir: tempfile::TempDir,
    extra: &[(&str, &str)],
    clock: SharedClock,
) -> anyhow::Result<Served> {
    let vars = [
        ("SERVICELANE__PROFILE", "production"),
        ("SERVICELANE__SERVER__PORT", "0"),
        ("SERVICELANE__SERVER__HOST", "127.0.0.1"),
        ("SERVICELANE__DATABASE__URL", db_url),
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
    let app = Application::build(settings, clock).await?;
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
                calls_unreachable_at: Set(None),
                erased_at: Set(None),
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
    figures(all, statuses, elapsed)
}

/// Requests sent at a steady `rate` a second for `seconds`, whatever the
/// answers' pace (an open loop, as users arrive: a slow answer holds back no
/// other request). Each request's latency counts from when it is sent (the
/// timer wakes to the millisecond, so requests due within one leave
/// together). Shows what each request costs at a load the server keeps up
/// with.
pub async fn run_paced(
    client: &reqwest::Client,
    make: MakeRequest,
    rate: f64,
    seconds: u64,
) -> Figures {
    let started = Instant::now();
    let total = (rate * seconds as f64) as usize;
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let due = started + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let request = make(client, i);
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let status = match request.send().await {
                Ok(r) => {
                    let s = r.status().as_u16();
                    let _ = r.bytes().await;
                    s
                }
                Err(_) => 0,
            };
            (sent.elapsed(), status)
        }));
    }
    let mut all = Vec::with_capacity(total);
    let mut statuses = std::collections::BTreeMap::new();
    for t in tasks {
        if let Ok((l, s)) = t.await {
            all.push(l);
            *statuses.entry(s).or_insert(0) += 1;
        }
    }
    figures(all, statuses, started.elapsed().as_secs_f64())
}

fn figures(
    mut all: Vec<Duration>,
    statuses: std::collections::BTreeMap<u16, usize>,
    elapsed: f64,
) -> Figures {
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

/// A number in `0..n` drawn from `(i, salt)`, the same on every run (splitmix64).
pub fn draw(i: u64, salt: u64, n: u64) -> u64 {
    let mut z = i
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(salt.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) % n.max(1)
}

/// Customer `i` of a brand network and their vehicle, as a service archive
/// holds them on `day`: birthdays spread over the year (a tenth none, a fifth
/// of the rest lunar, a few in a leap month), service allowed on SMS and
/// marketing for every other customer, cars bought over the last 15 years,
/// insurance expiring over the next year, a third with an inspection date, most
/// serviced within the last 13 months with the odometer read then.
/// Customer `i` belongs to dealer `i % dealers.len()` (the dealers' rows
/// interleave, as an archive filled over years does).
pub fn fleet_row(
    dealers: &[Uuid],
    i: usize,
    day: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> (customer::Model, vehicle::Model) {
    use chrono::{Datelike, Duration as Days, NaiveDate};
    use servicelane::domain::customer::Calendar;
    let dealer_id = dealers[i % dealers.len()];
    let j = i / dealers.len(); // the index within the dealer
    let n = i as u64;
    let (calendar, month, bday, leap) = match draw(n, 1, 100) {
        0..=9 => (None, None, None, None),
        10..=27 => {
            let month = draw(n, 2, 12) as i32 + 1;
            let leap = draw(n, 3, 50) == 0;
            (
                Some(Calendar::Lunar),
                Some(month),
                Some(draw(n, 4, 30) as i32 + 1),
                Some(leap),
            )
        }
        _ => {
            let d = NaiveDate::from_ymd_opt(2024, 1, 1).expect("a date")
                + Days::days(draw(n, 5, 366) as i64);
            (
                Some(Calendar::Solar),
                Some(d.month() as i32),
                Some(d.day() as i32),
                None,
            )
        }
    };
    let at = now.to_rfc3339();
    let consent = |purpose: &str, granted: bool| {
        serde_json::json!({"channel": "sms", "purpose": purpose, "granted": granted,
            "source": "import", "at": at})
    };
    let c = customer::Model {
        id: Uuid::now_v7(),
        dealer_id,
        name: format!("客户{i}"),
        phone: format!("+86139{:08}", i % 100_000_000),
        email: None,
        preferred_channel: Channel::Sms,
        locale: if draw(n, 6, 10) == 0 {
            Locale::En
        } else {
            Locale::ZhCn
        },
        birthday_calendar: calendar,
        birthday_month: month,
        birthday_day: bday,
        birthday_leap: leap,
        birthday_year: month.map(|_| 1960 + draw(n, 7, 45) as i32),
        consents: serde_json::json!([
            consent("service", true),
            consent("marketing", i.is_multiple_of(2))
        ]),
        tags: serde_json::json!([]),
        notes: None,
        calls_unreachable_at: None,
        erased_at: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let days = |salt: u64, n_days: u64| Days::days(draw(n, salt, n_days) as i64);
    let bought = day - Days::days(1) - days(10, 15 * 365);
    let registered = bought + days(11, 10);
    let km_a_day = 20 + draw(n, 12, 60) as i64;
    let age = |on: NaiveDate| (on - bought).num_days().max(0);
    // most serviced within the last 13 months (not before they were bought)
    let serviced = (draw(n, 13, 100) < 85)
        .then(|| (day - days(14, 400)).max(bought + Days::days(30)))
        .filter(|d| *d < day);
    let read_on = serviced
        .map(|s| s + days(15, (day - s).num_days().max(1) as u64))
        .filter(|d| *d < day);
    let vin =
        servicelane::domain::Vin::with_check_digit(&format!("LSVAU2180N2{:06}", j % 1_000_000))
            .expect("a VIN")
            .to_string();
    let letters = "ABCDEFGHJKLMNPQRSTUVWXYZ".as_bytes();
    let v = vehicle::Model {
        id: Uuid::now_v7(),
        dealer_id,
        customer_id: c.id,
        vin,
        plate: Some(format!(
            "京{}{:05}",
            letters[j / 100_000 % letters.len()] as char,
            j % 100_000
        )),
        make: "大众".into(),
        model: ["朗逸", "速腾", "帕萨特", "途观L", "迈腾"][draw(n, 16, 5) as usize].into(),
        model_year: Some(bought.year()),
        purchase_date: Some(bought),
        first_registration_date: Some(registered),
        inspection_due: (draw(n, 17, 3) == 0).then(|| day + days(18, 365)),
        compulsory_insurance_expiry: Some(day + days(19, 365)),
        commercial_insurance_expiry: (draw(n, 20, 10) < 8).then(|| day + days(21, 365)),
        last_service_date: serviced,
        last_service_km: serviced.map(|s| age(s) * km_a_day),
        odometer_km: read_on.or(serviced).map(|r| age(r) * km_a_day),
        odometer_read_on: read_on.or(serviced),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    (c, v)
}

/// Loads `n` customers with a vehicle each ([`fleet_row`]) spread over
/// `dealers`: PostgreSQL `COPY` in chunks of 50,000, or on SQLite multi-row
/// inserts of 1,000 rows in transactions of 50,000. Then analyses the tables.
pub async fn load_fleet(
    db: &sea_orm::DatabaseConnection,
    dealers: &[Uuid],
    n: usize,
    day: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    use sea_orm::{IntoActiveModel, TransactionTrait};
    const CHUNK: usize = 50_000;
    let postgres = db.get_database_backend() == sea_orm::DbBackend::Postgres;
    let mut from = 0;
    while from < n {
        let to = (from + CHUNK).min(n);
        let rows: Vec<_> = (from..to)
            .map(|i| fleet_row(dealers, i, day, now))
            .collect();
        if postgres {
            copy_fleet(db, &rows).await?;
        } else {
            let txn = db.begin().await?;
            for part in rows.chunks(1000) {
                customer::Entity::insert_many(
                    part.iter().map(|(c, _)| c.clone().into_active_model()),
                )
                .exec_without_returning(&txn)
                .await?;
                vehicle::Entity::insert_many(
                    part.iter().map(|(_, v)| v.clone().into_active_model()),
                )
                .exec_without_returning(&txn)
                .await?;
            }
            txn.commit().await?;
        }
        from = to;
    }
    if postgres {
        db.execute_unprepared("VACUUM ANALYZE customers, vehicles")
            .await?;
    } else {
        db.execute_unprepared("ANALYZE").await?;
    }
    Ok(())
}

/// The rows in PostgreSQL's `COPY` text format (none of the values holds a
/// tab, newline or backslash).
async fn copy_fleet(
    db: &sea_orm::DatabaseConnection,
    rows: &[(customer::Model, vehicle::Model)],
) -> anyhow::Result<()> {
    use sea_orm::sqlx::postgres::PgPoolCopyExt;
    use std::fmt::Write;
    fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
        v.as_ref()
            .map_or_else(|| "\\N".to_string(), |v| v.to_string())
    }
    let ts = |t: &DateTime<Utc>| t.to_rfc3339();
    let mut cs = String::with_capacity(rows.len() * 400);
    let mut vs = String::with_capacity(rows.len() * 300);
    for (c, v) in rows {
        writeln!(
            cs,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            c.id,
            c.dealer_id,
            c.name,
            c.phone,
            opt(&c.email),
            c.preferred_channel.as_str(),
            c.locale.as_str(),
            opt(&c.birthday_calendar.map(|k| k.as_str())),
            opt(&c.birthday_month),
            opt(&c.birthday_day),
            opt(&c.birthday_leap),
            opt(&c.birthday_year),
            c.consents,
            c.tags,
            opt(&c.notes),
            c.version,
            ts(&c.created_at),
            ts(&c.updated_at),
        )?;
        writeln!(
            vs,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            v.id,
            v.dealer_id,
            v.customer_id,
            v.vin,
            opt(&v.plate),
            v.make,
            v.model,
            opt(&v.model_year),
            opt(&v.purchase_date),
            opt(&v.first_registration_date),
            opt(&v.inspection_due),
            opt(&v.compulsory_insurance_expiry),
            opt(&v.commercial_insurance_expiry),
            opt(&v.last_service_date),
            opt(&v.last_service_km),
            opt(&v.odometer_km),
            opt(&v.odometer_read_on),
            v.version,
            ts(&v.created_at),
            ts(&v.updated_at),
        )?;
    }
    let pool = db.get_postgres_connection_pool();
    let mut copy = pool
        .copy_in_raw(
            "COPY customers (id, dealer_id, name, phone, email, preferred_channel, locale, \
             birthday_calendar, birthday_month, birthday_day, birthday_leap, birthday_year, \
             consents, tags, notes, version, created_at, updated_at) FROM STDIN",
        )
        .await?;
    copy.send(cs.as_bytes()).await?;
    copy.finish().await?;
    let mut copy = pool
        .copy_in_raw(
            "COPY vehicles (id, dealer_id, customer_id, vin, plate, make, model, model_year, \
             purchase_date, first_registration_date, inspection_due, \
             compulsory_insurance_expiry, commercial_insurance_expiry, last_service_date, \
             last_service_km, odometer_km, odometer_read_on, version, created_at, updated_at) \
             FROM STDIN",
        )
        .await?;
    copy.send(vs.as_bytes()).await?;
    copy.finish().await?;
    Ok(())
}

/// The process's peak resident memory (`VmHWM`) and resident memory now
/// (`VmRSS`), in KiB, from `/proc/self/status`.
pub fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Resets the peak resident memory to the resident memory now; false where
/// the kernel does not allow it (the peak then counts from the start).
pub fn reset_peak_memory() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}
