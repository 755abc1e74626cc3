//! The email channel: SMTP (lettre, rustls), or, with no SMTP configured, an
//! `.eml` file under `<data_dir>/outbox/` so a newcomer sees it.
//!
//! The mail is multipart/alternative (text + HTML), both parts rendered at
//! send time from `templates/messages/<locale>/<kind>.email.{txt,html}`
//! with the row's params (the text part is the `.email.txt` rendering, not
//! the row's `body`: so both parts carry the same localised footer with the
//! unsubscribe link). The subject is the row's `subject`. Our outbox id is
//! the `Message-ID`, the provider's idempotency key. A message whose kind
//! has a purpose and that has a customer carries the RFC 8058 headers.
//!
//! The SMTP conversation is driven step by step so that its outcome says
//! truly what may be done next: nothing handed over (refused, TLS or login
//! failed, 4xx, cut before the message was sent) → [`Outcome::Retry`]; a 5xx
//! to the envelope or the message → [`Outcome::Rejected`];
//! cut or timed out once the message text started to go → [`Outcome::Lost`]
//! (it may have been delivered: never resent on a guess).

use std::path::PathBuf;
use std::time::Duration;

use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::ClientId;
use percent_encoding::percent_decode_str;
use serde_json::Value;
use uuid::Uuid;

use crate::care::outbox::Params;
use crate::care::unsubscribe;
use crate::care::webhook::{Outcome, write_file};
use crate::entities::outbox_message;
use crate::state::AppState;

/// How the connection to the relay is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtps://`: TLS from the first byte.
    Implicit,
    /// `smtp://` (or `?tls=required`): STARTTLS, refused if the relay lacks it.
    StartTls,
    /// `smtp://…?tls=none`: plain text, for a relay on loopback.
    Plain,
}

/// A relay, as `SERVICELANE__EMAIL__SMTP_URL` names it.
#[derive(Clone)]
pub struct Relay {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub hello: ClientId,
    credentials: Option<Credentials>,
}

impl std::fmt::Debug for Relay {
    // the credentials are left out: they are secret
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("authenticated", &self.credentials.is_some())
            .finish()
    }
}

impl Relay {
    /// Reads the accepted URL forms (see config/default.toml):
    /// `smtps://[user:pass@]host[:port]` (465), `smtp://[user:pass@]host[:port]`
    /// and `…?tls=required` (STARTTLS, 587), `smtp://host[:port]?tls=none`
    /// (plain, 25). A path is the EHLO name.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        const KEY: &str = "SERVICELANE__EMAIL__SMTP_URL";
        let u = reqwest::Url::parse(url).map_err(|e| anyhow::anyhow!("{KEY}: {e}"))?;
        let mut tls = None;
        for (k, v) in u.query_pairs() {
            match k.as_ref() {
                "tls" if tls.is_none() => tls = Some(v.into_owned()),
                _ => anyhow::bail!("{KEY}: unknown or repeated parameter '{k}' (only tls=)"),
            }
        }
        let (security, default_port) = match (u.scheme(), tls.as_deref()) {
            ("smtps", None) => (Security::Implicit, 465),
            ("smtp", None | Some("required")) => (Security::StartTls, 587),
            ("smtp", Some("none")) => (Security::Plain, 25),
            (scheme, tls) => anyhow::bail!(
                "{KEY}: '{scheme}://' with tls={} is not accepted; use smtps://, smtp:// (STARTTLS) or smtp://…?tls=none",
                tls.unwrap_or("(unset)")
            ),
        };
        let host = u
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| anyhow::anyhow!("{KEY}: no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let decode = |s: &str| {
            percent_decode_str(s)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|e| anyhow::anyhow!("{KEY}: user or password is not UTF-8: {e}"))
        };
        let credentials = match u.password() {
            Some(p) => Some(Credentials::new(decode(u.username())?, decode(p)?)),
            None if !u.username().is_empty() => {
                anyhow::bail!("{KEY}: a user without a password")
            }
            None => None,
        };
        let name = u.path().trim_matches('/');
        let hello = if name.is_empty() {
            ClientId::default()
        } else {
            ClientId::Domain(name.to_string())
        };
        Ok(Self {
            port: u.port().unwrap_or(default_port),
            host,
            security,
            hello,
            credentials,
        })
    }
}

#[derive(Debug, Clone)]
enum Transport {
    Smtp(Relay),
    Files(PathBuf),
}

