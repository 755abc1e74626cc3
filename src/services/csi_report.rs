//! The periodic analysis of follow-ups (周期性的对回访进行分析, issue 10):
//! `GET /api/v1/csi`. The queries; the arithmetic is `domain::csi_report`.
//!
//! Everything is read by dealer and time through indexes: responses by
//! (dealer, created_at), deliveries by (dealer, delivered_at), cases by
//! (dealer, created_at); what hangs off them (jobs, clock intervals, case
//! events, follow-up messages) by the ids found, in chunks. A year of a busy
//! dealer is a few tens of thousands of small rows, never its whole history.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, Func, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::Role;
use crate::domain::callback::CallResult;
use crate::domain::care_plan::key;
use crate::domain::case::{CaseCategory, CaseState};
use crate::domain::csi::Section;
use crate::domain::csi_report::{
    CsiGrouping, Mean, Tally, check_range, contact_spans, followed_up, mean_hours, rank, rate,
};
use crate::domain::message::MessageKind;
use crate::entities::{
    callback_call, case, case_event, clock_interval, csi_response, dealer, outbox_message,
    repair_order, repair_order_job,
};
use crate::error::{AppError, AppResult};
use crate::services::appointments::day_bounds;
use crate::services::dealers::zone;

/// Who reads the analysis: the managers, the customer centre, the dealer's
/// admin, and the brand (every dealer, ranked). Narrower than the
/// questionnaire's readers: the figures rank staff against each other.
pub const READERS: &[Role] = &[
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::CustomerCare,
    Role::DealerAdmin,
    Role::NetworkAdmin,
];

/// Ids per `IN (…)` list: well under SQLite's and PostgreSQL's limits.
const CHUNK: usize = 500;

/// The follow-up message's occurrence key for an order (`care::planner`).
/// Deliveries' follow-up windows less than this apart are read in one span.
const SPAN_GAP: chrono::Duration = chrono::Duration::days(7);

/// One group of responses.
#[derive(Debug, Serialize, ToSchema)]
pub struct CsiGroup {
    /// The section code, the advisor's or technician's id, or `YYYY-MM`.
    pub key: String,
    /// The section code, the staff member's display name, or `YYYY-MM`.
    pub label: String,
    /// The mean CSI (0–100, one place) of the group's responses; by
    /// section, the mean of that section's score over the responses that
    /// answered it. Null when none.
    #[schema(value_type = Option<String>, format = "decimal")]
    pub csi: Option<Decimal>,
    /// The responses with a score in the group (by section: that answered it).
    pub responses: u64,
}

/// The quick SMS ratings (1–5) of replies to the follow-up: not CSI.
#[derive(Debug, Serialize, ToSchema)]
pub struct SmsRatings {
    /// Replies with a rating received in the range.
    pub count: u64,
    /// Their mean (1–5, two places); null when none.
    #[schema(value_type = Option<String>, format = "decimal")]
    pub mean: Option<Decimal>,
}

/// Delivered orders followed up within 3 days.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowUpShare {
    /// Orders delivered in the range (local dates).
    pub delivered: u64,
    /// Of those, the ones with a follow-up message sent, a response
    /// received, or a call that reached the customer within 72 hours of delivery.
    pub followed_up: u64,
    /// `followed_up / delivered`, 0–1 to three places; null when nothing was delivered.
    #[schema(value_type = Option<String>, format = "decimal")]
    pub rate: Option<Decimal>,
}

/// The unhappy-customer cases of one category opened in the range.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseFigures {
    pub category: CaseCategory,
    pub opened: u64,
    /// Of those opened, the ones resolved (a `resolve` step: resolved or verified since).
    pub resolved: u64,
    /// Of those opened, the ones not resolved yet and not closed (open,
    /// contacted or action agreed).
    pub open: u64,
    /// Mean hours from opening to the `resolve` step over the resolved
    /// ones, one place; null when none.
    #[schema(value_type = Option<String>, format = "decimal")]
    pub mean_hours_to_resolve: Option<Decimal>,
}

