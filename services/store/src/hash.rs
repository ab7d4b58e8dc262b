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
    /// The payload as [`canonical_json`] text.
    pub data: &'a [u8],
    /// The metadata as [`canonical_json`] text.
    pub metadata: &'a [u8],
    pub recorded_at: DateTime<Utc>,
}

/// Computes an event's hash from its predecessor's.
pub fn chain(prev_hash: &[u8], event: &Hashed<'_>) -> [u8; 32] {
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
    field(&mut h, event.data);
    field(&mut h, event.metadata);
    h.update(event.recorded_at.timestamp_micros().to_be_bytes());
    h.finalize().into()
}

fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

/// JSON text with object keys sorted at every level and no insignificant whitespace.
pub fn canonical_json(value: &serde_json::Value) -> String {
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    // Only JSON text was written, and serde_json writes valid UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends the canonical JSON text of `value` to `out`.
pub fn write_canonical(value: &serde_json::Value, out: &mut Vec<u8>) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            out.push(b'{');
            // serde_json's default map is sorted already; sort only when it is not (`preserve_order`).
            if map.keys().is_sorted() {
                for (i, (key, item)) in map.iter().enumerate() {
                    write_entry(i, key, item, out);
                }
            } else {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                for (i, (key, item)) in entries.into_iter().enumerate() {
                    write_entry(i, key, item, out);
                }
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => write_scalar(scalar, out),
    }
}

fn write_entry(i: usize, key: &str, item: &serde_json::Value, out: &mut Vec<u8>) {
    if i > 0 {
        out.push(b',');
    }
    write_scalar(key, out);
    out.push(b':');
    write_canonical(item, out);
}

fn write_scalar<T: serde::Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    // Writing a string, number, bool or null into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
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
    fn canonical_json_matches_the_reference_form_for_nested_values_and_escapes() {
        let v = json!({"z": [true, null, 1.5, -3, "a\"b\\c\n\u{e9}"], "a": {}, "m": []});
        assert_eq!(
            canonical_json(&v),
            "{\"a\":{},\"m\":[],\"z\":[true,null,1.5,-3,\"a\\\"b\\\\c\\n\u{e9}\"]}"
        );
    }

    #[test]
    fn changing_any_covered_field_changes_the_hash() {
        let at = DateTime::from_timestamp_micros(1_800_000_000_000_000).unwrap();
        let base = Hashed {
            event_id: Uuid::nil(),
            stream_id: "s-1",
            stream_version: 1,
            event_type: "T",
            schema_version: 1,
            tenant_id: None,
            data: br#"{"x":1}"#,
            metadata: b"{}",
            recorded_at: at,
        };
        let h = chain(&GENESIS, &base);
        assert_ne!(
            h,
            chain(
                &GENESIS,
                &Hashed {
                    data: br#"{"x":2}"#,
                    ..base
                }
            )
        );
        let base = Hashed {
            data: br#"{"x":1}"#,
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
            data: br#"{"x":1}"#,
            ..base
        };
        assert_ne!(h, chain(&[1; 32], &base));
    }
}
