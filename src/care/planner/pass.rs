//! One planning pass for one dealer and one local day: who gets which
//! message, on which channels, when. It streams the dealer's vehicles and
//! customers in keyset-ordered batches (never the whole archive at once) and
//! hands each batch's plans to a [`Sink`](super::sink::Sink), which writes
//! them to the outbox or collects them for a preview.
//!
//! Two halves:
//! - the **daily** pass (once per local day, and for each missed day after
//!   downtime): maintenance, first service, inspection, insurance, birthdays
//!   and holidays, all decided by the day's date;
//! - the **event** pass (every tick, cheap indexed reads): reminders of
//!   tomorrow's appointments and follow-ups of recent deliveries, which
//!   appear during the day.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use uuid::Uuid;

use super::sink::Sink;
use crate::auth::tokens::Tokens;
use crate::care::outbox::{
    AppointmentParams, FollowupParams, GreetingParams, Params, ReminderParams, RenewalParams,
};
use crate::care::route::Addresses;
use crate::care::survey;
use crate::config::PlannerSettings;
use crate::domain::appointment::AppointmentState;
use crate::domain::calendar::{self, Holiday};
use crate::domain::care::{SendWindow, fallback_chain};
use crate::domain::care_plan::{
    self, CareKind, KindSettings, PlanSettings, followup_day, key, local_instant, overdue_once,
    reminders_on,
};
use crate::domain::customer::{Calendar, Channel, Consent, Locale, may_contact};
use crate::domain::maintenance::{DueReason, Interval, UseHistory};
use crate::domain::repair_order::OrderState;
use crate::entities::{
    appointment, customer, dealer, refresh_token, repair_order, vehicle, wechat_binding,
};
use crate::services::vehicles::{ReadingSpan, maintenance_intervals, reading_spans, use_history};

/// A message due for a customer: its kind, occurrence key and values.
type Due = (CareKind, String, Params);

/// An order as the daily pass reads it: vehicle, state, delivery, odometer.
type OrderRow = (Uuid, OrderState, Option<DateTime<Utc>>, Option<i64>);

/// A message the planner decided on.
#[derive(Debug, Clone, Serialize)]
pub struct Planned {
    pub kind: CareKind,
    pub customer_id: Uuid,
    pub vehicle_id: Option<Uuid>,
    pub occurrence_key: String,
    /// Each channel it goes on, with the address there.
    #[serde(skip)]
    pub to: Vec<(Channel, String)>,
    pub channels: Vec<Channel>,
    pub send_at: DateTime<Utc>,
    #[serde(skip)]
    pub locale: Locale,
    #[serde(skip)]
    pub params: Params,
}

/// What a pass plans for: one dealer, one local day.
pub struct Day<'a> {
    pub dealer: &'a dealer::Model,
    pub tz: Tz,
    pub window: SendWindow,
    pub kinds: &'a PlanSettings,
    pub day: NaiveDate,
    pub now: DateTime<Utc>,
    pub cfg: &'a PlannerSettings,
    pub tokens: &'a Tokens,
    pub public_base_url: &'a str,
    /// (vehicle, policy, expiry) of insurance terms with an outcome.
    pub settled: &'a std::collections::HashSet<(Uuid, String, NaiveDate)>,
}

impl Day<'_> {
    /// When a message of the day goes to `customer`: its point of the
    /// sending window, or now for a day already past (a catch-up).
    fn send_at(&self, customer: Uuid) -> DateTime<Utc> {
        care_plan::send_at(self.day, &self.window, self.tz, customer).max(self.now)
    }

    /// The first instant of local date `d`.
    fn midnight(&self, d: NaiveDate) -> DateTime<Utc> {
        local_instant(d.and_time(chrono::NaiveTime::MIN), self.tz)
    }

    fn on(&self, kind: CareKind) -> bool {
        self.kinds.on(kind)
    }
}

/// Where a batch's customers can be reached beyond their record.
#[derive(Default)]
struct Reach {
    app: HashSet<Uuid>,
    wechat: HashMap<Uuid, String>,
}

