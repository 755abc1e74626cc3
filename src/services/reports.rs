//! The daily report (维修日报表, issue 11): the KPIs of one local day as a
//! page (`templates/web/reports/daily.html`) or a CSV a spreadsheet opens
//! with Chinese intact (UTF-8 with a BOM). The figures are `services::kpi`'s;
//! this module only lays them out, one row per figure with its numerator
//! and denominator.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::Actor;
use crate::care::outbox::{self, DailyReportParams, NewMessage, Params};
use crate::domain::Role;
use crate::domain::customer::Locale;
use crate::domain::message::MessageKind;
use crate::entities::{dealer, outbox_message};
use crate::error::{AppError, AppResult};
use crate::services::kpi::{self, Figure, KpiDaily, KpiPeriod};
use crate::services::{capacity, cases, dealers};
use crate::state::AppState;

/// One line of the report.
#[derive(Debug, Serialize)]
pub struct Row {
    pub key: &'static str,
    pub label: &'static str,
    pub value: String,
    pub numerator: String,
    pub denominator: String,
}

type Line = (
    &'static str,
    &'static str,
    &'static str,
    fn(&KpiPeriod) -> Cell,
);

/// A figure's cells: value, numerator, denominator (blank for a count).
enum Cell {
    Count(String),
    Ratio(Figure),
}

const LINES: &[Line] = &[
    (
        "revenue_total",
        "营业额（含税）",
        "Revenue (gross)",
        |p| Cell::Count(p.revenue.total.round_dp(2).to_string()),
    ),
    ("revenue_labour", "工时费", "Labour", |p| {
        Cell::Count(p.revenue.labour.round_dp(2).to_string())
    }),
    ("revenue_parts", "配件", "Parts", |p| {
        Cell::Count(p.revenue.parts.round_dp(2).to_string())
    }),
    ("vehicles_in", "进厂台次", "Vehicles in", |p| {
        Cell::Count(p.vehicles_in.to_string())
    }),
    (
        "vehicles_delivered",
        "交车台次",
        "Vehicles delivered",
        |p| Cell::Count(p.vehicles_delivered.to_string()),
    ),
    (
        "in_work_at_close",
        "在修台次",
        "In the workshop at the close",
        |p| Cell::Count(p.in_work_at_close.to_string()),
    ),
    ("productivity", "生产率", "Productivity", |p| {
        Cell::Ratio(p.hours.productivity.clone())
    }),
    ("efficiency", "工作效率", "Efficiency", |p| {
        Cell::Ratio(p.hours.efficiency.clone())
    }),
    ("utilisation", "利用率", "Utilisation", |p| {
        Cell::Ratio(p.hours.utilisation.clone())
    }),
    ("first_time_fix", "一次修复率", "First-time fix", |p| {
        Cell::Ratio(p.first_time_fix.clone())
    }),
    ("comeback_rate", "返修率", "Comeback rate", |p| {
        Cell::Ratio(p.comeback_rate.clone())
    }),
    ("show_rate", "预约到店率", "Show rate", |p| {
        Cell::Ratio(p.appointments.show_rate.clone())
    }),
    ("appointment_rate", "预约率", "Appointment rate", |p| {
        Cell::Ratio(p.appointment_rate.clone())
    }),
    (
        "reception_within_5_minutes",
        "5分钟内接待率",
        "Reception within 5 minutes",
        |p| Cell::Ratio(p.reception_within_5_minutes.clone()),
    ),
    (
        "estimate_before_work",
        "先报价后施工率",
        "Estimate before work",
        |p| Cell::Ratio(p.estimate_before_work.clone()),
    ),
    (
        "on_time_delivery",
        "按时交车率",
        "On-time delivery",
        |p| Cell::Ratio(p.on_time_delivery.clone()),
    ),
    (
        "follow_up_within_3_days",
        "3日内回访率",
        "Followed up within 3 days",
        |p| Cell::Ratio(p.follow_up_within_3_days.clone()),
    ),
    ("csi", "客户满意度 CSI", "CSI", |p| {
        Cell::Ratio(p.csi.clone())
    }),
    (
        "cases_opened",
        "新增不满意客户",
        "Unhappy-customer cases opened",
        |p| Cell::Count(p.cases_opened.to_string()),
    ),
];

