//! Extra work (追加维修): lines found after the estimate was accepted. Each
//! proposed line is a job with origin `extra_work` awaiting the customer's
//! answer; the customer is told (inbox + their channel through the outbox)
//! in the same transaction. The customer approves or declines each line in
//! the app, or the advisor records their answer given on the phone or on the
//! tablet. Only approved lines count towards the totals and may be
//! dispatched; declined lines stay on the vehicle as declined work, which
//! the invitation list offers later.

use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::RepairOrder;
use super::jobs::{self, Draft, PartInput};
use super::journal::Write;
use super::journal::finish;
use super::settings::WorkshopSettings;
use crate::auth::Actor;
use crate::care::outbox::{self, ExtraWorkParams, NewMessage, Params};
use crate::care::route::Addresses;
use crate::domain::customer::{Consent, Locale};
use crate::domain::message::MessageKind;
use crate::domain::money::Money;
use crate::domain::repair_order::access::Act;
use crate::domain::repair_order::{
    Approval, ApprovalChannel, EventKind, JobOrigin, OrderState, PayType, Skill,
};
use crate::domain::{FieldErrors, validation};
use crate::entities::{customer, dealer, repair_order, repair_order_job, vehicle, warranty_case};
use crate::error::{AppError, AppResult};
use crate::services::idempotency::{self, IdempotencyKey, Outcome, Reservation};
use crate::state::AppState;

/// Lines one proposal may carry.
pub const MAX_LINES: usize = 20;
/// Lines named in the customer's message; the rest are counted.
const NAMED_IN_MESSAGE: usize = 3;

/// The order states in which extra work may be proposed and answered.
const IN_WORKSHOP: &[OrderState] = &[
    OrderState::EstimateAccepted,
    OrderState::InWork,
    OrderState::Qc,
];

/// One proposed line.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtraWorkLine {
    #[schema(example = "更换雨刮片")]
    pub description: String,
    /// Sold (flat-rate) hours, more than 0, at most 2 decimals.
    #[schema(value_type = String, format = "decimal", example = "0.3")]
    pub labour_hours: Decimal,
    /// CNY per hour; default: the dealer's rate for the skill.
    #[schema(value_type = Option<String>, format = "decimal", example = "300.00")]
    pub labour_rate: Option<Decimal>,
    /// Default `mechanical`.
    pub skill: Option<Skill>,
    /// Default `customer`.
    pub pay_type: Option<PayType>,
    #[serde(default)]
    pub parts: Vec<PartInput>,
    /// The health-check item that found it: an item of the order's recorded
    /// health check, or (none recorded yet) of the dealer's checklist.
    #[schema(example = "WIPERS")]
    pub health_item_code: Option<String>,
}

/// `POST /repair-orders/{id}/extra-work`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtraWork {
    /// 1 to 20 lines.
    pub lines: Vec<ExtraWorkLine>,
}

/// The body of `…/extra-work/{line_id}/approve|decline`. The customer in the
/// app sends nothing (or a note); staff say how the answer came: `phone`
/// (with a `note` of what the customer said) or `tablet` (the customer
/// tapped on the advisor's tablet).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtraWorkAnswer {
    pub by: Option<ApprovalChannel>,
    #[schema(example = "客户电话确认：下次再换")]
    pub note: Option<String>,
}

/// Checks the lines and prices them as jobs awaiting approval.
fn drafts(input: &ExtraWork, ws: &WorkshopSettings) -> AppResult<Vec<Draft>> {
    if input.lines.is_empty() || input.lines.len() > MAX_LINES {
        return Err(AppError::field(
            "lines",
            format!("must list 1 to {MAX_LINES} lines"),
        ));
    }
    let mut e = FieldErrors::new();
    let out: Vec<Option<Draft>> = input
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let f = |n: &str| format!("lines[{i}].{n}");
            let description = e.check(&f("description"), validation::text(&l.description, 500));
            let hours = e.check(&f("labour_hours"), jobs::centihours(l.labour_hours));
            let rate = l
                .labour_rate
                .and_then(|r| e.check(&f("labour_rate"), Money::parse(r)));
            let code = l
                .health_item_code
                .as_deref()
                .and_then(|c| e.check(&f("health_item_code"), validation::code(c)));
            let parts = jobs::parts(&l.parts, &f("parts"), &mut e);
            let skill = l.skill.unwrap_or(Skill::Mechanical);
            Some(Draft {
                menu_code: None,
                description: description?,
                labour_centihours: hours?,
                labour_rate_cents: rate.unwrap_or_else(|| ws.rate(skill)).cents(),
                package_price_cents: None,
                skill,
                pay_type: l.pay_type.unwrap_or(PayType::Customer),
                parts,
                origin: JobOrigin::ExtraWork,
                approval: Approval::Awaiting,
                health_item_code: code,
            })
        })
        .collect();
    e.into_result()?;
    Ok(out.into_iter().flatten().collect())
}

