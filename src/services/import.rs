//! The customer import: a legacy DMS export or a dealer's own spreadsheet, one
//! customer and (optionally) one vehicle per row. The file is CSV in UTF-8 (with
//! or without BOM), UTF-16 with BOM or GB18030 (GBK, GB2312), or an Excel
//! workbook (.xlsx, .xls). Valid rows are kept, bad rows reported by line with
//! every reason; a re-run finds what it created before (by phone and by VIN)
//! and adds nothing.
//!
//! Rows are imported in batches, one transaction per batch and a savepoint per
//! row: a bad row is undone alone, and a batch never holds the database (on
//! SQLite, its only writer) for long. A dry run writes nothing at all: it
//! remembers in memory what a real run would have created, so its counts are
//! those of a real run and it takes no write lock.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use chrono::{DateTime, NaiveDate, Utc};
use encoding_rs::{DecoderResult, Encoding, GB18030, UTF_8};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, Set, SqlErr, TransactionTrait,
};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::FieldErrors;
use crate::domain::customer::Locale;
use crate::domain::import::{self as rules, REQUIRED, VEHICLE_COLUMNS, column_of};
use crate::entities::{customer, vehicle};
use crate::services::{customers, vehicles};

pub use crate::domain::FieldError as Reason;
pub use crate::domain::import::parse_birthday;

/// Rows per transaction.
pub const BATCH: usize = 500;

/// Columns a file may have (Excel's old limit). A rejected row is reported
/// with every column of the header, so without a bound a 20 KB file (a header
/// of 20,000 empty columns, 200 short bad rows) grew to 100 MB of report and
/// 2.4 GB of memory.
pub const MAX_COLUMNS: usize = 256;

/// Rejected rows an import job keeps for its report; the count goes on.
pub const MAX_REPORTED: usize = 5_000;

/// How to read the file: an encoding label overriding the guess
/// (`utf-8`, `gbk`, `gb18030`, `utf-16le`…), a sheet overriding the first.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub encoding: Option<String>,
    pub sheet: Option<String>,
}

/// The file as rows of text, whatever it was.
#[derive(Debug, Clone)]
pub struct Table {
    pub headers: Vec<String>,
    /// (line in the file or row in the sheet, counting the header as 1; cells)
    pub rows: Vec<(u64, Vec<String>)>,
    /// `UTF-8`, `UTF-8 (BOM)`, `UTF-16LE (BOM)`, `GB18030`, … or `xlsx` / `xls`.
    pub encoding: String,
}

/// Why a file cannot be read at all; `field()` names the input to blame.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(
        "line {line}, byte {column}: byte 0x{byte:02X} cannot be read as {tried} (offset {offset} in the file); save it as UTF-8 or name its encoding"
    )]
    Decode {
        line: u64,
        column: u64,
        offset: usize,
        byte: u8,
        tried: String,
    },
    #[error("unknown encoding '{0}' (try utf-8, gb18030, gbk or utf-16le)")]
    UnknownEncoding(String),
    #[error("the workbook has no sheet named '{name}' (it has: {available})")]
    NoSheet { name: String, available: String },
    #[error("{0}")]
    Unreadable(String),
    #[error("the header has no '{0}' column")]
    MissingColumn(&'static str),
}

impl ReadError {
    /// The input the problem is in.
    pub fn field(&self) -> &'static str {
        match self {
            ReadError::UnknownEncoding(_) => "encoding",
            ReadError::NoSheet { .. } => "sheet",
            _ => "file",
        }
    }
}

/// Reads a CSV file or a workbook (told apart by their first bytes).
pub fn read_file(bytes: &[u8], opts: &ReadOptions) -> Result<Table, ReadError> {
    const XLS: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    let table = if bytes.starts_with(b"PK\x03\x04") {
        read_workbook(bytes, opts, "xlsx")?
    } else if bytes.starts_with(XLS) {
        read_workbook(bytes, opts, "xls")?
    } else {
        let (text, encoding) = decode(bytes, opts.encoding.as_deref())?;
        read_csv(&text, encoding)?
    };
    // each rejected row is reported with every column of the header
    if table.headers.len() > MAX_COLUMNS {
        return Err(ReadError::Unreadable(format!(
            "the header has {} columns; at most {MAX_COLUMNS} are read",
            table.headers.len()
        )));
    }
    for required in REQUIRED {
        if !table
            .headers
            .iter()
            .any(|h| column_of(h) == Some(*required))
        {
            return Err(ReadError::MissingColumn(required));
        }
    }
    Ok(table)
}

