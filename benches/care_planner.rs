//! `cargo bench --bench care_planner`: one planning day of the care planner
//! (issue 9) over a brand network. The bench generates the archive first
//! (`BENCH_VEHICLES` customers with a vehicle each, spread over
//! `BENCH_DEALERS` dealers: PostgreSQL `COPY`, or multi-row inserts on SQLite;
//! its time is printed apart and is not the measured figure), with each
//! dealer's menu holding a 10,000 km / 12 month service. Then, the clock set
//! to 00:30 of `BENCH_DAY` in Shanghai, it plans every dealer once, one after
//! the other, as one instance does on a tick (`care::planner::run`), and
//! prints the wall time in all and per dealer, the outbox rows written per
//! kind, and the peak resident memory of the planning (`VmHWM` after the peak
//! is reset through `/proc/self/clear_refs`). Last it plans the same day
//! again, which must write nothing, and prints how long that took.
//!
//! Run on PostgreSQL (targets: under 60 s and 1 GiB for 1,000,000 vehicles)
//! and then on SQLite in a temporary folder. Not a test: no figure is
//! asserted; the bench fails only when something did not work.
//!
//! Variables: `BENCH_VEHICLES` (PostgreSQL, default 1000000; 0 skips it),
//! `BENCH_SQLITE_VEHICLES` (default 100000; 0 skips it), `BENCH_DEALERS`
//! (default 10), `BENCH_DAY` (default 2027-03-16, an ordinary Tuesday; a
//! holiday such as 2027-02-06, the Spring Festival, greets every customer who
//! allows marketing), `BENCH_DATABASE_URL`; the planner's own settings as
//! usual, e.g. `SERVICELANE__CARE__PLANNER__BATCH`.
//!
//! On PostgreSQL over TLS (sqlx's default `sslmode=prefer`), sqlx 0.9.0 does
//! not set `TCP_NODELAY`, and every query larger than one TLS record (the
//! planner's `IN` lists of a batch's ids) waits ~40 ms for a delayed ACK; to
//! see the planner without that, give the server's URL without TLS:
//! `BENCH_DATABASE_URL='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable'`.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use common::*;
use sea_orm::{ConnectionTrait, Database, EntityTrait, Set};
use servicelane::care::planner;
use servicelane::clock::ManualClock;
use servicelane::entities::menu_item;
use servicelane::services::dealers;
use servicelane::state::AppState;
use uuid::Uuid;

/// Nothing runs in the background: the bench plans by itself, and nothing is sent.
const QUIET: [(&str, &str); 3] = [
    ("SERVICELANE__CARE__PLANNER__ENABLED", "false"),
    ("SERVICELANE__CARE__DISPATCHER", "false"),
    ("SERVICELANE__IMPORTS__WORKER", "false"),
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let pg_vehicles: usize = env("BENCH_VEHICLES", "1000000").parse()?;
    let sqlite_vehicles: usize = env("BENCH_SQLITE_VEHICLES", "100000").parse()?;
    let n_dealers: usize = env("BENCH_DEALERS", "10").parse::<usize>()?.max(1);
    let day: NaiveDate = env("BENCH_DAY", "2027-03-16").parse()?;
    let at = chrono_tz::Asia::Shanghai
        .from_local_datetime(&day.and_time(NaiveTime::from_hms_opt(0, 30, 0).expect("a time")))
        .single()
        .expect("Shanghai has no gaps")
        .with_timezone(&Utc);
    println!(
        "care planner: one planning day ({day}, clock at {at}), {n_dealers} dealers; {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if pg_vehicles > 0 {
        match Database::connect(&admin_url()).await {
            Err(e) => eprintln!(
                "PostgreSQL part skipped: unreachable at {} ({e}); set BENCH_DATABASE_URL",
                admin_url()
            ),
            Ok(_) => {
                let clock = Arc::new(ManualClock::new(at));
                let app = serve_at("sl_bench_care_planner", &QUIET, clock).await?;
                bench("PostgreSQL", &app.state, pg_vehicles, n_dealers, day).await?;
            }
        }
    }
    if sqlite_vehicles > 0 {
        let clock = Arc::new(ManualClock::new(at));
        let app = serve_sqlite(&QUIET, clock).await?;
        bench("SQLite", &app.state, sqlite_vehicles, n_dealers, day).await?;
    }
    Ok(())
}

