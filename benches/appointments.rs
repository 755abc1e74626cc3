//! `cargo bench --bench appointments`: a realistic dealer on PostgreSQL —
//! 20,000 customers and vehicles, a year of past appointments and a month of
//! booked ones — then over HTTP: slot queries, bookings into free slots, and
//! bookings fighting over a few slots (mostly 409). Prints requests/s, p50 and
//! p99. Not a test: nothing asserts. Same variables as the api bench.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use common::*;
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use servicelane::auth::Actor;
use servicelane::domain::Role;
use servicelane::domain::appointment::{AppointmentState, Source};
use servicelane::domain::schedule::{OpeningHours, Schedule};
use servicelane::entities::{appointment, slot_usage};
use servicelane::services::{capacity, dealers, menu};
use uuid::Uuid;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds: u64 = env("BENCH_SECONDS", "10").parse()?;
    let clients: usize = env("BENCH_CLIENTS", "32").parse()?;
    let n: usize = env("BENCH_CUSTOMERS", "20000").parse()?;
    let app = serve("sl_bench_appt").await?;
    let db = &app.state.db;
    let now = Utc::now();
    let started = Instant::now();
    let tz: Tz = chrono_tz::Asia::Shanghai;
    let d = dealers::create_dealer(db, "BENCH", "压测4S店", "Asia/Shanghai", now).await?;
    let manager = staff(&app.state, d.id, "manager", Role::ServiceManager).await?;
    staff(&app.state, d.id, "advisor", Role::ServiceAdvisor).await?;
    let boss = Actor {
        id: manager.id,
        dealer_id: d.id,
        roles: vec![Role::ServiceManager],
        customer_id: None,
    };
    let schedule = Schedule {
        slot_minutes: 30,
        reception_per_slot: 4,
        workshop_bays: 12,
        opening_hours: (1..=6)
            .map(|weekday| OpeningHours {
                weekday,
                open: chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
                close: chrono::NaiveTime::from_hms_opt(18, 0, 0).unwrap_or_default(),
            })
            .collect(),
        booking_horizon_days: 365,
    };
    capacity::put(db, &boss, schedule.clone(), None, now).await?;
    for (code, zh, en, hours, price) in [
        ("MAINT-10K", "小保养", "Minor service", "1", "480"),
        ("MAINT-40K", "大保养", "Major service", "3", "1680"),
        ("BRAKE", "刹车片", "Brake pads", "2", "900"),
    ] {
        let input: menu::MenuInput = serde_json::from_value(serde_json::json!({
            "name_zh": zh, "name_en": en, "labour_hours": hours, "price_estimate": price, "interval_km": 10000, "interval_months": 12,
            "parts": [{"part_number": format!("P-{code}"), "name": zh, "quantity": "1"}]
        }))?;
        menu::put(db, &boss, code, input, now).await?;
    }
    let data = load_customers(db, d.id, n, now).await?;

    // a year behind (checked in) and a month ahead (booked), about 60% full
    let today = now.with_timezone(&tz).date_naive();
    let services = serde_json::json!([{"code": "MAINT-10K", "name_zh": "小保养", "name_en": "Minor service", "labour_minutes": 60, "price_cents": 48000, "parts": []}]);
    let mut usage: HashMap<DateTime<Utc>, (i32, i32)> = HashMap::new();
    let mut rows = Vec::new();
    let mut v = 0usize;
    let mut future_vehicles = 0usize;
    for day in -365i64..=30 {
        let date = today + Duration::days(day);
        let starts = schedule.slot_starts(date, tz);
        for (k, s) in starts.iter().enumerate() {
            let count = (k + day.unsigned_abs() as usize) % 5; // 0..4 arrivals
            for _ in 0..count.min(4) {
                let u = usage.entry(*s).or_default();
                if u.0 >= 4 || (day > 0 && *s <= now) {
                    break;
                }
                let future = *s > now;
                u.0 += 1;
                u.1 += 1;
                // future bookings take vehicles from the front (one open booking each); past ones any
                let idx = if future {
                    future_vehicles += 1;
                    future_vehicles - 1
                } else {
                    v += 1;
                    v % n
                };
                rows.push(appointment::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    dealer_id: Set(d.id),
                    customer_id: Set(data.customers[idx]),
                    vehicle_id: Set(data.vehicles[idx]),
                    slot_start: Set(*s),
                    duration_minutes: Set(60),
                    held_slots: Set(serde_json::json!([s, *s + Duration::minutes(30)])),
                    services: Set(services.clone()),
                    concern: Set(None),
                    contact_phone: Set("+8613900000000".into()),
                    source: Set(Source::Advisor),
                    state: Set(if future {
                        AppointmentState::Booked
                    } else {
                        AppointmentState::CheckedIn
                    }),
                    advisor_id: Set(None),
                    rescheduled_from: Set(None),
                    rescheduled_to: Set(None),
                    repair_order_id: Set(None),
                    created_by: Set(manager.id),
                    version: Set(1),
                    created_at: Set(now),
                    updated_at: Set(now),
                });
                if rows.len() == 1000 {
                    appointment::Entity::insert_many(std::mem::take(&mut rows))
                        .exec_without_returning(db)
                        .await?;
                }
            }
        }
    }
    let total_appointments = v + future_vehicles;
    if !rows.is_empty() {
        appointment::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    let usage_rows: Vec<slot_usage::ActiveModel> = usage
        .into_iter()
        .map(|(s, (r, b))| slot_usage::ActiveModel {
            dealer_id: Set(d.id),
            slot_start: Set(s),
            reception_used: Set(r),
            bays_used: Set(b),
        })
        .collect();
    for chunk in usage_rows.chunks(1000) {
        slot_usage::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    db.execute_unprepared("ANALYZE").await?;
    println!(
        "loaded {n} customers and vehicles and {total_appointments} appointments ({future_vehicles} ahead) in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let token = login(&app.base, "BENCH", "advisor").await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;
    let days: Vec<String> = (1..=60)
        .map(|i| {
            format!(
                "/api/v1/appointment-slots?date={}&duration_hours=1",
                today + Duration::days(i)
            )
        })
        .collect();

    // free slots 31..90 days ahead, four arrivals each; vehicles not yet booked
    // each pass visits every slot once, so concurrent bookings spread as real ones do
    let one_pass: Vec<String> = (31..=90)
        .flat_map(|i| {
            let starts = schedule.slot_starts(today + Duration::days(i), tz);
            starts
                .iter()
                .filter(|s| schedule.span(&starts, **s, 60).is_ok())
                .map(|s| s.with_timezone(&tz).to_rfc3339())
                .collect::<Vec<_>>()
        })
        .collect();
    let free: Vec<String> = one_pass
        .iter()
        .cycle()
        .take(one_pass.len() * 4)
        .cloned()
        .collect();
    let spare: Arc<Vec<Uuid>> = Arc::new(data.vehicles[future_vehicles..].to_vec());
    let taken = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let booking = |slots: Vec<String>, tag: &'static str| -> MakeRequest {
        let base = app.base.clone();
        let auth = format!("Bearer {token}");
        let spare = spare.clone();
        let taken = taken.clone();
        Arc::new(move |c: &reqwest::Client, i: usize| {
            let k = taken.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            c.post(format!("{base}/api/v1/appointments"))
                .header("authorization", &auth)
                .header("idempotency-key", format!("bench-{tag}-{k}"))
                .json(&serde_json::json!({
                    "vehicle_id": spare[k % spare.len()], "slot_start": slots[i % slots.len()], "services": ["MAINT-10K"]
                }))
        })
    };

    header(&format!("{clients} clients"));
    row(
        "GET /appointment-slots",
        &run(
            &client,
            get(&app.base, &token, days.clone()),
            clients,
            seconds,
        )
        .await,
    );
    row(
        "POST /appointments (free)",
        &run(&client, booking(free, "free"), clients, seconds).await,
    );
    let contended: Vec<String> = schedule
        .slot_starts(today + Duration::days(100), tz)
        .iter()
        .take(2)
        .map(|s| s.with_timezone(&tz).to_rfc3339())
        .collect();
    row(
        "POST (2 slots, 409s)",
        &run(&client, booking(contended, "hot"), clients, seconds).await,
    );
    header("one client");
    row(
        "GET /appointment-slots",
        &run(&client, get(&app.base, &token, days), 1, seconds.min(5)).await,
    );
    if let Some(tps) = pgbench(clients, seconds) {
        println!(
            "\npgbench -S -M prepared -c {clients} -j 2 -T {seconds} on the same server: {tps:.0} tps"
        );
    }
    Ok(())
}
