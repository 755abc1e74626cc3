//! `cargo bench --bench repair_orders`: a busy day of reception on
//! PostgreSQL, over HTTP against the real server: `BENCH_ORDERS` (300)
//! walk-in orders opened by `BENCH_TABLETS` (40) concurrent tablets, each
//! with a walk-around, three jobs, an estimate and its acceptance. Prints
//! orders a second and p50/p99 per step. Then the live-stream fan-out:
//! `BENCH_STREAMS` (1000) open SSE streams on one order, one event written,
//! and the time until the last stream has it. Not a test: nothing asserts
//! but that every step answered as it should (a wrong status ends the bench).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::*;
use serde_json::{Value, json};
use servicelane::domain::Role;
use servicelane::services::dealers;

const STEPS: [&str; 7] = [
    "open",
    "walkaround",
    "job 1",
    "job 2",
    "job 3",
    "estimate",
    "accept",
];

async fn call(
    c: &reqwest::Client,
    req: reqwest::RequestBuilder,
    expect: u16,
) -> anyhow::Result<(Duration, Value)> {
    let t = Instant::now();
    let r = req.send().await?;
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    let took = t.elapsed();
    let _ = c;
    if status != expect {
        anyhow::bail!("expected {expect}, got {status}: {body}");
    }
    Ok((took, body))
}

