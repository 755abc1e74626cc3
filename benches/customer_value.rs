//! `cargo bench --bench customer_value`: the customer-value analysis
//! (客户价值分析, issue 11) of one dealer with `BENCH_CUSTOMERS` (20,000)
//! customers, a vehicle each, and about five delivered, paid orders per
//! customer (~100,000 orders and payments) spread over the last three years.
//! The archive is generated first (its time is printed apart and is not
//! measured). Then, through HTTP as a manager, each of these is read once
//! to warm up and once timed: every JSON page (500 customers each, cursor
//! to cursor), the whole CSV, and each target list as CSV.
//!
//! Run on PostgreSQL (`BENCH_DATABASE_URL`; 0 for `BENCH_CUSTOMERS` skips
//! it) and on SQLite in a temporary folder (`BENCH_SQLITE_CUSTOMERS`,
//! default 20000). Not a test: no figure is asserted; the bench fails only
//! when something did not work.

mod common;

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use common::*;
use sea_orm::{ConnectionTrait, Database, EntityTrait, Set};
use servicelane::clock::ManualClock;
use servicelane::domain::Role;
use servicelane::domain::repair_order::{OrderState, PaymentMethod};
use servicelane::entities::{menu_item, payment, repair_order};
use servicelane::services::dealers;
use uuid::Uuid;

const QUIET: [(&str, &str); 3] = [
    ("SERVICELANE__CARE__PLANNER__ENABLED", "false"),
    ("SERVICELANE__CARE__DISPATCHER", "false"),
    ("SERVICELANE__IMPORTS__WORKER", "false"),
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let pg: usize = env("BENCH_CUSTOMERS", "20000").parse()?;
    let sqlite: usize = env("BENCH_SQLITE_CUSTOMERS", "20000").parse()?;
    let day = NaiveDate::from_ymd_opt(2027, 3, 16).expect("a date");
    let at = chrono_tz::Asia::Shanghai
        .from_local_datetime(&day.and_time(NaiveTime::from_hms_opt(10, 0, 0).expect("a time")))
        .single()
        .expect("Shanghai has no gaps")
        .with_timezone(&Utc);
    println!(
        "customer value: one dealer on {day}; {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if pg > 0 {
        match Database::connect(&admin_url()).await {
            Err(e) => eprintln!(
                "PostgreSQL part skipped: unreachable at {} ({e}); set BENCH_DATABASE_URL",
                admin_url()
            ),
            Ok(_) => {
                let app = serve_at(
                    "sl_bench_customer_value",
                    &QUIET,
                    Arc::new(ManualClock::new(at)),
                )
                .await?;
                bench("PostgreSQL", &app, pg, day).await?;
            }
        }
    }
    if sqlite > 0 {
        let app = serve_sqlite(&QUIET, Arc::new(ManualClock::new(at))).await?;
        bench("SQLite", &app, sqlite, day).await?;
    }
    Ok(())
}

async fn bench(name: &str, app: &Served, n: usize, day: NaiveDate) -> anyhow::Result<()> {
    let db = &app.state.db;
    let now = app.state.clock.now();
    let started = Instant::now();
    let d = dealers::create_dealer(db, "CV01", "价值分析店", "Asia/Shanghai", now).await?;
    menu_item::Entity::insert(menu_item::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(d.id),
        code: Set("MAINT-10K".into()),
        name_zh: Set("常规保养".into()),
        name_en: Set("Regular service".into()),
        labour_minutes: Set(60),
        parts: Set(serde_json::json!([])),
        price_cents: Set(48_000),
        interval_km: Set(Some(10_000)),
        interval_months: Set(Some(12)),
        first_service: Set(false),
        active: Set(true),
        updated_at: Set(now),
    })
    .exec(db)
    .await?;
    load_fleet(db, &[d.id], n, day, now).await?;
    let manager = staff(&app.state, d.id, "manager", Role::ServiceManager).await?;
    let orders = load_orders(db, d.id, manager.id, day, now).await?;
    println!(
        "\n== {name}: {n} customers, {orders} delivered orders with a payment each; generated in {:.1} s (not measured)",
        started.elapsed().as_secs_f64()
    );
    let token = login(&app.base, "CV01", "manager").await?;
    let http = reqwest::Client::new();
    println!("\n{:<40} {:>10} {:>10}", "read", "seconds", "customers");
    // every JSON page, cursor to cursor
    for round in 0..2 {
        let t = Instant::now();
        let mut cursor: Option<String> = None;
        let mut seen = 0;
        let mut pages = 0;
        loop {
            let mut url = format!("{}/api/v1/customer-value", app.base);
            if let Some(c) = &cursor {
                url.push_str(&format!("?cursor={c}"));
            }
            let page: serde_json::Value = http
                .get(url)
                .bearer_auth(&token)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            seen += page["items"].as_array().map_or(0, |a| a.len());
            pages += 1;
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        if round == 1 {
            println!(
                "{:<40} {:>10.2} {seen:>10}",
                format!("JSON, {pages} pages of 500"),
                t.elapsed().as_secs_f64()
            );
        }
    }
    for q in [
        "&list=csi_survey",
        "",
        "&tier=golden",
        "&list=golden_maintenance_due",
        "&list=lapsing",
    ] {
        let mut line = (0.0, 0);
        for _ in 0..2 {
            let t = Instant::now();
            let text = http
                .get(format!("{}/api/v1/customer-value?format=csv{q}", app.base))
                .bearer_auth(&token)
                .send()
                .await?
                .error_for_status()?
                .text()
                .await?;
            line = (t.elapsed().as_secs_f64(), text.lines().count() - 1);
        }
        println!(
            "{:<40} {:>10.2} {:>10}",
            format!("CSV{}", if q.is_empty() { " (all)" } else { q }),
            line.0,
            line.1
        );
    }
    Ok(())
}

