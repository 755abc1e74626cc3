//! `servicelane import customers FILE.csv`: a legacy DMS export, one customer
//! and one vehicle per row. Valid rows are kept, bad rows reported by line;
//! a re-run finds what it created before (by phone and by VIN) and adds nothing.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait,
};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::customer::{Birthday, Calendar};
use crate::entities::{customer, vehicle};
use crate::services::{customers, vehicles};

#[derive(Debug, Default, Serialize)]
pub struct ImportReport {
    pub rows: usize,
    pub customers_created: usize,
    pub customers_existing: usize,
    pub vehicles_created: usize,
    pub vehicles_existing: usize,
    pub rejected: Vec<Rejected>,
    pub dry_run: bool,
}

#[derive(Debug, Serialize)]
pub struct Rejected {
    /// Line in the file, counting the header as line 1.
    pub line: u64,
    pub reason: String,
}

/// Column names understood, English or as Chinese DMS exports name them.
const COLUMNS: &[(&str, &[&str])] = &[
    ("name", &["name", "姓名", "客户姓名"]),
    ("phone", &["phone", "mobile", "手机", "手机号", "联系电话"]),
    ("email", &["email", "邮箱"]),
    ("birthday", &["birthday", "生日"]),
    ("vin", &["vin", "车架号", "vin码"]),
    ("plate", &["plate", "车牌", "车牌号"]),
    ("make", &["make", "品牌"]),
    ("model", &["model", "车型"]),
    ("model_year", &["model_year", "年款"]),
    ("purchase_date", &["purchase_date", "购车日期"]),
    (
        "first_registration_date",
        &["first_registration_date", "初登日期"],
    ),
    ("inspection_due", &["inspection_due", "年检到期"]),
    (
        "compulsory_insurance_expiry",
        &["compulsory_insurance_expiry", "交强险到期"],
    ),
    (
        "commercial_insurance_expiry",
        &["commercial_insurance_expiry", "商业险到期"],
    ),
    ("last_service_date", &["last_service_date", "上次保养日期"]),
    ("last_service_km", &["last_service_km", "上次保养里程"]),
];

struct Row<'a> {
    get: HashMap<&'static str, &'a str>,
}

impl Row<'_> {
    fn text(&self, k: &str) -> Option<String> {
        self.get
            .get(k)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }

    fn date(&self, k: &str) -> Result<Option<NaiveDate>, String> {
        match self.text(k) {
            None => Ok(None),
            Some(v) => NaiveDate::parse_from_str(&v.replace('/', "-"), "%Y-%m-%d")
                .map(Some)
                .map_err(|_| format!("{k}: '{v}' is not a date (YYYY-MM-DD)")),
        }
    }

    fn number<T: std::str::FromStr>(&self, k: &str) -> Result<Option<T>, String> {
        match self.text(k) {
            None => Ok(None),
            Some(v) => v
                .replace(',', "")
                .parse()
                .map(Some)
                .map_err(|_| format!("{k}: '{v}' is not a number")),
        }
    }
}

/// `1985-03-12` is solar; `农历03-15`, `农历闰04-15` or `lunar:03-15` are lunar.
pub fn parse_birthday(v: &str) -> Result<Birthday, String> {
    let v = v.trim();
    let (lunar, rest) = match v.strip_prefix("农历").or_else(|| v.strip_prefix("lunar:")) {
        Some(r) => (true, r),
        None => (false, v),
    };
    let (leap, rest) = match rest
        .strip_prefix('闰')
        .or_else(|| rest.strip_prefix("leap-"))
    {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let parts: Vec<&str> = rest.split(['-', '/']).collect();
    let nums: Result<Vec<i32>, _> = parts.iter().map(|p| p.parse::<i32>()).collect();
    let bad = || format!("birthday: '{v}' is not YYYY-MM-DD or 农历MM-DD");
    let nums = nums.map_err(|_| bad())?;
    let (year, month, day) = match nums.as_slice() {
        [y, m, d] => (Some(*y), *m, *d),
        [m, d] => (None, *m, *d),
        _ => return Err(bad()),
    };
    Ok(Birthday {
        calendar: if lunar {
            Calendar::Lunar
        } else {
            Calendar::Solar
        },
        month: u8::try_from(month).map_err(|_| bad())?,
        day: u8::try_from(day).map_err(|_| bad())?,
        leap,
        year,
    })
}

fn describe(e: crate::domain::FieldErrors) -> String {
    e.to_string()
}

/// Runs the import. `progress` is called after each row.
pub async fn import_customers(
    db: &DatabaseConnection,
    dealer_id: Uuid,
    csv_text: &str,
    dry_run: bool,
    now: DateTime<Utc>,
    mut progress: impl FnMut(usize, usize),
) -> anyhow::Result<ImportReport> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(csv_text.as_bytes());
    let headers = reader.headers()?.clone();
    let mut index: Vec<Option<&'static str>> = Vec::new();
    for h in headers.iter() {
        let h = h.trim_start_matches('\u{feff}').trim().to_lowercase();
        index.push(
            COLUMNS
                .iter()
                .find(|(_, names)| names.contains(&h.as_str()))
                .map(|(k, _)| *k),
        );
    }
    for required in ["name", "phone", "vin", "make", "model"] {
        anyhow::ensure!(
            index.contains(&Some(required)),
            "the header has no '{required}' column"
        );
    }
    let records: Vec<(u64, csv::StringRecord)> = reader
        .records()
        .map(|r| r.map(|r| (r.position().map(|p| p.line()).unwrap_or(0), r)))
        .collect::<Result<_, _>>()?;
    let total = records.len();
    let mut report = ImportReport {
        rows: total,
        dry_run,
        ..Default::default()
    };

    // one transaction, a savepoint per row: a bad row is undone alone, and a
    // dry run undoes everything at the end while counting exactly as a real run
    let txn = db.begin().await?;
    for (n, (line, rec)) in records.iter().enumerate() {
        let row = Row {
            get: index
                .iter()
                .zip(rec.iter())
                .filter_map(|(k, v)| k.map(|k| (k, v)))
                .collect(),
        };
        let sp = txn.begin().await?;
        match import_row(&sp, dealer_id, &row, now, &mut report).await {
            Ok(()) => sp.commit().await?,
            Err(reason) => {
                sp.rollback().await?;
                report.rejected.push(Rejected {
                    line: *line,
                    reason,
                });
            }
        }
        progress(n + 1, total);
    }
    if dry_run {
        txn.rollback().await?;
    } else {
        txn.commit().await?;
    }
    Ok(report)
}

