//! Quality and handover (质检/内部交车, 交车/结账): the three-level QC with
//! rework, the wash, the invoice (estimate against final), payments at the
//! cashier's desk, delivery, and cancelling before any work.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::estimate::{EstimateContent, accepted_customer_total};
use super::journal::finish;
use super::journal::{self, Write};
use super::{RepairOrder, TotalsView, counted, jobs, load, money, totals_of};
use crate::auth::Actor;
use crate::domain::money::Money;
use crate::domain::repair_order::access::Act;
use crate::domain::repair_order::totals::{exceeds_estimate, line_amounts};
use crate::domain::repair_order::workshop::{balance, payment_fits, qc_next};
use crate::domain::repair_order::{
    Approval, EventKind, OrderAction, OrderState, PayType, PaymentMethod, QcLevel, RepairJobState,
};
use crate::domain::{FieldErrors, validation};
use crate::entities::{payment, qc_check, repair_order, repair_order_estimate, repair_order_job};
use crate::error::{AppError, AppResult};
use crate::services::idempotency::{self, IdempotencyKey, Outcome, Reservation, Saved};
use crate::services::{from_stored, to_stored};
use crate::state::AppState;

/// The rule that holds a car whose bill grew too much.
pub const OVER_ESTIMATE: &str = "the customer-pay total is more than 10% over the accepted estimate: the customer must accept a new estimate before delivery";

/// One item of a QC checklist.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QcItem {
    #[schema(example = "BRAKES")]
    pub code: String,
    pub ok: bool,
    pub note: Option<String>,
}

/// `POST /repair-orders/{id}/qc`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QcInput {
    pub level: QcLevel,
    pub passed: bool,
    pub checklist: Vec<QcItem>,
    /// A failed level: the jobs sent back to rework (required then).
    #[serde(default)]
    pub rework_job_ids: Vec<Uuid>,
}

/// `POST /repair-orders/{id}/payments`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentInput {
    pub method: PaymentMethod,
    /// CNY, more than 0, at most 2 decimals, at most the balance.
    #[schema(value_type = String, format = "decimal", example = "300.00")]
    pub amount: Decimal,
}

/// `POST /repair-orders/{id}/deliver`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliverInput {
    /// The advisor explained the work and the invoice to the customer: must be true.
    pub explained: bool,
}

/// `POST /repair-orders/{id}/cancel`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    pub reason: String,
}

/// A line of the invoice: what the estimate said and what it is now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvoiceLine {
    pub job_id: Uuid,
    pub description: String,
    pub pay_type: PayType,
    pub approval: Approval,
    /// The line in the accepted estimate; null for a line not in it.
    #[schema(value_type = Option<String>, format = "decimal")]
    pub estimate_total: Option<Decimal>,
    #[schema(value_type = String, format = "decimal")]
    pub final_total: Decimal,
}

/// A payment taken.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentView {
    pub id: Uuid,
    pub method: PaymentMethod,
    #[schema(value_type = String, format = "decimal")]
    pub amount: Decimal,
    pub received_by: Uuid,
    pub at: DateTime<Utc>,
}

/// The invoice (结算单).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Invoice {
    pub order_id: Uuid,
    pub order_number: String,
    pub state: OrderState,
    pub accepted_estimate_version: Option<i32>,
    pub lines: Vec<InvoiceLine>,
    /// The final totals by pay type.
    pub totals: TotalsView,
    /// The customer-pay lines of the accepted estimate.
    #[schema(value_type = Option<String>, format = "decimal")]
    pub estimate_customer_total: Option<Decimal>,
    /// The customer-pay lines now.
    #[schema(value_type = String, format = "decimal")]
    pub final_customer_total: Decimal,
    /// What the customer pays (customer-pay gross).
    #[schema(value_type = String, format = "decimal")]
    pub customer_gross: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub paid: Decimal,
    /// Customer-pay gross less payments.
    #[schema(value_type = String, format = "decimal")]
    pub balance: Decimal,
    /// More than 10% over the accepted estimate: a new estimate must be accepted before delivery.
    pub needs_customer_approval: bool,
    pub payments: Vec<PaymentView>,
}

/// The answer to a payment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentReceipt {
    pub payment: PaymentView,
    pub order_id: Uuid,
    /// The order's state after the payment (`closed` once delivered and paid in full).
    pub order_state: OrderState,
    #[schema(value_type = String, format = "decimal")]
    pub paid: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub balance: Decimal,
}

