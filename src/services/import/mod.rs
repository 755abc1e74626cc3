//! The customer import: a legacy DMS export or a dealer's own spreadsheet, one
//! customer and (optionally) one vehicle per row. The file is CSV in UTF-8 (with
//! or without BOM), UTF-16 with BOM or GB18030 (GBK, GB2312), or an Excel
//! workbook (.xlsx, .xls). Valid rows are kept, bad rows reported by line with
//! every reason; a re-run finds what it created before (by phone and by VIN)
//! and adds nothing.
//!
//! Reading the file into rows of text is in `read.rs`; this module imports the
//! rows and writes the report of those it rejected.
//!
//! Rows are imported in batches, one transaction per batch and a savepoint per
//! row: a bad row is undone alone, and a batch never holds the database (on
//! SQLite, its only writer) for long. A dry run writes nothing at all: it
//! remembers in memory what a real run would have created, so its counts are
//! those of a real run and it takes no write lock.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, Set, SqlErr, TransactionTrait,
};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::FieldErrors;
use crate::domain::customer::Locale;
use crate::domain::import::{self as rules, VEHICLE_COLUMNS, column_of};
use crate::entities::{customer, vehicle};
use crate::services::{customers, vehicles};

mod read;

pub use crate::domain::FieldError as Reason;
pub use crate::domain::import::parse_birthday;
pub use read::{ReadError, ReadOptions, Table, decode, read_file};

/// Rows per transaction.
pub const BATCH: usize = 500;

/// Rejected rows an import job keeps for its report; the count goes on.
pub const MAX_REPORTED: usize = 5_000;
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub customers_created: usize,
    pub customers_existing: usize,
    pub vehicles_created: usize,
    pub vehicles_existing: usize,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.customers_created += o.customers_created;
        self.customers_existing += o.customers_existing;
        self.vehicles_created += o.vehicles_created;
        self.vehicles_existing += o.vehicles_existing;
    }
}

/// A row that was not imported: where it is, what it said, and why.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Rejected {
    /// Line in the file (row in the sheet), counting the header as line 1.
    pub line: u64,
    /// `[header, value]` pairs as read, in the file's order.
    pub values: Vec<(String, String)>,
    pub reasons: Vec<Reason>,
}

impl Rejected {
    /// Every reason in one line, in `locale`.
    pub fn describe(&self, locale: Locale) -> String {
        let sep = match locale {
            Locale::ZhCn => "；",
            Locale::En => "; ",
        };
        self.reasons
            .iter()
            .map(|r| rules::describe(r, locale))
            .collect::<Vec<_>>()
            .join(sep)
    }
}

#[derive(Debug, Default, Serialize)]
pub struct ImportReport {
    pub rows: usize,
    pub encoding: String,
    #[serde(flatten)]
    pub counts: Counts,
    pub rejected: Vec<Rejected>,
    pub dry_run: bool,
}

/// What a dry run would have created, so that later rows see it as a real
/// run would see the rows it wrote.
#[derive(Debug, Default)]
pub struct DryRun {
    customers: HashMap<String, Uuid>,
    vins: HashMap<String, Uuid>,
    plates: HashSet<String>,
}

/// Imports a whole table (the CLI): batch after batch, each committed, or in a
/// dry run nothing written. `progress(done, total)` is called after each batch.
pub async fn import_customers(
    db: &DatabaseConnection,
    dealer_id: Uuid,
    table: &Table,
    dry_run: bool,
    now: DateTime<Utc>,
    mut progress: impl FnMut(usize, usize),
) -> anyhow::Result<ImportReport> {
    let total = table.rows.len();
    let mut report = ImportReport {
        rows: total,
        encoding: table.encoding.clone(),
        dry_run,
        ..Default::default()
    };
    let mut dry = dry_run.then(DryRun::default);
    let mut start = 0;
    while start < total {
        let end = (start + BATCH).min(total);
        let txn = db.begin().await?;
        let batch = import_rows(&txn, dealer_id, table, start..end, now, dry.as_mut()).await?;
        txn.commit().await?;
        report.counts.add(&batch.counts);
        report.rejected.extend(batch.rejected);
        refresh_statistics(db, start / BATCH + 1).await?;
        progress(end, total);
        start = end;
    }
    if total == 0 {
        progress(0, 0);
    }
    Ok(report)
}

