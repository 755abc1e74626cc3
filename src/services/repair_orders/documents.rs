//! Printable documents of an order, rendered as HTML from
//! `templates/documents/` (built into the binary, HTML-escaped): the repair
//! order (《维修委托书》) with what was signed, and the final QC report
//! (《最终质量检查报告单》). zh-CN by default, English on request.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use minijinja::Environment;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use uuid::Uuid;

use super::inspection::Walkaround;
use super::journal;
use super::{load, settings};
use crate::auth::Actor;
use crate::domain::customer::Locale;
use crate::domain::repair_order::access::Act;
use crate::domain::repair_order::{
    Approval, OrderState, PayType, QcLevel, SignatureKind, WalkStatus,
};
use crate::entities::{qc_check, repair_order_estimate, user};
use crate::error::{AppError, AppResult};
use crate::services::from_stored;

/// (name, source) of every document template.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "repair_order.html",
        include_str!("../../../templates/documents/repair_order.html"),
    ),
    (
        "repair_order.en.html",
        include_str!("../../../templates/documents/repair_order.en.html"),
    ),
    (
        "qc_report.html",
        include_str!("../../../templates/documents/qc_report.html"),
    ),
    (
        "qc_report.en.html",
        include_str!("../../../templates/documents/qc_report.en.html"),
    ),
];

/// The templates, compiled once; `.html` names are HTML-escaped.
static ENV: LazyLock<Result<Environment<'static>, String>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    for (name, source) in TEMPLATES {
        env.add_template(name, source).map_err(|e| e.to_string())?;
    }
    Ok(env)
});

/// A printed page, and the customer whose name and phone it shows (for the
/// access log: a print is a look).
pub struct Printed {
    pub html: String,
    pub customer_id: Uuid,
}

impl crate::services::privacy::Shows for Printed {
    fn customers_shown(&self) -> Vec<Uuid> {
        vec![self.customer_id]
    }
}

fn render(name: &str, locale: Locale, ctx: impl Serialize) -> AppResult<String> {
    let env = ENV
        .as_ref()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("document templates: {e}")))?;
    let file = match locale {
        Locale::ZhCn => format!("{name}.html"),
        Locale::En => format!("{name}.en.html"),
    };
    env.get_template(&file)
        .and_then(|t| t.render(ctx))
        .map_err(|e| AppError::Internal(anyhow::anyhow!("rendering {file}: {e}")))
}

fn pay_type(p: PayType, l: Locale) -> &'static str {
    match (p, l) {
        (PayType::Customer, Locale::ZhCn) => "客户付费",
        (PayType::Warranty, Locale::ZhCn) => "保修",
        (PayType::Internal, Locale::ZhCn) => "内部",
        (PayType::Insurance, Locale::ZhCn) => "保险",
        (PayType::Customer, Locale::En) => "Customer pay",
        (PayType::Warranty, Locale::En) => "Warranty",
        (PayType::Internal, Locale::En) => "Internal",
        (PayType::Insurance, Locale::En) => "Insurance",
    }
}

fn walk_status(s: WalkStatus, l: Locale) -> &'static str {
    match (s, l) {
        (WalkStatus::Ok, Locale::ZhCn) => "正常",
        (WalkStatus::Note, Locale::ZhCn) => "注意",
        (WalkStatus::Damage, Locale::ZhCn) => "损伤",
        (WalkStatus::Ok, Locale::En) => "OK",
        (WalkStatus::Note, Locale::En) => "Note",
        (WalkStatus::Damage, Locale::En) => "Damage",
    }
}

fn signature_kind(k: SignatureKind, l: Locale) -> &'static str {
    match (k, l) {
        (SignatureKind::Drawn, Locale::ZhCn) => "手写签名",
        (SignatureKind::Typed, Locale::ZhCn) => "输入姓名",
        (SignatureKind::App, Locale::ZhCn) => "App 确认",
        (SignatureKind::Drawn, Locale::En) => "Drawn signature",
        (SignatureKind::Typed, Locale::En) => "Typed name",
        (SignatureKind::App, Locale::En) => "Accepted in the app",
    }
}

