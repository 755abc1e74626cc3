//! sea-orm entities, one file per table. Closed sets (channels, locales,
//! sources…) are the domain's enums, stored as their names.

pub mod appointment;
pub mod appointment_event;
pub mod blob_release;
pub mod callback;
pub mod callback_call;
pub mod care_card_setting;
pub mod care_plan_kind;
pub mod care_setting;
pub mod care_tick;
pub mod case;
pub mod case_event;
pub mod case_setting;
pub mod clock_interval;
pub mod closed_date;
pub mod comeback;
pub mod consent_history;
pub mod csi_questionnaire;
pub mod csi_response;
pub mod customer;
pub mod customer_value_setting;
pub mod data_export;
pub mod dealer;
pub mod dealer_schedule;
pub mod deputy;
pub mod enquiry;
pub mod enquiry_setting;
pub mod equipment_upkeep;
pub mod erasure_request;
pub mod erasure_request_event;
pub mod idempotency_key;
pub mod import_file;
pub mod import_job;
pub mod import_rejection;
pub mod inbox_message;
pub mod insurance_lead;
pub mod login_failure;
pub mod menu_item;
pub mod mileage_reading;
pub mod mileage_reading_removal;
pub mod opening_setting;
pub mod opening_tick;
pub mod order_outcome;
pub mod order_revenue;
pub mod otp_code;
pub mod otp_quota;
pub mod outbox_attempt;
pub mod outbox_message;
pub mod part;
pub mod part_movement;
pub mod part_setting;
pub mod payment;
pub mod personal_data_access;
pub mod provider_template;
pub mod provider_token;
pub mod qc_check;
pub mod refresh_token;
pub mod repair_order;
pub mod repair_order_counter;
pub mod repair_order_estimate;
pub mod repair_order_event;
pub mod repair_order_job;
pub mod repair_order_photo;
pub mod rescue;
pub mod rescue_event;
pub mod rescue_setting;
pub mod retention_run;
pub mod retention_setting;
pub mod reward_scheme;
pub mod slot_usage;
pub mod staff_target;
pub mod suppression;
pub mod technician_roster;
pub mod tool;
pub mod tool_incident;
pub mod tool_loan;
pub mod tool_request;
pub mod user;
pub mod vehicle;
pub mod warranty_case;
pub mod warranty_case_event;
pub mod warranty_part;
pub mod warranty_remittance;
pub mod warranty_remittance_line;
pub mod wechat_binding;
pub mod wechat_grant;
pub mod workshop_setting;

/// Lets a domain enum made by `string_enum!` be a column, stored as its name.
macro_rules! string_column {
    ($($ty:ty),+ $(,)?) => {$(
        impl From<$ty> for sea_orm::Value {
            fn from(v: $ty) -> Self {
                v.as_str().into()
            }
        }

        impl sea_orm::TryGetable for $ty {
            fn try_get_by<I: sea_orm::ColIdx>(res: &sea_orm::QueryResult, idx: I) -> Result<Self, sea_orm::TryGetError> {
                let s = String::try_get_by(res, idx)?;
                s.parse().map_err(|e| {
                    sea_orm::TryGetError::DbErr(sea_orm::DbErr::TryIntoErr {
                        from: "String",
                        into: stringify!($ty),
                        source: std::sync::Arc::new(e),
                    })
                })
            }
        }

        impl sea_orm::sea_query::ValueType for $ty {
            fn try_from(v: sea_orm::Value) -> Result<Self, sea_orm::sea_query::ValueTypeErr> {
                let s = <String as sea_orm::sea_query::ValueType>::try_from(v)?;
                s.parse().map_err(|_| sea_orm::sea_query::ValueTypeErr)
            }
            fn type_name() -> String {
                stringify!($ty).to_owned()
            }
            fn array_type() -> sea_orm::sea_query::ArrayType {
                sea_orm::sea_query::ArrayType::String
            }
            fn column_type() -> sea_orm::sea_query::ColumnType {
                sea_orm::sea_query::ColumnType::String(sea_orm::sea_query::StringLen::N(16))
            }
        }

        impl sea_orm::sea_query::Nullable for $ty {
            fn null() -> sea_orm::Value {
                sea_orm::Value::String(None)
            }
        }

        impl sea_orm::IntoActiveValue<$ty> for $ty {
            fn into_active_value(self) -> sea_orm::ActiveValue<$ty> {
                sea_orm::ActiveValue::Set(self)
            }
        }

        impl sea_orm::sea_query::postgres_array::NotU8 for $ty {}

        // a part of a composite primary key; never an auto-increment one
        impl sea_orm::TryFromU64 for $ty {
            fn try_from_u64(_: u64) -> Result<Self, sea_orm::DbErr> {
                Err(sea_orm::DbErr::ConvertFromU64(stringify!($ty)))
            }
        }
    )+};
}

use crate::domain::appointment::{AppointmentState, Source};
use crate::domain::customer::{Calendar, Channel, Locale};
use crate::domain::import::JobState;
use crate::domain::vehicle::MileageSource;

string_column!(
    Channel,
    Locale,
    Calendar,
    MileageSource,
    AppointmentState,
    Source,
    JobState,
    crate::domain::message::MessageKind,
    crate::domain::care_plan::CareKind,
    crate::domain::insurance::PolicyKind,
    crate::domain::insurance::RenewalOutcome,
    crate::domain::case::CaseState,
    crate::domain::case::CaseSource,
    crate::domain::case::CaseCategory,
    crate::domain::case::Severity,
    crate::domain::callback::CallbackReason,
    crate::domain::callback::CallbackState,
    crate::domain::callback::CallResult,
    crate::domain::outbox::MessageState,
    crate::domain::outbox::AttemptOutcome,
    crate::domain::care::TemplateChannel,
    crate::domain::repair_order::OrderState,
    crate::domain::repair_order::RepairJobState,
    crate::domain::repair_order::Skill,
    crate::domain::repair_order::PayType,
    crate::domain::repair_order::JobOrigin,
    crate::domain::repair_order::Approval,
    crate::domain::repair_order::ApprovalChannel,
    crate::domain::repair_order::Priority,
    crate::domain::repair_order::PhotoPurpose,
    crate::domain::repair_order::QcLevel,
    crate::domain::repair_order::PaymentMethod,
    crate::domain::repair_order::ClockOff,
    crate::domain::repair_order::EventKind,
    crate::domain::comeback::ComebackKind,
    crate::domain::comeback::ComebackCause,
    crate::domain::comeback::ComebackState,
    crate::domain::tools::ToolKind,
    crate::domain::tools::ToolState,
    crate::domain::tools::ReturnCondition,
    crate::domain::tools::ToolIncidentKind,
    crate::domain::tools::ToolRequestKind,
    crate::domain::tools::ToolRequestState,
    crate::domain::warranty::WarrantyState,
    crate::domain::warranty::WarrantyDecision,
    crate::domain::warranty::WarrantyPartState,
    crate::domain::warranty::RemittanceOutcome,
    crate::domain::parts::MovementKind,
    crate::domain::privacy::AccessAction,
    crate::domain::enquiry::EnquiryTopic,
    crate::domain::enquiry::EnquiryContact,
    crate::domain::enquiry::EnquirySource,
    crate::domain::enquiry::EnquiryState,
    crate::domain::rescue::RescueProblem,
    crate::domain::rescue::RescueState,
    crate::domain::customer::Purpose,
    crate::domain::customer::ConsentSource,
    crate::domain::data_export::ExportState,
    crate::domain::erasure::ErasureState,
);
