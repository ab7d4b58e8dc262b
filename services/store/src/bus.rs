//! NATS JetStream naming and plumbing shared by the relay and the projectors.
//!
//! Subjects are `<prefix>.events.<tenant>.<stream_kind>.<event_type>`; every message carries the store's
//! identity and the event's feed position in headers. Several event stores may share one NATS server
//! (every test database does), so the stream records its store id and both ends check it.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, stream};
use events::stream::kind_of;
use uuid::Uuid;

use crate::{FeedPosition, StoreIdentity, StoredEvent};

pub const HEADER_STORE_ID: &str = "Va-Store-Id";
pub const HEADER_EPOCH: &str = "Va-Epoch";
pub const HEADER_TX_ID: &str = "Va-Tx-Id";
pub const HEADER_POSITION: &str = "Va-Position";
pub const HEADER_STREAM_ID: &str = "Va-Stream-Id";
pub const HEADER_STREAM_VERSION: &str = "Va-Stream-Version";
pub const HEADER_TRACEPARENT: &str = "traceparent";

/// Names of the JetStream stream and subjects used by one installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusConfig {
    /// JetStream stream name (`VOICEAPPOINT_NATS_STREAM`, default `VA_EVENTS`).
    pub stream_name: String,
    /// Subject prefix (`VOICEAPPOINT_SUBJECT_PREFIX`, default `va`).
    pub subject_prefix: String,
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            stream_name: "VA_EVENTS".into(),
            subject_prefix: "va".into(),
        }
    }
}

impl BusConfig {
    /// A unique stream and prefix, for tests and benchmarks sharing a NATS server.
    pub fn unique(tag: &str) -> Self {
        let id = Uuid::new_v4().simple().to_string();
        let short = &id[..12];
        Self {
            stream_name: format!("VA_{}_{short}", tag.to_uppercase()),
            subject_prefix: format!("va{tag}{short}"),
        }
    }

    /// The subject an event is published on.
    pub fn subject_for(&self, event: &StoredEvent) -> String {
        let tenant = event
            .tenant_id
            .map_or_else(|| "platform".to_owned(), |t| t.simple().to_string());
        format!(
            "{}.events.{tenant}.{}.{}",
            self.subject_prefix,
            kind_of(&event.stream_id),
            sanitize_token(&event.event_type)
        )
    }

    /// Every event subject of this installation.
    pub fn all_events(&self) -> String {
        format!("{}.events.>", self.subject_prefix)
    }

    /// Subjects of one tenant's events (live feeds).
    pub fn tenant_events(&self, tenant: Uuid) -> String {
        format!("{}.events.{}.>", self.subject_prefix, tenant.simple())
    }
}

/// NATS subject tokens may not contain `.`, `*`, `>` or whitespace.
fn sanitize_token(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c == '.' || c == '*' || c == '>' || c.is_whitespace() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// Errors on the bus side.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("JetStream stream {stream} belongs to event store {found}, not to this store ({ours})")]
    ForeignStream {
        stream: String,
        found: String,
        ours: Uuid,
    },
    #[error("message without valid position headers: {0}")]
    BadHeaders(String),
    #[error("nats: {0}")]
    Nats(String),
}

impl BusError {
    pub fn nats(err: impl std::fmt::Display) -> Self {
        Self::Nats(err.to_string())
    }
}

/// Connects to NATS. The client reconnects on its own; the first connect is retried in the background,
/// so a process started while NATS is down comes up and catches up later.
pub async fn connect(url: &str) -> Result<async_nats::Client, BusError> {
    async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(2))
        .connect(url)
        .await
        .map_err(BusError::nats)
}

/// The JetStream context with a bounded request timeout.
pub fn jetstream(client: async_nats::Client) -> jetstream::Context {
    let mut js = jetstream::new(client);
    js.set_timeout(Duration::from_secs(3));
    js
}

/// Gets or creates this installation's stream, refusing one that belongs to another event store.
pub async fn ensure_stream(
    js: &jetstream::Context,
    cfg: &BusConfig,
    identity: StoreIdentity,
) -> Result<stream::Stream, BusError> {
    let description = format!("voiceappoint store {}", identity.store_id);
    let mut stream = js
        .get_or_create_stream(stream::Config {
            name: cfg.stream_name.clone(),
            subjects: vec![cfg.all_events()],
            description: Some(description.clone()),
            storage: stream::StorageType::File,
            duplicate_window: Duration::from_mins(2),
            ..Default::default()
        })
        .await
        .map_err(BusError::nats)?;
    let info = stream.info().await.map_err(BusError::nats)?;
    let found = info.config.description.clone().unwrap_or_default();
    if found != description {
        return Err(BusError::ForeignStream {
            stream: cfg.stream_name.clone(),
            found,
            ours: identity.store_id,
        });
    }
    Ok(stream)
}

/// The headers a relayed event carries.
pub fn headers_for(event: &StoredEvent, identity: StoreIdentity) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(HEADER_STORE_ID, identity.store_id.to_string().as_str());
    h.insert(HEADER_EPOCH, event.epoch.to_string().as_str());
    h.insert(HEADER_TX_ID, event.tx_id.to_string().as_str());
    h.insert(HEADER_POSITION, event.global_position.to_string().as_str());
    h.insert(HEADER_STREAM_ID, event.stream_id.as_str());
    h.insert(
        HEADER_STREAM_VERSION,
        event.stream_version.to_string().as_str(),
    );
    if let Some(tp) = &event.metadata.traceparent {
        h.insert(HEADER_TRACEPARENT, tp.as_str());
    }
    h
}

/// Reads the store id and feed position from a relayed message's headers.
pub fn position_from_headers(h: &HeaderMap) -> Result<(Uuid, FeedPosition), BusError> {
    let get = |name: &str| {
        h.get(name)
            .map(|v| v.as_str().to_owned())
            .ok_or_else(|| BusError::BadHeaders(format!("missing {name}")))
    };
    let parse = |name: &str| -> Result<i64, BusError> {
        get(name)?
            .parse()
            .map_err(|_| BusError::BadHeaders(format!("bad {name}")))
    };
    let store = get(HEADER_STORE_ID)?
        .parse()
        .map_err(|_| BusError::BadHeaders("bad store id".into()))?;
    Ok((
        store,
        FeedPosition {
            epoch: i32::try_from(parse(HEADER_EPOCH)?)
                .map_err(|_| BusError::BadHeaders("bad epoch".into()))?,
            tx_id: parse(HEADER_TX_ID)?,
            global_position: parse(HEADER_POSITION)?,
        },
    ))
}
