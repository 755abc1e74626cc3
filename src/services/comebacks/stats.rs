//! The monthly comeback statistics (返修车月统计表, issue 18): the month's
//! records by cause, technician, labour operation and model, with the
//! rates over the orders delivered in the month, the first-time-fix rate
//! (as the board counts it), the actions still open, and the month before
//! side by side. `GET /api/v1/comebacks/stats?month=&format=json|csv`.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::comeback::{self, ComebackKind, ComebackState, month_end, parse_month, rate};
use crate::domain::customer::Locale;
use crate::domain::import::csv_safe;
use crate::domain::kpi::{self, job_key};
use crate::domain::money::Money;
use crate::domain::repair_order::OrderState;
use crate::entities::{comeback as record, dealer, repair_order, repair_order_job, vehicle};
use crate::error::{AppError, AppResult};
use crate::services::appointments::day_bounds;
use crate::services::dealers::zone;
use crate::services::import::UTF8_BOM;
use crate::services::kpi::outcomes;

/// One line of a breakdown.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct ComebackGroup {
    /// The cause, the technician's id, the job's key, the model (`unknown`/`unanalysed` when none).
    pub key: String,
    /// What people read: the cause, the name, the job, the model.
    pub label: String,
    /// Comebacks from outside (`repeat`, `marked`) found in the month.
    pub comebacks: u64,
    /// Internal ones: jobs the final check sent back.
    pub internal: u64,
    /// The orders the rate is over (delivered in the month, of this
    /// technician, with this job, of this model); none for causes.
    pub orders: Option<u64>,
    /// comebacks / orders, three places; null without orders.
    #[schema(value_type = Option<String>, format = "decimal")]
    pub rate: Option<Decimal>,
}

/// One month's figures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComebackMonth {
    /// `YYYY-MM`.
    pub month: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub orders_delivered: u64,
    pub comebacks: u64,
    pub internal: u64,
    /// comebacks / orders delivered; null without deliveries.
    #[schema(value_type = Option<String>, format = "decimal")]
    pub comeback_rate: Option<Decimal>,
    /// Orders delivered neither a comeback nor reworked by QC / orders
    /// delivered (the board's `first_time_fix`).
    #[schema(value_type = Option<String>, format = "decimal")]
    pub first_time_fix: Option<Decimal>,
    /// What doing the month's comebacks again cost, CNY.
    #[schema(value_type = String, format = "decimal")]
    pub redo_cost: Decimal,
    pub by_cause: Vec<ComebackGroup>,
    pub by_technician: Vec<ComebackGroup>,
    pub by_operation: Vec<ComebackGroup>,
    pub by_model: Vec<ComebackGroup>,
}

/// A corrective action not done yet.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpenAction {
    pub comeback_id: Uuid,
    pub order_number: String,
    pub corrective_action: Option<String>,
    pub owner_id: Option<Uuid>,
    pub owner_name: Option<String>,
    pub analysed_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The month, the month before, and the actions open now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComebackStats {
    pub month: ComebackMonth,
    pub previous: ComebackMonth,
    /// Records analysed whose action is not done yet, oldest first.
    pub open_actions: Vec<OpenAction>,
}

