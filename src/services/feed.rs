//! The event feed: tells the streams following a topic (a repair order, by
//! its id) that something new may have been written, on this instance and on
//! every other instance on the same database; and the Server-Sent Events
//! writer those streams are made with.
//!
//! The events themselves are rows (with a per-topic `seq`), so a stream
//! never takes its data from a wake-up: a wake-up only says "fetch again
//! after the last id you wrote". A lost or duplicated wake-up therefore
//! costs latency or one query, never an event.
//!
//! - **One instance (SQLite).** The writer calls [`Feed::committed`] after
//!   its commit; that wakes the local subscribers. [`announce`] does nothing.
//! - **Several instances (PostgreSQL).** A load balancer may put the writer
//!   and the reader on different instances. The writer calls [`announce`]
//!   inside the transaction that writes the event: `pg_notify` is delivered
//!   by PostgreSQL only at commit and only if the transaction commits, so a
//!   rolled-back event wakes nobody and a committed one is visible to the
//!   fetch its notification causes. Every instance runs a [`Listener`] on the
//!   channel [`CHANNEL`] that wakes its own subscribers. The writer also
//!   calls [`Feed::committed`] so its own instance need not wait for the
//!   round trip. LISTEN/NOTIFY needs no table, no polling query per stream
//!   and no broker beside the database we already run.
//! - **The poll backstop.** Notifications are not durable: one sent while a
//!   listener was reconnecting is gone. A listener that reconnects wakes
//!   every live topic, and every stream also fetches again every
//!   `feed.poll_secs` (default 5) whatever happened, so a lost notification
//!   delays an event by at most that long.
//!
//! A writer of events does, in this order:
//! ```text
//! txn = begin; insert the event row; feed::announce(&txn, topic); commit;
//! state.feed.committed(topic);
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::web::Bytes;
use futures_util::{Stream, stream};
use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Statement};
use tokio::sync::watch;
use tokio::time::Instant;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// The PostgreSQL notification channel; each payload is a topic's uuid.
pub const CHANNEL: &str = "servicelane_feed";

/// Silence after which a stream writes a comment, so proxies and the
/// client's own timeout keep the connection open.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Wake-ups by topic, for this process. Cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct Feed {
    inner: Arc<Inner>,
}

struct Inner {
    /// One sender per topic someone follows; removed with its last
    /// subscription, so the map holds only the topics being streamed now.
    topics: Mutex<HashMap<Uuid, watch::Sender<()>>>,
    poll: Duration,
}

impl Inner {
    fn topics(&self) -> MutexGuard<'_, HashMap<Uuid, watch::Sender<()>>> {
        // the map stays consistent whatever a panicking holder was doing:
        // each step on it is a single insert, remove or send
        self.topics.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Feed {
    /// `poll`: how often a stream fetches again when nothing woke it.
    pub fn new(poll: Duration) -> Feed {
        Feed {
            inner: Arc::new(Inner {
                topics: Mutex::default(),
                poll,
            }),
        }
    }

    /// The poll backstop of the streams made with this feed.
    pub fn poll_interval(&self) -> Duration {
        self.inner.poll
    }

    /// Follows `topic`. A wake-up from now on is kept until
    /// [`Subscription::changed`] takes it.
    pub fn subscribe(&self, topic: Uuid) -> Subscription {
        let rx = self
            .inner
            .topics()
            .entry(topic)
            .or_insert_with(|| watch::channel(()).0)
            .subscribe();
        Subscription {
            feed: self.inner.clone(),
            topic,
            rx: Some(rx),
        }
    }

    /// Wakes this instance's subscribers of `topic` (none: nothing happens).
    pub fn wake(&self, topic: Uuid) {
        if let Some(tx) = self.inner.topics().get(&topic) {
            tx.send_modify(|_| {});
        }
    }

    /// Call after committing an event of `topic`: wakes the local
    /// subscribers at once. On SQLite this is the only wake-up there is; on
    /// PostgreSQL the other instances learn of it from [`announce`].
    pub fn committed(&self, topic: Uuid) {
        self.wake(topic);
    }

    /// Wakes every topic followed here (after a notification may have been
    /// missed).
    pub fn wake_all(&self) {
        for tx in self.inner.topics().values() {
            tx.send_modify(|_| {});
        }
    }

    /// How many topics have a subscriber here.
    pub fn topics(&self) -> usize {
        self.inner.topics().len()
    }

    /// Starts the PostgreSQL listener of this instance (see the module
    /// documentation); it runs until the returned handle is dropped.
    pub fn listen(&self, database_url: &str) -> Listener {
        let (ready_tx, ready) = watch::channel(false);
        let task = tokio::spawn(listen(self.clone(), database_url.to_string(), ready_tx));
        Listener { task, ready }
    }
}

/// One follower of a topic. Dropping the last one of a topic forgets it.
pub struct Subscription {
    feed: Arc<Inner>,
    topic: Uuid,
    /// `Some` until dropped.
    rx: Option<watch::Receiver<()>>,
}

impl Subscription {
    pub fn topic(&self) -> Uuid {
        self.topic
    }

