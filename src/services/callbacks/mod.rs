//! The callback list (回访名单, issue 10): the customer-centre agent's
//! queue of follow-up calls and first contacts, each claimed by one agent
//! at a time, each call kept (《维修跟踪记录表》).
//!
//! Entries are written where their reason is born (`entries`); this module
//! is the queue: the list, a claim, an outcome.

pub mod entries;

use entries::hours;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::callback::{
    CALL_BACK_DAYS, CLAIM_MINUTES, CallResult, CallbackReason, CallbackState, after_call,
    claim_holds,
};
use crate::domain::case::{CaseAction, CaseCategory, CaseState, Severity};
use crate::domain::customer::Locale;
use crate::domain::dates;
use crate::domain::money::Money;
use crate::domain::repair_order::Approval;
use crate::entities::{
    callback, callback_call, case, csi_response, customer, dealer, payment, repair_order,
    repair_order_job, user, vehicle,
};
use crate::error::{AppError, AppResult};
use crate::services::cases::{self, HANDLERS};
use crate::services::csi::{self, SurveyAnswer};
use crate::services::deputies;
use crate::services::{col_plus, dealers::zone, lock_row};
use crate::state::AppState;

/// The most entries one list answers.
pub const LIST_LIMIT: u64 = 200;

/// The customer as the agent needs them: whom to call.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallCustomer {
    pub id: Uuid,
    pub name: String,
    /// E.164.
    pub phone: String,
    pub locale: Locale,
}

/// The visit the call is about.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallVisit {
    pub repair_order_id: Uuid,
    pub number: String,
    pub delivered_at: Option<DateTime<Utc>>,
    /// The service advisor's name.
    pub advisor: Option<String>,
    /// The plate, or the VIN of a car without one.
    pub vehicle: String,
    /// The jobs done (declined ones left out).
    pub work: Vec<String>,
    /// What the customer paid.
    #[schema(value_type = String, format = "decimal")]
    pub amount: Decimal,
}

/// The case a contact is for.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallCase {
    pub id: Uuid,
    pub state: CaseState,
    pub category: CaseCategory,
    pub severity: Severity,
    pub summary: Option<String>,
}

/// What is known before the call.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Known {
    /// The survey came back through its link.
    pub survey_answered: bool,
    /// The CSI of the survey or an earlier call (0–100).
    #[schema(value_type = Option<String>, format = "decimal")]
    pub csi: Option<Decimal>,
    /// A quick rating 1–5 by SMS reply.
    pub sms_rating: Option<i32>,
    /// An unhappy-customer case of this visit (or this case) still open.
    pub open_case_id: Option<Uuid>,
}

/// One call made on the entry (《维修跟踪记录表》).
#[derive(Debug, Serialize, ToSchema)]
pub struct CallView {
    pub agent_id: Uuid,
    /// The case's owner the agent stood in for (a deputy's call, 职务代理).
    pub on_behalf_of: Option<Uuid>,
    pub called_at: DateTime<Utc>,
    pub result: CallResult,
    pub note: Option<String>,
    pub call_back_at: Option<DateTime<Utc>>,
    /// The answers recorded on the call.
    pub response_id: Option<Uuid>,
}

/// An entry of the callback list (`ETag` = `version`).
#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackView {
    pub id: Uuid,
    pub reason: CallbackReason,
    /// 1 first: high-severity cases, other cases, then follow-ups.
    pub priority: i32,
    pub state: CallbackState,
    /// On the list from then.
    pub due_at: DateTime<Utc>,
    /// To be called by then: 3 days after the delivery, or the case's contact time.
    pub deadline_at: DateTime<Utc>,
    /// Past its deadline and still queued.
    pub late: bool,
    /// Unanswered calls so far (the third makes the customer unreachable).
    pub tries: i32,
    /// Who holds it, while the claim holds.
    pub claimed_by: Option<Uuid>,
    pub claimed_until: Option<DateTime<Utc>>,
    pub last_result: Option<CallResult>,
    pub customer: CallCustomer,
    pub visit: Option<CallVisit>,
    pub case: Option<CallCase>,
    pub known: Known,
    /// The call script (回访话术) in the customer's language, filled with the visit.
    pub script: String,
    pub version: i32,
    /// Every call made, oldest first (left out of lists).
    pub calls: Vec<CallView>,
}

