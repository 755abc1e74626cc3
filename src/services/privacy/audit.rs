//! The personal-data access log, written behind the requests: a read hands
//! its entries to [`AuditLog::record`] and answers at once; one writer task
//! per instance inserts whatever has queued up in one statement, then counts,
//! for each member of staff in the batch, the distinct customers they read in
//! the last hour, and past `privacy.bulk_read_alert_customers` writes one
//! alert to the dealer's escalation contacts (the case rules' `escalate_to`)
//! per person and clock hour (the outbox's occurrence key keeps it one, across
//! instances too).
//!
//! A crash loses what was queued and not yet written (the batch in flight:
//! milliseconds of reads); a reveal is not queued but written with its
//! request (`services::privacy::reveal`).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, DurationRound, SubsecRound, Utc};
use sea_orm::sea_query::{Expr, Func, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QuerySelect, Set, TransactionTrait,
};
use tokio::sync::{Notify, mpsc, oneshot};
use uuid::Uuid;

use crate::care::outbox::{self, NewMessage, Params, PrivacyAlertParams};
use crate::care::render::Templates;
use crate::domain::message::MessageKind;
use crate::domain::privacy::AccessAction;
use crate::entities::personal_data_access;
use crate::error::AppResult;

/// One look at one customer's personal data.
#[derive(Debug, Clone)]
pub struct Access {
    pub dealer_id: Uuid,
    pub user_id: Uuid,
    pub customer_id: Uuid,
    pub action: AccessAction,
    pub fields: Option<String>,
    pub reason: Option<String>,
    pub endpoint: String,
    pub client_addr: Option<String>,
    pub at: DateTime<Utc>,
}

impl Access {
    pub fn row(self) -> personal_data_access::ActiveModel {
        self.row_with(Uuid::now_v7())
    }

    fn row_with(&self, id: Uuid) -> personal_data_access::ActiveModel {
        personal_data_access::ActiveModel {
            id: Set(id),
            dealer_id: Set(self.dealer_id),
            user_id: Set(self.user_id),
            customer_id: Set(self.customer_id),
            action: Set(self.action),
            fields: Set(self.fields.clone()),
            reason: Set(self.reason.clone()),
            endpoint: Set(self.endpoint.clone()),
            client_addr: Set(self.client_addr.clone()),
            at: Set(self.at),
        }
    }
}

enum Command {
    Record(Vec<Access>),
    Flush(oneshot::Sender<()>),
}

/// Commands queued before `record` waits (back-pressure, never a loss).
const QUEUE: usize = 4096;
/// Rows in one insert at most.
const BATCH: usize = 1000;
/// How long the writer lets entries gather before an insert.
const LINGER: std::time::Duration = std::time::Duration::from_millis(20);

/// The sending end of the log; cheap to clone. `None` inside: reads are not
/// logged (`privacy.audit_reads = false`, refused in production: only to
/// measure what the log costs).
#[derive(Clone)]
pub struct AuditLog {
    tx: Option<mpsc::Sender<Command>>,
}

