//! Reading an import file into rows of text: CSV in UTF-8 (with or without
//! BOM), UTF-16 with BOM or GB18030 (GBK, GB2312), decoded strictly, or an
//! Excel workbook (.xlsx, .xls). No database here.

use encoding_rs::{DecoderResult, Encoding, GB18030, UTF_8};

use crate::domain::import::{self as rules, REQUIRED, column_of};

/// Columns a file may have (Excel's old limit). A rejected row is reported
/// with every column of the header, so without a bound a 20 KB file (a header
/// of 20,000 empty columns, 200 short bad rows) grew to 100 MB of report and
/// 2.4 GB of memory.
pub const MAX_COLUMNS: usize = 256;

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
    let lf = super::lf_lines(text.as_bytes());
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(&*lf);
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