/// The numbers of an invoice, kept as money for the rules.
struct Reckoning {
    invoice: Invoice,
    balance: Money,
    paid: Money,
}

async fn reckon(db: &impl ConnectionTrait, o: &repair_order::Model) -> AppResult<Reckoning> {
    let rows = super::jobs_of(db, o.id).await?;
    let totals = totals_of(&rows, super::vat_of(o))?;
    let estimate: HashMap<Uuid, Decimal> = match o.accepted_estimate {
        Some(v) => {
            let m = repair_order_estimate::Entity::find_by_id((o.id, v))
                .one(db)
                .await?
                .ok_or(AppError::NotFound)?;
            let c: EstimateContent = from_stored(&m.content, "estimate")?;
            c.lines.into_iter().map(|l| (l.job_id, l.total)).collect()
        }
        None => HashMap::new(),
    };
    let mut final_customer = Money::ZERO;
    let mut lines = Vec::new();
    for j in counted(&rows) {
        let a =
            line_amounts(&jobs::priced(j)?).map_err(|e| AppError::field("jobs", e.to_string()))?;
        if j.pay_type == PayType::Customer {
            final_customer = final_customer
                .checked_add(a.total)
                .ok_or_else(|| AppError::field("jobs", "the amounts are too large to add up"))?;
        }
        lines.push(InvoiceLine {
            job_id: j.id,
            description: j.description.clone(),
            pay_type: j.pay_type,
            approval: j.approval,
            estimate_total: estimate.get(&j.id).copied(),
            final_total: money(a.total),
        });
    }
    let accepted = accepted_customer_total(db, o).await?;
    let payments: Vec<payment::Model> = payment::Entity::find()
        .filter(payment::Column::OrderId.eq(o.id))
        .order_by_asc(payment::Column::At)
        .order_by_asc(payment::Column::Id)
        .all(db)
        .await?;
    let paid = Money::sum(payments.iter().map(|p| Money::from_cents(p.amount_cents)))
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("payments do not add up")))?;
    let gross = totals.of(PayType::Customer).gross;
    let owed = balance(gross, paid);
    // like with like: the line totals of the customer-pay lines, then and now
    let needs = accepted.is_some_and(|a| exceeds_estimate(a, final_customer));
    Ok(Reckoning {
        balance: owed,
        paid,
        invoice: Invoice {
            order_id: o.id,
            order_number: o.number.clone(),
            state: o.state,
            accepted_estimate_version: o.accepted_estimate,
            lines,
            totals: (&totals).into(),
            estimate_customer_total: accepted.map(money),
            final_customer_total: money(final_customer),
            customer_gross: money(gross),
            paid: money(paid),
            balance: money(owed),
            needs_customer_approval: needs,
            payments: payments.into_iter().map(payment_view).collect(),
        },
    })
}

fn payment_view(p: payment::Model) -> PaymentView {
    PaymentView {
        id: p.id,
        method: p.method,
        amount: money(Money::from_cents(p.amount_cents)),
        received_by: p.received_by,
        at: p.at,
    }
}

