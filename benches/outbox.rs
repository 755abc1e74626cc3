//! `cargo bench --bench outbox`: the outbox dispatcher on PostgreSQL against a
//! local SMS webhook sink (answers 200 at once, counts every request by its
//! `Idempotency-Key`). For each dispatcher count (1, 2, 4 by default) the
//! outbox is emptied, `BENCH_ROWS` appointment notices are enqueued through
//! `care::outbox::enqueue`, and that many dispatchers, each an instance of its
//! own (its own pool and worker id), drain it at once. Prints the drain time
//! and messages a second, then checks that the sink saw every message exactly
//! once and that every row is `sent` (a failed check ends the bench with an
//! error).
//!
//! Variables: `BENCH_ROWS` (default 100000), `BENCH_QUICK=1` (5000 rows),
//! `BENCH_DISPATCHERS` (default `1,2,4`), `BENCH_DATABASE_URL`; the
//! dispatcher's own settings as usual, e.g. `SERVICELANE__CARE__CONCURRENCY`,
//! `SERVICELANE__CARE__BATCH`, `SERVICELANE__DATABASE__MAX_CONNECTIONS`.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use chrono::Utc;
use common::*;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, TransactionTrait};
use servicelane::care::dispatcher;
use servicelane::care::outbox::{self, AppointmentParams, NewMessage, Params};
use servicelane::domain::customer::{Channel, Locale};
use servicelane::domain::message::MessageKind;
use servicelane::services::dealers;
use servicelane::state::AppState;
use uuid::Uuid;

/// Requests the sink answered, by idempotency key.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<HashMap<String, u32>>>);

impl Seen {
    fn take(&self) -> HashMap<String, u32> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

async fn sms(req: HttpRequest, _body: web::Bytes, seen: web::Data<Seen>) -> HttpResponse {
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("(none)")
        .to_string();
    *seen
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key)
        .or_insert(0) += 1;
    HttpResponse::Ok().finish()
}

/// The webhook sink on a loopback port of its own; answers its URL.
fn sink(seen: Seen) -> anyhow::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://127.0.0.1:{}/sms", listener.local_addr()?.port());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(seen.clone()))
            .route("/sms", web::post().to(sms))
    })
    .workers(1)
    .listen(listener)?
    .run();
    tokio::spawn(server);
    Ok(url)
}

/// Enqueues `rows` appointment notices to `customers` round the clock, in
/// transactions of 500, four writers at once; answers the seconds taken.
///
/// The first 2,000 go in alone, then the table is analysed: a lookup planned
/// once on the empty table (a generic plan of a prepared statement) would
/// otherwise scan the whole table for each of the rest.
async fn enqueue(
    db: &DatabaseConnection,
    dealer_id: Uuid,
    customers: &Arc<Vec<(Uuid, String)>>,
    rows: usize,
    run: usize,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    let first = rows.min(2_000);
    enqueue_range(db, dealer_id, customers, 0..first, run).await?;
    db.execute_unprepared("ANALYZE outbox_messages").await?;
    enqueue_range(db, dealer_id, customers, first..rows, run).await?;
    Ok(started.elapsed().as_secs_f64())
}

