//! A provider at run time: its HTTP client, rate limit, concurrency cap and the call itself,
//! with key injection, retries, a body limit, and errors that never carry a secret.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use governor::DefaultDirectRateLimiter;
use governor::clock::{Clock, DefaultClock};
use http::StatusCode;
use tokio::sync::Semaphore;

use crate::config::provider::{ProviderDef, ProviderParts, ProviderStatus};
use crate::error::ApiError;
use crate::metrics;

/// Backoff before the first retry; doubled for each further one.
const RETRY_BACKOFF: Duration = Duration::from_millis(100);
/// How much of a failing upstream's body an error detail quotes.
const ERROR_BODY_PREVIEW: usize = 200;

/// A request ready to send: the URL (which may carry secrets: never log it), headers, body.
pub struct Prepared {
    /// The full URL.
    pub url: url::Url,
    /// Headers, provider's included.
    pub headers: http::HeaderMap,
    /// A JSON body for POST.
    pub body: Option<Vec<u8>>,
}

/// The raw answer of a successful call.
pub struct Fetched {
    /// Its body.
    pub body: Bytes,
    /// Its Content-Type.
    pub content_type: Option<String>,
}

/// A provider ready to be called.
pub struct Provider {
    /// Its name.
    pub name: String,
    /// Its resolved parts, or the variable that is missing.
    pub status: ProviderStatus,
    client: reqwest::Client,
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
    limit_wait: Duration,
    slots: Option<Arc<Semaphore>>,
    timeout: Duration,
    retries: u32,
    max_body: u64,
    secrets: Vec<String>,
}

/// The pieces of a provider that outlive a reload, handed in by the registry.
pub struct Kept {
    /// The pooled client.
    pub client: reqwest::Client,
    /// The rate limiter, when one is configured.
    pub limiter: Option<Arc<DefaultDirectRateLimiter>>,
    /// The concurrency slots, when capped.
    pub slots: Option<Arc<Semaphore>>,
}

impl Provider {
    /// A provider for `def` using the long-lived `kept` parts.
    pub fn new(def: &ProviderDef, kept: Kept) -> Provider {
        let secrets = match &def.status {
            ProviderStatus::Ready(parts) => secrets_of(parts),
            ProviderStatus::Unconfigured { .. } => Vec::new(),
        };
        Provider {
            name: def.name.clone(),
            status: def.status.clone(),
            client: kept.client,
            limiter: kept.limiter,
            limit_wait: def.rate_limit_wait,
            slots: kept.slots,
            timeout: def.timeout,
            retries: def.retries,
            max_body: def.max_body,
            secrets,
        }
    }

    /// Replaces every secret of this provider in `text` (an upstream may echo its key).
    pub fn redact(&self, text: &str) -> String {
        self.secrets
            .iter()
            .fold(text.to_string(), |t, s| t.replace(s.as_str(), "[redacted]"))
    }

    /// Sends `req`, waiting for a concurrency slot and the rate limit, retrying GETs on connect
    /// errors and 502/503/504 when configured.
    pub async fn call(&self, method: reqwest::Method, req: Prepared) -> Result<Fetched, ApiError> {
        let _slot = match &self.slots {
            Some(s) => Some(
                tokio::time::timeout(self.timeout, s.clone().acquire_owned())
                    .await
                    .map_err(|_| {
                        ApiError::unavailable(
                            format!("provider {} is busy: too many calls in flight", self.name),
                            1,
                        )
                    })?
                    .map_err(|_| {
                        ApiError::unavailable(format!("provider {} is shutting down", self.name), 1)
                    })?,
            ),
            None => None,
        };
        self.wait_for_rate_limit().await?;
        let started = Instant::now();
        let result = self.call_with_retries(method, &req, started).await;
        metrics::upstream_call(
            &self.name,
            if result.is_ok() { "ok" } else { "error" },
            started.elapsed(),
        );
        result
    }