impl AuditLog {
    /// Starts the writer task of this instance.
    /// `wake`: the outbox dispatcher's, told when an alert is written.
    pub fn start(
        db: DatabaseConnection,
        enabled: bool,
        alert_above: u32,
        wake: Arc<Notify>,
    ) -> AuditLog {
        if !enabled {
            return AuditLog { tx: None };
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(writer(db, rx, alert_above, wake));
        AuditLog { tx: Some(tx) }
    }

    /// Queues entries; waits only when the writer is far behind.
    pub async fn record(&self, entries: Vec<Access>) {
        if let (Some(tx), false) = (&self.tx, entries.is_empty())
            && tx.send(Command::Record(entries)).await.is_err()
        {
            tracing::error!("personal-data access log: the writer has stopped");
        }
    }

    /// Waits until everything queued before the call is written.
    pub async fn flush(&self) {
        if let Some(tx) = &self.tx {
            let (done, wait) = oneshot::channel();
            if tx.send(Command::Flush(done)).await.is_ok() {
                let _ = wait.await;
            }
        }
    }
}

async fn writer(
    db: DatabaseConnection,
    mut rx: mpsc::Receiver<Command>,
    alert_above: u32,
    wake: Arc<Notify>,
) {
    let templates = match Templates::new() {
        Ok(t) => Arc::new(t),
        Err(e) => {
            tracing::error!(error = %e, "personal-data access log: templates");
            return;
        }
    };
    let mut watches = Watches::new();
    while let Some(first) = rx.recv().await {
        // a moment for more to queue: one insert for many reads even when
        // they come one at a time (no request waits for it)
        tokio::time::sleep(LINGER).await;
        let mut batch = Vec::new();
        let mut waiting = Vec::new();
        let mut next = Some(first);
        while let Some(c) = next {
            match c {
                Command::Record(mut e) => batch.append(&mut e),
                Command::Flush(done) => waiting.push(done),
            }
            next = if batch.len() < BATCH {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        if !batch.is_empty() {
            write(&db, &batch).await;
            if alert_above > 0 {
                match alerts(&db, &templates, &batch, alert_above, &mut watches).await {
                    Ok(true) => wake.notify_one(),
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "personal-data bulk-read alert not written")
                    }
                }
            }
        }
        for done in waiting {
            let _ = done.send(());
        }
    }
}

/// Inserts the batch, trying three times before it gives the batch up (and
/// says so in the log: the entries are lost).
async fn write(db: &DatabaseConnection, batch: &[Access]) {
    // the ids made once: a retry of an insert that did commit but lost its
    // answer finds the rows there and adds nothing
    let ids: Vec<Uuid> = batch.iter().map(|_| Uuid::now_v7()).collect();
    for attempt in 1..=3 {
        let written = match db.get_database_backend() {
            DbBackend::Postgres => insert_as_one_value(db, batch, &ids).await,
            _ => personal_data_access::Entity::insert_many(
                batch.iter().zip(&ids).map(|(a, id)| a.row_with(*id)),
            )
            .on_conflict(
                OnConflict::column(personal_data_access::Column::Id)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await
            .map(|_| ()),
        };
        match written {
            Ok(()) => return,
            Err(e) if attempt < 3 => {
                tracing::warn!(error = %e, attempt, "personal-data access log: retrying");
                tokio::time::sleep(std::time::Duration::from_millis(200 * attempt)).await;
            }
            Err(e) => tracing::error!(
                error = %e,
                entries = batch.len(),
                "personal-data access log: entries lost"
            ),
        }
    }
}

/// One entry as `insert_as_one_value` sends it, borrowed from the batch (no
/// JSON tree is built: the rows are written straight into the text).
#[derive(serde::Serialize)]
struct Entry<'a> {
    id: Uuid,
    dealer_id: Uuid,
    user_id: Uuid,
    customer_id: Uuid,
    action: &'static str,
    fields: Option<&'a str>,
    reason: Option<&'a str>,
    endpoint: &'a str,
    client_addr: Option<&'a str>,
    at: DateTime<Utc>,
}

/// PostgreSQL: the whole batch as one JSON value unpacked by
/// `json_to_recordset`, so every batch, whatever its size, is the same
/// statement, prepared once per connection. A `VALUES` list of n rows is a
/// new statement for each n, parsed and planned each time, with ten bound
/// values a row: at thousands of reads a second that was most of the log's
/// cost.
async fn insert_as_one_value(
    db: &DatabaseConnection,
    batch: &[Access],
    ids: &[Uuid],
) -> Result<(), sea_orm::DbErr> {
    let entries: Vec<Entry<'_>> = batch
        .iter()
        .zip(ids)
        .map(|(a, id)| Entry {
            id: *id,
            dealer_id: a.dealer_id,
            user_id: a.user_id,
            customer_id: a.customer_id,
            action: a.action.as_str(),
            fields: a.fields.as_deref(),
            reason: a.reason.as_deref(),
            endpoint: &a.endpoint,
            client_addr: a.client_addr.as_deref(),
            // PostgreSQL rounds a text time to microseconds; a bound one
            // is cut: cut here too, so an entry never lands after its `at`
            at: a.at.trunc_subsecs(6),
        })
        .collect();
    let entries = serde_json::to_string(&entries)
        .map_err(|e| sea_orm::DbErr::Custom(format!("access log entries: {e}")))?;
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO personal_data_access \
         (id, dealer_id, user_id, customer_id, action, fields, reason, endpoint, client_addr, at) \
         SELECT id, dealer_id, user_id, customer_id, action, fields, reason, endpoint, client_addr, at \
         FROM json_to_recordset($1::json) AS x(id uuid, dealer_id uuid, user_id uuid, \
         customer_id uuid, action text, fields text, reason text, endpoint text, \
         client_addr text, at timestamptz) \
         ON CONFLICT (id) DO NOTHING",
        [entries.into()],
    ))
    .await
    .map(|_| ())
}