    /// Resolves when the topic may have something new since the last call
    /// (or since subscribing). Several wake-ups in between resolve it once.
    /// Cancel-safe.
    pub async fn changed(&mut self) {
        match self.rx.as_mut() {
            // the sender lives in the map as long as a subscription does
            Some(rx) => {
                if rx.changed().await.is_err() {
                    std::future::pending::<()>().await
                }
            }
            None => std::future::pending().await,
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // under the map's lock, so a subscribe of the same topic either came
        // before (and keeps the entry) or comes after (and makes a new one)
        let mut topics = self.feed.topics();
        drop(self.rx.take());
        if topics
            .get(&self.topic)
            .is_some_and(|tx| tx.receiver_count() == 0)
        {
            topics.remove(&self.topic);
        }
    }
}

/// The running PostgreSQL listener; stopped when dropped.
pub struct Listener {
    task: tokio::task::JoinHandle<()>,
    ready: watch::Receiver<bool>,
}

impl Listener {
    /// Resolves once `LISTEN` is in force (a notification committed from now
    /// on reaches this instance), or never if the listener stopped first.
    pub async fn ready(&self) {
        let mut ready = self.ready.clone();
        if ready.wait_for(|r| *r).await.is_err() {
            std::future::pending::<()>().await
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Connects, listens, and turns each notification into a local wake-up;
/// reconnects with backoff (1 s doubling to 30 s) after an error, and wakes
/// every topic after any reconnection, as notifications sent meanwhile are
/// lost.
async fn listen(feed: Feed, url: String, ready: watch::Sender<bool>) {
    const MAX_BACKOFF: Duration = Duration::from_secs(30);
    let mut backoff = Duration::from_secs(1);
    loop {
        let mut listener = match connect(&url).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?backoff, "event feed: cannot listen");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        backoff = Duration::from_secs(1);
        ready.send_replace(true);
        feed.wake_all();
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) => match Uuid::parse_str(n.payload()) {
                    Ok(topic) => feed.wake(topic),
                    Err(_) => tracing::warn!(
                        payload = n.payload(),
                        "event feed: a notification that is not a topic id"
                    ),
                },
                // the connection was lost and made again (LISTEN included)
                Ok(None) => {
                    tracing::info!("event feed: listener reconnected");
                    feed.wake_all();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "event feed: listener failed; reconnecting");
                    break;
                }
            }
        }
    }
}

async fn connect(url: &str) -> Result<PgListener, sea_orm::sqlx::Error> {
    let mut l = PgListener::connect(url).await?;
    l.listen(CHANNEL).await?;
    Ok(l)
}

/// Tells every instance that `topic` has a new event. Call it inside the
/// transaction that writes the event: on PostgreSQL the notification is
/// delivered at commit, and only if the transaction commits. On SQLite it
/// does nothing (one instance): call [`Feed::committed`] after the commit,
/// as on PostgreSQL.
pub async fn announce(txn: &impl ConnectionTrait, topic: Uuid) -> Result<(), DbErr> {
    if txn.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    txn.execute_raw(Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [CHANNEL.into(), topic.to_string().into()],
    ))
    .await?;
    Ok(())
}

/// One event as the stream writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    /// The `id:` line; the client sends the last one back as `Last-Event-ID`.
    pub id: i64,
    /// The `event:` line (the client's listener name).
    pub event: String,
    /// Written as JSON on one `data:` line.
    pub data: serde_json::Value,
}

/// What a fetch found after the id it was given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// In ascending id order, all with ids above the one asked for (a
    /// fetch may return a page: a non-empty batch is followed by another
    /// fetch at once).
    pub events: Vec<SseEvent>,
    /// The topic will have no more events (the order is closed or
    /// cancelled): the stream ends after this batch.
    pub finished: bool,
}

/// One event as an SSE frame. JSON escapes line breaks inside strings, so
/// the data is one line; line breaks in the event name are dropped.
pub fn frame(e: &SseEvent) -> String {
    let name: String = e
        .event
        .chars()
        .filter(|c| *c != '\n' && *c != '\r')
        .collect();
    format!("id: {}\nevent: {name}\ndata: {}\n\n", e.id, e.data)
}

