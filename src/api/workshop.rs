//! The workshop and the handover: skills, technicians, the board, dispatch,
//! clocking, the technician's jobs, three-level QC, wash, invoice, payments,
//! delivery and cancelling.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, put, web};
use uuid::Uuid;

use super::contract::headers::IdempotencyKeyHeader;
use super::extract::{IdempotencyHeader, Json};
use super::replayed;
use super::with_etag;
use crate::auth::Actor;
use crate::error::{AppResult, Problem};
use crate::services::idempotency::Outcome;
use crate::services::repair_orders::RepairOrder;
use crate::services::repair_orders::handover::{
    self, CancelInput, DeliverInput, Invoice, PaymentInput, PaymentReceipt, QcInput,
};
use crate::services::repair_orders::workshop::{
    self, Board, ClockOffInput, DispatchInput, MyJob, SkillsInput, Technician, UserSkills,
};
use crate::state::AppState;

/// An order as the actor may see it (the customer masked for the workshop).
fn order(o: RepairOrder, actor: &Actor) -> HttpResponse {
    with_etag(StatusCode::OK, o.version, o.seen_by(actor.sight()))
}

/// Sets the skills a member of staff holds, for dispatch (service manager,
/// workshop foreman, dealer admin). A user of another dealer is 404.
#[utoipa::path(operation_id = "putUserSkills", tag = "workshop", request_body = SkillsInput, security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = UserSkills)))]
#[put("/users/{id}/skills")]
pub async fn put_skills(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    body: Json<SkillsInput>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(workshop::set_skills(&state, &actor, id.into_inner(), body.0).await?))
}

/// The dealer's active technicians: skills, the job they are clocked on, open load in sold hours.
#[utoipa::path(operation_id = "listTechnicians", tag = "workshop", security(("bearer" = [])),
    responses((status = 200, body = Vec<Technician>)))]
#[get("/technicians")]
pub async fn technicians(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(workshop::technicians(&state.db, &actor).await?))
}

/// The dispatch board (派工看板): jobs waiting, jobs in work with clocked
/// minutes, technicians with their load, orders whose promise is at risk.
#[utoipa::path(operation_id = "getWorkshopBoard", tag = "workshop", security(("bearer" = [])),
    responses((status = 200, body = Board)))]
#[get("/workshop/board")]
pub async fn board(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(workshop::board(&state.db, &actor, state.clock.now()).await?))
}

/// The caller's jobs with work left (technicians): dispatched, in progress, paused, rework.
#[utoipa::path(operation_id = "listMyJobs", tag = "workshop", security(("bearer" = [])),
    responses((status = 200, body = Vec<MyJob>)))]
#[get("/me/jobs")]
pub async fn my_jobs(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(workshop::my_jobs(&state.db, &actor, state.clock.now()).await?))
}

/// Dispatches a job to a technician holding its skill (foreman, advisors);
/// again to re-dispatch. Only after the estimate is accepted.
#[utoipa::path(operation_id = "dispatchRepairOrderJob", tag = "repair-orders", request_body = DispatchInput, security(("bearer" = [])),
    params(("id" = Uuid, Path), ("job_id" = Uuid, Path)),
    responses((status = 200, body = RepairOrder, headers(("ETag" = String))),
        (status = 409, description = "no estimate accepted yet, extra work not approved, the job already started, or the order is past the workshop", body = Problem)))]
#[post("/repair-orders/{id}/jobs/{job_id}/dispatch")]
pub async fn dispatch(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<DispatchInput>,
) -> AppResult<HttpResponse> {
    let (id, job_id) = path.into_inner();
    Ok(order(
        workshop::dispatch(&state, &actor, id, job_id, body.0).await?,
        &actor,
    ))
}

/// The dispatched technician clocks on (the first clock-on starts the order's work).
#[utoipa::path(operation_id = "clockOnRepairOrderJob", tag = "repair-orders", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("job_id" = Uuid, Path)),
    responses((status = 200, body = RepairOrder, headers(("ETag" = String))),
        (status = 409, description = "no estimate accepted, no walk-around, the job is not waiting for work, or the technician is on another job", body = Problem)))]
#[post("/repair-orders/{id}/jobs/{job_id}/clock-on")]
pub async fn clock_on(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(Uuid, Uuid)>,
) -> AppResult<HttpResponse> {
    let (id, job_id) = path.into_inner();
    Ok(order(
        workshop::clock_on(&state, &actor, id, job_id).await?,
        &actor,
    ))
}

