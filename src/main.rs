//! The `servicelane` command: serve (default), migrate, admin, import.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use servicelane::clock::{SharedClock, SystemClock};
use servicelane::config::Settings;
use servicelane::domain::Role;
use servicelane::domain::customer::Locale;
use servicelane::domain::repair_order::Skill;
use servicelane::services::{auth, dealers, import, repair_orders};
use servicelane::startup::{Application, CareWorker, build_state};
use servicelane::{db, telemetry};

#[derive(Parser)]
#[command(
    name = "servicelane",
    version,
    about = "After-sales service backend for car dealers"
)]
struct Cli {
    /// Folder with default.toml and <profile>.toml.
    #[arg(
        long,
        global = true,
        default_value = "config",
        env = "SERVICELANE_CONFIG_DIR"
    )]
    config_dir: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default), with the outbox dispatcher beside it.
    Serve {
        /// Serve the API only; another process runs `servicelane care worker`.
        #[arg(long)]
        no_care: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    #[command(subcommand)]
    Admin(Admin),
    #[command(subcommand)]
    Import(Import),
    #[command(subcommand)]
    Care(Care),
    /// Print the OpenAPI document (what is committed as `openapi.json`).
    Openapi,
}

#[derive(Subcommand)]
enum Admin {
    /// Create a dealer.
    CreateDealer {
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "Asia/Shanghai")]
        timezone: String,
    },
    /// Create a staff user; the password is read from standard input.
    CreateUser {
        #[arg(long)]
        dealer: String,
        #[arg(long)]
        username: String,
        /// A role name such as service_advisor; repeat for more.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// A skill for dispatch (mechanical, body_paint, electrical); repeat for more.
        #[arg(long = "skill")]
        skills: Vec<String>,
    },
}

#[derive(Subcommand)]
enum Care {
    /// Run only the care engine, the outbox dispatcher and the planner (no
    /// API), until interrupted.
    Worker,
    /// Print, one JSON object a line, what the care planner would write for
    /// a dealer's local date (kind, customer_id, vehicle_id, occurrence_key,
    /// channels, send_at), writing nothing.
    Preview {
        #[arg(long)]
        dealer: String,
        /// The local date, YYYY-MM-DD.
        #[arg(long)]
        date: chrono::NaiveDate,
    },
}

#[derive(Subcommand)]
enum Import {
    /// Import customers and vehicles from a DMS export (CSV in UTF-8, UTF-16 or
    /// GB18030, or an .xlsx / .xls workbook; one row each).
    Customers {
        file: PathBuf,
        #[arg(long)]
        dealer: String,
        /// Check every row and report, change nothing.
        #[arg(long)]
        dry_run: bool,
        /// The file's encoding (utf-8, gb18030, gbk, utf-16le…), overriding the guess.
        #[arg(long)]
        encoding: Option<String>,
        /// The workbook's sheet to read (default: the first).
        #[arg(long)]
        sheet: Option<String>,
        /// Write every rejected row, its line and reasons to this CSV file.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Language of the reasons: zh-CN (default) or en.
        #[arg(long, default_value = "zh-CN")]
        locale: String,
    },
}

