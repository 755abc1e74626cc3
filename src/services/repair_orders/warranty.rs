//! Warranty cases: the stubs a job with `pay_type: warranty` opens (see
//! `jobs::insert`), listed for the warranty clerk with what a claim needs —
//! VIN, mileage, the order, the failed part, the job and the technician's
//! diagnosis, the order's photos. The claim process itself is a later issue.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::Role;
use crate::entities::{repair_order, repair_order_job, repair_order_photo, warranty_case};
use crate::error::{AppError, AppResult};
use crate::services::{decode_cursor, encode_cursor, page_limit};

/// Who reads warranty cases.
pub const READERS: &[Role] = &[Role::WarrantyClerk, Role::ServiceManager, Role::DealerAdmin];

#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WarrantyListQuery {
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

/// A warranty case stub.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WarrantyCase {
    pub id: Uuid,
    /// `draft` until the claim process (a later issue) moves it.
    pub state: String,
    pub order_id: Uuid,
    #[schema(example = "RO202703010007")]
    pub order_number: String,
    pub job_id: Uuid,
    pub vin: String,
    /// The odometer when the car came in.
    pub mileage_km: Option<i32>,
    /// The job's first part (`part_number name`).
    pub failed_part: Option<String>,
    /// The warranty job.
    pub job_description: String,
    /// The technician's finding (the job's last clock-off note).
    pub diagnosis: Option<String>,
    /// The order's photos (`/api/v1/repair-orders/{order}/photos/{photo}`), oldest first.
    pub photo_urls: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A page of warranty cases, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct WarrantyCasePage {
    pub items: Vec<WarrantyCase>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// The dealer's warranty cases, oldest first, in cursor pages.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    q: WarrantyListQuery,
) -> AppResult<WarrantyCasePage> {
    actor.require(READERS)?;
    let limit = page_limit(q.limit)?;
    let mut s =
        warranty_case::Entity::find().filter(warranty_case::Column::DealerId.eq(actor.dealer_id));
    if let Some(c) = q.cursor.as_deref() {
        s = s.filter(warranty_case::Column::Id.gt(decode_cursor(c)?));
    }
    let mut rows = s
        .order_by_asc(warranty_case::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    let next_cursor = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| encode_cursor(r.id))
    } else {
        None
    };
    Ok(WarrantyCasePage {
        items: views(db, rows).await?,
        next_cursor,
    })
}

/// One case of the actor's dealer (404 otherwise).
pub async fn get(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> AppResult<WarrantyCase> {
    actor.require(READERS)?;
    let row = warranty_case::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|c| c.dealer_id == actor.dealer_id)
        .ok_or(AppError::NotFound)?;
    views(db, vec![row]).await?.pop().ok_or(AppError::NotFound)
}

/// The cases with their orders, jobs and photos, in three queries.
async fn views(
    db: &impl ConnectionTrait,
    rows: Vec<warranty_case::Model>,
) -> AppResult<Vec<WarrantyCase>> {
    if rows.is_empty() {
        return Ok(vec![]);
    }
    let order_ids: Vec<Uuid> = rows.iter().map(|r| r.order_id).collect();
    let job_ids: Vec<Uuid> = rows.iter().map(|r| r.job_id).collect();
    let orders: HashMap<Uuid, repair_order::Model> = repair_order::Entity::find()
        .filter(repair_order::Column::Id.is_in(order_ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let jobs: HashMap<Uuid, repair_order_job::Model> = repair_order_job::Entity::find()
        .filter(repair_order_job::Column::Id.is_in(job_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|j| (j.id, j))
        .collect();
    let mut photos: HashMap<Uuid, Vec<String>> = HashMap::new();
    for p in repair_order_photo::Entity::find()
        .filter(repair_order_photo::Column::OrderId.is_in(order_ids))
        .order_by_asc(repair_order_photo::Column::Id)
        .all(db)
        .await?
    {
        photos.entry(p.order_id).or_default().push(format!(
            "/api/v1/repair-orders/{}/photos/{}",
            p.order_id, p.id
        ));
    }
    rows.into_iter()
        .map(|c| {
            let order = orders.get(&c.order_id).ok_or(AppError::NotFound)?;
            let job = jobs.get(&c.job_id);
            Ok(WarrantyCase {
                id: c.id,
                state: c.state,
                order_id: c.order_id,
                order_number: order.number.clone(),
                job_id: c.job_id,
                vin: c.vin,
                mileage_km: c.mileage_km,
                failed_part: c.failed_part,
                job_description: job.map(|j| j.description.clone()).unwrap_or_default(),
                diagnosis: job.and_then(|j| j.diagnosis.clone()).or(c.diagnosis),
                photo_urls: photos.get(&c.order_id).cloned().unwrap_or_default(),
                created_at: c.created_at,
                updated_at: c.updated_at,
            })
        })
        .collect()
}