/// What the views of a batch of entries need, read in one query per table.
struct Context {
    dealer: dealer::Model,
    customers: HashMap<Uuid, customer::Model>,
    orders: HashMap<Uuid, repair_order::Model>,
    vehicles: HashMap<Uuid, vehicle::Model>,
    advisors: HashMap<Uuid, String>,
    work: HashMap<Uuid, Vec<String>>,
    paid: HashMap<Uuid, i64>,
    cases: HashMap<Uuid, case::Model>,
    open_cases: HashMap<Uuid, Uuid>,
    responses: HashMap<Uuid, Vec<csi_response::Model>>,
    resolve_days: u32,
}

impl Context {
    async fn of(
        db: &impl ConnectionTrait,
        dealer_id: Uuid,
        rows: &[callback::Model],
    ) -> AppResult<Self> {
        let dealer = dealer::Entity::find_by_id(dealer_id)
            .one(db)
            .await?
            .ok_or(AppError::NotFound)?;
        let ids = |f: fn(&callback::Model) -> Option<Uuid>| -> Vec<Uuid> {
            rows.iter()
                .filter_map(f)
                .collect::<HashSet<_>>()
                .into_iter()
                .collect()
        };
        let customer_ids = ids(|r| Some(r.customer_id));
        let order_ids = ids(|r| r.order_id);
        let case_ids = ids(|r| r.case_id);
        let customers = by_id(
            customer::Entity::find()
                .filter(customer::Column::Id.is_in(customer_ids))
                .all(db)
                .await?,
            |c| c.id,
        );
        let orders = by_id(
            repair_order::Entity::find()
                .filter(repair_order::Column::Id.is_in(order_ids.clone()))
                .all(db)
                .await?,
            |o| o.id,
        );
        let vehicles = by_id(
            vehicle::Entity::find()
                .filter(vehicle::Column::Id.is_in(orders.values().map(|o| o.vehicle_id)))
                .all(db)
                .await?,
            |v| v.id,
        );
        let advisors = user::Entity::find()
            .filter(user::Column::Id.is_in(orders.values().filter_map(|o| o.advisor_id)))
            .all(db)
            .await?
            .into_iter()
            .map(|u| (u.id, u.display_name))
            .collect();
        let mut work: HashMap<Uuid, Vec<String>> = HashMap::new();
        for j in repair_order_job::Entity::find()
            .filter(repair_order_job::Column::OrderId.is_in(order_ids.clone()))
            .filter(repair_order_job::Column::Approval.ne(Approval::Declined))
            .order_by_asc(repair_order_job::Column::CreatedAt)
            .all(db)
            .await?
        {
            work.entry(j.order_id).or_default().push(j.description);
        }
        let mut paid: HashMap<Uuid, i64> = HashMap::new();
        for p in payment::Entity::find()
            .filter(payment::Column::OrderId.is_in(order_ids.clone()))
            .all(db)
            .await?
        {
            let sum = paid.entry(p.order_id).or_default();
            *sum = sum.saturating_add(p.amount_cents);
        }
        let cases = by_id(
            case::Entity::find()
                .filter(case::Column::Id.is_in(case_ids))
                .all(db)
                .await?,
            |c| c.id,
        );
        let mut open_cases = HashMap::new();
        for c in case::Entity::find()
            .filter(case::Column::OrderId.is_in(order_ids.clone()))
            .filter(
                case::Column::State.is_not_in([CaseState::Verified, CaseState::ClosedUnresolved]),
            )
            .all(db)
            .await?
        {
            if let Some(o) = c.order_id {
                open_cases.insert(o, c.id);
            }
        }
        let mut responses: HashMap<Uuid, Vec<csi_response::Model>> = HashMap::new();
        for r in csi_response::Entity::find()
            .filter(csi_response::Column::OrderId.is_in(order_ids))
            .all(db)
            .await?
        {
            responses.entry(r.order_id).or_default().push(r);
        }
        let resolve_days = cases::rules(db, dealer_id).await?.resolve_within_days;
        Ok(Context {
            dealer,
            customers,
            orders,
            vehicles,
            advisors,
            work,
            paid,
            cases,
            open_cases,
            responses,
            resolve_days,
        })
    }