    async fn call_with_retries(
        &self,
        method: reqwest::Method,
        req: &Prepared,
        started: Instant,
    ) -> Result<Fetched, ApiError> {
        let retries = if method == reqwest::Method::GET {
            self.retries
        } else {
            0
        };
        let mut attempt = 0;
        loop {
            let outcome = self.send_once(method.clone(), req).await;
            let retryable = match &outcome {
                Err(Failure::Connect(_)) => true,
                Ok(resp) => matches!(
                    resp.status(),
                    StatusCode::BAD_GATEWAY
                        | StatusCode::SERVICE_UNAVAILABLE
                        | StatusCode::GATEWAY_TIMEOUT
                ),
                Err(_) => false,
            };
            let backoff = RETRY_BACKOFF * 2u32.pow(attempt);
            if retryable && attempt < retries && started.elapsed() + backoff < self.timeout {
                attempt += 1;
                tokio::time::sleep(backoff).await;
                continue;
            }
            let resp = outcome.map_err(|f| self.failure(f))?;
            return self.read(resp).await;
        }
    }

    async fn wait_for_rate_limit(&self) -> Result<(), ApiError> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        let deadline = Instant::now() + self.limit_wait;
        loop {
            match limiter.check() {
                Ok(()) => return Ok(()),
                Err(not_until) => {
                    let wait = not_until.wait_time_from(DefaultClock::default().now());
                    if Instant::now() + wait > deadline {
                        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
                        metrics::rate_limited("provider");
                        return Err(ApiError::unavailable(
                            format!(
                                "provider {} rate limit reached; try again in {secs} s",
                                self.name
                            ),
                            secs,
                        ));
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn send_once(
        &self,
        method: reqwest::Method,
        req: &Prepared,
    ) -> Result<reqwest::Response, Failure> {
        let mut builder = self
            .client
            .request(method, req.url.clone())
            .headers(req.headers.clone())
            .timeout(self.timeout);
        if let Some(body) = &req.body {
            builder = builder
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        builder.send().await.map_err(classify)
    }

    async fn read(&self, mut resp: reqwest::Response) -> Result<Fetched, ApiError> {
        let status = resp.status();
        if status.is_redirection() {
            return Err(ApiError::bad_gateway(format!(
                "provider {} answered a redirect to another host ({status}); widgetgate does not follow it",
                self.name
            )));
        }
        let content_type = resp
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if resp.content_length().is_some_and(|n| n > self.max_body) {
            return Err(self.too_large());
        }
        let mut body = BytesMut::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() as u64 + chunk.len() as u64 > self.max_body {
                        return Err(self.too_large());
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(self.failure(classify(e))),
            }
        }
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body[..body.len().min(ERROR_BODY_PREVIEW * 4)]);
            let preview: String = self
                .redact(text.trim())
                .chars()
                .take(ERROR_BODY_PREVIEW)
                .collect();
            return Err(ApiError::bad_gateway(format!(
                "provider {} answered {}: {preview}",
                self.name,
                status.as_u16()
            )));
        }
        Ok(Fetched {
            body: body.freeze(),
            content_type,
        })
    }

    fn too_large(&self) -> ApiError {
        ApiError::bad_gateway(format!(
            "provider {} answered more than {} bytes (max_body)",
            self.name, self.max_body
        ))
    }

    fn failure(&self, f: Failure) -> ApiError {
        match f {
            Failure::Timeout => ApiError::gateway_timeout(format!(
                "provider {} did not answer within {:?}",
                self.name, self.timeout
            )),
            Failure::Connect(cause) => ApiError::bad_gateway(format!(
                "provider {} is unreachable: {}",
                self.name,
                self.redact(&cause)
            )),
            Failure::Other(cause) => ApiError::bad_gateway(format!(
                "provider {} failed: {}",
                self.name,
                self.redact(&cause)
            )),
        }
    }
}

/// Why a send failed, with a cause that carries no URL.
enum Failure {
    Timeout,
    Connect(String),
    Other(String),
}

fn classify(e: reqwest::Error) -> Failure {
    let e = e.without_url();
    if e.is_timeout() {
        return Failure::Timeout;
    }
    let mut cause = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if e.is_connect() {
        Failure::Connect(cause)
    } else {
        Failure::Other(cause)
    }
}

/// Every value injected into requests, raw and percent-encoded, for redaction.
fn secrets_of(parts: &ProviderParts) -> Vec<String> {
    let mut out = Vec::new();
    for (_, v) in parts.headers.iter().chain(parts.query.iter()) {
        if v.len() >= 4 {
            out.push(v.clone());
            let encoded: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
            if encoded != *v {
                out.push(encoded);
            }
        }
    }
    out
}
