//! The customer export: one row per vehicle (a customer without one gets a row
//! of their own), in the columns the import reads, so that an export imported
//! again changes nothing. Pages through the archive by id (the keyset of the
//! customer list), so memory does not grow with the number of customers.

use std::collections::HashMap;

use actix_web::web::Bytes;
use chrono::{Datelike, NaiveDate};
use futures_util::Stream;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::Role;
use crate::domain::import::{COLUMNS, csv_safe, format_birthday};
use crate::domain::privacy::AccessAction;
use crate::entities::{customer, vehicle};
use crate::error::{AppError, AppResult};
use crate::services::customers::{self, birthday_of};
use crate::services::import::UTF8_BOM;
use crate::services::privacy::Looker;

/// Customers per page read from the database.
pub const PAGE: u64 = 500;

/// Who may export: managers, since the whole archive leaves the building in
/// one file (the same roles as capacity's `MANAGERS`, kept here so that a
/// change to who edits capacity does not silently change who exports).
pub const EXPORTERS: &[Role] = &[
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::DealerAdmin,
];

/// May `actor` export, filtered by `q` (a search their sight may use).
pub fn authorize(actor: &Actor, q: Option<&str>) -> AppResult<()> {
    actor.require(EXPORTERS)?;
    customers::check_search(actor, q)
}

/// The header row: the zh-CN names the import reads.
pub fn headers() -> Vec<&'static str> {
    COLUMNS.iter().map(|(_, label, _)| *label).collect()
}

/// A cell of an export row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Number(i64),
    Date(NaiveDate),
    Empty,
}

impl Value {
    fn text(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Date(d) => d.format("%Y-%m-%d").to_string(),
            Value::Empty => String::new(),
        }
    }
}

/// A mainland number as the 11 digits people type; others in E.164.
pub fn phone_text(e164: &str) -> String {
    e164.strip_prefix("+86")
        .filter(|n| n.len() == 11)
        .unwrap_or(e164)
        .to_string()
}

fn row(c: &customer::Model, v: Option<&vehicle::Model>) -> Vec<Value> {
    let text = |s: &str| Value::Text(s.to_string());
    let opt = |s: Option<&String>| s.map(|s| text(s)).unwrap_or(Value::Empty);
    let date = |d: Option<NaiveDate>| d.map(Value::Date).unwrap_or(Value::Empty);
    let birthday = birthday_of(c)
        .map(|b| Value::Text(format_birthday(&b)))
        .unwrap_or(Value::Empty);
    let mut r = vec![
        text(&c.name),
        Value::Text(phone_text(&c.phone)),
        opt(c.email.as_ref()),
        birthday,
    ];
    match v {
        Some(v) => r.extend([
            text(&v.vin),
            opt(v.plate.as_ref()),
            text(&v.make),
            text(&v.model),
            v.model_year
                .map(|y| Value::Number(y.into()))
                .unwrap_or(Value::Empty),
            date(v.purchase_date),
            date(v.first_registration_date),
            date(v.inspection_due),
            date(v.compulsory_insurance_expiry),
            date(v.commercial_insurance_expiry),
            date(v.last_service_date),
            v.last_service_km.map(Value::Number).unwrap_or(Value::Empty),
        ]),
        None => r.extend(std::iter::repeat_n(Value::Empty, 12)),
    }
    r
}

/// The rows of the customers after `after` (one page), and where the next
/// page starts (`None` after the last); the page's customers go to the
/// personal-data access log as exported.
pub async fn page(
    db: &DatabaseConnection,
    actor: &Actor,
    q: Option<&str>,
    after: Option<Uuid>,
    looker: &Looker,
) -> AppResult<(Vec<Vec<Value>>, Option<Uuid>)> {
    let mut query = customers::filtered(actor, q);
    if let Some(a) = after {
        query = query.filter(customer::Column::Id.gt(a));
    }
    let found = query
        .order_by_asc(customer::Column::Id)
        .limit(PAGE)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = found.iter().map(|c| c.id).collect();
    looker.saw(AccessAction::Export, ids.iter().copied()).await;
    let mut by_customer: HashMap<Uuid, Vec<vehicle::Model>> = HashMap::new();
    if !ids.is_empty() {
        for v in vehicle::Entity::find()
            .filter(vehicle::Column::CustomerId.is_in(ids))
            .order_by_asc(vehicle::Column::Id)
            .all(db)
            .await?
        {
            by_customer.entry(v.customer_id).or_default().push(v);
        }
    }
    let mut rows = Vec::new();
    for c in &found {
        match by_customer.get(&c.id) {
            Some(vs) => rows.extend(vs.iter().map(|v| row(c, Some(v)))),
            None => rows.push(row(c, None)),
        }
    }
    let next = if found.len() as u64 == PAGE {
        found.last().map(|c| c.id)
    } else {
        None
    };
    Ok((rows, next))
}