/// One dealer of the network, side by side (network admins).
#[derive(Debug, Serialize, ToSchema)]
pub struct DealerFigures {
    pub dealer_id: Uuid,
    pub name: String,
    #[schema(value_type = Option<String>, format = "decimal")]
    pub csi: Option<Decimal>,
    pub responses: u64,
    #[schema(value_type = Option<String>, format = "decimal")]
    pub followed_up_rate: Option<Decimal>,
    /// Cases opened in the range and still open (as `cases[].open`).
    pub open_cases: u64,
    /// 1 for the highest CSI; equal CSIs share a rank; null without a CSI
    /// (those come last).
    pub rank: Option<u32>,
}

/// The analysis of a range of local dates.
#[derive(Debug, Serialize, ToSchema)]
pub struct CsiReport {
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    pub by: CsiGrouping,
    /// The mean CSI of every response with a score in the range (one place); null when none.
    #[schema(value_type = Option<String>, format = "decimal")]
    pub csi: Option<Decimal>,
    /// The responses with a score (survey or call) received in the range.
    pub responses: u64,
    /// By `by`: sections in questionnaire order (all five), advisors and
    /// technicians by name, months in order. A response whose order has no
    /// advisor (or no technician) is in no advisor (technician) group.
    pub groups: Vec<CsiGroup>,
    pub sms_ratings: SmsRatings,
    pub follow_up: FollowUpShare,
    /// Every category, in order, zeros included.
    pub cases: Vec<CaseFigures>,
    /// For a network admin every dealer, ranked by CSI; for every other role empty.
    pub dealers: Vec<DealerFigures>,
}

/// The section scores as stored with a response (`domain::csi::SectionScore`).
#[derive(Deserialize)]
struct StoredSection {
    section: Section,
    score: Option<Decimal>,
}

/// The report of the actor's dealer for local dates `from ..= to`, grouped
/// `by`; a network admin also gets every dealer side by side.
pub async fn report(
    db: &impl ConnectionTrait,
    actor: &Actor,
    from: NaiveDate,
    to: NaiveDate,
    by: CsiGrouping,
) -> AppResult<CsiReport> {
    actor.require(READERS)?;
    check_range(from, to)?;
    let d = dealer::Entity::find_by_id(actor.dealer_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let tz = zone(&d);
    let (start, end) = day_bounds(tz, from, to);
    let scored = scored_responses(db, d.id, start, end, by == CsiGrouping::Section).await?;
    let mut overall = Tally::default();
    for r in &scored {
        overall.add(r.tenths);
    }
    let groups = match by {
        CsiGrouping::Section => by_section(&scored)?,
        CsiGrouping::Advisor => by_advisor(db, &scored).await?,
        CsiGrouping::Technician => by_technician(db, d.id, &scored).await?,
        CsiGrouping::Month => by_month(&scored, tz),
    };
    let dealers = if actor.has(Role::NetworkAdmin) {
        network(db, from, to).await?
    } else {
        Vec::new()
    };
    Ok(CsiReport {
        from,
        to,
        by,
        csi: overall.csi(),
        responses: overall.count,
        groups,
        sms_ratings: sms_ratings(db, d.id, start, end).await?,
        follow_up: follow_up(db, d.id, start, end).await?,
        cases: cases(db, d.id, start, end).await?,
        dealers,
    })
}

/// A response with a score.
struct Scored {
    order_id: Uuid,
    created_at: DateTime<Utc>,
    tenths: i32,
    sections: Option<serde_json::Value>,
}

/// The dealer's responses with a score received in `[start, end)`; their
/// section scores only when asked for.
async fn scored_responses(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    with_sections: bool,
) -> AppResult<Vec<Scored>> {
    let q = csi_response::Entity::find()
        .select_only()
        .column(csi_response::Column::OrderId)
        .column(csi_response::Column::CreatedAt)
        .column(csi_response::Column::CsiTenths)
        .filter(csi_response::Column::DealerId.eq(dealer_id))
        .filter(csi_response::Column::CreatedAt.gte(start))
        .filter(csi_response::Column::CreatedAt.lt(end))
        .filter(csi_response::Column::CsiTenths.is_not_null());
    if with_sections {
        let rows: Vec<(Uuid, DateTime<Utc>, Option<i32>, serde_json::Value)> = q
            .column(csi_response::Column::Sections)
            .into_tuple()
            .all(db)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(o, t, c, s)| {
                c.map(|tenths| Scored {
                    order_id: o,
                    created_at: t,
                    tenths,
                    sections: Some(s),
                })
            })
            .collect())
    } else {
        let rows: Vec<(Uuid, DateTime<Utc>, Option<i32>)> = q.into_tuple().all(db).await?;
        Ok(rows
            .into_iter()
            .filter_map(|(o, t, c)| {
                c.map(|tenths| Scored {
                    order_id: o,
                    created_at: t,
                    tenths,
                    sections: None,
                })
            })
            .collect())
    }
}

