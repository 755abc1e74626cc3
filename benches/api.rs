//! `cargo bench --bench api`: one dealer with 20,000 customers and vehicles on
//! PostgreSQL; authenticated single-customer reads and searches by phone and by
//! plate over HTTP (requests/s, p50, p99), beside `pgbench -S -M prepared` on
//! the same server in the same run; then what the personal-data access log
//! costs, in throughput and in CPU per request (this process and
//! PostgreSQL's) at saturation, and in latency at a steady load the server
//! keeps up with (a quarter and a half of its ceiling). Not a test: nothing
//! asserts.
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
    // beside the throughput, the CPU each request costs, which the other
    // processes' noise does not move: this process (server, load and the
    // log's writer) and PostgreSQL's processes, per request
    let mut saturated_off = 0.0;
    for c in [1, clients] {
        let (mut offs, mut ons) = (Vec::new(), Vec::new());
        let (mut cpu_off, mut cpu_on) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
        for _ in 0..ROUNDS {
            for (logged, base, tok, paths) in [
                (false, &plain.base, &plain_token, &plain_paths),
                (true, &app.base, &token, &logged_paths),
            ] {
                let before = Cpu::now();
                let f = run(&client, get(base, tok, paths.clone()), c, seconds).await;
                if logged {
                    app.state.audit.flush().await;
                }
                let (own, pg) = Cpu::now().since(&before);
                let answered = f.statuses.values().sum::<usize>().max(1) as f64;
                let (own, pg) = (1e6 * own / answered, 1e6 * pg / answered);
                let (label, rps, cpus) = if logged {
                    ("log on, ", &mut ons, &mut cpu_on)
                } else {
                    ("log off,", &mut offs, &mut cpu_off)
                };
                row(&format!("{label} {c} client(s)"), &f);
                println!(
                    "{:<26} CPU per request: server {own:.0} µs, PostgreSQL {pg:.0} µs",
                    ""
                );
                rps.push(f.rps);
                cpus.0.push(own);
                cpus.1.push(pg);
            }
        }
        let (off, on) = (median(&mut offs), median(&mut ons));
        saturated_off = off;
        println!(
            "  medians of {ROUNDS}: off {off:.0} req/s, on {on:.0} req/s: the log on keeps {:.1} % of the throughput",
            100.0 * on / off
        );
        let (s_off, s_on) = (median(&mut cpu_off.0), median(&mut cpu_on.0));
        let (p_off, p_on) = (median(&mut cpu_off.1), median(&mut cpu_on.1));
        println!(
            "  CPU per request, medians: server {s_off:.0} → {s_on:.0} µs, PostgreSQL {p_off:.0} → {p_on:.0} µs; together {:.0} → {:.0} µs: the log adds {:.1} %",
            s_off + p_off,
            s_on + p_on,
            100.0 * ((s_on + p_on) / (s_off + p_off) - 1.0)
        );
    }
    // a load the server keeps up with, as a dealer's day is: each request
    // on its own, with the log's writer working beside it; what the log
    // adds to the latency a request has (medians of the rounds' p50 and p99)
    header("the access log's cost at a steady load");
    for share in [0.25, 0.5] {
        let rate = (share * saturated_off).max(10.0);
        let (mut off, mut on) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
        for _ in 0..ROUNDS {
            for (logged, base, tok, paths) in [
                (false, &plain.base, &plain_token, &plain_paths),
                (true, &app.base, &token, &logged_paths),
            ] {
                let f = run_paced(&client, get(base, tok, paths.clone()), rate, seconds).await;
                if logged {
                    app.state.audit.flush().await;
                }
                let label = if logged { "log on, " } else { "log off," };
                row(&format!("{label} {rate:.0}/s"), &f);
                let (p50s, p99s) = if logged { &mut on } else { &mut off };
                p50s.push(ms(f.p50));
                p99s.push(ms(f.p99));
            }
        }
        let (a50, b50) = (median(&mut off.0), median(&mut on.0));
        let (a99, b99) = (median(&mut off.1), median(&mut on.1));
        println!(
            "  {rate:.0} req/s ({:.0} % of the log-off ceiling), medians of {ROUNDS}: p50 {a50:.2} → {b50:.2} ms ({:+.1} %), p99 {a99:.2} → {b99:.2} ms ({:+.1} %)",
            100.0 * share,
            100.0 * (b50 / a50 - 1.0),
            100.0 * (b99 / a99 - 1.0)
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

/// CPU time (user and system, seconds) spent so far by this process and by
/// each of PostgreSQL's processes (its backends, WAL writer, checkpointer),
/// from `/proc`; nothing where `/proc` is not there.
struct Cpu {
    own: f64,
    pg: std::collections::HashMap<u32, f64>,
}

impl Cpu {
    fn now() -> Cpu {
        // after the command name in parentheses: state is the first field,
        // utime the 12th and stime the 13th, in clock ticks (100 a second)
        let secs = |p: &std::path::Path| -> Option<f64> {
            let stat = std::fs::read_to_string(p.join("stat")).ok()?;
            let f: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0)
        };
        let own = secs(std::path::Path::new("/proc/self")).unwrap_or(0.0);
        let mut pg = std::collections::HashMap::new();
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let p = e.path();
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let is_pg =
                std::fs::read_to_string(p.join("comm")).is_ok_and(|c| c.trim() == "postgres");
            if let (true, Some(t)) = (is_pg, secs(&p)) {
                pg.insert(pid, t);
            }
        }
        Cpu { own, pg }
    }

    /// Seconds spent since `before`: by this process, and by PostgreSQL
    /// (a process started since counts whole; one that ended is not seen).
    fn since(&self, before: &Cpu) -> (f64, f64) {
        let pg = self
            .pg
            .iter()
            .map(|(pid, t)| t - before.pg.get(pid).copied().unwrap_or(0.0))
            .sum();
        (self.own - before.own, pg)
    }
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}