/// Generates the network on the state's database, plans the day, plans it again.
async fn bench(
    name: &str,
    state: &AppState,
    n: usize,
    n_dealers: usize,
    day: NaiveDate,
) -> anyhow::Result<()> {
    let db = &state.db;
    let now = state.clock.now();
    let started = Instant::now();
    let mut ids = Vec::new();
    for k in 0..n_dealers {
        let d = dealers::create_dealer(
            db,
            &format!("BR{:02}", k + 1),
            &format!("压测{}店", k + 1),
            "Asia/Shanghai",
            now,
        )
        .await?;
        menu(db, d.id, now).await?;
        ids.push(d.id);
    }
    load_fleet(db, &ids, n, day, now).await?;
    let generated = started.elapsed();
    println!(
        "\n== {name}: {n} vehicles and customers, {n_dealers} dealers; generated in {:.1} s \
         (not measured); planner batch {}",
        generated.as_secs_f64(),
        state.settings.care.planner.batch
    );

    let reset = reset_peak_memory();
    let (_, before) = memory_kib();
    let (first, per_dealer, kinds) = plan_all(state, &ids).await?;
    let (peak, after) = memory_kib();
    println!("\n{:<8} {:>10} {:>10}", "dealer", "seconds", "rows");
    for (k, (t, rows)) in per_dealer.iter().enumerate() {
        println!("BR{:02}     {:>10.2} {rows:>10}", k + 1, t.as_secs_f64());
    }
    println!("\n{:<22} {:>10}", "kind", "rows");
    for (kind, rows) in &kinds {
        println!("{kind:<22} {rows:>10}");
    }
    let total: u64 = kinds.values().sum();
    println!("{:<22} {total:>10}", "all");
    println!(
        "\nplanning: {:.2} s for {n} vehicles ({:.0} vehicles/s); peak resident {:.0} MiB \
         ({}; resident {:.0} MiB before, {:.0} MiB after)",
        first.as_secs_f64(),
        n as f64 / first.as_secs_f64(),
        peak as f64 / 1024.0,
        if reset {
            "peak reset after generating"
        } else {
            "clear_refs refused: the peak of the whole process, generating included"
        },
        before as f64 / 1024.0,
        after as f64 / 1024.0,
    );

    let (again, _, kinds) = plan_all(state, &ids).await?;
    let rows: u64 = kinds.values().sum();
    println!(
        "the same day again: {rows} rows written{} in {:.2} s",
        if rows == 0 {
            " (none, as it should)"
        } else {
            " (NOT idempotent)"
        },
        again.as_secs_f64()
    );
    if rows != 0 {
        anyhow::bail!("planning the same day again wrote {rows} rows: {kinds:?}");
    }
    Ok(())
}

/// Plans every dealer once, one after the other: time in all, time and rows
/// per dealer, rows per kind.
#[allow(clippy::type_complexity)]
async fn plan_all(
    state: &AppState,
    ids: &[Uuid],
) -> anyhow::Result<(Duration, Vec<(Duration, u64)>, BTreeMap<String, u64>)> {
    let started = Instant::now();
    let mut per_dealer = Vec::new();
    let mut kinds = BTreeMap::new();
    for id in ids {
        let t = Instant::now();
        let report = planner::run(state, *id, true)
            .await
            .map_err(|e| anyhow::anyhow!("planning dealer {id}: {e:?}"))?;
        per_dealer.push((t.elapsed(), report.total));
        for k in report.planned {
            *kinds.entry(k.kind.as_str().to_string()).or_insert(0) += k.messages;
        }
    }
    Ok((started.elapsed(), per_dealer, kinds))
}

/// The dealer's service menu: the first service (5,000 km / 6 months) and the
/// regular one every 10,000 km or 12 months, which maintenance reminders read.
async fn menu(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<()> {
    let item = |code: &str, zh: &str, en: &str, km: i32, months: i32, first: bool| {
        menu_item::ActiveModel {
            id: Set(Uuid::now_v7()),
            dealer_id: Set(dealer_id),
            code: Set(code.into()),
            name_zh: Set(zh.into()),
            name_en: Set(en.into()),
            labour_minutes: Set(60),
            parts: Set(serde_json::json!([])),
            price_cents: Set(58_000),
            interval_km: Set(Some(km)),
            interval_months: Set(Some(months)),
            first_service: Set(first),
            active: Set(true),
            updated_at: Set(now),
        }
    };
    menu_item::Entity::insert_many([
        item("FIRST", "首保", "First service", 5_000, 6, true),
        item("MAINT10K", "常规保养", "Regular service", 10_000, 12, false),
    ])
    .exec_without_returning(db)
    .await?;
    Ok(())
}
