//! `cargo bench --bench import`: the customer import and export as the CLI and
//! the import job run them, on SQLite (a temporary file) and on PostgreSQL
//! (database `sl_bench_import` at `BENCH_DATABASE_URL`). `BENCH_ROWS` rows
//! (default 20,000), one customer and one vehicle each. Prints times; not a
//! test: nothing asserts.

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use sea_orm::{ConnectionTrait, Database};
use servicelane::auth::Actor;
use servicelane::clock::SystemClock;
use servicelane::config::Settings;
use servicelane::domain::{Role, Vin};
use servicelane::services::import::{ReadOptions, import_customers, read_file};
use servicelane::services::{dealers, export};
use servicelane::startup::build_state;

fn env(key: &str, default: &str) -> String {
    std::env::var(key)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

fn file(n: usize) -> String {
    let mut csv = String::from(
        "姓名,手机,邮箱,生日,车架号,车牌,品牌,车型,年款,购车日期,上次保养日期,上次保养里程\n",
    );
    for i in 0..n {
        let vin = Vin::with_check_digit(&format!("LSVAU2180N2{i:06}"))
            .map(|v| v.to_string())
            .unwrap_or_default();
        csv += &format!(
            "客户{i},139{i:08},c{i}@example.com,1985-03-12,{vin},京A{i:05},大众,朗逸,2021,2021-06-01,2024-01-15,{}\n",
            i * 3
        );
    }
    csv
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = env("BENCH_ROWS", "20000").parse()?;
    let csv = file(n);
    let (gb, _, _) = encoding_rs::GB18030.encode(&csv);
    println!(
        "{n} rows, {} bytes as UTF-8, {} as GB18030",
        csv.len(),
        gb.len()
    );
    let started = Instant::now();
    let table = read_file(&gb, &ReadOptions::default())?;
    println!(
        "decode and parse GB18030: {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );

    let dir = tempfile::tempdir()?;
    let admin_url = env(
        "BENCH_DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    );
    let admin = Database::connect(&admin_url).await?;
    admin
        .execute_unprepared("DROP DATABASE IF EXISTS sl_bench_import WITH (FORCE)")
        .await?;
    admin
        .execute_unprepared("CREATE DATABASE sl_bench_import")
        .await?;
    let pg_url = format!(
        "{}/sl_bench_import",
        &admin_url[..admin_url.rfind('/').unwrap_or(admin_url.len())]
    );
    let sqlite_url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    for (label, url) in [("SQLite", sqlite_url), ("PostgreSQL", pg_url)] {
        let vars = [
            ("SERVICELANE__PROFILE", "production"),
            ("SERVICELANE__DATABASE__URL", url.as_str()),
            ("SERVICELANE__DATA_DIR", dir.path().to_str().unwrap_or(".")),
            (
                "SERVICELANE__AUTH__JWT_SECRET",
                "bench-secret-bench-secret-bench-secret!",
            ),
            ("SERVICELANE__LOG__FILTER", "error"),
        ];
        let settings = Settings::load_from(
            &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config"),
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )?;
        let state = build_state(settings, Arc::new(SystemClock)).await?;
        let db = &state.db;
        let d =
            dealers::create_dealer(db, "BENCH", "压测4S店", "Asia/Shanghai", Utc::now()).await?;
        println!("\n{label}");
        for (what, dry) in [
            ("import (all new)", false),
            ("import again (all there)", false),
            ("dry run (all there)", true),
        ] {
            let t = Instant::now();
            let r = import_customers(db, d.id, &table, dry, Utc::now(), |_, _| {}).await?;
            let s = t.elapsed().as_secs_f64();
            println!(
                "{what:<26} {s:>6.2} s  {:>6.0} rows/s  created {} / existing {} / rejected {}",
                n as f64 / s,
                r.counts.customers_created,
                r.counts.customers_existing,
                r.rejected.len()
            );
        }
        let other =
            dealers::create_dealer(db, "DRY", "空4S店", "Asia/Shanghai", Utc::now()).await?;
        let t = Instant::now();
        import_customers(db, other.id, &table, true, Utc::now(), |_, _| {}).await?;
        let s = t.elapsed().as_secs_f64();
        println!(
            "{:<26} {s:>6.2} s  {:>6.0} rows/s",
            "dry run (all new)",
            n as f64 / s
        );

        let actor = Actor {
            id: uuid::Uuid::nil(),
            dealer_id: d.id,
            roles: vec![Role::ServiceManager],
            customer_id: None,
        };
        // the export logs every customer it writes out, as served
        let audit = servicelane::services::privacy::AuditLog::start(
            db.clone(),
            true,
            0,
            std::sync::Arc::default(),
        );
        let looker = servicelane::services::privacy::Looker::new(
            &audit,
            &actor,
            servicelane::services::privacy::Point {
                endpoint: "GET /api/v1/customers/export".into(),
                client_addr: None,
            },
            Utc::now(),
        );
        let t = Instant::now();
        let mut after = None;
        let mut rows = 0;
        loop {
            let (page, next) = export::page(db, &actor, None, after, &looker).await?;
            rows += page.len();
            match next {
                Some(id) => after = Some(id),
                None => break,
            }
        }
        println!(
            "{:<26} {:>6.2} s  ({rows} rows, {} a page)",
            "export pages (CSV)",
            t.elapsed().as_secs_f64(),
            export::PAGE
        );
        let t = Instant::now();
        let xlsx = export::xlsx(db, &actor, None, &looker).await?;
        audit.flush().await;
        println!(
            "{:<26} {:>6.2} s  ({} bytes)",
            "export xlsx",
            t.elapsed().as_secs_f64(),
            xlsx.len()
        );
        db.clone().close().await?;
    }
    admin
        .execute_unprepared("DROP DATABASE IF EXISTS sl_bench_import WITH (FORCE)")
        .await?;
    Ok(())
}
