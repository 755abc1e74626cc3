//! Logs (tracing) and metrics (Prometheus text). One middleware gives every
//! request an id, logs one line when it ends, and counts it.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, web};
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use tracing::Instrument;

/// Installs the global log subscriber once (main only; tests may call it too).
pub fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}

/// Per-application registry: no global, so tests can run many apps in one process.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    /// Logins (and other hashing requests) answered 503 for want of a hashing slot.
    pub password_hash_busy: IntCounter,
    /// Outbox messages by kind, channel and state (refreshed by the dispatcher).
    pub outbox_messages: IntGaugeVec,
    /// Outbox messages waiting to leave (queued, due or not, and submitting).
    pub outbox_depth: IntGauge,
    /// Outcomes of the dispatcher's hand-overs, by kind, channel and outcome.
    pub outbox_attempts: IntCounterVec,
    /// From a message's due time to the provider taking it.
    pub outbox_lag: Histogram,
    /// Outbox rows the care planner wrote, by kind.
    pub care_planned: IntCounterVec,
    /// The latest tick the care planner ran per dealer (Unix seconds).
    pub care_last_tick: IntGaugeVec,
    /// How long one planning run of one dealer took.
    pub care_planning_seconds: Histogram,
}

impl Metrics {
    pub fn new() -> anyhow::Result<Self> {
        let registry = Registry::new_custom(Some("servicelane".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by route and status"),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["method", "route"],
        )?;
        let password_hash_busy = IntCounter::new(
            "password_hash_busy_total",
            "requests answered 503 because no password-hashing slot came free in time",
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(password_hash_busy.clone()))?;
        let outbox_messages = IntGaugeVec::new(
            Opts::new(
                "outbox_messages",
                "outbox messages by kind, channel and state",
            ),
            &["kind", "channel", "state"],
        )?;
        let outbox_depth = IntGauge::new(
            "outbox_depth",
            "outbox messages not yet handed to a provider",
        )?;
        let outbox_attempts = IntCounterVec::new(
            Opts::new(
                "outbox_attempts_total",
                "hand-overs to providers by kind, channel and outcome",
            ),
            &["kind", "channel", "outcome"],
        )?;
        let outbox_lag = Histogram::with_opts(
            HistogramOpts::new(
                "outbox_due_to_sent_seconds",
                "time from a message's due time to its provider taking it",
            )
            .buckets(vec![
                0.1, 0.5, 1.0, 2.0, 5.0, 15.0, 60.0, 300.0, 1800.0, 7200.0,
            ]),
        )?;
        registry.register(Box::new(outbox_messages.clone()))?;
        registry.register(Box::new(outbox_depth.clone()))?;
        registry.register(Box::new(outbox_attempts.clone()))?;
        registry.register(Box::new(outbox_lag.clone()))?;
        let care_planned = IntCounterVec::new(
            Opts::new(
                "care_planned_total",
                "outbox rows the care planner wrote, by kind",
            ),
            &["kind"],
        )?;
        let care_last_tick = IntGaugeVec::new(
            Opts::new(
                "care_last_tick_seconds",
                "the latest tick the care planner ran, per dealer (Unix time)",
            ),
            &["dealer"],
        )?;
        let care_planning_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "care_planning_seconds",
                "time one planning run of one dealer took",
            )
            .buckets(vec![0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0]),
        )?;
        registry.register(Box::new(care_planned.clone()))?;
        registry.register(Box::new(care_last_tick.clone()))?;
        registry.register(Box::new(care_planning_seconds.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            password_hash_busy,
            outbox_messages,
            outbox_depth,
            outbox_attempts,
            outbox_lag,
            care_planned,
            care_last_tick,
            care_planning_seconds,
        })
    }

    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let code = status.to_string();
        self.requests
            .with_label_values(&[method, route, code.as_str()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }
}

/// The method as a metrics label. Anyone can send any token as a method, and
/// each new label value is a new series kept for the life of the process, so
/// only the standard methods keep their name.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The route as a metrics label: the matched pattern (`/api/v1/customers/{id}`),
/// never the raw path, and one label for every path that matched nothing.
const UNMATCHED: &str = "unmatched";

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Routes whose last segment is a secret: the operators' report token (it
/// lets whoever holds it settle messages) and an unsubscribe link's token.
const SECRET_PATHS: &[&str] = &[
    "/api/v1/care/reports/aliyun/",
    "/api/v1/care/reports/tencent/",
    "/u/",
];

/// The path as logged: a secret carried in the URL is left out, since logs
/// are read by more people than the secret is meant for.
fn loggable_path(path: &str) -> String {
    for prefix in SECRET_PATHS {
        if path.starts_with(prefix) {
            return format!("{prefix}{{token}}");
        }
    }
    path.to_string()
}

/// Request id (taken from `X-Request-Id` when the caller sent a sane one),
/// a span around the request, one log line at the end, metrics, and the id
/// echoed in the answer.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let method = req.method().clone();
    let path = loggable_path(req.path());
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let span = tracing::info_span!("request", %method, %path, request_id = %request_id);
    let mut res = next.call(req).instrument(span.clone()).await?;
    let status = res.status().as_u16();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| UNMATCHED.into());
    let elapsed = started.elapsed();
    if let Some(metrics) = metrics {
        metrics.observe(method_label(&method), &route, status, elapsed.as_secs_f64());
    }
    span.in_scope(|| {
        tracing::info!(status, route = %route, ms = elapsed.as_secs_f64() * 1000.0, "done");
    });
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_the_path_are_not_logged() {
        for (path, logged) in [
            (
                "/api/v1/care/reports/aliyun/s3cret-token",
                "/api/v1/care/reports/aliyun/{token}",
            ),
            (
                "/api/v1/care/reports/tencent/s3cret/../x",
                "/api/v1/care/reports/tencent/{token}",
            ),
            ("/u/AAAA.0123abcd", "/u/{token}"),
            ("/api/v1/customers/42", "/api/v1/customers/42"),
            ("/uploads", "/uploads"),
        ] {
            assert_eq!(loggable_path(path), logged);
        }
    }

    #[test]
    fn invented_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::OPTIONS), "OPTIONS");
        assert_eq!(method_label(&Method::from_bytes(b"FOO").unwrap()), "other");
        assert_eq!(method_label(&Method::TRACE), "other");
    }
}
