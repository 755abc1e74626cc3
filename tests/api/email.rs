//! The email channel over a real SMTP conversation with a listener the test
//! starts on loopback, and the one-click unsubscribe link it carries.

use chrono::Duration;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait};
use serde_json::Value;
use servicelane::care::outbox::{self, AppointmentParams, NewMessage, Params};
use servicelane::care::unsubscribe;
use servicelane::domain::Role;
use servicelane::domain::customer::{Channel, Locale, Purpose};
use servicelane::domain::message::MessageKind;
use servicelane::domain::outbox::{AttemptOutcome, MessageState};
use servicelane::entities::{outbox_attempt, outbox_message};
use uuid::Uuid;

use crate::helpers::*;

const BASE: &str = "https://care.star-4s.example";
const TO: &str = "wang@example.com";

struct Shop {
    app: TestApp,
    smtp: SmtpSink,
    dealer: Uuid,
    customer: Uuid,
    advisor: String,
}

/// A dealer STAR with a customer, the app sending mail to `smtp_url` (with
/// `None`, to files), drained by the test; `smtp` is the listener to watch.
async fn shop_on(smtp_url: Option<&str>, smtp: SmtpSink) -> Shop {
    let mut env = vec![
        NO_DISPATCHER,
        ("SERVICELANE__SERVER__PUBLIC_BASE_URL", BASE),
    ];
    if let Some(u) = smtp_url {
        env.push(("SERVICELANE__EMAIL__SMTP_URL", u));
    }
    let app = spawn_app_with(&env).await;
    let (dealer, advisor) = app.staff("STAR", Role::ServiceAdvisor).await;
    let c = app.create_customer(&advisor, "王伟", "13912345678").await;
    let customer = c["id"].as_str().unwrap().parse().unwrap();
    Shop {
        app,
        smtp,
        dealer,
        customer,
        advisor,
    }
}

async fn shop() -> Shop {
    let smtp = SmtpSink::start().await;
    shop_on(Some(&smtp.url()), smtp).await
}

impl Shop {
    /// An appointment notice by email, written as the app writes messages.
    async fn enqueue(&self, kind: MessageKind, key: &str, locale: Locale) -> Uuid {
        let now = self.app.clock.now_utc();
        let txn = self.app.state.db.begin().await.unwrap();
        let id = outbox::enqueue(
            &txn,
            NewMessage {
                dealer_id: self.dealer,
                customer_id: Some(self.customer),
                about_customer_id: None,
                kind,
                occurrence_key: key.into(),
                channel: Channel::Email,
                recipient: TO.into(),
                locale,
                params: Params::Appointment(AppointmentParams {
                    dealer_name: "星辰4S店".into(),
                    when: "2027-01-04 09:00".into(),
                    vehicle: "京A12345".into(),
                    services: "小保养".into(),
                }),
                subject: Some(match locale {
                    Locale::ZhCn => "预约成功".into(),
                    Locale::En => "Appointment booked".into(),
                }),
                body: "(the text as written)".into(),
                due_at: now,
                parent_id: None,
            },
            now,
        )
        .await
        .unwrap();
        txn.commit().await.unwrap();
        id
    }

    async fn message(&self, id: Uuid) -> outbox_message::Model {
        outbox_message::Entity::find_by_id(id)
            .one(&self.app.state.db)
            .await
            .unwrap()
            .unwrap()
    }

    async fn attempts(&self, id: Uuid) -> Vec<(AttemptOutcome, Option<i32>)> {
        outbox_attempt::Entity::find()
            .filter(outbox_attempt::Column::MessageId.eq(id))
            .order_by_asc(outbox_attempt::Column::Attempt)
            .all(&self.app.state.db)
            .await
            .unwrap()
            .into_iter()
            .map(|a| (a.outcome, a.status_code))
            .collect()
    }

    async fn customer(&self) -> Answer {
        self.app
            .get(
                &format!("/api/v1/customers/{}", self.customer),
                &self.advisor,
            )
            .await
    }
}

