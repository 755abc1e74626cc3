//! Aliyun SMS (阿里云短信服务): `SendSms` over its RPC API, signed with
//! HMAC-SHA1 as its signature method documents, and its delivery reports
//! (SmsReport) taken over HTTP.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::care::templated::{TemplateSms, percent_encode};
use crate::care::webhook::{Outcome, transport_failure};
use crate::config::AliyunSettings;

#[derive(Debug, Clone)]
pub struct Aliyun {
    client: reqwest::Client,
    endpoint: String,
    access_key_id: String,
    access_key_secret: SecretString,
    region: String,
}

/// The signature of an RPC request: `base64(HMAC-SHA1(secret + "&",
/// method + "&%2F&" + enc(sorted, encoded query)))`.
pub fn signature(secret: &str, method: &str, params: &BTreeMap<String, String>) -> String {
    let canonical = params
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let to_sign = format!("{method}&%2F&{}", percent_encode(&canonical));
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(format!("{secret}&").as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key"));
    mac.update(to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Aliyun's phone form: mainland numbers without `+86`, others with their
/// country code and no `+`.
fn phone_number(e164: &str) -> String {
    let digits = e164.trim_start_matches('+');
    digits.strip_prefix("86").unwrap_or(digits).to_string()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    code: Option<String>,
    message: Option<String>,
    biz_id: Option<String>,
}

/// Answers that mean "later": throttling and Aliyun's own trouble.
fn retryable(code: &str) -> bool {
    code == "isv.BUSINESS_LIMIT_CONTROL"
        || code.starts_with("Throttling")
        || matches!(
            code,
            "isp.SYSTEM_ERROR" | "ServiceUnavailable" | "InternalError" | "SignatureNonceUsed"
        )
}

impl Aliyun {
    pub fn new(s: &AliyunSettings, timeout: Duration) -> anyhow::Result<Self> {
        let (Some(id), Some(secret)) = (&s.access_key_id, &s.access_key_secret) else {
            anyhow::bail!(
                "SERVICELANE__ALIYUN__ACCESS_KEY_ID and __ACCESS_KEY_SECRET are required for Aliyun SMS"
            );
        };
        Ok(Aliyun {
            client: reqwest::Client::builder()
                .connect_timeout(timeout.min(Duration::from_secs(5)))
                .timeout(timeout)
                .build()?,
            endpoint: s.endpoint.clone(),
            access_key_id: id.clone(),
            access_key_secret: secret.clone(),
            region: s.region.clone(),
        })
    }

    pub async fn send(&self, sms: &TemplateSms, now: DateTime<Utc>) -> Outcome {
        let vars: serde_json::Map<String, serde_json::Value> = sms
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        let mut params: BTreeMap<String, String> = [
            ("AccessKeyId", self.access_key_id.clone()),
            ("Action", "SendSms".into()),
            ("Format", "JSON".into()),
            ("OutId", sms.message_id.to_string()),
            ("PhoneNumbers", phone_number(&sms.phone)),
            ("RegionId", self.region.clone()),
            ("SignName", sms.sign_name.clone()),
            ("SignatureMethod", "HMAC-SHA1".into()),
            ("SignatureNonce", uuid::Uuid::now_v7().to_string()),
            ("SignatureVersion", "1.0".into()),
            ("TemplateCode", sms.template_code.clone()),
            ("TemplateParam", serde_json::Value::Object(vars).to_string()),
            ("Timestamp", now.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            ("Version", "2017-05-25".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let sig = signature(self.access_key_secret.expose_secret(), "POST", &params);
        params.insert("Signature".into(), sig);
        let body = params
            .iter()
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let res = self
            .client
            .post(&self.endpoint)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await;
        let res = match res {
            Ok(r) => r,
            Err(e) => return transport_failure("Aliyun SMS", &e),
        };
        let status = res.status();
        let answer: Option<Answer> = res.json().await.ok();
        let code = answer.as_ref().and_then(|a| a.code.clone());
        match (code.as_deref(), answer) {
            (Some("OK"), Some(a)) => Outcome::Sent {
                status: Some(status.as_u16()),
                provider_id: a.biz_id,
            },
            (Some(code), a) => {
                let message = a.and_then(|a| a.message).unwrap_or_default();
                let mut error = format!("Aliyun SMS answered {code}: {message}");
                if retryable(code) {
                    return Outcome::Retry {
                        status: Some(status.as_u16()),
                        error,
                        retry_after: None,
                    };
                }
                if code.contains("TEMPLATE") || code.contains("SIGN") {
                    error.push_str(
                        " (check the template code and signature at PUT /api/v1/care/provider-templates/sms/{kind})",
                    );
                }
                Outcome::Rejected {
                    status: Some(status.as_u16()),
                    error,
                }
            }
            // no readable answer: Aliyun's trouble, or a refusal without a code
            (None, _) if status.is_server_error() => Outcome::Retry {
                status: Some(status.as_u16()),
                error: format!("Aliyun SMS answered {status}"),
                retry_after: None,
            },
            (None, _) => Outcome::Rejected {
                status: Some(status.as_u16()),
                error: format!("Aliyun SMS answered {status} without a code"),
            },
        }
    }
}

/// One delivery report, as Aliyun pushes them (a JSON array of these).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = AliyunReport)]
pub struct Report {
    pub phone_number: Option<String>,
    /// Beijing time, `YYYY-MM-DD HH:MM:SS`.
    pub report_time: Option<String>,
    pub success: bool,
    pub err_code: Option<String>,
    pub err_msg: Option<String>,
    pub biz_id: Option<String>,
    /// Our message id.
    pub out_id: Option<String>,
}

/// What Aliyun expects back: `code` 0 is taken.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AliyunReportAnswer)]
pub struct ReportAnswer {
    pub code: i32,
    pub msg: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Aliyun's published example of its signature method (the SMS API's
    /// "HTTP protocol and signature" page): these parameters, signed with
    /// the AccessKey secret `testSecret`, give `zJDF+Lrzhj/ThnlvIToysFRq6t4=`.
    #[test]
    fn the_signature_matches_aliyuns_published_example() {
        let params: BTreeMap<String, String> = [
            ("AccessKeyId", "testId"),
            ("Action", "SendSms"),
            ("Format", "XML"),
            ("OutId", "123"),
            ("PhoneNumbers", "15300000001"),
            ("RegionId", "cn-hangzhou"),
            ("SignName", "阿里云短信测试专用"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "45e25e9b-0a6f-4070-8c85-2956eda1b466"),
            ("SignatureVersion", "1.0"),
            ("TemplateCode", "SMS_71390007"),
            ("TemplateParam", "{\"customer\":\"test\"}"),
            ("Timestamp", "2017-07-12T02:42:19Z"),
            ("Version", "2017-05-25"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            signature("testSecret", "GET", &params),
            "zJDF+Lrzhj/ThnlvIToysFRq6t4="
        );
    }

    #[test]
    fn phones_and_report_times_read_as_the_operators_write_them() {
        assert_eq!(phone_number("+8613912345678"), "13912345678");
        assert_eq!(phone_number("+85291234567"), "85291234567");
        assert_eq!(
            crate::care::templated::beijing_time("2027-03-01 11:00:00"),
            Some("2027-03-01T03:00:00Z".parse().unwrap())
        );
        assert_eq!(crate::care::templated::beijing_time("yesterday"), None);
        assert!(retryable("isv.BUSINESS_LIMIT_CONTROL"));
        assert!(!retryable("isv.SMS_TEMPLATE_ILLEGAL"));
    }
}
