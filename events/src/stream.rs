//! Stream ids: `<kind>-<id>`, e.g. `booking-0190…`, `call-<vapi call id>`, `number-+15551234567`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The kinds of streams in the catalog (DESIGN.md §6). The kind is the part of the id before the first `-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamKind {
    Business,
    Service,
    Staff,
    Number,
    Call,
    Booking,
    Usage,
    Client,
    User,
    /// `invoice-<business id>-<yyyy-mm>`: the invoice issued when a month is closed.
    Invoice,
    /// Streams written by tests, benchmarks and tools.
    Other,
}

impl StreamKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Business => "business",
            Self::Service => "service",
            Self::Staff => "staff",
            Self::Number => "number",
            Self::Call => "call",
            Self::Booking => "booking",
            Self::Usage => "usage",
            Self::Client => "client",
            Self::User => "user",
            Self::Invoice => "invoice",
            Self::Other => "other",
        }
    }

    fn from_prefix(prefix: &str) -> Self {
        match prefix {
            "business" => Self::Business,
            "service" => Self::Service,
            "staff" => Self::Staff,
            "number" => Self::Number,
            "call" => Self::Call,
            "booking" => Self::Booking,
            "usage" => Self::Usage,
            "client" => Self::Client,
            "user" => Self::User,
            "invoice" => Self::Invoice,
            _ => Self::Other,
        }
    }
}

impl fmt::Display for StreamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stream id such as `booking-0190c0de-…`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StreamId(String);

impl StreamId {
    /// Builds `<kind>-<id>`.
    pub fn new(kind: StreamKind, id: impl fmt::Display) -> Self {
        Self(format!("{}-{id}", kind.as_str()))
    }

    /// Wraps an id read back from storage.
    pub fn from_raw(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The stream's kind, from the prefix before the first `-`.
    pub fn kind(&self) -> StreamKind {
        kind_of(&self.0)
    }
}

/// The kind of a raw stream id string.
pub fn kind_of(stream_id: &str) -> StreamKind {
    StreamKind::from_prefix(stream_id.split_once('-').map_or(stream_id, |(k, _)| k))
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for StreamId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_id_knows_its_kind_from_its_prefix() {
        assert_eq!(
            StreamId::new(StreamKind::Call, "abc-def").kind(),
            StreamKind::Call
        );
        assert_eq!(
            StreamId::from_raw("number-+15551234567").kind(),
            StreamKind::Number
        );
        assert_eq!(StreamId::from_raw("nonsense").kind(), StreamKind::Other);
    }
}