/// The path of the link in `List-Unsubscribe: <…>`.
fn unsubscribe_path(email: &ReceivedEmail) -> String {
    let h = email.header("List-Unsubscribe");
    let url = h
        .strip_prefix('<')
        .and_then(|h| h.strip_suffix('>'))
        .unwrap();
    url.strip_prefix(BASE).unwrap().to_string()
}

#[tokio::test]
async fn an_email_is_delivered_once_with_our_message_id_both_parts_and_the_one_click_headers() {
    let s = shop().await;
    let id = s
        .enqueue(MessageKind::AppointmentBooked, "a1", Locale::En)
        .await;

    assert_eq!(s.app.dispatch_pending().await, 1);
    let m = s.message(id).await;
    assert_eq!(m.state, MessageState::Sent);
    assert_eq!(m.attempts, 1);
    // the relay's answer (its queue id) is kept
    assert!(m.provider_id.as_deref().unwrap().contains("queued as Q1"));
    assert_eq!(s.attempts(id).await, [(AttemptOutcome::Sent, Some(250))]);

    let received = s.smtp.messages();
    assert_eq!(received.len(), 1);
    let e = ReceivedEmail::parse(&received[0]);
    assert_eq!(
        e.header("Message-ID"),
        format!("<{id}@servicelane.local>"),
        "the provider's idempotency key is our id"
    );
    assert_eq!(e.header("Subject"), "Appointment booked");
    assert!(e.header("To").contains(TO));
    assert!(e.header("From").contains("noreply@servicelane.local"));
    assert!(
        e.header("Content-Type")
            .starts_with("multipart/alternative")
    );
    // RFC 8058
    assert_eq!(
        e.header("List-Unsubscribe-Post"),
        "List-Unsubscribe=One-Click"
    );
    let path = unsubscribe_path(&e);
    assert!(path.starts_with("/u/"), "{path}");
    let link = format!("{BASE}{path}");
    let text = e.part("text/plain");
    assert!(
        text.contains("京A12345") && text.contains("2027-01-04 09:00"),
        "{text}"
    );
    assert!(text.contains(&link), "the footer carries the link: {text}");
    let html = e.part("text/html");
    assert!(
        html.contains("京A12345") && html.contains("星辰4S店"),
        "{html}"
    );
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");

    // delivered is delivered: nothing is taken or sent again
    s.app.clock.advance(Duration::hours(1));
    assert_eq!(s.app.dispatch_pending().await, 0);
    assert_eq!(*s.smtp.transactions.lock().unwrap(), 1);
}

#[tokio::test]
async fn an_smtp_451_is_retried_and_the_email_is_delivered_once_on_the_second_attempt() {
    let s = shop().await;
    let id = s
        .enqueue(MessageKind::AppointmentBooked, "a1", Locale::ZhCn)
        .await;
    s.smtp.refuse_next(&[451]);

    s.app.dispatch_pending().await;
    let m = s.message(id).await;
    assert_eq!(m.state, MessageState::Queued);
    assert_eq!(m.attempts, 1);
    assert!(
        m.due_at > s.app.clock.now_utc(),
        "backs off before retrying"
    );
    assert!(s.smtp.messages().is_empty());

    s.app.clock.advance(Duration::hours(1));
    s.app.dispatch_pending().await;
    let m = s.message(id).await;
    assert_eq!(m.state, MessageState::Sent);
    assert_eq!(m.attempts, 2);
    assert_eq!(
        s.attempts(id).await,
        [
            (AttemptOutcome::Retry, Some(451)),
            (AttemptOutcome::Sent, Some(250))
        ]
    );
    assert_eq!(*s.smtp.transactions.lock().unwrap(), 2);
    let received = s.smtp.messages();
    assert_eq!(received.len(), 1);
    // the retry is the same message: the same Message-ID
    let e = ReceivedEmail::parse(&received[0]);
    assert_eq!(e.header("Message-ID"), format!("<{id}@servicelane.local>"));
    assert!(e.part("text/plain").contains("预约") && e.part("text/html").contains("退订"));
}

