//! The parts desk's reports, as JSON or CSV (UTF-8 with a BOM, cells
//! escaped against formula injection): the stock report (库存报表), the
//! monthly demand (月度需求报表) and parts sales (备件销售报表). All read
//! the ledger; dates are the dealer's local days.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{money, q, staff};
use crate::auth::Actor;
use crate::domain::customer_value::ValueFormat;
use crate::domain::import::csv_safe;
use crate::domain::parts::{ANALYSTS, MovementKind, QTY_SCALE};
use crate::entities::{part, part_movement};
use crate::error::{AppError, AppResult};
use crate::services::appointments::{check_dates, day_bounds, dealer_zone};
use crate::services::import::UTF8_BOM;

/// `?format=json|csv`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FormatQuery {
    /// `json` (the default) or `csv` (UTF-8 with a BOM).
    pub format: Option<ValueFormat>,
}

/// `?from=&to=&format=`: local days, both ends included, at most 366 days.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    pub from: NaiveDate,
    /// Inclusive.
    pub to: NaiveDate,
    /// `json` (the default) or `csv` (UTF-8 with a BOM).
    pub format: Option<ValueFormat>,
}

/// A line of the stock report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StockLine {
    pub number: String,
    pub name: String,
    pub bin: Option<String>,
    #[schema(value_type = String, format = "decimal")]
    pub on_hand: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub reserved: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub available: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub on_order: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub unit_cost: Decimal,
    /// On hand × unit cost (CNY, 2 decimals).
    #[schema(value_type = String, format = "decimal")]
    pub stock_value: Decimal,
}

/// 库存报表: every part with its stock and value at cost.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StockReport {
    pub lines: Vec<StockLine>,
    #[schema(value_type = String, format = "decimal")]
    pub total_value: Decimal,
}

/// A part's demand (issued and sold, less returned) per month.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DemandLine {
    pub number: String,
    pub name: String,
    /// One per month of `months`.
    #[schema(value_type = Vec<String>)]
    pub quantities: Vec<Decimal>,
    #[schema(value_type = String, format = "decimal")]
    pub total: Decimal,
}

/// 月度需求报表.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DemandReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// `YYYY-MM`, in order.
    pub months: Vec<String>,
    pub lines: Vec<DemandLine>,
}

/// A part's sales over the period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SalesLine {
    pub number: String,
    pub name: String,
    /// Issued to repair orders.
    #[schema(value_type = String, format = "decimal")]
    pub issued: Decimal,
    /// Sold over the counter.
    #[schema(value_type = String, format = "decimal")]
    pub sold: Decimal,
    /// Returned to stock.
    #[schema(value_type = String, format = "decimal")]
    pub returned: Decimal,
    /// Issued and sold at their unit prices (CNY).
    #[schema(value_type = String, format = "decimal")]
    pub revenue: Decimal,
    /// Issued and sold at their unit costs (CNY).
    #[schema(value_type = String, format = "decimal")]
    pub cost: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub margin: Decimal,
}

/// 备件销售报表.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SalesReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub lines: Vec<SalesLine>,
    #[schema(value_type = String, format = "decimal")]
    pub revenue: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub cost: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub margin: Decimal,
}

/// Quantity (thousandths) × fen, in fen, rounded half away from zero.
pub(super) fn value(qty: i64, cents: i64) -> i128 {
    let scale = i128::from(QTY_SCALE);
    let p = i128::from(qty) * i128::from(cents);
    (p + p.signum() * scale / 2) / scale
}

pub(super) fn fen(v: i128) -> Decimal {
    money(i64::try_from(v).unwrap_or(i64::MAX))
}