/// The statistics of `month` (`YYYY-MM`, 422 naming `month` otherwise).
pub async fn monthly(
    db: &impl ConnectionTrait,
    actor: &Actor,
    month: &str,
    locale: Locale,
) -> AppResult<ComebackStats> {
    actor.require(comeback::READERS)?;
    let (first, before) = parse_month(month).map_err(|m| AppError::field("month", m))?;
    let d = dealer::Entity::find_by_id(actor.dealer_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(ComebackStats {
        month: of_month(db, &d, first, locale).await?,
        previous: of_month(db, &d, before, locale).await?,
        open_actions: open_actions(db, d.id).await?,
    })
}

/// A breakdown being counted: per key, its label, comebacks, internal, orders.
#[derive(Default)]
struct Tally(BTreeMap<String, (String, u64, u64, Option<u64>)>);

impl Tally {
    fn add(&mut self, key: &str, label: &str, kind: ComebackKind) {
        let e = self
            .0
            .entry(key.to_string())
            .or_insert_with(|| (label.to_string(), 0, 0, None));
        match kind {
            ComebackKind::QcRework => e.2 += 1,
            _ => e.1 += 1,
        }
    }

    fn orders(&mut self, key: &str, label: &str, n: u64) {
        let e = self
            .0
            .entry(key.to_string())
            .or_insert_with(|| (label.to_string(), 0, 0, None));
        e.3 = Some(n);
    }

    /// Lines with a comeback, most first, then by key.
    fn lines(self) -> Vec<ComebackGroup> {
        let mut out: Vec<ComebackGroup> = self
            .0
            .into_iter()
            .filter(|(_, (_, c, i, _))| c + i > 0)
            .map(
                |(key, (label, comebacks, internal, orders))| ComebackGroup {
                    key,
                    label,
                    comebacks,
                    internal,
                    orders,
                    rate: orders.and_then(|n| rate(comebacks, n)),
                },
            )
            .collect();
        out.sort_by(|a, b| {
            (b.comebacks + b.internal)
                .cmp(&(a.comebacks + a.internal))
                .then_with(|| a.key.cmp(&b.key))
        });
        out
    }
}

async fn of_month(
    db: &impl ConnectionTrait,
    d: &dealer::Model,
    first: NaiveDate,
    locale: Locale,
) -> AppResult<ComebackMonth> {
    let last = month_end(first);
    let (start, end) = day_bounds(zone(d), first, last);
    let mut records = record::Entity::find()
        .filter(record::Column::DealerId.eq(d.id))
        .filter(record::Column::CreatedAt.gte(start))
        .filter(record::Column::CreatedAt.lt(end))
        .all(db)
        .await?;
    // an order cancelled before any work was no comeback after all
    let mut cancelled = HashSet::new();
    let ids: Vec<Uuid> = records.iter().map(|r| r.order_id).collect();
    for chunk in ids.chunks(500) {
        cancelled.extend(
            repair_order::Entity::find()
                .select_only()
                .column(repair_order::Column::Id)
                .filter(repair_order::Column::Id.is_in(chunk.iter().copied()))
                .filter(repair_order::Column::State.eq(OrderState::Cancelled))
                .into_tuple::<Uuid>()
                .all(db)
                .await?,
        );
    }
    records.retain(|r| !cancelled.contains(&r.order_id));
    // the orders delivered in the month, their jobs and models
    let delivered = outcomes::delivered_in(db, d.id, start, end).await?;
    let mut ids = Query::select();
    ids.column(repair_order::Column::Id)
        .from(repair_order::Entity)
        .and_where(repair_order::Column::DealerId.eq(d.id))
        .and_where(repair_order::Column::DeliveredAt.gte(start))
        .and_where(repair_order::Column::DeliveredAt.lt(end));
    let jobs: Vec<repair_order_job::Model> = repair_order_job::Entity::find()
        .filter(repair_order_job::Column::OrderId.in_subquery(ids.clone()))
        .all(db)
        .await?;
    let order_vehicles: Vec<(Uuid, Uuid)> = repair_order::Entity::find()
        .select_only()
        .column(repair_order::Column::Id)
        .column(repair_order::Column::VehicleId)
        .filter(repair_order::Column::Id.in_subquery(ids))
        .into_tuple()
        .all(db)
        .await?;
    let mut vehicle_ids: HashSet<Uuid> = order_vehicles.iter().map(|(_, v)| *v).collect();
    vehicle_ids.extend(records.iter().map(|r| r.vehicle_id));
    let models: HashMap<Uuid, String> = vehicle::Entity::find()
        .select_only()
        .column(vehicle::Column::Id)
        .column(vehicle::Column::Model)
        .filter(vehicle::Column::Id.is_in(vehicle_ids))
        .into_tuple()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut people: HashSet<Uuid> = records
        .iter()
        .filter_map(|r| r.first_technician_id)
        .collect();
    people.extend(jobs.iter().filter_map(|j| j.technician_id));
    let names = crate::services::dealers::staff_names(db, people).await?;

    let (mut cause, mut tech, mut op, mut model) = (
        Tally::default(),
        Tally::default(),
        Tally::default(),
        Tally::default(),
    );
    let (mut comebacks, mut internal, mut cost) = (0u64, 0u64, Money::ZERO);
    for r in &records {
        match r.kind {
            ComebackKind::QcRework => internal += 1,
            _ => comebacks += 1,
        }
        cost = cost
            .checked_add(Money::from_cents(r.redo_cost_cents.unwrap_or(0)))
            .unwrap_or(cost);
        match r.cause {
            Some(c) => cause.add(c.as_str(), cause_label(c, locale), r.kind),
            None => cause.add("unanalysed", unanalysed(locale), r.kind),
        }
        if let Some(t) = r.first_technician_id {
            let name = names.get(&t).map(String::as_str).unwrap_or_default();
            tech.add(&t.to_string(), name, r.kind);
        }
        if let Some(k) = &r.job_key {
            op.add(k, r.job_description.as_deref().unwrap_or(k), r.kind);
        }
        let m = models
            .get(&r.vehicle_id)
            .map(String::as_str)
            .unwrap_or("unknown");
        model.add(m, m, r.kind);
    }
    // the denominators: the orders delivered in the month
    let mut of_tech: HashMap<Uuid, HashSet<Uuid>> = HashMap::new();
    let mut of_op: HashMap<String, (String, HashSet<Uuid>)> = HashMap::new();
    for j in jobs.iter().filter(|j| j.approval.counts()) {
        if let Some(t) = j.technician_id {
            of_tech.entry(t).or_default().insert(j.order_id);
        }
        of_op
            .entry(job_key(j.menu_code.as_deref(), &j.description))
            .or_insert_with(|| (j.description.clone(), HashSet::new()))
            .1
            .insert(j.order_id);
    }
    for (t, orders) in &of_tech {
        let name = names.get(t).map(String::as_str).unwrap_or_default();
        tech.orders(&t.to_string(), name, orders.len() as u64);
    }
    for (k, (label, orders)) in &of_op {
        op.orders(k, label, orders.len() as u64);
    }
    let mut of_model: HashMap<&str, u64> = HashMap::new();
    for (_, v) in &order_vehicles {
        let m = models.get(v).map(String::as_str).unwrap_or("unknown");
        *of_model.entry(m).or_default() += 1;
    }
    for (m, n) in of_model {
        model.orders(m, m, n);
    }
    let n = delivered.len() as u64;
    let fixed = delivered
        .iter()
        .filter(|o| kpi::fixed_first_time(o.comeback, o.qc_reworked))
        .count() as u64;
    Ok(ComebackMonth {
        month: first.format("%Y-%m").to_string(),
        from: first,
        to: last,
        orders_delivered: n,
        comebacks,
        internal,
        comeback_rate: rate(comebacks, n),
        first_time_fix: rate(fixed, n),
        redo_cost: cost.to_decimal(),
        by_cause: cause.lines(),
        by_technician: tech.lines(),
        by_operation: op.lines(),
        by_model: model.lines(),
    })
}

async fn open_actions(db: &impl ConnectionTrait, dealer_id: Uuid) -> AppResult<Vec<OpenAction>> {
    let rows = record::Entity::find()
        .filter(record::Column::DealerId.eq(dealer_id))
        .filter(record::Column::State.eq(ComebackState::Analysed))
        .order_by_asc(record::Column::AnalysedAt)
        .order_by_asc(record::Column::Id)
        .limit(super::LIST_LIMIT)
        .all(db)
        .await?;
    let views = super::view_all(db, rows).await?;
    Ok(views
        .into_iter()
        .map(|v| OpenAction {
            comeback_id: v.id,
            order_number: v.order_number,
            corrective_action: v.corrective_action,
            owner_id: v.action_owner_id,
            owner_name: v.action_owner_name,
            analysed_at: v.analysed_at,
        })
        .collect())
}

fn unanalysed(l: Locale) -> &'static str {
    match l {
        Locale::ZhCn => "未分析",
        Locale::En => "Not analysed",
    }
}

