//! servicelane: the after-sales service backend of a car dealer.
//!
//! Layout: `api` (HTTP, one module per resource) calls `services` (use cases,
//! tenancy, transactions), which use `domain` (pure rules) and `entities`
//! (tables). `care` holds message templates and channels; `console` is the
//! staff's web pages over the same use cases.

pub mod api;
pub mod auth;
pub mod care;
pub mod clock;
pub mod config;
pub mod console;
pub mod db;
pub mod domain;
pub mod edges;
pub mod entities;
pub mod error;
pub mod panic_guard;
pub mod services;
pub mod startup;
pub mod state;
pub mod telemetry;