/// On PostgreSQL, refreshes the planner's statistics of the archive after
/// batches 1, 2, 4, 8… of an import. Why: a dealer's first import fills tables
/// the planner last saw empty, and the generic plan it caches for "customer by
/// (dealer, phone)" then walks every customer of the dealer through the
/// (dealer, id) index instead of the unique one: each lookup grows with the
/// archive, and 20,000 rows took a minute. ANALYZE invalidates those plans.
pub async fn refresh_statistics(
    db: &DatabaseConnection,
    batch_no: usize,
) -> Result<(), sea_orm::DbErr> {
    use sea_orm::ConnectionTrait;
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres && batch_no.is_power_of_two()
    {
        // another ANALYZE or a VACUUM on them: skipped, not waited for
        db.execute_unprepared("ANALYZE (SKIP_LOCKED) customers, vehicles")
            .await?;
    }
    Ok(())
}

/// The outcome of some rows.
#[derive(Debug, Default)]
pub struct Batch {
    pub counts: Counts,
    pub rejected: Vec<Rejected>,
}

/// Imports `table.rows[range]` inside `txn`, a savepoint per row; the caller
/// commits (with its own bookkeeping in the same transaction). With `dry`,
/// nothing is written.
pub async fn import_rows(
    txn: &DatabaseTransaction,
    dealer_id: Uuid,
    table: &Table,
    range: Range<usize>,
    now: DateTime<Utc>,
    mut dry: Option<&mut DryRun>,
) -> Result<Batch, sea_orm::DbErr> {
    let index: Vec<Option<&'static str>> = table.headers.iter().map(|h| column_of(h)).collect();
    let mut batch = Batch::default();
    for (line, cells) in &table.rows[range] {
        let row = Row {
            get: index
                .iter()
                .zip(cells.iter())
                .filter_map(|(k, v)| k.map(|k| (k, v.as_str())))
                .collect(),
        };
        let outcome = match dry.as_deref_mut() {
            Some(d) => import_row(txn, dealer_id, &row, now, Some(d)).await,
            None => {
                // a phone or VIN another import (another instance's job, the
                // CLI) inserted between this row's look-up and its insert is a
                // unique clash: once it is committed, a second try finds it
                let mut tries = 0;
                loop {
                    let sp = txn.begin().await?;
                    let r = import_row(&sp, dealer_id, &row, now, None).await;
                    if r.is_ok() {
                        sp.commit().await?;
                    } else {
                        sp.rollback().await?;
                    }
                    tries += 1;
                    let clashed = r.as_ref().is_err_and(|e| {
                        e.0.iter()
                            .any(|f| f.field == "database" && f.message == WRITTEN_MEANWHILE)
                    });
                    if !clashed || tries == 2 {
                        break r;
                    }
                }
            }
        };
        match outcome {
            Ok(c) => batch.counts.add(&c),
            Err(reasons) => batch.rejected.push(Rejected {
                line: *line,
                values: table
                    .headers
                    .iter()
                    .cloned()
                    .zip(
                        cells
                            .iter()
                            .cloned()
                            .chain(std::iter::repeat(String::new())),
                    )
                    .collect(),
                reasons: reasons.0,
            }),
        }
    }
    Ok(batch)
}

/// Why a row clashed on a unique phone, VIN or plate that was not there when
/// the row was looked up.
const WRITTEN_MEANWHILE: &str =
    "its phone, VIN or plate was saved by someone else at the same moment; import the row again";

struct Row<'a> {
    get: HashMap<&'static str, &'a str>,
}

impl Row<'_> {
    fn text(&self, k: &str) -> Option<String> {
        self.get
            .get(k)
            .map(|v| rules::unescape_cell(v.trim()))
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }

    fn date(&self, k: &'static str, e: &mut FieldErrors) -> Option<NaiveDate> {
        let v = self.text(k)?;
        let d = rules::parse_date(&v);
        if d.is_none() {
            e.add(k, format!("'{v}' is not a date (YYYY-MM-DD)"));
        }
        d
    }

    fn number<T: std::str::FromStr>(&self, k: &'static str, e: &mut FieldErrors) -> Option<T> {
        let v = self.text(k)?;
        let clean = v.replace(',', "");
        // Excel may hand over 2020 as "2020.0"
        let clean = clean.strip_suffix(".0").unwrap_or(&clean);
        let n = clean.parse().ok();
        if n.is_none() {
            e.add(k, format!("'{v}' is not a number"));
        }
        n
    }

    fn has_vehicle(&self) -> bool {
        VEHICLE_COLUMNS.iter().any(|k| self.text(k).is_some())
    }
}

