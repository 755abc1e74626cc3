//! Tencent Cloud SMS (腾讯云短信): `SendSms` (API 2021-01-11), signed with
//! TC3-HMAC-SHA256 as its signature v3 documents, and its status callbacks.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::care::templated::TemplateSms;
use crate::care::webhook::{Outcome, transport_failure};
use crate::config::TencentSettings;

#[derive(Debug, Clone)]
pub struct Tencent {
    client: reqwest::Client,
    endpoint: String,
    host: String,
    secret_id: String,
    secret_key: SecretString,
    sdk_app_id: String,
    region: String,
}

const CONTENT_TYPE: &str = "application/json; charset=utf-8";

fn hmac256(key: &[u8], msg: &str) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key"));
    mac.update(msg.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// A request to sign: a POST to `/` with no query.
pub struct Signing<'a> {
    pub secret_key: &'a str,
    pub service: &'a str,
    pub timestamp: i64,
    /// Signed headers, lower-case names with their values, in name order.
    pub headers: &'a [(&'a str, &'a str)],
    pub payload: &'a str,
}

/// TC3-HMAC-SHA256: answers (signed header names, hex signature).
pub fn signature(r: &Signing<'_>) -> (String, String) {
    let canonical_headers: String = r
        .headers
        .iter()
        .map(|(k, v)| format!("{k}:{}\n", v.trim().to_lowercase()))
        .collect();
    let signed: Vec<&str> = r.headers.iter().map(|(k, _)| *k).collect();
    let signed = signed.join(";");
    let canonical_request = format!(
        "POST\n/\n\n{canonical_headers}\n{signed}\n{}",
        hex::encode(Sha256::digest(r.payload.as_bytes()))
    );
    let date = DateTime::<Utc>::from_timestamp(r.timestamp, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string();
    let scope = format!("{date}/{}/tc3_request", r.service);
    let to_sign = format!(
        "TC3-HMAC-SHA256\n{}\n{scope}\n{}",
        r.timestamp,
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let k_date = hmac256(format!("TC3{}", r.secret_key).as_bytes(), &date);
    let k_service = hmac256(&k_date, r.service);
    let k_signing = hmac256(&k_service, "tc3_request");
    (signed, hex::encode(hmac256(&k_signing, &to_sign)))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct SendSms<'a> {
    phone_number_set: [&'a str; 1],
    sms_sdk_app_id: &'a str,
    sign_name: &'a str,
    template_id: &'a str,
    template_param_set: Vec<&'a str>,
    session_context: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Envelope {
    response: Body,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Body {
    error: Option<Status>,
    #[serde(default)]
    send_status_set: Vec<Status>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Status {
    code: String,
    message: Option<String>,
    serial_no: Option<String>,
}

/// Answers that mean "later": limits and Tencent's own trouble.
fn retryable(code: &str) -> bool {
    code.starts_with("LimitExceeded")
        || code.starts_with("RequestLimitExceeded")
        || code.starts_with("InternalError")
        || code.starts_with("ResourceUnavailable")
}

impl Tencent {
    pub fn new(s: &TencentSettings, timeout: Duration) -> anyhow::Result<Self> {
        let (Some(id), Some(key), Some(app)) = (&s.secret_id, &s.secret_key, &s.sdk_app_id) else {
            anyhow::bail!(
                "SERVICELANE__TENCENT__SECRET_ID, __SECRET_KEY and __SDK_APP_ID are required for Tencent SMS"
            );
        };
        // the Host header as sent: with the port when it is not the scheme's own
        let url = reqwest::Url::parse(&s.endpoint)?;
        let name = url
            .host_str()
            .ok_or_else(|| anyhow::anyhow!("SERVICELANE__TENCENT__ENDPOINT has no host"))?;
        let host = match url.port() {
            Some(p) => format!("{name}:{p}"),
            None => name.to_string(),
        };
        Ok(Tencent {
            client: reqwest::Client::builder()
                .connect_timeout(timeout.min(Duration::from_secs(5)))
                .timeout(timeout)
                .build()?,
            endpoint: s.endpoint.clone(),
            host,
            secret_id: id.clone(),
            secret_key: key.clone(),
            sdk_app_id: app.clone(),
            region: s.region.clone(),
        })
    }

    pub async fn send(&self, sms: &TemplateSms, now: DateTime<Utc>) -> Outcome {
        let payload = SendSms {
            phone_number_set: [&sms.phone],
            sms_sdk_app_id: &self.sdk_app_id,
            sign_name: &sms.sign_name,
            template_id: &sms.template_code,
            template_param_set: sms.vars.iter().map(|(_, v)| v.as_str()).collect(),
            session_context: sms.message_id.to_string(),
        };
        let payload = match serde_json::to_string(&payload) {
            Ok(p) => p,
            Err(e) => {
                return Outcome::Rejected {
                    status: None,
                    error: format!("unserialisable request: {e}"),
                };
            }
        };
        let timestamp = now.timestamp();
        let (signed, sig) = signature(&Signing {
            secret_key: self.secret_key.expose_secret(),
            service: "sms",
            timestamp,
            headers: &[
                ("content-type", CONTENT_TYPE),
                ("host", &self.host),
                ("x-tc-action", "SendSms"),
            ],
            payload: &payload,
        });
        let date = now.format("%Y-%m-%d");
        let authorization = format!(
            "TC3-HMAC-SHA256 Credential={}/{date}/sms/tc3_request, SignedHeaders={signed}, Signature={sig}",
            self.secret_id
        );
        let res = self
            .client
            .post(&self.endpoint)
            .header(reqwest::header::AUTHORIZATION, authorization)
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
            .header("X-TC-Action", "SendSms")
            .header("X-TC-Version", "2021-01-11")
            .header("X-TC-Timestamp", timestamp.to_string())
            .header("X-TC-Region", &self.region)
            .body(payload)
            .send()
            .await;
        let res = match res {
            Ok(r) => r,
            Err(e) => return transport_failure("Tencent SMS", &e),
        };
        let status = res.status();
        let answer = match res.json::<Envelope>().await {
            Ok(a) => a.response,
            Err(_) if status.is_server_error() => {
                return Outcome::Retry {
                    status: Some(status.as_u16()),
                    error: format!("Tencent SMS answered {status}"),
                    retry_after: None,
                };
            }
            Err(e) => {
                return Outcome::Rejected {
                    status: Some(status.as_u16()),
                    error: format!("Tencent SMS answered {status}, unreadable: {e}"),
                };
            }
        };
        let verdict = answer
            .error
            .or_else(|| answer.send_status_set.into_iter().next());
        match verdict {
            Some(s) if s.code == "Ok" => Outcome::Sent {
                status: Some(status.as_u16()),
                provider_id: s.serial_no,
            },
            Some(s) => {
                let error = format!(
                    "Tencent SMS answered {}: {}",
                    s.code,
                    s.message.unwrap_or_default()
                );
                if retryable(&s.code) {
                    Outcome::Retry {
                        status: Some(status.as_u16()),
                        error,
                        retry_after: None,
                    }
                } else {
                    Outcome::Rejected {
                        status: Some(status.as_u16()),
                        error,
                    }
                }
            }
            None => Outcome::Rejected {
                status: Some(status.as_u16()),
                error: "Tencent SMS answered without a status".into(),
            },
        }
    }
}

/// One status callback, as Tencent posts them (a JSON array of these).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = TencentReport)]
pub struct Report {
    /// Beijing time, `YYYY-MM-DD HH:MM:SS`.
    pub user_receive_time: Option<String>,
    pub mobile: Option<String>,
    /// `SUCCESS` or `FAIL`.
    pub report_status: String,
    pub errmsg: Option<String>,
    pub description: Option<String>,
    /// The `SerialNo` Tencent answered the send with.
    pub sid: String,
}

/// What Tencent expects back: `result` 0 is taken.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TencentReportAnswer)]
pub struct ReportAnswer {
    pub result: i32,
    pub errmsg: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tencent Cloud's published example of signature v3 (a CVM
    /// DescribeInstances call at 1551113065 with the example secret key):
    /// the payload hashes to `35e9c5b0…` and the signature is `72e494ea…`.
    #[test]
    fn the_signature_matches_tencents_published_example() {
        let payload = r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
        assert_eq!(
            hex::encode(Sha256::digest(payload.as_bytes())),
            "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        let (signed, sig) = signature(&Signing {
            secret_key: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
            service: "cvm",
            timestamp: 1551113065,
            headers: &[
                ("content-type", "application/json; charset=utf-8"),
                ("host", "cvm.tencentcloudapi.com"),
            ],
            payload,
        });
        assert_eq!(signed, "content-type;host");
        assert_eq!(
            sig,
            "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
        assert!(retryable("LimitExceeded.PhoneNumberThirtySecondLimit"));
        assert!(!retryable("FailedOperation.TemplateIncorrectOrUnapproved"));
    }
}