/// The invoice of an order the actor may read (customers their own).
pub async fn invoice(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> AppResult<Invoice> {
    let o = load(db, actor, id).await?;
    journal::allow(actor, Act::Read)?;
    Ok(reckon(db, &o).await?.invoice)
}

fn qc_act(level: QcLevel) -> Act {
    match level {
        QcLevel::SelfCheck => Act::QcSelf,
        QcLevel::Foreman => Act::QcForeman,
        QcLevel::Final => Act::QcFinal,
    }
}

fn checklist(items: &[QcItem]) -> AppResult<Vec<QcItem>> {
    let mut e = FieldErrors::new();
    if items.is_empty() || items.len() > 100 {
        e.add("checklist", "must list 1 to 100 items");
    }
    let out = items
        .iter()
        .enumerate()
        .filter_map(|(i, it)| {
            let code = e.check(&format!("checklist[{i}].code"), validation::code(&it.code));
            let note = e.check(
                &format!("checklist[{i}].note"),
                validation::optional_text(it.note.as_deref(), 500),
            );
            Some(QcItem {
                code: code?,
                ok: it.ok,
                note: note?,
            })
        })
        .collect();
    e.into_result()?;
    Ok(out)
}

/// Refuses while extra work awaits the customer's answer or a counted job is not done.
fn all_done(rows: &[repair_order_job::Model], before: &str) -> AppResult<()> {
    if rows.iter().any(|j| j.approval == Approval::Awaiting) {
        return Err(AppError::Conflict(format!(
            "extra work awaits the customer's answer: it is answered before {before}"
        )));
    }
    if counted(rows).any(|j| j.state != RepairJobState::Done) {
        return Err(AppError::Conflict(format!(
            "every job must be done before {before}"
        )));
    }
    Ok(())
}

/// Records one level of the three-level QC (车辆三级质检).
pub async fn qc(
    state: &AppState,
    actor: &Actor,
    order_id: Uuid,
    input: QcInput,
) -> AppResult<RepairOrder> {
    let items = checklist(&input.checklist)?;
    let mut w = Write::begin(state, actor, order_id, qc_act(input.level)).await?;
    match input.level {
        QcLevel::SelfCheck => w.require(&[OrderState::InWork], "take a self-check")?,
        _ => w.require(&[OrderState::Qc], "take a foreman or final check")?,
    }
    let passed: Option<QcLevel> = match &w.order.qc_passed_level {
        Some(s) => Some(
            s.parse()
                .map_err(|_| AppError::Internal(anyhow::anyhow!("stored QC level '{s}'")))?,
        ),
        None => None,
    };
    qc_next(passed, input.level).map_err(AppError::Conflict)?;
    let rows = super::jobs_of(&w.txn, w.order.id).await?;
    if input.level == QcLevel::SelfCheck && !rows.iter().any(|j| j.technician_id == Some(actor.id))
    {
        return Err(AppError::Forbidden(
            "only a technician who worked on this order does its self-check",
        ));
    }
    // extra work can arrive during QC: no level passes a car with work
    // awaiting an answer or not done (a failed check sends it to rework)
    if input.level == QcLevel::SelfCheck || input.passed {
        all_done(&rows, &format!("the {} check passes", input.level))?;
    }
    let round = w.order.qc_round;
    let mut rework: Vec<Uuid> = Vec::new();
    if !input.passed {
        let ours: HashSet<Uuid> = counted(&rows).map(|j| j.id).collect();
        let mut seen = HashSet::new();
        for id in &input.rework_job_ids {
            if seen.insert(*id) {
                rework.push(*id);
            }
        }
        if rework.is_empty() || !rework.iter().all(|id| ours.contains(id)) {
            return Err(AppError::field(
                "rework_job_ids",
                "a failed check names the jobs of this order to rework",
            ));
        }
    } else if !input.rework_job_ids.is_empty() {
        return Err(AppError::field(
            "rework_job_ids",
            "only a failed check sends jobs to rework",
        ));
    }
    qc_check::Entity::insert(qc_check::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(w.order.dealer_id),
        order_id: Set(w.order.id),
        round: Set(round),
        level: Set(input.level),
        passed: Set(input.passed),
        checklist: Set(to_stored(&items, "QC checklist")?),
        rework_job_ids: Set(to_stored(&rework, "rework jobs")?),
        checked_by: Set(actor.id),
        at: Set(w.now),
    })
    .exec_without_returning(&w.txn)
    .await?;
    w.event(
        EventKind::QcRecorded,
        serde_json::json!({"level": input.level, "passed": input.passed, "round": round,
                           "rework_job_ids": rework}),
    )
    .await?;
    if input.passed {
        w.order.qc_passed_level = Some(input.level.as_str().to_string());
        w.set(
            repair_order::Column::QcPassedLevel,
            Expr::value(input.level.as_str()),
        );
        if input.level == QcLevel::SelfCheck {
            w.transition(OrderAction::BeginQc, serde_json::json!({"round": round}))
                .await?;
        }
    } else {
        // lock order: the order's row is held; now its jobs, in id order
        rework.sort();
        if input.level == QcLevel::Final {
            // work the final check sends back is an internal comeback
            crate::services::comebacks::on_final_qc_failed(&w.txn, &w.order, round, &rework, w.now)
                .await?;
        }
        for id in &rework {
            let j = crate::services::lock_row::<repair_order_job::Entity>(
                &w.txn,
                repair_order_job::Column::Id,
                repair_order_job::Column::Version,
                *id,
            )
            .await?
            .ok_or(AppError::NotFound)?;
            repair_order_job::Entity::update_many()
                .col_expr(
                    repair_order_job::Column::State,
                    Expr::value(RepairJobState::Rework),
                )
                .col_expr(
                    repair_order_job::Column::Version,
                    Expr::value(j.version + 1),
                )
                .col_expr(repair_order_job::Column::UpdatedAt, Expr::value(w.now))
                .filter(repair_order_job::Column::Id.eq(j.id))
                .exec(&w.txn)
                .await?;
        }
        w.order.qc_round += 1;
        w.order.qc_reworks += 1;
        w.order.qc_passed_level = None;
        w.set(repair_order::Column::QcRound, Expr::value(w.order.qc_round));
        w.set(
            repair_order::Column::QcReworks,
            Expr::value(w.order.qc_reworks),
        );
        w.set(
            repair_order::Column::QcPassedLevel,
            Expr::value(Option::<String>::None),
        );
        if w.order.state == OrderState::Qc {
            w.transition(
                OrderAction::Rework,
                serde_json::json!({"level": input.level, "rework_job_ids": rework}),
            )
            .await?;
        }
    }
    finish(w, state, None, 200).await
}