    fn known(&self, r: &callback::Model) -> Known {
        let mut k = Known::default();
        if let Some(o) = r.order_id {
            for x in self.responses.get(&o).into_iter().flatten() {
                k.survey_answered |= x.source == csi::SOURCE_SURVEY;
                if let Some(t) = x.csi_tenths {
                    k.csi = Some(Decimal::new(i64::from(t), 1));
                }
                k.sms_rating = k.sms_rating.or(x.quick_rating);
            }
            k.open_case_id = self.open_cases.get(&o).copied();
        }
        if let Some(c) = r.case_id.and_then(|c| self.cases.get(&c))
            && c.state.is_open()
        {
            k.open_case_id = Some(c.id);
        }
        k
    }

    fn visit(&self, r: &callback::Model) -> Option<CallVisit> {
        let o = self.orders.get(&r.order_id?)?;
        Some(CallVisit {
            repair_order_id: o.id,
            number: o.number.clone(),
            delivered_at: o.delivered_at,
            advisor: o.advisor_id.and_then(|a| self.advisors.get(&a).cloned()),
            vehicle: self
                .vehicles
                .get(&o.vehicle_id)
                .map(|v| v.plate.clone().unwrap_or_else(|| v.vin.clone()))
                .unwrap_or_default(),
            work: self.work.get(&o.id).cloned().unwrap_or_default(),
            amount: Money::from_cents(self.paid.get(&o.id).copied().unwrap_or(0)).to_decimal(),
        })
    }

    fn view(
        &self,
        state: &AppState,
        agent: &str,
        r: callback::Model,
        calls: Vec<callback_call::Model>,
        now: DateTime<Utc>,
    ) -> AppResult<CallbackView> {
        let c = self.customers.get(&r.customer_id).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("callback {} lost its customer", r.id))
        })?;
        let visit = self.visit(&r);
        let case = r
            .case_id
            .and_then(|id| self.cases.get(&id))
            .map(|c| CallCase {
                id: c.id,
                state: c.state,
                category: c.category,
                severity: c.severity,
                summary: c.summary.clone(),
            });
        let known = self.known(&r);
        let tz = zone(&self.dealer);
        let ctx = ScriptCtx {
            customer_name: c.name.clone(),
            dealer_name: self.dealer.name.clone(),
            agent: agent.to_string(),
            vehicle: visit
                .as_ref()
                .map(|v| v.vehicle.clone())
                .unwrap_or_default(),
            visit_date: visit
                .as_ref()
                .and_then(|v| v.delivered_at)
                .map(|d| d.with_timezone(&tz).date_naive().to_string())
                .unwrap_or_default(),
            work: visit
                .as_ref()
                .map(|v| v.work.join(list_separator(c.locale)))
                .unwrap_or_default(),
            advisor: visit
                .as_ref()
                .and_then(|v| v.advisor.clone())
                .unwrap_or_default(),
            amount: visit
                .as_ref()
                .map(|v| v.amount.to_string())
                .unwrap_or_default(),
            summary: case
                .as_ref()
                .and_then(|c| c.summary.clone())
                .unwrap_or_default(),
            survey_answered: known.survey_answered,
            open_case: known.open_case_id.is_some(),
            resolve_days: self.resolve_days,
        };
        let script = state
            .templates
            .script(c.locale, r.reason.as_str(), &ctx)
            .map_err(AppError::Internal)?;
        let holds = claim_holds(r.claimed_until, now);
        Ok(CallbackView {
            id: r.id,
            reason: r.reason,
            priority: r.priority,
            state: r.state,
            due_at: r.due_at,
            deadline_at: r.deadline_at,
            late: r.state == CallbackState::Queued && now > r.deadline_at,
            tries: r.tries,
            claimed_by: r.claimed_by.filter(|_| holds),
            claimed_until: r.claimed_until.filter(|_| holds),
            last_result: r.last_result,
            customer: CallCustomer {
                id: c.id,
                name: c.name.clone(),
                phone: c.phone.clone(),
                locale: c.locale,
            },
            visit,
            case,
            known,
            script,
            version: r.version,
            calls: calls
                .into_iter()
                .map(|x| CallView {
                    agent_id: x.agent_id,
                    on_behalf_of: x.on_behalf_of,
                    called_at: x.called_at,
                    result: x.result,
                    note: x.note,
                    call_back_at: x.call_back_at,
                    response_id: x.response_id,
                })
                .collect(),
        })
    }
}

