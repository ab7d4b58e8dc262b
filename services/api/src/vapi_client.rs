//! A small client for Vapi's REST API, for provisioning: when a business claims a number, point that
//! number's server URL (and optionally the shared assistant) at us. Real HTTP with timeouts and bounded
//! retries on transient failures (timeouts, connection errors, 429, 5xx); other 4xx are final.

use std::time::Duration;

use serde_json::{Value, json};

/// Where Vapi's API is and how to authenticate (`VAPI_API_URL`, default `https://api.vapi.ai`;
/// `VAPI_API_KEY`).
#[derive(Clone)]
pub struct VapiClient {
    http: reqwest::Client,
    base_url: String,
    api_key: String,
    attempts: u32,
    backoff: Duration,
}

impl std::fmt::Debug for VapiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is a secret: never printed.
        f.debug_struct("VapiClient")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// Why a provisioning call failed.
#[derive(Debug, thiserror::Error)]
pub enum VapiClientError {
    #[error("Vapi answered {status}: {body}")]
    Rejected { status: u16, body: String },
    #[error("Vapi unreachable after {attempts} attempts: {last}")]
    Unreachable { attempts: u32, last: String },
}

impl VapiClient {
    /// A client with a 5 s timeout per request and 3 attempts.
    pub fn new(base_url: &str, api_key: &str) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .connect_timeout(Duration::from_secs(2))
                .build()?,
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key: api_key.to_owned(),
            attempts: 3,
            backoff: Duration::from_millis(200),
        })
    }

    /// From `VAPI_API_KEY` (and `VAPI_API_URL`); `None` when no key is configured (provisioning off).
    pub fn from_env() -> Option<Self> {
        let key = std::env::var("VAPI_API_KEY")
            .ok()
            .filter(|k| !k.is_empty())?;
        let url =
            std::env::var("VAPI_API_URL").unwrap_or_else(|_| "https://api.vapi.ai".to_owned());
        Self::new(&url, &key).ok()
    }

    /// Shorter waits, for tests against a local fake server.
    #[must_use]
    pub fn with_backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    /// Points a Vapi phone number at our webhook (and at the shared assistant when given):
    /// `PATCH /phone-number/{id}`.
    pub async fn assign_number(
        &self,
        phone_number_id: &str,
        server_url: &str,
        assistant_id: Option<&str>,
    ) -> Result<Value, VapiClientError> {
        let mut body = json!({"server": {"url": server_url}});
        if let Some(id) = assistant_id {
            body["assistantId"] = json!(id);
        }
        self.send(
            reqwest::Method::PATCH,
            &format!("/phone-number/{phone_number_id}"),
            &body,
        )
        .await
    }

    /// Detaches a released number from us: `PATCH /phone-number/{id}` with no server and no assistant.
    pub async fn release_number(&self, phone_number_id: &str) -> Result<Value, VapiClientError> {
        let body = json!({"server": null, "assistantId": null});
        self.send(
            reqwest::Method::PATCH,
            &format!("/phone-number/{phone_number_id}"),
            &body,
        )
        .await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> Result<Value, VapiClientError> {
        let url = format!("{}{path}", self.base_url);
        let mut last = String::new();
        for attempt in 1..=self.attempts {
            let result = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(&self.api_key)
                .json(body)
                .send()
                .await;
            match result {
                Ok(resp) if resp.status().is_success() => {
                    return Ok(resp.json().await.unwrap_or(Value::Null));
                }
                Ok(resp) => {
                    let status = resp.status();
                    let text = resp.text().await.unwrap_or_default();
                    if !(status.is_server_error() || status.as_u16() == 429) {
                        return Err(VapiClientError::Rejected {
                            status: status.as_u16(),
                            body: text,
                        });
                    }
                    last = format!("{status}: {text}");
                }
                Err(err) => last = err.to_string(),
            }
            tracing::warn!(attempt, path, error = %last, "Vapi request failed; retrying");
            if attempt < self.attempts {
                tokio::time::sleep(self.backoff * attempt).await;
            }
        }
        Err(VapiClientError::Unreachable {
            attempts: self.attempts,
            last,
        })
    }
}
