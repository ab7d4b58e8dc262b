//! Per-tenant rate limiting: a token bucket per business, refilled continuously. A tenant over its
//! budget gets 429 without affecting any other tenant.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use uuid::Uuid;

/// Requests per second and burst size per tenant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            per_second: 20.0,
            burst: 100.0,
        }
    }
}

impl RateLimit {
    /// The voice agent's tool calls per business: a busy line runs many calls at once, each asking a few
    /// tools within seconds, so the budget is wider than the dashboard's.
    pub const TOOLS: Self = Self {
        per_second: 50.0,
        burst: 200.0,
    };

    /// A budget nothing reaches: benchmarks and load runs measure the platform, not the limiter.
    pub const UNLIMITED: Self = Self {
        per_second: 1e9,
        burst: 1e9,
    };

    /// The REST API's budget: `VOICEAPPOINT_TENANT_RPS` and `VOICEAPPOINT_TENANT_BURST`, defaults 20 and 100.
    pub fn from_env() -> Self {
        Self::from_env_or("VOICEAPPOINT_TENANT", Self::default())
    }

    /// Tool calls' budget: `VOICEAPPOINT_TOOL_RPS` and `VOICEAPPOINT_TOOL_BURST`, defaults [`RateLimit::TOOLS`].
    pub fn tools_from_env() -> Self {
        Self::from_env_or("VOICEAPPOINT_TOOL", Self::TOOLS)
    }

    /// `{prefix}_RPS` and `{prefix}_BURST`; a missing, unreadable or non-positive value keeps `default`'s.
    fn from_env_or(prefix: &str, default: Self) -> Self {
        let read = |name: &str, default: f64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| *v > 0.0)
                .unwrap_or(default)
        };
        Self {
            per_second: read(&format!("{prefix}_RPS"), default.per_second),
            burst: read(&format!("{prefix}_BURST"), default.burst),
        }
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
}

/// Token buckets keyed by tenant.
#[derive(Debug)]
pub struct TenantRateLimiter {
    limit: Mutex<RateLimit>,
    buckets: Mutex<HashMap<Uuid, Bucket>>,
}

impl TenantRateLimiter {
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit: Mutex::new(limit),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Changes the limit for every tenant.
    pub fn set_limit(&self, limit: RateLimit) {
        if let Ok(mut current) = self.limit.lock() {
            *current = limit;
        }
        if let Ok(mut buckets) = self.buckets.lock() {
            buckets.clear();
        }
    }

    /// Takes one token for `tenant`; false when the tenant is over its budget.
    pub fn try_acquire(&self, tenant: Uuid) -> bool {
        let now = Instant::now();
        let Ok(limit) = self.limit.lock().map(|l| *l) else {
            return true;
        };
        let Ok(mut buckets) = self.buckets.lock() else {
            return true;
        };
        let bucket = buckets.entry(tenant).or_insert(Bucket {
            tokens: limit.burst,
            refilled: now,
        });
        let elapsed = now.duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * limit.per_second).min(limit.burst);
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_past_its_burst_is_refused_while_another_tenant_is_not() {
        let limiter = TenantRateLimiter::new(RateLimit {
            per_second: 0.001,
            burst: 3.0,
        });
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert!((0..3).all(|_| limiter.try_acquire(a)));
        assert!(!limiter.try_acquire(a));
        assert!(limiter.try_acquire(b));
    }
}