#[derive(Debug, Clone)]
pub struct EmailChannel {
    transport: Transport,
    /// `email.from`
    pub from: Mailbox,
    /// The domain of `from`: the right-hand side of our Message-IDs.
    pub domain: String,
    timeout: Duration,
}

/// One email, ready to go: envelope and the formatted message.
pub struct Outgoing {
    pub message_id: Uuid,
    pub to: Mailbox,
    pub raw: Vec<u8>,
}

/// Where a conversation stopped, for what its failure means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Connect,
    Envelope,
    /// The message text started to go: a cut from here may have delivered it.
    Message,
}

impl EmailChannel {
    pub fn new(
        smtp_url: Option<&str>,
        from: &str,
        timeout: Duration,
        data_dir: PathBuf,
    ) -> anyhow::Result<Self> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| anyhow::anyhow!("email.from '{from}' is not a mailbox: {e}"))?;
        let domain = from.email.domain().to_string();
        let transport = match smtp_url {
            Some(url) => Transport::Smtp(Relay::parse(url)?),
            None => Transport::Files(data_dir.join("outbox")),
        };
        Ok(Self {
            transport,
            from,
            domain,
            timeout,
        })
    }

    /// Our Message-ID for an outbox message.
    pub fn message_id(&self, id: Uuid) -> String {
        format!("<{id}@{}>", self.domain)
    }

    /// Hands the message over; the answer says what may be done next.
    pub async fn send(&self, msg: &Outgoing) -> Outcome {
        match &self.transport {
            Transport::Smtp(relay) => self.over_smtp(relay, msg).await,
            Transport::Files(dir) => {
                tracing::info!(to = %msg.to, "no SMTP configured: the email is written to the outbox folder");
                write_file(dir, &format!("email-{}.eml", msg.message_id), &msg.raw).await
            }
        }
    }

    async fn over_smtp(&self, relay: &Relay, msg: &Outgoing) -> Outcome {
        let mut step = Step::Connect;
        let talk = converse(relay, &self.from, msg, self.timeout, &mut step);
        let answer = tokio::time::timeout(self.timeout, talk).await;
        match answer {
            Ok(Ok(reply)) => Outcome::Sent {
                status: Some(250),
                provider_id: Some(reply.chars().take(255).collect()),
            },
            Ok(Err(e)) => classify(&e, step),
            Err(_) if step >= Step::Message => Outcome::Lost {
                error: format!(
                    "SMTP relay did not answer within {:?} after the message was sent",
                    self.timeout
                ),
            },
            Err(_) => Outcome::Retry {
                status: None,
                error: format!("SMTP relay did not answer within {:?}", self.timeout),
                retry_after: None,
            },
        }
    }
}

/// One SMTP conversation, `step` following it. Answers the relay's reply to
/// the message (its queue id, usually).
async fn converse(
    relay: &Relay,
    from: &Mailbox,
    msg: &Outgoing,
    timeout: Duration,
    step: &mut Step,
) -> Result<String, lettre::transport::smtp::Error> {
    let tls = match relay.security {
        Security::Plain => None,
        Security::Implicit | Security::StartTls => Some(TlsParameters::new(relay.host.clone())?),
    };
    let (wrapped, upgrade) = match relay.security {
        Security::Implicit => (tls, None),
        _ => (None, tls),
    };
    let mut conn = AsyncSmtpConnection::connect_tokio1(
        (relay.host.as_str(), relay.port),
        Some(timeout),
        &relay.hello,
        wrapped,
        None,
    )
    .await?;
    let sent = async {
        if let Some(params) = upgrade {
            // required: a relay without STARTTLS is an error, never plain text
            conn.starttls(params, &relay.hello).await?;
        }
        if let Some(c) = &relay.credentials {
            conn.auth(DEFAULT_MECHANISMS, c).await?;
        }
        *step = Step::Envelope;
        conn.command(Mail::new(Some(from.email.clone()), vec![]))
            .await?;
        conn.command(Rcpt::new(msg.to.email.clone(), vec![]))
            .await?;
        conn.command(Data).await?;
        *step = Step::Message;
        let reply = conn.message(&msg.raw).await?;
        Ok(reply.message().collect::<Vec<_>>().join(" "))
    }
    .await;
    // the relay's answer to the message stands whatever QUIT brings
    conn.abort().await;
    sent
}