/// One row: every problem of the row is gathered before anything is written,
/// then the customer (matched by phone) and the vehicle (matched by VIN).
async fn import_row(
    txn: &DatabaseTransaction,
    dealer_id: Uuid,
    row: &Row<'_>,
    now: DateTime<Utc>,
    mut dry: Option<&mut DryRun>,
) -> Result<Counts, FieldErrors> {
    let mut e = FieldErrors::new();
    let birthday = row
        .text("birthday")
        .and_then(|b| e.check("birthday", parse_birthday(&b)));
    let new_customer = customers::NewCustomer {
        name: row.text("name").unwrap_or_default(),
        phone: row.text("phone").unwrap_or_default(),
        email: row.text("email"),
        preferred_channel: None,
        locale: None,
        birthday,
        consents: vec![],
        tags: vec![],
        notes: None,
    };
    let customer_am = customers::validate_new(&new_customer, dealer_id, now)
        .map_err(|c| e.0.extend(c.0))
        .ok();
    let vehicle_am = if row.has_vehicle() {
        let new_vehicle = vehicles::NewVehicle {
            customer_id: Uuid::nil(),
            vin: row.text("vin").unwrap_or_default(),
            plate: row.text("plate"),
            make: row.text("make").unwrap_or_default(),
            model: row.text("model").unwrap_or_default(),
            model_year: row.number("model_year", &mut e),
            purchase_date: row.date("purchase_date", &mut e),
            first_registration_date: row.date("first_registration_date", &mut e),
            inspection_due: row.date("inspection_due", &mut e),
            compulsory_insurance_expiry: row.date("compulsory_insurance_expiry", &mut e),
            commercial_insurance_expiry: row.date("commercial_insurance_expiry", &mut e),
            last_service_date: row.date("last_service_date", &mut e),
            last_service_km: row.number("last_service_km", &mut e),
        };
        vehicles::validate_new(&new_vehicle, dealer_id, now)
            .map_err(|v| e.0.extend(v.0))
            .ok()
    } else {
        None
    };
    let (Some(customer_am), true) = (customer_am, e.is_empty()) else {
        return Err(e);
    };
    let db_err = |err: sea_orm::DbErr| match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            FieldErrors::single("database", WRITTEN_MEANWHILE)
        }
        _ => FieldErrors::single("database", err.to_string()),
    };

    // validate_new always sets phone, VIN and plate; read them without a panic
    // all the same, as a worker that panics stops every later job
    let Some(phone) = customer_am.phone.try_as_ref().cloned() else {
        return Err(FieldErrors::single("phone", "must not be empty"));
    };
    let known = dry.as_ref().and_then(|d| d.customers.get(&phone).copied());
    let customer_id = match known {
        Some(id) => Some(id),
        None => customer::Entity::find()
            .filter(customer::Column::DealerId.eq(dealer_id))
            .filter(customer::Column::Phone.eq(phone.as_str()))
            .one(txn)
            .await
            .map_err(db_err)?
            .map(|c| c.id),
    };
    let mut counts = Counts::default();
    let mut new_vehicle = None;
    if let Some(mut vehicle_am) = vehicle_am {
        let Some(vin) = vehicle_am.vin.try_as_ref().cloned() else {
            return Err(FieldErrors::single("vin", "must not be empty"));
        };
        let known = dry.as_ref().and_then(|d| d.vins.get(&vin).copied());
        let owner = match known {
            Some(owner) => Some(owner),
            None => vehicle::Entity::find()
                .filter(vehicle::Column::DealerId.eq(dealer_id))
                .filter(vehicle::Column::Vin.eq(vin.as_str()))
                .one(txn)
                .await
                .map_err(db_err)?
                .map(|v| v.customer_id),
        };
        match owner {
            Some(owner) if Some(owner) == customer_id => counts.vehicles_existing = 1,
            Some(_) => {
                return Err(FieldErrors::single(
                    "vin",
                    format!("{vin} belongs to another customer"),
                ));
            }
            None => {
                if let Some(plate) = vehicle_am.plate.try_as_ref().cloned().flatten() {
                    let clash = dry.as_ref().is_some_and(|d| d.plates.contains(&plate))
                        || vehicle::Entity::find()
                            .filter(vehicle::Column::DealerId.eq(dealer_id))
                            .filter(vehicle::Column::Plate.eq(plate.as_str()))
                            .one(txn)
                            .await
                            .map_err(db_err)?
                            .is_some();
                    if clash {
                        return Err(FieldErrors::single(
                            "plate",
                            format!("{plate} is already on another vehicle"),
                        ));
                    }
                }
                counts.vehicles_created = 1;
                vehicle_am.customer_id = Set(customer_id.unwrap_or_default());
                new_vehicle = Some((vin, vehicle_am));
            }
        }
    }
    // checks are done: write (or, in a dry run, remember) what is new
    let customer_id = match customer_id {
        Some(id) => {
            counts.customers_existing = 1;
            id
        }
        None => {
            counts.customers_created = 1;
            match dry.as_deref_mut() {
                Some(d) => {
                    let id = Uuid::now_v7();
                    d.customers.insert(phone, id);
                    id
                }
                None => {
                    let m = customer_am.insert(txn).await.map_err(db_err)?;
                    // the consents it came with (none today: the file has no
                    // consent column) go to the history like any other
                    customers::record_initial_consents(txn, &m, None, now)
                        .await
                        .map_err(|e| FieldErrors::single("database", e.to_string()))?;
                    m.id
                }
            }
        }
    };
    if let Some((vin, mut vehicle_am)) = new_vehicle {
        vehicle_am.customer_id = Set(customer_id);
        match dry {
            Some(d) => {
                if let Some(p) = vehicle_am.plate.try_as_ref().cloned().flatten() {
                    d.plates.insert(p);
                }
                d.vins.insert(vin, customer_id);
            }
            None => {
                vehicle_am.insert(txn).await.map_err(db_err)?;
            }
        }
    }
    Ok(counts)
}