/// The body of a `text/event-stream` answer following `topic` from after
/// the event id `after`: every event `fetch(last id written)` finds, then,
/// after each wake-up of the topic (or every poll interval of the feed),
/// the ones after them; a keep-alive comment after [`KEEP_ALIVE`] of
/// silence. It subscribes before its first fetch, so nothing committed
/// after the call is missed. A finished batch ends it after its events; so
/// does a fetch error (logged).
pub fn sse_stream<F, Fut>(
    feed: Feed,
    topic: Uuid,
    after: i64,
    fetch: F,
) -> impl Stream<Item = Result<Bytes, actix_web::Error>> + 'static
where
    F: FnMut(i64) -> Fut + 'static,
    Fut: Future<Output = AppResult<Batch>> + 'static,
{
    writer_stream(feed, topic, after, fetch, KEEP_ALIVE)
}

/// [`sse_stream`] with the keep-alive interval given (tests).
fn writer_stream<F, Fut>(
    feed: Feed,
    topic: Uuid,
    after: i64,
    fetch: F,
    keep_alive: Duration,
) -> impl Stream<Item = Result<Bytes, actix_web::Error>> + 'static
where
    F: FnMut(i64) -> Fut + 'static,
    Fut: Future<Output = AppResult<Batch>> + 'static,
{
    let now = Instant::now();
    let writer = Writer {
        sub: feed.subscribe(topic),
        poll: feed.poll_interval(),
        keep_alive,
        fetch,
        last: after,
        due: true,
        done: false,
        fetched_at: now,
        written_at: now,
    };
    stream::unfold(writer, |mut w| async move {
        let chunk = w.next_chunk().await?;
        Some((Ok(chunk), w))
    })
}

struct Writer<F> {
    sub: Subscription,
    poll: Duration,
    keep_alive: Duration,
    fetch: F,
    /// The last id written (or the one resumed from).
    last: i64,
    /// Fetch before waiting.
    due: bool,
    done: bool,
    fetched_at: Instant,
    written_at: Instant,
}

impl<F, Fut> Writer<F>
where
    F: FnMut(i64) -> Fut,
    Fut: Future<Output = AppResult<Batch>>,
{
    /// The next bytes to write, or `None` at the end.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        loop {
            if self.done {
                return None;
            }
            if self.due {
                self.due = false;
                self.fetched_at = Instant::now();
                let batch = match (self.fetch)(self.last).await {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::warn!(topic = %self.sub.topic(), error = %e, "event stream ends: fetch failed");
                        return None;
                    }
                };
                let mut out = String::new();
                // ids already written (a fetch that overlaps) are skipped
                for e in &batch.events {
                    if e.id > self.last {
                        out.push_str(&frame(e));
                        self.last = e.id;
                    }
                }
                self.done = batch.finished;
                if !out.is_empty() {
                    // there may be another page
                    self.due = true;
                    self.written_at = Instant::now();
                    return Some(Bytes::from(out));
                }
                continue;
            }
            let poll_at = self.fetched_at + self.poll;
            let keep_alive_at = self.written_at + self.keep_alive;
            tokio::select! {
                _ = self.sub.changed() => self.due = true,
                _ = tokio::time::sleep_until(poll_at) => self.due = true,
                _ = tokio::time::sleep_until(keep_alive_at) => {
                    self.written_at = Instant::now();
                    return Some(Bytes::from_static(b": keep-alive\n\n"));
                }
            }
        }
    }
}

/// The answer carrying an event stream: `text/event-stream`, not cached,
/// and not buffered by a proxy (nginx's `X-Accel-Buffering`).
pub fn sse_response<S>(body: S) -> actix_web::HttpResponse
where
    S: Stream<Item = Result<Bytes, actix_web::Error>> + 'static,
{
    actix_web::HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body)
}

