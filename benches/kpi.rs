//! `cargo bench --bench kpi`: the daily board (issue 11) of a busy dealer's
//! year. The bench writes `BENCH_DAYS` (365) days of `BENCH_ORDERS_PER_DAY`
//! (60) delivered orders, each with two jobs, a clock interval per job, an
//! accepted estimate and a payment; three appointments in four become
//! orders and the rest are no-shows; one order in three has a CSI response
//! and one in 51 a case (multi-row inserts; their time is printed apart
//! and is not the measured figure). Then, over HTTP against the real server,
//! one request at a time, `BENCH_RUNS` (30) times each:
//!
//! - `GET /api/v1/kpi/range?from=…&to=…&by=month` over the whole year;
//! - `GET /api/v1/kpi/range?…&by=day` over the same year;
//! - `GET /api/v1/kpi/daily?date=` the last day;
//!
//! and prints p50 and p99. On PostgreSQL (`BENCH_DATABASE_URL`, skipped
//! when unreachable) and then SQLite in a temporary folder
//! (`BENCH_SQLITE=0` skips it). The target: under 200 ms for the year. Not
//! a test: nothing is asserted but that every request answered 200.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate, NaiveTime, TimeZone, Utc};
use common::*;
use sea_orm::{ConnectionTrait, Database, EntityTrait, Set};
use serde_json::json;
use servicelane::clock::ManualClock;
use servicelane::domain::Role;
use servicelane::domain::appointment::{AppointmentState, Source};
use servicelane::domain::case::{CaseCategory, CaseSource, CaseState, Severity};
use servicelane::domain::repair_order::{
    Approval, ClockOff, JobOrigin, OrderState, PayType, PaymentMethod, Priority, RepairJobState,
    Skill, order_number,
};
use servicelane::entities::{
    appointment, case, clock_interval, csi_response, payment, repair_order, repair_order_estimate,
    repair_order_job,
};
use servicelane::services::dealers;
use uuid::Uuid;

const QUIET: [(&str, &str); 3] = [
    ("SERVICELANE__CARE__PLANNER__ENABLED", "false"),
    ("SERVICELANE__CARE__DISPATCHER", "false"),
    ("SERVICELANE__IMPORTS__WORKER", "false"),
];

/// Rows a statement: well under SQLite's 32,766 and PostgreSQL's 65,535 parameters.
const BATCH: usize = 200;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let per_day: usize = env("BENCH_ORDERS_PER_DAY", "60").parse()?;
    let days: i64 = env("BENCH_DAYS", "365").parse()?;
    let runs: usize = env("BENCH_RUNS", "30").parse::<usize>()?.max(1);
    let last: NaiveDate = env("BENCH_LAST_DAY", "2027-03-16").parse()?;
    let at = chrono_tz::Asia::Shanghai
        .from_local_datetime(&last.and_time(NaiveTime::from_hms_opt(20, 0, 0).expect("a time")))
        .single()
        .expect("Shanghai has no gaps")
        .with_timezone(&Utc);
    println!(
        "kpi: {days} days of {per_day} orders a day, {runs} runs each; {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    match Database::connect(&admin_url()).await {
        Err(e) => eprintln!(
            "PostgreSQL part skipped: unreachable at {} ({e}); set BENCH_DATABASE_URL",
            admin_url()
        ),
        Ok(_) => {
            let app = serve_at("sl_bench_kpi", &QUIET, Arc::new(ManualClock::new(at))).await?;
            bench("PostgreSQL", &app, per_day, days, last, runs).await?;
        }
    }
    if env("BENCH_SQLITE", "1") != "0" {
        let app = serve_sqlite(&QUIET, Arc::new(ManualClock::new(at))).await?;
        bench("SQLite", &app, per_day, days, last, runs).await?;
    }
    Ok(())
}