pub async fn stock(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<StockReport> {
    staff(actor, ANALYSTS)?;
    let parts = part::Entity::find()
        .filter(part::Column::DealerId.eq(actor.dealer_id))
        .order_by_asc(part::Column::Number)
        .all(db)
        .await?;
    let mut total: i128 = 0;
    let lines = parts
        .iter()
        .map(|p| {
            let v = value(p.on_hand, p.cost_cents);
            total += v;
            StockLine {
                number: p.number.clone(),
                name: p.name.clone(),
                bin: p.bin.clone(),
                on_hand: q(p.on_hand),
                reserved: q(p.reserved),
                available: q(p.on_hand - p.reserved),
                on_order: q(p.on_order),
                unit_cost: money(p.cost_cents),
                stock_value: fen(v),
            }
        })
        .collect();
    Ok(StockReport {
        lines,
        total_value: fen(total),
    })
}

/// The period's bounds in UTC, checked.
async fn period(
    db: &impl ConnectionTrait,
    actor: &Actor,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<(DateTime<Utc>, DateTime<Utc>, chrono_tz::Tz)> {
    check_dates(&[("from", Some(from)), ("to", Some(to))])?;
    if to < from || (to - from).num_days() > 366 {
        return Err(AppError::field(
            "to",
            "must be on or after from, at most 366 days later",
        ));
    }
    let (_, tz) = dealer_zone(db, actor.dealer_id).await?;
    let (start, end) = day_bounds(tz, from, to);
    Ok((start, end, tz))
}

/// The ledger rows of the period, with the dealer's parts by id.
async fn rows(
    db: &impl ConnectionTrait,
    actor: &Actor,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> AppResult<(Vec<part_movement::Model>, HashMap<Uuid, part::Model>)> {
    let moves = part_movement::Entity::find()
        .filter(part_movement::Column::DealerId.eq(actor.dealer_id))
        .filter(part_movement::Column::At.gte(start))
        .filter(part_movement::Column::At.lt(end))
        .filter(part_movement::Column::Kind.is_in([
            MovementKind::Issue,
            MovementKind::Sale,
            MovementKind::Return,
        ]))
        .all(db)
        .await?;
    let parts = part::Entity::find()
        .filter(part::Column::DealerId.eq(actor.dealer_id))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    Ok((moves, parts))
}

pub async fn monthly_demand(
    db: &impl ConnectionTrait,
    actor: &Actor,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<DemandReport> {
    staff(actor, ANALYSTS)?;
    let (start, end, tz) = period(db, actor, from, to).await?;
    let mut months = Vec::new();
    let mut m = NaiveDate::from_ymd_opt(from.year(), from.month(), 1).unwrap_or(from);
    while m <= to {
        months.push(m.format("%Y-%m").to_string());
        m = m
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(NaiveDate::MAX);
    }
    let index: HashMap<&str, usize> = months
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    let (moves, parts) = rows(db, actor, start, end).await?;
    let mut per: BTreeMap<String, (String, Vec<i64>)> = BTreeMap::new();
    for mv in &moves {
        let Some(p) = parts.get(&mv.part_id) else {
            continue;
        };
        let month = mv.at.with_timezone(&tz).format("%Y-%m").to_string();
        let Some(&i) = index.get(month.as_str()) else {
            continue;
        };
        let e = per
            .entry(p.number.clone())
            .or_insert_with(|| (p.name.clone(), vec![0; months.len()]));
        // issues and sales take (negative on hand), returns give back
        e.1[i] = e.1[i].saturating_sub(mv.on_hand_delta);
    }
    Ok(DemandReport {
        from,
        to,
        lines: per
            .into_iter()
            .map(|(number, (name, qs))| DemandLine {
                number,
                name,
                total: q(qs.iter().fold(0i64, |a, b| a.saturating_add(*b))),
                quantities: qs.into_iter().map(q).collect(),
            })
            .collect(),
        months,
    })
}

pub async fn sales(
    db: &impl ConnectionTrait,
    actor: &Actor,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<SalesReport> {
    staff(actor, ANALYSTS)?;
    let (start, end, _) = period(db, actor, from, to).await?;
    let (moves, parts) = rows(db, actor, start, end).await?;
    #[derive(Default)]
    struct Sum {
        issued: i64,
        sold: i64,
        returned: i64,
        revenue: i128,
        cost: i128,
    }
    let mut per: BTreeMap<String, (String, Sum)> = BTreeMap::new();
    for mv in &moves {
        let Some(p) = parts.get(&mv.part_id) else {
            continue;
        };
        let e = per
            .entry(p.number.clone())
            .or_insert_with(|| (p.name.clone(), Sum::default()));
        let qty = -mv.on_hand_delta;
        match mv.kind {
            MovementKind::Issue => e.1.issued = e.1.issued.saturating_add(qty),
            MovementKind::Sale => e.1.sold = e.1.sold.saturating_add(qty),
            _ => e.1.returned = e.1.returned.saturating_add(mv.on_hand_delta),
        }
        if mv.kind != MovementKind::Return {
            e.1.revenue += value(qty, mv.unit_price_cents.unwrap_or(0));
            e.1.cost += value(qty, mv.unit_cost_cents);
        }
    }
    let (mut revenue, mut cost) = (0i128, 0i128);
    let lines = per
        .into_iter()
        .map(|(number, (name, s))| {
            revenue += s.revenue;
            cost += s.cost;
            SalesLine {
                number,
                name,
                issued: q(s.issued),
                sold: q(s.sold),
                returned: q(s.returned),
                revenue: fen(s.revenue),
                cost: fen(s.cost),
                margin: fen(s.revenue - s.cost),
            }
        })
        .collect();
    Ok(SalesReport {
        from,
        to,
        lines,
        revenue: fen(revenue),
        cost: fen(cost),
        margin: fen(revenue - cost),
    })
}

pub(super) fn write(rows: Vec<Vec<String>>) -> Vec<u8> {
    let mut out = Vec::from(UTF8_BOM);
    {
        let mut w = csv::Writer::from_writer(&mut out);
        for r in rows {
            // writing to a Vec cannot fail
            let _ = w.write_record(&r);
        }
        let _ = w.flush();
    }
    out
}

fn s(d: Decimal) -> String {
    d.to_string()
}

/// A text cell (part number, name, bin): never the start of a formula.
/// Numbers are written as they are (a margin may be negative).
fn t(v: &str) -> String {
    csv_safe(v).into_owned()
}

pub fn stock_csv(r: &StockReport) -> Vec<u8> {
    let mut rows = vec![
        [
            "配件号 Part number",
            "名称 Name",
            "货位 Bin",
            "在库 On hand",
            "已预留 Reserved",
            "可用 Available",
            "在途 On order",
            "单位成本 Unit cost",
            "库存金额 Stock value",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for l in &r.lines {
        rows.push(vec![
            t(&l.number),
            t(&l.name),
            t(l.bin.as_deref().unwrap_or_default()),
            s(l.on_hand),
            s(l.reserved),
            s(l.available),
            s(l.on_order),
            s(l.unit_cost),
            s(l.stock_value),
        ]);
    }
    let mut total = vec![String::new(); 9];
    total[0] = "合计 Total".into();
    total[8] = s(r.total_value);
    rows.push(total);
    write(rows)
}

pub fn demand_csv(r: &DemandReport) -> Vec<u8> {
    let mut head = vec!["配件号 Part number".to_string(), "名称 Name".to_string()];
    head.extend(r.months.iter().cloned());
    head.push("合计 Total".into());
    let mut rows = vec![head];
    for l in &r.lines {
        let mut row = vec![t(&l.number), t(&l.name)];
        row.extend(l.quantities.iter().map(|d| s(*d)));
        row.push(s(l.total));
        rows.push(row);
    }
    write(rows)
}

pub fn sales_csv(r: &SalesReport) -> Vec<u8> {
    let mut rows = vec![
        [
            "配件号 Part number",
            "名称 Name",
            "维修领料 Issued",
            "柜台销售 Sold",
            "退料 Returned",
            "销售额 Revenue",
            "成本 Cost",
            "毛利 Margin",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for l in &r.lines {
        rows.push(vec![
            t(&l.number),
            t(&l.name),
            s(l.issued),
            s(l.sold),
            s(l.returned),
            s(l.revenue),
            s(l.cost),
            s(l.margin),
        ]);
    }
    rows.push(vec![
        "合计 Total".into(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        s(r.revenue),
        s(r.cost),
        s(r.margin),
    ]);
    write(rows)
}

/// One receipt line: ordered against received.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReceiptLine {
    /// The dealer's local day.
    pub date: NaiveDate,
    pub reference: Option<String>,
    pub number: String,
    pub name: String,
    /// What the order said (the received quantity when none was given).
    #[schema(value_type = String, format = "decimal")]
    pub ordered: Decimal,
    /// Put on the shelf.
    #[schema(value_type = String, format = "decimal")]
    pub received: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub damaged: Decimal,
    /// Ordered − received − damaged, when positive.
    #[schema(value_type = String, format = "decimal")]
    pub short: Decimal,
}

/// 运输收货反馈: the period's receipts, with the short and damaged lines counted.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReceiptReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub lines: Vec<ReceiptLine>,
    pub short_lines: usize,
    pub damaged_lines: usize,
}

pub async fn receipts(
    db: &impl ConnectionTrait,
    actor: &Actor,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<ReceiptReport> {
    staff(actor, ANALYSTS)?;
    let (start, end, tz) = period(db, actor, from, to).await?;
    let moves = part_movement::Entity::find()
        .filter(part_movement::Column::DealerId.eq(actor.dealer_id))
        .filter(part_movement::Column::At.gte(start))
        .filter(part_movement::Column::At.lt(end))
        .filter(part_movement::Column::Kind.eq(MovementKind::Receipt))
        .order_by_asc(part_movement::Column::At)
        .order_by_asc(part_movement::Column::Id)
        .all(db)
        .await?;
    let parts: HashMap<Uuid, part::Model> = part::Entity::find()
        .filter(part::Column::DealerId.eq(actor.dealer_id))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let lines: Vec<ReceiptLine> = moves
        .iter()
        .filter_map(|m| {
            let p = parts.get(&m.part_id)?;
            let damaged = m.damaged_qty.unwrap_or(0);
            let ordered = m
                .ordered_qty
                .unwrap_or(m.on_hand_delta.saturating_add(damaged));
            let short = ordered
                .saturating_sub(m.on_hand_delta)
                .saturating_sub(damaged)
                .max(0);
            Some(ReceiptLine {
                date: m.at.with_timezone(&tz).date_naive(),
                reference: m.reference.clone(),
                number: p.number.clone(),
                name: p.name.clone(),
                ordered: q(ordered),
                received: q(m.on_hand_delta),
                damaged: q(damaged),
                short: q(short),
            })
        })
        .collect();
    Ok(ReceiptReport {
        from,
        to,
        short_lines: lines.iter().filter(|l| l.short > Decimal::ZERO).count(),
        damaged_lines: lines.iter().filter(|l| l.damaged > Decimal::ZERO).count(),
        lines,
    })
}

pub fn receipts_csv(r: &ReceiptReport) -> Vec<u8> {
    let mut rows = vec![
        [
            "日期 Date",
            "单号 Reference",
            "配件号 Part number",
            "名称 Name",
            "订货 Ordered",
            "实收 Received",
            "破损 Damaged",
            "短缺 Short",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for l in &r.lines {
        rows.push(vec![
            l.date.to_string(),
            t(l.reference.as_deref().unwrap_or_default()),
            t(&l.number),
            t(&l.name),
            s(l.ordered),
            s(l.received),
            s(l.damaged),
            s(l.short),
        ]);
    }
    write(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_half_away_from_zero_to_the_fen() {
        // 4.5 units at 31.50 = 141.75; 0.333 at 0.10 = 0.0333 → 0.03
        assert_eq!(value(4_500, 3_150), 14_175);
        assert_eq!(value(333, 10), 3);
        assert_eq!(value(5, 10), 0);
        assert_eq!(value(50, 10), 1);
        assert_eq!(value(-50, 10), -1);
    }

    #[test]
    fn csv_cells_cannot_start_a_formula() {
        let out = write(vec![vec![t("=HYPERLINK(1)"), s(Decimal::from(-2))]]);
        assert_eq!(&out[..3], UTF8_BOM);
        let text = String::from_utf8(out[3..].to_vec()).unwrap();
        assert_eq!(text, "'=HYPERLINK(1),-2\n");
    }
}