/// The car is washed after the final inspection passed: the order is ready.
pub async fn wash(state: &AppState, actor: &Actor, order_id: Uuid) -> AppResult<RepairOrder> {
    let mut w = Write::begin(state, actor, order_id, Act::Wash).await?;
    w.require(&[OrderState::Qc], "be washed")?;
    if w.order.qc_passed_level.as_deref() != Some(QcLevel::Final.as_str()) {
        return Err(AppError::Conflict(
            "the final inspection must pass before the wash".into(),
        ));
    }
    // extra work proposed after the final check passed
    all_done(&super::jobs_of(&w.txn, w.order.id).await?, "the wash")?;
    w.order.washed_at = Some(w.now);
    w.set(repair_order::Column::WashedAt, Expr::value(w.now));
    w.event(EventKind::Washed, serde_json::json!({})).await?;
    w.transition(OrderAction::Wash, serde_json::json!({}))
        .await?;
    finish(w, state, None, 200).await
}

fn close(w: &mut Write) {
    w.order.closed_at = Some(w.now);
    w.set(repair_order::Column::ClosedAt, Expr::value(w.now));
}

/// Takes a payment. With `Idempotency-Key`, a retried request answers the
/// first payment instead of taking a second.
pub async fn pay(
    state: &AppState,
    actor: &Actor,
    order_id: Uuid,
    input: PaymentInput,
    key: Option<&IdempotencyKey>,
) -> AppResult<Outcome<Box<PaymentReceipt>>> {
    idempotency::once(
        &state.db,
        actor,
        key,
        &(order_id, &input),
        state.clock.now(),
        async |r| pay_now(state, actor, order_id, &input, r).await,
    )
    .await
}

async fn pay_now(
    state: &AppState,
    actor: &Actor,
    order_id: Uuid,
    input: &PaymentInput,
    r: Option<&Reservation>,
) -> AppResult<Box<PaymentReceipt>> {
    let amount =
        Money::parse(input.amount).map_err(|e| AppError::field("amount", e.to_string()))?;
    let mut w = Write::begin(state, actor, order_id, Act::Pay).await?;
    w.require(
        &[
            OrderState::EstimateAccepted,
            OrderState::InWork,
            OrderState::Qc,
            OrderState::Ready,
            OrderState::Delivered,
        ],
        "take a payment",
    )?;
    let before = reckon(&w.txn, &w.order).await?;
    payment_fits(amount, before.balance).map_err(|m| AppError::field("amount", m))?;
    let p = payment::Model {
        id: Uuid::now_v7(),
        dealer_id: w.order.dealer_id,
        order_id: w.order.id,
        method: input.method,
        amount_cents: amount.cents(),
        received_by: actor.id,
        at: w.now,
    };
    payment::Entity::insert(payment::ActiveModel::from(p.clone()))
        .exec_without_returning(&w.txn)
        .await?;
    let paid = before
        .paid
        .checked_add(amount)
        .ok_or_else(|| AppError::field("amount", "is too large"))?;
    let left = Money::from_cents(before.balance.cents() - amount.cents());
    w.event(
        EventKind::PaymentReceived,
        serde_json::json!({"payment_id": p.id, "method": p.method, "amount": money(amount),
                           "paid": money(paid), "balance": money(left)}),
    )
    .await?;
    if w.order.state == OrderState::Delivered && left == Money::ZERO {
        close(&mut w);
        w.transition(OrderAction::Close, serde_json::json!({"paid": money(paid)}))
            .await?;
    }
    let receipt = Box::new(PaymentReceipt {
        payment: payment_view(p),
        order_id: w.order.id,
        order_state: w.order.state,
        paid: money(paid),
        balance: money(left),
    });
    if let Some(r) = r {
        let answer = Saved {
            status: 201,
            body: serde_json::to_string(&receipt).map_err(anyhow::Error::from)?,
        };
        if !idempotency::complete(&w.txn, r, &answer).await? {
            return Err(AppError::InProgress {
                retry_after_secs: 1,
            });
        }
    }
    w.commit(state).await?;
    Ok(receipt)
}

