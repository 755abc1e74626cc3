//! HTTP: one module per resource. Handlers extract, call a use case, answer.
//!
//! The route table below is the only list of operations: actix serves
//! exactly what it registers and the OpenAPI document is collected from the
//! same calls (utoipa-actix-web), so no handler is served undocumented or
//! documented unserved. `contract` finishes the document (the problems every
//! operation can answer, headers, formats) and answers unrouted requests.

pub mod appointments;
pub mod auth;
pub mod callbacks;
pub mod capacity;
pub mod care;
pub mod care_card;
pub mod cases;
pub mod comebacks;
pub mod contract;
pub mod csi;
pub mod customer_value;
pub mod customers;
pub mod data_export;
pub mod deputies;
pub mod docs;
pub mod enquiries;
pub mod erasure;
pub mod extra_work;
pub mod extract;
pub mod health;
pub mod imports;
pub mod inbox;
pub mod inspection;
pub mod insurance;
pub mod kpi;
pub mod menu;
pub mod parts;
pub mod performance;
pub mod privacy;
pub mod provider_templates;
pub mod repair_orders;
pub mod reports;
pub mod rescues;
pub mod retention;
pub mod survey;
pub mod today;
pub mod tools;
pub mod unsubscribe;
pub mod vehicles;
pub mod warranty;
pub mod wechat;
pub mod workshop;

use actix_web::{HttpResponse, web};
use utoipa::{OpenApi, PartialSchema, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::{AppExt, scope};

use crate::domain::appointment::StateAction;
use crate::error::AppError;
use customers::ExportFormat;

pub use contract::Contract;

/// An answer carrying the record's version as its ETag, for If-Match on the next write.
pub fn with_etag(
    status: actix_web::http::StatusCode,
    version: i32,
    body: impl serde::Serialize,
) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((
            actix_web::http::header::ETAG,
            crate::services::etag(version),
        ))
        .json(body)
}

/// A saved answer, sent again as it was first sent.
pub fn replayed(saved: crate::services::idempotency::Saved) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(saved.status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status)
        .insert_header(("Idempotent-Replayed", "true"))
        .content_type(if status.is_success() {
            "application/json"
        } else {
            "application/problem+json"
        })
        .body(saved.body)
}

/// The frame of the document: what the paths collected from the route table
/// are put into.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "servicelane",
        description = "After-sales service backend for car dealers (售后服务). Errors are application/problem+json (RFC 9457)."
    ),
    components(schemas(crate::error::Problem, crate::domain::FieldError))
)]
struct Frame;

