//! The event feed: wake-ups across instances (PostgreSQL LISTEN/NOTIFY, the
//! local wake on SQLite) and the SSE writer over a fetch function.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use sea_orm::{ConnectionTrait, DatabaseBackend, TransactionTrait};
use serde_json::json;
use servicelane::error::AppResult;
use servicelane::services::feed::{self, Batch, Feed, SseEvent};
use uuid::Uuid;

use crate::helpers::*;

/// A guard against a hang, not a measure of speed.
const HANG: Duration = Duration::from_secs(20);
/// Long enough for a notification that was going to arrive to arrive.
const SILENCE: Duration = Duration::from_millis(1500);

fn is_postgres(app: &TestApp) -> bool {
    app.state.db.get_database_backend() == DatabaseBackend::Postgres
}

#[tokio::test]
async fn committed_wakes_the_local_subscribers_of_its_topic_only() {
    let app = spawn_app().await;
    let (order, other) = (Uuid::now_v7(), Uuid::now_v7());
    let mut sub = app.state.feed.subscribe(order);
    let mut bystander = app.state.feed.subscribe(other);
    let txn = app.state.db.begin().await.unwrap();
    feed::announce(&txn, order).await.unwrap();
    txn.commit().await.unwrap();
    app.state.feed.committed(order);
    tokio::time::timeout(HANG, sub.changed())
        .await
        .expect("the subscriber is woken");
    if !is_postgres(&app) {
        // SQLite: nothing else wakes anyone
        assert!(bystander.changed().now_or_never().is_none());
    }
    drop((sub, bystander));
    assert_eq!(app.state.feed.topics(), 0);
}

#[tokio::test]
async fn an_announce_reaches_a_second_instance_at_commit_and_never_after_a_rollback() {
    let app = spawn_app().await;
    if !is_postgres(&app) {
        // one instance: announce is a no-op that leaves the transaction usable
        let order = Uuid::now_v7();
        let mut sub = app.state.feed.subscribe(order);
        let txn = app.state.db.begin().await.unwrap();
        feed::announce(&txn, order).await.unwrap();
        txn.commit().await.unwrap();
        assert!(sub.changed().now_or_never().is_none());
        return;
    }
    // another instance on the same database: its own feed and listener
    let second = Feed::new(Duration::from_secs(3600));
    let listener = second.listen(&app.database_url);
    tokio::time::timeout(HANG, listener.ready())
        .await
        .expect("the second instance listens");
    let (order, other) = (Uuid::now_v7(), Uuid::now_v7());
    let mut sub = second.subscribe(order);
    let mut bystander = second.subscribe(other);

    let txn = app.state.db.begin().await.unwrap();
    feed::announce(&txn, order).await.unwrap();
    txn.rollback().await.unwrap();
    assert!(
        tokio::time::timeout(SILENCE, sub.changed()).await.is_err(),
        "a rolled-back event woke a subscriber"
    );

    let txn = app.state.db.begin().await.unwrap();
    feed::announce(&txn, order).await.unwrap();
    // not before the commit
    assert!(
        tokio::time::timeout(SILENCE, sub.changed()).await.is_err(),
        "woken before the commit"
    );
    txn.commit().await.unwrap();
    tokio::time::timeout(HANG, sub.changed())
        .await
        .expect("the committed event wakes the second instance");
    assert!(bystander.changed().now_or_never().is_none());
}

#[tokio::test]
async fn a_listener_that_loses_its_connection_wakes_every_topic_and_listens_again() {
    let app = spawn_app().await;
    if !is_postgres(&app) {
        return; // no listener on SQLite
    }
    let second = Feed::new(Duration::from_secs(3600));
    let listener = second.listen(&app.database_url);
    tokio::time::timeout(HANG, listener.ready())
        .await
        .expect("the second instance listens");
    let order = Uuid::now_v7();
    let mut sub = second.subscribe(order);
    // the listeners' connections are cut (a restart, a proxy's idle timeout)
    let cut = app
        .state
        .db
        .execute_unprepared(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND query ILIKE 'LISTEN%' \
               AND pid <> pg_backend_pid()",
        )
        .await
        .unwrap();
    assert!(cut.rows_affected() >= 1, "no listener connection found");
    tokio::time::timeout(HANG, sub.changed())
        .await
        .expect("a reconnection wakes the topics followed");
    let txn = app.state.db.begin().await.unwrap();
    feed::announce(&txn, order).await.unwrap();
    txn.commit().await.unwrap();
    tokio::time::timeout(HANG, sub.changed())
        .await
        .expect("notifications arrive again");
}

