//! `cargo bench --bench api`: one dealer with 20,000 customers and vehicles on
//! PostgreSQL; authenticated single-customer reads and searches by phone and by
//! plate over HTTP (requests/s, p50, p99), beside `pgbench -S -M prepared` on
//! the same server in the same run. Not a test: nothing asserts.
//!
//! BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres),
//! BENCH_SECONDS (10), BENCH_CLIENTS (32), BENCH_CUSTOMERS (20000)

mod common;

use std::time::Instant;

use chrono::Utc;
use common::*;
use sea_orm::ConnectionTrait;
use servicelane::domain::Role;
use servicelane::services::dealers;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds: u64 = env("BENCH_SECONDS", "10").parse()?;
    let clients: usize = env("BENCH_CLIENTS", "32").parse()?;
    let n: usize = env("BENCH_CUSTOMERS", "20000").parse()?;
    let app = serve("sl_bench").await?;
    let db = &app.state.db;
    let now = Utc::now();
    let started = Instant::now();
    let d = dealers::create_dealer(db, "BENCH", "压测4S店", "Asia/Shanghai", now).await?;
    staff(&app.state, d.id, "advisor", Role::ServiceAdvisor).await?;
    let data = load_customers(db, d.id, n, now).await?;
    db.execute_unprepared("ANALYZE").await?;
    println!(
        "loaded {n} customers and vehicles in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let token = login(&app.base, "BENCH", "advisor").await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let scenarios = [
        (
            "GET /customers/{id}",
            data.customers
                .iter()
                .map(|id| format!("/api/v1/customers/{id}"))
                .collect::<Vec<_>>(),
        ),
        (
            "search by phone",
            data.phones
                .iter()
                .map(|p| format!("/api/v1/customers?q={}", enc(&p[3..])))
                .collect(),
        ),
        (
            "search by plate",
            data.plates
                .iter()
                .map(|p| format!("/api/v1/customers?q={}", enc(p)))
                .collect(),
        ),
    ];

    // one client on an otherwise idle machine: the latency a request has on its own
    header("one client");
    for (name, paths) in &scenarios {
        row(
            name,
            &run(
                &client,
                get(&app.base, &token, paths.clone()),
                1,
                seconds.min(5),
            )
            .await,
        );
    }
    header(&format!("{clients} clients"));
    let mut read_rps = 0.0;
    for (name, paths) in &scenarios {
        let f = run(
            &client,
            get(&app.base, &token, paths.clone()),
            clients,
            seconds,
        )
        .await;
        if read_rps == 0.0 {
            read_rps = f.rps;
        }
        row(name, &f);
    }
    match pgbench(clients, seconds) {
        Some(tps) => println!(
            "\npgbench -S -M prepared -c {clients} -j 2 -T {seconds}: {tps:.0} tps; single-customer reads reach {:.3} of it",
            read_rps / tps
        ),
        None => println!("\npgbench not found or failed; install postgresql-client to compare"),
    }

    // what the personal-data access log costs: the same reads on a second
    // server with the log off (`privacy.audit_reads = false`), same data
    let plain = serve_with(
        "sl_bench_plain",
        &[("SERVICELANE__PRIVACY__AUDIT_READS", "false")],
    )
    .await?;
    let pd =
        dealers::create_dealer(&plain.state.db, "BENCH", "压测4S店", "Asia/Shanghai", now).await?;
    staff(&plain.state, pd.id, "advisor", Role::ServiceAdvisor).await?;
    let plain_data = load_customers(&plain.state.db, pd.id, n, now).await?;
    plain.state.db.execute_unprepared("ANALYZE").await?;
    let plain_token = login(&plain.base, "BENCH", "advisor").await?;
    let plain_paths: Vec<String> = plain_data
        .customers
        .iter()
        .map(|id| format!("/api/v1/customers/{id}"))
        .collect();
    let logged_paths = scenarios[0].1.clone();
    // off and on taken in turn, three rounds each, and the medians compared:
    // on this machine one 10 s figure swings by a fifth from run to run
    header("the access log's cost: GET /customers/{id}");
    for c in [1, clients] {
        let (mut offs, mut ons) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            let off = run(
                &client,
                get(&plain.base, &plain_token, plain_paths.clone()),
                c,
                seconds,
            )
            .await;
            let on = run(
                &client,
                get(&app.base, &token, logged_paths.clone()),
                c,
                seconds,
            )
            .await;
            row(&format!("log off, {c} client(s)"), &off);
            row(&format!("log on,  {c} client(s)"), &on);
            offs.push(off.rps);
            ons.push(on.rps);
        }
        let (off, on) = (median(&mut offs), median(&mut ons));
        println!(
            "  medians of {ROUNDS}: off {off:.0} req/s, on {on:.0} req/s: the log on keeps {:.1} % of the throughput",
            100.0 * on / off
        );
    }
    app.state.audit.flush().await;
    let logged: Option<i64> = app
        .state
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT COUNT(*) FROM personal_data_access",
        ))
        .await?
        .and_then(|r| r.try_get_by_index(0).ok());
    println!("access-log entries written: {}", logged.unwrap_or(0));
    Ok(())
}

/// Rounds of "log off, log on" for the access log's cost.
const ROUNDS: usize = 3;

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}