async fn import_row(
    txn: &sea_orm::DatabaseTransaction,
    dealer_id: Uuid,
    row: &Row<'_>,
    now: DateTime<Utc>,
    report: &mut ImportReport,
) -> Result<(), String> {
    let birthday = row
        .text("birthday")
        .map(|b| parse_birthday(&b))
        .transpose()?;
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
    let customer_am = customers::validate_new(&new_customer, dealer_id, now);
    let new_vehicle = vehicles::NewVehicle {
        customer_id: Uuid::nil(),
        vin: row.text("vin").unwrap_or_default(),
        plate: row.text("plate"),
        make: row.text("make").unwrap_or_default(),
        model: row.text("model").unwrap_or_default(),
        model_year: row.number("model_year")?,
        purchase_date: row.date("purchase_date")?,
        first_registration_date: row.date("first_registration_date")?,
        inspection_due: row.date("inspection_due")?,
        compulsory_insurance_expiry: row.date("compulsory_insurance_expiry")?,
        commercial_insurance_expiry: row.date("commercial_insurance_expiry")?,
        last_service_date: row.date("last_service_date")?,
        last_service_km: row.number("last_service_km")?,
    };
    // every problem of the row in one reason, customer and vehicle alike
    let (customer_am, mut vehicle_am) = match (
        customer_am,
        vehicles::validate_new(&new_vehicle, dealer_id, now),
    ) {
        (Ok(c), Ok(v)) => (c, v),
        (c, v) => {
            let mut all = c.err().unwrap_or_default();
            all.0.extend(v.err().unwrap_or_default().0);
            return Err(describe(all));
        }
    };
    let db_err = |e: sea_orm::DbErr| format!("database: {e}");

    let phone = customer_am.phone.clone().unwrap();
    let existing = customer::Entity::find()
        .filter(customer::Column::DealerId.eq(dealer_id))
        .filter(customer::Column::Phone.eq(phone.as_str()))
        .one(txn)
        .await
        .map_err(db_err)?;
    let (customer_id, created_customer) = match existing {
        Some(c) => (c.id, false),
        None => (customer_am.insert(txn).await.map_err(db_err)?.id, true),
    };
    let vin = vehicle_am.vin.clone().unwrap();
    let existing_vehicle = vehicle::Entity::find()
        .filter(vehicle::Column::DealerId.eq(dealer_id))
        .filter(vehicle::Column::Vin.eq(vin.as_str()))
        .one(txn)
        .await
        .map_err(db_err)?;
    let created_vehicle = match existing_vehicle {
        Some(v) if v.customer_id == customer_id => false,
        Some(_) => return Err(format!("vin: {vin} belongs to another customer")),
        None => {
            if let Some(plate) = vehicle_am.plate.clone().unwrap() {
                let clash = vehicle::Entity::find()
                    .filter(vehicle::Column::DealerId.eq(dealer_id))
                    .filter(vehicle::Column::Plate.eq(plate.as_str()))
                    .one(txn)
                    .await
                    .map_err(db_err)?;
                if clash.is_some() {
                    return Err(format!("plate: {plate} is already on another vehicle"));
                }
            }
            vehicle_am.customer_id = sea_orm::Set(customer_id);
            vehicle_am.insert(txn).await.map_err(db_err)?;
            true
        }
    };
    if created_customer {
        report.customers_created += 1;
    } else {
        report.customers_existing += 1;
    }
    if created_vehicle {
        report.vehicles_created += 1;
    } else {
        report.vehicles_existing += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birthdays_in_dms_exports_are_read_in_either_calendar() {
        let b = parse_birthday("1985-03-12").unwrap();
        assert_eq!(
            (b.calendar, b.month, b.day, b.year),
            (Calendar::Solar, 3, 12, Some(1985))
        );
        let b = parse_birthday("农历闰04-15").unwrap();
        assert_eq!(
            (b.calendar, b.month, b.day, b.leap),
            (Calendar::Lunar, 4, 15, true)
        );
        assert!(parse_birthday("March 3").is_err());
    }
}