fn classify(e: &lettre::transport::smtp::Error, step: Step) -> Outcome {
    let status = e.status().map(u16::from);
    let error = format!("SMTP: {e}");
    if step == Step::Connect {
        // connecting, TLS, greeting, login: about the relay (or our settings),
        // not this message, even when the relay answered 5xx
        return Outcome::Retry {
            status,
            error,
            retry_after: None,
        };
    }
    if e.is_permanent() {
        // 5xx: refused for good (a bad address, a policy)
        return Outcome::Rejected { status, error };
    }
    if e.is_transient() || step < Step::Message {
        // 4xx, or nothing of the message went: the relay does not have it
        return Outcome::Retry {
            status,
            error,
            retry_after: None,
        };
    }
    Outcome::Lost { error }
}

/// Builds the email of an outbox row and sends it: what the dispatcher calls
/// for `Channel::Email`.
pub async fn deliver(state: &AppState, m: &outbox_message::Model, params: &Params) -> Outcome {
    match compose(state, m, params) {
        Ok(out) => state.email.send(&out).await,
        Err(error) => Outcome::Rejected {
            status: None,
            error,
        },
    }
}

/// The formatted email of a row; an error names why it cannot be made.
pub fn compose(
    state: &AppState,
    m: &outbox_message::Model,
    params: &Params,
) -> Result<Outgoing, String> {
    let channel = &state.email;
    let to: Mailbox = m
        .recipient
        .parse()
        .map_err(|e| format!("recipient '{}' is not an email address: {e}", m.recipient))?;
    let unsubscribe = match (m.kind.purpose(), m.customer_id) {
        (Some(purpose), Some(customer_id)) => {
            let token = unsubscribe::token(
                &state.tokens,
                &unsubscribe::Subject {
                    dealer_id: m.dealer_id,
                    customer_id,
                    channel: m.channel,
                    purpose,
                },
            );
            Some(unsubscribe::url(
                &state.settings.server.public_base_url,
                &token,
            ))
        }
        _ => None,
    };
    let mut ctx = params.to_json();
    if let Value::Object(o) = &mut ctx {
        o.insert("unsubscribe_url".into(), unsubscribe.clone().into());
    }
    let render = |part: &str| {
        state
            .templates
            .render(m.locale, m.kind.as_str(), part, &ctx)
            .map_err(|e| format!("no {part} template for {} messages: {e:#}", m.kind))
    };
    let text = render("email.txt")?;
    let html = render("email.html")?;
    let subject = match &m.subject {
        Some(s) if !s.trim().is_empty() => s.clone(),
        _ => render("title.txt")?,
    };
    let sent_at: std::time::SystemTime = state.clock.now().into();
    let mut b = Message::builder()
        .message_id(Some(channel.message_id(m.id)))
        .from(channel.from.clone())
        .to(to.clone())
        .subject(subject)
        .date(sent_at);
    if let Some(url) = unsubscribe {
        b = b
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{url}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".into(),
            ));
    }
    let email = b
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| format!("the email cannot be built: {e}"))?;
    Ok(Outgoing {
        message_id: m.id,
        to,
        raw: email.formatted(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_url_forms_are_read_and_others_refused() {
        let r = Relay::parse("smtps://u%40x:p%2Fw@mail.example.com").unwrap();
        assert_eq!(
            (r.host.as_str(), r.port, r.security),
            ("mail.example.com", 465, Security::Implicit)
        );
        assert!(r.credentials.is_some());
        assert!(!format!("{r:?}").contains("p/w"));
        let r = Relay::parse("smtp://mail.example.com").unwrap();
        assert_eq!((r.port, r.security), (587, Security::StartTls));
        let r = Relay::parse("smtp://mail.example.com:2525?tls=required").unwrap();
        assert_eq!((r.port, r.security), (2525, Security::StartTls));
        let r = Relay::parse("smtp://127.0.0.1:2525?tls=none").unwrap();
        assert_eq!(
            (r.host.as_str(), r.port, r.security),
            ("127.0.0.1", 2525, Security::Plain)
        );
        for bad in [
            "smtp://mail.example.com?tls=opportunistic",
            "smtps://mail.example.com?tls=none",
            "smtp://mail.example.com?tls=none&tls=none",
            "smtp://mail.example.com?foo=1",
            "http://mail.example.com",
            "smtp://user@mail.example.com",
            "smtp://",
        ] {
            assert!(Relay::parse(bad).is_err(), "{bad}");
        }
    }
}