fn by_id<T>(rows: Vec<T>, id: impl Fn(&T) -> Uuid) -> HashMap<Uuid, T> {
    rows.into_iter().map(|r| (id(&r), r)).collect()
}

fn list_separator(l: Locale) -> &'static str {
    match l {
        Locale::ZhCn => "、",
        Locale::En => ", ",
    }
}

/// The values a call script is filled with.
#[derive(Debug, Serialize)]
pub struct ScriptCtx {
    pub customer_name: String,
    pub dealer_name: String,
    pub agent: String,
    pub vehicle: String,
    pub visit_date: String,
    pub work: String,
    pub advisor: String,
    pub amount: String,
    pub summary: String,
    pub survey_answered: bool,
    pub open_case: bool,
    pub resolve_days: u32,
}

async fn agent_name(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<String> {
    Ok(user::Entity::find_by_id(actor.id)
        .one(db)
        .await?
        .map(|u| u.display_name)
        .unwrap_or_default())
}

/// The agent's queue for local `date` (today by default): entries due by
/// its end, still to call, most urgent first, each with its script. With
/// `mine`, only the entries the agent (or one they stand in for now) holds,
/// or about a case they own.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    date: Option<NaiveDate>,
    mine: bool,
) -> AppResult<Vec<CallbackView>> {
    actor.require(HANDLERS)?;
    let db = &state.db;
    let now = state.clock.now();
    let h = hours(db, actor.dealer_id).await?;
    let day = match date {
        Some(d) => dates::in_range(d).map_err(|m| AppError::field("date", m))?,
        None => now.with_timezone(&h.tz).date_naive(),
    };
    let end = day
        .succ_opt()
        .map(|d| crate::domain::care_plan::local_instant(d.and_time(chrono::NaiveTime::MIN), h.tz))
        .ok_or_else(|| AppError::field("date", "a date we can count from"))?;
    let mut q = callback::Entity::find()
        .filter(callback::Column::DealerId.eq(actor.dealer_id))
        .filter(callback::Column::State.eq(CallbackState::Queued))
        .filter(callback::Column::DueAt.lt(end));
    if mine {
        let ids = deputies::mine(db, actor, now).await?;
        let mut owned = sea_orm::sea_query::Query::select();
        owned
            .column(case::Column::Id)
            .from(case::Entity)
            .and_where(case::Column::OwnerId.is_in(ids.clone()));
        q = q.filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(callback::Column::ClaimedBy.is_in(ids))
                        .add(callback::Column::ClaimedUntil.gt(now)),
                )
                .add(callback::Column::CaseId.in_subquery(owned)),
        );
    }
    let rows = q
        .order_by_asc(callback::Column::Priority)
        .order_by_asc(callback::Column::DueAt)
        .order_by_asc(callback::Column::Id)
        .limit(LIST_LIMIT)
        .all(db)
        .await?;
    let ctx = Context::of(db, actor.dealer_id, &rows).await?;
    let agent = agent_name(db, actor).await?;
    rows.into_iter()
        .map(|r| ctx.view(state, &agent, r, vec![], now))
        .collect()
}