#[tokio::test]
async fn an_smtp_550_fails_the_email_for_good() {
    let s = shop().await;
    let id = s
        .enqueue(MessageKind::AppointmentBooked, "a1", Locale::En)
        .await;
    s.smtp.refuse_next(&[550]);

    s.app.dispatch_pending().await;
    let m = s.message(id).await;
    assert_eq!(m.state, MessageState::Failed);
    assert!(m.last_error.as_deref().unwrap().contains("550"), "{m:?}");
    assert!(m.settled_at.is_some());
    assert_eq!(s.attempts(id).await, [(AttemptOutcome::Failed, Some(550))]);

    s.app.clock.advance(Duration::hours(1));
    assert_eq!(s.app.dispatch_pending().await, 0);
    assert_eq!(*s.smtp.transactions.lock().unwrap(), 1);
    assert!(s.smtp.messages().is_empty());
}

#[tokio::test]
async fn a_line_cut_after_the_message_went_leaves_it_unknown_and_never_sends_it_again() {
    let s = shop().await;
    let id = s
        .enqueue(MessageKind::AppointmentBooked, "a1", Locale::En)
        .await;
    s.smtp.refuse_next(&[SmtpSink::CUT]);

    s.app.dispatch_pending().await;
    let m = s.message(id).await;
    assert_eq!(m.state, MessageState::Unknown, "{m:?}");
    assert_eq!(s.attempts(id).await, [(AttemptOutcome::Unknown, None)]);
    // it may have been delivered: no second try on a guess
    s.app.clock.advance(Duration::hours(1));
    assert_eq!(s.app.dispatch_pending().await, 0);
    assert_eq!(*s.smtp.transactions.lock().unwrap(), 1);
}

#[tokio::test]
async fn a_relay_that_refuses_connections_leaves_the_email_queued_for_a_retry() {
    // a port nothing listens on: bound, then let go
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let s = shop_on(
        Some(&format!("smtp://127.0.0.1:{port}?tls=none")),
        SmtpSink::start().await,
    )
    .await;
    let id = s
        .enqueue(MessageKind::AppointmentBooked, "a1", Locale::En)
        .await;
    s.app.dispatch_pending().await;
    let m = s.message(id).await;
    assert_eq!(m.state, MessageState::Queued, "{m:?}");
    assert_eq!(s.attempts(id).await, [(AttemptOutcome::Retry, None)]);
}

#[tokio::test]
async fn a_bare_smtp_url_requires_starttls_and_never_falls_back_to_plain_text() {
    // the sink offers no STARTTLS: with `smtp://` (no tls=none) nothing may go
    let smtp = SmtpSink::start().await;
    let url = format!("smtp://127.0.0.1:{}", smtp.port);
    let s = shop_on(Some(&url), smtp).await;
    let id = s
        .enqueue(MessageKind::AppointmentBooked, "a1", Locale::En)
        .await;
    s.app.dispatch_pending().await;
    let m = s.message(id).await;
    assert_eq!(m.state, MessageState::Queued, "{m:?}");
    assert!(
        m.last_error.as_deref().unwrap().contains("STARTTLS"),
        "{m:?}"
    );
    assert_eq!(*s.smtp.transactions.lock().unwrap(), 0);
    assert!(s.smtp.messages().is_empty());
}

#[tokio::test]
async fn with_no_smtp_configured_the_email_is_written_as_an_eml_file() {
    let s = shop_on(None, SmtpSink::start().await).await;
    let id = s
        .enqueue(MessageKind::AppointmentBooked, "a1", Locale::En)
        .await;

    s.app.dispatch_pending().await;
    assert_eq!(s.message(id).await.state, MessageState::Sent);
    let file = s
        .app
        .data_dir
        .join("outbox")
        .join(format!("email-{id}.eml"));
    let raw = std::fs::read_to_string(&file).unwrap();
    let e = ReceivedEmail::parse(&raw);
    assert_eq!(e.header("Message-ID"), format!("<{id}@servicelane.local>"));
    assert!(e.part("text/plain").contains("京A12345"));
    assert!(unsubscribe_path(&e).starts_with("/u/"));
}