/// The event id a reconnecting client resumes after (`Last-Event-ID`);
/// `None` when absent or empty. Anything but a non-negative integer is a
/// validation error naming the header.
pub fn last_event_id(req: &HttpRequest) -> Result<Option<i64>, AppError> {
    let Some(value) = req.headers().get("last-event-id") else {
        return Ok(None);
    };
    let bad = || AppError::field("Last-Event-ID", "is not an event id this server sent");
    let text = value.to_str().map_err(|_| bad())?.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<i64>() {
        Ok(n) if n >= 0 => Ok(Some(n)),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use futures_util::{FutureExt, StreamExt};
    use serde_json::json;

    use super::*;

    fn feed() -> Feed {
        Feed::new(Duration::from_secs(3600))
    }

    #[tokio::test]
    async fn a_wake_between_subscribing_and_waiting_is_not_lost() {
        let feed = feed();
        let topic = Uuid::now_v7();
        let mut sub = feed.subscribe(topic);
        feed.wake(topic);
        feed.wake(topic);
        // both wake-ups taken by one call, and none left for the next
        assert!(sub.changed().now_or_never().is_some());
        assert!(sub.changed().now_or_never().is_none());
        feed.committed(topic);
        assert!(sub.changed().now_or_never().is_some());
    }

    #[tokio::test]
    async fn a_wake_reaches_only_its_topic_and_all_its_subscribers() {
        let feed = feed();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let mut a1 = feed.subscribe(a);
        let mut a2 = feed.subscribe(a);
        let mut b1 = feed.subscribe(b);
        feed.wake(a);
        assert!(a1.changed().now_or_never().is_some());
        assert!(a2.changed().now_or_never().is_some());
        assert!(b1.changed().now_or_never().is_none());
        feed.wake_all();
        assert!(b1.changed().now_or_never().is_some());
    }

    #[tokio::test]
    async fn a_topic_is_forgotten_when_its_last_subscription_drops() {
        let feed = feed();
        let topic = Uuid::now_v7();
        let first = feed.subscribe(topic);
        let second = feed.subscribe(topic);
        assert_eq!(feed.topics(), 1);
        drop(first);
        assert_eq!(feed.topics(), 1);
        drop(second);
        assert_eq!(feed.topics(), 0);
        // a wake of a forgotten topic does nothing, a new subscriber starts afresh
        feed.wake(topic);
        let mut again = feed.subscribe(topic);
        assert!(again.changed().now_or_never().is_none());
        feed.wake(topic);
        assert!(again.changed().now_or_never().is_some());
    }

    #[test]
    fn a_frame_has_its_id_event_and_the_data_on_one_line() {
        let e = SseEvent {
            id: 42,
            event: "line\nadded".into(),
            data: json!({"note": "换机油\nchange oil\r\n", "n": 1}),
        };
        let f = frame(&e);
        assert_eq!(
            f,
            "id: 42\nevent: lineadded\ndata: {\"n\":1,\"note\":\"换机油\\nchange oil\\r\\n\"}\n\n"
        );
        // id, event, data and the blank line ending the frame
        assert_eq!(f.split('\n').count(), 5);
    }

    #[tokio::test]
    async fn a_fetch_error_ends_the_stream() {
        let s = sse_stream(feed(), Uuid::now_v7(), 0, |_| async {
            Err::<Batch, _>(AppError::NotFound)
        });
        let mut s = Box::pin(s);
        assert!(s.next().await.is_none());
    }

    #[tokio::test]
    async fn silence_writes_a_keep_alive_comment() {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let seen = calls.clone();
        let fetch = move |after| {
            seen.lock().unwrap().push(after);
            async { Ok(Batch::default()) }
        };
        let s = writer_stream(feed(), Uuid::now_v7(), 7, fetch, Duration::from_millis(20));
        let mut s = Box::pin(s);
        let chunk = s.next().await.unwrap().unwrap();
        assert_eq!(&chunk[..], b": keep-alive\n\n");
        // one fetch, from the id resumed after; no wake and no poll since
        assert_eq!(*calls.lock().unwrap(), [7]);
    }

    #[tokio::test]
    async fn a_finished_stream_is_a_whole_event_stream_answer() {
        let fetch = |after| async move {
            Ok(Batch {
                events: vec![SseEvent {
                    id: after + 1,
                    event: "closed".into(),
                    data: json!({}),
                }],
                finished: true,
            })
        };
        let res = sse_response(sse_stream(feed(), Uuid::now_v7(), 4, fetch));
        assert_eq!(
            res.headers().get("content-type").unwrap(),
            "text/event-stream"
        );
        assert_eq!(res.headers().get("cache-control").unwrap(), "no-cache");
        let body = actix_web::body::to_bytes(res.into_body()).await.unwrap();
        assert_eq!(&body[..], b"id: 5\nevent: closed\ndata: {}\n\n");
    }

    fn request(value: Option<&str>) -> HttpRequest {
        let mut r = actix_web::test::TestRequest::default();
        if let Some(v) = value {
            r = r.insert_header(("Last-Event-ID", v));
        }
        r.to_http_request()
    }

    #[test]
    fn last_event_id_is_read_and_a_bad_one_names_the_header() {
        assert_eq!(last_event_id(&request(None)).unwrap(), None);
        assert_eq!(last_event_id(&request(Some(""))).unwrap(), None);
        assert_eq!(last_event_id(&request(Some(" 17 "))).unwrap(), Some(17));
        for bad in ["abc", "-1", "1.5", "99999999999999999999"] {
            match last_event_id(&request(Some(bad))) {
                Err(AppError::Validation(e)) => {
                    assert!(e.to_string().contains("Last-Event-ID"), "{bad}: {e}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
