//! Webhook authentication: static secret, bearer token and HMAC signatures over the raw body.
//!
//! Vapi is configured per server URL with one of several credential styles (VAPI.md
//! "Authentication"). We accept any of them that is configured, and refuse to run open unless the
//! caller explicitly asked for [`AuthConfig::insecure_allow_all`].

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Header carrying the legacy static secret.
pub const SECRET_HEADER: &str = "x-vapi-secret";
/// Header some deployments use for the same static secret.
pub const SECRET_ALT_HEADER: &str = "x-vapi-signature";
/// Bearer credential header.
pub const AUTHORIZATION_HEADER: &str = "authorization";
/// HMAC signature header (hex, optionally prefixed with `sha256=`).
pub const SIGNATURE_HEADER: &str = "x-signature";
/// HMAC timestamp header (seconds or milliseconds since the epoch).
pub const TIMESTAMP_HEADER: &str = "x-timestamp";

/// Default tolerated distance between `x-timestamp` and our clock.
pub const DEFAULT_MAX_SKEW: Duration = Duration::from_mins(5);

/// Timestamps at or above this value are milliseconds; below it, seconds. 10^11 s lies in the
/// year 5138, while 10^11 ms is March 1973 — no real request is ambiguous.
const MS_THRESHOLD: i64 = 100_000_000_000;

/// Read access to request headers. Implementations must match names case-insensitively;
/// [`verify`] always asks with lowercase names.
pub trait HeaderLookup {
    /// The value of the first header called `name`, if present and valid UTF-8.
    fn header(&self, name: &str) -> Option<&str>;
}

impl HeaderLookup for [(&str, &str)] {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| *value)
    }
}

impl<const N: usize> HeaderLookup for [(&str, &str); N] {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

impl HeaderLookup for Vec<(String, String)> {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Adapts a closure to [`HeaderLookup`], e.g. over axum's `HeaderMap`:
/// `auth::from_fn(|name| headers.get(name).and_then(|v| v.to_str().ok()))`.
pub struct FromFn<'h, F: Fn(&str) -> Option<&'h str>> {
    lookup: F,
    _headers: std::marker::PhantomData<&'h str>,
}

/// Wraps a header-lookup closure; see [`FromFn`].
pub fn from_fn<'h, F: Fn(&str) -> Option<&'h str>>(lookup: F) -> FromFn<'h, F> {
    FromFn {
        lookup,
        _headers: std::marker::PhantomData,
    }
}

impl<'h, F: Fn(&str) -> Option<&'h str>> HeaderLookup for FromFn<'h, F> {
    fn header(&self, name: &str) -> Option<&str> {
        (self.lookup)(name)
    }
}

/// Which credentials the webhook accepts. Build it with [`AuthConfig::new`] (at least one secret)
/// or [`AuthConfig::insecure_allow_all`]; there is no way to get an open door by accident.
#[derive(Clone)]
pub struct AuthConfig {
    webhook_secret: Option<String>,
    hmac_secret: Option<String>,
    max_skew: Duration,
    allow_all: bool,
}

impl std::fmt::Debug for AuthConfig {
    // Secrets never reach logs, not even through a debug print of the config.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "hmac_secret",
                &self.hmac_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("max_skew", &self.max_skew)
            .field("allow_all", &self.allow_all)
            .finish()
    }
}

/// The configuration names no secret and did not opt into running open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no Vapi webhook secret configured (set VAPI_WEBHOOK_SECRET and/or VAPI_HMAC_SECRET)")]
pub struct NoSecretConfigured;

impl AuthConfig {
    /// Accepts the static secret and/or HMAC signatures. Empty strings count as unset, so an
    /// empty environment variable can never match an empty header.
    pub fn new(
        webhook_secret: Option<String>,
        hmac_secret: Option<String>,
    ) -> Result<Self, NoSecretConfigured> {
        let webhook_secret = webhook_secret.filter(|s| !s.is_empty());
        let hmac_secret = hmac_secret.filter(|s| !s.is_empty());
        if webhook_secret.is_none() && hmac_secret.is_none() {
            return Err(NoSecretConfigured);
        }
        Ok(Self {
            webhook_secret,
            hmac_secret,
            max_skew: DEFAULT_MAX_SKEW,
            allow_all: false,
        })
    }

    /// Accepts every request unauthenticated. Only for local development and tests.
    pub fn insecure_allow_all() -> Self {
        Self {
            webhook_secret: None,
            hmac_secret: None,
            max_skew: DEFAULT_MAX_SKEW,
            allow_all: true,
        }
    }

    /// Replaces the tolerated clock skew for HMAC timestamps (default five minutes).
    #[must_use]
    pub fn with_max_skew(mut self, max_skew: Duration) -> Self {
        self.max_skew = max_skew;
        self
    }

    /// The tolerated clock skew for HMAC timestamps.
    pub fn max_skew(&self) -> Duration {
        self.max_skew
    }

    /// Whether this configuration lets everything through.
    pub fn is_insecure(&self) -> bool {
        self.allow_all
    }
}

