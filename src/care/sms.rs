//! The SMS channel: a signed JSON POST to the operator's webhook, or, with no
//! webhook configured, a file under `<data_dir>/outbox/` so a newcomer sees it.

use std::path::PathBuf;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize)]
pub struct SmsMessage {
    /// Also the provider-side idempotency key: a retry carries the same id.
    pub message_id: Uuid,
    /// E.164
    pub to: String,
    pub text: String,
    pub template: String,
    pub params: serde_json::Value,
}

#[derive(Debug, Clone)]
pub enum SmsChannel {
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

impl SmsChannel {
    pub fn new(
        webhook_url: Option<&str>,
        secret: Option<&str>,
        timeout: Duration,
        data_dir: PathBuf,
    ) -> anyhow::Result<Self> {
        Ok(match webhook_url {
            Some(url) => SmsChannel::Webhook {
                client: reqwest::Client::builder().timeout(timeout).build()?,
                url: url.to_string(),
                secret: secret.unwrap_or_default().as_bytes().to_vec(),
            },
            None => SmsChannel::Files {
                dir: data_dir.join("outbox"),
            },
        })
    }

    pub async fn send(&self, msg: &SmsMessage) -> anyhow::Result<()> {
        let body = serde_json::to_vec(msg)?;
        match self {
            SmsChannel::Webhook {
                client,
                url,
                secret,
            } => {
                let res = client
                    .post(url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header(SIGNATURE_HEADER, signature(secret, &body))
                    .header("Idempotency-Key", msg.message_id.to_string())
                    .body(body)
                    .send()
                    .await?;
                anyhow::ensure!(
                    res.status().is_success(),
                    "sms webhook answered {}",
                    res.status()
                );
            }
            SmsChannel::Files { dir } => {
                tokio::fs::create_dir_all(dir).await?;
                let path = dir.join(format!("sms-{}.json", msg.message_id));
                tokio::fs::write(&path, body).await?;
                tracing::info!(to = %msg.to, text = %msg.text, file = %path.display(), "SMS written to the outbox folder (no webhook configured)");
            }
        }
        Ok(())
    }
}
