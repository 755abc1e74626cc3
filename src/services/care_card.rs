//! The customer care card (《客户关怀卡》, `domain::care_card`): one card per
//! vehicle with the dealer's service hotline and 24-hour rescue number, the
//! customer's advisor, the next service (the care planner's maintenance
//! rule, `UseHistory::next_service`, over the dealer's menu), the annual
//! inspection (the planner's rule too), the insurance expiries, the warranty
//! end (`[warranty]` terms of the make), open bookings and open orders.
//! Read-only but for the dealer's numbers (`care_card_settings`).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::config::Settings;
use crate::domain::appointment::AppointmentState;
use crate::domain::care_card;
use crate::domain::maintenance::{DueReason, Interval};
use crate::domain::repair_order::OrderState;
use crate::domain::{FieldErrors, Role};
use crate::entities::{
    appointment, care_card_setting as setting, customer, menu_item, repair_order, vehicle,
};
use crate::error::{AppError, AppResult};
use crate::services::dealers::{StaffRef, dealer_zone, staff_names};
use crate::services::vehicles::{maintenance_intervals, reading_spans, use_history};
use crate::services::{Version, col_plus};

/// The dealer's numbers on the card.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CareCardSettings {
    /// The service hotline (服务热线); null when not set.
    pub service_hotline: Option<String>,
    /// The 24-hour rescue number (24小时救援电话); null when not set.
    pub rescue_hotline: Option<String>,
    pub version: i32,
}

/// `PUT /api/v1/care-card/settings`: both numbers, replaced (null or
/// empty: none printed).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CareCardSettingsInput {
    /// 3 to 32 digits, spaces, `+`, `-`, `(`, `)`.
    pub service_hotline: Option<String>,
    pub rescue_hotline: Option<String>,
}

fn staff_only(actor: &Actor) -> AppResult<()> {
    if actor.is_customer() {
        return Err(AppError::Forbidden("staff only"));
    }
    Ok(())
}

async fn numbers(db: &impl ConnectionTrait, dealer_id: Uuid) -> AppResult<CareCardSettings> {
    let s = setting::Entity::find_by_id(dealer_id).one(db).await?;
    Ok(match s {
        Some(s) => CareCardSettings {
            service_hotline: s.service_hotline,
            rescue_hotline: s.rescue_hotline,
            version: s.version,
        },
        None => CareCardSettings {
            service_hotline: None,
            rescue_hotline: None,
            version: 0,
        },
    })
}