/// The report's lines in `locale`.
pub fn rows(p: &KpiPeriod, locale: Locale) -> Vec<Row> {
    LINES
        .iter()
        .map(|(key, zh, en, cell)| {
            let label = match locale {
                Locale::ZhCn => *zh,
                Locale::En => *en,
            };
            let (value, numerator, denominator) = match cell(p) {
                Cell::Count(v) => (v, String::new(), String::new()),
                Cell::Ratio(f) => (
                    f.value.map(|v| v.to_string()).unwrap_or_default(),
                    f.numerator.to_string(),
                    f.denominator.to_string(),
                ),
            };
            Row {
                key,
                label,
                value,
                numerator,
                denominator,
            }
        })
        .collect()
}

/// The KPIs of local `date` for the report (the KPI readers).
pub async fn daily(
    state: &AppState,
    actor: &Actor,
    date: NaiveDate,
) -> AppResult<(String, KpiDaily)> {
    let r = kpi::daily(
        &state.db,
        actor,
        date,
        kpi::Filter::default(),
        state.clock.now(),
    )
    .await?;
    let name = crate::entities::dealer::Entity::find_by_id(r.dealer_id)
        .one(&state.db)
        .await?
        .map(|d| d.name)
        .unwrap_or_default();
    Ok((name, r))
}

/// The report as a page.
pub fn html(
    state: &AppState,
    dealer_name: &str,
    r: &KpiDaily,
    locale: Locale,
) -> AppResult<String> {
    let words = match locale {
        Locale::ZhCn => {
            serde_json::json!({"title": "维修日报表", "figure": "指标", "value": "数值",
            "numerator": "分子", "denominator": "分母", "technician": "技师", "available": "可用工时",
            "clocked": "打卡工时", "sold": "售出工时", "productivity": "生产率", "efficiency": "工作效率"})
        }
        Locale::En => {
            serde_json::json!({"title": "Daily service report", "figure": "Figure", "value": "Value",
            "numerator": "Numerator", "denominator": "Denominator", "technician": "Technician",
            "available": "Hours available", "clocked": "Clocked", "sold": "Sold",
            "productivity": "Productivity", "efficiency": "Efficiency"})
        }
    };
    let technicians: Vec<serde_json::Value> = r
        .figures
        .technicians
        .iter()
        .map(|t| {
            serde_json::json!({"name": t.name, "available": t.hours.available.to_string(),
                "clocked": t.hours.clocked.to_string(), "sold": t.hours.sold.to_string(),
                "productivity": t.hours.productivity.value.map(|v| v.to_string()).unwrap_or_default(),
                "efficiency": t.hours.efficiency.value.map(|v| v.to_string()).unwrap_or_default()})
        })
        .collect();
    state
        .templates
        .page(
            "reports/daily.html",
            serde_json::json!({"lang": locale.as_str(), "t": words, "dealer_name": dealer_name,
                "date": r.date.to_string(), "rows": rows(&r.figures, locale), "technicians": technicians}),
        )
        .map_err(AppError::Internal)
}

/// The report as CSV: UTF-8 with a BOM, one line a figure.
pub fn csv(r: &KpiDaily, locale: Locale) -> String {
    let mut out = String::from("\u{feff}");
    let head = match locale {
        Locale::ZhCn => "指标,代码,数值,分子,分母\r\n",
        Locale::En => "figure,code,value,numerator,denominator\r\n",
    };
    out.push_str(head);
    for row in rows(&r.figures, locale) {
        out.push_str(&format!(
            "{},{},{},{},{}\r\n",
            row.label, row.key, row.value, row.numerator, row.denominator
        ));
    }
    out
}

