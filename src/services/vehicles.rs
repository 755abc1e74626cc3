//! Vehicles and their odometer readings.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionSession, TransactionTrait, TryIntoModel,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::dates;
use crate::domain::validation::{self, nullable};
use crate::domain::vehicle::{MileageSource, check_reading};
use crate::domain::{FieldErrors, Plate, Role, Vin};
use crate::entities::{customer, mileage_reading, mileage_reading_removal, vehicle};
use crate::error::{AppError, AppResult};
use crate::services::{Version, col_plus, customers};

/// Workshop staff read odometers too.
pub const MILEAGE_WRITERS: &[Role] = &[
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::ServiceAdvisor,
    Role::WorkshopForeman,
    Role::Technician,
    Role::QcInspector,
    Role::CustomerCare,
    Role::DealerAdmin,
    Role::Customer,
];

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVehicle {
    pub customer_id: Uuid,
    #[schema(example = "1M8GDM9AXKP042788")]
    pub vin: String,
    #[schema(example = "京A12345")]
    pub plate: Option<String>,
    #[schema(example = "Volkswagen")]
    pub make: String,
    #[schema(example = "Lavida")]
    pub model: String,
    pub model_year: Option<i32>,
    pub purchase_date: Option<NaiveDate>,
    pub first_registration_date: Option<NaiveDate>,
    pub inspection_due: Option<NaiveDate>,
    pub compulsory_insurance_expiry: Option<NaiveDate>,
    pub commercial_insurance_expiry: Option<NaiveDate>,
    pub last_service_date: Option<NaiveDate>,
    pub last_service_km: Option<i64>,
}