/// Decodes the file: the encoding named, else the one its BOM names, else
/// UTF-8, else GB18030. Nothing is replaced: a byte that fits none of them
/// stops the import, named by line and position.
pub fn decode(bytes: &[u8], label: Option<&str>) -> Result<(String, String), ReadError> {
    if let Some(label) = label.map(str::trim).filter(|l| !l.is_empty()) {
        let enc = Encoding::for_label(label.as_bytes())
            .ok_or_else(|| ReadError::UnknownEncoding(label.to_string()))?;
        // a BOM of the encoding named is not part of the text
        let skip = match Encoding::for_bom(bytes) {
            Some((e, len)) if e == enc => len,
            _ => 0,
        };
        return strict(enc, &bytes[skip..])
            .map(|t| (t, enc.name().to_string()))
            .map_err(|at| decode_error(bytes, skip + at, enc.name()));
    }
    if let Some((enc, len)) = Encoding::for_bom(bytes) {
        return strict(enc, &bytes[len..])
            .map(|t| (t, format!("{} (BOM)", enc.name())))
            .map_err(|at| decode_error(bytes, len + at, enc.name()));
    }
    let utf8 = match strict(UTF_8, bytes) {
        Ok(t) => return Ok((t, "UTF-8".into())),
        Err(at) => at,
    };
    let gb = match strict(GB18030, bytes) {
        Ok(t) => return Ok((t, "GB18030".into())),
        Err(at) => at,
    };
    // the encoding that read further is the likelier one, so its failure is
    // the byte a person should look at
    Err(decode_error(
        bytes,
        utf8.max(gb),
        "UTF-8, UTF-16 (with BOM) or GB18030",
    ))
}

/// The text, or the offset of the first byte that cannot be decoded.
fn strict(enc: &'static Encoding, bytes: &[u8]) -> Result<String, usize> {
    let mut decoder = enc.new_decoder_without_bom_handling();
    let cap = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .ok_or(0usize)?;
    let mut out = String::with_capacity(cap);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut out, true);
    match result {
        DecoderResult::InputEmpty => Ok(out),
        DecoderResult::Malformed(bad, consumed_after) => {
            Err(read.saturating_sub(bad as usize + consumed_after as usize))
        }
        DecoderResult::OutputFull => Err(read),
    }
}

fn decode_error(bytes: &[u8], offset: usize, tried: &str) -> ReadError {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() as u64 + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map(|p| p + 1)
        .unwrap_or(0);
    ReadError::Decode {
        line,
        column: (offset - line_start) as u64 + 1,
        offset,
        byte: bytes.get(offset).copied().unwrap_or(0),
        tried: tried.to_string(),
    }
}

fn read_csv(text: &str, encoding: String) -> Result<Table, ReadError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let bad = |e: csv::Error| ReadError::Unreadable(format!("not a CSV file: {e}"));
    let headers: Vec<String> = reader
        .headers()
        .map_err(bad)?
        .iter()
        .map(String::from)
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(bad)?;
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        rows.push((line, record.iter().map(String::from).collect()));
    }
    Ok(Table {
        headers,
        rows,
        encoding,
    })
}

fn read_workbook(bytes: &[u8], opts: &ReadOptions, kind: &str) -> Result<Table, ReadError> {
    use calamine::Reader;
    let unreadable = |e: &dyn std::fmt::Display| {
        ReadError::Unreadable(format!("not a readable {kind} workbook: {e}"))
    };
    let cursor = std::io::Cursor::new(bytes);
    let mut book = if kind == "xlsx" {
        // only xlsx among the zip formats: xlsb and ods would skip the extent check
        let mut x: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(cursor).map_err(|e| unreadable(&e))?;
        let sheet = opts
            .sheet
            .clone()
            .or_else(|| x.sheet_names().first().cloned());
        if let Some(sheet) = sheet {
            check_extent(&mut x, &sheet)?;
        }
        calamine::Sheets::Xlsx(x)
    } else {
        calamine::open_workbook_auto_from_rs(cursor).map_err(|e| unreadable(&e))?
    };
    let names = book.sheet_names();
    let sheet_name = opts
        .sheet
        .clone()
        .or_else(|| names.first().cloned())
        .unwrap_or_default();
    let range = match &opts.sheet {
        Some(name) => book.worksheet_range(name).map_err(|_| ReadError::NoSheet {
            name: name.clone(),
            available: names.join(", "),
        })?,
        None => book
            .worksheet_range_at(0)
            .ok_or_else(|| ReadError::Unreadable("the workbook has no sheet".into()))?
            .map_err(|e| ReadError::Unreadable(format!("the first sheet cannot be read: {e}")))?,
    };
    let first_row = range.start().map(|(r, _)| r as u64).unwrap_or(0);
    let mut rows = range
        .rows()
        .enumerate()
        .map(|(i, cells)| {
            (
                first_row + i as u64 + 1,
                cells.iter().map(cell_text).collect(),
            )
        })
        .filter(|(_, cells): &(u64, Vec<String>)| cells.iter().any(|c| !c.trim().is_empty()));
    let (_, headers) = rows.next().ok_or_else(|| {
        ReadError::Unreadable(format!(
            "the sheet '{sheet_name}' is empty (the workbook has: {})",
            names.join(", ")
        ))
    })?;
    Ok(Table {
        headers,
        rows: rows.collect(),
        encoding: kind.to_string(),
    })
}