enum Cursor {
    Start,
    After(Option<Uuid>),
    Done,
}

/// The CSV, produced a page at a time as the client reads it: UTF-8 with a
/// BOM, so that Excel opens the Chinese intact. Call [`authorize`] first.
pub fn csv_stream(
    db: DatabaseConnection,
    actor: Actor,
    q: Option<String>,
    looker: Looker,
) -> impl Stream<Item = Result<Bytes, AppError>> + 'static {
    futures_util::stream::unfold(Cursor::Start, move |cursor| {
        let db = db.clone();
        let actor = actor.clone();
        let q = q.clone();
        let looker = looker.clone();
        async move {
            let after = match cursor {
                Cursor::Done => return None,
                Cursor::Start => {
                    let mut out = Vec::from(UTF8_BOM);
                    write_csv(
                        &mut out,
                        [headers().into_iter().map(String::from).collect()],
                    );
                    return Some((Ok(Bytes::from(out)), Cursor::After(None)));
                }
                Cursor::After(after) => after,
            };
            match page(&db, &actor, q.as_deref(), after, &looker).await {
                Ok((rows, next)) => {
                    let mut out = Vec::new();
                    write_csv(
                        &mut out,
                        rows.iter()
                            .map(|r| r.iter().map(|v| csv_safe(&v.text()).into_owned()).collect()),
                    );
                    let cursor = match next {
                        Some(id) => Cursor::After(Some(id)),
                        None => Cursor::Done,
                    };
                    Some((Ok(Bytes::from(out)), cursor))
                }
                Err(e) => Some((Err(e), Cursor::Done)),
            }
        }
    })
}

fn write_csv(out: &mut Vec<u8>, rows: impl IntoIterator<Item = Vec<String>>) {
    let mut w = csv::Writer::from_writer(out);
    for r in rows {
        // writing to a Vec cannot fail
        let _ = w.write_record(&r);
    }
    let _ = w.flush();
}

/// The workbook. Rows go to the sheet in constant-memory mode: each row is
/// written to a temporary file as soon as it is complete, so the sheet never
/// sits in memory; what is held at the end is the compressed file itself
/// (about 40 bytes per row). Call [`authorize`] first.
pub async fn xlsx(
    db: &DatabaseConnection,
    actor: &Actor,
    q: Option<&str>,
    looker: &Looker,
) -> AppResult<Vec<u8>> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let xerr = |e: rust_xlsxwriter::XlsxError| AppError::Internal(anyhow::anyhow!("xlsx: {e}"));
    let mut book = Workbook::new();
    let date_format = Format::new().set_num_format("yyyy-mm-dd");
    let sheet = book.add_worksheet_with_constant_memory().map_err(xerr)?;
    sheet.set_name("客户").map_err(xerr)?;
    for (col, h) in headers().into_iter().enumerate() {
        sheet.write_string(0, col as u16, h).map_err(xerr)?;
    }
    let mut line: u32 = 1;
    let mut after = None;
    loop {
        let (rows, next) = page(db, actor, q, after, looker).await?;
        for r in rows {
            for (col, v) in r.iter().enumerate() {
                let col = col as u16;
                match v {
                    // phones and VINs stay text, so Excel keeps leading zeros and digits
                    Value::Text(s) => sheet.write_string(line, col, s).map(|_| ()),
                    Value::Number(n) => sheet.write_number(line, col, *n as f64).map(|_| ()),
                    Value::Date(d) => {
                        let dt = ExcelDateTime::from_ymd(
                            d.year() as u16,
                            d.month() as u8,
                            d.day() as u8,
                        )
                        .map_err(xerr)?;
                        sheet
                            .write_datetime_with_format(line, col, &dt, &date_format)
                            .map(|_| ())
                    }
                    Value::Empty => Ok(()),
                }
                .map_err(xerr)?;
            }
            line += 1;
        }
        match next {
            Some(id) => after = Some(id),
            None => break,
        }
    }
    book.save_to_buffer().map_err(xerr)
}