/// Why a request was refused. Every variant maps to HTTP 401 upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No credential of a configured kind was presented.
    #[error("missing webhook credentials")]
    Missing,
    /// A static secret or bearer token was presented and did not match.
    #[error("webhook secret does not match")]
    BadSecret,
    /// An HMAC signature was presented and did not verify (or was unreadable).
    #[error("webhook signature does not verify")]
    BadSignature,
    /// The signature verified but its timestamp lies outside the tolerated skew.
    #[error("webhook timestamp outside the tolerated window")]
    StaleTimestamp,
}

/// Checks the request's credentials against `cfg`, over the exact raw body bytes.
///
/// When both secrets are configured, either valid method is enough. When several credentials
/// are presented and all fail, the error of the HMAC check wins (it is the more specific one).
pub fn verify<H: HeaderLookup + ?Sized>(
    headers: &H,
    raw_body: &[u8],
    cfg: &AuthConfig,
    now_unix_ms: i64,
) -> Result<(), AuthError> {
    if cfg.allow_all {
        return Ok(());
    }
    let mut failure = AuthError::Missing;
    if let Some(secret) = cfg.webhook_secret.as_deref() {
        match verify_static(headers, secret) {
            Ok(()) => return Ok(()),
            Err(err) => failure = err,
        }
    }
    if let Some(secret) = cfg.hmac_secret.as_deref() {
        match verify_hmac(headers, raw_body, secret, cfg.max_skew, now_unix_ms) {
            Ok(()) => return Ok(()),
            Err(AuthError::Missing) => {}
            Err(err) => failure = err,
        }
    }
    Err(failure)
}

fn verify_static<H: HeaderLookup + ?Sized>(headers: &H, secret: &str) -> Result<(), AuthError> {
    let bearer = headers.header(AUTHORIZATION_HEADER).and_then(strip_bearer);
    let presented = [
        headers.header(SECRET_HEADER),
        headers.header(SECRET_ALT_HEADER),
        bearer,
    ];
    let mut failure = AuthError::Missing;
    for candidate in presented.into_iter().flatten() {
        if secrets_match(candidate.trim(), secret) {
            return Ok(());
        }
        failure = AuthError::BadSecret;
    }
    Err(failure)
}

fn strip_bearer(value: &str) -> Option<&str> {
    let value = value.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token)
}

/// Constant-time comparison of a presented secret with the configured one. Both sides are hashed
/// first so that neither the content nor the length of the secret leaks through timing.
pub fn secrets_match(presented: &str, expected: &str) -> bool {
    if expected.is_empty() {
        return false;
    }
    let presented = Sha256::digest(presented.as_bytes());
    let expected = Sha256::digest(expected.as_bytes());
    presented.as_slice().ct_eq(expected.as_slice()).into()
}

fn verify_hmac<H: HeaderLookup + ?Sized>(
    headers: &H,
    raw_body: &[u8],
    secret: &str,
    max_skew: Duration,
    now_unix_ms: i64,
) -> Result<(), AuthError> {
    let Some(signature) = headers.header(SIGNATURE_HEADER) else {
        return Err(AuthError::Missing);
    };
    let Some(timestamp) = headers.header(TIMESTAMP_HEADER).map(str::trim) else {
        return Err(AuthError::Missing);
    };
    let signature = signature.trim();
    let signature = signature
        .strip_prefix("sha256=")
        .or_else(|| signature.strip_prefix("SHA256="))
        .unwrap_or(signature);
    let signature = hex::decode(signature).map_err(|_| AuthError::BadSignature)?;
    let mut mac = keyed(secret);
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(raw_body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&signature)
        .map_err(|_| AuthError::BadSignature)?;
    let sent_ms = timestamp_ms(timestamp).ok_or(AuthError::BadSignature)?;
    let skew_ms = i64::try_from(max_skew.as_millis()).unwrap_or(i64::MAX);
    if sent_ms.abs_diff(now_unix_ms) > skew_ms.unsigned_abs() {
        return Err(AuthError::StaleTimestamp);
    }
    Ok(())
}

/// Reads an `x-timestamp` value as epoch milliseconds, deciding the unit by magnitude.
pub fn timestamp_ms(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    let value: i64 = if let Ok(v) = raw.parse::<i64>() {
        v
    } else {
        let v: f64 = raw.parse().ok().filter(|v: &f64| v.is_finite())?;
        if v.abs() >= 9.0e15 {
            return None;
        }
        #[expect(clippy::cast_possible_truncation, reason = "range checked just above")]
        let truncated = v.trunc() as i64;
        truncated
    };
    if value.unsigned_abs() >= MS_THRESHOLD.unsigned_abs() {
        Some(value)
    } else {
        value.checked_mul(1000)
    }
}

fn keyed(secret: &str) -> HmacSha256 {
    #[expect(clippy::expect_used, reason = "HMAC accepts keys of any length")]
    HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length")
}

/// The hex HMAC-SHA256 signature Vapi would send for `body` at `timestamp` (the exact text of
/// the `x-timestamp` header). For tests, benchmarks and local tooling.
pub fn sign(secret: &str, timestamp: impl std::fmt::Display, body: &[u8]) -> String {
    let mut mac = keyed(secret);
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}