impl Reach {
    /// App: a live session (neither revoked nor expired), as the dispatcher reads it.
    async fn of(
        db: &impl ConnectionTrait,
        dealer_id: Uuid,
        ids: &[Uuid],
        now: DateTime<Utc>,
    ) -> anyhow::Result<Self> {
        let app: HashSet<Uuid> = refresh_token::Entity::find()
            .select_only()
            .column(refresh_token::Column::CustomerId)
            .filter(refresh_token::Column::CustomerId.is_in(ids.iter().copied()))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .filter(refresh_token::Column::ExpiresAt.gt(now))
            .distinct()
            .into_tuple::<Option<Uuid>>()
            .all(db)
            .await?
            .into_iter()
            .flatten()
            .collect();
        let wechat = wechat_binding::Entity::find()
            .filter(wechat_binding::Column::DealerId.eq(dealer_id))
            .filter(wechat_binding::Column::CustomerId.is_in(ids.iter().copied()))
            .all(db)
            .await?
            .into_iter()
            .map(|b| (b.customer_id, b.openid))
            .collect();
        Ok(Reach { app, wechat })
    }
}

/// A customer as the planner addresses them.
struct Recipient<'a> {
    c: &'a customer::Model,
    consents: Vec<Consent>,
    addresses: Addresses,
}

impl<'a> Recipient<'a> {
    fn new(c: &'a customer::Model, reach: &Reach) -> Option<Self> {
        let consents: Vec<Consent> = match serde_json::from_value(c.consents.clone()) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(customer = %c.id, "consents do not read, not planned: {e}");
                return None;
            }
        };
        Some(Recipient {
            c,
            consents,
            addresses: Addresses {
                phone: c.phone.clone(),
                email: c.email.clone(),
                has_app: reach.app.contains(&c.id),
                openid: reach.wechat.get(&c.id).cloned(),
                preferred: c.preferred_channel,
                customer_id: c.id,
            },
        })
    }

    /// The kind's channels where the customer has an address and has not
    /// said no; when none, the first of their own chain that works. Empty:
    /// the customer cannot be reached for this purpose (the dispatcher
    /// would refuse it anyway), so nothing is planned.
    fn channels(&self, kind: CareKind, k: &KindSettings) -> Vec<(Channel, String)> {
        let Some(purpose) = kind.message_kind().purpose() else {
            return vec![];
        };
        let usable = |ch: Channel| {
            self.addresses
                .on(ch)
                .filter(|_| may_contact(&self.consents, ch, purpose))
        };
        let chosen: Vec<(Channel, String)> = k
            .channels
            .iter()
            .filter_map(|ch| usable(*ch).map(|a| (*ch, a)))
            .collect();
        if !chosen.is_empty() {
            return chosen;
        }
        fallback_chain(self.addresses.preferred)
            .into_iter()
            .find_map(|ch| usable(ch).map(|a| (ch, a)))
            .into_iter()
            .collect()
    }

    fn plan(
        &self,
        day: &Day<'_>,
        kind: CareKind,
        vehicle_id: Option<Uuid>,
        occurrence_key: String,
        mut params: Params,
    ) -> Option<Planned> {
        let mut to = self.channels(kind, day.kinds.get(kind));
        // a customer no follow-up call reaches is followed up by SMS only,
        // when SMS reaches them
        if kind == CareKind::PostRepairFollowup
            && self.c.calls_unreachable_at.is_some()
            && to.iter().any(|(ch, _)| *ch == Channel::Sms)
        {
            to.retain(|(ch, _)| *ch == Channel::Sms);
        }
        localise(&mut params, self.c.locale);
        if to.is_empty() {
            return None;
        }
        Some(Planned {
            kind,
            customer_id: self.c.id,
            vehicle_id,
            occurrence_key,
            channels: to.iter().map(|(c, _)| *c).collect(),
            to,
            send_at: day.send_at(self.c.id),
            locale: self.c.locale,
            params,
        })
    }
}

fn zh(locale: Locale, zh: &str, en: &str) -> String {
    match locale {
        Locale::ZhCn => zh.to_string(),
        Locale::En => en.to_string(),
    }
}

fn vehicle_name(v: &vehicle::Model) -> String {
    v.plate.clone().unwrap_or_else(|| v.vin.clone())
}

