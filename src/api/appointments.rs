//! /api/v1/appointment-slots and /api/v1/appointments

use actix_web::{HttpResponse, get, post, web};
use uuid::Uuid;

use super::contract::headers::IdempotencyKeyHeader;
use super::extract::{AccessPoint, IdempotencyHeader, Json, OptionalJson, Query};
use super::replayed;
use crate::auth::Actor;
use crate::domain::appointment::StateAction;
use crate::domain::privacy::AccessAction;
use crate::domain::schedule::SlotView;
use crate::error::{AppResult, Problem};
use crate::services::appointments::book::{self, NewAppointment};
use crate::services::appointments::planning::{self, Day, Invitation, Preparation, Range};
use crate::services::appointments::transitions::{self, Event, Reason, Reschedule};
use crate::services::appointments::{self, Appointment, RegisterQuery, SlotQuery};
use crate::services::idempotency::Outcome;
use crate::services::privacy::Looker;
use crate::state::AppState;

/// The slots of a day in the dealer's zone, with what each has left.
#[utoipa::path(operation_id = "listAppointmentSlots", tag = "appointments", params(SlotQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<SlotView>)))]
#[get("/appointment-slots")]
pub async fn slots(
    state: web::Data<AppState>,
    actor: Actor,
    q: Query<SlotQuery>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(appointments::slots(&state.db, &actor, q.0, state.clock.now()).await?))
}

/// Books a slot. Customers book their own vehicles; staff book for a customer.
/// Send `Idempotency-Key` to make a retry safe.
#[utoipa::path(operation_id = "createAppointment", tag = "appointments", request_body = NewAppointment, security(("bearer" = [])),
    params(IdempotencyKeyHeader),
    responses((status = 201, body = Appointment,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same key"))),
        (status = 409, description = "the slot is full (`next_free_slots` lists alternatives), the vehicle is already booked, or a request with the same key is still in progress", body = Problem)))]
#[post("/appointments")]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    key: IdempotencyHeader,
    body: Json<NewAppointment>,
) -> AppResult<HttpResponse> {
    Ok(
        match book::book(&state, &actor, body.0, key.0.as_ref()).await? {
            Outcome::Fresh(a) => HttpResponse::Created().json(a),
            Outcome::Replayed(saved) => replayed(saved),
        },
    )
}

/// The appointment register (《预约登记表》).
#[utoipa::path(operation_id = "listAppointments", tag = "appointments", params(RegisterQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<Appointment>)))]
#[get("/appointments")]
pub async fn register(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
    q: Query<RegisterQuery>,
) -> AppResult<HttpResponse> {
    let list = appointments::register(&state.db, &actor, q.0, state.clock.now()).await?;
    Looker::of(&state, &actor, point.0)
        .saw_in(AccessAction::Search, &list)
        .await;
    Ok(HttpResponse::Ok().json(list))
}

/// Vehicles to invite (主动预约名单): maintenance due by time or projected mileage, first services.
#[utoipa::path(operation_id = "listInvitations", tag = "appointments", params(Range), security(("bearer" = [])),
    responses((status = 200, body = Vec<Invitation>)))]
#[get("/appointments/invitations")]
pub async fn invitations(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
    q: Query<Range>,
) -> AppResult<HttpResponse> {
    let list = planning::invitations(&state.db, &actor, q.0, state.clock.now()).await?;
    Looker::of(&state, &actor, point.0)
        .saw_in(AccessAction::Search, &list)
        .await;
    Ok(HttpResponse::Ok().json(list))
}

/// A day's preparation list (准备): parts to pick, advisors, workshop hours, warnings.
#[utoipa::path(operation_id = "getPreparation", tag = "appointments", params(Day), security(("bearer" = [])),
    responses((status = 200, body = Preparation)))]
#[get("/appointments/preparation")]
pub async fn preparation(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
    q: Query<Day>,
) -> AppResult<HttpResponse> {
    let p = planning::preparation(&state.db, &actor, q.0, state.clock.now()).await?;
    Looker::of(&state, &actor, point.0)
        .saw_in(AccessAction::Search, &p)
        .await;
    Ok(HttpResponse::Ok().json(p))
}

/// The appointment as an iCalendar file (RFC 5545) in the dealer's time zone.
#[utoipa::path(operation_id = "getAppointmentCalendar", tag = "appointments", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, description = "an iCalendar (RFC 5545) file", body = String, content_type = "text/calendar")))]
#[get("/appointments/{id}.ics")]
pub async fn calendar(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let text =
        appointments::calendar(&state.db, &actor, id.into_inner(), state.clock.now()).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"appointment.ics\"",
        ))
        .body(text))
}

#[utoipa::path(operation_id = "getAppointment", tag = "appointments", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Appointment)))]
#[get("/appointments/{id}")]
pub async fn read(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let a = appointments::get(&state.db, &actor, id.into_inner()).await?;
    Looker::of(&state, &actor, point.0)
        .saw_in(AccessAction::Read, &a)
        .await;
    Ok(HttpResponse::Ok().json(a))
}

/// Who changed the appointment, when, from what to what, and why.
#[utoipa::path(operation_id = "getAppointmentHistory", tag = "appointments", security(("bearer" = [])), params(("id" = Uuid, Path)), responses((status = 200, body = Vec<Event>)))]
#[get("/appointments/{id}/history")]
pub async fn history(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(transitions::history(&state.db, &actor, id.into_inner()).await?))
}

/// confirm: booked → confirmed; check-in: the customer has arrived; cancel:
/// the slot is given back; no-show: once the slot has begun. Body `{reason}`
/// is optional and kept in the audit.
#[utoipa::path(operation_id = "changeAppointmentState", tag = "appointments", request_body = Option<Reason>, security(("bearer" = [])),
    params(("id" = Uuid, Path), ("action" = StateAction, Path)),
    responses((status = 200, body = Appointment), (status = 409, description = "not allowed from the current state", body = Problem)))]
#[post("/appointments/{id}/{action}")]
pub async fn act(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(Uuid, StateAction)>,
    body: OptionalJson<Reason>,
) -> AppResult<HttpResponse> {
    let (id, action) = path.into_inner();
    let reason = body.0.and_then(|b| b.reason);
    Ok(HttpResponse::Ok()
        .json(transitions::change(&state, &actor, id, action.into(), reason.as_deref()).await?))
}

/// Moves the booking to another slot atomically; answers the new appointment
/// (the old one becomes `rescheduled`, linked both ways).
#[utoipa::path(operation_id = "rescheduleAppointment", tag = "appointments", request_body = Reschedule, security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Appointment),
        (status = 409, description = "the new slot is full (the booking is unchanged), or the appointment is no longer open", body = Problem)))]
#[post("/appointments/{id}/reschedule")]
pub async fn reschedule(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    body: Json<Reschedule>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(transitions::reschedule(&state, &actor, id.into_inner(), body.0).await?))
}