/// About five orders per customer (0 to 10), delivered over the last 1,100
/// days, each paid ¥200–3,200 once; multi-row inserts.
async fn load_orders(
    db: &sea_orm::DatabaseConnection,
    dealer_id: Uuid,
    user: Uuid,
    day: NaiveDate,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<usize> {
    use sea_orm::QuerySelect;
    use servicelane::entities::vehicle;
    let fleet: Vec<(Uuid, Uuid)> = vehicle::Entity::find()
        .select_only()
        .column(vehicle::Column::CustomerId)
        .column(vehicle::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let mut orders = Vec::new();
    let mut payments = Vec::new();
    let mut total = 0;
    for (i, (c, v)) in fleet.iter().enumerate() {
        let i = i as u64;
        for j in 0..draw(i, 30, 11) {
            let on = day - Duration::days(draw(i * 16 + j, 31, 1100) as i64 + 1);
            let t = chrono_tz::Asia::Shanghai
                .from_local_datetime(
                    &on.and_time(NaiveTime::from_hms_opt(16, 0, 0).expect("a time")),
                )
                .single()
                .expect("no gap")
                .with_timezone(&Utc);
            let id = Uuid::now_v7();
            orders.push(repair_order::ActiveModel {
                id: Set(id),
                dealer_id: Set(dealer_id),
                number: Set(format!("RO{i:06}{j:02}")),
                customer_id: Set(*c),
                vehicle_id: Set(*v),
                appointment_id: Set(None),
                advisor_id: Set(None),
                state: Set(if j % 3 == 0 {
                    OrderState::Closed
                } else {
                    OrderState::Delivered
                }),
                odometer_km: Set(None),
                fuel_level: Set(None),
                concerns: Set(serde_json::json!(["保养"])),
                notes: Set(None),
                promised_at: Set(None),
                arrived_at: Set(t - Duration::hours(6)),
                reception_started_at: Set(t - Duration::hours(6)),
                walkaround: Set(None),
                health_check: Set(None),
                accepted_estimate: Set(None),
                estimate_versions: Set(0),
                qc_round: Set(0),
                qc_reworks: Set(0),
                qc_passed_level: Set(None),
                vat_basis_points: Set(1300),
                prices_include_vat: Set(true),
                washed_at: Set(None),
                delivered_at: Set(Some(t)),
                closed_at: Set(None),
                event_seq: Set(0),
                version: Set(1),
                created_by: Set(user),
                created_at: Set(now),
                updated_at: Set(now),
            });
            payments.push(payment::ActiveModel {
                id: Set(Uuid::now_v7()),
                dealer_id: Set(dealer_id),
                order_id: Set(id),
                method: Set(PaymentMethod::Wechat),
                amount_cents: Set(20_000 + draw(i * 16 + j, 32, 300_000) as i64),
                received_by: Set(user),
                at: Set(t),
            });
            total += 1;
        }
        if !orders.is_empty() && (orders.len() >= 200 || i as usize + 1 == fleet.len()) {
            repair_order::Entity::insert_many(std::mem::take(&mut orders))
                .exec(db)
                .await?;
            payment::Entity::insert_many(std::mem::take(&mut payments))
                .exec(db)
                .await?;
        }
    }
    db.execute_unprepared("ANALYZE").await?;
    if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        // the bulk load sits in the write-ahead log until a checkpoint;
        // fold it in, as a database that has been running would have
        db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await?;
    }
    Ok(total)
}
