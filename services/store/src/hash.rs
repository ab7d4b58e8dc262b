//! The per-stream hash chain: `hash = sha256(prev_hash || canonical bytes of the event)`.
//!
//! The canonical bytes must come out the same after a round trip through Postgres `jsonb`, which
//! reorders object keys; so JSON is written with keys sorted, by hand, whatever serde_json's features.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The `prev_hash` of a stream's first event.
pub const GENESIS: [u8; 32] = [0; 32];

/// The fields of an event that the chain covers.
pub struct Hashed<'a> {
    pub event_id: Uuid,
    pub stream_id: &'a str,
    pub stream_version: i64,
    pub event_type: &'a str,
    pub schema_version: i32,
    pub tenant_id: Option<Uuid>,
    pub data: &'a serde_json::Value,
    pub metadata: &'a serde_json::Value,
    pub recorded_at: DateTime<Utc>,
}

/// Computes an event's hash from its predecessor's.
pub fn chain(prev_hash: &[u8], event: &Hashed<'_>) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(prev_hash);
    h.update(event.event_id.as_bytes());
    field(&mut h, event.stream_id.as_bytes());
    h.update(event.stream_version.to_be_bytes());
    field(&mut h, event.event_type.as_bytes());
    h.update(event.schema_version.to_be_bytes());
    match event.tenant_id {
        Some(t) => {
            h.update([1]);
            h.update(t.as_bytes());
        }
        None => h.update([0]),
    }
    field(&mut h, canonical_json(event.data).as_bytes());
    field(&mut h, canonical_json(event.metadata).as_bytes());
    h.update(event.recorded_at.timestamp_micros().to_be_bytes());
    h.finalize().to_vec()
}

fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

/// JSON text with object keys sorted at every level and no insignificant whitespace.
pub fn canonical_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let v = json!({"b": 1, "a": {"d": [1, {"z": 0, "y": "x"}], "c": null}});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":null,"d":[1,{"y":"x","z":0}]},"b":1}"#
        );
    }

    #[test]
    fn changing_any_covered_field_changes_the_hash() {
        let data = json!({"x": 1});
        let meta = json!({});
        let at = DateTime::from_timestamp_micros(1_800_000_000_000_000).unwrap();
        let base = Hashed {
            event_id: Uuid::nil(),
            stream_id: "s-1",
            stream_version: 1,
            event_type: "T",
            schema_version: 1,
            tenant_id: None,
            data: &data,
            metadata: &meta,
            recorded_at: at,
        };
        let h = chain(&GENESIS, &base);
        let other = json!({"x": 2});
        assert_ne!(
            h,
            chain(
                &GENESIS,
                &Hashed {
                    data: &other,
                    ..base
                }
            )
        );
        let base = Hashed {
            data: &data,
            ..base
        };
        assert_ne!(
            h,
            chain(
                &GENESIS,
                &Hashed {
                    stream_version: 2,
                    ..base
                }
            )
        );
        let base = Hashed {
            data: &data,
            ..base
        };
        assert_ne!(h, chain(&[1; 32], &base));
    }
}
