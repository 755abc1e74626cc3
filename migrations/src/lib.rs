//! Schema migrations, one file per change; a landed file is never edited.
pub use sea_orm_migration::prelude::*;

mod m20261128_000001_dealers_and_users;
mod m20261128_000002_auth_sessions;
mod m20261128_000003_customer_archive;
mod m20261128_000004_appointments;
mod m20261129_000005_otp_quota;
mod m20261129_000006_import_jobs;
mod m20261129_000007_data_integrity;
mod m20261129_000008_outbox;
mod m20261129_000009_care_rules;
mod m20261129_000010_provider_templates;
mod m20261129_000011_wechat;
mod m20261130_000012_repair_orders;
mod m20261130_000014_inspection;
mod m20261130_000015_care_planner;
mod m20261130_000016_csi;
mod m20261130_000017_cases;
mod m20261130_000018_callbacks;
mod m20261130_000020_csi_report;
mod m20261130_000021_kpi;
mod m20261130_000022_customer_value;
mod m20261130_000023_order_outcomes;
mod m20261130_000024_comebacks;
mod m20261130_000025_opening;
mod m20261130_000026_deputies;
mod m20261130_000027_warranty_claims;
mod m20261130_000028_parts;
mod m20261130_000029_tools;
mod m20261130_000030_performance;
mod m20261130_000031_rescues;
mod m20261130_000032_enquiries;
mod m20261130_000033_insurance;
mod m20261130_000034_personal_data_audit;
mod m20261201_000035_outbox_redaction;
mod m20261201_000036_consent_history_and_exports;
mod m20261201_000037_erasure;
mod m20261201_000038_retention;
mod m20261201_000039_blob_releases;
mod m20261201_000040_saved_answers_retention;
mod m20261201_000041_access_log_brin;
mod m20261201_000042_outbox_about;

/// For a test that writes rows as an older version did.
pub use m20261201_000042_outbox_about::backfill as backfill_outbox_about;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_dealers_and_users::Migration),
            Box::new(m20261128_000002_auth_sessions::Migration),
            Box::new(m20261128_000003_customer_archive::Migration),
            Box::new(m20261128_000004_appointments::Migration),
            Box::new(m20261129_000005_otp_quota::Migration),
            Box::new(m20261129_000006_import_jobs::Migration),
            Box::new(m20261129_000007_data_integrity::Migration),
            Box::new(m20261129_000008_outbox::Migration),
            Box::new(m20261129_000009_care_rules::Migration),
            Box::new(m20261129_000010_provider_templates::Migration),
            Box::new(m20261129_000011_wechat::Migration),
            Box::new(m20261130_000012_repair_orders::Migration),
            Box::new(m20261130_000014_inspection::Migration),
            Box::new(m20261130_000015_care_planner::Migration),
            Box::new(m20261130_000016_csi::Migration),
            Box::new(m20261130_000017_cases::Migration),
            Box::new(m20261130_000018_callbacks::Migration),
            Box::new(m20261130_000020_csi_report::Migration),
            Box::new(m20261130_000021_kpi::Migration),
            Box::new(m20261130_000022_customer_value::Migration),
            Box::new(m20261130_000023_order_outcomes::Migration),
            Box::new(m20261130_000024_comebacks::Migration),
            Box::new(m20261130_000025_opening::Migration),
            Box::new(m20261130_000026_deputies::Migration),
            Box::new(m20261130_000027_warranty_claims::Migration),
            Box::new(m20261130_000028_parts::Migration),
            Box::new(m20261130_000029_tools::Migration),
            Box::new(m20261130_000030_performance::Migration),
            Box::new(m20261130_000031_rescues::Migration),
            Box::new(m20261130_000032_enquiries::Migration),
            Box::new(m20261130_000033_insurance::Migration),
            Box::new(m20261130_000034_personal_data_audit::Migration),
            Box::new(m20261201_000035_outbox_redaction::Migration),
            Box::new(m20261201_000036_consent_history_and_exports::Migration),
            Box::new(m20261201_000037_erasure::Migration),
            Box::new(m20261201_000038_retention::Migration),
            Box::new(m20261201_000039_blob_releases::Migration),
            Box::new(m20261201_000040_saved_answers_retention::Migration),
            Box::new(m20261201_000041_access_log_brin::Migration),
            Box::new(m20261201_000042_outbox_about::Migration),
        ]
    }
}

/// Column helpers shared by the migrations, so every table spells types alike.
pub(crate) mod col {
    use sea_orm_migration::prelude::*;

    pub fn uuid_pk(name: impl IntoIden) -> ColumnDef {
        ColumnDef::new(name)
            .uuid()
            .not_null()
            .primary_key()
            .to_owned()
    }
    pub fn uuid(name: impl IntoIden) -> ColumnDef {
        ColumnDef::new(name).uuid().not_null().to_owned()
    }
    pub fn uuid_null(name: impl IntoIden) -> ColumnDef {
        ColumnDef::new(name).uuid().null().to_owned()
    }
    pub fn string(name: impl IntoIden, len: u32) -> ColumnDef {
        ColumnDef::new(name).string_len(len).not_null().to_owned()
    }
    pub fn string_null(name: impl IntoIden, len: u32) -> ColumnDef {
        ColumnDef::new(name).string_len(len).null().to_owned()
    }
    pub fn text_null(name: impl IntoIden) -> ColumnDef {
        ColumnDef::new(name).text().null().to_owned()
    }
    pub fn json(name: impl IntoIden) -> ColumnDef {
        ColumnDef::new(name).json_binary().not_null().to_owned()
    }
    pub fn ts(name: impl IntoIden) -> ColumnDef {
        ColumnDef::new(name)
            .timestamp_with_time_zone()
            .not_null()
            .to_owned()
    }
    pub fn ts_null(name: impl IntoIden) -> ColumnDef {
        ColumnDef::new(name)
            .timestamp_with_time_zone()
            .null()
            .to_owned()
    }
    pub fn date_null(name: impl IntoIden) -> ColumnDef {
        ColumnDef::new(name).date().null().to_owned()
    }
    pub fn int(name: impl IntoIden) -> ColumnDef {
        ColumnDef::new(name).integer().not_null().to_owned()
    }
    pub fn int_null(name: impl IntoIden) -> ColumnDef {
        ColumnDef::new(name).integer().null().to_owned()
    }
    pub fn big_null(name: impl IntoIden) -> ColumnDef {
        ColumnDef::new(name).big_integer().null().to_owned()
    }
    pub fn boolean(name: impl IntoIden) -> ColumnDef {
        ColumnDef::new(name).boolean().not_null().to_owned()
    }
}