/// The technician clocks off: `pause` or `done`; the note becomes the diagnosis.
#[utoipa::path(operation_id = "clockOffRepairOrderJob", tag = "repair-orders", request_body = ClockOffInput, security(("bearer" = [])),
    params(("id" = Uuid, Path), ("job_id" = Uuid, Path)),
    responses((status = 200, body = RepairOrder, headers(("ETag" = String))),
        (status = 409, description = "the job is not clocked on", body = Problem)))]
#[post("/repair-orders/{id}/jobs/{job_id}/clock-off")]
pub async fn clock_off(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<ClockOffInput>,
) -> AppResult<HttpResponse> {
    let (id, job_id) = path.into_inner();
    Ok(order(
        workshop::clock_off(&state, &actor, id, job_id, body.0).await?,
        &actor,
    ))
}

/// Records a level of the three-level QC (车辆三级质检): `self` by a technician
/// who worked on the order, `foreman`, then `final` by the QC inspector. A
/// failed level sends `rework_job_ids` back to rework.
#[utoipa::path(operation_id = "recordQc", tag = "repair-orders", request_body = QcInput, security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = RepairOrder, headers(("ETag" = String))),
        (status = 409, description = "the level is out of order, the order is not in work or QC, or (for a self-check, or any level that passes) a job is not done or extra work awaits the customer's answer", body = Problem)))]
#[post("/repair-orders/{id}/qc")]
pub async fn qc(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    body: Json<QcInput>,
) -> AppResult<HttpResponse> {
    Ok(order(
        handover::qc(&state, &actor, id.into_inner(), body.0).await?,
        &actor,
    ))
}

/// The car is washed after the final inspection: the order is ready.
#[utoipa::path(operation_id = "washDone", tag = "repair-orders", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = RepairOrder, headers(("ETag" = String))),
        (status = 409, description = "the final inspection has not passed, or extra work proposed since awaits its answer or is not done", body = Problem)))]
#[post("/repair-orders/{id}/wash-done")]
pub async fn wash_done(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(order(
        handover::wash(&state, &actor, id.into_inner()).await?,
        &actor,
    ))
}

/// The invoice: each line estimated against final, totals by pay type, paid, balance.
#[utoipa::path(operation_id = "getInvoice", tag = "repair-orders", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Invoice)))]
#[get("/repair-orders/{id}/invoice")]
pub async fn invoice(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(handover::invoice(&state.db, &actor, id.into_inner()).await?))
}

/// Takes a payment (cashier). Partial payments; more than the balance is refused.
/// Send `Idempotency-Key`: a retried request answers the same payment.
#[utoipa::path(operation_id = "createPayment", tag = "repair-orders", request_body = PaymentInput, security(("bearer" = [])),
    params(("id" = Uuid, Path), IdempotencyKeyHeader),
    responses((status = 201, body = PaymentReceipt,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same key"))),
        (status = 409, description = "the order takes no payment in its state, or a request with the same key is in progress", body = Problem)))]
#[post("/repair-orders/{id}/payments")]
pub async fn pay(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    key: IdempotencyHeader,
    body: Json<PaymentInput>,
) -> AppResult<HttpResponse> {
    Ok(
        match handover::pay(&state, &actor, id.into_inner(), body.0, key.0.as_ref()).await? {
            Outcome::Fresh(r) => HttpResponse::Created().json(r),
            Outcome::Replayed(saved) => replayed(saved),
        },
    )
}

/// Hands the car over (advisor); paid in full, the order is closed.
#[utoipa::path(operation_id = "deliverRepairOrder", tag = "repair-orders", request_body = DeliverInput, security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = RepairOrder, headers(("ETag" = String))),
        (status = 409, description = "the order is not ready, or its customer-pay total is more than 10% over the accepted estimate", body = Problem)))]
#[post("/repair-orders/{id}/deliver")]
pub async fn deliver(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    body: Json<DeliverInput>,
) -> AppResult<HttpResponse> {
    Ok(order(
        handover::deliver(&state, &actor, id.into_inner(), body.0).await?,
        &actor,
    ))
}

/// Cancels an order before any work (advisor); an appointment it came from stays as it is.
#[utoipa::path(operation_id = "cancelRepairOrder", tag = "repair-orders", request_body = CancelInput, security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = RepairOrder, headers(("ETag" = String))),
        (status = 409, description = "work has started", body = Problem)))]
#[post("/repair-orders/{id}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    body: Json<CancelInput>,
) -> AppResult<HttpResponse> {
    Ok(order(
        handover::cancel(&state, &actor, id.into_inner(), body.0).await?,
        &actor,
    ))
}