/// What the writer remembers of each person between batches, so that the
/// alert's count is taken only when it could have crossed the line.
#[derive(Default)]
struct Watch {
    /// Distinct customers at the last count, and rows written since.
    counted: i64,
    since_count: i64,
    /// The clock hour an alert went for: no more counting until the next.
    alerted_hour: Option<DateTime<Utc>>,
}

type Watches = HashMap<(Uuid, Uuid), Watch>;

/// The alerts the batch calls for. A person's distinct customers can grow by
/// at most the rows written since their last count, so the count (a query
/// over their last hour) is taken again only when that could pass `above`,
/// and not at all in an hour already alerted. Another instance's rows are
/// seen at the next count.
async fn alerts(
    db: &DatabaseConnection,
    templates: &Templates,
    batch: &[Access],
    above: u32,
    watches: &mut Watches,
) -> AppResult<bool> {
    let mut alerted = false;
    let mut people: Vec<(Uuid, Uuid, DateTime<Utc>, i64)> = Vec::new();
    for a in batch {
        match people
            .iter_mut()
            .find(|(d, u, _, _)| *d == a.dealer_id && *u == a.user_id)
        {
            Some(p) => {
                p.2 = p.2.max(a.at);
                p.3 += 1;
            }
            None => people.push((a.dealer_id, a.user_id, a.at, 1)),
        }
    }
    if watches.len() > 10_000 {
        // a new hour for everyone: what was counted is stale anyway
        watches.clear();
    }
    for (dealer_id, user_id, at, rows) in people {
        let hour = at.duration_trunc(Duration::hours(1)).unwrap_or(at);
        let w = watches.entry((dealer_id, user_id)).or_default();
        if w.alerted_hour == Some(hour) {
            continue;
        }
        w.since_count += rows;
        if w.counted + w.since_count <= i64::from(above) {
            continue;
        }
        let since = at - Duration::hours(1);
        let read: Option<i64> = personal_data_access::Entity::find()
            .select_only()
            .expr(Func::count_distinct(Expr::col(
                personal_data_access::Column::CustomerId,
            )))
            .filter(personal_data_access::Column::DealerId.eq(dealer_id))
            .filter(personal_data_access::Column::UserId.eq(user_id))
            .filter(personal_data_access::Column::At.gt(since))
            .filter(personal_data_access::Column::At.lte(at))
            .into_tuple()
            .one(db)
            .await?;
        let read = read.unwrap_or(0);
        w.counted = read;
        w.since_count = 0;
        if read > i64::from(above) {
            alerted |= alert(db, templates, dealer_id, user_id, read, at).await?;
            w.alerted_hour = Some(hour);
        }
    }
    Ok(alerted)
}

/// One alert per person and clock hour to each escalation contact.
async fn alert(
    db: &DatabaseConnection,
    templates: &Templates,
    dealer_id: Uuid,
    user_id: Uuid,
    customers: i64,
    at: DateTime<Utc>,
) -> AppResult<bool> {
    let contacts = crate::services::cases::rules(db, dealer_id)
        .await?
        .escalate_to;
    if contacts.is_empty() {
        tracing::warn!(%user_id, customers, "bulk read of customer records: no escalation contact to alert");
        return Ok(false);
    }
    let (dealer, tz) = crate::services::dealers::dealer_zone(db, dealer_id).await?;
    let user = crate::services::dealers::staff_names(db, [user_id]).await?;
    let user_name = user.get(&user_id).cloned().unwrap_or_default();
    let hour = at.duration_trunc(Duration::hours(1)).unwrap_or(at);
    let kind = MessageKind::PersonalDataAlert;
    let txn = db.begin().await?;
    for to in contacts {
        let params = PrivacyAlertParams {
            dealer_name: dealer.name.clone(),
            user_name: user_name.clone(),
            customers: customers.to_string(),
            since: crate::console::local(at - Duration::hours(1), tz),
        };
        let locale = to.locale;
        let title = templates.render(locale, kind.as_str(), "title.txt", &params)?;
        let text = templates.render(locale, kind.as_str(), "sms.txt", &params)?;
        outbox::enqueue(
            &txn,
            NewMessage {
                dealer_id,
                customer_id: None,
                about_customer_id: None,
                kind,
                occurrence_key: format!(
                    "personal_data_alert:{user_id}:{}:{}",
                    hour.format("%Y%m%dT%H"),
                    to.address
                ),
                channel: to.channel.channel(),
                recipient: to.address,
                locale,
                params: Params::PrivacyAlert(params),
                subject: Some(title),
                body: text,
                due_at: at,
                parent_id: None,
            },
            at,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(true)
}