/// What the batch's vehicles have been through: last delivered order, open
/// orders and bookings, odometer readings.
struct History {
    last_delivered: HashMap<Uuid, (NaiveDate, Option<i64>)>,
    busy: HashSet<Uuid>,
    spans: HashMap<Uuid, ReadingSpan>,
}

impl History {
    async fn of(db: &impl ConnectionTrait, day: &Day<'_>, ids: &[Uuid]) -> anyhow::Result<Self> {
        let orders: Vec<OrderRow> = repair_order::Entity::find()
            .select_only()
            .column(repair_order::Column::VehicleId)
            .column(repair_order::Column::State)
            .column(repair_order::Column::DeliveredAt)
            .column(repair_order::Column::OdometerKm)
            .filter(repair_order::Column::VehicleId.is_in(ids.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        let mut last_delivered: HashMap<Uuid, (NaiveDate, Option<i64>)> = HashMap::new();
        let mut busy = HashSet::new();
        for (v, state, delivered, km) in orders {
            match (state, delivered) {
                (OrderState::Delivered | OrderState::Closed, Some(at)) => {
                    let d = at.with_timezone(&day.tz).date_naive();
                    let e = last_delivered.entry(v).or_insert((d, km));
                    if d > e.0 {
                        *e = (d, km);
                    }
                }
                (OrderState::Cancelled | OrderState::Delivered | OrderState::Closed, _) => {}
                // in the workshop now: no reminder to come in
                _ => {
                    busy.insert(v);
                }
            }
        }
        // booked (or here): "once more if still not booked" is never sent
        let booked: Vec<Uuid> = appointment::Entity::find()
            .select_only()
            .column(appointment::Column::VehicleId)
            .filter(appointment::Column::VehicleId.is_in(ids.iter().copied()))
            .filter(appointment::Column::State.is_in([
                AppointmentState::Booked,
                AppointmentState::Confirmed,
                AppointmentState::CheckedIn,
            ]))
            .filter(appointment::Column::SlotStart.gte(day.midnight(day.day)))
            .into_tuple()
            .all(db)
            .await?;
        busy.extend(booked);
        let spans = reading_spans(db, day.dealer.id, Some(ids)).await?;
        Ok(History {
            last_delivered,
            busy,
            spans,
        })
    }

    /// The vehicle's use: the later of the imported last service and the
    /// last delivered order, and the readings.
    fn use_of(&self, v: &vehicle::Model) -> UseHistory {
        use_history(
            v,
            self.spans.get(&v.id),
            self.last_delivered.get(&v.id).copied(),
        )
    }
}

/// The daily pass over the dealer's vehicles: maintenance, first service,
/// inspection and insurance.
pub async fn vehicles(
    db: &impl ConnectionTrait,
    day: &Day<'_>,
    sink: &mut Sink<'_>,
) -> anyhow::Result<()> {
    let wanted = [
        CareKind::MaintenanceDue,
        CareKind::FirstService,
        CareKind::AnnualInspection,
        CareKind::InsuranceRenewal,
    ];
    if !wanted.iter().any(|k| day.on(*k)) {
        return Ok(());
    }
    let intervals = maintenance_intervals(db, day.dealer.id).await?;
    let mut after: Option<Uuid> = None;
    loop {
        let mut q = vehicle::Entity::find()
            .filter(vehicle::Column::DealerId.eq(day.dealer.id))
            .order_by_asc(vehicle::Column::Id)
            .limit(day.cfg.batch.max(1));
        if let Some(a) = after {
            q = q.filter(vehicle::Column::Id.gt(a));
        }
        let batch = q.all(db).await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id);
        let ids: Vec<Uuid> = batch.iter().map(|v| v.id).collect();
        let owners: Vec<Uuid> = batch.iter().map(|v| v.customer_id).collect();
        let history = History::of(db, day, &ids).await?;
        let customers: HashMap<Uuid, customer::Model> = customer::Entity::find()
            .filter(customer::Column::Id.is_in(owners.iter().copied()))
            // an erased customer is never planned for
            .filter(customer::Column::ErasedAt.is_null())
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let reach = Reach::of(db, day.dealer.id, &owners, day.now).await?;
        let mut plans = Vec::new();
        for v in &batch {
            let Some(c) = customers.get(&v.customer_id) else {
                continue;
            };
            let due = for_vehicle(day, v, &history, &intervals);
            if due.is_empty() {
                continue;
            }
            let Some(r) = Recipient::new(c, &reach) else {
                continue;
            };
            plans.extend(
                due.into_iter()
                    .filter_map(|(kind, key, params)| r.plan(day, kind, Some(v.id), key, params)),
            );
        }
        sink.put(db, day, plans).await?;
    }
    Ok(())
}

/// The vehicle's messages of the day: (kind, occurrence key, values).
fn for_vehicle(
    day: &Day<'_>,
    v: &vehicle::Model,
    history: &History,
    intervals: &[Interval],
) -> Vec<Due> {
    let mut out = Vec::new();
    let d = day.day;
    let name = vehicle_name(v);
    let dealer_name = day.dealer.name.clone();
    let busy = history.busy.contains(&v.id);
    let h = history.use_of(v);
    // maintenance: the earliest of the menu's intervals from the last service
    if day.on(CareKind::MaintenanceDue)
        && !busy
        && let Some((last, _)) = h.last_service
        && let Some((due, reason)) = h.next_service(intervals)
    {
        let offsets = &day.kinds.maintenance_due.days_before;
        let mut keys: Vec<String> = reminders_on(due, offsets, d)
            .into_iter()
            .map(|o| key::maintenance(v.id, last, o))
            .collect();
        // a car that came into the archive already past its reminders (an
        // import) is reminded once, late, in the month after the due date
        let added = v.created_at.with_timezone(&day.tz).date_naive();
        let first_reminder =
            due - Duration::days(i64::from(offsets.iter().copied().max().unwrap_or(0)));
        if keys.is_empty() && overdue_once(due, d) && added > first_reminder {
            keys.push(key::maintenance_overdue(v.id, last));
        }
        for k in keys {
            out.push((
                CareKind::MaintenanceDue,
                k,
                Params::Reminder(ReminderParams {
                    dealer_name: dealer_name.clone(),
                    vehicle: name.clone(),
                    due: due.to_string(),
                    reason: reason.as_str().to_string(),
                }),
            ));
        }
    }
    // first service: bought, never serviced, due M months after the purchase
    if day.on(CareKind::FirstService)
        && !busy
        && h.last_service.is_none()
        && let Some(bought) = h.purchase_date
        && let Some(months) = day.kinds.first_service.months
        && let Some(due) = bought.checked_add_months(chrono::Months::new(months))
    {
        for offset in reminders_on(due, &day.kinds.first_service.days_before, d) {
            out.push((
                CareKind::FirstService,
                key::first_service(v.id, offset),
                Params::Reminder(ReminderParams {
                    dealer_name: dealer_name.clone(),
                    vehicle: name.clone(),
                    due: due.to_string(),
                    reason: DueReason::FirstService.as_str().to_string(),
                }),
            ));
        }
    }
    // inspection: the date on record while it is ahead, else by the rules
    if day.on(CareKind::AnnualInspection) {
        let due = v.inspection_due.filter(|due| *due >= d).or_else(|| {
            v.first_registration_date
                .and_then(|reg| day.cfg.inspection.next_due(reg, d))
        });
        if let Some(due) = due {
            for offset in reminders_on(due, &day.kinds.annual_inspection.days_before, d) {
                out.push((
                    CareKind::AnnualInspection,
                    key::inspection(v.id, due, offset),
                    Params::Renewal(RenewalParams {
                        dealer_name: dealer_name.clone(),
                        vehicle: name.clone(),
                        due: due.to_string(),
                        item: "annual_inspection".into(),
                    }),
                ));
            }
        }
    }
    if day.on(CareKind::InsuranceRenewal) {
        for (policy, expiry) in [
            ("compulsory", v.compulsory_insurance_expiry),
            ("commercial", v.commercial_insurance_expiry),
        ] {
            let Some(expiry) = expiry else { continue };
            // renewed elsewhere or not wanted: no more reminders of the term
            if day.settled.contains(&(v.id, policy.to_string(), expiry)) {
                continue;
            }
            for offset in reminders_on(expiry, &day.kinds.insurance_renewal.days_before, d) {
                out.push((
                    CareKind::InsuranceRenewal,
                    key::insurance(v.id, policy, expiry, offset),
                    Params::Renewal(RenewalParams {
                        dealer_name: dealer_name.clone(),
                        vehicle: name.clone(),
                        due: expiry.to_string(),
                        item: policy.into(),
                    }),
                ));
            }
        }
    }
    out
}

/// The words a code stands for in a message, in the customer's language.
pub fn localise(params: &mut Params, locale: Locale) {
    let word = |code: &str| -> Option<String> {
        Some(match code {
            "due_by_mileage" => zh(locale, "按行驶里程", "by mileage"),
            "due_by_time" => zh(locale, "距上次保养的时间", "by time since the last service"),
            "first_service" => zh(locale, "新车首保", "first service"),
            "annual_inspection" => zh(locale, "年检", "annual inspection"),
            "compulsory" => zh(locale, "交强险", "compulsory insurance"),
            "commercial" => zh(locale, "商业险", "commercial insurance"),
            _ => return None,
        })
    };
    match params {
        Params::Reminder(p) => {
            if let Some(w) = word(&p.reason) {
                p.reason = w;
            }
        }
        Params::Renewal(p) => {
            if let Some(w) = word(&p.item) {
                p.item = w;
            }
        }
        _ => {}
    }
}

/// A holiday's name in the customer's language.
pub fn holiday_name(h: Holiday, locale: Locale) -> String {
    let (z, e) = holiday_names(h);
    zh(locale, z, e)
}

pub fn holiday_names(h: Holiday) -> (&'static str, &'static str) {
    match h {
        Holiday::SpringFestival => ("春节", "Spring Festival"),
        Holiday::Lantern => ("元宵节", "Lantern Festival"),
        Holiday::Qingming => ("清明节", "Qingming Festival"),
        Holiday::DragonBoat => ("端午节", "Dragon Boat Festival"),
        Holiday::MidAutumn => ("中秋节", "Mid-Autumn Festival"),
        Holiday::NationalDay => ("国庆节", "National Day"),
        Holiday::NewYear => ("元旦", "New Year"),
    }
}

/// The daily pass over the dealer's customers: birthdays and holidays.
pub async fn customers(
    db: &impl ConnectionTrait,
    day: &Day<'_>,
    sink: &mut Sink<'_>,
) -> anyhow::Result<()> {
    let d = day.day;
    let greeting: Vec<Holiday> = if day.on(CareKind::HolidayGreeting) {
        day.kinds
            .holiday_greeting
            .holidays
            .iter()
            .copied()
            .filter(|h| calendar::holiday_date(*h, d.year()) == Some(d))
            .collect()
    } else {
        vec![]
    };
    let birthdays = day.on(CareKind::Birthday);
    if greeting.is_empty() && !birthdays {
        return Ok(());
    }
    // the lunar year of the day, and which lunar birthdays fall on it
    // (memoised: a few hundred month/day pairs, a million customers)
    let lunar_year = calendar::lunar_year_of(d);
    let mut lunar: HashMap<(i32, i32, bool), bool> = HashMap::new();
    let mut after: Option<Uuid> = None;
    loop {
        let mut q = customer::Entity::find()
            .filter(customer::Column::DealerId.eq(day.dealer.id))
            .filter(customer::Column::ErasedAt.is_null())
            .order_by_asc(customer::Column::Id)
            .limit(day.cfg.batch.max(1));
        if let Some(a) = after {
            q = q.filter(customer::Column::Id.gt(a));
        }
        if greeting.is_empty() {
            q = q.filter(customer::Column::BirthdayMonth.is_not_null());
        }
        let batch = q.all(db).await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id);
        let mut due: Vec<(&customer::Model, Vec<Due>)> = Vec::new();
        for c in &batch {
            let mut mine = Vec::new();
            if birthdays
                && let (Some(cal), Some(m), Some(dd)) =
                    (c.birthday_calendar, c.birthday_month, c.birthday_day)
            {
                let k = match cal {
                    Calendar::Solar => {
                        let on = u8::try_from(m)
                            .ok()
                            .zip(u8::try_from(dd).ok())
                            .and_then(|(m, dd)| calendar::solar_birthday(d.year(), m, dd));
                        (on == Some(d)).then(|| key::birthday(c.id, d.year()))
                    }
                    Calendar::Lunar => lunar_year.and_then(|ly| {
                        let leap = c.birthday_leap.unwrap_or(false);
                        let hit = *lunar.entry((m, dd, leap)).or_insert_with(|| {
                            u8::try_from(m)
                                .ok()
                                .zip(u8::try_from(dd).ok())
                                .and_then(|(m, dd)| calendar::lunar_to_solar(ly, m, dd, leap))
                                == Some(d)
                        });
                        hit.then(|| key::lunar_birthday(c.id, ly))
                    }),
                };
                if let Some(k) = k {
                    mine.push((
                        CareKind::Birthday,
                        k,
                        Params::Greeting(GreetingParams {
                            dealer_name: day.dealer.name.clone(),
                            customer_name: c.name.clone(),
                            occasion: zh(c.locale, "生日", "birthday"),
                        }),
                    ));
                }
            }
            for h in &greeting {
                mine.push((
                    CareKind::HolidayGreeting,
                    key::holiday(c.id, h.as_str(), d.year()),
                    Params::Greeting(GreetingParams {
                        dealer_name: day.dealer.name.clone(),
                        customer_name: c.name.clone(),
                        occasion: holiday_name(*h, c.locale),
                    }),
                ));
            }
            if !mine.is_empty() {
                due.push((c, mine));
            }
        }
        if due.is_empty() {
            continue;
        }
        let ids: Vec<Uuid> = due.iter().map(|(c, _)| c.id).collect();
        let reach = Reach::of(db, day.dealer.id, &ids, day.now).await?;
        let mut plans = Vec::new();
        for (c, mine) in due {
            let Some(r) = Recipient::new(c, &reach) else {
                continue;
            };
            plans.extend(
                mine.into_iter()
                    .filter_map(|(kind, k, params)| r.plan(day, kind, None, k, params)),
            );
        }
        sink.put(db, day, plans).await?;
    }
    Ok(())
}