/// Every documented operation, registered once.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(health::live)
        .service(health::ready)
        .service(health::metrics)
        // the link in customers' emails: no login, not under /api/v1
        .service(unsubscribe::show)
        .service(unsubscribe::unsubscribe)
        .service(survey::show)
        .service(survey::submit)
        .service(
            scope("/api/v1")
                .service(auth::login)
                .service(auth::refresh)
                .service(auth::logout)
                .service(auth::otp)
                .service(auth::otp_verify)
                .service(wechat::login)
                .service(wechat::choose)
                .service(auth::me)
                .service(customers::list)
                .service(customers::create)
                // fixed paths before /customers/{id}
                .service(customers::export_file)
                .service(customers::read)
                .service(privacy::reveal)
                .service(privacy::access_log)
                .service(customers::update)
                .service(customers::vehicles_of)
                .service(vehicles::create)
                .service(vehicles::read)
                .service(vehicles::update)
                .service(vehicles::record_mileage)
                .service(vehicles::mileage_history)
                .service(vehicles::remove_mileage)
                .service(capacity::get_capacity)
                .service(capacity::put_capacity)
                .service(capacity::list_closed)
                .service(capacity::close_date)
                .service(capacity::reopen_date)
                .service(menu::list)
                .service(menu::put_item)
                .service(appointments::slots)
                .service(appointments::create)
                .service(appointments::register)
                // fixed paths before /appointments/{id}
                .service(appointments::invitations)
                .service(appointments::preparation)
                .service(appointments::calendar)
                .service(appointments::read)
                .service(appointments::history)
                .service(appointments::reschedule)
                .service(appointments::act)
                .service(inbox::list)
                .service(inbox::mark_read)
                .service(care::list_messages)
                .service(care::retry_message)
                .service(care::receipt)
                .service(care::inbound_sms)
                .service(care::get_settings)
                .service(care::put_settings)
                .service(care::put_kind)
                .service(care::run_planner)
                .service(care::calendar)
                .service(csi::report)
                .service(kpi::daily)
                .service(kpi::range)
                .service(kpi::get_roster)
                .service(kpi::put_roster)
                .service(performance::get_targets)
                .service(performance::put_targets)
                .service(performance::scorecards)
                .service(performance::get_scheme)
                .service(performance::put_scheme)
                // the opening routine (营业准备): fixed paths before /today/checklist/{code}
                .service(today::show)
                .service(today::get_settings)
                .service(today::put_settings)
                .service(today::tick)
                .service(today::untick)
                .service(csi::get_questionnaire)
                .service(csi::put_questionnaire)
                .service(csi::get_survey)
                .service(csi::answer_survey)
                .service(customer_value::analysis)
                .service(customer_value::get_settings)
                .service(customer_value::put_settings)
                .service(cases::list)
                .service(cases::create)
                .service(cases::get)
                .service(cases::update)
                .service(cases::act)
                .service(reports::daily)
                .service(callbacks::list)
                .service(callbacks::get)
                .service(callbacks::claim)
                .service(callbacks::outcome)
                .service(cases::get_rules)
                .service(cases::put_rules)
                .service(rescues::create)
                .service(rescues::list)
                // fixed paths before /rescues/{id}
                .service(rescues::report)
                .service(rescues::get)
                .service(rescues::events)
                .service(rescues::repair_order)
                .service(rescues::act)
                .service(rescues::get_roster)
                .service(rescues::put_roster)
                .service(comebacks::list)
                .service(comebacks::mark)
                .service(comebacks::monthly)
                .service(comebacks::get)
                .service(comebacks::update)
                .service(care::list_suppressions)
                .service(care::delete_suppression)
                .service(care::aliyun_reports)
                .service(care::tencent_reports)
                .service(care::wechat_check)
                .service(care::wechat_push)
                .service(provider_templates::list)
                .service(provider_templates::put)
                .service(provider_templates::remove)
                .service(imports::import_customers)
                .service(imports::read)
                .service(imports::report_csv)
                .service(repair_orders::create)
                .service(repair_orders::list)
                .service(repair_orders::read)
                .service(repair_orders::update)
                .service(repair_orders::timeline)
                .service(repair_orders::events)
                .service(repair_orders::add_job)
                .service(repair_orders::update_job)
                .service(repair_orders::remove_job)
                .service(repair_orders::create_estimate)
                .service(repair_orders::read_estimate)
                .service(repair_orders::accept_estimate)
                .service(repair_orders::put_walkaround)
                .service(repair_orders::get_walkaround)
                .service(repair_orders::get_settings)
                .service(repair_orders::put_settings)
                // the workshop and the handover
                .service(workshop::put_skills)
                // parts (配件): the fixed paths before /parts/{number}
                .service(parts::list)
                .service(parts::create)
                .service(parts::abc)
                .service(parts::reorder_proposal)
                .service(parts::get_settings)
                .service(parts::put_settings)
                .service(parts::stock_report)
                .service(parts::demand_report)
                .service(parts::sales_report)
                .service(parts::receipt_report)
                .service(parts::count_sheet)
                .service(parts::post_stock_take)
                .service(parts::read)
                .service(parts::update)
                .service(parts::movements)
                .service(parts::post_movement)
                // enquiries and complaints: fixed paths before /enquiries/{id}
                .service(enquiries::create)
                .service(enquiries::list)
                .service(enquiries::mine)
                .service(enquiries::get_settings)
                .service(enquiries::put_settings)
                .service(enquiries::get)
                .service(enquiries::claim)
                .service(enquiries::answer)
                .service(enquiries::close)
                .service(deputies::get)
                .service(deputies::put)
                .service(deputies::withdraw)
                // special tools and equipment: fixed paths before /tools/{id}
                .service(tools::list)
                .service(tools::create)
                .service(tools::loans)
                .service(tools::upkeep_due)
                .service(tools::get)
                .service(tools::update)
                .service(tools::lend)
                .service(tools::give_back)
                .service(tools::upkeep)
                .service(tools::personal)
                .service(tools::list_requests)
                .service(tools::create_request)
                .service(tools::approve)
                .service(tools::refuse)
                .service(tools::done)
                .service(workshop::technicians)
                .service(workshop::board)
                .service(workshop::my_jobs)
                .service(workshop::dispatch)
                .service(workshop::clock_on)
                .service(workshop::clock_off)
                .service(workshop::qc)
                .service(workshop::wash_done)
                .service(workshop::invoice)
                .service(workshop::pay)
                .service(workshop::deliver)
                .service(workshop::cancel)
                // extra work
                .service(extra_work::propose)
                .service(extra_work::approve)
                .service(extra_work::decline)
                // warranty claims (api::warranty)
                .service(warranty::list_cases)
                .service(warranty::create_case)
                .service(warranty::read_case)
                .service(warranty::update_case)
                .service(warranty::act)
                .service(warranty::list_parts)
                .service(warranty::release_part)
                .service(warranty::scrap_part)
                .service(warranty::export_claims)
                .service(warranty::import_remittance)
                // at the car and on paper (api::inspection)
                .service(inspection::add_photo)
                .service(inspection::list_photos)
                .service(inspection::get_photo)
                .service(inspection::put_health_check)
                .service(inspection::get_health_check)
                .service(inspection::get_walkaround_checklist)
                .service(inspection::put_walkaround_checklist)
                .service(inspection::get_health_checklist)
                .service(inspection::put_health_checklist)
                .service(inspection::document)
                .service(inspection::qc_report)
                // insurance renewal (代办保险) and the care card (客户关怀卡)
                .service(insurance::request_quote)
                .service(insurance::leads)
                .service(insurance::record_outcome)
                .service(care_card::mine)
                .service(care_card::of_vehicle)
                .service(care_card::get_settings)
                .service(care_card::put_settings)
                // the customer's copy of their data and their consents' history
                .service(data_export::my_export)
                .service(data_export::request)
                .service(data_export::list)
                .service(data_export::read)
                .service(data_export::download)
                .service(data_export::staff_export)
                .service(data_export::my_consent_history)
                .service(data_export::customer_consent_history)
                // the right to erasure (api::erasure)
                .service(erasure::request_mine)
                .service(erasure::mine)
                .service(erasure::request_for)
                .service(erasure::list)
                .service(erasure::get)
                .service(erasure::approve)
                .service(erasure::refuse)
                // retention of personal data (api::retention)
                .service(retention::get_settings)
                .service(retention::put_settings)
                .service(retention::runs),
        );
}