fn qc_level(q: QcLevel, l: Locale) -> &'static str {
    match (q, l) {
        (QcLevel::SelfCheck, Locale::ZhCn) => "技师自检",
        (QcLevel::Foreman, Locale::ZhCn) => "班组长互检",
        (QcLevel::Final, Locale::ZhCn) => "终检",
        (QcLevel::SelfCheck, Locale::En) => "Technician self-check",
        (QcLevel::Foreman, Locale::En) => "Foreman check",
        (QcLevel::Final, Locale::En) => "Final inspection",
    }
}

fn order_state(s: OrderState, l: Locale) -> &'static str {
    match (s, l) {
        (OrderState::Open, Locale::ZhCn) => "接车中",
        (OrderState::EstimateAccepted, Locale::ZhCn) => "已确认估价",
        (OrderState::InWork, Locale::ZhCn) => "维修中",
        (OrderState::Qc, Locale::ZhCn) => "质检中",
        (OrderState::Ready, Locale::ZhCn) => "待交车",
        (OrderState::Delivered, Locale::ZhCn) => "已交车",
        (OrderState::Closed, Locale::ZhCn) => "已结算",
        (OrderState::Cancelled, Locale::ZhCn) => "已取消",
        (OrderState::Open, Locale::En) => "Open",
        (OrderState::EstimateAccepted, Locale::En) => "Estimate accepted",
        (OrderState::InWork, Locale::En) => "In work",
        (OrderState::Qc, Locale::En) => "Quality check",
        (OrderState::Ready, Locale::En) => "Ready",
        (OrderState::Delivered, Locale::En) => "Delivered",
        (OrderState::Closed, Locale::En) => "Closed",
        (OrderState::Cancelled, Locale::En) => "Cancelled",
    }
}

fn stamp(tz: Tz, t: DateTime<Utc>) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

#[derive(Serialize)]
struct Party {
    name: String,
    phone: String,
}

#[derive(Serialize)]
struct Car {
    plate: String,
    vin: String,
    make: String,
    model: String,
}

#[derive(Serialize)]
struct Mark {
    code: String,
    name: String,
    status: &'static str,
    damage: bool,
    note: String,
    position: String,
    photos: usize,
}

#[derive(Serialize)]
struct Walk {
    marks: Vec<Mark>,
    fuel_level: Option<i32>,
    valuables: String,
    protection_fitted: bool,
    recorded_at: String,
}

#[derive(Serialize)]
struct PartLine {
    part_number: String,
    name: String,
    quantity: String,
    unit_price: String,
    amount: String,
}

#[derive(Serialize)]
struct JobLine {
    n: usize,
    description: String,
    pay_type: &'static str,
    labour_hours: String,
    labour_amount: String,
    parts: Vec<PartLine>,
    parts_amount: String,
    total: String,
}

#[derive(Serialize)]
struct SumLine {
    label: &'static str,
    labour: String,
    parts: String,
    net: String,
    vat: String,
    gross: String,
}

#[derive(Serialize)]
struct Signed {
    version: i32,
    kind: &'static str,
    name: String,
    at: String,
    sha256: String,
}

#[derive(Serialize)]
struct OrderDoc {
    dealer: String,
    number: String,
    state: &'static str,
    customer: Party,
    vehicle: Car,
    odometer_km: Option<i64>,
    fuel_level: Option<i32>,
    arrived_at: String,
    promised_at: String,
    concerns: Vec<String>,
    notes: String,
    walkaround: Option<Walk>,
    jobs: Vec<JobLine>,
    totals: Vec<SumLine>,
    total: SumLine,
    signature: Option<Signed>,
    printed_at: String,
}

