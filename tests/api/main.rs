//! The integration suite: one binary, each test on its own database.
mod helpers;

mod adversarial;
mod appointments;
mod auth;
mod care_review;
mod care_rules;
mod cli;
mod contract;
mod customers;
mod email;
mod errors;
mod extra_work;
mod feed;
mod hardening;
mod import;
mod inspection;
mod login_limits;
mod operations;
mod outbox;
mod repair_order_contract;
mod repair_orders;
mod sms_providers;
mod tenancy;
mod vehicles;
mod wechat;
mod workshop;