/// The item codes of a recorded health check (`{items: [{code, …}]}` or the
/// bare list).
fn recorded_codes(check: &serde_json::Value) -> Vec<String> {
    let items = check.get("items").unwrap_or(check);
    items
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i.get("code").and_then(|c| c.as_str()))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Each `health_item_code` must name an item of the order's health check if
/// one is recorded, else an item of the dealer's checklist.
fn check_health_codes(
    order: &repair_order::Model,
    ws: &WorkshopSettings,
    drafts: &[Draft],
) -> AppResult<()> {
    let (known, what): (Vec<String>, &str) = match &order.health_check {
        Some(check) => (
            recorded_codes(check),
            "is not an item of this order's health check",
        ),
        None => (
            ws.health_checklist.iter().map(|i| i.code.clone()).collect(),
            "is not an item of the health checklist",
        ),
    };
    let mut e = FieldErrors::new();
    for (i, d) in drafts.iter().enumerate() {
        if let Some(code) = &d.health_item_code
            && !known.contains(code)
        {
            e.add(format!("lines[{i}].health_item_code"), what);
        }
    }
    Ok(e.into_result()?)
}

/// Proposes extra work. With `Idempotency-Key`, a retried request answers
/// the first proposal instead of proposing the lines twice.
pub async fn propose(
    state: &AppState,
    actor: &Actor,
    order_id: Uuid,
    input: ExtraWork,
    key: Option<&IdempotencyKey>,
) -> AppResult<Outcome<Box<RepairOrder>>> {
    let request = (order_id, &input);
    idempotency::once(
        &state.db,
        actor,
        key,
        &request,
        state.clock.now(),
        async |r| propose_now(state, actor, order_id, &input, r).await,
    )
    .await
}