/// The repair order as a printable page.
pub async fn repair_order(
    db: &impl ConnectionTrait,
    actor: &Actor,
    order_id: Uuid,
    locale: Locale,
    now: DateTime<Utc>,
) -> AppResult<Printed> {
    let m = load(db, actor, order_id).await?;
    journal::allow(actor, Act::Read)?;
    let (dealer, tz) = crate::services::appointments::dealer_zone(db, m.dealer_id).await?;
    let ws = settings::of_dealer(db, m.dealer_id).await?;
    let names: HashMap<&str, (&str, &str)> = ws
        .walkaround_checklist
        .iter()
        .map(|i| (i.code.as_str(), (i.name_zh.as_str(), i.name_en.as_str())))
        .collect();
    let walkaround = match &m.walkaround {
        None => None,
        Some(j) => {
            let w: Walkaround = from_stored(j, "walk-around")?;
            Some(Walk {
                marks: w
                    .items
                    .iter()
                    .map(|i| Mark {
                        name: names
                            .get(i.code.as_str())
                            .map(|(zh, en)| match locale {
                                Locale::ZhCn => (*zh).to_string(),
                                Locale::En => (*en).to_string(),
                            })
                            .unwrap_or_else(|| i.code.clone()),
                        code: i.code.clone(),
                        status: walk_status(i.status, locale),
                        damage: i.status == WalkStatus::Damage,
                        note: i.note.clone().unwrap_or_default(),
                        position: i
                            .position
                            .map(|p| format!("({:.2}, {:.2})", p.x, p.y))
                            .unwrap_or_default(),
                        photos: i.photo_ids.len(),
                    })
                    .collect(),
                fuel_level: w.fuel_level,
                valuables: w.valuables.unwrap_or_default(),
                protection_fitted: w.protection_fitted,
                recorded_at: stamp(tz, w.recorded_at),
            })
        }
    };
    let signature = match m.accepted_estimate {
        None => None,
        Some(v) => repair_order_estimate::Entity::find_by_id((m.id, v))
            .one(db)
            .await?
            .map(|e| {
                let sig = e.signature.clone().unwrap_or_default();
                let kind = sig["kind"]
                    .as_str()
                    .and_then(|k| k.parse::<SignatureKind>().ok())
                    .map(|k| signature_kind(k, locale))
                    .unwrap_or_default();
                Signed {
                    version: e.version,
                    kind,
                    name: sig["name"].as_str().unwrap_or_default().to_string(),
                    at: e.accepted_at.map(|t| stamp(tz, t)).unwrap_or_default(),
                    sha256: e.sha256,
                }
            }),
    };
    let o = super::view(db, m).await?.seen_by(actor.sight());
    let jobs = o
        .jobs
        .iter()
        .filter(|j| matches!(j.approval, Approval::Estimate | Approval::Approved))
        .enumerate()
        .map(|(i, j)| JobLine {
            n: i + 1,
            description: j.description.clone(),
            pay_type: pay_type(j.pay_type, locale),
            labour_hours: j.labour_hours.to_string(),
            labour_amount: j.labour_amount.to_string(),
            parts: j
                .parts
                .iter()
                .map(|p| PartLine {
                    part_number: p.part_number.clone(),
                    name: p.name.clone(),
                    quantity: p.quantity.normalize().to_string(),
                    unit_price: p.unit_price.to_string(),
                    amount: p.amount.to_string(),
                })
                .collect(),
            parts_amount: j.parts_amount.to_string(),
            total: j.total.to_string(),
        })
        .collect();
    let sums = |label, s: &super::SumsView| SumLine {
        label,
        labour: s.labour.to_string(),
        parts: s.parts.to_string(),
        net: s.net.to_string(),
        vat: s.vat.to_string(),
        gross: s.gross.to_string(),
    };
    let doc = OrderDoc {
        dealer: dealer.name,
        number: o.number,
        state: order_state(o.state, locale),
        customer: Party {
            name: o.customer.name,
            phone: o.customer.phone,
        },
        vehicle: Car {
            plate: o.vehicle.plate.unwrap_or_default(),
            vin: o.vehicle.vin,
            make: o.vehicle.make,
            model: o.vehicle.model,
        },
        odometer_km: o.odometer_km,
        fuel_level: o.fuel_level,
        arrived_at: o.arrived_at.format("%Y-%m-%d %H:%M").to_string(),
        promised_at: o
            .promised_at
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default(),
        concerns: o.concerns,
        notes: o.notes.unwrap_or_default(),
        walkaround,
        jobs,
        totals: o
            .totals
            .by_pay_type
            .iter()
            .map(|p| sums(pay_type(p.pay_type, locale), &p.sums))
            .collect(),
        total: sums(
            match locale {
                Locale::ZhCn => "合计",
                Locale::En => "Total",
            },
            &o.totals.total,
        ),
        signature,
        printed_at: stamp(tz, now),
    };
    Ok(Printed {
        html: render("repair_order", locale, doc)?,
        customer_id: o.customer.id,
    })
}