/// One order from reception to a signed estimate; the latency of each step.
async fn one_order(
    c: &reqwest::Client,
    base: &str,
    token: &str,
    vehicle: uuid::Uuid,
) -> anyhow::Result<Vec<Duration>> {
    let auth = format!("Bearer {token}");
    let post = |path: String, body: Value| {
        c.post(format!("{base}{path}"))
            .header("authorization", &auth)
            .json(&body)
    };
    let mut lat = Vec::new();
    let (t, o) = call(
        c,
        post(
            "/api/v1/repair-orders".into(),
            json!({"vehicle_id": vehicle, "concerns": ["保养", "刹车异响"]}),
        ),
        201,
    )
    .await?;
    lat.push(t);
    let id = o["id"].as_str().unwrap_or_default().to_string();
    let (t, _) = call(
        c,
        c.put(format!("{base}/api/v1/repair-orders/{id}/walkaround"))
            .header("authorization", &auth)
            .json(&json!({"items": [{"code": "BODY_PANELS", "status": "ok"}, {"code": "TYRE_FL", "status": "note", "note": "4mm"}],
                          "fuel_level": 60, "protection_fitted": true})),
        200,
    )
    .await?;
    lat.push(t);
    for job in [
        json!({"menu_code": "MAINT-10K"}),
        json!({"description": "更换前刹车片", "labour_hours": "1.5", "parts": [{"part_number": "BP-01", "name": "刹车片", "quantity": "2", "unit_price": "268.00"}]}),
        json!({"description": "四轮定位", "labour_hours": "0.8", "skill": "mechanical"}),
    ] {
        let (t, _) = call(
            c,
            post(format!("/api/v1/repair-orders/{id}/jobs"), job),
            201,
        )
        .await?;
        lat.push(t);
    }
    let (t, e) = call(
        c,
        post(format!("/api/v1/repair-orders/{id}/estimate"), json!({})),
        201,
    )
    .await?;
    lat.push(t);
    let (t, _) = call(
        c,
        post(
            format!("/api/v1/repair-orders/{id}/estimate/accept"),
            json!({"version": e["version"], "signature": {"kind": "typed", "name": "客户"}}),
        ),
        200,
    )
    .await?;
    lat.push(t);
    Ok(lat)
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v.get(((v.len() as f64 * p) as usize).min(v.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let orders: usize = env("BENCH_ORDERS", "300").parse()?;
    let tablets: usize = env("BENCH_TABLETS", "40").parse()?;
    let streams: usize = env("BENCH_STREAMS", "1000").parse()?;
    let app = serve("sl_bench_ro").await?;
    let db = &app.state.db;
    let now = Utc::now();
    let d = dealers::create_dealer(db, "BENCH", "压测4S店", "Asia/Shanghai", now).await?;
    let manager = staff(&app.state, d.id, "manager", Role::ServiceManager).await?;
    staff(&app.state, d.id, "advisor", Role::ServiceAdvisor).await?;
    let boss = servicelane::auth::Actor {
        id: manager.id,
        dealer_id: d.id,
        roles: vec![Role::ServiceManager],
        customer_id: None,
    };
    servicelane::services::menu::put(
        db,
        &boss,
        "MAINT-10K",
        serde_json::from_value(json!({"name_zh": "小保养", "name_en": "Minor service", "labour_hours": "1", "price_estimate": "480.00",
            "parts": [{"part_number": "OF-1", "name": "机油滤清器", "quantity": "1"}]}))?,
        now,
    )
    .await?;
    let loaded = load_customers(db, d.id, orders.max(1), now).await?;
    let token = login(&app.base, "BENCH", "advisor").await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(tablets)
        .build()?;

    let next = Arc::new(AtomicUsize::new(0));
    let vehicles = Arc::new(loaded.vehicles);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..tablets {
        let (c, base, token, next, vehicles) = (
            client.clone(),
            app.base.clone(),
            token.clone(),
            next.clone(),
            vehicles.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut per_step: Vec<Vec<Duration>> = vec![Vec::new(); STEPS.len()];
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= orders {
                    break;
                }
                let lat = one_order(&c, &base, &token, vehicles[i]).await?;
                for (s, t) in lat.into_iter().enumerate() {
                    per_step[s].push(t);
                }
            }
            anyhow::Ok(per_step)
        }));
    }
    let mut per_step: Vec<Vec<Duration>> = vec![Vec::new(); STEPS.len()];
    for t in tasks {
        for (s, v) in t.await??.into_iter().enumerate() {
            per_step[s].extend(v);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "\nreception: {orders} orders by {tablets} tablets in {secs:.2} s = {:.1} orders/s ({:.0} requests/s)",
        orders as f64 / secs,
        (orders * STEPS.len()) as f64 / secs
    );
    println!("{:<12} {:>9} {:>9}", "step", "p50 ms", "p99 ms");
    for (name, v) in STEPS.iter().zip(per_step.iter_mut()) {
        println!(
            "{name:<12} {:>9.1} {:>9.1}",
            ms(pct(v, 0.5)),
            ms(pct(v, 0.99))
        );
    }

    // fan-out: many followers of one order, one event
    let o: Value = client
        .post(format!("{}/api/v1/repair-orders", app.base))
        .bearer_auth(&token)
        .json(&json!({"vehicle_id": vehicles[0]}))
        .send()
        .await?
        .json()
        .await?;
    let id = o["id"].as_str().unwrap_or_default().to_string();
    let version = o["version"].clone();
    let ready = Arc::new(AtomicUsize::new(0));
    let url = format!("{}/api/v1/repair-orders/{id}/events", app.base);
    let mut followers = Vec::new();
    let opened = Instant::now();
    for _ in 0..streams {
        let (url, token, ready) = (url.clone(), token.clone(), ready.clone());
        followers.push(tokio::spawn(async move {
            // one connection per stream, as one phone each
            let c = reqwest::Client::new();
            let mut r = c
                .get(&url)
                .bearer_auth(&token)
                .header("Last-Event-ID", "1")
                .send()
                .await?;
            ready.fetch_add(1, Ordering::SeqCst);
            let mut seen = String::new();
            while let Some(chunk) = r.chunk().await? {
                seen.push_str(&String::from_utf8_lossy(&chunk));
                if seen.contains("event: updated") {
                    return anyhow::Ok(Instant::now());
                }
            }
            anyhow::bail!("the stream ended")
        }));
    }
    while ready.load(Ordering::SeqCst) < streams {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let connected = opened.elapsed();
    // every stream has answered its headers; give them a moment to subscribe
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t0 = Instant::now();
    let p = client
        .patch(format!("{}/api/v1/repair-orders/{id}", app.base))
        .bearer_auth(&token)
        .header("if-match", format!("\"{version}\""))
        .json(&json!({"notes": "客户在休息区等候"}))
        .send()
        .await?;
    anyhow::ensure!(p.status().as_u16() == 200, "patch: {}", p.status());
    let mut arrivals = Vec::new();
    for f in followers {
        arrivals.push(f.await?? - t0);
    }
    let last = arrivals.iter().max().copied().unwrap_or_default();
    println!(
        "\nfan-out: {streams} streams open in {:.2} s; one event reached all of them in {:.1} ms (p50 {:.1} ms)",
        connected.as_secs_f64(),
        ms(last),
        ms(pct(&mut arrivals, 0.5))
    );
    Ok(())
}