/// The dealer's numbers (any member of the staff).
pub async fn get_settings(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<CareCardSettings> {
    staff_only(actor)?;
    numbers(db, actor.dealer_id).await
}

fn hotline(e: &mut FieldErrors, field: &str, v: Option<&str>) -> Option<String> {
    match v.map(str::trim) {
        None | Some("") => None,
        Some(v) => e.check(field, care_card::hotline(v)),
    }
}

/// Sets the dealer's numbers (the service manager, the dealer's admin).
/// With `If-Match` the write is refused (412) when someone changed them
/// since; without, it replaces what is there.
pub async fn put_settings(
    db: &impl ConnectionTrait,
    actor: &Actor,
    expected: Option<Version>,
    input: CareCardSettingsInput,
    now: DateTime<Utc>,
) -> AppResult<CareCardSettings> {
    staff_only(actor)?;
    actor.require(care_card::SETTERS)?;
    let mut e = FieldErrors::new();
    let service = hotline(&mut e, "service_hotline", input.service_hotline.as_deref());
    let rescue = hotline(&mut e, "rescue_hotline", input.rescue_hotline.as_deref());
    e.into_result()?;
    match expected {
        // the first write makes version 1: If-Match "0" is "none yet"
        Some(Version(0)) | None => {
            let inserted = setting::Entity::insert(setting::ActiveModel {
                dealer_id: Set(actor.dealer_id),
                service_hotline: Set(service.clone()),
                rescue_hotline: Set(rescue.clone()),
                version: Set(1),
                updated_by: Set(Some(actor.id)),
                updated_at: Set(now),
            })
            .on_conflict(
                OnConflict::column(setting::Column::DealerId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
            if inserted == 0 {
                if expected.is_some() {
                    return Err(AppError::PreconditionFailed);
                }
                update(db, actor, None, service, rescue, now).await?;
            }
        }
        Some(v) => update(db, actor, Some(v), service, rescue, now).await?,
    }
    numbers(db, actor.dealer_id).await
}

async fn update(
    db: &impl ConnectionTrait,
    actor: &Actor,
    expected: Option<Version>,
    service: Option<String>,
    rescue: Option<String>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut q = setting::Entity::update_many()
        .col_expr(setting::Column::ServiceHotline, Expr::value(service))
        .col_expr(setting::Column::RescueHotline, Expr::value(rescue))
        .col_expr(
            setting::Column::Version,
            col_plus(setting::Column::Version, 1),
        )
        .col_expr(setting::Column::UpdatedBy, Expr::value(actor.id))
        .col_expr(setting::Column::UpdatedAt, Expr::value(now))
        .filter(setting::Column::DealerId.eq(actor.dealer_id));
    if let Some(v) = expected {
        q = q.filter(setting::Column::Version.eq(v.0));
    }
    if q.exec(db).await?.rows_affected == 0 {
        return Err(AppError::PreconditionFailed);
    }
    Ok(())
}

/// The next service by the care planner's maintenance rule.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NextService {
    /// The day it falls due (by time, or by the mileage projected from the
    /// readings, whichever comes first).
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    /// The odometer it is due at: the last service's reading plus the
    /// interval's kilometres; null when either is unknown.
    pub km: Option<i64>,
    pub reason: DueReason,
}

/// The warranty cover of the make's `[warranty]` terms.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WarrantyCover {
    /// The in-service date (purchase, else first registration).
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    /// The last day covered.
    #[schema(value_type = String, format = Date)]
    pub until: NaiveDate,
    /// Covered up to this odometer reading.
    pub km: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CardAppointment {
    pub id: Uuid,
    pub slot_start: DateTime<Utc>,
    /// The slot in the dealer's zone, `YYYY-MM-DD HH:MM`.
    pub local: String,
    pub state: AppointmentState,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CardOrder {
    pub id: Uuid,
    pub number: String,
    pub state: OrderState,
    pub promised_at: Option<DateTime<Utc>>,
}

/// One vehicle's card.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CareCard {
    pub vehicle_id: Uuid,
    pub plate: Option<String>,
    pub vin: String,
    pub make: String,
    pub model: String,
    /// The advisor of the vehicle's latest repair order (else latest
    /// booking); reached through the service hotline.
    pub advisor: Option<StaffRef>,
    pub next_service: Option<NextService>,
    /// The next annual inspection: the date on record while ahead, else
    /// the planner's rule from the first registration.
    #[schema(value_type = Option<String>, format = Date)]
    pub inspection_due: Option<NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    pub compulsory_insurance_expiry: Option<NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    pub commercial_insurance_expiry: Option<NaiveDate>,
    pub warranty: Option<WarrantyCover>,
    /// Booked or confirmed visits, by slot.
    pub open_appointments: Vec<CardAppointment>,
    /// Orders not delivered, closed or cancelled.
    pub open_repair_orders: Vec<CardOrder>,
}

/// The cards of one customer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CareCards {
    pub dealer_name: String,
    pub service_hotline: Option<String>,
    pub rescue_hotline: Option<String>,
    pub customer_id: Uuid,
    pub customer_name: String,
    /// Today in the dealer's zone: what the dates were worked out on.
    #[schema(value_type = String, format = Date)]
    pub on: NaiveDate,
    pub cards: Vec<CareCard>,
}

/// The customer's own cards, one per vehicle (the customer's app).
pub async fn mine(
    db: &impl ConnectionTrait,
    settings: &Settings,
    actor: &Actor,
    now: DateTime<Utc>,
) -> AppResult<CareCards> {
    let Some(own) = actor.customer_id else {
        return Err(AppError::Forbidden(
            "the customer's own card; staff read /vehicles/{id}/care-card",
        ));
    };
    let c = customer::Entity::find_by_id(own)
        .one(db)
        .await?
        .filter(|c| c.dealer_id == actor.dealer_id)
        .ok_or(AppError::NotFound)?;
    let vehicles = vehicle::Entity::find()
        .filter(vehicle::Column::DealerId.eq(c.dealer_id))
        .filter(vehicle::Column::CustomerId.eq(c.id))
        .order_by_asc(vehicle::Column::Id)
        .limit(100)
        .all(db)
        .await?;
    cards(db, settings, &c, vehicles, now).await
}

/// The card of one vehicle, for the staff who hand it over at delivery
/// (and its owner).
pub async fn of_vehicle(
    db: &impl ConnectionTrait,
    settings: &Settings,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<CareCards> {
    let v = crate::services::vehicles::load(db, actor, id).await?;
    if actor.has(Role::NetworkAdmin) && v.dealer_id != actor.dealer_id {
        return Err(AppError::NotFound);
    }
    let c = customer::Entity::find_by_id(v.customer_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut cards = cards(db, settings, &c, vec![v], now).await?;
    // staff who work on the car, not with its owner, see the name masked
    cards.customer_name = actor.sight().name(&cards.customer_name);
    Ok(cards)
}

async fn cards(
    db: &impl ConnectionTrait,
    settings: &Settings,
    c: &customer::Model,
    vehicles: Vec<vehicle::Model>,
    now: DateTime<Utc>,
) -> AppResult<CareCards> {
    let (dealer, tz) = dealer_zone(db, c.dealer_id).await?;
    let today = now.with_timezone(&tz).date_naive();
    let numbers = numbers(db, dealer.id).await?;
    let ids: Vec<Uuid> = vehicles.iter().map(|v| v.id).collect();
    let orders = repair_order::Entity::find()
        .filter(repair_order::Column::DealerId.eq(dealer.id))
        .filter(repair_order::Column::VehicleId.is_in(ids.iter().copied()))
        .order_by_asc(repair_order::Column::ArrivedAt)
        .all(db)
        .await?;
    let bookings = appointment::Entity::find()
        .filter(appointment::Column::DealerId.eq(dealer.id))
        .filter(appointment::Column::VehicleId.is_in(ids.iter().copied()))
        .order_by_asc(appointment::Column::CreatedAt)
        .all(db)
        .await?;
    // the maintenance rule's intervals: the menu's, first services included
    // (their interval counts from the purchase while the car was never serviced)
    let mut intervals = maintenance_intervals(db, dealer.id).await?;
    intervals.extend(
        menu_item::Entity::find()
            .filter(menu_item::Column::DealerId.eq(dealer.id))
            .filter(menu_item::Column::Active.eq(true))
            .filter(menu_item::Column::FirstService.eq(true))
            .all(db)
            .await?
            .into_iter()
            .filter(|m| m.interval_km.is_some() || m.interval_months.is_some())
            .map(|m| Interval {
                km: m.interval_km,
                months: m.interval_months,
                first_service: true,
            }),
    );
    let spans = reading_spans(db, dealer.id, Some(&ids)).await?;
    let advisors: Vec<Uuid> = orders
        .iter()
        .filter_map(|o| o.advisor_id)
        .chain(bookings.iter().filter_map(|b| b.advisor_id))
        .collect();
    let names = staff_names(db, advisors).await?;
    let mut out = Vec::new();
    for v in &vehicles {
        let mine: Vec<&repair_order::Model> =
            orders.iter().filter(|o| o.vehicle_id == v.id).collect();
        let booked: Vec<&appointment::Model> =
            bookings.iter().filter(|b| b.vehicle_id == v.id).collect();
        // the last delivered order, as the planner counts it
        let delivered = mine
            .iter()
            .filter(|o| matches!(o.state, OrderState::Delivered | OrderState::Closed))
            .filter_map(|o| {
                o.delivered_at
                    .map(|at| (at.with_timezone(&tz).date_naive(), o.odometer_km))
            })
            .max_by_key(|x| x.0);
        let h = use_history(v, spans.get(&v.id), delivered);
        let next_service = h.next_service(&intervals).map(|(date, reason)| {
            let km = intervals
                .iter()
                .find(|i| h.due(**i) == Some((date, reason)))
                .and_then(|i| {
                    let base = match (i.first_service, h.last_service) {
                        (true, None) => Some(0),
                        (false, Some((_, km))) => km,
                        _ => None,
                    };
                    base?.checked_add(i64::from(i.km?))
                });
            NextService { date, km, reason }
        });
        let inspection_due = v.inspection_due.filter(|d| *d >= today).or_else(|| {
            v.first_registration_date
                .and_then(|reg| settings.care.planner.inspection.next_due(reg, today))
        });
        let terms = settings.warranty.terms(&v.make);
        let warranty = v
            .purchase_date
            .or(v.first_registration_date)
            .filter(|_| terms.months > 0)
            .and_then(|from| {
                let end = from.checked_add_months(Months::new(terms.months))?;
                Some(WarrantyCover {
                    from,
                    until: end - Duration::days(1),
                    km: terms.km,
                })
            });
        let advisor = mine
            .iter()
            .rev()
            .find_map(|o| o.advisor_id)
            .or_else(|| booked.iter().rev().find_map(|b| b.advisor_id))
            .map(|id| StaffRef::of(&names, id));
        let mut open_appointments: Vec<CardAppointment> = booked
            .iter()
            .filter(|b| b.state.is_open())
            .map(|b| CardAppointment {
                id: b.id,
                slot_start: b.slot_start,
                local: crate::console::local(b.slot_start, tz),
                state: b.state,
            })
            .collect();
        open_appointments.sort_by_key(|a| a.slot_start);
        let open_repair_orders = mine
            .iter()
            .filter(|o| {
                !matches!(
                    o.state,
                    OrderState::Delivered | OrderState::Closed | OrderState::Cancelled
                )
            })
            .map(|o| CardOrder {
                id: o.id,
                number: o.number.clone(),
                state: o.state,
                promised_at: o.promised_at,
            })
            .collect();
        out.push(CareCard {
            vehicle_id: v.id,
            plate: v.plate.clone(),
            vin: v.vin.clone(),
            make: v.make.clone(),
            model: v.model.clone(),
            advisor,
            next_service,
            inspection_due,
            compulsory_insurance_expiry: v.compulsory_insurance_expiry,
            commercial_insurance_expiry: v.commercial_insurance_expiry,
            warranty,
            open_appointments,
            open_repair_orders,
        });
    }
    Ok(CareCards {
        dealer_name: dealer.name,
        service_hotline: numbers.service_hotline,
        rescue_hotline: numbers.rescue_hotline,
        customer_id: c.id,
        customer_name: c.name.clone(),
        on: today,
        cards: out,
    })
}

/// Labels of the printed card.
fn texts(en: bool) -> HashMap<&'static str, &'static str> {
    let pairs: [(&str, &str, &str); 19] = [
        ("title", "客户关怀卡", "Customer care card"),
        ("customer", "客户", "Customer"),
        ("hotline", "服务热线", "Service hotline"),
        ("rescue", "24小时救援电话", "24-hour rescue"),
        ("vehicle", "车辆", "Vehicle"),
        ("advisor", "您的服务顾问", "Your service advisor"),
        ("next_service", "下次保养", "Next service"),
        ("km", "公里", "km"),
        ("or", "或", "or"),
        ("inspection", "年检到期", "Annual inspection due"),
        ("compulsory", "交强险到期", "Compulsory insurance expires"),
        ("commercial", "商业险到期", "Commercial insurance expires"),
        ("warranty", "整车质保至", "Warranty until"),
        ("bookings", "已预约", "Booked visits"),
        ("orders", "在修工单", "Repair orders in progress"),
        ("none", "—", "—"),
        ("on", "制卡日期", "Issued on"),
        ("vin", "车架号", "VIN"),
        (
            "note",
            "如需预约、救援或咨询，请拨打上方电话。",
            "For bookings, rescue or questions, call the numbers above.",
        ),
    ];
    pairs
        .into_iter()
        .map(|(k, zh, en_text)| (k, if en { en_text } else { zh }))
        .collect()
}

/// The cards as a printable page (`templates/web/care_card.html`).
pub fn render(
    templates: &crate::care::render::Templates,
    cards: &CareCards,
    locale: crate::domain::customer::Locale,
) -> AppResult<String> {
    let en = locale == crate::domain::customer::Locale::En;
    templates
        .page(
            "care_card.html",
            minijinja::context! {
                lang => locale.as_str(),
                t => texts(en),
                card => cards,
            },
        )
        .map_err(AppError::Internal)
}