fn by_section(scored: &[Scored]) -> AppResult<Vec<CsiGroup>> {
    let mut means: HashMap<Section, Mean> = HashMap::new();
    for r in scored {
        let Some(s) = &r.sections else { continue };
        let sections: Vec<StoredSection> = crate::services::from_stored(s, "section scores")?;
        for s in sections {
            if let Some(score) = s.score {
                means.entry(s.section).or_default().add(score);
            }
        }
    }
    Ok(Section::ALL
        .iter()
        .map(|s| {
            let m = means.get(s).copied().unwrap_or_default();
            CsiGroup {
                key: s.as_str().into(),
                label: s.as_str().into(),
                csi: m.value(1),
                responses: m.count,
            }
        })
        .collect())
}

/// Groups of staff members, labelled with their names, ordered by name.
async fn staff_groups(
    db: &impl ConnectionTrait,
    tallies: HashMap<Uuid, Tally>,
) -> AppResult<Vec<CsiGroup>> {
    let names = crate::services::dealers::staff_names(db, tallies.keys().copied()).await?;
    let mut groups: Vec<CsiGroup> = tallies
        .into_iter()
        .map(|(id, t)| CsiGroup {
            key: id.to_string(),
            label: names.get(&id).cloned().unwrap_or_default(),
            csi: t.csi(),
            responses: t.count,
        })
        .collect();
    groups.sort_by(|a, b| a.label.cmp(&b.label).then_with(|| a.key.cmp(&b.key)));
    Ok(groups)
}

fn order_ids(scored: &[Scored]) -> Vec<Uuid> {
    let set: BTreeSet<Uuid> = scored.iter().map(|r| r.order_id).collect();
    set.into_iter().collect()
}