/// The cause as people read it.
pub fn cause_label(c: comeback::ComebackCause, l: Locale) -> &'static str {
    use comeback::ComebackCause as C;
    match (l, c) {
        (Locale::ZhCn, C::Diagnosis) => "诊断错误",
        (Locale::ZhCn, C::Workmanship) => "维修工艺",
        (Locale::ZhCn, C::PartQuality) => "配件质量",
        (Locale::ZhCn, C::CustomerUse) => "客户使用",
        (Locale::ZhCn, C::Other) => "其他",
        (Locale::En, C::Diagnosis) => "Diagnosis",
        (Locale::En, C::Workmanship) => "Workmanship",
        (Locale::En, C::PartQuality) => "Part quality",
        (Locale::En, C::CustomerUse) => "Customer use",
        (Locale::En, C::Other) => "Other",
    }
}

/// A breakdown of the CSV: its name and where a month keeps it.
type Section = (&'static str, fn(&ComebackMonth) -> &Vec<ComebackGroup>);

/// The statistics as CSV (UTF-8 with a BOM, so Excel opens the Chinese):
/// one line per figure and breakdown line, the month before beside it.
pub fn csv(s: &ComebackStats, locale: Locale) -> Vec<u8> {
    let header: [&str; 11] = match locale {
        Locale::ZhCn => [
            "分类",
            "代码",
            "名称",
            "返修",
            "内部返工",
            "交车台次",
            "返修率",
            "上月返修",
            "上月内部返工",
            "上月交车台次",
            "上月返修率",
        ],
        Locale::En => [
            "section",
            "key",
            "label",
            "comebacks",
            "internal",
            "orders",
            "rate",
            "prev_comebacks",
            "prev_internal",
            "prev_orders",
            "prev_rate",
        ],
    };
    let total = |m: &ComebackMonth| ComebackGroup {
        key: "all".into(),
        label: String::new(),
        comebacks: m.comebacks,
        internal: m.internal,
        orders: Some(m.orders_delivered),
        rate: m.comeback_rate,
    };
    let cells = |x: Option<&ComebackGroup>| -> [String; 4] {
        match x {
            Some(x) => [
                x.comebacks.to_string(),
                x.internal.to_string(),
                x.orders.map(|n| n.to_string()).unwrap_or_default(),
                x.rate.map(|r| r.to_string()).unwrap_or_default(),
            ],
            None => Default::default(),
        }
    };
    let line = |section: &str, a: Option<&ComebackGroup>, b: Option<&ComebackGroup>| {
        let g = a.or(b);
        let mut row = vec![
            section.to_string(),
            csv_safe(g.map(|g| g.key.as_str()).unwrap_or_default()).into_owned(),
            csv_safe(g.map(|g| g.label.as_str()).unwrap_or_default()).into_owned(),
        ];
        row.extend(cells(a));
        row.extend(cells(b));
        row
    };
    let mut rows = vec![
        header.iter().map(|h| h.to_string()).collect(),
        line("total", Some(&total(&s.month)), Some(&total(&s.previous))),
    ];
    let sections: [Section; 4] = [
        ("cause", |m| &m.by_cause),
        ("technician", |m| &m.by_technician),
        ("operation", |m| &m.by_operation),
        ("model", |m| &m.by_model),
    ];
    for (name, of) in sections {
        let before: HashMap<&str, &ComebackGroup> = of(&s.previous)
            .iter()
            .map(|g| (g.key.as_str(), g))
            .collect();
        let now: HashSet<&str> = of(&s.month).iter().map(|g| g.key.as_str()).collect();
        for g in of(&s.month) {
            rows.push(line(name, Some(g), before.get(g.key.as_str()).copied()));
        }
        for g in of(&s.previous)
            .iter()
            .filter(|g| !now.contains(g.key.as_str()))
        {
            rows.push(line(name, None, Some(g)));
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breakdown_lines_are_ordered_by_count_and_carry_their_rate() {
        let mut t = Tally::default();
        t.add("b", "B", ComebackKind::Repeat);
        t.add("a", "A", ComebackKind::QcRework);
        t.add("b", "B", ComebackKind::Marked);
        t.orders("b", "B", 8);
        t.orders("z", "Z", 3);
        let lines = t.lines();
        assert_eq!(lines.len(), 2, "a line without comebacks is left out");
        assert_eq!(
            (lines[0].key.as_str(), lines[0].comebacks, lines[0].rate),
            ("b", 2, Some("0.25".parse().unwrap()))
        );
        assert_eq!(
            (lines[1].internal, lines[1].orders, lines[1].rate),
            (1, None, None)
        );
    }
}