/// The OpenAPI document of [`routes`], finished by [`contract::finish`].
pub fn openapi() -> serde_json::Value {
    let (_, mut doc) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(Frame::openapi())
        .configure(routes)
        .split_for_parts();
    // a type named only in a path or query parameter is referenced but not collected
    let schemas = &mut doc.components.get_or_insert_with(Default::default).schemas;
    schemas.insert(StateAction::name().into(), StateAction::schema());
    schemas.insert(ExportFormat::name().into(), ExportFormat::schema());
    schemas.insert(
        crate::domain::care::TemplateChannel::name().into(),
        crate::domain::care::TemplateChannel::schema(),
    );
    schemas.insert(
        crate::domain::care_plan::CareKind::name().into(),
        crate::domain::care_plan::CareKind::schema(),
    );
    schemas.insert(
        crate::domain::case::CaseAction::name().into(),
        crate::domain::case::CaseAction::schema(),
    );
    schemas.insert(
        crate::domain::rescue::RescueAction::name().into(),
        crate::domain::rescue::RescueAction::schema(),
    );
    schemas.insert(
        crate::domain::warranty::WarrantyAction::name().into(),
        crate::domain::warranty::WarrantyAction::schema(),
    );
    schemas.insert(
        crate::domain::csi_report::CsiGrouping::name().into(),
        crate::domain::csi_report::CsiGrouping::schema(),
    );
    schemas.insert(
        crate::domain::customer_value::TargetList::name().into(),
        crate::domain::customer_value::TargetList::schema(),
    );
    schemas.insert(
        crate::domain::customer_value::ValueFormat::name().into(),
        crate::domain::customer_value::ValueFormat::schema(),
    );
    schemas.insert(
        crate::domain::kpi::KpiGrouping::name().into(),
        crate::domain::kpi::KpiGrouping::schema(),
    );
    schemas.insert(
        crate::domain::care_card::CareCardFormat::name().into(),
        crate::domain::care_card::CareCardFormat::schema(),
    );
    schemas.insert(
        crate::domain::kpi::ReportFormat::name().into(),
        crate::domain::kpi::ReportFormat::schema(),
    );
    schemas.insert(
        crate::domain::erasure::ErasureState::name().into(),
        crate::domain::erasure::ErasureState::schema(),
    );
    contract::finish(doc)
}

/// What is served beside the documented operations: the document itself,
/// its viewer, and the answers for requests no route takes.
pub fn extras(contract: web::Data<Contract>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()))
            .app_data(web::PayloadConfig::new(extract::BODY_LIMIT))
            .app_data(contract.clone())
            .route("/openapi.json", web::get().to(contract::serve_document))
            .configure(docs::routes)
            .configure(crate::console::routes)
            .default_service(web::to(contract::unrouted));
    }
}