async fn bench(
    name: &str,
    app: &Served,
    per_day: usize,
    days: i64,
    last: NaiveDate,
    runs: usize,
) -> anyhow::Result<()> {
    let state = &app.state;
    let now = state.clock.now();
    let d = dealers::create_dealer(&state.db, "KPIB", "压测看板店", "Asia/Shanghai", now).await?;
    staff(state, d.id, "manager", Role::ServiceManager).await?;
    let mut advisors = Vec::new();
    for k in 0..4 {
        advisors.push(
            staff(state, d.id, &format!("advisor{k}"), Role::ServiceAdvisor)
                .await?
                .id,
        );
    }
    let mut techs = Vec::new();
    for k in 0..12 {
        techs.push(
            staff(state, d.id, &format!("tech{k}"), Role::Technician)
                .await?
                .id,
        );
    }
    let started = Instant::now();
    let fleet = load_customers(&state.db, d.id, 8_000, now).await?;
    let first = last - chrono::Duration::days(days - 1);
    let rows = load_year(
        &state.db, d.id, &fleet, &advisors, &techs, first, last, per_day,
    )
    .await?;
    println!(
        "\n== {name}: {rows} rows ({} orders) generated in {:.1} s (not measured)",
        per_day as i64 * days,
        started.elapsed().as_secs_f64()
    );
    // what autovacuum does after a load: the planner's statistics
    state.db.execute_unprepared("ANALYZE").await?;
    let token = login(&app.base, "KPIB", "manager").await?;
    let client = reqwest::Client::new();
    let year = format!("/api/v1/kpi/range?from={first}&to={last}&by=month");
    // as just after an upgrade: no outcome stored, the board computes them all
    let (cold, _) = fetch(&client, &app.base, &year, &token).await?;
    let t = Instant::now();
    let filled = servicelane::services::kpi::outcomes::backfill(&state.db, now).await?;
    println!(
        "year by month before the outcomes are filled in: {:.1} ms; filling in {filled} orders' outcomes: {:.1} s",
        ms(cold),
        t.elapsed().as_secs_f64()
    );
    state.db.execute_unprepared("ANALYZE").await?;
    header_pct();
    for (label, path) in [
        (
            "range, year by month",
            format!("/api/v1/kpi/range?from={first}&to={last}&by=month"),
        ),
        (
            "range, year by day",
            format!("/api/v1/kpi/range?from={first}&to={last}&by=day"),
        ),
        ("daily, last day", format!("/api/v1/kpi/daily?date={last}")),
    ] {
        let mut lat = Vec::with_capacity(runs);
        let mut bytes = 0;
        // one warm-up request, not counted
        for i in 0..=runs {
            let (took, len) = fetch(&client, &app.base, &path, &token).await?;
            if i > 0 {
                lat.push(took);
                bytes = len;
            }
        }
        lat.sort();
        println!(
            "{label:<24} {:>9.1} {:>9.1} {:>9.1} {:>10}",
            ms(pct(&lat, 0.50)),
            ms(pct(&lat, 0.99)),
            ms(lat[0]),
            bytes
        );
    }
    Ok(())
}

/// One GET: how long it took and how long the answer was.
async fn fetch(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    token: &str,
) -> anyhow::Result<(Duration, usize)> {
    let t = Instant::now();
    let r = client
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await?;
    let status = r.status();
    let body = r.bytes().await?;
    if status != 200 {
        anyhow::bail!("{path}: {status}: {}", String::from_utf8_lossy(&body));
    }
    Ok((t.elapsed(), body.len()))
}