async fn one_view(
    state: &AppState,
    db: &impl ConnectionTrait,
    actor: &Actor,
    r: callback::Model,
    now: DateTime<Utc>,
) -> AppResult<CallbackView> {
    let calls = callback_call::Entity::find()
        .filter(callback_call::Column::CallbackId.eq(r.id))
        .order_by_asc(callback_call::Column::CalledAt)
        .order_by_asc(callback_call::Column::Id)
        .all(db)
        .await?;
    let ctx = Context::of(db, r.dealer_id, std::slice::from_ref(&r)).await?;
    let agent = agent_name(db, actor).await?;
    ctx.view(state, &agent, r, calls, now)
}

async fn find(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> AppResult<callback::Model> {
    callback::Entity::find_by_id(id)
        .filter(callback::Column::DealerId.eq(actor.dealer_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// One entry with every call made on it.
pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<CallbackView> {
    actor.require(HANDLERS)?;
    let r = find(&state.db, actor, id).await?;
    one_view(state, &state.db, actor, r, state.clock.now()).await
}

/// Takes the entry for [`CLAIM_MINUTES`]: one conditional UPDATE, so of
/// two agents claiming at once one gets it and the other a 409 naming who
/// holds it. Claiming one's own entry again renews the claim; a deputy
/// takes over the claim of one they stand in for now.
pub async fn claim(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<CallbackView> {
    actor.require(HANDLERS)?;
    let db = &state.db;
    let now = state.clock.now();
    let holders = deputies::mine(db, actor, now).await?;
    let until = now + Duration::minutes(CLAIM_MINUTES);
    let res = callback::Entity::update_many()
        .col_expr(callback::Column::ClaimedBy, Expr::value(actor.id))
        .col_expr(callback::Column::ClaimedUntil, Expr::value(until))
        .col_expr(
            callback::Column::Version,
            col_plus(callback::Column::Version, 1),
        )
        .col_expr(callback::Column::UpdatedAt, Expr::value(now))
        .filter(callback::Column::Id.eq(id))
        .filter(callback::Column::DealerId.eq(actor.dealer_id))
        .filter(callback::Column::State.eq(CallbackState::Queued))
        .filter(
            Condition::any()
                .add(callback::Column::ClaimedUntil.is_null())
                .add(callback::Column::ClaimedUntil.lte(now))
                .add(callback::Column::ClaimedBy.is_in(holders)),
        )
        .exec(db)
        .await?;
    let r = find(db, actor, id).await?;
    if res.rows_affected == 0 {
        return Err(refusal(&r, now));
    }
    one_view(state, db, actor, r, now).await
}

/// Why an entry cannot be claimed or called now.
fn refusal(r: &callback::Model, now: DateTime<Utc>) -> AppError {
    if r.state != CallbackState::Queued {
        return AppError::Conflict(format!("this entry is {}: nothing left to call", r.state));
    }
    match r.claimed_until {
        Some(until) if until > now => AppError::Conflict(format!(
            "another agent ({}) holds this entry until {}",
            r.claimed_by.map(|u| u.to_string()).unwrap_or_default(),
            until.to_rfc3339()
        )),
        _ => AppError::Conflict("claim the entry before recording a call".into()),
    }
}

/// How a call went.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    pub result: CallResult,
    /// The answers given on the call (`reached` only, on an entry about a
    /// visit): the questionnaire's, as the survey takes them, kept as the
    /// order's one `call` response (answers for an order that has one: 409).
    pub answers: Option<SurveyAnswer>,
    /// When to call back (`call_back_at` only; within 30 days).
    pub at: Option<DateTime<Utc>>,
    /// What was said (at most 2,000 characters; a reached case contact needs one).
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// Records a call on an entry the agent holds: the call kept, the entry
/// moved by `domain::callback::after_call`, answers scored as a `call`
/// response (opening a case when they call for one), a reached case logged
/// as its contact, and three unanswered calls making the customer
/// unreachable for follow-up calls. One transaction: nothing half-written.
pub async fn outcome(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    o: Outcome,
) -> AppResult<CallbackView> {
    actor.require(HANDLERS)?;
    let now = state.clock.now();
    let note = crate::domain::validation::optional_multiline(o.note.as_deref(), 2000)
        .map_err(|m| AppError::field("note", m))?;
    match (o.result, o.at) {
        (CallResult::CallBackAt, None) => {
            return Err(AppError::field("at", "say when to call back"));
        }
        (CallResult::CallBackAt, Some(at))
            if at <= now || at > now + Duration::days(CALL_BACK_DAYS) =>
        {
            return Err(AppError::field(
                "at",
                "a time in the next 30 days to call back",
            ));
        }
        (r, Some(_)) if r != CallResult::CallBackAt => {
            return Err(AppError::field("at", "only for call_back_at"));
        }
        _ => {}
    }
    if o.answers.is_some() && o.result != CallResult::Reached {
        return Err(AppError::field("answers", "only for a reached customer"));
    }
    let db = &state.db;
    let h = hours(db, actor.dealer_id).await?;
    // a case's entry: the case is locked first, as a case's own steps lock
    // it before ending its entry (`on_case_moved`); one order, no deadlock.
    // (An entry's case never changes: read before, so that on SQLite the
    // transaction's first statement still takes the write lock.)
    let case_id = find(db, actor, id).await?.case_id;
    let txn = db.begin().await?;
    let mut case_owner = None;
    if let Some(case_id) = case_id {
        case_owner =
            lock_row::<case::Entity>(&txn, case::Column::Id, case::Column::Version, case_id)
                .await?
                .and_then(|c| c.owner_id);
    }
    let r = lock_row::<callback::Entity>(&txn, callback::Column::Id, callback::Column::Version, id)
        .await?
        .filter(|r| r.dealer_id == actor.dealer_id)
        .ok_or(AppError::NotFound)?;
    if r.state != CallbackState::Queued
        || r.claimed_by != Some(actor.id)
        || !claim_holds(r.claimed_until, now)
    {
        return Err(refusal(&r, now));
    }
    if o.result == CallResult::Reached && r.reason == CallbackReason::CaseContact && note.is_none()
    {
        return Err(AppError::field(
            "note",
            "say what was said with the customer",
        ));
    }
    let next = after_call(o.result, r.tries, now, o.at, &h);
    let mut update = callback::Entity::update_many()
        .col_expr(callback::Column::State, Expr::value(next.state))
        .col_expr(callback::Column::Tries, Expr::value(next.tries))
        .col_expr(callback::Column::LastResult, Expr::value(o.result))
        .col_expr(callback::Column::ClaimedBy, Expr::value(None::<Uuid>))
        .col_expr(
            callback::Column::ClaimedUntil,
            Expr::value(None::<DateTime<Utc>>),
        )
        .col_expr(
            callback::Column::Version,
            col_plus(callback::Column::Version, 1),
        )
        .col_expr(callback::Column::UpdatedAt, Expr::value(now));
    if let Some(due) = next.due_at {
        update = update.col_expr(callback::Column::DueAt, Expr::value(due));
    }
    update
        .filter(callback::Column::Id.eq(r.id))
        .filter(callback::Column::Version.eq(r.version))
        .exec(&txn)
        .await?;
    let response_id = match (o.answers, r.order_id) {
        (Some(a), Some(order_id)) => {
            let order = repair_order::Entity::find_by_id(order_id)
                .one(&txn)
                .await?
                .ok_or(AppError::NotFound)?;
            let r = csi::record(&txn, &order, &a, csi::SOURCE_CALL, now)
                .await
                .map_err(|e| e.within("answers"))?;
            Some(r.id)
        }
        (Some(_), None) => {
            return Err(AppError::field("answers", "this call is not about a visit"));
        }
        _ => None,
    };
    match o.result {
        CallResult::Reached => {
            // reached again: calls are worth making after all
            customer::Entity::update_many()
                .col_expr(
                    customer::Column::CallsUnreachableAt,
                    Expr::value(None::<DateTime<Utc>>),
                )
                .filter(customer::Column::Id.eq(r.customer_id))
                .exec(&txn)
                .await?;
            if let (Some(case_id), Some(note)) = (r.case_id, note.clone()) {
                cases::step(&txn, actor, case_id, CaseAction::Contact, note, now).await?;
            }
        }
        CallResult::NoAnswer if next.state == CallbackState::Unreachable => {
            customer::Entity::update_many()
                .col_expr(customer::Column::CallsUnreachableAt, Expr::value(now))
                .filter(customer::Column::Id.eq(r.customer_id))
                .filter(customer::Column::CallsUnreachableAt.is_null())
                .exec(&txn)
                .await?;
        }
        _ => {}
    }
    callback_call::Entity::insert(callback_call::ActiveModel {
        id: Set(Uuid::now_v7()),
        callback_id: Set(r.id),
        dealer_id: Set(r.dealer_id),
        customer_id: Set(r.customer_id),
        order_id: Set(r.order_id),
        agent_id: Set(actor.id),
        on_behalf_of: Set(deputies::acting_for(&txn, actor, case_owner, now).await?),
        called_at: Set(now),
        result: Set(o.result),
        note: Set(note),
        call_back_at: Set(o.at),
        response_id: Set(response_id),
    })
    .exec_without_returning(&txn)
    .await?;
    let r = find(&txn, actor, id).await?;
    let v = one_view(state, &txn, actor, r, now).await?;
    txn.commit().await?;
    Ok(v)
}

/// How many calls of the dealer are due by `end` and still to make (the board).
pub async fn due_count(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    end: DateTime<Utc>,
) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(callback::Entity::find()
        .filter(callback::Column::DealerId.eq(dealer_id))
        .filter(callback::Column::State.eq(CallbackState::Queued))
        .filter(callback::Column::DueAt.lt(end))
        .count(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::care::render::Templates;

    fn ctx(survey: bool) -> ScriptCtx {
        ScriptCtx {
            customer_name: "王建国".into(),
            dealer_name: "星辰4S店".into(),
            agent: "小李".into(),
            vehicle: "京A12345".into(),
            visit_date: "2027-03-01".into(),
            work: "小保养、更换雨刮片".into(),
            advisor: "张顾问".into(),
            amount: "688.00".into(),
            summary: "太贵了".into(),
            survey_answered: survey,
            open_case: false,
            resolve_days: 7,
        }
    }

    #[test]
    fn every_call_script_renders_the_visit_in_both_languages() {
        let t = Templates::new().unwrap();
        for locale in [Locale::ZhCn, Locale::En] {
            for reason in CallbackReason::ALL {
                let s = t.script(locale, reason.as_str(), ctx(true)).unwrap();
                assert!(s.contains("王建国") && s.contains("星辰4S店"), "{s}");
                assert!(!s.contains("{{") && !s.contains("{%"), "{s}");
            }
            let f = t.script(locale, "follow_up", ctx(false)).unwrap();
            assert!(
                f.contains("京A12345")
                    && f.contains("688.00")
                    && f.contains("张顾问")
                    && f.contains("更换雨刮片"),
                "{f}"
            );
            let c = t.script(locale, "case_contact", ctx(false)).unwrap();
            assert!(c.contains("太贵了") && c.contains('7'), "{c}");
        }
        let zh = t.script(Locale::ZhCn, "follow_up", ctx(true)).unwrap();
        assert!(zh.contains("已填写问卷"));
    }
}
