//! `cargo bench --bench login`: resident memory and latency of a login burst.
//!
//! Starts the release binary (`servicelane serve`, production profile, SQLite,
//! argon2id at m=19 MiB, t=2, p=1) as its own process, with 128 staff users,
//! then fires 128 logins 64 at a time — first with the right passwords, then
//! with unknown usernames (the dummy hash) — and prints p50/p99, the answers by
//! status (503: no hashing slot within `auth.hash_wait_ms`), and the server's
//! resident memory (VmRSS) before, at the peak and 5 s after each burst.
//! Not a test: nothing asserts.
//!
//! BENCH_LOGINS (128), BENCH_CONCURRENCY (64), BENCH_BIN (another build of the
//! binary, e.g. to compare allocators), and any SERVICELANE__… variable
//! (e.g. SERVICELANE__AUTH__HASH_CONCURRENCY) is passed to the server.

// the shared helpers serve in-process on PostgreSQL; only a few fit here
mod common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::{PASSWORD, env, ms};
use sea_orm::{Database, EntityTrait, Set};
use servicelane::auth::password::Passwords;
use servicelane::domain::Role;
use servicelane::entities::user;
use servicelane::services::dealers;
use uuid::Uuid;

/// The server process, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let logins: usize = env("BENCH_LOGINS", "128").parse()?;
    let concurrency: usize = env("BENCH_CONCURRENCY", "64").parse()?;
    let bin = env("BENCH_BIN", env!("CARGO_BIN_EXE_servicelane"));
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let data_dir = dir.path().to_str().unwrap_or(".").to_string();
    let port_s = port.to_string();
    let mut vars: Vec<(String, String)> = [
        ("SERVICELANE__PROFILE", "production"),
        ("SERVICELANE__SERVER__HOST", "127.0.0.1"),
        ("SERVICELANE__SERVER__PORT", port_s.as_str()),
        ("SERVICELANE__DATA_DIR", data_dir.as_str()),
        (
            "SERVICELANE__AUTH__JWT_SECRET",
            "bench-secret-bench-secret-bench-secret!",
        ),
        ("SERVICELANE__LOG__FILTER", "error"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    // the caller's SERVICELANE__… settings win
    let own: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("SERVICELANE__"))
        .collect();
    vars.retain(|(k, _)| !own.iter().any(|(o, _)| o == k));
    vars.extend(own);
    let config_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/config");
    let command = |args: &[&str]| {
        let mut c = Command::new(&bin);
        c.args(args)
            .env("SERVICELANE_CONFIG_DIR", config_dir)
            .env_remove("RUST_LOG")
            .envs(vars.iter().cloned());
        c
    };

    // the schema, a dealer and `logins` users sharing one real hash
    let out = command(&["migrate"]).output()?;
    anyhow::ensure!(
        out.status.success(),
        "migrate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = Database::connect(format!("sqlite://{}/servicelane.db?mode=rwc", data_dir)).await?;
    let now = Utc::now();
    let d = dealers::create_dealer(&db, "BENCH", "压测4S店", "Asia/Shanghai", now).await?;
    let passwords = Passwords::new(
        19456,
        2,
        1,
        Duration::from_secs(60),
        prometheus::IntCounter::new("unused", "unused")?,
    )?;
    let hash = passwords.hash(PASSWORD.into()).await?;
    // what one verification costs on one core, here in the bench process
    // before the server starts: the ceiling of logins a second follows
    let rounds = 20;
    let t = Instant::now();
    for _ in 0..rounds {
        passwords
            .verify(PASSWORD.into(), Some(hash.clone()))
            .await?;
    }
    let one = t.elapsed() / rounds;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!(
        "one argon2id verification (m=19 MiB, t=2, p=1): {:.1} ms on one core; {cores} cores verify at most {:.0} logins/s",
        ms(one),
        cores as f64 / one.as_secs_f64()
    );
    let users: Vec<user::ActiveModel> = (0..logins)
        .map(|i| user::ActiveModel {
            id: Set(Uuid::now_v7()),
            dealer_id: Set(d.id),
            username: Set(format!("bench{i:04}")),
            display_name: Set(format!("bench{i:04}")),
            password_hash: Set(hash.clone()),
            roles: Set(serde_json::json!([Role::ServiceAdvisor])),
            skills: Set(serde_json::json!([])),
            active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .collect();
    user::Entity::insert_many(users)
        .exec_without_returning(&db)
        .await?;
    db.close().await?;

    let server = Server(
        command(&["serve"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?,
    );
    let pid = server.0.id();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(120))
        .build()?;
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{base}/health/live")).send().await
            && r.status().is_success()
        {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(30),
            "the server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    println!(
        "servicelane pid {pid} ({bin}), production profile on SQLite; {logins} logins, {concurrency} at a time"
    );
    println!(
        "\n{:<22} {:>8} {:>8}  {:<22} {:>10} {:>9} {:>10}",
        "burst", "p50 ms", "p99 ms", "statuses", "RSS before", "RSS peak", "RSS +5 s"
    );
    for (name, known) in [("right passwords", true), ("unknown usernames", false)] {
        let before = rss_kib(pid);
        let peak = Arc::new(AtomicU64::new(before));
        let done = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (peak, done) = (peak.clone(), done.clone());
            tokio::spawn(async move {
                while !done.load(Ordering::Relaxed) {
                    peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
        };
        let gate = Arc::new(tokio::sync::Semaphore::new(concurrency));
        let tasks: Vec<_> = (0..logins)
            .map(|i| {
                let (client, gate, base) = (client.clone(), gate.clone(), base.clone());
                let username = if known {
                    format!("bench{i:04}")
                } else {
                    format!("ghost{i:04}")
                };
                tokio::spawn(async move {
                    let _slot = gate.acquire_owned().await;
                    let t = Instant::now();
                    let status = match client
                        .post(format!("{base}/api/v1/auth/login"))
                        .json(&serde_json::json!({"dealer_code": "BENCH", "username": username, "password": PASSWORD}))
                        .send()
                        .await
                    {
                        Ok(r) => {
                            let s = r.status().as_u16();
                            let _ = r.bytes().await;
                            s
                        }
                        Err(_) => 0,
                    };
                    (t.elapsed(), status)
                })
            })
            .collect();
        let mut lat = Vec::new();
        let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
        for t in tasks {
            let (l, s) = t.await?;
            lat.push(l);
            *statuses.entry(s).or_default() += 1;
        }
        done.store(true, Ordering::Relaxed);
        sampler.await?;
        peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(5)).await;
        let after = rss_kib(pid);
        lat.sort();
        let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
        println!(
            "{name:<22} {:>8.0} {:>8.0}  {:<22} {:>7.0} MB {:>6.0} MB {:>7.0} MB",
            ms(pct(0.5)),
            ms(pct(0.99)),
            format!("{statuses:?}"),
            mib(before),
            mib(peak.load(Ordering::Relaxed)),
            mib(after)
        );
    }
    drop(server);
    Ok(())
}