fn header_pct() {
    println!(
        "\n{:<24} {:>9} {:>9} {:>9} {:>10}",
        "request", "p50 ms", "p99 ms", "min ms", "bytes"
    );
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

async fn insert_all<E, A>(db: &impl ConnectionTrait, rows: Vec<A>) -> anyhow::Result<()>
where
    E: EntityTrait,
    A: sea_orm::ActiveModelTrait<Entity = E> + Clone + Send,
{
    for chunk in rows.chunks(BATCH) {
        E::insert_many(chunk.to_vec()).exec(db).await?;
    }
    Ok(())
}

/// The year: orders, jobs, clock intervals, estimates, payments,
/// appointments, responses and cases. Answers the rows written.
#[allow(clippy::too_many_arguments)]
async fn load_year(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    fleet: &Loaded,
    advisors: &[Uuid],
    techs: &[Uuid],
    first: NaiveDate,
    last: NaiveDate,
    per_day: usize,
) -> anyhow::Result<usize> {
    let tz = chrono_tz::Asia::Shanghai;
    let codes = [
        "MAINT-10K",
        "MAINT-20K",
        "BRAKE-F",
        "BRAKE-R",
        "TYRE-ROT",
        "AC-CLEAN",
        "WIPER",
        "BATTERY",
    ];
    let mut total = 0;
    let mut k: usize = 0;
    let mut day = first;
    while day <= last {
        let mut orders = Vec::new();
        let mut jobs = Vec::new();
        let mut clocks = Vec::new();
        let mut estimates = Vec::new();
        let mut payments = Vec::new();
        let mut appts = Vec::new();
        let mut responses = Vec::new();
        let mut cases = Vec::new();
        for i in 0..per_day {
            k += 1;
            let slot = tz
                .from_local_datetime(&day.and_hms_opt(8, 0, 0).expect("a time"))
                .single()
                .expect("no gap")
                .with_timezone(&Utc)
                + chrono::Duration::minutes((i * 9) as i64);
            let arrived = slot;
            let reception = arrived + chrono::Duration::minutes(if i % 7 == 0 { 8 } else { 2 });
            let promised = arrived + chrono::Duration::hours(5);
            let delivered = arrived + chrono::Duration::minutes(240 + (i % 5) as i64 * 30);
            let v = (k * 7) % fleet.vehicles.len();
            let (customer, vehicle) = (fleet.customers[v], fleet.vehicles[v]);
            let order_id = Uuid::now_v7();
            let advisor = advisors[i % advisors.len()];
            let appt_id = (i % 4 != 3).then(Uuid::now_v7);
            let mk_appt =
                |id: Uuid, state: AppointmentState, ro: Option<Uuid>| appointment::ActiveModel {
                    id: Set(id),
                    dealer_id: Set(dealer_id),
                    customer_id: Set(customer),
                    vehicle_id: Set(vehicle),
                    slot_start: Set(slot),
                    duration_minutes: Set(60),
                    held_slots: Set(json!([])),
                    services: Set(json!([])),
                    concern: Set(None),
                    contact_phone: Set(fleet.phones[v].clone()),
                    source: Set(Source::Phone),
                    state: Set(state),
                    advisor_id: Set(Some(advisor)),
                    rescheduled_from: Set(None),
                    rescheduled_to: Set(None),
                    repair_order_id: Set(ro),
                    created_by: Set(advisor),
                    version: Set(1),
                    created_at: Set(slot - chrono::Duration::days(2)),
                    updated_at: Set(slot),
                };
            match appt_id {
                Some(a) => appts.push(mk_appt(a, AppointmentState::InService, Some(order_id))),
                None => appts.push(mk_appt(Uuid::now_v7(), AppointmentState::NoShow, None)),
            }
            orders.push(repair_order::ActiveModel {
                id: Set(order_id),
                dealer_id: Set(dealer_id),
                number: Set(order_number(day, i as i32 + 1)),
                customer_id: Set(customer),
                vehicle_id: Set(vehicle),
                appointment_id: Set(appt_id),
                advisor_id: Set(Some(advisor)),
                state: Set(OrderState::Closed),
                odometer_km: Set(Some(20_000)),
                fuel_level: Set(Some(50)),
                concerns: Set(json!(["保养"])),
                notes: Set(None),
                promised_at: Set(Some(promised)),
                arrived_at: Set(arrived),
                reception_started_at: Set(reception),
                walkaround: Set(None),
                health_check: Set(None),
                accepted_estimate: Set(Some(1)),
                estimate_versions: Set(1),
                qc_round: Set(if i % 25 == 0 { 2 } else { 1 }),
                qc_reworks: Set(if i % 25 == 0 { 1 } else { 0 }),
                qc_passed_level: Set(Some("final".into())),
                vat_basis_points: Set(1300),
                prices_include_vat: Set(true),
                washed_at: Set(Some(delivered)),
                delivered_at: Set(Some(delivered)),
                closed_at: Set(Some(delivered)),
                event_seq: Set(10),
                version: Set(10),
                created_by: Set(advisor),
                created_at: Set(arrived),
                updated_at: Set(delivered),
            });
            estimates.push(repair_order_estimate::ActiveModel {
                order_id: Set(order_id),
                version: Set(1),
                dealer_id: Set(dealer_id),
                content: Set(json!({"order_number": "", "lines": [], "totals": {}})),
                sha256: Set("0".repeat(64)),
                created_by: Set(advisor),
                created_at: Set(reception),
                accepted_at: Set(Some(reception + chrono::Duration::minutes(10))),
                accepted_by: Set(Some(advisor)),
                signature: Set(None),
            });
            let mut start = reception + chrono::Duration::minutes(20);
            for n in 0..2 {
                let job_id = Uuid::now_v7();
                let tech = techs[(k + n) % techs.len()];
                let code = codes[(k + n * 3) % codes.len()];
                let minutes = 50 + ((k + n) % 4) as i64 * 20;
                jobs.push(repair_order_job::ActiveModel {
                    id: Set(job_id),
                    dealer_id: Set(dealer_id),
                    order_id: Set(order_id),
                    menu_code: Set(Some(code.into())),
                    description: Set(code.into()),
                    labour_centihours: Set(100 + (n as i32) * 50),
                    labour_rate_cents: Set(30_000),
                    package_price_cents: Set(None),
                    skill: Set(Skill::Mechanical),
                    pay_type: Set(if k.is_multiple_of(10) { PayType::Warranty } else { PayType::Customer }),
                    parts: Set(json!([{"part_number": "P-1", "name": "机油", "quantity": "4.5", "unit_price_cents": 6800}])),
                    origin: Set(JobOrigin::Estimate),
                    approval: Set(Approval::Estimate),
                    approval_by: Set(None),
                    approval_at: Set(None),
                    approval_channel: Set(None),
                    approval_note: Set(None),
                    health_item_code: Set(None),
                    state: Set(RepairJobState::Done),
                    technician_id: Set(Some(tech)),
                    priority: Set(Priority::Normal),
                    dispatched_at: Set(Some(start)),
                    diagnosis: Set(None),
                    version: Set(5),
                    created_at: Set(reception),
                    updated_at: Set(delivered),
                });
                clocks.push(clock_interval::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    dealer_id: Set(dealer_id),
                    order_id: Set(order_id),
                    job_id: Set(job_id),
                    technician_id: Set(tech),
                    started_at: Set(start),
                    ended_at: Set(Some(start + chrono::Duration::minutes(minutes))),
                    end_reason: Set(Some(ClockOff::Done)),
                    note: Set(None),
                });
                start += chrono::Duration::minutes(minutes);
            }
            payments.push(payment::ActiveModel {
                id: Set(Uuid::now_v7()),
                dealer_id: Set(dealer_id),
                order_id: Set(order_id),
                method: Set(PaymentMethod::Wechat),
                amount_cents: Set(120_000),
                received_by: Set(advisor),
                at: Set(delivered),
            });
            if k.is_multiple_of(3) {
                let response = Uuid::now_v7();
                responses.push(csi_response::ActiveModel {
                    id: Set(response),
                    dealer_id: Set(dealer_id),
                    order_id: Set(order_id),
                    customer_id: Set(customer),
                    source: Set("survey".into()),
                    questionnaire_version: Set(0),
                    answers: Set(json!([])),
                    recommend: Set(Some(9)),
                    comment: Set(None),
                    quick_rating: Set(None),
                    csi_tenths: Set(Some(700 + (k % 300) as i32)),
                    sections: Set(json!([])),
                    created_at: Set(delivered + chrono::Duration::days(2)),
                });
                if k.is_multiple_of(51) {
                    cases.push(case::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        dealer_id: Set(dealer_id),
                        customer_id: Set(customer),
                        vehicle_id: Set(Some(vehicle)),
                        order_id: Set(Some(order_id)),
                        response_id: Set(Some(response)),
                        enquiry_id: Set(None),
                        source: Set(CaseSource::LowScore),
                        category: Set(CaseCategory::ALL[k % CaseCategory::ALL.len()]),
                        severity: Set(Severity::Medium),
                        owner_id: Set(None),
                        state: Set(if k.is_multiple_of(2) {
                            CaseState::Open
                        } else {
                            CaseState::Verified
                        }),
                        summary: Set(None),
                        contact_due_at: Set(delivered + chrono::Duration::days(3)),
                        resolve_due_at: Set(delivered + chrono::Duration::days(10)),
                        escalated_at: Set(None),
                        version: Set(1),
                        created_at: Set(delivered + chrono::Duration::days(2)),
                        updated_at: Set(delivered + chrono::Duration::days(2)),
                    });
                }
            }
        }
        total += orders.len()
            + jobs.len()
            + clocks.len()
            + estimates.len()
            + payments.len()
            + appts.len()
            + responses.len()
            + cases.len();
        insert_all(db, orders).await?;
        insert_all(db, appts).await?;
        insert_all(db, jobs).await?;
        insert_all(db, clocks).await?;
        insert_all(db, estimates).await?;
        insert_all(db, payments).await?;
        insert_all(db, responses).await?;
        insert_all(db, cases).await?;
        if day.day() == 1 && day.month() == 1 {
            eprint!(".");
        }
        day = day.succ_opt().expect("a next day");
    }
    Ok(total)
}