/// The event pass: reminders of the next day's appointments, follow-ups of
/// recent deliveries.
pub async fn events(
    db: &impl ConnectionTrait,
    day: &Day<'_>,
    working: &(dyn Fn(NaiveDate) -> bool + Sync),
    sink: &mut Sink<'_>,
) -> anyhow::Result<()> {
    let mut plans = Vec::new();
    if day.on(CareKind::AppointmentReminder) {
        let tomorrow = day.day + Duration::days(1);
        let appts = appointment::Entity::find()
            .filter(appointment::Column::DealerId.eq(day.dealer.id))
            .filter(
                appointment::Column::State
                    .is_in([AppointmentState::Booked, AppointmentState::Confirmed]),
            )
            .filter(appointment::Column::SlotStart.gte(day.midnight(tomorrow)))
            .filter(appointment::Column::SlotStart.lt(day.midnight(tomorrow + Duration::days(1))))
            .all(db)
            .await?;
        let people =
            Parties::of(db, day, appts.iter().map(|a| (a.customer_id, a.vehicle_id))).await?;
        for a in &appts {
            let Some((r, v)) = people.get(a.customer_id, a.vehicle_id) else {
                continue;
            };
            // a reminder that could only leave (in the sending window)
            // less than an hour before the visit is not sent
            let at = day.send_at(a.customer_id);
            let leaves = day.window.next_opening(at, day.tz).unwrap_or(at);
            if leaves + Duration::hours(1) > a.slot_start {
                continue;
            }
            let services = crate::services::appointments::services_of(a)
                .map(|lines| {
                    lines
                        .into_iter()
                        .map(|s| match r.c.locale {
                            Locale::ZhCn => s.name_zh,
                            Locale::En => s.name_en,
                        })
                        .collect::<Vec<_>>()
                        .join("、")
                })
                .unwrap_or_default();
            let params = Params::Appointment(AppointmentParams {
                dealer_name: day.dealer.name.clone(),
                when: a
                    .slot_start
                    .with_timezone(&day.tz)
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
                vehicle: vehicle_name(v),
                services: if services.is_empty() {
                    a.concern.clone().unwrap_or_default()
                } else {
                    services
                },
            });
            if let Some(mut p) = r.plan(
                day,
                CareKind::AppointmentReminder,
                Some(a.vehicle_id),
                key::appointment_reminder(a.id),
                params,
            ) {
                // the SMS goes to the phone given for the booking
                for (ch, to) in &mut p.to {
                    if *ch == Channel::Sms {
                        *to = a.contact_phone.clone();
                    }
                }
                plans.push(p);
            }
        }
    }
    if day.on(CareKind::PostRepairFollowup) {
        let from = day.day - Duration::days(day.cfg.followup_lookback_days.max(1));
        let orders = repair_order::Entity::find()
            .filter(repair_order::Column::DealerId.eq(day.dealer.id))
            .filter(repair_order::Column::State.is_in([OrderState::Delivered, OrderState::Closed]))
            .filter(repair_order::Column::DeliveredAt.gte(day.midnight(from)))
            .filter(repair_order::Column::DeliveredAt.lt(day.midnight(day.day)))
            .all(db)
            .await?;
        let people = Parties::of(
            db,
            day,
            orders.iter().map(|o| (o.customer_id, o.vehicle_id)),
        )
        .await?;
        for o in &orders {
            let Some(delivered) = o.delivered_at else {
                continue;
            };
            let on = followup_day(delivered.with_timezone(&day.tz).date_naive(), working);
            if on > day.day {
                continue;
            }
            let Some((r, v)) = people.get(o.customer_id, o.vehicle_id) else {
                continue;
            };
            let expires = day.midnight(day.day + Duration::days(day.cfg.survey_days.max(1)));
            let token = survey::token(day.tokens, o.id, expires);
            let params = Params::Followup(FollowupParams {
                dealer_name: day.dealer.name.clone(),
                vehicle: vehicle_name(v),
                order_number: o.number.clone(),
                survey_url: survey::url(day.public_base_url, &token),
            });
            plans.extend(r.plan(
                day,
                CareKind::PostRepairFollowup,
                Some(o.vehicle_id),
                key::followup(o.id),
                params,
            ));
        }
    }
    sink.put(db, day, plans).await
}

