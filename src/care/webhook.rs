//! The webhook channels (SMS and app push): a signed JSON POST to the
//! operator's gateway, or, with no webhook configured, a file under
//! `<data_dir>/outbox/` so a newcomer sees it.

use std::path::PathBuf;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use uuid::Uuid;

/// What the gateway receives.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookMessage {
    /// Also the provider-side idempotency key: a retry carries the same id.
    pub message_id: Uuid,
    /// SMS: the phone, E.164; push: the customer's id (the gateway knows their devices).
    pub to: String,
    /// A push notification's title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub text: String,
    pub template: String,
    pub params: serde_json::Value,
}

#[derive(Debug, Clone)]
pub struct WebhookChannel {
    /// `sms` or `push`: names the files and the errors.
    name: &'static str,
    to: Target,
}

#[derive(Debug, Clone)]
enum Target {
    Webhook {
        client: reqwest::Client,
        url: String,
        secret: Vec<u8>,
    },
    Files {
        dir: PathBuf,
    },
}

pub const SIGNATURE_HEADER: &str = "X-Servicelane-Signature";

/// `sha256=<hex HMAC-SHA256 of body>`
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl WebhookChannel {
    pub fn new(
        name: &'static str,
        webhook_url: Option<&str>,
        secret: Option<&str>,
        timeout: Duration,
        data_dir: PathBuf,
    ) -> anyhow::Result<Self> {
        let to = match webhook_url {
            Some(url) => Target::Webhook {
                client: reqwest::Client::builder()
                    .connect_timeout(timeout.min(Duration::from_secs(5)))
                    .timeout(timeout)
                    .build()?,
                url: url.to_string(),
                secret: secret.unwrap_or_default().as_bytes().to_vec(),
            },
            None => Target::Files {
                dir: data_dir.join("outbox"),
            },
        };
        Ok(WebhookChannel { name, to })
    }

    /// Hands the message over. The answer says what may be done next; it
    /// never guesses: a call whose fate is unknown is `Lost`.
    pub async fn send(&self, msg: &WebhookMessage) -> Outcome {
        let name = self.name;
        let body = match serde_json::to_vec(msg) {
            Ok(b) => b,
            Err(e) => {
                return Outcome::Rejected {
                    status: None,
                    error: format!("unserialisable message: {e}"),
                };
            }
        };
        match &self.to {
            Target::Webhook {
                client,
                url,
                secret,
            } => {
                let sent = client
                    .post(url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header(SIGNATURE_HEADER, signature(secret, &body))
                    .header("Idempotency-Key", msg.message_id.to_string())
                    .body(body)
                    .send()
                    .await;
                match sent {
                    Ok(res) => classify(name, &res),
                    Err(e) => transport_failure(&format!("{name} webhook"), &e),
                }
            }
            Target::Files { dir } => {
                tracing::info!(channel = name, to = %msg.to, text = %msg.text, "no webhook configured: written to the outbox folder");
                write_file(dir, &format!("{name}-{}.json", msg.message_id), &body).await
            }
        }
    }
}

/// Writes a message a channel has no provider for into the outbox folder,
/// so a newcomer sees it: sent, or a retry when the folder cannot be written.
pub async fn write_file(dir: &std::path::Path, name: &str, bytes: &[u8]) -> Outcome {
    let path = dir.join(name);
    let written = async {
        tokio::fs::create_dir_all(dir).await?;
        tokio::fs::write(&path, bytes).await
    }
    .await;
    match written {
        Ok(()) => {
            tracing::info!(file = %path.display(), "message written to the outbox folder");
            Outcome::Sent {
                status: None,
                provider_id: None,
            }
        }
        Err(e) => Outcome::Retry {
            status: None,
            error: format!("{}: {e}", path.display()),
            retry_after: None,
        },
    }
}

/// What an HTTP failure to reach a provider means: refused before anything
/// was sent (safe to try again), or cut after (it may have arrived: only a
/// receipt can tell).
pub fn transport_failure(name: &str, e: &reqwest::Error) -> Outcome {
    if e.is_connect() {
        Outcome::Retry {
            status: None,
            error: format!("{name} unreachable: {e}"),
            retry_after: None,
        }
    } else {
        Outcome::Lost {
            error: format!("{name} call interrupted: {e}"),
        }
    }
}

/// What became of one hand-over to a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent {
        status: Option<u16>,
        provider_id: Option<String>,
    },
    /// Connection refused, 5xx, 429: the provider did not take it; try later.
    Retry {
        status: Option<u16>,
        error: String,
        retry_after: Option<Duration>,
    },
    /// Refused for good (other 4xx).
    Rejected { status: Option<u16>, error: String },
    /// Timed out or cut mid-call: it may have arrived.
    Lost { error: String },
}

impl Outcome {
    pub fn status(&self) -> Option<u16> {
        match self {
            Outcome::Sent { status, .. }
            | Outcome::Retry { status, .. }
            | Outcome::Rejected { status, .. } => *status,
            Outcome::Lost { .. } => None,
        }
    }
}

fn classify(name: &str, res: &reqwest::Response) -> Outcome {
    let status = res.status();
    let code = Some(status.as_u16());
    if status.is_success() {
        let provider_id = res
            .headers()
            .get("x-message-id")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(255).collect());
        return Outcome::Sent {
            status: code,
            provider_id,
        };
    }
    let error = format!("{name} webhook answered {status}");
    if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        // only the delta-seconds form; a date form is rare from SMS gateways
        let retry_after = res
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        Outcome::Retry {
            status: code,
            error,
            retry_after,
        }
    } else {
        Outcome::Rejected {
            status: code,
            error,
        }
    }
}