#[derive(Serialize, serde::Deserialize)]
struct QcItem {
    code: String,
    ok: bool,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Serialize)]
struct QcRow {
    round: i32,
    level: &'static str,
    passed: bool,
    by: String,
    at: String,
    items: Vec<QcItem>,
    rework_jobs: usize,
}

#[derive(Serialize)]
struct QcDoc {
    dealer: String,
    number: String,
    customer: String,
    vehicle: Car,
    odometer_km: Option<i64>,
    checks: Vec<QcRow>,
    /// The final inspection of the last round passed.
    passed: bool,
    printed_at: String,
}

/// The final QC report: every level recorded, in order.
pub async fn qc_report(
    db: &impl ConnectionTrait,
    actor: &Actor,
    order_id: Uuid,
    locale: Locale,
    now: DateTime<Utc>,
) -> AppResult<Printed> {
    let m = load(db, actor, order_id).await?;
    journal::allow(actor, Act::Read)?;
    let (dealer, tz) = crate::services::appointments::dealer_zone(db, m.dealer_id).await?;
    let rows = qc_check::Entity::find()
        .filter(qc_check::Column::OrderId.eq(m.id))
        .order_by_asc(qc_check::Column::At)
        .order_by_asc(qc_check::Column::Id)
        .all(db)
        .await?;
    let who: HashMap<Uuid, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(rows.iter().map(|r| r.checked_by).collect::<Vec<_>>()))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
    let passed = rows
        .last()
        .is_some_and(|r| r.level == QcLevel::Final && r.passed);
    let checks = rows
        .into_iter()
        .map(|r| {
            let items: Vec<QcItem> = from_stored(&r.checklist, "QC checklist").unwrap_or_default();
            let rework: Vec<Uuid> =
                from_stored(&r.rework_job_ids, "rework jobs").unwrap_or_default();
            QcRow {
                round: r.round,
                level: qc_level(r.level, locale),
                passed: r.passed,
                by: who.get(&r.checked_by).cloned().unwrap_or_default(),
                at: stamp(tz, r.at),
                items,
                rework_jobs: rework.len(),
            }
        })
        .collect();
    let o = super::view(db, m).await?.seen_by(actor.sight());
    let doc = QcDoc {
        dealer: dealer.name,
        number: o.number,
        customer: o.customer.name,
        vehicle: Car {
            plate: o.vehicle.plate.unwrap_or_default(),
            vin: o.vehicle.vin,
            make: o.vehicle.make,
            model: o.vehicle.model,
        },
        odometer_km: o.odometer_km,
        checks,
        passed,
        printed_at: stamp(tz, now),
    };
    Ok(Printed {
        html: render("qc_report", locale, doc)?,
        customer_id: o.customer.id,
    })
}
