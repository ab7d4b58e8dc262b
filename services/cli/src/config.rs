//! Configuration, from the environment only. Every variable is documented here and in README.md.

use store::bus::BusConfig;

/// The default database of `voiceappoint dev` (created when missing).
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/voiceappoint";
pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";
pub const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:8080";

/// Process configuration.
#[derive(Clone)]
pub struct Config {
    /// `DATABASE_URL`: the Postgres event store and read models.
    pub database_url: String,
    /// `NATS_URL`: NATS with JetStream.
    pub nats_url: String,
    /// `VOICEAPPOINT_HTTP_ADDR`: where the API listens (port 0 picks a free one).
    pub http_addr: String,
    /// `VOICEAPPOINT_NATS_STREAM` / `VOICEAPPOINT_SUBJECT_PREFIX`: JetStream stream and subject prefix.
    pub bus: BusConfig,
    /// `VOICEAPPOINT_DEV_DIR`: where `dev` keeps throwaway Postgres/NATS data (default `./.voiceappoint`).
    pub dev_dir: std::path::PathBuf,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: OTLP/HTTP collector for traces, when set.
    pub otlp_endpoint: Option<String>,
    /// `VOICEAPPOINT_LOG_FORMAT`: `json` for structured logs, otherwise human-readable.
    pub log_json: bool,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secrets (DATABASE_URL may hold a password).
        f.debug_struct("Config")
            .field("http_addr", &self.http_addr)
            .field("bus", &self.bus)
            .finish_non_exhaustive()
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Config {
    pub fn from_env() -> Self {
        let defaults = BusConfig::default();
        Self {
            database_url: var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            nats_url: var("NATS_URL").unwrap_or_else(|| DEFAULT_NATS_URL.to_owned()),
            http_addr: var("VOICEAPPOINT_HTTP_ADDR")
                .unwrap_or_else(|| DEFAULT_HTTP_ADDR.to_owned()),
            bus: BusConfig {
                stream_name: var("VOICEAPPOINT_NATS_STREAM").unwrap_or(defaults.stream_name),
                subject_prefix: var("VOICEAPPOINT_SUBJECT_PREFIX")
                    .unwrap_or(defaults.subject_prefix),
            },
            dev_dir: var("VOICEAPPOINT_DEV_DIR")
                .map_or_else(|| std::path::PathBuf::from(".voiceappoint"), Into::into),
            otlp_endpoint: var("OTEL_EXPORTER_OTLP_ENDPOINT"),
            log_json: var("VOICEAPPOINT_LOG_FORMAT").is_some_and(|f| f == "json"),
        }
    }
}