#[tokio::test]
async fn the_one_click_post_withdraws_consent_and_the_next_email_of_that_purpose_is_suppressed() {
    let s = shop().await;
    s.enqueue(MessageKind::AppointmentBooked, "a1", Locale::ZhCn)
        .await;
    s.app.dispatch_pending().await;
    let e = ReceivedEmail::parse(&s.smtp.messages()[0]);
    let path = unsubscribe_path(&e);
    let before = s.customer().await;
    assert_eq!(before.etag(), "\"1\"");

    // a GET (a link scanner, a preview) shows the page and changes nothing
    let page = s.app.http.get(s.app.url(&path)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<form method=\"post\"") && html.contains("退订"),
        "{html}"
    );
    let after_get = s.customer().await;
    assert_eq!(after_get.etag(), "\"1\"");
    assert_eq!(after_get.body["consents"], before.body["consents"]);

    // the mail client's one-click POST, no login
    let one_click = || {
        s.app
            .http
            .post(s.app.url(&path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
    };
    let res = one_click().send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("已退订"));
    let c = s.customer().await;
    assert_eq!(c.etag(), "\"2\"", "the version is raised");
    let consents = c.body["consents"].as_array().unwrap();
    let email_service: Vec<&Value> = consents
        .iter()
        .filter(|c| c["channel"] == "email" && c["purpose"] == "service")
        .collect();
    assert_eq!(email_service.len(), 1, "{consents:?}");
    assert_eq!(email_service[0]["granted"], false);
    assert_eq!(email_service[0]["source"], "unsubscribe_link");
    assert!(email_service[0]["at"].is_string());

    // idempotent: a second POST (an empty one) is 200 and changes nothing
    let again = s.app.http.post(s.app.url(&path)).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(s.customer().await.etag(), "\"2\"");

    // the very next email of that purpose is not sent
    let next = s
        .enqueue(MessageKind::AppointmentConfirmed, "a1", Locale::ZhCn)
        .await;
    s.app.dispatch_pending().await;
    let m = s.message(next).await;
    assert_eq!(m.state, MessageState::Suppressed, "{m:?}");
    assert_eq!(s.smtp.messages().len(), 1, "it never reached the relay");
    assert_eq!(*s.smtp.transactions.lock().unwrap(), 1);
}

#[tokio::test]
async fn a_forged_or_garbled_unsubscribe_token_is_404_problem_json() {
    let s = shop().await;
    let real = unsubscribe::Subject {
        dealer_id: s.dealer,
        customer_id: s.customer,
        channel: Channel::Email,
        purpose: Purpose::Service,
    };
    let good = unsubscribe::token(&s.app.state.tokens, &real);
    // a payload naming the same customer for marketing, under the good tag
    let other = unsubscribe::token(
        &s.app.state.tokens,
        &unsubscribe::Subject {
            purpose: Purpose::Marketing,
            ..real
        },
    );
    let forged = format!(
        "{}.{}",
        other.split_once('.').unwrap().0,
        good.split_once('.').unwrap().1
    );
    // a true token of another dealer's customer id
    let foreign = unsubscribe::token(
        &s.app.state.tokens,
        &unsubscribe::Subject {
            dealer_id: Uuid::now_v7(),
            ..real
        },
    );
    let long = "x".repeat(3000);
    for token in [
        "garbage",
        "a.b",
        forged.as_str(),
        foreign.as_str(),
        &good[..good.len() - 2],
        long.as_str(),
    ] {
        for post in [false, true] {
            let url = s.app.url(&format!("/u/{token}"));
            let req = if post {
                s.app.http.post(url).body("List-Unsubscribe=One-Click")
            } else {
                s.app.http.get(url)
            };
            let res = s.app.send(req).await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "{token} {post}");
            assert_eq!(res.content_type(), "application/problem+json");
        }
    }
    assert_eq!(s.customer().await.etag(), "\"1\"", "nothing was withdrawn");
    // the good one works
    let res = s
        .app
        .http
        .post(s.app.url(&format!("/u/{good}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(s.customer().await.etag(), "\"2\"");
}
