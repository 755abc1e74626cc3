//! The sweeps that run beside the planner (in `serve` or `care worker`),
//! every `care.planner.poll_secs`: late cases escalated
//! (`services::cases::escalate_due`), unaccepted roadside rescues escalated
//! down the on-duty roster (`services::rescues::escalate_due`) and each dealer's daily report sent at
//! its closing time (`services::reports::send_due`), and customers' export ZIPs past their
//! days expired (`services::data_export::purge_expired`) and released blob bytes deleted
//! (`services::storage::sweep`). Each claims its work in
//! the database, so several instances sweeping at once do it once.

use actix_web::web;

use crate::care::outbox;
use crate::services::{cases, data_export, reports, rescues, storage};
use crate::state::AppState;

pub fn spawn(
    state: web::Data<AppState>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let poll = std::time::Duration::from_secs(state.settings.care.planner.poll_secs.max(1));
    tokio::spawn(async move {
        while !*stop.borrow() {
            let now = state.clock.now();
            let escalated = match cases::escalate_due(&state.db, &state.templates, now).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(error = ?e, "case escalation");
                    0
                }
            };
            let rescued = match rescues::escalate_due(&state, now).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(error = ?e, "rescue escalation");
                    0
                }
            };
            let reported = match reports::send_due(&state, now).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(error = ?e, "daily reports");
                    0
                }
            };
            // customers' export ZIPs past their days: the rows expire, the bytes go
            if let Err(e) = data_export::purge_expired(&state).await {
                tracing::error!(error = ?e, "data export purge");
            }
            // released blob bytes (erased or expired photos, expired ZIPs):
            // deleted, or retried until they are
            if let Err(e) = storage::sweep(&state).await {
                tracing::error!(error = ?e, "released blobs");
            }
            if escalated + rescued + reported > 0 {
                tracing::info!(
                    cases = escalated,
                    rescues = rescued,
                    reports = reported,
                    "swept"
                );
                outbox::wake(&state);
            }
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = stop.changed() => {}
            }
        }
    })
}