/// Hands the car over (交车); paid in full, the order is closed at once.
pub async fn deliver(
    state: &AppState,
    actor: &Actor,
    order_id: Uuid,
    input: DeliverInput,
) -> AppResult<RepairOrder> {
    if !input.explained {
        return Err(AppError::field(
            "explained",
            "must be true: explain the work and the invoice to the customer first",
        ));
    }
    let mut w = Write::begin(state, actor, order_id, Act::Deliver).await?;
    w.require(&[OrderState::Ready], "be delivered")?;
    let r = reckon(&w.txn, &w.order).await?;
    if r.invoice.needs_customer_approval {
        return Err(AppError::Conflict(OVER_ESTIMATE.into()));
    }
    let promised = w.order.promised_at;
    let late_minutes = promised.map(|p| (w.now - p).num_minutes());
    w.order.delivered_at = Some(w.now);
    w.set(repair_order::Column::DeliveredAt, Expr::value(w.now));
    w.event(
        EventKind::Delivered,
        serde_json::json!({"delivered_at": w.now, "promised_at": promised,
                           "on_time": late_minutes.map(|m| m <= 0),
                           "minutes_after_promise": late_minutes,
                           "balance": r.invoice.balance}),
    )
    .await?;
    w.transition(OrderAction::Deliver, serde_json::json!({}))
        .await?;
    // every delivered order gets its follow-up call (回访), written with the delivery
    crate::services::callbacks::entries::on_delivered(&w.txn, &w.order, w.now).await?;
    // what the daily board counts of it, final from now on
    crate::services::kpi::outcomes::record(&w.txn, &w.order, w.now).await?;
    if r.balance == Money::ZERO {
        close(&mut w);
        w.transition(
            OrderAction::Close,
            serde_json::json!({"paid": r.invoice.paid}),
        )
        .await?;
    }
    finish(w, state, None, 200).await
}

/// Cancels an order before any work; an appointment it came from stays as it is.
pub async fn cancel(
    state: &AppState,
    actor: &Actor,
    order_id: Uuid,
    input: CancelInput,
) -> AppResult<RepairOrder> {
    let reason = validation::text(&input.reason, 500).map_err(|m| AppError::field("reason", m))?;
    let mut w = Write::begin(state, actor, order_id, Act::Cancel).await?;
    // money taken stays with an order that is still alive until there is a
    // refund to record: a cancelled order owes nothing, so it could never be
    // settled
    let paid = payment::Entity::find()
        .filter(payment::Column::OrderId.eq(w.order.id))
        .count(&w.txn)
        .await?;
    if paid > 0 {
        return Err(AppError::Conflict(
            "the order has payments: refund them before it is cancelled".into(),
        ));
    }
    w.transition(OrderAction::Cancel, serde_json::json!({"reason": reason}))
        .await?;
    // parts held for its jobs go back to the shelf
    let jobs = crate::entities::repair_order_job::Entity::find()
        .filter(crate::entities::repair_order_job::Column::OrderId.eq(w.order.id))
        .all(&w.txn)
        .await?;
    crate::services::parts::release_order(&w.txn, w.order.dealer_id, &jobs, actor.id, w.now)
        .await?;
    finish(w, state, None, 200).await
}