/// Sends each dealer's report of today once it has closed (its opening
/// hours' last close), to the service manager's contacts (the case rules'
/// `escalate_to`) that take it (`daily_report`), each in their language,
/// through the outbox: one message per contact and
/// day (occurrence `daily_report:<date>:<address>`), so a second sweep, a
/// second instance or a restart sends nothing twice. Answers how many were
/// written.
pub async fn send_due(state: &AppState, now: DateTime<Utc>) -> AppResult<usize> {
    let mut written = 0;
    for d in dealer::Entity::find().all(&state.db).await? {
        match send_for(state, &d, now).await {
            Ok(n) => written += n,
            Err(e) => tracing::error!(dealer = %d.id, error = ?e, "daily report"),
        }
    }
    Ok(written)
}

async fn send_for(state: &AppState, d: &dealer::Model, now: DateTime<Utc>) -> AppResult<usize> {
    let db = &state.db;
    let local = now.with_timezone(&dealers::zone(d));
    let date = local.date_naive();
    let (schedule, _) = capacity::schedule(db, d.id).await?;
    match schedule.closing(date) {
        Some(close) if local.time() >= close => {}
        _ => return Ok(0),
    }
    let contacts: Vec<_> = cases::rules(db, d.id)
        .await?
        .escalate_to
        .into_iter()
        .filter(|c| c.daily_report)
        .collect();
    let key = format!("daily_report:{date}");
    let sent = outbox_message::Entity::find()
        .filter(outbox_message::Column::DealerId.eq(d.id))
        .filter(outbox_message::Column::Kind.eq(MessageKind::DailyReport))
        .filter(outbox_message::Column::OccurrenceKey.starts_with(format!("{key}:")))
        .count(db)
        .await?;
    if contacts.is_empty() || sent as usize >= contacts.len() {
        return Ok(0);
    }
    // the report is the dealer's own: read as its service manager would
    let manager = Actor {
        id: Uuid::nil(),
        dealer_id: d.id,
        roles: vec![Role::ServiceManager],
        customer_id: None,
    };
    let r = kpi::daily(db, &manager, date, kpi::Filter::default(), now).await?;
    let f = &r.figures;
    let params = DailyReportParams {
        dealer_name: d.name.clone(),
        date: date.to_string(),
        revenue: f.revenue.total.round_dp(2).to_string(),
        vehicles_in: f.vehicles_in.to_string(),
        vehicles_delivered: f.vehicles_delivered.to_string(),
        csi: f.csi.plain(),
        follow_up: f.follow_up_within_3_days.percent(),
        report_url: format!(
            "{}/console/reports/daily?date={date}",
            state.settings.server.public_base_url.trim_end_matches('/')
        ),
    };
    let kind = MessageKind::DailyReport;
    let mut written = 0;
    for to in contacts {
        let locale = to.locale;
        // the link opens the console in the contact's language
        let mut params = params.clone();
        params.report_url = format!("{}&lang={}", params.report_url, locale.as_str());
        let title = state
            .templates
            .render(locale, kind.as_str(), "title.txt", &params)?;
        let text = state
            .templates
            .render(locale, kind.as_str(), "sms.txt", &params)?;
        let m = NewMessage {
            dealer_id: d.id,
            customer_id: None,
            about_customer_id: None,
            kind,
            occurrence_key: format!("{key}:{}", to.address),
            channel: to.channel.channel(),
            recipient: to.address,
            locale,
            params: Params::DailyReport(params),
            subject: Some(title),
            body: text,
            due_at: now,
            parent_id: None,
        };
        outbox::enqueue(db, m, now).await?;
        written += 1;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_has_a_label_in_both_languages_and_a_unique_code() {
        let mut keys: Vec<&str> = LINES.iter().map(|l| l.0).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), LINES.len());
        assert!(
            LINES
                .iter()
                .all(|l| !l.1.is_empty() && !l.2.is_empty() && !l.2.contains(','))
        );
        assert!(LINES.iter().all(|l| !l.1.contains(',')));
    }
}