async fn by_advisor(db: &impl ConnectionTrait, scored: &[Scored]) -> AppResult<Vec<CsiGroup>> {
    let mut advisor: HashMap<Uuid, Uuid> = HashMap::new();
    for chunk in order_ids(scored).chunks(CHUNK) {
        let rows: Vec<(Uuid, Option<Uuid>)> = repair_order::Entity::find()
            .select_only()
            .column(repair_order::Column::Id)
            .column(repair_order::Column::AdvisorId)
            .filter(repair_order::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        advisor.extend(rows.into_iter().filter_map(|(o, a)| a.map(|a| (o, a))));
    }
    let mut tallies: HashMap<Uuid, Tally> = HashMap::new();
    for r in scored {
        if let Some(a) = advisor.get(&r.order_id) {
            tallies.entry(*a).or_default().add(r.tenths);
        }
    }
    staff_groups(db, tallies).await
}

/// Each technician who worked on an order: the one each job is dispatched
/// to and whoever clocked time on its jobs; an order with two counts for both.
async fn by_technician(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    scored: &[Scored],
) -> AppResult<Vec<CsiGroup>> {
    let mut techs: HashMap<Uuid, BTreeSet<Uuid>> = HashMap::new();
    for chunk in order_ids(scored).chunks(CHUNK) {
        let jobs: Vec<(Uuid, Option<Uuid>)> = repair_order_job::Entity::find()
            .select_only()
            .column(repair_order_job::Column::OrderId)
            .column(repair_order_job::Column::TechnicianId)
            .filter(repair_order_job::Column::DealerId.eq(dealer_id))
            .filter(repair_order_job::Column::OrderId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        for (o, t) in jobs {
            if let Some(t) = t {
                techs.entry(o).or_default().insert(t);
            }
        }
        // clock intervals are indexed by job: the jobs of these orders
        let mut jobs_of = Query::select();
        jobs_of
            .column(repair_order_job::Column::Id)
            .from(repair_order_job::Entity)
            .and_where(repair_order_job::Column::OrderId.is_in(chunk.iter().copied()));
        let clocked: Vec<(Uuid, Uuid)> = clock_interval::Entity::find()
            .select_only()
            .column(clock_interval::Column::OrderId)
            .column(clock_interval::Column::TechnicianId)
            .filter(clock_interval::Column::JobId.in_subquery(jobs_of))
            .distinct()
            .into_tuple()
            .all(db)
            .await?;
        for (o, t) in clocked {
            techs.entry(o).or_default().insert(t);
        }
    }
    let mut tallies: HashMap<Uuid, Tally> = HashMap::new();
    for r in scored {
        for t in techs.get(&r.order_id).into_iter().flatten() {
            tallies.entry(*t).or_default().add(r.tenths);
        }
    }
    staff_groups(db, tallies).await
}

fn by_month(scored: &[Scored], tz: Tz) -> Vec<CsiGroup> {
    let mut months: BTreeMap<String, Tally> = BTreeMap::new();
    for r in scored {
        let m = r.created_at.with_timezone(&tz).format("%Y-%m").to_string();
        months.entry(m).or_default().add(r.tenths);
    }
    months
        .into_iter()
        .map(|(m, t)| CsiGroup {
            key: m.clone(),
            label: m,
            csi: t.csi(),
            responses: t.count,
        })
        .collect()
}

async fn sms_ratings(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> AppResult<SmsRatings> {
    let rows: Vec<(i64, Option<i64>)> = csi_response::Entity::find()
        .select_only()
        .column_as(csi_response::Column::QuickRating.count(), "n")
        .column_as(
            Expr::from(Func::sum(Expr::col(csi_response::Column::QuickRating))),
            "total",
        )
        .filter(csi_response::Column::DealerId.eq(dealer_id))
        .filter(csi_response::Column::CreatedAt.gte(start))
        .filter(csi_response::Column::CreatedAt.lt(end))
        .filter(csi_response::Column::QuickRating.is_not_null())
        .into_tuple()
        .all(db)
        .await?;
    let (n, total) = rows.first().copied().unwrap_or((0, None));
    let count = u64::try_from(n).unwrap_or(0);
    let mean = Mean {
        count,
        sum: Decimal::from(total.unwrap_or(0)),
    };
    Ok(SmsRatings {
        count,
        mean: mean.value(2),
    })
}

/// The dealer's orders delivered in `[start, end)` and how many of them
/// were followed up in time.
async fn follow_up(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> AppResult<FollowUpShare> {
    let delivered: Vec<(Uuid, Option<DateTime<Utc>>)> = repair_order::Entity::find()
        .select_only()
        .column(repair_order::Column::Id)
        .column(repair_order::Column::DeliveredAt)
        .filter(repair_order::Column::DealerId.eq(dealer_id))
        .filter(repair_order::Column::DeliveredAt.gte(start))
        .filter(repair_order::Column::DeliveredAt.lt(end))
        .into_tuple()
        .all(db)
        .await?;
    let orders: Vec<(Uuid, DateTime<Utc>)> = delivered
        .into_iter()
        .filter_map(|(o, at)| at.map(|at| (o, at)))
        .collect();
    let done = followed_up_orders(db, dealer_id, &orders).await?;
    let (n, k) = (orders.len() as u64, done.len() as u64);
    Ok(FollowUpShare {
        delivered: n,
        followed_up: k,
        rate: rate(k, n),
    })
}

/// Of `orders` (id, delivered at), the ones followed up within 72 hours
/// (`domain::csi_report::followed_up`). The one place that says what a
/// follow-up is: each source adds the instants it contacted an order.
///
/// Sources: the `post_repair_followup` message sent (any channel), and a
/// response received (survey, SMS reply or call).
pub async fn followed_up_orders(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    orders: &[(Uuid, DateTime<Utc>)],
) -> AppResult<HashSet<Uuid>> {
    // read by time, not order by order: the contacts in the spans the
    // deliveries' windows cover (ix_outbox_dealer_kind_sent,
    // ix_csi_responses_dealer_created, ix_callback_calls_dealer_time)
    let wanted: HashSet<Uuid> = orders.iter().map(|(o, _)| *o).collect();
    let mut contacts: HashMap<Uuid, Vec<DateTime<Utc>>> = HashMap::new();
    let mut add = |o: Option<Uuid>, at: Option<DateTime<Utc>>| {
        if let (Some(o), Some(at)) = (o, at)
            && wanted.contains(&o)
        {
            contacts.entry(o).or_default().push(at);
        }
    };
    for (from, to) in contact_spans(orders.iter().map(|(_, t)| *t), SPAN_GAP) {
        // the follow-up message, its order named by its occurrence key
        let sent: Vec<(String, Option<DateTime<Utc>>)> = outbox_message::Entity::find()
            .select_only()
            .column(outbox_message::Column::OccurrenceKey)
            .column(outbox_message::Column::SentAt)
            .filter(outbox_message::Column::DealerId.eq(dealer_id))
            .filter(outbox_message::Column::Kind.eq(MessageKind::PostRepairFollowup))
            .filter(outbox_message::Column::SentAt.gte(from))
            .filter(outbox_message::Column::SentAt.lte(to))
            .into_tuple()
            .all(db)
            .await?;
        for (k, at) in sent {
            add(key::followup_order(&k), at);
        }
        // a response of any source
        let answered: Vec<(Uuid, DateTime<Utc>)> = csi_response::Entity::find()
            .select_only()
            .column(csi_response::Column::OrderId)
            .column(csi_response::Column::CreatedAt)
            .filter(csi_response::Column::DealerId.eq(dealer_id))
            .filter(csi_response::Column::CreatedAt.gte(from))
            .filter(csi_response::Column::CreatedAt.lte(to))
            .into_tuple()
            .all(db)
            .await?;
        for (o, at) in answered {
            add(Some(o), Some(at));
        }
        // a call of the customer centre that reached the customer
        let called: Vec<(Option<Uuid>, DateTime<Utc>)> = callback_call::Entity::find()
            .select_only()
            .column(callback_call::Column::OrderId)
            .column(callback_call::Column::CalledAt)
            .filter(callback_call::Column::DealerId.eq(dealer_id))
            .filter(callback_call::Column::CalledAt.gte(from))
            .filter(callback_call::Column::CalledAt.lte(to))
            .filter(callback_call::Column::Result.eq(CallResult::Reached))
            .into_tuple()
            .all(db)
            .await?;
        for (o, at) in called {
            add(o, Some(at));
        }
    }
    Ok(orders
        .iter()
        .filter(|(o, at)| followed_up(*at, contacts.get(o).into_iter().flatten().copied()))
        .map(|(o, _)| *o)
        .collect())
}

/// The cases opened in `[start, end)`, by category.
async fn cases(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> AppResult<Vec<CaseFigures>> {
    let opened: Vec<(Uuid, CaseCategory, CaseState, DateTime<Utc>)> = case::Entity::find()
        .select_only()
        .column(case::Column::Id)
        .column(case::Column::Category)
        .column(case::Column::State)
        .column(case::Column::CreatedAt)
        .filter(case::Column::DealerId.eq(dealer_id))
        .filter(case::Column::CreatedAt.gte(start))
        .filter(case::Column::CreatedAt.lt(end))
        .into_tuple()
        .all(db)
        .await?;
    // the first `resolve` step of each (ix_case_events_case)
    let mut resolved_at: HashMap<Uuid, DateTime<Utc>> = HashMap::new();
    let ids: Vec<Uuid> = opened.iter().map(|c| c.0).collect();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(Uuid, DateTime<Utc>)> = case_event::Entity::find()
            .select_only()
            .column(case_event::Column::CaseId)
            .column(case_event::Column::At)
            .filter(case_event::Column::CaseId.is_in(chunk.iter().copied()))
            .filter(case_event::Column::Action.eq("resolve"))
            .order_by_asc(case_event::Column::At)
            .into_tuple()
            .all(db)
            .await?;
        for (c, at) in rows {
            resolved_at.entry(c).or_insert(at);
        }
    }
    Ok(CaseCategory::ALL
        .iter()
        .map(|cat| {
            let mine: Vec<_> = opened.iter().filter(|c| c.1 == *cat).collect();
            let durations: Vec<chrono::Duration> = mine
                .iter()
                .filter_map(|(id, _, _, created)| resolved_at.get(id).map(|r| *r - *created))
                .collect();
            CaseFigures {
                category: *cat,
                opened: mine.len() as u64,
                resolved: durations.len() as u64,
                open: mine
                    .iter()
                    .filter(|(id, _, state, _)| {
                        state.is_open()
                            && *state != CaseState::Resolved
                            && !resolved_at.contains_key(id)
                    })
                    .count() as u64,
                mean_hours_to_resolve: mean_hours(&durations),
            }
        })
        .collect())
}

/// Every dealer side by side for the same local dates (each in its own
/// zone), ranked by CSI.
async fn network(
    db: &impl ConnectionTrait,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<DealerFigures>> {
    let dealers = dealer::Entity::find()
        .order_by_asc(dealer::Column::Name)
        .order_by_asc(dealer::Column::Id)
        .all(db)
        .await?;
    let mut rows = Vec::with_capacity(dealers.len());
    for d in dealers {
        let (start, end) = day_bounds(zone(&d), from, to);
        let (n, total): (i64, Option<i64>) = csi_response::Entity::find()
            .select_only()
            .column_as(csi_response::Column::CsiTenths.count(), "n")
            .column_as(
                Expr::from(Func::sum(Expr::col(csi_response::Column::CsiTenths))),
                "total",
            )
            .filter(csi_response::Column::DealerId.eq(d.id))
            .filter(csi_response::Column::CreatedAt.gte(start))
            .filter(csi_response::Column::CreatedAt.lt(end))
            .filter(csi_response::Column::CsiTenths.is_not_null())
            .into_tuple()
            .one(db)
            .await?
            .unwrap_or((0, None));
        let tally = Tally {
            count: u64::try_from(n).unwrap_or(0),
            tenths: total.unwrap_or(0),
        };
        let open_cases = cases(db, d.id, start, end)
            .await?
            .iter()
            .map(|c| c.open)
            .sum();
        rows.push(DealerFigures {
            dealer_id: d.id,
            name: d.name,
            csi: tally.csi(),
            responses: tally.count,
            followed_up_rate: follow_up(db, d.id, start, end).await?.rate,
            open_cases,
            rank: None,
        });
    }
    let csi: Vec<Option<Decimal>> = rows.iter().map(|r| r.csi).collect();
    let mut slots: Vec<Option<DealerFigures>> = rows.into_iter().map(Some).collect();
    Ok(rank(&csi)
        .into_iter()
        .filter_map(|(i, r)| {
            slots[i].take().map(|mut d| {
                d.rank = r;
                d
            })
        })
        .collect())
}
