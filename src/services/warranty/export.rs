//! The claims to file with the brand, as CSV (UTF-8 with a BOM, cells that
//! Excel would read as a formula quoted with `'`) or JSON: one line per case
//! whose warranty work was done on a local day of the range and that is
//! `work_done` (ready to submit), `submitted` or `resubmitted` (filed and
//! awaiting the brand). Reading the export changes nothing.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Actor;
use crate::config::WarrantySettings;
use crate::domain::FieldErrors;
use crate::domain::import::csv_safe;
use crate::domain::warranty::{READERS, WarrantyDecision, WarrantyState};
use crate::entities::warranty_case;
use crate::error::AppResult;
use crate::services::import::UTF8_BOM;

/// The longest range one export covers, in days.
pub const MAX_DAYS: i64 = 366;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// First local day the work was done (inclusive).
    pub from: NaiveDate,
    /// Last local day (inclusive); at most 366 days after `from`.
    pub to: NaiveDate,
    /// `csv` (default) or `json`.
    pub format: Option<crate::domain::customer_value::ValueFormat>,
}

/// One claim to file.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClaimLine {
    pub claim_number: String,
    pub state: WarrantyState,
    pub decision: Option<WarrantyDecision>,
    pub order_number: String,
    pub vin: String,
    pub mileage_km: Option<i32>,
    pub in_service_date: Option<NaiveDate>,
    /// The dealer's local day the work was done.
    pub repair_date: NaiveDate,
    pub failed_part: Option<String>,
    pub causal_part: Option<String>,
    pub diagnosis: Option<String>,
    /// `code description hours` joined with `; `.
    pub labour_operations: String,
    /// `part_number name × quantity @ claim_price` joined with `; `.
    pub parts: String,
    #[schema(value_type = String, format = "decimal")]
    pub labour_hours: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub labour_rate: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub labour_amount: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub parts_amount: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub claim_amount: Decimal,
    pub photo_count: usize,
}

pub enum Export {
    Csv(Vec<u8>),
    Json(Vec<ClaimLine>),
}

/// The claims of the range, oldest work first.
pub async fn export(
    db: &impl ConnectionTrait,
    settings: &WarrantySettings,
    actor: &Actor,
    q: ExportQuery,
) -> AppResult<Export> {
    actor.require(READERS)?;
    let mut e = FieldErrors::new();
    e.check("from", crate::domain::dates::in_range(q.from));
    e.check("to", crate::domain::dates::in_range(q.to));
    if q.to < q.from {
        e.add("to", "must not be before from");
    } else if (q.to - q.from).num_days() >= MAX_DAYS {
        e.add("to", format!("the range is at most {MAX_DAYS} days"));
    }
    let csv = q.format != Some(crate::domain::customer_value::ValueFormat::Json);
    e.into_result()?;
    let (_, tz) = crate::services::appointments::dealer_zone(db, actor.dealer_id).await?;
    let (start, end) = crate::services::appointments::day_bounds(tz, q.from, q.to);
    let rows = warranty_case::Entity::find()
        .filter(warranty_case::Column::DealerId.eq(actor.dealer_id))
        .filter(warranty_case::Column::State.is_in([
            WarrantyState::WorkDone,
            WarrantyState::Submitted,
            WarrantyState::Resubmitted,
        ]))
        .filter(warranty_case::Column::WorkDoneAt.gte(start))
        .filter(warranty_case::Column::WorkDoneAt.lt(end))
        .order_by_asc(warranty_case::Column::WorkDoneAt)
        .order_by_asc(warranty_case::Column::Id)
        .all(db)
        .await?;
    let local = |t: Option<DateTime<Utc>>| {
        t.map(|t| t.with_timezone(&tz).date_naive())
            .unwrap_or(q.from)
    };
    let lines: Vec<ClaimLine> = super::cases::views(db, settings, rows)
        .await?
        .into_iter()
        .map(|c| ClaimLine {
            claim_number: c.claim_number.clone().unwrap_or_default(),
            state: c.state,
            decision: c.decision,
            order_number: c.order_number.clone(),
            vin: c.vin.clone(),
            mileage_km: c.mileage_km,
            in_service_date: c.in_service_date,
            repair_date: local(c.work_done_at),
            failed_part: c.failed_part.clone(),
            causal_part: c.causal_part.clone(),
            diagnosis: c.diagnosis.clone(),
            labour_operations: c
                .labour_ops
                .iter()
                .map(|o| format!("{} {} {}", o.code, o.description, o.hours))
                .collect::<Vec<_>>()
                .join("; "),
            parts: c
                .parts
                .iter()
                .map(|p| {
                    format!(
                        "{} {} × {} @ {}",
                        p.part_number, p.name, p.quantity, p.claim_price
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            labour_hours: c.labour_ops.iter().map(|o| o.hours).sum(),
            labour_rate: c.labour_rate,
            labour_amount: c.labour_amount,
            parts_amount: c.parts_amount,
            claim_amount: c.claim_amount,
            photo_count: c.photo_urls.len(),
        })
        .collect();
    Ok(if csv {
        Export::Csv(to_csv(&lines))
    } else {
        Export::Json(lines)
    })
}

/// The CSV file: a header line, then one line per claim.
pub fn to_csv(lines: &[ClaimLine]) -> Vec<u8> {
    let header = [
        "claim_number",
        "state",
        "decision",
        "order_number",
        "vin",
        "mileage_km",
        "in_service_date",
        "repair_date",
        "failed_part",
        "causal_part",
        "diagnosis",
        "labour_operations",
        "parts",
        "labour_hours",
        "labour_rate",
        "labour_amount",
        "parts_amount",
        "claim_amount",
        "photo_count",
    ];
    let opt = |v: &Option<String>| csv_safe(v.as_deref().unwrap_or_default()).into_owned();
    let mut out = Vec::from(UTF8_BOM);
    {
        let mut w = csv::Writer::from_writer(&mut out);
        // writing to a Vec cannot fail
        let _ = w.write_record(header);
        for l in lines {
            let _ = w.write_record([
                csv_safe(&l.claim_number).into_owned(),
                l.state.to_string(),
                l.decision.map(|d| d.to_string()).unwrap_or_default(),
                csv_safe(&l.order_number).into_owned(),
                csv_safe(&l.vin).into_owned(),
                l.mileage_km.map(|k| k.to_string()).unwrap_or_default(),
                l.in_service_date.map(|d| d.to_string()).unwrap_or_default(),
                l.repair_date.to_string(),
                opt(&l.failed_part),
                opt(&l.causal_part),
                opt(&l.diagnosis),
                csv_safe(&l.labour_operations).into_owned(),
                csv_safe(&l.parts).into_owned(),
                l.labour_hours.to_string(),
                l.labour_rate.to_string(),
                l.labour_amount.to_string(),
                l.parts_amount.to_string(),
                l.claim_amount.to_string(),
                l.photo_count.to_string(),
            ]);
        }
        let _ = w.flush();
    }
    out
}