/// The rejected rows as a CSV a person fixes in Excel and imports again: the
/// line, every reason, then the row's own columns as read (the importer
/// ignores the first two, so the fixed file imports as it is). UTF-8 with a
/// BOM, so that Excel shows the Chinese.
pub fn report_csv(rejected: &[Rejected], locale: Locale) -> Vec<u8> {
    let (line, reasons) = match locale {
        Locale::ZhCn => ("行号", "原因"),
        Locale::En => ("line", "reasons"),
    };
    let mut out = Vec::from(UTF8_BOM);
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let headers: Vec<&str> = rejected
            .first()
            .map(|r| r.values.iter().map(|(h, _)| h.as_str()).collect())
            .unwrap_or_default();
        // writing to a Vec cannot fail
        let _ = w.write_record([line, reasons].into_iter().chain(headers));
        for r in rejected {
            let _ = w.write_record(
                [r.line.to_string(), r.describe(locale)].into_iter().chain(
                    r.values
                        .iter()
                        .map(|(_, v)| rules::csv_safe(v).into_owned()),
                ),
            );
        }
        let _ = w.flush();
    }
    out
}

pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The bytes of a text file with each CRLF written LF. The csv crate
/// numbers a record after a CRLF before it has read the LF, one line too
/// low; with LF endings the line it names is the line a person sees.
pub fn lf_lines(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !bytes.windows(2).any(|w| w == b"\r\n") {
        return std::borrow::Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod line_tests {
    /// The line each record of `text` starts on, as the csv crate counts it.
    fn lines(text: &[u8]) -> Vec<u64> {
        csv::ReaderBuilder::new()
            .from_reader(&*super::lf_lines(text))
            .records()
            .map(|r| r.unwrap().position().unwrap().line())
            .collect()
    }

    #[test]
    fn crlf_files_name_the_same_lines_as_lf_files() {
        let lf = b"a,b\n1,2\n\"x\ny\",3\n4,5\n";
        let crlf = b"a,b\r\n1,2\r\n\"x\r\ny\",3\r\n4,5\r\n";
        assert_eq!(lines(lf), [2, 3, 5]);
        assert_eq!(lines(crlf), [2, 3, 5]);
        // a lone CR stays
        assert_eq!(&*super::lf_lines(b"a\rb\r\n"), b"a\rb\n");
    }
}
