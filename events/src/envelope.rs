//! The envelope around every event: identity, stream position, tenant, metadata and the hash chain.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Who caused an event: a user, the Vapi agent, the system itself, or a platform operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    User { user_id: Uuid },
    Vapi { call_id: String },
    System { component: String },
}

/// Metadata carried by every event. Correlation ties together everything one request or call caused;
/// causation names the event or command that directly caused this one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Actor>,
    /// The command id, HTTP `Idempotency-Key` or Vapi tool-call id that produced the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_id: Option<String>,
    /// W3C trace context of the request that appended the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

/// A typed event payload: knows its stable type name and current schema version.
pub trait EventData: Serialize {
    /// The stable `event_type` string stored with the event.
    fn event_type(&self) -> &'static str;
    /// The current schema version of this event's payload.
    fn schema_version(&self) -> i32 {
        1
    }
}

/// An event about to be appended. `event_id` makes appends idempotent.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: i32,
    pub tenant_id: Option<Uuid>,
    pub data: serde_json::Value,
    pub metadata: Metadata,
}

impl NewEvent {
    /// Builds a new event from a typed payload. Ids are made by the caller (UUID v7 in adapters).
    pub fn from_data<E: EventData>(
        event_id: Uuid,
        tenant_id: Option<Uuid>,
        data: &E,
        metadata: Metadata,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self {
            event_id,
            event_type: data.event_type().to_owned(),
            schema_version: data.schema_version(),
            tenant_id,
            data: serde_json::to_value(data)?,
            metadata,
        })
    }

    /// A raw event, for tests and tools that do not have a typed payload.
    pub fn raw(event_type: &str, data: serde_json::Value) -> Self {
        Self {
            event_id: Uuid::now_v7(),
            event_type: event_type.to_owned(),
            schema_version: 1,
            tenant_id: None,
            data,
            metadata: Metadata::default(),
        }
    }

    #[must_use]
    pub fn with_tenant(mut self, tenant_id: Uuid) -> Self {
        self.tenant_id = Some(tenant_id);
        self
    }

    #[must_use]
    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = metadata;
        self
    }
}

/// An event as stored: its place in its stream, in the global feed, and in the stream's hash chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    pub global_position: i64,
    pub epoch: i32,
    /// The writing transaction's 64-bit id (`xid8`): the feed is ordered by `(epoch, tx_id, position)`.
    pub tx_id: i64,
    pub event_id: Uuid,
    pub stream_id: String,
    pub stream_version: i64,
    pub event_type: String,
    pub schema_version: i32,
    pub tenant_id: Option<Uuid>,
    pub data: serde_json::Value,
    pub metadata: Metadata,
    pub recorded_at: DateTime<Utc>,
    #[serde(with = "hex_bytes")]
    pub prev_hash: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub hash: Vec<u8>,
}

impl StoredEvent {
    /// The feed position of this event: the cursor readers and projectors store.
    pub fn position(&self) -> FeedPosition {
        FeedPosition {
            epoch: self.epoch,
            tx_id: self.tx_id,
            global_position: self.global_position,
        }
    }

    /// Decodes the payload into a typed event, after upcasting has been applied by the reader.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_value(self.data.clone())
    }
}

/// A position in the gap-safe global feed. Ordered lexicographically, like the feed itself.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct FeedPosition {
    pub epoch: i32,
    pub tx_id: i64,
    pub global_position: i64,
}

impl FeedPosition {
    /// Before the first event of the store.
    pub const START: Self = Self {
        epoch: 0,
        tx_id: 0,
        global_position: 0,
    };
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        use std::fmt::Write as _;
        let mut out = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            let _ = write!(out, "{b:02x}");
        }
        s.serialize_str(&out)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        (0..s.len())
            .step_by(2)
            .map(|i| {
                s.get(i..i + 2)
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                    .ok_or_else(|| serde::de::Error::custom("invalid hex"))
            })
            .collect()
    }
}

impl NewEvent {
    /// Builds an event from a variant of a stream's `#[serde(tag = "type", content = "data")]` enum.
    pub fn tagged<E: Serialize>(
        tenant_id: Option<Uuid>,
        event: &E,
        metadata: Metadata,
    ) -> Result<Self, serde_json::Error> {
        let (event_type, data) = crate::aggregate::encode_tagged(event)?;
        Ok(Self {
            event_id: Uuid::now_v7(),
            event_type,
            schema_version: 1,
            tenant_id,
            data,
            metadata,
        })
    }
}