/// A partial update: absent fields stay, `null` clears an optional one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VehiclePatch {
    /// Moves the vehicle to another customer of the same dealer (a sale).
    pub customer_id: Option<Uuid>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub plate: Option<Option<String>>,
    pub make: Option<String>,
    pub model: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i32>, nullable)]
    pub model_year: Option<Option<i32>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>, nullable)]
    pub purchase_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>, nullable)]
    pub first_registration_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>, nullable)]
    pub inspection_due: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>, nullable)]
    pub compulsory_insurance_expiry: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>, nullable)]
    pub commercial_insurance_expiry: Option<Option<NaiveDate>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Vehicle {
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub customer_id: Uuid,
    pub vin: String,
    pub plate: Option<String>,
    pub make: String,
    pub model: String,
    pub model_year: Option<i32>,
    pub purchase_date: Option<NaiveDate>,
    pub first_registration_date: Option<NaiveDate>,
    pub inspection_due: Option<NaiveDate>,
    pub compulsory_insurance_expiry: Option<NaiveDate>,
    pub commercial_insurance_expiry: Option<NaiveDate>,
    pub last_service_date: Option<NaiveDate>,
    pub last_service_km: Option<i64>,
    /// The latest accepted odometer reading.
    pub odometer_km: Option<i64>,
    pub odometer_read_on: Option<NaiveDate>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<vehicle::Model> for Vehicle {
    fn from(m: vehicle::Model) -> Self {
        Vehicle {
            id: m.id,
            dealer_id: m.dealer_id,
            customer_id: m.customer_id,
            vin: m.vin,
            plate: m.plate,
            make: m.make,
            model: m.model,
            model_year: m.model_year,
            purchase_date: m.purchase_date,
            first_registration_date: m.first_registration_date,
            inspection_due: m.inspection_due,
            compulsory_insurance_expiry: m.compulsory_insurance_expiry,
            commercial_insurance_expiry: m.commercial_insurance_expiry,
            last_service_date: m.last_service_date,
            last_service_km: m.last_service_km,
            odometer_km: m.odometer_km,
            odometer_read_on: m.odometer_read_on,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMileage {
    #[schema(minimum = 0, maximum = 2_000_000)]
    pub mileage_km: i64,
    /// Defaults to today in the dealer's time zone.
    pub read_on: Option<NaiveDate>,
    pub source: MileageSource,
    /// A lower reading than the last is refused unless this is true.
    #[serde(default)]
    pub correction: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MileageReading {
    pub id: Uuid,
    pub vehicle_id: Uuid,
    pub mileage_km: i64,
    pub read_on: NaiveDate,
    pub source: MileageSource,
    pub correction: bool,
    pub created_at: DateTime<Utc>,
}

impl From<mileage_reading::Model> for MileageReading {
    fn from(m: mileage_reading::Model) -> Self {
        MileageReading {
            id: m.id,
            vehicle_id: m.vehicle_id,
            mileage_km: m.mileage_km,
            read_on: m.read_on,
            source: m.source,
            correction: m.correction,
            created_at: m.created_at,
        }
    }
}

const MAX_MAKE: usize = 50;

fn check_year(y: i32, today: NaiveDate) -> Result<i32, String> {
    if (1950..=today.year() + 1).contains(&y) {
        Ok(y)
    } else {
        Err(format!("must be between 1950 and {}", today.year() + 1))
    }
}

fn check_km(km: i64) -> Result<i64, String> {
    if (0..=crate::domain::vehicle::MAX_MILEAGE_KM).contains(&km) {
        Ok(km)
    } else {
        Err("must be between 0 and 2000000".into())
    }
}

/// Validates a new vehicle (not its owner, which needs the database).
pub fn validate_new(
    v: &NewVehicle,
    dealer_id: Uuid,
    now: DateTime<Utc>,
) -> Result<vehicle::ActiveModel, FieldErrors> {
    let mut e = FieldErrors::new();
    let today = now.date_naive();
    let vin = e.check("vin", Vin::parse(&v.vin));
    let plate = e.check(
        "plate",
        v.plate
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .map(Plate::parse)
            .transpose(),
    );
    let make = e.check("make", validation::text(&v.make, MAX_MAKE));
    let model = e.check("model", validation::text(&v.model, MAX_MAKE));
    let year = e.check(
        "model_year",
        v.model_year.map(|y| check_year(y, today)).transpose(),
    );
    let km = e.check(
        "last_service_km",
        v.last_service_km.map(check_km).transpose(),
    );
    for (field, d) in [
        ("purchase_date", v.purchase_date),
        ("last_service_date", v.last_service_date),
    ] {
        e.check(field, d.map(|d| dates::not_future(d, today)).transpose());
    }
    for (field, d) in [
        ("first_registration_date", v.first_registration_date),
        ("inspection_due", v.inspection_due),
        ("compulsory_insurance_expiry", v.compulsory_insurance_expiry),
        ("commercial_insurance_expiry", v.commercial_insurance_expiry),
    ] {
        e.check(field, d.map(dates::in_range).transpose());
    }
    e.clone().into_result()?;
    let (Some(vin), Some(plate), Some(make), Some(model), Some(year), Some(km)) =
        (vin, plate, make, model, year, km)
    else {
        return Err(e);
    };
    Ok(vehicle::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(dealer_id),
        customer_id: Set(v.customer_id),
        vin: Set(vin.as_str().to_string()),
        plate: Set(plate.map(|p| p.as_str().to_string())),
        make: Set(make),
        model: Set(model),
        model_year: Set(year),
        purchase_date: Set(v.purchase_date),
        first_registration_date: Set(v.first_registration_date),
        inspection_due: Set(v.inspection_due),
        compulsory_insurance_expiry: Set(v.compulsory_insurance_expiry),
        commercial_insurance_expiry: Set(v.commercial_insurance_expiry),
        last_service_date: Set(v.last_service_date),
        last_service_km: Set(km),
        odometer_km: Set(km),
        odometer_read_on: Set(km.and(v.last_service_date)),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    })
}

fn vehicle_clash(e: AppError) -> AppError {
    match e {
        AppError::Conflict(_) => {
            AppError::Conflict("a vehicle with this VIN or plate already exists".into())
        }
        other => other,
    }
}

/// The owner must be a customer of the actor's own dealer (or, for a
/// customer, themself); otherwise the field is wrong, not the URL.
async fn check_owner(db: &impl ConnectionTrait, actor: &Actor, customer_id: Uuid) -> AppResult<()> {
    let owner = customer::Entity::find_by_id(customer_id).one(db).await?;
    match owner {
        Some(c)
            if c.dealer_id == actor.dealer_id
                && actor.customer_id.is_none_or(|own| own == c.id) =>
        {
            Ok(())
        }
        _ => Err(AppError::field("customer_id", "no such customer")),
    }
}

pub async fn create(
    db: &impl ConnectionTrait,
    actor: &Actor,
    input: NewVehicle,
    now: DateTime<Utc>,
) -> AppResult<Vehicle> {
    actor.require(customers::WRITERS)?;
    let am = validate_new(&input, actor.dealer_id, now)?;
    check_owner(db, actor, input.customer_id).await?;
    Ok(am
        .insert(db)
        .await
        .map_err(|e| vehicle_clash(e.into()))?
        .into())
}

/// Loads a vehicle the actor may see, or 404.
pub async fn load(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> AppResult<vehicle::Model> {
    actor.require(customers::READERS)?;
    let v = vehicle::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    actor.can_see_customer(v.dealer_id, v.customer_id)?;
    Ok(v)
}

pub async fn get(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> AppResult<Vehicle> {
    load(db, actor, id).await.map(Into::into)
}

pub async fn of_customer(
    db: &impl ConnectionTrait,
    actor: &Actor,
    customer_id: Uuid,
) -> AppResult<Vec<Vehicle>> {
    let c = customers::load(db, actor, customer_id).await?;
    let rows = vehicle::Entity::find()
        .filter(vehicle::Column::CustomerId.eq(c.id))
        .filter(vehicle::Column::DealerId.eq(c.dealer_id))
        .order_by_asc(vehicle::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn update(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
    expected_version: Version,
    patch: VehiclePatch,
    now: DateTime<Utc>,
) -> AppResult<Vehicle> {
    let current = load(db, actor, id).await?;
    actor.require(customers::WRITERS)?;
    actor.can_write_dealer(current.dealer_id)?;
    if current.version != expected_version.0 {
        return Err(AppError::PreconditionFailed);
    }
    let today = now.date_naive();
    let mut e = FieldErrors::new();
    let mut am: vehicle::ActiveModel = current.clone().into();
    if let Some(cid) = patch.customer_id {
        check_owner(db, actor, cid).await?;
        am.customer_id = Set(cid);
    }
    if let Some(p) = &patch.plate {
        let parsed = p
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .map(Plate::parse)
            .transpose();
        if let Some(p) = e.check("plate", parsed) {
            am.plate = Set(p.map(|p| p.as_str().to_string()));
        }
    }
    if let Some(m) = &patch.make
        && let Some(m) = e.check("make", validation::text(m, MAX_MAKE))
    {
        am.make = Set(m);
    }
    if let Some(m) = &patch.model
        && let Some(m) = e.check("model", validation::text(m, MAX_MAKE))
    {
        am.model = Set(m);
    }
    if let Some(y) = patch.model_year
        && let Some(y) = e.check("model_year", y.map(|y| check_year(y, today)).transpose())
    {
        am.model_year = Set(y);
    }
    if let Some(d) = patch.purchase_date {
        e.check(
            "purchase_date",
            d.map(|d| dates::not_future(d, today)).transpose(),
        );
        am.purchase_date = Set(d);
    }
    for (field, d) in [
        ("first_registration_date", patch.first_registration_date),
        ("inspection_due", patch.inspection_due),
        (
            "compulsory_insurance_expiry",
            patch.compulsory_insurance_expiry,
        ),
        (
            "commercial_insurance_expiry",
            patch.commercial_insurance_expiry,
        ),
    ] {
        if let Some(d) = d {
            e.check(field, d.map(dates::in_range).transpose());
        }
    }
    if let Some(d) = patch.first_registration_date {
        am.first_registration_date = Set(d);
    }
    if let Some(d) = patch.inspection_due {
        am.inspection_due = Set(d);
    }
    if let Some(d) = patch.compulsory_insurance_expiry {
        am.compulsory_insurance_expiry = Set(d);
    }
    if let Some(d) = patch.commercial_insurance_expiry {
        am.commercial_insurance_expiry = Set(d);
    }
    e.into_result()?;
    am.version = Set(current.version + 1);
    am.updated_at = Set(now);
    let res = vehicle::Entity::update_many()
        .set(am.clone())
        .filter(vehicle::Column::Id.eq(id))
        .filter(vehicle::Column::Version.eq(expected_version.0))
        .exec(db)
        .await
        .map_err(|e| vehicle_clash(e.into()))?;
    if res.rows_affected == 0 {
        return Err(AppError::PreconditionFailed);
    }
    // the row is now exactly what was written: no need to read it back
    Ok(am.try_into_model()?.into())
}

/// Records an odometer reading. The check against the last reading and the
/// raise of the vehicle's odometer are one conditional update, so two tablets
/// recording at once cannot let a lower reading slip in.
pub async fn record_mileage<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    vehicle_id: Uuid,
    input: NewMileage,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> AppResult<MileageReading> {
    let v = load(db, actor, vehicle_id).await?;
    actor.require(MILEAGE_WRITERS)?;
    actor.can_write_dealer(v.dealer_id)?;
    let read_on = dates::not_future(input.read_on.unwrap_or(today), today)
        .map_err(|m| AppError::field("read_on", m))?;
    if input.correction && actor.is_customer() {
        return Err(AppError::field(
            "correction",
            "only staff may correct an earlier reading",
        ));
    }
    check_reading(v.odometer_km, input.mileage_km, input.correction)
        .map_err(|e| AppError::field("mileage_km", e.to_string()))?;

    let txn = db.begin().await?;
    let m = record_mileage_in(&txn, actor, &v, &input, read_on, now).await?;
    txn.commit().await?;
    Ok(m)
}

/// Records a reading (already checked against `v` as read) inside the
/// caller's transaction: the repair order records its odometer this way, so
/// the reading and the order are written together or not at all.
pub async fn record_mileage_in(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    v: &vehicle::Model,
    input: &NewMileage,
    read_on: NaiveDate,
    now: DateTime<Utc>,
) -> AppResult<MileageReading> {
    let vehicle_id = v.id;
    // the odometer is part of the vehicle's body, so its version (ETag) moves too
    let mut raise = vehicle::Entity::update_many()
        .col_expr(vehicle::Column::OdometerKm, Expr::value(input.mileage_km))
        .col_expr(vehicle::Column::OdometerReadOn, Expr::value(read_on))
        .col_expr(vehicle::Column::UpdatedAt, Expr::value(now))
        .col_expr(
            vehicle::Column::Version,
            col_plus(vehicle::Column::Version, 1),
        )
        .filter(vehicle::Column::Id.eq(vehicle_id));
    if !input.correction {
        raise = raise.filter(
            sea_orm::Condition::any()
                .add(vehicle::Column::OdometerKm.is_null())
                .add(vehicle::Column::OdometerKm.lte(input.mileage_km)),
        );
    }
    if raise.exec(txn).await?.rows_affected == 0 {
        // someone recorded a higher reading between our read and our write
        let latest = vehicle::Entity::find_by_id(vehicle_id)
            .one(txn)
            .await?
            .and_then(|v| v.odometer_km);
        let msg = check_reading(latest, input.mileage_km, false)
            .err()
            .map(|e| e.to_string());
        return Err(AppError::field(
            "mileage_km",
            msg.unwrap_or_else(|| "was overtaken by another reading".into()),
        ));
    }
    let m = mileage_reading::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(v.dealer_id),
        vehicle_id: Set(vehicle_id),
        mileage_km: Set(input.mileage_km),
        read_on: Set(read_on),
        source: Set(input.source),
        correction: Set(input.correction),
        recorded_by: Set(Some(actor.id)),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    Ok(m.into())
}

pub async fn mileage_history(
    db: &impl ConnectionTrait,
    actor: &Actor,
    vehicle_id: Uuid,
) -> AppResult<Vec<MileageReading>> {
    let v = load(db, actor, vehicle_id).await?;
    let rows = mileage_reading::Entity::find()
        .filter(mileage_reading::Column::VehicleId.eq(v.id))
        .order_by_asc(mileage_reading::Column::ReadOn)
        .order_by_asc(mileage_reading::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveReading {
    /// Why the reading is wrong (kept in the audit).
    #[schema(example = "typed 120000 for 12000")]
    pub reason: String,
}

/// Removes a wrong odometer reading (staff who may edit vehicles). The
/// reading is kept in `mileage_reading_removals` with who, when and why; the
/// vehicle's odometer becomes its latest remaining reading (or the last
/// service's, as when it was registered) and its version moves.
pub async fn remove_mileage<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    vehicle_id: Uuid,
    reading_id: Uuid,
    input: RemoveReading,
    now: DateTime<Utc>,
) -> AppResult<Vehicle> {
    let v = load(db, actor, vehicle_id).await?;
    actor.require(customers::WRITERS)?;
    actor.can_write_dealer(v.dealer_id)?;
    let reason =
        validation::multiline(&input.reason, 500).map_err(|m| AppError::field("reason", m))?;

    let txn = db.begin().await?;
    // the vehicle row first (a write, so SQLite takes its lock now): readings
    // recorded or removed meanwhile queue behind us
    let bumped = vehicle::Entity::update_many()
        .col_expr(
            vehicle::Column::Version,
            col_plus(vehicle::Column::Version, 1),
        )
        .col_expr(vehicle::Column::UpdatedAt, Expr::value(now))
        .filter(vehicle::Column::Id.eq(v.id))
        .exec(&txn)
        .await?;
    if bumped.rows_affected == 0 {
        return Err(AppError::NotFound);
    }
    let reading = mileage_reading::Entity::find_by_id(reading_id)
        .filter(mileage_reading::Column::VehicleId.eq(v.id))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    mileage_reading::Entity::delete_by_id(reading.id)
        .exec(&txn)
        .await?;
    mileage_reading_removal::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(v.dealer_id),
        vehicle_id: Set(v.id),
        reading_id: Set(reading.id),
        mileage_km: Set(reading.mileage_km),
        read_on: Set(reading.read_on),
        source: Set(reading.source),
        recorded_by: Set(reading.recorded_by),
        removed_by: Set(actor.id),
        reason: Set(reason),
        at: Set(now),
    }
    .insert(&txn)
    .await?;
    let latest = mileage_reading::Entity::find()
        .filter(mileage_reading::Column::VehicleId.eq(v.id))
        .order_by_desc(mileage_reading::Column::ReadOn)
        .order_by_desc(mileage_reading::Column::CreatedAt)
        .order_by_desc(mileage_reading::Column::Id)
        .one(&txn)
        .await?;
    let (km, on) = match latest {
        Some(r) => (Some(r.mileage_km), Some(r.read_on)),
        None => (
            v.last_service_km,
            v.last_service_km.and(v.last_service_date),
        ),
    };
    vehicle::Entity::update_many()
        .col_expr(vehicle::Column::OdometerKm, Expr::value(km))
        .col_expr(vehicle::Column::OdometerReadOn, Expr::value(on))
        .filter(vehicle::Column::Id.eq(v.id))
        .exec(&txn)
        .await?;
    let fresh = vehicle::Entity::find_by_id(v.id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    txn.commit().await?;
    Ok(fresh.into())
}

/// The span of a vehicle's odometer readings: the earliest and latest dates
/// and the lowest and highest readings.
#[derive(Debug, sea_orm::FromQueryResult)]
pub struct ReadingSpan {
    pub vehicle_id: Uuid,
    pub first_on: NaiveDate,
    pub last_on: NaiveDate,
    pub min_km: i64,
    pub max_km: i64,
}

/// The reading spans of the dealer's vehicles (of `only` these, if given).
pub async fn reading_spans(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    only: Option<&[Uuid]>,
) -> Result<std::collections::HashMap<Uuid, ReadingSpan>, sea_orm::DbErr> {
    use sea_orm::QuerySelect;
    use sea_orm::sea_query::Func;
    let mut q = mileage_reading::Entity::find()
        .select_only()
        .column(mileage_reading::Column::VehicleId)
        .column_as(
            Expr::from(Func::min(Expr::col(mileage_reading::Column::ReadOn))),
            "first_on",
        )
        .column_as(
            Expr::from(Func::max(Expr::col(mileage_reading::Column::ReadOn))),
            "last_on",
        )
        .column_as(
            Expr::from(Func::min(Expr::col(mileage_reading::Column::MileageKm))),
            "min_km",
        )
        .column_as(
            Expr::from(Func::max(Expr::col(mileage_reading::Column::MileageKm))),
            "max_km",
        )
        .filter(mileage_reading::Column::DealerId.eq(dealer_id));
    if let Some(ids) = only {
        q = q.filter(mileage_reading::Column::VehicleId.is_in(ids.iter().copied()));
    }
    Ok(q.group_by(mileage_reading::Column::VehicleId)
        .into_model::<ReadingSpan>()
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.vehicle_id, s))
        .collect())
}

/// The intervals of the maintenance rule: the dealer's active menu items
/// with a km or month interval, first services apart (their own rule).
pub async fn maintenance_intervals(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
) -> Result<Vec<crate::domain::maintenance::Interval>, sea_orm::DbErr> {
    use crate::entities::menu_item;
    Ok(menu_item::Entity::find()
        .filter(menu_item::Column::DealerId.eq(dealer_id))
        .filter(menu_item::Column::Active.eq(true))
        .filter(menu_item::Column::FirstService.eq(false))
        .all(db)
        .await?
        .into_iter()
        .filter(|m| m.interval_km.is_some() || m.interval_months.is_some())
        .map(|m| crate::domain::maintenance::Interval {
            km: m.interval_km,
            months: m.interval_months,
            first_service: false,
        })
        .collect())
}

/// What is known of a vehicle's use, for the maintenance rule: purchase (or
/// first registration), the later of the imported last service and
/// `delivered` (its last delivered repair order: date, odometer), readings.
pub fn use_history(
    v: &vehicle::Model,
    span: Option<&ReadingSpan>,
    delivered: Option<(NaiveDate, Option<i64>)>,
) -> crate::domain::maintenance::UseHistory {
    let imported = v.last_service_date.map(|d| (d, v.last_service_km));
    let last_service = match (imported, delivered) {
        (Some(a), Some(b)) => Some(if b.0 >= a.0 { b } else { a }),
        (a, b) => a.or(b),
    };
    crate::domain::maintenance::UseHistory {
        purchase_date: v.purchase_date.or(v.first_registration_date),
        last_service,
        first_reading: span.map(|s| (s.first_on, s.min_km)),
        last_reading: span
            .map(|s| (s.last_on, s.max_km))
            .or(v.odometer_read_on.zip(v.odometer_km)),
    }
}