async fn enqueue_range(
    db: &DatabaseConnection,
    dealer_id: Uuid,
    customers: &Arc<Vec<(Uuid, String)>>,
    range: std::ops::Range<usize>,
    run: usize,
) -> anyhow::Result<()> {
    let writers = 4;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let db = db.clone();
        let customers = customers.clone();
        let range = range.clone();
        tasks.push(tokio::spawn(async move {
            let mine: Vec<usize> = range.skip(w).step_by(writers).collect();
            for chunk in mine.chunks(500) {
                let now = Utc::now();
                let txn = db.begin().await?;
                for &i in chunk {
                    let (customer, phone) = &customers[i % customers.len()];
                    outbox::enqueue(
                        &txn,
                        NewMessage {
                            dealer_id,
                            customer_id: Some(*customer),
                            about_customer_id: None,
                            kind: MessageKind::AppointmentBooked,
                            occurrence_key: format!("bench-{run}-{i}"),
                            channel: Channel::Sms,
                            recipient: phone.clone(),
                            locale: Locale::ZhCn,
                            params: Params::Appointment(AppointmentParams {
                                dealer_name: "压测4S店".into(),
                                when: "2027-01-04 09:00".into(),
                                vehicle: "京A12345".into(),
                                services: "小保养".into(),
                            }),
                            subject: None,
                            body: format!(
                                "【压测4S店】您已预约 2027-01-04 09:00 为京A12345 做小保养，请准时到店。({i})"
                            ),
                            due_at: now,
                            parent_id: None,
                        },
                        now,
                    )
                    .await?;
                }
                txn.commit().await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let quick = env("BENCH_QUICK", "") == "1";
    let rows: usize = env("BENCH_ROWS", if quick { "5000" } else { "100000" }).parse()?;
    let counts: Vec<usize> = env("BENCH_DISPATCHERS", "1,2,4")
        .split(',')
        .map(|n| n.trim().parse())
        .collect::<Result<_, _>>()?;
    if let Err(e) = Database::connect(&admin_url()).await {
        eprintln!(
            "outbox bench skipped: PostgreSQL is unreachable at {} ({e}); set BENCH_DATABASE_URL",
            admin_url()
        );
        return Ok(());
    }
    let seen = Seen::default();
    let url = sink(seen.clone())?;
    let app = serve_with(
        "sl_bench_outbox",
        &[
            // the bench runs the dispatchers itself
            ("SERVICELANE__CARE__DISPATCHER", "false"),
            ("SERVICELANE__SMS__WEBHOOK_URL", url.as_str()),
            ("SERVICELANE__SMS__WEBHOOK_SECRET", "bench-sms-secret"),
        ],
    )
    .await?;
    let db = &app.state.db;
    let now = Utc::now();
    let d = dealers::create_dealer(db, "BENCH", "压测4S店", "Asia/Shanghai", now).await?;
    let n_customers = rows.clamp(1, 20_000);
    let loaded = load_customers(db, d.id, n_customers, now).await?;
    let customers: Arc<Vec<(Uuid, String)>> =
        Arc::new(loaded.customers.into_iter().zip(loaded.phones).collect());
    let care = &app.state.settings.care;
    println!(
        "outbox: {rows} SMS to {n_customers} customers (default consents) per run; \
         concurrency {} per dispatcher, batch {}, pool {} per dispatcher; {} cores",
        care.concurrency,
        care.batch,
        app.state.settings.database.max_connections,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    println!(
        "\n{:<12} {:>11} {:>10} {:>11} {:>9}",
        "dispatchers", "enqueue s", "drain s", "messages/s", "claimed"
    );
    let mut failures = Vec::new();
    for (run, &k) in counts.iter().enumerate() {
        db.execute_unprepared("TRUNCATE outbox_attempts, outbox_messages")
            .await?;
        seen.take();
        let enqueued = enqueue(db, d.id, &customers, rows, run).await?;
        db.execute_unprepared("VACUUM ANALYZE outbox_messages")
            .await?;
        // each dispatcher is an instance of its own: its own pool, its own worker id
        let mut instances: Vec<web::Data<AppState>> = Vec::new();
        for _ in 0..k {
            instances.push(
                servicelane::startup::build_state(
                    (*app.state.settings).clone(),
                    app.state.clock.clone(),
                )
                .await?,
            );
        }
        let started = Instant::now();
        let drains = instances
            .iter()
            .map(|s| dispatcher::drain(s, Uuid::now_v7()));
        let taken: usize = futures_util::future::try_join_all(drains)
            .await?
            .into_iter()
            .sum();
        let drain = started.elapsed().as_secs_f64();
        println!(
            "{k:<12} {enqueued:>11.1} {drain:>10.1} {:>11.0} {taken:>9}",
            rows as f64 / drain
        );
        for s in instances {
            s.db.clone().close().await?;
        }

        let calls = seen.take();
        let twice = calls.values().filter(|&&n| n > 1).count();
        let sent: i64 = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT count(*) AS n FROM outbox_messages WHERE state = 'sent'",
            ))
            .await?
            .map(|r| r.try_get("", "n"))
            .transpose()?
            .unwrap_or(0);
        if calls.len() != rows || twice > 0 || sent != rows as i64 {
            failures.push(format!(
                "{k} dispatchers: the sink saw {} of {rows} messages, {twice} more than once; {sent} rows sent",
                calls.len()
            ));
        }
    }
    if !failures.is_empty() {
        anyhow::bail!(
            "not every message was delivered exactly once:\n{}",
            failures.join("\n")
        );
    }
    println!("\nevery message reached the sink exactly once and every row is sent");
    Ok(())
}