/// The customers and vehicles an event pass addresses.
struct Parties {
    customers: HashMap<Uuid, customer::Model>,
    vehicles: HashMap<Uuid, vehicle::Model>,
    reach: Reach,
}

impl Parties {
    async fn of(
        db: &impl ConnectionTrait,
        day: &Day<'_>,
        pairs: impl Iterator<Item = (Uuid, Uuid)>,
    ) -> anyhow::Result<Self> {
        let (cs, vs): (Vec<Uuid>, Vec<Uuid>) = pairs.unzip();
        if cs.is_empty() {
            return Ok(Parties {
                customers: HashMap::new(),
                vehicles: HashMap::new(),
                reach: Reach::default(),
            });
        }
        let customers = customer::Entity::find()
            .filter(customer::Column::DealerId.eq(day.dealer.id))
            .filter(customer::Column::Id.is_in(cs.iter().copied()))
            .filter(customer::Column::ErasedAt.is_null())
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let vehicles = vehicle::Entity::find()
            .filter(vehicle::Column::DealerId.eq(day.dealer.id))
            .filter(vehicle::Column::Id.is_in(vs))
            .all(db)
            .await?
            .into_iter()
            .map(|v| (v.id, v))
            .collect();
        let reach = Reach::of(db, day.dealer.id, &cs, day.now).await?;
        Ok(Parties {
            customers,
            vehicles,
            reach,
        })
    }

    fn get(&self, customer: Uuid, vehicle: Uuid) -> Option<(Recipient<'_>, &vehicle::Model)> {
        let c = self.customers.get(&customer)?;
        let v = self.vehicles.get(&vehicle)?;
        Some((Recipient::new(c, &self.reach)?, v))
    }
}