/// The most cells a sheet may span, rows × columns from its first to its last
/// cell (4 million: 100,000 customers in 40 columns).
pub const MAX_SHEET_CELLS: u64 = 4_000_000;

/// Refuses a sheet that spans more than [`MAX_SHEET_CELLS`], reading its
/// cells once before calamine does: calamine allocates the whole grid from
/// the outermost cells, so one stray cell at XFD1048576 in a 1 KB file asks
/// for 512 GiB and aborts the process. A sheet that cannot be found is left
/// to the caller, which names the sheets there are.
fn check_extent<RS: std::io::Read + std::io::Seek>(
    book: &mut calamine::Xlsx<RS>,
    sheet: &str,
) -> Result<(), ReadError> {
    let Ok(mut cells) = book.worksheet_cells_reader(sheet) else {
        return Ok(());
    };
    let too_large = || {
        ReadError::Unreadable(format!(
            "the sheet '{sheet}' spans more than {MAX_SHEET_CELLS} cells (rows × columns from its first to its last cell); delete what lies far below or to the right of the list"
        ))
    };
    let (mut first, mut last) = ((u32::MAX, u32::MAX), (0, 0));
    let mut count = 0u64;
    loop {
        let cell = cells.next_cell().map_err(|e| {
            ReadError::Unreadable(format!("the sheet '{sheet}' cannot be read: {e}"))
        })?;
        let Some(cell) = cell else { return Ok(()) };
        if matches!(cell.get_value(), calamine::DataRef::Empty) {
            continue;
        }
        let (r, c) = cell.get_position();
        first = (first.0.min(r), first.1.min(c));
        last = (last.0.max(r), last.1.max(c));
        count += 1;
        let span = (u64::from(last.0 - first.0) + 1) * (u64::from(last.1 - first.1) + 1);
        if span > MAX_SHEET_CELLS || count > MAX_SHEET_CELLS {
            return Err(too_large());
        }
    }
}

/// A cell as the text a person sees: numbers stored as text stay as they are
/// (leading zeros kept), a whole number loses Excel's `.0`, a date cell is
/// `YYYY-MM-DD`.
fn cell_text(cell: &calamine::Data) -> String {
    use calamine::Data;
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Float(f) => rules::number_text(*f),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) if d.is_datetime() => {
            let (y, m, day, h, min, s, _) = d.to_ymd_hms_milli();
            if (h, min, s) == (0, 0, 0) {
                format!("{y:04}-{m:02}-{day:02}")
            } else {
                format!("{y:04}-{m:02}-{day:02} {h:02}:{min:02}:{s:02}")
            }
        }
        Data::DateTime(d) => rules::number_text(d.as_f64()),
        Data::Error(e) => format!("#{e:?}"),
    }
}

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
        db.execute_unprepared("ANALYZE customers, vehicles").await?;
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

    let phone = customer_am.phone.clone().unwrap();
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
        let vin = vehicle_am.vin.clone().unwrap();
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
                if let Some(plate) = vehicle_am.plate.clone().unwrap() {
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
                None => customer_am.insert(txn).await.map_err(db_err)?.id,
            }
        }
    };
    if let Some((vin, mut vehicle_am)) = new_vehicle {
        vehicle_am.customer_id = Set(customer_id);
        match dry {
            Some(d) => {
                if let Some(p) = vehicle_am.plate.clone().unwrap() {
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