async fn propose_now(
    state: &AppState,
    actor: &Actor,
    order_id: Uuid,
    input: &ExtraWork,
    r: Option<&Reservation>,
) -> AppResult<Box<RepairOrder>> {
    let mut w = Write::begin(state, actor, order_id, Act::ProposeExtraWork).await?;
    w.require(IN_WORKSHOP, "take extra work")?;
    let ws = super::settings::of_dealer(&w.txn, w.order.dealer_id).await?;
    let drafts = drafts(input, &ws)?;
    check_health_codes(&w.order, &ws, &drafts)?;
    let v = vehicle::Entity::find_by_id(w.order.vehicle_id)
        .one(&w.txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut lines = Vec::with_capacity(drafts.len());
    for d in drafts {
        lines.push(jobs::insert(&mut w, d, &v).await?.description);
    }
    tell_customer(&w, state, &v, &lines).await?;
    let o = finish(w, state, r, 201).await?;
    outbox::wake(state);
    Ok(Box::new(o))
}

/// The lines as the message names them: the first few, then how many more.
fn named(lines: &[String], locale: Locale) -> String {
    let (sep, more) = match locale {
        Locale::En => (
            "; ",
            format!(" and {} more", lines.len().saturating_sub(NAMED_IN_MESSAGE)),
        ),
        _ => ("、", format!("等{}项", lines.len())),
    };
    let mut s = lines
        .iter()
        .take(NAMED_IN_MESSAGE)
        .cloned()
        .collect::<Vec<_>>()
        .join(sep);
    if lines.len() > NAMED_IN_MESSAGE {
        s.push_str(&more);
    }
    s
}

/// One message per proposal: the inbox row in the app and the customer's
/// preferred channel through the outbox, in the proposal's transaction.
async fn tell_customer(
    w: &Write,
    state: &AppState,
    v: &vehicle::Model,
    lines: &[String],
) -> AppResult<()> {
    let txn = &w.txn;
    let d = dealer::Entity::find_by_id(w.order.dealer_id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let c = customer::Entity::find_by_id(w.order.customer_id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let kind = MessageKind::ExtraWorkApproval;
    let params = ExtraWorkParams {
        dealer_name: d.name.clone(),
        vehicle: v.plate.clone().unwrap_or_else(|| v.vin.clone()),
        order_number: w.order.number.clone(),
        lines: named(lines, c.locale),
    };
    let title = state
        .templates
        .render(c.locale, kind.as_str(), "title.txt", &params)?;
    let text = state
        .templates
        .render(c.locale, kind.as_str(), "sms.txt", &params)?;
    crate::services::inbox::post(
        txn,
        w.order.dealer_id,
        c.id,
        kind.as_str(),
        &title,
        &text,
        w.order.id,
        w.now,
    )
    .await?;
    // as for appointments: consents are checked when the message leaves, and
    // must be readable now
    let _: Vec<Consent> = crate::services::from_stored(&c.consents, "customer consents")?;
    let Some((channel, recipient)) = Addresses::of(txn, &c, w.now).await?.first() else {
        return Ok(());
    };
    outbox::enqueue(
        txn,
        NewMessage {
            dealer_id: w.order.dealer_id,
            customer_id: Some(c.id),
            about_customer_id: None,
            kind,
            // the journal entry of the proposal's last line: one per proposal
            occurrence_key: format!("{}:e{}", w.order.id, w.order.event_seq),
            channel,
            recipient,
            locale: c.locale,
            params: Params::ExtraWork(params),
            subject: Some(title),
            body: text,
            due_at: w.now,
            parent_id: None,
        },
        w.now,
    )
    .await?;
    Ok(())
}

/// How the answer came in, from who gives it and what they say.
fn channel_of(
    actor: &Actor,
    input: &ExtraWorkAnswer,
) -> AppResult<(ApprovalChannel, Option<String>)> {
    let note = validation::optional_multiline(input.note.as_deref(), 1000)
        .map_err(|m| AppError::field("note", m))?;
    let channel = match (actor.is_customer(), input.by) {
        (true, None | Some(ApprovalChannel::App)) => ApprovalChannel::App,
        (true, Some(_)) => {
            return Err(AppError::field(
                "by",
                "is `app` (or left out) when the customer answers in the app",
            ));
        }
        (false, None) => {
            return Err(AppError::field(
                "by",
                "is required when staff record the answer: `phone`, or `tablet` when the customer taps on the tablet",
            ));
        }
        (false, Some(ApprovalChannel::App)) => {
            return Err(AppError::field(
                "by",
                "`app` is the customer's own answer: staff record `phone` or `tablet`",
            ));
        }
        (false, Some(ApprovalChannel::Phone)) if note.is_none() => {
            return Err(AppError::field(
                "note",
                "is required for an answer given on the phone: what the customer said",
            ));
        }
        (false, Some(c)) => c,
    };
    Ok((channel, note))
}

/// Approves (`approve: true`) or declines one line awaiting an answer.
pub async fn answer(
    state: &AppState,
    actor: &Actor,
    order_id: Uuid,
    line_id: Uuid,
    approve: bool,
    input: ExtraWorkAnswer,
) -> AppResult<RepairOrder> {
    let (channel, note) = channel_of(actor, &input)?;
    let mut w = Write::begin(state, actor, order_id, Act::AnswerExtraWork).await?;
    let j = crate::services::lock_row::<repair_order_job::Entity>(
        &w.txn,
        repair_order_job::Column::Id,
        repair_order_job::Column::Version,
        line_id,
    )
    .await?
    .filter(|j| j.order_id == w.order.id && j.origin == JobOrigin::ExtraWork)
    .ok_or(AppError::NotFound)?;
    if j.approval != Approval::Awaiting {
        return Err(AppError::Conflict(format!(
            "this line of extra work is already answered (it is {}): only a line awaiting approval may be answered",
            j.approval
        )));
    }
    w.require(IN_WORKSHOP, "have extra work answered")?;
    let approval = if approve {
        Approval::Approved
    } else {
        Approval::Declined
    };
    repair_order_job::Entity::update_many()
        .col_expr(repair_order_job::Column::Approval, Expr::value(approval))
        .col_expr(
            repair_order_job::Column::ApprovalBy,
            Expr::value(w.actor_id),
        )
        .col_expr(repair_order_job::Column::ApprovalAt, Expr::value(w.now))
        .col_expr(
            repair_order_job::Column::ApprovalChannel,
            Expr::value(channel),
        )
        .col_expr(
            repair_order_job::Column::ApprovalNote,
            Expr::value(note.clone()),
        )
        .col_expr(
            repair_order_job::Column::Version,
            Expr::value(j.version + 1),
        )
        .col_expr(repair_order_job::Column::UpdatedAt, Expr::value(w.now))
        .filter(repair_order_job::Column::Id.eq(j.id))
        .exec(&w.txn)
        .await?;
    if approve {
        // the line counts now: hold its stocked parts
        crate::services::parts::reserve_jobs(&w.txn, w.order.dealer_id, &[&j], actor.id, w.now)
            .await?;
    }
    if !approve && j.pay_type == PayType::Warranty {
        // declined work is not done, so there is nothing to claim
        warranty_case::Entity::delete_many()
            .filter(warranty_case::Column::JobId.eq(j.id))
            .exec(&w.txn)
            .await?;
    }
    let kind = if approve {
        EventKind::ExtraWorkApproved
    } else {
        EventKind::ExtraWorkDeclined
    };
    w.event(
        kind,
        serde_json::json!({
            "job_id": j.id,
            "description": j.description,
            "channel": channel,
            "by_customer": actor.is_customer(),
            "note": note,
        }),
    )
    .await?;
    finish(w, state, None, 200).await
}

/// Declined lines of extra work of a dealer's orders that arrived since
/// `since`, with their orders: what the invitation list offers again.
pub async fn declined_since(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    since: chrono::DateTime<chrono::Utc>,
) -> AppResult<Vec<(repair_order::Model, repair_order_job::Model)>> {
    let jobs = repair_order_job::Entity::find()
        .filter(repair_order_job::Column::DealerId.eq(dealer_id))
        .filter(repair_order_job::Column::Origin.eq(JobOrigin::ExtraWork))
        .filter(repair_order_job::Column::Approval.eq(Approval::Declined))
        // answered after the order arrived, so this only narrows the scan
        .filter(repair_order_job::Column::ApprovalAt.gte(since))
        .all(db)
        .await?;
    if jobs.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<Uuid> = jobs.iter().map(|j| j.order_id).collect();
    let orders: std::collections::HashMap<Uuid, repair_order::Model> = repair_order::Entity::find()
        .filter(repair_order::Column::Id.is_in(ids))
        .filter(repair_order::Column::ArrivedAt.gte(since))
        .filter(repair_order::Column::State.ne(OrderState::Cancelled))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    Ok(jobs
        .into_iter()
        .filter_map(|j| orders.get(&j.order_id).cloned().map(|o| (o, j)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_a_few_lines_and_counts_the_rest() {
        let l = |n: usize| (1..=n).map(|i| format!("L{i}")).collect::<Vec<_>>();
        assert_eq!(named(&l(2), Locale::ZhCn), "L1、L2");
        assert_eq!(named(&l(5), Locale::ZhCn), "L1、L2、L3等5项");
        assert_eq!(named(&l(5), Locale::En), "L1; L2; L3 and 2 more");
    }

    #[test]
    fn recorded_health_checks_are_read_in_either_shape() {
        let v = serde_json::json!({"items": [{"code": "WIPERS", "rating": "red"}]});
        assert_eq!(recorded_codes(&v), vec!["WIPERS".to_string()]);
        let bare = serde_json::json!([{"code": "BATTERY"}]);
        assert_eq!(recorded_codes(&bare), vec!["BATTERY".to_string()]);
        assert!(recorded_codes(&serde_json::json!({})).is_empty());
    }
}