fn main() {
    let cli = Cli::parse();
    let settings = match Settings::load(&cli.config_dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("servicelane: {e}");
            std::process::exit(2);
        }
    };
    telemetry::init_logging(&settings.log.filter);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("servicelane: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = rt.block_on(run(
        cli.command.unwrap_or(Command::Serve { no_care: false }),
        settings,
    )) {
        eprintln!("servicelane: {e:#}");
        std::process::exit(1);
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    let clock: SharedClock = Arc::new(SystemClock);
    match command {
        Command::Serve { no_care } => {
            let mut settings = settings;
            if no_care {
                settings.care.dispatcher = false;
                settings.care.planner.enabled = false;
                settings.privacy.retention.enabled = false;
            }
            let app = Application::build(settings.clone(), clock).await?;
            tracing::info!(
                profile = settings.profile.as_str(),
                "servicelane listening on http://{}:{} (docs at /docs)",
                settings.server.host,
                app.port()
            );
            app.run_until_stopped().await?;
        }
        Command::Care(Care::Worker) => {
            let state = build_state(settings, clock).await?;
            let worker = CareWorker::start(state)?;
            tokio::signal::ctrl_c().await?;
            tracing::info!("stopping the outbox dispatcher");
            worker.stop().await;
        }
        Command::Care(Care::Preview { dealer, date }) => {
            let state = build_state(settings, clock).await?;
            let mut out = std::io::stdout().lock();
            for p in servicelane::care::planner::preview(&state, &dealer, date).await? {
                use std::io::Write;
                writeln!(out, "{}", serde_json::to_string(&p)?)?;
            }
        }
        Command::Openapi => {
            print!("{}", servicelane::api::Contract::new().json());
        }
        Command::Migrate => {
            let conn = db::connect(&settings).await?;
            db::migrate(&conn).await?;
            println!("migrations applied");
        }
        Command::Admin(Admin::CreateDealer {
            code,
            name,
            timezone,
        }) => {
            let state = build_state(settings, clock.clone()).await?;
            let d = dealers::create_dealer(&state.db, &code, &name, &timezone, clock.now()).await?;
            println!("dealer {} created ({})", d.code, d.id);
        }
        Command::Admin(Admin::CreateUser {
            dealer,
            username,
            roles,
            skills,
        }) => {
            let state = build_state(settings, clock.clone()).await?;
            let roles = roles
                .iter()
                .map(|r| Role::parse(r).ok_or_else(|| anyhow::anyhow!("unknown role '{r}'")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let skills = skills
                .iter()
                .map(|s| {
                    s.parse::<Skill>()
                        .map_err(|_| anyhow::anyhow!("unknown skill '{s}'"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let d = auth::dealer_by_code(&state, &dealer)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no dealer '{dealer}'"))?;
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']).to_string();
            let u = dealers::create_user(
                &state.db,
                &state.passwords,
                d.id,
                &username,
                &roles,
                password,
                clock.now(),
            )
            .await?;
            if !skills.is_empty() {
                repair_orders::workshop::store_skills(&state.db, u.id, &skills, clock.now())
                    .await?;
            }
            println!("user {} created in {} ({})", u.username, d.code, u.id);
        }
        Command::Import(Import::Customers {
            file,
            dealer,
            dry_run,
            encoding,
            sheet,
            report: report_path,
            locale,
        }) => {
            let locale: Locale = locale
                .parse()
                .map_err(|e| anyhow::anyhow!("--locale: {e}"))?;
            let state = build_state(settings, clock.clone()).await?;
            let d = auth::dealer_by_code(&state, &dealer)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no dealer '{dealer}'"))?;
            let bytes =
                std::fs::read(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let table = import::read_file(&bytes, &import::ReadOptions { encoding, sheet })
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows {elapsed}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let report = import::import_customers(
                &state.db,
                d.id,
                &table,
                dry_run,
                clock.now(),
                |done, total| {
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                },
            )
            .await?;
            bar.finish_and_clear();
            let c = report.counts;
            println!(
                "{}{} rows ({}): {} customers created, {} already there; {} vehicles created, {} already there; {} rejected",
                if report.dry_run {
                    "dry run, nothing saved: "
                } else {
                    ""
                },
                report.rows,
                report.encoding,
                c.customers_created,
                c.customers_existing,
                c.vehicles_created,
                c.vehicles_existing,
                report.rejected.len()
            );
            for r in &report.rejected {
                println!("line {}: {}", r.line, r.describe(locale));
            }
            if let Some(path) = report_path {
                std::fs::write(&path, import::report_csv(&report.rejected, locale))
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                println!("rejected rows written to {}", path.display());
            }
        }
    }
    Ok(())
}