/// Events of one topic in memory, as a repair order's event table would
/// hold them, and the `after` of every fetch.
#[derive(Clone, Default)]
struct Events {
    rows: Arc<Mutex<Vec<SseEvent>>>,
    finished: Arc<Mutex<bool>>,
    fetches: Arc<Mutex<Vec<i64>>>,
}

impl Events {
    fn push(&self, id: i64) {
        self.rows.lock().unwrap().push(SseEvent {
            id,
            event: "status".into(),
            data: json!({"seq": id, "note": format!("第{id}步\nstep {id}")}),
        });
    }

    fn fetch(&self) -> impl FnMut(i64) -> std::future::Ready<AppResult<Batch>> + 'static {
        let me = self.clone();
        move |after| {
            me.fetches.lock().unwrap().push(after);
            let events = me
                .rows
                .lock()
                .unwrap()
                .iter()
                .filter(|e| e.id > after)
                .cloned()
                .collect();
            std::future::ready(Ok(Batch {
                events,
                finished: *me.finished.lock().unwrap(),
            }))
        }
    }
}

fn text(chunk: Option<Result<actix_web::web::Bytes, actix_web::Error>>) -> String {
    String::from_utf8(chunk.expect("a chunk").expect("no error").to_vec()).unwrap()
}

#[tokio::test]
async fn the_stream_writes_what_follows_after_then_each_woken_batch_and_ends_when_finished() {
    // no poll within the test: only a wake-up can bring the next batch
    let app = spawn_app_with(&[("SERVICELANE__FEED__POLL_SECS", "3600")]).await;
    let feed = app.state.feed.clone();
    assert_eq!(feed.poll_interval(), Duration::from_secs(3600));
    let order = Uuid::now_v7();
    let events = Events::default();
    for id in 1..=3 {
        events.push(id);
    }
    let mut stream = Box::pin(feed::sse_stream(feed.clone(), order, 1, events.fetch()));
    assert_eq!(feed.topics(), 1, "subscribed before the first fetch");

    let first = text(tokio::time::timeout(HANG, stream.next()).await.unwrap());
    let expected = [2, 3]
        .map(|id| {
            format!(
                "id: {id}\nevent: status\ndata: {{\"note\":\"第{id}步\\nstep {id}\",\"seq\":{id}}}\n\n"
            )
        })
        .concat();
    assert_eq!(first, expected);

    // the stream waits (after one more fetch finding nothing); a committed
    // event and its wake-up bring it
    let writer = events.clone();
    let woken = feed.clone();
    let (next, ()) = tokio::join!(tokio::time::timeout(HANG, stream.next()), async move {
        while writer.fetches.lock().unwrap().len() < 2 {
            tokio::task::yield_now().await;
        }
        writer.push(4);
        woken.committed(order);
    });
    assert_eq!(
        text(next.unwrap()),
        "id: 4\nevent: status\ndata: {\"note\":\"第4步\\nstep 4\",\"seq\":4}\n\n"
    );

    // the order closes: its last event is written and the stream ends
    events.push(5);
    *events.finished.lock().unwrap() = true;
    feed.committed(order);
    let last = text(tokio::time::timeout(HANG, stream.next()).await.unwrap());
    assert!(last.starts_with("id: 5\n"), "{last}");
    assert!(!last.contains("id: 4\n"), "{last}");
    assert!(
        tokio::time::timeout(HANG, stream.next())
            .await
            .unwrap()
            .is_none()
    );
    // every fetch asked for what follows the last id written
    let fetches = events.fetches.lock().unwrap().clone();
    assert_eq!(fetches[..3], [1, 3, 3]);
    assert!(fetches[3..].iter().all(|a| *a == 4), "{fetches:?}");
    drop(stream);
    assert_eq!(feed.topics(), 0);
}
